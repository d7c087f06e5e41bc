"""The web page of pix2pix_tf.serving in a real browser: headless Chromium,
driven by selenium through Debian's chromedriver (`.ci/run` installs both).

With PIX2PIX_SCREENSHOTS=FOLDER, test_the_page_at_desktop_and_phone_width
writes its screenshots there (docs/serve_page*.png come from
`PIX2PIX_SCREENSHOTS=docs`); PIX2PIX_SCREENSHOT_MODEL and
PIX2PIX_SCREENSHOT_EXAMPLES then name the model (a run or an export) and the
examples it serves in place of the test's tiny one.
"""

import base64
import io
import os
import shutil
import tempfile
import unittest

import numpy as np
import tensorflow as tf
from PIL import Image

from pix2pix_tf import palettes
from pix2pix_tf.common import files, image_io
from pix2pix_tf.dataset_tools import synthetic_facades
from tests.support.serving import post_json, request, start_server, trained_run

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    webdriver = None

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--window-size=1100,800")
MISSING = ("selenium is not installed (pip install -e '.[test]')" if webdriver is None else
           "no chromium or chromedriver on PATH (apt-get install chromium chromium-driver; "
           ".ci/run does)" if not (CHROMIUM and CHROMEDRIVER) else None)
PHONE = (390, 844)
BACKGROUND_LABEL = palettes.FACADE_COLOURS[0]
WINDOW_LABEL = palettes.FACADE_COLOURS[palettes.FACADE_CLASSES.index("window")]
# Pixels each model allows: an 80x80 upload is refused (413), a padded 56x56 one is not.
MAX_PIXELS = 4000

# The bytes of the image the page shows as output, base64, read back by the page itself.
READ_OUTPUT = """
const done = arguments[arguments.length - 1];
fetch(document.getElementById("output").src).then((r) => r.blob()).then((blob) => {
  const reader = new FileReader();
  reader.onload = () => done(reader.result.split(",")[1]);
  reader.readAsDataURL(blob);
});
"""


def pixels(data):
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def colours(image):
    return {tuple(int(v) for v in c) for c in image.reshape(-1, 3)}


def write_facade_pairs(directory, count=3):
    """A|B pairs of the synthetic facades: photo left, label map right (a BtoA model's input)."""
    for i in range(count):
        image_io.write_image(os.path.join(directory, f"{i + 1}.png"),
                             synthetic_facades.pair(5, 1, i, size=32))
    return directory


def write_edge_pairs(directory, count=3):
    """A|B pairs: a random photo left, black rectangle outlines on white right."""
    rng = np.random.default_rng(11)
    for i in range(count):
        edges = np.full((32, 32, 3), 255, np.uint8)
        for _ in range(3):
            top, left = rng.integers(0, 16, 2)
            bottom, right = top + rng.integers(6, 16), left + rng.integers(6, 16)
            edges[top:bottom, [left, right]] = edges[[top, bottom], left:right + 1] = 0
        photo = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
        image_io.write_image(os.path.join(directory, f"{i + 1}.png"), np.concatenate([photo, edges], 1))
    return directory


class BrowserTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if MISSING:
            raise unittest.SkipTest(MISSING)
        cls.root = tempfile.mkdtemp(prefix="browser_test_")
        # One model, BtoA as facades are, shown two kinds of examples: its
        # page must follow the examples' domain.
        run_dir = trained_run(cls.root, which_direction="BtoA")
        cls.labels, cls.stop_labels = start_server(
            run_dir, examples_dir=write_facade_pairs(os.path.join(cls.root, "facades")),
            max_pixels=MAX_PIXELS)
        cls.edges, cls.stop_edges = start_server(
            run_dir, examples_dir=write_edge_pairs(os.path.join(cls.root, "edges")))
        cls.downloads = os.path.join(cls.root, "downloads")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in CHROMIUM_FLAGS + (f"--user-data-dir={os.path.join(cls.root, 'profile')}",):
            options.add_argument(flag)
        options.add_experimental_option("prefs", {"download.default_directory": cls.downloads,
                                                  "download.prompt_for_download": False})
        cls.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)

    @classmethod
    def tearDownClass(cls):
        cls.driver.quit()
        cls.stop_labels()
        cls.stop_edges()
        shutil.rmtree(cls.root, ignore_errors=True)
        super().tearDownClass()

    def open_page(self, server):
        self.server = server
        self.driver.get(server.url)
        self.wait_for(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready"))

    def wait_for(self, condition):
        return WebDriverWait(self.driver, 60).until(condition)

    def element(self, element_id):
        return self.driver.find_element(By.ID, element_id)

    def status(self):
        return self.element("status").text

    def output_count(self):
        return int(self.element("output").get_attribute("data-count"))

    def translate_and_read(self):
        """Clicks translate, waits for the new output; returns its bytes."""
        count = self.output_count()
        self.element("translate").click()
        self.wait_for(lambda d: self.output_count() == count + 1)
        self.assertFalse(self.element("error").is_displayed(), self.element("error").text)
        return base64.b64decode(self.driver.execute_async_script(READ_OUTPUT))

    def rest(self, image):
        """The REST API's output for `image` (PNG bytes or an RGB array)."""
        if isinstance(image, np.ndarray):
            image = image_io.encode(image)
        status, body = post_json(self.server.url + "v1/models/pix2pix:predict",
                                 {"instances": [{"b64": base64.b64encode(image).decode()}]})
        self.assertEqual(status, 200, body)
        return pixels(base64.b64decode(body["predictions"][0]["b64"]))

    def canvas(self):
        url = self.driver.execute_script(
            "return document.getElementById('canvas').toDataURL('image/png')")
        return pixels(base64.b64decode(url.split(",")[1]))

    def swatches(self):
        """[(the swatch's visible text, its colour)], and the selected swatch's text."""
        swatches = self.driver.find_elements(By.CSS_SELECTOR, ".swatch")
        selected = [s.text for s in swatches if "selected" in s.get_attribute("class")]
        return [(s.text, s.get_attribute("data-colour")) for s in swatches], selected

    def stroke(self, dx=150, dy=100):
        # Offsets from the canvas' centre; it is shown 256 px wide for a 32 px model.
        ActionChains(self.driver).move_to_element_with_offset(self.element("canvas"), -80, -60) \
            .click_and_hold().move_by_offset(dx, 0).move_by_offset(0, dy).release().perform()

    def open_file(self, name, data):
        path = os.path.join(self.root, name)
        files.write_atomic(path, data)
        self.element("file").send_keys(path)

    def screenshot(self, name):
        """The whole page, written to $PIX2PIX_SCREENSHOTS/name when that is set."""
        folder = os.environ.get("PIX2PIX_SCREENSHOTS")
        if folder:
            # A window as tall as the page, its frame included, at the same width.
            width, height, page = self.driver.execute_script(
                "return [window.innerWidth, window.innerHeight, "
                "document.documentElement.scrollHeight]")
            window = self.driver.get_window_size()
            self.driver.set_window_size(window["width"], window["height"] - height + page)
            self.driver.execute_script("window.scrollTo(0, 0)")
            self.assertEqual(self.driver.execute_script("return window.innerWidth"), width)
            with Image.open(io.BytesIO(self.driver.get_screenshot_as_png())) as image:
                image.convert("RGB").save(os.path.join(folder, name), optimize=True)

    def test_a_label_map_model_draws_its_named_labels_on_the_background_label(self):
        self.open_page(self.labels)
        self.assertIn("facade label maps", self.element("model-info").text)
        swatches, selected = self.swatches()
        hex_colours = ["#%02x%02x%02x" % c for c in palettes.FACADE_COLOURS]
        # The names are the swatches' visible text, not tooltips.
        self.assertEqual(swatches, list(zip(palettes.FACADE_CLASSES, hex_colours)))
        self.assertEqual(selected, ["wall"])
        # The canvas starts with the first example, and that is no step to undo.
        _, _, example = request(self.labels.url + "examples/0.png")
        self.assertAllEqual(self.canvas(), pixels(example))
        self.assertFalse(self.element("undo").is_enabled())

        self.element("clear").click()
        self.assertEqual(colours(self.canvas()), {BACKGROUND_LABEL})
        self.driver.find_element(By.CSS_SELECTOR, ".swatch[data-name=window]").click()
        self.stroke()
        drawn = self.canvas()
        self.assertEqual(colours(drawn), {BACKGROUND_LABEL, WINDOW_LABEL})  # Crisp strokes.
        window = np.all(drawn == WINDOW_LABEL, axis=-1).sum()
        self.assertGreater(window, 20)
        # The eraser paints the background label.
        self.driver.find_element(By.CSS_SELECTOR, "input[name=tool][value=eraser]").click()
        self.stroke(dx=150, dy=0)
        erased = self.canvas()
        self.assertEqual(colours(erased), {BACKGROUND_LABEL, WINDOW_LABEL})
        self.assertLess(np.all(erased == WINDOW_LABEL, axis=-1).sum(), window)

        output = self.translate_and_read()
        self.assertEqual(pixels(output).shape, (32, 32, 3))
        self.assertAllEqual(pixels(output), self.rest(image_io.encode(self.canvas())))

    def test_an_edges_model_draws_black_on_white(self):
        self.open_page(self.edges)
        self.assertIn("edge drawings", self.element("model-info").text)
        self.assertEqual(self.swatches(), ([("black", "#000000"), ("white", "#ffffff")], ["black"]))
        self.assertEqual(colours(self.canvas()), {(255, 255, 255)})
        self.stroke()
        drawn = self.canvas()
        self.assertEqual(colours(drawn), {(255, 255, 255), (0, 0, 0)})
        self.assertAllEqual(pixels(self.translate_and_read()), self.rest(image_io.encode(drawn)))
        # Its examples are the edge halves of their pairs.
        _, _, example = request(self.edges.url + "examples/0.png")
        self.assertEqual(colours(pixels(example)), {(255, 255, 255), (0, 0, 0)})

    def test_an_uploaded_image_keeps_its_aspect_cropped_or_padded(self):
        self.open_page(self.labels)
        image = np.random.default_rng(3).integers(0, 256, (40, 56, 3), dtype=np.uint8)
        self.open_file("photo.png", image_io.encode(image))
        self.wait_for(lambda d: "photo.png: 56x40, cropped to 40x40" in self.status())
        # The page sends the centred square at the image's size; the server resizes it.
        self.assertAllEqual(pixels(self.translate_and_read()), self.rest(image[:, 8:48]))

        self.driver.find_element(By.CSS_SELECTOR, "input[name=fit][value=pad]").click()
        self.wait_for(lambda d: "photo.png: 56x40, padded to 56x56" in self.status())
        padded = np.empty((56, 56, 3), np.uint8)
        padded[:] = BACKGROUND_LABEL
        padded[8:48] = image
        self.assertAllEqual(self.canvas()[:3], np.full((3, 32, 3), BACKGROUND_LABEL))
        self.assertAllEqual(pixels(self.translate_and_read()), self.rest(padded))

    def test_an_uploaded_pair_is_split_as_the_examples_are(self):
        self.open_page(self.labels)
        pair = synthetic_facades.pair(8, 1, 0, size=32)
        self.open_file("pair.png", image_io.encode(pair))
        self.wait_for(lambda d: "pair.png: 64x32, an A|B pair: its right half" in self.status())
        self.assertAllEqual(self.canvas(), pair[:, 32:])  # The label map, not the photo.
        self.assertAllEqual(pixels(self.translate_and_read()), self.rest(pair[:, 32:]))

    def test_the_page_stays_consistent_after_a_broken_file_and_a_refused_image(self):
        self.open_page(self.labels)
        self.stroke()
        drawn = self.canvas()
        first = self.translate_and_read()
        status = self.status()

        self.open_file("broken.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 50)
        self.wait_for(lambda d: self.element("error").is_displayed())
        self.assertIn("cannot open broken.png", self.element("error").text)
        # Nothing changed but the error: canvas, status, output, picker and buttons.
        self.assertAllEqual(self.canvas(), drawn)
        self.assertEqual(self.status(), status)
        self.assertEqual(self.element("file").get_attribute("value"), "")
        self.assertTrue(self.element("translate").is_enabled())
        self.assertEqual(self.element("download").get_attribute("aria-disabled"), None)
        self.assertAllEqual(pixels(self.translate_and_read()), pixels(first))  # And clears it.

        big = np.random.default_rng(4).integers(0, 256, (80, 80, 3), dtype=np.uint8)
        self.open_file("big.png", image_io.encode(big))
        self.wait_for(lambda d: "big.png: 80x80" in self.status())
        self.element("translate").click()
        self.wait_for(lambda d: self.element("error").is_displayed())
        self.assertIn("the server answered 413", self.element("error").text)
        # No output beside an input it does not come from, nothing to download.
        self.assertFalse(self.element("output").is_displayed())
        self.assertEqual(self.element("download").get_attribute("aria-disabled"), "true")
        self.assertEqual(self.status(), "")
        self.assertTrue(self.element("translate").is_enabled())
        self.element("undo").click()
        self.assertAllEqual(self.canvas(), drawn)
        self.assertAllEqual(pixels(self.translate_and_read()), pixels(first))

    def test_undo_restores_the_canvas_and_what_translate_sends(self):
        self.open_page(self.labels)
        start = self.canvas()
        image = np.random.default_rng(5).integers(0, 256, (48, 36, 3), dtype=np.uint8)
        self.open_file("tall.png", image_io.encode(image))
        self.wait_for(lambda d: "tall.png: 36x48, cropped to 36x36" in self.status())
        opened = self.canvas()
        self.stroke()
        self.element("fill").click()
        self.assertEqual(colours(self.canvas()), {palettes.FACADE_COLOURS[1]})  # The pen's wall.
        self.element("undo").click()
        self.element("undo").click()
        self.assertAllEqual(self.canvas(), opened)
        self.assertIn("tall.png", self.status())
        # The opened image at its own size again, not the 32x32 canvas.
        self.assertAllEqual(pixels(self.translate_and_read()), self.rest(image[6:42]))
        self.element("undo").click()
        self.assertAllEqual(self.canvas(), start)
        self.assertFalse(self.element("undo").is_enabled())

    def test_download_saves_the_output(self):
        self.open_page(self.labels)
        self.assertEqual(self.element("download").get_attribute("aria-disabled"), "true")
        output = self.translate_and_read()
        self.element("download").click()
        path = os.path.join(self.downloads, "1-pix2pix.png")  # After the first example, 1.png.
        self.wait_for(lambda d: os.path.exists(path))
        self.wait_for(lambda d: files.read_bytes(path) == output)

    def test_an_example_translates_in_one_click(self):
        self.open_page(self.labels)
        examples = self.driver.find_elements(By.CSS_SELECTOR, "#examples button")
        self.assertLen(examples, 3)
        count = self.output_count()
        examples[2].click()
        self.wait_for(lambda d: self.output_count() == count + 1)
        output = base64.b64decode(self.driver.execute_async_script(READ_OUTPUT))
        _, _, example = request(self.labels.url + "examples/2.png")
        self.assertAllEqual(self.canvas(), pixels(example))
        self.assertAllEqual(pixels(output), self.rest(example))

    def test_the_page_at_desktop_and_phone_width(self):
        server = self.labels
        if os.environ.get("PIX2PIX_SCREENSHOT_MODEL"):
            server, stop = start_server(os.environ["PIX2PIX_SCREENSHOT_MODEL"],
                                        examples_dir=os.environ.get("PIX2PIX_SCREENSHOT_EXAMPLES"))
            self.addCleanup(stop)
        self.addCleanup(self.driver.set_window_size, 1100, 800)
        self.open_page(server)
        self.translate_and_read()
        self.screenshot("serve_page.png")

        self.driver.set_window_size(*PHONE)
        self.open_page(server)
        self.translate_and_read()
        width = self.driver.execute_script("return window.innerWidth")
        self.assertLessEqual(width, PHONE[0])
        # Nothing wider than the screen: no sideways scrolling, the canvas and output whole.
        self.assertLessEqual(self.driver.execute_script(
            "return document.documentElement.scrollWidth"), width)
        for element_id in ("canvas", "output", "translate", "download"):
            right = self.driver.execute_script(
                f"return document.getElementById('{element_id}').getBoundingClientRect().right")
            self.assertLessEqual(right, width, element_id)
        self.assertGreater(self.element("canvas").size["width"], 0.8 * width)
        self.screenshot("serve_page_phone.png")


if __name__ == "__main__":
    tf.test.main()
