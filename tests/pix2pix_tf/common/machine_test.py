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


class CpuInfoTest(tf.test.TestCase):

    def test_parse_first_processor(self):
        info = machine.parse_cpuinfo(CPUINFO, cores=2)
        self.assertEqual((info.model, info.vendor, info.family, info.model_number, info.mhz,
                          info.cores),
                         ("AMD EPYC 7551 32-Core Processor", "AuthenticAMD", 23, 1, 2000.0, 2))
        self.assertEqual(info.flags, {"fpu", "sse4_2", "avx", "avx2", "fma", "f16c"})

    def test_probe_reads_this_machine_and_the_onednn_cap(self):
        found = machine.probe({"ONEDNN_MAX_CPU_ISA": "avx2"}, with_gpus=False)
        self.assertEqual(found.onednn_max_isa, "AVX2")
        self.assertGreaterEqual(found.cpu.cores, 1)
        self.assertGreater(found.memory_bytes, 0)
        self.assertTrue(found.onednn_enabled)
        self.assertFalse(machine.probe({"TF_ENABLE_ONEDNN_OPTS": "0"}, False).onednn_enabled)

    def test_isa_levels(self):
        self.assertTrue(machine.isa_at_least(None, "AVX512_CORE_AMX"))
        self.assertTrue(machine.isa_at_least("ALL", "AVX512_CORE_AMX"))
        self.assertFalse(machine.isa_at_least("AVX2", "AVX512_CORE"))
        self.assertTrue(machine.isa_at_least("AVX512_CORE_BF16", "AVX512_CORE"))
        self.assertFalse(machine.isa_at_least("AVX512_CORE_BF16", "AVX512_CORE_AMX"))


if __name__ == "__main__":
    tf.test.main()
