r"""Conditional GANs on MNIST: train, generate, eval.

    python -m cgan_mnist_tf.main --mode train --output_dir runs/cgan --dataset mnist_5k
    python -m cgan_mnist_tf.main --mode generate --checkpoint runs/cgan --labels 3,1,4 \
        --num 8 --output digits.png
    python -m cgan_mnist_tf.main --mode eval --checkpoint runs/cgan

The flags are made from `cgan_mnist_tf.options.Options`, the one home of every
option; this module only parses them, refuses what it can before TensorFlow
loads, and calls the mode's function.
"""

import os

from absl import app, flags

from cgan_mnist_tf import options as cgan_options
from cgan_mnist_tf.options import Options
from pix2pix_tf.common import files, quiet, resume
from pix2pix_tf.common import options as common_options
from pix2pix_tf.common.errors import UserError, run_reporting_user_errors

FLAGS = flags.FLAGS
common_options.define_flags(Options, FLAGS)

SUMMARY = "Conditional GANs on MNIST: train one, generate digits from it, or score it (eval)."
EXAMPLES = (
    "python -m cgan_mnist_tf.main --mode train --output_dir runs/cgan --dataset mnist_5k",
    "python -m cgan_mnist_tf.main --mode generate --checkpoint runs/cgan --labels 3,1,4 --num 8 "
    "--output digits.png",
)


def check_before_tensorflow(options, given=()):
    """Raises the UserError the mode would raise for what needs no TensorFlow
    to see, before TensorFlow loads: see common.resume.merged_before_tensorflow;
    a missing local --data_dir, no --output_dir."""
    merged = resume.merged_before_tensorflow(options, given, cgan_options.check)
    if merged is None:
        return
    if options.mode == "train":
        cgan_options.check_small_data(merged, given)
        if not merged.output_dir:
            raise UserError("--mode train needs --output_dir (or --checkpoint to resume)")
    folder = merged.data_dir if options.mode != "generate" else None
    if folder and files.is_local(folder) and not os.path.isdir(folder):
        raise UserError(f"--data_dir {folder} is not a folder")


def run(options, given=()):
    """Runs `options.mode` with `options`: the command line without the flags."""
    check_before_tensorflow(options, given)
    quiet.load_tensorflow(options.verbose)
    if options.mode == "train":
        from cgan_mnist_tf import train
        return train.train(options, given)
    if options.mode == "generate":
        from cgan_mnist_tf import generate
        return generate.generate(options)
    from cgan_mnist_tf import evaluate
    return evaluate.evaluate(options, given)


def main(argv):
    del argv  # common_options.flags_parser refused stray arguments.
    options, given = common_options.from_flags(Options, FLAGS)
    run_reporting_user_errors(run, options, given)


def entry():
    """The cgan-mnist-tf command (console_scripts) and python -m cgan_mnist_tf.main."""
    help_text = common_options.help_text(Options, SUMMARY, EXAMPLES)
    app.run(main, flags_parser=common_options.flags_parser(help_text=help_text))


if __name__ == "__main__":
    entry()
