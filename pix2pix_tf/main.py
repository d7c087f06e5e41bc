"""Command line of pix2pix_tf, the flags of the reference pix2pix.py.

    python -m pix2pix_tf.main --mode train --input_dir facades/train \\
        --output_dir facades_train --which_direction BtoA --max_epochs 200

The flags are made from `pix2pix_tf.options.Options`, the one home of every
option; this module only parses them and calls the mode's function.
"""

import random

from absl import app, flags

from pix2pix_tf.common import options as common_options
from pix2pix_tf.common import quiet
from pix2pix_tf.common.errors import run_reporting_user_errors
from pix2pix_tf.options import Options

FLAGS = flags.FLAGS
common_options.define_flags(Options, FLAGS)


def options_from_flags():
    """(the options of the command line, set of the options given on it)."""
    options, given = common_options.from_flags(Options, FLAGS)
    if options.seed is None:
        options = common_options.replace(options, seed=random.randint(0, 2 ** 31 - 1))
    return options, given


def run(options, given=()):
    """Runs `options.mode` with `options`: the command line without the flags."""
    quiet.load_tensorflow(options.verbose)  # Only once the flags are fine.
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
    app.run(main, flags_parser=common_options.flags_parser())


if __name__ == "__main__":
    entry()
