"""A training run loads no benchmarking code: the benches live in benchmarks/,
outside the installed packages, and nothing in the packages imports them."""

import json
import os
import subprocess
import sys

import tensorflow as tf

from tests.support import cgan as cgan_testing
from tests.support import paths
from tests.support import pix2pix as pix2pix_testing

# Runs `python -m MODULE ARGS...` in this process, then prints as JSON what it
# loaded that belongs to the benches: modules of the checkout's benchmarks/,
# project modules named for benches or FLOP counts, and bench-only functions
# in the package modules (the measured-rate probes once lived in machine.py).
CHECK = """
import json, os, runpy, sys
module, benchmarks_dir = sys.argv[1], sys.argv[2]
sys.argv = [module] + sys.argv[3:]
try:
    runpy.run_module(module, run_name="__main__", alter_sys=True)
except SystemExit as e:
    if e.code not in (0, None):
        raise
BENCH_ONLY = {"measured_rates", "theoretical_peak", "fma_units", "TimedCase",
              "profile_op_types", "model_macs", "step_flops"}
found = []
for name, loaded in list(sys.modules.items()):
    path = os.path.abspath(getattr(loaded, "__file__", None) or "")
    project = name.split(".")[0] in ("pix2pix_tf", "cgan_mnist_tf", "benchmarks")
    if path.startswith(benchmarks_dir + os.sep) or name.split(".")[0] == "benchmarks":
        found.append(name)
    elif project and ("bench" in name or "flops" in name):
        found.append(name)
    elif project:
        found += [f"{name}.{attr}" for attr in sorted(BENCH_ONLY & set(vars(loaded)))]
print("LOADED " + json.dumps(sorted(found)))
"""


class TrainingImportsTest(tf.test.TestCase):

    def loaded_bench_code(self, module, *argv):
        """What `python -m MODULE ARGV` loaded of the benches (see CHECK)."""
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2",
                   PYTHONPATH=paths.REPO_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
        process = subprocess.run(
            [sys.executable, "-c", CHECK, module, os.path.join(paths.REPO_ROOT, "benchmarks"),
             *argv], capture_output=True, text=True, env=env, cwd=self.get_temp_dir(),
            timeout=600)
        self.assertEqual(process.returncode, 0, msg=process.stderr[-3000:])
        line = [line for line in process.stdout.splitlines() if line.startswith("LOADED ")][-1]
        return json.loads(line[len("LOADED "):])

    def test_pix2pix_training_loads_no_bench_code(self):
        pairs = pix2pix_testing.write_pairs(os.path.join(self.get_temp_dir(), "pairs"), count=3)
        loaded = self.loaded_bench_code(
            "pix2pix_tf.main", "--mode", "train", "--input_dir", pairs, "--output_dir",
            os.path.join(self.get_temp_dir(), "p2p_run"), "--crop_size", "32", "--ngf", "8",
            "--ndf", "8", "--max_steps", "1", "--mixed_precision", "float32")
        self.assertEqual(loaded, [])
        self.assertTrue(os.path.isfile(os.path.join(self.get_temp_dir(), "p2p_run",
                                                    "options.json")))

    def test_cgan_training_loads_no_bench_code(self):
        data_dir = cgan_testing.write_idx_dir(os.path.join(self.get_temp_dir(), "digits"), 16, 10)
        loaded = self.loaded_bench_code(
            "cgan_mnist_tf.main", "--mode", "train", "--data_dir", data_dir, "--output_dir",
            os.path.join(self.get_temp_dir(), "cgan_run"), "--model", "mlp", "--epochs", "1",
            "--batch_size", "8", "--mixed_precision", "float32")
        self.assertEqual(loaded, [])
        self.assertTrue(os.path.isfile(os.path.join(self.get_temp_dir(), "cgan_run",
                                                    "options.json")))


if __name__ == "__main__":
    tf.test.main()
