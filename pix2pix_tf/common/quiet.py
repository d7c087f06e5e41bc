"""TensorFlow's own log lines kept out of the commands' output.

TensorFlow prints notices as it loads (oneDNN, CUDA drivers) and as it
starts its devices (a failed cuInit on machines without a GPU), through its
C++ logging, which no Python setting reaches and some of which ignores
TF_CPP_MIN_LOG_LEVEL. A command calls `load_tensorflow` once its flags are
parsed: TensorFlow then loads and finds its devices with the process's
native stderr sent to /dev/null, and its later C++ lines are limited to
fatal ones. --verbose, or a TF_CPP_MIN_LOG_LEVEL the user set, shows them all.
"""

from __future__ import annotations

import contextlib
import os

LEVEL_VARIABLE = "TF_CPP_MIN_LOG_LEVEL"


@contextlib.contextmanager
def native_stderr_silenced():
    """File descriptor 2 goes to /dev/null inside the block (C++ writes too)."""
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def load_tensorflow(verbose: bool = False) -> None:
    """Loads TensorFlow and its devices, quietly unless `verbose` or the user
    chose TensorFlow's log level; a no-op once TensorFlow is running."""
    from absl import logging

    logging.set_verbosity(logging.INFO if verbose else logging.WARNING)
    if verbose or LEVEL_VARIABLE in os.environ:
        return
    os.environ[LEVEL_VARIABLE] = "3"
    with native_stderr_silenced():
        import tensorflow as tf

        tf.config.list_physical_devices()
    tf.get_logger().setLevel("ERROR")
