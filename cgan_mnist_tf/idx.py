"""The IDX file format of the MNIST distribution, gzip-compressed or not."""

import gzip
import struct
import zlib

import numpy as np

from pix2pix_tf.common import files
from pix2pix_tf.common.errors import UserError

UNSIGNED_BYTE = 0x08
_GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path):
    """An IDX file of unsigned bytes as a uint8 array of its shape; a header
    that is not IDX or disagrees with the data's size is a UserError."""
    try:
        raw = files.read_bytes(path)
        if raw[:2] == _GZIP_MAGIC:
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
        raise UserError(f"cannot read {path}: {e}") from e
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != UNSIGNED_BYTE or not 1 <= raw[3] <= 4:
        raise UserError(f"{path} is not an IDX file of unsigned bytes "
                        f"(header starts {raw[:4].hex() or 'empty'}, expected 000008 and 1-4 dimensions)")
    ndim = raw[3]
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise UserError(f"{path} has a truncated IDX header")
    shape = struct.unpack(f">{ndim}I", raw[4:header_size])
    expected = int(np.prod(shape))
    if len(raw) - header_size != expected:
        raise UserError(f"{path}: the IDX header announces shape {tuple(shape)} ({expected} bytes) "
                        f"but the file holds {len(raw) - header_size} bytes of data")
    return np.frombuffer(raw, np.uint8, offset=header_size).reshape(shape)

