"""--mixed_precision: the computation dtype of training, chosen from the hardware.

    choice, reason = choose(cpu_flags, gpus)      # pure: what `auto` means here
    used, reason = resolve("auto", machine)       # a run's request -> what it uses

bfloat16 where the hardware runs it natively (a CPU with AVX-512 BF16 or AMX
that oneDNN may use; a GPU of compute capability 8.0 or newer), float16 with
dynamic loss scaling on GPUs of compute capability 7.x (tensor cores, no
bfloat16), float32 everywhere else: emulated bfloat16 costs several times
float32's time (about 5x on a first-generation Zen). On CPUs, a training step
with little arithmetic per weight (cgan's mlp) keeps float32 too: bfloat16's
casts of the weights cost it more than its faster products save.

Every mixed policy keeps float32 variables, so checkpoints are the same
whatever the precision, and a run may resume with another one. float16 wraps
each optimizer in Keras' LossScaleOptimizer; `checkpointed(optimizer)` is what
a checkpoint holds, the inner optimizer, so its keys do not change either.
"""

import contextlib

import keras

from pix2pix_tf.common import machine as machine_lib
from pix2pix_tf.common.errors import UserError

AUTO = "auto"
CHOICES = (AUTO, "float32", "bfloat16", "float16")
# --mixed_precision -> Keras dtype policy. The mixed policies keep float32
# variables (so checkpoints are the same either way) and compute in the low
# precision; the models' outputs and logits, and so the losses, stay float32.
DTYPE_POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16",
                  "float16": "mixed_float16"}
# On CPUs, bfloat16 pays only where a step does enough arithmetic per weight to
# cover the casts of every weight (and gradient) it adds; the threshold sits
# between the measured cases that gained and the one that did not (BENCHMARKS.md).
MIN_BF16_FLOPS_PER_WEIGHT = 150


def choose(cpu_flags, gpus=(), onednn_max_isa=None, onednn_enabled=True,
           flops_per_weight=None):
    """What `--mixed_precision auto` means on a machine.

    Args:
        cpu_flags: the CPU's ISA flags as /proc/cpuinfo names them.
        gpus: the GPUs training would run on: `machine.Gpu`s, or
            (major, minor) compute capabilities. With any GPU, training runs
            there; with several, the oldest decides.
        onednn_max_isa: $ONEDNN_MAX_CPU_ISA (None: not set). Below
            AVX512_CORE_BF16 oneDNN does not use the CPU's bfloat16 instructions.
        onednn_enabled: False with TF_ENABLE_ONEDNN_OPTS=0 (no bfloat16 kernels).
        flops_per_weight: FLOP of a training step per weight of the networks
            (None: not known). On CPUs, below MIN_BF16_FLOPS_PER_WEIGHT
            bfloat16 is not chosen.

    Returns:
        (one of "float32", "bfloat16", "float16"; the reason, for the run's first lines).
    """
    capabilities = [getattr(gpu, "compute_capability", gpu) for gpu in gpus]
    if capabilities:
        if any(cc is None for cc in capabilities):
            return "float32", "auto: a GPU without a reported compute capability"
        oldest = min(tuple(cc) for cc in capabilities)
        where = f"GPU compute capability {oldest[0]}.{oldest[1]}"
        if oldest >= (8, 0):
            return "bfloat16", f"auto: {where} runs bfloat16 natively"
        if oldest >= (7, 0):
            return "float16", (f"auto: {where} has float16 tensor cores and no bfloat16; "
                               "dynamic loss scaling")
        return "float32", f"auto: {where} has no float16 tensor cores or bfloat16"
    flags = set(cpu_flags)
    native = [name for flag, name in (("amx_bf16", "AMX"), ("avx512_bf16", "AVX-512 BF16"))
              if flag in flags]
    if not native:
        return "float32", "auto: this CPU has no AVX-512 BF16 or AMX"
    if not onednn_enabled:
        return "float32", f"auto: this CPU has {native[0]} but oneDNN is off (TF_ENABLE_ONEDNN_OPTS=0)"
    if not machine_lib.bfloat16_native(flags, onednn_max_isa):
        return "float32", (f"auto: this CPU has {' and '.join(native)} but "
                           f"{machine_lib.ONEDNN_ISA_ENV}={onednn_max_isa} keeps oneDNN below it")
    if flops_per_weight is not None and flops_per_weight < MIN_BF16_FLOPS_PER_WEIGHT:
        return "float32", (f"auto: this CPU has {native[0]}, but a step does "
                           f"{flops_per_weight:.0f} FLOP per weight, too few for bfloat16 to "
                           f"repay its casts of the weights (below {MIN_BF16_FLOPS_PER_WEIGHT})")
    return "bfloat16", f"auto: this CPU has {native[0]}"


def resolve(requested, machine, flops_per_weight=None):
    """(the precision a run uses, why) for --mixed_precision `requested` on
    `machine`, for a step of `flops_per_weight` (see `choose`).

    Raises UserError for bfloat16 where oneDNN is capped below AVX-512
    ($ONEDNN_MAX_CPU_ISA=AVX2...): its kernels refuse bfloat16 there and
    TensorFlow aborts at the first convolution.
    """
    if requested not in CHOICES:
        raise UserError(f"--mixed_precision must be one of {', '.join(CHOICES)}, not {requested!r}")
    if requested == AUTO:
        return choose(machine.cpu.flags, machine.gpus, machine.onednn_max_isa,
                      machine.onednn_enabled, flops_per_weight)
    if requested == "bfloat16" and not machine.gpus and machine.onednn_enabled and \
            not machine_lib.isa_at_least(machine.onednn_max_isa, "AVX512_CORE"):
        raise UserError(f"--mixed_precision bfloat16 cannot run with "
                        f"{machine_lib.ONEDNN_ISA_ENV}={machine.onednn_max_isa}: oneDNN has no "
                        "bfloat16 kernels below AVX512_CORE; use float32 or auto")
    native, _ = choose(machine.cpu.flags, machine.gpus, machine.onednn_max_isa,
                       machine.onednn_enabled)
    if requested != "float32" and requested != native:
        return requested, f"asked; not native here ({native} would be), so likely slower"
    return requested, "asked"


@contextlib.contextmanager
def dtype_policy(precision):
    """Layers built inside compute in `precision` (a resolved --mixed_precision,
    not auto); the global policy is restored after."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(DTYPE_POLICIES[precision or "float32"])
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def wrap_optimizer(optimizer, precision):
    """float16: the optimizer under dynamic loss scaling (Keras' LossScaleOptimizer,
    which skips steps whose gradients overflow). Train steps call
    `optimizer.scale_loss(loss)` before taking gradients: the identity for an
    unwrapped optimizer."""
    if precision == "float16":
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def checkpointed(optimizer):
    """What a checkpoint holds of `optimizer`: the inner optimizer of a loss
    scaler (the scale itself starts again at resume, and adapts within steps)."""
    return getattr(optimizer, "inner_optimizer", optimizer)
