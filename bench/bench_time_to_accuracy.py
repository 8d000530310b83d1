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
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import ker5_cifar10_cnn as ker5  # noqa: E402
from common.cifar10 import add_data_flags  # noqa: E402
from common.cli import positive_int  # noqa: E402
from common.errors import run_lesson  # noqa: E402
from common.figures import pyplot, save_figure  # noqa: E402
from common.paths import OUTPUTS, prepare_output_dir, write_json  # noqa: E402
from common.quiet_keras import keras  # noqa: E402


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
        help="the default recipe's epochs (default: ker5's, 15)",
    )
    add("--quick", action="store_true", help="ker5's --quick subset of the data (default: off)")
    add("--seed", type=int, default=0, help="random seed (default: 0)")
    add("--output-dir", default=str(OUTPUTS), help="where the figure goes (default: outputs/)")
    add_data_flags(parser)
    return parser.parse_args(argv)


def train_until(recipe, epochs, minutes, data, seed):
    """Train one recipe epoch by epoch; returns [(training minutes, validation accuracy)]."""
    (x_train, y_train), (x_val, y_val) = data
    settings = argparse.Namespace(
        recipe=recipe, arch="code", **{**ker5.RECIPES[recipe], "epochs": epochs}
    )
    keras.utils.set_random_seed(seed)
    model = ker5.build_model(settings)
    ker5.compile_model(model, settings, len(x_train) // settings.batch_size)
    augmenter = ker5.make_augmenter(seed, recipe=recipe)
    train, val = ker5.make_datasets(
        x_train, y_train, x_val, y_val, settings.batch_size, augmenter, seed
    )
    curve, spent = [], 0.0
    for epoch in range(epochs):
        start = time.perf_counter()
        model.fit(train, initial_epoch=epoch, epochs=epoch + 1, verbose=0, shuffle=False)
        spent += time.perf_counter() - start  # training only: validation is not counted
        accuracy = model.evaluate(val, verbose=0)[1]
        curve.append((spent / 60, float(accuracy)))
        print(f"  {recipe}: epoch {epoch + 1}, {spent / 60:.1f} min, validation {accuracy:.1%}")
        if spent / 60 >= minutes:
            break
    return curve


def first_time_at(curve, target):
    """The training minutes when the validation accuracy first reached target, or None."""
    return next((minutes for minutes, accuracy in curve if accuracy >= target), None)


def main(argv=None):
    """Train both recipes, then print the minutes to each target and draw the curves."""
    args = parse_args(argv)
    out_dir = prepare_output_dir(args.output_dir)
    split = argparse.Namespace(data_dir=args.data_dir, quick=args.quick, seed=args.seed)
    train, val, _, sizes = ker5.prepare_data(split)
    epochs = {
        "modern": args.epochs or ker5.RECIPES["modern"]["epochs"],
        "classic": ker5.RECIPES["classic"]["epochs"],
    }
    curves = {}
    for recipe in ("modern", "classic"):
        print(f"{recipe}: up to {epochs[recipe]} epochs or {args.minutes:g} min of training")
        curves[recipe] = train_until(recipe, epochs[recipe], args.minutes, (train, val), args.seed)

    print(f"\n{sizes['train']:,} training and {sizes['val']:,} validation images")
    header = " | ".join(f"minutes to {t:.0%}" for t in args.targets)
    print(f"| recipe | {header} | best validation accuracy | training minutes |")
    print("| --- |" + " --- |" * (len(args.targets) + 2))
    for recipe, curve in curves.items():
        cells = []
        for target in args.targets:
            reached = first_time_at(curve, target)
            cells.append(
                f"{reached:.1f}" if reached is not None else f"not within {curve[-1][0]:.1f} min"
            )
        best = max(accuracy for _, accuracy in curve)
        print(f"| {recipe} | {' | '.join(cells)} | {best:.1%} | {curve[-1][0]:.1f} |")
    for target in args.targets:
        modern, classic = (first_time_at(curves[r], target) for r in ("modern", "classic"))
        if modern and classic:
            print(f"to {target:.0%}: the default recipe was {classic / modern:.1f}x sooner")

    plt = pyplot(no_show=True)
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
    write_json(out_dir / "bench_time_to_accuracy.json", {"sizes": sizes, "curves": curves})
    return 0


if __name__ == "__main__":
    run_lesson(main)
