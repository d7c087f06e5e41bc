import tensorflow as tf

from pix2pix_tf.common import machine

CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 23
model\t\t: 1
model name\t: AMD EPYC 7551 32-Core Processor
cpu MHz\t\t: 2000.000
flags\t\t: fpu sse4_2 avx avx2 fma f16c

processor\t: 1
vendor_id\t: AuthenticAMD
cpu family\t: 23
model\t\t: 1
"""


def cpu(family, model, flags, mhz=2500.0, cores=2, vendor="AuthenticAMD"):
    return machine.Cpu(model="test", vendor=vendor, family=family, model_number=model,
                       flags=frozenset(flags), mhz=mhz, cores=cores)


AVX2 = {"avx", "avx2", "fma"}
AVX512 = AVX2 | {"avx512f", "avx512_bf16"}


class CpuInfoTest(tf.test.TestCase):

    def test_parse_first_processor(self):
        info = machine.parse_cpuinfo(CPUINFO, cores=2)
        self.assertEqual((info.model, info.vendor, info.family, info.model_number, info.mhz,
                          info.cores),
                         ("AMD EPYC 7551 32-Core Processor", "AuthenticAMD", 23, 1, 2000.0, 2))
        self.assertEqual(info.flags, {"fpu", "sse4_2", "avx", "avx2", "fma", "f16c"})
        self.assertEqual(machine.flags_of_interest(info), ["avx2", "fma"])

    def test_probe_reads_this_machine_and_the_onednn_cap(self):
        found = machine.probe({"ONEDNN_MAX_CPU_ISA": "avx2"}, with_gpus=False)
        self.assertEqual(found.onednn_max_isa, "AVX2")
        self.assertGreaterEqual(found.cpu.cores, 1)
        self.assertGreater(found.memory_bytes, 0)
        self.assertTrue(found.onednn_enabled)
        self.assertFalse(machine.probe({"TF_ENABLE_ONEDNN_OPTS": "0"}, False).onednn_enabled)
        line = machine.describe(found)
        self.assertIn("ONEDNN_MAX_CPU_ISA=AVX2", line)
        self.assertIn("no GPU", line)

    def test_isa_levels(self):
        self.assertTrue(machine.isa_at_least(None, "AVX512_CORE_AMX"))
        self.assertTrue(machine.isa_at_least("ALL", "AVX512_CORE_AMX"))
        self.assertFalse(machine.isa_at_least("AVX2", "AVX512_CORE"))
        self.assertTrue(machine.isa_at_least("AVX512_CORE_BF16", "AVX512_CORE"))
        self.assertFalse(machine.isa_at_least("AVX512_CORE_BF16", "AVX512_CORE_AMX"))


class TheoreticalPeakTest(tf.test.TestCase):

    def peak(self, cpu_, cap=None):
        return machine.theoretical_peak(machine.Machine(cpu=cpu_, onednn_max_isa=cap))

    def test_first_zen_runs_256_bit_fma_as_two_halves(self):
        # 2 cores x 2.5 GHz x 2 pipes x 4 float32 lanes (128 bits) x 2.
        peak = self.peak(cpu(23, 1, AVX2))
        self.assertEqual((peak["float32"], peak["bfloat16"]), (80.0, None))
        self.assertIn("first-generation Zen", peak["basis"])
        self.assertEqual(self.peak(cpu(23, 0x31, AVX2))["float32"], 160.0)  # Zen 2

    def test_zen4_avx512_in_two_halves_and_bf16_twice_that(self):
        peak = self.peak(cpu(25, 17, AVX512))
        self.assertEqual((peak["float32"], peak["bfloat16"]), (160.0, 320.0))
        # oneDNN capped at AVX2: the same pipes, no bf16 instructions.
        self.assertEqual((self.peak(cpu(25, 17, AVX512), "AVX2")["float32"],
                          self.peak(cpu(25, 17, AVX512), "AVX2")["bfloat16"]), (160.0, None))

    def test_zen5_full_width_unless_capped(self):
        self.assertEqual(self.peak(cpu(26, 2, AVX512))["float32"], 320.0)
        self.assertEqual(self.peak(cpu(26, 2, AVX512), "AVX2")["float32"], 160.0)

    def test_unknown_units_or_clock_give_none(self):
        self.assertIsNone(self.peak(cpu(6, 85, AVX512, vendor="GenuineIntel")))
        self.assertIsNone(self.peak(cpu(23, 1, AVX2, mhz=None)))
        self.assertIsNone(self.peak(cpu(23, 1, {"avx"})))  # No FMA.


class MeasuredRatesTest(tf.test.TestCase):

    def test_matmul_and_conv_rates_are_measured(self):
        rates = machine.measured_rates(("float32",), seconds=0.0)
        for kernel in ("matmul", "conv"):
            self.assertGreater(rates[kernel]["float32"], 0.5, msg=kernel)


if __name__ == "__main__":
    tf.test.main()
