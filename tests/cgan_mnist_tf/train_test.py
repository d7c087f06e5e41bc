import contextlib
import io
import json
import os
import signal
from unittest import mock

import imageio.v3 as iio
import numpy as np
import tensorflow as tf
from PIL import Image

from cgan_mnist_tf import models, report, train
from cgan_mnist_tf.options import Options
from pix2pix_tf.common import checkpoints, lifecycle, machine, precision
from pix2pix_tf.common import options as common_options
from pix2pix_tf.common.errors import UserError
from tests.support import cgan as testing
from tests.support.checkpoints import every_checkpoint_tensor


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
                          "model": "mlp", "epochs": 1, "batch_size": 16, "latent_dim": 8,
                          "sample_interval": 2, **extra})

    def test_run_writes_samples_gif_options_and_checkpoint_then_resumes(self):
        out = os.path.join(self.get_temp_dir(), "run")
        summary = _quiet(train.train, self._options(out))
        self.assertEqual((summary.step, summary.epoch), (3, 1))
        self.assertEqual(sorted(os.listdir(os.path.join(out, "samples"))),
                         ["step_00000002.png", "step_00000003.png"])
        self.assertTrue(os.path.isfile(os.path.join(out, "samples.gif")))
        self.assertTrue(os.listdir(os.path.join(out, "logs")))
        # Losses at every step: a hundred points at most over a 3-step run.
        self.assertEqual(self._loss_steps(out), [1, 2, 3])
        with Image.open(os.path.join(out, "losses.png")) as image:
            self.assertEqual((image.format, image.size), ("PNG", (840, 320)))
        with open(os.path.join(out, "options.json")) as f:
            saved = json.load(f)
        self.assertEqual((saved["model"], saved["latent_dim"], saved["conditional"]), ("mlp", 8, True))
        with open(os.path.join(out, "run.json")) as f:
            self.assertIn("IDX files in", json.load(f)["data_source"])

        # Resume: step and epoch come back, the model from options.json, training goes on.
        before = self._generator_weights(out, common_options.from_dict(Options, saved))
        summary = _quiet(train.train, Options(**{"checkpoint": out, "epochs": 2}),
                         given={"checkpoint", "epochs"})
        self.assertEqual((summary.step, summary.epoch), (6, 2))
        self.assertNotAllClose(before, self._generator_weights(
            out, common_options.from_dict(Options, saved)))
        # The first run's too; grids at each multiple of 2 (every call ends
        # at one) and at each epoch's end.
        self.assertEqual(self._loss_steps(out), [1, 2, 3, 4, 5, 6])
        self.assertEqual(sorted(os.listdir(os.path.join(out, "samples")))[2:],
                         ["step_00000004.png", "step_00000006.png"])

    def _loss_steps(self, out):
        with open(os.path.join(out, "losses.json")) as f:
            records = json.load(f)
        for record in records:
            self.assertCountEqual(record, ["step", "d_loss", "g_loss", "d_x", "d_g_z"])
            self.assertTrue(0 <= record["d_x"] <= 1 and 0 <= record["d_g_z"] <= 1, record)
        return [record["step"] for record in records]

    def _generator_weights(self, out, options):
        gan = train.build_gan(options)
        checkpoints.RunCheckpoint(out, generator=gan.generator).restore(out, partial=True)
        return gan.generator.weights[0].numpy()

    def test_resume_restores_the_exact_state(self):
        out = os.path.join(self.get_temp_dir(), "exact")
        _quiet(train.train, self._options(out))
        with open(os.path.join(out, "options.json")) as f:
            options = common_options.from_dict(Options, json.load(f))
        gan = train.build_gan(options)
        state = train.run_state(options)
        checkpoint = lifecycle.run_checkpoint(train.RECIPE, gan,
                                              os.path.join(self.get_temp_dir(), "unused"), state)
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

        original = checkpoints.StopRequests
        checkpoints.StopRequests = StopAtOnce
        try:
            summary = _quiet(train.train, self._options(out, epochs=3))
        finally:
            checkpoints.StopRequests = original
        # The run stops at the end of the call in which the request came: the
        # first call, of 1 step (a 9-step run plots its losses at every step).
        self.assertEqual(lifecycle.call_length(0, 3, (2, 3, 1), lifecycle.STEPS_PER_CALL), 1)
        self.assertEqual((summary.step, summary.epoch, summary.stopped), (1, 0, "SIGINT"))
        self.assertTrue(tf.train.latest_checkpoint(out).endswith("ckpt-1"))
        summary = _quiet(train.train, Options(**{"checkpoint": out}),
                         given={"checkpoint"})
        # The first epoch goes on from where it stopped: 3 epochs of 3 steps in all.
        self.assertEqual((summary.step, summary.epoch), (9, 3))

    def test_a_resumed_run_keeps_its_lr_or_trains_at_a_given_one(self):
        # Keras' Adam checkpoints its rate: without resetting it a resumed run's
        # --lr would do nothing.
        out = os.path.join(self.get_temp_dir(), "lr")
        _quiet(train.train, self._options(out, lr=5e-4))
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(io.StringIO()):
            train.train(Options(checkpoint=out, epochs=2), given={"checkpoint", "epochs"})
        self.assertNotIn("learning rate", printed.getvalue())
        self.assertAllClose(self._learning_rates(out), [5e-4, 5e-4])
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(io.StringIO()):
            train.train(Options(checkpoint=out, epochs=3, lr=1e-3),
                        given={"checkpoint", "epochs", "lr"})
        self.assertIn("learning rate 0.001 (--lr), not the checkpoint's 0.0005", printed.getvalue())
        self.assertAllClose(self._learning_rates(out), [1e-3, 1e-3])
        with open(os.path.join(out, "options.json")) as f:
            self.assertEqual(json.load(f)["lr"], 1e-3)

    def _learning_rates(self, out):
        reader = tf.train.load_checkpoint(out)
        return [reader.get_tensor(f"{name}/_learning_rate/.ATTRIBUTES/VARIABLE_VALUE")
                for name in ("g_optimizer", "d_optimizer")]

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
        with open(os.path.join(out, "run.json")) as f:
            used = json.load(f)
        self.assertEqual((used["jit_compile"], used["mixed_precision"]), (True, "float16"))
        # Resumed on the default strategy, keeping the run's speed flags.
        summary = _quiet(train.train, Options(**{"checkpoint": out, "epochs": 2}),
                         given={"checkpoint", "epochs"})
        self.assertEqual((summary.step, summary.epoch), (6, 2))

    def test_auto_speed_settings_are_said_first_and_saved(self):
        out = os.path.join(self.get_temp_dir(), "auto")
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(io.StringIO()):
            train.train(self._options(out))
        # The mlp at batch 16 does ~180 FLOP per weight a step: bfloat16 only where native.
        expected, reason = precision.resolve("auto", machine.probe(),
                                             models.step_flops_per_weight("mlp", True, 16))
        lines = printed.getvalue().splitlines()
        self.assertEqual(lines[0], f"precision: {expected} ({reason})")
        self.assertTrue(lines[1].startswith("jit_compile: off (auto: "), msg=lines)
        self.assertIn("cache: on (auto: the training images as float32 need", printed.getvalue())
        with open(os.path.join(out, "options.json")) as f:
            saved = json.load(f)
        with open(os.path.join(out, "run.json")) as f:
            used = json.load(f)
        self.assertEqual((saved["mixed_precision"], used["mixed_precision"]), ("auto", expected))
        self.assertEqual((saved["cache"], used["cache"]), ("auto", True))

    def test_models_built_outside_a_run_get_the_runs_precision(self):
        # build_gan decides `auto` as train() does, by the step's FLOP per weight.
        for model in ("mlp", "conv"):
            options = Options(model=model, latent_dim=8)
            expected, _ = precision.resolve("auto", machine.probe(), train.flops_per_weight(options))
            gan = train.build_gan(options)
            self.assertEqual(gan.generator.dtype_policy.name,
                             precision.DTYPE_POLICIES[expected], msg=model)

    def test_cached_digits_are_prepared_once_for_every_epoch(self):
        out = os.path.join(self.get_temp_dir(), "prepared_once")
        with mock.patch.object(train.data, "to_model_range",
                               wraps=train.data.to_model_range) as prepare:
            summary = _quiet(train.train, self._options(out, epochs=3, cache="true"))
        self.assertEqual(summary.epoch, 3)
        self.assertEqual(prepare.call_count, 1)

    def test_progress_counts_the_runs_epochs_and_each_epochs_steps(self):
        # 3-step epochs in calls of 2 steps: the second call ends at the epoch's end.
        out = os.path.join(self.get_temp_dir(), "progress")
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(io.StringIO()):
            train.train(self._options(out, epochs=2))
        # A line at each epoch's end, counting the run's steps (3-step epochs).
        lines = [line for line in printed.getvalue().splitlines() if line.startswith("progress")]
        self.assertEqual([line.split("  ")[1:3] for line in lines],
                         [["epoch 1", "step 3/6"], ["epoch 2", "step 6/6"]])

    def test_a_two_epoch_run_plots_a_curve_and_animates_each_epoch(self):
        # The default --sample_interval 400 is longer than the whole run.
        out = os.path.join(self.get_temp_dir(), "two_epochs")
        result = _quiet(train.train, self._options(out, epochs=2,
                                                   sample_interval=Options.sample_interval))
        self.assertEqual(result.step, 6)
        self.assertEqual(self._loss_steps(out), [1, 2, 3, 4, 5, 6])
        frames = iio.imread(os.path.join(out, "samples.gif"), index=None)
        self.assertEqual(len(frames), 2)  # One grid at the end of each epoch.

    def test_conv_and_plain_gan_train(self):
        for extra in ({"model": "conv"}, {"conditional": False}):
            out = os.path.join(self.get_temp_dir(), "run_" + "_".join(map(str, extra.values())))
            summary = _quiet(train.train, self._options(out, batch_size=24, **extra))
            self.assertEqual(summary.step, 2)


def stop_at(step):
    """SIGTERM to this process once a call of steps ends at `step`."""
    original = report.SampleReport.after_steps

    def after_steps(self, reached, logs, batch, last):
        original(self, reached, logs, batch, last)
        if reached == step:
            os.kill(os.getpid(), signal.SIGTERM)

    return mock.patch.object(report.SampleReport, "after_steps", after_steps)


class TinyRunTestCase(tf.test.TestCase):
    """Runs on IMAGES tiny digits with the options DEFAULTS (and mlp, latent_dim 8)."""

    IMAGES = 48
    DEFAULTS = {}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.data_dir = testing.write_idx_dir(
            os.path.join(tf.compat.v1.test.get_temp_dir(), cls.__name__), cls.IMAGES, 10)

    def options(self, output_dir, **extra):
        return Options(**{"output_dir": output_dir, "data_dir": self.data_dir, "model": "mlp",
                          "latent_dim": 8, **self.DEFAULTS, **extra})


class ExactResumeTest(TinyRunTestCase):
    """Stopped and resumed, a run ends bit for bit where an uninterrupted one
    does, with dropout (the discriminator's) and fresh noise every step."""

    # 48 images in batches of 12: 4 steps per epoch.
    # sample_interval 1: one step per call, so a stop can come after any step.
    DEFAULTS = {"batch_size": 12, "sample_interval": 1, "seed": 4}

    def compare(self, whole, parts, ignore=()):
        expected = every_checkpoint_tensor(tf.train.latest_checkpoint(whole))
        resumed = every_checkpoint_tensor(tf.train.latest_checkpoint(parts))
        # The noise's and DiffAugment's states, and (mlp) two dropout layers'.
        self.assertGreaterEqual(len([name for name in expected
                                     if name.startswith("random_states/")]), 2)
        self.assertCountEqual(resumed, expected)
        differing = [name for name in expected
                     if name not in ignore and not np.array_equal(resumed[name], expected[name])]
        self.assertEqual(differing, [])

    def test_stopped_after_n_steps_and_resumed_to_2n_equals_an_uninterrupted_run(self):
        for model in ({"model": "mlp"},
                      {"model": "dcgan_proj", "diffaugment": "color,translation,cutout"}):
            with self.subTest(**model):
                whole = os.path.join(self.get_temp_dir(), model["model"] + "_whole")
                parts = os.path.join(self.get_temp_dir(), model["model"] + "_parts")
                given = {"checkpoint", "epochs"} | set(model)
                self.assertEqual(_quiet(train.train, self.options(whole, epochs=2, **model),
                                        given=given).step, 8)
                self.assertEqual(_quiet(train.train, self.options(parts, epochs=1, **model),
                                        given=given).step, 4)
                result = _quiet(train.train, Options(checkpoint=parts, epochs=2),
                                given={"checkpoint", "epochs"})
                self.assertEqual((result.step, result.epoch), (8, 2))
                self.compare(whole, parts)

    def test_stopped_in_the_middle_of_an_epoch(self):
        whole = os.path.join(self.get_temp_dir(), "whole_mid")
        parts = os.path.join(self.get_temp_dir(), "parts_mid")
        _quiet(train.train, self.options(whole, epochs=3))
        with stop_at(6):
            result = _quiet(train.train, self.options(parts, epochs=3))
        self.assertEqual((result.step, result.epoch, result.stopped), (6, 1, "SIGTERM"))
        result = _quiet(train.train, Options(checkpoint=parts), given={"checkpoint"})
        self.assertEqual((result.step, result.epoch), (12, 3))
        # The stop wrote one checkpoint more: only the count of saves differs.
        self.compare(whole, parts, ignore=("save_counter/.ATTRIBUTES/VARIABLE_VALUE",))

    def test_calls_of_several_steps_end_at_each_epochs_end(self):
        # sample_interval 3 in 4-step epochs: calls end at the samples (3, 6,
        # 9) and the epochs' ends (4, 8, 12), so calls of 3, 1, 2, 2, 1 and 3
        # steps; the run must equal one of one step per call.
        one = os.path.join(self.get_temp_dir(), "one_step_calls")
        several = os.path.join(self.get_temp_dir(), "three_step_calls")
        stopped = os.path.join(self.get_temp_dir(), "three_step_calls_stopped")
        with mock.patch.object(lifecycle, "STEPS_PER_CALL", 1):
            _quiet(train.train, self.options(one, epochs=3, sample_interval=3))
        self.assertEqual([lifecycle.call_length(step, (step // 4 + 1) * 4, (3, 4), 32)
                          for step in (0, 3, 4, 6, 8, 9)], [3, 1, 2, 2, 1, 3])
        result = _quiet(train.train, self.options(several, epochs=3, sample_interval=3))
        self.assertEqual((result.step, result.epoch), (12, 3))
        self.compare(one, several)
        # A stop comes at the end of a call: after step 6 (4 + 2), mid-epoch.
        with stop_at(6):
            result = _quiet(train.train, self.options(stopped, epochs=3, sample_interval=3))
        self.assertEqual((result.step, result.epoch), (6, 1))
        result = _quiet(train.train, Options(checkpoint=stopped), given={"checkpoint"})
        self.assertEqual((result.step, result.epoch), (12, 3))
        self.compare(one, stopped, ignore=("save_counter/.ATTRIBUTES/VARIABLE_VALUE",))

    def test_stopped_after_the_last_batch_of_an_epoch_counts_it_done(self):
        parts = os.path.join(self.get_temp_dir(), "parts_end")
        with stop_at(4):
            result = _quiet(train.train, self.options(parts, epochs=2))
        self.assertEqual((result.step, result.epoch), (4, 1))

    def test_a_checkpoint_made_before_random_states_resumes_and_says_so(self):
        out = os.path.join(self.get_temp_dir(), "legacy")
        options = self.options(out, epochs=1)
        gan = train.build_gan(options)
        checkpoints.RunCheckpoint(  # As the previous version saved it.
            out, generator=gan.generator, discriminator=gan.discriminator,
            d_optimizer=gan.discriminator_optimizer, g_optimizer=gan.generator_optimizer,
            **train.run_state(options)).save(0)
        common_options.save_options(out, options)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            result = train.train(Options(checkpoint=out), given={"checkpoint"})
        self.assertEqual(result.step, 4)
        self.assertIn("without the random states of its layers: the run goes on, "
                      "but not bit for bit", printed.getvalue())


class RunFolderTest(TinyRunTestCase):

    IMAGES = 32
    DEFAULTS = {"batch_size": 16, "sample_interval": 1, "epochs": 1}

    def test_a_finished_run_folder_is_not_overwritten(self):
        out = os.path.join(self.get_temp_dir(), "finished")
        _quiet(train.train, self.options(out))
        with open(os.path.join(out, "options.json")) as f:
            before = f.read()
        samples = sorted(os.listdir(os.path.join(out, "samples")))
        with self.assertRaisesRegex(UserError, f"^--output_dir {out} already holds a checkpoint: "
                                               f"resume it with --checkpoint {out}"):
            _quiet(train.train, self.options(out, seed=9, latent_dim=16))
        with open(os.path.join(out, "options.json")) as f:
            self.assertEqual(f.read(), before)
        self.assertEqual(sorted(os.listdir(os.path.join(out, "samples"))), samples)
        self.assertTrue(tf.train.latest_checkpoint(out).endswith("ckpt-2"))

    def test_unusable_output_dir_is_one_error(self):
        blocker = os.path.join(self.get_temp_dir(), "blocker")
        with open(blocker, "w") as f:
            f.write("a file")
        for output_dir, message in ((blocker, f"--output_dir {blocker} is a file, not a folder"),
                                    ("/proc/cgan_run", "cannot write to --output_dir /proc/cgan_run")):
            with self.subTest(output_dir):
                with self.assertRaisesRegex(UserError, "^" + message):
                    _quiet(train.train, self.options(output_dir))

    def test_nan_loss_stops_with_the_step_and_saves_no_spoiled_weights(self):
        out = os.path.join(self.get_temp_dir(), "diverged")
        # A learning rate this large spoils the first step: D's update makes G's loss infinite.
        with self.assertRaisesRegex(UserError, r"^the losses became NaN or infinite at step 1: "
                                               r".*no checkpoint was saved"):
            _quiet(train.train, self.options(out, lr=1e30, epochs=3))
        self.assertIsNone(tf.train.latest_checkpoint(out))

    def test_latent_dim_must_be_positive(self):
        out = os.path.join(self.get_temp_dir(), "latent")
        with self.assertRaisesRegex(UserError, "^--latent_dim must be at least 1, not 0$"):
            _quiet(train.train, self.options(out, latent_dim=0))
        self.assertFalse(os.path.exists(out))


if __name__ == "__main__":
    tf.test.main()
