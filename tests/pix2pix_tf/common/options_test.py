"""The options home: flags made from the dataclasses, parsing, options.json, merging."""

import contextlib
import dataclasses
import io
import json
import os
import re

import tensorflow as tf
from absl import flags

from cgan_mnist_tf import options as cgan_options
from pix2pix_tf import options as pix2pix_options
from pix2pix_tf.common import options as common_options
from pix2pix_tf.common.errors import UserError


def parse(options_class, argv):
    """The options a command line gives, through flags made from `options_class`."""
    flag_values = flags.FlagValues()
    common_options.define_flags(options_class, flag_values)
    flag_values(["prog", *argv])
    return common_options.from_flags(options_class, flag_values)


class FlagsTest(tf.test.TestCase):

    def test_every_option_is_a_flag_with_its_default_and_help(self):
        for options_class in (pix2pix_options.Options, cgan_options.Options):
            flag_values = flags.FlagValues()
            common_options.define_flags(options_class, flag_values)
            for field in dataclasses.fields(options_class):
                flag = flag_values[field.name]
                self.assertEqual(flag.default, field.default, field.name)
                self.assertTrue(flag.help.endswith(field.metadata["help"]), field.name)
                if field.metadata["choices"]:
                    self.assertCountEqual(flag.parser.enum_values, field.metadata["choices"])

    def test_command_line_gives_typed_options_and_what_was_given(self):
        options, given = parse(pix2pix_options.Options, [
            "--mode", "train", "--crop_size", "64", "--nodropout", "--lr", "0.001",
            "--which_direction", "BtoA", "--max_steps", "7"])
        self.assertEqual((options.mode, options.crop_size, options.dropout, options.lr,
                          options.which_direction, options.max_steps),
                         ("train", 64, False, 0.001, "BtoA", 7))
        self.assertEqual(given, {"mode", "crop_size", "dropout", "lr", "which_direction",
                                 "max_steps"})
        self.assertEqual(options.ngf, pix2pix_options.Options().ngf)  # Not given: the default.

    def test_speed_options_are_shared_by_both_packages(self):
        for name in common_options.names(common_options.SpeedOptions):
            self.assertIn(name, common_options.names(pix2pix_options.Options))
            self.assertIn(name, common_options.names(cgan_options.Options))

    def test_bad_choice_is_refused_by_the_flag(self):
        with self.assertRaises(flags.IllegalFlagValueError):
            parse(cgan_options.Options, ["--model", "transformer"])

    def test_command_line_errors_are_one_line_and_status_2(self):
        flag_values = flags.FlagValues()
        common_options.define_flags(cgan_options.Options, flag_values)
        parse = common_options.flags_parser(flag_values)
        self.assertEqual(parse(["prog", "--model", "conv"]), ["prog"])
        self.assertEqual(flag_values.model, "conv")
        for argv, message in (
                (["--model", "transformer"], "error: flag --model=transformer: value should be "
                                             "one of <mlp|conv|dcgan_proj|stackgan>"),
                (["--modle", "conv"], "error: Unknown command line flag 'modle'"),
                (["--epochs", "ten"], "error: flag --epochs=ten: invalid literal for int()"),
                (["--model", "conv", "stray"], "error: unexpected arguments: stray")):
            with self.subTest(argv=argv):
                stderr = io.StringIO()
                with contextlib.redirect_stderr(stderr), self.assertRaises(SystemExit) as exited:
                    parse(["prog", *argv])
                self.assertEqual(exited.exception.code, 2)
                lines = stderr.getvalue().splitlines()
                self.assertLen(lines, 1)
                self.assertStartsWith(lines[0], message)

    def test_help_groups_the_flags_by_kind_after_the_summary_and_examples(self):
        text = common_options.help_text(pix2pix_options.Options, "One line.",
                                        ["cmd --mode train", "cmd --mode test"])
        lines = text.splitlines()
        self.assertEqual(lines[:5], ["One line.", "", "Examples:", "  cmd --mode train",
                                     "  cmd --mode test"])
        headings = [i for i, line in enumerate(lines) if line and not line.startswith(" ")
                    and line.endswith(":") and i > 2]
        self.assertLen(headings, 5)
        self.assertStartsWith(lines[headings[0] + 1], "  --mode=train|test|eval|predict|export")
        # Each flag once, under the heading of its kind.
        for kind, start in zip([kind for kind, _ in common_options.HELP_GROUPS], headings):
            end = headings[headings.index(start) + 1] if start != headings[-1] else len(lines)
            listed = set(re.findall(r"^  --(?:\[no\])?(\w+)", "\n".join(lines[start:end]),
                                    re.MULTILINE))
            self.assertEqual(listed, set(common_options.names(pix2pix_options.Options, kind)))
        self.assertIn("  --[no]flip", text)
        self.assertIn("  --[no]jit_compile[=auto]", text)
        self.assertRegex(text, r"(?s)--crop_size=N +Crop size: [^(]*\(default: 256\)")

    def test_help_flag_prints_the_help_and_exits_0(self):
        flag_values = flags.FlagValues()
        common_options.define_flags(cgan_options.Options, flag_values)
        parse = common_options.flags_parser(flag_values, help_text="The help.")
        for argv in (["--help"], ["-h"], ["--mode", "eval", "--helpshort"]):
            stdout = io.StringIO()
            with contextlib.redirect_stdout(stdout), self.assertRaises(SystemExit) as exited:
                parse(["prog", *argv])
            self.assertEqual((exited.exception.code, stdout.getvalue()), (0, "The help.\n"))

    def test_model_keys_come_from_the_kinds(self):
        self.assertIn("crop_size", pix2pix_options.MODEL_KEYS)
        self.assertIn("dropout", pix2pix_options.MODEL_KEYS)
        self.assertNotIn("lr", pix2pix_options.MODEL_KEYS)
        # ema_decay: whether the checkpoint holds an EMA copy of the generator.
        self.assertCountEqual(cgan_options.MODEL_KEYS,
                              ("model", "conditional", "latent_dim", "ema_decay"))


class SavedOptionsTest(tf.test.TestCase):

    def test_save_and_read_back(self):
        folder = self.get_temp_dir()
        options = pix2pix_options.default_options(crop_size=64, ngf=16)
        common_options.save_options(folder, options, note="x")
        saved = common_options.load_options(folder)
        self.assertEqual((saved["crop_size"], saved["ngf"], saved["note"]), (64, 16, "x"))
        # Keys unknown to this version are left out; missing ones take defaults.
        again = common_options.from_dict(pix2pix_options.Options, {**saved, "old_key": 1})
        self.assertEqual(again, options)

    def test_options_json_that_is_not_an_object_is_one_error(self):
        folder = os.path.join(self.get_temp_dir(), "bad")
        os.makedirs(folder)
        with open(os.path.join(folder, "options.json"), "w") as f:
            json.dump([1, 2], f)
        with self.assertRaisesRegex(UserError, "not a JSON object"):
            common_options.load_options(folder)

    def test_merge_takes_model_keys_and_refuses_conflicts_when_strict(self):
        options = pix2pix_options.default_options(ngf=32, lr=0.1)
        saved = {"ngf": 8, "lr": 0.5}
        merged, messages = common_options.merge_saved_options(options, saved, ("ngf",), set(),
                                                              strict=True)
        self.assertEqual((merged.ngf, merged.lr), (8, 0.1))
        self.assertEqual(messages, ["loaded ngf=8 from the checkpoint"])
        with self.assertRaisesRegex(UserError, "--ngf=32 conflicts with ngf=8"):
            common_options.merge_saved_options(options, saved, ("ngf",), {"ngf"}, strict=True)
        merged, messages = common_options.merge_saved_options(options, saved, ("ngf",), {"ngf"},
                                                              strict=False)
        self.assertEqual(merged.ngf, 8)
        self.assertIn("overridden by the checkpoint", messages[0])

    def test_options_are_frozen(self):
        with self.assertRaises(dataclasses.FrozenInstanceError):
            pix2pix_options.default_options().crop_size = 1


if __name__ == "__main__":
    tf.test.main()
