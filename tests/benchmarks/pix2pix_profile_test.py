import io

import tensorflow as tf

from tests.support import paths


class Pix2PixProfileTest(tf.test.TestCase):

    def test_a_tiny_step_is_mostly_convolutions_in_its_table(self):
        out = io.StringIO()
        totals = paths.load_benchmark("pix2pix_profile").main(
            ["--crop_size", "32", "--ngf", "8", "--ndf", "8", "--steps", "2",
             "--mixed_precision", "float32"], out=out)
        # Wrappers (function calls, the executor's own events) are not op types.
        self.assertFalse({"StatefulPartitionedCall", "Process", "Run"} & set(totals))
        convolutions = [op for op in totals if "Conv2D" in op]
        self.assertTrue(any("BackpropFilter" in op for op in convolutions), totals)
        self.assertTrue(any("BackpropInput" in op for op in convolutions), totals)
        table = out.getvalue()
        self.assertIn("| op type | ms/step | share |", table)
        self.assertIn(f"| {max(totals, key=totals.get)} |", table)


if __name__ == "__main__":
    tf.test.main()
