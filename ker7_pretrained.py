# %% [markdown]
# # Lesson 7: ready-made models: classify a photo with a network trained on ImageNet
#
# **Slides:** „Hotové modely“ (ready-made models): VGG16 (500 MB) and VGG-BUDDY (50 MB).
#
# Someone else spent weeks of GPU time teaching a network the 1000 ImageNet classes.
# `keras.applications` gives you the architecture in one line and downloads the trained
# weights once, into the Keras cache (`~/.keras/models/`, or `$KERAS_HOME/models/`).
#
# **VGG-BUDDY** was `keras-vgg-buddy` (github.com/awentzonline/keras-vgg-buddy), a small
# library whose download held VGG16's convolutional layers only, "cutting it down to 10% of the
# full size": the part of VGG16 that turns a photo into features, without the three Dense
# layers that turn those features into ImageNet's classes. It was used for what the features
# are good for (neural style transfer, image analogies, a classifier of your own on top).
# Today the same network is one argument away: `keras.applications.VGG16(include_top=False)`,
# `--model vgg16-notop` here. It gives no classes; it gives the photo's **feature map**, and
# the lesson shows its shape and a few of its channels. Two small modern classifiers,
# MobileNetV3Small and EfficientNetB0, are here too; each run prints the size of the model it
# built, and `docs/measurements.md` compares them with VGG16.
#
# **What you will see:**
#
# - the photo cut to the model's 224×224 input and preprocessed the way the model was trained,
#   with the shapes on the way;
# - the model's size (`model.count_params()`) and its input and output shapes;
# - a classifier's top-5 ImageNet classes beside the input, as bars; or, for VGG16 without
#   its classifier, the feature map: its shape and its most active channels as images.
#
# **Run it:** `python ker7_pretrained.py` (VGG16 on Grace Hopper's photo; the first run
# downloads the weights once), `--model vgg16-notop` (the slide's VGG-BUDDY),
# `--model mobilenetv3small` (a small modern model), `--image my_cat.jpg`, `--offline` (never
# download: only the Keras cache; with a file missing, one line names it, where to download
# it and the folder to put it in, and the run ends with exit code 2), `--weights none` (the
# same network untrained: it needs no weights file, and its answers mean nothing). All flags:
# `--help`. Or open this file as a notebook.

# %% [markdown]
# ## Settings
#
# `MODELS` lists the models `--model` offers: the `keras.applications` function that builds
# each, the module whose `preprocess_input` prepares its input, and whether it keeps its
# classifier (`include_top`). Add a line to offer another
# (`"resnet50": ("ResNet50", "resnet50", True)`): the file its weights need is whatever Keras
# asks for, so `--offline` names it too.

# %%
from common.lesson import lesson_settings, seed_value, setting

MODELS = {  # --model name: (keras.applications function, its module, include_top)
    "vgg16": ("VGG16", "vgg16", True),  # the slide's VGG16: RGB->BGR, minus ImageNet's mean
    "vgg16-notop": ("VGG16", "vgg16", False),  # the slide's VGG-BUDDY: the conv layers only
    "mobilenetv3small": ("MobileNetV3Small", "mobilenet_v3", True),  # scales 0..255 inside
    "efficientnetb0": ("EfficientNetB0", "efficientnet", True),  # scales and normalises inside
}

settings = lesson_settings(
    "Lesson 7: ready-made models: classify a photo with a network trained on ImageNet",
    keras=True,
    model=setting(
        "vgg16",
        "vgg16 as in the seminar; vgg16-notop, the slide's VGG-BUDDY (VGG16 without its "
        "classifier: a feature map, no classes); or a small modern classifier",
        choices=sorted(MODELS),
    ),
    weights=setting(
        "imagenet",
        "imagenet: the trained weights; none: untrained random weights, for testing the "
        "pipeline without a download (its answers are meaningless)",
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
    FIGURE_STYLE,
    center_square,
    default_image_path,
    prepare_output_dir,
    read_rgb,
    save_figure,
    show_figures,
    write_json,
)
from common.pretrained import CLASS_INDEX, imagenet_class_names, keras_downloads

plt.style.use(FIGURE_STYLE)
output_dir = prepare_output_dir(settings.output_dir)

# %% [markdown]
# ## The photo, as the model wants it
#
# All the models here were trained on 224×224 crops of ImageNet photos, so the largest centred
# square of the photo is cut out and resized to 224×224. Then comes the tensor Keras works on,
# the slides' "batch / data / channel": (batch, height, width, channels), here
# (1, 224, 224, 3). Each model wants its pixels prepared as in its training: its module's
# `preprocess_input` does it. VGG16's reorders the colours to BGR and subtracts ImageNet's
# mean colour; MobileNetV3 and EfficientNet leave 0..255 RGB, because they scale the pixels
# inside the model. The figure shows each step, the last one as the model receives it.

# %%
INPUT_SIZE = 224  # all the models here were trained on 224x224 crops
MIN_SIDE = 16  # smaller than this and there is nothing left to classify


def model_input(name, square):
    """The batch the model expects: (1, 224, 224, 3) float32, through its own preprocess_input."""
    module = getattr(keras.applications, MODELS[name][1])
    batch = square[np.newaxis].astype("float32")  # (batch=1, height, width, channels), RGB
    return module.preprocess_input(batch)


def plot_photo(image, square, x, module):
    """The photo with its centre square, that square, and x as preprocess_input left it."""
    height, width = image.shape[:2]
    side = min(height, width)
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.6))
    axes[0].imshow(image)
    corner = ((width - side) / 2, (height - side) / 2)
    axes[0].add_patch(plt.Rectangle(corner, side, side, fill=False, color="yellow", linewidth=2))
    axes[0].set_title(f"the photo, {width}x{height}:\nits centre square, {side}x{side}")
    axes[1].imshow(square)
    axes[1].set_title(f"resized: {square.shape[1]}x{square.shape[0]} RGB, 0..255")
    pixels = np.asarray(x[0], dtype=np.float32)
    low, high = float(pixels.min()), float(pixels.max())
    if np.array_equal(pixels, square.astype(np.float32)):
        said = "unchanged: the model\nscales the pixels inside"
    else:
        said = f"values {low:.0f}..{high:.0f}, shown as RGB:\nchannel order and colours change"
    axes[2].imshow((pixels - low) / max(high - low, 1e-6))  # only stretched to 0..1 for display
    axes[2].set_title(f"x = {module}.preprocess_input,\n{tuple(x.shape)}: {said}")
    for ax in axes:
        ax.axis("off")
    fig.suptitle("The photo as the model receives it: (batch, height, width, channels)")
    fig.tight_layout()
    return fig


image_path = Path(settings.image) if settings.image else default_image_path()
image = read_rgb(image_path, min_size=MIN_SIDE)  # (height, width, 3) uint8 RGB
square = center_square(image, INPUT_SIZE)  # (224, 224, 3): the middle of the photo
x = model_input(settings.model, square)  # (1, 224, 224, 3) float32
print(f"image: {image_path} ({image.shape[1]}x{image.shape[0]}), centre square -> {x.shape}")
print(f"  x: {x.shape} = (batch, height, width, channels), the slides' batch / data / channel")
module = MODELS[settings.model][1]
print(f"after {module}.preprocess_input: values {float(x.min()):.1f} .. {float(x.max()):.1f}")
photo_figure = save_figure(
    plot_photo(image, square, x, module), output_dir / "ker7_pretrained_photo.png"
)

# %% [markdown]
# ## The model: one line of `keras.applications`
#
# `keras.applications.VGG16(weights="imagenet")` builds the network and fetches its trained
# weights (once: later runs read them from the cache); `include_top=False` leaves out the
# classifier. `weights=None` builds the same network with random weights. `keras_downloads`
# watches which file Keras asks for: with `--offline`, a file missing from the cache or
# damaged stops the run with one line that names it and says where to put it. The size is
# counted from the model that was built.


# %%
def print_size(model):
    """The model's size from what it is: its parameters, and its input and output shapes."""
    params = model.count_params()
    print(f"  {params:,} parameters = {params * 4 / 1e6:.1f} MB as float32")
    out = model.output_shape
    what = "1000 class probabilities" if len(out) == 2 else "a feature map: places x channels"
    print(f"  input {model.input_shape} -> output {out} ({what})")


builder, _, include_top = MODELS[settings.model]
trained = settings.weights == "imagenet"
needs_names = [CLASS_INDEX] if include_top else []  # named too when --offline misses the weights
keras.utils.set_random_seed(settings.seed)  # repeatable untrained weights with --weights none
with keras_downloads(settings.offline, then=needs_names) as downloaded:
    build = getattr(keras.applications, builder)  # keras.applications.VGG16, ...
    model = build(
        weights="imagenet" if trained else None,
        include_top=include_top,
        input_shape=(INPUT_SIZE, INPUT_SIZE, 3),
    )
weights_file = downloaded[0]["path"] if downloaded else None  # None: untrained
kind = "" if include_top else " without its classifier (include_top=False)"
print(f"{builder}{kind}, {'ImageNet weights' if trained else 'UNTRAINED weights'}:")
print_size(model)
if weights_file:
    print(f"  weights: {weights_file} ({weights_file.stat().st_size:,} bytes)")
others = ", ".join(name for name in MODELS if name != settings.model)
print(
    'the slide "Hotové modely": VGG16 (500 MB) and VGG-BUDDY (50 MB), VGG16\'s convolutional '
    f"layers only (--model vgg16-notop); the other models here: {others}"
)

# %% [markdown]
# ## Run the photo through it
#
# `model(x, training=False)` runs the photo through the network; the weights stay as they
# are. This is the slides' „testovacia fáza“ (testing phase; today it is called inference).
# A classifier gives 1000 probabilities: the five largest, with ImageNet's names for them, are
# the answer (what `keras.applications.imagenet_utils.decode_predictions` does, written out).
# The names come from `imagenet_class_index.json`, downloaded once into the same cache.
# Without its classifier, VGG16 gives a feature map instead: for each of 7×7 places in the
# photo, 512 numbers, one per channel (a pattern the network learned to detect).

# %%
TOP_K = 5
CHANNELS_SHOWN = 8  # the feature map's most active channels, drawn as images


def top_classes(probabilities, class_names, k=TOP_K):
    """[(class name, probability)] of the k most likely classes, best first."""
    best = np.argsort(probabilities)[::-1][:k]
    return [(class_names[i], float(probabilities[i])) for i in best]


def most_active_channels(feature_map, count=CHANNELS_SHOWN):
    """The indices of the count channels with the largest mean, most active first."""
    means = feature_map.mean(axis=(0, 1))  # (channels,): one mean per channel
    return [int(c) for c in np.argsort(means)[::-1][:count]]


start = time.perf_counter()
# model(x) runs one batch directly; model.predict(x) would first build a graph for speed
# on many batches, which for a single photo costs more than it saves.
output = keras.ops.convert_to_numpy(model(x, training=False))  # (1, 1000) or (1, 7, 7, 512)
seconds = time.perf_counter() - start
print(f"output {output.shape} in {seconds:.2f} s on this machine")
if include_top:
    probabilities = output[0]  # (1000,), sum 1
    class_names = imagenet_class_names(settings.offline)  # (WordNet id, label) per class
    top = top_classes(probabilities, class_names)
    print(f"top {TOP_K} of {len(probabilities)} ImageNet classes:")
    for rank, ((wnid, label), p) in enumerate(top, start=1):
        print(f"  {rank}. {label:24s} {p:6.3f}   ({wnid or '-'})")
    if not trained:
        print("  (untrained weights: these classes are noise; drop --weights none for real ones)")
else:
    feature_map = output[0]  # (7, 7, 512): (height, width, channels)
    channels = most_active_channels(feature_map)
    places, count = feature_map.shape[:2], feature_map.shape[2]
    print(f"feature map {feature_map.shape}: {places[0]}x{places[1]} places, {count} channels")
    print(f"  {(feature_map > 0).mean():.0%} of its numbers are above 0 (ReLU keeps no negatives)")
    print("  the most active channels (mean over the places):")
    for c in channels:
        print(f"    channel {c:3d}: mean {feature_map[..., c].mean():8.3f}")

# %% [markdown]
# ## Show it
#
# A classifier: the 224×224 input the network saw, beside a bar chart of its top classes.
# VGG16 without its classifier: the input beside its feature map's most active channels, each
# a 7×7 image (bright: the pattern that channel detects is strongly there).


# %%
def plot_classes(square, top, title):
    """The 224x224 input the network saw beside a bar chart of its top classes."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.4), width_ratios=(1, 1.3))
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


def plot_feature_map(square, feature_map, channels, title):
    """The input beside the chosen channels of its feature map, on one colour scale."""
    cols = 4
    rows = -(-len(channels) // cols)
    fig = plt.figure(figsize=(12, 1 + 1.9 * rows))
    grid = fig.add_gridspec(rows, cols + 2)
    left = fig.add_subplot(grid[:, :2])
    left.imshow(square)
    left.set_title(f"model input: {square.shape[0]}x{square.shape[1]} RGB")
    left.axis("off")
    top = max(float(feature_map[..., channels].max()), 1e-6)
    for i, c in enumerate(channels):
        ax = fig.add_subplot(grid[i // cols, 2 + i % cols])
        shown = ax.imshow(feature_map[..., c], cmap="viridis", vmin=0, vmax=top)
        ax.set_title(f"channel {c}")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(shown, ax=fig.axes[1:], shrink=0.8, label="activation")
    fig.suptitle(title)
    return fig


params = model.count_params()
state = "ImageNet weights" if trained else "UNTRAINED weights"
if include_top:
    (_, best), p_best = top[0]
    said = f"it says {best!r}, {p_best:.0%}" if trained else "its top 5 are noise"
    if top[0][0][0] is None:  # no WordNet id: the class index was not in the cache
        said += f"\n(classes by number: their names need {CLASS_INDEX['file']}, not in the cache)"
    title = f"{builder}, {params / 1e6:.1f} M parameters ({state}): {said}"
    figure = save_figure(plot_classes(square, top, title), output_dir / "ker7_pretrained.png")
else:
    title = (
        f"{builder} without its classifier (the slide's VGG-BUDDY), {params / 1e6:.1f} M "
        f"parameters ({state}):\nthe photo becomes a {feature_map.shape} feature map; "
        f"its {len(channels)} most active of {feature_map.shape[2]} channels"
    )
    figure = save_figure(
        plot_feature_map(square, feature_map, channels, title), output_dir / "ker7_pretrained.png"
    )

# %% [markdown]
# ## Save the numbers


# %%
results = {
    "model": builder,
    "include_top": include_top,
    "weights": settings.weights,
    "image": str(image_path),
    "input_shape": list(x.shape),
    "params": int(params),
    "float32_megabytes": round(params * 4 / 1e6, 1),
    "weights_file": str(weights_file) if weights_file else None,  # None: untrained
    "weights_file_bytes": weights_file.stat().st_size if weights_file else None,
    "predict_seconds": round(seconds, 3),
    "figure": str(figure),
    "photo_figure": str(photo_figure),
}
if include_top:
    results["probability_sum"] = float(probabilities.sum())
    results[f"top{TOP_K}"] = [
        {"wordnet_id": w, "label": lab, "probability": p} for (w, lab), p in top
    ]
else:
    results["feature_map_shape"] = list(output.shape)
    results["channels_shown"] = [
        {"channel": c, "mean": float(feature_map[..., c].mean())} for c in channels
    ]
print(f"results: {write_json(output_dir / 'ker7_pretrained.json', results)}")
show_figures(settings.no_show)
