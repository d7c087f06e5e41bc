import os

import tensorflow as tf

from pix2pix_tf import inference, train
from pix2pix_tf import options as pix2pix_options
from pix2pix_tf.common.errors import UserError
from tests.support import legacy
from tests.support import pix2pix as testing


def quiet(*args):
    pass


class CheckTest(tf.test.TestCase):

    def test_defaults_pass(self):
        pix2pix_options.check(testing.tiny_options())

    def test_each_numeric_option_out_of_range_is_named(self):
        cases = {
            "max_steps": (-1, -100),
            "max_epochs": (-1,),
            "batch_size": (0, -2),
            "scale_size": (0, -5),
            "summary_freq": (-1,),
            "save_freq": (-1,),
            "seed": (-1,),
            "lr": (float("nan"), float("inf"), float("-inf"), 0.0, -1e-4),
            "beta1": (1.0, -0.5, float("nan")),
            "l1_weight": (float("nan"), float("inf"), -1.0),
            "gan_weight": (float("nan"), -1.0),
            "aspect_ratio": (0.0, float("inf")),
        }
        for name, values in cases.items():
            for value in values:
                with self.subTest(name=name, value=value):
                    with self.assertRaisesRegex(UserError, f"^--{name} must be .*, not {value}$"):
                        pix2pix_options.check(testing.tiny_options(**{name: value}))

    def test_train_refuses_before_writing_anything(self):
        pairs = testing.write_pairs(os.path.join(self.get_temp_dir(), "pairs"), count=2)
        for name, value in (("lr", float("nan")), ("max_steps", -5)):
            with self.subTest(name):
                out = os.path.join(self.get_temp_dir(), f"run_{name}")
                with self.assertRaisesRegex(UserError, f"^--{name} must be"):
                    train.train(testing.tiny_options(input_dir=pairs, output_dir=out,
                                                     **{name: value}), log=quiet)
                self.assertFalse(os.path.exists(out))

    def test_test_mode_checks_batch_size_and_max_steps_before_writing(self):
        run_dir = legacy.copy_legacy_pix2pix_run(os.path.join(self.get_temp_dir(), "run"))
        pairs = testing.write_pairs(os.path.join(self.get_temp_dir(), "pairs"), count=2)
        for name, value in (("batch_size", 0), ("max_steps", -1)):
            with self.subTest(name):
                out = os.path.join(self.get_temp_dir(), f"test_{name}")
                with self.assertRaisesRegex(UserError, f"^--{name} must be at least"):
                    inference.run(testing.tiny_options(mode="test", checkpoint=run_dir,
                                                       input_dir=pairs, output_dir=out,
                                                       **{name: value}), log=quiet)
                self.assertFalse(os.path.exists(out))


if __name__ == "__main__":
    tf.test.main()
