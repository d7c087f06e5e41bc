"""benchmarks/report.py: a step's share of the machine's limits, in the table's words."""

import tensorflow as tf

from benchmarks import report


class LimitTest(tf.test.TestCase):

    def test_step_share_of_the_measured_rate_and_peak(self):
        figures = {"measured_gflops": {"conv": {"float32": 200.0}, "matmul": {"float32": 100.0}},
                   "theoretical_peak": {"float32": 400.0, "bfloat16": None, "basis": "b"},
                   "machine": "m"}
        case = {"options": {"mixed_precision": "float32"}, "gflops_achieved": 50.0}
        self.assertEqual(report.step_shares(case, figures), (25.0, 12.5))
        self.assertEqual(report.step_shares(case, figures, kernel="matmul"), (50.0, 12.5))
        bf16 = {"options": {"mixed_precision": "bfloat16"}, "gflops_achieved": 50.0}
        self.assertEqual(report.step_shares(bf16, figures), (None, None))
        lines = report.limit_lines(figures)
        self.assertEqual(lines[1], "measured now: float32 matmul 100, conv 200 GFLOP/s (fastest call)")
        figures["yardstick_gflops"] = {"conv": {"float32": 100.0}}
        self.assertEqual(report.step_shares(case, figures), (50.0, 12.5))  # Same windows first.
        self.assertIn("conv in the same windows (median): float32 100 GFLOP/s",
                      report.limit_lines(figures))
        self.assertIn("theoretical peak: float32 400 GFLOP/s (b; nominal clock)", lines[2])
        self.assertIn("unknown", report.limit_lines({"machine": "m"})[1])


if __name__ == "__main__":
    tf.test.main()
