"""The web page of pix2pix_tf.serving in a real browser: headless Chromium,
driven by selenium through Debian's chromedriver (`.ci/run` installs both)."""

import base64
import io
import os
import shutil
import tempfile
import unittest

import numpy as np
import tensorflow as tf
from PIL import Image

from pix2pix_tf.common import files, image_io
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


class BrowserTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if MISSING:
            raise unittest.SkipTest(MISSING)
        cls.root = tempfile.mkdtemp(prefix="browser_test_")
        cls.server, cls.stop = start_server(trained_run(cls.root))
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in CHROMIUM_FLAGS + (f"--user-data-dir={os.path.join(cls.root, 'profile')}",):
            options.add_argument(flag)
        cls.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)

    @classmethod
    def tearDownClass(cls):
        cls.driver.quit()
        cls.stop()
        shutil.rmtree(cls.root, ignore_errors=True)
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.driver.get(self.server.url)
        self.wait_for(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready"))

    def wait_for(self, condition):
        return WebDriverWait(self.driver, 60).until(condition)

    def element(self, element_id):
        return self.driver.find_element(By.ID, element_id)

    def translate_and_read(self, button="translate"):
        """Clicks `button`, waits for the new output; returns its bytes."""
        count = int(self.element("output").get_attribute("data-count"))
        self.element(button).click()
        self.wait_for(lambda d: int(d.find_element(By.ID, "output").get_attribute("data-count"))
                      == count + 1)
        self.assertFalse(self.element("error").is_displayed(), self.element("error").text)
        return base64.b64decode(self.driver.execute_async_script(READ_OUTPUT))

    def rest(self, image):
        status, body = post_json(self.server.url + "v1/models/pix2pix:predict",
                                 {"instances": [{"b64": base64.b64encode(image).decode()}]})
        self.assertEqual(status, 200, body)
        return pixels(base64.b64decode(body["predictions"][0]["b64"]))

    def canvas_png(self):
        url = self.driver.execute_script(
            "return document.getElementById('canvas').toDataURL('image/png')")
        return base64.b64decode(url.split(",")[1])

    def test_an_uploaded_photo_gives_the_pixels_of_the_rest_api(self):
        image = np.random.default_rng(3).integers(0, 256, (40, 56, 3), dtype=np.uint8)
        path = os.path.join(self.root, "photo.png")
        image_io.write_image(path, image)
        self.element("file").send_keys(path)
        self.wait_for(lambda d: "photo.png" in d.find_element(By.ID, "status").text)
        output = self.translate_and_read()
        with open(path, "rb") as f:
            self.assertAllEqual(pixels(output), self.rest(f.read()))
        self.assertEqual(pixels(output).shape, (32, 32, 3))
        # The model has no dropout: sampling again gives the same output.
        self.assertAllEqual(pixels(self.translate_and_read("again")), pixels(output))

    def test_strokes_on_the_canvas_are_translated(self):
        wall = self.driver.find_element(By.CSS_SELECTOR, ".swatch[title=wall]")
        wall.click()
        canvas = self.element("canvas")
        # Offsets from the canvas' centre; it is shown 256 px wide for a 32 px model.
        ActionChains(self.driver).move_to_element_with_offset(canvas, -80, -60).click_and_hold() \
            .move_by_offset(150, 0).move_by_offset(0, 100).release().perform()
        drawn = pixels(self.canvas_png())
        colours = {tuple(c) for c in drawn.reshape(-1, 3)}
        self.assertEqual(colours, {(255, 255, 255), (0, 0, 255)})  # Crisp strokes in the wall blue.
        self.assertGreater(np.all(drawn == (0, 0, 255), axis=-1).sum(), 20)

        output = self.translate_and_read()
        self.assertEqual(pixels(output).shape, (32, 32, 3))
        self.assertAllEqual(pixels(output), self.rest(self.canvas_png()))
        self.element("clear").click()
        self.assertEqual({tuple(c) for c in pixels(self.canvas_png()).reshape(-1, 3)},
                         {(255, 255, 255)})

    def test_an_example_translates_in_one_click(self):
        examples = self.driver.find_elements(By.CSS_SELECTOR, "#examples button")
        self.assertLen(examples, 3)
        count = int(self.element("output").get_attribute("data-count"))
        examples[2].click()
        self.wait_for(lambda d: int(d.find_element(By.ID, "output").get_attribute("data-count"))
                      == count + 1)
        output = base64.b64decode(self.driver.execute_async_script(READ_OUTPUT))
        _, _, example = request(self.server.url + "examples/2.png")
        self.assertAllEqual(pixels(output), self.rest(example))

    def test_a_server_error_is_shown_in_the_page(self):
        path = os.path.join(self.root, "picture.gif")
        gif = io.BytesIO()
        Image.new("RGB", (16, 16), (200, 30, 30)).save(gif, format="GIF")
        files.write_atomic(path, gif.getvalue())
        self.element("file").send_keys(path)  # The browser reads GIF; the server takes PNG/JPEG.
        self.wait_for(lambda d: "picture.gif" in d.find_element(By.ID, "status").text)
        self.element("translate").click()
        self.wait_for(lambda d: d.find_element(By.ID, "error").is_displayed())
        self.assertIn("400", self.element("error").text)
        self.assertIn("only PNG and JPEG", self.element("error").text)
        # The page and the server go on: a drawing translates and clears the error.
        ActionChains(self.driver).move_to_element(self.element("canvas")).click().perform()
        self.translate_and_read()


if __name__ == "__main__":
    tf.test.main()
