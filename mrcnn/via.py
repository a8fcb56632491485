"""VGG Image Annotator (VIA) region files: reading them and rasterising their regions (NumPy).

Reads what VIA 1.x and 2.x save, the layout of Matterport's balloon sample:

* the annotation export (VIA 1.x "Save as JSON", VIA 2.x "Export Annotations (as json)"): a dict
  keyed by ``filename + str(size)``, whose values are ``{filename, size, regions,
  file_attributes}``; ``regions`` is a dict keyed "0", "1", ... in VIA 1.x and a list in 2.x;
* the VIA 2.x project file: the same dict under ``"_via_img_metadata"`` (next to
  ``_via_settings`` and ``_via_attributes``).

Each region is ``{"shape_attributes": {"name": ..., ...}, "region_attributes": {...}}`` with the
shapes ``polygon`` (``all_points_x``, ``all_points_y``), ``rect`` (``x``, ``y``, ``width``,
``height``), ``circle`` (``cx``, ``cy``, ``r``) and ``ellipse`` (``cx``, ``cy``, ``rx``, ``ry`` and,
in VIA 2.x, ``theta`` in radians, clockwise on screen). Matterport's ``load_balloon`` reads only
polygons; here all four become masks. Coordinates are VIA's: pixels, x to the right, y down, the
origin at the top-left corner of the image.

Used by ``samples/balloon/balloon.py`` and ``mrcnn.datasets``; the only VIA parser of the project.
"""

import json
import os

import numpy as np
import skimage.draw

#: Region shapes that have an area, with the keys each needs in ``shape_attributes``.
SHAPE_KEYS = {
    "polygon": ("all_points_x", "all_points_y"),
    "rect": ("x", "y", "width", "height"),
    "circle": ("cx", "cy", "r"),
    "ellipse": ("cx", "cy", "rx", "ry"),
}


class ViaFormatError(ValueError):
    """A VIA file that cannot be read as VIA 1.x / 2.x region data (the message says where)."""


def _image_entries(data, json_path):
    """The per-image dicts of a parsed VIA file, in file order."""
    if not isinstance(data, dict):
        raise ViaFormatError(
            f"{json_path}: expected a JSON object keyed by image (VIA 1.x/2.x region data), "
            f"got a JSON {type(data).__name__}")
    if "_via_img_metadata" in data:  # VIA 2.x project file
        data = data["_via_img_metadata"]
        if not isinstance(data, dict):
            raise ViaFormatError(f"{json_path}: '_via_img_metadata' is not an object")
    elif "project" in data and "metadata" in data and "file" in data:
        raise ViaFormatError(
            f"{json_path}: this is a VIA 3.x project file, which is not supported; in VIA 3 "
            "export the annotations as COCO and load them with mrcnn.datasets.CocoFormatDataset, "
            "or annotate with VIA 2.x")
    entries = []
    for key, entry in data.items():
        if key.startswith("_via_"):
            continue
        if not isinstance(entry, dict) or "filename" not in entry or "regions" not in entry:
            raise ViaFormatError(
                f"{json_path}: entry {key!r} is not a VIA image record (it needs 'filename' and "
                "'regions'); is this a VIA region-data export?")
        entries.append((key, entry))
    return entries


def _check_region(region, where):
    if not isinstance(region, dict) or not isinstance(region.get("shape_attributes"), dict):
        raise ViaFormatError(f"{where}: a region needs a 'shape_attributes' object")
    shape = region["shape_attributes"]
    name = shape.get("name")
    if name not in SHAPE_KEYS:
        raise ViaFormatError(
            f"{where}: region shape {name!r} has no area and cannot be a mask; supported shapes: "
            f"{', '.join(SHAPE_KEYS)} (delete or redraw the region in VIA)")
    missing = [k for k in SHAPE_KEYS[name] if k not in shape]
    if missing:
        raise ViaFormatError(f"{where}: {name} region lacks {', '.join(missing)}")
    if name == "polygon":
        xs, ys = shape["all_points_x"], shape["all_points_y"]
        if len(xs) != len(ys):
            raise ViaFormatError(f"{where}: polygon has {len(xs)} x but {len(ys)} y coordinates")
        if len(xs) < 3:
            raise ViaFormatError(f"{where}: polygon has {len(xs)} points; it needs at least 3")


def region_class_name(region_attributes, attribute=None):
    """The class name a region's ``region_attributes`` give, or None when they give none.

    Args:
        region_attributes: a VIA region's ``region_attributes`` dict. Values are strings (text,
            dropdown, radio attributes) or ``{option: true}`` dicts (checkbox attributes).
        attribute: the attribute to read (e.g. "name"). None: all non-empty values of the
            region's attributes must agree on one name (``{"type": "kudzu", "insect": "kudzu"}``
            gives "kudzu"); no values gives None.

    Raises:
        ViaFormatError: the attributes give two different names and ``attribute`` is None, or a
            checkbox attribute has more than one option ticked.
    """
    if not isinstance(region_attributes, dict):
        return None
    items = ([(attribute, region_attributes.get(attribute))] if attribute is not None
             else list(region_attributes.items()))
    names = []
    for key, value in items:
        if isinstance(value, dict):  # VIA 2.x checkbox: {option: true, ...}
            ticked = [k for k, v in value.items() if v]
            if len(ticked) > 1:
                raise ViaFormatError(f"region attribute {key!r} has several options ticked: "
                                     f"{ticked}; a region has one class")
            value = ticked[0] if ticked else None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and value.strip():
            names.append(value.strip())
    if not names:
        return None
    if len(set(names)) > 1:
        raise ViaFormatError(
            f"region attributes {region_attributes} give several class names {sorted(set(names))};"
            " name the attribute that holds the class (class_attribute=...)")
    return names[0]


def load_via_annotations(json_path, class_attribute=None):
    """Reads a VIA 1.x / 2.x region file into one record per image.

    Args:
        json_path: the VIA JSON (``via_region_data.json`` or a VIA 2.x project file).
        class_attribute: the region attribute that holds the class name; None: see
            ``region_class_name``.

    Returns:
        A list, in file order, of dicts ``{"filename": str, "path": str (filename joined to the
        JSON's folder), "size": int or None (bytes, as VIA stores it), "file_attributes": dict,
        "regions": [{"shape_attributes": dict, "region_attributes": dict, "class_name": str or
        None}, ...]}``. Images without regions are kept, with ``regions == []``; Matterport's
        balloon loader skips them, ``ViaDataset`` can keep them as negatives. Every region has
        a shape with an area (``SHAPE_KEYS``); the image size is not known here (VIA does not
        store it), so ``region_to_mask`` takes it.

    Raises:
        FileNotFoundError: no such file.
        ViaFormatError (a ValueError): not JSON, not a VIA 1.x/2.x region file (a VIA 3.x project
            is named as such), a region without a supported shape or with missing coordinates,
            or conflicting class names. The message names the file, image and region.
    """
    json_path = os.fspath(json_path)
    if not os.path.isfile(json_path):
        raise FileNotFoundError(f"VIA annotation file not found: {json_path}")
    with open(json_path, encoding="utf-8") as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as e:
            raise ViaFormatError(f"{json_path}: not valid JSON ({e})") from None
    folder = os.path.dirname(os.path.abspath(json_path))
    records = []
    for key, entry in _image_entries(data, json_path):
        regions = entry["regions"]
        if isinstance(regions, dict):  # VIA 1.x: {"0": region, "1": region, ...}
            regions = list(regions.values())
        elif regions is None:
            regions = []
        elif not isinstance(regions, list):
            raise ViaFormatError(f"{json_path}: {entry['filename']}: 'regions' is neither a "
                                 "list (VIA 2.x) nor an object (VIA 1.x)")
        out = []
        for i, region in enumerate(regions):
            where = f"{json_path}: {entry['filename']}: region {i}"
            _check_region(region, where)
            attributes = region.get("region_attributes") or {}
            try:
                name = region_class_name(attributes, class_attribute)
            except ViaFormatError as e:
                raise ViaFormatError(f"{where}: {e}") from None
            out.append({"shape_attributes": region["shape_attributes"],
                        "region_attributes": attributes, "class_name": name})
        size = entry.get("size")
        records.append({
            "filename": entry["filename"],
            "path": os.path.join(folder, entry["filename"]),
            "size": int(size) if isinstance(size, (int, float, str)) and str(size).isdigit()
            else None,
            "file_attributes": entry.get("file_attributes") or {},
            "regions": out,
        })
    return records


def region_to_mask(region, height, width):
    """Rasterises one VIA region into a bool ``[height, width]`` mask.

    Args:
        region: a region dict (with ``shape_attributes``) as ``load_via_annotations`` returns or
            VIA stores it, or a bare ``shape_attributes`` dict.
        height, width: the image size in pixels.

    Returns:
        bool ``[height, width]``: the pixels whose centres (integer coordinates) the shape covers:
        polygons by ``skimage.draw.polygon(all_points_y, all_points_x)`` as in Matterport's
        ``load_mask``; ``rect`` the rows ``round(y) .. round(y + height) - 1`` and columns
        ``round(x) .. round(x + width) - 1``; circles by ``skimage.draw.disk``; ellipses by
        ``skimage.draw.ellipse`` (VIA's clockwise ``theta``). Parts outside the image are cut off
        (Matterport raises IndexError on them); a region entirely outside gives an empty mask,
        which training drops.

    Raises:
        ViaFormatError: the shape is not one of ``SHAPE_KEYS`` or lacks coordinates.
        ValueError: height or width is not a positive integer.
    """
    if int(height) != height or int(width) != width or height < 1 or width < 1:
        raise ValueError(f"image size must be positive integers, got {height} x {width}")
    height, width = int(height), int(width)
    shape = region.get("shape_attributes", region) if isinstance(region, dict) else region
    _check_region({"shape_attributes": shape}, "region")
    name = shape["name"]
    mask = np.zeros((height, width), dtype=bool)
    if name == "polygon":
        rr, cc = skimage.draw.polygon(np.asarray(shape["all_points_y"], dtype=np.float64),
                                      np.asarray(shape["all_points_x"], dtype=np.float64),
                                      shape=(height, width))
        mask[rr, cc] = True
    elif name == "rect":
        x, y = float(shape["x"]), float(shape["y"])
        y1, x1 = int(round(y)), int(round(x))
        y2, x2 = int(round(y + float(shape["height"]))), int(round(x + float(shape["width"])))
        mask[max(y1, 0):max(y2, 0), max(x1, 0):max(x2, 0)] = True
    elif name == "circle":
        rr, cc = skimage.draw.disk((float(shape["cy"]), float(shape["cx"])), float(shape["r"]),
                                   shape=(height, width))
        mask[rr, cc] = True
    else:  # ellipse
        # skimage's rotation turns counter-clockwise on screen, VIA's theta clockwise.
        rr, cc = skimage.draw.ellipse(float(shape["cy"]), float(shape["cx"]),
                                      float(shape["ry"]), float(shape["rx"]),
                                      shape=(height, width),
                                      rotation=-float(shape.get("theta", 0.0)))
        mask[rr, cc] = True
    return mask


def regions_to_masks(regions, height, width):
    """Stacks ``region_to_mask`` of each region: bool ``[height, width, len(regions)]``."""
    masks = np.zeros((height, width, len(regions)), dtype=bool)
    for i, region in enumerate(regions):
        masks[:, :, i] = region_to_mask(region, height, width)
    return masks
