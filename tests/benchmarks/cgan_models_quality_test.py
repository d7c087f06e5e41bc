import contextlib
import io
import json
import os

import tensorflow as tf

from tests.support import cgan as testing
from tests.support import paths


class CganModelsQualityTest(tf.test.TestCase):

    def test_tiny_case_prints_one_table_with_the_ceiling(self):
        benchmark = paths.load_benchmark("cgan_models_quality")
        data_dir = testing.write_idx_dir(os.path.join(self.get_temp_dir(), "tiny"), 32, 10)
        judge_dir = testing.write_idx_dir(os.path.join(self.get_temp_dir(), "judge"), 40, 20)
        out_dir = os.path.join(self.get_temp_dir(), "bench")
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(io.StringIO()):
            report = benchmark.main(["--models", "mlp,dcgan_proj", "--epochs", "1",
                                     "--data_dir", data_dir, "--dataset", "mnist",
                                     "--batch_size", "16", "--judge_dir", judge_dir,
                                     "--eval_samples", "3", "--classifier_epochs", "1",
                                     "--output_dir", out_dir])
        table = printed.getvalue().split("| model |", 1)[1].splitlines()
        self.assertEqual([line.split("|")[1].strip() for line in table[2:5]],
                         ["mlp", "dcgan_proj", "real held-out digits (ceiling)"])
        self.assertEqual([row["steps"] for row in report["rows"]], [2, 2])
        for row in report["rows"]:
            self.assertIn(judge_dir, row["metrics"]["data_source"])
            self.assertEqual(row["metrics"]["classifier_train_images"], 40)
            self.assertGreater(row["seconds_per_epoch"], 0.0)
        with open(os.path.join(out_dir, "benchmark.json")) as f:
            self.assertEqual(len(json.load(f)["rows"]), 2)


if __name__ == "__main__":
    tf.test.main()
