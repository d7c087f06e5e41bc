"""Files and folders on the local disk or on any file system TensorFlow
knows (gs://, hdfs://, s3:// through tensorflow-io, ram://), and writes that
a crash never leaves half done.

A path with a scheme (`gs://bucket/run`) goes through tf.io.gfile. A local
path goes through os, which is what tf.io.gfile's local file system calls
too, plus what tf.io.gfile lacks there: names that are not UTF-8 (os.listdir
gives them as surrogate escapes, which `printable` shows; tf.io.gfile fails
on them), errno messages for the user's errors, file modes that follow the
umask. The helpers that read or write raise OSError (FileNotFoundError...)
on both, with TensorFlow's message as its strerror, so callers handle one
kind; exists, isdir and isfile answer False for a missing path, and raise a
UserError saying why when a file system cannot answer (no network, no
credentials) rather than answer "no".

TensorFlow is imported only when a path has a scheme: the dataset tools,
which never import it, stay quick to start.

os.path's string operations (join, basename, splitext, dirname) work on
"gs://bucket/a/b" as they do on local paths; abspath, normpath and realpath
do not (they squash "//"): use `abspath`, `normpath`, `realpath` and
`relpath` here.
"""

import errno
import glob as glob_lib
import io
import json
import os
import shutil
import tempfile
import uuid

from pix2pix_tf.common.errors import UserError

SCHEME = "://"


def is_local(path):
    """Whether `path` is on the local disk (no scheme such as gs://)."""
    return SCHEME not in os.fspath(path)


def _gfile():
    import tensorflow as tf  # Only for paths with a scheme: see the module doc.
    return tf.io.gfile


def _gfile_call(fn, path, *args, **kwargs):
    """fn(*args) of tf.io.gfile, its errors raised as OSError about `path`."""
    import tensorflow as tf
    try:
        return fn(*args, **kwargs)
    except tf.errors.OpError as e:
        kind = {tf.errors.NotFoundError: (FileNotFoundError, errno.ENOENT),
                tf.errors.AlreadyExistsError: (FileExistsError, errno.EEXIST),
                tf.errors.PermissionDeniedError: (PermissionError, errno.EACCES),
                tf.errors.UnimplementedError: (OSError, errno.ENOSYS)}.get(type(e), (OSError, None))
        raise kind[0](kind[1], e.message or type(e).__name__, path) from e


# ---------------------------------------------------------------- questions and listings

def _exists_remote(path):
    """tf.io.gfile.exists, except that a file system that cannot answer (no
    network, no credentials, no such bucket) is a UserError saying why,
    rather than a "no" (tf.io.gfile.isdir says False then)."""
    import tensorflow as tf
    try:
        return _gfile().exists(path)
    except tf.errors.NotFoundError:
        return False
    except tf.errors.OpError as e:
        raise UserError(f"cannot reach {path}: {' '.join((e.message or type(e).__name__).split())}"
                        ) from e


def exists(path):
    if is_local(path):
        return os.path.exists(path)  # Local: os keeps non-UTF-8 names (module doc).
    return _exists_remote(path)


def isdir(path):
    if is_local(path):
        return os.path.isdir(path)
    return _exists_remote(path) and _gfile().isdir(path)


def isfile(path):
    if is_local(path):
        return os.path.isfile(path)
    return _exists_remote(path) and not _gfile().isdir(path)


def listdir(path):
    """The names in the folder `path` (without the trailing "/" object stores
    give sub-folders); OSError if it is not a folder."""
    if is_local(path):
        return os.listdir(path)  # Local: os keeps non-UTF-8 names (module doc).
    return [name.rstrip("/") for name in _gfile_call(_gfile().listdir, path, path)]


def matching(prefix, pattern):
    """The paths that are `prefix` (taken literally, even its * or [) followed
    by the glob `pattern`, e.g. matching(ckpt, ".data-*-of-*")."""
    if is_local(prefix):
        return glob_lib.glob(glob_lib.escape(prefix) + pattern)
    return _gfile_call(_gfile().glob, prefix, prefix + pattern)


def abspath(path):
    """os.path.abspath for a local path; a path with a scheme is absolute already."""
    return os.path.abspath(path) if is_local(path) else os.fspath(path).rstrip("/")


def normpath(path):
    """os.path.normpath for a local path; a path with a scheme without its trailing "/"."""
    return os.path.normpath(path) if is_local(path) else os.fspath(path).rstrip("/")


def realpath(path):
    """os.path.realpath for a local path (links resolved); a path with a
    scheme as it is (those file systems have no links)."""
    return os.path.realpath(path) if is_local(path) else os.fspath(path).rstrip("/")


def relpath(path, start):
    """`path` relative to the folder `start` when both are on the same file
    system (the local disk, or the same gs://bucket...), else `path` itself."""
    def root(p):
        return "" if is_local(p) else "/".join(os.fspath(p).split("/")[:3])

    if root(path) != root(start):
        return path
    # os.path.relpath squashes "//" in both paths alike, so the result holds.
    return os.path.relpath(abspath(path), abspath(start))


# ---------------------------------------------------------------- reading

def read_bytes(path):
    if is_local(path):
        with open(path, "rb") as f:  # Local: os keeps non-UTF-8 names (module doc).
            return f.read()

    def read():
        with _gfile().GFile(path, "rb") as f:
            return f.read()

    return _gfile_call(read, path)


def read_text(path):
    return read_bytes(path).decode("utf-8")


def readable(path):
    """`path` as PIL, imageio and numpy take a file: the path itself when it
    is local (they read what they need), else an in-memory file of its bytes
    (they cannot open gs:// names)."""
    return path if is_local(path) else io.BytesIO(read_bytes(path))


# ---------------------------------------------------------------- changing

def makedirs(path):
    """The folder `path` and its parents, if missing."""
    if is_local(path):
        os.makedirs(path, exist_ok=True)
    else:
        _gfile_call(_gfile().makedirs, path, path)


def remove(path):
    if is_local(path):
        os.remove(path)
    else:
        _gfile_call(_gfile().remove, path, path)


def rmtree(path):
    """Removes the folder `path` and all it holds; errors are ignored (like
    shutil.rmtree(ignore_errors=True)): what is left is only clutter."""
    if is_local(path):
        shutil.rmtree(path, ignore_errors=True)
        return
    try:
        _gfile_call(_gfile().rmtree, path, path)
    except OSError:
        pass


def replace(source, target):
    """Moves the file `source` to `target`, replacing it.

    Local: os.replace, atomic: a reader sees the old file or the new one.
    With a scheme: tf.io.gfile.rename(overwrite=True), or a copy then a delete
    where the file system has no rename. Object stores (gs://, s3://) show an
    object only once it is whole, so a reader sees the old file or the new
    one there too; other file systems give what their rename gives.
    """
    if is_local(source):
        os.replace(source, target)
        return
    gfile = _gfile()
    try:
        _gfile_call(gfile.rename, source, source, target, overwrite=True)
    except OSError as e:
        if e.errno != errno.ENOSYS:
            raise
        _gfile_call(gfile.copy, source, source, target, overwrite=True)
        _gfile_call(gfile.remove, source, source)


def copy_tree(source, target, last=None):
    """Copies the folder `source` into `target` (made if missing), each file
    under the same relative name; the file named `last` (e.g. saved_model.pb)
    is copied after all the others, so a reader that waits for it finds the
    others complete."""
    gfile = None if is_local(source) and is_local(target) else _gfile()
    later = []
    for folder, _, names in os.walk(source) if gfile is None else gfile.walk(source):
        relative = os.path.relpath(folder, source) if is_local(source) else folder[len(source):]
        destination = os.path.join(target, relative.strip("/")) if relative != "." else target
        makedirs(destination)
        for name in names:
            pair = (os.path.join(folder, name), os.path.join(destination, name))
            if name == last:
                later.append(pair)
            else:
                _copy_file(*pair)
    for pair in later:
        _copy_file(*pair)


def _copy_file(source, target):
    if is_local(source) and is_local(target):
        shutil.copyfile(source, target)
    else:
        _gfile_call(_gfile().copy, source, source, target, overwrite=True)


def write_atomic(path, data):
    """Writes bytes or text to `path` through a temporary file beside it and
    `replace` (see there which guarantee holds where): a crash leaves the
    old file or the new one, never half of one. On a file system with a
    scheme a crash can leave the temporary .tmp-* file behind."""
    if not is_local(path):
        _write_atomic_gfile(path, data)
        return
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    mode = "wb" if isinstance(data, (bytes, bytearray)) else "w"
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes 0600; give the usual file mode.
        with os.fdopen(fd, mode) as f:  # Local: mkstemp's file.
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):  # Local by construction: mkstemp's file.
            os.remove(tmp)
        raise


def _write_atomic_gfile(path, data):
    gfile = _gfile()
    directory = os.path.dirname(path)
    makedirs(directory)
    tmp = os.path.join(directory, f".tmp-{uuid.uuid4().hex[:12]}-{os.path.basename(path)}")

    try:
        _write_gfile(tmp, data if isinstance(data, (bytes, bytearray)) else data.encode("utf-8"))
        replace(tmp, path)
    except BaseException:
        try:
            if gfile.exists(tmp):
                gfile.remove(tmp)
        except Exception:  # Cleaning up only: the first error is the one to report.
            pass
        raise


def _write_gfile(path, data):
    def write():
        with _gfile().GFile(path, "wb") as f:
            f.write(data)  # Even b"": GFile makes the file at its first write.

    _gfile_call(write, path)


def write_json(path, value):
    write_atomic(path, json.dumps(value, sort_keys=True, indent=4) + "\n")


def check_writable_dir(path, flag="--output_dir"):
    """Makes the folder `path` if needed and checks that a file can be written
    in it: a UserError naming `flag` otherwise (a file in the way, no
    permission, a read-only disk, a bucket that does not exist), before any
    work is done."""
    if not path:
        raise UserError(f"{flag} is required")
    try:
        if exists(path) and not isdir(path):
            raise UserError(f"{flag} {printable(path)} is a file, not a folder")
        makedirs(path)
        if is_local(path):
            with tempfile.TemporaryFile(dir=path, prefix=".write-test-"):
                pass
        else:
            probe = os.path.join(path, f".write-test-{uuid.uuid4().hex[:12]}")
            _write_gfile(probe, b"")
            remove(probe)
    except OSError as e:
        raise UserError(f"cannot write to {flag} {printable(path)}: "
                        f"{e.strerror or type(e).__name__}") from e


def printable(path):
    """`path` for a message: as it is if its name is valid UTF-8, else its
    bytes (b'caf\\xe9.png'), which can be printed and say what is wrong."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:  # os.listdir's surrogate escapes of undecodable bytes.
        return repr(os.fsencode(path))


def current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def staging_dir(directory, prefix):
    """A new empty folder in the local folder `directory` (None: the system's
    temporary folder), to fill and then rename or copy into place, with the
    usual folder mode (mkdtemp's are private)."""
    path = tempfile.mkdtemp(prefix=prefix, dir=directory)
    os.chmod(path, 0o777 & ~current_umask())
    return path
