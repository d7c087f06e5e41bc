"""Tiny datasets and runs for the tests of pix2pix_tf (not used at run time)."""

import os

import numpy as np

from pix2pix_tf.common import image_io


def write_pairs(directory, count=4, size=32, seed=0):
    """`count` A|B pairs of size x 2size: A a smooth pattern, B its negative."""
    os.makedirs(directory, exist_ok=True)
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    for i in range(1, count + 1):
        phase = rng.uniform(0, 2 * np.pi, 3)
        a = np.stack([np.sin(6 * x + p) * np.cos(4 * y - p) for p in phase], axis=-1)
        a = ((a + 1) * 127.5).astype(np.uint8)
        image_io.write_image(os.path.join(directory, f"{i}.png"), np.concatenate([a, 255 - a], 1))
    return directory


def tiny_options(**overrides):
    """Options of a small, fast model (crop 32, ngf/ndf 8) with quiet output."""
    from pix2pix_tf import main  # Defines the flags, whose defaults these are.

    values = dict(crop_size=32, ngf=8, ndf=8, max_steps=2, progress_freq=0, summary_freq=0,
                  save_freq=0, seed=1)
    values.update(overrides)
    return main.default_options(**values)


def write_unversioned_export(generator, options, export_dir):
    """An export as this project wrote it before versions existed (commit
    b4efca3's export.py): OUTPUT_DIR/export/saved_model.pb whose
    serving_default takes base64 strings in `input` and returns web-safe
    base64 PNG strings in `output`, the whole request as one batch.
    For the tests that check such exports are still read."""
    import tensorflow as tf

    from pix2pix_tf import data, display

    crop = options["crop_size"]
    training = not options["eval_mode"]

    class UnversionedExport(tf.Module):

        def __init__(self):
            super().__init__()
            self.generator = generator
            self.seed_states = [layer.seed_generator.state for layer in generator.layers
                                if getattr(layer, "seed_generator", None) is not None]
            channels = generator.input_shape[-1]
            self.translate = tf.function(
                lambda images: {"outputs": generator(images, training=training)},
                input_signature=[tf.TensorSpec([None, crop, crop, channels], tf.float32,
                                               name="images")])
            self.serve = tf.function(
                self._serve, input_signature=[tf.TensorSpec([None], tf.string, name="input")])

        def _decode(self, encoded):
            urlsafe = tf.strings.regex_replace(tf.strings.regex_replace(encoded, r"\+", "-"), "/", "_")
            image = data.decode_bytes(tf.io.decode_base64(tf.strings.strip(urlsafe)))
            return tf.image.resize(image, [crop, crop], method="area")

        def _serve(self, encoded):
            rgb = tf.map_fn(self._decode, encoded, fn_output_signature=tf.float32)
            result = (generator(rgb * 2.0 - 1.0, training=training) + 1.0) / 2.0
            return {"output": tf.map_fn(
                lambda image: tf.io.encode_base64(tf.io.encode_png(display.to_uint8(image)), pad=True),
                result, fn_output_signature=tf.string)}

    module = UnversionedExport()
    tf.saved_model.save(module, export_dir, signatures={"serving_default": module.serve,
                                                        "translate": module.translate})
    return export_dir
