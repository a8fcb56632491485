"""The training optimizer: SGD with momentum and per-tensor gradient clipping, Keras 3's
``keras.optimizers.SGD`` values bit for bit in a fraction of its graph ops (Matterport
``MaskRCNN.compile``: ``SGD(lr, momentum, clipnorm=GRADIENT_CLIP_NORM)``).

Why: Keras 3 builds SGD's update of every trainable variable from small ops. For the 266
trainable tensors of a ResNet50 model that was 7,450 of the train step's 18,546 graph ops: 15
per tensor for ``tf.clip_by_norm`` and 10 for the momentum update. Every op is created in
Python when ``fit`` traces the step, optimized by Grappler before the first step and scheduled
on every step. Here:

* ``clip_by_norm_each`` clips all tensors with 4 ops each plus 7 shared: the squared norms are
  stacked and ``tf.clip_by_norm``'s arithmetic (``g * c / max(norm, c)``, with its ``norm = 0``
  guard) runs once on the stack;
* ``SGD.update_step`` is one ``ResourceApplyKerasMomentum`` op per tensor (the fused kernel of
  Keras 2's SGD: ``m = momentum * m - lr * g; var += m``).

``tests/model/test_optimizer.py`` checks both against Keras's own ops, bitwise.
"""

import keras
import tensorflow as tf


def clip_by_norm_each(tensors, clip_norm):
    """Each tensor clipped to L2 norm ``clip_norm``: ``[tf.clip_by_norm(t, clip_norm) for t in
    tensors]``, the same values bit for bit, in 4 ops per tensor plus 7 per dtype.

    Args:
        tensors: a list of float tensors of any shapes (or ``None``, passed through);
            ``tf.IndexedSlices`` are clipped one by one with ``tf.clip_by_norm``.
        clip_norm: a Python number > 0 (Keras ``clipnorm``, ``Config.GRADIENT_CLIP_NORM``).

    Returns:
        A list of the same length, shapes and dtypes: ``t * clip_norm / max(||t||_2,
        clip_norm)`` (``t`` unchanged where its norm is at most ``clip_norm``).
    """
    out = list(tensors)
    groups = {}
    for i, t in enumerate(tensors):
        if t is None:
            continue
        if isinstance(t, tf.IndexedSlices):
            out[i] = tf.clip_by_norm(t, clip_norm)
        else:
            groups.setdefault(t.dtype, []).append(i)
    with tf.name_scope("clip_by_norm_each"):
        for dtype, indices in groups.items():
            c = tf.constant(clip_norm, dtype)
            l2sum = tf.stack([tf.reduce_sum(out[i] * out[i]) for i in indices])
            positive = l2sum > 0
            # tf.clip_by_norm's guard: sqrt only of positive sums (no NaN gradient at 0).
            l2norm = tf.where(positive, tf.sqrt(tf.where(positive, l2sum, tf.ones_like(l2sum))),
                              l2sum)
            denominators = tf.unstack(tf.maximum(l2norm, c))
            for i, denominator in zip(indices, denominators):
                out[i] = out[i] * c / denominator
    return out


@keras.saving.register_keras_serializable(package="mrcnn")
class SGD(keras.optimizers.SGD):
    """``keras.optimizers.SGD`` (same arguments, state variables, config and values) whose
    per-tensor ``clipnorm`` is ``clip_by_norm_each`` and whose momentum update is one fused
    ``ResourceApplyKerasMomentum`` op per variable (dense gradients; sparse ones and
    ``momentum = 0`` take Keras's own path)."""

    def _clip_gradients(self, grads):
        # Keras's hook for clipnorm / global_clipnorm / clipvalue. Were it renamed in a later
        # Keras, its own per-tensor clipping would run: the same values, only more ops.
        if self.clipnorm and self.clipnorm > 0:
            return clip_by_norm_each(grads, float(self.clipnorm))
        return super()._clip_gradients(grads)

    def update_step(self, gradient, variable, learning_rate):
        if self.momentum == 0 or isinstance(gradient, tf.IndexedSlices):
            return super().update_step(gradient, variable, learning_rate)
        m = self.momentums[self._get_variable_index(variable)]
        var = variable.value if isinstance(variable, keras.Variable) else variable
        accum = m.value if isinstance(m, keras.Variable) else m
        return tf.raw_ops.ResourceApplyKerasMomentum(
            var=var.handle, accum=accum.handle, lr=tf.cast(learning_rate, var.dtype),
            grad=tf.cast(gradient, var.dtype), momentum=tf.constant(self.momentum, var.dtype),
            use_locking=False, use_nesterov=bool(self.nesterov))
