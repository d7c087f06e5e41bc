"""options.json: every option of a run, saved beside its checkpoints.

Options that define a model (its size, kind, direction...) must match when a
run is resumed or tested, so they are read back from the checkpoint folder.
"""

import json
import os

from pix2pix_tf.common import files
from pix2pix_tf.common.errors import UserError

OPTIONS_FILE = "options.json"


def save_options(output_dir, options):
    files.write_json(os.path.join(output_dir, OPTIONS_FILE), dict(options))


def load_options(checkpoint_dir):
    """Returns the options saved in `checkpoint_dir`, or raises UserError."""
    if not os.path.isdir(checkpoint_dir):
        raise UserError(f"--checkpoint {checkpoint_dir} does not exist")
    path = os.path.join(checkpoint_dir, OPTIONS_FILE)
    if not os.path.isfile(path):
        raise UserError(f"--checkpoint {checkpoint_dir} has no {OPTIONS_FILE}: "
                                        "it is not the output folder of a training run")
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise UserError(f"cannot read {path}: {e}") from e


def merge_saved_options(options, saved, keys, given, strict):
    """Takes the model-defining `keys` from the `saved` options.

    Args:
        options: dict of the options of this run; a new dict is returned.
        saved: dict loaded from the checkpoint's options.json.
        keys: names of the options that define the model.
        given: names of the options set explicitly on the command line.
        strict: if True (resuming training), a given option whose value differs
            from the saved one is an error naming both values; if False (test,
            export), the saved value wins and a message says so.

    Returns:
        (merged options, list of messages for the user).
    """
    merged = dict(options)
    messages = []
    for key in keys:
        if key not in saved:
            continue
        if key in given and options.get(key) != saved[key]:
            if strict:
                raise UserError(
                        f"--{key}={options.get(key)} conflicts with {key}={saved[key]} "
                        "in the checkpoint's options.json; drop the flag or start a new run")
            messages.append(f"--{key}={options.get(key)} overridden by the checkpoint: "
                                            f"{key}={saved[key]}")
        else:
            messages.append(f"loaded {key}={saved[key]} from the checkpoint")
        merged[key] = saved[key]
    return merged, messages
