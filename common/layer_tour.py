"""The layer tour of lesson 4v: one layer run on a small tensor as one row (the call that
builds it, its shapes and parameters), and ten small images to run layers on.
"""

import copy
import inspect

import cv2
import keras
import numpy as np

from common.cifar10 import CLASS_NAMES, load_cifar10
from common.files import default_image_path, read_rgb
from common.lesson import LessonError
from common.training import parameter_rows

# Shown even where they have their default, as the slides write them: MaxPooling2D((2, 2)).
ALWAYS_SHOWN = ("pool_size",)
# What get_config holds that is not an argument a student writes.
NOT_ARGUMENTS = ("name", "trainable", "dtype")


def _without_names(value):
    """A config with every layer's name left out, so two layers built alike compare equal."""
    if isinstance(value, dict):
        return {k: _without_names(v) for k, v in value.items() if k != "name"}
    if isinstance(value, list | tuple):
        return [_without_names(v) for v in value]
    return value


def _value_text(value):
    """An argument as written in the call: a layer inside a wrapper as its own call."""
    if isinstance(value, dict) and "class_name" in value:
        if str(value.get("module") or "").startswith("keras.layers"):
            return call_text(keras.layers.deserialize(value))  # Bidirectional(LSTM(4))
        return f"{value['class_name']}(...)" if value.get("config") else f"{value['class_name']}()"
    return repr(value)


def call_text(layer):
    """The call that builds the layer: its required arguments, then every option that differs
    from its default, e.g. 'Conv2D(2, (3, 3), padding='same')' or 'Bidirectional(LSTM(4))'."""
    kind = type(layer).__name__
    try:
        config = layer.get_config()
    except Exception:  # e.g. a lambda, which Keras can't describe: say the call is not complete
        return f"{kind}(...)"
    parameters = [
        p
        for p in inspect.signature(type(layer).__init__).parameters.values()
        if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    required = [p.name for p in parameters if p.default is p.empty and p.name in config]
    try:  # the same layer with only its required arguments: every other option at its default
        default = {"name": "default", **{name: config[name] for name in required}}
        default = type(layer).from_config(copy.deepcopy(default)).get_config()
    except Exception:  # a layer that can't be rebuilt so: show the required arguments only
        default = config
    positional = required + [n for n in ALWAYS_SHOWN if n in config and n not in required]
    args = [_value_text(config[name]) for name in positional]
    for p in parameters:
        name = p.name
        if name in positional or name in NOT_ARGUMENTS or name not in config:
            continue
        if _without_names(config[name]) != _without_names(default.get(name)):
            args.append(f"{name}={_value_text(config[name])}")
    return f"{kind}({', '.join(args)})"


def shape_of(inputs):
    """The shape of a tensor, or the list of shapes of a list of tensors (as lists)."""
    if isinstance(inputs, list | tuple):
        return [list(np.shape(x)) for x in inputs]
    return list(np.shape(inputs))


def shape_text(shape):
    """'(1, 3)', or '(1, 3) + (1, 3)' for a layer that joins two tensors."""
    if shape and isinstance(shape[0], list):
        return " + ".join(str(tuple(s)) for s in shape)
    return str(tuple(shape))


def weights_formula(layer):
    """The count written as the sizes of the layer's weights: '3·16 + 4·16 + 16' for an LSTM."""
    return " + ".join("·".join(str(n) for n in w.shape) for w in layer.weights)


def parameter_formula(layer, inputs):
    """param_table's formula for the layer alone in a model; else its weights' sizes; else None."""
    if not layer.weights:
        return None
    many = isinstance(inputs, list | tuple)
    symbolic = [
        keras.Input(np.shape(x)[1:], dtype=keras.backend.standardize_dtype(x.dtype))
        for x in (inputs if many else [inputs])
    ]
    model = keras.Model(symbolic, layer(symbolic if many else symbolic[0]))
    formula = parameter_rows(model)[0]["formula"]
    return formula or weights_formula(layer)


def layer_row(layer, inputs, outputs, training=None):
    """What the JSON and the printout say about one layer run on inputs."""
    phase = {None: "", True: ", training", False: ", inference"}[training]
    return {
        "layer": type(layer).__name__,
        "call": call_text(layer) + phase,
        "input_shape": shape_of(inputs),
        "output_shape": shape_of(outputs),
        "params": int(layer.count_params()),  # always Keras' own count
        "params_formula": parameter_formula(layer, inputs),
    }


def print_layer_row(row, what, indent=" " * 4):
    """One line 'call  in -> out  params N = formula', and what the layer does under it."""
    formula = f" = {row['params_formula']}" if row["params_formula"] else ""
    print(
        f"{row['call']:35s} {shape_text(row['input_shape']):>16s} ->"
        f" {shape_text(row['output_shape']):16s} params {row['params']:>5,d}{formula}"
    )
    if what:
        print(f"{indent}{what}")


def add_row(rows, layer, inputs, outputs, what="", training=None):
    """Print the row of a layer just run on inputs, add it to rows; return outputs as NumPy."""
    rows.append(layer_row(layer, inputs, outputs, training))
    print_layer_row(rows[-1], what)
    return keras.ops.convert_to_numpy(outputs)


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
    """The first CIFAR-10 test image of each class, in class order, and the class names."""
    (_, _), (x_test, y_test) = load_cifar10(data_dir)
    labels = np.ravel(y_test)
    missing = [name for c, name in enumerate(CLASS_NAMES) if not np.any(labels == c)]
    if missing:
        raise LessonError(f"the CIFAR-10 test batch has no image of: {', '.join(missing)}")
    first = [int(np.argmax(labels == c)) for c in range(len(CLASS_NAMES))]
    return x_test[first], list(CLASS_NAMES)


def ten_images(data_dir=None):
    """(x, names, source): one CIFAR-10 test image per class from data_dir, else photo crops."""
    if data_dir:
        x, names = cifar_images(data_dir)
        return x, names, "CIFAR-10 test images, one of each class"
    x, names = photo_crops()
    return x, names, "crops of matplotlib's sample photos"
