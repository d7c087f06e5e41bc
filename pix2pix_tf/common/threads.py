"""TensorFlow's thread pools (--intra_op_threads, --inter_op_threads)."""

import tensorflow as tf


def configure_threads(intra_op_threads, inter_op_threads):
    """Threads of one op and ops run at once; 0 leaves TensorFlow's choice.

    They only take effect before TensorFlow runs its first op: returns False
    if they came too late (the caller says so; the run goes on).
    """
    threading = tf.config.threading
    try:
        if intra_op_threads:
            threading.set_intra_op_parallelism_threads(intra_op_threads)
        if inter_op_threads:
            threading.set_inter_op_parallelism_threads(inter_op_threads)
    except RuntimeError:
        return False
    return True
