import functools
import http.server
import io
import os
import tarfile
import threading

import tensorflow as tf

from pix2pix_tf.common.errors import UserError
from pix2pix_tf.dataset_tools import download
from tests.support import dataset_tools as testing


def quiet(*_):
    pass


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
    """Serves `routes`: path -> (bytes sent, Content-Length announced)."""

    def do_GET(self):
        route = self.server.routes.get(self.path)
        if route is None:
            self.send_error(404)
            return
        body, length = route
        self.send_response(200)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class DownloadTest(tf.test.TestCase):

    def setUp(self):
        super().setUp()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.routes = {}
        thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                  daemon=True)
        thread.start()
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}/datasets/"
        self.out = testing.temp_dir(self)
        self.download = functools.partial(download.download, output_dir=self.out,
                                          base=self.base, stream=io.StringIO(), log=quiet)

    def serve(self, name, body, length=None):
        self.server.routes[f"/datasets/{name}.tar.gz"] = (body, len(body) if length is None else length)

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
            "device": [link_entry("facades/dev", "", tarfile.CHRTYPE)],
        }
        for expected, entries in cases.items():
            with self.subTest(expected):
                self.serve("facades", tar_gz([file_entry("facades/ok.jpg")] + entries))
                with self.assertRaisesRegex(UserError, "refusing to extract"):
                    self.download("facades")
                self.assert_nothing_left()
                self.assertFalse(os.path.exists(outside))

    def test_link_inside_dataset_is_allowed(self):
        self.serve("facades", tar_gz([file_entry("facades/train/1.jpg"),
                                      link_entry("facades/latest", "train/1.jpg")]))
        self.assertTrue(os.path.isdir(self.download("facades")))

    def test_unknown_name(self):
        with self.assertRaisesRegex(UserError, "unknown dataset 'faces'"):
            self.download("faces")

    def test_unreachable_server_fails_fast_with_advice(self):
        self.server.shutdown()
        self.server.server_close()
        with self.assertRaisesRegex(UserError, "cannot reach.*PIX2PIX_DATASETS_URL"):
            self.download("facades")
        self.assert_nothing_left()

    def test_url_base_precedence(self):
        env = {download.URL_ENV: "http://mirror/x"}
        self.assertEqual(download.url_base(None, {}), download.DEFAULT_URL_BASE)
        self.assertEqual(download.url_base(None, env), "http://mirror/x/")
        self.assertEqual(download.url_base("http://flag/", env), "http://flag/")


if __name__ == "__main__":
    tf.test.main()
