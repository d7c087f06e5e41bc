"""Keras callbacks of a training run: sample grids and summaries, checkpoints, stopping."""

import os

import keras
import numpy as np
import tensorflow as tf

from cgan_mnist_tf import grids
from pix2pix_tf.common import image_io, plots

LOSS_HISTORY = "losses.json"
LOSS_PLOT = "losses.png"  # Where History.write_plot draws LOSS_HISTORY.
LOSS_PANELS = (("losses", [("d_loss", "d_loss"), ("g_loss", "g_loss")]),
               ("discriminator outputs", [("d_x", "D(x)"), ("d_g_z", "D(G(z))")]))


class Samples(keras.callbacks.Callback):
    """Every `interval` steps: a PNG grid from the fixed noise, TensorBoard
    summaries and a record of the losses, plotted as OUTPUT_DIR/losses.png
    after each epoch and at the end.

    fit() runs several steps per call (`steps_per_execution`), and callbacks
    see the end of each call: a grid is written at the end of the call that
    reaches a multiple of `interval`, named after the step its weights are
    from (exactly the multiple when calls end on it; `step_fn` gives the
    step). The grid has one class per row (or just rows of samples for the
    plain GAN); the scalars are the running means of the epoch the progress
    bar shows.
    """

    def __init__(self, gan, fixed_z, fixed_labels, output_dir, samples_dir, writer, interval,
                 step_fn):
        super().__init__()
        self.gan = gan
        self.fixed_z = fixed_z
        self.fixed_labels = fixed_labels
        self.samples_dir = samples_dir
        self.writer = writer
        self.interval = max(1, int(interval))
        self.step_fn = step_fn
        self.step = step_fn()
        self.last_written = None
        self.logs = None
        self.losses = plots.History(os.path.join(output_dir, LOSS_HISTORY), self.step)

    def write(self, logs=None):
        images = self.gan.generate(self.fixed_z, self.fixed_labels, training=False)
        grid = grids.image_grid(keras.ops.convert_to_numpy(images), rows=10)
        image_io.write_image(os.path.join(self.samples_dir, f"step_{self.step:08d}.png"), grid)
        with self.writer.as_default(step=self.step):
            tf.summary.image("samples", grid[None, :, :, None], max_outputs=1)
            for name, value in (logs or {}).items():
                tf.summary.scalar(name, float(value))
        self.writer.flush()
        if logs:
            self.losses.add(self.step, logs)
        self.last_written = self.step

    def on_train_batch_end(self, batch, logs=None):
        previous, self.step = self.step, self.step_fn()
        self.logs = logs
        if self.step // self.interval > previous // self.interval:
            self.write(logs)

    def on_epoch_end(self, epoch, logs=None):
        self.losses.write_plot(LOSS_PANELS)

    def write_last(self):
        """The grid and loss plot of the last step, once the run's fit() calls are over."""
        if self.last_written != self.step:
            self.write(self.logs)
        self.losses.write_plot(LOSS_PANELS)


class EpochCheckpoint(keras.callbacks.Callback):
    """Counts finished epochs in `epoch` and saves a checkpoint after each."""

    def __init__(self, run_checkpoint, epoch, step_fn):
        super().__init__()
        self.run_checkpoint = run_checkpoint
        self.epoch = epoch
        self.step_fn = step_fn
        self.batches = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.batches = 0

    def on_train_batch_end(self, batch, logs=None):
        # With steps_per_execution, fit() calls back once per call, with the
        # index of the call's last batch.
        self.batches = batch + 1

    def on_epoch_end(self, epoch, logs=None):
        # A stop request ends fit() early; the epoch is finished only if its
        # last batch was trained (fit()'s `steps` is the epoch's length).
        if self.model.stop_training and self.batches < self.params.get("steps", 0):
            return
        self.epoch.assign(epoch + 1)
        self.run_checkpoint.save(self.step_fn())


class StopOnNonFinite(keras.callbacks.Callback):
    """Ends fit() with a UserError naming the step whose losses were NaN or
    infinite. fit() waits for each step's logs anyway (its callbacks read
    them), so reading the model's NonFiniteWatch costs no extra wait."""

    def __init__(self, nonfinite, checkpoint_dir):
        super().__init__()
        self.nonfinite = nonfinite
        self.checkpoint_dir = checkpoint_dir

    def on_train_batch_end(self, batch, logs=None):
        self.nonfinite.check(self.checkpoint_dir)


class EpochProgress(keras.callbacks.ProgbarLogger):
    """Keras' progress bar for a run that calls fit() once per epoch: it counts
    epochs out of the run's `epochs`, and steps up to the epoch's length (the
    last call of an epoch may run fewer than steps_per_execution steps)."""

    def __init__(self, epochs):
        super().__init__()
        self.run_epochs = epochs

    def set_params(self, params):
        super().set_params(dict(params, epochs=self.run_epochs))

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(min(batch, self.target - 1) if self.target else batch, logs)


class StopOnRequest(keras.callbacks.Callback):
    """Ends fit() after the current step once `stop` (a preemption.ClusterStop)
    says so: after a signal to this process or, in a cluster, to any worker
    (every worker then stops after the same step)."""

    def __init__(self, stop):
        super().__init__()
        self.stop = stop

    def on_train_batch_end(self, batch, logs=None):
        if self.stop.after_step():
            self.model.stop_training = True


def fixed_inputs(latent_dim, seed, per_class=10, num_classes=10):
    """The noise and labels of the sample grids, fixed for the whole run."""
    z = np.random.default_rng(seed).standard_normal((per_class * num_classes, latent_dim))
    labels = grids.class_rows(num_classes, per_class)
    return z.astype(np.float32), labels
