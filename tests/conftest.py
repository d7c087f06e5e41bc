"""pytest setup shared by every suite."""

import contextlib
import fcntl
import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def pytest_collection_modifyitems(config, items):
    # tf.test.TestCase carries a deprecated `test_session` context manager that
    # pytest mistakes for a test and reports as skipped; it is not one of ours.
    items[:] = [item for item in items if item.name != "test_session"]


# A test process with TensorFlow, and the worker processes some tests start,
# peak near this much memory together (about 2 GiB measured with 2 processes).
MEMORY_PER_TEST_PROCESS = 4 * 2 ** 30


def pytest_xdist_auto_num_workers(config):
    """`-n auto`: one test process per usable core, as many as the memory holds."""
    from pix2pix_tf.common import machine

    by_memory = machine.memory_bytes() // MEMORY_PER_TEST_PROCESS
    return max(1, min(machine.usable_cores(), by_memory))


@contextlib.contextmanager
def _flock(path, kind):
    with open(path, "a") as f:
        fcntl.flock(f, kind)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@pytest.fixture(scope="class", autouse=True)
def _exclusive_when_marked(request, tmp_path_factory):
    """Under pytest-xdist, a test class marked `exclusive` runs while no other
    test does: it waits for the running class to end, and others wait for it.
    Each class holds the run's lock from before its setUpClass to after its
    last test, shared, an exclusive one alone; both first pass a gate, which
    an exclusive class keeps until it has the lock, so that a stream of
    shared holders cannot keep it waiting."""
    if "PYTEST_XDIST_WORKER" not in os.environ:  # One test process: nothing runs beside it.
        yield
        return
    # The workers' temporary folders are in the run's own (pytest removes old ones).
    lock = os.path.join(tmp_path_factory.getbasetemp().parent, "exclusive")
    kind = fcntl.LOCK_EX if request.node.get_closest_marker("exclusive") else fcntl.LOCK_SH
    with contextlib.ExitStack() as held:
        with _flock(lock + ".gate", fcntl.LOCK_EX):
            held.enter_context(_flock(lock + ".lock", kind))
        yield
