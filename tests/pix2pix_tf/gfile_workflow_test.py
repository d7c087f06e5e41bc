"""The whole pix2pix workflow with every folder on TensorFlow's in-memory
ram:// file system, which goes through tf.io.gfile as gs:// does (gs://
itself needs a bucket and credentials), and the same on a local folder.

ram:// lives in this process, so the modes run in-process, not through the
command line. Quirks of ram:// (TensorFlow 2.21) that gs:// does not have:
any prefix of a file's name counts as an existing folder, and listing a
folder also lists its siblings whose names start with its own (RUN/samples
lists RUN/samples.gif as ".gif"), so no folder name here starts another's;
a file written over is appended to (the code writes new names and renames
them into place); a renamed folder leaves its files behind (exports are
copied into place).
"""

import io
import json
import os

import numpy as np
import tensorflow as tf
from PIL import Image

from pix2pix_tf import export, inference, predict, train
from pix2pix_tf.common import files
from pix2pix_tf.common.errors import UserError
from pix2pix_tf.serving import model as served_model
from tests.support import file_systems
from tests.support import pix2pix as testing

RAM_ROOT = "ram://gfile_workflow_test"


def tree(root):
    """The relative names of every file under `root`, whatever its file system."""
    names = set()
    for folder, _, filenames in tf.io.gfile.walk(root):
        relative = folder[len(root):].strip("/")
        names.update(os.path.join(relative, name) for name in filenames)
    return names


def png_size(data):
    with Image.open(io.BytesIO(data)) as image:
        return image.format, image.size


class GfileWorkflowTest(file_systems.RamAndLocalTestCase):

    RAM_ROOT = RAM_ROOT

    def workflow(self, root):
        lines = []
        log = lines.append
        pairs = testing.write_pairs(os.path.join(root, "pairs"), count=3)
        run = os.path.join(root, "run")
        tiny = dict(input_dir=pairs, display_freq=1, summary_freq=1, mixed_precision="float32")

        # Train: checkpoint, options.json, summaries and the display page in the run folder.
        result = train.train(testing.tiny_options(output_dir=run, **tiny), log=log)
        self.assertEqual(result.step, 2)
        written = tree(run)
        for name in ("checkpoint", "ckpt-2.index", "ckpt-2.data-00000-of-00001", "options.json",
                     "index.html", "losses.json", "losses.png",
                     "images/step-00000002-inputs.png", "images/step-00000002-outputs.png"):
            self.assertIn(name, written)
        self.assertTrue(any(name.startswith("events.out.tfevents") for name in written))
        self.assertFalse([name for name in written if ".tmp-" in name or ".write-test-" in name])
        saved = json.loads(files.read_bytes(os.path.join(run, "options.json")))
        self.assertEqual((saved["input_dir"], saved["ngf"], saved["crop_size"]), (pairs, 8, 32))
        self.assertIn("images/step-00000002-outputs.png",
                      files.read_text(os.path.join(run, "index.html")))
        self.assertEqual(png_size(files.read_bytes(os.path.join(run, "losses.png")))[0], "PNG")

        # A second run into the folder is refused; resuming from its checkpoint goes on.
        with self.assertRaisesRegex(UserError, "already holds a checkpoint"):
            train.train(testing.tiny_options(output_dir=run, **tiny), log=log)
        result = train.train(testing.tiny_options(output_dir=run, checkpoint=run, max_steps=4,
                                                  **tiny), given={"max_steps"}, log=log)
        self.assertEqual(result.step, 4)
        self.assertIn(f"resumed from {os.path.join(run, 'ckpt-2')} at step 2 (epoch 1)", lines)
        self.assertIn("ckpt-4.index", tree(run))
        self.assertNotIn("ckpt-2.index", tree(run))  # max_to_keep=1
        self.assertEqual([record["step"] for record in json.loads(
            files.read_bytes(os.path.join(run, "losses.json")))], [1, 2, 3, 4])

        # Test: per-image PNGs, metrics.json, histograms and index.html.
        tested = os.path.join(root, "tested")
        metrics = inference.run(testing.tiny_options(mode="test", input_dir=pairs, max_steps=0,
                                                     output_dir=tested, checkpoint=run), log=log)
        self.assertEqual(metrics["count"], 3)
        self.assertEqual(json.loads(files.read_bytes(os.path.join(tested, "metrics.json"))),
                         json.loads(json.dumps(metrics)))
        self.assertEqual(png_size(files.read_bytes(os.path.join(tested, "images", "2-outputs.png"))),
                         ("PNG", (32, 32)))
        self.assertIn("histograms.png", tree(tested))
        self.assertIn("images/3-targets.png", files.read_text(os.path.join(tested, "index.html")))

        # Eval: metrics.json only.
        evaluated = os.path.join(root, "evaluated")
        metrics = inference.run(testing.tiny_options(mode="eval", input_dir=pairs, max_steps=0,
                                                     output_dir=evaluated, checkpoint=run,
                                                     eval_mode=True),
                                write_images=False, log=log)
        self.assertEqual(tree(evaluated), {"metrics.json"})
        self.assertEqual(json.loads(files.read_bytes(os.path.join(evaluated, "metrics.json")))[
            "count"], 3)

        # Predict: one image file, at its own size, and an index.html whose inputs are
        # relative to it.
        predicted = os.path.join(root, "predicted")
        outcome = predict.predict(testing.tiny_options(mode="predict", input_dir=pairs,
                                                       output_dir=predicted, checkpoint=run),
                                  log=log)
        self.assertEqual(outcome["count"], 3)
        self.assertEqual(tree(predicted), {"1.png", "2.png", "3.png", "index.html"})
        self.assertEqual(png_size(files.read_bytes(os.path.join(predicted, "1.png"))),
                         ("PNG", (64, 32)))
        self.assertIn("../pairs/1.png", files.read_text(os.path.join(predicted, "index.html")))
        with self.assertRaisesRegex(UserError, "is the folder of the input images"):
            predict.predict(testing.tiny_options(mode="predict", input_dir=pairs,
                                                 output_dir=pairs + "/", checkpoint=run), log=log)

        # Export twice: versions 1 and 2, complete, nothing staged left beside them.
        first = export.export(testing.tiny_options(mode="export", output_dir=run, checkpoint=run),
                              log=log)
        second = export.export(testing.tiny_options(mode="export", output_dir=run, checkpoint=run),
                               log=log)
        base = os.path.join(run, "export")
        self.assertEqual((first, second), (os.path.join(base, "1"), os.path.join(base, "2")))
        self.assertCountEqual(files.listdir(base), ["1", "2"])
        for version in (first, second):
            self.assertTrue({"saved_model.pb", "pix2pix.json", "variables/variables.index"}
                            <= tree(version))
        info = json.loads(files.read_bytes(os.path.join(second, "pix2pix.json")))
        self.assertEqual((info["checkpoint"], info["training_input_dir"]),
                         (files.abspath(run), files.abspath(pairs)))

        # load_export reads the run folder's highest version and translates image bytes.
        loaded = export.load_export(run)
        self.assertEqual((loaded.path, loaded.version, loaded.crop_size), (second, 2, 32))
        self.assertEqual(loaded.info["which_direction"], "AtoB")
        outputs = loaded.translate([files.read_bytes(os.path.join(pairs, "1.png"))])
        self.assertEqual(png_size(outputs[0]), ("PNG", (32, 32)))
        with Image.open(io.BytesIO(outputs[0])) as image:
            self.assertGreater(np.asarray(image).std(), 0)  # An image, not a blank.

        # The server's --model (a run, its export base, a version) and --examples_dir.
        for model in (run, base, second):
            self.assertEqual(export.find_export(model, export_missing=True, log=log), second)
        self.assertEqual(served_model.run_of(second), files.abspath(run))
        self.assertEqual(served_model.version_of(second + "/"), 2)
        testing.write_pairs(os.path.join(root, "val"), count=2)
        self.assertEqual(served_model.default_examples_dir({"input_dir": pairs + "/"}),
                         os.path.join(root, "val"))
        examples = served_model.load_examples(os.path.join(root, "val"), saved, log=log)
        self.assertEqual([(name, png_size(data)) for name, data in examples],
                         [("1.png", ("PNG", (32, 32))), ("2.png", ("PNG", (32, 32)))])
        return lines


if __name__ == "__main__":
    tf.test.main()
