"""Command line of pix2pix_tf, the flags of the reference pix2pix.py.

    python -m pix2pix_tf.main --mode train --input_dir facades/train \\
        --output_dir facades_train --which_direction BtoA --max_epochs 200

The flags are made from `pix2pix_tf.options.Options`, the one home of every
option; this module only parses them, refuses what it can before TensorFlow
loads, and calls the mode's function.
"""

import os
import random

from absl import app, flags

from pix2pix_tf import options as pix2pix_options
from pix2pix_tf.common import files, quiet, resume
from pix2pix_tf.common import options as common_options
from pix2pix_tf.common.errors import UserError, run_reporting_user_errors
from pix2pix_tf.options import Options

FLAGS = flags.FLAGS
common_options.define_flags(Options, FLAGS)

SUMMARY = ("pix2pix: image-to-image translation with a conditional GAN (train, test, eval, "
           "predict, export).")
EXAMPLES = (
    "python -m pix2pix_tf.main --mode train --input_dir facades/train --output_dir facades_train "
    "--which_direction BtoA --max_epochs 200",
    "python -m pix2pix_tf.main --mode test --input_dir facades/val --checkpoint facades_train "
    "--output_dir facades_test",
)


def options_from_flags():
    """(the options of the command line, set of the options given on it)."""
    options, given = common_options.from_flags(Options, FLAGS)
    if options.seed is None:
        options = common_options.replace(options, seed=random.randint(0, 2 ** 31 - 1))
    return options, given


def check_before_tensorflow(options, given=()):
    """Raises the UserError the mode would raise for what needs no TensorFlow
    to see, before TensorFlow loads: see common.resume.merged_before_tensorflow;
    a missing local --input_dir, no --output_dir."""
    merged = resume.merged_before_tensorflow(options, given, pix2pix_options.check)
    if merged is None:
        return
    folder, mode = merged.input_dir, options.mode
    if mode != "export":
        if not folder:
            raise UserError("--input_dir is required")
        if files.is_local(folder) and not (os.path.isdir(folder)
                                           or mode == "predict" and os.path.exists(folder)):
            raise UserError(f"--input_dir {folder} does not exist"
                            + ("" if mode == "predict" else " or is not a folder"))
    if not merged.output_dir:
        raise UserError(f"--mode {mode} needs --output_dir"
                        + (" (or --checkpoint to resume)" if mode == "train" else ""))


def run(options, given=()):
    """Runs `options.mode` with `options`: the command line without the flags."""
    check_before_tensorflow(options, given)
    quiet.load_tensorflow(options.verbose)
    from pix2pix_tf import export, inference, predict, train

    modes = {
        "train": train.train,
        "test": lambda options, given: inference.run(options, given, write_images=True),
        "eval": lambda options, given: inference.run(options, given, write_images=False),
        "predict": predict.predict,
        "export": export.export,
    }
    return modes[options.mode](options, given)


def main(argv):
    del argv  # common_options.flags_parser refused stray arguments.
    options, given = options_from_flags()
    run_reporting_user_errors(run, options, given)


def entry():
    """The pix2pix-tf command (console_scripts) and python -m pix2pix_tf.main."""
    flags.mark_flag_as_required("mode")
    help_text = common_options.help_text(Options, SUMMARY, EXAMPLES)
    app.run(main, flags_parser=common_options.flags_parser(help_text=help_text))


if __name__ == "__main__":
    entry()
