"""The files keras.applications downloads: found in the Keras cache, checked, and named in one
line when they are missing, for any model Keras offers.

Which file a model needs is not listed here: Keras knows it. `keras_downloads` watches the
files a model's builder asks Keras' get_file for (its name, URL and checksum) while it builds.
Offline, a file that is not in the cache (or fails its checksum) stops the run with one line
that names it, says where to download it and which folder to put it in; online, Keras
downloads it, and a failed download is one line that names it too.
"""

import contextlib
import hashlib
import json
import os
import urllib.parse
from pathlib import Path

from common.lesson import LessonError, first_line

CLASS_INDEX = {  # ImageNet's class names, which decode_predictions downloads
    "file": "imagenet_class_index.json",
    "url": "https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json",
}


def keras_cache_dir():
    """The folder keras.utils.get_file caches in: $KERAS_HOME, or ~/.keras (else /tmp/.keras)."""
    if "KERAS_HOME" in os.environ:  # the same rule Keras applies when it is imported
        base = os.environ["KERAS_HOME"]
    else:
        home = os.path.expanduser("~")
        base = os.path.join(home if os.access(home, os.W_OK) else "/tmp", ".keras")
    base = os.path.expanduser(base)
    if os.path.isdir(base) and not os.access(base, os.W_OK):
        base = "/tmp/.keras"  # get_file's own fallback for a read-only folder
    return Path(base)


def keras_models_dir():
    """Where keras.applications keeps its weights: the Keras cache's models/ folder."""
    return keras_cache_dir() / "models"


def file_hash(path, algorithm="md5"):
    """The checksum of a file (md5 or sha256), read in 1 MB blocks (VGG16's weights: 528 MB)."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def how_to_get(files, folder, why):
    """The one line that tells a student which files to fetch and where to put them."""
    listed = " and ".join(f"{item['file']} (from {item['url']})" for item in files)
    them = "it" if len(files) == 1 else "them"
    return (
        f"{why}: download {listed} on a machine with internet and put {them} in {folder}/ "
        "(or set KERAS_HOME to a folder whose models/ holds them)"
    )


def cached_file(item, folder):
    """The path of a downloadable file in the cache, checked against its checksum; None if absent.

    A file whose checksum is not the one Keras expects stops the run: Keras would quietly
    download it again, which offline it can't.
    """
    path = Path(folder) / item["file"]
    if not path.is_file():
        return None
    expected = item.get("hash")
    if expected:
        algorithm = "sha256" if len(expected) == 64 else "md5"  # Keras' "auto" rule
        try:
            intact = file_hash(path, algorithm) == expected
        except OSError as error:
            raise LessonError(f"cannot read {path}: {error.strerror}") from None
        if not intact:
            raise LessonError(
                f"{path} is damaged or incomplete (its {algorithm} checksum is not the one "
                f"Keras expects); delete it and download it again from {item['url']}"
            )
    return path


@contextlib.contextmanager
def keras_downloads(offline, then=()):
    """Within the block, every file Keras' get_file is asked for is recorded (the list this
    yields: file, url, hash, path) and, offline, taken from the cache or refused in one line.

    then: files the run needs later (the class index), named in the same line when they are
    missing too, so that one trip to a machine with internet fetches everything. Any other
    error while the block builds a model is one line as well.
    """
    from keras.src.utils import file_utils  # the module keras.applications calls get_file in

    original = file_utils.get_file
    asked = []

    def get_file(fname=None, origin=None, *args, cache_subdir="datasets", **kwargs):
        name = fname or os.path.basename(urllib.parse.urlsplit(origin).path)
        hash_ = kwargs.get("file_hash") or kwargs.get("md5_hash")
        item = {"file": name, "url": origin, "hash": hash_}
        kwargs["cache_dir"] = str(kwargs.get("cache_dir") or keras_cache_dir())  # as said here
        folder = Path(kwargs["cache_dir"]).expanduser() / cache_subdir
        asked.append(item)
        if offline:
            path = cached_file(item, folder)
            if path is None:
                later = [x for x in then if not (keras_models_dir() / x["file"]).is_file()]
                missing = [item, *later]
                raise LessonError(
                    how_to_get(missing, folder, "--offline and not in the Keras cache")
                )
        else:
            try:
                path = original(fname, origin, *args, cache_subdir=cache_subdir, **kwargs)
            except Exception as error:  # no network, a proxy, a bad checksum...
                reason = first_line(error, limit=None).split(" -- ")[-1].strip()[:80]
                raise LessonError(
                    how_to_get([item], folder, f"could not download ({reason or error!r})")
                ) from None
        item["path"] = Path(path)
        return str(path)

    file_utils.get_file = get_file
    try:
        yield asked
    except LessonError:
        raise
    except Exception as error:  # a weights file Keras can't read, an edited builder call...
        raise LessonError(f"could not build the model: {first_line(error)}") from None
    finally:
        file_utils.get_file = original


def imagenet_class_names(offline=False):
    """ImageNet's 1000 classes as (WordNet id, readable label), downloaded once into the cache.

    Offline without the file, the classes are numbered: (None, "class 0") ... (None,
    "class 999"), and one note says what to download to name them.
    """
    import keras

    folder = keras_models_dir()
    if (folder / CLASS_INDEX["file"]).is_file():
        return read_class_index(folder / CLASS_INDEX["file"])
    if offline:
        print(
            f"note: --offline and {CLASS_INDEX['file']} is not in {folder}/, so the classes are "
            f"shown by number; to name them, download it from {CLASS_INDEX['url']} and put it there"
        )
        return [(None, f"class {i}") for i in range(1000)]
    try:
        path = keras.utils.get_file(
            CLASS_INDEX["file"], CLASS_INDEX["url"], cache_dir=folder.parent, cache_subdir="models"
        )
    except Exception as error:  # no network, a proxy...
        reason = first_line(error, limit=None).split(" -- ")[-1].strip()[:80]
        raise LessonError(
            how_to_get([CLASS_INDEX], folder, f"could not download ({reason})")
        ) from None
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
