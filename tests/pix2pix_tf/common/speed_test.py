import tensorflow as tf
from absl import flags

from pix2pix_tf.common import machine, speed
from pix2pix_tf.common import options as common_options
from pix2pix_tf.common.errors import UserError

AVX2 = machine.Machine(cpu=machine.Cpu(flags=frozenset({"avx2", "fma"}), cores=2),
                       memory_bytes=8 * 2 ** 30)
BF16_CAPPED = machine.Machine(cpu=machine.Cpu(flags=frozenset({"avx2", "avx512_bf16"}), cores=4),
                              onednn_max_isa="AVX2")
V100 = machine.Machine(cpu=AVX2.cpu, gpus=(machine.Gpu("V100", (7, 0)),))


class ParseTest(tf.test.TestCase):

    def test_switch_values(self):
        for text, value in (("auto", "auto"), ("true", True), ("False", False), ("1", True),
                            (True, True), (False, False)):
            self.assertEqual(common_options.parse_switch(text), value, msg=text)
        with self.assertRaises(ValueError):
            common_options.parse_switch("sometimes")

    def test_thread_values(self):
        self.assertEqual(common_options.parse_threads("auto"), "auto")
        self.assertEqual(common_options.parse_threads("3"), 3)
        for bad in ("-1", "x", None):
            with self.assertRaises(ValueError):
                common_options.parse_threads(bad)

    def test_flags_take_auto_and_the_old_boolean_forms(self):
        values = flags.FlagValues()
        common_options.define_flags(common_options.SpeedOptions, values)
        values(["prog"])
        self.assertEqual([values[n].value for n in ("mixed_precision", "jit_compile", "cache",
                                                    "intra_op_threads", "fused_optimizer")],
                         ["auto", "auto", "auto", "auto", True])
        values.unparse_flags()
        values(["prog", "--jit_compile", "--nocache", "--inter_op_threads", "2",
                "--mixed_precision", "float16"])
        self.assertEqual([values[n].value for n in ("jit_compile", "cache", "inter_op_threads",
                                                    "mixed_precision")], [True, False, 2, "float16"])
        values.unparse_flags()
        values(["prog", "--jit_compile=auto", "--cache=true"])
        self.assertEqual((values["jit_compile"].value, values["cache"].value), ("auto", True))
        values.unparse_flags()
        with self.assertRaises(flags.IllegalFlagValueError):
            values(["prog", "--intra_op_threads", "many"])

    def test_check_names_the_flag(self):
        with self.assertRaisesRegex(UserError, "--cache: expected auto, true or false"):
            speed.check({"cache": "maybe"})
        with self.assertRaisesRegex(UserError, "--mixed_precision must be one of"):
            speed.check({"mixed_precision": "int8"})


class ResolveTest(tf.test.TestCase):

    def test_auto_on_an_avx2_cpu_says_what_and_why(self):
        used, lines = speed.resolve({"mixed_precision": "auto", "jit_compile": "auto",
                                     "intra_op_threads": "auto", "inter_op_threads": "auto"}, AVX2)
        self.assertEqual(used, {"mixed_precision": "float32", "jit_compile": False,
                                "intra_op_threads": 0, "inter_op_threads": 0})
        self.assertEqual(lines[0], "precision: float32 (auto: this CPU has no AVX-512 BF16 or AMX)")
        self.assertTrue(lines[1].startswith("jit_compile: off (auto: on CPU"))
        self.assertIn("one thread per usable core (2)", lines[2])

    def test_capped_cpu_and_gpu(self):
        used, lines = speed.resolve({"mixed_precision": "auto"}, BF16_CAPPED)
        self.assertEqual(used["mixed_precision"], "float32")
        self.assertIn("ONEDNN_MAX_CPU_ISA=AVX2", lines[0])
        used, lines = speed.resolve({"mixed_precision": "auto", "jit_compile": "auto"}, V100)
        self.assertEqual((used["mixed_precision"], used["jit_compile"]), ("float16", False))
        self.assertIn("not measured on GPUs", lines[1])

    def test_asked_values_win(self):
        used, lines = speed.resolve({"jit_compile": True, "intra_op_threads": 1,
                                     "inter_op_threads": "auto"}, AVX2)
        self.assertEqual(used, {"jit_compile": True, "intra_op_threads": 1,
                                "inter_op_threads": 0})
        self.assertEqual(lines, ["jit_compile: on (asked)",
                                 "threads: intra-op 1, inter-op default (asked)"])

    def test_used_prefers_what_the_run_resolved(self):
        resolved = common_options.SpeedOptions(mixed_precision="float16")
        self.assertEqual(speed.used(resolved, "mixed_precision"), "float16")
        self.assertEqual(speed.used(common_options.SpeedOptions(), "mixed_precision", AVX2),
                         "float32")
        self.assertIs(speed.used(common_options.SpeedOptions(jit_compile=True), "jit_compile",
                                 AVX2), True)

    def test_resolve_reads_a_dataclass(self):
        used, lines = speed.resolve(common_options.SpeedOptions(), AVX2)
        resolved = common_options.replace(common_options.SpeedOptions(), **used)
        self.assertEqual(resolved.mixed_precision, "float32")
        self.assertLen(lines, 3)

    def test_cache_from_memory(self):
        self.assertEqual(speed.cache_decision(False, 1), (False, "cache: off (asked)"))
        cache, line = speed.cache_decision("auto", 2 ** 30, AVX2)  # 1 of 8 GiB: fits in a quarter.
        self.assertTrue(cache)
        self.assertIn("cache: on (auto: the decoded images need 1.00 GiB", line)
        cache, line = speed.cache_decision("auto", 3 * 2 ** 30, AVX2, what="the digits")
        self.assertFalse(cache)
        self.assertIn("the digits need 3.0 GiB, more than 25% of the memory", line)


if __name__ == "__main__":
    tf.test.main()
