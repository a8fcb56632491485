"""Detections of mrcnn and of Matterport's own graph, same weight file, same photos, row by row.

Matterport's graph is the TF2 port in ../shared/reference/matterport_port (its README says how to
build the environment; it needs tf_keras). Both models load ONE weight file in the layout of
mask_rcnn_coco.h5 (by default mrcnn's random initialisation saved in that layout, generated
once) and run on photos of ../shared/data/matterport_demo_images. Reported per photo:

* end to end: ``detect()`` (boxes, class ids, scores, masks) and the graph outputs ``ROI``
  (proposals) and ``mrcnn_detection``, compared row by row;
* layer by layer: Matterport's own RPN outputs fed to mrcnn's ``ProposalLayer`` against
  Matterport's ``ROI``, and Matterport's proposals and head outputs fed to mrcnn's
  ``DetectionLayer`` against Matterport's ``mrcnn_detection``. These isolate the NMS stages
  from float differences of the backbone; they must be identical bit for bit.

Random weights with ``--min-confidence 0`` fill all detection slots, many with saturated,
exactly tied softmax scores: the worst case for NMS tie order.

mrcnn's box coder (``box_ops.BoxCoder``) clamps log size deltas at ``box_ops.SCALE_CLAMP`` =
log(1e30), only where Matterport's ``exp`` would overflow float32 or give boxes over 1e30 times
their size, so the default settings decode as Matterport. ``--unclamped-deltas`` turns even that
clamp off in mrcnn (a diagnostic).

    python benchmarks/parity_matterport.py --port-python /tmp/portvenv/bin/python [--images 3]

Exits 1 when a layer-by-layer comparison differs (or any end-to-end one, with ``--strict``).
Not part of the test suite: CI has no port environment.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PORT_DIR = os.path.join(ROOT, "..", "shared", "reference", "matterport_port")
IMAGE_DIR = os.path.join(ROOT, "..", "shared", "data", "matterport_demo_images", "images")
OUTPUT_NAMES = ["mrcnn_detection", "mrcnn_class", "mrcnn_bbox", "mrcnn_mask", "ROI",
                "rpn_class", "rpn_bbox"]
KEPT = ["mrcnn_detection", "mrcnn_class", "mrcnn_bbox", "ROI", "rpn_class", "rpn_bbox"]


def unclamp_deltas():
    """Diagnostic only: mrcnn's box coders without their log-scale clamp, as Matterport's."""
    from mrcnn import boxes
    boxes.BoxCoder.__init__.__defaults__ = (None,)


def make_config(config_module, args):
    """The COCO inference configuration, built on either project's ``Config``."""
    class ParityConfig(config_module.Config):
        NAME = "coco"
        NUM_CLASSES = 81
        GPU_COUNT = 1
        IMAGES_PER_GPU = 1
        IMAGE_MAX_DIM = args.max_dim
        IMAGE_MIN_DIM = min(800, args.max_dim)
        DETECTION_MIN_CONFIDENCE = args.min_confidence
    return ParityConfig()


def run_side(args):
    """Runs one model (mrcnn or Matterport's, whichever ``mrcnn`` imports) and saves outputs."""
    import skimage.io
    import mrcnn.config
    import mrcnn.model as modellib

    config = make_config(mrcnn.config, args)
    if args.side == "mrcnn" and args.unclamped_deltas:
        unclamp_deltas()
    model = modellib.MaskRCNN("inference", config, tempfile.gettempdir())
    model.load_weights(args.weights, by_name=True)
    print(f"  {args.side}: mrcnn from {os.path.dirname(mrcnn.__file__)}", flush=True)
    out = {}
    for i, name in enumerate(json.loads(args.image_list)):
        image = skimage.io.imread(os.path.join(IMAGE_DIR, name))
        molded, metas, _ = model.mold_inputs([image])
        anchors = np.broadcast_to(model.get_anchors(molded[0].shape),
                                  (1,) + model.get_anchors(molded[0].shape).shape)
        if args.side == "port":
            outputs = model.keras_model.predict([molded, metas, anchors], verbose=0)
        else:
            outputs = [o.numpy() for o in model.keras_model([molded, metas, anchors],
                                                           training=False)]
        for key, value in zip(OUTPUT_NAMES, outputs):
            if key in KEPT:
                out[f"{i}/{key}"] = np.asarray(value)
        out[f"{i}/image_meta"] = metas
        out[f"{i}/anchors"] = anchors
        result = model.detect([image])[0]
        for key in ("rois", "class_ids", "scores"):
            out[f"{i}/detect_{key}"] = result[key]
        masks = np.moveaxis(result["masks"].astype(bool), -1, 0)
        out[f"{i}/detect_masks"] = np.packbits(masks.reshape(len(masks), -1), axis=1)
        out[f"{i}/detect_count"] = np.array(len(masks))
        print(f"  {args.side}: {name}: {len(result['class_ids'])} detections", flush=True)
    np.savez(args.out, **out)


def make_weights(args):
    """mrcnn's random initialisation, saved in the layout of mask_rcnn_coco.h5."""
    import mrcnn.config
    import mrcnn.model as modellib
    model = modellib.MaskRCNN("inference", make_config(mrcnn.config, args), tempfile.gettempdir())
    model.save_weights(args.weights)


def rows_identical(a, b):
    """Number of leading axis rows of a and b that are equal bit for bit (up to the shorter)."""
    n = min(len(a), len(b))
    a, b = np.asarray(a)[:n].reshape(n, -1), np.asarray(b)[:n].reshape(n, -1)
    return int(np.all(a == b, axis=1).sum())


def layer_by_layer(port, i, config):
    """mrcnn's ProposalLayer / DetectionLayer on Matterport's own inputs to those layers."""
    import tensorflow as tf
    from mrcnn.layers import DetectionLayer, ProposalLayer
    proposal = ProposalLayer(proposal_count=config.POST_NMS_ROIS_INFERENCE,
                             nms_threshold=config.RPN_NMS_THRESHOLD, config=config)
    detection = DetectionLayer(config)
    rois = proposal([tf.constant(port[f"{i}/rpn_class"]), tf.constant(port[f"{i}/rpn_bbox"]),
                     tf.constant(port[f"{i}/anchors"], tf.float32)]).numpy()
    dets = detection([tf.constant(port[f"{i}/ROI"]), tf.constant(port[f"{i}/mrcnn_class"]),
                      tf.constant(port[f"{i}/mrcnn_bbox"]),
                      tf.constant(port[f"{i}/image_meta"], tf.float32)]).numpy()
    return rois[0], dets[0]


def compare(args, names):
    import mrcnn.config
    config = make_config(mrcnn.config, args)
    port, ours = np.load(args.port_out), np.load(args.mrcnn_out)
    layer_ok, e2e_ok = True, True
    totals = {"proposals": [0, 0], "detections": [0, 0], "detect": [0, 0],
              "layer proposals": [0, 0], "layer detections": [0, 0]}

    def tally(key, identical, count):
        totals[key][0] += identical
        totals[key][1] += count

    for i, name in enumerate(names):
        p_roi, o_roi = port[f"{i}/ROI"][0], ours[f"{i}/ROI"][0]
        p_det, o_det = port[f"{i}/mrcnn_detection"][0], ours[f"{i}/mrcnn_detection"][0]
        n_roi = int((np.abs(p_roi).sum(1) > 0).sum())
        n_det = int((p_det[:, 4] > 0).sum())
        ties = n_det - len(np.unique(p_det[:n_det, 5]))
        same_roi, same_det = rows_identical(p_roi, o_roi), rows_identical(p_det, o_det)
        tally("proposals", same_roi, len(p_roi))
        tally("detections", same_det, len(p_det))
        # detect(): the same detections in the same order, the same masks.
        n_p, n_o = int(port[f"{i}/detect_count"]), int(ours[f"{i}/detect_count"])
        same = 0
        for r in range(min(n_p, n_o)):
            same += all(np.array_equal(port[f"{i}/detect_{k}"][r], ours[f"{i}/detect_{k}"][r])
                        for k in ("rois", "class_ids", "scores", "masks"))
        tally("detect", same, max(n_p, n_o))
        rois, dets = layer_by_layer(port, i, config)
        l_roi, l_det = rows_identical(p_roi, rois), rows_identical(p_det, dets)
        tally("layer proposals", l_roi, len(p_roi))
        tally("layer detections", l_det, len(p_det))
        layer_ok &= l_roi == len(p_roi) and l_det == len(p_det)
        e2e_ok &= same_roi == len(p_roi) and same_det == len(p_det) and same == n_p == n_o
        print(f"{name}: {n_roi} proposals, {n_det} detections ({ties} of them tie an earlier "
              f"score), {int((p_det[:n_det, 5] == 1.0).sum())} with score 1.0")
        print(f"  end to end   : ROI rows identical {same_roi}/{len(p_roi)}, mrcnn_detection "
              f"rows identical {same_det}/{len(p_det)}; detect(): {n_o} detections (Matterport "
              f"{n_p}), {same} identical (box, class, score, mask)")
        if same_det < len(p_det):
            diff = np.abs(p_det - o_det)
            print(f"                 first differing row {int(np.argmax(diff.max(1) > 0))}, "
                  f"max |difference| box {diff[:, :4].max():.3g}, score {diff[:, 5].max():.3g}")
        # The RPN outputs are per anchor, in the same order in both graphs: how far apart the
        # backbones already are before any NMS.
        upstream = {k: float(np.abs(port[f"{i}/{k}"] - ours[f"{i}/{k}"]).max())
                    for k in ("rpn_class", "rpn_bbox")}
        print("                 RPN outputs (before any NMS) differ by up to "
              + ", ".join(f"{k} {v:.3g}" for k, v in upstream.items()))
        print(f"  layer by layer: ProposalLayer rows identical {l_roi}/{len(p_roi)}, "
              f"DetectionLayer rows identical {l_det}/{len(p_det)}")
    print("totals (identical/all rows):",
          ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in totals.items()))
    return layer_ok, e2e_ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port-python", default=os.environ.get("PORT_PYTHON",
                                                                "/tmp/portvenv/bin/python"),
                        help="python of a venv with tf_keras (see the port's README)")
    parser.add_argument("--port-dir", default=PORT_DIR)
    parser.add_argument("--images", type=int, default=3, help="number of demo photos")
    parser.add_argument("--weights", default=None, help="weight file (default: generated)")
    parser.add_argument("--min-confidence", type=float, default=0.0)
    parser.add_argument("--max-dim", type=int, default=1024)
    parser.add_argument("--strict", action="store_true",
                        help="also fail when an end-to-end comparison differs")
    parser.add_argument("--unclamped-deltas", action="store_true",
                        help="diagnostic: decode boxes without mrcnn's log-scale clamp")
    parser.add_argument("--reuse", default=None,
                        help="folder of an earlier run: reuse its weights and port outputs")
    parser.add_argument("--compare-only", action="store_true",
                        help="with --reuse: reuse mrcnn's outputs too, only compare")
    parser.add_argument("--side", choices=["port", "mrcnn"], help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--image-list", help=argparse.SUPPRESS)
    parser.add_argument("--make-weights", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make_weights:
        return make_weights(args)
    if args.side:
        return run_side(args)

    if not os.path.exists(args.port_python):
        sys.exit(f"no port python at {args.port_python}: build one as "
                 f"{os.path.join(args.port_dir, 'README.md')} says (python3 -m venv "
                 "--system-site-packages DIR && DIR/bin/pip install 'tf_keras~=2.21.0') and "
                 "pass --port-python DIR/bin/python")
    sys.path.insert(0, ROOT)  # this checkout's mrcnn for the layer-by-layer comparison
    if args.unclamped_deltas:
        unclamp_deltas()
    names = sorted(os.listdir(IMAGE_DIR))[:args.images]
    work = args.reuse or tempfile.mkdtemp(prefix="mrcnn_parity_")
    print(f"outputs in {work}", flush=True)
    common = ["--min-confidence", str(args.min_confidence), "--max-dim", str(args.max_dim)]
    if args.weights is None:
        args.weights = os.path.join(work, "weights.h5")
        if not os.path.exists(args.weights):
            subprocess.run([sys.executable, __file__, "--make-weights", "--weights", args.weights]
                           + common, check=True, timeout=1800)
    args.port_out = os.path.join(work, "port.npz")
    args.mrcnn_out = os.path.join(work, "mrcnn.npz")
    side = [__file__, "--weights", args.weights, "--image-list", json.dumps(names)] + common
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if not (args.reuse and os.path.exists(args.port_out)):
        port_env = dict(env, TF_USE_LEGACY_KERAS="1", PYTHONPATH=os.path.abspath(args.port_dir))
        subprocess.run([args.port_python] + side + ["--side", "port", "--out", args.port_out],
                       env=port_env, check=True, timeout=3600)
    ours_env = dict(env, PYTHONPATH=ROOT)
    if not (args.reuse and args.compare_only and os.path.exists(args.mrcnn_out)):
            subprocess.run([sys.executable] + side + ["--side", "mrcnn", "--out", args.mrcnn_out]
                       + (["--unclamped-deltas"] if args.unclamped_deltas else []),
                       env=ours_env, check=True, timeout=3600)
    layer_ok, e2e_ok = compare(args, names)
    if not layer_ok or (args.strict and not e2e_ok):
        sys.exit(1)


if __name__ == "__main__":
    main()
