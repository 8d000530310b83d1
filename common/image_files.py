"""Images a student names on the command line: files, folders and glob patterns."""

import glob
import os
import sys
from pathlib import Path

import numpy as np

from common.errors import LessonError
from common.images import default_image_path, read_rgb


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
