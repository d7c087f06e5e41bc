"""A corrupt, partial or foreign checkpoint is one UserError naming the file, in every mode."""

import json
import os
import shutil
import subprocess
import sys
import tempfile

import tensorflow as tf

from cgan_mnist_tf import evaluate as cgan_evaluate
from cgan_mnist_tf import generate as cgan_generate
from cgan_mnist_tf import train as cgan_train
from cgan_mnist_tf.options import Options as CganOptions
from pix2pix_tf import export, inference, models, train
from pix2pix_tf.common import checkpoints
from pix2pix_tf.common.errors import UserError
from tests.support import cgan as cgan_testing
from tests.support import legacy
from tests.support import pix2pix as testing


def quiet(*args):
    pass


def truncate_data(run_dir):
    path = os.path.join(run_dir, "ckpt-2.data-00000-of-00001")
    with open(path, "rb") as f:
        content = f.read()
    with open(path, "wb") as f:
        f.write(content[:len(content) // 2])
    return "ckpt-2.data-00000-of-00001 is corrupt or incomplete"


def garble_index(run_dir):
    path = os.path.join(run_dir, "ckpt-2.index")
    with open(path, "r+b") as f:
        f.write(b"\0" * 64)
    return "ckpt-2.index is corrupt or incomplete"


def remove_data(run_dir):
    os.remove(os.path.join(run_dir, "ckpt-2.data-00000-of-00001"))
    return "ckpt-2.data-00000-of-00001 is missing"


def remove_index(run_dir):
    os.remove(os.path.join(run_dir, "ckpt-2.index"))
    return "ckpt-2.index is missing"


def garble_state_file(run_dir):
    with open(os.path.join(run_dir, "checkpoint"), "wb") as f:
        f.write(b"\xff\xfe not a checkpoint state {{")
    return "checkpoint is corrupt"


def unparsable_state_file(run_dir):
    with open(os.path.join(run_dir, "checkpoint"), "w") as f:
        f.write("model_checkpoint_path: {{ nonsense\n")
    return "checkpoint is corrupt"


CORRUPTIONS = (truncate_data, garble_index, remove_data, remove_index, garble_state_file,
               unparsable_state_file)


class Pix2PixCorruptCheckpointTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pairs = testing.write_pairs(os.path.join(tf.compat.v1.test.get_temp_dir(), "pairs"),
                                        count=2)

    def corrupt_run(self, corrupt):
        run_dir = legacy.copy_legacy_pix2pix_run(
            os.path.join(tempfile.mkdtemp(dir=self.get_temp_dir()), "run"))
        return run_dir, corrupt(run_dir)

    def modes(self):
        """Each mode of pix2pix that restores a checkpoint, as run_dir -> None."""
        out = os.path.join(tempfile.mkdtemp(dir=self.get_temp_dir()), "out")

        def options(mode, run_dir, **overrides):
            return testing.tiny_options(mode=mode, input_dir=self.pairs, checkpoint=run_dir,
                                        output_dir=out, **overrides)

        return {
            "train (resume)": lambda run: train.train(options("train", run, max_steps=3),
                                                      given={"input_dir", "max_steps"}, log=quiet),
            "test": lambda run: inference.run(options("test", run), log=quiet),
            "eval": lambda run: inference.run(options("eval", run), write_images=False, log=quiet),
            "export": lambda run: export.export(options("export", run), log=quiet),
        }

    def test_every_corruption_is_named_in_test_mode(self):
        for corrupt in CORRUPTIONS:
            with self.subTest(corrupt.__name__):
                run_dir, message = self.corrupt_run(corrupt)
                with self.assertRaisesRegex(UserError, f"^{run_dir}/{message}"):
                    self.modes()["test"](run_dir)

    def test_every_mode_names_the_file(self):
        for corrupt in (truncate_data, garble_index):
            for mode, run in self.modes().items():
                with self.subTest(f"{mode}, {corrupt.__name__}"):
                    run_dir, message = self.corrupt_run(corrupt)
                    with self.assertRaisesRegex(UserError, f"^{run_dir}/{message}"):
                        run(run_dir)

    def test_command_line_prints_one_error_line(self):
        run_dir, message = self.corrupt_run(truncate_data)
        result = subprocess.run(
            [sys.executable, "-m", "pix2pix_tf.main", "--mode", "export", "--checkpoint", run_dir,
             "--output_dir", tempfile.mkdtemp(dir=self.get_temp_dir())],
            cwd=cgan_testing.REPO_ROOT, capture_output=True, text=True, timeout=300,
            env={**os.environ, "PYTHONPATH": cgan_testing.REPO_ROOT, "TF_CPP_MIN_LOG_LEVEL": "3"})
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertNotIn("Traceback", result.stderr)
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        self.assertLen(errors, 1, result.stderr)
        self.assertStartsWith(errors[0], f"error: {run_dir}/{message}")
        self.assertEqual(result.stderr.strip().splitlines()[-1], errors[0])

    def test_a_checkpoint_of_another_model_is_named(self):
        run_dir = legacy.copy_legacy_pix2pix_run(
            os.path.join(tempfile.mkdtemp(dir=self.get_temp_dir()), "run"))
        generator = tf.keras.layers.Dense(3)
        generator.build((None, 5))
        with self.assertRaisesRegex(UserError, f"^{run_dir}/ckpt-2 does not hold the model"):
            checkpoints.RunCheckpoint(run_dir, generator=generator).restore(run_dir)
        # Restoring only some objects (test, export, generate) must find all of them:
        # another network, or a name the checkpoint lacks, would keep its initial weights.
        network = models.generator(32, 3, 3, 8)
        for name, trackable in (("generator", generator), ("ema_generator", network)):
            with self.subTest(name):
                with self.assertRaisesRegex(UserError, f"^{run_dir}/ckpt-2 does not hold the model"):
                    checkpoints.RunCheckpoint(run_dir, **{name: trackable}).restore(
                        run_dir, partial=True)

    def test_weights_that_do_not_match_options_json_are_named_so(self):
        run_dir = legacy.copy_legacy_pix2pix_run(
            os.path.join(tempfile.mkdtemp(dir=self.get_temp_dir()), "run"))
        path = os.path.join(run_dir, "options.json")
        with open(path) as f:
            saved = json.load(f)
        with open(path, "w") as f:
            json.dump({**saved, "ngf": saved["ngf"] * 2}, f)
        options = testing.tiny_options(mode="test", input_dir=self.pairs, checkpoint=run_dir,
                                       output_dir=os.path.join(run_dir, "tested"))
        with self.assertRaisesRegex(UserError, f"^{run_dir}/ckpt-2 does not hold the model of "
                                               "its options.json: its weights have other shapes"):
            inference.run(options, log=quiet)


class OtherProgramTest(tf.test.TestCase):
    """A run folder of the other package is named as such, before any restore."""

    def test_each_package_refuses_the_others_run(self):
        root = tempfile.mkdtemp(dir=self.get_temp_dir())
        cgan_run = os.path.join(root, "cgan_run")
        cgan_testing.untrained_run(cgan_run, latent_dim=8)
        pix2pix_run = legacy.copy_legacy_pix2pix_run(os.path.join(root, "pix2pix_run"))
        refusals = {
            "pix2pix test": lambda: inference.run(testing.tiny_options(
                mode="test", input_dir=legacy.LEGACY_PIX2PIX_PAIRS, checkpoint=cgan_run,
                output_dir=os.path.join(root, "out")), log=quiet),
            "pix2pix train": lambda: train.train(testing.tiny_options(
                input_dir=legacy.LEGACY_PIX2PIX_PAIRS, checkpoint=cgan_run), log=quiet),
            "cgan generate": lambda: cgan_generate.generate(CganOptions(
                mode="generate", checkpoint=pix2pix_run)),
        }
        for name, refused in refusals.items():
            with self.subTest(name):
                folder = pix2pix_run if name.startswith("cgan") else cgan_run
                with self.assertRaisesRegex(UserError, f"^--checkpoint {folder} is a run of "
                                                       "another program"):
                    refused()


class CganCorruptCheckpointTest(tf.test.TestCase):

    def test_every_mode_names_the_file(self):
        root = tempfile.mkdtemp(dir=self.get_temp_dir())
        data_dir = cgan_testing.write_idx_dir(os.path.join(root, "digits"), 20, 10)
        intact = os.path.join(root, "intact")
        cgan_testing.untrained_run(intact, data_dir, latent_dim=8, batch_size=10)
        os.rename(os.path.join(intact, "ckpt-0.index"), os.path.join(intact, "ckpt-2.index"))
        os.rename(os.path.join(intact, "ckpt-0.data-00000-of-00001"),
                  os.path.join(intact, "ckpt-2.data-00000-of-00001"))
        with open(os.path.join(intact, "checkpoint"), "w") as f:
            f.write('model_checkpoint_path: "ckpt-2"\n')
        modes = {
            "train (resume)": lambda run: cgan_train.train(CganOptions(checkpoint=run, epochs=2)),
            "generate": lambda run: cgan_generate.generate(
                CganOptions(mode="generate", checkpoint=run, output=os.path.join(root, "g.png"))),
            "eval": lambda run: cgan_evaluate.evaluate(
                CganOptions(mode="eval", checkpoint=run, output_dir=os.path.join(root, "eval"),
                            eval_samples=2, classifier_epochs=1), given={"output_dir"}),
        }
        for corrupt in (truncate_data, garble_index, remove_data, garble_state_file):
            for mode, run in modes.items():
                with self.subTest(f"{mode}, {corrupt.__name__}"):
                    run_dir = os.path.join(tempfile.mkdtemp(dir=self.get_temp_dir()), "run")
                    shutil.copytree(intact, run_dir)
                    message = corrupt(run_dir)
                    with self.assertRaisesRegex(UserError, f"^{run_dir}/{message}"):
                        run(run_dir)


if __name__ == "__main__":
    tf.test.main()
