"""Lesson 5n: why we also need negative examples.

Slide "Kde vziať dáta?": "we also need negative examples; the system in fact learns to tell
one kind of data from another".

A detector answers one question: is this a cat? Train one on cats only, and every label it
ever sees is "cat". The cheapest way to be right on all of them is to say "cat" to
everything, and that is what it learns: on the test set it finds every cat, and it also
calls every airplane, frog and truck a cat. Its accuracy on the non-cats is about 0%.
Beside it, the same network (same layers, same starting weights, same epochs) is trained
on cats AND non-cats. Now "cat" has to mean something that the other images lack: it still
finds most cats and rejects most non-cats. The non-cat it lets through most often is the
dog, the animal most like a cat.

Run it:
    python ker5n_negative_examples.py                  # downloads CIFAR-10 once (170 MB)
                                                       # and trains on 10,000 of its images
    python ker5n_negative_examples.py --data-dir path/to/cifar-10-batches-py   # offline
    python ker5n_negative_examples.py --quick          # 4,000 training images, 5 epochs

What a run prints, on a 12,000-image CIFAR-10 folder (10,000 training images, 2,000 test
images, 8 epochs; 56 s in all on two busy cores, 29 s of CPU time):
    detector             trained on                  cats found   non-cats rejected   training
    cats only            997 cats, 0 non-cats            100.0%                0.0%      7.6 s
    cats and non-cats    997 cats, 9,003 non-cats         83.0%               70.5%     32.2 s
then, per test class, how often each detector said "cat": 100% of every class for the first;
for the second 78.5% of the dogs but 5.4% of the cars. --quick: 100.0% / 0.0% against
67.0% / 65.6%, in 30 s. The numbers move by a few points from seed to seed.
Figure: outputs/ker5n_negative_examples.png; numbers: outputs/ker5n_negative_examples.json.
"""

import time

import numpy as np

from common.cifar10 import CLASS_NAMES, add_data_flags, load_cifar10, resolve_data_dir
from common.cli import make_parser
from common.errors import LessonError, run_lesson
from common.figures import pyplot, save_figure, show
from common.paths import prepare_output_dir, write_json
from common.quiet_keras import keras  # this lesson needs no tf of its own

LESSON = "ker5n_negative_examples"
CAT = "cat"  # the class the detector looks for
# Each detector and the classes it is shown as "not cat" while it learns. Add a line to
# compare another choice, e.g. "cats and dogs": ["dog"].
DETECTORS = {
    "cats only": [],
    "cats and non-cats": [name for name in CLASS_NAMES if name != CAT],
}
EPOCHS = 8  # the same for every detector
QUICK_EPOCHS = 5
BATCH_SIZE = 128  # batch 64 made the cat/non-cat balance swing more from epoch to epoch
LEARNING_RATE = 1e-3
THRESHOLD = 0.5  # a probability of "cat" at or above this is a "cat" verdict
TRAIN_IMAGES = 10_000  # taken at random from the training set: under a minute on two cores
QUICK_TRAIN_IMAGES = 4_000
QUICK_TEST_IMAGES = 2_000
IMAGES_SHOWN = 8  # test images in the figure: half cats, half not
input_shape = (32, 32, 3)  # (height, width, colour channels)


def parse_args(argv=None):
    """The shared flags, with --quick defaults for --epochs, and --data-dir."""
    parser = make_parser(__doc__, epochs=(EPOCHS, QUICK_EPOCHS), batch_size=BATCH_SIZE)
    add_data_flags(parser)
    return parser.parse_args(argv)


# --- Prepare the data ---


def take_subset(train, test, quick, seed):
    """A random TRAIN_IMAGES of the training set (fewer with --quick); the test set as is."""
    (x_train, y_train), (x_test, y_test) = train, test
    keep = QUICK_TRAIN_IMAGES if quick else TRAIN_IMAGES
    chosen = np.random.default_rng(seed).permutation(len(x_train))[:keep]
    if quick:
        x_test, y_test = x_test[:QUICK_TEST_IMAGES], y_test[:QUICK_TEST_IMAGES]
    return (x_train[chosen], y_train[chosen]), (x_test, y_test)


def detector_data(x_train, y_train, negatives):
    """The images one detector learns from: cats labelled 1, the classes in negatives 0."""
    cat = CLASS_NAMES.index(CAT)
    negative_ids = [CLASS_NAMES.index(name) for name in negatives]
    keep = (y_train == cat) | np.isin(y_train, negative_ids)
    x = x_train[keep].astype("float32") / 255.0  # (N, 32, 32, 3), pixels 0..1
    labels = (y_train[keep] == cat).astype("float32")  # (N,): 1 = cat, 0 = not cat
    return x, labels


def balanced_class_weight(labels):
    """Keras class_weight that gives each label present the same total weight.

    With all non-cats there are 9 of them for every cat, so a detector that always says
    "not cat" is already right 90% of the time, and the loss pushes it there. Weighting
    each image by N / (labels present x images with its label) makes the cats count as much,
    in total, as the non-cats. With cats only it is {1: 1.0}: nothing changes.
    """
    present, counts = np.unique(labels.astype(int), return_counts=True)
    return {
        int(c): len(labels) / (len(present) * int(n)) for c, n in zip(present, counts, strict=True)
    }


# --- Build the model ---


def build_model():
    """A small CNN with one output: the probability that the image is a cat."""
    layers = keras.layers
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


# --- Train ---


def train_detector(x, labels, class_weight, epochs, batch_size, seed, verbose):
    """Train a fresh detector (the same starting weights for every seed) on x and labels."""
    keras.utils.set_random_seed(seed)  # same seed, same layers: the same starting weights
    model = build_model()
    model.compile(
        optimizer=keras.optimizers.Adam(LEARNING_RATE),
        loss="binary_crossentropy",  # one yes/no answer per image
        metrics=["accuracy"],
    )
    start = time.perf_counter()
    model.fit(
        x,
        labels,
        epochs=epochs,
        batch_size=min(batch_size, len(x)),
        class_weight=class_weight,  # {label: weight}: how much each image's error counts
        verbose=2 if verbose else 0,
    )
    return model, time.perf_counter() - start


# --- Evaluate ---


def verdicts(model, x_test):
    """P(cat) for every test image, computed in batches; shape (N,)."""
    probabilities = model.predict(x_test.astype("float32") / 255.0, batch_size=512, verbose=0)
    return probabilities[:, 0]


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


# --- Show it ---


def plot_comparison(plt, results, p_cats, x_test, y_test, path):
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
    return save_figure(fig, path)


# --- The lesson ---


def main(argv=None):
    """Train a cat detector without and with negative examples, and compare them."""
    args = parse_args(argv)
    output_dir = prepare_output_dir(args.output_dir)
    (x_train, y_train), (x_test, y_test) = take_subset(
        *load_cifar10(args.data_dir), args.quick, args.seed
    )
    test_cats = int(np.sum(y_test == CLASS_NAMES.index(CAT)))
    if not np.any(y_train == CLASS_NAMES.index(CAT)) or not test_cats:
        raise LessonError(f"the data has no {CAT} images among its training or test images")
    source = resolve_data_dir(args.data_dir) or "keras.datasets.cifar10"
    print(f"data: {source}; {len(x_train):,} training and {len(x_test):,} test images")
    params = build_model().count_params()
    print(f"detector: {params:,} parameters, the same for each; {args.epochs} epochs each")

    results, p_cats = {}, {}
    for name, negatives in DETECTORS.items():
        x, labels = detector_data(x_train, y_train, negatives)
        class_weight = balanced_class_weight(labels)
        print(f"training '{name}' on {len(x):,} images ...", flush=True)
        model, seconds = train_detector(
            x, labels, class_weight, args.epochs, args.batch_size, args.seed, args.verbose
        )
        p_cats[name] = verdicts(model, x_test)
        results[name] = {
            "negatives": negatives,
            "train_cats": int(labels.sum()),
            "train_noncats": int(len(labels) - labels.sum()),
            "class_weight": {str(label): w for label, w in class_weight.items()},
            "train_seconds": seconds,
            **score(p_cats[name], y_test),
        }
    print_comparison(results)

    plt = pyplot(args.no_show)
    figure = plot_comparison(plt, results, p_cats, x_test, y_test, output_dir / f"{LESSON}.png")
    summary = {
        "detectors": results,
        "cat_class": CAT,
        "threshold": THRESHOLD,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "params": params,
        "train_images": len(x_train),
        "test_images": len(x_test),
        "test_cats": test_cats,
        "quick": args.quick,
        "data": str(source),
        "figure": str(figure),
    }
    print(f"results: {write_json(output_dir / f'{LESSON}.json', summary)}")
    show(plt, args.no_show)
    return 0


if __name__ == "__main__":
    run_lesson(main)
