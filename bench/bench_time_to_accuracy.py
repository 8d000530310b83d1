"""Minutes of training to a given validation accuracy: ker5's networks, each with its recipe.

What a student waits for is not images/s but the time until the model is good enough. This
trains ker5's networks on the same training and validation images (ker5's own split,
pipeline and augmentation), one after the other, and after every epoch records the training
minutes so far and the validation accuracy. A run stops after its epochs, or once its
training time passes --minutes. It prints, for each run, the minutes it took to reach each
accuracy in --targets (or "not within N min"), its test accuracy with and without test-time
augmentation (each test image averaged with its mirror, as ker5 does), its images/s, and, for
each network beside the first, the best validation accuracy it reached within the first
run's training time and within three times that. It draws validation accuracy against
minutes, one curve per run.

    python bench/bench_time_to_accuracy.py --data-dir path/to/cifar-10-batches-py
    python bench/bench_time_to_accuracy.py --data-dir ... --runs code:modern code:classic
    python bench/bench_time_to_accuracy.py --data-dir ... --runs today:today --epochs 30

A run is NETWORK:RECIPE (ker5's --arch and --recipe); --epochs replaces every run's recipe
epochs. On a GPU, with the precision ker5 would choose there (mixed bfloat16):

    python bench/bench_time_to_accuracy.py --data-dir ... --precision bfloat16

It runs on any Keras backend (KERAS_BACKEND=jax on a machine with only JAX, say): off
TensorFlow's backend ker5's input pipeline is a keras.utils.PyDataset, which needs no
TensorFlow.
"""

import argparse
import os
import sys
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common.cifar10 import add_data_flags, load_cifar10, resolve_data_dir  # noqa: E402
from common.files import OUTPUTS, prepare_output_dir, save_figure, write_json  # noqa: E402
from common.keras_setup import gpus, start_keras, use_xla  # noqa: E402
from common.lesson import load_definitions, positive_int, use_one_line_errors  # noqa: E402

keras = start_keras()
ker5 = load_definitions("ker5_cifar10_cnn.py")
QUICK = {"train_images": 10_000, "test_images": 2_000}  # ker5's --quick subset


def run_name(text):
    """argparse type: NETWORK:RECIPE, both ker5's names."""
    arch, _, recipe = text.partition(":")
    recipe = recipe or ker5.DEFAULT_RECIPE.get(arch, "")
    if arch not in ker5.ARCHITECTURES or recipe not in ker5.RECIPES:
        raise argparse.ArgumentTypeError(
            f"{text!r}: NETWORK:RECIPE with a network of {', '.join(ker5.ARCHITECTURES)} and a "
            f"recipe of {', '.join(ker5.RECIPES)}"
        )
    return arch, recipe


def parse_args(argv=None):
    """Flags: the runs, the data, the accuracies to reach, the time cap, the output folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add(
        "--runs",
        type=run_name,
        nargs="+",
        default=[("code", "modern"), ("table", "modern"), ("today", "today")],
        help="NETWORK:RECIPE pairs, in order; the first is the yardstick "
        "(default: code:modern table:modern today:today)",
    )
    add(
        "--targets",
        type=float,
        nargs="+",
        default=[0.80, 0.85, 0.90],
        help="validation accuracies to time (default: 0.80 0.85 0.90)",
    )
    add(
        "--minutes",
        type=float,
        default=60.0,
        help="stop a run once its training took this long (default: 60)",
    )
    add("--epochs", type=positive_int, default=None, help="every run's epochs (default: its own)")
    add(
        "--batch-size",
        type=positive_int,
        default=None,
        help="batch size for every run (default: each recipe's own)",
    )
    add(
        "--precision",
        choices=["float32", "bfloat16"],
        default="float32",
        help="bfloat16 is mixed, as ker5 picks on a GPU or a CPU with native bfloat16 "
        "(default: float32; the classic recipe always trains in float32)",
    )
    add("--quick", action="store_true", help="ker5's --quick subset of the data (default: off)")
    add("--seed", type=int, default=0, help="random seed (default: 0)")
    add("--output-dir", default=str(OUTPUTS), help="where the figure goes (default: outputs/)")
    add_data_flags(parser)
    return parser.parse_args(argv)


def prepare_run(
    arch, recipe, epochs, data, seed, precision="float32", batch_size=None, lesson=None
):
    """One network compiled with one recipe, and its training and validation batches, as
    ker5's cells build them.

    lesson: ker5's definitions, or those of an edited copy (bench/bench_ablation.py).
    Returns the model, the training batches, the validation batches and the batch size.
    """
    ker5 = lesson or globals()["ker5"]
    (x_train, y_train), (x_val, y_val) = data
    own = ker5.RECIPES[recipe]
    batch_size = min(batch_size or own["batch_size"], len(x_train))
    steps_per_epoch = len(x_train) // batch_size
    keras.utils.set_random_seed(seed)
    keras.config.set_dtype_policy("mixed_bfloat16" if precision == "bfloat16" else "float32")
    model = ker5.build_model(arch=arch, dropout=own["dropout"])
    model.compile(  # as ker5's model cell compiles it
        optimizer=ker5.make_optimizer(
            recipe, lr=own["lr"], epochs=epochs, steps_per_epoch=steps_per_epoch
        ),
        loss=ker5.make_loss(recipe),
        metrics=["accuracy"],
        jit_compile=use_xla(),
    )
    one_hot = 10 if own.get("label_smoothing") else 0
    augmenter = ker5.make_augmenter(seed=seed, recipe=recipe)
    train = ker5.training_batches(
        x_train, y_train, batch_size=batch_size, augmenter=augmenter, one_hot=one_hot, seed=seed
    )
    val = ker5.Batches(x_val, y_val, batch_size=256, one_hot=one_hot)
    return model, train, val, batch_size


def train_until(
    arch, recipe, epochs, minutes, data, seed, precision="float32", batch_size=None, lesson=None
):
    """Train one network with one recipe, epoch by epoch, as ker5 does (see prepare_run).

    Returns ([(training minutes, validation accuracy)], [seconds per epoch], the model,
    the batch size).
    """
    model, train, val, batch_size = prepare_run(
        arch, recipe, epochs, data, seed, precision, batch_size, lesson
    )
    curve, seconds = [], []
    for epoch in range(epochs):
        start = time.perf_counter()
        model.fit(train, initial_epoch=epoch, epochs=epoch + 1, verbose=0, shuffle=False)
        seconds.append(time.perf_counter() - start)  # training only: validation is not counted
        accuracy = model.evaluate(val, verbose=0)[1]
        curve.append((sum(seconds) / 60, float(accuracy)))
        print(f"  {arch}: epoch {epoch + 1}, {curve[-1][0]:.1f} min, validation {accuracy:.1%}")
        if curve[-1][0] >= minutes:
            break
    return curve, seconds, model, batch_size


def first_time_at(curve, target):
    """The training minutes when the validation accuracy first reached target, or None."""
    return next((minutes for minutes, accuracy in curve if accuracy >= target), None)


def best_within(curve, minutes):
    """The best validation accuracy of the epochs that ended within minutes, or None."""
    return max((accuracy for m, accuracy in curve if m <= minutes), default=None)


def multiply_adds(model):
    """Multiply-adds of one image's forward pass through the model's Conv2D and Dense layers
    (the arithmetic that counts; batch normalisation, pooling and activations add a few per
    output number). Training costs about three times this: forward, and two products back."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            kernel = layer.kernel.shape  # (height, width, in channels, filters)
            _, height, width, _ = layer.output.shape
            total += height * width * int(np.prod(kernel))
        elif isinstance(layer, keras.layers.Dense):
            total += int(np.prod(layer.kernel.shape))
    return total


def gflops(row):
    """Training arithmetic per second, in billions of floating-point operations: 2 for each
    multiply-add, 3 passes (forward, and the gradients of inputs and weights back)."""
    return 6 * row["multiply_adds"] * row["images_per_second"] / 1e9


def where_it_runs():
    """One line: the backend and the GPUs it sees (or the CPU)."""
    found = [name for name, _ in gpus()] or [f"the CPU ({os.cpu_count()} cores)"]
    feed = "tf.data" if keras.backend.backend() == "tensorflow" else "Batches (a PyDataset)"
    return f"{keras.backend.backend()} backend on {', '.join(found)}; input: ker5's {feed}"


def print_table(rows, targets):
    """The markdown table: one row per run."""
    header = " | ".join(f"minutes to {t:.0%}" for t in targets)
    print(
        f"| network | recipe | precision | {header} | best validation | test | test, "
        "with flips | images/s | multiply-adds an image | GFLOP/s | training minutes |"
    )
    print("| --- | --- | --- |" + " --- |" * (len(targets) + 7))
    for row in rows:
        curve, cells = row["curve"], []
        for target in targets:
            reached = first_time_at(curve, target)
            cells.append(
                f"{reached:.1f}" if reached is not None else f"not within {curve[-1][0]:.1f} min"
            )
        best = max(accuracy for _, accuracy in curve)
        print(
            f"| {row['arch']} | {row['recipe']} | {row['precision']} | {' | '.join(cells)} "
            f"| {best:.1%} | {row['test']:.1%} | {row['test_with_flips']:.1%} "
            f"| {row['images_per_second']:,.0f} | {row['multiply_adds'] / 1e6:.1f} M "
            f"| {gflops(row):.0f} | {curve[-1][0]:.1f} |"
        )


def main(argv=None):
    """Train the runs, then print the minutes to each target and draw the curves."""
    use_one_line_errors()
    args = parse_args(argv)
    out_dir = prepare_output_dir(args.output_dir)
    (x_train, y_train), (x_test, y_test) = load_cifar10(args.data_dir)
    train, val, (x_test, y_test) = ker5.take_data(
        x_train, y_train, x_test, y_test, **(QUICK if args.quick else {}), seed=args.seed
    )
    source = str(resolve_data_dir(args.data_dir) or "keras.datasets.cifar10")
    sizes = {"source": source, "train": len(train[0]), "val": len(val[0]), "test": len(x_test)}
    where = where_it_runs()
    print(where)
    test_images = x_test.astype("float32") / 255.0
    rows = []
    for arch, recipe in args.runs:
        epochs = args.epochs or ker5.RECIPES[recipe]["epochs"]
        precision = "float32" if recipe == "classic" else args.precision
        print(f"{arch}:{recipe}: up to {epochs} epochs or {args.minutes:g} min of training")
        curve, seconds, model, batch_size = train_until(
            arch, recipe, epochs, args.minutes, (train, val), args.seed, precision, args.batch_size
        )
        plain = model.predict(test_images, verbose=0, batch_size=512).argmax(axis=1)
        flipped = ker5.predict_with_flips(model, test_images).argmax(axis=1)
        # The first epoch also compiles the model, so the typical epoch is the median of the rest.
        epoch_seconds = float(np.median(seconds[1:] or seconds))
        rows.append(
            {
                "arch": arch,
                "recipe": recipe,
                "precision": precision,
                "params": model.count_params(),
                "multiply_adds": multiply_adds(model),
                "curve": curve,
                "epoch_seconds": epoch_seconds,
                "images_per_second": len(train[0]) // batch_size * batch_size / epoch_seconds,
                "test": float(np.mean(plain == y_test)),
                "test_with_flips": float(np.mean(flipped == y_test)),
            }
        )

    print(f"\n{where}")
    print(
        f"{sizes['train']:,} training, {sizes['val']:,} validation, {sizes['test']:,} test images"
    )
    print_table(rows, args.targets)
    yardstick = rows[0]
    budget = yardstick["curve"][-1][0]
    for row in rows[1:]:
        for times in (1, 3):
            best = best_within(row["curve"], times * budget)
            reached = "no epoch ended" if best is None else f"best validation {best:.1%}"
            print(
                f"{row['arch']}:{row['recipe']} within {times}x the {yardstick['arch']} network's "
                f"{budget:.1f} training minutes: {reached}"
            )

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for row in rows:
        label = f"{row['arch']} network, {row['recipe']} recipe ({row['params']:,} parameters)"
        ax.plot(*np.array(row["curve"]).T, "o-", label=label)
    for target in args.targets:
        ax.axhline(target, color="gray", lw=0.6, ls=":")
    ax.set(
        xlabel="training minutes",
        ylabel="validation accuracy",
        title=f"CIFAR-10: validation accuracy against training time ({sizes['train']:,} images)",
    )
    ax.grid(alpha=0.3)
    ax.legend()
    save_figure(fig, out_dir / "bench_time_to_accuracy.png")
    write_json(
        out_dir / "bench_time_to_accuracy.json",
        {"where": where, "sizes": sizes, "runs": rows},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
