r"""Conditional GANs on MNIST: train, generate, eval.

    python -m cgan_mnist_tf.main --mode train --output_dir runs/cgan --dataset mnist_5k
    python -m cgan_mnist_tf.main --mode generate --checkpoint runs/cgan --labels 3,1,4 \
        --num 8 --output digits.png
    python -m cgan_mnist_tf.main --mode eval --checkpoint runs/cgan

The flags are made from `cgan_mnist_tf.options.Options`, the one home of every
option; this module only parses them and calls the mode's function.
"""

from absl import app, flags

from cgan_mnist_tf.options import Options
from pix2pix_tf.common import options as common_options
from pix2pix_tf.common import quiet
from pix2pix_tf.common.errors import run_reporting_user_errors

FLAGS = flags.FLAGS
common_options.define_flags(Options, FLAGS)


def run(options, given=()):
    """Runs `options.mode` with `options`: the command line without the flags."""
    quiet.load_tensorflow(options.verbose)  # Only once the flags are fine.
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
    app.run(main, flags_parser=common_options.flags_parser())


if __name__ == "__main__":
    entry()
