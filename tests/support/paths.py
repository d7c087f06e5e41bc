"""Where the tests find the repository and the data shared beside it."""

import importlib.util
import os

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOLS_DIR = os.path.join(REPO_ROOT, "tools")
# ../shared/data beside the clone (CI and developers' machines); $SHARED_DATA_DIR elsewhere.
SHARED_DATA = os.environ.get("SHARED_DATA_DIR",
                             os.path.join(REPO_ROOT, "..", "shared", "data"))
SHARED_T10K = os.path.join(SHARED_DATA, "mnist-t10k")


def load_benchmark(name):
    """The module of benchmarks/NAME.py (scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(name, os.path.join(REPO_ROOT, "benchmarks",
                                                                     name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
