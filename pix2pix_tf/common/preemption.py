"""Stopping a run on several workers together: a SIGTERM (or Ctrl-C) to any
worker of a multi-worker cluster stops every worker after the same step.

Each worker's `checkpoints.StopRequests` catches its own signals. In a
cluster, a worker that stopped alone would leave the others waiting in the
next step's collective ops, and saving a checkpoint is collective too. So
the signal goes through TensorFlow's coordination service, by
tf.distribute.experimental.PreemptionCheckpointHandler: its watcher thread
reads our StopRequests (TensorFlow's own SIGTERM handler stays off), the
worker that got the signal names the step after which every worker stops,
and every worker learns it before that step ends. Each training loop then
saves its checkpoint (the same step everywhere) and returns.

    with checkpoints.StopRequests() as requests, ClusterStop(strategy, requests) as stop:
        for batch in data:
            train_step(batch)
            signal_name = stop.after_step()  # On every worker, after every step.
            if signal_name:
                save(); break

Outside a cluster (one process: the default or the mirrored strategy) the
signal is already everyone's: after_step() reports it after the step
during which it came, as StopRequests alone did.
"""

import os
import tempfile
import uuid

import tensorflow as tf
from tensorflow.python.eager import context  # The coordination service's key-value store.

from pix2pix_tf.common import distribute

# Where TensorFlow's handler only logs a warning and never stops a run
# (TF 2.21: CPU-only and TPU VMs of Google Compute Engine).
INERT_PLATFORMS = ("GCE_CPU", "GCE_TPU")

# The name of the signal that stopped the cluster, set by the worker that got
# it, for the other workers' status (128 + signal) and messages.
SIGNAL_KEY = "pix2pix_tf/stop_signal"


class ClusterStop:
    """after_step() -> the name of the signal that stops the run, or None.

    Args:
        strategy: the run's tf.distribute strategy. The handler is used when
            it is a MultiWorkerMirroredStrategy with a cluster in TF_CONFIG.
        requests: the process's StopRequests (its `requested` signal name).
    """

    def __init__(self, strategy, requests):
        self.requests = requests
        self._agreed = None  # The cluster's stop signal, once agreed.
        self._handler = None
        if distribute.task(strategy)[0] is not None:
            # The handler saves at its agreed step through save_fn, then calls
            # exit_fn; here both only hand the decision to the training loop,
            # which saves (on every worker) and returns. Its own checkpoint,
            # restored when it is made, is an empty one that nothing writes.
            config = tf.distribute.experimental.TerminationConfig(
                termination_watcher_fn=self._signalled, exit_fn=self._stop,
                save_fn=lambda *args, **kwargs: None, grace_period=0)
            manager = tf.train.CheckpointManager(
                tf.train.Checkpoint(), directory=_unused_directory(),
                max_to_keep=1)
            self._handler = tf.distribute.experimental.PreemptionCheckpointHandler(
                strategy.cluster_resolver, manager, termination_config=config)
            if self._handler._platform_device.name in INERT_PLATFORMS:
                # It does nothing there: the worker signalled stops alone, as
                # without a cluster (the others then wait in their next step).
                self._handler.__del__()
                self._handler = None

    def _signalled(self):
        """The handler's termination watcher (polled every second, off the main thread)."""
        name = self.requests.requested
        if name is None:
            return False
        try:  # The first worker signalled names the signal for the cluster.
            context.context().set_config_key_value(SIGNAL_KEY, name)
        except tf.errors.AlreadyExistsError:
            pass
        return True

    def _stop(self):
        """The handler's exit_fn, on every worker at the agreed step."""
        name = self.requests.requested
        if name is None:
            name = context.context().get_config_key_value(SIGNAL_KEY)
        self._agreed = name

    @property
    def requested(self):
        """The name of the signal that stops the run, or None: in a cluster,
        once every worker has reached the agreed step (see after_step)."""
        return self.requests.requested if self._handler is None else self._agreed

    def after_step(self):
        """Call on every worker after every step: the signal name once the
        run must save and stop (at the same step on every worker), else None."""
        if self._handler is not None and self._agreed is None:
            self._handler.save_checkpoint_if_preempted()
        return self.requested

    def close(self):
        """Stops the handler's watcher threads (its __del__ would, but the
        threads hold references to it)."""
        if self._handler is not None and self._agreed is None:
            self._handler.__del__()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def _unused_directory():
    """A folder name for the handler's checkpoint manager, never created:
    the manager reads it once (no checkpoint) and nothing saves there."""
    return os.path.join(tempfile.gettempdir(), f"preemption-unused-{uuid.uuid4().hex}")
