"""benchmarks/cgan_bench.py: its FLOP count, table, --json and --tune."""

import io
import json
import os

import tensorflow as tf

from cgan_mnist_tf import choices, models
from pix2pix_tf.common import machine, precision
from tests.support import paths

bench = paths.load_benchmark("cgan_bench")

# Multiply-adds per image of the conditional mlp networks (Dense layers only),
# latent_dim 100: G [embedding 10 + z 100] -> 128 -> 256 -> 512 -> 1024 -> 784;
# D [784 pixels + embedding 10] -> 512 -> 512 -> 512 -> 1.
G_MACS = 110 * 128 + 128 * 256 + 256 * 512 + 512 * 1024 + 1024 * 784
D_MACS = 794 * 512 + 512 * 512 + 512 * 512 + 512 * 1


class FlopCountTest(tf.test.TestCase):

    def test_mlp_step_is_4g_plus_8d(self):
        generator, discriminator = models.build("mlp", True, 100)
        flops = bench.step_flops(generator, discriminator, batch_size=64)
        self.assertEqual(flops["generator_forward"], 64 * 2 * G_MACS)
        self.assertEqual(flops["discriminator_forward"], 64 * 2 * D_MACS)
        self.assertEqual(flops["train_step"], 64 * 2 * (4 * G_MACS + 8 * D_MACS))

    def test_step_flops_per_weight_match_the_flop_count(self):
        for model, conditional in [(m, True) for m in choices.MODELS] + [("mlp", False)]:
            generator, discriminator = models.build(model, conditional, latent_dim=100)
            counted = (bench.step_flops(generator, discriminator, 64)["train_step"]
                       / (generator.count_params() + discriminator.count_params()))
            self.assertAllClose(models.step_flops_per_weight(model, conditional, 64), counted,
                                rtol=0.05, msg=model)


class HarnessTest(tf.test.TestCase):

    def test_tiny_case_prints_table_and_writes_json(self):
        path = os.path.join(self.get_temp_dir(), "bench.json")
        out = io.StringIO()
        result = bench.main(["--model", "mlp", "--batch_size", "8", "--latent_dim", "100",
                             "--steps", "2",
                             "--windows", "2", "--warmup", "1", "--compare_baseline",
                             "--epoch_images", "24", "--measure_seconds", "0.1", "--json", path],
                            out=out)
        table = out.getvalue()
        auto, reason = precision.resolve("auto", machine.probe(),
                                         models.step_flops_per_weight("mlp", True, 8))
        self.assertTrue(table.startswith(f"precision: {auto} ({reason})"), msg=table)
        for row in (f"fast xla=0 fused=1 {auto}", "baseline xla=0 fused=0 float32", "speedup",
                    "inference", "peak resident memory", "s/epoch", "measured now: float32 matmul",
                    "s/epoch speedup"):
            self.assertIn(row, table)
        with open(path) as f:
            figures = json.load(f)
        # fit() groups training's steps per call; the baseline runs one.
        self.assertGreater(figures["steps_per_call"], 1)
        self.assertIn(f"steps per call: fast {figures['steps_per_call']}, baseline 1", table)
        self.assertEqual(figures["speedup"], result["speedup"])
        self.assertEqual(set(figures["cases"]), {"fast", "baseline"})
        self.assertEqual(figures["cases"]["baseline"]["options"],
                         {"jit_compile": False, "mixed_precision": "float32", "cache": False,
                          "fused_optimizer": False})
        for case in figures["cases"].values():
            self.assertLen(case["window_ms_per_step"], 2)
            self.assertLessEqual(case["images_per_sec_min"], case["images_per_sec"])
            self.assertLessEqual(case["images_per_sec"], case["images_per_sec_max"])
            self.assertGreater(case["epoch_seconds"], 0)
        self.assertEqual(figures["flops"]["train_step"], 8 * 2 * (4 * G_MACS + 8 * D_MACS))
        self.assertGreater(figures["speedup"], 0)
        self.assertGreater(figures["peak_rss_mb"], 0)
        self.assertGreater(figures["inference_ms_per_image"], 0)

    def test_tune_prints_the_fastest_flags(self):
        path = os.path.join(self.get_temp_dir(), "tune.json")
        out = io.StringIO()
        bench.main(["--tune", "--batch_size", "8", "--steps", "2", "--windows", "2",
                    "--warmup", "0", "--mixed_precision", "float32", "--nojit_compile",
                    "--intra_op_threads", "0", "--inter_op_threads", "0",
                    "--measure_seconds", "0", "--json", path], out=out)
        with open(path) as f:
            rows = json.load(f)["tune"]["rows"]
        self.assertEqual(sorted(r["options"]["fused_optimizer"] for r in rows), [False, True])
        self.assertIn("fastest here: --mixed_precision float32 --nojit_compile", out.getvalue())


if __name__ == "__main__":
    tf.test.main()
