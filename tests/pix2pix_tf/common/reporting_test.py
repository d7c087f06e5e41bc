import json
import os

import numpy as np
import tensorflow as tf
from PIL import Image

from pix2pix_tf.common import reporting

PANELS = (("losses", [("a", "A"), ("b", "B")]), ("other", [("c", "C")]))


class HistoryTest(tf.test.TestCase):

    def test_records_plot_and_resume_drops_what_came_after_the_checkpoint(self):
        path = os.path.join(self.get_temp_dir(), "run", "losses.json")
        history = reporting.History(path)
        self.assertIsNone(history.write_plot(PANELS))  # Nothing recorded: nothing written.
        self.assertFalse(os.path.exists(os.path.dirname(path)))
        for step in range(1, 5):
            history.add(step, {"a": np.float32(step), "b": tf.constant(2.0 * step), "c": 0.5})
        png = history.write_plot(PANELS)
        self.assertEqual(png, os.path.join(os.path.dirname(path), "losses.png"))
        with Image.open(png) as image:
            self.assertEqual(image.format, "PNG")
            self.assertEqual(image.size, (840, 320))  # Two panels of 4.2 x 3.2 inches at 100 dpi.
            # Curves were drawn: more than the white background and the axes' black.
            self.assertGreater(len(image.convert("RGB").getcolors(1 << 16)), 10)
        with open(path) as f:
            self.assertEqual(json.load(f)[3], {"step": 4, "a": 4.0, "b": 8.0, "c": 0.5})

        resumed = reporting.History(path, start_step=2)
        self.assertEqual([r["step"] for r in resumed.records], [1, 2])
        self.assertEqual(reporting.History(path).records, [])  # A new run starts afresh.

    def test_an_unreadable_history_starts_again(self):
        path = os.path.join(self.get_temp_dir(), "broken.json")
        with open(path, "w") as f:
            f.write("{not json")
        self.assertEqual(reporting.History(path, start_step=10).records, [])


class HistogramsTest(tf.test.TestCase):

    def test_one_panel_per_column(self):
        path = os.path.join(self.get_temp_dir(), "histograms.png")
        values = np.random.default_rng(0).normal(0.5, 0.1, 50)
        reporting.histograms(path, {"per-image L1": values, "per-image SSIM": 1 - values})
        with Image.open(path) as image:
            self.assertEqual(image.format, "PNG")
            self.assertEqual(image.size, (900, 320))  # Two panels of 4.5 x 3.2 inches at 100 dpi.
            self.assertGreater(len(image.convert("RGB").getcolors(1 << 16)), 10)


if __name__ == "__main__":
    tf.test.main()
