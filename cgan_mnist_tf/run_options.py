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
}

# Options that fix the shape of the networks: taken from the checkpoint's options.json.
MODEL_KEYS = ("model", "conditional", "latent_dim")
# Options a resumed run keeps from options.json unless given again on the command line.
RUN_KEYS = ("dataset", "data_dir", "epochs", "batch_size", "lr", "beta1", "sample_interval", "seed")


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
