"""Label palettes shared by the dataset tools, the judges and the server's
drawing page, and the test of whether images are label maps.

No TensorFlow, so that any side may import them.
"""

import numpy as np

# CMP facade classes in their label order; colours are matlab's jet(12), which
# is how the CMP base labels are plotted in the pix2pix facades images.
FACADE_CLASSES = ("background", "wall", "window", "door", "cornice", "sill", "balcony",
                  "blind", "deco", "molding", "pillar", "shop")
FACADE_COLOURS = (
    (0, 0, 170), (0, 0, 255), (0, 85, 255), (0, 170, 255), (0, 255, 255), (85, 255, 170),
    (170, 255, 85), (255, 255, 0), (255, 170, 0), (255, 85, 0), (255, 0, 0), (170, 0, 0),
)

# How far, per channel, a label map's pixels may stray from its colours (a
# label map saved as JPEG, or resized: blended edges).
LABEL_TOLERANCE = 60
# Images are label maps when at least this share of their pixels is near a colour.
LABEL_SHARE = 0.8


def label_share(pixels: np.ndarray, colours=FACADE_COLOURS) -> float:
    """The share of the RGB `pixels` [..., 3] within LABEL_TOLERANCE of one of `colours`."""
    pixels = np.asarray(pixels, np.int16).reshape(-1, 3)
    distance = np.abs(pixels[:, None] - np.asarray(colours, np.int16)).max(-1).min(-1)
    return float(np.mean(distance <= LABEL_TOLERANCE))
