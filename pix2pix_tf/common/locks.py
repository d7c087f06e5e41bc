"""One process at a time per folder: exclusive OS file locks that die with their process.

The locks are fcntl.flock. The kernel releases one when its process ends,
however it ends (a crash or SIGKILL included), so a lock is never left stale.
A training run locks a small file in its folder (FolderLock), which stays
behind holding the pid of the last process that took it (deleting it would
let two processes lock two different files of the same name); temporary
folders are locked themselves (directory_lock), leaving no file.

Only local folders are locked. A folder on a file system with a scheme
(gs://bucket/run) is shared by every machine that reaches it, and neither
flock, which one kernel keeps, nor tf.io.gfile, which has no lock or
create-if-absent call, can make a lock there that dies with its process.
FolderLock only checks that such a folder can be written: keeping one run
per remote folder is the user's (or the scheduler's) job, and a run still
refuses a folder that holds another run's checkpoint (checkpoints.run_folder).
"""

import contextlib
import fcntl
import os
import socket

from pix2pix_tf.common import files
from pix2pix_tf.common.errors import UserError

LOCK_FILE = ".lock"
REMOTE = "remote"  # FolderLock._fd of a folder with a scheme: taken, but not locked.


class FolderLock:
    """An exclusive lock on `folder` (created if missing) through its lock file, held from
    `acquire()` (or entering the `with` block) until `release()`, the end of
    the block, or the end of the process. A block that fails leaves no folder
    behind if the lock created it and nothing else was written in it.

        with FolderLock(output_dir, "--output_dir", "a training run"):
            ...  # No other process holds output_dir.
    """

    def __init__(self, folder, flag="--output_dir", user="a training run"):
        self.folder = folder
        self.path = os.path.join(folder, LOCK_FILE)
        self.flag = flag
        self.user = user
        self._fd = None
        self._created = False

    def acquire(self):
        """Takes the lock, or raises UserError naming the process that holds it
        (or saying why the folder cannot be used)."""
        if not files.is_local(self.folder):  # Not lockable: see the module doc.
            self._created = not files.exists(self.folder)
            files.check_writable_dir(self.folder, self.flag)
            self._fd = REMOTE
            return self
        self._created = not os.path.lexists(self.folder)
        files.check_writable_dir(self.folder, self.flag)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as e:
            raise UserError(f"cannot write to {self.flag} {files.printable(self.folder)}: "
                            f"{e.strerror}") from e
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise UserError(f"{self.flag} {files.printable(self.folder)} is in use by {self.user}"
                            f"{' (' + holder + ')' if holder else ''}: wait for it to end or "
                            f"choose another {self.flag}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"process {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self):
        if self._fd is REMOTE:
            self._fd = None
        elif self._fd is not None:
            os.close(self._fd)  # Closing the last descriptor releases the flock.
            self._fd = None

    @property
    def held(self):
        return self._fd is not None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, exc_type, *exc):
        if exc_type is not None and self._created:
            if self._fd is REMOTE:
                if not files.listdir(self.folder):  # Made here, nothing written since.
                    files.rmtree(self.folder)
            elif os.listdir(self.folder) == [LOCK_FILE]:  # Local: a folder we flock.
                os.remove(self.path)  # Still held: no other process can be using the folder.
                os.rmdir(self.folder)
        self.release()
        return False


@contextlib.contextmanager
def directory_lock(path, wait=True):
    """Holds an exclusive flock on the local folder `path` itself during the block
    (the dataset download's folders, always local: the tools do not use TensorFlow).

    Yields True once it is held; with wait=False, yields False at once if
    another process holds it (the block then must not touch the folder).
    """
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def _read_holder(fd):
    """What the holder wrote in the lock file ("process PID on HOST"), or ''."""
    try:
        return os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        return ""
