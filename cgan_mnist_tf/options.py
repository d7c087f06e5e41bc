"""The options of cgan_mnist_tf: every option, its one default and kind, and
the rules for reading them back from a run's options.json.

`Options` is the one home of each option: main.py makes the flags from it,
Python code builds it directly, and options.json is its saved form.
"""

import dataclasses
import typing

from cgan_mnist_tf import data, models
from pix2pix_tf.common import options as common_options
from pix2pix_tf.common.options import MODEL, RUN, SPEED, TRAINING, option

MODES = ("train", "generate", "eval")


@dataclasses.dataclass(frozen=True)
class Options(common_options.SpeedOptions, common_options.DistributeOptions):
    """Every option of a cgan_mnist_tf run, with the articles' defaults."""

    mode: str = option("train", "What to do.", RUN, choices=MODES)
    output_dir: typing.Optional[str] = option(
        None, "Folder of the run (train) or of metrics.json (eval).", RUN)
    checkpoint: typing.Optional[str] = option(
        None, "A run's folder: resume it (train) or use its generator.", RUN)
    model: str = option("mlp", "mlp (28x28) or conv (DCGAN, 32x32).", MODEL, choices=models.MODELS)
    conditional: bool = option(True, "Condition on the label; --noconditional trains the plain "
                               "MLP GAN.", MODEL)
    latent_dim: int = option(100, "Size of the noise z.", MODEL)
    dataset: str = option("mnist", "The digits to learn.", TRAINING, choices=data.DATASETS)
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
    num: int = option(8, "generate: samples per label (steps of the walk with --interpolate).",
                      RUN)
    output: typing.Optional[str] = option(
        None, "generate: the PNG to write (default CHECKPOINT/generated.png).", RUN)
    interpolate: bool = option(False, "generate: walk z between two points for each label.", RUN)
    eval_samples: int = option(100, "eval: generated images per class.", RUN)
    classifier_epochs: int = option(3, "eval: epochs of the classifier (trained once, cached).",
                                    RUN)


# Options that fix the shape of the networks: taken from the checkpoint's options.json.
MODEL_KEYS = common_options.names(Options, MODEL)
# Options a resumed run keeps from options.json unless given again on the command line.
# --strategy and --tpu are not among them: they say where this invocation runs.
RUN_KEYS = (common_options.names(Options, TRAINING) + common_options.names(Options, SPEED)
            + ("sync_batchnorm",))


def from_checkpoint(options, checkpoint_dir, given, strict):
    """Options of this run with the checkpoint's model-defining (and, on resume, run) options.

    Returns (options, saved options dict, messages for the user).
    """
    saved = common_options.load_options(checkpoint_dir)
    merged, messages = common_options.merge_saved_options(options, saved, MODEL_KEYS, given,
                                                          strict)
    if strict:  # Resuming: carry on as the run was started unless told otherwise.
        kept = {key: saved[key] for key in RUN_KEYS if key in saved and key not in given}
        merged = common_options.replace(merged, **kept)
    return merged, saved, messages
