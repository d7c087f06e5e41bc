"""The dataset CLIs run as a user would run them: exit codes, one-line errors, outputs."""

import http.server
import io
import os
import subprocess
import sys
import tarfile
import threading

import numpy as np
import tensorflow as tf

from pix2pix_tf.common import image_io
from tests.support import dataset_tools as testing
from tests.support import paths

TOOLS = paths.TOOLS_DIR


def run_tool(script, *args, cwd):
    return subprocess.run([sys.executable, os.path.join(TOOLS, script), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


class CliTest(tf.test.TestCase):

    def setUp(self):
        super().setUp()
        self.root = testing.temp_dir(self)

    def assert_one_line_error(self, result, pattern):
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertNotIn("Traceback", result.stderr)
        self.assertRegex(result.stderr.strip(), f"^error: .*{pattern}")
        self.assertLen(result.stderr.strip().splitlines(), 1)

    def test_resize_blank_combine_split(self):
        photos = os.path.join(self.root, "photos")
        for i in range(5):
            image_io.write_image(os.path.join(photos, f"{i}.jpg"), testing.sample_image(40, 60, i))
        steps = [
            ("--input_dir", "photos", "--operation", "resize", "--size", "32",
             "--output_dir", "a", "--workers", "2"),
            ("--input_dir", "a", "--operation", "blank", "--output_dir", "b"),
            ("--input_dir", "b", "--b_dir", "a", "--operation", "combine", "--output_dir", "ab"),
        ]
        for args in steps:
            result = run_tool("process.py", *args, cwd=self.root)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn("5/5 done", result.stderr)
        again = run_tool("process.py", *steps[0], cwd=self.root)
        self.assertIn("skipping 5 images", again.stdout)
        pair = image_io.read_rgb(os.path.join(self.root, "ab", "3.png"))
        self.assertEqual(pair.shape, (32, 64, 3))
        self.assertAllEqual(pair[16, 16], [255, 255, 255])  # Blanked centre on the A side.

        self.assertEqual(run_tool("split.py", "--dir", "ab", cwd=self.root).returncode, 0)
        self.assertLen(os.listdir(os.path.join(self.root, "ab", "train")), 4)
        self.assertLen(os.listdir(os.path.join(self.root, "ab", "val")), 1)
        second = run_tool("split.py", "--dir", "ab", cwd=self.root)
        self.assertEqual(second.returncode, 0)
        self.assertIn("already split", second.stdout)

    def test_process_errors(self):
        self.assert_one_line_error(
            run_tool("process.py", "--input_dir", "missing", "--output_dir", "o",
                     "--operation", "edges", cwd=self.root), "does not exist")
        os.makedirs(os.path.join(self.root, "bad"))
        with open(os.path.join(self.root, "bad", "x.png"), "wb") as f:
            f.write(b"garbage")
        self.assert_one_line_error(
            run_tool("process.py", "--input_dir", "bad", "--output_dir", "o",
                     "--operation", "grayscale", cwd=self.root), "not a decodable image")
        image_io.write_image(os.path.join(self.root, "a", "1.png"), np.zeros((8, 8, 3), np.uint8))
        image_io.write_image(os.path.join(self.root, "b", "1.jpg"), np.zeros((8, 9, 3), np.uint8))
        self.assert_one_line_error(
            run_tool("process.py", "--input_dir", "a", "--b_dir", "b", "--output_dir", "o",
                     "--operation", "combine", "--workers", "2", cwd=self.root),
            "1.png.*1.jpg.*sizes differ")

    def test_arguments_that_do_not_parse_are_one_error_line(self):
        cases = [(("process.py", "--input_dir", "a", "--output_dir", "o", "--operation", "resize",
                   "--bogus"), "unrecognized arguments: --bogus"),
                 (("process.py", "--input_dir", "a", "--output_dir", "o", "--operation", "resize",
                   "--size", "abc"), "--size: invalid int value: 'abc'"),
                 (("process.py", "--input_dir", "a", "--output_dir", "o", "--operation", "blur"),
                  "--operation: invalid choice: 'blur'"),
                 (("split.py",), "required: --dir"),
                 (("download-dataset.py",), "required: name")]
        for (script, *args), message in cases:
            with self.subTest(script=script, args=args):
                self.assert_one_line_error(run_tool(script, *args, cwd=self.root), message)
        self.assertFalse(os.path.exists(os.path.join(self.root, "o")))

    def test_unusable_output_dir(self):
        image_io.write_image(os.path.join(self.root, "a", "1.png"), np.zeros((8, 8, 3), np.uint8))
        with open(os.path.join(self.root, "file"), "w") as f:
            f.write("in the way")
        cases = {"file": "--output_dir file is a file, not a folder",
                 os.path.join("file", "out"): "cannot write to --output_dir file/out: Not a directory",
                 "/proc/out": "cannot write to --output_dir /proc/out"}
        for output_dir, message in cases.items():
            with self.subTest(output_dir):
                self.assert_one_line_error(
                    run_tool("process.py", "--input_dir", "a", "--output_dir", output_dir,
                             "--operation", "grayscale", cwd=self.root), message)
        self.assert_one_line_error(
            run_tool("process.py", "--input_dir", "a", "--output_dir", "o", "--operation", "resize",
                     "--size", "0", cwd=self.root), "--size must be at least 1, got 0")

    def test_synthetic_facades(self):
        result = run_tool("download-dataset.py", "synthetic_facades", "--count", "4", cwd=self.root)
        self.assertEqual(result.returncode, 0, result.stderr)
        folder = os.path.join(self.root, "synthetic_facades")
        self.assertEqual(sorted(os.listdir(os.path.join(folder, "train"))),
                         ["1.jpg", "2.jpg", "3.jpg", "4.jpg"])
        again = run_tool("download-dataset.py", "synthetic_facades", "--count", "4", cwd=self.root)
        self.assertIn("nothing to do", again.stdout)

    def test_download_from_local_server(self):
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            info = tarfile.TarInfo("night2day/train/1.jpg")
            info.size = 3
            tar.addfile(info, io.BytesIO(b"abc"))
        body = buffer.getvalue()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path != "/night2day.tar.gz":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        base = f"http://127.0.0.1:{server.server_address[1]}"
        result = run_tool("download-dataset.py", "night2day", "--url_base", base, cwd=self.root)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(os.path.isfile(os.path.join(self.root, "night2day", "train", "1.jpg")))
        self.assert_one_line_error(
            run_tool("download-dataset.py", "maps", "--url_base", base, cwd=self.root), "HTTP 404")
        self.assertEqual(sorted(os.listdir(self.root)), ["night2day"])

    def test_unknown_dataset(self):
        self.assert_one_line_error(run_tool("download-dataset.py", "faces", cwd=self.root),
                                   "unknown dataset")


if __name__ == "__main__":
    tf.test.main()
