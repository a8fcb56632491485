"""Figure-free overlay rendering: instance masks, boxes and captions drawn into a uint8 image.

The command line (``python -m mrcnn detect``) and servers draw the ``display_instances`` overlay
with these functions, which need Pillow and scikit-image but no matplotlib. ``mrcnn.visualize``
re-exports the public names (``random_colors``, ``apply_mask``, ``draw_instances``,
``save_instances_png``), so ``visualize.draw_instances(...)`` keeps working::

    from mrcnn import rendering
    rendering.save_instances_png("out.png", image, r["rois"], r["masks"], r["class_ids"],
                                 class_names, r["scores"])

Conventions: images are [H, W, 3] RGB arrays (axis order height, width, channel); boxes are
(y1, x1, y2, x2) pixel boxes with exclusive y2/x2; instance masks are [H, W, N] (one channel per
instance, bool or 0/1 integers); colours are RGB tuples with components in 0..1, as returned by
``random_colors``.

``random_colors`` and ``apply_mask`` are Matterport's ``visualize`` functions; the input checks
(``_check_instances``), captions, mask binarisation and contours are shared with the matplotlib
displays in ``mrcnn.visualize``. Bad input raises ``ValueError`` naming the offending shapes.
"""

import colorsys
import random

import numpy as np

from mrcnn.image import to_rgb

__all__ = ["random_colors", "apply_mask", "draw_instances", "save_instances_png"]


def _find_contours(mask):
    """Contours of a 2-D mask as a list of [K, 2] (x, y) vertex arrays in pixel coordinates.

    The mask is zero-padded by one pixel first so shapes touching the border get closed contours.
    """
    from skimage.measure import find_contours
    padded = np.zeros((mask.shape[0] + 2, mask.shape[1] + 2), dtype=np.uint8)
    padded[1:-1, 1:-1] = mask
    return [np.fliplr(verts) - 1 for verts in find_contours(padded, 0.5)]


def _binary_masks(masks):
    """Instance masks as bool: bool kept, integers != 0, floats >= 0.5."""
    masks = np.asarray(masks)
    if masks.dtype == bool:
        return masks
    if np.issubdtype(masks.dtype, np.floating):
        return masks >= 0.5
    return masks != 0


def _check_instances(image, boxes, masks, class_ids, class_names=None, scores=None,
                     captions=None, colors=None):
    """Validates and normalises the inputs of display_instances / draw_instances.

    Returns (image [H, W, 3], boxes [N, 4], bool masks [H, W, N] or None, class_ids [N] int, N).
    """
    image = np.asarray(image)
    if image.ndim not in (2, 3):
        raise ValueError(f"image must be [H, W, 3] (or [H, W] grayscale), got shape {image.shape}")
    image = to_rgb(image)
    boxes = np.asarray(boxes)
    if boxes.size == 0:
        boxes = boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes must be [N, 4] (y1, x1, y2, x2), got shape {boxes.shape}")
    class_ids = np.asarray(class_ids).reshape(-1)
    n = boxes.shape[0]
    if masks is not None:
        masks = np.asarray(masks)
        if masks.ndim == 2 and n == 1:
            masks = masks[..., np.newaxis]
        if masks.ndim != 3:
            raise ValueError(f"masks must be [H, W, N], got shape {masks.shape}")
        n_masks = masks.shape[-1]
    else:
        n_masks = n
    if not n == n_masks == class_ids.shape[0]:
        raise ValueError(
            "boxes, masks and class_ids must describe the same instances: got "
            f"{n} boxes, {n_masks} masks (masks.shape[-1]) and {class_ids.shape[0]} class ids")
    if masks is not None:
        if masks.shape[:2] != image.shape[:2]:
            raise ValueError(f"masks are {masks.shape[0]}x{masks.shape[1]} but the image is "
                             f"{image.shape[0]}x{image.shape[1]}; masks must be full-image "
                             "[H, W, N] (use unmold_mask / expand_mask on mini masks first)")
        masks = _binary_masks(masks)
    if scores is not None and len(scores) != n:
        raise ValueError(f"got {len(scores)} scores for {n} instances")
    if captions is not None and len(captions) != n:
        raise ValueError(f"got {len(captions)} captions for {n} instances")
    if colors is not None and len(colors) < n:
        raise ValueError(f"got {len(colors)} colors for {n} instances")
    if captions is None and class_names is not None and n:
        bad = class_ids[(class_ids < 0) | (class_ids >= len(class_names))]
        if bad.size:
            raise ValueError(f"class id {int(bad[0])} is out of range for {len(class_names)} "
                             "class_names")
    return image, boxes, masks, class_ids, n


def _caption(i, class_ids, class_names, scores, captions):
    """Caption of instance i: captions[i], else "{label} {score:.3f}" (or just the label)."""
    if captions is not None:
        return str(captions[i])
    label = class_names[int(class_ids[i])]
    score = scores[i] if scores is not None else None
    return f"{label} {score:.3f}" if score is not None else str(label)


def random_colors(N, bright=True):
    """N distinct colours: RGB tuples in 0..1, evenly spaced in hue, in random order.

    Mirrors Matterport ``visualize.random_colors``: hues i/N, saturation 1, value 1.0 (0.7 when
    ``bright`` is False), shuffled with the global ``random`` module (seed it for repeatability).

    Raises:
        ValueError: N is negative.
    """
    N = int(N)
    if N < 0:
        raise ValueError(f"N must be >= 0, got {N}")
    value = 1.0 if bright else 0.7
    colors = [colorsys.hsv_to_rgb(i / N, 1.0, value) for i in range(N)]
    random.shuffle(colors)
    return colors


def apply_mask(image, mask, color, alpha=0.5):
    """Blends ``color`` into the image where ``mask == 1``, in place; returns the image.

    Mirrors Matterport ``visualize.apply_mask``. For each of the first 3 channels c, pixels with
    ``mask == 1`` (``True`` for bool masks) become ``image * (1 - alpha) + alpha * color[c] * 255``;
    the result is stored in the image's own dtype (so uint8 images are truncated toward zero).

    Args:
        image: [H, W, C>=3] array, modified in place.
        mask: [H, W] array (bool or 0/1 integers).
        color: RGB(A) with components in 0..1; only the first 3 are used.
        alpha: weight of the colour.

    Returns:
        The same ``image`` array.

    Raises:
        ValueError: the image is not [H, W, >=3], or the mask is not [H, W] of the same size.
    """
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[-1] < 3:
        raise ValueError("image must be a NumPy array of shape [H, W, 3] (modified in place), got "
                         f"{getattr(image, 'shape', type(image))}")
    mask = np.asarray(mask)
    if mask.shape != image.shape[:2]:
        raise ValueError(f"mask shape {mask.shape} does not match image shape {image.shape[:2]}")
    if len(color) < 3:
        raise ValueError(f"color must have at least 3 components, got {color!r}")
    inside = mask == 1
    for c in range(3):
        image[:, :, c] = np.where(inside, image[:, :, c] * (1 - alpha) + alpha * color[c] * 255,
                                  image[:, :, c])
    return image


def _rgb255(color):
    """A colour (0..1 RGB(A) tuple or matplotlib colour name) as an (r, g, b) 0..255 int tuple."""
    if isinstance(color, str):
        from matplotlib import colors as mcolors
        color = mcolors.to_rgb(color)
    color = tuple(float(c) for c in color)
    if len(color) < 3:
        raise ValueError(f"color must have at least 3 components, got {color!r}")
    return tuple(int(round(min(max(c, 0.0), 1.0) * 255)) for c in color[:3])


def _load_font(size):
    from PIL import ImageFont
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, ValueError, OSError, ImportError):  # Pillow without FreeType
        return ImageFont.load_default()


def draw_instances(image, boxes, masks, class_ids, class_names, scores=None, colors=None,
                   show_mask=True, show_bbox=True, captions=None):
    """Renders the ``display_instances`` overlay into a new uint8 image, without matplotlib.

    Each instance's mask is blended with ``apply_mask`` (alpha 0.5) when ``show_mask``, its
    contour (``skimage.measure.find_contours``) is drawn as a 1-pixel line, its box as a solid
    outline lying inside the (exclusive) box when ``show_bbox``, and its caption at the box's
    top-left corner inside the box, on a filled background in the instance colour (Pillow
    ``ImageDraw``). All-zero boxes are skipped, as in ``display_instances``. The input is not
    modified.

    Args:
        image: [H, W, 3] RGB image, uint8 range (grayscale [H, W] and RGBA are converted).
        boxes: [N, 4] (y1, x1, y2, x2) pixel boxes, exclusive y2/x2.
        masks: [H, W, N] masks, bool or 0/1 integers (floats thresholded at 0.5), or None.
        class_ids: [N] class ids, indices into ``class_names``.
        class_names: list of class names.
        scores: optional [N] scores; captions are "{name} {score:.3f}" (or the name).
        colors: optional N RGB colours in 0..1 (default ``random_colors(N)``).
        show_mask: blend the masks.
        show_bbox: draw the boxes.
        captions: optional N strings replacing the default captions ("" draws none).

    Returns:
        uint8 array [H, W, 3].

    Raises:
        ValueError: as ``display_instances`` (lengths of boxes/masks/class_ids disagree, masks
            not image-sized, ...).
    """
    from PIL import Image, ImageDraw

    image, boxes, masks, class_ids, n = _check_instances(
        image, boxes, masks, class_ids, class_names, scores, captions, colors)
    colors = colors if colors is not None else random_colors(n)
    height, width = image.shape[:2]
    keep = [i for i in range(n) if np.any(boxes[i])]

    blended = np.clip(image, 0, 255).astype(np.float64)
    if show_mask and masks is not None:
        for i in keep:
            apply_mask(blended, masks[:, :, i], colors[i])
    canvas = Image.fromarray(blended.astype(np.uint8))
    draw = ImageDraw.Draw(canvas)

    line_width = max(2, int(round(max(height, width) / 400)))
    font = _load_font(max(10, int(round(min(height, width) / 40))))
    for i in keep:
        rgb = _rgb255(colors[i])
        if masks is not None:
            for verts in _find_contours(masks[:, :, i]):
                draw.line([tuple(v) for v in verts], fill=rgb, width=1)
        y1, x1, y2, x2 = (int(round(float(v))) for v in boxes[i])
        x1, x2 = max(0, min(x1, width)), max(0, min(x2, width))
        y1, y2 = max(0, min(y1, height)), max(0, min(y2, height))
        if show_bbox and x2 > x1 and y2 > y1:
            draw.rectangle([x1, y1, x2 - 1, y2 - 1], outline=rgb, width=line_width)
        text = _caption(i, class_ids, class_names, scores, captions)
        if text:
            left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
            tw, th = right - left + 4, bottom - top + 4
            tx = max(0, min(x1, width - tw))
            ty = max(0, min(y1, height - th))
            draw.rectangle([tx, ty, tx + tw - 1, ty + th - 1], fill=rgb)
            luminance = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]
            draw.text((tx + 2 - left, ty + 2 - top), text, font=font,
                      fill=(0, 0, 0) if luminance > 150 else (255, 255, 255))
    return np.asarray(canvas, dtype=np.uint8).copy()


def save_instances_png(path, image, boxes, masks, class_ids, class_names, scores=None,
                       colors=None, show_mask=True, show_bbox=True, captions=None):
    """Renders the overlay with ``draw_instances`` and writes it as a PNG file with Pillow.

    Args:
        path: output file path (str or ``os.PathLike``); its directory must exist.
        image, boxes, masks, class_ids, class_names, scores, colors, show_mask, show_bbox,
            captions: as in ``draw_instances``.

    Returns:
        The rendered uint8 [H, W, 3] array.

    Raises:
        ValueError: bad inputs (see ``draw_instances``).
        OSError: the file cannot be written.
    """
    from PIL import Image
    rendered = draw_instances(image, boxes, masks, class_ids, class_names, scores=scores,
                              colors=colors, show_mask=show_mask, show_bbox=show_bbox,
                              captions=captions)
    Image.fromarray(rendered).save(path, format="PNG")
    return rendered
