# %% [markdown]
# # Lesson 7: ready-made models: classify a photo with a network trained on ImageNet
#
# **Slides:** „Hotové modely“ (ready-made models): VGG16 (500 MB) and VGG-BUDDY (50 MB).
#
# Someone else spent weeks of GPU time teaching a network the 1000 ImageNet classes.
# `keras.applications` gives you the architecture in one line and downloads the trained
# weights once, into the Keras cache (`~/.keras/models/`, or `$KERAS_HOME/models/`).
#
# VGG-BUDDY: nothing by that name exists today. `keras.applications` has no such model, and
# no published network goes by that name. In its place the lesson offers two small modern
# ImageNet models, MobileNetV3Small and EfficientNetB0; the run prints each one's size,
# counted from the model it built, and `docs/measurements.md` compares them with VGG16.
#
# **What you will see:**
#
# - the photo cut to the model's 224×224 input and preprocessed the way the model was trained;
# - the model's size (`model.count_params()`) and its input and output shapes;
# - the top-5 ImageNet labels with their probabilities, beside the input, in a figure.
#
# **Run it:** `python ker7_pretrained.py` (VGG16 on Grace Hopper's photo; the first run
# downloads the weights, 528 MB as keras.io publishes them), `--model mobilenetv3small`
# (a small modern model), `--image my_cat.jpg`, `--offline` (never download: only the Keras
# cache; with a file missing, one line names it, where to download it and the folder to put
# it in, and the run ends with exit code 2), `--weights none` (the same network untrained:
# it needs no weights file, and its labels mean nothing). All flags: `--help`. Or open this
# file as a notebook.

# %% [markdown]
# ## Settings
#
# `MODELS` lists the models `--model` offers: the `keras.applications` function that builds
# each, and the module whose `preprocess_input` prepares its input. Add a line to offer
# another (`"resnet50": ("ResNet50", "resnet50")`).

# %%
from common.lesson import lesson_settings, seed_value, setting

MODELS = {  # --model name: (the keras.applications function, its module's preprocess_input)
    "vgg16": ("VGG16", "vgg16"),  # RGB->BGR, minus ImageNet's mean colour
    "mobilenetv3small": ("MobileNetV3Small", "mobilenet_v3"),  # scales 0..255 inside the model
    "efficientnetb0": ("EfficientNetB0", "efficientnet"),  # scales and normalises inside, too
}

settings = lesson_settings(
    "Lesson 7: ready-made models: classify a photo with a network trained on ImageNet",
    keras=True,
    model=setting(
        "vgg16",
        "vgg16 as in the seminar (528 MB download) or a small modern one",
        choices=sorted(MODELS),
    ),
    weights=setting(
        "imagenet",
        "imagenet: the trained weights; none: untrained random weights, for testing the "
        "pipeline without a download (its labels are meaningless)",
        choices=("imagenet", "none"),
    ),
    offline=setting(False, "never download: use only files already in the Keras cache"),
    image=setting(None, "your own photo (any format OpenCV reads); none: Grace Hopper's photo"),
    seed=setting(0, "random seed: the same untrained weights with --weights none", type=seed_value),
)

# %% [markdown]
# ## Setup
#
# `start_keras` imports Keras with TensorFlow's start-up messages hidden (`--verbose` shows
# them) and says which backend runs it.

# %%
from common.keras_setup import start_keras

start_keras(settings.verbose)
import time
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np

from common.files import (
    center_square,
    default_image_path,
    prepare_output_dir,
    read_rgb,
    save_figure,
    show_figures,
    write_json,
)
from common.pretrained import (
    WEIGHT_FILES,
    check_weights_cache,
    download_error,
    imagenet_class_names,
)

output_dir = prepare_output_dir(settings.output_dir)

# %% [markdown]
# ## The photo, as the model wants it
#
# All three models were trained on 224×224 crops of ImageNet photos, so the largest centred
# square of the photo is cut out and resized to 224×224. Each model then wants its pixels
# prepared as in its training: its module's `preprocess_input` does it. VGG16's reorders the
# colours to BGR and subtracts ImageNet's mean colour; MobileNetV3 and EfficientNet leave
# 0..255 RGB, because they scale the pixels inside the model.

# %%
INPUT_SIZE = 224  # all three models were trained on 224x224 crops
MIN_SIDE = 16  # smaller than this and there is nothing left to classify


def model_input(name, square):
    """The batch the model expects: (1, 224, 224, 3) float32, through its own preprocess_input."""
    module = getattr(keras.applications, MODELS[name][1])
    batch = square[np.newaxis].astype("float32")  # (batch=1, height, width, channel), RGB 0..255
    return module.preprocess_input(batch)


def plot_photo(image, square):
    """The photo with its centre square outlined, and that square as the model's input."""
    height, width = image.shape[:2]
    side = min(height, width)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 4))
    left.imshow(image)
    corner = ((width - side) / 2, (height - side) / 2)
    left.add_patch(plt.Rectangle(corner, side, side, fill=False, color="yellow", linewidth=2))
    left.set_title(f"the photo, {width}x{height}: its centre square")
    right.imshow(square)
    right.set_title(f"the model's input, {square.shape[1]}x{square.shape[0]} RGB")
    for ax in (left, right):
        ax.axis("off")
    fig.tight_layout()
    return fig


image_path = Path(settings.image) if settings.image else default_image_path()
image = read_rgb(image_path, min_size=MIN_SIDE)  # (height, width, 3) uint8 RGB
square = center_square(image, INPUT_SIZE)  # (224, 224, 3): the middle of the photo
x = model_input(settings.model, square)  # (1, 224, 224, 3) float32
print(f"image: {image_path} ({image.shape[1]}x{image.shape[0]}), centre square -> {x.shape}")
module = MODELS[settings.model][1]
print(f"after {module}.preprocess_input: values {float(x.min()):.1f} .. {float(x.max()):.1f}")
photo_figure = save_figure(plot_photo(image, square), output_dir / "ker7_pretrained_photo.png")

# %% [markdown]
# ## The model: one line of `keras.applications`
#
# `keras.applications.VGG16(weights="imagenet")` builds the network and fetches its trained
# weights (once: later runs read them from the cache). `weights=None` builds the same
# network with random weights. With `--offline`, the cache is checked first: a missing or
# damaged file stops the run with one line that says what to download and where to put it.
# The size is counted from the model that was built.


# %%
def print_size(builder, model):
    """The model's size from what it is, and the slide's VGG-BUDDY beside the models here."""
    params = model.count_params()
    print(f"  {params:,} parameters = {params * 4 / 1e6:.1f} MB as float32")
    print(f"  input {model.input_shape} -> output {model.output_shape} (1000 class probabilities)")
    others = [
        f"{name} ({WEIGHT_FILES[b]['download'] if b in WEIGHT_FILES else 'size not listed'})"
        for name, (b, _) in MODELS.items()
        if b != builder
    ]
    print(
        'the slide "Hotové modely" also names VGG-BUDDY (50 MB): no network by that name '
        f"exists; the other models here: {', '.join(others)}"
    )


builder = MODELS[settings.model][0]
trained = settings.weights == "imagenet"
weights_file = check_weights_cache(builder, trained, settings.offline)  # offline: one line
keras.utils.set_random_seed(settings.seed)  # repeatable untrained weights with --weights none
try:
    build = getattr(keras.applications, builder)  # keras.applications.VGG16, ...
    model = build(weights="imagenet" if trained else None, input_shape=(INPUT_SIZE, INPUT_SIZE, 3))
except Exception as error:  # no network, a proxy, a half-downloaded or damaged file...
    raise download_error(error, builder, trained) from None
print(f"{builder} ({'ImageNet weights' if trained else 'UNTRAINED weights'}):")
print_size(builder, model)

# %% [markdown]
# ## Classify the photo
#
# The model gives 1000 probabilities; the five largest, with ImageNet's names for them, are
# the answer (what `keras.applications.imagenet_utils.decode_predictions` does, written out).
# The names come from `imagenet_class_index.json`, downloaded once into the same cache.

# %%
TOP_K = 5


def top_classes(probabilities, class_names, k=TOP_K):
    """[(class name, probability)] of the k most likely classes, best first."""
    best = np.argsort(probabilities)[::-1][:k]
    return [(class_names[i], float(probabilities[i])) for i in best]


try:
    class_names = imagenet_class_names(settings.offline)  # (WordNet id, label) per class
except Exception as error:
    raise download_error(error, builder, trained) from None
start = time.perf_counter()
# model(x) runs one batch directly; model.predict(x) would first build a graph for speed
# on many batches, which for a single photo costs more than it saves.
probabilities = keras.ops.convert_to_numpy(model(x, training=False))[0]  # (1000,), sum 1
seconds = time.perf_counter() - start
top = top_classes(probabilities, class_names)
print(f"top {TOP_K} ({seconds:.2f} s on this machine):")
for rank, ((wnid, label), p) in enumerate(top, start=1):
    print(f"  {rank}. {label:24s} {p:6.3f}   ({wnid or '-'})")
if not trained:
    print("  (untrained weights: these labels are noise; drop --weights none for real ones)")

# %% [markdown]
# ## Show it
#
# The 224×224 input the network saw, beside a bar chart of its top classes.


# %%
def plot_image_predictions(square, top, title):
    """The 224x224 input the network saw beside a bar chart of its top classes."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), width_ratios=(1, 1.3))
    left.imshow(square)
    left.set_title(f"model input: {square.shape[0]}x{square.shape[1]} RGB")
    left.axis("off")
    labels = [label.replace("_", " ") for (_, label), _ in top][::-1]
    bars = right.barh(labels, [p for _, p in top][::-1], color="tab:blue")
    right.bar_label(bars, fmt=" %.3f")
    right.set_xlim(0, 1)
    right.set_xlabel("probability")
    right.set_title(f"top {len(top)} of 1000 ImageNet classes")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


params = model.count_params()
state = "ImageNet weights" if trained else "UNTRAINED weights: labels are meaningless"
title = f"{builder}, {params / 1e6:.1f} M parameters ({state})"
figure = save_figure(plot_image_predictions(square, top, title), output_dir / "ker7_pretrained.png")

# %% [markdown]
# ## Save the numbers


# %%
def file_size(path):
    """The size of a file in bytes, or None if there is no such file."""
    return path.stat().st_size if path and path.is_file() else None


results = {
    "model": builder,
    "weights": settings.weights,
    "image": str(image_path),
    "input_shape": list(x.shape),
    "params": int(params),
    "float32_megabytes": round(params * 4 / 1e6, 1),
    "weights_file": str(weights_file) if weights_file else None,  # None: untrained
    "weights_file_bytes": file_size(weights_file),
    "predict_seconds": round(seconds, 3),
    "probability_sum": float(probabilities.sum()),
    f"top{TOP_K}": [{"wordnet_id": w, "label": lab, "probability": p} for (w, lab), p in top],
    "figure": str(figure),
    "photo_figure": str(photo_figure),
}
print(f"results: {write_json(output_dir / 'ker7_pretrained.json', results)}")
show_figures(settings.no_show)
