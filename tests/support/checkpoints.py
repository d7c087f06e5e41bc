"""Reading a run's checkpoint whole, and stopping a training process, for the tests."""

import signal

import tensorflow as tf
from tensorflow.core.protobuf import trackable_object_graph_pb2

OBJECT_GRAPH = "_CHECKPOINTABLE_OBJECT_GRAPH"


def every_checkpoint_tensor(path):
    """Every tensor of the checkpoint `path`, its object graph and save counter
    included; in the graph, the variables' Keras names (dropout_7/...) are
    left out: they count the models made before in the process, not the run."""
    reader = tf.train.load_checkpoint(path)
    values = {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}
    graph = trackable_object_graph_pb2.TrackableObjectGraph()
    graph.ParseFromString(values[OBJECT_GRAPH])
    for node in graph.nodes:
        for attribute in node.attributes:
            attribute.ClearField("full_name")
    values[OBJECT_GRAPH] = graph.SerializeToString(deterministic=True)
    return values


def sigterm(test_case, process, timeout=120):
    """Sends SIGTERM to a training process, checks that it saved and exited
    with 143 and without a traceback; returns its (stdout, stderr)."""
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=timeout)
    test_case.assertEqual(process.returncode, 143, stderr)
    test_case.assertNotIn("Traceback", stderr)
    return stdout, stderr
