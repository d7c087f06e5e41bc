"""The options of a run: defaults, which ones define the model, and reading them back."""

from pix2pix_tf.common import options as common_options

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
    # Speed (see `python -m cgan_mnist_tf.bench`): the same model either way;
    # `auto` is decided on the machine of each run (pix2pix_tf/common/speed.py).
    "jit_compile": "auto",
    "mixed_precision": "auto",
    "cache": "auto",
    "fused_optimizer": True,
    "intra_op_threads": "auto",
    "inter_op_threads": "auto",
    # Distribution: --strategy and --tpu say where this invocation runs;
    # --sync_batchnorm (with several replicas) is part of the run.
    "strategy": "default",
    "tpu": None,
    "sync_batchnorm": False,
}

# Options that fix the shape of the networks: taken from the checkpoint's options.json.
MODEL_KEYS = ("model", "conditional", "latent_dim")
# Options a resumed run keeps from options.json unless given again on the command line.
# --strategy and --tpu are not among them: they say where this invocation runs.
RUN_KEYS = ("dataset", "data_dir", "epochs", "batch_size", "lr", "beta1", "sample_interval", "seed",
            "jit_compile", "mixed_precision", "cache", "fused_optimizer", "intra_op_threads",
            "inter_op_threads", "sync_batchnorm")


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
