"""What the benches compare a training step with: the machine's theoretical
peak and the rates measured on it now (`machine.describe` names it).

- `theoretical_peak(machine)`: float32/bfloat16 GFLOP/s from the vector width
  and the FMA units, for the CPUs whose units are known (None otherwise).
- `kernel`, `measured_rates(...)`: a large matrix product and a large
  convolution timed here and now: the limit a training step is compared with.
"""

import time

from pix2pix_tf.common.machine import Cpu, Machine, bfloat16_native, isa_at_least

# ---------------------------------------------------------------- theoretical peak

def fma_units(cpu: Cpu) -> tuple | None:
    """(FMA pipes per core, width in bits of each, what it is) where known, else None.

    AMD documents its FP units per generation: first Zen (family 23, models
    below 0x30: Zen, Zen+) has two 128-bit FMA pipes, so a 256-bit AVX2 FMA
    runs as two halves; Zen 2 and 3 have two 256-bit pipes; Zen 4 (family 25
    with AVX-512) runs 512-bit instructions through the same two 256-bit
    pipes; Zen 5 desktop and server parts (family 26) have two 512-bit pipes.
    Intel's count of 512-bit FMA units differs between parts of one family
    (one or two on Xeon Scalable), and other vendors are not modelled: None.
    """
    if cpu.vendor != "AuthenticAMD" or "fma" not in cpu.flags or cpu.family is None:
        return None
    model = cpu.model_number or 0
    if cpu.family == 23:
        if model < 0x30:
            return 2, 128, "first-generation Zen: two 128-bit FMA pipes"
        return 2, 256, "Zen 2: two 256-bit FMA pipes"
    if cpu.family == 25:
        return 2, 256, ("Zen 4: two 256-bit FMA pipes (512-bit instructions in two halves)"
                        if "avx512f" in cpu.flags else "Zen 3: two 256-bit FMA pipes")
    if cpu.family == 26 and not 0x20 <= model < 0x30:  # 0x2x: mobile Zen 5, 256-bit pipes.
        return 2, 512, "Zen 5: two 512-bit FMA pipes"
    return None


def theoretical_peak(machine: Machine) -> dict | None:
    """{"float32": GFLOP/s, "bfloat16": GFLOP/s or None, "basis": how} or None.

    cores x clock x pipes x float32 lanes x 2 (a multiply-add is 2 FLOP), the
    lanes limited by the widest vector oneDNN may use ($ONEDNN_MAX_CPU_ISA).
    AVX-512 BF16's VDPBF16PS does two bfloat16 multiply-adds per float32 lane:
    twice the float32 rate. AMX tiles are not modelled. The clock is the one
    /proc/cpuinfo reports (nominal; boost clocks can exceed the figure).
    """
    cpu = machine.cpu
    units = fma_units(cpu)
    if units is None or not cpu.mhz:
        return None
    pipes, bits, what = units
    isa_bits = 512 if "avx512f" in cpu.flags and isa_at_least(machine.onednn_max_isa,
                                                                "AVX512_CORE") else 256
    lanes = min(bits, isa_bits) // 32
    per_cycle = pipes * lanes * 2
    fp32 = cpu.cores * cpu.mhz * 1e-3 * per_cycle
    bf16 = 2 * fp32 if bfloat16_native(cpu.flags, machine.onednn_max_isa,
                                       machine.onednn_enabled) else None
    return {"float32": fp32, "bfloat16": bf16,
            "basis": f"{cpu.cores} cores x {cpu.mhz:.0f} MHz x {per_cycle} float32 FLOP/cycle ({what})"}


# ---------------------------------------------------------------- measured rate

# A matrix product and a convolution of the size of pix2pix's middle layers
# (128x128x128 -> 64x64x256, 4x4 kernel, stride 2: 4.3 GFLOP).
MATMUL_SIZE = 2048
CONV_INPUT = (1, 128, 128, 128)
CONV_KERNEL = (4, 4, 128, 256)


def kernel(kind: str, dtype: str) -> tuple:
    """(a tf.function running the yardstick `kind` ("matmul" or "conv") in
    `dtype`, its FLOP per call)."""
    import tensorflow as tf  # Only here: the rest of the module is plain Python.

    rng = tf.random.Generator.from_seed(0)
    if kind == "matmul":
        n = MATMUL_SIZE
        a, b = tf.cast(rng.normal((n, n)), dtype), tf.cast(rng.normal((n, n)), dtype)
        return tf.function(lambda: tf.linalg.matmul(a, b)), 2 * n ** 3
    x, w = tf.cast(rng.normal(CONV_INPUT), dtype), tf.cast(rng.normal(CONV_KERNEL), dtype)
    out_pixels = (CONV_INPUT[1] // 2) * (CONV_INPUT[2] // 2)
    flops = 2 * out_pixels * CONV_KERNEL[3] * CONV_KERNEL[0] * CONV_KERNEL[1] * CONV_KERNEL[2]
    return tf.function(lambda: tf.nn.conv2d(x, w, 2, "SAME")), flops


def _best_rate(run, flops, seconds):
    """GFLOP/s of the fastest of several calls of `run` within about `seconds`."""
    run().numpy()  # Traces, and lets oneDNN pick its kernel.
    best, deadline, count = float("inf"), time.perf_counter() + seconds, 0
    while count < 3 or time.perf_counter() < deadline:
        start = time.perf_counter()
        run().numpy()
        best = min(best, time.perf_counter() - start)
        count += 1
    return flops / best / 1e9


def measured_rates(dtypes=("float32",), seconds: float = 1.0) -> dict:
    """{"matmul": {dtype: GFLOP/s}, "conv": {dtype: GFLOP/s}} measured now.

    The fastest of the calls within `seconds` per kernel: the most this
    machine gave, so a load from other processes lowers it less than a mean.
    """
    rates = {"matmul": {}, "conv": {}}
    for dtype in dtypes:
        for kind in rates:
            run, flops = kernel(kind, dtype)
            rates[kind][dtype] = _best_rate(run, flops, seconds)
    return rates
