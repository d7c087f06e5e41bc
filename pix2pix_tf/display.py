"""Network tensors in [-1, 1] -> RGB images in [0, 1] that a person can look at.

For colourisation the channels the networks see are put back together as the
reference does: lightness from one image, colour from another, then to sRGB.
"""

import tensorflow as tf

from pix2pix_tf import colors


def _gray(x):
    return tf.tile((x + 1.0) / 2.0, [1, 1, 1, 3])


def _colourise(lightness, ab):
    return colors.lab_to_rgb(colors.network_to_lab(lightness, ab))


def compose_lab(inputs, outputs, which_direction):
    """The full-colour image a colouriser makes: its input and output channels
    together (lightness and colour, in whichever order the direction has)."""
    outputs = tf.cast(outputs, tf.float32)
    if which_direction == "AtoB":
        return _colourise(inputs, outputs)
    return _colourise(outputs, inputs)


def to_rgb(inputs, outputs, targets, lab_colorization=False, which_direction="AtoB"):
    """Batches of network tensors -> dict of RGB batches in [0, 1]."""
    outputs = tf.cast(outputs, tf.float32)
    if not lab_colorization:
        return {name: (x + 1.0) / 2.0 for name, x in
                (("inputs", inputs), ("outputs", outputs), ("targets", targets))}
    if which_direction == "AtoB":  # Lightness in, colour out.
        return {"inputs": _gray(inputs), "outputs": compose_lab(inputs, outputs, which_direction),
                "targets": _colourise(inputs, targets)}
    # Colour in, lightness out: the input is shown with the target's lightness.
    return {"inputs": _colourise(targets, inputs), "outputs": _gray(outputs),
            "targets": _gray(targets)}


def to_uint8(images):
    return tf.image.convert_image_dtype(tf.clip_by_value(images, 0.0, 1.0), tf.uint8, saturate=True)
