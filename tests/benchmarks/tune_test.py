"""benchmarks/tune.py: --tune's combinations, ranking, child processes and table."""

import sys
import time

import tensorflow as tf

from benchmarks import timing, tune
from pix2pix_tf.common import machine
from pix2pix_tf.common import options as common_options

BF16_CPU = machine.Machine(cpu=machine.Cpu(flags=frozenset({"avx2", "fma", "avx512_bf16"}), cores=2))
AVX2_CPU = machine.Machine(cpu=machine.Cpu(flags=frozenset({"avx2", "fma"}), cores=2))
AUTO = {"mixed_precision": "bfloat16", "jit_compile": False, "fused_optimizer": True}
AUTO_OPTIONS = common_options.SpeedOptions(**AUTO)


class SleepingCase(timing.TimedCase):
    """A 'training step' that takes `seconds`: what tune measures, without a model."""

    def __init__(self, name, options, seconds):
        super().__init__(name, options)
        self.seconds = seconds

    def run_step(self):
        time.sleep(self.seconds)
        return tf.constant(0.0)


class TuneTest(tf.test.TestCase):

    def test_combinations_of_this_machine_auto_first(self):
        combos = tune.combinations(BF16_CPU, AUTO_OPTIONS)
        self.assertEqual(combos[0], AUTO)
        self.assertLen(combos, 8)  # {float32, bfloat16} x XLA x fused, each once.
        self.assertLen({tuple(sorted(c.items())) for c in combos}, 8)
        avx2 = tune.combinations(
            AVX2_CPU, common_options.replace(AUTO_OPTIONS, mixed_precision="float32"))
        self.assertEqual({c["mixed_precision"] for c in avx2}, {"float32"})  # No emulated bf16.
        self.assertLen(avx2, 4)
        fixed = tune.combinations(BF16_CPU, AUTO_OPTIONS, fixed={"jit_compile", "mixed_precision"})
        self.assertEqual(fixed, [AUTO, dict(AUTO, fused_optimizer=False)])

    def test_tune_ranks_by_side_by_side_ratio(self):
        # Steps of tens of ms: a busy machine's late wake-ups (a few ms) stay
        # well within the tolerance (2-8 ms steps failed under a load of 8).
        slow, fast = dict(AUTO, fused_optimizer=False), dict(AUTO, jit_compile=True)
        seconds = {str(slow): 0.1, str(fast): 0.025}

        def measure(combo):  # What a child process of the bench reports.
            return timing.compare([SleepingCase("fast", combo, seconds[str(combo)]),
                                   SleepingCase("auto", AUTO, 0.05)],
                                  warmup=0, windows=2, steps=3, batch_size=1, flops=1e9)

        lines = []
        rows = tune.tune([AUTO, slow, fast], measure, batch_size=1, flops=1e9, log=lines.append)
        self.assertEqual([r["options"] for r in rows], [fast, AUTO, slow])
        self.assertTrue(rows[1]["auto"])
        self.assertAllClose([r["vs_auto"] for r in rows], [2.0, 1.0, 0.5], rtol=0.3)
        self.assertAllClose(rows[1]["ms_per_step"], 50.0, rtol=0.3)  # auto's windows of both.
        self.assertLen(lines, 2)
        table = tune.format_tune(rows, {(0, 0): 10.0, (1, 2): 12.0})
        self.assertIn("--mixed_precision bfloat16 --nojit_compile --fused_optimizer  (auto)", table)
        self.assertTrue(table.endswith(
            "fastest here: --mixed_precision bfloat16 --jit_compile --fused_optimizer "
            "--intra_op_threads 1 --inter_op_threads 2"))

    def test_settings_are_asked_and_used(self):
        options = common_options.replace(AUTO_OPTIONS, mixed_precision="bfloat16")
        baseline = timing.with_settings(options, **timing.BASELINE)
        self.assertEqual((baseline.mixed_precision, baseline.jit_compile, baseline.cache,
                          baseline.fused_optimizer), ("float32", False, False, False))

    def test_thread_layouts(self):
        self.assertEqual(tune.thread_layouts(1), [(0, 0), (1, 1)])
        self.assertEqual(tune.thread_layouts(2), [(0, 0), (2, 1), (1, 2)])
        self.assertEqual(tune.thread_layouts(8), [(0, 0), (8, 1), (4, 2)])

    def test_thread_layouts_are_timed_in_fresh_processes(self):
        # A child that reports intra * 10 + inter images/sec in the bench's JSON.
        child = ("import argparse, json; p = argparse.ArgumentParser(); "
                 "[p.add_argument(f) for f in ('--intra_op_threads', '--inter_op_threads', '--json')]; "
                 "a = p.parse_args(); json.dump({'cases': {'fast': {'images_per_sec': "
                 "int(a.intra_op_threads) * 10 + int(a.inter_op_threads)}}}, open(a.json, 'w'))")
        lines = []
        rates = tune.time_in_processes([sys.executable, "-c", child], [(0, 0), (2, 1)],
                                       rounds=2, log=lines.append)
        self.assertEqual(rates, {(0, 0): 0, (2, 1): 21})
        self.assertLen(lines, 4)

    def test_child_command_and_given_flags(self):
        argv = ["--tune", "--crop_size", "64", "--json", "x.json", "--intra_op_threads=1",
                "--no-fused_optimizer", "--compare_baseline"]
        self.assertEqual(tune.child_command("benchmarks/x_bench.py", argv),
                         [sys.executable, "benchmarks/x_bench.py", "--crop_size", "64",
                          "--no-fused_optimizer"])
        self.assertEqual(tune.given_flags(argv),
                         {"tune", "crop_size", "json", "intra_op_threads", "fused_optimizer",
                          "compare_baseline"})
        self.assertTrue(tune.tunes_threads(AVX2_CPU, ["--tune"]))
        self.assertFalse(tune.tunes_threads(AVX2_CPU, argv))
        self.assertEqual(tune.with_defaults(["--steps", "2"], steps=5, windows=3),
                         ["--steps", "2", "--windows", "3"])
        # A child's flags are training's spellings.
        self.assertEqual(tune.child_flags(dict(AUTO, jit_compile=True, fused_optimizer=False)),
                         ["--mixed_precision", "bfloat16", "--jit_compile", "--nofused_optimizer"])


if __name__ == "__main__":
    tf.test.main()
