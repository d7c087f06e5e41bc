"""A full disk is one error line in train, export, test and predict, with no
temporary checkpoint or export folder left and the previous checkpoint intact.

Runs on a small tmpfs mounted for the test (root only: skipped, saying why,
where it cannot be mounted)."""

import os
import shutil
import subprocess
import sys
import tempfile

import tensorflow as tf

from tests.support import pix2pix as testing
from tests.support.paths import REPO_ROOT

TINY = ["--crop_size", "32", "--ngf", "8", "--ndf", "8"]


def mount_tmpfs(folder, size):
    """Mounts a tmpfs of `size` at `folder`; the reason it could not, or None."""
    if os.geteuid() != 0:
        return "mounting a tmpfs needs root"
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", folder],
                            capture_output=True, text=True)
    return None if result.returncode == 0 else f"mount failed: {result.stderr.strip()}"


def fill(folder, leave_bytes):
    """Fills the file system of `folder` but `leave_bytes`."""
    free = shutil.disk_usage(folder).free
    with open(os.path.join(folder, "filler"), "wb") as f:
        f.truncate(0)
        f.write(b"\0" * max(0, free - leave_bytes))


class FullDiskTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = tempfile.mkdtemp(dir=tf.compat.v1.test.get_temp_dir())
        cls.pairs = testing.write_pairs(os.path.join(cls.root, "pairs"), count=2)
        cls.run_dir = os.path.join(cls.root, "run")
        cls.command("-m", "pix2pix_tf.main", "--mode", "train", "--input_dir", cls.pairs,
                    "--output_dir", cls.run_dir, "--max_steps", "1", *TINY)
        cls.disk = os.path.join(cls.root, "disk")
        os.makedirs(cls.disk)
        cls.unmounted = mount_tmpfs(cls.disk, "8m")

    @classmethod
    def tearDownClass(cls):
        if not cls.unmounted:
            subprocess.run(["umount", cls.disk], check=False)
        super().tearDownClass()

    @staticmethod
    def command(*argv):
        env = dict(os.environ, PYTHONPATH=REPO_ROOT)
        return subprocess.run([sys.executable, *argv], capture_output=True, text=True, env=env,
                              timeout=300)

    def setUp(self):
        super().setUp()
        if self.unmounted:
            self.skipTest(self.unmounted)
        for name in os.listdir(self.disk):
            shutil.rmtree(os.path.join(self.disk, name), ignore_errors=True)
            if os.path.isfile(os.path.join(self.disk, name)):
                os.remove(os.path.join(self.disk, name))

    def assert_one_error_line(self, result):
        self.assertEqual(result.returncode, 2, result.stderr[-3000:])
        self.assertNotIn("Traceback", result.stderr)
        last = result.stderr.strip().splitlines()[-1]
        self.assertStartsWith(last, "error: ")
        self.assertIn("space", last)

    def test_training_keeps_the_last_checkpoint_and_leaves_no_temporary_folder(self):
        run = os.path.join(self.disk, "run")
        shutil.copytree(self.run_dir, run)
        fill(self.disk, 64 * 1024)  # Less than a checkpoint of the tiny model.
        result = self.command("-m", "pix2pix_tf.main", "--mode", "train", "--input_dir",
                              self.pairs, "--checkpoint", run, "--max_steps", "2",
                              "--summary_freq", "0")
        self.assert_one_error_line(result)
        self.assertEqual([name for name in os.listdir(run) if name.endswith("_temp")], [])
        self.assertTrue(tf.train.latest_checkpoint(run).endswith("ckpt-1"))
        tf.train.load_checkpoint(run)  # Still readable.

    def test_export_test_and_predict(self):
        for mode, extra in (("export", []), ("test", ["--input_dir", self.pairs]),
                            ("predict", ["--input_dir", os.path.join(self.pairs, "1.png")])):
            with self.subTest(mode):
                out = os.path.join(self.disk, mode)
                os.makedirs(out, exist_ok=True)
                fill(self.disk, 0)
                result = self.command("-m", "pix2pix_tf.main", "--mode", mode, "--checkpoint",
                                      self.run_dir, "--output_dir", out, *extra)
                self.assert_one_error_line(result)
                exports = os.path.join(out, "export")
                left = os.listdir(exports) if os.path.isdir(exports) else []
                self.assertEqual([name for name in left if name.startswith(".staging")], [])
                os.remove(os.path.join(self.disk, "filler"))


if __name__ == "__main__":
    tf.test.main()
