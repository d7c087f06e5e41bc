"""The run folder made before random states were checkpointed (tests/data/legacy_pix2pix_run)."""

import os
import shutil

from tests.support.paths import REPO_ROOT

LEGACY_PIX2PIX_RUN = os.path.join(REPO_ROOT, "tests", "data", "legacy_pix2pix_run")
# The four A|B pairs it was trained on.
LEGACY_PIX2PIX_PAIRS = os.path.join(REPO_ROOT, "tests", "data", "legacy_pix2pix_pairs")


def copy_legacy_pix2pix_run(destination):
    """A writable copy of the legacy run folder (its checkpoint: step 2, crop 32, ngf/ndf 4)."""
    shutil.copytree(LEGACY_PIX2PIX_RUN, destination)
    return destination
