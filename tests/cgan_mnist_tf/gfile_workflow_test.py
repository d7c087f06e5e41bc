"""cgan_mnist_tf's workflow (train, resume, generate, eval) with the data and
every output on TensorFlow's in-memory ram:// file system, which goes through
tf.io.gfile as gs:// does, and the same on a local folder. In-process: ram://
lives in this process. See tests/pix2pix_tf/gfile_workflow_test.py for the
quirks of ram:// the folder names avoid."""

import contextlib
import io
import json
import os

import tensorflow as tf
from PIL import Image

from cgan_mnist_tf import evaluate, generate, train
from cgan_mnist_tf.options import Options
from pix2pix_tf.common import files
from pix2pix_tf.common.errors import UserError
from tests.support import cgan as testing
from tests.support import file_systems

RAM_ROOT = "ram://cgan_gfile_workflow_test"


def quietly(fn, *args, **kwargs):
    """fn's result and what it printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        return fn(*args, **kwargs), out.getvalue()


def sample_grids(run):
    """The sample grids' names, sorted. Only step_*: ram:// lists samples.gif,
    beside the folder, as samples/.gif (any name prefix is a folder there)."""
    return sorted(name for name in files.listdir(os.path.join(run, "samples"))
                  if name.startswith("step_"))


def image_of(data):
    with Image.open(io.BytesIO(data)) as image:
        return image.format, image.size, getattr(image, "n_frames", 1)


class GfileWorkflowTest(file_systems.RamAndLocalTestCase):

    RAM_ROOT = RAM_ROOT

    def workflow(self, root):
        data_dir = testing.write_idx_dir(os.path.join(root, "digits"), 48, 30)
        run = os.path.join(root, "run")
        options = Options(output_dir=run, dataset="mnist", data_dir=data_dir, model="mlp", epochs=1,
                          batch_size=16, latent_dim=8, sample_interval=2,
                          mixed_precision="float32")

        # Train: 3 steps; samples, their GIF, losses, summaries, options.json, checkpoint.
        result, _ = quietly(train.train, options)
        self.assertEqual((result.step, result.epoch), (3, 1))
        self.assertIn("IDX files in " + data_dir, result.record["data_source"])
        self.assertEqual(sample_grids(run), ["step_00000002.png", "step_00000003.png"])
        self.assertEqual(result.outputs["gif"], os.path.join(run, "samples.gif"))
        self.assertEqual(image_of(files.read_bytes(result.outputs["gif"]))[::2], ("GIF", 2))
        self.assertTrue(files.listdir(os.path.join(run, "logs")))
        self.assertEqual(image_of(files.read_bytes(os.path.join(run, "losses.png")))[0], "PNG")
        saved = json.loads(files.read_bytes(os.path.join(run, "options.json")))
        self.assertEqual((saved["data_dir"], saved["latent_dim"]), (data_dir, 8))
        self.assertTrue(files.isfile(os.path.join(run, "ckpt-3.index")))

        # Another run into the folder is refused; resuming goes on to epoch 2.
        with self.assertRaisesRegex(UserError, "already holds a checkpoint"):
            quietly(train.train, options)
        result, printed = quietly(train.train, Options(checkpoint=run, epochs=2),
                                  given={"checkpoint", "epochs"})
        self.assertEqual((result.step, result.epoch), (6, 2))
        self.assertIn(f"resumed from {os.path.join(run, 'ckpt-3')} at step 3 (epoch 2)", printed)
        # A grid at each multiple of 2 (every call ends at one) and at the last step.
        self.assertEqual(sample_grids(run)[2:], ["step_00000004.png", "step_00000006.png"])
        self.assertEqual(image_of(files.read_bytes(result.outputs["gif"]))[::2], ("GIF", 4))

        # Generate: a grid of 3 labels x 4 samples.
        output = os.path.join(root, "grids", "three.png")
        written, _ = quietly(generate.generate, Options(checkpoint=run, labels="3,1,4", num=4,
                                                         output=output))
        self.assertEqual(written, output)
        self.assertEqual(image_of(files.read_bytes(output))[0], "PNG")

        # Eval: metrics.json, and the judge cached under the output folder, then reused.
        scored = os.path.join(root, "scored")
        eval_options = Options(checkpoint=run, output_dir=scored, eval_samples=3,
                               classifier_epochs=1)
        metrics, printed = quietly(evaluate.evaluate, eval_options, given={"output_dir"})
        self.assertIn("eval classifier: training on", printed)
        self.assertEqual(json.loads(files.read_bytes(os.path.join(scored, "metrics.json"))),
                         json.loads(json.dumps(metrics)))
        self.assertCountEqual(files.listdir(os.path.join(scored, "eval_classifier")),
                              ["classifier.weights.h5", "classifier.json"])
        again, printed = quietly(evaluate.evaluate, eval_options, given={"output_dir"})
        self.assertIn("eval classifier: cached", printed)
        self.assertEqual(again["classifier_accuracy"], metrics["classifier_accuracy"])


if __name__ == "__main__":
    tf.test.main()
