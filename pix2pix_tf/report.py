"""Image files and the index.html that shows them side by side."""

import html
import os
import urllib.parse

from pix2pix_tf.common import files, image_io, plots

KINDS = ("inputs", "outputs", "targets")
LOSS_HISTORY = "losses.json"
LOSS_PLOT = "losses.png"  # Where History.write_plot draws LOSS_HISTORY.
# The smoothed losses training logs, a panel each: their scales differ.
LOSS_PANELS = (("discriminator loss", [("discriminator_loss", "D")]),
               ("generator GAN loss", [("generator_loss_GAN", "G GAN")]),
               ("generator L1 loss", [("generator_loss_L1", "G L1")]))

# The histograms test mode shows above its table.
HISTOGRAMS = "histograms.png"


def save_image_set(image_dir, name, images):
    """Writes NAME-KIND.png for each uint8 image of `images` (kind -> HxWx3),
    returns kind -> path relative to the folder holding `image_dir`."""
    paths = {}
    for kind, image in images.items():
        filename = f"{name}-{kind}.png"
        image_io.write_image(os.path.join(image_dir, filename), image)
        paths[kind] = os.path.join(os.path.basename(image_dir), filename)
    return paths


def write_index(path, columns, rows, heading=""):
    """Writes an HTML table: one row per dict of `rows`, one column per name
    in `columns`; values that are image file paths (.png, .jpg, .jpeg,
    relative to the page) are shown as images, others as text."""
    out = ["<!DOCTYPE html>", "<html><head><meta charset='utf-8'><title>pix2pix</title>",
           "<style>td, th {padding: 4px; text-align: center} td img {max-width: 256px}</style>",
           "</head><body>", heading, "<table>",
           "<tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in columns) + "</tr>"]
    for row in rows:
        cells = []
        for column in columns:
            value = row.get(column, "")
            if isinstance(value, str) and image_io.is_image_file(value):
                cells.append(f"<td><img src='{html.escape(image_url(value))}'></td>")
            elif isinstance(value, float):
                cells.append(f"<td>{value:.4f}</td>")
            else:
                cells.append(f"<td>{html.escape(str(value))}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out += ["</table>", "</body></html>", ""]
    files.write_atomic(path, "\n".join(out))


def image_url(path):
    """A relative file path as the src of an <img>: '#', '?', spaces... escaped."""
    return urllib.parse.quote(path.replace(os.sep, "/"), safe="/")


def training_rows(image_dir):
    """Rows of the training display, rebuilt from the files in `image_dir`,
    so a resumed run keeps the rows of the runs before it."""
    steps = sorted({name.split("-")[1] for name in files.listdir(image_dir)
                    if name.startswith("step-") and name.endswith("-inputs.png")})
    folder = os.path.basename(image_dir)
    return [{"step": int(step), **{kind: os.path.join(folder, f"step-{step}-{kind}.png")
                                   for kind in KINDS}} for step in steps]


def loss_history(output_dir, start_step=0):
    """The losses logged so far by the run in `output_dir` (up to `start_step`);
    its write_plot(LOSS_PANELS) draws LOSS_PLOT."""
    return plots.History(os.path.join(output_dir, LOSS_HISTORY), start_step)


def write_training_index(output_dir, image_dir):
    """The training display's index.html: the loss plot, then a row per displayed step."""
    heading = (f"<p><img src='{LOSS_PLOT}' alt='losses' style='max-width: none'></p>"
               if files.isfile(os.path.join(output_dir, LOSS_PLOT)) else "")
    write_index(os.path.join(output_dir, "index.html"), ["step", *KINDS],
                training_rows(image_dir), heading)
