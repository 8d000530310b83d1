"""Files: where outputs and models go, writing without half-written files, figures, images.

Nothing a student already has is replaced by a broken file: everything is written to a
temporary file in the same folder first, then moved into place with os.replace.
"""

import glob
import io
import json
import os
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from common.lesson import ROOT, LessonError, in_notebook

OUTPUTS = ROOT / "outputs"
MODELS = ROOT / "models"
DEFAULT_MAX_SIDE = 1024  # a 24-megapixel photo is shrunk to this, so lessons stay fast

cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # no WARN lines on stderr


# --- Output folders and safe writes ---


def prepare_output_dir(path):
    """Create the folder if needed and check that it can be written to."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as error:
        reason = error.strerror or error
        raise LessonError(f"cannot write to output folder {path}: {reason}") from None
    return path


def atomic_write(path, write):
    """Call write(tmp_path) on a temporary file beside path, then move it into place."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes files private (0600); use the usual mode
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def write_json(path, data):
    """Write the lesson's key numbers as JSON, atomically."""

    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2)
            f.write("\n")

    return atomic_write(path, write)


# --- Figures ---

# One style for every lesson's figures: nothing smaller than 9 points, maths in mathtext.
# A lesson applies it with plt.style.use(FIGURE_STYLE) in its setup cell.
FIGURE_STYLE = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "legend.title_fontsize": 9,
    "figure.titlesize": 12,
    "axes.grid": False,
    "image.interpolation": "nearest",  # pixels stay pixels
}
SMALLEST_FONT = 9  # points; the tests check every figure's text against it
# Right and wrong: a mark as well as a colour, since red and green look alike to many.
# The colours are Okabe and Ito's bluish green and vermillion, told apart by most readers.
RIGHT = {"mark": "✓", "color": "#009E73"}
WRONG = {"mark": "✗", "color": "#D55E00"}


def verdict(right):
    """The mark and colour for a right (True) or wrong (False) answer."""
    return RIGHT if right else WRONG


def can_show(no_show):
    """True when a window can open: a display exists and --no-show is absent (not in Jupyter,
    which shows every figure under its cell)."""
    if no_show or in_notebook() or os.environ.get("MPLBACKEND", "").lower() == "agg":
        return False
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def save_figure(fig, path, dpi=110):
    """Save fig to path through a temporary file, and print where it went."""
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=dpi, bbox_inches="tight"))
    print(f"figure: {path}")
    return path


def show_figures(no_show):
    """Open the figure windows when a display exists and --no-show is absent (a notebook
    has shown each figure under its cell already)."""
    if can_show(no_show):
        import matplotlib.pyplot as plt

        plt.show()


# --- Reading images, with errors a student can act on ---


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


def _png_is_complete(data):
    """False for a PNG that ends before its IEND chunk (OpenCV refuses it, and libpng prints a
    line of its own on stderr while it does); True for anything else."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return True
    at = 8
    while at + 8 <= len(data):  # each chunk: length (4 bytes), type (4), data, CRC (4)
        length, kind = int.from_bytes(data[at : at + 4], "big"), data[at + 4 : at + 8]
        at += 12 + length
        if at > len(data):
            return False
        if kind == b"IEND":
            return True
    return False


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
    pixels = cv2.imdecode(np.frombuffer(data, np.uint8), flags) if _png_is_complete(data) else None
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
    if pixels.dtype.kind == "f" and not np.isfinite(pixels).any():  # a float TIFF of NaNs
        raise LessonError(f"{path} has no pixel values that are numbers (all NaN or infinite)")
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


# --- Images a student names on the command line: files, folders and glob patterns ---


def collect_image_paths(inputs):
    """Expand files, folders and globs; return [(path, skip_if_not_an_image)]."""
    found = []
    for text in inputs:
        path = Path(text).expanduser()
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
            if not files:
                raise LessonError(f"the folder {path} holds no files")
            found += [(p, True) for p in files]
        elif path.exists():
            found.append((path, False))
        elif glob.has_magic(text):
            matches = sorted(Path(p) for p in glob.glob(os.path.expanduser(text), recursive=True))
            matches = [p for p in matches if p.is_file()]
            if not matches:
                raise LessonError(f"no files match {text}")
            found += [(p, True) for p in matches]
        else:
            raise LessonError(f"no such file or folder: {path}")
    unique = {}
    for path, skippable in found:
        unique.setdefault(path.resolve(), (path, skippable))
    return list(unique.values())


def read_image_files(inputs, prepare, class_names):
    """(images, names, labels): each file through prepare(rgb); non-images in folders skipped.

    A file in a folder named after a class ("photos/cat/x.jpg") gets that class's index as
    its label; other labels are None. A skipped file gets one warning line on stderr.
    """
    images, names, labels, skipped = [], [], [], []
    for path, skippable in collect_image_paths(inputs):
        try:
            image = read_rgb(path)
        except LessonError as error:
            if not skippable:
                raise
            skipped.append(str(error))
            continue
        images.append(prepare(image))
        names.append(str(path))
        parent = path.parent.name.lower()
        labels.append(class_names.index(parent) if parent in class_names else None)
    if not images:
        raise LessonError(f"no image OpenCV can read among the {len(skipped)} file(s) given")
    for reason in skipped:
        print(f"warning: skipping a file: {reason}", file=sys.stderr)  # one line per file
    return np.stack(images), names, labels


def sample_photos(prepare):
    """(images, names, labels) of matplotlib's sample photos, which work offline; no labels."""
    folder = default_image_path().parent
    paths = [folder / n for n in ("grace_hopper.jpg", "Minduka_Present_Blue_Pack.png")]
    paths = [p for p in paths if p.exists()]
    images = np.stack([prepare(read_rgb(p)) for p in paths])
    return images, [p.name for p in paths], [None] * len(paths)
