"""The CIFAR-10 loader: Keras' download, or a local `cifar-10-batches-py` folder, read safely."""

import os
import pickle
import re
from pathlib import Path

import numpy as np

from common.lesson import ROOT, LessonError, first_line

CLASS_NAMES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
ARCHIVE_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
FOLDER_NAME = "cifar-10-batches-py"
ENV_VAR = "CIFAR10_DIR"
LOCAL_FOLDER = ROOT / "data" / FOLDER_NAME  # used with no flag when an instructor copied it in
HOW_TO_GET = (
    f"download {ARCHIVE_URL} (170 MB) on a machine with internet, extract it, and put the "
    f"{FOLDER_NAME} folder in data/ (or pass it with --data-dir DIR, or set {ENV_VAR}=DIR)"
)

# A CIFAR batch is a dict of bytes, lists and one numpy array. Rebuilding that array needs
# exactly these globals; a batch a student builds may also hold numpy integers (scalar) and,
# pickled with protocol 2, bytes (_codecs.encode turns text into bytes). Every other global
# (os.system, builtins.eval, ...) is refused, so a tampered file cannot run code. Both
# numpy<2 and numpy>=2 module names are listed.
_ALLOWED_GLOBALS = frozenset(
    {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("_codecs", "encode"),
    }
)
_BATCH_NAME = re.compile(r"data_batch_(\d+)")


class _Refused(pickle.UnpicklingError):
    """The file asked for a global that a CIFAR batch never needs."""


class _RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that can only rebuild numpy arrays."""

    def find_class(self, module, name):
        """Allow the numpy array globals, refuse everything else."""
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise _Refused(f"refusing to load the global {module}.{name}")


def add_data_flags(parser):
    """Add --data-dir to an argparse parser."""
    parser.add_argument(
        "--data-dir",
        default=None,
        help=f"a local {FOLDER_NAME} folder (the extracted official archive), for offline "
        f"labs; the environment variable {ENV_VAR} does the same (default: data/{FOLDER_NAME} "
        "if it is there, else download with keras.datasets.cifar10, 170 MB once)",
    )
    return parser


def resolve_data_dir(data_dir):
    """The folder to read: --data-dir, else $CIFAR10_DIR, else data/cifar-10-batches-py if it
    is there, else None (download)."""
    chosen = data_dir or os.environ.get(ENV_VAR) or None
    if chosen:
        return Path(chosen).expanduser()
    return LOCAL_FOLDER if LOCAL_FOLDER.is_dir() else None


def _find_batches_folder(path):
    """Accept the cifar-10-batches-py folder itself or a folder that holds it."""
    if not path.exists():
        raise LessonError(f"no such CIFAR-10 folder: {path} ({HOW_TO_GET})")
    if not path.is_dir():
        raise LessonError(f"{path} is a file; --data-dir needs the {FOLDER_NAME} folder")
    if not list(path.glob("data_batch_*")) and (path / FOLDER_NAME).is_dir():
        return path / FOLDER_NAME
    return path


def read_batch(path):
    """Read one batch file safely: returns (images uint8 (N, 32, 32, 3), labels int64 (N,))."""
    try:
        with open(path, "rb") as f:
            batch = _RestrictedUnpickler(f, encoding="bytes").load()
    except _Refused as error:
        message = f"{path}: {error}; the file is not a plain CIFAR-10 batch (tampered?)"
        raise LessonError(message) from None
    except OSError as error:
        raise LessonError(f"cannot read {path}: {error.strerror or error}") from None
    except Exception as error:  # truncated or garbage files raise many kinds of errors
        name = type(error).__name__
        message = f"{path} is broken or not a CIFAR-10 batch file ({name}: {error})"
        raise LessonError(message) from None
    if not isinstance(batch, dict):
        raise LessonError(f"{path} is not a CIFAR-10 batch file (no dictionary inside)")
    batch = {k.decode("utf-8") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    data, labels = batch.get("data"), batch.get("labels")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2:
        raise LessonError(f"{path} has no uint8 'data' array of shape (N, 3072)")
    if data.shape[1] != 3 * 32 * 32:
        raise LessonError(f"{path}: 'data' has {data.shape[1]} values per image, not 3072")
    try:
        labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    except (TypeError, ValueError):
        raise LessonError(f"{path} has no list of integer 'labels'") from None
    if len(labels) != len(data):
        raise LessonError(f"{path} has {len(data)} images but {len(labels)} labels")
    if len(labels) and (labels.min() < 0 or labels.max() >= len(CLASS_NAMES)):
        raise LessonError(f"{path} has labels outside 0..9")
    # Stored as (N, 3072) = (N, channel, row, column); Keras wants (N, row, column, channel).
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


def load_cifar10_folder(path):
    """Read every data_batch_N and the test_batch from a local cifar-10-batches-py folder."""
    folder = _find_batches_folder(Path(path))
    names = [p.name for p in folder.iterdir() if _BATCH_NAME.fullmatch(p.name)]
    names.sort(key=lambda name: int(_BATCH_NAME.fullmatch(name).group(1)))
    if not names:
        raise LessonError(f"{folder} has no data_batch_N files; is it the {FOLDER_NAME} folder?")
    if not (folder / "test_batch").is_file():
        raise LessonError(f"{folder} has no test_batch file")
    parts = [read_batch(folder / name) for name in names]
    x_train = np.concatenate([images for images, _ in parts])
    y_train = np.concatenate([labels for _, labels in parts])
    x_test, y_test = read_batch(folder / "test_batch")
    if len(x_train) == 0 or len(x_test) == 0:
        raise LessonError(f"{folder} holds no images")
    return (x_train, y_train), (x_test, y_test)


def load_cifar10(data_dir=None):
    """CIFAR-10 as ((x_train, y_train), (x_test, y_test)): uint8 (N, 32, 32, 3), int64 (N,).

    data_dir (or $CIFAR10_DIR) names a local folder; without one, Keras downloads the archive.
    """
    folder = resolve_data_dir(data_dir)
    if folder is not None:
        return load_cifar10_folder(folder)
    import keras

    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()
    except Exception as error:  # no network, a proxy, a half-downloaded file, a bad hash...
        # Keras' "URL fetch failure on URL: None -- why": keep the why.
        reason = first_line(error, limit=None).rsplit(" -- ", 1)[-1]
        raise LessonError(f"could not download CIFAR-10 ({reason[:120]}); {HOW_TO_GET}") from None
    return (x_train, y_train.reshape(-1).astype(np.int64)), (
        x_test,
        y_test.reshape(-1).astype(np.int64),
    )
