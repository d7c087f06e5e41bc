"""Applying one image operation to every image of a folder, in parallel, with progress."""

import multiprocessing
import os

from pix2pix_tf.common import files, image_io, reporting
from pix2pix_tf.common.errors import UserError
from pix2pix_tf.dataset_tools import image_ops

OPERATIONS = ("grayscale", "resize", "blank", "combine", "edges")


def list_images(folder, flag="--input_dir"):
    """Sorted image file names of `folder`; UserError if it is missing or has none."""
    if not os.path.isdir(folder):
        raise UserError(f"{flag} {folder} does not exist or is not a folder")
    names = sorted(n for n in os.listdir(folder)  # Local: tools do not use TF.
                   if image_io.is_image_file(n) and os.path.isfile(os.path.join(folder, n)))
    if not names:
        raise UserError(f"{flag} {folder} holds no .png/.jpg/.jpeg images")
    return names


def find_partner(b_dir, name, b_names):
    """The file of b_dir with the same stem as `name`, whatever its image extension."""
    stem = os.path.splitext(name)[0]
    matches = [n for n in b_names if os.path.splitext(n)[0] == stem]
    if not matches:
        raise UserError(f"no image named {stem}.png/.jpg/.jpeg in --b_dir {b_dir} to combine with {name}")
    if len(matches) > 1:
        raise UserError(f"--b_dir {b_dir} has several images named {stem}: {', '.join(matches)}")
    return os.path.join(b_dir, matches[0])


def output_name(name):
    return os.path.splitext(name)[0] + ".png"


def plan(input_dir, output_dir, operation, b_dir=None):
    """(tasks, skipped): one (src, b_src or None, dst) per image whose output is missing."""
    if operation not in OPERATIONS:
        raise UserError(f"unknown --operation {operation}; choose one of {', '.join(OPERATIONS)}")
    names = list_images(input_dir)
    b_names = None
    if operation == "combine":
        if not b_dir:
            raise UserError("--operation combine needs --b_dir, the folder of the B images")
        b_names = list_images(b_dir, flag="--b_dir")
    stems = {}
    for name in names:
        stem = os.path.splitext(name)[0]
        if stem in stems:
            raise UserError(f"{input_dir} has both {stems[stem]} and {name}, which would "
                            f"both be written to {output_name(name)}")
        stems[stem] = name
    tasks, skipped = [], 0
    for name in names:
        dst = os.path.join(output_dir, output_name(name))
        if os.path.exists(dst):  # Local: tools do not use TF.
            skipped += 1
            continue
        b_src = find_partner(b_dir, name, b_names) if b_names is not None else None
        tasks.append((os.path.join(input_dir, name), b_src, dst))
    return tasks, skipped


def apply(operation, image, b_image=None, size=256, pad=False, names=("A", "B")):
    """One operation on arrays; the building block of `process_one`."""
    if operation == "grayscale":
        return image_ops.grayscale(image)
    if operation == "resize":
        return image_ops.resize(image, size=size, pad=pad)
    if operation == "blank":
        return image_ops.blank(image)
    if operation == "combine":
        return image_ops.combine(image, b_image, names[0], names[1])
    if operation == "edges":
        return image_ops.edges(image)
    raise UserError(f"unknown --operation {operation}")


def process_one(task, operation, size=256, pad=False):
    """Reads, transforms and atomically writes one image (runs in worker processes)."""
    src, b_src, dst = task
    image = image_io.read_rgb(src)
    b_image = image_io.read_rgb(b_src) if b_src else None
    result = apply(operation, image, b_image, size=size, pad=pad, names=(src, b_src))
    image_io.write_image(dst, result)
    return dst


def _process_star(args):
    return process_one(*args)


def run(input_dir, output_dir, operation, b_dir=None, size=256, pad=False, workers=1,
        log=print, stream=None):
    """Processes every image of input_dir into output_dir; returns (written, skipped)."""
    if workers < 1:
        raise UserError(f"--workers must be at least 1, got {workers}")
    if operation == "resize" and size < 1:
        raise UserError(f"--size must be at least 1, got {size}")
    tasks, skipped = plan(input_dir, output_dir, operation, b_dir)
    files.check_writable_dir(output_dir)
    if skipped:
        log(f"skipping {skipped} images whose output already exists in {output_dir}")
    if not tasks:
        log("nothing to do")
        return 0, skipped
    reporter = reporting.Reporter(len(tasks), reporting.counting_line, stream=stream)
    jobs = [(task, operation, size, pad) for task in tasks]
    done = 0
    if workers == 1:
        for job in jobs:
            _process_star(job)
            done += 1
            reporter.update(done)
    else:
        # spawn: safe even when the caller has TensorFlow's threads running.
        context = multiprocessing.get_context("spawn")
        with context.Pool(min(workers, len(jobs))) as pool:
            for _ in pool.imap_unordered(_process_star, jobs):
                done += 1
                reporter.update(done)
    reporter.finish(done)
    return done, skipped
