"""A tiny CIFAR-10 look-alike in the official folder format, so tests need no download."""

import pickle
from pathlib import Path

import numpy as np

from common.cifar10 import CLASS_NAMES

# One clearly different colour per class (R, G, B); flips and shifts don't change a colour,
# so the classes stay easy to learn even with augmentation on.
PALETTE = np.array(
    [
        [230, 30, 30],
        [30, 230, 30],
        [30, 30, 230],
        [230, 230, 30],
        [230, 30, 230],
        [30, 230, 230],
        [240, 240, 240],
        [20, 20, 20],
        [240, 140, 20],
        [120, 60, 200],
    ],
    dtype=np.float32,
)


def make_images(labels, rng, looks=None):
    """Images (N, 32, 32, 3) uint8: the class colour, a darker stripe per class, and noise.

    looks maps a class to the class whose look it takes ({5: 3}: dogs look exactly like cats),
    for data where no network can tell those classes apart.
    """
    labels = np.asarray([(looks or {}).get(int(label), int(label)) for label in labels], int)
    images = PALETTE[labels][:, None, None, :] * np.ones((1, 32, 32, 1), np.float32)
    for i, label in enumerate(labels):
        row = 3 * label  # a horizontal stripe whose height depends on the class
        images[i, row : row + 3] *= 0.5
    images += rng.normal(0.0, 25.0, images.shape)
    return np.clip(images, 0, 255).astype(np.uint8)


def _write_batch(path, images, labels, name):
    """Write one batch like the official archive: bytes keys, data (N, 3072) channel-first."""
    data = images.transpose(0, 3, 1, 2).reshape(len(images), 3072)  # (N, channel*row*column)
    batch = {
        b"batch_label": name.encode(),
        b"labels": [int(label) for label in labels],
        b"data": np.ascontiguousarray(data),
        b"filenames": [f"{i:05d}.png".encode() for i in range(len(labels))],
    }
    with open(path, "wb") as f:
        pickle.dump(batch, f, protocol=4)


def make_cifar_folder(
    path, n_train=400, n_test=200, n_batches=2, seed=0, looks=None, sorted_test=False
):
    """Write n_train images in n_batches data_batch_N files, n_test in test_batch; return path.

    looks: classes that look like others (see make_images); sorted_test: the test batch
    sorted by class, as some copies of CIFAR-10 are (its first images are all airplanes).
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    y_train = np.arange(n_train) % 10  # balanced classes
    rng.shuffle(y_train)
    y_test = np.arange(n_test) % 10
    rng.shuffle(y_test)
    if sorted_test:
        y_test = np.sort(y_test)
    x_train = make_images(y_train, rng, looks)
    x_test = make_images(y_test, rng, looks)
    for i, chunk in enumerate(np.array_split(np.arange(n_train), n_batches), start=1):
        _write_batch(path / f"data_batch_{i}", x_train[chunk], y_train[chunk], f"batch {i}")
    _write_batch(path / "test_batch", x_test, y_test, "test batch")
    meta = {
        b"label_names": [name.encode() for name in CLASS_NAMES],
        b"num_cases_per_batch": n_train // n_batches,
        b"num_vis": 3072,
    }
    with open(path / "batches.meta", "wb") as f:
        pickle.dump(meta, f, protocol=4)
    return path


if (
    __name__ == "__main__"
):  # python tests/cifar_data.py FOLDER [TRAIN TEST]: for a quick pages build
    import sys

    folder, *sizes = sys.argv[1:]
    n_train, n_test = map(int, sizes) if sizes else (2000, 500)
    print(make_cifar_folder(folder, n_train=n_train, n_test=n_test))
