import os

import numpy as np
import tensorflow as tf
from PIL import Image

from pix2pix_tf import choices, data
from pix2pix_tf.common.errors import UserError

LEFT = (255, 0, 255)
RIGHT = (0, 255, 0)


def write(path, array, mode=None):
    Image.fromarray(np.asarray(array, np.uint8), mode).save(path)
    return path


def two_colour_pair(height=16, width=32):
    image = np.zeros((height, width, 3), np.uint8)
    image[:, :width // 2] = LEFT
    image[:, width // 2:] = RIGHT
    return image


def identical_halves(seed, size=32):
    """An A|B pair whose A and B are the same random picture."""
    half = np.random.default_rng(seed).integers(0, 256, size=(size, size, 3), dtype=np.uint8)
    return np.concatenate([half, half], axis=1)


def to_network(rgb):
    return np.float32(rgb) / 255.0 * 2.0 - 1.0


class DataTestCase(tf.test.TestCase):

    def make_dir(self, name):
        path = os.path.join(self.get_temp_dir(), name)
        os.makedirs(path)
        return path


class ListImageFilesTest(DataTestCase):

    def test_numeric_names_sort_by_number(self):
        folder = self.make_dir("numeric")
        for name in ("10.png", "2.png", "1.jpg", "33.jpeg"):
            write(os.path.join(folder, name), np.zeros((4, 8, 3)))
        with open(os.path.join(folder, "notes.txt"), "w") as f:
            f.write("not an image")
        names = [os.path.basename(p) for p in data.list_image_files(folder)]
        self.assertEqual(names, ["1.jpg", "2.png", "10.png", "33.jpeg"])

    def test_other_names_sort_by_name(self):
        folder = self.make_dir("names")
        for name in ("b10.png", "b2.png", "a.png", "1.png"):
            write(os.path.join(folder, name), np.zeros((4, 8, 3)))
        names = [os.path.basename(p) for p in data.list_image_files(folder)]
        self.assertEqual(names, ["1.png", "a.png", "b10.png", "b2.png"])

    def test_errors(self):
        with self.assertRaisesRegex(UserError, "--input_dir is required"):
            data.list_image_files("")
        with self.assertRaisesRegex(UserError, "does not exist"):
            data.list_image_files(os.path.join(self.get_temp_dir(), "missing"))
        with self.assertRaisesRegex(UserError, "holds no"):
            data.list_image_files(self.make_dir("empty"))


class SplitTest(DataTestCase):

    def test_directions(self):
        path = write(os.path.join(self.make_dir("split"), "1.png"), two_colour_pair())
        image = data.decode(path)
        inputs, targets = data.split_pair(image, "AtoB", False)
        self.assertEqual(inputs.shape, (16, 16, 3))
        self.assertAllClose(inputs, np.broadcast_to(to_network(LEFT), (16, 16, 3)))
        self.assertAllClose(targets, np.broadcast_to(to_network(RIGHT), (16, 16, 3)))
        inputs, targets = data.split_pair(image, "BtoA", False)
        self.assertAllClose(inputs, np.broadcast_to(to_network(RIGHT), (16, 16, 3)))
        self.assertAllClose(targets, np.broadcast_to(to_network(LEFT), (16, 16, 3)))
        with self.assertRaises(ValueError):
            data.split_pair(image, "sideways", False)

    def test_directions_through_datasets(self):
        folder = self.make_dir("split_ds")
        write(os.path.join(folder, "1.png"), two_colour_pair(32, 64))
        paths = data.list_image_files(folder)
        for direction, (a, b) in (("AtoB", (LEFT, RIGHT)), ("BtoA", (RIGHT, LEFT))):
            with self.subTest(direction=direction):
                inputs, targets = next(iter(data.training_dataset(
                    paths, seed=1, epoch=0, skip_batches=0, batch_size=1, which_direction=direction,
                    lab_colorization=False, scale_size=36, crop_size=32, flip=True)))
                self.assertAllClose(inputs[0], np.broadcast_to(to_network(a), (32, 32, 3)), atol=1e-5)
                self.assertAllClose(targets[0], np.broadcast_to(to_network(b), (32, 32, 3)), atol=1e-5)
                _, inputs, targets = next(iter(data.test_dataset(
                    paths, batch_size=1, which_direction=direction, lab_colorization=False,
                    crop_size=32)))
                self.assertAllClose(inputs[0], np.broadcast_to(to_network(a), (32, 32, 3)), atol=1e-5)
                self.assertAllClose(targets[0], np.broadcast_to(to_network(b), (32, 32, 3)), atol=1e-5)


class JitterTest(DataTestCase):

    def setUp(self):
        super().setUp()
        folder = self.make_dir("same")
        self.path = write(os.path.join(folder, "same.png"), identical_halves(0))
        self.a, _ = data.split_pair(data.decode(self.path), "AtoB", False)

    def elements(self, paths, seed=1, scale_size=40, flip=True, epoch=0):
        ds = data.training_dataset(paths, seed=seed, epoch=epoch, skip_batches=0, batch_size=1,
                                   which_direction="AtoB", lab_colorization=False,
                                   scale_size=scale_size, crop_size=32, flip=flip)
        return [(i[0].numpy(), t[0].numpy()) for i, t in ds]

    def test_input_and_target_get_the_same_crop_and_flip(self):
        elements = self.elements([self.path] * 8)
        self.assertLen(elements, 8)
        for inputs, targets in elements:
            self.assertAllEqual(inputs, targets)

    def test_crops_differ_across_elements_and_seeds(self):
        crops = [inputs for inputs, _ in self.elements([self.path] * 8, flip=False)]
        distinct = {c.tobytes() for c in crops}
        self.assertGreater(len(distinct), 4)
        # Every crop is a 32x32 window of the 40x40 resized picture.
        resized = tf.image.resize(self.a, [40, 40], method="area").numpy()
        windows = {resized[y:y + 32, x:x + 32].tobytes() for y in range(9) for x in range(9)}
        self.assertTrue(distinct <= windows)
        first = self.elements([self.path], seed=1, flip=False)[0][0]
        others = [self.elements([self.path], seed=s, flip=False)[0][0] for s in (2, 3, 4)]
        self.assertTrue(any(not np.array_equal(first, o) for o in others))
        # The same (seed, element) gives the same crop.
        self.assertAllEqual(first, self.elements([self.path], seed=1, flip=False)[0][0])

    def test_flips_happen(self):
        # scale_size == crop_size: no crop, so each element is the picture or its mirror.
        plain = tf.image.resize(self.a, [32, 32], method="area").numpy()
        mirror = plain[:, ::-1]
        elements = [inputs for inputs, _ in self.elements([self.path] * 16, scale_size=32)]
        flipped = [np.array_equal(e, mirror) for e in elements]
        for element, was_flipped in zip(elements, flipped):
            self.assertTrue(was_flipped or np.array_equal(element, plain))
        self.assertIn(True, flipped)
        self.assertIn(False, flipped)
        unflipped = self.elements([self.path] * 16, scale_size=32, flip=False)
        for inputs, _ in unflipped:
            self.assertAllEqual(inputs, plain)


class DatasetTest(DataTestCase):

    def setUp(self):
        super().setUp()
        self.folder = self.make_dir("pairs")
        for i in range(5):
            write(os.path.join(self.folder, f"{i}.png"), identical_halves(i, size=48))
        self.paths = data.list_image_files(self.folder)

    def training(self, **kwargs):
        settings = dict(seed=7, epoch=0, skip_batches=0, batch_size=2, which_direction="AtoB",
                        lab_colorization=False, scale_size=36, crop_size=32, flip=True)
        settings.update(kwargs)
        return data.training_dataset(self.paths, **settings)

    def test_training_shapes_and_dtype(self):
        batches = list(self.training())
        self.assertLen(batches, data.steps_per_epoch(5, 2))
        self.assertEqual([b[0].shape[0] for b in batches], [2, 2, 1])
        for inputs, targets in batches:
            self.assertEqual(inputs.dtype, tf.float32)
            self.assertEqual(targets.dtype, tf.float32)
            self.assertEqual(inputs.shape[1:], (32, 32, 3))
            self.assertEqual(targets.shape[1:], (32, 32, 3))
            self.assertAllInRange(inputs, -1.0, 1.0)
            self.assertAllInRange(targets, -1.0, 1.0)

    def test_test_dataset_has_no_jitter_and_keeps_file_order(self):
        batches = list(data.test_dataset(self.paths, batch_size=2, which_direction="AtoB",
                                         lab_colorization=False, crop_size=32))
        paths = [p.decode() for b in batches for p in b[0].numpy()]
        self.assertEqual(paths, self.paths)
        inputs = np.concatenate([b[1].numpy() for b in batches])
        for path, image in zip(self.paths, inputs):
            a, _ = data.split_pair(data.decode(path), "AtoB", False)
            self.assertAllClose(image, tf.image.resize(a, [32, 32], method="area"))
        again = np.concatenate([b[1].numpy() for b in data.test_dataset(
            self.paths, batch_size=2, which_direction="AtoB", lab_colorization=False, crop_size=32)])
        self.assertAllEqual(inputs, again)

    def test_lab_colorization_channels(self):
        for direction, (cin, cout) in (("AtoB", (1, 2)), ("BtoA", (2, 1))):
            with self.subTest(direction=direction):
                self.assertEqual(choices.channels(True, direction), (cin, cout))
                inputs, targets = next(iter(self.training(lab_colorization=True,
                                                          which_direction=direction)))
                self.assertEqual(inputs.shape, (2, 32, 32, cin))
                self.assertEqual(targets.shape, (2, 32, 32, cout))
                _, inputs, targets = next(iter(data.test_dataset(
                    self.paths, batch_size=1, which_direction=direction, lab_colorization=True,
                    crop_size=32)))
                self.assertEqual(inputs.shape, (1, 32, 32, cin))
                self.assertEqual(targets.shape, (1, 32, 32, cout))
        self.assertEqual(choices.channels(False, "AtoB"), (3, 3))

    def test_lab_colorization_of_gray_picture(self):
        path = write(os.path.join(self.make_dir("gray"), "g.png"), np.full((8, 8), 128), "L")
        lightness, ab = data.split_pair(data.decode(path), "AtoB", True)
        self.assertEqual(lightness.shape, (8, 8, 1))
        self.assertAllClose(ab, np.zeros((8, 8, 2)), atol=1e-3)
        self.assertAllInRange(lightness, -1.0, 1.0)

    def test_epoch_order_is_deterministic(self):
        order = data.epoch_order(self.paths, 3, 0)
        self.assertEqual(sorted(order), sorted(self.paths))
        self.assertEqual(order, data.epoch_order(self.paths, 3, 0))
        many = [str(i) for i in range(50)]
        self.assertNotEqual(data.epoch_order(many, 3, 0), data.epoch_order(many, 3, 1))
        self.assertNotEqual(data.epoch_order(many, 3, 0), data.epoch_order(many, 4, 0))

    def test_skip_batches_resumes_at_the_right_element(self):
        for epoch in (0, 1):
            with self.subTest(epoch=epoch):
                full = [(i.numpy(), t.numpy()) for i, t in self.training(epoch=epoch)]
                resumed = [(i.numpy(), t.numpy()) for i, t in
                           self.training(epoch=epoch, skip_batches=1)]
                self.assertLen(resumed, len(full) - 1)
                for (i1, t1), (i2, t2) in zip(full[1:], resumed):
                    self.assertAllEqual(i1, i2)
                    self.assertAllEqual(t1, t2)
        # Different epochs really are different batches.
        self.assertNotAllClose(next(iter(self.training(epoch=0)))[0],
                               next(iter(self.training(epoch=1)))[0])


    def test_cache_gives_the_same_batches(self):
        # Images of different sizes share the cache's flat pixel buffer.
        write(os.path.join(self.folder, "5.png"), identical_halves(9, size=40))
        paths = data.list_image_files(self.folder)
        cache = data.DecodedImages(paths)
        self.assertEqual(cache.nbytes, data.decoded_bytes(paths))
        for settings in (dict(epoch=0), dict(epoch=1, skip_batches=1),
                         dict(epoch=0, lab_colorization=True, which_direction="BtoA")):
            with self.subTest(**settings):
                settings = dict(dict(seed=7, skip_batches=0, batch_size=2, which_direction="AtoB",
                                     lab_colorization=False, scale_size=36, crop_size=32,
                                     flip=True), **settings)
                plain = list(data.training_dataset(paths, **settings))
                cached = list(data.training_dataset(paths, cache=cache, **settings))
                self.assertLen(cached, len(plain))
                for (i1, t1), (i2, t2) in zip(plain, cached):
                    self.assertAllEqual(i1, i2)
                    self.assertAllEqual(t1, t2)
        for i, path in enumerate(paths):
            self.assertAllEqual(cache.image(i), data.decode(path))

    def test_each_worker_reads_only_its_shard(self):
        # 5 files over 2 workers: 0, 2, 4 and 1, 3. Without jitter (scale =
        # crop = 48, no flip) every element is a file's A half, untouched.
        halves = [to_network(identical_halves(i, size=48)[:, :48]) for i in range(5)]
        self.assertEqual([os.path.basename(p) for p in data.shard(self.paths, 1, 2)],
                         ["1.png", "3.png"])
        seen = []
        for index in range(2):
            own = data.shard(self.paths, index, 2)
            # The cache holds the shard alone: a file outside it would not be found.
            cache = data.DecodedImages(own)
            for epoch in (0, 1):
                settings = dict(epoch=epoch, batch_size=1, scale_size=48, crop_size=48,
                                flip=False, worker=(index, 2))
                plain = [i.numpy()[0] for i, _ in self.training(**settings)]
                cached = [i.numpy()[0] for i, _ in self.training(cache=cache, **settings)]
                self.assertAllEqual(plain, cached)
                files = sorted(next(n for n, half in enumerate(halves)
                                    if np.allclose(half, image, atol=1e-6)) for image in plain)
                self.assertEqual(files, list(range(index, 5, 2)), msg=(index, epoch))
                seen.append(files)
        self.assertEqual(sorted(seen[0] + seen[2]), list(range(5)))
        # One worker of one: the batches of a run without workers, jitter included.
        for (i1, t1), (i2, t2) in zip(self.training(epoch=1), self.training(epoch=1, worker=(0, 1))):
            self.assertAllEqual(i1, i2)
            self.assertAllEqual(t1, t2)

    def test_cache_names_a_truncated_file(self):
        path = os.path.join(self.folder, "3.png")
        with open(path, "rb") as f:
            content = f.read()
        with open(path, "wb") as f:
            f.write(content[:len(content) // 2])
        with self.assertRaisesRegex(UserError, r"pairs/3\.png could not be decoded"):
            data.DecodedImages(self.paths)

    def test_decoded_bytes_from_the_headers(self):
        self.assertEqual(data.decoded_bytes(self.paths), 5 * 48 * 96 * 3)

class FileFormatTest(DataTestCase):

    def test_gray_and_rgba_become_rgb(self):
        folder = self.make_dir("formats")
        gray = np.tile(np.arange(0, 256, 16, dtype=np.uint8), (16, 2))
        rgb = np.stack([gray] * 3, axis=-1)
        rgba = np.concatenate([rgb, np.full((16, 32, 1), 7, np.uint8)], axis=-1)
        paths = [write(os.path.join(folder, "gray.png"), gray, "L"),
                 write(os.path.join(folder, "rgba.png"), rgba, "RGBA"),
                 write(os.path.join(folder, "gray_alpha.png"),
                       np.stack([gray, np.full_like(gray, 9)], axis=-1), "LA")]
        Image.fromarray(gray, "L").save(os.path.join(folder, "gray.jpg"), quality=100)
        paths.append(os.path.join(folder, "gray.jpg"))
        data.check_image_files(paths, paired=True)
        for path in paths:
            with self.subTest(path=os.path.basename(path)):
                image = data.decode(path)
                self.assertEqual(image.shape, (16, 32, 3))
                self.assertAllClose(image, rgb / 255.0, atol=0.02)
                inputs, targets = data.split_pair(image, "AtoB", False)
                self.assertEqual(inputs.shape, (16, 16, 3))
                self.assertEqual(targets.shape, (16, 16, 3))

    def test_check_image_files(self):
        folder = self.make_dir("check")
        good = write(os.path.join(folder, "good.png"), np.zeros((4, 8, 3)))
        odd = write(os.path.join(folder, "odd.png"), np.zeros((4, 9, 3)))
        bad = os.path.join(folder, "bad.png")
        with open(bad, "wb") as f:
            f.write(b"not a png at all")
        data.check_image_files([good], paired=True)
        data.check_image_files([odd], paired=False)
        with self.assertRaisesRegex(UserError, "odd.png is 9x4.*even width"):
            data.check_image_files([good, odd], paired=True)
        with self.assertRaisesRegex(UserError, "bad.png is not a decodable image"):
            data.check_image_files([good, bad], paired=False)

    def truncated_jpeg(self, folder, name="cut.jpg"):
        path = os.path.join(folder, name)
        Image.fromarray(identical_halves(0)).save(path, quality=90)
        with open(path, "rb") as f:
            content = f.read()
        with open(path, "wb") as f:
            f.write(content[:len(content) * 2 // 3])  # A valid header, then a cut.
        return path

    def test_check_image_file_decodes_the_whole_file(self):
        folder = self.make_dir("whole")
        good = write(os.path.join(folder, "good.jpg"), identical_halves(1))
        cut = self.truncated_jpeg(folder)
        self.assertIsNone(data.check_image_file(good))
        self.assertRegex(data.check_image_file(cut), "is not a decodable image.*truncated")
        # The header alone is fine: only decode=True finds it.
        data.check_image_files([good, cut], paired=True)
        with self.assertRaisesRegex(UserError, r"^\S+/whole/cut\.jpg is not a decodable image"):
            data.check_image_files([good, cut], paired=True, decode=True)

    def test_names_that_are_not_utf8_are_given_by_their_bytes(self):
        folder = self.make_dir("names")
        raw = os.path.join(os.fsencode(folder), b"caf\xe9.png")
        write(raw, identical_halves(2))
        path = os.path.join(folder, os.fsdecode(b"caf\xe9.png"))  # As os.listdir gives it.
        self.assertEqual(data.list_image_files(folder), [path])
        self.assertEqual(data.check_image_file(path), "its name is not valid UTF-8 (rename it)")
        with self.assertRaises(UserError) as caught:
            data.check_image_files([path], paired=True)
        self.assertEqual(str(caught.exception),
                         repr(raw) + " its name is not valid UTF-8 (rename it)")
        str(caught.exception).encode("utf-8")  # Printable: no surrogate escapes.

    def test_every_bad_file_is_named_in_one_error(self):
        folder = self.make_dir("several")
        good = write(os.path.join(folder, "good.png"), identical_halves(3))
        cuts = [self.truncated_jpeg(folder, f"{i}.jpg") for i in range(7)]
        with self.assertRaisesRegex(
                UserError, r"^7 of the 8 images cannot be used: .*0\.jpg is not a decodable "
                           r"image.*4\.jpg is not a decodable image [^;]*; and 2 more$"):
            data.check_image_files([good] + cuts, paired=True, decode=True)

    def test_test_dataset_leaves_out_files_that_fail_to_decode(self):
        folder = self.make_dir("leave_out")
        paths = [write(os.path.join(folder, f"{i}.png"), np.zeros((4, 8, 3))) for i in range(3)]
        with open(paths[1], "wb") as f:
            f.write(b"broken")
        batches = data.test_dataset(paths, batch_size=2, which_direction="AtoB",
                                    lab_colorization=False, crop_size=4)
        seen = [p.decode() for batch, _, _ in batches for p in batch.numpy()]
        self.assertEqual(seen, [paths[0], paths[2]])


if __name__ == "__main__":
    tf.test.main()
