import contextlib
import io
import json
import os

import tensorflow as tf

from cgan_mnist_tf import evaluate
from cgan_mnist_tf.options import Options
from tests.support import cgan as testing


class EvaluateTest(tf.test.TestCase):

    def test_tiny_run_produces_all_metrics_and_caches_the_classifier(self):
        data_dir = testing.write_idx_dir(os.path.join(self.get_temp_dir(), "tiny"), 60, 30)
        run_dir = os.path.join(self.get_temp_dir(), "run")
        testing.untrained_run(run_dir, data_dir, latent_dim=8)
        options = Options(checkpoint=run_dir, eval_samples=5, classifier_epochs=1)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            result = evaluate.evaluate(options)
        with open(os.path.join(run_dir, "metrics.json")) as f:
            saved = json.load(f)
        self.assertEqual(saved, json.loads(json.dumps(result)))
        for key in ("classifier_accuracy", "conditional_accuracy", "frechet_distance"):
            self.assertIsInstance(saved[key], float, msg=key)
        self.assertAllInRange(saved["conditional_accuracy"], 0.0, 1.0)
        self.assertGreaterEqual(saved["frechet_distance"], 0.0)
        self.assertEqual(len(saved["per_class_accuracy"]), 10)
        self.assertEqual((saved["classifier_train_images"], saved["classifier_test_images"]), (60, 30))
        self.assertIn("eval classifier: training on 60 real images", out.getvalue())
        self.assertIn("conditional accuracy of 50 generated images", out.getvalue())

        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            again = evaluate.evaluate(options)
        self.assertIn("eval classifier: cached", out.getvalue())
        self.assertEqual(again["classifier_accuracy"], result["classifier_accuracy"])

    def test_unconditional_run_has_no_conditional_accuracy(self):
        data_dir = testing.write_idx_dir(os.path.join(self.get_temp_dir(), "tiny2"), 40, 20)
        run_dir = os.path.join(self.get_temp_dir(), "plain")
        testing.untrained_run(run_dir, data_dir, latent_dim=8, conditional=False)
        with contextlib.redirect_stdout(io.StringIO()):
            result = evaluate.evaluate(Options(checkpoint=run_dir, eval_samples=3, classifier_epochs=1))
        self.assertIsNone(result["conditional_accuracy"])
        self.assertIsInstance(result["frechet_distance"], float)
        self.assertAllClose(sum(result["predicted_class_shares"]), 1.0)


if __name__ == "__main__":
    tf.test.main()
