import contextlib
import io
import json
import os

import numpy as np
import tensorflow as tf
from PIL import Image

from cgan_mnist_tf import train
from cgan_mnist_tf.options import Options
from pix2pix_tf.common import options as common_options
from tests.support import cgan as testing
from pix2pix_tf.common import machine, precision
from pix2pix_tf.common.errors import UserError


def _quiet(fn, *args, **kwargs):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return fn(*args, **kwargs)


class TrainTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.data_dir = testing.write_idx_dir(os.path.join(tf.compat.v1.test.get_temp_dir(), "tiny"), 48, 10)

    def _options(self, output_dir, **extra):
        return Options(**{"output_dir": output_dir, "dataset": "mnist", "data_dir": self.data_dir,
                          "epochs": 1, "batch_size": 16, "latent_dim": 8, "sample_interval": 2,
                          **extra})

    def test_run_writes_samples_gif_options_and_checkpoint_then_resumes(self):
        out = os.path.join(self.get_temp_dir(), "run")
        summary = _quiet(train.train, self._options(out))
        self.assertEqual((summary.step, summary.epoch), (3, 1))
        self.assertEqual(sorted(os.listdir(os.path.join(out, "samples"))),
                         ["step_00000002.png", "step_00000003.png"])
        self.assertTrue(os.path.isfile(os.path.join(out, "samples.gif")))
        self.assertTrue(os.listdir(os.path.join(out, "logs")))
        self.assertEqual(self._loss_steps(out), [2, 3])
        with Image.open(os.path.join(out, "losses.png")) as image:
            self.assertEqual((image.format, image.size), ("PNG", (840, 320)))
        with open(os.path.join(out, "options.json")) as f:
            saved = json.load(f)
        self.assertEqual((saved["model"], saved["latent_dim"], saved["conditional"]), ("mlp", 8, True))
        self.assertIn("IDX files in", saved["data_source"])

        # Resume: step and epoch come back, the model from options.json, training goes on.
        before = self._generator_weights(out, common_options.from_dict(Options, saved))
        summary = _quiet(train.train, Options(**{"checkpoint": out, "epochs": 2}),
                         given={"checkpoint", "epochs"})
        self.assertEqual((summary.step, summary.epoch), (6, 2))
        self.assertNotAllClose(before, self._generator_weights(
            out, common_options.from_dict(Options, saved)))
        # The first run's too. fit() runs 2 steps per call here (--sample_interval
        # 2) from each epoch's start: calls end at steps 2, 3 | 5, 6, and the
        # grid due at step 4 comes at the end of its call, step 5.
        self.assertEqual(self._loss_steps(out), [2, 3, 5, 6])
        self.assertEqual(sorted(os.listdir(os.path.join(out, "samples")))[2:],
                         ["step_00000005.png", "step_00000006.png"])

    def _loss_steps(self, out):
        with open(os.path.join(out, "losses.json")) as f:
            records = json.load(f)
        for record in records:
            self.assertCountEqual(record, ["step", "d_loss", "g_loss", "d_x", "d_g_z"])
            self.assertTrue(0 <= record["d_x"] <= 1 and 0 <= record["d_g_z"] <= 1, record)
        return [record["step"] for record in records]

    def _generator_weights(self, out, options):
        gan = train.build_gan(options)
        train.checkpoints.RunCheckpoint(out, generator=gan.generator).restore(out, partial=True)
        return gan.generator.weights[0].numpy()

    def test_resume_restores_the_exact_state(self):
        out = os.path.join(self.get_temp_dir(), "exact")
        _quiet(train.train, self._options(out))
        with open(os.path.join(out, "options.json")) as f:
            options = common_options.from_dict(Options, json.load(f))
        gan = train.build_gan(options)
        state = train.run_state(options)
        checkpoint = train.run_checkpoint(gan, os.path.join(self.get_temp_dir(), "unused"), state)
        checkpoint.restore(out)
        self.assertEqual(int(state["epoch"].numpy()), 1)
        self.assertEqual(int(gan.discriminator_optimizer.iterations), 3)
        # Adam's moments are back, not zeros.
        moments = [v for v in gan.generator_optimizer.variables if "momentum" in v.path]
        self.assertTrue(moments and any(np.abs(v.numpy()).max() > 0 for v in moments))

    def test_stop_request_saves_a_checkpoint_and_ends_early(self):
        out = os.path.join(self.get_temp_dir(), "stopped")

        class StopAtOnce:
            def __init__(self):
                self.requested = "SIGINT"

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

        original = train.checkpoints.StopRequests
        train.checkpoints.StopRequests = StopAtOnce
        try:
            summary = _quiet(train.train, self._options(out, epochs=3))
        finally:
            train.checkpoints.StopRequests = original
        # fit() runs steps_per_call steps per call (2 with --sample_interval 2)
        # and stops at the end of the call in which the request came.
        self.assertEqual(train.steps_per_call(self._options(out)), 2)
        self.assertEqual((summary.step, summary.epoch, summary.stopped), (2, 0, "SIGINT"))
        self.assertTrue(tf.train.latest_checkpoint(out).endswith("ckpt-2"))
        # The resume runs the unfinished epoch again: 2 + 3 epochs of 3 steps.
        summary = _quiet(train.train, Options(**{"checkpoint": out}),
                         given={"checkpoint"})
        self.assertEqual((summary.step, summary.epoch), (11, 3))

    def test_resume_with_a_different_model_is_an_error(self):
        out = os.path.join(self.get_temp_dir(), "conflict")
        testing.untrained_run(out, self.data_dir, latent_dim=8)
        with self.assertRaisesRegex(UserError, "--latent_dim=16 conflicts with latent_dim=8"):
            train.train(Options(checkpoint=out, latent_dim=16), given={"checkpoint", "latent_dim"})

    def test_speed_flags_and_mirrored_strategy_train_and_resume(self):
        # MirroredStrategy on a machine without GPUs: one replica, on the CPU.
        out = os.path.join(self.get_temp_dir(), "fast")
        summary = _quiet(train.train, self._options(out, strategy="mirrored", jit_compile=True,
                                                    mixed_precision="float16", cache=True))
        self.assertEqual(summary.step, 3)
        with open(os.path.join(out, "options.json")) as f:
            saved = json.load(f)
        self.assertEqual((saved["jit_compile"], saved["mixed_precision"], saved["cache"]),
                         (True, "float16", True))
        self.assertEqual((saved["jit_compile_used"], saved["mixed_precision_used"]),
                         (True, "float16"))
        # Resumed on the default strategy, keeping the run's speed flags.
        summary = _quiet(train.train, Options(**{"checkpoint": out, "epochs": 2}),
                         given={"checkpoint", "epochs"})
        self.assertEqual((summary.step, summary.epoch), (6, 2))

    def test_auto_speed_settings_are_said_first_and_saved(self):
        out = os.path.join(self.get_temp_dir(), "auto")
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(io.StringIO()):
            train.train(self._options(out))
        expected, reason = precision.resolve("auto", machine.probe())
        lines = printed.getvalue().splitlines()
        self.assertEqual(lines[0], f"precision: {expected} ({reason})")
        self.assertTrue(lines[1].startswith("jit_compile: off (auto: "), msg=lines)
        self.assertIn("cache: on (auto: the training images as float32 need", printed.getvalue())
        with open(os.path.join(out, "options.json")) as f:
            saved = json.load(f)
        self.assertEqual((saved["mixed_precision"], saved["mixed_precision_used"]), ("auto", expected))
        self.assertEqual((saved["cache"], saved["cache_used"]), ("auto", True))

    def test_conv_and_plain_gan_train(self):
        for extra in ({"model": "conv"}, {"conditional": False}):
            out = os.path.join(self.get_temp_dir(), "run_" + "_".join(map(str, extra.values())))
            summary = _quiet(train.train, self._options(out, batch_size=24, **extra))
            self.assertEqual(summary.step, 2)


if __name__ == "__main__":
    tf.test.main()
