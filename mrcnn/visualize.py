"""Display helpers (Matterport ``mrcnn/visualize.py``): the matplotlib displays.

Every Matterport function is here with the same signature and defaults::

    from mrcnn import visualize
    visualize.display_instances(image, r["rois"], r["masks"], r["class_ids"], class_names,
                                r["scores"])

Conventions: images are [H, W, 3] RGB arrays (axis order height, width, channel); boxes are
(y1, x1, y2, x2) pixel boxes with exclusive y2/x2; instance masks are [H, W, N] (one channel per
instance, bool or 0/1 integers); colours are RGB tuples with components in 0..1, as returned by
``random_colors``.

``random_colors``, ``apply_mask``, ``draw_instances`` and ``save_instances_png`` are defined in
``mrcnn.rendering`` (figure-free, no matplotlib) and re-exported here, so
``visualize.random_colors`` and the other old imports keep working.

Differences from the original:

* Importing the module has no side effects: it neither edits ``sys.path`` nor defines ``ROOT_DIR``;
  matplotlib is imported on first use (so ``draw_instances`` needs no matplotlib at all) and
  ``IPython.display`` only inside ``display_table``, which prints a plain-text table when IPython is
  absent or when not running in a notebook.
* Functions work with inline notebook backends and headless (Agg) alike; like the original they call
  ``plt.show()`` only when they created the figure themselves (``display_images``,
  ``display_instances`` and ``display_differences`` without ``ax``).
* Bad input raises ``ValueError`` with the offending shapes instead of failing an ``assert``.
* ``draw_instances`` / ``save_instances_png`` render the ``display_instances`` overlay straight into
  a uint8 array / PNG file, without matplotlib (for the command line and servers).
"""

import itertools
import re

import numpy as np

from mrcnn.layer_walk import iter_weighted_layers
from mrcnn.rendering import (_binary_masks, _caption, _check_instances, _find_contours,
                             apply_mask, draw_instances, random_colors, save_instances_png)

__all__ = [
    "display_images", "random_colors", "apply_mask", "display_instances", "display_differences",
    "draw_rois", "draw_box", "display_top_masks", "plot_precision_recall", "plot_overlaps",
    "draw_boxes", "display_table", "display_weight_stats", "draw_instances", "save_instances_png",
]


def _pyplot():
    """matplotlib.pyplot, imported on first use (the backend is whatever matplotlib picks)."""
    import matplotlib.pyplot as plt
    return plt


# ---------------------------------------------------------------------------------------------
# Matterport's functions
# ---------------------------------------------------------------------------------------------

def display_images(images, titles=None, cols=4, cmap=None, norm=None, interpolation=None):
    """Shows a grid of images in one new figure, then calls ``plt.show()``.

    Mirrors Matterport ``visualize.display_images``.

    Args:
        images: list of [H, W] or [H, W, 3] arrays; each is cast to uint8 for display.
        titles: optional list of titles, one per image (default "Image (1)", ...).
        cols: number of columns of the grid.
        cmap, norm, interpolation: passed to ``imshow`` (``cmap`` matters for 2-D images).

    Raises:
        ValueError: ``titles`` does not have one entry per image, or ``cols`` < 1.
    """
    plt = _pyplot()
    images = list(images)
    if cols < 1:
        raise ValueError(f"cols must be >= 1, got {cols}")
    titles = titles if titles is not None else [None] * len(images)
    if len(titles) != len(images):
        raise ValueError(f"got {len(titles)} titles for {len(images)} images")
    rows = len(images) // cols + 1
    plt.figure(figsize=(14, 14 * rows // cols))
    for i, (image, title) in enumerate(zip(images, titles), start=1):
        plt.subplot(rows, cols, i)
        plt.title(title, fontsize=9)
        plt.axis("off")
        plt.imshow(np.asarray(image).astype(np.uint8), cmap=cmap, norm=norm,
                   interpolation=interpolation)
    plt.show()


def display_instances(image, boxes, masks, class_ids, class_names, scores=None, title="",
                      figsize=(16, 16), ax=None, show_mask=True, show_bbox=True, colors=None,
                      captions=None):
    """Draws an image with instance boxes, captions, blended masks and mask outlines.

    Mirrors Matterport ``visualize.display_instances``. Boxes are dashed rectangles, all-zero
    boxes (lost in cropping) are skipped, captions are "{class name} {score:.3f}" (or the class
    name without scores) unless ``captions`` is given, and each mask is blended with
    ``apply_mask`` and outlined with its contour polygons. With N = 0 it prints
    "*** No instances to display *** " and shows the bare image.

    Args:
        image: [H, W, 3] RGB image (uint8 range; grayscale [H, W] is accepted).
        boxes: [N, 4] (y1, x1, y2, x2) pixel boxes, exclusive y2/x2.
        masks: [H, W, N] instance masks, bool or 0/1 integers (floats are thresholded at 0.5);
            None draws no masks.
        class_ids: [N] integer class ids (indices into ``class_names``).
        class_names: list of class names, index = class id ('BG' first).
        scores: optional [N] confidences.
        title: axis title.
        figsize: size of the figure created when ``ax`` is None.
        ax: matplotlib Axes to draw into; when None a figure is created and ``plt.show()`` called.
        show_mask, show_bbox: draw the blended masks / the boxes (outlines are always drawn).
        colors: optional list of N RGB(A) colours in 0..1 (default ``random_colors(N)``).
        captions: optional list of N strings replacing the default captions.

    Raises:
        ValueError: boxes, masks and class_ids disagree on N (the message gives the three
            lengths), masks do not match the image size, scores/captions/colors have the wrong
            length, or a class id is out of range.
    """
    image, boxes, masks, class_ids, n = _check_instances(
        image, boxes, masks, class_ids, class_names, scores, captions, colors)
    if not n:
        print("\n*** No instances to display *** \n")

    plt = _pyplot()
    from matplotlib import patches
    auto_show = False
    if ax is None:
        _, ax = plt.subplots(1, figsize=figsize)
        auto_show = True
    colors = colors if colors is not None else random_colors(n)

    height, width = image.shape[:2]
    ax.set_ylim(height + 10, -10)
    ax.set_xlim(-10, width + 10)
    ax.axis("off")
    ax.set_title(title)

    masked_image = image.astype(np.uint32).copy()
    for i in range(n):
        color = colors[i]
        if not np.any(boxes[i]):
            continue  # box lost during image cropping
        y1, x1, y2, x2 = boxes[i]
        if show_bbox:
            ax.add_patch(patches.Rectangle((x1, y1), x2 - x1, y2 - y1, linewidth=2, alpha=0.7,
                                           linestyle="dashed", edgecolor=color,
                                           facecolor="none"))
        ax.text(x1, y1 + 8, _caption(i, class_ids, class_names, scores, captions), color="w",
                size=11, backgroundcolor="none")
        if masks is None:
            continue
        mask = masks[:, :, i]
        if show_mask:
            masked_image = apply_mask(masked_image, mask, color)
        for verts in _find_contours(mask):
            ax.add_patch(patches.Polygon(verts, facecolor="none", edgecolor=color))
    ax.imshow(masked_image.astype(np.uint8))
    if auto_show:
        plt.show()


def display_differences(image, gt_box, gt_class_id, gt_mask, pred_box, pred_class_id, pred_score,
                        pred_mask, class_names, title="", ax=None, show_mask=True, show_box=True,
                        iou_threshold=0.5, score_threshold=0.5):
    """Shows ground truth (green) and predictions (red) with "score / IoU" captions.

    Mirrors Matterport ``visualize.display_differences``; matching is done by
    ``mrcnn.metrics.compute_matches`` (mask IoU). Each prediction's caption is its score and the
    IoU with its matched ground truth, or its best IoU when unmatched. Unlike the original,
    predictions are put in descending score order first, so each caption's score and IoU belong to
    the same prediction.

    Args:
        image: [H, W, 3] RGB image.
        gt_box: [G, 4] pixel boxes; gt_class_id: [G]; gt_mask: [H, W, G].
        pred_box: [P, 4] pixel boxes; pred_class_id: [P]; pred_score: [P]; pred_mask: [H, W, P].
        class_names: list of class names.
        title: axis title (a default legend title when empty).
        ax, show_mask: as in ``display_instances``; show_box: draw boxes.
        iou_threshold, score_threshold: passed to ``compute_matches``.

    Raises:
        ValueError: inconsistent lengths (see ``display_instances``).
    """
    from mrcnn.metrics import compute_matches

    gt_box = np.asarray(gt_box).reshape(-1, 4)
    pred_box = np.asarray(pred_box).reshape(-1, 4)
    gt_class_id = np.asarray(gt_class_id).reshape(-1)
    pred_class_id = np.asarray(pred_class_id).reshape(-1)
    pred_score = np.asarray(pred_score, dtype=np.float64).reshape(-1)
    gt_mask = np.asarray(gt_mask)
    pred_mask = np.asarray(pred_mask)
    for name, b, c, m in (("gt", gt_box, gt_class_id, gt_mask),
                          ("pred", pred_box, pred_class_id, pred_mask)):
        if m.ndim != 3 or not len(b) == len(c) == m.shape[-1]:
            raise ValueError(f"{name}_box, {name}_class_id and {name}_mask must describe the same "
                             f"instances: got {len(b)} boxes, {len(c)} class ids and masks of "
                             f"shape {m.shape}")
    if len(pred_score) != len(pred_box):
        raise ValueError(f"got {len(pred_score)} pred_score for {len(pred_box)} pred_box")

    order = np.argsort(pred_score, kind="stable")[::-1]
    pred_box, pred_class_id = pred_box[order], pred_class_id[order]
    pred_score, pred_mask = pred_score[order], pred_mask[..., order]

    gt_match, pred_match, overlaps = compute_matches(
        gt_box, gt_class_id, gt_mask, pred_box, pred_class_id, pred_score, pred_mask,
        iou_threshold=iou_threshold, score_threshold=score_threshold)
    overlaps = np.asarray(overlaps)

    n_gt, n_pred = len(gt_box), len(pred_box)
    colors = [(0, 1, 0, .8)] * n_gt + [(1, 0, 0, 1)] * n_pred
    class_ids = np.concatenate([gt_class_id, pred_class_id])
    scores = np.concatenate([np.zeros([n_gt]), pred_score])
    boxes = np.concatenate([gt_box, pred_box])
    masks = np.concatenate([_binary_masks(gt_mask), _binary_masks(pred_mask)], axis=-1)
    captions = [""] * n_gt
    for i in range(n_pred):
        if i < len(pred_match) and pred_match[i] > -1:
            iou = overlaps[i, int(pred_match[i])]
        elif i < overlaps.shape[0] and overlaps.shape[1]:
            iou = overlaps[i].max()
        else:
            iou = 0.0
        captions.append(f"{pred_score[i]:.2f} / {iou:.2f}")
    title = title or "Ground Truth and Detections\n GT=green, pred=red, captions: score/IoU"
    display_instances(image, boxes, masks, class_ids, class_names, scores, ax=ax,
                      show_bbox=show_box, show_mask=show_mask, colors=colors, captions=captions,
                      title=title)


def draw_rois(image, rois, refined_rois, mask, class_ids, class_names, limit=10):
    """Shows up to ``limit`` random ROIs, their refined boxes and masks; prints ROI counts.

    Mirrors Matterport ``visualize.draw_rois`` (used on ``DetectionTargetLayer`` outputs).
    Negative ROIs (class 0) are gray dashed boxes; positive ones are dashed boxes joined by a line
    to their solid refined box, captioned with the class name, with the mask pasted into the
    ROI by ``mrcnn.masks.unmold_mask``. Creates a figure (no ``plt.show()``, as the original).

    Args:
        image: [H, W, 3] RGB image.
        rois: [N, 4] pixel boxes (y1, x1, y2, x2).
        refined_rois: [N, 4] refined pixel boxes.
        mask: [N, h, w] float mask per ROI (values 0..1).
        class_ids: [N] class ids, 0 = negative ROI.
        class_names: list of class names.
        limit: at most this many ROIs are drawn, chosen with ``np.random.choice``.

    Raises:
        ValueError: the arrays disagree on N, or there are no ROIs.
    """
    from matplotlib import lines, patches
    from mrcnn.masks import unmold_mask

    plt = _pyplot()
    image = np.asarray(image)
    rois = np.asarray(rois).reshape(-1, 4)
    refined_rois = np.asarray(refined_rois).reshape(-1, 4)
    class_ids = np.asarray(class_ids).reshape(-1)
    mask = np.asarray(mask)
    if not rois.shape[0] == refined_rois.shape[0] == class_ids.shape[0] == mask.shape[0]:
        raise ValueError(f"got {rois.shape[0]} rois, {refined_rois.shape[0]} refined_rois, "
                         f"{mask.shape[0]} masks and {class_ids.shape[0]} class ids")
    if rois.shape[0] == 0:
        raise ValueError("draw_rois needs at least one ROI")
    masked_image = image.copy()

    ids = np.arange(rois.shape[0], dtype=np.int32)
    if ids.shape[0] > limit:
        ids = np.random.choice(ids, limit, replace=False)
    fig, ax = plt.subplots(1, figsize=(12, 12))
    if rois.shape[0] > limit:
        plt.title(f"Showing {len(ids)} random ROIs out of {rois.shape[0]}")
    else:
        plt.title(f"{len(ids)} ROIs")
    ax.set_ylim(image.shape[0] + 20, -20)
    ax.set_xlim(-50, image.shape[1] + 20)
    ax.axis("off")

    for roi_id in ids:
        color = np.random.rand(3)
        class_id = int(class_ids[roi_id])
        y1, x1, y2, x2 = rois[roi_id]
        ax.add_patch(patches.Rectangle((x1, y1), x2 - x1, y2 - y1, linewidth=2,
                                       edgecolor=color if class_id else "gray",
                                       facecolor="none", linestyle="dashed"))
        if class_id:
            ry1, rx1, ry2, rx2 = refined_rois[roi_id]
            ax.add_patch(patches.Rectangle((rx1, ry1), rx2 - rx1, ry2 - ry1, linewidth=2,
                                           edgecolor=color, facecolor="none"))
            ax.add_line(lines.Line2D([x1, rx1], [y1, ry1], color=color))
            ax.text(rx1, ry1 + 8, f"{class_names[class_id]}", color="w", size=11,
                    backgroundcolor="none")
            m = unmold_mask(mask[roi_id], rois[roi_id][:4].astype(np.int32), image.shape)
            masked_image = apply_mask(masked_image, m, color)
    ax.imshow(masked_image)

    n_pos = int(np.sum(class_ids > 0))
    print("Positive ROIs: ", n_pos)
    print("Negative ROIs: ", int(np.sum(class_ids == 0)))
    print(f"Positive Ratio: {n_pos / class_ids.shape[0]:.2f}")


def draw_box(image, box, color):
    """Paints a 2-pixel-wide rectangle outline into the image array, in place; returns it.

    Mirrors Matterport ``visualize.draw_box``: rows y1..y1+1 and y2..y2+1 over columns x1..x2-1,
    and columns x1..x1+1 and x2..x2+1 over rows y1..y2-1 (so the bottom/right lines lie just
    outside the exclusive box, clipped at the image border).

    Args:
        image: [H, W, C] array, modified in place.
        box: (y1, x1, y2, x2) integer pixel box.
        color: value(s) assigned to the pixels, e.g. (255, 0, 0) for a uint8 RGB image.

    Raises:
        ValueError: ``box`` does not have 4 entries.
    """
    box = np.asarray(box).reshape(-1)
    if box.shape[0] != 4:
        raise ValueError(f"box must be (y1, x1, y2, x2), got {box!r}")
    y1, x1, y2, x2 = (max(int(v), 0) for v in box)
    image[y1:y1 + 2, x1:x2] = color
    image[y2:y2 + 2, x1:x2] = color
    image[y1:y2, x1:x1 + 2] = color
    image[y1:y2, x2:x2 + 2] = color
    return image


def display_top_masks(image, mask, class_ids, class_names, limit=4):
    """Shows the image and, for the ``limit`` classes with the largest mask area, their masks.

    Mirrors Matterport ``visualize.display_top_masks``: each panel is the class's instances
    merged into one label image (instance k of the class has value k, 1-based), drawn with
    "Blues_r"; empty panels are titled "-". Calls ``display_images`` (which shows the figure).

    Args:
        image: [H, W, 3] RGB image.
        mask: [H, W, N] instance masks.
        class_ids: [N] class ids.
        class_names: list of class names.
        limit: number of class panels.

    Raises:
        ValueError: mask and class_ids disagree on N.
    """
    image = np.asarray(image)
    mask = np.asarray(mask)
    class_ids = np.asarray(class_ids).reshape(-1)
    if mask.ndim != 3 or mask.shape[-1] != class_ids.shape[0]:
        raise ValueError(f"mask must be [H, W, N] with N = len(class_ids) = {class_ids.shape[0]}, "
                         f"got shape {mask.shape}")
    to_display = [image]
    titles = [f"H x W={image.shape[0]}x{image.shape[1]}"]
    unique_class_ids = np.unique(class_ids)
    areas = [np.sum(mask[:, :, class_ids == c] != 0) for c in unique_class_ids]
    by_area = sorted(zip(unique_class_ids, areas), key=lambda r: r[1], reverse=True)
    top_ids = [int(c) for c, area in by_area if area > 0]
    for i in range(limit):
        class_id = top_ids[i] if i < len(top_ids) else -1
        m = mask[:, :, class_ids == class_id].astype(np.int64)
        to_display.append(np.sum(m * np.arange(1, m.shape[-1] + 1), -1))
        titles.append(class_names[class_id] if class_id != -1 else "-")
    display_images(to_display, titles=titles, cols=limit + 1, cmap="Blues_r")


def plot_precision_recall(AP, precisions, recalls):
    """Plots a precision-recall curve in a new figure, titled with the AP.

    Mirrors Matterport ``visualize.plot_precision_recall`` (no ``plt.show()``, as the original).

    Args:
        AP: average precision (float), shown as "AP@50 = {AP:.3f}".
        precisions, recalls: [K] arrays (as returned by ``compute_ap``).

    Raises:
        ValueError: precisions and recalls have different lengths.
    """
    plt = _pyplot()
    precisions = np.asarray(precisions).reshape(-1)
    recalls = np.asarray(recalls).reshape(-1)
    if precisions.shape != recalls.shape:
        raise ValueError(f"got {precisions.shape[0]} precisions and {recalls.shape[0]} recalls")
    _, ax = plt.subplots(1)
    ax.set_title(f"Precision-Recall Curve. AP@50 = {AP:.3f}")
    ax.set_ylim(0, 1.1)
    ax.set_xlim(0, 1.1)
    ax.plot(recalls, precisions)


def plot_overlaps(gt_class_ids, pred_class_ids, pred_scores, overlaps, class_names, threshold=0.5):
    """Draws the prediction x ground-truth IoU grid, marking cells "match" or "wrong".

    Mirrors Matterport ``visualize.plot_overlaps``. Class id 0 entries (padding) are dropped from
    both id lists first. Cells with IoU > ``threshold`` say "match" when the classes agree and
    "wrong" otherwise. Creates a figure (no ``plt.show()``, as the original).

    Args:
        gt_class_ids: [G] ground-truth class ids.
        pred_class_ids: [P] predicted class ids; pred_scores: [P] their scores.
        overlaps: [P, G] IoU matrix (rows predictions, columns ground truth), as from
            ``compute_ap`` / ``compute_overlaps_masks(pred, gt)``.
        class_names: list of class names.
        threshold: IoU above which a cell is labelled.

    Raises:
        ValueError: overlaps is not [P, G] for the non-zero ids.
    """
    plt = _pyplot()
    gt_class_ids = np.asarray(gt_class_ids).reshape(-1)
    pred_class_ids = np.asarray(pred_class_ids).reshape(-1)
    gt_class_ids = gt_class_ids[gt_class_ids != 0]
    pred_class_ids = pred_class_ids[pred_class_ids != 0]
    overlaps = np.asarray(overlaps, dtype=np.float64).reshape(len(pred_class_ids), -1) \
        if np.size(overlaps) == 0 else np.asarray(overlaps, dtype=np.float64)
    if overlaps.shape != (len(pred_class_ids), len(gt_class_ids)):
        raise ValueError(f"overlaps must be [P, G] = [{len(pred_class_ids)}, {len(gt_class_ids)}]"
                         f" (non-zero class ids), got shape {overlaps.shape}")

    plt.figure(figsize=(12, 10))
    plt.imshow(overlaps, interpolation="nearest", cmap=plt.cm.Blues)
    plt.yticks(np.arange(len(pred_class_ids)),
               [f"{class_names[int(c)]} ({pred_scores[i]:.2f})"
                for i, c in enumerate(pred_class_ids)])
    plt.xticks(np.arange(len(gt_class_ids)), [class_names[int(c)] for c in gt_class_ids],
               rotation=90)
    thresh = overlaps.max() / 2. if overlaps.size else 0.
    for i, j in itertools.product(range(overlaps.shape[0]), range(overlaps.shape[1])):
        text = ""
        if overlaps[i, j] > threshold:
            text = "match" if gt_class_ids[j] == pred_class_ids[i] else "wrong"
        color = ("white" if overlaps[i, j] > thresh
                 else "black" if overlaps[i, j] > 0 else "grey")
        plt.text(j, i, f"{overlaps[i, j]:.3f}\n{text}", horizontalalignment="center",
                 verticalalignment="center", fontsize=9, color=color)
    plt.tight_layout()
    plt.xlabel("Ground Truth")
    plt.ylabel("Predictions")


def draw_boxes(image, boxes=None, refined_boxes=None, masks=None, captions=None,
               visibilities=None, title="", ax=None):
    """Draws boxes, refined boxes (joined to their boxes by lines), captions and masks.

    Mirrors Matterport ``visualize.draw_boxes``. ``visibilities[i]`` selects the style:
    0 = gray dotted (refinement not drawn), 1 = coloured dotted (default), 2 = coloured solid.
    All-zero boxes are skipped. Captions go at the refined box when given, else at the box.
    Creates a figure when ``ax`` is None (no ``plt.show()``, as the original).

    Args:
        image: [H, W, 3] RGB image.
        boxes: [N, 4] pixel boxes (y1, x1, y2, x2), or None.
        refined_boxes: [N, 4] pixel boxes, or None (at least one of the two is required).
        masks: [H, W, N] instance masks, or None.
        captions: N strings, or None.
        visibilities: N ints in {0, 1, 2}, or None.
        title: axis title.
        ax: matplotlib Axes, or None to create a 12x12 figure.

    Raises:
        ValueError: neither boxes nor refined_boxes given, lengths disagree, or a visibility is
            not 0, 1 or 2.
    """
    from matplotlib import colors as mcolors
    from matplotlib import lines, patches

    if boxes is None and refined_boxes is None:
        raise ValueError("draw_boxes needs boxes or refined_boxes")
    boxes = None if boxes is None else np.asarray(boxes).reshape(-1, 4)
    refined_boxes = None if refined_boxes is None else np.asarray(refined_boxes).reshape(-1, 4)
    n = boxes.shape[0] if boxes is not None else refined_boxes.shape[0]
    for name, seq in (("refined_boxes", refined_boxes), ("captions", captions),
                      ("visibilities", visibilities)):
        if seq is not None and len(seq) != n:
            raise ValueError(f"got {len(seq)} {name} for {n} boxes")
    image = np.asarray(image)
    if masks is not None:
        masks = np.asarray(masks)
        if masks.ndim != 3 or masks.shape[-1] != n or masks.shape[:2] != image.shape[:2]:
            raise ValueError(f"masks must be [H, W, N] = [{image.shape[0]}, {image.shape[1]}, "
                             f"{n}], got shape {masks.shape}")
        masks = _binary_masks(masks)
    if visibilities is not None and any(v not in (0, 1, 2) for v in visibilities):
        raise ValueError(f"visibilities must be 0, 1 or 2, got {list(visibilities)}")

    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(1, figsize=(12, 12))
    colors = random_colors(n)
    margin = image.shape[0] // 10
    ax.set_ylim(image.shape[0] + margin, -margin)
    ax.set_xlim(-margin, image.shape[1] + margin)
    ax.axis("off")
    ax.set_title(title)

    masked_image = image.astype(np.uint32).copy()
    for i in range(n):
        visibility = visibilities[i] if visibilities is not None else 1
        if visibility == 0:
            color, style, alpha = "gray", "dotted", 0.5
        elif visibility == 1:
            color, style, alpha = colors[i], "dotted", 1
        else:
            color, style, alpha = colors[i], "solid", 1
        x1 = y1 = None
        if boxes is not None:
            if not np.any(boxes[i]):
                continue
            y1, x1, y2, x2 = boxes[i]
            ax.add_patch(patches.Rectangle((x1, y1), x2 - x1, y2 - y1, linewidth=2, alpha=alpha,
                                           linestyle=style, edgecolor=color, facecolor="none"))
        if refined_boxes is not None and visibility > 0:
            ry1, rx1, ry2, rx2 = refined_boxes[i].astype(np.int32)
            ax.add_patch(patches.Rectangle((rx1, ry1), rx2 - rx1, ry2 - ry1, linewidth=2,
                                           edgecolor=color, facecolor="none"))
            if boxes is not None:
                ax.add_line(lines.Line2D([x1, rx1], [y1, ry1], color=color))
        if captions is not None:
            if refined_boxes is not None:
                y1, x1 = refined_boxes[i][:2]
            ax.text(x1, y1, captions[i], size=11, verticalalignment="top", color="w",
                    backgroundcolor="none",
                    bbox={"facecolor": color, "alpha": 0.5, "pad": 2, "edgecolor": "none"})
        if masks is not None:
            rgb = mcolors.to_rgb(color)
            masked_image = apply_mask(masked_image, masks[:, :, i], rgb)
            for verts in _find_contours(masks[:, :, i]):
                ax.add_patch(patches.Polygon(verts, facecolor="none", edgecolor=rgb))
    ax.imshow(masked_image.astype(np.uint8))


class _Table:
    """A table that IPython renders as HTML in notebooks and as plain text elsewhere."""

    def __init__(self, table):
        self.rows = [[str(col) for col in row] for row in table]

    def _repr_html_(self):
        body = "".join("<tr>" + "".join(f"<td>{col:40}</td>" for col in row) + "</tr>"
                       for row in self.rows)
        return "<table>" + body + "</table>"

    def __repr__(self):
        rows = [[re.sub(r"<[^>]*>", "", col) for col in row] for row in self.rows]
        if not rows:
            return ""
        widths = [max(len(r[j]) for r in rows if j < len(r))
                  for j in range(max(len(r) for r in rows))]
        return "\n".join("  ".join(col.ljust(widths[j]) for j, col in enumerate(row)).rstrip()
                         for row in rows)


def display_table(table):
    """Displays a table (list of rows, each a list of cells) as HTML in notebooks.

    Mirrors Matterport ``visualize.display_table``; each cell is ``str(cell)``, padded to 40
    characters in the HTML. Cells may contain HTML markup. Outside a notebook (terminal IPython,
    plain Python, or IPython not installed) a plain-text table with the markup stripped is printed.

    Raises:
        ValueError: ``table`` is not a sequence of rows.
    """
    if isinstance(table, (str, bytes)) or not all(
            hasattr(row, "__iter__") and not isinstance(row, (str, bytes)) for row in table):
        raise ValueError("table must be a list of rows, each a list of cells")
    t = _Table(table)
    try:
        import IPython.display
    except ImportError:
        print(repr(t))
        return
    IPython.display.display(t)


def _layer_of_weights(keras_model):
    """Maps id(variable) -> owning leaf layer, nested models (such as ``rpn_model``) walked."""
    owners = {}
    for layer in iter_weighted_layers(keras_model):
        for w in layer.weights:
            owners.setdefault(id(w), layer)
    return owners


def display_weight_stats(model):
    """Displays a table of every weight's name, shape, min, max and std.

    Mirrors Matterport ``visualize.display_weight_stats``. Walks ``model.keras_model.weights``,
    which includes the weights of nested models such as ``rpn_model``. A weight whose min equals
    its max is flagged "*** dead?" (except convolution biases, which are legitimately all zero
    at initialisation); one with an absolute value above 1000 is flagged "*** Overflow?".

    Args:
        model: the ``MaskRCNN`` wrapper (anything with a ``keras_model`` attribute); a Keras
            model itself is accepted too.

    Raises:
        ValueError: ``model`` has no ``keras_model`` and no ``weights``.
    """
    keras_model = getattr(model, "keras_model", model)
    if not hasattr(keras_model, "weights"):
        raise ValueError("display_weight_stats expects a MaskRCNN (with .keras_model) or a Keras "
                         f"model, got {type(model).__name__}")
    owners = _layer_of_weights(keras_model) if hasattr(keras_model, "layers") else {}
    table = [["WEIGHT NAME", "SHAPE", "MIN", "MAX", "STD"]]
    for w in keras_model.weights:
        value = np.asarray(w.numpy() if hasattr(w, "numpy") else w)
        name = getattr(w, "path", None) or getattr(w, "name", "?")
        layer = owners.get(id(w))
        is_conv_bias = (layer is not None and "Conv" in type(layer).__name__
                        and getattr(layer, "bias", None) is w)
        alert = ""
        if value.size and value.min() == value.max() and not is_conv_bias:
            alert += "<span style='color:red'>*** dead?</span>"
        if value.size and (np.abs(value.min()) > 1000 or np.abs(value.max()) > 1000):
            alert += "<span style='color:red'>*** Overflow?</span>"
        stats = (value.min(), value.max(), value.std()) if value.size else (np.nan,) * 3
        table.append([name + alert, str(value.shape), f"{stats[0]:+9.4f}", f"{stats[1]:+10.4f}",
                      f"{stats[2]:+9.4f}"])
    display_table(table)
