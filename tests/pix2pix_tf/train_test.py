import json
import os
import re
import shutil
import signal
import tempfile
import unittest

import numpy as np
import tensorflow as tf
from PIL import Image

from pix2pix_tf import options as options_lib
from pix2pix_tf import train
from pix2pix_tf.common import checkpoints, machine, precision, threads
from pix2pix_tf.common import options as common_options
from pix2pix_tf.common.errors import UserError
from tests.support import hardware, legacy
from tests.support import pix2pix as testing
from tests.support.checkpoints import every_checkpoint_tensor

OPTIMIZER_ITERATIONS = "generator_optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE"
GLOBAL_STEP = "global_step/.ATTRIBUTES/VARIABLE_VALUE"


def tiny(**overrides):
    """Every option of a run (the flags of main.py), tiny and fast."""
    return testing.tiny_options(**{"mode": "train", "seed": 5, **overrides})


def make_pairs(folder, count=3, size=32):
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        image = rng.integers(0, 256, size=(size, 2 * size, 3), dtype=np.uint8)
        Image.fromarray(image).save(os.path.join(folder, f"{i}.png"))
    return folder


def checkpoint_values(path):
    reader = tf.train.load_checkpoint(path)
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
            if name != "_CHECKPOINTABLE_OBJECT_GRAPH"}


class TrainTestCase(tf.test.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp(dir=self.get_temp_dir())
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.input_dir = make_pairs(os.path.join(self.tmp, "pairs"))
        self.lines = []

    def log(self, line):
        self.lines.append(line)


class ResumeTest(TrainTestCase):

    def test_resume_continues_step_and_optimizer_state_exactly(self):
        # Uninterrupted run to step 4, keeping what its checkpoint held at step 2.
        at_step_2 = {}
        original_save = checkpoints.RunCheckpoint.save

        def save_and_read(checkpoint, step):
            path = original_save(checkpoint, step)
            if int(step) == 2:
                at_step_2.update(checkpoint_values(path))
            return path

        whole = os.path.join(self.tmp, "whole")
        checkpoints.RunCheckpoint.save = save_and_read
        try:
            step = train.train(tiny(input_dir=self.input_dir, output_dir=whole, max_steps=4,
                                       save_freq=2), log=self.log).step
        finally:
            checkpoints.RunCheckpoint.save = original_save
        self.assertEqual(step, 4)
        self.assertNotEmpty(at_step_2)

        # The same run stopped at step 2.
        part = os.path.join(self.tmp, "part")
        self.assertEqual(train.train(tiny(input_dir=self.input_dir, output_dir=part,
                                             max_steps=2), log=self.log).step, 2)
        saved = checkpoint_values(tf.train.latest_checkpoint(part))
        self.assertEqual(saved[GLOBAL_STEP], 2)
        self.assertEqual(saved[OPTIMIZER_ITERATIONS], 2)
        self.assertEqual(saved["discriminator_optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE"], 2)
        slots = [name for name in saved if "optimizer/_variables" in name]
        self.assertNotEmpty(slots)
        self.assertCountEqual(saved, at_step_2)
        for name, value in saved.items():
            self.assertAllClose(value, at_step_2[name], rtol=1e-5, atol=1e-7, msg=name)
        self.assertTrue(any(np.any(saved[name] != 0) for name in slots))

        # Resume it to step 4: the step count and the optimizers carry on.
        self.lines = []
        step = train.train(tiny(input_dir=self.input_dir, output_dir=part, checkpoint=part,
                                   max_steps=4, progress_freq=1), given={"checkpoint", "max_steps"},
                           log=self.log).step
        self.assertEqual(step, 4)
        self.assertTrue(any(line.startswith("resumed from") and "at step 2" in line
                            for line in self.lines), self.lines)
        progress = [line for line in self.lines if line.startswith("progress")]
        self.assertLen(progress, 2)
        self.assertIn("  step 3/4", progress[0])
        self.assertIn("  step 4/4", progress[1])
        resumed = checkpoint_values(tf.train.latest_checkpoint(part))
        self.assertTrue(tf.train.latest_checkpoint(part).endswith("ckpt-4"))
        self.assertEqual(resumed[GLOBAL_STEP], 4)
        self.assertEqual(resumed[OPTIMIZER_ITERATIONS], 4)
        with open(os.path.join(part, "options.json")) as f:
            self.assertEqual(json.load(f)["seed"], 5)

    def test_a_resumed_run_trains_at_its_own_lr(self):
        # Keras' Adam checkpoints its rate: without resetting it a resumed run's
        # --lr (like the reference's, a plain flag) would do nothing.
        out = os.path.join(self.tmp, "lr")
        train.train(tiny(input_dir=self.input_dir, output_dir=out, max_steps=1, lr=5e-4),
                    log=self.log)
        train.train(tiny(input_dir=self.input_dir, output_dir=out, checkpoint=out, max_steps=2,
                         lr=1e-3), given={"checkpoint", "lr"}, log=self.log)
        self.assertIn("learning rate 0.001 (--lr), not the checkpoint's 0.0005", self.lines)
        saved = checkpoint_values(tf.train.latest_checkpoint(out))
        for optimizer in ("generator_optimizer", "discriminator_optimizer"):
            self.assertAllClose(saved[f"{optimizer}/_learning_rate/.ATTRIBUTES/VARIABLE_VALUE"],
                                1e-3)
        self.lines = []
        train.train(tiny(input_dir=self.input_dir, output_dir=out, checkpoint=out, max_steps=3,
                         lr=1e-3), given={"checkpoint", "lr"}, log=self.log)
        self.assertFalse([line for line in self.lines if "learning rate" in line], self.lines)

    def test_losses_plotted_on_the_display_page_at_the_end_and_across_a_resume(self):
        out = os.path.join(self.tmp, "run")
        train.train(tiny(input_dir=self.input_dir, output_dir=out, max_steps=3, summary_freq=1,
                            display_freq=2, progress_freq=1), log=self.log)
        with open(os.path.join(out, "losses.json")) as f:
            records = json.load(f)
        self.assertEqual([r["step"] for r in records], [1, 2, 3])
        # The values the progress line shows, smoothed.
        last = self.lines[[line.startswith("progress") for line in self.lines].index(True) + 2]
        for name in ("discriminator_loss", "generator_loss_GAN", "generator_loss_L1"):
            self.assertIn(f"{name} {records[2][name]:.4f}", last)
        with Image.open(os.path.join(out, "losses.png")) as image:
            self.assertEqual((image.format, image.size), ("PNG", (1260, 320)))
        with open(os.path.join(out, "index.html")) as f:
            self.assertIn("<img src='losses.png'", f.read())

        # A step logged after the last checkpoint (a crash) is logged anew on resume.
        records.append({"step": 4, "discriminator_loss": 123.0, "generator_loss_GAN": 123.0,
                        "generator_loss_L1": 123.0})
        with open(os.path.join(out, "losses.json"), "w") as f:
            json.dump(records, f)
        train.train(tiny(input_dir=self.input_dir, output_dir=out, checkpoint=out, max_steps=5,
                            summary_freq=1), given={"checkpoint", "max_steps"}, log=self.log)
        with open(os.path.join(out, "losses.json")) as f:
            resumed = json.load(f)
        self.assertEqual([r["step"] for r in resumed], [1, 2, 3, 4, 5])
        self.assertEqual(resumed[:3], records[:3])
        self.assertLess(resumed[3]["discriminator_loss"], 10)

    def test_model_option_conflict_names_both_values(self):
        out = os.path.join(self.tmp, "run")
        train.train(tiny(input_dir=self.input_dir, output_dir=out, max_steps=1), log=self.log)
        with self.assertRaisesRegex(UserError, r"--ngf=16.*ngf=8") as raised:
            train.train(tiny(input_dir=self.input_dir, output_dir=out, checkpoint=out,
                                max_steps=2, ngf=16), given={"checkpoint", "ngf"}, log=self.log)
        self.assertNotIn("\n", str(raised.exception))
        # Not given on the command line: the checkpoint's value is used.
        self.lines = []
        step = train.train(tiny(input_dir=self.input_dir, output_dir=out, checkpoint=out,
                                   max_steps=2, ngf=16), given={"checkpoint", "max_steps"},
                           log=self.log).step
        self.assertEqual(step, 2)
        self.assertIn("loaded ngf=8 from the checkpoint", self.lines)
        # A new run may not start over an existing checkpoint.
        with self.assertRaisesRegex(UserError, "already holds a checkpoint"):
            train.train(tiny(input_dir=self.input_dir, output_dir=out), log=self.log)


class ExactResumeTest(TrainTestCase):
    """Stopped at step N and resumed to 2N, a run ends bit for bit where an
    uninterrupted 2N-step run does, with dropout on (the default)."""

    def test_stop_and_resume_equals_an_uninterrupted_run(self):
        pairs = make_pairs(os.path.join(self.tmp, "four"), count=4)  # The stop is mid-epoch.
        whole, parts = os.path.join(self.tmp, "whole"), os.path.join(self.tmp, "parts")
        common = dict(input_dir=pairs, save_freq=3)
        self.assertTrue(tiny().dropout)
        train.train(tiny(output_dir=whole, max_steps=6, **common), log=self.log)
        train.train(tiny(output_dir=parts, max_steps=3, **common), log=self.log)
        self.lines = []
        train.train(tiny(output_dir=parts, checkpoint=parts, max_steps=6, **common),
                    given={"checkpoint", "max_steps"}, log=self.log)
        self.assertFalse(any("earlier version" in line for line in self.lines), self.lines)
        expected = every_checkpoint_tensor(tf.train.latest_checkpoint(whole))
        resumed = every_checkpoint_tensor(tf.train.latest_checkpoint(parts))
        self.assertTrue(any(name.startswith("random_states/") for name in expected), expected)
        self.assertCountEqual(resumed, expected)
        differing = [name for name in expected
                     if not np.array_equal(resumed[name], expected[name])]
        self.assertEqual(differing, [])

    def test_reports_at_the_stopping_step_change_nothing(self):
        # With the default options the stopped run's last step writes a
        # summary (its generator's batch norm and dropout run) where the
        # uninterrupted run writes none; with a display and a progress line
        # there too, and every 2 steps in both runs.
        pairs = make_pairs(os.path.join(self.tmp, "reported"), count=4)
        defaults = {name: getattr(options_lib.Options, name) for name in
                    ("summary_freq", "progress_freq", "display_freq", "save_freq")}
        for name, reports in (("defaults", defaults),
                              ("every_2", dict(summary_freq=2, display_freq=2, progress_freq=2))):
            with self.subTest(name):
                whole = os.path.join(self.tmp, name + "_whole")
                parts = os.path.join(self.tmp, name + "_parts")
                common = dict(input_dir=pairs, **reports)
                train.train(tiny(output_dir=whole, max_steps=4, **common), log=self.log)
                train.train(tiny(output_dir=parts, max_steps=2, **common), log=self.log)
                train.train(tiny(output_dir=parts, checkpoint=parts, max_steps=4, **common),
                            given={"checkpoint", "max_steps"}, log=self.log)
                expected = every_checkpoint_tensor(tf.train.latest_checkpoint(whole))
                resumed = every_checkpoint_tensor(tf.train.latest_checkpoint(parts))
                self.assertCountEqual(resumed, expected)
                self.assertEqual([n for n in expected if not np.array_equal(resumed[n], expected[n])
                                  and n != "save_counter/.ATTRIBUTES/VARIABLE_VALUE"], [])

    def test_a_checkpoint_made_before_random_states_resumes_and_says_so(self):
        run_dir = legacy.copy_legacy_pix2pix_run(os.path.join(self.tmp, "legacy"))
        step = train.train(tiny(input_dir=legacy.LEGACY_PIX2PIX_PAIRS, output_dir=run_dir,
                                checkpoint=run_dir, max_steps=3),
                           given={"checkpoint", "max_steps", "input_dir"}, log=self.log).step
        self.assertEqual(step, 3)
        self.assertTrue(any("without the random states of its layers: the run goes on, but not bit for "
                            "bit" in line for line in self.lines), self.lines)
        saved = checkpoint_values(tf.train.latest_checkpoint(run_dir))
        self.assertTrue(any(name.startswith("random_states/") for name in saved))


class NonFiniteLossTest(TrainTestCase):

    def test_nan_loss_stops_with_the_step_and_keeps_the_last_good_checkpoint(self):
        out = os.path.join(self.tmp, "diverged")
        # A learning rate this large throws the weights out of float range after one step.
        with self.assertRaisesRegex(
                UserError, r"^the losses became NaN or infinite at step 2: .*the last good "
                           rf"checkpoint, {re.escape(out)}/ckpt-1, is kept"):
            train.train(tiny(input_dir=self.input_dir, output_dir=out, max_steps=5, save_freq=1,
                             lr=1e30), log=self.log)
        self.assertEqual(os.path.basename(tf.train.latest_checkpoint(out)), "ckpt-1")
        values = checkpoint_values(tf.train.latest_checkpoint(out))
        self.assertTrue(all(np.all(np.isfinite(v)) for v in values.values()
                            if np.issubdtype(np.asarray(v).dtype, np.floating)))


class LastStepTest(TrainTestCase):

    def test_the_last_step_gets_its_progress_line_summary_and_display(self):
        out = os.path.join(self.tmp, "odd")
        train.train(tiny(input_dir=self.input_dir, output_dir=out, max_steps=3, progress_freq=2,
                         summary_freq=2, display_freq=2), log=self.log)
        progress = [line for line in self.lines if line.startswith("progress")]
        self.assertLen(progress, 2, self.lines)
        self.assertIn("  step 2/3", progress[0])
        self.assertIn("  step 3/3", progress[1])
        steps = set()
        for name in os.listdir(out):
            if name.startswith("events.out.tfevents"):
                for record in tf.data.TFRecordDataset(os.path.join(out, name)):
                    event = tf.compat.v1.Event.FromString(record.numpy())
                    if any(value.tag == "generator_loss_L1" for value in event.summary.value):
                        steps.add(event.step)
        self.assertEqual(sorted(steps), [2, 3])
        shown = sorted(name for name in os.listdir(os.path.join(out, "images"))
                       if name.endswith("-outputs.png"))
        self.assertEqual(shown, ["step-00000002-outputs.png", "step-00000003-outputs.png"])


class PlotTest(TrainTestCase):

    def test_a_200_step_run_plots_a_curve(self):
        # The default --summary_freq 100 would give the plot two points.
        out = os.path.join(self.tmp, "plotted")
        train.train(tiny(input_dir=self.input_dir, output_dir=out, max_steps=200,
                         summary_freq=options_lib.Options.summary_freq), log=self.log)
        with open(os.path.join(out, "losses.json")) as f:
            records = json.load(f)
        self.assertGreaterEqual(len(records), 20)
        for name in ("discriminator_loss", "generator_loss_GAN", "generator_loss_L1"):
            self.assertTrue(all(np.isfinite(record[name]) for record in records), name)
        self.assertEqual(records[-1]["step"], 200)
        self.assertTrue(os.path.isfile(os.path.join(out, "losses.png")))


class StopTest(TrainTestCase):

    def test_sigterm_saves_a_checkpoint_and_stops(self):
        out = os.path.join(self.tmp, "stopped")

        def log(line):
            self.lines.append(line)
            if line.startswith("progress") and "  step 2/" in line:
                os.kill(os.getpid(), signal.SIGTERM)

        previous = signal.getsignal(signal.SIGTERM)
        step = train.train(tiny(input_dir=self.input_dir, output_dir=out, max_steps=50,
                                   progress_freq=1), log=log).step
        self.assertEqual(step, 2)
        self.assertIs(signal.getsignal(signal.SIGTERM), previous)
        self.assertTrue(any(line.startswith("stopped by SIGTERM at step 2") for line in self.lines),
                        self.lines)
        path = tf.train.latest_checkpoint(out)
        self.assertTrue(path.endswith("ckpt-2"), path)
        self.assertEqual(checkpoint_values(path)[GLOBAL_STEP], 2)


class BadInputTest(TrainTestCase):

    def assert_user_error(self, pattern, **overrides):
        out = os.path.join(self.tmp, "out")
        bad = tiny(**{"input_dir": self.input_dir, "output_dir": out, "max_steps": 1, **overrides})
        with self.assertRaisesRegex(UserError, pattern) as raised:
            train.train(bad, given=set(overrides), log=self.log)
        self.assertNotIn("\n", str(raised.exception))
        self.assertFalse(os.path.exists(out), f"{out} left behind")

    def folder(self, name, files=()):
        path = os.path.join(self.tmp, name)
        os.makedirs(path)
        for filename, content in files:
            with open(os.path.join(path, filename), "wb") as f:
                f.write(content)
        return path

    def test_missing_or_empty_input_dir(self):
        self.assert_user_error("--input_dir is required", input_dir=None)
        self.assert_user_error("--input_dir is required", input_dir="")
        missing = os.path.join(self.tmp, "nowhere")
        self.assert_user_error(f"--input_dir {missing} does not exist", input_dir=missing)

    def test_special_files_and_huge_images_are_refused_unopened(self):
        fifo = self.folder("with_fifo")
        shutil.copy(os.path.join(self.input_dir, "0.png"), fifo)
        os.mkfifo(os.path.join(fifo, "1.png"))  # Opening it would wait for a writer.
        with testing.time_limit(120):
            self.assert_user_error(rf"^{fifo}/1\.png is a FIFO, not an image file$", input_dir=fifo)
        huge = self.folder("with_huge")
        Image.new("L", (6000, 3000)).save(os.path.join(huge, "0.png"))
        self.assert_user_error(rf"^{huge}/0\.png is too large: the image is 6000x3000", input_dir=huge)

    def test_folder_without_images(self):
        empty = self.folder("empty")
        self.assert_user_error(f"--input_dir {empty} holds no .png", input_dir=empty)
        text = self.folder("text", [("notes.txt", b"hello")])
        self.assert_user_error(f"--input_dir {text} holds no .png", input_dir=text)

    def test_undecodable_image_is_named(self):
        folder = make_pairs(os.path.join(self.tmp, "broken"))
        with open(os.path.join(folder, "7.png"), "wb") as f:
            f.write(b"\x89PNG this is not really a png")
        self.assert_user_error(r"broken/7\.png is not a decodable image", input_dir=folder)

    def test_truncated_image_is_named_before_anything_is_written(self):
        folder = make_pairs(os.path.join(self.tmp, "truncated"), count=4)
        path = os.path.join(folder, "3.png")
        with open(path, "rb") as f:
            content = f.read()
        with open(path, "wb") as f:
            f.write(content[:len(content) // 2])  # A valid header, then nothing.
        self.assert_user_error(r"truncated/3\.png is not a decodable image .*truncated",
                               input_dir=folder, cache=False)

    def test_file_name_that_is_not_utf8_is_named_by_its_bytes(self):
        folder = make_pairs(os.path.join(self.tmp, "names"), count=2)
        os.rename(os.path.join(folder, "1.png"),
                  os.path.join(os.fsencode(folder), b"caf\xe9.png"))
        self.assert_user_error(re.escape(repr(os.fsencode(folder) + b"/caf\xe9.png"))
                               + " its name is not valid UTF-8", input_dir=folder)

    def test_odd_width_pair(self):
        folder = make_pairs(os.path.join(self.tmp, "odd"))
        Image.fromarray(np.zeros((32, 63, 3), np.uint8)).save(os.path.join(folder, "9.png"))
        self.assert_user_error(r"odd/9\.png is 63x32: an A\|B pair needs an even width",
                               input_dir=folder)

    def test_scale_smaller_than_crop(self):
        self.assert_user_error("--scale_size 30 is smaller than --crop_size 32", scale_size=30)

    def test_crop_not_power_of_two(self):
        self.assert_user_error("--crop_size must be a power of two .* not 48", crop_size=48)
        self.assert_user_error("--crop_size must be a power of two .* not 16", crop_size=16)

    def test_checkpoint_without_options_or_checkpoint(self):
        no_options = self.folder("no_options")
        self.assert_user_error(f"--checkpoint {no_options} has no options.json",
                               checkpoint=no_options)
        no_checkpoint = self.folder("no_checkpoint",
                                    [("options.json",
                                      json.dumps(common_options.to_dict(tiny())).encode())])
        self.assert_user_error(f"--checkpoint {no_checkpoint} holds no checkpoint",
                               checkpoint=no_checkpoint)
        missing = os.path.join(self.tmp, "missing")
        self.assert_user_error(f"--checkpoint {missing} does not exist", checkpoint=missing)

    def test_unusable_output_dir(self):
        blocker = os.path.join(self.tmp, "blocker")
        with open(blocker, "w") as f:
            f.write("a file")
        for output_dir, message in ((blocker, f"--output_dir {blocker} is a file, not a folder"),
                                    (os.path.join(blocker, "run"), "cannot write to --output_dir "
                                     f"{blocker}/run: Not a directory"),
                                    ("/proc/pix2pix_run", "cannot write to --output_dir /proc")):
            with self.subTest(output_dir):
                with self.assertRaisesRegex(UserError, "^" + re.escape(message)):
                    train.train(tiny(input_dir=self.input_dir, output_dir=output_dir,
                                     max_steps=1), log=self.log)

    def test_missing_output_dir(self):
        with self.assertRaisesRegex(UserError, "--mode train needs --output_dir"):
            train.train(tiny(input_dir=self.input_dir, output_dir=None), log=self.log)


class SpeedFlagsTest(tf.test.TestCase):
    """--jit_compile and --mixed_precision give the plain step's losses.

    Both models start from the same weights (the same seed, then the plain
    model's weights copied) and take one step on the same fixed batch. The
    generator's dropout is switched off (rate 0) in both: its masks come from
    random numbers that XLA and the plain graph generate differently, and
    that bfloat16 compares with the rate in a coarser dtype, so with dropout
    on the losses would differ by the masks, not by the flags. The rest of
    the step (batch statistics, both networks, the losses) is deterministic.
    """

    def losses_of_one_step(self, **speed):
        options = tiny(**{"mixed_precision": "float32", "jit_compile": False, **speed})
        tf.keras.utils.set_random_seed(3)
        reference = train.build_model(tiny(mixed_precision="float32", jit_compile=False))
        tf.keras.utils.set_random_seed(3)
        model = train.build_model(options)
        for network, source in ((model.generator, reference.generator),
                                (model.discriminator, reference.discriminator)):
            network.set_weights(source.get_weights())
            for layer in network.layers:
                if isinstance(layer, tf.keras.layers.Dropout):
                    layer.rate = 0.0
        rng = np.random.default_rng(0)
        batch = tuple(tf.constant(rng.uniform(-1, 1, (2, 32, 32, 3)).astype(np.float32))
                      for _ in range(2))
        return {name: float(value) for name, value in
                train.make_train_step(model, options)(batch).items()}

    def test_xla_matches_the_plain_graph(self):
        plain = self.losses_of_one_step()
        xla = self.losses_of_one_step(jit_compile=True)
        self.assertAllClose(xla, plain, rtol=1e-4, atol=1e-5)

    def test_float16_within_its_precision_under_loss_scaling(self):
        plain = self.losses_of_one_step()
        mixed = self.losses_of_one_step(mixed_precision="float16")
        self.assertAllClose(mixed, plain, rtol=1e-2, atol=1e-3)  # 11 significant bits.
        model = train.build_model(tiny(mixed_precision="float16"))
        self.assertIsInstance(model.generator_optimizer, tf.keras.optimizers.LossScaleOptimizer)
        self.assertEqual(model.generator.get_layer("encoder_2_conv").compute_dtype, "float16")

    @unittest.skipIf(hardware.bfloat16_blocked(), hardware.BFLOAT16_BLOCKED_REASON)
    def test_bfloat16_within_its_precision(self):
        plain = self.losses_of_one_step()
        mixed = self.losses_of_one_step(mixed_precision="bfloat16")
        # bfloat16 keeps 8 significant bits (0.4% per rounding).
        self.assertAllClose(mixed, plain, rtol=2e-2, atol=1e-3)

    @unittest.skipIf(hardware.bfloat16_blocked(), hardware.BFLOAT16_BLOCKED_REASON)
    def test_bfloat16_keeps_float32_variables_and_losses(self):
        model = train.build_model(tiny(mixed_precision="bfloat16"))
        self.assertEqual(model.generator.get_layer("encoder_2_conv").compute_dtype, "bfloat16")
        for network in (model.generator, model.discriminator):
            # (Dropout's seed-generator state is int64.)
            self.assertEqual({v.dtype for v in network.variables if v.dtype != "int64"},
                             {"float32"})
            self.assertEqual(network.outputs[0].dtype, "float32")
        # The policy is the model's only: later models are float32.
        later = train.build_model(tiny(mixed_precision="float32"))
        self.assertEqual(later.generator.get_layer("encoder_2_conv").compute_dtype, "float32")
        self.assertEqual(tf.keras.config.dtype_policy().name, "float32")

    def test_thread_settings_too_late_are_reported_not_fatal(self):
        tf.constant(1.0) + 1.0  # TensorFlow is running.
        current = tf.config.threading.get_intra_op_parallelism_threads()
        self.assertTrue(threads.configure_threads(0, 0))
        self.assertFalse(threads.configure_threads(current + 3, 0))

    def test_speed_flags_are_saved_and_may_change_on_resume(self):
        folder = make_pairs(os.path.join(self.get_temp_dir(), "speed_pairs"))
        out = os.path.join(self.get_temp_dir(), "speed_run")
        first = tiny(input_dir=folder, output_dir=out, jit_compile=False,
                     mixed_precision="float16", fused_optimizer=True, cache=True)
        train.train(first, log=lambda line: None)
        with open(os.path.join(out, "options.json")) as f:
            saved = json.load(f)
        self.assertEqual((saved["jit_compile"], saved["mixed_precision"],
                          saved["fused_optimizer"], saved["cache"]), (False, "float16", True, True))
        with open(os.path.join(out, "run.json")) as f:
            used = json.load(f)
        self.assertEqual((used["mixed_precision"], used["cache"]), ("float16", True))
        # float16's loss scaler is not in the checkpoint: a float32 run resumes it.
        changed = {"mixed_precision": "float32", "fused_optimizer": False, "cache": False}
        resumed = tiny(input_dir=folder, output_dir=out, checkpoint=out, max_steps=3, **changed)
        self.assertEqual(train.train(resumed, given={"max_steps", *changed},
                                     log=lambda line: None).step, 3)

    def test_auto_says_its_choice_first_and_saves_request_and_choice(self):
        folder = make_pairs(os.path.join(self.get_temp_dir(), "auto_pairs"))
        out = os.path.join(self.get_temp_dir(), "auto_run")
        lines = []
        train.train(tiny(input_dir=folder, output_dir=out, max_steps=1), log=lines.append)
        expected, reason = precision.resolve("auto", machine.probe())
        self.assertEqual(lines[0], f"precision: {expected} ({reason})")
        self.assertTrue(lines[1].startswith("jit_compile: off (auto: "), msg=lines)
        self.assertTrue(lines[2].startswith("threads: "), msg=lines)
        self.assertTrue(any(line.startswith("cache: on (auto: ") for line in lines), msg=lines)
        with open(os.path.join(out, "options.json")) as f:
            saved = json.load(f)
        with open(os.path.join(out, "run.json")) as f:
            used = json.load(f)
        self.assertEqual((saved["mixed_precision"], used["mixed_precision"]), ("auto", expected))
        self.assertEqual((saved["jit_compile"], used["jit_compile"]), ("auto", False))
        self.assertEqual((saved["cache"], used["cache"]), ("auto", True))


if __name__ == "__main__":
    tf.test.main()
