# %% [markdown]
# # Lesson 5n: why we also need negative examples
#
# **Slide:** „Kde vziať dáta?“ (where to get the data?): „potrebujeme aj negatívne príklady,
# systém vlastne učíme rozlišovať jedny dáta od druhých“ (we also need negative examples; we
# in fact teach the system to tell one kind of data from another).
#
# A detector answers one question: is this a cat? Train one on cats only, and every label it
# ever sees is "cat". The cheapest way to be right on all of them is to say "cat" to
# everything, and that is what it learns: on the test images it finds every cat, and it also
# calls every airplane, frog and truck a cat. Beside it, the same network (the same layers,
# the same starting weights, the same epochs) learns from cats *and* non-cats. Now "cat" has
# to mean something the other images lack: it still finds most cats, and it rejects most
# non-cats.
#
# **What you will see:** a table of the detectors side by side (cats found, non-cats
# rejected); for every class of test image, how often each detector said "cat" (the non-cat
# let through most often is the dog, the animal most like a cat); a figure with the same
# numbers as bars and test images with each detector's verdict.
#
# **Run it:** `python ker5n_negative_examples.py` (downloads CIFAR-10 once, 170 MB),
# offline with `--data-dir path/to/cifar-10-batches-py`, `--quick` for a class demo (all
# flags: `--help`), or open this file as a notebook. Add a detector in the detectors' cell
# (for example cats against dogs only) and run it again from there.

# %% [markdown]
# ## Settings
#
# In a notebook, edit them here; on the command line, each is a flag.

# %%
from common.lesson import lesson_settings, positive_int, seed_value, setting

settings = lesson_settings(
    "Lesson 5n: why we also need negative examples",
    keras=True,
    quick=False,
    epochs=setting(8, "training epochs, the same for every detector", quick=5, type=positive_int),
    # batch 64 made the cat/non-cat balance swing more from epoch to epoch
    batch_size=setting(128, "samples per training step", type=positive_int),
    train_images=setting(
        10_000,
        "training images taken at random; each detector learns from its classes among them",
        quick=4_000,
        type=positive_int,
    ),
    test_images=setting(
        None, "test images taken at random; none: all", quick=2_000, type=positive_int
    ),
    seed=setting(0, "random seed, for repeatable runs", type=seed_value),
    data_dir=setting(
        None,
        "a local cifar-10-batches-py folder (the extracted official archive), for offline "
        "labs; $CIFAR10_DIR does the same; none: data/cifar-10-batches-py if it is there, "
        "else download with keras.datasets.cifar10 (170 MB once)",
    ),
)

# %% [markdown]
# ## Setup

# %%
from common.keras_setup import start_keras

start_keras(settings.verbose)
import time

import keras
import matplotlib.pyplot as plt
import numpy as np
from keras import layers

from common.cifar10 import CLASS_NAMES, load_cifar10, resolve_data_dir
from common.files import prepare_output_dir, save_figure, show_figures, write_json
from common.lesson import LessonError

output_dir = prepare_output_dir(settings.output_dir)

# %% [markdown]
# ## The data
#
# CIFAR-10: 32×32 colour images of 10 classes, one of them cats, about a tenth of the
# images. The test images stay apart: no detector learns from them.

# %%
CAT = "cat"  # the class the detector looks for


def take_subset(x_train, y_train, x_test, y_test, *, train_images=None, test_images=None, seed=0):
    """A random train_images of the training images and test_images of the test images
    (None: all of them)."""
    if train_images:
        keep = np.random.default_rng(seed).permutation(len(x_train))[:train_images]
        x_train, y_train = x_train[keep], y_train[keep]
    if test_images:
        # a random sample, in file order: a test file sorted by class would give its first classes
        pick = np.sort(np.random.default_rng(seed).permutation(len(x_test))[:test_images])
        x_test, y_test = x_test[pick], y_test[pick]
    return (x_train, y_train), (x_test, y_test)


(x_train, y_train), (x_test, y_test) = load_cifar10(settings.data_dir)
(x_train, y_train), (x_test, y_test) = take_subset(
    x_train,
    y_train,
    x_test,
    y_test,
    train_images=settings.train_images,
    test_images=settings.test_images,
    seed=settings.seed,
)
input_shape = x_train.shape[1:]  # (32, 32, 3): (height, width, colour channels)
test_cats = int(np.sum(y_test == CLASS_NAMES.index(CAT)))
if not np.any(y_train == CLASS_NAMES.index(CAT)) or not test_cats:
    raise LessonError(f"the data has no {CAT} images among its training or test images")
source = resolve_data_dir(settings.data_dir) or "keras.datasets.cifar10"
print(f"data: {source}; {len(x_train):,} training and {len(x_test):,} test images")

# %% [markdown]
# ## The model: a small CNN with one output
#
# Three convolutions, each followed by a 2×2 max-pooling, then two Dense layers. The last
# one has a single neuron with a sigmoid: the probability that the image is a cat. Every
# detector is this network, built afresh from the same starting weights.


# %%
def build_model(input_shape=(32, 32, 3)):
    """A small CNN with one output: the probability that the image is a cat."""
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),  # (batch, 32, 32, 3)
            layers.Conv2D(16, 3, padding="same", activation="relu"),  # (batch, 32, 32, 16)
            layers.MaxPooling2D(2),  # (batch, 16, 16, 16)
            layers.Conv2D(32, 3, padding="same", activation="relu"),  # (batch, 16, 16, 32)
            layers.MaxPooling2D(2),  # (batch, 8, 8, 32)
            layers.Conv2D(64, 3, padding="same", activation="relu"),  # (batch, 8, 8, 64)
            layers.MaxPooling2D(2),  # (batch, 4, 4, 64)
            layers.Flatten(),  # (batch, 1024)
            layers.Dense(64, activation="relu"),  # (batch, 64)
            layers.Dense(1, activation="sigmoid"),  # (batch, 1): P(cat), 0..1
        ],
        name="cat_detector",
    )


params = build_model(input_shape).count_params()
print(f"detector: {params:,} parameters, the same for each; {settings.epochs} epochs each")

# %% [markdown]
# ## The detectors: what each one is shown as "not cat"
#
# Each detector learns from the cats, labelled 1, and from the classes in its list, labelled
# 0. With all nine other classes there are 9 non-cats for every cat, so a detector that
# always says "not cat" is already right 90% of the time, and the loss would push it there.
# The class weights make the cats count as much, in total, as the non-cats: each image
# weighs N / (labels present × images with its label). With cats only they are {1: 1.0},
# and nothing changes.

# %%
# Each detector and the classes it is shown as "not cat" while it learns. Add a line to
# compare another choice, e.g. "cats and dogs": ["dog"].
DETECTORS = {
    "cats only": [],
    "cats and non-cats": [name for name in CLASS_NAMES if name != CAT],
}


def detector_data(x_train, y_train, negatives):
    """The images one detector learns from: cats labelled 1, the classes in negatives 0."""
    cat = CLASS_NAMES.index(CAT)
    negative_ids = [CLASS_NAMES.index(name) for name in negatives]
    keep = (y_train == cat) | np.isin(y_train, negative_ids)
    x = x_train[keep].astype("float32") / 255.0  # (N, 32, 32, 3), pixels 0..1
    labels = (y_train[keep] == cat).astype("float32")  # (N,): 1 = cat, 0 = not cat
    return x, labels


def balanced_class_weight(labels):
    """Keras class_weight that gives each label present the same total weight."""
    present, counts = np.unique(labels.astype(int), return_counts=True)
    return {
        int(c): len(labels) / (len(present) * int(n)) for c, n in zip(present, counts, strict=True)
    }


# %% [markdown]
# ## Train every detector
#
# The same loop for every detector: its images, a fresh network from the same seed (so the
# same starting weights), `compile` with a yes/no loss (binary cross-entropy), and `fit`
# with the class weights.

# %%
LEARNING_RATE = 1e-3

detectors, how_trained = {}, {}
for name, negatives in DETECTORS.items():
    x, labels = detector_data(x_train, y_train, negatives)
    class_weight = balanced_class_weight(labels)
    print(f"training '{name}' on {len(x):,} images ...", flush=True)
    keras.utils.set_random_seed(settings.seed)  # same seed, same layers: same starting weights
    model = build_model(input_shape)
    model.compile(
        optimizer=keras.optimizers.Adam(LEARNING_RATE),
        loss="binary_crossentropy",  # one yes/no answer per image
        metrics=["accuracy"],
    )
    start = time.perf_counter()
    model.fit(
        x,
        labels,
        epochs=settings.epochs,
        batch_size=min(settings.batch_size, len(x)),
        class_weight=class_weight,  # {label: weight}: how much each image's error counts
        verbose=2 if settings.verbose else 0,
    )
    detectors[name] = model
    how_trained[name] = {
        "negatives": negatives,
        "train_cats": int(labels.sum()),
        "train_noncats": int(len(labels) - labels.sum()),
        "class_weight": {str(label): w for label, w in class_weight.items()},
        "train_seconds": time.perf_counter() - start,
    }

# %% [markdown]
# ## Evaluate on the test images
#
# Each detector gives every test image a probability of "cat"; at `THRESHOLD` or above, its
# verdict is "cat". Two numbers say how good a detector is: the share of the test cats it
# finds, and the share of the test non-cats it rejects. Either alone is easy to get right:
# "cat" to everything finds every cat.

# %%
THRESHOLD = 0.5  # a probability of "cat" at or above this is a "cat" verdict


def score(p_cat, y_test):
    """Cats found (recall), non-cats rejected, and the share called "cat" per true class."""
    called_cat = p_cat >= THRESHOLD
    is_cat = y_test == CLASS_NAMES.index(CAT)
    per_class = {
        name: float(called_cat[y_test == i].mean())
        for i, name in enumerate(CLASS_NAMES)
        if np.any(y_test == i)
    }
    return {
        "cat_recall": float(called_cat[is_cat].mean()),
        "noncat_rejection": float(1.0 - called_cat[~is_cat].mean()),
        "called_cat_per_class": per_class,
    }


def print_comparison(results):
    """The detectors side by side, then how often each said "cat" to each true class."""
    header = f"{'detector':<20} {'trained on':<27} {'cats found':>10}   {'non-cats rejected':>17}"
    print(f"\n{header}   {'training':>8}")
    for name, r in results.items():
        trained_on = f"{r['train_cats']:,} cats, {r['train_noncats']:,} non-cats"
        print(
            f"{name:<20} {trained_on:<27} {r['cat_recall']:>10.1%}   "
            f"{r['noncat_rejection']:>17.1%}   {r['train_seconds']:>6.1f} s"
        )
    print('\nsaid "cat" to test images of each class:')
    print(f"  {'class':<11}" + "".join(f"{name:>20}" for name in results))
    for class_name in next(iter(results.values()))["called_cat_per_class"]:
        shares = [r["called_cat_per_class"][class_name] for r in results.values()]
        print(f"  {class_name:<11}" + "".join(f"{share:>20.1%}" for share in shares))


p_cats, results = {}, {}
for name, model in detectors.items():
    # P(cat) for every test image, shape (N,)
    p_cats[name] = model.predict(x_test.astype("float32") / 255.0, batch_size=512, verbose=0)[:, 0]
    results[name] = {**how_trained[name], **score(p_cats[name], y_test)}
print_comparison(results)

# %% [markdown]
# ## Show it
#
# Bars of cats found and non-cats rejected per detector; below them, test images (half of
# them cats) with each detector's verdict, green where it is right.

# %%
IMAGES_SHOWN = 8  # test images in the figure: half cats, half not


def plot_comparison(results, p_cats, x_test, y_test):
    """Bars of cats found and non-cats rejected per detector, then test images and verdicts."""
    fig = plt.figure(figsize=(13, 7.5))
    grid = fig.add_gridspec(2, IMAGES_SHOWN, height_ratios=[2.2, 1], hspace=0.35)
    ax = fig.add_subplot(grid[0, :])
    width = 0.8 / len(results)
    for k, (name, r) in enumerate(results.items()):
        values = [r["cat_recall"], r["noncat_rejection"]]
        bars = ax.bar(
            np.arange(2) + (k - (len(results) - 1) / 2) * width, values, width, label=name
        )
        ax.bar_label(bars, [f"{v:.0%}" for v in values])
    ax.set_xticks(range(2), ["test cats called 'cat'", "test non-cats called 'not cat'"])
    ax.set(ylim=(0, 1.12), ylabel="share of test images")
    ax.legend(title="detector trained on", loc="upper center")
    ax.set_title("Without negative examples the detector calls everything a cat")

    cat = CLASS_NAMES.index(CAT)
    shown = np.concatenate(
        [
            np.flatnonzero(y_test == cat)[: IMAGES_SHOWN // 2],
            np.flatnonzero(y_test != cat)[: IMAGES_SHOWN - IMAGES_SHOWN // 2],
        ]
    )
    for col, i in enumerate(shown):
        ax = fig.add_subplot(grid[1, col])
        ax.imshow(x_test[i])
        true_name = CLASS_NAMES[y_test[i]]
        ax.set_title(f"{'an' if true_name[0] in 'aeiou' else 'a'} {true_name}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        for row, (name, p_cat) in enumerate(p_cats.items()):
            says_cat = p_cat[i] >= THRESHOLD
            right = says_cat == (y_test[i] == cat)
            shown_p = np.floor(p_cat[i] * 100) / 100  # cut, not rounded: 0.499 is not "0.50"
            verdict = f"{name}:\n{'cat' if says_cat else 'not cat'} ({shown_p:.2f})"
            ax.text(
                0.5,
                -0.08 - 0.42 * row,
                verdict,
                transform=ax.transAxes,
                ha="center",
                va="top",
                fontsize=7.5,
                color="green" if right else "red",
            )
    fig.text(0.5, 0.0, "verdict (P(cat)) of each detector; red = wrong", ha="center", fontsize=9)
    return fig


figure = save_figure(
    plot_comparison(results, p_cats, x_test, y_test), output_dir / "ker5n_negative_examples.png"
)

# %% [markdown]
# ## Save the numbers

# %%
summary = {
    "detectors": results,
    "cat_class": CAT,
    "threshold": THRESHOLD,
    "epochs": settings.epochs,
    "batch_size": settings.batch_size,
    "params": params,
    "train_images": len(x_train),
    "test_images": len(x_test),
    "test_cats": test_cats,
    "quick": settings.quick,
    "data": str(source),
    "figure": str(figure),
}
print(f"results: {write_json(output_dir / 'ker5n_negative_examples.json', summary)}")
show_figures(settings.no_show)
