"""The ``mrcnn train`` and ``mrcnn evaluate`` commands: training and COCO-style evaluation on
datasets named by specs (``mrcnn.datasets``), with no code to write.

::

    mrcnn train --dataset coco:ANNOTATIONS.json:IMAGES_DIR [--val SPEC] \\
        --weights {coco|imagenet|last|none|PATH} --epochs N --layers {heads|3+|4+|5+|all} \\
        --image-size S [--logs DIR] [--name NAME] [--set KEY=VALUE ...]
    mrcnn evaluate --dataset SPEC --weights {last|PATH} [--logs DIR] [--name NAME] \\
        [--limit N] [--output STATS.json]

Dataset specs: ``coco:ANNOTATIONS.json:IMAGES_DIR`` (``CocoFormatDataset``) and
``via:REGIONS.json[:IMAGES_DIR]`` (``ViaDataset``). For ``via:`` specs, ``--class-name NAME``
gives every region of ``--dataset`` and ``--val`` the one class NAME whatever their attributes
(so a train split with named regions and a val split without get the same classes), and
``--class-attribute KEY`` names the region attribute holding the class.

``train`` derives the configuration from the dataset and the options: ``NUM_CLASSES`` from the
dataset's classes, ``IMAGE_MIN_DIM = IMAGE_MAX_DIM = S`` ("square" mode), ``STEPS_PER_EPOCH``
one pass over the training images (``--steps-per-epoch`` to change it), ``CLASS_NAMES`` and
``CATEGORY_IDS`` (the dataset's category id of each class id) so results can be written
with the dataset's ids; ``--set KEY=VALUE`` sets any other ``Config`` attribute (VALUE is JSON:
``--set RPN_ANCHOR_SCALES=[16,32,64,128,256]``, ``--set TRAIN_ON_BACKGROUND_IMAGES=true``). The
configuration is written as ``config.json`` (``Config.write_json``) in the run's log folder,
next to the checkpoints ``mask_rcnn_<name>_NNNN.h5``, before the first epoch; ``evaluate`` (and
``--weights last`` in general) rebuild it with ``Config.read_json``.

Weights: ``coco`` (the released COCO weights, downloaded if missing; the class-specific head
layers are skipped when the class count differs, Matterport's fine-tuning recipe), ``imagenet``
(``MaskRCNN.get_imagenet_weights``: ResNet50 or ResNet101), ``last`` (the newest checkpoint of
``--name`` under ``--logs``; training continues that run at its next epoch, as Matterport's
``--model last``), ``none`` (random initialisation) or a ``.h5`` file (heads skipped likewise
when the class count differs). ``--epochs`` is the epoch to train up to (Matterport's
``epochs``), so ``--weights last --epochs 4`` after a 2-epoch run trains epochs 3 and 4.

Errors follow ``mrcnn.cli``: bad arguments, dataset specs whose files do not exist, an image
size that is not a multiple of 64 exit with status 2 before anything is loaded; failures of the
run (a dataset that gives no training example, a loss that became NaN, weights that do not fit,
no ``config.json`` next to the weights) exit with status 1 and one ``error:`` line.
"""

import argparse
import json
import math
import os

#: The file ``train`` writes next to the checkpoints and ``evaluate`` reads.
CONFIG_FILENAME = "config.json"
LAYER_CHOICES = ("heads", "3+", "4+", "5+", "all")
TRAIN_WEIGHTS = "coco|imagenet|last|none|PATH"


def _size(value):
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {value!r}") from None
    if n < 64 or n % 64:
        raise argparse.ArgumentTypeError(
            f"must be a multiple of 64 (the FPN halves the feature maps 6 times), e.g. 256, 512 "
            f"or 1024; got {n}")
    return n


def _positive(value):
    from mrcnn.cli import _positive_int
    return _positive_int(value)


def _setting(value):
    key, sep, text = value.partition("=")
    if not sep or not key.isupper():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE with a Config attribute as KEY, "
                                         f"e.g. TRAIN_ROIS_PER_IMAGE=64; got {value!r}")
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        parsed = text  # a bare string, e.g. BACKBONE=resnet50
    return key, parsed


def add_parsers(commands):
    """Registers ``train`` and ``evaluate`` on the subparsers of ``mrcnn.cli.build_parser``;
    returns ``{"train": parser, "evaluate": parser}`` (for their usage lines in errors)."""
    train = commands.add_parser(
        "train", help="train on a COCO-format or VIA dataset (config.json and checkpoints in "
                      "--logs)",
        description="Train Mask R-CNN on a dataset given as a spec: coco:ANNOTATIONS.json:"
                    "IMAGES_DIR or via:REGIONS.json[:IMAGES_DIR]. The configuration comes from "
                    "the dataset (class count) and the options, and is saved as config.json "
                    "next to the checkpoints.")
    train.add_argument("--dataset", required=True, metavar="SPEC",
                       help="training data: coco:ANNOTATIONS.json:IMAGES_DIR or "
                            "via:REGIONS.json[:IMAGES_DIR]")
    train.add_argument("--val", metavar="SPEC",
                       help="validation data, same forms (default: the training data)")
    train.add_argument("--class-name", metavar="NAME",
                       help="via: datasets: every region is class NAME, whatever its "
                            "attributes (one class for all splits)")
    train.add_argument("--class-attribute", metavar="KEY",
                       help="via: datasets: the region attribute holding the class name "
                            "(default: any attribute)")
    train.add_argument("--weights", default=None, metavar=TRAIN_WEIGHTS,
                       help="initial weights (required unless --resume): coco, imagenet, last "
                            "(continue the newest run of --name), none (random) or a .h5 file")
    train.add_argument("--resume", action="store_true",
                       help="continue the newest run of --name at the step after its step "
                            "backup (or its last epoch): the same as --weights last")
    train.add_argument("--epochs", required=True, type=_positive, metavar="N",
                       help="the epoch to train up to")
    train.add_argument("--layers", default="heads", choices=LAYER_CHOICES,
                       help="layers to train (default heads)")
    train.add_argument("--image-size", required=True, type=_size, metavar="S",
                       help="images are resized and padded to S x S (a multiple of 64)")
    train.add_argument("--logs", default="logs", metavar="DIR",
                       help="folder of the run folders (default ./logs)")
    train.add_argument("--name", default="custom", metavar="NAME",
                       help="configuration NAME: run folders are NAMEYYYYmmddTHHMM (default "
                            "custom)")
    train.add_argument("--learning-rate", type=float, default=None, metavar="LR",
                       help="SGD learning rate (default Config.LEARNING_RATE, 0.001)")
    train.add_argument("--images-per-gpu", type=_positive, default=2, metavar="N",
                       help="images per batch (default 2)")
    train.add_argument("--steps-per-epoch", type=_positive, default=None, metavar="N",
                       help="default: one pass over the training images")
    train.add_argument("--validation-steps", type=_positive, default=None, metavar="N",
                       help="default: one pass over the validation images")
    train.add_argument("--backbone", default="resnet101", choices=["resnet50", "resnet101"])
    train.add_argument("--set", dest="settings", type=_setting, action="append", default=[],
                       metavar="KEY=VALUE",
                       help="any other Config attribute, VALUE as JSON (repeatable)")
    evaluate = commands.add_parser(
        "evaluate", help="COCO-style AP of trained weights on a dataset (boxes and masks)",
        description="COCO-style evaluation (pycocotools: AP, AP50, AP75, APs/m/l, AR) of "
                    "boxes and masks, with the configuration saved next to the weights by "
                    "mrcnn train.")
    evaluate.add_argument("--dataset", required=True, metavar="SPEC",
                          help="coco:ANNOTATIONS.json:IMAGES_DIR or via:REGIONS.json"
                               "[:IMAGES_DIR]")
    evaluate.add_argument("--class-name", metavar="NAME",
                          help="via: datasets: every region is class NAME, whatever its "
                               "attributes (one class for all splits)")
    evaluate.add_argument("--class-attribute", metavar="KEY",
                          help="via: datasets: the region attribute holding the class name "
                               "(default: any attribute)")
    evaluate.add_argument("--weights", required=True, metavar="last|PATH",
                          help="last (the newest checkpoint of --name under --logs) or a .h5 "
                               f"file with {CONFIG_FILENAME} next to it")
    evaluate.add_argument("--logs", default="logs", metavar="DIR")
    evaluate.add_argument("--name", default="custom", metavar="NAME")
    evaluate.add_argument("--limit", type=int, default=0, metavar="N",
                          help="evaluate the first N images only (default 0: all)")
    evaluate.add_argument("--min-confidence", type=float, default=0.0, metavar="F",
                          help="DETECTION_MIN_CONFIDENCE (default 0, as COCO evaluation does)")
    evaluate.add_argument("--output", metavar="STATS.json",
                          help="also write the 12 bbox and 12 segm stats as JSON")
    return {"train": train, "evaluate": evaluate}


def check_args(parser, args):
    """The checks of ``train`` / ``evaluate`` before anything is loaded (status 2)."""
    from mrcnn.datasets import parse_dataset_spec
    for option in ("dataset", "val"):
        spec = getattr(args, option, None)
        if spec is not None:
            try:
                kind, _, _ = parse_dataset_spec(spec)
            except ValueError as e:
                parser.error(f"--{option}: {e}")
            if kind != "via" and (getattr(args, "class_name", None) is not None or
                                  getattr(args, "class_attribute", None) is not None):
                parser.error(f"--{option} {spec}: --class-name and --class-attribute apply to "
                             "via: datasets only (COCO files name their categories)")
    if args.command == "train":
        if getattr(args, "resume", False):
            if args.weights not in (None, "last"):
                parser.error(f"--resume continues the last run; it cannot start from "
                             f"--weights {args.weights} (drop one of the two)")
            args.weights = "last"
        elif args.weights is None:
            parser.error("the following arguments are required: --weights (or --resume)")
    if getattr(args, "class_name", None) is not None and not args.class_name.strip():
        parser.error("--class-name must not be empty")
    keywords = ("coco", "imagenet", "last", "none") if args.command == "train" else ("last",)
    if args.weights.lower() not in keywords:
        if not os.path.isfile(args.weights):
            parser.error(f"--weights {args.weights}: no such file (or use "
                         f"{', '.join(keywords)})")
    if args.command == "evaluate" and args.limit < 0:
        parser.error("--limit must be >= 0 (0 = all images)")
    if args.command == "evaluate" and not 0.0 <= args.min_confidence <= 1.0:
        parser.error("--min-confidence must be in [0, 1]")


def _command_error(message):
    from mrcnn.cli import CommandError, _one_line
    return CommandError(_one_line(message))


def _load_dataset(spec, option, args=None):
    from mrcnn.datasets import load_dataset
    try:
        return load_dataset(spec, class_name=getattr(args, "class_name", None),
                            class_attribute=getattr(args, "class_attribute", None))
    except (OSError, ValueError) as e:
        raise _command_error(f"--{option} {spec}: {e}") from None


def dataset_config(dataset, args, num_images, num_val_images):
    """The training ``Config`` of ``train``: from the dataset's classes and the options (see
    the module docstring). Raises ``CommandError`` for a ``--set`` value that breaks its rule."""
    from mrcnn.config import Config
    batch = args.images_per_gpu
    category_ids = getattr(dataset, "category_ids", None)
    attrs = {
        "NAME": args.name, "NUM_CLASSES": int(dataset.num_classes),
        "CLASS_NAMES": list(dataset.class_names),
        "CATEGORY_IDS": ([int(c) for c in category_ids] if category_ids is not None
                         else list(range(dataset.num_classes))),
        "BACKBONE": args.backbone, "GPU_COUNT": 1, "IMAGES_PER_GPU": batch,
        "IMAGE_RESIZE_MODE": "square", "IMAGE_MIN_DIM": args.image_size,
        "IMAGE_MAX_DIM": args.image_size,
        "STEPS_PER_EPOCH": args.steps_per_epoch or max(1, math.ceil(num_images / batch)),
        "VALIDATION_STEPS": args.validation_steps or max(1, math.ceil(num_val_images / batch)),
    }
    if args.learning_rate is not None:
        attrs["LEARNING_RATE"] = args.learning_rate
    for key, value in args.settings:
        if not hasattr(Config, key):
            raise _command_error(f"--set {key}: Config has no attribute {key}")
        attrs[key] = value
    try:
        config = Config.from_dict(attrs, name=f"{args.name}Config")
        config.validate("training")
    except ValueError as e:
        raise _command_error(f"the configuration is not valid: {e}") from None
    return config


def _heads_excluded(model, path):
    """``FINE_TUNE_EXCLUDE`` when the file's class head has another class count than the
    model's (fine-tuning on new classes), else None."""
    from mrcnn.weights import FINE_TUNE_EXCLUDE, read_weight_shapes
    shapes = read_weight_shapes(path).get("mrcnn_class_logits")
    if not shapes:
        return None
    model_classes = int(model.config.NUM_CLASSES)
    file_classes = int(shapes[-1][-1])
    if file_classes == model_classes:
        return None
    print(f"The weights have {file_classes} classes and the dataset {model_classes}: the "
          f"class-specific layers {', '.join(FINE_TUNE_EXCLUDE)} start from random values.")
    return list(FINE_TUNE_EXCLUDE)


def load_initial_weights(model, spec):
    """Loads ``--weights`` into a training model; returns the path loaded, or None for
    ``none``. ``last`` continues the newest run (``load_weights`` sets the epoch and folder).

    ``last`` (``--resume``) takes ``model.find_last()``, which in training mode is the run's
    step backup when it is at least as far as the last epoch checkpoint (``mrcnn.backup``):
    ``train()`` then continues at the step after it, with the optimizer state (issue 13).
    """
    from mrcnn.cli import _resolve_weights
    name = spec.lower()
    if name == "none":
        return None
    if name == "coco":
        path = _resolve_weights("coco")
    elif name == "imagenet":
        from mrcnn.download import DownloadError
        try:
            path = model.get_imagenet_weights()
        except (DownloadError, ValueError) as e:
            raise _command_error(str(e)) from None
    elif name == "last":
        try:
            path = model.find_last()
        except FileNotFoundError as e:
            raise _command_error(f"--weights last: {e.strerror or e} (no checkpoint of "
                                 f"--name {model.config.NAME} under --logs {model.model_dir}; "
                                 "train once with other --weights first)") from None
    else:
        path = _resolve_weights(spec)
    # A step backup (.npz) is always of this very model: nothing to exclude.
    exclude = None if name == "imagenet" or str(path).endswith(".npz") else \
        _heads_excluded(model, path)
    try:
        model.load_weights(path, by_name=True, exclude=exclude)
    except (OSError, ValueError) as e:
        raise _command_error(f"weights file {path} does not fit this model: {e}") from None
    print(f"Loaded weights from {path}")
    return path


def train(args):
    """Runs ``train`` for parsed arguments; returns 0.

    Raises:
        CommandError: a dataset cannot be loaded, the configuration is not valid, the weights
            cannot be found or do not fit, the dataset gives no training example, or a loss
            became NaN.
    """
    train_ds = _load_dataset(args.dataset, "dataset", args)
    val_ds = _load_dataset(args.val, "val", args) if args.val else train_ds
    if list(val_ds.class_names) != list(train_ds.class_names):
        raise _command_error(
            f"--val has the classes {val_ds.class_names[1:]} but --dataset has "
            f"{train_ds.class_names[1:]}; both must list the same categories")
    config = dataset_config(train_ds, args, train_ds.num_images, val_ds.num_images)

    import mrcnn.model as modellib
    model = modellib.MaskRCNN(mode="training", config=config, model_dir=args.logs)
    load_initial_weights(model, args.weights)
    try:
        os.makedirs(model.log_dir, exist_ok=True)
        config.write_json(os.path.join(model.log_dir, CONFIG_FILENAME))
    except OSError as e:
        raise _command_error(f"cannot write to {model.log_dir}: {e.strerror or e}; choose "
                             "another --logs") from None
    print(f"Training on {train_ds.num_images} images ({config.NUM_CLASSES - 1} classes: "
          f"{', '.join(config.CLASS_NAMES[1:6])}{', ...' if config.NUM_CLASSES > 6 else ''}), "
          f"validating on {val_ds.num_images}; configuration in "
          f"{os.path.join(model.log_dir, CONFIG_FILENAME)}")
    learning_rate = config.LEARNING_RATE
    try:
        model.train(train_ds, val_ds, learning_rate=learning_rate, epochs=args.epochs,
                    layers=args.layers)
    except (RuntimeError, FloatingPointError) as e:
        raise _command_error(f"training stopped: {e}") from None
    last = model.checkpoint_path.format(epoch=model.epoch)
    print(f"Trained to epoch {model.epoch}; weights in {last}")
    return 0


def saved_config(weights_path, **overrides):
    """The configuration saved by ``train`` next to ``weights_path`` (``config.json`` in the
    same folder), with ``overrides`` applied.

    Raises:
        CommandError: no such file, or it does not hold a valid configuration.
    """
    from mrcnn.config import Config
    path = os.path.join(os.path.dirname(os.path.abspath(weights_path)), CONFIG_FILENAME)
    if not os.path.isfile(path):
        raise _command_error(
            f"no {CONFIG_FILENAME} next to {weights_path}: the configuration the weights were "
            f"trained with is needed (mrcnn train writes it next to the checkpoints); give a "
            f"checkpoint of mrcnn train, or put its {CONFIG_FILENAME} there")
    try:
        values = Config.read_json(path).to_json_dict()
        values.update(overrides)
        return Config.from_dict(values, name=f"{values.get('NAME') or 'Saved'}Config")
    except ValueError as e:
        raise _command_error(str(e)) from None


def resolve_trained_weights(spec, logs, name):
    """``last`` -> the newest checkpoint of ``name`` under ``logs``; a path as it is."""
    if spec.lower() != "last":
        return spec
    from mrcnn.model import find_last_checkpoint
    try:
        return find_last_checkpoint(logs, name)
    except FileNotFoundError as e:
        raise _command_error(f"--weights last: {e.strerror or e} (no checkpoint of --name "
                             f"{name} under --logs {logs})") from None


def evaluate(args):
    """Runs ``evaluate`` for parsed arguments; prints the COCO summaries and one line per type
    (AP, AP50, AP75); returns 0.

    Raises:
        CommandError: no checkpoint or ``config.json``, a dataset whose classes are not the
            model's, weights that do not fit, or ``--output`` cannot be written.
    """
    weights = resolve_trained_weights(args.weights, args.logs, args.name)
    config = saved_config(weights, GPU_COUNT=1, IMAGES_PER_GPU=1,
                          DETECTION_MIN_CONFIDENCE=args.min_confidence)
    dataset = _load_dataset(args.dataset, "dataset", args)
    names = getattr(config, "CLASS_NAMES", None)
    if int(dataset.num_classes) != int(config.NUM_CLASSES) or (
            names is not None and list(names) != list(dataset.class_names)):
        raise _command_error(
            f"--dataset has the classes {dataset.class_names[1:]} but the model was trained on "
            f"{list(names or [])[1:] or config.NUM_CLASSES - 1}; evaluate on data with the "
            "same categories")

    import numpy as np

    import mrcnn.model as modellib
    from mrcnn.evaluation import STAT_NAMES, evaluate_dataset
    from mrcnn.weights import check_weight_file
    try:
        check_weight_file(weights)
    except OSError as e:
        raise _command_error(f"weights file {weights} refused: {e}") from None
    model = modellib.MaskRCNN(mode="inference", config=config,
                              model_dir=os.path.dirname(os.path.abspath(weights)))
    try:
        model.load_weights(weights, by_name=True)
    except (OSError, ValueError) as e:
        raise _command_error(f"weights file {weights} does not fit its {CONFIG_FILENAME}: "
                             f"{e}") from None
    stats = evaluate_dataset(model, dataset, limit=args.limit, verbose=True)
    out = {"weights": os.path.abspath(weights), "dataset": args.dataset,
           "images": min(args.limit or dataset.num_images, dataset.num_images)}
    for eval_type in ("bbox", "segm"):
        values = np.asarray(stats[eval_type], dtype=float)
        out[eval_type] = dict(zip(STAT_NAMES, (float(v) for v in values)))
        print(f"{eval_type}: AP {values[0]:.3f}  AP50 {values[1]:.3f}  AP75 {values[2]:.3f}")
    if args.output:
        try:
            with open(args.output, "w") as f:
                json.dump(out, f, indent=1)
        except OSError as e:
            raise _command_error(f"cannot write {args.output}: {e.strerror or e}") from None
        print(f"Wrote {args.output}")
    return 0


def newest_trained_checkpoint(logs="logs"):
    """The newest checkpoint under ``logs`` whose run folder holds a ``config.json`` (for
    ``mrcnn detect --weights last``, which has no ``--name``): run folders end in their start
    time ``YYYYmmddTHHMM``, so the newest is the one with the latest suffix.

    Raises:
        CommandError: no such run folder or checkpoint.
    """
    import glob
    runs = [os.path.dirname(p) for p in glob.glob(os.path.join(logs, "*", CONFIG_FILENAME))]
    runs = [r for r in runs if glob.glob(os.path.join(r, "mask_rcnn*.h5"))]
    if not runs:
        raise _command_error(f"--weights last: no run folder with a {CONFIG_FILENAME} and a "
                             f"checkpoint under {os.path.abspath(logs)} (run mrcnn train first, "
                             "from this folder)")
    newest = max(runs, key=lambda r: (os.path.basename(r)[-13:], r))
    return sorted(glob.glob(os.path.join(newest, "mask_rcnn*.h5")))[-1]


def detect_setup(weights_spec, min_confidence, batch_size):
    """What ``mrcnn detect`` needs for weights trained by ``mrcnn train``: ``(weights path,
    inference config, class names, category ids)`` from the ``config.json`` next to them, or
    None when ``weights_spec`` is "coco" or a file without one (the ``--config`` model then).
    ``"last"`` is the newest such checkpoint under ./logs."""
    if weights_spec.lower() == "coco":
        return None
    if weights_spec.lower() == "last":
        path = newest_trained_checkpoint()
    else:
        path = weights_spec
        if not os.path.isfile(os.path.join(os.path.dirname(os.path.abspath(path)),
                                           CONFIG_FILENAME)):
            return None
    config = saved_config(path, GPU_COUNT=1, IMAGES_PER_GPU=batch_size,
                          DETECTION_MIN_CONFIDENCE=min_confidence)
    names = list(getattr(config, "CLASS_NAMES", None) or
                 ["BG"] + [f"class {i}" for i in range(1, config.NUM_CLASSES)])
    category_ids = list(getattr(config, "CATEGORY_IDS", None) or range(config.NUM_CLASSES))
    return path, config, names, category_ids
