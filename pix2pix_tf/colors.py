"""sRGB <-> CIELAB (D65 white) in TensorFlow ops, so colourisation stays in the graph.

Formulas from the sRGB standard (IEC 61966-2-1) and the CIE 1976 L*a*b* definition.
Images are float tensors of any shape [..., 3]; sRGB in [0, 1], L in [0, 100].
"""

import tensorflow as tf

# Linear sRGB -> XYZ for the D65 white point (rows: X, Y, Z).
_RGB_TO_XYZ = [[0.412453, 0.357580, 0.180423],
               [0.212671, 0.715160, 0.072169],
               [0.019334, 0.119193, 0.950227]]
# The white point XYZ is the image of sRGB white, so white maps to exactly L=100, a=b=0.
_WHITE = [sum(row) for row in _RGB_TO_XYZ]
_DELTA = 6.0 / 29.0


def _srgb_to_linear(srgb):
    srgb = tf.clip_by_value(srgb, 0.0, 1.0)
    return tf.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def _linear_to_srgb(linear):
    linear = tf.clip_by_value(linear, 0.0, 1.0)
    return tf.where(linear <= 0.0031308, linear * 12.92,
                    1.055 * tf.pow(tf.maximum(linear, 0.0031308), 1.0 / 2.4) - 0.055)


def rgb_to_lab(srgb):
    """sRGB in [0, 1] -> (L in [0, 100], a, b roughly in [-110, 110])."""
    srgb = tf.convert_to_tensor(srgb, tf.float32)
    xyz = tf.tensordot(_srgb_to_linear(srgb), tf.transpose(tf.constant(_RGB_TO_XYZ)), 1)
    t = xyz / tf.constant(_WHITE)
    f = tf.where(t > _DELTA ** 3,
                 tf.pow(tf.maximum(t, _DELTA ** 3), 1.0 / 3.0),
                 t / (3.0 * _DELTA ** 2) + 4.0 / 29.0)
    fx, fy, fz = tf.unstack(f, axis=-1)
    return tf.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], axis=-1)


def lab_to_rgb(lab):
    """(L, a, b) -> sRGB in [0, 1]; colours outside the sRGB gamut are clipped."""
    lab = tf.convert_to_tensor(lab, tf.float32)
    lightness, a, b = tf.unstack(lab, axis=-1)
    fy = (lightness + 16.0) / 116.0
    f = tf.stack([fy + a / 500.0, fy, fy - b / 200.0], axis=-1)
    t = tf.where(f > _DELTA, f ** 3, 3.0 * _DELTA ** 2 * (f - 4.0 / 29.0))
    xyz = t * tf.constant(_WHITE)
    xyz_to_rgb = tf.linalg.inv(tf.constant(_RGB_TO_XYZ, tf.float64))
    linear = tf.tensordot(xyz, tf.transpose(tf.cast(xyz_to_rgb, tf.float32)), 1)
    return _linear_to_srgb(linear)


# The network sees L and a/b scaled to about [-1, 1], as the reference does.
def lab_to_network(lab):
    """Lab -> (L in [-1, 1] of shape [..., 1], ab / 110 of shape [..., 2])."""
    return lab[..., :1] / 50.0 - 1.0, lab[..., 1:] / 110.0


def network_to_lab(lightness, ab):
    """Inverse of lab_to_network."""
    return tf.concat([(lightness + 1.0) * 50.0, ab * 110.0], axis=-1)


# Network tensors in [-1, 1] -> RGB images in [0, 1] that a person can look at.
# For colourisation the channels the networks see are put back together as the
# reference does: lightness from one image, colour from another, then to sRGB.

def _gray(x):
    return tf.tile((x + 1.0) / 2.0, [1, 1, 1, 3])


def _colourise(lightness, ab):
    return lab_to_rgb(network_to_lab(lightness, ab))


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
