import io

import tensorflow as tf

from tests.support import paths


class CganProfileTest(tf.test.TestCase):

    def test_the_mlp_step_is_matrix_products_and_adam_in_its_table(self):
        out = io.StringIO()
        totals = paths.load_benchmark("cgan_profile").main(
            ["--model", "mlp", "--batch_size", "8", "--mixed_precision", "float32",
             "--warmup", "1", "--steps", "2"], out=out)
        self.assertFalse({"StatefulPartitionedCall", "Process", "Run"} & set(totals))
        self.assertTrue(any("MatMul" in op for op in totals), totals)
        self.assertTrue(any("Adam" in op for op in totals), totals)
        table = out.getvalue()
        self.assertIn("precision float32", table)
        self.assertIn(f"| {max(totals, key=totals.get)} |", table)


if __name__ == "__main__":
    tf.test.main()
