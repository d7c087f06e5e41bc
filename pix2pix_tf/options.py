"""The options of pix2pix_tf: every option, its one default and kind, its
checks, and the values derived from others.

`Options` is the one home of each option: the command line's flags are made
from it (main.py), Python code builds it directly (`default_options`), and
options.json is its saved form.
"""

import dataclasses
import typing

from pix2pix_tf.choices import DISCRIMINATORS, GENERATORS, check_crop_size, parse_judges
from pix2pix_tf.common import options as common_options
from pix2pix_tf.common.errors import UserError
from pix2pix_tf.common.options import MODEL, RUN, TRAINING, option

MODES = ("train", "test", "eval", "predict", "export")


@dataclasses.dataclass(frozen=True)
class Options(common_options.SpeedOptions, common_options.DistributeOptions,
              common_options.OutputOptions):
    """Every option of a pix2pix run, with the reference pix2pix.py's defaults."""

    mode: typing.Optional[str] = option(
        None, "train; test: images, metrics and index.html of a folder of pairs; eval: metrics "
        "only; predict: translate input-only images (a folder or one file), written at their "
        "own size; export: a SavedModel of the generator for TensorFlow Serving, as "
        "OUTPUT_DIR/export/VERSION.", RUN, choices=MODES)
    input_dir: typing.Optional[str] = option(
        None, "Folder of A|B image pairs (or of photos with --lab_colorization); --mode "
        "predict: a folder of input images, or one. A resumed training run keeps its own.",
        TRAINING)
    output_dir: typing.Optional[str] = option(
        None, "Where checkpoints, summaries and images go.", RUN)
    seed: typing.Optional[int] = option(
        None, "Random seed; a random one (saved in options.json) if not given.", TRAINING)
    checkpoint: typing.Optional[str] = option(
        None, "Folder of a run to resume (train) or to use (test, eval, predict, export).", RUN)

    max_steps: typing.Optional[int] = option(
        None, "Number of training steps, counted from the first run.", TRAINING)
    max_epochs: typing.Optional[int] = option(
        None, "Number of training epochs, counted from the first run.", TRAINING)
    summary_freq: int = option(100, "Write TensorBoard summaries every N steps (0: never).", RUN)
    progress_freq: int = option(50, "Print progress every N steps (0: never).", RUN)
    display_freq: int = option(0, "Write images and index.html every N steps (0: never).", RUN)
    save_freq: int = option(5000, "Save a checkpoint every N steps (0: only at the end).", RUN)

    aspect_ratio: float = option(1.0, "Width/height ratio of the images written by test mode.", RUN)
    eval_mode: bool = option(
        False, "Test/eval/export with moving batch-norm statistics and no dropout "
        "(deterministic), instead of the paper's batch statistics and dropout.", RUN)
    output_filetype: str = option("png", "Image format predict writes and the export returns.",
                                  RUN, choices=("png", "jpeg"))
    judge: str = option(
        "", "Test and eval: realism judges to run, comma-separated: fcn (the paper's FCN-score: "
        "a segmenter trained on the run's real training photos segments the generated ones; "
        "label-map inputs only), c2st (how well a classifier tells generated from real). They "
        "train from seed 0 (or --seed), the same for every run judged.", RUN)
    palette: typing.Optional[str] = option(
        None, "--judge fcn: a JSON file of the label colours, {\"classes\": [{\"name\": ..., "
        "\"color\": [r, g, b]}, ...]} (default: the CMP facades palette).", RUN)
    export_format: str = option(
        "saved_model", "--mode export: saved_model (for TensorFlow Serving), or web: OUTPUT_DIR/web, "
        "a folder any static file server serves, whose page translates in the browser.", RUN,
        choices=("saved_model", "web"))
    lab_colorization: bool = option(False, "Train a colouriser: lightness in, colour out.", MODEL)
    batch_size: int = option(1, "Images per batch.", TRAINING)
    which_direction: str = option("AtoB", "Which half of each pair is the input.", MODEL,
                                  choices=("AtoB", "BtoA"))
    ngf: int = option(64, "Generator filters in the first conv layer.", MODEL)
    ndf: int = option(64, "Discriminator filters in the first conv layer.", MODEL)
    scale_size: typing.Optional[int] = option(
        None, "Resize images to this size before the random crop (default 286 for crop 256, "
        "the same ratio for other crops).", TRAINING)
    crop_size: int = option(256, "Crop size: the networks' input size, a power of two 32..1024.",
                            MODEL)
    flip: bool = option(True, "Flip images left-right at random (--noflip: never).", TRAINING)
    lr: float = option(0.0002, "Adam learning rate.", TRAINING)
    beta1: float = option(0.5, "Adam beta1.", TRAINING)
    l1_weight: float = option(100.0, "Weight of the L1 term of the generator loss.", TRAINING)
    gan_weight: float = option(1.0, "Weight of the GAN term of the generator loss.", TRAINING)

    separable_conv: bool = option(
        False, "Separable convolutions and nearest-neighbour upsampling in the generator.", MODEL)
    dropout: bool = option(
        True, "Dropout 0.5 in the generator's three innermost decoder levels, as the paper "
        "(--nodropout: none; the same weights, but kept for test, export and resume like the "
        "model options).", MODEL)
    generator: str = option("unet", "unet, or encoder_decoder: the same network without skip "
                            "connections.", MODEL, choices=GENERATORS)
    discriminator: str = option("patch", "patch (PatchGAN), pixel (1x1 PixelGAN) or image (one "
                                "logit per image).", MODEL, choices=DISCRIMINATORS)
    n_layers_D: int = option(3, "PatchGAN depth: 1, 3, 5 give 16x16, 70x70, 286x286 patches.",
                             MODEL)


# Options whose values the checkpoint's weights depend on, and --dropout: the
# weights are the same without dropout, but a network trained without it is
# tested and resumed without it. (--strategy and --sync_batchnorm are not
# here: how a run is spread over devices may change when it is resumed.)
MODEL_KEYS = common_options.names(Options, MODEL)


def default_options(**overrides: typing.Any) -> Options:
    """Every option at its default, then `overrides`: for calling the modes
    from Python (tests, notebooks) the way the command line does. The seed is
    0 unless given (the command line draws a random one)."""
    options = Options(**overrides)
    if options.seed is None:
        options = common_options.replace(options, seed=0)
    return options


def scale_size(options: Options) -> int:
    """--scale_size, or the reference's 286/256 ratio of the crop when not given."""
    if options.scale_size:
        return options.scale_size
    return round(options.crop_size * 286 / 256)


def check(options: Options) -> None:
    """Raises UserError for values that cannot train or test (every mode calls
    it, after the checkpoint's model options are merged in)."""
    _check_numbers(options)
    try:
        check_crop_size(options.crop_size)
        parse_judges(options.judge)
    except ValueError as e:
        raise UserError(str(e)) from e
    if options.judge and options.mode not in ("test", "eval"):
        raise UserError(f"--judge is for --mode test and eval, not {options.mode}")
    if scale_size(options) < options.crop_size:
        raise UserError(f"--scale_size {scale_size(options)} is smaller than "
                        f"--crop_size {options.crop_size}: the random crop needs scale_size >= crop_size")
    for name in ("batch_size", "ngf", "ndf"):
        if getattr(options, name) < 1:
            raise UserError(f"--{name} must be at least 1, not {getattr(options, name)}")
    if options.discriminator == "patch" and options.n_layers_D < 1:
        raise UserError(f"--n_layers_D must be at least 1, not {options.n_layers_D}")
    # The PatchGAN's stride-2 layers must leave at least a 4x4 map for its last two convs.
    if options.discriminator == "patch" and options.crop_size // 2 ** options.n_layers_D < 4:
        raise UserError(f"--n_layers_D {options.n_layers_D} is too deep for "
                        f"--crop_size {options.crop_size}")


def _check_numbers(options):
    common_options.check_at_least(options, 0, "max_steps", "max_epochs", "summary_freq",
                                  "progress_freq", "display_freq", "save_freq", "seed")
    common_options.check_positive(options, "scale_size")
    common_options.check_number(options, "lr", 0, low_open=True)
    common_options.check_number(options, "beta1", 0, 1)
    common_options.check_number(options, "l1_weight", 0)
    common_options.check_number(options, "gan_weight", 0)
    common_options.check_number(options, "aspect_ratio", 0, low_open=True)
