"""Lesson 5: how do we recognise a cat? A CNN learns CIFAR-10, with data augmentation.

Slides "Ako využiť Keras?", "Ako rozpoznať mačku?", "Kde vziať dáta?", "Architektúra" and
"Trénovanie". When we have no idea how to solve a task (is there a cat in this photo?), we
guess an architecture and watch whether it learns from data. This lesson tries the two
architectures the slides show:

- `--arch code` (default): the network on the code slide, the classic Keras cifar10_cnn.py
  example: 4 convolutions, Dense(512), Dense(10), 1,250,858 parameters;
- `--arch table`: the network the "Architektúra" slide adds up, from the learnopencv article
  the slide cites: three blocks of two convolutions (32, 32 | 64, 64 | 64, 64), Flatten hands
  on 2·2·64 = 256 numbers, Dense(512), Dense(10): 276,138 parameters. The two slides show two
  different networks; the parameter table prints the slide's line beside each row.

The training phase and the testing phase of the slide's diagram are two places in the code:
the weights change only inside `model.fit` (section "Train"); `predict` on the test images,
which the model never saw, only reads them (section "Evaluate"). Dropout is on in the first
and off in the second: lesson 4t (ker4t_layers_and_tensors.py) shows that difference.

Augmentation ("pootáča a poposúva": turns and shifts, slide "Trénovanie") is done by Keras
preprocessing layers in a tf.data pipeline: shifts and mirror images by default, turns with
--rotate DEGREES. Without it (--no-augment) the model overfits, and the curves show it.
Training never loses work: Ctrl-C or a crash, then the same command resumes; the best epoch's
model is kept in models/cifar10_cnn.keras and .h5 (models/cifar10_cnn_quick.* for --quick).

Run it:
    python ker5_cifar10_cnn.py --quick          # class demo: 10,000 images, 8 epochs
    python ker5_cifar10_cnn.py                  # whole CIFAR-10 (downloads 170 MB once)
    python ker5_cifar10_cnn.py --data-dir path/to/cifar-10-batches-py   # offline
    python ker5_cifar10_cnn.py --arch table     # the network the Architektúra slide adds up
    python ker5_cifar10_cnn.py --no-augment     # watch it overfit
    python ker5_cifar10_cnn.py --recipe classic # RMSprop 1e-4, batch 32, 100 epochs
    python ker5_cifar10_cnn.py --distribute     # data-parallel over all GPUs (or 2 CPU halves)

What you will see: the parameter table, Keras' progress bars, the test accuracy and the
accuracy per class. On the whole dataset (45,000 training images, 5,000 JPEG test images,
2-core CPU, measured 2026-11-30) the default 25 epochs reached 82.6% (seed 0, one run); an
epoch takes 31-35 s on an idle machine, about 15 minutes in all. The hardest classes were cat
(65%), bird (73%) and dog (77%). With the slide's dropout rates (0.25, 0.5) the same run
reached 79.6%: the model underfits, so less dropout helps. --quick on a 12,000-image folder
reached 56.0% in 93 s of training, with bird (30%), cat (38%) and deer (38%) the hardest.
Figures: outputs/ker5_cifar10_cnn_*.png; numbers:
outputs/ker5_cifar10_cnn.json; per-epoch history: outputs/ker5_cifar10_cnn_history.csv.

The saved model is plain float32. It takes float32 pixels / 255 (0..1), shape (N, 32, 32, 3),
and returns 10 class probabilities in the order of CLASS_NAMES.
"""

import argparse
import math
import re
import time

import numpy as np

from common.cifar10 import CLASS_NAMES, add_data_flags, load_cifar10, resolve_data_dir
from common.cli import make_parser, positive_int
from common.devices import (
    add_device_flags,
    choose_precision,
    choose_strategy,
    describe_precision,
    use_xla,
)
from common.errors import LessonError, run_lesson
from common.figures import pyplot, show
from common.param_table import parameter_rows
from common.paths import MODELS, prepare_output_dir, write_json
from common.quiet_keras import keras, tf
from common.safe_training import (
    architecture_fingerprint,
    finish,
    float32_copy,
    safe_training_callbacks,
    start_or_resume,
    write_history_csv,
)
from common.training_figures import (
    plot_augmented_views,
    plot_confusion,
    plot_curves,
    plot_test_predictions,
)

layers = keras.layers

# This lesson is longer than the others (about 520 lines) because it holds two networks, the
# slide's arithmetic beside its table, both recipes and their flags. What a teacher would not
# explain (resuming, safe saves, devices, figures) is in common/.

# --- Settings: what an instructor changes in class ---
num_classes = len(CLASS_NAMES)  # 10
input_shape = (32, 32, 3)  # (height, width, colour channels)
RECIPES = {
    # modern (default): Adam, a one-epoch warm-up, then cosine decay; shifts by whole pixels
    # with mirrored borders. classic: the classic Keras example, RMSprop and its augmentation.
    "modern": {
        "epochs": 25,
        "batch_size": 128,
        "lr": 2e-3,
        "shift": 0.125,
        "fill": "reflect",
        "interpolation": "nearest",
        "dropout": (0.1, 0.3),
    },
    "classic": {
        "epochs": 100,
        "batch_size": 32,
        "lr": 1e-4,
        "shift": 0.1,
        "fill": "nearest",
        "interpolation": "bilinear",
        "dropout": (0.25, 0.5),
    },
}
CLASSIC_DECAY = 1e-6  # the classic example's RMSprop(lr=1e-4, decay=1e-6)
WARMUP_EPOCHS = 1
VAL_FRACTION = 0.1  # 10% of the training images choose the best epoch; the test set stays unseen
QUICK_TRAIN = 10_000  # --quick: training images (before the validation split) ...
QUICK_TEST = 2_000  # ... test images ...
QUICK_EPOCHS = 8  # ... and epochs
RESUME_FLAGS = ("arch", "recipe", "epochs", "lr", "seed", "no_augment", "rotate", "quick")
MODEL_NAME = "cifar10_cnn"  # models/cifar10_cnn.keras and .h5; variants add a suffix
LESSON = "ker5_cifar10_cnn"
# The "Architektúra" slide's sums, as the slide writes them (its x means "times").
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


# --- Build the model ---


def code_network(dropout=(0.25, 0.5)):
    """The code slide's network (the classic Keras cifar10_cnn.py), layer for layer.

    dropout: the rates after the convolution blocks and after Dense(512); the slide's 0.25
    and 0.5 by default.
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
    # The softmax stays float32 even under mixed precision, so probabilities add up to 1.
    out = layers.Activation("softmax", dtype="float32")(x)
    return keras.Model(inputs=inp, outputs=out, name="cifar10_cnn")


def table_network(dropout=(0.25, 0.5)):
    """The network the 'Architektúra' slide adds up (learnopencv's): 276,138 parameters."""
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


ARCHITECTURES = {"code": code_network, "table": table_network}


def build_model(args):
    """The chosen network, with the recipe's dropout rates."""
    return ARCHITECTURES[args.arch](dropout=RECIPES[args.recipe]["dropout"])


def slide_value(line):
    """The number a slide line adds up: '(32x(3x3))x64 + 64' is 32·3·3·64 + 64."""
    product, bias = line.split("+")
    return math.prod(int(n) for n in re.findall(r"\d+", product)) + int(bias)


def parameter_table(model):
    """Keras' count for every layer with weights, and the slide's line where one matches."""
    rows, next_line = parameter_rows(model), 0
    for row in rows:
        config = model.get_layer(row["layer"]).get_config()
        size = config.get("filters") or config.get("units")
        row["label"] = f"{row['kind']}({size})" if size else row["kind"]
        row["slide"] = None
        for i in range(next_line, len(SLIDE_LINES)):  # the slide's lines, in order
            if slide_value(SLIDE_LINES[i]) == row["count"]:
                row["slide"], next_line = SLIDE_LINES[i], i + 1
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


# --- Prepare the data ---


def prepare_data(args):
    """Load CIFAR-10, take the --quick subset, and split off the validation images."""
    (x_train, y_train), (x_test, y_test) = load_cifar10(args.data_dir)
    rng = np.random.default_rng(args.seed)
    if args.quick:
        keep = rng.permutation(len(x_train))[:QUICK_TRAIN]
        x_train, y_train = x_train[keep], y_train[keep]
        # a random sample, in file order: a test file sorted by class would give its first classes
        pick = np.sort(np.random.default_rng(args.seed).permutation(len(x_test))[:QUICK_TEST])
        x_test, y_test = x_test[pick], y_test[pick]
    order = rng.permutation(len(x_train))
    n_val = max(1, round(VAL_FRACTION * len(x_train)))
    val, train = order[:n_val], order[n_val:]
    if len(train) < 2:
        raise LessonError(f"only {len(train)} training images; CIFAR-10 needs more")
    x_val, y_val, x_train, y_train = x_train[val], y_train[val], x_train[train], y_train[train]
    source = str(resolve_data_dir(args.data_dir) or "keras.datasets.cifar10")
    print(f"data: {source}{' (--quick subset)' if args.quick else ''}")
    print(f"  x_train {x_train.shape}, x_val {x_val.shape}, x_test {x_test.shape}, uint8")
    sizes = {"source": source, "train": len(x_train), "val": len(x_val), "test": len(x_test)}
    return (x_train, y_train), (x_val, y_val), (x_test, y_test), sizes


def make_augmenter(seed, rotate=0.0, recipe="modern"):
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


def make_datasets(x_train, y_train, x_val, y_val, batch_size, augmenter, seed):
    """tf.data pipelines: shuffle, batch, then scale to 0..1 and augment whole batches."""

    def scale(images, labels):  # uint8 (batch, 32, 32, 3) -> float32 0..1
        return tf.cast(images, tf.float32) / 255.0, labels

    def scale_and_augment(images, labels):
        images, labels = scale(images, labels)
        return augmenter(images, training=True), labels

    train = (
        tf.data.Dataset.from_tensor_slices((x_train, y_train))
        .shuffle(len(x_train), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size, drop_remainder=True)  # augmenting a batch at once is much faster
        .map(scale_and_augment if augmenter else scale, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
    val = (
        tf.data.Dataset.from_tensor_slices((x_val, y_val))
        .batch(256)
        .map(scale, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
    return train, val


# --- Train ---


def make_optimizer(args, steps_per_epoch):
    """Modern: Adam with a one-epoch warm-up, then cosine decay. Classic: RMSprop + decay."""
    if args.recipe == "classic":
        # Keras 2's decay=1e-6 meant lr / (1 + 1e-6 · step): an InverseTimeDecay.
        schedule = keras.optimizers.schedules.InverseTimeDecay(args.lr, 1, CLASSIC_DECAY)
        return keras.optimizers.RMSprop(learning_rate=schedule)
    total = args.epochs * steps_per_epoch
    warmup = min(WARMUP_EPOCHS * steps_per_epoch, total // 2)
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=args.lr / 10,
        decay_steps=max(1, total - warmup),
        warmup_target=args.lr,
        warmup_steps=warmup,
        alpha=0.01,
    )
    return keras.optimizers.Adam(learning_rate=schedule)


def compile_model(model, args, steps_per_epoch):
    """What fit will use: the recipe's optimiser, the loss it lowers, the accuracy it reports."""
    model.compile(
        optimizer=make_optimizer(args, steps_per_epoch),
        loss="sparse_categorical_crossentropy",  # labels are class numbers 0..9
        metrics=["accuracy"],
        jit_compile=use_xla(),
    )


def train(model, args, train_ds, val_ds, run):
    """The training phase: fit changes the weights. Resumes a killed run of the same model.

    Returns (history, best epoch, first epoch, model paths), or None if training diverged.
    """
    name = model_name(args)
    model_paths = [args.model_dir / f"{name}.keras", args.model_dir / f"{name}.h5"]
    state_dir = args.model_dir / f"{name}.resume"  # each kind of run resumes only itself
    settings = {**{k: getattr(args, k) for k in RESUME_FLAGS}, **run}  # resume only the same run
    first_epoch, best = start_or_resume(state_dir, settings, architecture_fingerprint(model))
    if first_epoch:
        print(f"resuming the interrupted run at epoch {first_epoch + 1} of {args.epochs}")
    print(
        f"training: {args.recipe} recipe, {args.arch} network, batch {run['batch_size']}, "
        f"{args.epochs} epochs, lr {args.lr}"
    )
    status = {"epoch": first_epoch, "diverged": 0, "t0": time.perf_counter()}
    saved_copy = float32_copy(lambda: build_model(args))  # float32 runs on any CPU
    callbacks = safe_training_callbacks(model, saved_copy, model_paths, state_dir, best, status)
    try:
        model.fit(
            train_ds,
            validation_data=val_ds,
            epochs=args.epochs,
            callbacks=callbacks,
            shuffle=False,  # tf.data already shuffles; this only silences a warning
            verbose=1,
        )
    except KeyboardInterrupt:
        print(f"\ninterrupted in epoch {status['epoch']}; run the same command to resume")
        raise
    history = finish(state_dir)
    if status["diverged"]:
        kept = f"kept the last good model in {args.model_dir}" if best else "no model was saved"
        print(f"training diverged at epoch {status['diverged']}; try a smaller --lr ({kept})")
        return None
    return history, best, first_epoch, model_paths


# --- Evaluate ---


def evaluate(model_path, x_test, y_test):
    """The testing phase: the saved model predicts images it never saw; weights stay frozen."""
    model = keras.models.load_model(model_path)  # judge the model as it was saved
    probabilities = model.predict(x_test.astype("float32") / 255.0, verbose=0, batch_size=512)
    predicted = probabilities.argmax(axis=1)
    confusion = np.zeros((num_classes, num_classes), dtype=int)  # rows: true, columns: predicted
    np.add.at(confusion, (y_test, predicted), 1)
    return predicted, confusion


def report(args, model, rows, history, best, first_epoch, confusion, run):
    """Print what the lesson is about; return its numbers for outputs/ker5_cifar10_cnn.json."""
    test_accuracy = float(confusion.trace() / confusion.sum())
    per_class = confusion.diagonal() / np.maximum(confusion.sum(axis=1), 1)
    seconds = history["epoch_seconds"]
    # The first epoch also compiles the model, so the typical speed is the median of the rest.
    images = run["data"]["train"] // run["batch_size"] * run["batch_size"]
    images_per_second = images / float(np.median(seconds[1:] or seconds))
    print(f"\nbest epoch: {best['epoch']} (validation accuracy {best['val_accuracy']:.3f})")
    print(f"test accuracy of the saved model: {test_accuracy:.1%} on {confusion.sum():,} images")
    print("accuracy per class:")
    for name, accuracy in zip(CLASS_NAMES, per_class, strict=True):
        print(f"  {name:<11} {accuracy:6.1%}  {'#' * round(accuracy * 30)}")
    print(f"training took {sum(seconds):.0f} s ({images_per_second:.0f} images/s)")
    return {
        "test_accuracy": test_accuracy,
        "per_class_accuracy": dict(zip(CLASS_NAMES, map(float, per_class), strict=True)),
        "params": model.count_params(),
        "param_table": rows,
        **{k: getattr(args, k) for k in RESUME_FLAGS},
        **run,
        "epochs": len(history["loss"]),
        "best_epoch": best["epoch"],
        "best_val_accuracy": best["val_accuracy"],
        "resumed_at_epoch": first_epoch + 1 if first_epoch else None,
        "train_seconds": float(sum(seconds)),
        "images_per_second": images_per_second,
        "augment": not args.no_augment,
        "final_train_accuracy": history["accuracy"][-1],
        "final_val_accuracy": history["val_accuracy"][-1],
    }


def main(argv=None):
    args = parse_args(argv)
    output_dir = prepare_output_dir(args.output_dir)
    args.model_dir = prepare_output_dir(args.model_dir)
    out = output_dir / LESSON  # outputs/ker5_cifar10_cnn, then "_curves.png", ".json", ...
    plt = pyplot(args.no_show)

    # --- Prepare the data ---
    (x_train, y_train), (x_val, y_val), (x_test, y_test), sizes = prepare_data(args)
    keras.utils.set_random_seed(args.seed)
    strategy, devices = choose_strategy(args.distribute)
    policy = choose_precision("float32" if args.recipe == "classic" else args.precision)
    print(describe_precision(policy, args.precision))
    batch_size = min(args.batch_size, len(x_train))
    run = {"batch_size": batch_size, "precision": policy, "devices": devices, "data": sizes}
    augmenter = None if args.no_augment else make_augmenter(args.seed, args.rotate, args.recipe)
    train_ds, val_ds = make_datasets(
        x_train, y_train, x_val, y_val, batch_size, augmenter, args.seed
    )
    views = plot_augmented_views(
        plt, augmenter, x_train, y_train, CLASS_NAMES, f"{out}_augmentation.png"
    )

    # --- Build the model ---
    with strategy.scope():
        model = build_model(args)
        compile_model(model, args, len(x_train) // batch_size)
    rows = parameter_table(model)
    print_parameter_table(rows, model.count_params())

    # --- Train ---
    trained = train(model, args, train_ds, val_ds, run)
    if trained is None:
        return 1  # diverged: the last good model was kept
    history, best, first_epoch, model_paths = trained
    write_history_csv(history, f"{out}_history.csv")

    # --- Evaluate ---
    predicted, confusion = evaluate(model_paths[0], x_test, y_test)
    results = report(args, model, rows, history, best, first_epoch, confusion, run)

    # --- Show it ---
    on = "dropout on (augmentation off)" if args.no_augment else "dropout and augmentation on"
    note = f"training figures are averaged over each epoch, with {on}"
    figures = [
        views,
        plot_curves(plt, history, f"{out}_curves.png", note),
        plot_confusion(plt, confusion, CLASS_NAMES, f"{out}_confusion.png"),
        plot_test_predictions(
            plt, x_test, y_test, predicted, CLASS_NAMES, f"{out}_predictions.png"
        ),
    ]
    for path in model_paths:
        print(f"model: {path}")
    results["model_paths"] = [str(path) for path in model_paths]
    results["history_csv"] = f"{out}_history.csv"
    results["figures"] = [str(figure) for figure in figures]
    print(f"results: {write_json(f'{out}.json', results)}")
    show(plt, args.no_show)
    return 0


# --- The command line ---


def degrees(text):
    """argparse type: an angle from 0 to 180 degrees."""
    value = float(text)
    if not 0 <= value <= 180:
        raise argparse.ArgumentTypeError(f"must be 0 to 180 degrees, got {text}")
    return value


def parse_args(argv=None):
    """The shared flags plus this lesson's own; recipe defaults fill what was not typed."""
    parser = make_parser(__doc__)
    add = parser.add_argument
    add(
        "--arch",
        choices=sorted(ARCHITECTURES),
        default="code",
        help="code: the code slide's network (1,250,858 parameters); table: the network the "
        "Architektúra slide adds up (276,138) (default: code)",
    )
    add(
        "--recipe",
        choices=sorted(RECIPES),
        default="modern",
        help="modern: Adam, cosine schedule, batch 128, 25 epochs, dropout 0.1/0.3; classic: "
        "RMSprop 1e-4 with decay 1e-6, batch 32, 100 epochs, the slide's dropout (default: modern)",
    )
    add(
        "--epochs",
        type=positive_int,
        default=None,
        help=f"training epochs (default: 25 modern, 100 classic, {QUICK_EPOCHS} with --quick)",
    )
    add(
        "--batch-size",
        type=positive_int,
        default=None,
        help="samples per training step (default: 128 modern, 32 classic)",
    )
    add(
        "--lr",
        type=float,
        default=None,
        help="peak learning rate (default: 2e-3 modern, 1e-4 classic)",
    )
    add(
        "--no-augment",
        action="store_true",
        help="train on the plain images, to see overfitting (default: augment)",
    )
    add(
        "--rotate",
        type=degrees,
        default=0.0,
        metavar="DEGREES",
        help="also turn each training image by up to ±DEGREES, as the slide does; on "
        "cifar10-mini it did not raise accuracy (default: 0, shifts and mirror images only)",
    )
    add_device_flags(parser)  # --precision and --distribute
    add(
        "--model-dir",
        default=str(MODELS),
        help="where the best model and the resume backup are kept (default: models/)",
    )
    add_data_flags(parser)
    args = parser.parse_args(argv)
    recipe = RECIPES[args.recipe]
    if args.epochs is None:
        args.epochs = QUICK_EPOCHS if args.quick else recipe["epochs"]
    args.batch_size = args.batch_size or recipe["batch_size"]
    args.lr = recipe["lr"] if args.lr is None else args.lr
    if not (args.lr > 0 and math.isfinite(args.lr)):
        parser.error(f"--lr must be a positive number, got {args.lr}")
    if args.rotate and args.no_augment:
        parser.error("--rotate turns the augmented images, so it does nothing with --no-augment")
    return args


def model_name(args):
    """The default run's files are cifar10_cnn.*; a variant's carry its flags (cifar10_cnn_quick.*),
    so a class demo never replaces the model of a long run."""
    parts = [MODEL_NAME]
    parts += [args.arch] if args.arch != "code" else []
    parts += [args.recipe] if args.recipe != "modern" else []
    parts += ["no_augment"] if args.no_augment else []
    parts += [f"rotate{args.rotate:g}"] if args.rotate else []
    parts += ["quick"] if args.quick else []
    return "_".join(parts)


if __name__ == "__main__":
    run_lesson(main)
