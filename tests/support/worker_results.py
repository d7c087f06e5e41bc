"""What the test training processes (train_worker, cgan_train_worker) share:
running train() without main's exit, and ending with the weights saved and
main's exit status."""

import signal
import sys

import numpy as np

from pix2pix_tf.common import errors


class _Unstopped:
    """A result run_reporting_user_errors does not exit on (the worker exits
    after writing its files)."""

    stopped = None

    def __init__(self, result):
        self.result = result


def train_reporting_errors(train_fn):
    """train_fn()'s result, with a UserError turned into main's error line and exit."""
    return errors.run_reporting_user_errors(lambda: _Unstopped(train_fn())).result


def save_weights(path, generator, discriminator):
    """Saves {"generator/<variable path>": value, ...} to `path` (.npz)."""
    np.savez(path, **{f"{name}/{variable.path}": np.asarray(variable.numpy())
                      for name, model in (("generator", generator),
                                          ("discriminator", discriminator))
                      for variable in model.weights})


def exit_as_main(result):
    """Exits as main does after a run a signal stopped (143 after SIGTERM)."""
    if result.stopped:
        sys.exit(errors.exit_status(signal.Signals[result.stopped]))
