"""A pix2pix training process that also saves the weights it ends with, for
tests of multi-worker runs: each worker's weights can then be compared.

    python -m tests.support.train_worker --weights_out W.npz --mode train ...

takes the flags of `python -m pix2pix_tf.main` plus --weights_out, and:
--opened_out F.json: the image files the process opened with PIL (the input
checks) and decoded into its cache (DecodedImages), as {"opened": [...],
"cached": [...]}; --step_delay S: a sleep after each training step, so that a
signal sent after step N finds the run still going. It exits as main does
(143 after a SIGTERM that stopped the run), after writing those files.
"""

import json
import time

import PIL.Image
from absl import app, flags

from pix2pix_tf import data, report, train
from pix2pix_tf import main as cli
from tests.support import worker_results

flags.DEFINE_string("weights_out", None, "Where to save {model/variable path: value} (.npz).")
flags.DEFINE_string("opened_out", None, "Where to list the image files opened and cached (.json).")
flags.DEFINE_float("step_delay", 0.0, "Seconds slept after each training step.")

FLAGS = flags.FLAGS


def record_files():
    """{"opened": paths PIL opened, "cached": paths decoded into a DecodedImages}."""
    files = {"opened": [], "cached": []}
    pil_open = PIL.Image.open

    def opened(path, *args, **kwargs):
        files["opened"].append(str(path))
        return pil_open(path, *args, **kwargs)

    PIL.Image.open = opened
    cache_init = data.DecodedImages.__init__

    def cached(self, paths):
        files["cached"].extend(str(path) for path in paths)
        cache_init(self, paths)

    data.DecodedImages.__init__ = cached
    return files


def slow_steps(delay):
    """Makes every call of training steps end with a sleep of `delay` seconds
    (one step per call on several workers)."""
    after_steps = report.TrainingReport.after_steps

    def slow(self, *args):
        time.sleep(delay)
        after_steps(self, *args)

    report.TrainingReport.after_steps = slow


def run(argv):
    del argv
    files = record_files() if FLAGS.opened_out else None
    if FLAGS.step_delay:
        slow_steps(FLAGS.step_delay)
    options, given = cli.options_from_flags()
    result = worker_results.train_reporting_errors(lambda: train.train(options, given))
    worker_results.save_weights(FLAGS.weights_out, result.model.generator,
                                result.model.discriminator)
    if files is not None:
        with open(FLAGS.opened_out, "w") as f:
            json.dump(files, f)
    worker_results.exit_as_main(result)


if __name__ == "__main__":
    flags.mark_flag_as_required("weights_out")
    app.run(run)
