"""The files keras.applications downloads: where Keras caches them, their checksums, and the
one line that tells a student offline what to fetch and where to put it."""

import hashlib
import json
import os
from pathlib import Path

from common.lesson import LessonError, first_line

# What keras.applications downloads for each model (tests compare this with what Keras asks
# get_file for). "download" is the size a student waits for: VGG16's is keras.io's published
# 528 MB; the others are parameters x 4 bytes (float32), measured with --weights none.
WEIGHT_FILES = {
    "VGG16": {
        "file": "vgg16_weights_tf_dim_ordering_tf_kernels.h5",
        "url": "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/",
        "download": "528 MB",
        "md5": "64373286793e3c8b2b4e3219cbf3544b",  # the checksum Keras checks the file against
    },
    "MobileNetV3Small": {
        "file": "weights_mobilenet_v3_small_224_1.0_float.h5",
        "url": "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v3/",
        "download": "about 10 MB",
        "md5": "8768d4c2e7dee89b9d02b2d03d65d862",
    },
    "EfficientNetB0": {
        "file": "efficientnetb0.h5",
        "url": "https://storage.googleapis.com/keras-applications/",
        "download": "about 21 MB",
        "md5": "902e53a9f72be733fc0bcb005b3ebbac",
    },
}
CLASS_INDEX = {
    "file": "imagenet_class_index.json",  # what decode_predictions downloads
    "url": "https://storage.googleapis.com/download.tensorflow.org/data/",
    "download": "35 KB",
}


def keras_models_dir():
    """The folder keras.utils.get_file caches weights in: $KERAS_HOME/models or ~/.keras/models."""
    if "KERAS_HOME" in os.environ:  # the same rule Keras applies when it is imported
        base = os.environ["KERAS_HOME"]
    else:
        home = os.path.expanduser("~")
        base = os.path.join(home if os.access(home, os.W_OK) else "/tmp", ".keras")
    base = os.path.expanduser(base)
    if os.path.isdir(base) and not os.access(base, os.W_OK):
        base = "/tmp/.keras"  # get_file's own fallback for a read-only folder
    return Path(base) / "models"


def needed_files(builder, trained):
    """The downloads a run needs: the model's weights (if trained and known) and the class names."""
    weights = WEIGHT_FILES.get(builder) if trained else None
    return ([weights] if weights else []) + [CLASS_INDEX]


def missing_files(needed, models_dir):
    """The entries of needed (file name, url, download size) that are not in the cache yet."""
    return [item for item in needed if not (models_dir / item["file"]).is_file()]


def file_md5(path):
    """The MD5 checksum of a file, read in 1 MB blocks (VGG16's weights are 528 MB)."""
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def how_to_get(missing, models_dir, why):
    """The one line that tells a student which files to fetch and where to put them."""
    files = " and ".join(
        f"{item['file']} ({item['download']}, from {item['url']}{item['file']})" for item in missing
    )
    them = "it" if len(missing) == 1 else "them"
    return (
        f"{why}: download {files} on a machine with internet and put {them} in {models_dir}/ "
        "(or set KERAS_HOME to a folder whose models/ holds them)"
    )


def check_weights_cache(builder, trained, offline):
    """The cached weights file's path (None: untrained or not listed); offline, check it first.

    With offline and trained weights, a missing file (the weights or the class names), or
    weights whose MD5 is not the one Keras expects, stop the run with one line. Untrained, an
    offline run needs nothing: without the class names it numbers the classes.
    """
    models_dir = keras_models_dir()
    spec = WEIGHT_FILES.get(builder) if trained else None
    if not offline or not trained:
        return models_dir / spec["file"] if spec else None
    missing = missing_files(needed_files(builder, trained), models_dir)
    if missing:
        raise LessonError(how_to_get(missing, models_dir, "--offline and not in the Keras cache"))
    if not spec:
        return None
    cached = models_dir / spec["file"]
    try:  # Keras quietly downloads again a file that fails its checksum; offline, say so
        intact = file_md5(cached) == spec["md5"]
    except OSError as error:
        raise LessonError(f"cannot read {cached}: {error.strerror}") from None
    if not intact:
        raise LessonError(
            f"{cached} is damaged or incomplete (its MD5 checksum is not the one Keras "
            f"expects); delete it and download it again from {spec['url']}{spec['file']}"
        )
    return cached


def download_error(error, builder, trained):
    """The one-line LessonError for an exception raised while Keras fetched the files."""
    if isinstance(error, LessonError):
        return error
    models_dir = keras_models_dir()
    needed = needed_files(builder, trained)
    still_missing = missing_files(needed, models_dir)
    damaged = "corrupted" in str(error)  # downloaded, but the checksum does not match
    if not (still_missing or damaged or "URL fetch failure" in str(error)):
        return LessonError(f"could not build {builder}: {first_line(error)}")
    reason = first_line(error, limit=None).split(" -- ")[-1].strip()[:80] or type(error).__name__
    return LessonError(
        how_to_get(still_missing or needed, models_dir, f"could not download ({reason})")
    )


def imagenet_class_names(offline=False):
    """ImageNet's 1000 classes as (WordNet id, readable label), downloaded once into the cache.

    Offline without the file (only an untrained run gets here so), the classes are numbered:
    (None, "class 0") ... (None, "class 999"), and one line says so.
    """
    import keras

    cached = keras_models_dir() / CLASS_INDEX["file"]
    if offline and not cached.is_file():
        print(
            f"note: {CLASS_INDEX['file']} is not in {cached.parent}/ and --offline downloads "
            "nothing: the classes are shown by number"
        )
        return [(None, f"class {i}") for i in range(1000)]
    path = keras.utils.get_file(
        CLASS_INDEX["file"], CLASS_INDEX["url"] + CLASS_INDEX["file"], cache_subdir="models"
    )
    return read_class_index(path)


def read_class_index(path):
    """ImageNet's class names from imagenet_class_index.json: index -> (WordNet id, label)."""
    try:
        table = json.loads(Path(path).read_text(encoding="utf-8"))
        names = [tuple(table[str(i)]) for i in range(1000)]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise LessonError(
            f"{path} is not ImageNet's class index ({type(error).__name__}); delete it and run "
            "again online to download it afresh"
        ) from None
    if any(len(entry) != 2 for entry in names):
        raise LessonError(f"{path} is not ImageNet's class index (entries must be [id, label])")
    return names
