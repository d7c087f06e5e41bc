"""The computation dtype of training (--mixed_precision) as Keras dtype policies."""

import contextlib

import keras

# --mixed_precision -> Keras dtype policy. The mixed policies keep float32
# variables (so checkpoints are the same either way) and compute in the low
# precision; the models' outputs and logits, and so the losses, stay float32.
DTYPE_POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16"}


@contextlib.contextmanager
def dtype_policy(mixed_precision):
    """Layers built inside compute in the dtype of `mixed_precision`."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(DTYPE_POLICIES[mixed_precision or "float32"])
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
