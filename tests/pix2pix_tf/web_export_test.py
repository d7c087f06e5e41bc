"""--export_format web: the folder it writes, its errors, and the browser's
pixels against the SavedModel's, in real headless Chromium (selenium and
Debian's chromedriver, as tests/pix2pix_tf/serving/browser_test.py) over a
plain static file server."""

import functools
import http.server
import io
import json
import os
import shutil
import tempfile
import threading
import unittest
from unittest import mock

import numpy as np
import onnx
import tensorflow as tf
from PIL import Image

from pix2pix_tf import export
from pix2pix_tf.common import image_io
from pix2pix_tf.common.errors import UserError
from pix2pix_tf.web_export import convert
from tests.pix2pix_tf.serving.browser_test import CHROMEDRIVER, CHROMIUM, CHROMIUM_FLAGS, MISSING
from tests.support import pix2pix as testing

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    webdriver = None

# Output bytes (0..255) the browser may differ by from the SavedModel: float32
# weights give the same float sums in another order (a byte apart where a
# value sits on a rounding edge); float16 weights move every weight by up to
# 2^-11 of itself.
FLOAT32_TOLERANCE = 1
FLOAT16_TOLERANCE = 2

# Runs translate() of the page's translator on pixels given as a list (RGBA,
# row-major); returns the output's RGBA bytes as a list.
TRANSLATE = """
const [rgba, width, height, weights, done] = arguments;
(async () => {
  const { loadTranslator } = await import("./translate.js");
  const translator = weights === "page" ? window.translator : await loadTranslator({ weights });
  const image = new ImageData(new Uint8ClampedArray(rgba), width, height);
  const output = await translator.translate(image);
  return { width: output.width, pixels: Array.from(output.data) };
})().then(done, (error) => done({ error: String(error) }));
"""


def quiet(*args):
    pass


class QuietHandler(http.server.SimpleHTTPRequestHandler):

    def log_message(self, *args):
        pass


def static_server(directory):
    """A plain static file server of `directory` on a free port, from a
    thread; returns (its URL, a function that stops it)."""
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietHandler, directory=directory))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()

    def stop():
        httpd.shutdown()
        httpd.server_close()
        thread.join()

    return f"http://127.0.0.1:{httpd.server_address[1]}/", stop


def drawing(size):
    """RGBA strokes of two colours on a transparent background (as a page's
    canvas gives), alpha 0 or 255 only (a canvas keeps other alphas premultiplied)."""
    image = np.zeros((size, size, 4), np.uint8)
    image[size // 4: size // 4 + 3, 2:-2] = (0, 0, 255, 255)
    image[4:-4, size // 2: size // 2 + 2] = (200, 40, 10, 255)
    return image


class WebExportTest(tf.test.TestCase):
    """A tiny run without dropout, exported for the browser once."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = tempfile.mkdtemp(prefix="web_export_test_")
        cls.pairs, cls.run_dir = testing.tiny_run(cls.root, count=2, dropout=False)
        cls.web_dir = export.export(cls.options(), log=quiet)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.root, ignore_errors=True)
        super().tearDownClass()

    @classmethod
    def options(cls, **overrides):
        values = dict(mode="export", checkpoint=cls.run_dir, output_dir=cls.run_dir,
                      export_format="web")
        values.update(overrides)
        return testing.tiny_options(**values)

    def test_the_folder_holds_both_models_the_runtime_and_the_page(self):
        self.assertEqual(self.web_dir, os.path.join(self.run_dir, "web"))
        self.assertCountEqual(os.listdir(self.web_dir), [
            "model.onnx", "model_float16.onnx", "pix2pix.json", "index.html", "translate.js", "ort"])
        self.assertCountEqual(os.listdir(os.path.join(self.web_dir, "ort")), convert.RUNTIME_FILES)
        with open(os.path.join(self.web_dir, "pix2pix.json")) as f:
            self.assertEqual(json.load(f), {"crop_size": 32, "which_direction": "AtoB",
                                            "eval_mode": False, "dropout": False})
        full = onnx.load(os.path.join(self.web_dir, "model.onnx"))
        onnx.checker.check_model(full)
        self.assertEqual([d.dim_value for d in full.graph.input[0].type.tensor_type.shape.dim],
                         [1, 32, 32, 3])
        smaller = onnx.load(os.path.join(self.web_dir, "model_float16.onnx"))
        onnx.checker.check_model(smaller)
        halves = [t for t in smaller.graph.initializer if t.data_type == onnx.TensorProto.FLOAT16]
        self.assertNotEmpty(halves)
        self.assertLess(os.path.getsize(os.path.join(self.web_dir, "model_float16.onnx")),
                        0.6 * os.path.getsize(os.path.join(self.web_dir, "model.onnx")))
        # Nothing of the export's staging is left beside it.
        self.assertEqual([name for name in os.listdir(self.run_dir) if name.startswith(".staging")], [])

    def test_a_new_export_replaces_the_folder_whole(self):
        output_dir = os.path.join(self.root, "again")
        first = export.export(self.options(output_dir=output_dir), log=quiet)
        stray = os.path.join(first, "stray.txt")
        with open(stray, "w") as f:
            f.write("left by hand")
        self.assertEqual(export.export(self.options(output_dir=output_dir), log=quiet), first)
        self.assertFalse(os.path.exists(stray))
        self.assertEqual(sorted(os.listdir(output_dir)), ["web"])

    def test_a_missing_runtime_is_one_error_and_writes_nothing(self):
        output_dir = os.path.join(self.root, "no_runtime")
        with mock.patch.object(convert, "RUNTIME_DIST", os.path.join(self.root, "nowhere")):
            with self.assertRaisesRegex(UserError, "browser runtime is missing.*npm ci"):
                export.export(self.options(output_dir=output_dir), log=quiet)
        self.assertFalse(os.path.exists(os.path.join(output_dir, "web")))

    def test_a_failed_conversion_leaves_no_folder_and_no_staging(self):
        output_dir = os.path.join(self.root, "failed")
        with mock.patch.object(convert, "float16_weights", side_effect=OSError(28, "No space left")):
            with self.assertRaisesRegex(UserError, "cannot write to --output_dir.*No space left"):
                export.export(self.options(output_dir=output_dir), log=quiet)
        self.assertEqual(os.listdir(output_dir), [])

    def test_a_colouriser_is_refused_with_one_error(self):
        with mock.patch.object(convert, "to_onnx") as to_onnx:
            with self.assertRaisesRegex(UserError, "lab_colorization"):
                convert.export(None, self.options(lab_colorization=True), log=quiet)
        to_onnx.assert_not_called()


class BrowserTranslationTest(tf.test.TestCase):
    """The exported folder served by a plain static file server; the page's
    translator in headless Chromium against the SavedModel of the same run."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if MISSING:
            raise unittest.SkipTest(MISSING)
        cls.root = tempfile.mkdtemp(prefix="web_browser_test_")
        cls.pairs, cls.run_dir = testing.tiny_run(cls.root, count=2, dropout=False)
        options = testing.tiny_options(mode="export", checkpoint=cls.run_dir, output_dir=cls.run_dir)
        cls.saved_model = export.load_export(export.export(options, log=quiet))
        web_dir = export.export(testing.tiny_options(
            mode="export", checkpoint=cls.run_dir, output_dir=cls.run_dir, export_format="web"),
            log=quiet)
        cls.url, cls.stop = static_server(web_dir)
        chrome = webdriver.ChromeOptions()
        chrome.binary_location = CHROMIUM
        for flag in CHROMIUM_FLAGS + (f"--user-data-dir={os.path.join(cls.root, 'profile')}",):
            chrome.add_argument(flag)
        cls.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=chrome)
        cls.driver.set_script_timeout(120)
        cls.driver.get(cls.url + "index.html")
        WebDriverWait(cls.driver, 120).until(
            lambda d: "model loaded" in d.find_element("id", "status").text
            or "cannot" in d.find_element("id", "status").text)

    @classmethod
    def tearDownClass(cls):
        cls.driver.quit()
        cls.stop()
        shutil.rmtree(cls.root, ignore_errors=True)
        super().tearDownClass()

    def browser(self, rgba, weights="page"):
        """The page's translation of RGBA pixels [H, W, 4] -> RGB [crop, crop, 3]."""
        height, width = rgba.shape[:2]
        result = self.driver.execute_async_script(
            TRANSLATE, rgba.reshape(-1).tolist(), width, height, weights)
        self.assertNotIn("error", result)
        return np.array(result["pixels"], np.uint8).reshape(result["width"], result["width"], 4)[..., :3]

    def server_side(self, rgba):
        """The SavedModel's translation of the same pixels, as a PNG file."""
        output = self.saved_model.translate([image_io.encode(rgba, ".png")])[0]
        return np.asarray(Image.open(io.BytesIO(output)).convert("RGB"))

    def assert_close(self, browser, expected, tolerance):
        self.assertEqual(browser.shape, expected.shape)
        difference = np.abs(browser.astype(int) - expected.astype(int))
        self.assertLessEqual(difference.max(), tolerance)
        # Not all grey: the model's output has detail to compare.
        self.assertGreater(expected.std(), 1.0)

    def test_the_page_loads_the_model(self):
        self.assertIn("model loaded (float32 weights, deterministic)",
                      self.driver.find_element("id", "status").text)

    def test_an_example_gives_the_savedmodels_pixels(self):
        pair = image_io.read_rgb(os.path.join(self.pairs, "1.png"))
        example = np.concatenate([pair[:, :32], np.full((32, 32, 1), 255, np.uint8)], axis=-1)
        self.assert_close(self.browser(example), self.server_side(example), FLOAT32_TOLERANCE)

    def test_a_drawing_on_transparent_gives_the_savedmodels_pixels(self):
        image = drawing(32)
        self.assert_close(self.browser(image), self.server_side(image), FLOAT32_TOLERANCE)

    def test_float16_weights_stay_within_their_tolerance(self):
        image = drawing(32)
        self.assert_close(self.browser(image, "float16"), self.server_side(image), FLOAT16_TOLERANCE)
