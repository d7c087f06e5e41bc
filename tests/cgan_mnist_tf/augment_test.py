import numpy as np
import tensorflow as tf

from cgan_mnist_tf import augment, choices


def _digits(n=6, size=16, seed=0):
    """Dark images, each with a bright square at a random place, in [-1, 1]."""
    rng = np.random.default_rng(seed)
    images = np.full((n, size, size, 1), -1.0, np.float32)
    for image in images:
        y, x = rng.integers(4, size - 8, 2)
        image[y:y + 4, x:x + 4] = 1.0
    return images + rng.uniform(0.0, 0.1, images.shape).astype(np.float32)


class AugmentTest(tf.test.TestCase):

    def test_every_augmentation_is_differentiable_and_keeps_the_shape(self):
        images = tf.constant(_digits())
        for name in choices.POLICIES:
            tf.random.set_seed(1)
            with tf.GradientTape() as tape:
                tape.watch(images)
                out = augment.diff_augment(images, (name,))
                loss = tf.reduce_sum(out * tf.random.normal(out.shape, seed=2))
            gradient = tape.gradient(loss, images)
            self.assertEqual(out.shape, images.shape, msg=name)
            self.assertIsNotNone(gradient, msg=name)
            self.assertGreater(float(tf.reduce_sum(tf.abs(gradient))), 0.0, msg=name)
            self.assertNotAllClose(out, images, msg=name)

    def test_translation_moves_each_image_by_a_whole_shift(self):
        images = _digits(n=8)
        out = augment.translation(tf.constant(images), ratio=0.25).numpy()
        for before, after in zip(images, out):
            # Each output is the input shifted by some (dy, dx) within 4 pixels, background filled.
            padded = np.pad(before[..., 0], 4, constant_values=augment.BACKGROUND)
            found = [(dy, dx) for dy in range(9) for dx in range(9)
                     if np.allclose(padded[dy:dy + 16, dx:dx + 16], after[..., 0])]
            self.assertTrue(found)

    def test_cutout_blanks_one_square_of_the_given_size_at_most(self):
        images = np.full((20, 16, 16, 1), 0.7, np.float32)
        out = augment.cutout(tf.constant(images), ratio=0.5).numpy()
        blanked = (out == 0.0).sum(axis=(1, 2, 3))
        self.assertTrue(np.all(blanked <= 64))
        self.assertTrue(np.all(blanked > 0))
        self.assertTrue(np.any(blanked == 64))  # Some squares lie wholly inside.
        self.assertAllClose(out[out != 0.0], np.full(np.sum(out != 0.0), 0.7))

    def test_each_image_gets_its_own_draw(self):
        images = np.repeat(_digits(n=1), 16, axis=0)
        out = augment.diff_augment(tf.constant(images), ("translation", "cutout")).numpy()
        self.assertGreater(len({o.tobytes() for o in out}), 1)

    def test_parse_policy(self):
        self.assertEqual(choices.parse_policy("translation, cutout"), ("translation", "cutout"))
        self.assertEqual(choices.parse_policy("none"), ())
        self.assertEqual(choices.parse_policy(""), ())
        with self.assertRaisesRegex(ValueError, "unknown DiffAugment saturation"):
            choices.parse_policy("translation,saturation")


if __name__ == "__main__":
    tf.test.main()
