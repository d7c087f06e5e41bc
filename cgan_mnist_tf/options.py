"""The options of cgan_mnist_tf (`Options`: the flags, Python's and options.json's
one home of each option) and their checks."""

import dataclasses
import typing

from cgan_mnist_tf.choices import DATASETS, FAITHFUL_MODELS, MODELS, parse_policy
from pix2pix_tf.common import options as common_options
from pix2pix_tf.common.errors import UserError
from pix2pix_tf.common.options import MODEL, RUN, TRAINING, option

MODES = ("train", "generate", "eval")
# generate: samples per label (the grid's columns), and images in the whole grid.
MAX_NUM = 1000
MAX_GRID_IMAGES = 20_000
# eval: generated images per class (ten times as many in all).
MAX_EVAL_SAMPLES = 10_000


@dataclasses.dataclass(frozen=True)
class Options(common_options.SpeedOptions, common_options.DistributeOptions,
              common_options.OutputOptions):
    """Every option of a cgan_mnist_tf run, with the articles' defaults."""

    mode: str = option("train", "What to do.", RUN, choices=MODES)
    output_dir: typing.Optional[str] = option(
        None, "Folder of the run (train) or of metrics.json (eval).", RUN)
    checkpoint: typing.Optional[str] = option(
        None, "A run's folder: resume it (train) or use its generator.", RUN)
    model: str = option("dcgan_proj", "dcgan_proj (28x28), a DCGAN generator against a "
                        "projection discriminator, for small data; or the articles' models: mlp "
                        "(28x28), conv (DCGAN, 32x32) or stackgan (16x16 then 64x64, two stages).",
                        MODEL, choices=MODELS)
    conditional: bool = option(True, "Condition on the label; --noconditional trains the plain "
                               "MLP GAN.", MODEL)
    latent_dim: int = option(100, "Size of the noise z.", MODEL)
    # The small-data ingredients: used by dcgan_proj only; the articles' models
    # (mlp, conv, --noconditional) train as the articles say and refuse them.
    ema_decay: float = option(0.999, "dcgan_proj: decay of the moving average of the generator's "
                              "weights that samples, generate and eval use (0: none).", MODEL)
    loss: str = option("hinge", "dcgan_proj: hinge, or bce (the non-saturating loss of the "
                       "articles' models).", TRAINING, choices=("hinge", "bce"))
    # none by default: see docs/cgan.md, "Every model under one judge".
    diffaugment: str = option("none", "dcgan_proj: DiffAugment of every image D sees, real and "
                              "generated: a comma-separated subset of color, translation, "
                              "cutout, or none.", TRAINING)
    stackgan_consistency: float = option(
        10.0, "stackgan: weight of the mean L1 distance between stage II's image shrunk to "
        "16x16 and the stage-I image it redraws, in stage II's loss (0: the paper's loss, "
        "under which stage II ignored its input and drew one digit per label).", TRAINING)
    dataset: str = option("mnist", "The digits to learn.", TRAINING, choices=DATASETS)
    data_dir: typing.Optional[str] = option(
        None, "A folder with the four MNIST IDX files (gzip or not) or mnist.npz, used instead "
        "of tensorflow-datasets.", TRAINING)
    epochs: int = option(50, "Epochs to train in total.", TRAINING)
    batch_size: int = option(64, "Images per step.", TRAINING)
    lr: float = option(2e-4, "Adam learning rate of both networks.", TRAINING)
    beta1: float = option(0.5, "Adam beta_1.", TRAINING)
    sample_interval: int = option(400, "Steps between sample grids.", TRAINING)
    seed: int = option(0, "Random seed (training; noise of generate and eval).", TRAINING)

    labels: typing.Optional[str] = option(
        None, "generate: comma-separated digits, one row each (default 0..9).", RUN)
    num: int = option(8, "generate: samples per label (steps of the walk with --interpolate), "
                      f"1 to {MAX_NUM}.", RUN)
    output: typing.Optional[str] = option(
        None, "generate: the PNG to write (default CHECKPOINT/generated.png).", RUN)
    interpolate: bool = option(False, "generate: walk z between two points for each label.", RUN)
    stage1: bool = option(False, "generate, stackgan: also write the stage-I (16x16) images of the "
                          "same noise, as OUTPUT_stage1.png beside the 64x64 grid.", RUN)
    eval_samples: int = option(100, f"eval: generated images per class, 2 to {MAX_EVAL_SAMPLES}.",
                               RUN)
    classifier_epochs: int = option(3, "eval: epochs of the classifier (trained once, cached).",
                                    RUN)

    @staticmethod
    def unused_options(values: dict[str, typing.Any]) -> tuple[str, ...]:
        """The options the model of `values` (an options.json) never uses:
        not carried over or reported when a run resumes."""
        return SMALL_DATA_KEYS if _faithful(values.get("model"), values.get("conditional", True)) else ()


# Options that fix the shape of the networks: taken from the checkpoint's options.json.
MODEL_KEYS = common_options.names(Options, MODEL)


def check(options: Options) -> None:
    """UserError for a numeric option out of its range, in every mode."""
    common_options.check_positive(options, "epochs", "batch_size", "sample_interval",
                                  "latent_dim", "classifier_epochs")
    common_options.check_at_least(options, 0, "seed")  # Speed options: common.speed.check.
    common_options.check_between(options, "num", 1, MAX_NUM)
    common_options.check_between(options, "eval_samples", 2, MAX_EVAL_SAMPLES)
    common_options.check_number(options, "lr", 0, low_open=True)
    common_options.check_number(options, "beta1", 0, 1)
    common_options.check_number(options, "stackgan_consistency", 0)


SMALL_DATA_KEYS = ("ema_decay", "loss", "diffaugment")


def _faithful(model, conditional):
    """Whether the run trains one of the articles' models, as the articles do."""
    return model in FAITHFUL_MODELS or not conditional


def small_data(options: Options) -> tuple[str, tuple[str, ...], float]:
    """(loss, DiffAugment policy, EMA decay) the run trains with: the options for
    dcgan_proj, the articles' recipe (bce, none, no EMA) for the faithful models."""
    if _faithful(options.model, options.conditional):
        return "bce", (), 0.0
    return options.loss, parse_policy(options.diffaugment), options.ema_decay


def check_small_data(options: Options, given: typing.AbstractSet[str]) -> None:
    """UserError for small-data options given to a faithful model or out of range,
    and for --stackgan_consistency given to another model."""
    mixed = sorted(key for key in SMALL_DATA_KEYS if key in given)
    if _faithful(options.model, options.conditional) and mixed:
        raise UserError(f"--{', --'.join(mixed)}: only for --model dcgan_proj; the articles' "
                        "models (mlp, conv, stackgan, --noconditional) train as the articles do")
    if "stackgan_consistency" in given and (options.model != "stackgan"
                                            or not options.conditional):
        raise UserError("--stackgan_consistency: only for --model stackgan")
    if not 0.0 <= options.ema_decay < 1.0:
        raise UserError(f"--ema_decay {options.ema_decay} must be in [0, 1)")
    try:
        parse_policy(options.diffaugment)
    except ValueError as e:
        raise UserError(f"--diffaugment: {e}") from None
