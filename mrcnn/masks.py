"""Instance-mask utilities (NumPy); Matterport's ``utils`` mask functions plus ``paste_masks``.

Full-image masks are [H, W, N] (instances on the last axis); model masks are soft [h, w]
(e.g. 28 x 28) probabilities for the inside of a box. Boxes are pixel boxes (y1, x1, y2, x2)
with exclusive y2/x2.
"""

import warnings

import numpy as np
import skimage.util

from mrcnn.boxes import extract_bboxes
from mrcnn.image import resize

# Upper bound on the float elements of one chunk of paste_masks (16 MB in float32).
_PASTE_CHUNK_ELEMENTS = 1 << 22


def _nearest_indices(size, scale):
    """Source indices that ``scipy.ndimage.zoom(order=0)`` picks along one axis; -1 = cval."""
    import scipy.ndimage  # here, not at the top: detect() never needs it (0.1-0.3 s of import)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Index + 1 so that a coordinate that falls outside (cval 0) reads as -1.
        picked = scipy.ndimage.zoom(np.arange(1, size + 1, dtype=np.float64), scale, order=0)
    return np.rint(picked).astype(np.intp) - 1


def resize_mask(mask, scale, padding, crop=None):
    """Resizes masks like ``resize_image`` resized their image (Matterport ``utils.resize_mask``).

    Nearest-neighbour zoom by ``scale`` in height and width, exactly as
    ``scipy.ndimage.zoom(mask, [scale, scale, 1], order=0)`` (the original's call; here computed
    with index arrays, which is faster), then the crop or the zero padding of the image.

    Args:
        mask: [H, W, N] masks (any dtype, usually bool).
        scale: the ``scale`` returned by ``resize_image``.
        padding: the ``padding`` returned by ``resize_image``: [(top, bottom), (left, right),
            (0, 0)].
        crop: the ``crop`` returned by ``resize_image`` ((y, x, h, w)) or None.

    Returns:
        [H', W', N] masks of the input dtype, the size of the resized image.

    Raises:
        ValueError: ``mask`` is not 3-D or ``scale`` is not positive.
    """
    mask = np.asarray(mask)
    if mask.ndim != 3:
        raise ValueError(f"resize_mask: mask must be [H, W, N], got shape {mask.shape}")
    if not scale > 0:
        raise ValueError(f"resize_mask: scale must be positive, got {scale!r}")
    h, w = mask.shape[:2]
    if scale != 1:
        rows = _nearest_indices(h, scale)
        cols = _nearest_indices(w, scale)
        if (rows < 0).any() or (cols < 0).any():
            # Pad one zero row/column at the end so that index -1 reads as the zero cval.
            mask = np.pad(mask, [(0, 1), (0, 1), (0, 0)])
        mask = mask[rows[:, None], cols[None, :]]
    if crop is not None:
        y, x, ch, cw = crop
        return mask[y:y + ch, x:x + cw]
    pad = [tuple(int(v) for v in p) for p in padding]
    if len(pad) == 2:
        pad.append((0, 0))
    return np.pad(mask, pad, mode="constant", constant_values=0)


def _check_bboxes(bbox, n, name):
    bbox = np.asarray(bbox)
    if bbox.ndim != 2 or bbox.shape[1] < 4 or bbox.shape[0] != n:
        raise ValueError(f"{name}: bbox must be [N, 4] with one box per mask (N = {n}), got shape "
                         f"{bbox.shape}")
    return bbox[:, :4].astype(np.int64)


def minimize_mask(bbox, mask, mini_shape):
    """Crops each mask to its box and resizes it to ``mini_shape`` (Matterport
    ``utils.minimize_mask``), to save memory during training.

    Each crop is resized bilinearly (``resize``, order 1) and rounded (``np.around``, so exactly
    0.5 becomes 0).

    Args:
        bbox: [N, 4] int pixel boxes (y1, x1, y2, x2), e.g. from ``extract_bboxes``.
        mask: [H, W, N] masks.
        mini_shape: (height, width) of the mini masks, e.g. ``config.MINI_MASK_SHAPE``.

    Returns:
        bool [mini_h, mini_w, N].

    Raises:
        ValueError: a box has an area of zero ("Invalid bounding box with area of zero"; the
            original raised a bare Exception), or the shapes do not fit.
    """
    mask = np.asarray(mask)
    if mask.ndim != 3:
        raise ValueError(f"minimize_mask: mask must be [H, W, N], got shape {mask.shape}")
    mini_shape = tuple(int(s) for s in mini_shape)
    bbox = _check_bboxes(bbox, mask.shape[-1], "minimize_mask")
    mini_mask = np.zeros(mini_shape + (mask.shape[-1],), dtype=bool)
    for i in range(mask.shape[-1]):
        y1, x1, y2, x2 = bbox[i]
        m = mask[y1:y2, x1:x2, i].astype(bool)
        if m.size == 0:
            raise ValueError(f"Invalid bounding box with area of zero (instance {i}, box "
                             f"{bbox[i].tolist()}); drop empty masks before minimize_mask")
        mini_mask[:, :, i] = np.around(resize(m, mini_shape)).astype(bool)
    return mini_mask


def expand_mask(bbox, mini_mask, image_shape):
    """Inverse of ``minimize_mask`` (Matterport ``utils.expand_mask``).

    Each mini mask is resized bilinearly to its box and rounded, then pasted into a full mask.

    Args:
        bbox: [N, 4] int pixel boxes (y1, x1, y2, x2), inside the image.
        mini_mask: [mini_h, mini_w, N] masks.
        image_shape: (H, W[, C]) of the full image.

    Returns:
        bool [H, W, N].

    Raises:
        ValueError: the shapes do not fit.
    """
    mini_mask = np.asarray(mini_mask)
    if mini_mask.ndim != 3:
        raise ValueError(f"expand_mask: mini_mask must be [h, w, N], got shape {mini_mask.shape}")
    bbox = _check_bboxes(bbox, mini_mask.shape[-1], "expand_mask")
    h_img, w_img = (int(s) for s in tuple(image_shape)[:2])
    mask = np.zeros((h_img, w_img, mini_mask.shape[-1]), dtype=bool)
    for i in range(mask.shape[-1]):
        y1, x1, y2, x2 = bbox[i]
        if y2 <= y1 or x2 <= x1:
            continue
        m = resize(mini_mask[:, :, i], (y2 - y1, x2 - x1))
        mask[y1:y2, x1:x2, i] = np.around(m).astype(bool)
    return mask


def mold_mask(mask, config, bbox=None):
    """Crops full masks to their boxes and resizes them to ``config.MASK_SHAPE``.

    The inverse of ``unmold_mask``: the soft result pasted back with ``unmold_mask`` (threshold
    0.5) approximately restores the mask. Matterport's ``utils.mold_mask`` was an empty stub.

    Args:
        mask: [H, W] or [H, W, N] masks (bool or 0/1 values).
        config: a ``Config``; ``MASK_SHAPE`` (height, width) is used.
        bbox: optional [4] / [N, 4] pixel boxes to crop to; default: the tight box of each mask
            (``extract_bboxes``).

    Returns:
        float32 [mh, mw] (for a 2-D mask) or [mh, mw, N] soft masks in [0, 1], resized
        bilinearly (``resize``, order 1).

    Raises:
        ValueError: a mask is empty (or its box has zero area), or the shapes do not fit.
    """
    mask = np.asarray(mask)
    single = mask.ndim == 2
    if single:
        mask = mask[..., None]
    if mask.ndim != 3:
        raise ValueError(f"mold_mask: mask must be [H, W] or [H, W, N], got shape {mask.shape}")
    if bbox is None:
        bbox = extract_bboxes(mask)
    bbox = _check_bboxes(np.reshape(bbox, (-1, 4)), mask.shape[-1], "mold_mask")
    shape = tuple(int(s) for s in config.MASK_SHAPE)
    out = np.zeros(shape + (mask.shape[-1],), dtype=np.float32)
    for i in range(mask.shape[-1]):
        y1, x1, y2, x2 = bbox[i]
        m = mask[y1:y2, x1:x2, i].astype(np.float64)
        if m.size == 0:
            raise ValueError(f"mold_mask: instance {i} has an empty mask or a zero-area box "
                             f"{bbox[i].tolist()}; drop empty masks first")
        out[:, :, i] = resize(m, shape)
    return out[:, :, 0] if single else out


def _check_paste_boxes(boxes, n, height, width, name):
    boxes = np.asarray(boxes)
    if boxes.ndim != 2 or boxes.shape[1] != 4 or boxes.shape[0] != n:
        raise ValueError(f"{name}: boxes must be [N, 4] with one box per mask (N = {n}), got "
                         f"shape {boxes.shape}")
    if boxes.dtype.kind == "f":
        if not np.all(np.isfinite(boxes)) or np.any(boxes != np.round(boxes)):
            raise ValueError(f"{name}: boxes must be integer pixel boxes; round them first "
                             "(e.g. denorm_boxes)")
    boxes = boxes.astype(np.int64)
    y1, x1, y2, x2 = boxes.T
    bad = (y1 < 0) | (x1 < 0) | (y2 > height) | (x2 > width) | (y2 <= y1) | (x2 <= x1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{name}: box {i} {boxes[i].tolist()} is empty or outside the {height}x{width} image; "
            "boxes must satisfy 0 <= y1 < y2 <= H and 0 <= x1 < x2 <= W (clip them to the image "
            "and drop zero-area boxes first)")
    return boxes


def _as_float_masks(masks):
    masks = np.asarray(masks)
    if masks.dtype.kind != "f":
        return skimage.util.img_as_float(masks)  # as skimage.transform.resize does
    if masks.dtype == np.float16:
        return masks.astype(np.float32)
    return masks


def unmold_mask(mask, bbox, image_shape):
    """Pastes one soft model mask into a full-image mask (Matterport ``utils.unmold_mask``).

    The mask is resized bilinearly to the box size (``resize``, order 1, mode ``"constant"``, no
    anti-aliasing), thresholded at >= 0.5 and placed into zeros. ``paste_masks`` does the same for
    all instances at once.

    Args:
        mask: float [h, w] soft mask (e.g. 28 x 28 sigmoid outputs).
        bbox: [4] int pixel box (y1, x1, y2, x2), exclusive ends, inside the image.
        image_shape: (H, W[, C]) of the full image.

    Returns:
        bool [H, W].

    Raises:
        ValueError: ``mask`` is not 2-D, or the box is empty or outside the image.
    """
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"unmold_mask: mask must be a 2-D [h, w] soft mask, got shape "
                         f"{mask.shape}")
    height, width = (int(s) for s in tuple(image_shape)[:2])
    y1, x1, y2, x2 = _check_paste_boxes(np.reshape(bbox, (1, -1)), 1, height, width,
                                        "unmold_mask")[0]
    resized = resize(_as_float_masks(mask), (y2 - y1, x2 - x1))
    full_mask = np.zeros((height, width), dtype=bool)
    full_mask[y1:y2, x1:x2] = resized >= 0.5
    return full_mask


def _interp_matrices(in_size, out_sizes, out_max, dtype):
    """Bilinear weights of ``skimage.transform.resize`` (order 1, mode "constant") per box.

    Returns [N, out_max, in_size]: row o of instance n holds the weights of the input samples for
    output sample o (< out_sizes[n]; later rows are zero). The coordinate is
    ``(o + 0.5) * in_size / out_size - 0.5`` (``scipy.ndimage.zoom`` with ``grid_mode=True``) and
    samples outside the input read as 0 (the "grid-constant" mode skimage uses).
    """
    n = out_sizes.shape[0]
    weights = np.zeros((n, out_max, in_size), dtype=np.float64)
    o = np.arange(out_max, dtype=np.float64)[None, :]
    coord = (o + 0.5) * (in_size / out_sizes[:, None].astype(np.float64)) - 0.5
    lower = np.floor(coord)
    frac = coord - lower
    lower = lower.astype(np.int64)
    inst, row = np.indices(coord.shape)
    in_box = row < out_sizes[:, None]
    for idx, w in ((lower, 1.0 - frac), (lower + 1, frac)):
        ok = in_box & (idx >= 0) & (idx < in_size)
        weights[inst[ok], row[ok], idx[ok]] += w[ok]
    return weights.astype(dtype, copy=False)


def paste_masks(masks, boxes, image_shape, threshold=0.5):
    """Pastes N soft masks into full-image masks at once; a vectorised ``unmold_mask``.

    Reproduces ``unmold_mask`` (``skimage.transform.resize`` order 1, mode "constant",
    ``anti_aliasing=False``, clipped to each mask's value range, then ``>= threshold``) with
    separable bilinear weight matrices for all instances and a batched matrix product. Results
    may differ from ``unmold_mask`` only where the interpolated value is within float rounding
    (~1e-6) of the threshold.

    Args:
        masks: float [N, h, w] soft masks (integer/bool input is scaled like ``img_as_float``).
        boxes: int [N, 4] pixel boxes (y1, x1, y2, x2), exclusive ends, with
            0 <= y1 < y2 <= H and 0 <= x1 < x2 <= W.
        image_shape: (H, W[, C]) of the full image.
        threshold: pixels with a resized value >= threshold are set.

    Returns:
        bool [H, W, N] full-image masks ([H, W, 0] when N = 0). The array is a view of an
        instance-major [N, H, W] buffer, so ``result[:, :, i]`` is contiguous per instance.

    Raises:
        ValueError: ``masks`` is not [N, h, w], ``boxes`` is not [N, 4] integer boxes, or a box is
            empty or outside the image.
    """
    masks = np.asarray(masks)
    if masks.ndim != 3:
        raise ValueError(f"paste_masks: masks must be [N, h, w] soft masks, got shape "
                         f"{masks.shape} (mrcnn_mask is [N, h, w, classes]: pick each "
                         "detection's class first)")
    height, width = (int(s) for s in tuple(image_shape)[:2])
    n, mh, mw = masks.shape
    boxes = _check_paste_boxes(boxes, n, height, width, "paste_masks")
    if n == 0:
        return np.zeros((height, width, 0), dtype=bool)
    if mh == 0 or mw == 0:
        raise ValueError(f"paste_masks: masks have no pixels (shape {masks.shape})")
    masks = _as_float_masks(masks)
    dtype = masks.dtype
    box_h = boxes[:, 2] - boxes[:, 0]
    box_w = boxes[:, 3] - boxes[:, 1]
    # skimage clips the result to the input's value range (the cval of 0 can never extend it:
    # every output sample has a total weight > 0 on same-signed inputs).
    lo = masks.min(axis=(1, 2))
    hi = masks.max(axis=(1, 2))
    # Instance-major output; returned as an [H, W, N] view. Flat index of (n, y, x).
    out = np.zeros(n * height * width, dtype=bool)
    itype = np.int32 if n * height * width < 2 ** 31 else np.int64
    origin = (np.arange(n) * (height * width) + boxes[:, 0] * width + boxes[:, 1]).astype(itype)

    order = np.argsort(box_h * box_w, kind="stable")  # similar sizes share a chunk
    start = 0
    while start < n:
        # The largest chunk whose padded [k, Hm, Wm] result stays under the memory budget.
        hm_run = np.maximum.accumulate(box_h[order[start:]])
        wm_run = np.maximum.accumulate(box_w[order[start:]])
        cost = np.arange(1, n - start + 1) * hm_run * wm_run
        k = max(1, int(np.searchsorted(cost, _PASTE_CHUNK_ELEMENTS, side="right")))
        stop = start + k
        hm, wm = int(hm_run[k - 1]), int(wm_run[k - 1])
        idx = order[start:stop]
        rows = _interp_matrices(mh, box_h[idx], hm, dtype)  # [k, Hm, mh]
        cols = _interp_matrices(mw, box_w[idx], wm, dtype)  # [k, Wm, mw]
        resized = rows @ (masks[idx] @ cols.transpose(0, 2, 1))  # [k, Hm, Wm]
        np.clip(resized, lo[idx, None, None], hi[idx, None, None], out=resized)
        keep = resized >= threshold
        keep &= (np.arange(hm)[None, :] < box_h[idx, None])[:, :, None]
        keep &= (np.arange(wm)[None, :] < box_w[idx, None])[:, None, :]
        flat = (origin[idx, None, None] + (np.arange(hm, dtype=itype) * width)[None, :, None]
                + np.arange(wm, dtype=itype)[None, None, :])
        out[flat[keep]] = True
        start = stop
    return out.reshape(n, height, width).transpose(1, 2, 0)


def compute_overlaps_masks(masks1, masks2):
    """Pairwise IoU of two sets of masks (Matterport ``utils.compute_overlaps_masks``).

    Masks are binarised with ``> 0.5``.

    Args:
        masks1: [H, W, N] masks.
        masks2: [H, W, M] masks of the same height and width.

    Returns:
        float64 [N, M] IoU; zeros when either set is empty; 0 for two empty masks.

    Raises:
        ValueError: the masks are not 3-D or differ in height/width.
    """
    masks1 = np.asarray(masks1)
    masks2 = np.asarray(masks2)
    if masks1.ndim != 3 or masks2.ndim != 3:
        raise ValueError(f"compute_overlaps_masks: masks must be [H, W, N], got shapes "
                         f"{masks1.shape} and {masks2.shape}")
    n, m = masks1.shape[-1], masks2.shape[-1]
    if n == 0 or m == 0:
        return np.zeros((n, m))
    if masks1.shape[:2] != masks2.shape[:2]:
        raise ValueError(f"compute_overlaps_masks: masks differ in size: {masks1.shape[:2]} vs "
                         f"{masks2.shape[:2]}; resize them to the same image first")
    m1 = np.reshape(masks1 > 0.5, (-1, n)).astype(np.float32)
    m2 = np.reshape(masks2 > 0.5, (-1, m)).astype(np.float32)
    area1 = m1.sum(axis=0, dtype=np.float64)
    area2 = m2.sum(axis=0, dtype=np.float64)
    intersections = (m1.T @ m2).astype(np.float64)
    union = area1[:, None] + area2[None, :] - intersections
    out = np.zeros((n, m))
    np.divide(intersections, union, out=out, where=union > 0)
    return out
