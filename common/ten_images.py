"""Ten 32x32 colour images for the tensor lesson: crops of matplotlib's photos, or CIFAR-10."""

import cv2
import numpy as np

from common.cifar10 import CLASS_NAMES, load_cifar10
from common.errors import LessonError
from common.images import default_image_path, read_rgb

SIZE = 32  # CIFAR-10 size: small enough to print, big enough to see
# Nine square windows (x, y, side) of grace_hopper.jpg (512x600), each shrunk to 32x32.
CROPS = {
    "whole photo": (0, 44, 512),
    "face": (150, 130, 230),
    "eye": (195, 160, 75),
    "cap badge": (200, 20, 130),
    "stars": (0, 0, 140),
    "flag stripes": (10, 260, 120),
    "blue wall": (390, 140, 110),
    "ribbons": (320, 460, 140),  # (x, y, side): ends at the photo's bottom row, 600
    "name tag": (70, 460, 110),
}


def photo_crops():
    """Ten 32x32 RGB uint8 images cut from matplotlib's sample photos, and their names."""
    from matplotlib import cbook

    photo = read_rgb(default_image_path())  # (600, 512, 3) uint8 RGB
    images, names = [], []
    for name, (x, y, side) in CROPS.items():
        crop = photo[y : y + side, x : x + side]
        images.append(cv2.resize(crop, (SIZE, SIZE), interpolation=cv2.INTER_AREA))
        names.append(name)
    gift_path = cbook.get_sample_data("Minduka_Present_Blue_Pack.png", asfileobj=False)
    gift = cv2.imread(str(gift_path), cv2.IMREAD_UNCHANGED)  # BGRA, transparent background
    if gift is None or gift.ndim != 3 or gift.shape[2] != 4:
        raise LessonError(f"matplotlib's sample image {gift_path} is missing or broken")
    alpha = gift[:, :, 3:4].astype(np.float32) / 255.0
    gift = gift[:, :, :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)  # onto white
    gift = cv2.cvtColor(gift.round().astype(np.uint8), cv2.COLOR_BGR2RGB)
    images.append(cv2.resize(gift, (SIZE, SIZE), interpolation=cv2.INTER_AREA))
    names.append("gift box")
    return np.stack(images), names  # (10, 32, 32, 3) uint8


def cifar_images(data_dir):
    """The first ten CIFAR-10 test images (uint8) and their class names."""
    (_, _), (x_test, y_test) = load_cifar10(data_dir)
    if len(x_test) < 10:
        raise LessonError(f"the CIFAR-10 test batch holds {len(x_test)} images; ten are needed")
    return x_test[:10], [CLASS_NAMES[label] for label in y_test[:10]]


def ten_images(data_dir=None):
    """(x, names, source): CIFAR-10's first ten test images from data_dir, else photo crops."""
    if data_dir:
        x, names = cifar_images(data_dir)
        return x, names, f"CIFAR-10 test images ({data_dir})"
    x, names = photo_crops()
    return x, names, "crops of matplotlib's sample photos"
