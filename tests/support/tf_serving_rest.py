"""TensorFlow Serving's REST predict call, done in-process on a SavedModel.

TF Serving cannot run here (no Docker), so the tests check an export against
the rules its REST API applies (its "RESTful API" documentation and
tensorflow_serving/util/json_tensor.cc), reading the SignatureDef from
saved_model.pb as the server does:
- a request is {"signature_name"?, "instances": [...]} (row format); with a
  single input each instance is that input's value, else an object keyed by
  input name;
- a string input's value is a JSON string, or {"b64": standard base64} for
  binary data;
- the response is {"predictions": [...]}, one item per instance: the value
  of the only output, or an object keyed by output name; a string output
  whose name ends in "_bytes" becomes {"b64": standard base64}, any other
  string output is written as text.
"""

import base64
import json
import os

import tensorflow as tf
from tensorflow.core.framework import types_pb2
from tensorflow.core.protobuf import saved_model_pb2


def signature_defs(model_dir):
    """name -> SignatureDef of the SavedModel in `model_dir`."""
    proto = saved_model_pb2.SavedModel()
    with open(os.path.join(model_dir, "saved_model.pb"), "rb") as f:
        proto.ParseFromString(f.read())
    return dict(proto.meta_graphs[0].signature_def)


def _input_value(value, dtype):
    if dtype == types_pb2.DT_STRING:
        if isinstance(value, dict):
            if set(value) != {"b64"}:
                raise ValueError(f"a binary value is {{'b64': ...}}, not {value}")
            return base64.b64decode(value["b64"], validate=True)
        return value.encode()
    return value


def _output_value(value, name, dtype):
    if dtype == types_pb2.DT_STRING:
        if name.endswith("_bytes"):
            return {"b64": base64.b64encode(value).decode("ascii")}
        return value.decode("utf-8")  # TF Serving writes other strings as JSON text.
    return value.tolist()


def predict(model_dir, loaded, request_body):
    """The JSON body TF Serving answers POST /v1/models/NAME:predict with.

    Args:
        model_dir: the SavedModel folder (a version folder).
        loaded: tf.saved_model.load(model_dir).
        request_body: the request's JSON text.
    """
    request = json.loads(request_body)
    name = request.get("signature_name", "serving_default")
    signature = signature_defs(model_dir)[name]
    instances = request["instances"]
    inputs = {}
    if len(signature.inputs) == 1:
        (key, info), = signature.inputs.items()
        inputs[key] = [_input_value(value, info.dtype) for value in instances]
    else:
        for key, info in signature.inputs.items():
            inputs[key] = [_input_value(instance[key], info.dtype) for instance in instances]
    outputs = loaded.signatures[name](**{key: tf.constant(values) for key, values in inputs.items()})
    outputs = {key: value.numpy() for key, value in outputs.items()}
    predictions = []
    for i in range(len(instances)):
        item = {key: _output_value(outputs[key][i], key, info.dtype)
                for key, info in signature.outputs.items()}
        predictions.append(next(iter(item.values())) if len(item) == 1 else item)
    return json.dumps({"predictions": predictions})
