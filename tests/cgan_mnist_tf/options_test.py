import tensorflow as tf

from cgan_mnist_tf import options as cgan_options
from pix2pix_tf.common.errors import UserError


class CheckTest(tf.test.TestCase):

    def test_defaults_pass(self):
        cgan_options.check(cgan_options.Options())

    def test_each_numeric_option_out_of_range_is_named(self):
        cases = {
            "latent_dim": (0, -4),
            "epochs": (0, -1),
            "batch_size": (0,),
            "sample_interval": (0,),
            "classifier_epochs": (0,),
            "seed": (-1,),
            "num": (0, 1001),
            "eval_samples": (0, 1, 10_001),
            "lr": (float("nan"), float("inf"), 0.0, -1e-3),
            "beta1": (1.0, -0.1, float("nan")),
        }
        for name, values in cases.items():
            for value in values:
                with self.subTest(name=name, value=value):
                    with self.assertRaisesRegex(UserError, f"^--{name} must be .*, not {value}$"):
                        cgan_options.check(cgan_options.Options(**{name: value}))


if __name__ == "__main__":
    tf.test.main()
