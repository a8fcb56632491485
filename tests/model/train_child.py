"""A small training run on real COCO tiny images, run as a subprocess by the tests of failed,
interrupted and resumed training (tests/test_train_failures.py, tests/test_resume.py).

    python tests/train_child.py MODEL_DIR --scenario NAME [--seed S] [--epochs E] [--steps N]
        [--signal-at STEP --signal TERM|INT|INT2] [--print-steps] [--resume]
        [--weights-out FILE.npz]

Scenarios: ``ok`` (plain run), ``bad_masks`` (every load_mask returns masks of the wrong size),
``nan`` (a learning rate that makes the loss explode), ``interrupt`` (a callback raises
KeyboardInterrupt at step 2). ``--signal-at K`` sends the signal to this process at the end of
global step K (counted from the start of the run, over epochs); ``--signal INT2`` sends SIGINT
twice in a row (Ctrl-C pressed twice). ``--print-steps`` prints ``STEP k`` after each step.
``--resume`` does ``model.load_weights(model.find_last(), by_name=True)`` before ``train()``.
``--weights-out`` writes every weight of the training model to an .npz file at the end. ``--faults`` patches the
step-backup writer: its 2nd write fails with ENOSPC (disk full), its 3rd writes half a file and
then kills the process with SIGKILL.
"""

import argparse
import os
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import keras  # noqa: E402
import numpy as np  # noqa: E402
from pycocotools.coco import COCO  # noqa: E402

import mrcnn.model as modellib  # noqa: E402
from mrcnn.config import Config  # noqa: E402
from tests.data.training_data import COCO_DIR, CocoTinyDataset  # noqa: E402


class ChildConfig(Config):
    NAME = "child"
    NUM_CLASSES = 81
    BACKBONE = "resnet50"
    IMAGES_PER_GPU = 1
    IMAGE_MIN_DIM = 128
    IMAGE_MAX_DIM = 128
    RPN_ANCHOR_SCALES = (8, 16, 32, 64, 128)
    RPN_TRAIN_ANCHORS_PER_IMAGE = 64
    POST_NMS_ROIS_TRAINING = 100
    POST_NMS_ROIS_INFERENCE = 100
    TRAIN_ROIS_PER_IMAGE = 16
    MAX_GT_INSTANCES = 10
    MINI_MASK_SHAPE = (28, 28)
    STEPS_PER_EPOCH = 3
    VALIDATION_STEPS = 1


class BadMasks(CocoTinyDataset):
    def load_mask(self, image_id):
        masks, class_ids = super().load_mask(image_id)
        return masks[:-3, :-5], class_ids


class SignalAt(keras.callbacks.Callback):
    """Sends ``signum`` to this process ``times`` times in a row at the end of global step
    ``step`` (1-based); twice SIGINT is Ctrl-C pressed twice."""

    def __init__(self, step, signum, times=1):
        super().__init__()
        self.step, self.signum, self.times, self.seen = step, signum, times, 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.step:
            for _ in range(self.times):
                os.kill(os.getpid(), self.signum)


class PrintSteps(keras.callbacks.Callback):
    """Prints ``STEP <k>`` after every global step (for a parent that waits for a step)."""

    seen = 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        print(f"STEP {self.seen}", flush=True)


class InterruptAt(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if batch == 1:
            raise KeyboardInterrupt


def patch_backup_writer():
    import errno

    from mrcnn import backup
    real, calls = backup._save_npz, []

    def faulty(path, arrays):
        calls.append(path)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device", path)
        if len(calls) == 3:
            with open(path, "wb") as f:
                f.write(b"PK\x03\x04" + b"\0" * 100000)  # half a zip file
                f.flush()
                os.fsync(f.fileno())
            os.kill(os.getpid(), signal.SIGKILL)
        real(path, arrays)

    backup._save_npz = faulty


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("model_dir")
    p.add_argument("--scenario", default="ok", choices=["ok", "bad_masks", "nan", "interrupt"])
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--images", type=int, default=4)
    p.add_argument("--backup-every", type=int, default=None)
    p.add_argument("--signal-at", type=int, default=None)
    p.add_argument("--signal", default="TERM", choices=["TERM", "INT", "INT2"])
    p.add_argument("--print-steps", action="store_true")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--weights-out", default=None)
    p.add_argument("--faults", action="store_true")
    args = p.parse_args(argv)
    if args.faults:
        patch_backup_writer()

    class Cfg(ChildConfig):
        STEPS_PER_EPOCH = args.steps
        SEED = args.seed
        if args.backup_every is not None:
            BACKUP_EVERY_STEPS = args.backup_every
        if args.scenario == "nan":
            GRADIENT_CLIP_NORM = 1e30

    coco = COCO(str(COCO_DIR / "annotations" / "instances_val2017.json"))
    kind = BadMasks if args.scenario == "bad_masks" else CocoTinyDataset
    dataset = kind().load(coco, limit=args.images)
    dataset.prepare()

    model = modellib.MaskRCNN("training", Cfg(), args.model_dir)
    if args.resume:
        model.load_weights(model.find_last(), by_name=True)
    callbacks = []
    if args.print_steps:
        callbacks.append(PrintSteps())
    if args.signal_at:
        name, times = (args.signal, 1) if args.signal != "INT2" else ("INT", 2)
        callbacks.append(SignalAt(args.signal_at, getattr(signal, "SIG" + name), times))
    if args.scenario == "interrupt":
        callbacks.append(InterruptAt())
    lr = 1e12 if args.scenario == "nan" else 0.001
    layers = "all" if args.scenario == "nan" else "heads"
    model.train(dataset, dataset, learning_rate=lr, epochs=args.epochs, layers=layers,
                custom_callbacks=callbacks)
    if args.weights_out:
        np.savez(args.weights_out, *[w.numpy() for w in model.keras_model.weights])
    print("TRAINING FINISHED", flush=True)


if __name__ == "__main__":
    main()
