"""mrcnn.function_options: the Grappler settings of mrcnn's functions hold inside the call only."""

import pytest
import tensorflow as tf
from tensorflow.core.protobuf import config_pb2, rewriter_config_pb2
from tensorflow.python.eager import context

from mrcnn import function_options


def rewrite_options():
    """(memory_optimization, disable_meta_optimizer) of the calling thread's function options."""
    serialized = context.context().function_call_options.config_proto_serialized
    rewrite = config_pb2.ConfigProto.FromString(serialized).graph_options.rewrite_options
    return rewrite.memory_optimization, rewrite.disable_meta_optimizer


NO_GPU = not tf.config.list_logical_devices("GPU")
# training(): the memory optimizer off without a GPU, TensorFlow's default (0) with one.
TRAINING_MEMORY_OPTIMIZATION = rewriter_config_pb2.RewriterConfig.NO_MEM_OPT if NO_GPU else 0


def test_inference_and_training_options_are_set_inside_and_restored_after():
    before = rewrite_options()
    with function_options.inference():
        assert rewrite_options() == (rewriter_config_pb2.RewriterConfig.NO_MEM_OPT, NO_GPU)
    assert rewrite_options() == before
    with function_options.training():
        assert rewrite_options() == (TRAINING_MEMORY_OPTIMIZATION, before[1])
    assert rewrite_options() == before


def test_wrapped_training_function_runs_under_the_options_and_restores_them_on_error():
    seen = []

    def step(x):
        seen.append(rewrite_options())
        if x is None:
            raise RuntimeError("step failed")
        return x + 1

    before = rewrite_options()
    wrapped = function_options.with_training_options(step)
    assert function_options.with_training_options(wrapped) is wrapped  # not wrapped twice
    assert wrapped(1) == 2 and seen[-1] == (TRAINING_MEMORY_OPTIMIZATION, before[1])
    with pytest.raises(RuntimeError, match="step failed"):
        wrapped(None)
    assert rewrite_options() == before


def test_a_tf_function_called_inside_gives_the_same_values():
    f = tf.function(lambda x: tf.nn.relu(tf.matmul(x, x) + 1.0))
    x = tf.reshape(tf.range(16, dtype=tf.float32) / 7.0 - 1.0, (4, 4))
    plain = f(x).numpy()
    with function_options.training():
        tf.debugging.assert_equal(function_options.with_training_options(f)(x), plain)
