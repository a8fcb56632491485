"""Where the time of one ``detect()`` goes: a table per stage of the inference graph.

COCO config (ResNet101, 1024x1024) on one real photo of ../shared/data/matterport_demo_images,
weights mrcnn's random initialisation (seed 0: it fills all 100 detection slots) or
``--weights`` (e.g. ``~/.cache/mrcnn-bench/coco_release_layout_seed0.h5``, the file of
``benchmarks/compare_matterport.py``). Each stage is a sub-model of the
inference model cut at Matterport's layer names (``keras.Model`` from the stage's input tensors to
its output tensors), run on the tensors the previous stages gave for this photo, as a
``tf.function`` under ``detect()``'s Grappler options: median of ``--runs`` calls after a warm-up.

    backbone      input_image -> C2..C5 (the inputs of fpn_c2p2..fpn_c5p5)
    FPN           C2..C5 -> P2..P6
    RPN           P2..P6 -> rpn_class, rpn_bbox (rpn_model on 5 levels, concatenated)
    proposals     rpn_class, rpn_bbox, anchors -> ROI (top-k, decode, clip, NMS)
    RoIAlign      ROI, P2..P5 -> roi_align_classifier (1000 RoIs, 7x7)
    heads         roi_align_classifier -> mrcnn_class, mrcnn_bbox
    detection     ROI, mrcnn_class, mrcnn_bbox -> mrcnn_detection (per-class NMS)
    RoIAlign mask mrcnn_detection, P2..P5 -> roi_align_mask (100 slots, 14x14)
    mask head     roi_align_mask -> mrcnn_mask (the real detections only)
    molding, unmolding, and Python around the graph: parts of ``detect()`` outside the graph.

GFLOP per stage: 2 x multiply-adds of the Conv2D, Conv2DBackpropInput (transposed conv), MatMul
and BatchMatMul ops in the stage's traced graph, from their static shapes (a dynamic RoI count is
the number of RoIs the stage ran on); element-wise ops, BatchNorm, NMS and crops are not counted.
"peak" is the GFLOP/s of a 2048x2048 float32 matmul measured in the same process: the floor of a
stage is its GFLOP divided by that.

    python benchmarks/profile_inference.py [--runs 5] [--min-confidence 0.7] [--image PATH]
        [--weights FILE] [--max-dim 1024] [--backbone resnet101]

The cores may be shared: the shares and the distance to the peak mean more than the seconds.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_IMAGE = os.path.join(ROOT, "..", "shared", "data", "matterport_demo_images", "images",
                             "12283150_12d37e6389_z.jpg")


def median_time(fn, runs):
    fn()  # warm-up (and trace)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def graph_gflop(graph, fill):
    """GFLOP of the matmul-like ops of a traced graph (2 x multiply-adds); unknown dims -> fill."""
    def prod(shape):
        total = 1
        for d in shape:
            total *= fill if d is None else d
        return total

    flops = 0
    for op in graph.get_operations():
        try:
            if op.type in ("Conv2D", "_FusedConv2D", "DepthwiseConv2dNative"):
                kh, kw, cin, _ = op.inputs[1].shape.as_list()
                flops += 2 * prod(op.outputs[0].shape.as_list()) * kh * kw * cin
            elif op.type == "Conv2DBackpropInput":  # transposed conv: filter [kh, kw, out, in]
                kh, kw, cout, _ = op.inputs[1].shape.as_list()
                flops += 2 * prod(op.inputs[2].shape.as_list()) * kh * kw * cout
            elif op.type in ("MatMul", "_FusedMatMul", "BatchMatMulV2", "BatchMatMulV3"):
                a, b = op.inputs[0].shape.as_list(), op.inputs[1].shape.as_list()
                swap_b = op.get_attr("transpose_b" if op.type in ("MatMul", "_FusedMatMul")
                                     else "adj_y")
                n = b[-2] if swap_b else b[-1]
                flops += 2 * prod(a) * (fill if n is None else n)  # batch x M x K x N
        except (ValueError, TypeError):  # unknown rank: not counted
            continue
    return flops / 1e9


def peak_gflops(tf):
    a = tf.random.normal([2048, 2048])
    b = tf.random.normal([2048, 2048])
    matmul = tf.function(lambda: tf.matmul(a, b))
    t = median_time(lambda: matmul().numpy(), 5)
    return 2 * 2048 ** 3 / t / 1e9


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--min-confidence", type=float, default=0.7)
    parser.add_argument("--image", default=DEFAULT_IMAGE)
    parser.add_argument("--weights", default=None)
    parser.add_argument("--max-dim", type=int, default=1024)
    parser.add_argument("--backbone", default="resnet101", choices=["resnet50", "resnet101"])
    args = parser.parse_args()
    if not os.path.isfile(args.image):
        sys.exit(f"--image {args.image} is not a file")
    if args.weights and not os.path.isfile(args.weights):
        sys.exit(f"--weights {args.weights} is not a file")

    sys.path.insert(0, ROOT)
    import keras
    import numpy as np
    import tensorflow as tf
    from PIL import Image

    import mrcnn.config
    import mrcnn.model as modellib
    from mrcnn import function_options
    from mrcnn import transform

    class Config(mrcnn.config.Config):
        NAME = "coco"
        NUM_CLASSES = 81
        GPU_COUNT = 1
        IMAGES_PER_GPU = 1
        IMAGE_MAX_DIM = args.max_dim
        IMAGE_MIN_DIM = min(800, args.max_dim)
        BACKBONE = args.backbone
        DETECTION_MIN_CONFIDENCE = args.min_confidence

    keras.utils.set_random_seed(0)
    config = Config()
    model = modellib.MaskRCNN("inference", config, tempfile.gettempdir())
    if args.weights:
        model.load_weights(args.weights, by_name=True)
    km = model.keras_model
    image = np.asarray(Image.open(args.image).convert("RGB"))

    def out(name):
        return km.get_layer(name).output

    C = [km.get_layer(f"fpn_c{i}p{i}").input for i in (2, 3, 4, 5)]
    P = [out(f"fpn_p{i}") for i in (2, 3, 4, 5, 6)]
    image_in, meta_in, anchors_in = km.inputs
    detections = out("mrcnn_detection")
    stages = [
        ("backbone", [image_in], C),
        ("FPN", C, P),
        ("RPN", P, [out("rpn_class"), out("rpn_bbox")]),
        ("proposals", [out("rpn_class"), out("rpn_bbox"), anchors_in], [out("ROI")]),
        ("RoIAlign", [out("ROI"), meta_in] + P[:4], [out("roi_align_classifier")]),
        ("heads", [out("roi_align_classifier")], [out("mrcnn_class"), out("mrcnn_bbox")]),
        ("detection", [out("ROI"), out("mrcnn_class"), out("mrcnn_bbox"), meta_in],
         [detections]),
        ("RoIAlign mask", [detections, meta_in] + P[:4], [out("roi_align_mask")]),
        ("mask head", [out("roi_align_mask"), detections], [km.outputs[3]]),
    ]

    molded, metas, windows = model.mold_inputs([image])
    anchors = np.broadcast_to(model.get_anchors(molded[0].shape),
                              (1,) + model.get_anchors(molded[0].shape).shape)
    feeds = {id(image_in): molded, id(meta_in): metas, id(anchors_in): anchors}
    boundary = []
    for _, _, outs in stages:
        boundary += [t for t in outs if id(t) not in {id(b) for b in boundary}]
    values = keras.Model(km.inputs, boundary)([molded, metas, anchors], training=False)
    feeds.update({id(t): v for t, v in zip(boundary, values)})
    n_det = int(np.sum(feeds[id(detections)].numpy()[0, :, 4] > 0))

    peak = peak_gflops(tf)
    rows = []
    with function_options.inference():
        for name, ins, outs in stages:
            sub = keras.Model(ins, outs)
            fn = tf.function(lambda *x, sub=sub: sub(list(x), training=False))
            inputs = [tf.constant(np.asarray(feeds[id(t)])) for t in ins]
            seconds = median_time(lambda: [np.asarray(o) for o in tf.nest.flatten(fn(*inputs))],
                                  args.runs)
            graph = fn.get_concrete_function(*inputs).graph
            fill = max(n_det, 1) if name == "mask head" else 1
            rows.append((name, seconds, graph_gflop(graph, fill)))
    t_graph = median_time(lambda: model._predict(molded, metas, anchors), args.runs)
    t_mold = median_time(lambda: model.mold_inputs([image]), args.runs)
    dets, masks = model._predict(molded, metas, anchors)
    t_unmold = median_time(lambda: transform.unmold_detections(
        dets[0], masks[0], image.shape, molded[0].shape, windows[0]), args.runs)
    t_detect = median_time(lambda: model.detect([image]), args.runs)
    stage_sum = sum(r[1] for r in rows)
    rows += [("molding", t_mold, 0.0), ("unmolding", t_unmold, 0.0),
             ("Python around the graph", max(0.0, t_detect - t_graph - t_mold - t_unmold), 0.0)]

    print(f"image {os.path.basename(args.image)} {image.shape}, molded {molded.shape[1:3]}, "
          f"{config.BACKBONE}, {n_det} detections (DETECTION_MIN_CONFIDENCE "
          f"{args.min_confidence:g}), median of {args.runs} after a warm-up")
    print(f"detect() {t_detect:.3f} s; the graph alone {t_graph:.3f} s; the stages run one by "
          f"one sum to {stage_sum:.3f} s; float32 matmul peak here {peak:.0f} GFLOP/s")
    print(f"| stage | time (s) | share of detect() | GFLOP | GFLOP/s | time at peak (s) |")
    print("|---|---|---|---|---|---|")
    total_flop = 0.0
    for name, seconds, gflop in rows:
        total_flop += gflop
        rate = f"{gflop / seconds:.0f}" if gflop and seconds else ""
        floor = f"{gflop / peak:.3f}" if gflop else ""
        print(f"| {name} | {seconds:.3f} | {100 * seconds / t_detect:.1f} % | "
              f"{gflop:.1f} | {rate} | {floor} |" if gflop else
              f"| {name} | {seconds:.3f} | {100 * seconds / t_detect:.1f} % | | | |")
    print(f"| all | {t_detect:.3f} | 100 % | {total_flop:.1f} | {total_flop / t_detect:.0f} | "
          f"{total_flop / peak:.3f} |")


if __name__ == "__main__":
    main()
