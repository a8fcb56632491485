"""Mixed precision (``config.MIXED_PRECISION``): which Keras dtype policy builds the model, which
parts stay float32, and the loss-scaling optimizer for float16.

``None`` builds everything in float32 (as Matterport). ``"mixed_float16"`` / ``"mixed_bfloat16"``
build the convolutions, dense layers and BatchNorm outputs with that Keras policy: compute in
half precision, variables in float32. These parts always stay float32 (``FLOAT32`` is passed as
their layer ``dtype``, so Keras casts their floating inputs to float32):

* the softmax and sigmoid outputs (``rpn_class_xxx``, ``mrcnn_class``, ``mrcnn_mask``);
* the head's box deltas (``mrcnn_bbox_fc``, ``mrcnn_bbox``; a small layer);
* box decoding, clipping and NMS (``ProposalLayer`` "ROI", ``DetectionLayer``), the training
  targets (``DetectionTargetLayer``) and the anchors;
* RoIAlign (``PyramidROIAlign``: sampling coordinates and the pooled crops);
* the five losses (``LossLayer``) and the L2 term (``mrcnn.losses`` casts to float32).

The Keras global policy is set only while a model is built (``policy_scope``) and restored
afterwards, so other models of the same process are not affected. Variables are float32 under
every policy, so weight files are the same float32 HDF5 layout.

Hardware: ``mixed_bfloat16`` pays off on CPUs with AVX512-BF16 or AMX (oneDNN kernels) and on
TPUs / Ampere+ GPUs; ``mixed_float16`` on GPUs with tensor cores. Both run anywhere, slowly
where the hardware lacks them.
"""

import contextlib

import keras

from mrcnn.config import MIXED_PRECISION_VALUES

__all__ = ["FLOAT32", "policy_name", "policy_scope", "needs_loss_scaling", "wrap_optimizer",
           "cpu_bf16_features"]

# dtype of the numerically sensitive layers under any policy.
FLOAT32 = "float32"


def policy_name(mixed_precision):
    """The Keras policy name for ``config.MIXED_PRECISION``.

    Args:
        mixed_precision: None, "mixed_float16" or "mixed_bfloat16".

    Returns:
        "float32", "mixed_float16" or "mixed_bfloat16".

    Raises:
        ValueError: any other value (naming the allowed ones).
    """
    if mixed_precision not in MIXED_PRECISION_VALUES or not (
            mixed_precision is None or isinstance(mixed_precision, str)):
        raise ValueError(f"MIXED_PRECISION = {mixed_precision!r}: must be None (float32), "
                         '"mixed_float16" or "mixed_bfloat16"')
    return mixed_precision or "float32"


@contextlib.contextmanager
def policy_scope(mixed_precision):
    """Sets the Keras global dtype policy of ``mixed_precision`` for the layers created inside
    the block and restores the previous policy afterwards (also on errors).

    Raises:
        ValueError: as ``policy_name``.
    """
    name = policy_name(mixed_precision)
    previous = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_dtype_policy(previous)


def needs_loss_scaling(mixed_precision):
    """True for "mixed_float16" (float16's narrow exponent range needs loss scaling)."""
    return policy_name(mixed_precision) == "mixed_float16"


def wrap_optimizer(optimizer, mixed_precision):
    """``optimizer`` wrapped in ``keras.optimizers.LossScaleOptimizer`` (dynamic loss scale)
    for "mixed_float16"; unchanged otherwise. The train step scales the loss with
    ``optimizer.scale_loss`` and the wrapper unscales the gradients and skips steps whose
    gradients are not finite (lowering the scale)."""
    if needs_loss_scaling(mixed_precision) and \
            not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def cpu_bf16_features():
    """The CPU flags that make bfloat16 fast on this machine, from ``/proc/cpuinfo``: a sorted
    list out of ``avx512_bf16``, ``amx_bf16``, ``amx_tile`` (empty where none or unknown)."""
    wanted = {"avx512_bf16", "amx_bf16", "amx_tile"}
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return sorted(wanted & set(line.split(":", 1)[1].split()))
    except OSError:
        pass
    return []
