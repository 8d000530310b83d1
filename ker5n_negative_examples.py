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
# let through most often is usually the dog, the animal most like a cat); a figure with the
# same numbers as bars, per class too, and test images with each detector's verdict.
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
from common.files import (
    FIGURE_STYLE,
    prepare_output_dir,
    save_figure,
    show_figures,
    verdict,
    write_json,
)
from common.lesson import LessonError

plt.style.use(FIGURE_STYLE)  # one style for every figure: no text under 9 pt
output_dir = prepare_output_dir(settings.output_dir)

# %% [markdown]
# ## The data
#
# CIFAR-10 (the slide's „obrázky 10 kategórii z WordNet“: a hand-labelled subset of the 80
# Million Tiny Images collection, whose class words come from WordNet): 50,000 training and
# 10,000 test images, 32×32 pixels, in colour, of 10 classes, one of them cats: a tenth of the
# images. The test images stay apart: no detector learns from them. Every number measured on
# them says which test images it used: all of them, or a random sample (`--test-images`).

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
all_test = len(x_test)  # 10,000 in CIFAR-10
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
test_set = (  # which test images every number below is measured on
    f"all {all_test:,} test images"
    if len(x_test) == all_test
    else f"a random {len(x_test):,} of the {all_test:,} test images (seed {settings.seed})"
)
print(f"data: {source}; {len(x_train):,} training images; {test_set}")

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


def class_ids(negatives, detector=""):
    """The class numbers of the classes named in negatives; a name that is not a CIFAR-10
    class other than CAT is a LessonError that lists the valid names."""
    valid = [name for name in CLASS_NAMES if name != CAT]
    for name in negatives:
        if name not in valid:
            why = "is the class it detects" if name == CAT else "is not a CIFAR-10 class"
            raise LessonError(
                f"detector '{detector}': {name!r} {why}; its negatives can be: {', '.join(valid)}"
            )
    return [CLASS_NAMES.index(name) for name in negatives]


def detector_data(x_train, y_train, negatives):
    """The images one detector learns from: cats labelled 1, the classes in negatives 0."""
    cat = CLASS_NAMES.index(CAT)
    keep = (y_train == cat) | np.isin(y_train, class_ids(negatives))
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

for name, negatives in DETECTORS.items():  # a typo in a list stops here, before any training
    class_ids(negatives, detector=name)
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
print(f"\nmeasured on {test_set}")
print_comparison(results)

# %% [markdown]
# ## Show it
#
# Left, cats found and non-cats rejected per detector. Right, the table's "said cat" per class
# of test image: a class a detector was shown as "not cat" (solid bar) is the class it learns
# to reject; a class it never saw in training (hatched) it judges by what it learned from the
# others. Below, test images (half of them cats, the others from different classes) with each
# detector's verdict: ✓ right, ✗ wrong.

# %%
IMAGES_SHOWN = 8  # test images in the figure: half cats, half not


def shown_images(y_test, seed=0):
    """IMAGES_SHOWN test images: half of them cats, the rest from different classes."""
    rng = np.random.default_rng(seed)
    cat = CLASS_NAMES.index(CAT)
    cats = rng.permutation(np.flatnonzero(y_test == cat))[: IMAGES_SHOWN // 2]
    others = [c for c in rng.permutation(len(CLASS_NAMES)) if c != cat and np.any(y_test == c)]
    picked = [rng.choice(np.flatnonzero(y_test == c)) for c in others]
    return np.concatenate([cats, picked[: IMAGES_SHOWN - len(cats)]]).astype(int)


def seen_and_unseen(results):
    """How often the detectors said "cat" to non-cat classes they were shown in training, and
    to those they never saw: (share seen, share unseen), None where there were none."""
    seen, unseen = [], []
    for r in results.values():
        for class_name, share in r["called_cat_per_class"].items():
            if class_name != CAT:
                (seen if class_name in r["negatives"] else unseen).append(share)
    return (np.mean(seen) if seen else None), (np.mean(unseen) if unseen else None)


def plot_comparison(results, p_cats, x_test, y_test, what="the test images", seed=0):
    """Cats found and non-cats rejected per detector; "cat" said to each class; test images."""
    fig = plt.figure(figsize=(15, 7.6 + 0.75 * len(results)))
    top, bottom = fig.subfigures(2, 1, height_ratios=[5, 2.6 + 0.75 * len(results)])
    panels = top.subplots(1, 2, width_ratios=[1, 2.2])
    top.subplots_adjust(left=0.06, right=0.98, wspace=0.18, bottom=0.17, top=0.8)
    width = 0.8 / len(results)
    offsets = [(k - (len(results) - 1) / 2) * width for k in range(len(results))]

    ax = panels[0]
    for offset, (name, r) in zip(offsets, results.items(), strict=True):
        values = [r["cat_recall"], r["noncat_rejection"]]
        bars = ax.bar(np.arange(2) + offset, values, width, label=name)
        ax.bar_label(bars, [f"{v:.0%}" for v in values])
    ax.set_xticks(range(2), ["cats called\n'cat'", "non-cats called\n'not cat'"])
    ax.set(ylim=(0, 1.2 + 0.1 * len(results)), ylabel="share of the test images")
    ax.legend(title="detector", loc="upper center")
    worst = min(results, key=lambda n: results[n]["noncat_rejection"])
    best = max(results, key=lambda n: results[n]["noncat_rejection"])
    said = f"'{worst}' calls {1 - results[worst]['noncat_rejection']:.0%} of non-cats 'cat'"
    if best != worst:
        said += f",\n'{best}' {1 - results[best]['noncat_rejection']:.0%}"
    ax.set_title(said)

    ax = panels[1]
    classes = list(next(iter(results.values()))["called_cat_per_class"])
    for k, (offset, r) in enumerate(zip(offsets, results.values(), strict=True)):
        for x, class_name in enumerate(classes):
            shown = class_name == CAT or class_name in r["negatives"]
            ax.bar(
                x + offset,
                r["called_cat_per_class"][class_name],
                width,
                color=f"C{k}",
                alpha=1.0 if shown else 0.45,
                hatch=None if shown else "//",
                edgecolor="white",
            )
    ax.set_xticks(range(len(classes)), classes, rotation=30, ha="right")
    ax.set(ylim=(0, 1.3), ylabel="share called 'cat'")
    ax.bar(0, 0, color="grey", label="shown in training (cat, or as 'not cat')")
    ax.bar(0, 0, color="grey", alpha=0.45, hatch="//", label="never shown in training")
    ax.legend(loc="upper center", ncols=2)
    seen, unseen = seen_and_unseen(results)
    parts = [
        f"{text}: {share:.0%}"
        for text, share in (("shown as 'not cat'", seen), ("never shown", unseen))
        if share is not None
    ]
    ax.set_title("'cat' said to each class; non-cat classes " + ", ".join(parts))

    cat = CLASS_NAMES.index(CAT)
    images = bottom.subplots(1, IMAGES_SHOWN)
    bottom.subplots_adjust(left=0.02, right=0.98, top=0.92, bottom=0.02, wspace=0.3)
    for ax in images:
        ax.axis("off")
    for ax, i in zip(images, shown_images(y_test, seed), strict=False):
        ax.set_anchor("N")  # the image at the top, the verdicts below it
        ax.imshow(x_test[i])
        true_name = CLASS_NAMES[y_test[i]]
        ax.set_title(f"{'an' if true_name[0] in 'aeiou' else 'a'} {true_name}", fontsize=10)
        for row, (name, p_cat) in enumerate(p_cats.items()):
            says_cat = p_cat[i] >= THRESHOLD
            mark = verdict(says_cat == (y_test[i] == cat))
            shown_p = np.floor(p_cat[i] * 100) / 100  # cut, not rounded: 0.499 is not "0.50"
            text = f"{name}:\n{mark['mark']} {'cat' if says_cat else 'not cat'} ({shown_p:.2f})"
            ax.text(
                0.5,
                -0.06 - 0.42 * row,
                text,
                transform=ax.transAxes,
                ha="center",
                va="top",
                fontsize=9,
                color=mark["color"],
            )
    fig.suptitle(
        f"A cat detector with and without negative examples, on {what}; below: each detector's "
        "verdict (P(cat)), ✓ right, ✗ wrong"
    )
    return fig


figure = save_figure(
    plot_comparison(results, p_cats, x_test, y_test, what=test_set, seed=settings.seed),
    output_dir / "ker5n_negative_examples.png",
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
    "test_images_used": test_set,
    "quick": settings.quick,
    "data": str(source),
    "figure": str(figure),
}
print(f"results: {write_json(output_dir / 'ker5n_negative_examples.json', summary)}")
show_figures(settings.no_show)
