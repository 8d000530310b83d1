"""Where the project keeps its outputs and models, whatever folder the student runs from."""

import json
import os
import tempfile
from pathlib import Path

from common.errors import LessonError

ROOT = Path(__file__).resolve().parent.parent
OUTPUTS = ROOT / "outputs"
MODELS = ROOT / "models"


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
