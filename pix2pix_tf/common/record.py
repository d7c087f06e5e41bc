"""The run record: what a training run found and used, beside what it was asked.

options.json holds the request (`--mixed_precision auto`); run.json holds
what the run made of it on its machine (bfloat16), what it found in its data
(the images' aspect, where the digits came from), and where it ran
(TensorFlow's version, the machine). Test, predict and serve read it where
it matters; no later run reads it back as options.
"""

from __future__ import annotations

import json
import os

from pix2pix_tf.common import files

RECORD_FILE = "run.json"
OPTIONS_FILE = "options.json"
# What options.json held before run.json existed: NAME_used beside each
# speed request, and the facts found in the data.
LEGACY_USED = ("mixed_precision", "jit_compile", "cache", "intra_op_threads", "inter_op_threads")
LEGACY_FACTS = ("image_aspect", "data_source")


def make(decided: dict, facts: dict) -> dict:
    """The record of a run that decided `decided` (speed option -> value) and
    found `facts` in its data."""
    import tensorflow as tf

    from pix2pix_tf.common import machine

    return {**decided, **facts, "tensorflow": tf.__version__,
            "machine": machine.describe(machine.probe())}


def save(output_dir: str, run_record: dict) -> None:
    files.write_json(os.path.join(output_dir, RECORD_FILE), run_record)


def load(run_dir: str) -> dict:
    """The record of the run in `run_dir`; for a folder made before run.json,
    what its options.json kept of it; {} where there is neither."""
    for name in (RECORD_FILE, OPTIONS_FILE):
        path = os.path.join(run_dir, name)
        if not files.isfile(path):
            continue
        try:
            saved = json.loads(files.read_bytes(path))
        except (OSError, ValueError):
            return {}
        if not isinstance(saved, dict):
            return {}
        if name == RECORD_FILE:
            return saved
        legacy = {key: saved[f"{key}_used"] for key in LEGACY_USED
                  if saved.get(f"{key}_used") is not None}
        return {**legacy, **{key: saved[key] for key in LEGACY_FACTS if key in saved}}
    return {}
