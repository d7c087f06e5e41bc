"""Noticing a NaN or infinite loss without waiting for it after every step."""

import tensorflow as tf

from pix2pix_tf.common.errors import UserError


class NonFiniteWatch:
    """The first training step whose losses were NaN or infinite, noted on the device.

    A model's train step calls `note(step, losses)` (graph ops, no host
    sync); the loop reads `first_step()` only where it waits for the device
    anyway, e.g. before saving a checkpoint, so that it never saves the
    weights such a step spoiled. Create it under the strategy's scope: the
    variable is then mirrored, and each replica notes the same (global) losses.
    """

    def __init__(self):
        self.variable = tf.Variable(-1, dtype=tf.int64, trainable=False, name="first_nonfinite_step",
                                    aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)

    def note(self, step, losses):
        """In a train step: records `step` (the step's number) if it is the
        first whose `losses` (a list of tensors) are not all finite."""
        finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(tf.cast(loss, tf.float32)))
                                for loss in losses])
        noted = self.variable.read_value()
        self.variable.assign(tf.where(finite | (noted >= 0), noted, tf.cast(step, tf.int64)))

    def first_step(self):
        """The first noted step, or None (waits for the steps run so far)."""
        step = int(self.variable.numpy())
        return None if step < 0 else step

    def check(self, checkpoint_dir):
        """Raises UserError if a step's losses were not finite: call it before
        saving, so that `checkpoint_dir` keeps the last good checkpoint."""
        step = self.first_step()
        if step is None:
            return
        latest = tf.train.latest_checkpoint(checkpoint_dir)
        kept = f"the last good checkpoint, {latest}, is kept" if latest else "no checkpoint was saved"
        raise UserError(f"the losses became NaN or infinite at step {step}: training stopped "
                        f"without saving the spoiled weights; {kept}. Lower --lr, or check "
                        "the data")
