"""benchmarks/timing.py: cases and yardsticks timed in the same windows."""

import tensorflow as tf

from benchmarks import timing
from tests.benchmarks.tune_test import AUTO_OPTIONS, SleepingCase


class YardstickTest(tf.test.TestCase):

    def test_yardstick_is_timed_in_the_cases_windows(self):
        case = SleepingCase("fast", AUTO_OPTIONS, 0.001)
        yardstick = timing.KernelCase("matmul", "float32", seconds_per_window=0.05)
        result = timing.compare([case], warmup=0, windows=3, steps=2, batch_size=1,
                                flops=1e6, yardsticks=[yardstick])
        self.assertLen(yardstick.window_seconds, 3)
        self.assertGreater(result["yardstick_gflops"]["matmul"]["float32"], 0.5)


if __name__ == "__main__":
    tf.test.main()
