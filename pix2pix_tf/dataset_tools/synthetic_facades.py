"""An offline, deterministic stand-in for the pix2pix facades dataset, made with numpy.

Each file is 256 high x 512 wide: A (left) is a rendered "photo", B (right) the
label map in the CMP facade palette, so BtoA (labels -> photo) is learnable
just as on the real facades. Every image has its own random stream derived
from (seed, split, index), so the output is byte-identical for a given seed.
"""

import json
import os
import shutil
import tempfile

import numpy as np

from pix2pix_tf import palettes
from pix2pix_tf.common import image_io, reporting
from pix2pix_tf.common.errors import UserError, interrupting_signals

NAME = "synthetic_facades"
SIZE = 256
VERSION = 1  # Bump when the drawing changes, so old folders are not taken as complete.
MARKER = ".synthetic_facades.json"

CLASSES = palettes.FACADE_CLASSES
PALETTE = np.array(palettes.FACADE_COLOURS, dtype=np.uint8)
(BACKGROUND, WALL, WINDOW, DOOR, CORNICE, SILL, BALCONY,
 BLIND, DECO, MOLDING, PILLAR, SHOP) = range(len(CLASSES))

WALL_COLOURS = np.array([(200, 180, 150), (165, 88, 68), (188, 188, 182), (212, 172, 112),
                         (232, 226, 212), (150, 158, 168), (190, 140, 110)], np.float32)
BLIND_COLOURS = np.array([(60, 100, 70), (120, 80, 50), (150, 150, 145), (200, 200, 195)],
                         np.float32)
DOOR_COLOURS = np.array([(90, 60, 40), (40, 60, 45), (60, 45, 40), (110, 80, 55)], np.float32)


# ---------------------------------------------------------------- layout (labels)

def _rect(labels, shapes, cls, top, left, bottom, right):
    """Paints a clipped rectangle and remembers it for the renderer."""
    h, w = labels.shape
    top, bottom = max(0, int(top)), min(h, int(bottom))
    left, right = max(0, int(left)), min(w, int(right))
    if bottom > top and right > left:
        labels[top:bottom, left:right] = cls
        shapes.append((cls, top, left, bottom, right))


def _style(rng):
    """Per-building choices, so facades differ in kind and not only in noise."""
    return {
        "floors": int(rng.integers(3, 7)),
        "bays": int(rng.integers(3, 7)),
        "window_w": rng.uniform(0.42, 0.62),
        "window_h": rng.uniform(0.48, 0.68),
        "sills": rng.random() < 0.7,
        "blinds": rng.random() < 0.35,
        "deco": rng.random() < 0.4,
        "moldings": rng.random() < 0.5,
        "pillars": rng.random() < 0.35,
        "shop": rng.random() < 0.5,
        "balcony_floors": rng.random(8) < 0.3,
        "continuous_balcony": rng.random() < 0.4,
    }


def _upper_floor(labels, shapes, rng, style, top, height, left, bay_w, bays):
    win_w = bay_w * style["window_w"]
    win_h = height * style["window_h"]
    win_top = top + height * 0.22
    if style["moldings"]:
        _rect(labels, shapes, MOLDING, top + height - 3, left, top + height, left + bay_w * bays)
    for bay in range(bays):
        cx = left + bay_w * (bay + 0.5)
        wl, wr = cx - win_w / 2, cx + win_w / 2
        _rect(labels, shapes, WINDOW, win_top, wl, win_top + win_h, wr)
        if style["blinds"]:
            blind_w = min(win_w * 0.4, (bay_w - win_w) / 2 - 1)
            _rect(labels, shapes, BLIND, win_top, wl - blind_w, win_top + win_h, wl)
            _rect(labels, shapes, BLIND, win_top, wr, win_top + win_h, wr + blind_w)
        if style["sills"]:
            _rect(labels, shapes, SILL, win_top + win_h, wl - 2, win_top + win_h + 3, wr + 2)
        if style["deco"]:
            _rect(labels, shapes, DECO, win_top - 6, wl - 1, win_top - 2, wr + 1)
    return win_top, win_h


def _balcony(labels, shapes, style, win_top, win_h, left, bay_w, bays):
    rail_top = win_top + win_h * 0.62
    rail_bottom = win_top + win_h + 4
    if style["continuous_balcony"]:
        _rect(labels, shapes, BALCONY, rail_top, left + 2, rail_bottom, left + bay_w * bays - 2)
        return
    win_w = bay_w * style["window_w"]
    for bay in range(bays):
        cx = left + bay_w * (bay + 0.5)
        _rect(labels, shapes, BALCONY, rail_top, cx - win_w / 2 - 4, rail_bottom, cx + win_w / 2 + 4)


def _ground_floor(labels, shapes, rng, style, top, bottom, left, bay_w, bays):
    height = bottom - top
    door_bay = int(rng.integers(0, bays))
    for bay in range(bays):
        cx = left + bay_w * (bay + 0.5)
        if bay == door_bay:
            door_w = bay_w * rng.uniform(0.45, 0.65)
            _rect(labels, shapes, DOOR, bottom - height * rng.uniform(0.72, 0.88),
                  cx - door_w / 2, bottom, cx + door_w / 2)
        elif style["shop"]:
            _rect(labels, shapes, SHOP, bottom - height * 0.78, cx - bay_w * 0.42,
                  bottom - 2, cx + bay_w * 0.42)
        else:
            win_w = bay_w * style["window_w"]
            _rect(labels, shapes, WINDOW, top + height * 0.25, cx - win_w / 2,
                  top + height * 0.8, cx + win_w / 2)
    if style["pillars"]:
        pillar_w = max(3, int(bay_w * 0.1))
        for bay in range(bays + 1):
            x = left + bay_w * bay
            _rect(labels, shapes, PILLAR, top + 3, x - pillar_w / 2, bottom, x + pillar_w / 2)


def layout(rng, size=SIZE):
    """(labels HxW of class ids, shapes [(class, top, left, bottom, right)])."""
    labels = np.full((size, size), BACKGROUND, np.uint8)
    shapes = []
    style = _style(rng)
    top = int(rng.integers(0, 40))
    left = int(rng.integers(0, 24)) if rng.random() < 0.5 else 0
    right = size - (int(rng.integers(0, 24)) if rng.random() < 0.5 else 0)
    bottom = size - (int(rng.integers(0, 8)) if rng.random() < 0.3 else 0)
    _rect(labels, shapes, WALL, top, left, bottom, right)

    cornice_h = int(rng.integers(5, 11))
    floors = style["floors"]
    ground_ratio = rng.uniform(1.15, 1.5)
    floor_h = (bottom - top - cornice_h) / (floors - 1 + ground_ratio)
    bays = style["bays"]
    bay_w = (right - left) / bays
    y = top + cornice_h
    for floor in range(floors - 1):
        win_top, win_h = _upper_floor(labels, shapes, rng, style, y, floor_h, left, bay_w, bays)
        if floor > 0 and style["balcony_floors"][floor]:
            _balcony(labels, shapes, style, win_top, win_h, left, bay_w, bays)
        y += floor_h
    _ground_floor(labels, shapes, rng, style, y, bottom, left, bay_w, bays)
    overhang = int(rng.integers(0, 5))
    _rect(labels, shapes, CORNICE, top, left - overhang, top + cornice_h, right + overhang)
    return labels, shapes


# ---------------------------------------------------------------- rendering (photo)

def smooth_noise(rng, height, width, cells):
    """Bilinearly upsampled gaussian noise on a cells x cells grid: low-frequency texture."""
    grid = rng.standard_normal((cells + 1, cells + 1)).astype(np.float32)
    gy = np.linspace(0, cells, height, dtype=np.float32)
    gx = np.linspace(0, cells, width, dtype=np.float32)
    y0 = np.minimum(gy.astype(int), cells - 1)
    x0 = np.minimum(gx.astype(int), cells - 1)
    fy = (gy - y0)[:, None]
    fx = (gx - x0)[None, :]
    rows = grid[y0] * (1 - fy) + grid[y0 + 1] * fy
    return rows[:, x0] * (1 - fx) + rows[:, x0 + 1] * fx


def _colours(rng):
    """Per-image base colour of every class (12 x 3, float)."""
    jitter = lambda: rng.uniform(-14, 14, 3).astype(np.float32)  # noqa: E731
    wall = WALL_COLOURS[rng.integers(len(WALL_COLOURS))] + jitter()
    stone = np.clip(wall * 0.5 + 120 + jitter(), 0, 255)
    colours = np.zeros((len(CLASSES), 3), np.float32)
    colours[BACKGROUND] = (150, 175, 205) + jitter()
    colours[WALL] = wall
    colours[WINDOW] = (45, 55, 68) + jitter()
    colours[DOOR] = DOOR_COLOURS[rng.integers(len(DOOR_COLOURS))] + jitter()
    colours[CORNICE] = colours[SILL] = colours[MOLDING] = colours[DECO] = stone
    colours[PILLAR] = stone * 0.95
    colours[BALCONY] = (38, 38, 42) + jitter() * 0.5
    colours[BLIND] = BLIND_COLOURS[rng.integers(len(BLIND_COLOURS))] + jitter()
    colours[SHOP] = (30, 34, 40) + jitter() * 0.5
    return colours


def _shade_rect(photo, shape, rng, frame_colour):
    """Per-element detail: frames, mullions, slats, railings, planks and shadows."""
    cls, t, left, b, r = shape
    h, w = b - t, r - left
    region = photo[t:b, left:r]
    if cls in (WINDOW, SHOP):
        # Sky reflection brighter towards the top, then a frame and a mullion cross.
        ramp = np.linspace(1.5, 0.8, h, dtype=np.float32)[:, None, None]
        region *= ramp
        if cls == SHOP:
            region[:, :] += rng.uniform(10, 50, 3).astype(np.float32) * (
                np.linspace(0, 1, w, dtype=np.float32)[None, :, None])
        f = 2 if min(h, w) > 8 else 1
        region[:f] = region[-f:] = frame_colour
        region[:, :f] = region[:, -f:] = frame_colour
        if cls == WINDOW and w > 10:
            region[:, w // 2 - 1:w // 2 + 1] = frame_colour
            region[int(h * 0.35):int(h * 0.35) + 1] = frame_colour
    elif cls == BLIND:
        region[::3] *= 0.7  # Slats.
    elif cls == BALCONY:
        see_through = np.ones(w, bool)
        see_through[::4] = False
        region[2:, see_through] = region[2:, see_through] * 0.4 + 60  # Gaps between bars.
        region[:2] *= 1.3  # Hand rail.
    elif cls == DOOR:
        region[:, ::5] *= 0.75  # Planks.
        region[:3] *= 0.6
    elif cls == PILLAR:
        region *= (1.15 - 0.3 * np.abs(np.linspace(-1, 1, w, dtype=np.float32)))[None, :, None]
    elif cls in (CORNICE, SILL, MOLDING, DECO):
        region[:1] *= 1.2  # Lit top edge.
        region[-1:] *= 0.65  # Shadowed underside.
        if cls != DECO:
            shadow_end = min(photo.shape[0], b + max(2, h // 2))
            photo[b:shadow_end, left:r] *= 0.82  # Cast shadow on the wall below.


def _wall_texture(rng, height, width):
    """Bricks with mortar lines or plain plaster, as a multiplicative field."""
    texture = 1.0 + 0.06 * smooth_noise(rng, height, width, 6)
    if rng.random() < 0.45:
        course = int(rng.integers(4, 7))
        rows = np.arange(height)
        mortar_rows = rows % course == 0
        texture[mortar_rows] *= 0.85
        brick_len = course * 2
        offset = (rows // course % 2) * (brick_len // 2)
        cols = (np.arange(width)[None, :] + offset[:, None]) % brick_len == 0
        texture[cols] *= 0.88
    return texture


def render(labels, shapes, rng):
    """The "photo" of a label map: per-class colours, textures, shading and noise, uint8."""
    height, width = labels.shape
    colours = _colours(rng)
    photo = colours[labels]
    wall = labels == WALL
    photo[wall] *= _wall_texture(rng, height, width)[wall][:, None]
    sky = labels == BACKGROUND
    photo[sky] *= np.linspace(0.85, 1.1, height, dtype=np.float32)[:, None].repeat(width, 1)[sky][:, None]
    frame = np.float32(235) if rng.random() < 0.6 else np.float32(60)
    for shape in shapes:
        if shape[0] != WALL:
            _shade_rect(photo, shape, rng, frame)
    # Sunlight from one side, grime that varies slowly, and sensor noise.
    light = np.linspace(*rng.uniform(0.85, 1.1, 2), width, dtype=np.float32)
    photo *= light[None, :, None]
    photo *= (1.0 + 0.05 * smooth_noise(rng, height, width, 4))[:, :, None]
    photo += rng.normal(0.0, 4.0, photo.shape).astype(np.float32)
    # A touch of blur so edges look photographed rather than drawn.
    photo[1:-1] = (photo[:-2] + 2 * photo[1:-1] + photo[2:]) * 0.25
    photo[:, 1:-1] = (photo[:, :-2] + 2 * photo[:, 1:-1] + photo[:, 2:]) * 0.25
    return np.clip(photo, 0, 255).astype(np.uint8)


def pair(seed, split_id, index, size=SIZE):
    """One A|B image (size x 2*size x 3): photo left, CMP-coloured labels right."""
    rng = np.random.default_rng([seed, split_id, index])
    labels, shapes = layout(rng, size)
    return np.concatenate([render(labels, shapes, rng), PALETTE[labels]], axis=1)


# ---------------------------------------------------------------- dataset folder

def split_counts(count):
    """{"train": count, "val": count // 4 (at least 1)}, like facades' 400 / 100."""
    if count < 1:
        raise UserError(f"--count must be at least 1, got {count}")
    return {"train": count, "val": max(1, count // 4)}


def _description(count, seed):
    return {"name": NAME, "version": VERSION, "seed": seed, "splits": split_counts(count)}


def is_complete(folder, count, seed):
    """True if `folder` holds exactly what generate() would write for count and seed."""
    try:
        with open(os.path.join(folder, MARKER)) as f:  # Local: tools do not use TF.
            marker = json.load(f)
    except (OSError, ValueError):
        return False
    if marker != _description(count, seed):
        return False
    for split, n in split_counts(count).items():
        expected = {f"{i}.jpg" for i in range(1, n + 1)}
        split_dir = os.path.join(folder, split)
        if not os.path.isdir(split_dir):
            return False
        if set(os.listdir(split_dir)) != expected:  # Local: tools do not use TF.
            return False
    return True


def write_splits(folder, count, seed, stream=None):
    """Writes train/ and val/ files 1.jpg, 2.jpg, ... and the marker into `folder`."""
    counts = split_counts(count)
    reporter = reporting.Reporter(sum(counts.values()), reporting.counting_line, stream=stream)
    done = 0
    for split_id, (split, n) in enumerate(counts.items()):
        os.makedirs(os.path.join(folder, split))
        for index in range(1, n + 1):
            data = image_io.encode(pair(seed, split_id, index), ".jpg")
            path = os.path.join(folder, split, f"{index}.jpg")
            with open(path, "wb") as f:  # Local: tools do not use TF.
                f.write(data)
            done += 1
            reporter.update(done)
    reporter.finish(done)
    # Plain write: the whole folder is renamed into place only once complete.
    with open(os.path.join(folder, MARKER), "w") as f:  # Local: tools do not use TF.
        json.dump(_description(count, seed), f, sort_keys=True, indent=4)


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def generate(output_dir=".", count=400, seed=0, stream=None, log=print):
    """Leaves output_dir/synthetic_facades complete (or untouched if it already is)."""
    final = os.path.join(output_dir, NAME)
    if os.path.exists(final):  # Local: tools do not use TF.
        if is_complete(final, count, seed):
            log(f"{final} already exists and is complete; nothing to do")
            return final
        raise UserError(f"{final} exists but is not a complete dataset for --count {count} "
                        f"--seed {seed}; delete it to generate again")
    counts = split_counts(count)
    os.makedirs(output_dir, exist_ok=True)
    log(f"generating {final} ({counts['train']} train, {counts['val']} val, seed {seed})")
    # Built beside the target and renamed at the end: an interruption leaves no partial folder.
    # SIGINT and SIGTERM raise, so that the `finally` removes it then too.
    with interrupting_signals():
        work = tempfile.mkdtemp(prefix=f".{NAME}-", dir=output_dir)
        try:
            write_splits(work, count, seed, stream=stream)
            os.chmod(work, 0o777 & ~_umask())  # mkdtemp made it private; the dataset is not.
            os.replace(work, final)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return final
