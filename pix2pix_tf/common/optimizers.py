"""Adam with TensorFlow's fused update kernel (the --fused_optimizer speed flag).

Keras' Adam updates each variable with about ten elementwise kernels (m, v,
their squares, the division...), each a pass over the whole variable. The
U-Net generator has 54M weights, so on a 2-core CPU that is about 270 ms per
step, a third of a float32 training step. TensorFlow's ResourceApplyAdam does
the same update in one multi-threaded pass (about 45 ms).
"""

import math

import keras
import tensorflow as tf
from keras import ops


class FusedAdam(keras.optimizers.Adam):
    """keras.optimizers.Adam whose per-variable update is one ResourceApplyAdam.

    The formula is Keras' own: with alpha = lr * sqrt(1 - beta2^t) / (1 - beta1^t),
    m += (g - m)(1 - beta1), v += (g^2 - v)(1 - beta2),
    var -= alpha * m / (sqrt(v) + epsilon); only the rounding order may differ.
    The variables, their names and so the checkpoints are those of Adam,
    so a run may switch between the two when resumed. Under a tf.distribute
    strategy, and with amsgrad, Keras' update runs unchanged.
    """

    def update_step(self, gradient, variable, learning_rate):
        if self.amsgrad or tf.distribute.has_strategy():
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        local_step = ops.cast(self.iterations + 1, dtype)
        index = self._get_variable_index(variable)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle, m=self._momentums[index].handle,
            v=self._velocities[index].handle,
            beta1_power=ops.power(ops.cast(self.beta_1, dtype), local_step),
            beta2_power=ops.power(ops.cast(self.beta_2, dtype), local_step),
            lr=ops.cast(learning_rate, dtype), beta1=ops.cast(self.beta_1, dtype),
            beta2=ops.cast(self.beta_2, dtype), epsilon=ops.cast(self.epsilon, dtype),
            grad=ops.cast(gradient, dtype))


def adam(learning_rate, beta_1, fused):
    """The training's Adam: FusedAdam, or Keras' own with fused=False."""
    cls = FusedAdam if fused else keras.optimizers.Adam
    return cls(learning_rate, beta_1=beta_1)


def resume_learning_rate(optimizers, learning_rate, log):
    """Sets each optimizer's rate, after a checkpoint restore, to this run's
    --lr, and says so through `log` if the checkpoint's differed.

    Keras keeps Adam's rate in a variable that checkpoints hold, so a restore
    brings back the first run's rate, and a resumed run's --lr would do nothing.
    """
    restored = float(keras.ops.convert_to_numpy(optimizers[0].learning_rate))
    for optimizer in optimizers:
        optimizer.learning_rate = learning_rate
    if not math.isclose(restored, learning_rate, rel_tol=1e-6):  # float32 rounding aside
        log(f"learning rate {learning_rate:g} (--lr), not the checkpoint's {restored:g}")
