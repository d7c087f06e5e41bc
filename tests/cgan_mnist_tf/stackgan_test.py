"""--model stackgan: the stages' shapes, the train step, exact resume, generate, eval, benchmark."""

import contextlib
import importlib.util
import io
import os

import imageio.v3 as iio
import numpy as np
import tensorflow as tf

from cgan_mnist_tf import evaluate, generate, losses, models, report, train
from cgan_mnist_tf import gan as gan_lib
from cgan_mnist_tf.options import Options
from pix2pix_tf.common.errors import UserError
from tests.cgan_mnist_tf import train_test
from tests.support import cgan as testing
from tests.support import paths
from tests.support.checkpoints import every_checkpoint_tensor

LATENT = 8


def _quiet(fn, *args, **kwargs):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return fn(*args, **kwargs)


def _inputs(n, seed=0):
    rng = np.random.default_rng(seed)
    return (tf.constant(rng.standard_normal((n, LATENT)), tf.float32),
            tf.constant(np.arange(n) % 10, tf.int32))


def _cell(grid, row, col, size):
    """The image at row, col of a labelled grid, shrunk back to `size` pixels."""
    p, scale = report.PADDING, report.cell_scale(size)
    cell = size * scale
    top, left = p + row * (cell + p), report.label_width(cell) + p + col * (cell + p)
    return grid[top:top + cell:scale, left:left + cell:scale]


class StagesTest(tf.test.TestCase):

    def test_stage_one_draws_16x16_and_stage_two_64x64_from_it(self):
        generator, discriminator = models.build("stackgan", True, LATENT)
        z, y = _inputs(3)
        stage1 = generator.get_layer(models.STAGE1_GENERATOR)
        stage2 = generator.get_layer(models.STAGE2_GENERATOR)
        low = stage1([z, y], training=False)
        self.assertEqual(low.shape, (3, 16, 16, 1))
        high = stage2([low, y], training=False)
        self.assertEqual(high.shape, (3, 64, 64, 1))
        self.assertAllInRange(high, -1.0, 1.0)
        # The whole generator is stage II on stage I's output.
        self.assertAllClose(generator([z, y], training=False), high, atol=1e-6)
        self.assertEqual(models.output_shape("stackgan", True), (64, 64, 1))
        # One logit per image; the image's size picks the stage's discriminator.
        self.assertEqual(discriminator([low, y]).shape, (3, 1))
        self.assertEqual(discriminator([high, y]).shape, (3, 1))
        self.assertAllClose(discriminator([low, y]), discriminator.stage1([low, y]))
        self.assertAllClose(discriminator([high, y]), discriminator.stage2([high, y]))

    def test_stage_two_uses_both_the_stage_one_image_and_the_label(self):
        generator, discriminator = models.build("stackgan", True, LATENT)
        stage1 = generator.get_layer(models.STAGE1_GENERATOR)
        stage2 = generator.get_layer(models.STAGE2_GENERATOR)
        z, y = _inputs(4)
        low = stage1([z, y], training=False)
        high = stage2([low, y], training=False)
        self.assertNotAllClose(high, stage2([low, (y + 3) % 10], training=False))
        self.assertNotAllClose(high, stage2([low[::-1], y], training=False))
        for images in (low, high):
            self.assertNotAllClose(discriminator([images, y]),
                                   discriminator([images, (y + 1) % 10]))

    def test_matching_aware_loss(self):
        # bce(real, 1) + (bce(wrong, 0) + bce(fake, 0)) / 2; bce(0 logits) = log 2.
        zero = tf.zeros(4)
        self.assertAllClose(losses.matching_aware_discriminator_loss(zero, zero, zero),
                            2.0 * np.log(2.0))
        big = tf.fill([4], 30.0)
        # Sure of the real pair and fooled by none: no loss; calling the wrong pairs real costs.
        self.assertAllClose(losses.matching_aware_discriminator_loss(big, -big, -big), 0.0,
                            atol=1e-6)
        self.assertAllClose(losses.matching_aware_discriminator_loss(big, big, -big), 15.0,
                            atol=1e-4)


class TrainStepTest(tf.test.TestCase):

    def _gan(self, **options):
        gan = train.build_gan(Options(model="stackgan", latent_dim=LATENT,
                                      mixed_precision="float32", **options))
        self.assertIsInstance(gan, gan_lib.StackGAN)
        return gan

    def _batch(self, n=8):
        rng = np.random.default_rng(1)
        return (rng.uniform(-1, 1, (n, 64, 64, 1)).astype(np.float32),
                (np.arange(n) % 10).astype(np.int32), testing.fixed_noise(n, LATENT))

    def test_one_step_trains_both_stages_of_both_sides(self):
        gan = self._gan()
        parts = {"stage1_generator": gan.stage1_generator, "stage2_generator": gan.stage2_generator,
                 "stage1_discriminator": gan.discriminator.stage1,
                 "stage2_discriminator": gan.discriminator.stage2}
        before = {name: [v.numpy().copy() for v in part.trainable_variables]
                  for name, part in parts.items()}
        logs = gan.train_step(self._batch())
        for name, part in parts.items():
            changed = [not np.array_equal(old, new.numpy())
                       for old, new in zip(before[name], part.trainable_variables)]
            self.assertTrue(all(changed), msg=f"{name}: {changed}")
        self.assertEqual(int(gan.generator_optimizer.iterations), 1)
        self.assertEqual(int(gan.discriminator_optimizer.iterations), 1)
        self.assertAllClose(logs["d_loss"], logs["d1_loss"] + logs["d2_loss"], atol=1e-5)
        self.assertAllClose(logs["g_loss"], logs["g1_loss"] + logs["g2_loss"], atol=1e-5)

    def test_stage_two_loss_stops_at_the_stage_one_image(self):
        gan = self._gan()
        z, y = _inputs(6)
        with tf.GradientTape(persistent=True) as tape:
            g1_loss, g2_loss, distance = gan.generator_losses(z, y)
        stage1 = gan.stage1_generator.trainable_variables
        stage2 = gan.stage2_generator.trainable_variables
        # Stage II's loss trains stage II only, and stage I's trains stage I only.
        self.assertTrue(all(g is None for g in tape.gradient(g2_loss, stage1)))
        self.assertTrue(all(g is not None for g in tape.gradient(g2_loss, stage2)))
        self.assertTrue(all(g is None for g in tape.gradient(g1_loss, stage2)))
        self.assertTrue(all(g is not None for g in tape.gradient(g1_loss, stage1)))
        # The distance to the stage-I image is part of stage II's loss, and of stage II's only.
        self.assertTrue(all(g is None for g in tape.gradient(distance, stage1)))
        self.assertGreater(float(distance), 0.0)
        no_distance = self._gan(stackgan_consistency=0.0)
        no_distance.set_weights(gan.get_weights())
        self.assertAllClose(no_distance.generator_losses(z, y)[1], g2_loss - 10.0 * distance,
                            atol=1e-5)

    def test_stage_one_reals_are_the_batch_at_16x16(self):
        images = np.zeros((2, 64, 64, 1), np.float32)
        images[:, :32] = 1.0
        low = gan_lib.stage1_images(images).numpy()
        self.assertEqual(low.shape, (2, 16, 16, 1))
        self.assertAllClose(low[:, :7], np.ones((2, 7, 16, 1)))
        self.assertAllClose(low[:, 9:], np.zeros((2, 7, 16, 1)))


class StackganRunTest(train_test.TinyRunTestCase):
    """Whole runs on 48 tiny digits, 4 steps of 12 per epoch."""

    DEFAULTS = {"model": "stackgan", "batch_size": 12, "sample_interval": 1, "seed": 3,
                "mixed_precision": "float32"}

    def test_stopped_in_the_middle_of_an_epoch_resumes_exactly(self):
        whole = os.path.join(self.get_temp_dir(), "whole")
        parts = os.path.join(self.get_temp_dir(), "parts")
        _quiet(train.train, self.options(whole, epochs=2))
        with train_test.stop_at(3):
            result = _quiet(train.train, self.options(parts, epochs=2))
        self.assertEqual((result.step, result.epoch, result.stopped), (3, 0, "SIGTERM"))
        result = _quiet(train.train, Options(checkpoint=parts), given={"checkpoint"})
        self.assertEqual((result.step, result.epoch), (8, 2))
        expected = every_checkpoint_tensor(tf.train.latest_checkpoint(whole))
        resumed = every_checkpoint_tensor(tf.train.latest_checkpoint(parts))
        self.assertCountEqual(resumed, expected)
        # Both discriminators and the generator (batch-norm statistics at least) are in it.
        for prefix in ("generator/_operations/", "discriminator/stage1/",
                       "discriminator/stage2/"):
            self.assertTrue(any(key.startswith(prefix) for key in expected), msg=prefix)
        # The stop wrote one checkpoint more: only the count of saves differs.
        differing = [name for name in expected if not np.array_equal(resumed[name], expected[name])]
        self.assertEqual(differing, ["save_counter/.ATTRIBUTES/VARIABLE_VALUE"])

    def test_samples_generate_and_eval_are_64x64_judged_at_28x28(self):
        out = os.path.join(self.get_temp_dir(), "run")
        result = _quiet(train.train, self.options(out, epochs=1, sample_interval=4))
        self.assertEqual(result.step, 4)
        p = report.PADDING
        sample = iio.imread(os.path.join(out, "samples", "step_00000004.png"))
        self.assertEqual(sample.shape, (10 * (64 + p) + p, report.label_width(64) + 10 * (64 + p) + p))

        output = os.path.join(self.get_temp_dir(), "digits.png")
        _quiet(generate.generate, Options(checkpoint=out, labels="3,1,4", num=5, seed=7,
                                          output=output, stage1=True))
        high = iio.imread(output)
        low = iio.imread(os.path.join(self.get_temp_dir(), "digits_stage1.png"))
        # Stage I's 16x16 images enlarged 4 times, as large as stage II's.
        self.assertEqual(high.shape, (3 * (64 + p) + p, report.label_width(64) + 5 * (64 + p) + p))
        self.assertEqual(low.shape, high.shape)
        # Row 1 (label 1), column 3: the same noise through stage I, and through both stages.
        z, labels = generate.noise(5, LATENT, 7), [1] * 5
        stage1 = result.model.stage1_generator
        self.assertAllClose(_cell(low, 1, 3, 16).astype(int),
                            report.to_uint8(generate.sample(stage1, True, z, labels))[3].astype(int),
                            atol=1)
        self.assertAllClose(_cell(high, 1, 3, 64).astype(int),
                            report.to_uint8(generate.sample(result.model.generator, True, z,
                                                           labels))[3].astype(int), atol=1)
        # Without the flag, no stage-I grid.
        plain = os.path.join(self.get_temp_dir(), "plain.png")
        _quiet(generate.generate, Options(checkpoint=out, num=2, output=plain))
        self.assertFalse(os.path.exists(os.path.join(self.get_temp_dir(), "plain_stage1.png")))

        metrics = _quiet(evaluate.evaluate, Options(checkpoint=out, eval_samples=3,
                                                    classifier_epochs=1))
        self.assertEqual(metrics["model"], "stackgan")
        self.assertAllInRange(metrics["conditional_accuracy"], 0.0, 1.0)
        self.assertGreaterEqual(metrics["frechet_distance"], 0.0)

    def test_stage1_flag_needs_a_stackgan_run(self):
        out = os.path.join(self.get_temp_dir(), "mlp_run")
        testing.untrained_run(out, self.data_dir, model="mlp", latent_dim=LATENT)
        output = os.path.join(self.get_temp_dir(), "mlp.png")
        with self.assertRaisesRegex(UserError, "^--stage1: .* is a mlp run; only --model stackgan"):
            generate.generate(Options(checkpoint=out, stage1=True, output=output))
        self.assertFalse(os.path.exists(output))

    def test_refuses_the_small_data_options_and_checks_its_own(self):
        out = os.path.join(self.get_temp_dir(), "refused")
        cases = (({"diffaugment": "cutout"}, "--diffaugment: only for --model dcgan_proj"),
                 ({"stackgan_consistency": -1.0},
                  "^--stackgan_consistency must be a number at least 0, not -1.0$"),
                 ({"model": "mlp", "stackgan_consistency": 1.0},
                  "^--stackgan_consistency: only for --model stackgan$"))
        for extra, message in cases:
            with self.subTest(**extra):
                with self.assertRaisesRegex(UserError, message):
                    _quiet(train.train, self.options(out, **extra),
                           given={"output_dir", "model", *extra})
        self.assertFalse(os.path.exists(out))


class BenchmarkRowTest(tf.test.TestCase):

    def test_benchmark_has_a_stackgan_row(self):
        path = os.path.join(paths.REPO_ROOT, "benchmarks", "cgan_models_quality.py")
        spec = importlib.util.spec_from_file_location("cgan_models_quality", path)
        benchmark = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(benchmark)
        data_dir = testing.write_idx_dir(os.path.join(self.get_temp_dir(), "tiny"), 24, 10)
        judge_dir = testing.write_idx_dir(os.path.join(self.get_temp_dir(), "judge"), 40, 20)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(io.StringIO()):
            report = benchmark.main(["--models", "stackgan", "--epochs", "1",
                                     "--data_dir", data_dir, "--dataset", "mnist",
                                     "--batch_size", "12", "--judge_dir", judge_dir,
                                     "--eval_samples", "2", "--classifier_epochs", "1",
                                     "--output_dir", os.path.join(self.get_temp_dir(), "bench")])
        table = printed.getvalue().split("| model |", 1)[1].splitlines()
        self.assertEqual(table[2].split("|")[1].strip(), "stackgan (64x64, judged at 28x28)")
        (row,) = report["rows"]
        self.assertEqual((row["model"], row["steps"]), ("stackgan", 2))
        self.assertIsInstance(row["metrics"]["conditional_accuracy"], float)


if __name__ == "__main__":
    tf.test.main()
