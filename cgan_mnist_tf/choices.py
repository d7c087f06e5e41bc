"""What the options choose from, in plain Python: without TensorFlow, so the
command line answers --help and refuses a bad flag before TensorFlow loads."""

from __future__ import annotations

MODELS = ("mlp", "conv", "dcgan_proj", "stackgan")
# The articles' models (StackGAN's recipe is the article's too); the others are
# this project's small-data models.
FAITHFUL_MODELS = ("mlp", "conv", "stackgan")
DATASETS = ("mnist", "fashion_mnist", "mnist_5k")
POLICIES = ("color", "translation", "cutout")  # DiffAugment's, in their order of use.


def parse_policy(text: str | None) -> tuple[str, ...]:
    """'translation,cutout' -> ('translation', 'cutout'); '' or 'none' -> ()."""
    names = tuple(part.strip() for part in str(text or "").split(",") if part.strip())
    if names in ((), ("none",)):
        return ()
    unknown = [name for name in names if name not in POLICIES]
    if unknown:
        raise ValueError(f"unknown DiffAugment {', '.join(unknown)}; expected a comma-separated "
                         f"subset of {', '.join(POLICIES)} (or none)")
    return names
