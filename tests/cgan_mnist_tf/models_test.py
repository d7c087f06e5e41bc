import numpy as np
import tensorflow as tf

from cgan_mnist_tf import choices, models


class ModelsTest(tf.test.TestCase):

    def _inputs(self, batch, latent_dim=100):
        rng = np.random.default_rng(0)
        return (tf.constant(rng.standard_normal((batch, latent_dim)), tf.float32),
                tf.range(batch) % 10)

    def test_shapes_of_every_model(self):
        cases = [("mlp", True, (28, 28, 1)), ("conv", True, (32, 32, 1)), ("mlp", False, (28, 28, 1))]
        for model, conditional, shape in cases:
            generator, discriminator = models.build(model, conditional, latent_dim=16)
            z, y = self._inputs(3, 16)
            images = generator([z, y] if conditional else z, training=False)
            self.assertEqual(images.shape, (3,) + shape, msg=model)
            self.assertAllInRange(images, -1.0, 1.0)
            logits = discriminator([images, y] if conditional else images, training=False)
            self.assertEqual(logits.shape, (3, 1), msg=model)
            self.assertEqual(models.output_shape(model, conditional), shape)

    def test_mlp_layers_follow_the_article(self):
        generator, discriminator = models.build("mlp", True)
        dense = [layer.units for layer in generator.layers if layer.__class__.__name__ == "Dense"]
        self.assertEqual(dense, [128, 256, 512, 1024, 784])
        norms = [layer for layer in generator.layers if "BatchNormalization" in layer.__class__.__name__]
        self.assertEqual([n.epsilon for n in norms], [0.8, 0.8, 0.8])
        dense = [layer.units for layer in discriminator.layers if layer.__class__.__name__ == "Dense"]
        self.assertEqual(dense, [512, 512, 512, 1])
        dropouts = [layer.rate for layer in discriminator.layers if layer.__class__.__name__ == "Dropout"]
        self.assertEqual(dropouts, [0.4, 0.4])

    def test_plain_gan_layers(self):
        generator, discriminator = models.build("mlp", conditional=False)
        self.assertEqual(len(generator.inputs), 1)
        norms = [layer.momentum for layer in generator.layers if "BatchNorm" in layer.__class__.__name__]
        self.assertEqual(norms, [0.8, 0.8, 0.8])
        dense = [layer.units for layer in discriminator.layers if layer.__class__.__name__ == "Dense"]
        self.assertEqual(dense, [512, 256, 1])

    def test_discriminator_output_depends_on_the_label(self):
        for model in choices.MODELS:
            generator, discriminator = models.build(model, True, latent_dim=8)
            z, y = self._inputs(4, 8)
            images = generator([z, y], training=False)
            a = discriminator([images, y], training=False)
            b = discriminator([images, (y + 1) % 10], training=False)
            self.assertGreater(float(tf.reduce_max(tf.abs(a - b))), 1e-6, msg=model)

    def test_generator_output_depends_on_the_label(self):
        for model in choices.MODELS:
            generator, _ = models.build(model, True, latent_dim=8)
            z, y = self._inputs(4, 8)
            a = generator([z, y], training=False)
            b = generator([z, (y + 3) % 10], training=False)
            self.assertGreater(float(tf.reduce_max(tf.abs(a - b))), 1e-6, msg=model)


if __name__ == "__main__":
    tf.test.main()
