"""What pix2pix shows a person: image files, the index.html that shows them
side by side, the loss curves, and a training run's reports between steps."""

import html
import os
import string
import urllib.parse

import tensorflow as tf

from pix2pix_tf import colors
from pix2pix_tf.common import checkpoints, distribute, files, image_io, reporting

KINDS = ("inputs", "outputs", "targets")
LOSS_HISTORY = "losses.json"
LOSS_PLOT = "losses.png"  # Where History.write_plot draws LOSS_HISTORY.
# The smoothed losses training logs, a panel each: their scales differ.
LOSS_PANELS = (("discriminator loss", [("discriminator_loss", "D")]),
               ("generator GAN loss", [("generator_loss_GAN", "G GAN")]),
               ("generator L1 loss", [("generator_loss_L1", "G L1")]))

# The histograms test mode shows above its table, of these per-image metrics.
HISTOGRAMS = "histograms.png"
HISTOGRAM_METRICS = ("L1", "SSIM")
# Which values of each metric are the worst: a click on its header sorts them first.
METRICS_WORSE = {"L1": "high", "PSNR": "low", "SSIM": "low"}
# The page's template, style and script (package data).
PAGE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "report_page")


def save_image_set(image_dir, name, images):
    """Writes NAME-KIND.png for each uint8 image of `images` (kind -> HxWx3),
    returns kind -> path relative to the folder holding `image_dir`."""
    paths = {}
    for kind, image in images.items():
        filename = f"{name}-{kind}.png"
        image_io.write_image(os.path.join(image_dir, filename), image)
        paths[kind] = os.path.join(os.path.basename(image_dir), filename)
    return paths


def write_index(path, columns, rows, heading="", worse=None):
    """Writes an HTML page of a table (package data report_page/: its columns
    sort on a click, its images enlarge): one row per dict of `rows`, one
    column per name in `columns`; values that are image file paths (.png,
    .jpg, .jpeg, relative to the page) are shown as images, others as text.
    worse: {column: "high" or "low"}, which values of a metric are the worst:
    its first click sorts them first."""
    worse = worse or {}
    images = {c for c in columns if any(image_io.is_image_file(str(row.get(c, ""))) for row in rows)}
    header = "".join(f"<th>{html.escape(c)}</th>" if c in images else
                     f"<th data-column='{html.escape(c)}' data-worse='{worse.get(c, '')}'><button "
                     f"type='button'>{html.escape(c)}</button></th>" for c in columns)
    table = ["<tr>" + "".join(_cell(column, row.get(column, "")) for column in columns) + "</tr>"
             for row in rows]
    files.write_atomic(path, string.Template(_asset("index.html")).substitute(
        title="pix2pix", heading=heading, header=header, rows="\n".join(table),
        style=_asset("report.css"), script=_asset("report.js")))


def _cell(column, value):
    label = f"data-label='{html.escape(column)}'"
    if isinstance(value, str) and image_io.is_image_file(value):
        return f"<td {label}><img src='{html.escape(image_url(value))}'></td>"
    if isinstance(value, float):
        return f"<td {label} data-value='{value!r}'>{value:.4f}</td>"
    if isinstance(value, int):
        return f"<td {label} data-value='{value}'>{value}</td>"
    return f"<td {label}>{html.escape(str(value))}</td>"


def _asset(name):
    with open(os.path.join(PAGE_DIR, name), encoding="utf-8") as f:
        return f.read()


def write_test_index(output_dir, rows, averages, judged=None):
    """Test mode's histograms.png and index.html in `output_dir`: the averages,
    the judges' figures (`judged`, as metrics.json holds them), the per-image
    histograms (drawn by the page, each bar showing its rows; the PNG without
    scripts), and a row of images and metrics per image."""
    reporting.histograms(os.path.join(output_dir, HISTOGRAMS),
                         {f"per-image {m}": [row[m] for row in rows] for m in HISTOGRAM_METRICS})
    heading = (f"<p>{len(rows)} images, average: "
               + ", ".join(f"{m} {value:.4f}" for m, value in averages.items()) + "</p>"
               + f"<div class='histograms' data-metrics='{' '.join(HISTOGRAM_METRICS)}'>"
               + f"<img src='{HISTOGRAMS}' alt='histograms of per-image "
               + ", ".join(HISTOGRAM_METRICS) + "' class='plot'></div>"
               + _judges_html(judged or {}))
    write_index(os.path.join(output_dir, "index.html"), ["name", *KINDS, *averages], rows,
                heading, worse=METRICS_WORSE)


def _judges_html(judged):
    """The judges' figures for the report's heading; c2st's most surely
    generated outputs as images."""
    parts = []
    for kind in ("generated", "real") if "fcn" in judged else ():
        parts.append(f"<p>FCN-score of the {kind} photos: " + ", ".join(
            f"{name.replace('_', ' ')} {value:.3f}" for name, value in judged["fcn"][kind].items())
            + "</p>")
    if "c2st" in judged:
        c2st = judged["c2st"]
        parts.append(f"<p>C2ST: a classifier tells real from generated in {c2st['accuracy']:.3f} of "
                     f"{c2st['test_images']} held-out images (95% interval {c2st['interval'][0]:.2f}"
                     f"-{c2st['interval'][1]:.2f}; 0.5: indistinguishable). Most surely generated:</p>"
                     + "".join(f"<img src='{image_url(f'images/{name}-outputs.png')}' "
                               f"title='{html.escape(name)}' class='judged'>"
                               for name in c2st["most_generated"]))
    return "".join(parts)


def image_url(path):
    """A relative file path as the src of an <img>: '#', '?', spaces... escaped."""
    return urllib.parse.quote(path.replace(os.sep, "/"), safe="/")


def training_rows(image_dir):
    """Rows of the training display, rebuilt from the files in `image_dir`,
    so a resumed run keeps the rows of the runs before it."""
    steps = sorted({name.split("-")[1] for name in files.listdir(image_dir)
                    if name.startswith("step-") and name.endswith("-inputs.png")})
    folder = os.path.basename(image_dir)
    return [{"step": int(step), **{kind: os.path.join(folder, f"step-{step}-{kind}.png")
                                   for kind in KINDS}} for step in steps]


def loss_history(output_dir, start_step=0):
    """The losses logged so far by the run in `output_dir` (up to `start_step`);
    its write_plot(LOSS_PANELS) draws LOSS_PLOT."""
    return reporting.History(os.path.join(output_dir, LOSS_HISTORY), start_step)


def write_training_index(output_dir, image_dir):
    """The training display's index.html: the loss plot, then a row per displayed step."""
    heading = (f"<p><img src='{LOSS_PLOT}' alt='losses' class='plot'></p>"
               if files.isfile(os.path.join(output_dir, LOSS_PLOT)) else "")
    write_index(os.path.join(output_dir, "index.html"), ["step", *KINDS],
                training_rows(image_dir), heading)


class TrainingReport:
    """What a training run shows between steps: TensorBoard scalars and images
    every --summary_freq steps, the --display_freq index.html, the progress
    line every --progress_freq steps, and losses.png.

    Under a strategy every worker runs the predictions (a collective step),
    and only the chief writes them. They leave the model as they found it
    (batch norm's moving statistics, dropout's random state), so a run that
    reports at a step trains on exactly as one that does not.
    """

    def __init__(self, run, log):
        options = run.options
        self.run = run
        self.options = options
        self.chief = run.chief
        # The loss curves get points more often than the summaries, about a
        # hundred over the run, so that a short run's plot is a curve.
        self.plot_freq = reporting.plot_interval(run.max_steps, options.summary_freq)
        self.frequencies = (options.summary_freq, options.display_freq, options.progress_freq,
                            self.plot_freq)
        self.writer = tf.summary.create_file_writer(options.output_dir) if self.chief else None
        start = int(run.global_step.numpy())
        self.losses = loss_history(options.output_dir, start) if self.chief else None
        self.image_dir = os.path.join(options.output_dir, "images")
        self.progress = reporting.TrainingProgress(run.steps_per_epoch, run.max_steps,
                                                   options.batch_size, log)
        self._predict = distribute.gathered(run.strategy, run.model.predict_step)
        model = run.model
        self._touched = (model.generator.non_trainable_weights
                         + model.discriminator.non_trainable_weights
                         + checkpoints.random_states(model))

    def after_steps(self, step, logs, batch, last):
        every = _every_function(step, last)
        if self.chief and every(self.plot_freq):
            self.losses.add(step, logs)
        images = None
        if every(self.options.summary_freq) or every(self.options.display_freq):
            images, predictions = self._images(batch)
        if every(self.options.summary_freq):
            self._summaries(step, logs, images, predictions)
        if every(self.options.display_freq):
            self._display(step, images)
        if every(self.options.progress_freq):
            self.run.model.nonfinite.check(self.run.checkpoint_dir)  # The line waits anyway.
            self.progress.show(step, logs)
        self.progress.started(step)

    def end(self, step):
        if self.chief:
            self.losses.write_plot(LOSS_PANELS)

    def _images(self, batch):
        saved = [variable.numpy() for variable in self._touched]
        (inputs, targets), predictions = self._predict(batch)
        for variable, value in zip(self._touched, saved):
            variable.assign(value)
        if not self.chief:
            return None, None
        images = colors.to_rgb(inputs, predictions["outputs"], targets,
                               self.options.lab_colorization, self.options.which_direction)
        return {k: colors.to_uint8(v) for k, v in images.items()}, predictions

    def _summaries(self, step, logs, images, predictions):
        if not self.chief:
            return
        with self.writer.as_default(step=step):
            for name, value in logs.items():
                tf.summary.scalar(name, value)
            for name, value in images.items():
                tf.summary.image(name, value, max_outputs=4)
            for name in ("predict_real", "predict_fake"):
                tf.summary.image(name, predictions[name], max_outputs=4)
        self.writer.flush()

    def _display(self, step, images):
        if not self.chief:
            return
        first = {kind: image[0].numpy() for kind, image in images.items()}
        save_image_set(self.image_dir, f"step-{step:08d}", first)
        self.losses.write_plot(LOSS_PANELS)
        write_training_index(self.options.output_dir, self.image_dir)


def _every_function(step, last):
    """every(freq): whether a thing done every `freq` steps is done at `step`
    (always at the run's last step; never for 0)."""
    return lambda freq: freq > 0 and (step % freq == 0 or last)
