import json
import os
import shutil
import tempfile
from unittest import mock

import numpy as np
import tensorflow as tf

from pix2pix_tf import inference, judges, palettes, train
from pix2pix_tf.common.errors import UserError
from pix2pix_tf.dataset_tools import synthetic_facades
from tests.support import pix2pix as testing

SIZE = 64


def quiet(*args):
    pass


def facades(root, count):
    """A tiny synthetic_facades set: (its train folder, its val folder)."""
    synthetic_facades.generate(root, count=count, seed=0, log=quiet)
    base = os.path.join(root, synthetic_facades.NAME)
    return os.path.join(base, "train"), os.path.join(base, "val")


class ScoresTest(tf.test.TestCase):

    def test_segmentation_scores_of_a_known_confusion(self):
        truth = np.array([[0, 0, 0, 1], [1, 1, 2, 2]])
        predicted = np.array([[0, 0, 1, 1], [1, 2, 2, 2]])
        scores = judges.segmentation_scores(predicted, truth, classes=4)
        self.assertAllClose(scores["per_pixel_accuracy"], 6 / 8)
        # Class 3 is in neither map: no score. Classes 0, 1, 2: 2/3, 2/3, 2/2.
        self.assertAllClose(scores["per_class_accuracy"], (2 / 3 + 2 / 3 + 1) / 3)
        # IoU: 0: 2/3; 1: 2/(3+3-2); 2: 2/(2+3-2).
        self.assertAllClose(scores["class_iou"], (2 / 3 + 2 / 4 + 2 / 3) / 3)

    def test_a_class_only_predicted_counts_in_the_iou(self):
        scores = judges.segmentation_scores(np.array([1, 1]), np.array([0, 0]), classes=2)
        self.assertEqual(scores["per_pixel_accuracy"], 0.0)
        self.assertEqual(scores["per_class_accuracy"], 0.0)
        self.assertEqual(scores["class_iou"], 0.0)

    def test_wilson_interval(self):
        low, high = judges.wilson_interval(50, 100)
        self.assertAllClose((low, high), (0.4038, 0.5962), atol=1e-4)
        low, high = judges.wilson_interval(26, 26)
        self.assertAllClose(high, 1.0)
        self.assertAllClose(low, 0.871, atol=1e-3)

    def test_nearest_class_and_label_share(self):
        names, colours = judges.load_palette(None)
        self.assertEqual(names, palettes.FACADE_CLASSES)
        image = np.zeros((1, 2, 2, 3), np.uint8)
        image[0, 0, 0] = colours[2]
        image[0, 0, 1] = colours[5] + np.array([0, 0, 10], np.uint8)
        image[0, 1] = (128, 128, 128)  # Grey: far from every colour of the jet palette.
        classes, distances = judges.nearest_class(image, colours)
        self.assertEqual(classes[0, 0, 0], 2)
        self.assertEqual(classes[0, 0, 1], 5)
        self.assertAllClose(distances[0, 0], [0.0, 10.0])
        self.assertEqual(palettes.label_share(image, colours), 0.5)
        image[0, 1, 0] = colours[0] + np.array([0, 60, 0], np.uint8)  # At the tolerance.
        self.assertEqual(palettes.label_share(image, colours), 0.75)

    def test_palette_files(self):
        folder = self.get_temp_dir()
        good = os.path.join(folder, "good.json")
        with open(good, "w") as f:
            json.dump({"classes": [{"name": "road", "color": [128, 64, 128]},
                                   {"name": "sky", "color": [70, 130, 180]}]}, f)
        names, colours = judges.load_palette(good)
        self.assertEqual(names, ("road", "sky"))
        self.assertAllEqual(colours, [[128, 64, 128], [70, 130, 180]])
        self.assertEqual(colours.dtype, np.uint8)
        for text in ("not json", '{"classes": [{"name": "a"}]}', '{"colours": []}',
                     '{"classes": [{"name": "a", "color": [1, 2, 3]}]}',
                     '{"classes": [{"name": "a", "color": [1, 2, 300]}, '
                     '{"name": "b", "color": [0, 0, 0]}]}'):
            bad = os.path.join(folder, "bad.json")
            with open(bad, "w") as f:
                f.write(text)
            with self.assertRaisesRegex(UserError, "--palette .*bad.json"):
                judges.load_palette(bad)


class FcnTest(tf.test.TestCase):
    """The segmenter on a tiny synthetic facades set: real photos segment well,
    a constant grey "generator" near chance."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = tempfile.mkdtemp(prefix="judges_test_")
        train_dir, val_dir = facades(cls.root, count=48)
        cls.train_labels, cls.train_photos = judges.pairs(
            sorted(os.path.join(train_dir, n) for n in os.listdir(train_dir)), "BtoA", SIZE)
        cls.val_labels, cls.val_photos = judges.pairs(
            sorted(os.path.join(val_dir, n) for n in os.listdir(val_dir)), "BtoA", SIZE)
        cls.colours = judges.load_palette(None)[1]

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.root, ignore_errors=True)
        super().tearDownClass()

    def test_real_photos_segment_well_and_grey_ones_at_chance(self):
        cache = os.path.join(self.get_temp_dir(), "judge")
        classes = judges.class_maps(self.train_labels, self.colours, SIZE)
        model = judges.trained_segmenter(self.train_photos, classes, len(self.colours), seed=3,
                                         cache_dir=cache, key="k", steps=250, log=quiet)
        truth = judges.class_maps(self.val_labels, self.colours, SIZE)
        grey = np.full_like(self.val_photos, 128)
        scores = judges.fcn_score(model, grey, self.val_photos, truth, len(self.colours))
        self.assertGreater(scores["real"]["per_pixel_accuracy"], 0.6)
        self.assertGreater(scores["real"]["class_iou"], 0.2)
        # One class everywhere: per-class accuracy 1/(classes present) at most.
        self.assertLess(scores["generated"]["per_class_accuracy"], 0.2)
        self.assertGreater(scores["real"]["per_class_accuracy"],
                           scores["generated"]["per_class_accuracy"] + 0.15)

        # The cached segmenter is the same network: the same scores, no training.
        lines = []
        again = judges.trained_segmenter(self.train_photos, classes, len(self.colours), seed=3,
                                         cache_dir=cache, key="k", steps=250, log=lines.append)
        self.assertIn("trained before", lines[0])
        self.assertEqual(judges.fcn_score(again, grey, self.val_photos, truth,
                                          len(self.colours)), scores)

    def test_the_same_seed_trains_the_same_segmenter(self):
        classes = judges.class_maps(self.train_labels, self.colours, SIZE)
        predictions = []
        for _ in range(2):
            model = judges.trained_segmenter(self.train_photos[:8], classes[:8], len(self.colours),
                                             seed=5, steps=5, log=quiet)
            predictions.append(model(self.val_photos[:2].astype(np.float32) / 255.0).numpy())
        self.assertAllEqual(predictions[0], predictions[1])


class C2stTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = tempfile.mkdtemp(prefix="c2st_test_")
        train_dir, _ = facades(cls.root, count=96)
        _, photos = judges.pairs(sorted(os.path.join(train_dir, n) for n in os.listdir(train_dir)),
                                 "BtoA", 32)
        cls.first, cls.second = photos[:48], photos[48:]

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.root, ignore_errors=True)
        super().tearDownClass()

    def test_real_against_real_is_near_one_half(self):
        result = judges.c2st(self.first, self.second, seed=0, steps=150)
        self.assertEqual(result["test_images"], 48)
        self.assertBetween(result["accuracy"], 0.25, 0.75)
        low, high = result["interval"]
        self.assertLess(low, 0.5)
        self.assertGreater(high, 0.5)

    def test_real_against_noise_is_near_one(self):
        noise = np.random.default_rng(0).integers(0, 256, self.second.shape).astype(np.uint8)
        result = judges.c2st(self.first, noise, seed=0, steps=150)
        self.assertGreaterEqual(result["accuracy"], 0.95)
        self.assertLen(result["most_generated"], judges.MOST_GENERATED)
        self.assertTrue(all(0 <= i < len(noise) for i in result["most_generated"]))
        self.assertEqual(judges.c2st(self.first, noise, seed=0, steps=150), result)

    def test_too_few_images(self):
        with self.assertRaisesRegex(UserError, "at least 4 images"):
            judges.c2st(self.first[:3], self.second[:3], seed=0)


class JudgeModeTest(tf.test.TestCase):
    """--judge in test and eval modes, from a run trained on synthetic facades."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = tempfile.mkdtemp(prefix="judge_mode_test_")
        cls.train_dir, cls.val_dir = facades(cls.root, count=16)
        cls.run_dir = os.path.join(cls.root, "run")
        train.train(testing.tiny_options(input_dir=cls.train_dir, output_dir=cls.run_dir,
                                         which_direction="BtoA", crop_size=SIZE), log=quiet)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.root, ignore_errors=True)
        super().tearDownClass()

    def options(self, **overrides):
        values = dict(mode="eval", input_dir=self.val_dir, checkpoint=self.run_dir, max_steps=None,
                      output_dir=os.path.join(self.get_temp_dir(), "out"), judge="fcn,c2st")
        values.update(overrides)
        return testing.tiny_options(**values)

    def test_both_judges_write_their_figures(self):
        lines = []
        with mock.patch.object(judges, "FCN_STEPS", 20), mock.patch.object(judges, "C2ST_STEPS", 20):
            result = inference.run(self.options(mode="test"), log=lines.append)
        with open(os.path.join(self.options().output_dir, "metrics.json")) as f:
            written = json.load(f)["judges"]
        self.assertEqual(written, json.loads(json.dumps(result["judges"])))
        self.assertEqual(written["size"], SIZE)
        self.assertEqual(written["seed"], 0)  # Not the run's (1): the same judges for every run.
        for kind in ("generated", "real"):
            self.assertEqual(set(written["fcn"][kind]),
                             {"per_pixel_accuracy", "per_class_accuracy", "class_iou"})
            self.assertBetween(written["fcn"][kind]["per_pixel_accuracy"], 0.0, 1.0)
        self.assertEqual(written["fcn"]["training_images"], 16)
        self.assertBetween(written["c2st"]["accuracy"], 0.0, 1.0)
        self.assertEqual(written["c2st"]["test_images"], 4)  # 4 val images: 2 + 2 held out.
        self.assertTrue(set(written["c2st"]["most_generated"]) <= set(result["images"]))
        text = "\n".join(lines)
        self.assertIn("fcn-score of the generated photos", text)
        self.assertIn("c2st:", text)
        self.assertIn("compare only with runs judged with the same judge options", text)
        with open(os.path.join(self.options().output_dir, "index.html")) as f:
            page = f.read()
        self.assertIn("FCN-score of the generated photos: per pixel accuracy", page)
        self.assertIn("C2ST: a classifier tells real from generated", page)
        for name in written["c2st"]["most_generated"]:
            self.assertIn(f"<img src='images/{name}-outputs.png' title='{name}' class='judged'>", page)
        # The segmenter is kept in the run folder for the next judging.
        self.assertTrue(any(name.startswith("fcn-") for name in
                            os.listdir(os.path.join(self.run_dir, "judge"))))

    def check_refused(self, pattern, **overrides):
        options = self.options(**overrides)
        with self.assertRaisesRegex(UserError, pattern):
            inference.run(options, log=quiet)
        self.assertFalse(os.path.exists(options.output_dir))  # Nothing written.

    def test_inputs_that_are_not_label_maps_are_refused(self):
        photo_run = os.path.join(self.get_temp_dir(), "photos_in")
        train.train(testing.tiny_options(input_dir=self.train_dir, output_dir=photo_run,
                                         which_direction="AtoB", crop_size=SIZE), log=quiet)
        self.check_refused("inputs .*AtoB.* are not label maps", checkpoint=photo_run, judge="fcn")

    def test_bad_palette_and_too_few_images_are_refused(self):
        palette = os.path.join(self.get_temp_dir(), "palette.json")
        with open(palette, "w") as f:
            f.write("{")
        self.check_refused("--palette .* does not parse", palette=palette)
        few = os.path.join(self.get_temp_dir(), "few")
        os.makedirs(few)
        for name in sorted(os.listdir(self.val_dir))[:3]:
            shutil.copy(os.path.join(self.val_dir, name), few)
        self.check_refused("at least 4 images", input_dir=few, judge="c2st")

    def test_a_given_seed_seeds_the_judges(self):
        lines = []
        with mock.patch.object(judges, "C2ST_STEPS", 2):
            result = inference.run(self.options(judge="c2st", seed=7), given={"seed"},
                                   log=lines.append)
        self.assertEqual(result["judges"]["seed"], 7)
        self.assertIn("with seed 7", "\n".join(lines))

    def test_unknown_judge_and_judge_outside_test(self):
        self.check_refused("--judge takes fcn, c2st .*not fid", judge="fid")
        with self.assertRaisesRegex(UserError, "--judge is for --mode test and eval"):
            train.train(self.options(mode="train", input_dir=self.train_dir), log=quiet)
