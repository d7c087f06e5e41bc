"""Checkpoints of a run (keep the latest) and saving on Ctrl-C / SIGTERM."""

import os
import signal

import tensorflow as tf

from pix2pix_tf.common.errors import UserError


class RunCheckpoint:
    """The trackable state of a run, saved to and restored from a folder.

    `trackables` are the objects tf.train.Checkpoint tracks: models, built
    optimizers, and tf.Variables such as the global step.
    """

    def __init__(self, output_dir, **trackables):
        self.checkpoint = tf.train.Checkpoint(**trackables)
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, output_dir, max_to_keep=1, checkpoint_name="ckpt")

    def save(self, step):
        return self.manager.save(checkpoint_number=int(step))

    def restore(self, checkpoint_dir, partial=False):
        """Restores the latest checkpoint in `checkpoint_dir`, returns its path.

        With partial=False every saved object must find its match (resuming
        training); with partial=True only the objects given here are restored
        (the generator alone, for test and export).
        """
        path = latest_checkpoint(checkpoint_dir)
        status = self.checkpoint.restore(path)
        if partial:
            status.expect_partial()
        else:
            status.assert_existing_objects_matched()
        return path


def latest_checkpoint(checkpoint_dir):
    """The path of the newest checkpoint in `checkpoint_dir`, or UserError."""
    if not os.path.isdir(checkpoint_dir):
        raise UserError(f"--checkpoint {checkpoint_dir} does not exist")
    path = tf.train.latest_checkpoint(checkpoint_dir)
    if path is None:
        raise UserError(f"--checkpoint {checkpoint_dir} holds no checkpoint")
    return path


class StopRequests:
    """Turns SIGINT and SIGTERM into a polite request to stop.

    The training loop checks `requested` after each step, saves a checkpoint
    and leaves. A second Ctrl-C while the first is pending stops at once.

        with StopRequests() as stop:
            for batch in data:
                ...
                if stop.requested:
                    save(); break
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.requested = None
        self._previous = {}

    def _handle(self, signum, frame):
        if self.requested is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = signal.Signals(signum).name

    def __enter__(self):
        for sig in self.SIGNALS:
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # Not the main thread: signals stay as they are.
                pass
        return self

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        return False
