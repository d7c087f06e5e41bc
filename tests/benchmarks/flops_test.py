import keras
import tensorflow as tf

from benchmarks import flops


class FlopsTest(tf.test.TestCase):

    def test_separable_and_dense_layers(self):
        x = keras.Input((8, 8, 4))
        y = keras.layers.SeparableConv2D(6, 3, padding="same", name="sep")(x)
        y = keras.layers.Flatten()(y)
        y = keras.layers.Dense(5, name="dense")(y)
        model = keras.Model(x, y)
        self.assertEqual(flops.model_macs(model),
                         [("sep", 8 * 8 * 4 * 9 + 8 * 8 * 4 * 6), ("dense", 8 * 8 * 6 * 5)])
        self.assertEqual(flops.forward_flops(model, batch_size=3),
                         3 * 2 * (8 * 8 * 4 * 9 + 8 * 8 * 4 * 6 + 8 * 8 * 6 * 5))

    def test_a_wrapped_layer_counts_as_the_layer_it_wraps(self):
        x = keras.Input((8, 8, 3))
        conv = keras.layers.Conv2D(5, 4, strides=2, padding="same")
        y = keras.layers.SpectralNormalization(conv, name="sn_conv")(x)
        y = keras.layers.Flatten()(y)
        y = keras.layers.SpectralNormalization(keras.layers.Dense(2), name="sn_dense")(y)
        model = keras.Model(x, y)
        self.assertEqual(flops.model_macs(model),
                         [("sn_conv", 4 * 4 * 5 * 4 * 4 * 3), ("sn_dense", 4 * 4 * 5 * 2)])

    def test_step_adds_the_passes(self):
        x = keras.Input((10,))
        g = keras.Model(x, keras.layers.Dense(4)(x))
        y = keras.Input((4,))
        d = keras.Model(y, keras.layers.Dense(1)(y))
        step = flops.step_flops(g, d, 3, 7, batch_size=2)
        self.assertEqual(step, {"generator_forward": 2 * 2 * 40, "discriminator_forward": 2 * 2 * 4,
                                "train_step": 3 * 160 + 7 * 16})


if __name__ == "__main__":
    tf.test.main()
