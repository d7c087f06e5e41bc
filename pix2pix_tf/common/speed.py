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

The figures behind these rules are in BENCHMARKS.md; `python -m
pix2pix_tf.bench --tune` (and `cgan_mnist_tf.bench --tune`) times the
alternatives on a new machine. A resumed run decides again on its own machine:
options.json keeps the request (`auto`) and, beside it, what was used
(`mixed_precision_used`, ...), which no later run reads back.
"""

from absl import flags as absl_flags

from pix2pix_tf.common import machine as machine_lib
from pix2pix_tf.common import precision
from pix2pix_tf.common.errors import UserError

AUTO = "auto"
# The data are cached when they fit in this share of the memory.
CACHE_MEMORY_FRACTION = 0.25


def parse_switch(value):
    """A switch flag's value: "auto", True or False (from bool or text)."""
    if isinstance(value, bool) or value == AUTO:
        return value
    text = str(value).strip().lower()
    if text in ("auto", "true", "false", "1", "0", "t", "f", "yes", "no"):
        return AUTO if text == AUTO else text in ("true", "1", "t", "yes")
    raise ValueError(f"expected auto, true or false, not {value!r}")


def parse_threads(value):
    """A thread flag's value: "auto" or a count (0: TensorFlow's choice)."""
    if value == AUTO:
        return AUTO
    try:
        count = int(value)
    except (TypeError, ValueError):
        count = -1
    if count < 0:
        raise ValueError(f"expected auto or a whole number >= 0, not {value!r}")
    return count


def used_key(name):
    """The options.json key of what a run used for the speed option `name`."""
    return f"{name}_used"


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


def resolve(options, machine=None):
    """What a run uses for --mixed_precision, --jit_compile and the thread flags.

    Args:
        options: a mapping with the requests ("auto" or a value) of the speed
            options the package has (those missing are left out).
        machine: a `machine.Machine` (default: this one).

    Returns:
        ({used_key(name): value}, [one line per option saying what and why]).
    """
    machine = machine or machine_lib.probe()
    used, lines = {}, []
    if "mixed_precision" in options:
        value, reason = precision.resolve(options["mixed_precision"], machine)
        used[used_key("mixed_precision")] = value
        lines.append(f"precision: {value} ({reason})")
    if "jit_compile" in options:
        requested = parse_switch(options["jit_compile"])
        value, reason = choose_jit_compile(machine) if requested == AUTO else (requested, "asked")
        used[used_key("jit_compile")] = value
        lines.append(f"jit_compile: {'on' if value else 'off'} ({reason})")
    if "intra_op_threads" in options or "inter_op_threads" in options:
        requested = [parse_threads(options.get(name, AUTO))
                     for name in ("intra_op_threads", "inter_op_threads")]
        (intra, inter), reason = choose_threads(machine)
        if requested != [AUTO, AUTO]:
            reason = "asked"
        intra = intra if requested[0] == AUTO else requested[0]
        inter = inter if requested[1] == AUTO else requested[1]
        used[used_key("intra_op_threads")] = intra
        used[used_key("inter_op_threads")] = inter
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


def used(options, name, machine=None):
    """The value a run uses for the speed option `name`: what `resolve` put in
    the options, or, where it has not run (a model built outside a run), decided now."""
    key = used_key(name)
    if key in options:
        return options[key]
    values, _ = resolve({name: options.get(name, AUTO)}, machine)
    return values[key]


def configure_threads(options):
    """Applies the thread counts a run uses (0: TensorFlow's choice). They only
    take effect before TensorFlow runs its first op: returns False if they came
    too late."""
    import tensorflow as tf  # Only here: deciding needs no TensorFlow.

    threading = tf.config.threading
    try:
        intra = used(options, "intra_op_threads")
        inter = used(options, "inter_op_threads")
        if intra:
            threading.set_intra_op_parallelism_threads(intra)
        if inter:
            threading.set_inter_op_parallelism_threads(inter)
    except RuntimeError:
        return False
    return True


def check(options):
    """Raises UserError for malformed speed values (before anything runs)."""
    for name in ("jit_compile", "cache"):
        if name in options:
            try:
                parse_switch(options[name])
            except ValueError as e:
                raise UserError(f"--{name}: {e}") from e
    for name in ("intra_op_threads", "inter_op_threads"):
        if name in options:
            try:
                parse_threads(options[name])
            except ValueError as e:
                raise UserError(f"--{name}: {e}") from e
    if "mixed_precision" in options and options["mixed_precision"] not in precision.CHOICES:
        raise UserError(f"--mixed_precision must be one of {', '.join(precision.CHOICES)}, "
                        f"not {options['mixed_precision']!r}")


# ---------------------------------------------------------------- flags

class _SwitchParser(absl_flags.BooleanParser):
    """A boolean flag's parser that also takes "auto" (--NAME=auto)."""

    def parse(self, argument):
        if isinstance(argument, str) and argument.strip().lower() == AUTO:
            return AUTO
        return super().parse(argument)

    def flag_type(self):
        return "auto|bool"


class _ThreadsParser(absl_flags.ArgumentParser):
    def parse(self, argument):
        return parse_threads(argument)

    def flag_type(self):
        return "auto|int"


def define_switch(name, default, help_text, flag_values=absl_flags.FLAGS):
    """An absl flag taking --NAME, --noNAME or --NAME=auto|true|false."""
    absl_flags.DEFINE_flag(absl_flags.Flag(_SwitchParser(), absl_flags.ArgumentSerializer(), name,
                                           default, help_text, boolean=True), flag_values)


def define_flags(flag_values=absl_flags.FLAGS):
    """The speed flags both command lines share (not model-defining: saved in
    options.json, a resumed run may change them)."""
    absl_flags.DEFINE_enum(
        "mixed_precision", AUTO, list(precision.CHOICES),
        "Training computation dtype. auto: bfloat16 on hardware that runs it natively (CPUs "
        "with AVX-512 BF16 or AMX, GPUs of compute capability 8.0+), float16 with loss scaling "
        "on GPUs of compute capability 7.x, float32 elsewhere. The mixed ones keep float32 "
        "variables and losses. Test, eval, generate and export always run in float32.",
        flag_values=flag_values)
    define_switch("jit_compile", AUTO, "Compile the training step with XLA (auto: off; on CPU "
                  "XLA's convolutions do not use oneDNN).", flag_values)
    absl_flags.DEFINE_boolean(
        "fused_optimizer", True, "Adam's update as TensorFlow's fused kernel, one pass per "
        "variable instead of ~10 (the same formula and checkpoints).", flag_values=flag_values)
    define_switch("cache", AUTO, "Keep the decoded training data in memory (auto: when it fits "
                  f"in {CACHE_MEMORY_FRACTION:.0%} of the memory).", flag_values)
    for name, what in (("intra_op_threads", "Threads one TensorFlow op may use"),
                       ("inter_op_threads", "TensorFlow ops run at once")):
        absl_flags.DEFINE_flag(absl_flags.Flag(
            _ThreadsParser(), absl_flags.ArgumentSerializer(), name, AUTO,
            f"{what}: auto (TensorFlow's choice, one per usable core), or a count (0: the same)."),
            flag_values)
