import base64
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from unittest import mock

import numpy as np
import tensorflow as tf
from PIL import Image
from tensorflow.core.framework import types_pb2

from pix2pix_tf import export, inference
from pix2pix_tf.common import image_io
from pix2pix_tf.common.errors import UserError
from tests.support import paths, tf_serving_rest
from tests.support import pix2pix as testing

# Made before versions existed (see tests/data/README.md): its export is
# OUTPUT_DIR/export/saved_model.pb, base64 in `input`, base64 out `output`.
LEGACY_RUN = os.path.join(paths.REPO_ROOT, "tests", "data", "legacy_pix2pix_run")

# Runs in a fresh process: loads the SavedModel with nothing of this package.
LOAD_AND_TRANSLATE = """
import sys
import tensorflow as tf
model = tf.saved_model.load(sys.argv[1])
with open(sys.argv[2], "rb") as f:
    request = tf.constant([f.read()])
out = model.signatures["serving_default"](image_bytes=request)["output_bytes"]
with open(sys.argv[3], "wb") as f:
    f.write(out[0].numpy())
"""


def quiet(*args):
    pass


def image_file(shape, seed=0, extension=".png"):
    """Bytes of a PNG/JPEG of random pixels of `shape` (H, W[, C])."""
    pixels = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
    return image_io.encode(pixels, extension)


def decoded(contents):
    image = Image.open(io.BytesIO(contents))
    image.load()
    return image


class ExportTest(tf.test.TestCase):
    """One tiny run without dropout, so that outputs are deterministic while
    batch norm still uses batch statistics (the paper's test-time mode)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = tempfile.mkdtemp(prefix="export_test_")
        cls.pairs, cls.run_dir = testing.tiny_run(cls.root, count=4, dropout=False)
        cls.version_dir = export.export(cls.export_options(), log=quiet)
        cls.loaded = tf.saved_model.load(cls.version_dir)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.root, ignore_errors=True)
        super().tearDownClass()

    @classmethod
    def export_options(cls, **overrides):
        return testing.tiny_options(mode="export", checkpoint=cls.run_dir, output_dir=cls.run_dir,
                                    **overrides)

    def serve(self, images, signature="serving_default"):
        function = self.loaded.signatures[signature]
        name = next(iter(function.structured_input_signature[1]))
        output = next(iter(function.structured_outputs))
        return list(function(**{name: tf.constant(images)})[output].numpy())

    def test_each_export_is_a_new_version_folder_tf_serving_can_load(self):
        base = os.path.join(self.run_dir, "export")
        # What a killed export leaves: a staging folder of a process that is
        # gone, and the .export-* folder of the previous implementation.
        finished = subprocess.Popen([sys.executable, "-c", "pass"])
        finished.wait()
        stale = os.path.join(base, f"{export.STAGING_PREFIX}{finished.pid}-x")
        os.makedirs(os.path.join(stale, "variables"))
        old_style = os.path.join(self.run_dir, ".export-abc")
        os.makedirs(old_style)
        # A staging folder of a live process (this one) is an export in progress.
        live = os.path.join(base, f"{export.STAGING_PREFIX}{os.getpid()}-y")
        os.makedirs(live)
        self.addCleanup(shutil.rmtree, live, ignore_errors=True)
        messages = []
        before = export.versions(base)

        path = export.export(self.export_options(eval_mode=True), log=messages.append)

        self.assertEqual(path, os.path.join(base, str(before[-1] + 1)))
        self.assertEqual(export.versions(base), before + [before[-1] + 1])
        self.assertFalse(os.path.exists(stale))
        self.assertFalse(os.path.exists(old_style))
        self.assertTrue(os.path.isdir(live))
        self.assertTrue(any(f"removed {stale}" in m for m in messages), messages)
        self.assertEqual(sorted(os.listdir(base)),
                         sorted([str(v) for v in export.versions(base)] + [os.path.basename(live)]))
        for version in export.versions(base):
            loaded = tf.saved_model.load(os.path.join(base, str(version)))
            self.assertEqual(set(loaded.signatures), {"serving_default", "reference", "translate"})
        # The --eval_mode version's translate is the generator with moving statistics.
        _, generator = inference.load_generator(self.export_options(), (), log=quiet)
        images = np.random.default_rng(1).uniform(-1, 1, (2, 32, 32, 3)).astype(np.float32)
        translated = tf.saved_model.load(path).signatures["translate"](images=tf.constant(images))
        self.assertAllClose(translated["outputs"], generator(images, training=False), atol=1e-5)
        with open(os.path.join(path, export.INFO_FILE)) as f:
            info = json.load(f)
        self.assertEqual((info["crop_size"], info["eval_mode"]), (32, True))
        self.assertEqual(info["training_input_dir"], os.path.abspath(self.pairs))

    def test_a_failed_export_leaves_no_version_and_no_staging(self):
        base = os.path.join(self.run_dir, "export")
        before = sorted(os.listdir(base))

        def crash(module, path, signatures):
            with open(os.path.join(path, "saved_model.pb"), "wb") as f:
                f.write(b"half")
            raise OSError(28, "No space left on device")

        with mock.patch.object(tf.saved_model, "save", side_effect=crash):
            with self.assertRaises(OSError):
                export.export(self.export_options(), log=quiet)
        self.assertEqual(sorted(os.listdir(base)), before)

    def test_signatures_are_the_contract_tf_serving_sees(self):
        defs = {name: signature for name, signature
                in tf_serving_rest.signature_defs(self.version_dir).items()
                if not name.startswith("__")}  # __saved_model_init_op: every SavedModel has it.
        shapes = {}
        for name, signature in defs.items():
            for side in ("inputs", "outputs"):
                for key, info in getattr(signature, side).items():
                    shapes[name, side, key] = (info.dtype, [d.size for d in info.tensor_shape.dim])
        string = types_pb2.DT_STRING
        self.assertEqual(shapes, {
            ("serving_default", "inputs", "image_bytes"): (string, [-1]),
            ("serving_default", "outputs", "output_bytes"): (string, [-1]),
            ("reference", "inputs", "input"): (string, [-1]),
            ("reference", "outputs", "output"): (string, [-1]),
            ("translate", "inputs", "images"): (types_pb2.DT_FLOAT, [-1, 32, 32, 3]),
            ("translate", "outputs", "outputs"): (types_pb2.DT_FLOAT, [-1, 32, 32, 3]),
        })

    def test_rest_json_round_trips_as_tf_serving_answers_it(self):
        photo, drawing = image_file((50, 70, 3)), image_file((23, 37), seed=1, extension=".jpg")
        request = {"instances": [{"b64": base64.b64encode(photo).decode()},
                                 {"b64": base64.b64encode(drawing).decode()}]}
        response = json.loads(tf_serving_rest.predict(self.version_dir, self.loaded,
                                                      json.dumps(request)))
        self.assertEqual(list(response), ["predictions"])
        self.assertLen(response["predictions"], 2)
        outputs = [base64.b64decode(p["b64"]) for p in response["predictions"]]
        for output in outputs:
            image = decoded(output)
            self.assertEqual((image.format, image.size, image.mode), ("PNG", (32, 32), "RGB"))
        self.assertEqual(outputs, self.serve([photo, drawing]))
        # The reference's contract over REST: base64 text in, web-safe base64 text out.
        reference = json.loads(tf_serving_rest.predict(self.version_dir, self.loaded, json.dumps({
            "signature_name": "reference", "instances": [base64.b64encode(photo).decode()]})))
        self.assertEqual(base64.urlsafe_b64decode(reference["predictions"][0]), outputs[0])

    def test_serving_default_takes_file_bytes_or_their_base64_per_element(self):
        photo = image_file((40, 40, 4), seed=2)
        standard = base64.b64encode(photo)
        websafe_wrapped = b"\n".join(  # Web-safe, no padding, in 76-character lines.
            base64.urlsafe_b64encode(photo).rstrip(b"=")[i:i + 76] for i in range(0, len(standard), 76))
        outputs = self.serve([photo, standard, websafe_wrapped, image_file((40, 40, 3), 3, ".jpg")])
        self.assertEqual(outputs[0], outputs[1])
        self.assertEqual(outputs[0], outputs[2])
        self.assertEqual(decoded(outputs[3]).size, (32, 32))
        with self.assertRaises(tf.errors.InvalidArgumentError):
            self.serve([b"not an image"])

    def test_an_image_gives_the_same_output_alone_and_in_a_request_of_four(self):
        images = [image_file((32 + 8 * i, 48, 3), seed=10 + i) for i in range(4)]
        self.assertEqual(self.serve(images[:1])[0], self.serve(images)[0])
        self.assertEqual(self.serve(images[:1], "reference")[0],
                         self.serve(images, "reference")[0])
        floats = np.random.default_rng(4).uniform(-1, 1, (4, 32, 32, 3)).astype(np.float32)
        translate = self.loaded.signatures["translate"]
        alone = translate(images=tf.constant(floats[:1]))["outputs"]
        together = translate(images=tf.constant(floats))["outputs"]
        self.assertAllEqual(alone[0], together[0])
        # Without translating each image on its own, batch norm mixes them.
        _, generator = inference.load_generator(self.export_options(), (), log=quiet)
        batched = generator(floats, training=True)
        self.assertGreater(float(tf.reduce_max(tf.abs(batched[0] - alone[0]))), 1e-3)

    def test_load_export_reads_run_base_version_and_unversioned_folders(self):
        photo = image_file((30, 45, 3), seed=5)
        base = os.path.join(self.run_dir, "export")
        newest = os.path.join(base, str(export.versions(base)[-1]))
        for path, expected in ((self.run_dir, newest), (base, newest),
                               (self.version_dir, self.version_dir)):
            model = export.load_export(path)
            self.assertEqual((model.path, model.crop_size), (expected, 32))
            self.assertEqual(model.version, int(os.path.basename(expected)))
            self.assertEqual(model.info["which_direction"], "AtoB")
        self.assertEqual(export.load_export(self.version_dir).translate([photo]), self.serve([photo]))

        # An export made before versions: OUTPUT_DIR/export/saved_model.pb.
        old_run = os.path.join(self.get_temp_dir(), "old_run")
        shutil.copytree(LEGACY_RUN, old_run)
        for path in (old_run, os.path.join(old_run, "export")):
            model = export.load_export(path)
            self.assertEqual((model.version, model.crop_size, model.info), (None, 32, {}))
            outputs = model.translate([photo, image_file((20, 20, 4), seed=6)])
            self.assertEqual([decoded(o).size for o in outputs], [(32, 32), (32, 32)])
            self.assertEqual(decoded(outputs[0]).format, "PNG")
        # Its serving_default batches a request; load_export sends one image per call.
        with mock.patch.object(model, "_serving", wraps=model._serving) as serving:
            model.translate([photo, photo, photo])
        self.assertEqual([call.kwargs["input"].shape[0] for call in serving.call_args_list], [1, 1, 1])
        self.assertEqual(model.translate([]), [])

        with self.assertRaisesRegex(UserError, "holds no exported model"):
            export.load_export(self.pairs)
        with self.assertRaisesRegex(UserError, "does not exist"):
            export.load_export(os.path.join(self.root, "nowhere"))

    def test_a_fresh_process_serves_it_with_tensorflow_alone(self):
        photo = os.path.join(self.get_temp_dir(), "photo.png")
        with open(photo, "wb") as f:
            f.write(image_file((50, 70, 2), seed=7))  # Gray + alpha, another size.
        out = os.path.join(self.get_temp_dir(), "out.png")
        subprocess.run([sys.executable, "-c", LOAD_AND_TRANSLATE, self.version_dir, photo, out],
                       check=True, capture_output=True)
        with open(out, "rb") as f, open(photo, "rb") as g:
            served = f.read()
            self.assertEqual(served, self.serve([g.read()])[0])
        self.assertEqual(decoded(served).size, (32, 32))


class ColouriserExportTest(tf.test.TestCase):

    def test_colouriser_exports_and_colours_a_photo(self):
        photos, run_dir = testing.tiny_run(self.get_temp_dir(), lab_colorization=True)
        path = export.export(testing.tiny_options(mode="export", checkpoint=run_dir, output_dir=run_dir,
                                                  output_filetype="jpeg"), log=quiet)
        model = export.load_export(run_dir)
        self.assertEqual(model.path, path)
        with open(os.path.join(photos, "1.png"), "rb") as f:
            served = decoded(model.translate([f.read()])[0])
        self.assertEqual((served.format, served.size), ("JPEG", (32, 32)))
        translated = model.model.signatures["translate"](images=tf.zeros((1, 32, 32, 1)))
        self.assertEqual(translated["outputs"].shape, (1, 32, 32, 2))  # The a/b colour channels.


if __name__ == "__main__":
    tf.test.main()
