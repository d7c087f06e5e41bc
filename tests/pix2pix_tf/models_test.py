import keras
import numpy as np
import tensorflow as tf

from pix2pix_tf import choices, models


def nonzero_box(array):
    """(height, width) of the bounding box of the nonzero pixels of an HxWxC array."""
    mask = np.any(np.asarray(array) != 0, axis=-1)
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def measured_receptive_field(discriminator, size, channels=(3, 3)):
    """Bounding box of the input pixels that one central output depends on.

    training=False: batch norm then uses its moving statistics, a per-channel
    affine map, instead of statistics that couple every pixel of the batch.
    """
    rng = np.random.default_rng(0)
    source = tf.constant(rng.normal(size=(1, size, size, channels[0])), tf.float32)
    target = tf.constant(rng.normal(size=(1, size, size, channels[1])), tf.float32)
    with tf.GradientTape() as tape:
        tape.watch([source, target])
        logits = discriminator([source, target], training=False)
        row, col = logits.shape[1] // 2, logits.shape[2] // 2
        value = logits[0, row, col, 0]
    grad_source, grad_target = tape.gradient(value, [source, target])
    return nonzero_box(np.concatenate([grad_source[0], grad_target[0]], axis=-1))


class GeneratorTest(tf.test.TestCase):

    def test_output_shapes(self):
        for crop in (32, 64, 128, 256):
            for kind in choices.GENERATORS:
                for separable in (False, True):
                    with self.subTest(crop=crop, kind=kind, separable=separable):
                        generator = models.generator(crop, 3, 2, ngf=8, skips=kind == "unet",
                                                     separable=separable)
                        self.assertEqual(generator.output_shape, (None, crop, crop, 2))
                        outputs = generator(tf.random.normal([2, crop, crop, 3]), training=True)
                        self.assertEqual(outputs.shape, (2, crop, crop, 2))
                        self.assertEqual(outputs.dtype, tf.float32)
                        self.assertAllInRange(outputs, -1.0, 1.0)

    def test_lab_channels(self):
        generator = models.generator(32, in_channels=1, out_channels=2, ngf=8)
        self.assertEqual(generator.input_shape, (None, 32, 32, 1))
        self.assertEqual(generator.output_shape, (None, 32, 32, 2))

    def test_unet_has_skips_and_encoder_decoder_none(self):
        for crop in (32, 256):
            depth = int(np.log2(crop))
            unet = models.generator(crop, ngf=8, skips=True)
            plain = models.generator(crop, ngf=8, skips=False)
            concats = [layer for layer in unet.layers if isinstance(layer, keras.layers.Concatenate)]
            # Every decoder level but the innermost takes its encoder level as well.
            self.assertLen(concats, depth - 1)
            self.assertEmpty([layer for layer in plain.layers
                              if isinstance(layer, keras.layers.Concatenate)])
            # The outermost skip joins the 1/2-size maps of both sides: ngf + ngf channels.
            self.assertEqual(unet.get_layer("decoder_1_skip").output.shape,
                             (None, crop // 2, crop // 2, 16))
            self.assertGreater(unet.count_params(), plain.count_params())

    def test_encoder_reaches_one_pixel(self):
        generator = models.generator(64, ngf=8)
        self.assertEqual(generator.get_layer("encoder_6_conv").output.shape, (None, 1, 1, 64))
        self.assertEqual(models.encoder_filters(256, 64), [64, 128, 256, 512, 512, 512, 512, 512])

    def test_dropout_on_three_innermost_decoder_levels(self):
        generator = models.generator(64, ngf=8)
        dropouts = sorted(layer.name for layer in generator.layers
                          if isinstance(layer, keras.layers.Dropout))
        self.assertEqual(dropouts, ["decoder_4_dropout", "decoder_5_dropout", "decoder_6_dropout"])

    def test_weight_initialisation(self):
        generator = models.generator(32, ngf=64)
        kernel = generator.get_layer("encoder_5_conv").kernel.numpy()
        self.assertEqual(kernel.shape, (4, 4, 512, 512))
        self.assertAllClose(kernel.std(), 0.02, atol=5e-4)
        self.assertAllClose(kernel.mean(), 0.0, atol=5e-4)
        gammas = np.concatenate([layer.gamma.numpy() for layer in generator.layers
                                 if isinstance(layer, keras.layers.BatchNormalization)])
        self.assertGreater(gammas.size, 1000)
        self.assertAllClose(gammas.mean(), 1.0, atol=5e-3)
        self.assertAllClose(gammas.std(), 0.02, atol=5e-3)
        separable = models.generator(32, ngf=64, separable=True)
        pointwise = separable.get_layer("encoder_5_conv").pointwise_kernel.numpy()
        self.assertAllClose(pointwise.std(), 0.02, atol=1e-3)

    def test_bad_crop_size_raises(self):
        for crop in (16, 48, 100, 2048, 0):
            with self.subTest(crop=crop):
                with self.assertRaisesRegex(ValueError, "power of two"):
                    models.generator(crop, ngf=8)
                with self.assertRaisesRegex(ValueError, "power of two"):
                    choices.check_crop_size(crop)


class DiscriminatorTest(tf.test.TestCase):

    def test_patch_output_is_30x30_for_256(self):
        discriminator = models.discriminator(256, ndf=8, kind="patch", n_layers=3)
        logits = discriminator([tf.zeros([2, 256, 256, 3]), tf.zeros([2, 256, 256, 3])])
        self.assertEqual(logits.shape, (2, 30, 30, 1))

    def test_output_shapes(self):
        cases = [("patch", 1, 64, (30, 30)), ("patch", 3, 32, (2, 2)),
                 ("pixel", 3, 32, (32, 32)), ("image", 3, 32, (1, 1)), ("image", 3, 256, (1, 1))]
        for kind, n_layers, crop, size in cases:
            with self.subTest(kind=kind, n_layers=n_layers, crop=crop):
                discriminator = models.discriminator(crop, 1, 2, ndf=8, kind=kind,
                                                     n_layers=n_layers)
                logits = discriminator([tf.zeros([1, crop, crop, 1]), tf.zeros([1, crop, crop, 2])])
                self.assertEqual(logits.shape, (1, *size, 1))
                self.assertEqual(logits.dtype, tf.float32)

    def test_receptive_fields_measured(self):
        # The paper's patch sizes: n_layers 1, 3, 5 -> 16x16, 70x70, 286x286.
        cases = [("patch", 1, 64, 16), ("patch", 3, 256, 70), ("patch", 5, 512, 286),
                 ("pixel", 3, 32, 1)]
        for kind, n_layers, size, expected in cases:
            with self.subTest(kind=kind, n_layers=n_layers):
                self.assertEqual(models.receptive_field(kind, n_layers, size), expected)
                discriminator = models.discriminator(size, ndf=8, kind=kind, n_layers=n_layers)
                self.assertEqual(measured_receptive_field(discriminator, size),
                                 (expected, expected))

    def test_image_discriminator_sees_whole_image(self):
        for crop in (32, 64):
            with self.subTest(crop=crop):
                discriminator = models.discriminator(crop, ndf=8, kind="image")
                self.assertEqual(models.receptive_field("image", crop_size=crop), crop)
                self.assertEqual(measured_receptive_field(discriminator, crop), (crop, crop))

    def test_unknown_kind_raises(self):
        with self.assertRaisesRegex(ValueError, "--discriminator"):
            models.discriminator(32, ndf=8, kind="nonsense")


if __name__ == "__main__":
    tf.test.main()
