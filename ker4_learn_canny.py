# %% [markdown]
# # Lesson 4: why depth matters, learning the Canny edge detector with one layer, a few, many
#
# **Slides:** „Zložitejší príklad“ (a harder example), „Canny cez DL (Cieslik, 2017)“ (Canny
# by deep learning), „Deep Learning“.
#
# Sobel needs a single convolution layer (lesson 3), but „pokiaľ sa pokúsime naučiť počítač
# niečo zložitejšie, napríklad operátor Canny, hĺbka riešenia sa môže rádovo zvýšiť“ (if we
# try to teach the computer something harder, like the Canny operator, the depth of the
# solution can grow by an order of magnitude). Canny is a blur, a gradient magnitude,
# thinning (non-maximum suppression) and two thresholds joined by hysteresis. One 3×3
# convolution with a sigmoid is one linear filter and one threshold: it cannot compute a
# magnitude, let alone thin it.
#
# We train every model in `MODELS` on the same synthetic scenes, with the same loss and
# epochs, and score each on a photo it never saw:
#
# - `single_layer`: one `Conv2D` 3×3 with a sigmoid, as in lesson 3;
# - `few_layers`: three stacked `Conv2D` layers;
# - `deep_unet`: a small U-Net of thirteen `Conv2D` layers. A U-Net is also what Kuba
#   Cieslik's deep-learning edge detector uses (kubacieslik.com, "Developing a deep learning
#   edge detector to solve a 'toy' problem"; code at github.com/i008/deepedge); his learned
#   the hand-drawn edges of BSDS 500, this one learns `cv2.Canny`.
#
# The score is F1 against `cv2.Canny` with a one-pixel tolerance, and a stricter 1:1 F1 that
# counts a thick line once. The same slide's "two fully connected layers are a universal
# approximator" is lesson 4u.
#
# **What you will see:**
#
# - the training scenes and their Canny edges, the target;
# - each model's depth and parameters, its training time and its scores, in one table;
# - the single layer misses Canny's edges (it marks almost nothing, or far too much), while
#   the deeper models find them; the 1:1 F1 shows who draws lines as thin as Canny's
#   (thinning takes depth);
# - a hand-made single layer (a Laplacian with a tuned threshold), for reference;
# - the edge maps side by side, and F1 against depth.
#
# **Run it:** `python ker4_learn_canny.py` (`--quick` for a class demo, `--image my.jpg` to
# test on your own photo; all flags: `--help`), or open this file as a notebook. To compare
# a fourth model, add its builder to `MODELS` and rerun from that cell: the data stays.

# %% [markdown]
# ## Settings
#
# In a notebook, edit them here; on the command line, each is a flag (`--epochs 8`).

# %%
from common.lesson import lesson_settings, positive_int, seed_value, setting

settings = lesson_settings(
    "Lesson 4: why depth matters, learning the Canny edge detector with one layer, a few, many",
    keras=True,
    image=setting(
        None, "the photo to test on (any format OpenCV reads); none: Grace Hopper's photo"
    ),
    epochs=setting(
        4, "passes over the training crops, the same for every model", quick=2, type=positive_int
    ),
    # --quick: smaller batches, so that its fewer crops still give enough steps
    batch_size=setting(16, "training crops per step", quick=8, type=positive_int),
    seed=setting(
        0, "random seed, for repeatable runs; every model starts from it", type=seed_value
    ),
)

# %% [markdown]
# ## Setup

# %%
from common.keras_setup import start_keras

start_keras(settings.verbose)
import time
from pathlib import Path

import cv2
import keras
import matplotlib.pyplot as plt
import numpy as np

from common import scenes  # the synthetic training scenes: shapes, textures, blur, noise
from common.files import (
    FIGURE_STYLE,
    prepare_output_dir,
    read_gray,
    save_figure,
    show_figures,
    write_json,
)
from common.lesson import LessonError

plt.style.use(FIGURE_STYLE)
output_dir = prepare_output_dir(settings.output_dir)

# %% [markdown]
# ## The target: `cv2.Canny`
#
# What the models learn to imitate. Canny's output depends on the blur before it and on its
# two thresholds, so they are fixed here: a pixel whose gradient magnitude is above the high
# threshold is an edge, and so is a weaker one (above the low threshold) joined to it.

# %%
BLUR_KSIZE = 5  # Gaussian blur before Canny: 5x5 ...
BLUR_SIGMA = 1.4  # ... with sigma 1.4, the textbook choice
LOW_THRESHOLD = 50  # hysteresis: weak edges (Sobel magnitude >= 50) survive if joined ...
HIGH_THRESHOLD = 100  # ... to a strong edge (magnitude >= 100)
L2_GRADIENT = True  # magnitude sqrt(gx^2 + gy^2), the same in every direction
CANNY_SETTINGS = {
    "blur_ksize": BLUR_KSIZE,
    "blur_sigma": BLUR_SIGMA,
    "low_threshold": LOW_THRESHOLD,
    "high_threshold": HIGH_THRESHOLD,
    "l2_gradient": L2_GRADIENT,
}


def canny_edges(image_u8):
    """Canny edges of a uint8 image, blurred first: 1 on an edge, 0 elsewhere (uint8)."""
    blurred = cv2.GaussianBlur(image_u8, (BLUR_KSIZE, BLUR_KSIZE), BLUR_SIGMA)
    edges = cv2.Canny(blurred, LOW_THRESHOLD, HIGH_THRESHOLD, L2gradient=L2_GRADIENT)
    return (edges > 0).astype(np.uint8)


print(
    f"target: cv2.Canny(GaussianBlur({BLUR_KSIZE}x{BLUR_KSIZE}, sigma {BLUR_SIGMA}), "
    f"thresholds {LOW_THRESHOLD}/{HIGH_THRESHOLD}, {'L2' if L2_GRADIENT else 'L1'} gradient)"
)

# %% [markdown]
# ## The data: synthetic scenes to learn from, a photo to test on
#
# The models train on random 96×96 crops of synthetic scenes (shapes, textures, shading,
# blur and noise; `common/scenes.py` draws them), each with Canny's edges as its label. They
# are tested on a photo they never saw and on a few unseen scenes. Edges are a small share
# of the pixels: the line below says how small.

# %%
# The number of crops is no flag (nothing needed one): change it here. --quick takes fewer,
# and it can't be a setting's quick value without being a flag.
TRAIN_CROPS = 1200
QUICK_CROPS = 256
n_crops = QUICK_CROPS if settings.quick else TRAIN_CROPS

image, note = read_gray(settings.image)  # (height, width), float32, 0..255
if note:
    print(note)
photo = scenes.to_uint8(image)  # cv2.Canny takes 8-bit images
photo_name = Path(settings.image).name if settings.image else "grace_hopper.jpg"
if not canny_edges(photo).any():
    raise LessonError(
        f"Canny finds no edges in {photo_name} at these settings, so there is nothing to "
        "score the models against; try a photo with sharper detail"
    )

start = time.perf_counter()
x_train, y_train = scenes.training_crops(settings.seed, n_crops, canny_edges)  # (n, 96, 96, 1)
test_images = [photo, *scenes.held_out_scenes(settings.seed)]  # the photo, then unseen scenes
test_edges = [canny_edges(image) for image in test_images]
crop = scenes.CROP
print(
    f"data: {n_crops} crops of {crop}x{crop} from {n_crops // scenes.CROPS_PER_SCENE} "
    f"synthetic scenes, {y_train.mean():.1%} edge pixels "
    f"({time.perf_counter() - start:.1f} s); held out: {photo_name} "
    f"{photo.shape[1]}x{photo.shape[0]} + {scenes.HELD_OUT_SCENES} unseen scenes"
)
print(
    f"x_train: {x_train.shape} = (crops, height, width, channels), the slides' "
    f"batch / data / channel; y_train: {y_train.shape}"
)

shown = range(0, min(n_crops, 4 * scenes.CROPS_PER_SCENE), scenes.CROPS_PER_SCENE)  # 1 a scene
fig, axes = plt.subplots(2, len(shown), figsize=(2.6 * len(shown), 5.4), squeeze=False)
for column, i in enumerate(shown):
    axes[0, column].imshow(x_train[i, :, :, 0], cmap="gray", vmin=0, vmax=255)
    axes[0, column].set_title(f"crop {i}")
    axes[1, column].imshow(y_train[i, :, :, 0], cmap="gray", interpolation="nearest")
    axes[1, column].set_title("its Canny edges")
for ax in axes.flat:
    ax.axis("off")
fig.suptitle("training data: synthetic scenes (top) and the target (bottom)")

# %% [markdown]
# ## The loss
#
# Edges are sparse: a model that marks nothing is right on most pixels. Two remedies, added
# up: a binary cross-entropy in which an edge pixel counts `EDGE_WEIGHT` times, and a Dice
# loss, one minus the overlap of the predicted and the true edges (which ignores the empty
# background altogether).

# %%
EDGE_WEIGHT = 5.0  # an edge pixel counts 5x in the cross-entropy


def edge_loss(y_true, y_pred):
    """Weighted binary cross-entropy plus Dice loss: both cope with sparse edges."""
    p = keras.ops.clip(y_pred, 1e-6, 1 - 1e-6)
    bce = -(EDGE_WEIGHT * y_true * keras.ops.log(p) + (1 - y_true) * keras.ops.log(1 - p))
    overlap = keras.ops.sum(y_true * p)
    dice = 1 - (2 * overlap + 1) / (keras.ops.sum(y_true) + keras.ops.sum(p) + 1)
    return keras.ops.mean(bce) + dice


# %% [markdown]
# ## Build the models
#
# ### One layer
#
# Lesson 3's model with a sigmoid on top: a linear 3×3 filter and a threshold, ten
# parameters (nine weights and a bias). `Rescaling` maps the grey levels 0..255 to -2..2,
# as in every model here. `Input((None, None, 1))` takes any height and width, so the
# models trained on 96×96 crops can run on the whole photo.


# %%
def build_single_layer():
    """One 3x3 convolution and a sigmoid: a linear filter and a threshold (10 parameters)."""
    return keras.Sequential(
        [
            keras.Input((None, None, 1)),  # (batch, height, width, 1): any image size
            keras.layers.Rescaling(1 / 64, offset=-2),  # 0..255 -> -2..2
            keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid"),
        ]
    )


# %% [markdown]
# ### A few layers
#
# The building block of the deeper models: `Conv2D` 3×3, `BatchNormalization`, `ReLU`.
# Batch normalisation lets them train in a few hundred steps. Its running statistics use
# momentum 0.9: Keras' default 0.99 lags too far behind so short a run, and the model then
# scores badly at prediction time (the slides' „testovacia fáza“, testing phase; today
# called inference), which uses those running statistics. Three 3×3 layers see a 7×7
# neighbourhood, enough for a gradient magnitude.


# %%
def conv_bn_relu(x, filters):
    """Conv2D 3x3, then batch normalisation, then ReLU."""
    x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
    x = keras.layers.BatchNormalization(momentum=0.9)(x)
    return keras.layers.ReLU()(x)


def build_few_layers(width=8):
    """Three stacked 3x3 convolutions: a 7x7 view, enough for a gradient magnitude."""
    inputs = keras.Input((None, None, 1))
    x = keras.layers.Rescaling(1 / 64, offset=-2)(inputs)
    x = conv_bn_relu(x, width)  # (batch, H, W, width)
    x = conv_bn_relu(x, width)
    outputs = keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid")(x)
    return keras.Model(inputs, outputs)


# %% [markdown]
# ### A U-Net
#
# Canny's thinning and hysteresis compare a pixel with neighbours several pixels away,
# after a 5×5 blur. Two `MaxPooling2D` layers widen the view cheaply (to about 40 pixels),
# and the skip connections (`Concatenate`) bring back the full-resolution detail needed to
# place a one-pixel edge. Its input's height and width must divide by 4.


# %%
def build_deep_unet(width=8):
    """A small U-Net: two poolings widen its view, skip connections keep the detail."""
    layers = keras.layers

    def block(x, filters):
        return conv_bn_relu(conv_bn_relu(x, filters), filters)

    inputs = keras.Input((None, None, 1))  # height and width: multiples of 4
    x = layers.Rescaling(1 / 64, offset=-2)(inputs)
    full = block(x, width)  # (batch, H, W, 8)
    half = block(layers.MaxPooling2D()(full), 2 * width)  # (batch, H/2, W/2, 16)
    quarter = block(layers.MaxPooling2D()(half), 4 * width)  # (batch, H/4, W/4, 32)
    up = layers.Concatenate()([layers.UpSampling2D()(quarter), half])
    up = block(up, 2 * width)  # (batch, H/2, W/2, 16)
    up = layers.Concatenate()([layers.UpSampling2D()(up), full])
    up = block(up, width)  # (batch, H, W, 8)
    up = block(up, width)
    outputs = layers.Conv2D(1, 1, activation="sigmoid")(up)  # (batch, H, W, 1)
    return keras.Model(inputs, outputs)


# %% [markdown]
# ### The models to compare
#
# `MODELS`, shallow to deep. Each name is used as is in the table, the figures and the JSON
# keys (`f1_<name>`, `params_<name>`, ...). Add a builder here, say
# `"wide_few_layers": lambda: build_few_layers(width=16)`, and rerun from this cell.
#
# Every model is built from the same seed and compiled the same way: Adam, its learning rate
# decayed to zero along a cosine over the run's steps, and the edge loss. Depth is the
# number of convolution layers.

# %%
MODELS = {
    "single_layer": build_single_layer,
    "few_layers": build_few_layers,
    "deep_unet": build_deep_unet,
}
LEARNING_RATE = 1e-2  # Adam's, at the start


def conv_depth(model):
    """The number of convolution layers (Conv2D and its kin) in a model."""
    return sum("Conv" in type(layer).__name__ for layer in model.layers)


steps = settings.epochs * int(np.ceil(len(x_train) / settings.batch_size))
models = {}
for name, build in MODELS.items():
    keras.utils.set_random_seed(settings.seed)  # every model starts from the same seed
    model = build()
    schedule = keras.optimizers.schedules.CosineDecay(LEARNING_RATE, steps)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=edge_loss)
    models[name] = model

width = max(14, *(len(name) + 2 for name in models))
print(f"{'model':<{width}}{'depth':>6}{'params':>9}")
for name, model in models.items():
    print(f"{name:<{width}}{conv_depth(model):>6}{model.count_params():>9,}")

# %% [markdown]
# ## Train
#
# The same crops, epochs and batch size for every model. Each one's shuffling starts from
# the seed too, so adding a model changes none of the others.

# %%
train_seconds, histories = {}, {}
for name, model in models.items():
    keras.utils.set_random_seed(settings.seed)
    start = time.perf_counter()
    histories[name] = model.fit(
        x_train,
        y_train,
        batch_size=settings.batch_size,
        epochs=settings.epochs,
        verbose=2 if settings.verbose else 0,
    )
    train_seconds[name] = time.perf_counter() - start
    loss = histories[name].history["loss"][-1]
    print(f"trained {name}: {train_seconds[name]:.1f} s, final loss {loss:.3f}")

fig, ax = plt.subplots(figsize=(6, 3.6))
for name, history in histories.items():
    losses = history.history["loss"]
    ax.plot(range(1, len(losses) + 1), losses, "o-", label=name)
ax.set(xlabel="epoch", ylabel="edge loss (training)", title="training loss per epoch")
ax.set_xticks(range(1, settings.epochs + 1))  # whole epochs
ax.grid(alpha=0.3)
ax.legend()

# %% [markdown]
# ## How we score: F1 against Canny
#
# A pixel is an edge where a model's output is at least `THRESHOLD`. Precision is the share
# of the predicted edge pixels that Canny marks too, recall the share of Canny's edge pixels
# the model finds, F1 their harmonic mean. A predicted edge one pixel away from Canny's
# still counts (`TOLERANCE`): `edge_f1`.
#
# That tolerance forgives a three-pixel-thick line drawn over Canny's one-pixel line. The
# stricter `one_to_one_f1` pairs predicted and true pixels off, each true pixel vouching for
# one predicted pixel only, as edge benchmarks such as BSDS do.


# %%
THRESHOLD = 0.5  # a pixel is an edge when the model's output is >= 0.5
TOLERANCE = 1  # a predicted edge may sit 1 pixel away (3x3 square) from Canny's and still count


def predict_edges(model, image_u8):
    """The model's edge map of a whole image: output >= THRESHOLD, as a 0/1 uint8 array."""
    h, w = image_u8.shape
    pad_h, pad_w = (-h) % 4, (-w) % 4  # the U-Net pools twice: sides must divide by 4
    padded = cv2.copyMakeBorder(image_u8, 0, pad_h, 0, pad_w, cv2.BORDER_REFLECT_101)
    x = padded[None, :, :, None].astype(np.float32)  # (1, H, W, 1)
    # training=False: the testing phase, BatchNormalization uses its running statistics.
    output = model(x, training=False)  # eager: no retracing per image size
    prob = keras.ops.convert_to_numpy(output)[0, :h, :w, 0]
    return (prob >= THRESHOLD).astype(np.uint8)


def edge_f1(pred, true, tolerance=TOLERANCE):
    """F1, precision and recall of a predicted edge map against the true one.

    A predicted edge pixel is correct when a true edge lies within `tolerance` pixels of it,
    in the 8-neighbourhood sense: the true map is dilated by a (2*tolerance+1)^2 square.
    Recall likewise counts a true edge pixel as found when a predicted one lies within
    reach. Two empty maps agree perfectly (F1 = 1); one empty map against a non-empty one
    scores 0.
    """
    pred = np.asarray(pred).astype(bool)
    true = np.asarray(true).astype(bool)
    if pred.shape != true.shape:
        raise ValueError(f"edge maps differ in shape: {pred.shape} vs {true.shape}")
    square = np.ones((2 * tolerance + 1, 2 * tolerance + 1), np.uint8)
    near_true = cv2.dilate(true.astype(np.uint8), square).astype(bool)
    near_pred = cv2.dilate(pred.astype(np.uint8), square).astype(bool)
    n_pred, n_true = int(pred.sum()), int(true.sum())
    if n_pred == 0 and n_true == 0:
        return 1.0, 1.0, 1.0
    precision = (pred & near_true).sum() / n_pred if n_pred else 0.0
    recall = (true & near_pred).sum() / n_true if n_true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return float(f1), float(precision), float(recall)


def one_to_one_f1(pred, true, tolerance=TOLERANCE):
    """A stricter F1: each true edge pixel can vouch for one predicted pixel only.

    Predicted and true pixels are paired off, nearest first (same pixel, then the 4
    neighbours, then the diagonals). BSDS pairs them optimally; this greedy pairing is a
    close, slightly lower score.
    """
    pred = np.asarray(pred).astype(bool)
    true = np.asarray(true).astype(bool)
    n_pred, n_true = int(pred.sum()), int(true.sum())
    if n_pred == 0 or n_true == 0:
        return edge_f1(pred, true, tolerance)
    r = range(-tolerance, tolerance + 1)
    offsets = sorted(((dy, dx) for dy in r for dx in r), key=lambda o: o[0] ** 2 + o[1] ** 2)
    free_pred, free_true = pred.copy(), true.copy()
    padded = np.pad(free_true, tolerance)  # a view we update as true pixels get used
    h, w = pred.shape
    matched = 0
    for dy, dx in offsets:
        window = padded[tolerance + dy : tolerance + dy + h, tolerance + dx : tolerance + dx + w]
        pairs = free_pred & window  # predicted pixel (y, x) pairs with true pixel (y+dy, x+dx)
        free_pred &= ~pairs
        window &= ~pairs  # writes through to padded: those true pixels are used up
        matched += int(pairs.sum())
    precision, recall = matched / n_pred, matched / n_true
    f1 = 2 * precision * recall / (precision + recall) if matched else 0.0
    return float(f1), float(precision), float(recall)


# %% [markdown]
# ## Evaluate
#
# Each model's edge map of the photo and of the unseen scenes, scored against Canny's. The
# column "edge px / Canny" compares the number of edge pixels: above 1, the model's lines
# are thicker than Canny's.


# %%
def evaluate(model, images, edges):
    """A model's scores on the photo (images[0]) and on the unseen scenes; its photo edge map."""
    maps = [predict_edges(model, image) for image in images]
    f1, precision, recall = edge_f1(maps[0], edges[0])
    on_scenes = [edge_f1(m, t)[0] for m, t in zip(maps[1:], edges[1:], strict=True)]
    scores = {
        "params": model.count_params(),
        "depth": conv_depth(model),
        "f1": f1,  # on the photo
        "precision": precision,
        "recall": recall,
        "f1_scenes": float(np.mean(on_scenes)),
        "edge_pixels_vs_canny": float(maps[0].sum() / max(1, edges[0].sum())),
        "f1_one_to_one": one_to_one_f1(maps[0], edges[0])[0],
    }
    return scores, maps[0]


results, maps = {}, {}
for name, model in models.items():
    final_loss = float(histories[name].history["loss"][-1])
    results[name] = {"train_seconds": train_seconds[name], "loss": final_loss}
    scores, maps[name] = evaluate(model, test_images, test_edges)
    results[name] |= scores

width = max(14, *(len(name) + 2 for name in results))
print(
    f"F1 against Canny, {TOLERANCE}-pixel tolerance (edge = output >= {THRESHOLD}); "
    f"{settings.epochs} epochs of batch {settings.batch_size} each"
)
print(
    f"{'model':<{width}}{'depth':>6}{'params':>9}{'train s':>9}{'F1 photo':>10}"
    f"{'F1 scenes':>11}{'edge px / Canny':>16}{'1:1 F1 photo':>14}"
)
for name, r in results.items():
    print(
        f"{name:<{width}}{r['depth']:>6}{r['params']:>9,}{r['train_seconds']:>9.1f}"
        f"{r['f1']:>10.3f}{r['f1_scenes']:>11.3f}{r['edge_pixels_vs_canny']:>15.2f}x"
        f"{r['f1_one_to_one']:>14.3f}"
    )

# %% [markdown]
# ## What one hand-made layer could do
#
# For reference, the best single layer we know, set by hand: a 3×3 Laplacian and a
# threshold, the threshold tuned on the photo. It marks the bright side of every edge,
# within a pixel of Canny's line, so the tolerant F1 rates it well on a clean photo. It is
# not Canny: no thinning, no hysteresis, and noise makes it fire everywhere, as its F1 on
# the scenes shows.

# %%
LAPLACIAN = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], np.float32)


def laplacian_response(image_u8):
    """The 3x3 Laplacian of an 8-bit image, as float32 (positive on the bright side of edges)."""
    return cv2.filter2D(image_u8.astype(np.float32), -1, LAPLACIAN)


def laplacian_reference(images, edges):
    """A 3x3 Laplacian > threshold, the threshold tuned on the photo (images[0])."""
    photo = laplacian_response(images[0])
    thresholds = (4, 8, 12, 16, 24, 32, 48, 64, 96, 128)
    f1, threshold = max((edge_f1(photo > t, edges[0])[0], t) for t in thresholds)
    on_scenes = [
        edge_f1(laplacian_response(s) > threshold, e)[0] for s, e in zip(images, edges, strict=True)
    ]
    return {"f1": f1, "threshold": threshold, "f1_scenes": float(np.mean(on_scenes[1:]))}


laplacian = laplacian_reference(test_images, test_edges)
shallowest = min(results, key=lambda name: results[name]["depth"])  # the first if tied
deepest = max(results, key=lambda name: results[name]["depth"])
gain = results[deepest]["f1"] - results[shallowest]["f1"]
print(
    f"{deepest} - {shallowest}: {gain:+.3f} F1 on the photo. "
    "One linear filter cannot compute a gradient magnitude, let alone thin it."
)
print(
    f"for reference, the best hand-made single layer we know, a 3x3 Laplacian > "
    f"{laplacian['threshold']} (threshold tuned on the photo): F1 {laplacian['f1']:.3f} on "
    f"the photo, {laplacian['f1_scenes']:.3f} on the scenes"
)
print(
    "edge px / Canny > 1: thicker lines than Canny's 1-pixel ones. F1 with a tolerance "
    "forgives them;\n1:1 F1 (each Canny pixel vouches for one predicted pixel) does not. "
    "Thinning them, as Canny's non-maximum suppression does, takes depth."
)

# %% [markdown]
# ## Show the edge maps
#
# The photo, Canny's edges and each model's, with close-ups below them to show how thick
# the lines are.


# %%
def plot_edge_maps(photo, photo_name, canny, results, maps):
    """Input | Canny | each model's edge map, with close-ups below to show line thickness."""
    panels = [("input", photo), ("Canny (target)", canny)]
    panels += [
        (f"{name}: F1 {r['f1']:.2f}\n(1:1 F1 {r['f1_one_to_one']:.2f})", maps[name])
        for name, r in results.items()
    ]
    fig, axes = plt.subplots(
        2, len(panels), figsize=(3.4 * len(panels), 7.4), height_ratios=(1.2, 1)
    )
    h, w = photo.shape
    zoom = (slice(h // 4, h // 4 + h // 4), slice(w // 4, w // 4 + w // 3))
    for top, bottom, (title, pixels) in zip(axes[0], axes[1], panels, strict=True):
        top.imshow(pixels, cmap="gray", interpolation="nearest")
        top.set_title(title)
        bottom.imshow(pixels[zoom], cmap="gray", interpolation="nearest")
        bottom.set_title("close-up: line thickness")
        top.axis("off")
        bottom.axis("off")
    best = max(results, key=lambda name: results[name]["f1"])
    fig.suptitle(
        f"Learning cv2.Canny on synthetic scenes, tested on {photo_name}: "
        f"{best} comes closest (F1 {results[best]['f1']:.2f})"
    )
    return fig


figures = [
    save_figure(
        plot_edge_maps(photo, photo_name, test_edges[0], results, maps),
        output_dir / "ker4_learn_canny.png",
    )
]

# %% [markdown]
# ## F1 against depth
#
# Each model's scores at its depth: the F1 on the photo and on the unseen scenes, and the
# 1:1 F1 on the photo. All three forgive a line one pixel off (`TOLERANCE`); the 1:1 F1 also
# counts each Canny pixel once, so a thick line scores lower there.


# %%
def plot_f1_against_depth(results, photo_name):
    """Each model's F1 (on the photo and the scenes, and 1:1 on the photo) at its depth."""
    fig, ax = plt.subplots(figsize=(7, 4.6), layout="constrained")
    by_depth = sorted(results.values(), key=lambda r: r["depth"])  # lines run left to right
    depths = [r["depth"] for r in by_depth]
    for key, style, label in (
        ("f1", "o-", f"F1, {photo_name}"),
        ("f1_scenes", "s--", "F1, unseen scenes"),
        ("f1_one_to_one", "^:", f"1:1 F1, {photo_name} (each Canny pixel counts once)"),
    ):
        ax.plot(depths, [r[key] for r in by_depth], style, label=label)
    # Depth grows by orders of magnitude, so a log scale; each depth's models named on top.
    ax.set_xscale("log")
    ticks = sorted(set(depths))
    ax.set_xticks(ticks, [str(depth) for depth in ticks])
    ax.minorticks_off()
    named = ax.secondary_xaxis("top")
    names = [
        "\n".join(
            f"{name}, {r['params']:,} params" for name, r in results.items() if r["depth"] == d
        )
        for d in ticks
    ]
    named.set_xticks(ticks, names)
    named.minorticks_off()
    shallowest = min(results, key=lambda name: results[name]["depth"])  # the first if tied
    deepest = max(results, key=lambda name: results[name]["depth"])
    gain = results[deepest]["f1"] - results[shallowest]["f1"]
    title = f"{deepest} against {shallowest}: F1 {gain:+.2f} on {photo_name}"
    pixels = "pixel" if TOLERANCE == 1 else "pixels"
    ylabel = f"F1 against Canny (a match may be {TOLERANCE} {pixels} off)"
    ax.set(xlabel="convolution layers (depth, log scale)", ylabel=ylabel, title=title)
    ax.set(xlim=(min(depths) / 1.6, max(depths) * 1.6), ylim=(0, 1.05))
    ax.grid(alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14))
    return fig


figures.append(
    save_figure(
        plot_f1_against_depth(results, photo_name), output_dir / "ker4_learn_canny_depth.png"
    )
)

# %% [markdown]
# ## Save the numbers
#
# The run's settings and every number of every model, keyed `<number>_<model name>`.

# %%
summary = {
    "image": photo_name,
    "canny": CANNY_SETTINGS,
    "metric": f"F1, {TOLERANCE}-pixel tolerance ({2 * TOLERANCE + 1}x{2 * TOLERANCE + 1} "
    f"square dilation), output >= {THRESHOLD} is an edge",
    "quick": settings.quick,
    "epochs": settings.epochs,
    "batch_size": settings.batch_size,
    "train_crops": n_crops,
    "figures": [str(path) for path in figures],
    "models": list(results),
    **{f"{key}_{name}": value for name, r in results.items() for key, value in r.items()},
    **{f"{key}_laplacian_reference": laplacian[key] for key in ("f1", "f1_scenes")},
}
print(f"results: {write_json(output_dir / 'ker4_learn_canny.json', summary)}")
show_figures(settings.no_show)
