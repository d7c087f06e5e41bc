"""benchmarks/pix2pix_bench.py: its FLOP count, table, --json and --tune."""

import io
import json
import os
import shutil
import tempfile

import tensorflow as tf

from benchmarks import flops
from pix2pix_tf import models
from tests.support import paths

bench = paths.load_benchmark("pix2pix_bench")


class FlopCountTest(tf.test.TestCase):

    def test_generator_multiply_adds_by_hand(self):
        # crop 32, ngf 8: encoder filters 8, 16, 32, 64, 64 down to 1x1; all kernels 4x4.
        # Conv2D: out_h * out_w * filters * 16 * in_channels.
        # Conv2DTranspose: in_h * in_w * in_channels * 16 * filters.
        expected = [
            ("encoder_1_conv", 16 * 16 * 8 * 16 * 3),     # 32x32x3 -> 16x16x8: 98304
            ("encoder_2_conv", 8 * 8 * 16 * 16 * 8),      # -> 8x8x16: 131072
            ("encoder_3_conv", 4 * 4 * 32 * 16 * 16),     # -> 4x4x32: 131072
            ("encoder_4_conv", 2 * 2 * 64 * 16 * 32),     # -> 2x2x64: 131072
            ("encoder_5_conv", 1 * 1 * 64 * 16 * 64),     # -> 1x1x64: 65536
            ("decoder_5_conv", 1 * 1 * 64 * 16 * 64),     # 1x1x64 -> 2x2x64: 65536
            ("decoder_4_conv", 2 * 2 * 128 * 16 * 32),    # 2x2x(64+64) -> 4x4x32: 262144
            ("decoder_3_conv", 4 * 4 * 64 * 16 * 16),     # 4x4x(32+32) -> 8x8x16: 262144
            ("decoder_2_conv", 8 * 8 * 32 * 16 * 8),      # 8x8x(16+16) -> 16x16x8: 262144
            ("decoder_1_conv", 16 * 16 * 16 * 16 * 3),    # 16x16x(8+8) -> 32x32x3: 196608
        ]
        generator = models.generator(32, ngf=8)
        self.assertEqual(flops.model_macs(generator), expected)
        self.assertEqual(sum(m for _, m in expected), 1605632)

    def test_discriminator_and_step_convention(self):
        # PatchGAN, crop 32, ndf 8, n_layers 3: pad 1 then 4x4 'valid' convs on 32x32x6.
        expected = [
            ("layer_1_conv", 16 * 16 * 8 * 16 * 6),       # 34 -> 16, stride 2
            ("layer_2_conv", 8 * 8 * 16 * 16 * 8),        # 18 -> 8, stride 2
            ("layer_3_conv", 4 * 4 * 32 * 16 * 16),       # 10 -> 4, stride 2
            ("layer_4_conv", 3 * 3 * 64 * 16 * 32),       # 6 -> 3, stride 1
            ("logits", 2 * 2 * 1 * 16 * 64),              # 5 -> 2, stride 1
        ]
        generator = models.generator(32, ngf=8)
        discriminator = models.discriminator(32, ndf=8)
        self.assertEqual(flops.model_macs(discriminator), expected)
        self.assertEqual(sum(m for _, m in expected), 757760)
        g, d = 2 * 1605632, 2 * sum(m for _, m in expected)
        step = bench.step_flops(generator, discriminator, batch_size=2)
        self.assertEqual(step["train_step"], 2 * (3 * g + 7 * d))

    def test_full_size_step_is_about_81_gflop(self):
        step = bench.step_flops(models.generator(256), models.discriminator(256))
        self.assertAllClose(step["train_step"] / 1e9, 81.1, atol=0.1)


class HarnessTest(tf.test.TestCase):

    def test_tiny_case_prints_table_and_writes_json(self):
        tmp = tempfile.mkdtemp(dir=self.get_temp_dir())
        self.addCleanup(shutil.rmtree, tmp, ignore_errors=True)
        path = os.path.join(tmp, "bench.json")
        out = io.StringIO()
        bench.main(["--crop_size", "32", "--ngf", "8", "--ndf", "8", "--steps", "2",
                    "--windows", "2", "--warmup", "1", "--compare_baseline",
                    "--pipeline_images", "8", "--measure_seconds", "0.1", "--json", path], out=out)
        table = out.getvalue()
        # auto decided and said so first, as training does.
        self.assertTrue(table.startswith("precision: "), msg=table)
        for row in ("fast xla=0 fused=1", "baseline xla=0 fused=0 float32", "pipeline decode",
                    "pipeline cache",
                    "speedup", "inference", "peak resident memory", "machine: ",
                    "measured now: float32 matmul", "% conv"):
            self.assertIn(row, table)
        with open(path) as f:
            figures = json.load(f)
        self.assertEqual(set(figures["cases"]), {"fast", "baseline"})
        for case in figures["cases"].values():
            self.assertLen(case["window_ms_per_step"], 2)
            self.assertLessEqual(case["images_per_sec_min"], case["images_per_sec"])
            self.assertLessEqual(case["images_per_sec"], case["images_per_sec_max"])
        self.assertGreater(figures["speedup"], 0)
        # 3G + 7D multiply-adds of the two hand counts above, 2 FLOP each.
        self.assertEqual(figures["flops"]["train_step"], 2 * (3 * 1605632 + 7 * 757760))
        self.assertGreater(figures["peak_rss_mb"], 0)
        self.assertGreater(figures["pipeline_images_per_sec"]["cache"], 0)
        self.assertGreater(figures["measured_gflops"]["conv"]["float32"], 0)
        self.assertEqual(figures["cases"]["baseline"]["options"]["mixed_precision"], "float32")

    def test_tune_times_the_combinations_and_prints_flags(self):
        path = os.path.join(self.get_temp_dir(), "tune.json")
        out = io.StringIO()
        # Precision, XLA and threads given (XLA compiles slowly): tuned is
        # fused Adam on and off, in a child process.
        bench.main(["--tune", "--crop_size", "32", "--ngf", "8", "--ndf", "8", "--steps", "1",
                    "--windows", "2", "--warmup", "0", "--mixed_precision", "float32",
                    "--nojit_compile", "--intra_op_threads", "0",
                    "--inter_op_threads", "0", "--measure_seconds", "0", "--json", path], out=out)
        table = out.getvalue()
        with open(path) as f:
            rows = json.load(f)["tune"]["rows"]
        self.assertEqual(sorted(r["options"]["fused_optimizer"] for r in rows), [False, True])
        self.assertTrue(all(r["options"]["mixed_precision"] == "float32"
                            and r["options"]["jit_compile"] is False for r in rows))
        self.assertEqual(sorted(r["vs_auto"] for r in rows)[::-1], [r["vs_auto"] for r in rows])
        self.assertEqual([r["vs_auto"] for r in rows if r["options"]["fused_optimizer"]], [1.0])
        self.assertIn("(auto)", table)
        best = "--fused_optimizer" if rows[0]["options"]["fused_optimizer"] else "--nofused_optimizer"
        self.assertIn(f"fastest here: --mixed_precision float32 --nojit_compile {best}", table)


if __name__ == "__main__":
    tf.test.main()
