"""Test mode's index.html in a real browser: headless Chromium, driven by
selenium through Debian's chromedriver (as tests/pix2pix_tf/serving/browser_test.py).

With PIX2PIX_SCREENSHOTS=FOLDER (relative to the repository), the tests also
save the screenshots docs/inference.md shows there.
"""

import io
import json
import os
import re
import shutil
import tempfile
import unittest

import tensorflow as tf
from PIL import Image

from pix2pix_tf import inference
from pix2pix_tf.common import image_io
from pix2pix_tf.dataset_tools import synthetic_facades
from tests.support import paths
from tests.support import pix2pix as testing

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    webdriver = None

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--hide-scrollbars")
MISSING = ("selenium is not installed (pip install -e '.[test]')" if webdriver is None else
           "no chromium or chromedriver on PATH (apt-get install chromium chromium-driver; "
           ".ci/run does)" if not (CHROMIUM and CHROMEDRIVER) else None)
SCREENSHOTS = os.environ.get("PIX2PIX_SCREENSHOTS")
DESKTOP, PHONE = (1000, 860), (390, 844)


def facade_report(root, count=9, steps=30):
    """A test report of a small model trained `steps` steps on `count`
    synthetic facades (labels -> photo): ROOT/test/index.html; returns that folder."""
    pairs = os.path.join(root, "pairs")
    os.makedirs(pairs)
    for i in range(count):
        image_io.write_image(os.path.join(pairs, f"{i + 1}.png"),
                             synthetic_facades.pair(7, 0, i, size=64))
    run_dir = os.path.join(root, "run")
    options = testing.tiny_options(input_dir=pairs, output_dir=run_dir, crop_size=64,
                                   which_direction="BtoA", max_steps=steps)
    from pix2pix_tf import train
    train.train(options, log=lambda line: None)
    test_dir = os.path.join(root, "test")
    inference.run(testing.tiny_options(mode="test", input_dir=pairs, checkpoint=run_dir,
                                       output_dir=test_dir, max_steps=None), log=lambda line: None)
    return test_dir


class ReportBrowserTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if MISSING:
            raise unittest.SkipTest(MISSING)
        cls.root = tempfile.mkdtemp(prefix="report_browser_test_")
        # The screenshots' model trains longer, to show outputs that look like something.
        cls.report = facade_report(cls.root, steps=600 if SCREENSHOTS else 30)
        with open(os.path.join(cls.report, "metrics.json")) as f:
            cls.metrics = json.load(f)["images"]
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in CHROMIUM_FLAGS + (f"--user-data-dir={os.path.join(cls.root, 'profile')}",):
            options.add_argument(flag)
        cls.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)

    @classmethod
    def tearDownClass(cls):
        cls.driver.quit()
        shutil.rmtree(cls.root, ignore_errors=True)
        super().tearDownClass()

    def open(self, size=DESKTOP):
        self.driver.set_window_size(*size)
        self.driver.get("file://" + os.path.join(self.report, "index.html"))
        WebDriverWait(self.driver, 60).until(
            lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready"))
        self.driver.execute_script("return Promise.all([...document.images].map((i) => i.decode()))")

    def visible_names(self):
        return [row.find_element(By.CSS_SELECTOR, "td").text
                for row in self.driver.find_elements(By.CSS_SELECTOR, "tbody tr")
                if row.is_displayed()]

    def sort(self, column):
        self.driver.find_element(By.CSS_SELECTOR, f"th[data-column='{column}'] button").click()

    def by(self, metric, descending):
        return sorted(self.metrics, key=lambda name: self.metrics[name][metric],
                      reverse=descending)

    def screenshot(self, name):
        """Saves the window as SCREENSHOTS/NAME.png when asked to, in 256 colours (small)."""
        if not SCREENSHOTS:
            return
        image = Image.open(io.BytesIO(self.driver.get_screenshot_as_png())).convert("RGB")
        folder = os.path.join(paths.REPO_ROOT, SCREENSHOTS)
        os.makedirs(folder, exist_ok=True)
        image.quantize(256, dither=Image.Dither.NONE).save(os.path.join(folder, name + ".png"),
                                                           optimize=True)

    def test_a_metric_header_sorts_worst_first_then_the_other_way(self):
        self.open()
        self.assertEqual(self.visible_names(), [str(i) for i in range(1, 10)])
        self.sort("L1")  # The highest L1 is the worst.
        self.assertEqual(self.visible_names(), self.by("L1", descending=True))
        self.screenshot("test_report")
        self.sort("L1")
        self.assertEqual(self.visible_names(), self.by("L1", descending=False))
        for metric in ("PSNR", "SSIM"):  # The lowest are the worst.
            self.sort(metric)
            self.assertEqual(self.visible_names(), self.by(metric, descending=False))
            self.sort(metric)
            self.assertEqual(self.visible_names(), self.by(metric, descending=True))
        self.sort("name")
        self.assertEqual(self.visible_names(), [str(i) for i in range(1, 10)])

    def test_an_image_enlarges_with_the_others_of_its_row(self):
        self.open()
        thumbnail = self.driver.find_element(By.CSS_SELECTOR, "tbody tr:nth-child(2) td img")
        thumbnail.click()
        viewer = self.driver.find_element(By.ID, "viewer")
        WebDriverWait(self.driver, 10).until(lambda d: viewer.is_displayed())
        large = viewer.find_elements(By.CSS_SELECTOR, "img")
        self.assertEqual([os.path.basename(i.get_attribute("src")) for i in large],
                         [f"2-{kind}.png" for kind in ("inputs", "outputs", "targets")])
        self.assertGreater(large[0].size["width"], 3 * thumbnail.size["width"])
        self.assertIn(f"L1 {self.metrics['2']['L1']:.4f}", viewer.text)
        self.screenshot("test_report_enlarged")
        viewer.find_element(By.CSS_SELECTOR, "button.close").click()
        WebDriverWait(self.driver, 10).until(lambda d: not viewer.is_displayed())

    def test_a_histogram_bar_shows_its_rows(self):
        self.open()
        self.assertFalse(self.driver.find_element(By.CSS_SELECTOR, "img.plot").is_displayed())
        l1 = self.driver.find_elements(By.CSS_SELECTOR, ".histogram")[0]
        self.assertStartsWith(l1.text, "per-image L1")
        bars = l1.find_elements(By.CSS_SELECTOR, ".bars button")
        self.assertEqual(len(bars), 5)  # sqrt(9) bins, 5 at least, as the PNG's.
        bar = next(b for b in bars if b.is_enabled())
        count, low, high = re.fullmatch(r"(\d+) images? with L1 ([\d.]+) to ([\d.]+)",
                                        bar.get_attribute("aria-label")).groups()
        bar.click()
        shown = self.visible_names()
        self.assertEqual(len(shown), int(count))
        self.assertEqual(set(shown), {name for name, scores in self.metrics.items()
                                      if float(low) - 1e-4 <= scores["L1"] <= float(high) + 1e-4})
        self.assertLess(len(shown), 9)
        note = self.driver.find_element(By.ID, "filter")
        self.assertTrue(note.is_displayed())
        note.find_element(By.TAG_NAME, "button").click()
        self.assertEqual(len(self.visible_names()), 9)
        self.assertFalse(note.is_displayed())

    def test_phone_width_has_no_horizontal_scrolling(self):
        self.open(PHONE)
        widths = self.driver.execute_script(
            "return [document.documentElement.scrollWidth, window.innerWidth]")
        self.assertLessEqual(widths[0], widths[1])
        self.assertLessEqual(widths[1], PHONE[0])
        # Each row's three images side by side, the sort buttons still there.
        images = self.driver.find_elements(By.CSS_SELECTOR, "tbody tr:first-child td img")
        self.assertEqual(len({image.location["y"] for image in images}), 1)
        self.assertGreater(images[0].size["width"], 64)
        self.sort("SSIM")
        self.assertEqual(self.visible_names(), self.by("SSIM", descending=False))
        self.screenshot("test_report_phone")


if __name__ == "__main__":
    tf.test.main()
