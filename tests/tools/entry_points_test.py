"""The installed commands (console_scripts) work outside a checkout."""

import importlib.metadata
import os
import shutil
import subprocess
import sys

import tensorflow as tf

# Each command and a flag its --help must list.
COMMANDS = {"pix2pix-tf": "--which_direction", "pix2pix-serve": "--max_request_mb",
            "cgan-mnist-tf": "--latent_dim",
            "pix2pix-process": "--operation", "pix2pix-split": "--train_frac",
            "pix2pix-download": "--url_base"}


def installed_scripts():
    """{name: entry point} of this project's console_scripts, from its installed metadata."""
    try:
        distribution = importlib.metadata.distribution("pix2pix-tf")
    except importlib.metadata.PackageNotFoundError:
        raise AssertionError("the project is not installed: run pip install -e . first") from None
    return {entry.name: entry for entry in distribution.entry_points
            if entry.group == "console_scripts"}


class EntryPointsTest(tf.test.TestCase):

    def test_every_command_is_declared_and_answers_help(self):
        self.assertCountEqual(installed_scripts(), COMMANDS)
        for name, flag in COMMANDS.items():  # Each in its own process, as a user runs them.
            script = shutil.which(name)
            self.assertIsNotNone(script, f"{name} is not on PATH")
            # (absl's --help exits with status 1, argparse's with 0.)
            result = subprocess.run([script, "--help"], capture_output=True, text=True,
                                    cwd=self.get_temp_dir(), timeout=120)
            self.assertIn(flag, result.stdout, f"{name}: {result.stderr[-2000:]}")

    def test_a_tool_runs_from_any_folder_and_reports_one_error_line(self):
        script = shutil.which("pix2pix-split")
        self.assertIsNotNone(script, "pix2pix-split is not on PATH")
        elsewhere = self.get_temp_dir()
        result = subprocess.run([script, "--dir", os.path.join(elsewhere, "missing")],
                                cwd=elsewhere, capture_output=True, text=True, timeout=120)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertRegex(result.stderr.strip(), r"^error: [^\n]*missing[^\n]*$")

    def test_help_and_bad_flags_answer_before_tensorflow_loads(self):
        # Importing TensorFlow takes seconds: --help and a mistyped flag must not wait for it.
        report = ("import atexit, sys; atexit.register(lambda: print('tensorflow loaded:', "
                  "'tensorflow' in sys.modules)); sys.argv = ['cmd'] + sys.argv[1:]; "
                  "from {module} import entry; entry()")
        # (The training commands' grouped --help exits with 0, absl's with 1.)
        for module, bad_flag, help_status in (("pix2pix_tf.main", "--crop_size=big", 0),
                                              ("cgan_mnist_tf.main", "--model=nonsense", 0),
                                              ("pix2pix_tf.serving.cli", "--port=abc", 1)):
            for argv, status in ((["--help"], help_status), ([bad_flag], 2)):
                with self.subTest(module=module, argv=argv):
                    result = subprocess.run(
                        [sys.executable, "-c", report.format(module=module)] + argv,
                        capture_output=True, text=True, cwd=self.get_temp_dir(), timeout=120)
                    self.assertEqual(result.returncode, status, result.stderr[-2000:])
                    self.assertIn("tensorflow loaded: False", result.stdout)
                    if status == 2:
                        self.assertRegex(result.stderr.strip(), r"^error: [^\n]*$")


if __name__ == "__main__":
    tf.test.main()
