"""The layout of Matterport's released mask_rcnn_coco.h5, for tests: the real file's 406 layer
names (from ../shared/data/weights) and the weight shapes of Matterport's COCO graph
(reference section 2), and a writer for files in that layout with generated values."""

import json

import numpy as np

from mrcnn import weights
from tests.paths import DATA_DIR

DATA = DATA_DIR
REAL = json.loads((DATA / "weights" / "mask_rcnn_coco.layers.json").read_text())
NC = 81
RPN_WEIGHT_NAMES = ["rpn_conv_shared/kernel:0", "rpn_conv_shared/bias:0",
                    "rpn_class_raw/kernel:0", "rpn_class_raw/bias:0",
                    "rpn_bbox_pred/kernel:0", "rpn_bbox_pred/bias:0"]


def expected_shapes(name):
    """Weight shapes of a layer of Matterport's COCO graph (reference section 2)."""
    def conv(k, cin, cout):
        return [(k, k, cin, cout), (cout,)]

    def bn(c):
        return [(c,)] * 4

    if name == "conv1":
        return conv(7, 3, 64)
    if name == "bn_conv1":
        return bn(64)
    if name == "rpn_model":
        return conv(3, 256, 512) + conv(1, 512, 6) + conv(1, 512, 12)
    if name.startswith(("res", "bn")) and "_branch" in name:
        stage = int(name[2] if name.startswith("bn") else name[3])
        block = name[3] if name.startswith("bn") else name[4]
        branch = name.split("_branch")[1]
        f = {2: 64, 3: 128, 4: 256, 5: 512}[stage]
        if name.startswith("bn"):
            return bn(4 * f if branch in ("2c", "1") else f)
        cin_first = {2: 64, 3: 256, 4: 512, 5: 1024}[stage]
        cin = cin_first if block == "a" else 4 * f
        return {"2a": conv(1, cin, f), "2b": conv(3, f, f), "2c": conv(1, f, 4 * f),
                "1": conv(1, cin, 4 * f)}[branch]
    fpn_in = {"fpn_c5p5": 2048, "fpn_c4p4": 1024, "fpn_c3p3": 512, "fpn_c2p2": 256}
    if name in fpn_in:
        return conv(1, fpn_in[name], 256)
    if name in ("fpn_p2", "fpn_p3", "fpn_p4", "fpn_p5"):
        return conv(3, 256, 256)
    heads = {
        "mrcnn_class_conv1": conv(7, 256, 1024), "mrcnn_class_bn1": bn(1024),
        "mrcnn_class_conv2": conv(1, 1024, 1024), "mrcnn_class_bn2": bn(1024),
        "mrcnn_class_logits": [(1024, NC), (NC,)], "mrcnn_bbox_fc": [(1024, 4 * NC), (4 * NC,)],
        "mrcnn_mask_deconv": [(2, 2, 256, 256), (256,)], "mrcnn_mask": conv(1, 256, NC),
    }
    for i in range(1, 5):
        heads[f"mrcnn_mask_conv{i}"] = conv(3, 256, 256)
        heads[f"mrcnn_mask_bn{i}"] = bn(256)
    return heads[name]


def weight_names(name):
    """Keras 2 weight names of a layer of the COCO graph."""
    if name == "rpn_model":
        return RPN_WEIGHT_NAMES
    n = len(expected_shapes(name))
    suffixes = ["gamma", "beta", "moving_mean", "moving_variance"] if n == 4 else ["kernel",
                                                                                   "bias"]
    return [f"{name}/{s}:0" for s in suffixes]


def weighted_layer_names():
    """Names of the real file's layers that hold weights in Matterport's graph."""
    result = []
    for name in REAL["layer_names"]:
        try:
            expected_shapes(name)
        except (KeyError, ValueError, IndexError):
            continue
        result.append(name)
    return result


def write_release_like_file(path, seed=0, scale=0.01):
    """Writes a file with the real file's root attributes and layer list, and generated weights
    of Matterport's shapes (BN variances positive). Returns {layer: [arrays]}."""
    rng = np.random.default_rng(seed)
    by_layer = {}
    for name in weighted_layer_names():
        arrays = [rng.normal(0, scale, shape).astype(np.float32)
                  for shape in expected_shapes(name)]
        if len(arrays) == 4:
            arrays[0] = 1.0 + arrays[0]
            arrays[3] = np.abs(arrays[3]) + 1.0
        by_layer[name] = list(zip(weight_names(name), arrays))
    weights.write_matterport_layout(str(path), REAL["layer_names"], by_layer,
                                    keras_version=REAL["keras_version"])
    return {k: [a for _, a in v] for k, v in by_layer.items()}
