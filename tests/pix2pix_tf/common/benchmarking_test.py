import sys
import time

import tensorflow as tf

from pix2pix_tf.common import benchmarking, machine, options as common_options

BF16_CPU = machine.Machine(cpu=machine.Cpu(flags=frozenset({"avx2", "fma", "avx512_bf16"}), cores=2))
AVX2_CPU = machine.Machine(cpu=machine.Cpu(flags=frozenset({"avx2", "fma"}), cores=2))
AUTO = {"mixed_precision": "bfloat16", "jit_compile": False, "fused_optimizer": True}
AUTO_OPTIONS = common_options.SpeedOptions(**AUTO)


class SleepingCase(benchmarking.TimedCase):
    """A 'training step' that takes `seconds`: what tune measures, without a model."""

    def __init__(self, name, options, seconds):
        super().__init__(name, options)
        self.seconds = seconds

    def run_step(self):
        time.sleep(self.seconds)
        return tf.constant(0.0)


class TuneTest(tf.test.TestCase):

    def test_combinations_of_this_machine_auto_first(self):
        combos = benchmarking.combinations(BF16_CPU, AUTO_OPTIONS)
        self.assertEqual(combos[0], AUTO)
        self.assertLen(combos, 8)  # {float32, bfloat16} x XLA x fused, each once.
        self.assertLen({tuple(sorted(c.items())) for c in combos}, 8)
        avx2 = benchmarking.combinations(
            AVX2_CPU, common_options.replace(AUTO_OPTIONS, mixed_precision="float32"))
        self.assertEqual({c["mixed_precision"] for c in avx2}, {"float32"})  # No emulated bf16.
        self.assertLen(avx2, 4)
        fixed = benchmarking.combinations(BF16_CPU, AUTO_OPTIONS,
                                          fixed={"jit_compile", "mixed_precision"})
        self.assertEqual(fixed, [AUTO, dict(AUTO, fused_optimizer=False)])

    def test_tune_ranks_by_side_by_side_ratio(self):
        # Steps of tens of ms: a busy machine's late wake-ups (a few ms) stay
        # well within the tolerance (2-8 ms steps failed under a load of 8).
        reference = SleepingCase("auto", common_options.replace(AUTO_OPTIONS, cache=False), 0.05)
        slow, fast = dict(AUTO, fused_optimizer=False), dict(AUTO, jit_compile=True)
        candidates = [(slow, lambda: SleepingCase("c", slow, 0.1)),
                      (fast, lambda: SleepingCase("c", fast, 0.025))]
        lines = []
        rows = benchmarking.tune(reference, candidates, warmup=0, windows=2, steps=3,
                                 batch_size=1, flops=1e9, log=lines.append)
        self.assertEqual([r["options"] for r in rows], [fast, AUTO, slow])
        self.assertTrue(rows[1]["auto"])
        self.assertAllClose([r["vs_auto"] for r in rows], [2.0, 1.0, 0.5], rtol=0.3)
        self.assertLen(lines, 2)
        table = benchmarking.format_tune(rows, {(0, 0): 10.0, (1, 2): 12.0})
        self.assertIn("--mixed_precision bfloat16 --nojit_compile --fused_optimizer  (auto)", table)
        self.assertTrue(table.endswith(
            "fastest here: --mixed_precision bfloat16 --jit_compile --fused_optimizer "
            "--intra_op_threads 1 --inter_op_threads 2"))

    def test_settings_are_asked_and_used(self):
        options = common_options.replace(AUTO_OPTIONS, mixed_precision_used="bfloat16")
        baseline = benchmarking.with_settings(options, **benchmarking.BASELINE)
        self.assertEqual((baseline.mixed_precision, baseline.mixed_precision_used,
                          baseline.jit_compile_used, baseline.cache_used, baseline.fused_optimizer),
                         ("float32", "float32", False, False, False))

    def test_thread_layouts(self):
        self.assertEqual(benchmarking.thread_layouts(1), [(0, 0), (1, 1)])
        self.assertEqual(benchmarking.thread_layouts(2), [(0, 0), (2, 1), (1, 2)])
        self.assertEqual(benchmarking.thread_layouts(8), [(0, 0), (8, 1), (4, 2)])

    def test_thread_layouts_are_timed_in_fresh_processes(self):
        # A child that reports intra * 10 + inter images/sec in the harness' JSON.
        child = ("import argparse, json; p = argparse.ArgumentParser(); "
                 "[p.add_argument(f) for f in ('--intra_op_threads', '--inter_op_threads', '--json')]; "
                 "a = p.parse_args(); json.dump({'cases': {'fast': {'images_per_sec': "
                 "int(a.intra_op_threads) * 10 + int(a.inter_op_threads)}}}, open(a.json, 'w'))")
        lines = []
        rates = benchmarking.time_in_processes([sys.executable, "-c", child], [(0, 0), (2, 1)],
                                               rounds=2, log=lines.append)
        self.assertEqual(rates, {(0, 0): 0, (2, 1): 21})
        self.assertLen(lines, 4)

    def test_child_command_and_given_flags(self):
        argv = ["--tune", "--crop_size", "64", "--json", "x.json", "--intra_op_threads=1",
                "--no-fused_optimizer", "--compare_baseline"]
        self.assertEqual(benchmarking.child_command("pkg.bench", argv)[1:],
                         ["-m", "pkg.bench", "--crop_size", "64", "--no-fused_optimizer"])
        self.assertEqual(benchmarking.given_flags(argv),
                         {"tune", "crop_size", "json", "intra_op_threads", "fused_optimizer",
                          "compare_baseline"})
        self.assertTrue(benchmarking.tunes_threads(AVX2_CPU, ["--tune"]))
        self.assertFalse(benchmarking.tunes_threads(AVX2_CPU, argv))
        self.assertEqual(benchmarking.with_defaults(["--steps", "2"], steps=5, windows=3),
                         ["--steps", "2", "--windows", "3"])


class LimitTest(tf.test.TestCase):

    def test_yardstick_is_timed_in_the_cases_windows(self):
        case = SleepingCase("fast", AUTO_OPTIONS, 0.001)
        yardstick = benchmarking.KernelCase("matmul", "float32", seconds_per_window=0.05)
        result = benchmarking.compare([case], warmup=0, windows=3, steps=2, batch_size=1,
                                      flops=1e6, yardsticks=[yardstick])
        self.assertLen(yardstick.window_seconds, 3)
        self.assertGreater(result["yardstick_gflops"]["matmul"]["float32"], 0.5)

    def test_step_share_of_the_measured_rate_and_peak(self):
        figures = {"measured_gflops": {"conv": {"float32": 200.0}, "matmul": {"float32": 100.0}},
                   "theoretical_peak": {"float32": 400.0, "bfloat16": None, "basis": "b"},
                   "machine": "m"}
        case = {"options": {"mixed_precision": "float32"}, "gflops_achieved": 50.0}
        self.assertEqual(benchmarking.step_shares(case, figures), (25.0, 12.5))
        self.assertEqual(benchmarking.step_shares(case, figures, kernel="matmul"), (50.0, 12.5))
        bf16 = {"options": {"mixed_precision": "bfloat16"}, "gflops_achieved": 50.0}
        self.assertEqual(benchmarking.step_shares(bf16, figures), (None, None))
        lines = benchmarking.limit_lines(figures)
        self.assertEqual(lines[1], "measured now: float32 matmul 100, conv 200 GFLOP/s (fastest call)")
        figures["yardstick_gflops"] = {"conv": {"float32": 100.0}}
        self.assertEqual(benchmarking.step_shares(case, figures), (50.0, 12.5))  # Same windows first.
        self.assertIn("conv in the same windows (median): float32 100 GFLOP/s",
                      benchmarking.limit_lines(figures))
        self.assertIn("theoretical peak: float32 400 GFLOP/s (b; nominal clock)", lines[2])
        self.assertIn("unknown", benchmarking.limit_lines({"machine": "m"})[1])


if __name__ == "__main__":
    tf.test.main()
