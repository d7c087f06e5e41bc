"""benchmarks/pix2pix_profile.py and cgan_profile.py: a step's time by op type."""

import io

import tensorflow as tf

from tests.support import paths


class ProfileTest(tf.test.TestCase):

    def profile(self, script, argv):
        """(op type totals, printed table) of benchmarks/SCRIPT.py run with argv."""
        out = io.StringIO()
        totals = paths.load_benchmark(script).main(argv, out=out)
        # Wrappers (function calls, the executor's own events) are not op types.
        self.assertFalse({"StatefulPartitionedCall", "Process", "Run"} & set(totals))
        table = out.getvalue()
        self.assertIn("| op type | ms/step | share |", table)
        self.assertIn(f"| {max(totals, key=totals.get)} |", table)
        return totals, table

    def test_a_tiny_pix2pix_step_is_mostly_convolutions(self):
        totals, _ = self.profile("pix2pix_profile", [
            "--crop_size", "32", "--ngf", "8", "--ndf", "8", "--steps", "2",
            "--mixed_precision", "float32"])
        convolutions = [op for op in totals if "Conv2D" in op]
        self.assertTrue(any("BackpropFilter" in op for op in convolutions), totals)
        self.assertTrue(any("BackpropInput" in op for op in convolutions), totals)

    def test_the_cgan_mlp_step_is_matrix_products_and_adam(self):
        totals, table = self.profile("cgan_profile", [
            "--model", "mlp", "--batch_size", "8", "--mixed_precision", "float32",
            "--warmup", "1", "--steps", "2"])
        self.assertTrue(any("MatMul" in op for op in totals), totals)
        self.assertTrue(any("Adam" in op for op in totals), totals)
        self.assertIn("precision float32", table)


if __name__ == "__main__":
    tf.test.main()
