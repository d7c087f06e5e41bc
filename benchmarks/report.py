"""What a bench prints and records: the machine and its limits, the table of
the cases (each step's share of the measured rate and of the peak), peak
memory and load, and the --json figures.
"""

import json
import os
import resource

from benchmarks import rates
from pix2pix_tf.common import machine as machine_lib
from pix2pix_tf.common import precision
from pix2pix_tf.common.machine import Machine


def load_average() -> list[float]:
    """The load averages over 1, 5 and 15 minutes."""
    return [round(x, 2) for x in os.getloadavg()]


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB.


def machine_figures(machine: Machine, precisions: list[str], measure_seconds: float = 1.0) -> dict:
    """The machine's description, theoretical peak and the rates measured now
    (float32, and each of `precisions` the hardware runs natively)."""
    native, _ = precision.choose(machine.cpu.flags, machine.gpus, machine.onednn_max_isa,
                                 machine.onednn_enabled)
    dtypes = ["float32"] + [p for p in dict.fromkeys(precisions) if p == native != "float32"]
    figures = {"machine": machine_lib.describe(machine), "cpu": machine.cpu.model,
               "cpu_family": machine.cpu.family, "cpu_model": machine.cpu.model_number,
               "cpu_flags": machine_lib.flags_of_interest(machine.cpu),
               "onednn_max_cpu_isa": machine.onednn_max_isa, "cores": machine.cpu.cores,
               "mhz": machine.cpu.mhz, "theoretical_peak": rates.theoretical_peak(machine)}
    if measure_seconds > 0:
        figures["measured_gflops"] = rates.measured_rates(dtypes, measure_seconds)
    return figures


def step_shares(case: dict, figures: dict, kernel: str = "conv") -> tuple:
    """(% of the `kernel` rate measured in the same windows (or, without,
    at the start), % of the theoretical peak) of a case's GFLOP/s, in its
    precision; None where that yardstick is missing."""
    dtype = case["options"].get("mixed_precision", "float32")
    measured = (figures.get("yardstick_gflops", {}).get(kernel, {}).get(dtype)
                or figures.get("measured_gflops", {}).get(kernel, {}).get(dtype))
    peak = (figures.get("theoretical_peak") or {}).get(dtype)
    achieved = case["gflops_achieved"]
    return (100 * achieved / measured if measured else None,
            100 * achieved / peak if peak else None)


def limit_lines(figures: dict) -> list[str]:
    """The machine and its limit, in the words of the benches' tables."""
    lines = [f"machine: {figures['machine']}"]
    measured = figures.get("measured_gflops")
    if measured:
        lines.append("measured now: " + "; ".join(
            f"{dtype} matmul {measured['matmul'][dtype]:.0f}, conv {measured['conv'][dtype]:.0f} GFLOP/s"
            for dtype in measured["conv"]) + " (fastest call)")
    for kind, yardstick in figures.get("yardstick_gflops", {}).items():
        lines.append(f"{kind} in the same windows (median): " + ", ".join(
            f"{dtype} {rate:.0f} GFLOP/s" for dtype, rate in yardstick.items()))
    peak = figures.get("theoretical_peak")
    if peak:
        bf16 = f", bfloat16 {peak['bfloat16']:.0f}" if peak["bfloat16"] else ""
        lines.append(f"theoretical peak: float32 {peak['float32']:.0f}{bf16} GFLOP/s "
                     f"({peak['basis']}; nominal clock)")
    else:
        lines.append("theoretical peak: unknown for this CPU (its FMA units are not modelled)")
    return lines


def format_table(title: str, result: dict, kernel: str, rate_digits: int, notes=(),
                 epoch_column: bool = False) -> str:
    """The benches' table: the title line (with the load), the machine's
    limits, one row per case (flags, images/sec median (min-max), ms/step,
    GFLOP/s and its share of `kernel`'s measured rate and of the peak; with
    `epoch_column`, seconds per epoch), the speed-up, `notes`, the inference
    latency and the peak memory."""
    short = {"conv": "% conv", "matmul": "% mm"}[kernel]
    lines = [f"{title}  {result['flops']['train_step'] / 1e9:.3f} GFLOP/step  "
             f"load {result['load_average_before']} -> {result['load_average_after']}",
             *limit_lines(result),
             f"{'row':<36}{'images/sec (min-max)':>28}{'ms/step':>10}{'GFLOP/s':>10}"
             f"{short:>8}{'% peak':>8}" + (f"{'s/epoch':>9}" if epoch_column else "")]
    for name, case in result["cases"].items():
        options = case["options"]
        share, peak = step_shares(case, result, kernel=kernel)
        flags = (f"xla={int(options['jit_compile'])} fused={int(options['fused_optimizer'])} "
                 f"{options['mixed_precision']}")
        spread = (f"{case['images_per_sec']:.{rate_digits}f} "
                  f"({case['images_per_sec_min']:.{rate_digits}f}-"
                  f"{case['images_per_sec_max']:.{rate_digits}f})")
        epoch = (f"{case['epoch_seconds']:>9.2f}" if "epoch_seconds" in case else f"{'-':>9}") \
            if epoch_column else ""
        lines.append(f"{name + ' ' + flags:<36}{spread:>28}{case['ms_per_step']:>10.2f}"
                     f"{case['gflops_achieved']:>10.1f}{format_share(share):>8}"
                     f"{format_share(peak):>8}{epoch}")
    if "speedup" in result:
        lines.append(f"speedup (fast / baseline images/sec, alternating windows): "
                     f"{result['speedup']:.2f}x")
    lines.extend(notes)
    if "inference_ms_per_image" in result:
        lines.append(f"inference: {result['inference_ms_per_image']:.2f} ms/image "
                     "(float32 generator, batch 1)")
    lines.append(f"peak resident memory: {result['peak_rss_mb']:.0f} MB (the whole process)")
    return "\n".join(lines)


def format_share(value: float | None) -> str:
    """A percentage for the table, "-" where unknown."""
    return f"{value:.0f}%" if value is not None else "-"


def write_json(path: str, result: dict) -> None:
    """Writes the --json figures."""
    with open(path, "w") as f:  # Local: a benchmark's --json figures.
        json.dump(result, f, indent=2, default=str)
        f.write("\n")
