"""Checkpoints of a run (keep the latest), its folder (one run at a time), and saving on Ctrl-C / SIGTERM."""

import contextlib
import logging
import os
import signal

import tensorflow as tf

from pix2pix_tf.common import files, locks
from pix2pix_tf.common.errors import UserError

RANDOM_STATES = "random_states"


def random_states(*models):
    """The random-generator states of `models`' layers (Keras' SeedGenerator
    variables, e.g. of dropout), which `model.weights` leaves out: a
    checkpoint needs them for a resumed run to draw the same numbers."""
    states = []
    for model in models:
        weights = {id(w) for w in model.weights}
        states += [v for v in model.variables if id(v) not in weights]
    return states


class RunCheckpoint:
    """The trackable state of a run, saved to and restored from a folder.

    `trackables` are the objects tf.train.Checkpoint tracks: models, built
    optimizers, and tf.Variables such as the global step. `random_states`
    (see random_states()) are saved too; a checkpoint made without them (by
    an earlier version) still restores, with `restored_random_states` False.
    `nonfinite`, a NonFiniteWatch of the model: save() refuses, with a
    UserError, weights that a NaN or infinite loss spoiled.
    """

    def __init__(self, output_dir, random_states=None, nonfinite=None, **trackables):
        if random_states is not None:
            trackables[RANDOM_STATES] = list(random_states)
        self.trackables = trackables
        self.checkpoint = tf.train.Checkpoint(**trackables)
        self.output_dir = output_dir
        self.nonfinite = nonfinite
        self._manager = None
        self._saved = None  # (step, path) of the last save.
        self.restored_random_states = None

    @property
    def manager(self):
        # Made at the first save: it reads the folder's `checkpoint` file,
        # which restore() checks first (and test or export never need).
        if self._manager is None:
            self._manager = tf.train.CheckpointManager(
                self.checkpoint, self.output_dir, max_to_keep=1, checkpoint_name="ckpt")
        return self._manager

    def save(self, step):
        """Saves the checkpoint of `step` and returns its path; once per step
        (saving the same state again would only count one more save)."""
        if self.nonfinite is not None:
            self.nonfinite.check(self.output_dir)
        if self._saved is None or self._saved[0] != int(step):
            try:
                self._saved = int(step), self.manager.save(checkpoint_number=int(step))
            except Exception:
                # A failed save (a full disk) leaves its shards' folder: the
                # previous checkpoint, which `checkpoint` still names, stays.
                files.rmtree(os.path.join(self.output_dir, f"ckpt-{int(step)}_temp"))
                raise
        return self._saved[1]

    def restore(self, checkpoint_dir, partial=False):
        """Restores the latest checkpoint in `checkpoint_dir`, returns its path.

        With partial=False every saved object must find its match (resuming
        training); with partial=True only the objects given here are restored
        (the generator alone, for test and export). A missing, corrupt or
        partial checkpoint, or one of another model, is a UserError naming
        the file.
        """
        path = latest_checkpoint(checkpoint_dir)
        saved = saved_objects(path)
        checkpoint = self.checkpoint
        self.restored_random_states = RANDOM_STATES in saved
        if RANDOM_STATES in self.trackables and not self.restored_random_states:
            checkpoint = tf.train.Checkpoint(**{name: value for name, value in self.trackables.items()
                                                if name != RANDOM_STATES})
        try:
            status = checkpoint.restore(path)
            if partial:  # What is not asked for (optimizers, D) stays unread, unwarned.
                status.expect_partial()
            # Either way, all that is asked for must be there: restore() alone
            # leaves an object the checkpoint lacks at its initial values.
            status.assert_existing_objects_matched()
        except AssertionError as e:
            raise UserError(f"{path} does not hold the model of its options.json "
                            f"({_first_line(e)})") from e
        except ValueError as e:
            if "incompatible tensor with shape" not in str(e):
                raise UserError(f"{_data_files(path)} is corrupt or incomplete "
                                f"({_first_line(e)}): the checkpoint {path} cannot be "
                                "restored") from e
            raise UserError(f"{path} does not hold the model of its options.json: its "
                            f"weights have other shapes ({_first_line(e)})") from e
        except (tf.errors.OpError, IndexError) as e:
            raise UserError(f"{_data_files(path)} is corrupt or incomplete ({_first_line(e)}): "
                            f"the checkpoint {path} cannot be restored") from e
        return path


def latest_checkpoint(checkpoint_dir):
    """The path of the newest checkpoint in `checkpoint_dir`, or UserError,
    also when its `checkpoint` file or the files it names are missing or unreadable."""
    if not files.isdir(checkpoint_dir):
        raise UserError(f"--checkpoint {checkpoint_dir} does not exist")
    state_file = os.path.join(checkpoint_dir, "checkpoint")
    if not files.exists(state_file):
        raise UserError(f"--checkpoint {checkpoint_dir} holds no checkpoint")
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel(logging.ERROR)  # It warns, then returns None, for an unparsable file.
    try:
        state = tf.train.get_checkpoint_state(checkpoint_dir)
    except (UnicodeDecodeError, ValueError, tf.errors.OpError) as e:
        raise UserError(f"{state_file} is corrupt ({_first_line(e)}): it should name "
                        "the latest checkpoint") from e
    finally:
        logger.setLevel(level)
    if state is None or not state.model_checkpoint_path:
        raise UserError(f"{state_file} is corrupt: it should name the latest checkpoint")
    path = state.model_checkpoint_path  # Made absolute (joined to checkpoint_dir) if relative.
    _check_files(path)
    return path


def holds_checkpoint(folder):
    """Whether `folder` has a `checkpoint` file (intact or not): a run's folder."""
    return files.isfile(os.path.join(folder, "checkpoint"))


def saved_objects(path):
    """The names of the objects (generator, optimizers...) the checkpoint `path` holds."""
    try:
        # Not tf.train.list_variables: it first asks whether `path` is a folder,
        # which ram:// (the tests' stand-in for gs://) answers yes for any prefix.
        names = tf.compat.v1.train.NewCheckpointReader(path).get_variable_to_dtype_map()
    except (tf.errors.OpError, ValueError) as e:
        raise UserError(f"{path}.index is corrupt or incomplete ({_first_line(e)}): "
                        f"the checkpoint {path} cannot be restored") from e
    return {name.split("/")[0] for name in names}


def _check_files(path):
    """UserError unless the index and every data shard of checkpoint `path` exist."""
    index = path + ".index"
    if not files.isfile(index):
        raise UserError(f"{index} is missing: the checkpoint {path} is incomplete")
    shards = files.matching(path, ".data-*-of-*")
    if not shards:
        raise UserError(f"{path}.data-00000-of-00001 is missing: the checkpoint {path} is incomplete")
    expected = int(shards[0].rsplit("-of-", 1)[1])
    if len(shards) != expected:
        raise UserError(f"the checkpoint {path} is incomplete: {len(shards)} of its "
                        f"{expected} data files ({path}.data-*) are there")


def _data_files(path):
    shards = files.matching(path, ".data-*-of-*")
    return shards[0] if len(shards) == 1 else f"{path}.data-*"


def _first_line(error):
    text = getattr(error, "message", None) or str(error) or type(error).__name__
    return " ".join(text.split())[:300]


@contextlib.contextmanager
def run_folder(output_dir, resume_dir=None, writes=True):
    """The block of a training run that writes `output_dir`: holds the
    folder's lock (one run per folder; a second one stops at once naming the
    first's process) and refuses a folder holding another run's checkpoint
    unless the run resumes there (`resume_dir`, its --checkpoint).
    writes=False (the non-chief workers of a cluster): no lock, no check.
    """
    if not writes:
        yield
        return
    with locks.FolderLock(output_dir, "--output_dir", "another training run"):
        resuming_here = resume_dir and files.abspath(resume_dir) == files.abspath(output_dir)
        if not resuming_here and holds_checkpoint(output_dir):
            raise UserError(f"--output_dir {output_dir} already holds a checkpoint: resume it "
                            f"with --checkpoint {output_dir}, or choose another --output_dir")
        yield


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
