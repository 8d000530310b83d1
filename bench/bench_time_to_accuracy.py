"""Minutes of training to a given validation accuracy: ker5's default recipe against the classic.

What a student waits for is not images/s but the time until the model is good enough. This
trains ker5's code network with each recipe on the same training and validation images (ker5's
own split, pipeline and augmentation), one after the other, and after every epoch records the
training minutes so far and the validation accuracy. A recipe stops after its epochs, or once
its training time passes --minutes. It prints, for each recipe, the minutes it took to reach
each accuracy in --targets (or "not within N min" and the accuracy it had then), and draws
validation accuracy against minutes.

    python bench/bench_time_to_accuracy.py --data-dir path/to/cifar-10-batches-py
    python bench/bench_time_to_accuracy.py --data-dir ... --minutes 60 --targets 0.70 0.75

On a GPU, one recipe and the precision ker5 would choose there (mixed bfloat16):

    python bench/bench_time_to_accuracy.py --data-dir ... --recipes modern --precision bfloat16

It runs on any Keras backend (KERAS_BACKEND=jax on a machine with only JAX, say): ker5's
input pipeline, a keras.utils.PyDataset, needs no TensorFlow.
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


def parse_args(argv=None):
    """Flags: the data, the accuracies to reach, the time cap, where the figure goes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add(
        "--targets",
        type=float,
        nargs="+",
        default=[0.70, 0.75],
        help="validation accuracies to time (default: 0.70 0.75)",
    )
    add(
        "--minutes",
        type=float,
        default=60.0,
        help="stop a recipe once its training took this long (default: 60)",
    )
    add(
        "--epochs",
        type=positive_int,
        default=None,
        help="the default recipe's epochs (default: ker5's, 25)",
    )
    add(
        "--batch-size",
        type=positive_int,
        default=None,
        help="batch size for every recipe trained (default: each recipe's own, 128 and 32)",
    )
    add(
        "--recipes",
        nargs="+",
        choices=list(ker5.RECIPES),
        default=list(ker5.RECIPES),
        help="which recipes to train, in order (default: modern classic)",
    )
    add(
        "--precision",
        choices=["float32", "bfloat16"],
        default="float32",
        help="the default recipe's precision; bfloat16 is mixed, as ker5 picks on a GPU "
        "(default: float32; the classic recipe always trains in float32)",
    )
    add("--quick", action="store_true", help="ker5's --quick subset of the data (default: off)")
    add("--seed", type=int, default=0, help="random seed (default: 0)")
    add("--output-dir", default=str(OUTPUTS), help="where the figure goes (default: outputs/)")
    add_data_flags(parser)
    return parser.parse_args(argv)


def train_until(recipe, epochs, minutes, data, seed, precision="float32", batch_size=None):
    """Train one recipe epoch by epoch.

    Returns ([(training minutes, validation accuracy)], [seconds per epoch], the model).
    """
    (x_train, y_train), (x_val, y_val) = data
    own = ker5.RECIPES[recipe]
    batch_size = min(batch_size or own["batch_size"], len(x_train))
    steps_per_epoch = len(x_train) // batch_size
    keras.utils.set_random_seed(seed)
    keras.config.set_dtype_policy("mixed_bfloat16" if precision == "bfloat16" else "float32")
    model = ker5.build_model(arch="code", dropout=own["dropout"])
    model.compile(  # as ker5's model cell compiles it
        optimizer=ker5.make_optimizer(
            recipe, lr=own["lr"], epochs=epochs, steps_per_epoch=steps_per_epoch
        ),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=use_xla(),
    )
    augmenter = ker5.make_augmenter(seed=seed, recipe=recipe)
    train = ker5.Batches(
        x_train, y_train, batch_size=batch_size, shuffle=True, augmenter=augmenter, seed=seed
    )
    val = ker5.Batches(x_val, y_val, batch_size=256)
    curve, seconds = [], []
    for epoch in range(epochs):
        start = time.perf_counter()
        model.fit(train, initial_epoch=epoch, epochs=epoch + 1, verbose=0, shuffle=False)
        seconds.append(time.perf_counter() - start)  # training only: validation is not counted
        accuracy = model.evaluate(val, verbose=0)[1]
        curve.append((sum(seconds) / 60, float(accuracy)))
        print(f"  {recipe}: epoch {epoch + 1}, {curve[-1][0]:.1f} min, validation {accuracy:.1%}")
        if curve[-1][0] >= minutes:
            break
    return curve, seconds, model


def first_time_at(curve, target):
    """The training minutes when the validation accuracy first reached target, or None."""
    return next((minutes for minutes, accuracy in curve if accuracy >= target), None)


def where_it_runs():
    """One line: the backend and the GPUs it sees (or the CPU)."""
    found = [name for name, _ in gpus()] or [f"the CPU ({os.cpu_count()} cores)"]
    return f"{keras.backend.backend()} backend on {', '.join(found)}; input: ker5's Batches"


def main(argv=None):
    """Train the recipes, then print the minutes to each target and draw the curves."""
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
    epochs = {
        "modern": args.epochs or ker5.RECIPES["modern"]["epochs"],
        "classic": ker5.RECIPES["classic"]["epochs"],
    }
    precision = {"modern": args.precision, "classic": "float32"}
    rows = []
    for recipe in args.recipes:
        print(f"{recipe}: up to {epochs[recipe]} epochs or {args.minutes:g} min of training")
        curve, seconds, model = train_until(
            recipe,
            epochs[recipe],
            args.minutes,
            (train, val),
            args.seed,
            precision[recipe],
            args.batch_size,
        )
        probabilities = model.predict(x_test.astype("float32") / 255.0, verbose=0, batch_size=512)
        test_accuracy = float(np.mean(probabilities.argmax(axis=1) == y_test))
        # The first epoch also compiles the model, so the typical epoch is the median of the rest.
        epoch_seconds = float(np.median(seconds[1:] or seconds))
        rows.append(
            {
                "recipe": recipe,
                "precision": precision[recipe],
                "curve": curve,
                "epoch_seconds": epoch_seconds,
                "test": test_accuracy,
            }
        )

    curves = {row["recipe"]: row["curve"] for row in rows}
    print(f"\n{where}")
    print(
        f"{sizes['train']:,} training, {sizes['val']:,} validation, {sizes['test']:,} test images"
    )
    header = " | ".join(f"minutes to {t:.0%}" for t in args.targets)
    print(
        f"| recipe | precision | {header} | best validation | test, last epoch "
        "| seconds per epoch | training minutes |"
    )
    print("| --- | --- |" + " --- |" * (len(args.targets) + 4))
    for row in rows:
        curve, cells = row["curve"], []
        for target in args.targets:
            reached = first_time_at(curve, target)
            cells.append(
                f"{reached:.1f}" if reached is not None else f"not within {curve[-1][0]:.1f} min"
            )
        best = max(accuracy for _, accuracy in curve)
        print(
            f"| {row['recipe']} | {row['precision']} | {' | '.join(cells)} | {best:.1%} "
            f"| {row['test']:.1%} | {row['epoch_seconds']:.1f} | {curve[-1][0]:.1f} |"
        )
    for target in args.targets:
        if set(curves) != {"modern", "classic"}:
            break  # one recipe: nothing to compare
        modern, classic = (first_time_at(curves[r], target) for r in ("modern", "classic"))
        if modern and classic:
            print(f"to {target:.0%}: the default recipe was {classic / modern:.1f}x sooner")
        elif modern:
            print(f"to {target:.0%}: the classic recipe did not get there within its minutes")

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for recipe, curve in curves.items():
        ax.plot(*np.array(curve).T, "o-", label=f"{recipe} recipe")
    for target in args.targets:
        ax.axhline(target, color="gray", lw=0.6, ls=":")
    ax.set(
        xlabel="training minutes",
        ylabel="validation accuracy",
        title="CIFAR-10: validation accuracy against training time",
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
