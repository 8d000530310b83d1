"""Synthetic grey scenes for lesson 4: shapes, textures, blur and noise, and crops of them.

Every scene comes from a seeded NumPy generator, so the same seed always draws the same
scenes. The lesson chooses the label (its Canny target) and passes it to training_crops.
"""

import cv2
import numpy as np

SCENE_SIZE = 160  # training scenes are 160x160 pixels ...
CROP = 96  # ... and the models train on random 96x96 crops of them
CROPS_PER_SCENE = 4
HELD_OUT_SCENES = 4  # generated from a seed stream that training never touches
HELD_OUT_SIZE = 256


def to_uint8(image):
    """Round a float 0..255 image to uint8, the input cv2.Canny needs."""
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def _texture(rng, shape):
    """A stripe pattern or a blotchy noise, amplitude about +-40 grey levels."""
    h, w = shape
    if rng.random() < 0.5:
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        angle, period = rng.uniform(0, np.pi), rng.uniform(4, 24)
        wave = np.sin((np.cos(angle) * xx + np.sin(angle) * yy) * 2 * np.pi / period)
    else:
        cells = int(rng.integers(4, 32))
        wave = cv2.resize(rng.normal(0, 1, (cells, cells)).astype(np.float32), (w, h))
    return (rng.uniform(10, 50) * wave).astype(np.float32)


def _draw_shape(rng, canvas, size):
    """Draw one random shape (filled or outlined) of a random scale onto canvas, in place."""
    centre = rng.uniform(-0.1, 1.1, 2) * size
    radius = size * np.exp(rng.uniform(np.log(0.02), np.log(0.45)))  # small to large
    grey = float(rng.uniform(0, 255))
    thickness = -1 if rng.random() < 0.6 else int(rng.integers(1, 4))
    kind = rng.integers(5)
    if kind == 0:  # a rotated rectangle
        sides = (radius * rng.uniform(0.5, 2), radius * rng.uniform(0.5, 2))
        points = [cv2.boxPoints((tuple(centre), sides, rng.uniform(0, 180)))]
    elif kind == 1:  # a star-like or convex polygon
        n = int(rng.integers(3, 9))
        angles = np.sort(rng.uniform(0, 2 * np.pi, n))
        radii = radius * rng.uniform(0.4, 1.0, n)
        points = [centre + np.stack([np.cos(angles), np.sin(angles)], 1) * radii[:, None]]
    elif kind == 2:  # a line
        end = centre + rng.normal(0, radius, 2)
        pts = np.rint([centre, end]).astype(np.int32)
        cv2.line(canvas, tuple(map(int, pts[0])), tuple(map(int, pts[1])), grey, max(1, thickness))
        return
    else:  # an ellipse (a circle when the axes agree)
        axes = (int(radius), int(radius * rng.uniform(0.3, 1.0)))
        c = tuple(int(v) for v in np.rint(centre))
        if kind == 4 and thickness == -1:  # a textured ellipse
            mask = np.zeros(canvas.shape, np.uint8)
            cv2.ellipse(mask, c, axes, rng.uniform(0, 180), 0, 360, 1, -1)
            fill = grey + _texture(rng, canvas.shape)
            canvas[mask > 0] = fill[mask > 0]
        else:
            cv2.ellipse(canvas, c, axes, rng.uniform(0, 180), 0, 360, grey, thickness)
        return
    points = [np.rint(p).astype(np.int32) for p in points]
    if thickness == -1:
        cv2.fillPoly(canvas, points, grey)
    else:
        cv2.polylines(canvas, points, True, grey, thickness)


def make_scene(rng, size=SCENE_SIZE):
    """One random grey scene as uint8 (size, size): gradient, shapes, texture, blur, noise."""
    big = 2 * size  # draw at twice the size, then shrink: edges get soft, anti-aliased steps
    yy, xx = np.mgrid[0:big, 0:big].astype(np.float32) / big
    angle = rng.uniform(0, 2 * np.pi)
    canvas = rng.uniform(40, 215) + rng.uniform(-80, 80) * (np.cos(angle) * xx + np.sin(angle) * yy)
    if rng.random() < 0.5:
        canvas = canvas + _texture(rng, (big, big)) * rng.uniform(0, 1)
    for _ in range(int(rng.integers(6, 26))):
        _draw_shape(rng, canvas, big)
    scene = cv2.resize(canvas.astype(np.float32), (size, size), interpolation=cv2.INTER_AREA)
    shading = cv2.resize(rng.normal(0, 1, (3, 3)).astype(np.float32), (size, size))
    scene += rng.uniform(0, 25) * shading  # slow light changes, as on a face
    scene = 128 + (scene - 128) * rng.uniform(0.5, 1.2)  # low- to high-contrast scenes
    blur = rng.uniform(0, 1.6)
    if blur > 0.5:
        scene = cv2.GaussianBlur(scene, (0, 0), blur)
    scene += rng.normal(0, rng.uniform(0, 5), scene.shape)
    return to_uint8(scene)


def scenes(seed):
    """An endless stream of random scenes; the same seed gives the same stream."""
    rng = np.random.default_rng(seed)
    while True:
        yield make_scene(rng)


def training_crops(seed, n_crops, label, crop=CROP):
    """Random crops of fresh scenes and of label(scene): x, y of shape (n, crop, crop, 1).

    label runs on the whole scene before cropping, so crop borders hold true edges.
    """
    rng = np.random.default_rng([seed, 1])
    x = np.empty((n_crops, crop, crop, 1), np.uint8)
    y = np.empty((n_crops, crop, crop, 1), np.uint8)
    stream = scenes([seed, 0])
    for i in range(n_crops):
        if i % CROPS_PER_SCENE == 0:
            scene = next(stream)
            target = label(scene)
        top, left = rng.integers(0, SCENE_SIZE - crop + 1, 2)
        x[i, :, :, 0] = scene[top : top + crop, left : left + crop]
        y[i, :, :, 0] = target[top : top + crop, left : left + crop]
    return x.astype(np.float32), y.astype(np.float32)


def held_out_scenes(seed, n=HELD_OUT_SCENES):
    """Scenes from a seed stream that training never draws from."""
    rng = np.random.default_rng([seed, 2])
    return [make_scene(rng, HELD_OUT_SIZE) for _ in range(n)]
