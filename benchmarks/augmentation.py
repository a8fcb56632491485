"""Augmentation benchmark: Matterport's nucleus augmentation list, images per second.

Runs ``mrcnn.augmentation.augment(image, masks, augmentation, rng)`` -- the call training makes
for every image -- on real DSB 2018 nucleus images (``../shared/data/dsb2018_nucleus_subset``)
prepared as the nucleus sample trains on them: scaled 2x and cropped to 512x512, with their
instance masks (up to 200, Matterport's ``MAX_GT_INSTANCES`` for nucleus). Backends:

  compat:         Matterport's list through ``mrcnn.imgaug_compat`` (imgaug's semantics,
                  executed by albumentations);
  albumentations: the same pipeline written directly in albumentations (``SomeOf((0, 2))`` as a
                  ``OneOf`` of ``NoOp``, ``SomeOf(n=1)``, ``SomeOf(n=2)``), through
                  ``augment()`` as in training (which converts the masks to albumentations'
                  ``[N, H, W]`` layout and back for every image);
  albumentations-native: that pipeline called directly, ``t(image=..., masks=...)`` with the
                  masks already ``[N, H, W]`` (albumentations' own cost, no conversion);
  imgaug:         real imgaug 0.4.0 -- only in the fixture environment of
                  ``tests/fixtures/README.md`` (NumPy 1.23.5; no TensorFlow or albumentations
                  needed: ``mrcnn.augmentation`` imports NumPy only).

albumentations' ``GaussianBlur(sigma_limit=(0, 5))`` uses larger kernels (about 7 sigma) than
imgaug's (about 3 sigma, which the compat module keeps), so ``--no-blur`` also times the list
without its blur, where both do the same pixel work (the compat layer's own cost).

Each backend runs ``--rounds`` interleaved rounds over the images; the best round counts (the
CI machine is shared). Prints a table of images/s and the compat/albumentations time ratio.

    python benchmarks/augmentation.py [--backend all|compat|albumentations|imgaug]
        [--images 8] [--rounds 5] [--repeats 8] [--no-blur]
"""

import argparse
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "..", "shared", "data", "dsb2018_nucleus_subset")
sys.path.insert(0, ROOT)

NUCLEUS_LIST = """iaa.SomeOf((0, 2), [
    iaa.Fliplr(0.5),
    iaa.Flipud(0.5),
    iaa.OneOf([iaa.Affine(rotate=90),
               iaa.Affine(rotate=180),
               iaa.Affine(rotate=270)]),
    iaa.Multiply((0.8, 1.5)),
    iaa.GaussianBlur(sigma=(0.0, 5.0))
])"""


def load_inputs(count, size=512, max_instances=200):
    """``count`` (image uint8 [size, size, 3], masks bool [size, size, N]) pairs."""
    from PIL import Image
    index = [line.split("\t") for line in open(os.path.join(DATA, "index.tsv")).read().split("\n")
             if line.strip()]
    index.sort(key=lambda r: -int(r[3]))  # most nuclei first
    out = []
    for image_id, _, _, _ in index[:count]:
        folder = os.path.join(DATA, "stage1_train", image_id)
        image = np.asarray(Image.open(os.path.join(folder, "images", image_id + ".png")))[..., :3]
        names = sorted(os.listdir(os.path.join(folder, "masks")))[:max_instances]
        masks = np.stack([np.asarray(Image.open(os.path.join(folder, "masks", n))) > 0
                          for n in names], axis=-1)
        image = image.repeat(2, axis=0).repeat(2, axis=1)  # IMAGE_MIN_SCALE=2.0
        masks = masks.repeat(2, axis=0).repeat(2, axis=1)
        h, w = image.shape[:2]
        if h < size or w < size:
            pad = ((0, max(size - h, 0)), (0, max(size - w, 0)))
            image = np.pad(image, pad + ((0, 0),))
            masks = np.pad(masks, pad + ((0, 0),))
        y, x = (image.shape[0] - size) // 2, (image.shape[1] - size) // 2
        image = np.ascontiguousarray(image[y:y + size, x:x + size])
        masks = masks[y:y + size, x:x + size]
        masks = np.ascontiguousarray(masks[:, :, masks.any(axis=(0, 1))])
        out.append((image, masks))
    return out


def _drop_blur(text):
    return text.replace(",\n    iaa.GaussianBlur(sigma=(0.0, 5.0))", "")


def build(backend, blur=True):
    if backend == "compat":
        from mrcnn.imgaug_compat import augmenters as iaa
        return eval(NUCLEUS_LIST if blur else _drop_blur(NUCLEUS_LIST), {"iaa": iaa})
    if backend == "imgaug":
        import imgaug.augmenters as iaa
        return eval(NUCLEUS_LIST if blur else _drop_blur(NUCLEUS_LIST), {"iaa": iaa})
    import albumentations as A
    children = [
        A.HorizontalFlip(p=0.5),
        A.VerticalFlip(p=0.5),
        A.OneOf([A.Affine(rotate=(-90, -90), p=1), A.Affine(rotate=(180, 180), p=1),
                 A.Affine(rotate=(90, 90), p=1)], p=1),  # imgaug's clockwise 90/180/270
        A.MultiplicativeNoise(multiplier=(0.8, 1.5), p=1),
    ]
    if blur:
        children.append(A.GaussianBlur(sigma_limit=(0.0, 5.0), p=1))
    return A.OneOf([A.NoOp(p=1), A.SomeOf(children, n=1, replace=False, p=1),
                    A.SomeOf(children, n=2, replace=False, p=1)], p=1)


def run_round(augmentation, inputs, repeats, seed, native=False):
    from mrcnn.augmentation import augment
    rng = np.random.default_rng(seed)
    if native:
        augmentation.set_random_seed(seed)
        inputs = [(image, np.ascontiguousarray(np.moveaxis(masks, -1, 0), dtype=np.uint8))
                  for image, masks in inputs]
    start = time.perf_counter()
    count = 0
    for _ in range(repeats):
        for image, masks in inputs:
            if native:
                augmentation(image=image, masks=masks)
            else:
                augment(image, masks, augmentation, rng=rng)
            count += 1
    return count / (time.perf_counter() - start)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="all",
                        choices=["all", "compat", "albumentations", "albumentations-native",
                                 "imgaug"])
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=8)
    parser.add_argument("--no-blur", action="store_true",
                        help="also time the list without GaussianBlur")
    args = parser.parse_args(argv)

    if args.backend == "all":
        backends = ["compat", "albumentations", "albumentations-native"]
        try:
            import imgaug.augmenters  # noqa: F401 - only in the fixture environment
            backends.append("imgaug")
        except (ImportError, AttributeError):
            pass
    else:
        backends = [args.backend]
    inputs = load_inputs(args.images)
    counts = [m.shape[-1] for _, m in inputs]
    print(f"{len(inputs)} nucleus images, 512x512x3 uint8, {min(counts)}-{max(counts)} masks "
          f"(mean {np.mean(counts):.0f}); best of {args.rounds} rounds x {args.repeats} passes; "
          f"numpy {np.__version__}")
    variants = [True] + ([False] if args.no_blur else [])
    results = {}
    for blur in variants:
        augs = {b: build(b.split("-")[0], blur) for b in backends}
        for b in backends:  # warm up (caches, first-call costs)
            run_round(augs[b], inputs[:2], 1, 0, native=b.endswith("native"))
        best = {b: 0.0 for b in backends}
        for r in range(args.rounds):
            for b in backends:
                best[b] = max(best[b], run_round(augs[b], inputs, args.repeats, r,
                                                 native=b.endswith("native")))
        results[blur] = best
    print()
    print("| Matterport's nucleus list, images/s | " + " | ".join(backends) +
          " | compat time / albumentations time (augment(), native) |")
    print("|---|" + "---|" * len(backends) + "---|")
    for blur, best in results.items():
        ratios = [f"{best[other] / best['compat']:.2f}" for other in
                  ("albumentations", "albumentations-native") if "compat" in best and other in best]
        label = "as written" if blur else "without GaussianBlur"
        print(f"| {label} | " + " | ".join(f"{best[b]:.1f}" for b in backends) +
              f" | {', '.join(ratios)} |")


if __name__ == "__main__":
    main()
