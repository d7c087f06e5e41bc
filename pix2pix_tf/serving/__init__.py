"""Serving a trained pix2pix model over HTTP.

cli.py: the absl flags (pix2pix-serve, python -m pix2pix_tf.serving);
model.py: which export to serve and the call that translates an image;
app.py: the HTTP server (TensorFlow Serving's REST API, /translate, the page);
web/: the page.

Importing this package loads no TensorFlow: --help answers at once.
"""
