"""Sampling a trained generator: grids of chosen labels, and walks through z."""

import os

import keras
import numpy as np

from cgan_mnist_tf import data, models, report
from cgan_mnist_tf import options as cgan_options
from pix2pix_tf.common import checkpoints, files, image_io, resume
from pix2pix_tf.common import options as common_options
from pix2pix_tf.common.errors import UserError

UNCONDITIONAL_COLUMNS = 10


def load_generator(checkpoint_dir):
    """(generator, its model-defining options, checkpoint path) of a training run's folder."""
    saved = common_options.load_options(checkpoint_dir)
    resume.check_same_program(cgan_options.Options, saved, checkpoint_dir)
    options = cgan_options.Options(**{k: saved[k] for k in cgan_options.MODEL_KEYS if k in saved})
    generator, _ = models.build(options.model, options.conditional, options.latent_dim)
    # A run with a moving average of the generator samples from the average.
    key = "ema_generator" if cgan_options.small_data(options)[2] else "generator"
    path = checkpoints.RunCheckpoint(checkpoint_dir, **{key: generator}).restore(
        checkpoint_dir, partial=True)
    return generator, options, path


def parse_labels(text):
    """'3,1,4' -> [3, 1, 4]; anything but digit labels 0..9 is a UserError."""
    labels = []
    for part in str(text).split(","):
        part = part.strip()
        try:
            label = int(part)
        except ValueError:
            raise UserError(f"--labels {text}: {part!r} is not a label; give digits 0..9 "
                            "separated by commas") from None
        if not 0 <= label < data.NUM_CLASSES:
            raise UserError(f"--labels {text}: label {label} is outside 0..9")
        labels.append(label)
    return labels


def noise(count, latent_dim, seed):
    return np.random.default_rng(seed).standard_normal((count, latent_dim)).astype(np.float32)


def sample(generator, conditional, z, labels=None):
    """Generator output in [-1, 1] for noise `z` (and labels, if conditional) as numpy."""
    inputs = [z, np.asarray(labels, np.int32)] if conditional else z
    return keras.ops.convert_to_numpy(generator(inputs, training=False))


def check_labels(conditional, labels):
    if labels is not None and not conditional:
        raise UserError("--labels given but the checkpoint is an unconditional GAN "
                        "(trained with --noconditional): it cannot be asked for a digit")
    return labels if labels is not None or not conditional else list(range(data.NUM_CLASSES))


def label_grid(generator, conditional, latent_dim, labels, num, seed):
    """One row per label (written at its left) with `num` samples each; column j uses
    the same noise in every row.

    An unconditional generator (labels None) gives `num` samples in rows of 10.
    """
    labels = check_labels(conditional, labels)
    if not conditional:
        return report.image_grid(sample(generator, False, noise(num, latent_dim, seed)),
                                rows=-(-num // UNCONDITIONAL_COLUMNS),
                                cols=min(num, UNCONDITIONAL_COLUMNS))
    z = np.tile(noise(num, latent_dim, seed), (len(labels), 1))
    return report.image_grid(sample(generator, True, z, np.repeat(labels, num)), rows=len(labels),
                             row_labels=labels)


def interpolation_grid(generator, conditional, latent_dim, labels, num, seed):
    """One row per label: `num` steps on the straight line between two noise vectors."""
    labels = check_labels(conditional, labels)
    ends = noise(2, latent_dim, seed)
    t = np.linspace(0.0, 1.0, num, dtype=np.float32)[:, None]
    walk = (1.0 - t) * ends[0] + t * ends[1]
    if not conditional:
        return report.image_grid(sample(generator, False, walk), rows=1)
    z = np.tile(walk, (len(labels), 1))
    return report.image_grid(sample(generator, True, z, np.repeat(labels, num)), rows=len(labels),
                             row_labels=labels)


def check_output(output):
    """UserError unless `output` can become a PNG or JPEG file (checked before any work)."""
    if files.isdir(output):
        raise UserError(f"--output {files.printable(output)} is a folder; give the image's file "
                        f"name, e.g. {os.path.join(files.printable(output), 'generated.png')}")
    if not image_io.is_image_file(output):
        raise UserError(f"--output {files.printable(output)} must end in "
                        f"{', '.join(image_io.IMAGE_EXTENSIONS)}: the image format follows it")
    files.check_writable_dir(os.path.dirname(output) or ".", flag="the folder of --output")


def generate(options):
    """--mode generate: writes the grid to options.output and returns its path; with
    --stage1 (stackgan), the stage-I grid of the same noise beside it (stage1_path)."""
    cgan_options.check(options)
    checkpoint_dir = options.checkpoint
    if not checkpoint_dir:
        raise UserError("--mode generate needs --checkpoint, the output folder of a training run")
    num = options.num
    labels = parse_labels(options.labels) if options.labels else None
    rows = len(labels) if labels else data.NUM_CLASSES
    if rows * num > cgan_options.MAX_GRID_IMAGES:
        raise UserError(f"{rows} labels x --num {num} is {rows * num} images; the grid holds at "
                        f"most {cgan_options.MAX_GRID_IMAGES}")
    generator, model_options, path = load_generator(checkpoint_dir)
    output = options.output or os.path.join(checkpoint_dir, "generated.png")
    check_output(output)
    make_grid = interpolation_grid if options.interpolate else label_grid
    stages = [(generator, output)]
    if options.stage1:
        if not (model_options.model == "stackgan" and model_options.conditional):
            raise UserError(f"--stage1: {checkpoint_dir} is a {model_options.model} run; only "
                            "--model stackgan has stage-I images")
        # The same noise and labels through stage I alone: the rough digits stage II redrew.
        stages.append((generator.get_layer(models.STAGE1_GENERATOR), stage1_path(output)))
    for network, image_path in stages:
        grid = make_grid(network, model_options.conditional, model_options.latent_dim, labels,
                         num, options.seed)
        image_io.write_image(image_path, grid)
        print(f"wrote {image_path} ({'interpolation' if options.interpolate else 'samples'} "
              f"from {path})", flush=True)
    return output


def stage1_path(output):
    """Where --stage1 writes the stage-I grid: OUTPUT's name with _stage1 before the extension."""
    stem, ext = os.path.splitext(output)
    return f"{stem}_stage1{ext}"
