# %% [markdown]
# # Lesson 5: how do we recognise a cat? A CNN learns CIFAR-10
#
# **Slides:** „Ako využiť Keras?“ (how to use Keras?), „Ako rozpoznať mačku?“ (how to
# recognise a cat?), „Kde vziať dáta?“ (where to get the data?), „Architektúra“ (the
# architecture), „Trénovanie“ (training).
#
# So far we knew how to solve each task. Keras helps most when we have no idea: is there a
# cat in this photo? We guess an architecture and watch whether it learns from data. The
# data is CIFAR-10: 32×32 colour images of 10 classes, cats among them. The slides show two
# networks, and this lesson builds both:
#
# - `arch="code"` (default): the network on the code slide, the classic Keras
#   `cifar10_cnn.py` example: 4 convolutions, Dense(512), Dense(10);
# - `arch="table"`: the network the „Architektúra“ slide adds up line by line (from the
#   learnopencv article the slide cites): three blocks of two convolutions, then Dense(512)
#   and Dense(10).
#
# A third network shows what the field learned after 2018, with two layers from the
# seminar's own layer slides, BatchNormalization and Add:
#
# - `arch="today"`: a small residual network with batch normalisation, trained with its own
#   recipe (SGD with Nesterov momentum, a larger batch, label smoothing) and evaluated with
#   test-time augmentation.
#
# The slide's diagram has a training phase („trénovacia fáza“) and a testing phase
# („testovacia fáza“, today's word: inference). In the code they are two places: the weights
# change only inside `model.fit` (section "Train"); `predict` on the test images, which the
# model never saw, only reads them (section "Evaluate"). Dropout is on in the first and off in
# the second; lesson 4v shows that difference.
#
# Augmentation (the slide's „pootáča a poposúva“: turns and shifts) makes new training images
# from the old ones; without it the network overfits, and the curves show it.
#
# **What you will see:** a few training images as the network sees them after augmentation;
# the parameter table, each row beside the slide's line; Keras' progress bars; the test
# accuracy, the accuracy per class and the confusion matrix; the training curves; test
# images with their predicted class.
#
# **Run it:** `python ker5_cifar10_cnn.py --quick` (a class demo on part of the data),
# `python ker5_cifar10_cnn.py` (the whole of CIFAR-10, downloaded once, 170 MB), offline with
# `--data-dir path/to/cifar-10-batches-py`; `--arch table`, `--no-augment`,
# `--recipe classic`, `--distribute` (all flags: `--help`); or open this file as a notebook.
#
# Training never loses work: after Ctrl-C or a crash, the same command (in a notebook: the
# training cell) resumes at the last finished epoch. The model lesson 6 loads is
# `models/cifar10_cnn.keras` and `.h5` (`models/cifar10_cnn_quick.*` with `--quick`): a new
# run takes that name only if its best epoch beats the model already there on the same
# validation images (or with `--replace`); the other model goes to `models/runners-up/`, and
# one line says which happened. The saved model is plain float32: it takes pixels / 255
# (0..1), shape (N, 32, 32, 3), and returns 10 class probabilities in the order of
# `CLASS_NAMES`.

# %% [markdown]
# ## Settings
#
# What an instructor changes in class. A recipe is a way to train: the optimiser, the batch,
# the epochs, the augmentation and the dropout rates. `modern` (the default) is Adam with a
# one-epoch warm-up and then a cosine decay of the learning rate, with shifts by whole pixels
# and mirrored borders; `classic` is the classic Keras example, RMSprop and its augmentation;
# `today` is the third network's own (and its default).
# `--epochs`, `--batch-size` and `--lr` override the recipe's values. In a notebook, edit
# them here; on the command line, each is a flag.

# %%
import argparse
from pathlib import Path

from common.files import MODELS
from common.lesson import (
    LessonError,
    lesson_settings,
    positive_float,
    positive_int,
    seed_value,
    setting,
)

RECIPES = {
    "modern": {
        "epochs": 25,
        "batch_size": 128,
        "lr": 2e-3,
        "shift": 0.125,  # a shift of up to 1/8 of the image: 4 pixels
        "fill": "reflect",  # the uncovered border is the image mirrored
        "interpolation": "nearest",  # whole pixels: the shifted image stays sharp
        "dropout": (0.1, 0.3),  # after the convolution blocks, after Dense(512)
    },
    "classic": {
        "epochs": 100,
        "batch_size": 32,
        "lr": 1e-4,
        "shift": 0.1,
        "fill": "nearest",
        "interpolation": "bilinear",
        "dropout": (0.25, 0.5),  # the slide's
    },
    "today": {  # for --arch today: the fast CIFAR-10 trainers' ways (see its network below)
        "epochs": 15,
        "batch_size": 256,  # a larger batch: fewer, bigger steps, which batch norm allows
        "lr": 0.2,  # SGD's peak learning rate, with Nesterov momentum 0.9
        "shift": 0.125,
        "fill": "reflect",
        "interpolation": "nearest",
        "dropout": (0.0, 0.0),  # batch normalisation regularises; no dropout
        "label_smoothing": 0.1,  # the target: 0.9 on the true class, 0.1 spread over all ten
    },
}
DEFAULT_RECIPE = {"code": "modern", "table": "modern", "today": "today"}


def degrees(text):
    """argparse type: an angle from 0 to 180 degrees."""
    value = float(text)
    if not 0 <= value <= 180:
        raise argparse.ArgumentTypeError(f"must be 0 to 180 degrees, got {text}")
    return value


settings = lesson_settings(
    "Lesson 5: how do we recognise a cat? A CNN learns CIFAR-10, with data augmentation",
    keras=True,
    quick=False,
    arch=setting(
        "code",
        "code: the code slide's network; table: the network the Architektúra slide adds up; "
        "today: a small residual network with batch normalisation",
        choices=list(DEFAULT_RECIPE),
    ),
    recipe=setting(
        None,
        "modern: Adam, cosine schedule, batch 128, 25 epochs, dropout 0.1/0.3; classic: "
        "RMSprop 1e-4 with decay 1e-6, batch 32, 100 epochs, the slide's dropout 0.25/0.5; "
        "today: SGD with Nesterov momentum, batch 256, 15 epochs, label smoothing; none: "
        "today for --arch today, else modern",
        choices=list(RECIPES),
    ),
    epochs=setting(
        None, "training epochs; none: the recipe's (25, 100 or 15)", quick=8, type=positive_int
    ),
    batch_size=setting(
        None, "samples per training step; none: the recipe's (128, 32 or 256)", type=positive_int
    ),
    lr=setting(
        None, "peak learning rate; none: the recipe's (2e-3, 1e-4 or 0.2)", type=positive_float
    ),
    no_augment=setting(False, "train on the plain images, to see overfitting"),
    rotate=setting(
        0.0,
        "also turn each training image by up to ±ROTATE degrees, as the slide does; "
        "0: shifts and mirror images only",
        type=degrees,
    ),
    train_images=setting(
        None,
        "train on a random TRAIN_IMAGES of the training images (a tenth of them then "
        "chooses the best epoch); none: all",
        quick=10_000,
        type=positive_int,
    ),
    test_images=setting(
        None,
        "test on a random TEST_IMAGES of the test images; none: all",
        quick=2_000,
        type=positive_int,
    ),
    precision=setting(
        "auto",
        "auto: mixed bfloat16 where the CPU/GPU computes it natively, else float32; the "
        "classic recipe always uses float32",
        choices=["auto", "float32", "bfloat16"],
    ),
    distribute=setting(
        False,
        "train data-parallel over all visible GPUs; with no GPU, over the CPU split into two "
        "logical devices",
    ),
    seed=setting(0, "random seed, for repeatable runs", type=seed_value),
    data_dir=setting(
        None,
        "a local cifar-10-batches-py folder (the extracted official archive), for offline "
        "labs; $CIFAR10_DIR does the same; none: data/cifar-10-batches-py if it is there, "
        "else download with keras.datasets.cifar10 (170 MB once)",
    ),
    model_dir=setting(MODELS, "where the best model and the resume backup are kept", type=Path),
    replace=setting(
        False,
        "put this run's model under the main name even if the model there is better (that one "
        "moves to runners-up/ in the model folder)",
    ),
)
# What was not typed comes from the recipe: a default that depends on another setting.
settings.recipe = settings.recipe or DEFAULT_RECIPE[settings.arch]
recipe = RECIPES[settings.recipe]
epochs = settings.epochs or recipe["epochs"]
batch_size = settings.batch_size or recipe["batch_size"]
lr = settings.lr or recipe["lr"]
if settings.rotate and settings.no_augment:
    raise LessonError("--rotate turns the augmented images, so it does nothing with --no-augment")

# %% [markdown]
# ## Setup
#
# `start_keras` imports Keras with TensorFlow's start-up messages hidden (`--verbose` shows
# them). Then where training runs: one GPU, the CPU, or data-parallel over several devices
# (`--distribute`), and in which precision: mixed bfloat16 only where the hardware computes
# it natively (emulated, it is many times slower).

# %%
from common.keras_setup import (
    choose_precision,
    choose_strategy,
    describe_precision,
    start_keras,
    use_xla,
)

# --distribute without GPUs: JAX must be told to show the CPU as two devices before it starts
start_keras(settings.verbose, cpu_devices=2 if settings.distribute else 1)
import math
import re

import keras
import matplotlib.pyplot as plt
import numpy as np
from keras import layers

from common.cifar10 import CLASS_NAMES, load_cifar10, resolve_data_dir
from common.files import FIGURE_STYLE, prepare_output_dir, save_figure, show_figures, write_json
from common.training import (
    parameter_rows,
    plot_augmented_views,
    plot_confusion,
    plot_curves,
    plot_test_predictions,
    safe_training,
    write_history_csv,
)

plt.style.use(FIGURE_STYLE)  # one style for every figure: no text under 9 pt
output_dir = prepare_output_dir(settings.output_dir)
model_dir = prepare_output_dir(settings.model_dir)
strategy, devices = choose_strategy(settings.distribute)
policy = choose_precision("float32" if settings.recipe == "classic" else settings.precision)
print(describe_precision(policy, settings.precision))

# %% [markdown]
# ## The data
#
# „Kde vziať dáta?“ (where to get the data?): CIFAR-10 comes with Keras
# (`keras.datasets.cifar10`): 50,000 training and 10,000 test images, 32×32 pixels, in
# colour, of 10 classes. The slide calls them „obrázky 10 kategórii z WordNet“ (images of 10
# WordNet categories); more exactly, CIFAR-10 is a hand-labelled subset of the 80 Million Tiny
# Images collection, whose images were found by searching the web for WordNet's nouns: the
# class words come from WordNet. A tenth of the training images is set aside as *validation*
# images: they choose the best epoch, so the test images stay unseen until the end. Every
# number measured on test images says which of them it used: all 10,000, or a random sample
# (`--test-images`, and `--quick`).

# %%
VAL_FRACTION = 0.1  # of the training images: they choose the best epoch


def take_data(x_train, y_train, x_test, y_test, *, train_images=None, test_images=None, seed=0):
    """A random train_images of the training images and test_images of the test images
    (None: all); then VAL_FRACTION of the training images split off for validation."""
    rng = np.random.default_rng(seed)
    if train_images:
        keep = rng.permutation(len(x_train))[:train_images]
        x_train, y_train = x_train[keep], y_train[keep]
    if test_images:
        # a random sample, in file order: a test file sorted by class would give its first classes
        pick = np.sort(np.random.default_rng(seed).permutation(len(x_test))[:test_images])
        x_test, y_test = x_test[pick], y_test[pick]
    order = rng.permutation(len(x_train))
    n_val = max(1, round(VAL_FRACTION * len(x_train)))
    val, train = order[:n_val], order[n_val:]
    if len(train) < 2:
        raise LessonError(f"only {len(train)} training images; CIFAR-10 needs more")
    return (x_train[train], y_train[train]), (x_train[val], y_train[val]), (x_test, y_test)


(x_train, y_train), (x_test, y_test) = load_cifar10(settings.data_dir)
all_test = len(x_test)  # 10,000 in CIFAR-10
(x_train, y_train), (x_val, y_val), (x_test, y_test) = take_data(
    x_train,
    y_train,
    x_test,
    y_test,
    train_images=settings.train_images,
    test_images=settings.test_images,
    seed=settings.seed,
)
num_classes = len(CLASS_NAMES)  # 10
input_shape = x_train.shape[1:]  # (32, 32, 3): the slide's Input(shape=x_train.shape[1:])
source = str(resolve_data_dir(settings.data_dir) or "keras.datasets.cifar10")
print(f"data: {source}{' (--quick subset)' if settings.quick else ''}")
print(f"  x_train {x_train.shape}, x_val {x_val.shape}, x_test {x_test.shape}, uint8")
test_set = (  # which test images every test figure below is measured on
    f"all {all_test:,} test images"
    if len(x_test) == all_test
    else f"a random {len(x_test):,} of the {all_test:,} test images (seed {settings.seed})"
)
print(f"  test images: {test_set}")
sizes = {"source": source, "train": len(x_train), "val": len(x_val), "test": len(x_test)}
sizes["test_of"] = all_test

# %% [markdown]
# ## Augmentation: what the network sees
#
# „Trénovanie“: augmentation („obohatenie dát“) „pootáča a poposúva“, it turns and shifts the
# training images. Each epoch the network sees each image a little differently, so it cannot
# learn the images by heart. Keras preprocessing layers do it: a mirror image (`RandomFlip`),
# a shift (`RandomTranslation`) and, with `--rotate`, a turn (`RandomRotation`). Each column
# of the figure is one training image of each class; the rows below it are what the network
# may see of it in four epochs, each labelled with what the layers drew: mirrored or not, the
# shift in pixels (→ right, ↓ down), the turn (↺ anticlockwise).


# %%
def make_augmenter(*, seed=0, rotate=0.0, recipe="modern"):
    """Random mirror images, shifts and (if rotate > 0) turns, as Keras preprocessing layers."""
    shift, fill, interpolation = (RECIPES[recipe][k] for k in ("shift", "fill", "interpolation"))
    steps = [
        layers.RandomFlip("horizontal", seed=seed, dtype="float32"),
        layers.RandomTranslation(
            shift, shift, fill_mode=fill, interpolation=interpolation, seed=seed, dtype="float32"
        ),
    ]
    if rotate:  # RandomRotation counts in fractions of a full turn
        steps.append(
            layers.RandomRotation(rotate / 360, fill_mode="nearest", seed=seed, dtype="float32")
        )
    return layers.Pipeline(steps, name="augment")


augmenter = None
if not settings.no_augment:
    augmenter = make_augmenter(seed=settings.seed, rotate=settings.rotate, recipe=settings.recipe)
views = save_figure(
    plot_augmented_views(augmenter, x_train, y_train, CLASS_NAMES, seed=settings.seed),
    output_dir / "ker5_cifar10_cnn_augmentation.png",
)

# %% [markdown]
# ## The input pipeline
#
# Each epoch the training images are shuffled, cut into batches, scaled to 0..1 and augmented a
# whole batch at once (much faster than one image at a time), while the model trains on the
# batch before. `Batches`, a `keras.utils.PyDataset`, does it on every Keras backend, in two
# threads; the validation images are only scaled, in order. On TensorFlow's backend
# `tf.data` does the same work in compiled graphs on its own threads, and there it is the
# faster of the two where training itself is fast (mixed bfloat16), so `training_batches`
# picks it there: `bench/bench_input_pipeline.py` measures both, and `docs/measurements.md`
# has the table.


# %%
class Batches(keras.utils.PyDataset):
    """Batches of images scaled to 0..1, cut from NumPy arrays. For training (shuffle=True)
    the order changes each epoch and the last partial batch is dropped, so every batch is
    full; an augmenter, if given, changes each batch. one_hot=N: labels as N-long rows."""

    def __init__(
        self, images, labels, *, batch_size, shuffle=False, augmenter=None, one_hot=0, seed=0
    ):
        super().__init__(workers=2, use_multiprocessing=False)  # threads: no copies of the data
        if one_hot:  # class 3 of 10 -> [0, 0, 0, 1, 0, 0, 0, 0, 0, 0], for label smoothing
            labels = np.eye(one_hot, dtype="float32")[labels]
        self.images, self.labels, self.batch_size = images, labels, batch_size
        self.shuffle, self.augmenter = shuffle, augmenter
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(len(images)) if shuffle else np.arange(len(images))

    def __len__(self):
        if self.shuffle:
            return len(self.images) // self.batch_size
        return -(-len(self.images) // self.batch_size)  # rounded up: every image once

    def __getitem__(self, index):
        rows = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        images = self.images[rows].astype("float32") / 255.0  # uint8 0..255 -> float32 0..1
        if self.augmenter:
            images = keras.ops.convert_to_numpy(self.augmenter(images, training=True))
        return images, self.labels[rows]

    def on_epoch_end(self):
        if self.shuffle:
            self.order = self.rng.permutation(len(self.images))


def tf_data_batches(images, labels, *, batch_size, augmenter=None, one_hot=0, seed=0):
    """TensorFlow's backend only: the training batches of Batches(shuffle=True), by tf.data."""
    import tensorflow as tf

    def prepare(x, y):
        x = tf.cast(x, tf.float32) / 255.0
        x = augmenter(x, training=True) if augmenter else x
        return x, (tf.one_hot(y, one_hot) if one_hot else y)

    return (
        tf.data.Dataset.from_tensor_slices((images, labels))
        .shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size, drop_remainder=True)
        .map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )


def training_batches(images, labels, *, batch_size, augmenter=None, one_hot=0, seed=0):
    """tf.data on TensorFlow's backend, Batches on the others."""
    same = {"batch_size": batch_size, "augmenter": augmenter, "one_hot": one_hot, "seed": seed}
    if keras.backend.backend() == "tensorflow":
        return tf_data_batches(images, labels, **same)
    return Batches(images, labels, shuffle=True, **same)


batch_size = min(batch_size, len(x_train))
one_hot = num_classes if recipe.get("label_smoothing") else 0  # the loss's label format
train_ds = training_batches(
    x_train,
    y_train,
    batch_size=batch_size,
    augmenter=augmenter,
    one_hot=one_hot,
    seed=settings.seed,
)
val_ds = Batches(x_val, y_val, batch_size=256, one_hot=one_hot)
steps_per_epoch = len(x_train) // batch_size  # the last partial batch is dropped
print(f"{steps_per_epoch} batches of {batch_size} images an epoch")

# %% [markdown]
# ## The model: the two networks of the slides
#
# „Ako rozpoznať mačku?“ points to two sources, and they give two networks.
# `code_network` is the code slide, layer by layer. `table_network` is what the
# „Architektúra“ slide adds up: three blocks of two convolutions, so that Flatten hands
# 2·2·64 = 256 numbers to Dense(512). The shape comments follow one batch through: a 3×3
# convolution without padding loses a pixel on each side, a 2×2 max-pooling halves the size.
# The softmax turns 10 numbers into 10 probabilities; it stays float32 even under mixed
# precision, so they add up to 1.
#
# `today_network` is a guess made with what the field learned after 2018, from the same
# layer slides (lesson 4v shows each layer on its own):
#
# - **BatchNormalization** („Batch Normalization Layer“): after each convolution, every channel
#   is rescaled to mean 0 and variance 1 over the batch (with a learned scale and shift), so
#   each layer gets inputs of a steady size; much larger learning rates then train stably.
#   Where a unit pools, it pools first and normalises the smaller map, as airbench does:
#   a quarter of the numbers to normalise, and the statistics are those of what the next
#   layer gets.
#   For predictions it uses averages over the last batches of training (`momentum=0.9`: about
#   the last ten, rather than Keras' default of a hundred, which short runs never fill).
# - **Add** („Add (Merge) Layer“: `x = Add([x1, x2])` on the slide): a residual connection
#   adds a block's input to its output, x + f(x). The block only learns a change, and the
#   gradient flows back past it unchanged, so deep networks train (ResNet, 2015).
# - **GlobalMaxPooling2D** instead of Flatten and Dense(512): each channel gives its strongest
#   answer anywhere in the image, with no weights at all.
# - **Rescaling(1/8)** of the ten scores before the softmax, as Myrtle.ai's ResNet-9 does:
#   maxima of normalised channels are large, and without it the first predictions are so sure
#   of themselves that training starts badly, and a short run never catches up.
#
# `TODAY_WIDTH` sets its size: 16 gives it about as many multiply-adds an image as the code
# network, yet on a CPU it trains slower, because Keras' batch normalisation passes over
# every number of the feature maps in float32; 64 is Myrtle.ai's ResNet-9 (94% in
# 26 s on a V100 GPU, DAWNBench 2018), too slow for a laptop. `docs/measurements.md` has what
# each ingredient buys (the ablation table) and where the time goes, measured.
#
# Edit a network here (add a layer, change a size), then run this cell and the ones below
# again: the data stays loaded, the table counts the new network, and training starts fresh
# (saved progress of the old network is never resumed).


# %%
def code_network(*, dropout=(0.25, 0.5), input_shape=(32, 32, 3), num_classes=10):
    """The code slide's network (the classic Keras cifar10_cnn.py), layer for layer.

    dropout: the rates after the convolution blocks and after Dense(512).
    """
    inp = keras.Input(shape=input_shape)  # (batch, 32, 32, 3)
    x = layers.Conv2D(32, (3, 3), padding="same")(inp)  # (batch, 32, 32, 32)
    x = layers.Activation("relu")(x)
    x = layers.Conv2D(32, (3, 3))(x)  # (batch, 30, 30, 32): no padding loses a pixel each side
    x = layers.Activation("relu")(x)
    x = layers.MaxPooling2D(pool_size=(2, 2))(x)  # (batch, 15, 15, 32)
    x = layers.Dropout(dropout[0])(x)
    x = layers.Conv2D(64, (3, 3), padding="same")(x)  # (batch, 15, 15, 64)
    x = layers.Activation("relu")(x)
    x = layers.Conv2D(64, (3, 3))(x)  # (batch, 13, 13, 64)
    x = layers.Activation("relu")(x)
    x = layers.MaxPooling2D(pool_size=(2, 2))(x)  # (batch, 6, 6, 64)
    x = layers.Dropout(dropout[0])(x)
    x = layers.Flatten()(x)  # (batch, 2304)
    x = layers.Dense(512)(x)  # (batch, 512)
    x = layers.Activation("relu")(x)
    x = layers.Dropout(dropout[1])(x)
    x = layers.Dense(num_classes)(x)  # (batch, 10)
    out = layers.Activation("softmax", dtype="float32")(x)  # 10 probabilities that add up to 1
    return keras.Model(inputs=inp, outputs=out, name="cifar10_cnn")


def table_network(*, dropout=(0.25, 0.5), input_shape=(32, 32, 3), num_classes=10):
    """The network the Architektúra slide adds up (learnopencv's)."""
    inp = keras.Input(shape=input_shape)  # (batch, 32, 32, 3)
    x = inp
    for filters in (32, 64, 64):  # three blocks: 32 -> 15, 15 -> 6, 6 -> 2 pixels a side
        x = layers.Conv2D(filters, (3, 3), padding="same", activation="relu")(x)
        x = layers.Conv2D(filters, (3, 3), activation="relu")(x)  # loses a pixel each side
        x = layers.MaxPooling2D(pool_size=(2, 2))(x)
        x = layers.Dropout(dropout[0])(x)
    x = layers.Flatten()(x)  # (batch, 2·2·64 = 256): the slide's "512 x 256 + 512"
    x = layers.Dense(512, activation="relu")(x)
    x = layers.Dropout(dropout[1])(x)
    out = layers.Dense(num_classes, activation="softmax", dtype="float32")(x)
    return keras.Model(inputs=inp, outputs=out, name="cifar10_cnn_table")


TODAY_WIDTH = 16  # the first block's filters; each stage doubles them (64: Myrtle's ResNet-9)


def today_network(*, dropout=(0.0, 0.0), input_shape=(32, 32, 3), num_classes=10):
    """A small residual network with batch normalisation: after ResNet (2015) and the fast
    CIFAR-10 trainers (Myrtle.ai's ResNet-9, airbench), written here in plain Keras layers.

    dropout[1] is the rate before the last Dense (the today recipe: none).
    """

    def unit(x, filters, pool=False):  # convolution, batch normalisation, ReLU: the block
        x = layers.Conv2D(filters, (3, 3), padding="same", use_bias=False)(x)  # BN has a bias
        if pool:  # half the size first: batch norm then has a quarter of the numbers to pass
            x = layers.MaxPooling2D(pool_size=(2, 2))(x)
        x = layers.BatchNormalization(momentum=0.9)(x)  # each channel to mean 0, variance 1
        return layers.Activation("relu")(x)

    def stage(x, filters, residual):  # a unit that pools, and maybe a residual pair
        x = unit(x, filters, pool=True)
        if residual:  # x + f(x): the pair learns only a change to x; the gradient skips it
            x = layers.Add()([x, unit(unit(x, filters), filters)])
        return x

    w = TODAY_WIDTH
    inp = keras.Input(shape=input_shape)  # (batch, 32, 32, 3)
    x = unit(inp, w)  # (batch, 32, 32, w)
    x = stage(x, 2 * w, residual=True)  # (batch, 16, 16, 2w)
    x = stage(x, 4 * w, residual=False)  # (batch, 8, 8, 4w)
    x = stage(x, 8 * w, residual=True)  # (batch, 4, 4, 8w)
    x = layers.GlobalMaxPooling2D()(x)  # (batch, 8w): each channel's strongest answer
    x = layers.Dropout(dropout[1])(x)
    x = layers.Dense(num_classes)(x)  # (batch, 10)
    x = layers.Rescaling(1 / 8)(x)  # smaller scores: the first guesses are not overconfident
    out = layers.Activation("softmax", dtype="float32")(x)
    return keras.Model(inputs=inp, outputs=out, name="cifar10_cnn_today")


ARCHITECTURES = {"code": code_network, "table": table_network, "today": today_network}


def build_model(*, arch="code", dropout=(0.25, 0.5), input_shape=(32, 32, 3), num_classes=10):
    """The network named arch ("code", "table" or "today") with the given dropout rates."""
    return ARCHITECTURES[arch](dropout=dropout, input_shape=input_shape, num_classes=num_classes)


# %% [markdown]
# ## The parameter table, beside the „Architektúra“ slide
#
# A Conv2D layer has one kernel of kernel height · kernel width · input channels weights per
# filter, plus one bias per filter: the slide's first line, 3x(3x3)x32 + 32, is 3 colours
# times a 3×3 kernel times 32 filters, plus 32 biases. A Dense layer has inputs · units weights
# plus one bias per unit. `parameter_rows` writes each layer's formula from what the layer
# *is*, and shows it only where it gives Keras' own count; here each row also gets the
# slide's line that adds up to the same number, if there is one.

# %%
# The Architektúra slide's sums, as the slide writes them (its x means "times").
SLIDE_LINES = [
    "3x(3x3)x32 + 32",
    "(32x(3x3))x32 + 32",
    "(32x(3x3))x64 + 64",
    "(64x(3x3))x64 + 64",
    "(64x(3x3))x64 + 64",
    "(64x(3x3))x64 + 64",
    "512 x 256 + 512",
    "10 x 512 + 10",
]


def slide_value(line):
    """The number a slide line adds up: '(32x(3x3))x64 + 64' is 32·3·3·64 + 64."""
    product, bias = line.split("+")
    return math.prod(int(n) for n in re.findall(r"\d+", product)) + int(bias)


def parameter_table(model, slide_lines=SLIDE_LINES):
    """Keras' count for every layer with weights, and the slide's line where one matches."""
    rows, next_line = parameter_rows(model), 0
    for row in rows:
        config = model.get_layer(row["layer"]).get_config()
        size = config.get("filters") or config.get("units")
        row["label"] = f"{row['kind']}({size})" if size else row["kind"]
        row["slide"] = None
        for i in range(next_line, len(slide_lines)):  # the slide's lines, in order
            if slide_value(slide_lines[i]) == row["count"]:
                row["slide"], next_line = slide_lines[i], i + 1
                break
    return rows


def print_parameter_table(rows, total):
    """The table with the slide's arithmetic beside it."""
    print("\nparameters = kernel height · kernel width · input channels · filters + biases")
    print(f"  {'layer':<24} {'formula':<20} {'count':>11}   the Architektúra slide")
    for row in rows:
        formula = row["formula"] or "(Keras' count)"
        slide = f"= {row['slide']}" if row["slide"] else "(no such line on the slide)"
        print(f"  {row['label']:<24} {formula:<20} {row['count']:>11,}   {slide}")
    print(f"  {'total':<24} {'':<20} {total:>11,}\n")


# %% [markdown]
# ## Build and compile the chosen network
#
# `compile` says what `fit` will use: the optimiser, the loss it lowers (cross-entropy; the
# labels are class numbers 0..9, hence "sparse") and the accuracy it reports. The modern
# recipe's Adam warms up for one epoch, from a tenth of the learning rate to all of it, then
# lowers it along a cosine to 1% at the last step. The classic recipe is RMSprop with Keras
# 2's `decay=1e-6`. The today recipe is SGD with Nesterov momentum and a small weight decay,
# on the same warm-up and cosine, and label smoothing: the target is 0.91 for the true class
# and 0.01 for each of the others, so the network is never pushed to be 100% sure. Keras'
# smoothing needs the labels one-hot (`Batches` makes them so), hence the plain
# `CategoricalCrossentropy`. Under `--distribute` the model is built inside the strategy's scope, so
# each device holds a copy of the weights.

# %%
CLASSIC_DECAY = 1e-6  # the classic example's RMSprop(lr=1e-4, decay=1e-6)
WARMUP_EPOCHS = 1


TODAY_MOMENTUM, TODAY_WEIGHT_DECAY = 0.9, 5e-4


def make_optimizer(recipe="modern", *, lr, epochs, steps_per_epoch):
    """Modern: Adam with a one-epoch warm-up, then cosine decay. Classic: RMSprop + decay.
    Today: SGD with Nesterov momentum and weight decay, on the same warm-up and cosine."""
    if recipe == "classic":
        # Keras 2's decay=1e-6 meant lr / (1 + 1e-6 · step): an InverseTimeDecay.
        schedule = keras.optimizers.schedules.InverseTimeDecay(lr, 1, CLASSIC_DECAY)
        return keras.optimizers.RMSprop(learning_rate=schedule)
    total = epochs * steps_per_epoch
    warmup = min(WARMUP_EPOCHS * steps_per_epoch, total // 2)
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=lr / 10,
        decay_steps=max(1, total - warmup),
        warmup_target=lr,
        warmup_steps=warmup,
        alpha=0.01,
    )
    if recipe == "today":
        return keras.optimizers.SGD(
            learning_rate=schedule,
            momentum=TODAY_MOMENTUM,
            nesterov=True,
            weight_decay=TODAY_WEIGHT_DECAY,
        )
    return keras.optimizers.Adam(learning_rate=schedule)


def make_loss(recipe="modern"):
    """Cross-entropy; with the recipe's label smoothing, on one-hot labels."""
    smoothing = RECIPES[recipe].get("label_smoothing", 0.0)
    if smoothing:
        return keras.losses.CategoricalCrossentropy(label_smoothing=smoothing)
    return keras.losses.SparseCategoricalCrossentropy()  # labels are class numbers 0..9


keras.utils.set_random_seed(settings.seed)  # the same starting weights each time this cell runs
with strategy.scope():
    model = build_model(
        arch=settings.arch,
        dropout=recipe["dropout"],
        input_shape=input_shape,
        num_classes=num_classes,
    )
    model.compile(
        optimizer=make_optimizer(
            settings.recipe, lr=lr, epochs=epochs, steps_per_epoch=steps_per_epoch
        ),
        loss=make_loss(settings.recipe),
        metrics=["accuracy"],
        jit_compile=use_xla(),
    )
rows = parameter_table(model)
print_parameter_table(rows, model.count_params())

# %% [markdown]
# ## Train
#
# The training phase („trénovacia fáza“): `model.fit` changes the weights, batch by batch, for
# `epochs` passes over the training images; after each epoch Keras measures the validation
# images. `safe_training` (in `common/training.py`) keeps the work safe, so that this cell
# only has to call `fit`:
#
# - one run at a time: a second run on the same model files (from a second terminal, say)
#   stops with one line while the first is alive;
# - after every epoch the weights, the optimiser's state and the epoch number are backed up:
#   run the same command (or this cell) again after Ctrl-C or a crash, and training resumes
#   there; with other settings (another `--lr`, `--epochs`, ...) or another network it starts
#   fresh and says why;
# - the best epoch's model is saved as plain float32 beside that backup, through a temporary
#   file (a crash never leaves half a file); training stops if the loss or the weights stop
#   being finite numbers;
# - at the end, the model already under this run's name keeps it, unless this run's model is
#   better on this run's validation images, or `--replace` is given; the other model moves to
#   `runners-up/`, never deleted. (If the earlier model was trained with another `--seed` or
#   `--train-images`, some of these images may have been its training images, which favours
#   it: keeping what you have is the safe side.) Each kind of run has its own name, so a class
#   demo (`--quick`) never competes with the model of a long run.
#
# Both model files hold the same model. `.keras` is Keras 3's own format (a zip of the
# architecture as JSON and the weights); `.h5` (HDF5) is the format the slide „Čo s naučeným
# modelom?“ names („uložiť do .h5“), which Keras 3 calls legacy but still reads and writes.
# Lesson 6 loads the `.h5`, as the seminar did; any Keras 3 program loads the `.keras`.


# %%
def model_name(*, arch="code", recipe="modern", no_augment=False, rotate=0.0, quick=False):
    """cifar10_cnn for the default run; a variant's name carries its settings
    (cifar10_cnn_quick, cifar10_cnn_table_no_augment, ...)."""
    parts = ["cifar10_cnn"]
    parts += [arch] if arch != "code" else []
    parts += [recipe] if recipe != DEFAULT_RECIPE[arch] else []
    parts += ["no_augment"] if no_augment else []
    parts += [f"rotate{rotate:g}"] if rotate else []
    parts += ["quick"] if quick else []
    return "_".join(parts)


name = model_name(
    arch=settings.arch,
    recipe=settings.recipe,
    no_augment=settings.no_augment,
    rotate=settings.rotate,
    quick=settings.quick,
)
run_settings = {  # a rerun resumes only a run with the very same settings
    "arch": settings.arch,
    "recipe": settings.recipe,
    "epochs": epochs,
    "lr": lr,
    "seed": settings.seed,
    "no_augment": settings.no_augment,
    "rotate": settings.rotate,
    "quick": settings.quick,
    "batch_size": batch_size,
    "precision": policy,
    "devices": devices,
    "data": sizes,
}
print(
    f"training: {settings.recipe} recipe, {settings.arch} network, batch {batch_size}, "
    f"{epochs} epochs, lr {lr}"
)
with safe_training(
    model,
    model_dir=model_dir,
    name=name,  # its files: models/NAME.keras and .h5, NAME.resume/ while it runs
    settings=run_settings,
    validation=(x_val, y_val),  # the better model keeps the name, scored on these images
    replace=settings.replace,
) as run:
    model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=epochs,
        callbacks=run.callbacks,  # keep the best epoch, stop on divergence, back up each epoch
        shuffle=False,  # the training batches come shuffled
        verbose=1,
    )
history, best = run.history, run.best  # every epoch's numbers, also those before a resume
history_csv = write_history_csv(history, output_dir / "ker5_cifar10_cnn_history.csv")
seconds = history["epoch_seconds"]
# The first epoch also compiles the model, so the typical speed is the median of the rest.
images_per_second = steps_per_epoch * batch_size / float(np.median(seconds[1:] or seconds))
print(f"\nbest epoch: {best['epoch']} (validation accuracy {best['val_accuracy']:.3f})")
print(f"training took {sum(seconds):.0f} s ({images_per_second:.0f} images/s)")

# %% [markdown]
# ## Evaluate on the test images
#
# The testing phase („testovacia fáza“, today: inference): this run's best model, as it was
# saved, predicts the test images, which it never saw; its weights stay as they are. The
# confusion matrix counts, for each true class (a row), which class the model said (a
# column); its diagonal holds the right answers.
#
# Then test-time augmentation: the model also sees each test image mirrored, and the two
# answers are averaged. A cat mirrored is still a cat, so two looks are a little surer than
# one; it costs a second prediction. Both accuracies are printed; the figures and the JSON's
# `test_accuracy` use the plain prediction, as lesson 6 and the exported model do.


# %%
def predict_with_flips(model, images):
    """Test-time augmentation: the mean of the predictions for the images and their mirrors."""
    mirrored = images[:, :, ::-1, :]  # (N, height, width, channels): width reversed
    both = [model.predict(x, verbose=0, batch_size=512) for x in (images, mirrored)]
    return (both[0] + both[1]) / 2


best_model = keras.models.load_model(run.model_paths[0])  # this run's model, as it was saved
test_images = x_test.astype("float32") / 255.0
probabilities = best_model.predict(test_images, verbose=0, batch_size=512)
predicted = probabilities.argmax(axis=1)  # (N,): the most probable class of each image
confusion = np.zeros((num_classes, num_classes), dtype=int)  # rows: true, columns: predicted
np.add.at(confusion, (y_test, predicted), 1)
test_accuracy = float(confusion.trace() / confusion.sum())
class_counts = confusion.sum(axis=1)  # test images of each class
per_class = confusion.diagonal() / np.maximum(class_counts, 1)
print(f"test accuracy of the saved model: {test_accuracy:.1%} on {test_set}")
flipped_accuracy = float(np.mean(predict_with_flips(best_model, test_images).argmax(1) == y_test))
print(f"  with test-time augmentation (each image and its mirror): {flipped_accuracy:.1%}")
print("accuracy per class:")
for class_name, accuracy, count in zip(CLASS_NAMES, per_class, class_counts, strict=True):
    if count:
        print(f"  {class_name:<11} {accuracy:6.1%}  {'#' * round(accuracy * 30)}")
    else:  # a small or odd test set: no image of this class to be right or wrong about
        print(f"  {class_name:<11}      –  no test image of this class")

# %% [markdown]
# ## Show it
#
# The training curves: loss and accuracy per epoch on the training and the validation
# images. While both improve together the model is still learning; validation loss rising
# while training loss falls is overfitting (try `--no-augment`). The loss panel's title says
# which of the two this run's curves show. Then the confusion matrix in percent of each true
# class, its colours set by the mistakes alone (so that cat and dog stand out), and test
# images, two or three of each class, with the class the model gave them.

# %%
# what made the training figures differ from the validation ones in this run (the today
# network has no dropout; --no-augment switches augmentation off)
switches = {
    "dropout": any(isinstance(layer, layers.Dropout) and layer.rate > 0 for layer in model.layers),
    "augmentation": not settings.no_augment,
}
used = [name for name, yes in switches.items() if yes]
on = " and ".join(used) + " on" if used else "neither dropout nor augmentation"
figures = [
    views,
    save_figure(
        plot_curves(history, note=f"training figures are averaged over each epoch, with {on}"),
        output_dir / "ker5_cifar10_cnn_curves.png",
    ),
    save_figure(
        plot_confusion(confusion, CLASS_NAMES, what=test_set),
        output_dir / "ker5_cifar10_cnn_confusion.png",
    ),
    save_figure(
        plot_test_predictions(x_test, y_test, predicted, CLASS_NAMES, seed=settings.seed),
        output_dir / "ker5_cifar10_cnn_predictions.png",
    ),
]

# %% [markdown]
# ## Save the numbers

# %%
for path in run.model_paths:  # this run's model: under the main name, or in runners-up/
    print(f"model: {path}")
results = {
    "test_accuracy": test_accuracy,
    "test_accuracy_with_flips": flipped_accuracy,
    "test_images": test_set,
    "per_class_accuracy": {
        class_name: float(accuracy) if count else None
        for class_name, accuracy, count in zip(CLASS_NAMES, per_class, class_counts, strict=True)
    },
    "params": model.count_params(),
    "param_table": rows,
    **run_settings,
    "epochs": len(history["loss"]),
    "best_epoch": best["epoch"],
    "best_val_accuracy": best["val_accuracy"],
    "resumed_at_epoch": run.first_epoch + 1 if run.first_epoch else None,
    "train_seconds": float(sum(seconds)),
    "images_per_second": images_per_second,
    "augment": not settings.no_augment,
    "final_train_accuracy": history["accuracy"][-1],
    "final_val_accuracy": history["val_accuracy"][-1],
    "model_paths": [str(path) for path in run.model_paths],
    "kept": run.kept,
    "history_csv": str(history_csv),
    "figures": [str(figure) for figure in figures],
}
print(f"results: {write_json(output_dir / 'ker5_cifar10_cnn.json', results)}")
show_figures(settings.no_show)
