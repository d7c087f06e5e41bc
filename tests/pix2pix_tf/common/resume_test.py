"""The one resume rule, kind by kind, in both packages (docs/architecture.md)."""

import os

import tensorflow as tf

from cgan_mnist_tf import options as cgan_options
from pix2pix_tf import options as pix2pix_options
from pix2pix_tf.common import options as common_options
from pix2pix_tf.common import record, resume
from pix2pix_tf.common.errors import UserError

# For each package: an option of each kind, the value the first run saved,
# and another value.
CASES = {
    "pix2pix": (pix2pix_options.Options, {
        common_options.MODEL: ("ngf", 16, 32),
        common_options.TRAINING: ("lr", 5e-4, 1e-3),
        common_options.SPEED: ("mixed_precision", "float32", "bfloat16"),
        common_options.DISTRIBUTE: ("sync_batchnorm", True, False),
        common_options.RUN: ("progress_freq", 7, 9),
    }),
    "cgan": (cgan_options.Options, {
        common_options.MODEL: ("latent_dim", 8, 16),
        common_options.TRAINING: ("batch_size", 12, 24),
        common_options.SPEED: ("fused_optimizer", False, True),
        common_options.DISTRIBUTE: ("strategy", "mirrored", "default"),
        common_options.RUN: ("num", 3, 5),
    }),
}


class ResumeRuleTest(tf.test.TestCase):

    def saved_run(self, options_class, **values):
        folder = os.path.join(self.get_temp_dir(), f"{options_class.__module__}_{len(values)}")
        os.makedirs(folder, exist_ok=True)
        common_options.save_options(folder, options_class(**values))
        return folder

    def test_each_kind_in_each_package(self):
        for package, (options_class, kinds) in CASES.items():
            saved = {name: first for name, first, _ in kinds.values()}
            folder = self.saved_run(options_class, **saved)
            for kind, (name, first, other) in kinds.items():
                with self.subTest(package=package, kind=kind):
                    default = options_class(checkpoint=folder)
                    # Not given: MODEL, TRAINING and SPEED come back; DISTRIBUTE and RUN do not.
                    merged, messages = resume.from_checkpoint(default, {"checkpoint"})
                    comes_back = kind in (common_options.MODEL, common_options.TRAINING,
                                          common_options.SPEED)
                    self.assertEqual(getattr(merged, name),
                                     first if comes_back else getattr(default, name))
                    if kind in (common_options.TRAINING, common_options.SPEED):
                        self.assertIn(f"kept --{name}={first} from the checkpoint's options.json "
                                      "(give the flag to change it)", messages)
                    # Given again with another value: an error for MODEL, the new value otherwise.
                    asked = common_options.replace(default, **{name: other})
                    if kind == common_options.MODEL:
                        with self.assertRaisesRegex(UserError, f"--{name}={other} conflicts"):
                            resume.from_checkpoint(asked, {"checkpoint", name})
                    else:
                        merged, messages = resume.from_checkpoint(asked, {"checkpoint", name})
                        self.assertEqual(getattr(merged, name), other)
                        self.assertFalse([m for m in messages if f"--{name}=" in m], messages)

    def test_a_resumed_run_goes_on_in_its_folder_unless_told(self):
        folder = self.saved_run(pix2pix_options.Options, ngf=8)
        merged, _ = resume.from_checkpoint(pix2pix_options.Options(checkpoint=folder),
                                           {"checkpoint"})
        self.assertEqual(merged.output_dir, folder)
        elsewhere = os.path.join(self.get_temp_dir(), "elsewhere")
        merged, _ = resume.from_checkpoint(
            pix2pix_options.Options(checkpoint=folder, output_dir=elsewhere), {"checkpoint"})
        self.assertEqual(merged.output_dir, elsewhere)

    def test_other_modes_take_only_the_model_options_and_win(self):
        folder = self.saved_run(pix2pix_options.Options, ngf=8, lr=5e-4)
        asked = pix2pix_options.Options(checkpoint=folder, ngf=16)
        merged, messages = resume.from_checkpoint(asked, {"checkpoint", "ngf"}, strict=False)
        self.assertEqual((merged.ngf, merged.lr), (8, asked.lr))
        self.assertIn("--ngf=16 overridden by the checkpoint: ngf=8", messages)

    def test_auto_decided_otherwise_is_said(self):
        folder = self.saved_run(pix2pix_options.Options)
        record.save(folder, {"mixed_precision": "float32", "jit_compile": False})
        options = pix2pix_options.Options(checkpoint=folder)
        self.assertEqual(resume.changed_decisions(options, {"mixed_precision": "bfloat16",
                                                            "jit_compile": False}),
                         ["mixed_precision: bfloat16 now, float32 in the run resumed (auto, "
                          "decided on this machine)"])
        asked = pix2pix_options.Options(checkpoint=folder, mixed_precision="bfloat16")
        self.assertEqual(resume.changed_decisions(asked, {"mixed_precision": "bfloat16"}), [])

    def test_a_folder_made_before_run_json_keeps_its_record(self):
        folder = os.path.join(self.get_temp_dir(), "legacy_record")
        os.makedirs(folder)
        common_options.save_options(folder, {"mixed_precision": "auto",
                                             "mixed_precision_used": "bfloat16",
                                             "image_aspect": 2.0, "ngf": 8})
        self.assertEqual(record.load(folder), {"mixed_precision": "bfloat16", "image_aspect": 2.0})


if __name__ == "__main__":
    tf.test.main()
