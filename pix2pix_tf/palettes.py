"""Label palettes shared by the dataset tools and the server's drawing page.

Plain tuples, no numpy or TensorFlow, so that any side may import them.
"""

# CMP facade classes in their label order; colours are matlab's jet(12), which
# is how the CMP base labels are plotted in the pix2pix facades images.
FACADE_CLASSES = ("background", "wall", "window", "door", "cornice", "sill", "balcony",
                  "blind", "deco", "molding", "pillar", "shop")
FACADE_COLOURS = (
    (0, 0, 170), (0, 0, 255), (0, 85, 255), (0, 170, 255), (0, 255, 255), (85, 255, 170),
    (170, 255, 85), (255, 255, 0), (255, 170, 0), (255, 85, 0), (255, 0, 0), (170, 0, 0),
)
