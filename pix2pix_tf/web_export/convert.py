"""`--mode export --export_format web`: a folder any static file server serves,
in which a page translates in the browser with no server code behind it.

OUTPUT_DIR/web/ holds the generator as ONNX (model.onnx, float32 weights;
model_float16.onnx, the same graph with its weights stored as float16 and cast
back to float32 when the session loads), pix2pix.json (what the page needs to
know about the model), the page (index.html, translate.js) and the WebAssembly
build of onnxruntime-web (ort/), copied from this folder's node_modules, which
`npm ci` installs from package-lock.json: nothing is fetched from elsewhere at
page load. The folder is written beside its place and renamed into it, so
OUTPUT_DIR/web is complete or absent (an earlier one is replaced whole).

The graph is the one the SavedModel serves: batch statistics and dropout, as
in the paper (each call draws new dropout noise), or with --eval_mode moving
statistics and no dropout (deterministic); a model trained with --nodropout
has none either way.
"""

from __future__ import annotations

import os
import shutil
import typing

import keras
import numpy as np
import tensorflow as tf

from pix2pix_tf import export as saved_model_export
from pix2pix_tf.common import files
from pix2pix_tf.common.errors import UserError

WEB_DIR = "web"  # OUTPUT_DIR/web
HERE = os.path.dirname(os.path.abspath(__file__))
RUNTIME_DIST = os.path.join(HERE, "node_modules", "onnxruntime-web", "dist")
# The WebAssembly build of onnxruntime-web: its module, loader and binary.
RUNTIME_FILES = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
PAGE_FILES = ("index.html", "translate.js")
OPSET = 17
# Initializers smaller than this stay float32 in model_float16.onnx (biases,
# shapes): the cast nodes would cost more than they save.
FLOAT16_MIN_SIZE = 1024


class RandomDropout(keras.layers.Layer):
    """Dropout drawn with a stateful random op: Keras' own draws its noise
    with stateless random ops, which ONNX has no counterpart for."""

    def __init__(self, rate: float, **kwargs: typing.Any) -> None:
        super().__init__(**kwargs)
        self.rate = rate

    def call(self, x: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        if not training:
            return x
        keep = tf.cast(tf.random.uniform(tf.shape(x)) >= self.rate, x.dtype)
        return x * keep / (1.0 - self.rate)


def _traced(generator, training):
    """The generator as a tf.function of one image, in the export's mode, its
    weights shared with `generator`."""
    clone = keras.models.clone_model(generator, clone_function=lambda layer: (
        RandomDropout(layer.rate, name=layer.name) if isinstance(layer, keras.layers.Dropout)
        else layer))

    @tf.function(input_signature=[tf.TensorSpec([1, *generator.input_shape[1:]], tf.float32,
                                                name="images")])
    def translate(images):
        # Batch norm in training mode would update its moving statistics: the
        # scope keeps those writes out of the graph.
        with keras.StatelessScope():
            return tf.identity(clone(images, training=training), name="outputs")

    return translate


def to_onnx(generator: keras.Model, training: bool) -> typing.Any:
    """The generator as an ONNX ModelProto: one input, [1, crop, crop,
    channels] in [-1, 1] -> one output, NHWC like the Keras model.

    Raises:
        UserError: the graph holds an op the converter cannot express.
    """
    from tf2onnx import optimizer, tf_loader, tfonnx  # Only the web export needs them.

    function = _traced(generator, training).get_concrete_function()
    inputs, outputs = [function.inputs[0].name], [function.outputs[0].name]
    frozen = tf_loader.from_function(function, inputs, outputs)
    with tf.Graph().as_default() as graph:
        tf.import_graph_def(frozen, name="")
    try:
        onnx_graph = tfonnx.process_tf_graph(graph, opset=OPSET, input_names=inputs,
                                             output_names=outputs)
    except Exception as e:  # tf2onnx raises several kinds for an op it cannot convert.
        raise UserError(f"the generator cannot be converted for the browser: {e}") from e
    # Only the transpose pass: the runtime folds constants when it loads the
    # model, and tf2onnx's other passes copy the whole graph, weights and all.
    onnx_graph = optimizer.optimize_graph(
        onnx_graph, optimizers={"optimize_transpose": optimizer.TransposeOptimizer})
    return onnx_graph.make_model("pix2pix generator")


def float16_weights(model: typing.Any) -> typing.Any:
    """A copy of the ONNX `model` whose large float32 weights are stored as
    float16, each followed by a Cast back to float32 (computed once when the
    runtime loads the model)."""
    import onnx
    from onnx import helper, numpy_helper

    smaller = onnx.ModelProto()
    smaller.CopyFrom(model)
    kept, casts = [], []
    for tensor in smaller.graph.initializer:
        values = numpy_helper.to_array(tensor)
        if values.dtype != np.float32 or values.size < FLOAT16_MIN_SIZE:
            kept.append(tensor)
            continue
        kept.append(numpy_helper.from_array(values.astype(np.float16), tensor.name + "_float16"))
        casts.append(helper.make_node("Cast", [tensor.name + "_float16"], [tensor.name],
                                      to=onnx.TensorProto.FLOAT))
    del smaller.graph.initializer[:]
    smaller.graph.initializer.extend(kept)
    nodes = casts + list(smaller.graph.node)
    del smaller.graph.node[:]
    smaller.graph.node.extend(nodes)
    return smaller


def _check_inputs(options):
    if options.lab_colorization:
        raise UserError("--export_format web cannot export a --lab_colorization model: the page "
                        "has no Lab colour conversion")
    try:
        import tf2onnx  # noqa: F401 (only checks that it is installed)
    except ImportError as e:
        raise UserError("--export_format web needs tf2onnx: pip install tf2onnx") from e
    missing = [name for name in RUNTIME_FILES if not os.path.isfile(os.path.join(RUNTIME_DIST, name))]
    if missing:
        raise UserError(f"the browser runtime is missing ({', '.join(missing)} in {RUNTIME_DIST}): "
                        f"run npm ci --ignore-scripts --prefix {HERE}")
    if not files.is_local(options.output_dir):
        raise UserError(f"--export_format web writes to a local folder, not {options.output_dir}")


def _write(staging, generator, options, log):
    import onnx

    model = to_onnx(generator, training=not options.eval_mode)
    onnx.save(model, os.path.join(staging, "model.onnx"))
    onnx.save(float16_weights(model), os.path.join(staging, "model_float16.onnx"))
    os.makedirs(os.path.join(staging, "ort"))
    for name in RUNTIME_FILES:
        shutil.copyfile(os.path.join(RUNTIME_DIST, name), os.path.join(staging, "ort", name))
    for name in PAGE_FILES:
        shutil.copyfile(os.path.join(HERE, name), os.path.join(staging, name))
    info = {key: getattr(options, key) for key in ("crop_size", "which_direction", "eval_mode")}
    info["dropout"] = options.dropout and not options.eval_mode
    files.write_json(os.path.join(staging, "pix2pix.json"), info)
    for name in ("model.onnx", "model_float16.onnx"):
        log(f"{name}: {os.path.getsize(os.path.join(staging, name)) / 1e6:.1f} MB")


def export(generator: keras.Model, options: typing.Any, log=print) -> str:
    """Writes OUTPUT_DIR/web (see the module doc); returns its path.

    Args:
        generator: the restored Keras generator.
        options: the run's options merged with the checkpoint's.
        log: where progress lines go.
    """
    _check_inputs(options)
    target = os.path.join(options.output_dir, WEB_DIR)
    try:
        files.makedirs(options.output_dir)
        saved_model_export.remove_stale_staging(options.output_dir, options.output_dir, log)
        prefix = f"{saved_model_export.STAGING_PREFIX}{os.getpid()}-"
        staging = files.staging_dir(options.output_dir, prefix=prefix + "web-")
    except OSError as e:
        raise UserError(f"cannot write to --output_dir {options.output_dir}: {e.strerror}") from e
    old = None
    try:
        _write(staging, generator, options, log)
        if os.path.isdir(target):
            old = files.staging_dir(options.output_dir, prefix=prefix + "old-")
            os.replace(target, os.path.join(old, WEB_DIR))
        os.rename(staging, target)
    except OSError as e:
        raise UserError(f"cannot write to --output_dir {options.output_dir}: {e.strerror}") from e
    finally:
        for path in (staging, old):
            if path and os.path.isdir(path):
                shutil.rmtree(path)
    log(f"exported the generator for the browser to {target}: serve that folder with any static "
        f"file server (python -m http.server -d {target}) and open its index.html")
    return target
