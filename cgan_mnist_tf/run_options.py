"""The options of a run: defaults, their checks, which ones define the model, and reading them back."""

import math

from pix2pix_tf.common import options as common_options
from pix2pix_tf.common.errors import UserError

DEFAULTS = {
    "model": "mlp",
    "conditional": True,
    "dataset": "mnist",
    "data_dir": None,
    "epochs": 50,
    "batch_size": 64,
    "latent_dim": 100,
    "lr": 2e-4,
    "beta1": 0.5,
    "sample_interval": 400,
    "seed": 0,
    # Speed (see `python -m cgan_mnist_tf.bench`): the same model either way.
    "jit_compile": False,
    "mixed_precision": "float32",
    "cache": True,
    "fused_optimizer": True,
    # Distribution: --strategy and --tpu say where this invocation runs;
    # --sync_batchnorm (with several replicas) is part of the run.
    "strategy": "default",
    "tpu": None,
    "sync_batchnorm": False,
    # generate and eval.
    "num": 8,
    "eval_samples": 100,
    "classifier_epochs": 3,
}

# generate: samples per label (the grid's columns), and images in the whole grid.
MAX_NUM = 1000
MAX_GRID_IMAGES = 20_000
# eval: generated images per class (10x as many in all; their features take 512 bytes each).
MAX_EVAL_SAMPLES = 10_000

MIXED_PRECISION = ("float32", "bfloat16")
# --mixed_precision -> Keras dtype policy. mixed_bfloat16 keeps float32
# variables (checkpoints are the same either way) and computes in bfloat16.
DTYPE_POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16"}

# Options that fix the shape of the networks: taken from the checkpoint's options.json.
MODEL_KEYS = ("model", "conditional", "latent_dim")
# Options a resumed run keeps from options.json unless given again on the command line.
# --strategy and --tpu are not among them: they say where this invocation runs.
RUN_KEYS = ("dataset", "data_dir", "epochs", "batch_size", "lr", "beta1", "sample_interval", "seed",
            "jit_compile", "mixed_precision", "cache", "fused_optimizer", "sync_batchnorm")


def check(options):
    """Raises UserError for a numeric option out of its range (in every mode:
    a value that cannot be meant is an error, not a silent default)."""
    def in_range(name, low, high=None):
        value = options[name]
        if not isinstance(value, int) or value < low or (high is not None and value > high):
            bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise UserError(f"--{name} must be {bounds}, not {value}")

    for name in ("epochs", "batch_size", "sample_interval", "latent_dim", "classifier_epochs"):
        in_range(name, 1)
    in_range("seed", 0)
    in_range("num", 1, MAX_NUM)
    in_range("eval_samples", 2, MAX_EVAL_SAMPLES)
    lr, beta1 = options["lr"], options["beta1"]
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise UserError(f"--lr must be a positive number, not {lr}")
    if not (isinstance(beta1, (int, float)) and 0 <= beta1 < 1):
        raise UserError(f"--beta1 must be in [0, 1), not {beta1}")


def with_defaults(options):
    return {**DEFAULTS, **options}


def from_checkpoint(options, checkpoint_dir, given, strict):
    """Options of this run with the checkpoint's model-defining (and, on resume, run) options.

    Returns (options, saved options, messages for the user).
    """
    saved = common_options.load_options(checkpoint_dir)
    merged, messages = common_options.merge_saved_options(options, saved, MODEL_KEYS, given, strict)
    if strict:  # Resuming: carry on as the run was started unless told otherwise.
        for key in RUN_KEYS:
            if key in saved and key not in given:
                merged[key] = saved[key]
    return merged, saved, messages
