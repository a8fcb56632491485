"""mrcnn.augmentation on real COCO images: masks stay aligned with the image.

Alignment check: every instance of a real image is painted a colour that does not occur in the
image, the painted image and the masks are augmented together, and afterwards the pixels of each
augmented mask must carry (mostly, allowing interpolation at the edges) that instance's colour,
and that colour must (mostly) lie inside the mask.
"""

import threading

import albumentations as A
import numpy as np
import pytest
import scipy.ndimage
import skimage.io
from pycocotools.coco import COCO

from mrcnn.augmentation import augment, augmentation_kind
from mrcnn.image import resize_image
from mrcnn.masks import resize_mask
from tests.paths import DATA_DIR

DATA = DATA_DIR
COCO_DIR = DATA / "coco_tiny"
IMAGE_IDS = (25603, 64523)  # 640x480 and 640x444 photos with several large objects


@pytest.fixture(scope="module")
def coco():
    return COCO(str(COCO_DIR / "annotations" / "instances_val2017.json"))


def _sample(coco, coco_id, size=256, min_area=300):
    """A real image and its non-crowd masks, resized to a size x size square as for training."""
    info = coco.loadImgs(coco_id)[0]
    image = skimage.io.imread(COCO_DIR / "val2017" / info["file_name"])
    anns = [a for a in coco.loadAnns(coco.getAnnIds(imgIds=coco_id, iscrowd=False))]
    masks = np.stack([coco.annToMask(a).astype(bool) for a in anns], axis=-1)
    image, _, scale, padding, _ = resize_image(image, min_dim=size, max_dim=size, mode="square")
    masks = resize_mask(masks, scale, padding)
    masks = masks[:, :, masks.sum(axis=(0, 1)) >= min_area]
    assert masks.shape[-1] >= 3
    return image, masks


@pytest.fixture(scope="module", params=IMAGE_IDS)
def sample(request, coco):
    return _sample(coco, request.param)


def _paint(image, masks):
    """Paints each instance a colour absent from the image (later instances on top).

    Returns the painted image and the [N, 3] colours."""
    present = set(map(tuple, image.reshape(-1, 3)))
    rng = np.random.default_rng(0)
    colours = []
    while len(colours) < masks.shape[-1]:
        c = tuple(int(v) for v in rng.integers(0, 256, 3))
        if c not in present and c not in colours and min(c) > 20:
            colours.append(c)
    painted = image.copy()
    for i in range(masks.shape[-1]):
        painted[masks[:, :, i]] = colours[i]
    return painted, np.array(colours, dtype=np.uint8)


def _visible(masks):
    """Pixels where instance i is the top-most painted instance (the last one painted wins)."""
    later = np.flip(np.cumsum(np.flip(masks, axis=-1), axis=-1), axis=-1)  # masks at >= i
    above = later - masks  # count of instances j > i covering the pixel
    return masks & (above == 0)


def _alignment(image_aug, masks_aug, colours, edge):
    """Per instance: (fraction of the visible mask pixels that have its colour, fraction of its
    colour pixels that lie in the visible mask); pixels within ``edge`` pixels of the mask's
    border are left out of both (interpolation blends colours there). None for instances that
    (mostly) left the image."""
    vis = _visible(masks_aug)
    out = []
    for i, c in enumerate(colours):
        has_colour = np.all(image_aug == c, axis=-1)
        inner = scipy.ndimage.binary_erosion(vis[:, :, i], iterations=edge) if edge else \
            vis[:, :, i]
        outer = scipy.ndimage.binary_dilation(vis[:, :, i], iterations=edge) if edge else \
            vis[:, :, i]
        if inner.sum() < 50:
            out.append(None)
            continue
        precision = has_colour[inner].mean()
        recall = outer[has_colour].mean() if has_colour.any() else 0.0
        out.append((precision, recall))
    return out


def _assert_aligned(image_aug, masks_aug, colours, exact):
    scores = [s for s in _alignment(image_aug, masks_aug, colours, 0 if exact else 1)
              if s is not None]
    assert len(scores) >= 2
    for precision, recall in scores:
        if exact:
            assert precision == 1.0 and recall == 1.0
        else:
            assert precision > 0.97 and recall > 0.97, scores


@pytest.mark.parametrize("transform,reference", [
    (A.HorizontalFlip(p=1), lambda a: a[:, ::-1]),
    (A.VerticalFlip(p=1), lambda a: a[::-1]),
])
def test_albumentations_flips_move_masks_exactly(sample, transform, reference):
    image, masks = sample
    painted, colours = _paint(image, masks)
    image_aug, masks_aug = augment(painted, masks, transform, rng=np.random.default_rng(1))
    assert masks_aug.dtype == bool and masks_aug.shape == masks.shape
    np.testing.assert_array_equal(masks_aug, reference(masks))
    np.testing.assert_array_equal(image_aug, reference(painted))
    _assert_aligned(image_aug, masks_aug, colours, exact=True)


def test_albumentations_rotate90_moves_masks(sample):
    image, masks = sample
    painted, colours = _paint(image, masks)
    seen = set()
    for seed in range(12):
        image_aug, masks_aug = augment(painted, masks, A.RandomRotate90(p=1),
                                       rng=np.random.default_rng(seed))
        k = [k for k in range(4) if np.array_equal(image_aug, np.rot90(painted, k))]
        assert len(k) == 1, "image is not a 90-degree rotation of the input"
        np.testing.assert_array_equal(masks_aug, np.rot90(masks, k[0]))
        _assert_aligned(image_aug, masks_aug, colours, exact=True)
        seen.add(k[0])
    assert len(seen) >= 3  # several rotations were exercised


@pytest.mark.parametrize("transform", [
    A.Affine(rotate=(25, 25), p=1),
    A.Affine(scale=(1.2, 1.2), translate_px={"x": (12, 12), "y": (-9, -9)}, rotate=(-15, -15),
             shear=(6, 6), p=1),
    A.Compose([A.Affine(rotate=(-40, 40), p=1), A.HorizontalFlip(p=0.5)]),
])
def test_albumentations_affine_keeps_masks_aligned(sample, transform):
    image, masks = sample
    painted, colours = _paint(image, masks)
    image_aug, masks_aug = augment(painted, masks, transform, rng=np.random.default_rng(3))
    assert image_aug.shape == image.shape
    assert not np.array_equal(masks_aug, masks)  # the masks did move
    _assert_aligned(image_aug, masks_aug, colours, exact=False)


@pytest.mark.parametrize("transform", [
    A.RandomBrightnessContrast(brightness_limit=(0.3, 0.3), contrast_limit=(0.2, 0.2), p=1),
    A.HueSaturationValue(p=1),
    A.GaussianBlur(blur_limit=(5, 5), p=1),
    A.GaussNoise(p=1),
])
def test_albumentations_photometric_leaves_masks(sample, transform):
    image, masks = sample
    image_aug, masks_aug = augment(image, masks, transform, rng=np.random.default_rng(4))
    assert image_aug.shape == image.shape
    assert not np.array_equal(image_aug, image)  # the image did change
    np.testing.assert_array_equal(masks_aug, masks)


def test_albumentations_mixed_compose(sample):
    image, masks = sample
    transform = A.Compose([A.HorizontalFlip(p=1), A.RandomBrightnessContrast(p=1),
                           A.GaussianBlur(p=1)])
    image_aug, masks_aug = augment(image, masks, transform, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(masks_aug, masks[:, ::-1])
    assert not np.array_equal(image_aug, image[:, ::-1])


def test_seeded_augmentation_is_repeatable_and_thread_safe(coco):
    image, masks = _sample(coco, IMAGE_IDS[0])
    transform = A.Compose([A.Affine(rotate=(-30, 30), translate_percent=(-0.1, 0.1), p=1),
                           A.RandomBrightnessContrast(p=0.5)])
    expected = [augment(image, masks, transform, rng=np.random.default_rng(s)) for s in range(6)]
    again = augment(image, masks, transform, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(again[0], expected[0][0])
    np.testing.assert_array_equal(again[1], expected[0][1])
    assert not np.array_equal(expected[0][1], expected[1][1])  # different seeds differ

    results = {}

    def work(seed):
        results[seed] = augment(image, masks, transform, rng=np.random.default_rng(seed))

    threads = [threading.Thread(target=work, args=(s,)) for s in range(6) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in range(6):
        np.testing.assert_array_equal(results[s][0], expected[s][0])
        np.testing.assert_array_equal(results[s][1], expected[s][1])


def test_size_change_raises_and_names_augmenter(sample):
    image, masks = sample
    with pytest.raises(ValueError, match="RandomCrop.*changed the image size"):
        augment(image, masks, A.RandomCrop(128, 128, p=1))

    def shrink(img, m):
        return img[::2, ::2], m[::2, ::2]

    with pytest.raises(ValueError, match="shrink"):
        augment(image, masks, shrink)


def test_callable_augmentation(sample):
    image, masks = sample
    painted, colours = _paint(image, masks)
    received = {}

    def rotate(img, m, rng=None):
        received["rng"] = rng
        return np.rot90(img), np.rot90(m).astype(np.uint8)  # non-bool masks are accepted

    rng = np.random.default_rng(7)
    image_aug, masks_aug = augment(painted, masks, rotate, rng=rng)
    assert received["rng"] is rng
    assert masks_aug.dtype == bool
    np.testing.assert_array_equal(masks_aug, np.rot90(masks))
    _assert_aligned(image_aug, masks_aug, colours, exact=True)

    with pytest.raises(ValueError, match="number of masks"):
        augment(image, masks, lambda img, m: (img, m[:, :, :1]))


def test_no_instances_and_no_augmentation(sample):
    image, masks = sample
    empty = np.zeros(image.shape[:2] + (0,), dtype=bool)
    for transform in (A.HorizontalFlip(p=1), A.Affine(rotate=(10, 10), p=1)):
        image_aug, masks_aug = augment(image, empty, transform, rng=np.random.default_rng(0))
        assert masks_aug.shape == empty.shape and masks_aug.dtype == bool
        assert image_aug.shape == image.shape
    image_out, masks_out = augment(image, masks.astype(np.uint8), None)
    assert image_out is image
    assert masks_out.dtype == bool
    np.testing.assert_array_equal(masks_out, masks)


def test_augmentation_kind_detection():
    assert augmentation_kind(None) is None
    assert augmentation_kind(A.HorizontalFlip()) == "albumentations"
    assert augmentation_kind(A.Compose([A.HorizontalFlip()])) == "albumentations"
    assert augmentation_kind(lambda img, m: (img, m)) == "callable"
    # imgaug is recognised by the module name in the MRO, without importing imgaug.
    base = type("Augmenter", (), {"__module__": "imgaug.augmenters.meta"})
    fliplr = type("Fliplr", (base,), {"__module__": "user_code"})
    assert augmentation_kind(fliplr()) == "imgaug"
    with pytest.raises(TypeError, match="augmentation must be"):
        augmentation_kind(42)
