"""Writing files so that a crash never leaves a half-written one behind."""

import json
import os
import tempfile

from pix2pix_tf.common.errors import UserError


def write_atomic(path, data):
    """Writes bytes or text to `path` through a temporary file and a rename."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    mode = "wb" if isinstance(data, (bytes, bytearray)) else "w"
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes 0600; give the usual file mode.
        with os.fdopen(fd, mode) as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def check_writable_dir(path, flag="--output_dir"):
    """Makes the folder `path` if needed and checks that a file can be written
    in it: a UserError naming `flag` otherwise (a file in the way, no
    permission, a read-only disk), before any work is done."""
    if not path:
        raise UserError(f"{flag} is required")
    if os.path.exists(path) and not os.path.isdir(path):
        raise UserError(f"{flag} {printable(path)} is a file, not a folder")
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.TemporaryFile(dir=path, prefix=".write-test-"):
            pass
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
    """A new empty folder in `directory`, to fill and then rename into place,
    with the usual folder mode (mkdtemp's are private)."""
    path = tempfile.mkdtemp(prefix=prefix, dir=directory)
    os.chmod(path, 0o777 & ~current_umask())
    return path


def write_json(path, value):
    write_atomic(path, json.dumps(value, sort_keys=True, indent=4) + "\n")
