"""The options of a run: one typed home for each, its default and its kind.

Each package declares its options once, as a frozen dataclass whose fields are
made with `option(...)`. From it come the absl flags (`define_flags`), the
options of a command line (`from_flags`) or of Python code (the class itself),
options.json (`save_options`, `load_options`), and the kinds by which
`common.resume` decides what a resumed run keeps.

    @dataclasses.dataclass(frozen=True)
    class Options(SpeedOptions):
        crop_size: int = option(256, "Crop size.", MODEL)
"""

import argparse
import dataclasses
import json
import math
import os
import shutil
import sys
import textwrap
import typing

from pix2pix_tf.common import files
from pix2pix_tf.common.errors import UserError, exit_with_error

if typing.TYPE_CHECKING:
    from _typeshed import DataclassInstance
    from absl import flags

OPTIONS_FILE = "options.json"

# Kinds of options.
MODEL = "model"  # The weights depend on it: read back from the checkpoint, must match on resume.
TRAINING = "training"  # How the run learns (data, steps, learning rate...).
SPEED = "speed"  # How fast, not what: the same model either way; may change on resume.
DISTRIBUTE = "distribute"  # Where this invocation runs: may change on resume.
RUN = "run"  # This invocation: mode, folders, what to write and how often.
# What a run found and used is not an option: see common/record.py.


# A speed option's value that is decided on the machine of each run (common/speed.py).
AUTO = "auto"

# No `from __future__ import annotations` here nor in the packages' options.py: the
# options dataclasses' field types must stay types (define_flags reads them).
# Names imported for type checking only are quoted.
OptionsT = typing.TypeVar("OptionsT", bound="DataclassInstance")  # A package's options.


def option(default: typing.Any, help: str, kind: str = RUN,  # noqa: A002 (absl's word)
           choices: typing.Iterable[str] | None = None, parse: str | None = None) -> typing.Any:
    """A dataclass field of an options class: its one default, its flag's help
    text, its kind (MODEL, TRAINING, SPEED, DISTRIBUTE or RUN) and,
    for strings, the allowed values.
    parse: "switch" (auto, or a boolean: --NAME, --noNAME, --NAME=auto) or
    "threads" (auto, or a count) for speed options that may be `auto`."""
    return dataclasses.field(default=default, metadata={
        "help": help, "kind": kind, "choices": tuple(choices) if choices else None,
        "parse": parse})


def parse_switch(value: str | bool) -> str | bool:
    """A switch option's value: AUTO, True or False (from a bool or text)."""
    if isinstance(value, bool) or value == AUTO:
        return value
    text = str(value).strip().lower()
    if text in (AUTO, "true", "false", "1", "0", "t", "f", "yes", "no"):
        return AUTO if text == AUTO else text in ("true", "1", "t", "yes")
    raise ValueError(f"expected auto, true or false, not {value!r}")


def parse_threads(value: str | int) -> str | int:
    """A thread option's value: AUTO or a count (0: TensorFlow's choice)."""
    if value == AUTO:
        return AUTO
    try:
        count = int(value)
    except (TypeError, ValueError):
        count = -1
    if count < 0 or isinstance(value, bool):
        raise ValueError(f"expected auto or a whole number >= 0, not {value!r}")
    return count


PARSERS = {"switch": parse_switch, "threads": parse_threads}


@dataclasses.dataclass(frozen=True)
class SpeedOptions:
    """Speed settings, shared by both packages' command lines and benchmarks:
    the same model and checkpoints whichever values they take. `auto` is
    decided on the machine of each run, which says what it chose and why in
    its first lines; the run record (`common.record`) keeps the choices."""

    mixed_precision: str = option(
        AUTO, "Training computation dtype. auto: bfloat16 on hardware that runs it natively "
        "(CPUs with AVX-512 BF16 or AMX, GPUs of compute capability 8.0+), float16 with dynamic "
        "loss scaling on GPUs of compute capability 7.x, float32 elsewhere. The mixed ones keep "
        "float32 variables and losses; test, eval, generate and export run in float32.", SPEED,
        choices=(AUTO, "float32", "bfloat16", "float16"))
    jit_compile: typing.Union[str, bool] = option(
        AUTO, "Compile the training step with XLA (one replica only): auto (off: slower than "
        "the plain graph on the CPUs measured, see BENCHMARKS.md), true or false.", SPEED,
        parse="switch")
    fused_optimizer: bool = option(
        True, "Adam's update of each variable as TensorFlow's fused kernel, one pass instead of "
        "~10 (the same formula and checkpoints).", SPEED)
    cache: typing.Union[str, bool] = option(
        AUTO, "Keep the decoded training data in memory instead of decoding them every epoch: "
        "auto (when they fit in a quarter of the memory), true or false.", SPEED, parse="switch")
    intra_op_threads: typing.Union[str, int] = option(
        AUTO, "Threads one TensorFlow op may use: auto (TensorFlow's choice, one per usable "
        "core) or a count (0: the same).", SPEED, parse="threads")
    inter_op_threads: typing.Union[str, int] = option(
        AUTO, "TensorFlow ops run at once: auto (TensorFlow's choice) or a count (0: the same).",
        SPEED, parse="threads")


@dataclasses.dataclass(frozen=True)
class OutputOptions:
    """What a command shows besides its own lines."""

    verbose: bool = option(False, "Show TensorFlow's own log lines (start-up notices, warnings).",
                           RUN)


@dataclasses.dataclass(frozen=True)
class DistributeOptions:
    """tf.distribute: --batch_size is the global batch, split over the replicas."""

    strategy: str = option(
        "default", "default: one device; mirrored: every GPU of this machine (the CPU without); "
        "multi_worker: every machine of the TF_CONFIG cluster; tpu: the TPU of --tpu. "
        "--batch_size is the global batch, split over the replicas.", DISTRIBUTE,
        choices=("default", "mirrored", "multi_worker", "tpu"))
    tpu: typing.Optional[str] = option(
        None, "--strategy tpu: TPU name, grpc:// address or 'local' (default: $TPU_NAME).",
        DISTRIBUTE)
    sync_batchnorm: bool = option(
        False, "With several replicas, batch norm uses the statistics of the global batch "
        "rather than each replica's part of it.", DISTRIBUTE)


def fields(options_class: type, kind: str | None = None) -> list[dataclasses.Field]:
    """The dataclass fields of `options_class` (of one kind, if given)."""
    return [f for f in dataclasses.fields(options_class)
            if kind is None or f.metadata["kind"] == kind]


def names(options_class: type, kind: str | None = None) -> tuple[str, ...]:
    return tuple(f.name for f in fields(options_class, kind))


def _base_type(annotation):
    """int for int and Optional[int], and so on."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    return args[0] if args else annotation


def define_flags(options_class: type, flag_values: "flags.FlagValues") -> None:
    """Defines one absl flag per option of `options_class` in `flag_values`,
    listed by --help as flags of the program being run."""
    from absl import flags

    definers = {bool: flags.DEFINE_boolean, int: flags.DEFINE_integer,
                float: flags.DEFINE_float, str: flags.DEFINE_string}
    for f in fields(options_class):
        if f.metadata.get("parse"):
            _define_parsed_flag(f, flag_values)
        elif f.metadata["choices"]:
            flags.DEFINE_enum(f.name, f.default, list(f.metadata["choices"]), f.metadata["help"],
                              flag_values=flag_values)
        else:
            definers[_base_type(f.type)](f.name, f.default, f.metadata["help"],
                                         flag_values=flag_values)
        # --help shows the key flags of sys.argv[0]'s module; these are defined
        # here, so they would otherwise only show under --helpfull.
        flag_values.register_key_flag_for_module(sys.argv[0], flag_values[f.name])


def _define_parsed_flag(f, flag_values):
    """An absl flag whose value goes through PARSERS[parse]; a switch also
    takes the boolean forms --NAME and --noNAME."""
    from absl import flags

    switch = f.metadata["parse"] == "switch"
    parse_value = PARSERS[f.metadata["parse"]]

    class Parser(flags.BooleanParser if switch else flags.ArgumentParser):
        def parse(self, argument):
            return parse_value(argument)

        def flag_type(self):
            return "auto|bool" if switch else "auto|int"

    flags.DEFINE_flag(flags.Flag(Parser(), flags.ArgumentSerializer(), f.name, f.default,
                                 f.metadata["help"], boolean=switch), flag_values)


def flags_parser(flag_values: "flags.FlagValues | None" = None,
                 help_text: str | None = None) -> typing.Callable[[list[str]], list[str]]:
    """A `flags_parser` for absl's app.run: a bad flag, a missing required
    one or a stray argument is one `error:` line and exit status 2, as for
    every other bad input (absl would print `FATAL Flags parsing error` and a
    hint, or the whole short help, and exit with 1). With `help_text`, -h and
    --help print it and exit with 0 (--helpfull stays absl's list)."""
    from absl import flags

    flag_values = flags.FLAGS if flag_values is None else flag_values  # An empty one is falsy.

    def parse(argv):
        if help_text and HELP_ARGUMENTS.intersection(argv[1:]):
            print(help_text)
            sys.exit(0)
        try:
            remaining = flag_values(argv)
        except flags.Error as e:
            exit_with_error(f"{e} (--help lists the flags)")
        if len(remaining) > 1:
            exit_with_error(f"unexpected arguments: {' '.join(remaining[1:])} (flags are "
                            "--name value or --name=value)")
        return remaining

    return parse


HELP_ARGUMENTS = frozenset(("-h", "-?", "--help", "-help", "--helpshort", "-helpshort"))
# --help's groups, in its order: the kind, and what the options of that kind are.
HELP_GROUPS = (
    (RUN, "Run: this invocation's mode, folders, and what it writes how often"),
    (MODEL, "Model: the weights depend on these; test, export and a resumed run take "
            "them from the checkpoint"),
    (TRAINING, "Training: how the run learns; a resumed run keeps the checkpoint's unless "
               "given again"),
    (SPEED, "Speed: how fast, not what (auto: decided on this machine)"),
    (DISTRIBUTE, "Distribution: where this invocation runs"),
)
HELP_COLUMN = 26  # Where the flags' descriptions start.


def help_text(options_class: type, summary: str, examples: typing.Sequence[str]) -> str:
    """The --help of a command whose flags are `options_class`'s: a one-line
    `summary`, example commands, then the flags grouped by kind (--mode first),
    each with its description, values and default."""
    width = max(60, min(100, shutil.get_terminal_size().columns))
    lines = [summary, "", "Examples:", *(f"  {example}" for example in examples)]
    for kind, heading in HELP_GROUPS:
        # --mode, then the package's own options, then those of the shared groups.
        group = sorted(fields(options_class, kind), key=lambda f: (
            f.name != "mode", f.name not in options_class.__annotations__))
        if group:
            lines += ["", *textwrap.wrap(heading + ":", width)]
            for f in group:
                lines += _flag_help(f, width)
    return "\n".join(lines + ["", "--helpfull lists absl's own flags too."])


def _flag_help(f, width):
    """A flag's lines in --help: its form, then its wrapped description."""
    form = f"  --{_flag_form(f)}"
    if len(form) > HELP_COLUMN - 2:  # The description starts on the next line.
        return [form, *textwrap.wrap(_description(f), width, initial_indent=" " * HELP_COLUMN,
                                     subsequent_indent=" " * HELP_COLUMN)]
    return textwrap.wrap(_description(f), width, initial_indent=form.ljust(HELP_COLUMN),
                         subsequent_indent=" " * HELP_COLUMN)


def _flag_form(f):
    """--NAME and the values it takes: [no]flip, crop_size=N, mode=train|test..."""
    parse, choices, kind = f.metadata["parse"], f.metadata["choices"], _base_type(f.type)
    if parse == "switch":
        return f"[no]{f.name}[=auto]"
    if kind is bool:
        return f"[no]{f.name}"
    value = ("auto|N" if parse == "threads" else "|".join(choices) if choices
             else "DIR" if f.name.endswith("_dir") or f.name == "checkpoint"
             else {int: "N", float: "X"}.get(kind, "TEXT"))
    return f"{f.name}={value}"


def _description(f):
    if f.default is None or f.default is False:  # Not given: off.
        return f.metadata["help"]
    return f"{f.metadata['help']} (default: {'on' if f.default is True else f.default})"


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser for the tools and benchmarks, with a bad argument
    reported as flags_parser reports a bad flag: one `error:` line and exit
    status 2 (argparse would print the usage first)."""

    def error(self, message: str) -> typing.NoReturn:
        exit_with_error(f"{message} (--help lists the arguments)")


def from_flags(options_class: type[OptionsT], flag_values: "flags.FlagValues") -> tuple[OptionsT, set[str]]:
    """(options of the parsed command line, set of the names given on it)."""
    values = {f.name: flag_values[f.name].value for f in fields(options_class)}
    given = {name for name in values if flag_values[name].present}
    return options_class(**values), given


def replace(options: OptionsT, **changes: typing.Any) -> OptionsT:
    """A copy of `options` with `changes` (options are frozen)."""
    return dataclasses.replace(options, **changes)


def to_dict(options: "DataclassInstance") -> dict[str, typing.Any]:
    return dataclasses.asdict(options)


def from_dict(options_class: type[OptionsT], values: typing.Mapping[str, typing.Any]) -> OptionsT:
    """Options from a dict such as an options.json: unknown keys (written by
    other versions) are left out, missing ones take their defaults."""
    known = {f.name for f in dataclasses.fields(options_class)}
    return options_class(**{k: v for k, v in values.items() if k in known})


def save_options(output_dir: str, options: "DataclassInstance | typing.Mapping[str, typing.Any]",
                 **extra: typing.Any) -> None:
    """Writes every option (and `extra` keys, e.g. facts about the run's data)
    to OUTPUT_DIR/options.json."""
    values = to_dict(options) if dataclasses.is_dataclass(options) else dict(options)
    files.write_json(os.path.join(output_dir, OPTIONS_FILE), {**values, **extra})


def load_options(checkpoint_dir: str) -> dict[str, typing.Any]:
    """The dict saved in CHECKPOINT_DIR/options.json, or UserError."""
    if not files.isdir(checkpoint_dir):
        raise UserError(f"--checkpoint {checkpoint_dir} does not exist")
    path = os.path.join(checkpoint_dir, OPTIONS_FILE)
    if not files.isfile(path):
        raise UserError(f"--checkpoint {checkpoint_dir} has no {OPTIONS_FILE}: "
                        "it is not the output folder of a training run")
    try:
        saved = json.loads(files.read_bytes(path))
    except (OSError, ValueError) as e:
        raise UserError(f"cannot read {path}: {e}") from e
    if not isinstance(saved, dict):
        raise UserError(f"cannot read {path}: not a JSON object of options")
    return saved


def merge_saved_options(options: OptionsT, saved: typing.Mapping[str, typing.Any],
                        keys: typing.Iterable[str], given: typing.AbstractSet[str],
                        strict: bool) -> tuple[OptionsT, list[str]]:
    """Takes the model-defining `keys` from the `saved` options.

    Args:
        options: the options of this run (a frozen dataclass); a new one is returned.
        saved: dict loaded from the checkpoint's options.json.
        keys: names of the options that define the model.
        given: names of the options set explicitly on the command line.
        strict: if True (resuming training), a given option whose value differs
            from the saved one is an error naming both values; if False (test,
            export), the saved value wins and a message says so.

    Returns:
        (merged options, list of messages for the user).
    """
    changes = {}
    messages = []
    for key in keys:
        if key not in saved:
            continue
        value = getattr(options, key)
        if key in given and value != saved[key]:
            if strict:
                raise UserError(
                    f"--{key}={value} conflicts with {key}={saved[key]} "
                    "in the checkpoint's options.json; drop the flag or start a new run")
            messages.append(f"--{key}={value} overridden by the checkpoint: {key}={saved[key]}")
        else:
            messages.append(f"loaded {key}={saved[key]} from the checkpoint")
        changes[key] = saved[key]
    return replace(options, **changes), messages


def require_output_dir(options: typing.Any, mode: str) -> None:
    """UserError unless --output_dir was given."""
    if not options.output_dir:
        raise UserError(f"--mode {mode} needs --output_dir")


def check_at_least(options: "DataclassInstance", low: int, *names: str) -> None:
    """UserError for an integer option of `names` below `low` (None, not given, passes)."""
    for name in names:
        value = getattr(options, name)
        if value is not None and value < low:
            raise UserError(f"--{name} must be at least {low}, not {value}")


def check_positive(options: "DataclassInstance", *names: str) -> None:
    """UserError for an option of `names` below 1."""
    check_at_least(options, 1, *names)


def check_between(options: "DataclassInstance", name: str, low: int, high: int) -> None:
    """UserError unless the integer option `name` is in low..high."""
    value = getattr(options, name)
    if not low <= value <= high:
        raise UserError(f"--{name} must be between {low} and {high}, not {value}")


def check_number(options: "DataclassInstance", name: str, low: float, high: float | None = None,
                 low_open: bool = False) -> None:
    """UserError unless the float option `name` is finite and at least `low`
    (more than `low` if low_open) and below `high` if given."""
    value = getattr(options, name)
    if not (math.isfinite(value) and (value > low if low_open else value >= low)
            and (high is None or value < high)):
        bounds = (f"in [{low}, {high})" if high is not None else
                  f"more than {low}" if low_open else f"at least {low}")
        raise UserError(f"--{name} must be a number {bounds}, not {value}")
