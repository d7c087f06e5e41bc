"""Writing files so that a crash never leaves a half-written one behind."""

import json
import os
import tempfile


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
