"""Tests for mrcnn.visualize on real photos (Matterport demo images, COCO masks)."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib import patches  # noqa: E402
from PIL import Image  # noqa: E402
from scipy import ndimage  # noqa: E402

from mrcnn import visualize  # noqa: E402
from tests.paths import DATA_DIR, REPO_ROOT  # noqa: E402

# pycocotools.mask.decode trips a NumPy 2 copy= DeprecationWarning that is not ours.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pycocotools")

ROOT = REPO_ROOT
DATA = DATA_DIR
DEMO_DIR = DATA / "matterport_demo_images" / "images"
COCO_DIR = DATA / "coco_tiny"


# ---------------------------------------------------------------------------------------------
# Real data
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_image():
    path = sorted(DEMO_DIR.glob("*.jpg"))[0]
    return np.asarray(Image.open(path).convert("RGB"))


@pytest.fixture(scope="module")
def coco_sample():
    """A COCO val image with its 3 largest non-crowd instances: image, boxes, masks, ids, names."""
    from pycocotools.coco import COCO
    import contextlib
    import io
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(COCO_DIR / "annotations" / "instances_val2017.json"))
    # The image with the most non-crowd instances larger than 3000 pixels.
    best = max(coco.getImgIds(), key=lambda i: sum(
        1 for a in coco.loadAnns(coco.getAnnIds(imgIds=i, iscrowd=False)) if a["area"] > 3000))
    info = coco.loadImgs(best)[0]
    anns = sorted(coco.loadAnns(coco.getAnnIds(imgIds=best, iscrowd=False)),
                  key=lambda a: a["area"], reverse=True)[:3]
    image = np.asarray(Image.open(COCO_DIR / "val2017" / info["file_name"]).convert("RGB"))
    masks = np.stack([coco.annToMask(a) for a in anns], axis=-1).astype(np.uint8)
    boxes = []
    for i in range(masks.shape[-1]):
        ys, xs = np.nonzero(masks[:, :, i])
        boxes.append([ys.min(), xs.min(), ys.max() + 1, xs.max() + 1])
    cats = coco.loadCats(coco.getCatIds())
    class_names = ["BG"] + [c["name"] for c in cats]
    cat_index = {c["id"]: k + 1 for k, c in enumerate(cats)}
    class_ids = np.array([cat_index[a["category_id"]] for a in anns], np.int32)
    assert image.shape[:2] == masks.shape[:2] and masks.shape[-1] == 3
    return image, np.array(boxes, np.int32), masks, class_ids, class_names


COLORS = [(1.0, 0.0, 0.0), (0.0, 1.0, 0.2), (0.1, 0.3, 1.0)]


def _outline(box, shape, width=2):
    """Bool map of the `width`-pixel ring just inside the exclusive box."""
    y1, x1, y2, x2 = box
    inner = np.zeros(shape, bool)
    inner[y1:y2, x1:x2] = True
    core = np.zeros(shape, bool)
    core[y1 + width:y2 - width, x1 + width:x2 - width] = True
    return inner & ~core


# ---------------------------------------------------------------------------------------------
# random_colors, apply_mask, draw_box
# ---------------------------------------------------------------------------------------------

def test_random_colors_count_range_and_brightness():
    for n in (1, 5, 17):
        colors = visualize.random_colors(n)
        assert len(colors) == n
        arr = np.array(colors)
        assert arr.shape == (n, 3) and arr.min() >= 0 and arr.max() <= 1
        assert np.allclose(arr.max(axis=1), 1.0)  # HSV value 1
        assert len({tuple(np.round(c, 6)) for c in colors}) == n
    dim = np.array(visualize.random_colors(6, bright=False))
    assert np.allclose(dim.max(axis=1), 0.7)
    assert visualize.random_colors(0) == []
    with pytest.raises(ValueError):
        visualize.random_colors(-1)


def test_apply_mask_blends_exactly_masked_pixels(coco_sample):
    image, _, masks, _, _ = coco_sample
    mask = masks[:, :, 0]
    color, alpha = (0.2, 0.9, 0.45), 0.3
    # float image: exact formula
    img = image.astype(np.float64)
    out = visualize.apply_mask(img, mask, color, alpha=alpha)
    assert out is img
    inside = mask == 1
    for c in range(3):
        expected = image[:, :, c] * (1 - alpha) + alpha * color[c] * 255
        np.testing.assert_array_equal(out[:, :, c][inside], expected[inside])
        np.testing.assert_array_equal(out[:, :, c][~inside], image[:, :, c][~inside])
    # uint8 image: same values truncated, in place
    img8 = image.copy()
    visualize.apply_mask(img8, mask.astype(bool), color, alpha=alpha)
    np.testing.assert_array_equal(img8, np.floor(out).astype(np.uint8))
    assert np.any(img8 != image)


def test_apply_mask_rejects_bad_shapes(demo_image):
    with pytest.raises(ValueError):
        visualize.apply_mask(demo_image.copy(), np.zeros((3, 3), np.uint8), (1, 0, 0))
    with pytest.raises(ValueError):
        visualize.apply_mask(demo_image[:, :, 0].copy(),
                             np.zeros(demo_image.shape[:2], np.uint8), (1, 0, 0))


def test_draw_box_paints_outline(demo_image):
    img = demo_image.copy()
    out = visualize.draw_box(img, (10, 20, 60, 90), (255, 0, 255))
    assert out is img
    assert np.all(img[10:12, 20:90] == (255, 0, 255))
    assert np.all(img[60:62, 20:90] == (255, 0, 255))
    assert np.all(img[10:60, 20:22] == (255, 0, 255))
    assert np.all(img[10:60, 90:92] == (255, 0, 255))
    changed = np.any(img != demo_image, axis=-1)
    assert changed.sum() <= 2 * 2 * 70 + 2 * 2 * 50
    np.testing.assert_array_equal(img[13:59, 23:89], demo_image[13:59, 23:89])


# ---------------------------------------------------------------------------------------------
# draw_instances / save_instances_png
# ---------------------------------------------------------------------------------------------

def test_draw_instances_blends_masks_and_leaves_far_pixels(coco_sample):
    image, boxes, masks, class_ids, names = coco_sample
    before = image.copy()
    out = visualize.draw_instances(image, boxes, masks, class_ids, names, colors=COLORS,
                                   show_bbox=False, captions=[""] * 3)
    np.testing.assert_array_equal(image, before)  # input untouched
    assert out.dtype == np.uint8 and out.shape == image.shape

    expected = image.astype(np.float64)
    for i in range(3):
        visualize.apply_mask(expected, masks[:, :, i], COLORS[i])
    expected = expected.astype(np.uint8)
    union = masks.any(axis=-1)
    near_edge = np.zeros_like(union)
    for i in range(3):
        m = masks[:, :, i].astype(bool)
        near_edge |= ndimage.binary_dilation(m, iterations=2) & ~ndimage.binary_erosion(
            m, iterations=2)
    interior = union & ~near_edge
    assert interior.sum() > 1000
    np.testing.assert_array_equal(out[interior], expected[interior])
    assert np.mean(np.any(out[interior] != image[interior], axis=-1)) > 0.99
    far = ~ndimage.binary_dilation(union, iterations=2)
    np.testing.assert_array_equal(out[far], image[far])
    # contours are drawn on the mask boundary in the instance colour
    boundary = masks[:, :, 0].astype(bool) & ~ndimage.binary_erosion(masks[:, :, 0])
    assert np.mean(np.all(out[boundary] == (255, 0, 0), axis=-1)) > 0.3


def test_draw_instances_box_outlines_and_captions(coco_sample):
    image, boxes, masks, class_ids, names = coco_sample
    plain = visualize.draw_instances(image, boxes, masks, class_ids, names, colors=COLORS,
                                     show_mask=False, captions=[""] * 3)
    h, w = image.shape[:2]
    near = np.zeros((h, w), bool)
    for i, box in enumerate(boxes):
        ring = _outline(box, (h, w))
        rgb = tuple(int(round(c * 255)) for c in COLORS[i])
        assert np.mean(np.all(plain[ring] == rgb, axis=-1)) > 0.8
        near |= ring
    for i in range(3):  # mask contours
        m = masks[:, :, i].astype(bool)
        near |= ndimage.binary_dilation(m, iterations=2) & ~ndimage.binary_erosion(m, iterations=2)
    far = ~ndimage.binary_dilation(near, iterations=1)
    np.testing.assert_array_equal(plain[far], image[far])

    scores = np.array([0.99, 0.875, 0.5])
    captioned = visualize.draw_instances(image, boxes, masks, class_ids, names, scores=scores,
                                         colors=COLORS, show_mask=False)
    diff = np.any(captioned != plain, axis=-1)
    assert diff.any()
    ys, xs = np.nonzero(diff)
    # caption pixels sit at the top-left corners of the boxes
    for y, x in zip(ys[::50], xs[::50]):
        assert any(abs(y - b[0]) < 40 and b[1] - 2 <= x for b in boxes)
    # the caption of box 0 (pure red) is white text on a red background
    y1, x1 = boxes[0][:2]
    patch = captioned[y1:y1 + 30, x1:x1 + 150]
    assert np.mean(np.all(patch == (255, 0, 0), axis=-1)) > 0.1
    assert np.any(np.all(patch > 200, axis=-1))


def test_draw_instances_mask_dtypes_and_empty(coco_sample):
    image, boxes, masks, class_ids, names = coco_sample
    a = visualize.draw_instances(image, boxes, masks.astype(np.uint8), class_ids, names,
                                 colors=COLORS)
    b = visualize.draw_instances(image, boxes, masks.astype(bool), class_ids, names,
                                 colors=COLORS)
    np.testing.assert_array_equal(a, b)
    empty = visualize.draw_instances(image, np.zeros((0, 4)), np.zeros(image.shape[:2] + (0,)),
                                     np.zeros((0,), np.int32), names)
    np.testing.assert_array_equal(empty, image)
    # an all-zero box is skipped, mask included
    zero_boxes = boxes.copy()
    zero_boxes[1] = 0
    c = visualize.draw_instances(image, zero_boxes, masks, class_ids, names, colors=COLORS,
                                 show_bbox=False, captions=[""] * 3)
    only1 = masks[:, :, 1].astype(bool) & ~masks[:, :, 0].astype(bool) & \
        ~masks[:, :, 2].astype(bool)
    only1 = ndimage.binary_erosion(only1, iterations=3)
    np.testing.assert_array_equal(c[only1], image[only1])


def test_mismatched_lengths_raise(coco_sample):
    image, boxes, masks, class_ids, names = coco_sample
    with pytest.raises(ValueError, match=r"3 boxes, 2 masks .* 3 class ids"):
        visualize.draw_instances(image, boxes, masks[:, :, :2], class_ids, names)
    with pytest.raises(ValueError, match=r"2 boxes, 3 masks .* 3 class ids"):
        visualize.display_instances(image, boxes[:2], masks, class_ids, names)
    with pytest.raises(ValueError, match=r"3 boxes, 3 masks .* 1 class ids"):
        visualize.display_instances(image, boxes, masks, class_ids[:1], names)
    with pytest.raises(ValueError, match="masks are"):
        visualize.draw_instances(image, boxes, masks[:-1], class_ids, names)
    with pytest.raises(ValueError, match="scores"):
        visualize.draw_instances(image, boxes, masks, class_ids, names, scores=[0.5])
    with pytest.raises(ValueError, match="out of range"):
        visualize.draw_instances(image, boxes, masks, class_ids + 1000, names)


def test_save_instances_png_roundtrip(coco_sample, tmp_path):
    image, boxes, masks, class_ids, names = coco_sample
    path = tmp_path / "overlay.png"
    rendered = visualize.save_instances_png(path, image, boxes, masks, class_ids, names,
                                            scores=[0.9, 0.8, 0.7], colors=COLORS)
    with Image.open(path) as im:
        assert im.format == "PNG"
        np.testing.assert_array_equal(np.asarray(im.convert("RGB")), rendered)
    np.testing.assert_array_equal(
        rendered, visualize.draw_instances(image, boxes, masks, class_ids, names,
                                           scores=[0.9, 0.8, 0.7], colors=COLORS))


# ---------------------------------------------------------------------------------------------
# matplotlib functions (Agg)
# ---------------------------------------------------------------------------------------------

def test_display_instances_patches_and_captions(coco_sample):
    from skimage.measure import find_contours
    image, boxes, masks, class_ids, names = coco_sample
    fig, ax = plt.subplots(1)
    try:
        scores = np.array([0.91, 0.5, 0.123])
        visualize.display_instances(image, boxes, masks, class_ids, names, scores, ax=ax,
                                    colors=COLORS, title="t")
        n_contours = 0
        for i in range(3):
            padded = np.pad(masks[:, :, i], 1)
            n_contours += len(find_contours(padded, 0.5))
        rects = [p for p in ax.patches if isinstance(p, patches.Rectangle)]
        polys = [p for p in ax.patches if isinstance(p, patches.Polygon)]
        assert len(rects) == 3 and len(polys) == n_contours
        assert [r.get_xy() for r in rects] == [(b[1], b[0]) for b in boxes]
        texts = [t.get_text() for t in ax.texts]
        assert texts == [f"{names[c]} {s:.3f}" for c, s in zip(class_ids, scores)]
        shown = ax.images[0].get_array()
        expected = image.astype(np.uint32)
        for i in range(3):
            visualize.apply_mask(expected, masks[:, :, i], COLORS[i])
        np.testing.assert_array_equal(np.asarray(shown), expected.astype(np.uint8))
        assert ax.get_title() == "t"
    finally:
        plt.close(fig)

    # no boxes, custom captions, creating its own figure (plt.show is a no-op on Agg)
    plt.close("all")
    visualize.display_instances(image, boxes, masks.astype(bool), class_ids, names,
                                show_bbox=False, show_mask=False, captions=["a", "b", "c"])
    ax = plt.gcf().axes[0]
    assert not [p for p in ax.patches if isinstance(p, patches.Rectangle)]
    assert [t.get_text() for t in ax.texts] == ["a", "b", "c"]
    np.testing.assert_array_equal(np.asarray(ax.images[0].get_array()), image)
    plt.close("all")


def test_display_instances_empty(demo_image, capsys):
    fig, ax = plt.subplots(1)
    try:
        visualize.display_instances(demo_image, np.zeros((0, 4), np.int32),
                                    np.zeros(demo_image.shape[:2] + (0,), bool),
                                    np.zeros((0,), np.int32), ["BG"], ax=ax)
        assert "*** No instances to display *** " in capsys.readouterr().out
        assert not ax.patches and not ax.texts
        np.testing.assert_array_equal(np.asarray(ax.images[0].get_array()), demo_image)
    finally:
        plt.close(fig)


def test_display_images_and_top_masks(coco_sample, demo_image):
    image, _, masks, class_ids, names = coco_sample
    plt.close("all")
    visualize.display_images([demo_image, image[:, :, 0]], titles=["x", "y"], cols=2)
    fig = plt.gcf()
    assert [a.get_title() for a in fig.axes] == ["x", "y"]
    plt.close("all")
    visualize.display_top_masks(image, masks, class_ids, names, limit=2)
    fig = plt.gcf()
    assert len(fig.axes) == 3
    areas = {c: masks[:, :, class_ids == c].sum() for c in np.unique(class_ids)}
    top = sorted(areas, key=areas.get, reverse=True)
    expected_titles = [f"H x W={image.shape[0]}x{image.shape[1]}"] + \
        [names[c] for c in top[:2]] + ["-"] * (2 - min(2, len(top)))
    assert [a.get_title() for a in fig.axes] == expected_titles
    plt.close("all")
    with pytest.raises(ValueError):
        visualize.display_images([image], titles=["a", "b"])


def test_plot_precision_recall_and_overlaps():
    plt.close("all")
    visualize.plot_precision_recall(0.625, np.array([1, 1, 0.5, 0.5]), np.array([0, .5, .5, 1]))
    ax = plt.gcf().axes[0]
    assert "0.625" in ax.get_title()
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [0, .5, .5, 1])
    plt.close("all")
    overlaps = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.0]])
    visualize.plot_overlaps(np.array([1, 2, 3, 0]), np.array([1, 3]), np.array([0.9, 0.8]),
                            overlaps, ["BG", "a", "b", "c"])
    ax = plt.gcf().axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 6
    assert texts[0] == "0.900\nmatch" and texts[4] == "0.700\nwrong"
    assert sum(t.endswith("\n") for t in texts) == 4
    plt.close("all")
    with pytest.raises(ValueError):
        visualize.plot_overlaps(np.array([1, 2]), np.array([1]), np.array([0.9]), overlaps,
                                ["BG", "a", "b"])


def test_draw_boxes_visibilities_and_masks(coco_sample):
    image, boxes, masks, _, _ = coco_sample
    fig, ax = plt.subplots(1)
    try:
        refined = boxes + 5
        visualize.draw_boxes(image, boxes=boxes, refined_boxes=refined, masks=masks,
                             captions=["p", "q", "r"], visibilities=[0, 1, 2], ax=ax)
        rects = [p for p in ax.patches if isinstance(p, patches.Rectangle)]
        # 3 boxes + 2 refined boxes (visibility 0 draws no refinement)
        assert len(rects) == 5
        assert rects[0].get_linestyle() in (":", "dotted")
        assert rects[-2].get_linestyle() in ("-", "solid")
        assert len(ax.lines) == 2
        assert [t.get_text() for t in ax.texts] == ["p", "q", "r"]
        shown = np.asarray(ax.images[0].get_array())
        m0 = masks[:, :, 0].astype(bool)  # gray mask of the visibility-0 box is blended
        assert np.any(shown[m0] != image[m0])
    finally:
        plt.close(fig)
    with pytest.raises(ValueError):
        visualize.draw_boxes(image)


def test_display_differences(coco_sample):
    image, boxes, masks, class_ids, names = coco_sample
    fig, ax = plt.subplots(1)
    try:
        # predictions: GT 0 exactly, GT 2 with another class, one spurious copy of GT 1 shifted
        shifted = np.roll(masks[:, :, 1], 15, axis=1)
        pred_masks = np.stack([masks[:, :, 2], masks[:, :, 0], shifted], axis=-1)
        pred_boxes = np.stack([boxes[2], boxes[0], boxes[1] + [0, 15, 0, 15]])
        pred_ids = np.array([class_ids[2] % (len(names) - 1) + 1, class_ids[0], class_ids[1]])
        pred_scores = np.array([0.6, 0.95, 0.8])
        visualize.display_differences(image, boxes, class_ids, masks, pred_boxes, pred_ids,
                                      pred_scores, pred_masks, names, ax=ax)
        texts = [t.get_text() for t in ax.texts]
        assert texts[:3] == ["", "", ""]
        # predictions in descending score order: exact copy (IoU 1), shifted, wrong-class copy
        assert texts[3] == "0.95 / 1.00"
        assert texts[4].startswith("0.80 / ") and 0.0 < float(texts[4].split("/ ")[1]) < 1.0
        assert texts[5] == "0.60 / 1.00"
        rects = [p for p in ax.patches if isinstance(p, patches.Rectangle)]
        assert len(rects) == 6
        assert rects[0].get_edgecolor()[:3] == (0, 1, 0) and rects[3].get_edgecolor()[:3] == \
            (1, 0, 0)
    finally:
        plt.close(fig)


def test_draw_rois(coco_sample, capsys):
    image, boxes, masks, class_ids, names = coco_sample
    rois = np.concatenate([boxes, [[0, 0, 20, 20]]])
    roi_masks = np.ones((4, 28, 28), np.float32)
    ids = np.concatenate([class_ids, [0]])
    plt.close("all")
    visualize.draw_rois(image, rois, rois + 3, roi_masks, ids, names, limit=10)
    ax = plt.gcf().axes[0]
    assert ax.get_title() == "4 ROIs"
    assert len(ax.texts) == 3 and len(ax.lines) == 3
    out = capsys.readouterr().out
    assert "Positive ROIs:  3" in out and "Negative ROIs:  1" in out and "0.75" in out
    shown = np.asarray(ax.images[0].get_array())
    y1, x1, y2, x2 = boxes[0]
    assert np.any(shown[y1:y2, x1:x2] != image[y1:y2, x1:x2])
    plt.close("all")


# ---------------------------------------------------------------------------------------------
# display_table, display_weight_stats, import hygiene
# ---------------------------------------------------------------------------------------------

def test_display_table_plain_text_fallback(monkeypatch, capsys):
    table = [["NAME", "VALUE"], ["w<span style='color:red'>*** dead?</span>", 1.5]]
    monkeypatch.setitem(sys.modules, "IPython", None)  # simulate IPython not installed
    monkeypatch.setitem(sys.modules, "IPython.display", None)
    visualize.display_table(table)
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert len(lines) == 2 and "<" not in out
    assert lines[0].split() == ["NAME", "VALUE"] and lines[1].split() == ["w***", "dead?", "1.5"]
    html = visualize._Table(table)._repr_html_()
    assert html.startswith("<table><tr><td>NAME") and html.count("<tr>") == 2
    with pytest.raises(ValueError):
        visualize.display_table("abc")


def test_display_weight_stats_walks_nested_model(capsys):
    import keras
    inner_in = keras.Input((None, None, 4))
    x = keras.layers.Conv2D(3, 1, name="inner_conv")(inner_in)
    inner = keras.Model(inner_in, x, name="rpn_model")
    inp = keras.Input((8, 8, 4))
    y = keras.layers.Conv2D(4, 3, padding="same", name="outer_conv")(inp)
    y = inner(y)
    y = keras.layers.Flatten()(y)
    y = keras.layers.Dense(2, name="head")(y)
    model = keras.Model(inp, y)
    model.get_layer("head").kernel.assign(np.full((192, 2), 2000.0, np.float32))

    class Wrapper:
        keras_model = model

    visualize.display_weight_stats(Wrapper())
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.strip().splitlines()[1:]}
    assert len(rows) == len(model.weights) == 6
    assert any(k.startswith("inner_conv/kernel") for k in rows)  # nested model included
    inner_bias = next(v for k, v in rows.items() if k.startswith("inner_conv/bias"))
    assert "dead?" not in inner_bias  # conv biases are exempt
    head_kernel = next(v for k, v in rows.items() if k.startswith("head/kernel"))
    assert "dead?" in head_kernel and "Overflow?" in head_kernel and "(192, 2)" in head_kernel
    head_bias = next(v for k, v in rows.items() if k.startswith("head/bias"))
    assert "dead?" in head_bias and "Overflow?" not in head_bias


def test_import_has_no_side_effects():
    code = ("import sys; before = list(sys.path); import mrcnn.visualize as v; "
            "assert sys.path == before; assert not hasattr(v, 'ROOT_DIR'); "
            "assert 'IPython' not in sys.modules; assert 'matplotlib.pyplot' not in sys.modules; "
            "print('ok')")
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "ok"
