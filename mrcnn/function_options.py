"""Grappler settings of mrcnn's own ``tf.function``s (inference, train and test steps), set per
call and per thread.

* ``inference()``: the memory optimizer is off. It runs Grappler's analytical cost model, which
  cannot cost ``CropAndResize`` with dynamic box counts and logs one "Error in PredictCost() for
  the op: ... CropAndResize" warning per RoIAlign crop (8 for a small model, 24 for the COCO
  one); for inference it has nothing to do (its passes recompute or swap tensors for gradients
  and GPU memory pressure). On a machine without a GPU, Grappler is off altogether. Measured on
  CPU: it adds 0.6 s or more to the first ``detect()`` and nothing to the steady state, whose
  time is all in oneDNN kernels. With a GPU it stays on (layout and fusion passes).
* ``training()``: on a machine without a GPU, the memory optimizer is off (the same
  ``CropAndResize`` warnings; on CPU it neither saves memory nor time); with a GPU nothing
  changes. Measured on a 2-core AMD EPYC (ResNet50, 256x256, 2 images per step, all layers, one
  run each): with TensorFlow's defaults the first step took 10.7 s, peak RSS 2.26 GB; memory
  optimizer off 10.0 s, 2.26 GB; Grappler off altogether 8.9 s but 2.67 GB (its other passes,
  fusions among them, keep fewer tensors alive), so Grappler stays on. The steady step was
  1.35-1.36 s in all three.

TensorFlow optimizes a function once per distinct option set: the options must not change
from one call to the next, or the function is instantiated and optimized again (Grappler's
whole cost, and its warnings, moved to the second call). They are set as the calling thread's
function call options (``tensorflow.python.eager.context``: the only per-call Grappler setting
TensorFlow has; ``tf.config.optimizer`` has no memory-optimizer switch, and it is
process-wide), only around the call, and restored afterwards, so other functions keep theirs.

Thread-safe: checked in TensorFlow 2.21's ``eager/context.py``,
``Context.function_call_options`` reads and writes ``self._thread_local_data``
(``pywrap_tfe.EagerContextThreadLocalData``, one value per thread), and a ``tf.function`` reads
the calling thread's value when it is called (``atomic_function``). Two threads inside these
context managers, or one inside and one outside, never see each other's options
(``tests/model/test_model.py``).
"""

import contextlib
import functools

import tensorflow as tf
from tensorflow.core.protobuf import config_pb2, rewriter_config_pb2
from tensorflow.python.eager import context as _tf_context


@contextlib.contextmanager
def _call_options(change):
    ctx = _tf_context.context()
    previous = ctx.function_call_options
    config = config_pb2.ConfigProto.FromString(previous.config_proto_serialized)
    change(config.graph_options.rewrite_options)
    ctx.function_call_options = _tf_context.FunctionCallOptions(
        executor_type=previous.executor_type, config_proto=config)
    try:
        yield
    finally:
        ctx.function_call_options = previous


def _no_gpu():
    return not tf.config.list_logical_devices("GPU")


def _inference_rewrite(rewrite):
    rewrite.memory_optimization = rewriter_config_pb2.RewriterConfig.NO_MEM_OPT
    if _no_gpu():
        rewrite.disable_meta_optimizer = True


def _training_rewrite(rewrite):
    if _no_gpu():
        rewrite.memory_optimization = rewriter_config_pb2.RewriterConfig.NO_MEM_OPT


def inference():
    """Context manager: the inference functions' Grappler settings (module docstring)."""
    return _call_options(_inference_rewrite)


def training():
    """Context manager: the train and test steps' Grappler settings (module docstring)."""
    return _call_options(_training_rewrite)


def with_training_options(function):
    """``function`` (Keras's ``train_function`` / ``test_function``) called inside
    ``training()``; a function already wrapped is returned as it is."""
    if getattr(function, "_mrcnn_training_options", False):
        return function

    @functools.wraps(function)
    def call(*args, **kwargs):
        with training():
            return function(*args, **kwargs)

    call._mrcnn_training_options = True
    return call
