import os

import tensorflow as tf

from cgan_mnist_tf import options as cgan_options
from pix2pix_tf.common import options as common_options
from pix2pix_tf.common import resume
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



class FromCheckpointTest(tf.test.TestCase):

    def test_the_small_data_options_come_back_only_for_the_model_that_uses_them(self):
        for model, conditional, expected in (("dcgan_proj", True, 0.9), ("mlp", True, None),
                                             ("dcgan_proj", False, None)):
            folder = os.path.join(self.get_temp_dir(), f"{model}_{conditional}")
            os.makedirs(folder)
            common_options.save_options(folder, cgan_options.Options(
                model=model, conditional=conditional, ema_decay=0.9))
            merged, messages = resume.from_checkpoint(cgan_options.Options(checkpoint=folder),
                                                      {"checkpoint"})
            self.assertEqual((merged.model, merged.conditional), (model, conditional))
            self.assertIn(f"loaded model={model} from the checkpoint", messages)
            loaded = [m for m in messages if "ema_decay" in m]
            if expected is None:  # Unused by the articles' models: not worth a line.
                self.assertEmpty(loaded)
            else:
                self.assertEqual(loaded, ["loaded ema_decay=0.9 from the checkpoint"])
                self.assertEqual(merged.ema_decay, expected)


if __name__ == "__main__":
    tf.test.main()
