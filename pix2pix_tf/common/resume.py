"""The one rule for the options of a resumed run, by kind (docs/architecture.md):

| kind | on resume |
|---|---|
| MODEL | from the checkpoint's options.json; a different value given is an error |
| TRAINING | from the checkpoint, unless given again |
| SPEED | from the checkpoint, unless given again; `auto` is decided again |
| DISTRIBUTE, RUN | as given: where and how this invocation runs |

A value kept from the checkpoint that differs from what this invocation's
options held is said in a line, and so is an `auto` decided otherwise than
in the run resumed.
"""

from __future__ import annotations

import typing

from pix2pix_tf.common import files, record
from pix2pix_tf.common import options as common_options
from pix2pix_tf.common.errors import UserError
from pix2pix_tf.common.options import AUTO, MODEL, SPEED, TRAINING


def from_checkpoint(options: typing.Any, given: typing.AbstractSet[str] = frozenset(),
                    strict: bool = True) -> typing.Tuple[typing.Any, typing.List[str]]:
    """The options of a run resuming (or using, strict=False) options.checkpoint.

    Args:
        options: this invocation's options (a frozen dataclass).
        given: the names of the options set on the command line (from
            Python: the ones to take from `options` rather than the checkpoint).
        strict: resuming training: MODEL options given with another value
            are an error, and TRAINING and SPEED options come back too.
            Otherwise (test, export...) only MODEL options come back, the
            checkpoint's values winning.

    Returns:
        (options, [lines for the user]); the options unchanged without a checkpoint.
    """
    if not options.checkpoint:
        return options, []
    saved = common_options.load_options(options.checkpoint)
    check_same_program(type(options), saved, options.checkpoint)
    unused = getattr(type(options), "unused_options", lambda values: ())(saved)
    model_keys = [key for key in common_options.names(type(options), MODEL) if key not in unused]
    options, messages = common_options.merge_saved_options(options, saved, model_keys, given,
                                                           strict)
    if not strict:
        return options, messages
    kept = {}
    for key in common_options.names(type(options), TRAINING) + common_options.names(
            type(options), SPEED):
        if (saved.get(key) is not None and key not in given and key not in unused
                and saved[key] != getattr(options, key)):
            kept[key] = saved[key]
            messages.append(f"kept --{key}={saved[key]} from the checkpoint's options.json "
                            "(give the flag to change it)")
    if not options.output_dir:  # Resumed where it was.
        kept["output_dir"] = options.checkpoint
    return common_options.replace(options, **kept), messages


def check_same_program(options_class: type, saved: dict, folder: str) -> None:
    """UserError when `saved` (a run's options.json) is of the other package:
    it holds none of `options_class`'s model options."""
    model_keys = common_options.names(options_class, MODEL)
    if not any(key in saved for key in model_keys):
        raise UserError(f"--checkpoint {folder} is a run of another program: its options.json "
                        f"has none of this one's model options ({', '.join(model_keys[:3])}...)")


def changed_decisions(options: typing.Any, decided: dict) -> typing.List[str]:
    """Lines for the `auto` speed options decided otherwise than in the run
    being resumed (another machine, another TensorFlow)."""
    if not options.checkpoint:
        return []
    before = record.load(options.checkpoint)
    return [f"{name}: {decided[name]} now, {before[name]} in the run resumed (auto, decided "
            "on this machine)"
            for name in decided
            if getattr(options, name, None) == AUTO and name in before
            and before[name] != decided[name]]


def merged_before_tensorflow(options: typing.Any, given: typing.AbstractSet[str],
                             check: typing.Callable[[typing.Any], None]) -> typing.Any | None:
    """The options a mode will run with, merged with a local --checkpoint's
    (from_checkpoint) and passed to `check` before TensorFlow loads, so that
    what needs no TensorFlow to see is refused at once; None when the
    checkpoint is on another file system (gs://), which only TensorFlow reads.
    Every mode but train needs --checkpoint."""
    if options.mode != "train" and not options.checkpoint:
        raise UserError(f"--mode {options.mode} needs --checkpoint, the output folder of a "
                        "training run")
    if options.checkpoint and not files.is_local(options.checkpoint):
        return None
    merged, _ = from_checkpoint(options, given, strict=options.mode == "train")
    check(merged)
    return merged
