"""Test images with known edges, small enough to check by hand."""

import cv2
import numpy as np


def synthetic_image(size=128, seed=0):
    """A test scene with known edges: a gradient, a rectangle, a circle and a little noise.

    Returns (image, edges): image is float32 0..255 of shape (size, size); edges holds the
    rectangle's left and right columns and top and bottom rows, where its edges are.
    """
    rng = np.random.default_rng(seed)
    ramp = np.linspace(20.0, 60.0, size, dtype=np.float32)
    image = np.tile(ramp, (size, 1))  # a soft horizontal gradient: weak, even edges
    top, bottom = size // 4, size // 2
    left, right = size // 8, size // 2
    image[top:bottom, left:right] = 200.0  # rows top..bottom-1, columns left..right-1
    cv2.circle(image, (3 * size // 4, 3 * size // 4), size // 8, 140.0, thickness=-1)
    image += rng.normal(0.0, 2.0, image.shape).astype(np.float32)
    edges = {"left": left, "right": right, "top": top, "bottom": bottom}
    return np.clip(image, 0, 255).astype(np.float32), edges


def step_image(column, rising=True, size=16):
    """Dark left half, bright right half (or the reverse), the step at `column`."""
    image = np.zeros((size, size), np.float32)
    image[:, column:] = 255.0
    return image if rising else 255.0 - image
