"""A cgan_mnist_tf training process that also saves the weights it ends with,
for tests of multi-worker runs (the cgan twin of tests.support.train_worker):

    python -m tests.support.cgan_train_worker --weights_out W.npz --mode train ...

takes the flags of `python -m cgan_mnist_tf.main` plus --weights_out and
--step_delay S (a sleep after each training step, so that a signal sent after
step N finds the run still going). It exits as main does (143 after a SIGTERM
that stopped the run), after writing the weights.
"""

import time

from absl import app, flags, logging

from cgan_mnist_tf import main as cli  # noqa: F401 (defines the flags)
from cgan_mnist_tf import report, train
from cgan_mnist_tf.options import Options
from pix2pix_tf.common import options as common_options
from tests.support import worker_results

flags.DEFINE_string("weights_out", None, "Where to save {model/variable path: value} (.npz).")
flags.DEFINE_float("step_delay", 0.0, "Seconds slept after each training step.")

FLAGS = flags.FLAGS


def slow_steps(delay):
    """Makes every call of training steps end with a sleep of `delay` seconds
    (one step per call on several workers)."""
    after_steps = report.SampleReport.after_steps

    def slow(self, *args):
        time.sleep(delay)
        after_steps(self, *args)

    report.SampleReport.after_steps = slow


def run(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    if FLAGS.step_delay:
        slow_steps(FLAGS.step_delay)
    options, given = common_options.from_flags(Options, FLAGS)
    result = worker_results.train_reporting_errors(lambda: train.train(options, given))
    worker_results.save_weights(FLAGS.weights_out, result.model.generator, result.model.discriminator)
    worker_results.exit_as_main(result)


if __name__ == "__main__":
    flags.mark_flag_as_required("weights_out")
    app.run(run)
