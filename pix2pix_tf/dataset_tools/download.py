"""Downloading and safely extracting the pix2pix authors' datasets."""

import contextlib
import http.client
import os
import posixpath
import re
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request

from pix2pix_tf.common import locks, reporting
from pix2pix_tf.common.errors import Interrupted, UserError, interrupting_signals

DATASETS = ("facades", "cityscapes", "maps", "edges2shoes", "edges2handbags", "night2day")
DEFAULT_URL_BASE = "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/"
URL_ENV = "PIX2PIX_DATASETS_URL"
TIMEOUT_SECONDS = 15  # Connect and per-read; a dead network fails fast instead of hanging.
CHUNK_BYTES = 1 << 16
# The staging folder of a download in progress, beside its result: .NAME-download-XXXXXXXX.
STAGING_PREFIX = ".{}-download-"
STAGING_PATTERN = re.compile(r"^\.[\w.-]+-download-\w+$")


def url_base(override=None, environ=os.environ):
    """--url_base, else $PIX2PIX_DATASETS_URL, else the authors' server; ends with '/'."""
    base = override or environ.get(URL_ENV) or DEFAULT_URL_BASE
    return base if base.endswith("/") else base + "/"


def dataset_url(name, base):
    return f"{base}{name}.tar.gz"


def offline_advice(name, url):
    return (f"download {url} by other means and extract it here with `tar xzf {name}.tar.gz`, "
            f"point --url_base or ${URL_ENV} at a mirror, or generate an offline dataset with "
            "`python tools/download-dataset.py synthetic_facades`")


def fetch(url, destination, stream=None, timeout=TIMEOUT_SECONDS):
    """Streams url into the open binary file `destination` with a progress bar."""
    try:
        response = urllib.request.urlopen(url, timeout=timeout)  # An http(s) URL, not a path.
    except urllib.error.HTTPError as e:
        raise UserError(f"{url} answered HTTP {e.code} {e.reason}") from e
    except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
        reason = getattr(e, "reason", e)
        raise UserError(f"cannot reach {url} ({reason}); you may be offline") from e
    with response:
        total = int(response.headers.get("Content-Length") or 0)
        reporter = reporting.Reporter(total, reporting.bytes_line, stream=stream)
        done = 0
        try:
            while True:
                chunk = response.read(CHUNK_BYTES)
                if not chunk:
                    break
                destination.write(chunk)
                done += len(chunk)
                reporter.update(done)
        except (OSError, http.client.HTTPException) as e:  # Includes socket.timeout.
            raise UserError(f"download of {url} broke off after {done} bytes ({e})") from e
        reporter.finish(done)
    if total and done != total:
        raise UserError(f"download of {url} is truncated: got {done} of {total} bytes")
    return done


def unsafe_reason(member, root="."):
    """Why extracting this tar member could write outside `root`, or None if it is safe."""
    name = member.name
    if name.startswith(("/", "\\")) or os.path.isabs(name) or (len(name) > 1 and name[1] == ":"):
        return "has an absolute path"
    parts = name.replace("\\", "/").split("/")
    if ".." in parts:
        return "has a '..' component"
    if member.isdev():
        return "is a device file or FIFO"
    if member.issym():
        if posixpath.isabs(member.linkname):
            return f"links to the absolute path {member.linkname}"
        # Symlinks resolve relative to the folder that holds them.
        target = posixpath.normpath(posixpath.join(posixpath.dirname(name), member.linkname))
        if target == ".." or target.startswith("../"):
            return f"links outside the dataset ({member.linkname})"
    if member.islnk():
        # Hard links name a path relative to the archive root.
        target = posixpath.normpath(member.linkname)
        if posixpath.isabs(member.linkname) or target == ".." or target.startswith("../"):
            return f"links outside the dataset ({member.linkname})"
    if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
        return "is not a regular file, folder or link"
    return None


def check_members(members, archive_name):
    """UserError for the first unsafe member; nothing is extracted before this passes."""
    for member in members:
        reason = unsafe_reason(member)
        if reason:
            raise UserError(f"refusing to extract {archive_name}: member {member.name!r} {reason}")


def extract(archive_path, target, archive_name):
    """Extracts a .tar.gz into the (empty) folder `target` after checking every member."""
    try:
        with tarfile.open(archive_path, "r:gz") as tar:
            members = tar.getmembers()
            check_members(members, archive_name)
            # The "data" filter is a second line of defence on Pythons that have it.
            kwargs = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tar.extractall(target, members=members, **kwargs)
    except (tarfile.TarError, EOFError, OSError, ValueError) as e:
        if isinstance(e, UserError):
            raise
        raise UserError(f"{archive_name} is corrupt or truncated ({type(e).__name__}: {e})") from e


def dataset_root(extracted, name):
    """The folder holding the dataset: `extracted/name` if the archive has one, else all of it."""
    inner = os.path.join(extracted, name)
    entries = [e for e in os.listdir(extracted)  # Local: tools do not use TF.
               if not e.startswith(".")]
    if entries == [name] and os.path.isdir(inner):
        return inner
    return extracted


def remove_stale_staging(output_dir, log=print):
    """Removes the staging folders of downloads that were killed (SIGKILL, a
    power cut): those no live process holds the lock of. Returns their paths."""
    removed = []
    for entry in sorted(os.listdir(output_dir)):  # Local: tools do not use TF.
        path = os.path.join(output_dir, entry)
        if not STAGING_PATTERN.match(entry) or not os.path.isdir(path):
            continue
        with locks.directory_lock(path, wait=False) as free:
            if free:  # Removed while holding its lock: no download can be using it.
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
                log(f"removed {path}, left by an interrupted download")
    return removed


def download(name, output_dir=".", base=None, stream=None, log=print):
    """Downloads NAME.tar.gz and leaves output_dir/NAME complete, or nothing at all.

    The archive goes to a staging folder beside the result, removed however
    the download ends: SIGINT and SIGTERM raise Interrupted after removing it;
    one left by a killed process is removed by the next download into output_dir.
    """
    if name not in DATASETS:
        raise UserError(f"unknown dataset {name!r}; choose one of "
                        f"{', '.join(DATASETS + ('synthetic_facades',))}")
    final = os.path.join(output_dir, name)
    if os.path.exists(final):  # Local: tools do not use TF.
        log(f"{final} already exists; nothing to do (delete it to download again)")
        return final
    try:
        os.makedirs(output_dir, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create --output_dir {output_dir}: {e.strerror}") from e
    url = dataset_url(name, url_base(base))
    with interrupting_signals(), contextlib.ExitStack() as staging:
        # Under the folder's lock, so that no other download removes a staging
        # folder between its creation and its lock.
        with locks.directory_lock(output_dir):
            remove_stale_staging(output_dir, log)
            # Beside the result, so that the final rename stays on one disk.
            work = tempfile.mkdtemp(prefix=STAGING_PREFIX.format(name), dir=output_dir)
            staging.enter_context(locks.directory_lock(work))
            staging.callback(shutil.rmtree, work, ignore_errors=True)
        try:
            log(f"downloading {url}")
            archive = os.path.join(work, f"{name}.tar.gz")
            with open(archive, "wb") as f:  # Local: tools do not use TF.
                try:
                    fetch(url, f, stream=stream)
                except UserError as e:
                    raise UserError(f"{e}; {offline_advice(name, url)}") from e
            extracted = os.path.join(work, "extracted")
            os.makedirs(extracted)
            log(f"extracting into {final}")
            extract(archive, extracted, f"{name}.tar.gz")
            os.replace(dataset_root(extracted, name), final)
        except Interrupted as e:
            log(f"download of {name} stopped by {e}; removing its partial files")
            raise
    return final
