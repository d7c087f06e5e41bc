import collections
import functools
import glob
import gzip
import http.server
import io
import os
import signal
import struct
import subprocess
import sys
import tarfile
import threading
import time

import tensorflow as tf

from pix2pix_tf.common.errors import UserError
from pix2pix_tf.dataset_tools import download
from tests.support import dataset_tools as testing
from tests.support import paths


def quiet(*_):
    pass


DiskUsage = collections.namedtuple("DiskUsage", "total used free")


def tar_gz(entries):
    """bytes of a .tar.gz; entries are TarInfo objects with optional data."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def file_entry(name, data=b"data"):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def link_entry(name, target, kind=tarfile.SYMTYPE):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, None


class Handler(http.server.BaseHTTPRequestHandler):
    """Serves `routes`: path -> (bytes sent, Content-Length announced, stall).
    With stall, the connection stays open after the bytes (a stalled
    transfer) until the server's `release` event is set."""

    def do_GET(self):
        route = self.server.routes.get(self.path)
        if route is None:
            self.send_error(404)
            return
        body, length, stall = route
        self.send_response(200)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(body)
        if stall:
            self.wfile.flush()
            self.server.release.wait(60)

    def log_message(self, *args):
        pass


class DownloadTest(tf.test.TestCase):

    def setUp(self):
        super().setUp()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.routes = {}
        self.server.release = threading.Event()
        self.addCleanup(self.server.release.set)
        thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                  daemon=True)
        thread.start()
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}/datasets/"
        self.out = testing.temp_dir(self)
        self.download = functools.partial(download.download, output_dir=self.out,
                                          base=self.base, stream=io.StringIO(), log=quiet)

    def serve(self, name, body, length=None, stall=False):
        self.server.routes[f"/datasets/{name}.tar.gz"] = (
            body, len(body) if length is None else length, stall)

    def assert_nothing_left(self):
        self.assertEqual(os.listdir(self.out), [])

    def test_success(self):
        self.serve("facades", tar_gz([file_entry("facades/train/1.jpg", b"one"),
                                      file_entry("facades/val/1.jpg", b"two")]))
        path = self.download("facades")
        self.assertEqual(path, os.path.join(self.out, "facades"))
        self.assertEqual(sorted(os.listdir(self.out)), ["facades"])  # No temp files left.
        with open(os.path.join(path, "train", "1.jpg"), "rb") as f:
            self.assertEqual(f.read(), b"one")
        messages = []
        download.download("facades", self.out, self.base, log=messages.append)
        self.assertIn("already exists", messages[0])

    def test_archive_without_top_folder(self):
        self.serve("maps", tar_gz([file_entry("train/1.jpg")]))
        path = self.download("maps")
        self.assertTrue(os.path.isfile(os.path.join(path, "train", "1.jpg")))

    def test_404(self):
        with self.assertRaisesRegex(UserError, "HTTP 404.*synthetic_facades"):
            self.download("cityscapes")
        self.assert_nothing_left()

    def test_truncated_transfer(self):
        body = tar_gz([file_entry("facades/train/1.jpg", os.urandom(5000))])
        self.serve("facades", body[:len(body) // 2], length=len(body))
        with self.assertRaisesRegex(UserError, "truncated|broke off"):
            self.download("facades")
        self.assert_nothing_left()

    def test_truncated_archive(self):
        body = tar_gz([file_entry("facades/train/1.jpg", os.urandom(5000))])
        self.serve("facades", body[:len(body) // 2])  # Served whole, but the file is cut.
        with self.assertRaisesRegex(UserError, "corrupt or truncated"):
            self.download("facades")
        self.assert_nothing_left()

    def test_malicious_archives_are_refused(self):
        outside = os.path.join(os.path.dirname(self.out), "evil.txt")
        cases = {
            "absolute path": [file_entry(outside)],
            "'..'": [file_entry("facades/../../evil.txt")],
            "links outside": [link_entry("facades/link", "../../etc")],
            "absolute path /etc": [link_entry("facades/link", "/etc/passwd")],
            "links outside (../": [link_entry("facades/hard", "../evil", tarfile.LNKTYPE)],
            "symlink inside": [link_entry("facades/latest", "ok.jpg")],
            "hard link inside": [link_entry("facades/x", "facades/ok.jpg", tarfile.LNKTYPE)],
            "device": [link_entry("facades/dev", "", tarfile.CHRTYPE)],
        }
        for expected, entries in cases.items():
            with self.subTest(expected):
                self.serve("facades", tar_gz([file_entry("facades/ok.jpg")] + entries))
                with self.assertRaisesRegex(UserError, "refusing to extract"):
                    self.download("facades")
                self.assert_nothing_left()
                self.assertFalse(os.path.exists(outside))

    def test_a_link_chain_is_refused_by_the_projects_own_check(self):
        # Each link's own target stays inside, but facades/l3 is facades/../..: only
        # tarfile's data filter stopped it before, and not every Python has one.
        chain = [link_entry("facades/l2", "..")[0], link_entry("facades/l3", "l2/..")[0],
                 file_entry("facades/l3/escaped.txt")[0]]
        with self.assertRaisesRegex(UserError, "refusing to extract facades.tar.gz: "
                                               "member 'facades/l2' is a link"):
            download.check_members(chain, "facades.tar.gz")
        for member in chain[:2]:
            self.assertRegex(download.unsafe_reason(member), "is a link")

    def test_an_archive_expanding_past_the_ratio_is_one_error_line_and_leaves_nothing(self):
        bomb = tar_gz([file_entry("facades/train/1.jpg", b"one"),
                       file_entry("facades/train/2.jpg", bytes(4 << 20))])
        self.assertGreater((4 << 20) / len(bomb), download.MAX_EXPANSION)
        self.serve("facades", bomb)
        process = subprocess.run(
            [sys.executable, os.path.join(paths.TOOLS_DIR, "download-dataset.py"), "facades",
             "--output_dir", self.out, "--url_base", self.base],
            capture_output=True, text=True, timeout=120)
        self.assertEqual(process.returncode, 2, process.stderr)
        lines = process.stderr.splitlines()  # The progress bar's, then the error.
        self.assertEqual([line for line in lines if not line.startswith("[#")], lines[-1:])
        self.assertRegex(lines[-1], r"^error: refusing to extract facades.tar.gz: it expands past "
                                    rf"[\d.]+KB, {download.MAX_EXPANSION} times the archive's size$")
        self.assert_nothing_left()

    def test_the_count_is_of_the_bytes_decompressed_not_of_the_gzip_trailer(self):
        bomb = bytearray(tar_gz([file_entry("facades/1.jpg", bytes(4 << 20))]))
        bomb[-4:] = struct.pack("<I", 1000)  # The gzip trailer's size, forged.
        self.serve("facades", bytes(bomb))
        with self.assertRaisesRegex(UserError, "it expands past"):
            self.download("facades")
        self.assert_nothing_left()

    def test_extraction_stops_at_the_free_space_less_the_margin(self):
        data = os.urandom(200_000)  # Incompressible: far under the ratio.
        self.serve("facades", tar_gz([file_entry("facades/train/1.jpg", data)]))
        asked = []

        def disk_usage(free):
            def usage(path):
                asked.append(path)
                return DiskUsage(10 * free, 9 * free, free)
            return usage

        margin = download.FREE_SPACE_MARGIN_BYTES
        for free in (margin + 50_000, margin // 2):
            with self.subTest(free=free):
                with self.assertRaisesRegex(UserError, "^refusing to extract facades.tar.gz: it "
                                                       "expands past [\\d.]+[KMG]?B, the [\\d.]+[KMG]?B "
                                                       "free on the destination's disk less a "
                                                       "1.0GB margin$"):
                    self.download("facades", disk_usage=disk_usage(free))
                self.assert_nothing_left()
        # Measured on the destination's disk, where the data goes.
        self.assertTrue(all(path.startswith(self.out + os.sep) for path in asked), asked)
        path = self.download("facades", disk_usage=disk_usage(margin + 300_000))
        with open(os.path.join(path, "train", "1.jpg"), "rb") as f:
            self.assertEqual(f.read(), data)

    def test_bounded_stream_refuses_to_read_or_seek_past_its_limit(self):
        def bounded(size, limit=50):
            unzipped = gzip.GzipFile(fileobj=io.BytesIO(gzip.compress(bytes(size))))
            return download.BoundedStream(unzipped, limit, "too big")

        whole = bounded(50)
        self.assertEqual(len(whole.read(30)) + len(whole.read(100)), 50)  # Exactly the limit.
        self.assertEqual(whole.read(10), b"")
        over = bounded(51)
        self.assertEqual(len(over.read(30)), 30)
        with self.assertRaisesRegex(UserError, "^too big$"):
            over.read(30)
        with self.assertRaisesRegex(UserError, "^too big$"):
            bounded(1000).seek(60)
        with self.assertRaisesRegex(UserError, "^too big$"):
            bounded(1000).read()
        # Past the end but not past the data: no refusal (a truncated archive is not a bomb).
        self.assertEqual(bounded(10).seek(60), 10)

    def test_unknown_name(self):
        with self.assertRaisesRegex(UserError, "unknown dataset 'faces'"):
            self.download("faces")

    def test_unreachable_server_fails_fast_with_advice(self):
        self.server.shutdown()
        self.server.server_close()
        with self.assertRaisesRegex(UserError, "cannot reach.*PIX2PIX_DATASETS_URL"):
            self.download("facades")
        self.assert_nothing_left()

    def start_stalled_download(self, others=()):
        """tools/download-dataset.py in its own process, stalled after it wrote
        part of the archive to its staging folder (not one of `others`);
        returns (process, staging)."""
        body = tar_gz([file_entry("facades/train/1.jpg", os.urandom(200_000))])
        self.serve("facades", body[:len(body) // 2], length=len(body), stall=True)
        process = subprocess.Popen(
            [sys.executable, os.path.join(paths.TOOLS_DIR, "download-dataset.py"), "facades",
             "--output_dir", self.out, "--url_base", self.base],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(process.kill)
        deadline = time.time() + 60
        while time.time() < deadline:
            archives = [path for path in glob.glob(os.path.join(self.out, ".facades-download-*",
                                                                "facades.tar.gz"))
                        if os.path.dirname(path) not in others]
            if archives and os.path.getsize(archives[0]) >= download.CHUNK_BYTES:
                return process, os.path.dirname(archives[0])
            self.assertIsNone(process.poll(), process.stderr.read() if process.poll() else "")
            time.sleep(0.05)
        self.fail("the download did not start")

    def test_signals_remove_the_staging_folder_without_a_traceback(self):
        for sig, status in ((signal.SIGTERM, 143), (signal.SIGINT, 130)):
            with self.subTest(sig.name):
                process, _ = self.start_stalled_download()
                process.send_signal(sig)
                stdout, stderr = process.communicate(timeout=60)
                self.assertEqual(process.returncode, status, stderr)
                self.assertNotIn("Traceback", stderr)
                self.assertEqual(stderr.strip().splitlines()[-1], f"stopped by {sig.name}")
                self.assertIn("removing its partial files", stdout)
                self.assert_nothing_left()

    def test_a_later_download_removes_a_killed_ones_staging_folder(self):
        process, staging = self.start_stalled_download()
        second, second_staging = self.start_stalled_download(others=[staging])
        process.kill()
        process.wait()
        self.assertTrue(os.path.isdir(staging))
        self.serve("facades", tar_gz([file_entry("facades/train/1.jpg", b"one")]))
        messages = []
        download.download("facades", self.out, self.base, stream=io.StringIO(),
                          log=messages.append)
        self.assertIn(f"removed {staging}, left by an interrupted download", messages)
        # The other download was alive: its staging folder is its own.
        self.assertNotIn(second_staging, " ".join(messages))
        second.kill()
        second.wait()
        self.assertEqual(download.remove_stale_staging(self.out, log=quiet), [second_staging])
        self.assertEqual(sorted(os.listdir(self.out)), ["facades"])

    def test_url_base_precedence(self):
        env = {download.URL_ENV: "http://mirror/x"}
        self.assertEqual(download.url_base(None, {}), download.DEFAULT_URL_BASE)
        self.assertEqual(download.url_base(None, env), "http://mirror/x/")
        self.assertEqual(download.url_base("http://flag/", env), "http://flag/")


if __name__ == "__main__":
    tf.test.main()
