"""What the MNIST GANs show a person: sample grids (one row per class), the
animated GIF of a run, and a training run's reports between steps."""

import io
import os

import imageio.v3 as iio
import keras
import numpy as np
import tensorflow as tf
from PIL import Image, ImageDraw, ImageFont

from pix2pix_tf.common import files, image_io, reporting

SAMPLES_DIR = "samples"
LOGS_DIR = "logs"
GIF_NAME = "samples.gif"
LOSS_HISTORY = "losses.json"  # Plotted as losses.png beside it.
LOSS_PANELS = (("losses", [("d_loss", "d_loss"), ("g_loss", "g_loss")]),
               ("discriminator outputs", [("d_x", "D(x)"), ("d_g_z", "D(G(z))")]))

PADDING = 2
BACKGROUND = 128
MIN_CELL = 56  # A grid shows each digit this many pixels high or more.


def to_uint8(images):
    """Generator output in [-1, 1] -> uint8 (N, H, W)."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 4:
        images = images[..., 0]
    return np.clip(np.round((images + 1.0) * 127.5), 0, 255).astype(np.uint8)


def image_grid(images, rows, cols=None, row_labels=None):
    """(rows * cols, H, W[, 1]) images in [-1, 1], row-major -> one uint8 grid image.

    Image i goes to row i // cols, column i % cols, enlarged `cell_scale(H)`
    times (nearest neighbour: each pixel a square), with a gray border around
    each; cols defaults to as many as `rows` rows need. row_labels: a label
    per row (its digit), written in a column at the left.
    """
    images = to_uint8(images)
    scale = cell_scale(images.shape[1])
    images = images.repeat(scale, axis=1).repeat(scale, axis=2)
    count, height, width = images.shape
    cols = cols or -(-count // rows)
    margin = label_width(height) if row_labels is not None else 0
    grid = np.full((rows * (height + PADDING) + PADDING,
                    margin + cols * (width + PADDING) + PADDING), BACKGROUND, np.uint8)
    for i, image in enumerate(images):
        top = PADDING + (i // cols) * (height + PADDING)
        left = margin + PADDING + (i % cols) * (width + PADDING)
        grid[top:top + height, left:left + width] = image
    if row_labels is not None:
        grid = _label_rows(grid, row_labels, height)
    return grid


def cell_scale(size):
    """How many times a grid enlarges images of `size` pixels: to MIN_CELL or more."""
    return max(1, -(-MIN_CELL // size))


def label_width(cell):
    """Pixels of a grid's label column, for cells of `cell` pixels."""
    return cell // 2 + PADDING


def _label_rows(grid, labels, cell):
    """The grid with each row's label written, white, in its left column."""
    image = Image.fromarray(grid)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=cell // 2)
    for row, label in enumerate(labels):
        middle = PADDING + row * (cell + PADDING) + cell // 2
        draw.text((label_width(cell) // 2 + 1, middle), str(label), fill=255, font=font, anchor="mm")
    return np.asarray(image)


def class_rows(num_classes, per_class):
    """Labels for a grid of one class per row: 0 0 0 ... 1 1 1 ... (row-major)."""
    return np.repeat(np.arange(num_classes, dtype=np.int32), per_class)


def write_gif(frame_paths, path, seconds_per_frame=0.3):
    """An animated, looping GIF of the PNG grids in `frame_paths` (in that order)."""
    frames = [iio.imread(files.readable(p)) for p in frame_paths]
    buffer = io.BytesIO()
    iio.imwrite(buffer, np.stack(frames), extension=".gif",
                duration=int(seconds_per_frame * 1000), loop=0)
    files.write_atomic(path, buffer.getvalue())
    return path


def sample_paths(samples_dir):
    """The sample grids of a run, oldest first (their names hold the zero-padded step)."""
    if not files.isdir(samples_dir):
        return []
    return [os.path.join(samples_dir, name) for name in sorted(files.listdir(samples_dir))
            if name.startswith("step_") and name.endswith(".png")]


def fixed_inputs(latent_dim, seed, per_class=10, num_classes=10):
    """The noise and labels of the sample grids (one class per row), fixed for the whole run."""
    z = np.random.default_rng(seed).standard_normal((per_class * num_classes, latent_dim))
    return z.astype(np.float32), class_rows(num_classes, per_class)


def write_run_gif(output_dir):
    """OUTPUT_DIR/samples.gif of the run's sample grids; None without grids."""
    frames = sample_paths(os.path.join(output_dir, SAMPLES_DIR))
    return write_gif(frames, os.path.join(output_dir, GIF_NAME)) if frames else None


class SampleReport:
    """What a training run shows between steps: every --sample_interval steps,
    at each epoch's end and at the run's last step a grid from the fixed noise
    (a frame of the GIF) and TensorBoard summaries; the losses about a hundred
    times over the run, plotted as losses.png after each epoch; a progress
    line at the end of each epoch. Only the chief writes. The logs are the
    running means of the epoch."""

    def __init__(self, run, log):
        options = run.options
        self.run = run
        self.chief = run.chief
        self.interval = options.sample_interval
        self.plot_freq = reporting.plot_interval(run.max_steps, self.interval)
        self.frequencies = (self.interval, run.steps_per_epoch, self.plot_freq)
        self.fixed_z = run.state["fixed_z"]
        _, self.fixed_labels = fixed_inputs(options.latent_dim, options.seed)
        # The digit of each row, when the generator is given one.
        self.row_labels = range(10) if options.conditional else None
        self.samples_dir = os.path.join(options.output_dir, SAMPLES_DIR)
        start = int(run.global_step.numpy())
        self.writer = (tf.summary.create_file_writer(os.path.join(options.output_dir, LOGS_DIR))
                       if self.chief else None)
        self.losses = reporting.History(os.path.join(options.output_dir, LOSS_HISTORY), start)
        self.progress = reporting.TrainingProgress(run.steps_per_epoch, run.max_steps,
                                                   options.batch_size, log)
        self.logs = {}
        self.last_written = None

    def after_steps(self, step, logs, batch, last):
        self.logs = logs
        epoch_end = step % self.run.steps_per_epoch == 0
        sample = step % self.interval == 0 or last or epoch_end
        if sample:
            self.run.model.nonfinite.check(self.run.checkpoint_dir)  # Before reading the model.
        if self.chief and (step % self.plot_freq == 0 or last):
            self.losses.add(step, logs)
        if self.chief and sample:
            self.write(step, logs)
        if epoch_end:
            self.progress.show(step, logs)
            if self.chief:
                self.losses.write_plot(LOSS_PANELS)
        self.progress.started(step)

    def write(self, step, logs):
        images = self.run.model.generate(self.fixed_z, self.fixed_labels, training=False)
        grid = image_grid(keras.ops.convert_to_numpy(images), rows=10, row_labels=self.row_labels)
        image_io.write_image(os.path.join(self.samples_dir, f"step_{step:08d}.png"), grid)
        with self.writer.as_default(step=step):
            tf.summary.image("samples", grid[None, :, :, None], max_outputs=1)
            for name, value in logs.items():
                tf.summary.scalar(name, float(value))
        self.writer.flush()
        self.last_written = step

    def end(self, step):
        if not self.chief:
            return
        if self.logs and self.last_written != step:
            self.write(step, self.logs)  # A stopped run's last grid.
        if self.logs and (not self.losses.records or self.losses.records[-1]["step"] != step):
            self.losses.add(step, self.logs)
        self.losses.write_plot(LOSS_PANELS)
        self.writer.close()
