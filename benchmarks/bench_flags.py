"""The benches' command line: absl flags made from the packages' real
options classes (common.options.define_flags, so every option is spelled,
parsed and checked as in training), plus each bench's own flags.
"""

import dataclasses
import sys
import types

from absl import flags

from pix2pix_tf.common import options as common_options
from pix2pix_tf.common import speed
from pix2pix_tf.common.machine import Machine

# The speed options every bench takes, as training's flags.
SPEED_FLAGS = ("mixed_precision", "jit_compile", "fused_optimizer", "cache",
               "intra_op_threads", "inter_op_threads")


def define_option_flags(flag_values: flags.FlagValues, options_class: type, names: tuple,
                        **defaults) -> None:
    """Defines training's flags for the fields `names` of `options_class`.

    Args:
        flag_values: where to define them.
        options_class: a package's options dataclass.
        names: the fields the bench uses.
        **defaults: the bench's own defaults for some of them.
    """
    chosen = [(f.name, f.type, dataclasses.field(default=defaults.get(f.name, f.default),
                                                 metadata=f.metadata))
              for f in dataclasses.fields(options_class) if f.name in names]
    subset = dataclasses.make_dataclass(f"Bench{options_class.__name__}", chosen, frozen=True)
    common_options.define_flags(subset, flag_values)


def define_bench_flags(flag_values: flags.FlagValues, steps: int, windows: int,
                       warmup: int) -> None:
    """The flags both benches share: timing windows, the baseline comparison,
    --tune, the machine's measured rate and the JSON output."""
    flags.DEFINE_integer("steps", steps, "Training steps per timed window.", lower_bound=1,
                         flag_values=flag_values)
    flags.DEFINE_integer("windows", windows, "Timed windows (per case).", lower_bound=1,
                         flag_values=flag_values)
    flags.DEFINE_integer("warmup", warmup, "Steps after the compiling one.", lower_bound=0,
                         flag_values=flag_values)
    flags.DEFINE_boolean("baseline", False, "Time only the models with every optimisation off.",
                         flag_values=flag_values)
    flags.DEFINE_boolean("compare_baseline", False,
                         "Time the case and the baseline, alternating windows.",
                         flag_values=flag_values)
    flags.DEFINE_boolean("tune", False, "Time every combination of the speed flags that applies "
                         "to this machine against the auto one, each in a child process, and "
                         "print the fastest as flags.", flag_values=flag_values)
    flags.DEFINE_string("tune_against", None, "(set by --tune for its children) time the case "
                        "and these speed settings (a JSON object), alternating windows.",
                        flag_values=flag_values)
    flags.DEFINE_float("measure_seconds", 1.0, "Seconds per kernel measuring the machine's own "
                       "rate (0: skip).", lower_bound=0, flag_values=flag_values)
    flags.DEFINE_string("json", None, "Write the figures to this file.", flag_values=flag_values)


def parse(flag_values: flags.FlagValues, argv: list, doc: str) -> tuple:
    """Parses `argv` (without the program name) into `flag_values`.

    A bad flag is one `error:` line and exit status 2, as in training;
    --help prints `doc` and the flags.

    Returns:
        (a namespace of every flag's value, the set of the flags given).
    """
    if {"--help", "-h", "--helpfull", "--helpshort"} & set(argv):
        print(f"{doc}\nflags:\n{flag_values.get_help(include_special_flags=False)}")
        sys.exit(0)
    common_options.flags_parser(flag_values)([sys.argv[0]] + list(argv))
    values = {name: flag_values[name].value for name in flag_values}
    given = {name for name in flag_values if flag_values[name].present}
    return types.SimpleNamespace(**values), given


def resolve_speed(args: types.SimpleNamespace, machine: Machine,
                  flops_per_weight: float | None = None) -> tuple[dict, list[str]]:
    """The speed options of a bench run with `auto` decided as training
    decides it (for a step of `flops_per_weight`, where training passes it):
    ({name: value} for the options class, lines saying why)."""
    requested = {name: getattr(args, name) for name in
                 ("mixed_precision", "jit_compile", "intra_op_threads", "inter_op_threads")}
    decided, lines = speed.resolve(requested, machine, flops_per_weight)
    return {**decided, "fused_optimizer": args.fused_optimizer, "cache": args.cache}, lines
