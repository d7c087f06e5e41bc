import keras
import tensorflow as tf

from pix2pix_tf.common import machine, precision
from pix2pix_tf.common.errors import UserError

# Made-up machines: the flags of interest as /proc/cpuinfo names them.
ZEN1_AVX2 = {"sse4_2", "avx", "avx2", "fma"}                       # family 23 model 1
AVX512_BF16 = ZEN1_AVX2 | {"avx512f", "avx512bw", "avx512_bf16"}     # e.g. Zen 4, Cooper Lake
AMX = ZEN1_AVX2 | {"avx512f", "avx512_bf16", "amx_tile", "amx_bf16"}  # e.g. Sapphire Rapids
AMX_ONLY = ZEN1_AVX2 | {"avx512f", "amx_tile", "amx_bf16"}


class ChooseTest(tf.test.TestCase):

    def test_avx2_only_cpu_gets_float32(self):
        self.assertEqual(precision.choose(ZEN1_AVX2),
                         ("float32", "auto: this CPU has no AVX-512 BF16 or AMX"))

    def test_avx512_bf16_cpu_gets_bfloat16(self):
        self.assertEqual(precision.choose(AVX512_BF16),
                         ("bfloat16", "auto: this CPU has AVX-512 BF16"))

    def test_amx_cpu_gets_bfloat16(self):
        self.assertEqual(precision.choose(AMX), ("bfloat16", "auto: this CPU has AMX"))
        self.assertEqual(precision.choose(AMX_ONLY)[0], "bfloat16")

    def test_a_step_with_little_arithmetic_per_weight_gets_float32(self):
        # cgan's mlp at batch 8: ~90 FLOP per weight, no faster in bfloat16.
        choice, reason = precision.choose(AVX512_BF16, flops_per_weight=90)
        self.assertEqual(choice, "float32")
        self.assertIn("90 FLOP per weight, too few for bfloat16", reason)
        self.assertEqual(precision.choose(AVX512_BF16, flops_per_weight=700)[0], "bfloat16")
        self.assertEqual(precision.choose(AVX512_BF16, flops_per_weight=None)[0], "bfloat16")
        # Not a CPU rule where it was not measured: GPUs keep their choice.
        self.assertEqual(precision.choose(ZEN1_AVX2, gpus=[(8, 0)], flops_per_weight=10)[0],
                         "bfloat16")

    def test_onednn_capped_below_bf16_gets_float32(self):
        for cap in ("AVX2", "AVX512_CORE", "AVX512_CORE_VNNI"):
            choice, reason = precision.choose(AVX512_BF16, onednn_max_isa=cap)
            self.assertEqual(choice, "float32", msg=cap)
            self.assertIn(f"ONEDNN_MAX_CPU_ISA={cap}", reason)
        # A cap at or above the bf16 level leaves it native; AMX needs its own level.
        self.assertEqual(precision.choose(AVX512_BF16, onednn_max_isa="AVX512_CORE_BF16")[0],
                         "bfloat16")
        self.assertEqual(precision.choose(AMX_ONLY, onednn_max_isa="AVX512_CORE_BF16")[0],
                         "float32")
        self.assertEqual(precision.choose(AMX, onednn_max_isa="ALL")[0], "bfloat16")

    def test_onednn_off_gets_float32(self):
        choice, reason = precision.choose(AVX512_BF16, onednn_enabled=False)
        self.assertEqual(choice, "float32")
        self.assertIn("TF_ENABLE_ONEDNN_OPTS=0", reason)

    def test_gpus_by_compute_capability(self):
        expected = {(6, 1): "float32", (7, 0): "float16", (7, 5): "float16",
                    (8, 0): "bfloat16", (9, 0): "bfloat16"}
        for capability, choice in expected.items():
            got, reason = precision.choose(ZEN1_AVX2, [machine.Gpu("gpu", capability)])
            self.assertEqual(got, choice, msg=capability)
            self.assertIn(f"compute capability {capability[0]}.{capability[1]}", reason)
        self.assertIn("loss scaling", precision.choose(ZEN1_AVX2, [(7, 0)])[1])

    def test_gpu_decides_over_the_cpu(self):
        # Training runs on the GPU: a bf16 CPU with a V100 gets float16, an AVX2
        # CPU with an A100 gets bfloat16; with two GPUs the older decides.
        self.assertEqual(precision.choose(AVX512_BF16, [(7, 0)])[0], "float16")
        self.assertEqual(precision.choose(ZEN1_AVX2, [(8, 0)])[0], "bfloat16")
        self.assertEqual(precision.choose(AMX, [(8, 6), (6, 1)])[0], "float32")
        self.assertEqual(precision.choose(AMX, [machine.Gpu("?", None)])[0], "float32")


class ResolveTest(tf.test.TestCase):

    def machine(self, flags, cap=None, gpus=()):
        return machine.Machine(cpu=machine.Cpu(flags=frozenset(flags)), gpus=gpus,
                               onednn_max_isa=cap)

    def test_auto_is_the_choice(self):
        self.assertEqual(precision.resolve("auto", self.machine(ZEN1_AVX2))[0], "float32")
        self.assertEqual(precision.resolve("auto", self.machine(AMX))[0], "bfloat16")

    def test_asked_values_are_kept_and_said_so(self):
        self.assertEqual(precision.resolve("float32", self.machine(AMX)), ("float32", "asked"))
        used, reason = precision.resolve("bfloat16", self.machine(ZEN1_AVX2))
        self.assertEqual(used, "bfloat16")
        self.assertIn("not native here (float32 would be)", reason)

    def test_bfloat16_under_a_cap_below_avx512_is_a_user_error(self):
        with self.assertRaisesRegex(UserError, "ONEDNN_MAX_CPU_ISA=AVX2"):
            precision.resolve("bfloat16", self.machine(AVX512_BF16, cap="AVX2"))
        # AVX512_CORE emulates it: allowed, said to be slow.
        used, reason = precision.resolve("bfloat16", self.machine(AVX512_BF16, cap="AVX512_CORE"))
        self.assertEqual(used, "bfloat16")
        self.assertIn("not native", reason)

    def test_unknown_value(self):
        with self.assertRaisesRegex(UserError, "--mixed_precision must be one of"):
            precision.resolve("half", self.machine(AMX))


class PolicyTest(tf.test.TestCase):

    def test_dtype_policy_sets_and_restores(self):
        with precision.dtype_policy("float16"):
            layer = keras.layers.Dense(2)
        self.assertEqual((layer.compute_dtype, layer.variable_dtype), ("float16", "float32"))
        self.assertEqual(keras.config.dtype_policy().name, "float32")

    def test_float16_scales_the_loss_and_checkpoints_the_inner_optimizer(self):
        adam = keras.optimizers.Adam(1e-3)
        wrapped = precision.wrap_optimizer(adam, "float16")
        self.assertIsInstance(wrapped, keras.optimizers.LossScaleOptimizer)
        self.assertIs(precision.checkpointed(wrapped), adam)
        plain = keras.optimizers.Adam(1e-3)
        self.assertIs(precision.wrap_optimizer(plain, "bfloat16"), plain)
        self.assertIs(precision.checkpointed(plain), plain)

        # A step whose loss overflows float16 once scaled is skipped and the
        # scale halves; a finite one updates the weights.
        variable = keras.Variable([1.0, 2.0])
        wrapped.build([variable])
        scale = float(wrapped.dynamic_scale)
        self.assertEqual(float(wrapped.scale_loss(tf.constant(2.0))), 2.0 * scale)
        wrapped.apply_gradients([(tf.constant([float("inf"), 0.0]), variable)])
        self.assertAllEqual(variable, [1.0, 2.0])
        self.assertEqual(float(wrapped.dynamic_scale), scale / 2)
        wrapped.apply_gradients([(tf.constant([scale / 2, 0.0]), variable)])
        self.assertLess(float(variable[0]), 1.0)


if __name__ == "__main__":
    tf.test.main()
