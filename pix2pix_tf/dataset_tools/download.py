"""Downloading and safely extracting the pix2pix authors' datasets."""

import contextlib
import gzip
import http.client
import io
import os
import re
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zlib
from typing import Any, Callable, Optional, TextIO

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
# What an archive may expand to, as a multiple of its own size. JPEG and PNG are
# compressed already, so a .tar.gz of them is about their size (the reference's
# datasets are JPEGs); 20x still admits datasets of raw images (BMP, PPM, TIFF
# gzip 2-10x), while a bomb of zeros expands about 1000x.
MAX_EXPANSION = 20
# Free space an extraction leaves on the destination's disk: a full disk would
# break whatever else writes there (a training run's next checkpoint is hundreds
# of MB with its optimizer slots), and it absorbs per-file block rounding.
FREE_SPACE_MARGIN_BYTES = 1 << 30


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


def unsafe_reason(member: tarfile.TarInfo) -> Optional[str]:
    """Why extracting this tar member is refused, or None if it is a safe file or folder."""
    name = member.name
    if name.startswith(("/", "\\")) or os.path.isabs(name) or (len(name) > 1 and name[1] == ":"):
        return "has an absolute path"
    parts = name.replace("\\", "/").split("/")
    if ".." in parts:
        return "has a '..' component"
    if member.issym() or member.islnk():
        # All links, not only those whose own target leads out: the reference's
        # datasets are folders of JPEG files without links, and a link could lead
        # outside in a chain (a -> .., b -> a/.., then b/x) that a check of each
        # target alone misses on Pythons without the data filter, or, as a hard
        # link the disk cannot make, copy its target's data again, uncounted.
        return f"is a link (to {member.linkname}); dataset archives hold only files and folders"
    if member.isdev():
        return "is a device file or FIFO"
    if member.issparse():
        # Its holes are written as zeros on disks without sparse files: more
        # than the archive holds, past the count of the expansion limit.
        return "is a sparse file"
    if not (member.isfile() or member.isdir()):
        return "is not a regular file or folder"
    return None


def check_members(members: list, archive_name: str) -> None:
    """UserError for the first unsafe member; nothing is extracted before this passes."""
    for member in members:
        reason = unsafe_reason(member)
        if reason:
            raise UserError(f"refusing to extract {archive_name}: member {member.name!r} {reason}")


class BoundedStream:
    """A seekable binary stream that raises UserError(refusal) once read or
    sought past `limit` bytes.

    Around an archive's decompressed stream, it counts the bytes decompression
    really produces, whatever the tar headers or the gzip trailer (its size,
    modulo 4 GiB, can be forged) declare. Extraction writes no more than that
    stream holds, as links and sparse members are refused.
    """

    def __init__(self, stream, limit: int, refusal: str):
        self._stream = stream
        self.limit = limit
        self._refusal = refusal

    def read(self, size: int = -1) -> bytes:
        room = self.limit - self._stream.tell()
        if size is None or size < 0 or size > room:
            size = room + 1  # One byte past the limit tells; a huge read would fill memory.
        data = self._stream.read(size)
        self._check()
        return data

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET and offset > self.limit:
            # A gzip stream seeks forward by decompressing: no further than the limit.
            self._stream.seek(self.limit + 1)
            self._check()
        position = self._stream.seek(offset, whence)
        self._check()
        return position

    def tell(self) -> int:
        return self._stream.tell()

    def _check(self):
        if self._stream.tell() > self.limit:
            raise UserError(self._refusal)


def expansion_limit(archive_path: str, target: str, archive_name: str,
                    disk_usage: Callable[[str], Any] = shutil.disk_usage) -> tuple:
    """(bytes, refusal): what the archive may expand to in `target`, and the
    UserError message beyond it. disk_usage(path) has a `.free` as shutil's."""
    by_ratio = MAX_EXPANSION * os.path.getsize(archive_path)
    free = disk_usage(target).free
    by_space = max(0, free - FREE_SPACE_MARGIN_BYTES)
    if by_ratio <= by_space:
        limit, why = by_ratio, f"{MAX_EXPANSION} times the archive's size"
    else:
        limit, why = by_space, (f"the {reporting.format_bytes(free)} free on the destination's disk "
                                f"less a {reporting.format_bytes(FREE_SPACE_MARGIN_BYTES)} margin")
    return limit, (f"refusing to extract {archive_name}: it expands past "
                   f"{reporting.format_bytes(limit)}, {why}")


def extract(archive_path: str, target: str, archive_name: str,
            disk_usage: Callable[[str], Any] = shutil.disk_usage) -> None:
    """Extracts a .tar.gz into the (empty) folder `target` after checking every member.

    Raises:
        UserError: a member is unsafe, the archive is corrupt, or it expands past
            `expansion_limit` (then it stops at once, usually while listing the
            members, before any file is written).
    """
    limit, refusal = expansion_limit(archive_path, target, archive_name, disk_usage)
    try:
        with gzip.open(archive_path, "rb") as unzipped, \
                tarfile.open(fileobj=BoundedStream(unzipped, limit, refusal), mode="r:") as tar:
            members = tar.getmembers()
            check_members(members, archive_name)
            # The "data" filter is a second line of defence on Pythons that have it.
            kwargs = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tar.extractall(target, members=members, **kwargs)
    except (tarfile.TarError, EOFError, OSError, ValueError, zlib.error) as e:
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


def download(name: str, output_dir: str = ".", base: Optional[str] = None,
             stream: Optional[TextIO] = None, log: Callable[[str], Any] = print,
             disk_usage: Callable[[str], Any] = shutil.disk_usage) -> str:
    """Downloads NAME.tar.gz and leaves output_dir/NAME complete, or nothing at all.

    The archive goes to a staging folder beside the result, removed however
    the download ends: SIGINT and SIGTERM raise Interrupted after removing it;
    one left by a killed process is removed by the next download into output_dir.
    Its extraction is bounded by `expansion_limit` (disk_usage: as shutil's).

    Returns:
        The path of the dataset folder, output_dir/NAME.
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
            extract(archive, extracted, f"{name}.tar.gz", disk_usage)
            os.replace(dataset_root(extracted, name), final)
        except Interrupted as e:
            log(f"download of {name} stopped by {e}; removing its partial files")
            raise
    return final
