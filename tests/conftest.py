"""pytest setup shared by every suite."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def pytest_collection_modifyitems(config, items):
    # tf.test.TestCase carries a deprecated `test_session` context manager that
    # pytest mistakes for a test and reports as skipped; it is not one of ours.
    items[:] = [item for item in items if item.name != "test_session"]
