"""What the machine running the tests can do, for tests that need a dtype's kernels."""

from pix2pix_tf.common import machine, precision
from pix2pix_tf.common.errors import UserError

BFLOAT16_BLOCKED_REASON = "oneDNN is capped below AVX-512 ($ONEDNN_MAX_CPU_ISA): no bfloat16 kernels"


def bfloat16_blocked():
    """Whether bfloat16 cannot run here: oneDNN capped below AVX512_CORE
    ($ONEDNN_MAX_CPU_ISA=AVX2, as to approximate an AVX2-only CPU) refuses it
    and TensorFlow aborts. On a real AVX2 CPU it runs, emulated."""
    try:
        precision.resolve("bfloat16", machine.probe())
    except UserError:
        return True
    return False
