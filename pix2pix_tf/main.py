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
    to see, before TensorFlow loads: a missing --checkpoint, its options.json,
    the numbers of the options merged with it as the mode merges them, a
    missing --input_dir or --output_dir. Paths with a scheme (gs://) are
    left to the mode: TensorFlow reads them."""
    if options.mode != "train" and not options.checkpoint:
        raise UserError(f"--mode {options.mode} needs --checkpoint, the output folder of a "
                        "training run")
    if options.checkpoint and not files.is_local(options.checkpoint):
        return
    merged, _ = resume.from_checkpoint(options, given, strict=options.mode == "train")
    pix2pix_options.check(merged)
    folder = merged.input_dir
    if options.mode != "export":
        if not folder:
            raise UserError("--input_dir is required")
        exists = os.path.exists if options.mode == "predict" else os.path.isdir
        if files.is_local(folder) and not exists(folder):
            raise UserError(f"--input_dir {folder} does not exist"
                            + ("" if options.mode == "predict" else " or is not a folder"))
    if not merged.output_dir:
        raise UserError(f"--mode {options.mode} needs --output_dir"
                        + (" (or --checkpoint to resume)" if options.mode == "train" else ""))


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
