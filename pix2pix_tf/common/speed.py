"""The speed flags' `auto` values, decided at run time from what the machine reports.

No default of a speed flag may be right on one machine and wrong on another,
so each defaults to `auto` and is decided here, in one line the run prints
(`precision: float32 (auto: this CPU has no AVX-512 BF16 or AMX)`):

- --mixed_precision: `common.precision.choose` (the hardware's native dtypes).
- --intra_op_threads / --inter_op_threads: TensorFlow's own choice (one
  thread per usable core for each pool).
- --jit_compile: off: on CPU, XLA's convolutions do not use oneDNN and were
  slower on both machines measured; on GPUs it is not measured here.
- --cache: on when the data fit in a quarter of the memory.

The figures behind these rules are in BENCHMARKS.md; `python
benchmarks/pix2pix_bench.py --tune` (and `cgan_bench.py --tune`) times the
alternatives on a new machine. A resumed run decides again on its own machine:
options.json keeps the request (`auto`), the run record (`common.record`) what
was used.
"""

from pix2pix_tf.common import machine as machine_lib
from pix2pix_tf.common import precision
from pix2pix_tf.common.errors import UserError
from pix2pix_tf.common.options import AUTO, parse_switch, parse_threads

# The data are cached when they fit in this share of the memory.
CACHE_MEMORY_FRACTION = 0.25


def choose_threads(machine):
    """((intra-op, inter-op) threads, reason) for `auto`: 0 is TensorFlow's choice."""
    return (0, 0), (f"auto: TensorFlow's choice, one thread per usable core "
                    f"({machine.cpu.cores}) for each pool")


def choose_jit_compile(machine):
    if machine.gpus:
        return False, "auto: XLA is not measured on GPUs here; --tune times it"
    return False, "auto: on CPU XLA's convolutions do not use oneDNN (measured slower)"


def choose_cache(needed_bytes, machine, what="the decoded images"):
    """(whether to cache data of `needed_bytes`, reason) for --cache auto."""
    budget = CACHE_MEMORY_FRACTION * (machine.memory_bytes or 0)
    if needed_bytes <= budget:
        return True, (f"auto: {what} need {needed_bytes / 2 ** 30:.2f} GiB, within "
                      f"{CACHE_MEMORY_FRACTION:.0%} of the {machine.memory_bytes / 2 ** 30:.0f} GiB memory")
    return False, (f"auto: {what} need {needed_bytes / 2 ** 30:.1f} GiB, more than "
                   f"{CACHE_MEMORY_FRACTION:.0%} of the memory; decoding every epoch")


def _requests(options):
    """{name: request} of the speed options in `options` (a dataclass or a mapping)."""
    names = ("mixed_precision", "jit_compile", "intra_op_threads", "inter_op_threads", "cache")
    if isinstance(options, dict):
        return {name: options[name] for name in names if name in options}
    return {name: getattr(options, name) for name in names if hasattr(options, name)}


def resolve(options, machine=None, flops_per_weight=None):
    """What a run uses for --mixed_precision, --jit_compile and the thread flags.

    Args:
        options: the run's options (a SpeedOptions dataclass), or a mapping
            with the requests ("auto" or a value) of some speed options.
        machine: a `machine.Machine` (default: this one).
        flops_per_weight: FLOP of a training step per weight, where known
            (`precision.choose`: small ones do not get bfloat16 on CPUs).

    Returns:
        ({name: value decided}, [one line per option saying what and why]),
        the first dict ready for `options.replace(options, **decided)`.
    """
    options = _requests(options)
    machine = machine or machine_lib.probe()
    used, lines = {}, []
    if "mixed_precision" in options:
        value, reason = precision.resolve(options["mixed_precision"], machine, flops_per_weight)
        used["mixed_precision"] = value
        lines.append(f"precision: {value} ({reason})")
    if "jit_compile" in options:
        requested = parse_switch(options["jit_compile"])
        value, reason = choose_jit_compile(machine) if requested == AUTO else (requested, "asked")
        used["jit_compile"] = value
        lines.append(f"jit_compile: {'on' if value else 'off'} ({reason})")
    if "intra_op_threads" in options or "inter_op_threads" in options:
        requested = [parse_threads(options.get(name, AUTO))
                     for name in ("intra_op_threads", "inter_op_threads")]
        (intra, inter), reason = choose_threads(machine)
        if requested != [AUTO, AUTO]:
            reason = "asked"
        intra = intra if requested[0] == AUTO else requested[0]
        inter = inter if requested[1] == AUTO else requested[1]
        used["intra_op_threads"] = intra
        used["inter_op_threads"] = inter
        lines.append(f"threads: intra-op {intra or 'default'}, inter-op {inter or 'default'} "
                     f"({reason})")
    return used, lines


def cache_decision(requested, needed_bytes, machine=None, what="the decoded images"):
    """(cache or not, the line saying why) for --cache `requested`."""
    requested = parse_switch(requested)
    if requested != AUTO:
        return requested, f"cache: {'on' if requested else 'off'} (asked)"
    value, reason = choose_cache(needed_bytes, machine or machine_lib.probe(), what)
    return value, f"cache: {'on' if value else 'off'} ({reason})"


def used(options, name, machine=None, flops_per_weight=None):
    """The value a run uses for the speed option `name`: the option itself
    once decided (a training run replaces each `auto` by its decision), else
    the request decided now (a model built outside a run, a benchmark), for a
    step of `flops_per_weight` as `resolve` does."""
    value = getattr(options, name)
    if value != AUTO:
        return value
    values, _ = resolve({name: value}, machine, flops_per_weight)
    return values[name]


def check(options):
    """Raises UserError for malformed speed values (before anything runs)."""
    requests = _requests(options)
    for name, parse in (("jit_compile", parse_switch), ("cache", parse_switch),
                        ("intra_op_threads", parse_threads), ("inter_op_threads", parse_threads)):
        if name in requests:
            try:
                parse(requests[name])
            except ValueError as e:
                raise UserError(f"--{name}: {e}") from e
    if requests.get("mixed_precision", AUTO) not in precision.CHOICES:
        raise UserError(f"--mixed_precision must be one of {', '.join(precision.CHOICES)}, "
                        f"not {requests['mixed_precision']!r}")

