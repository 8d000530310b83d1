"""Reading images with errors a student can act on, and test images with known edges."""

import io
from pathlib import Path

import cv2
import numpy as np

from common.errors import LessonError

cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # no WARN lines on stderr

DEFAULT_MAX_SIDE = 1024  # a 24-megapixel photo is shrunk to this, so lessons stay fast


def default_image_path():
    """matplotlib's sample photo of Grace Hopper, shipped with matplotlib (works offline)."""
    from matplotlib import cbook

    return Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))


def _check_not_truncated(data, path):
    """OpenCV decodes a cut-off JPEG without complaint; Pillow notices, so ask it."""
    if not data.startswith(b"\xff\xd8"):
        return
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
    except OSError as error:
        raise LessonError(f"{path} is a broken or truncated JPEG ({error})") from None


def _to_gray_0_255(pixels):
    """Any OpenCV image (8/16 bit, float, gray/BGR/BGRA) as float32 grayscale in 0..255."""
    if pixels.ndim == 3 and pixels.shape[2] == 4:
        pixels = pixels[:, :, :3]
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    if pixels.dtype == np.uint16:
        pixels = pixels.astype(np.float32) / 257.0
    elif pixels.dtype != np.uint8:
        pixels = pixels.astype(np.float32)
        top = float(np.nanmax(pixels)) if pixels.size else 0.0
        pixels = np.nan_to_num(pixels) * (255.0 if top <= 1.0 else 255.0 / top)
    pixels = pixels.astype(np.float32)
    if pixels.ndim == 3:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_BGR2GRAY)
    return pixels


def _decode(path, flags):
    """Read and decode an image file; LessonError with one clear line if that fails."""
    path = default_image_path() if path is None else Path(path)
    if not path.exists():
        raise LessonError(f"no such file: {path}")
    if path.is_dir():
        raise LessonError(f"{path} is a folder, not an image file")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise LessonError(f"cannot read {path}: {error.strerror or error}") from None
    if not data:
        raise LessonError(f"{path} is empty (0 bytes)")
    pixels = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if pixels is None or pixels.size == 0:
        raise LessonError(f"{path} is not an image OpenCV can read (or the file is broken)")
    _check_not_truncated(data, path)
    return path, pixels


def _check_size(path, shape, min_size, why):
    """Refuse an image smaller than min_size pixels on a side."""
    height, width = shape[:2]
    if min(height, width) < min_size:
        raise LessonError(f"{path} is {width}x{height} pixels, {why} ({min_size}x{min_size})")


def read_gray(path=None, *, min_size=3, max_side=DEFAULT_MAX_SIDE):
    """Read an image as float32 grayscale 0..255, shape (height, width); default photo if None.

    Raises LessonError with one clear line for anything a student might pass by mistake.
    Returns (image, note) where note says how the image was shrunk, or is None.
    """
    path, pixels = _decode(path, cv2.IMREAD_UNCHANGED)
    image = _to_gray_0_255(pixels)
    _check_size(path, image.shape, min_size, "smaller than the kernel")
    height, width = image.shape
    note = None
    if max_side and max(height, width) > max_side:
        scale = max_side / max(height, width)
        size = (max(min_size, round(width * scale)), max(min_size, round(height * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        note = f"shrunk {width}x{height} to {size[0]}x{size[1]} to keep the lesson fast"
    return image, note


def read_rgb(path=None, *, min_size=1):
    """Read an image as uint8 RGB, shape (height, width, 3); default photo if None.

    OpenCV's IMREAD_COLOR turns gray, 16-bit and alpha images into 8-bit colour and applies
    the EXIF rotation. Raises LessonError like read_gray.
    """
    path, pixels = _decode(path, cv2.IMREAD_COLOR)
    _check_size(path, pixels.shape, min_size, "too small")
    return cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)  # OpenCV reads BGR; Keras models want RGB


def center_square(image, size):
    """Cut the largest centred square and resize it to size x size (area averaging to shrink)."""
    height, width = image.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = image[top : top + side, left : left + side]
    shrink = side >= size
    return cv2.resize(
        square, (size, size), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC
    )


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
