"""What the model options choose from, in plain Python.

options.py offers these values and models.py builds them. Nothing here
imports TensorFlow, so the command line answers --help and refuses a bad
flag before TensorFlow loads (seconds, on every call).
"""

from __future__ import annotations

GENERATORS = ("unet", "encoder_decoder")
DISCRIMINATORS = ("patch", "pixel", "image")
JUDGES = ("fcn", "c2st")
MIN_CROP, MAX_CROP = 32, 1024


def check_crop_size(crop_size: int) -> None:
    """ValueError unless the crop is a power of two from MIN_CROP to MAX_CROP:
    the U-Net halves it down to 1x1."""
    if not (MIN_CROP <= crop_size <= MAX_CROP) or crop_size & (crop_size - 1):
        raise ValueError(f"--crop_size must be a power of two from {MIN_CROP} to {MAX_CROP}, "
                         f"not {crop_size}")


def channels(lab_colorization: bool, which_direction: str) -> tuple[int, int]:
    """(input channels, target channels) of the networks."""
    if not lab_colorization:
        return 3, 3
    return (1, 2) if which_direction == "AtoB" else (2, 1)


def parse_judges(text: str | None) -> tuple[str, ...]:
    """--judge's comma-separated names -> a tuple of JUDGES (ValueError for others)."""
    names = tuple(name.strip() for name in (text or "").split(",") if name.strip())
    unknown = [name for name in names if name not in JUDGES]
    if unknown:
        raise ValueError(f"--judge takes {', '.join(JUDGES)} (comma-separated), not "
                         f"{', '.join(unknown)}")
    return names
