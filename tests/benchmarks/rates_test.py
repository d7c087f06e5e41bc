"""benchmarks/rates.py: the machine in one line, its theoretical peak and measured rates."""

import tensorflow as tf

from benchmarks import rates
from pix2pix_tf.common import machine
from tests.pix2pix_tf.common.machine_test import CPUINFO


def cpu(family, model, flags, mhz=2500.0, cores=2, vendor="AuthenticAMD"):
    return machine.Cpu(model="test", vendor=vendor, family=family, model_number=model,
                       flags=frozenset(flags), mhz=mhz, cores=cores)


AVX2 = {"avx", "avx2", "fma"}
AVX512 = AVX2 | {"avx512f", "avx512_bf16"}


class DescribeTest(tf.test.TestCase):

    def test_flags_of_interest_and_the_line(self):
        info = machine.parse_cpuinfo(CPUINFO, cores=2)
        self.assertEqual(machine.flags_of_interest(info), ["avx2", "fma"])
        found = machine.probe({"ONEDNN_MAX_CPU_ISA": "avx2"}, with_gpus=False)
        line = machine.describe(found)
        self.assertIn("ONEDNN_MAX_CPU_ISA=AVX2", line)
        self.assertIn("no GPU", line)


class TheoreticalPeakTest(tf.test.TestCase):

    def peak(self, cpu_, cap=None):
        return rates.theoretical_peak(machine.Machine(cpu=cpu_, onednn_max_isa=cap))

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
        measured = rates.measured_rates(("float32",), seconds=0.0)
        for kernel in ("matmul", "conv"):
            self.assertGreater(measured[kernel]["float32"], 0.5, msg=kernel)


if __name__ == "__main__":
    tf.test.main()
