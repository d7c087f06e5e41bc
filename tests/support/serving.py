"""A tiny trained pix2pix run and a server over it, for the tests of
pix2pix_tf.serving (not used at run time)."""

import json
import os
import struct
import threading
import urllib.error
import urllib.request
import zlib

import numpy as np

from pix2pix_tf import train
from pix2pix_tf.common import image_io
from pix2pix_tf.serving import cli
from tests.support import pix2pix as testing


def quiet(*args):
    pass


def trained_run(root, **overrides):
    """root/data/{train,val} of A|B pairs and root/run, 2 steps of a crop-32
    model without dropout (so its outputs are deterministic). Returns the run folder."""
    data = os.path.join(root, "data")
    testing.write_pairs(os.path.join(data, "train"), count=2)
    testing.write_pairs(os.path.join(data, "val"), count=3, seed=7)
    run_dir = os.path.join(root, "run")
    train.train(testing.tiny_options(input_dir=os.path.join(data, "train"), output_dir=run_dir,
                                     dropout=False, **overrides), log=quiet)
    return run_dir


def start_server(model, log=quiet, **kwargs):
    """cli.make_server on a free port, serving from a thread; returns the
    server and a function that stops it."""
    httpd = cli.make_server(model, port=0, log=log, **kwargs)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()

    def stop():
        httpd.shutdown()
        httpd.server_close()
        thread.join()

    return httpd, stop


def request(url, data=None, method=None, headers=None):
    """(status, headers, body) of an HTTP request; error statuses are returned, not raised."""
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as e:
        with e:
            return e.code, e.headers, e.read()


def post_json(url, value):
    status, headers, body = request(url, json.dumps(value).encode(),
                                    headers={"Content-Type": "application/json"})
    return status, json.loads(body)


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width, height):
    """A small PNG of width x height black RGB pixels (its rows compress to almost nothing)."""
    compressor = zlib.compressobj(9)
    rows = bytes(1 + 3 * width) * 100  # Filter byte 0, then the row's pixels.
    idat = b"".join(compressor.compress(rows) for _ in range(height // 100))
    idat += compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", idat)
            + png_chunk(b"IEND", b""))


def jpeg_claiming(width, height):
    """A tiny JPEG whose frame header claims width x height."""
    data = bytearray(image_io.encode(np.zeros((8, 8, 3), np.uint8), ".jpg"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)
