"""What each ingredient of ker5's `--arch today` buys: take them away one at a time.

Each variant is ker5 with one edit, as an instructor would make it in class (the text must
appear exactly once in the lesson, so a changed lesson stops this bench instead of measuring
something else): batch normalisation removed (the convolutions get their bias back), the
residual connections removed (the pair of units stays, the Add goes), label smoothing off;
and one that changes an order rather than taking anything away: batch normalisation before
pooling, where a unit pools, instead of after it.
All train the today network with the today recipe on the same split, seed and epochs.
Test-time augmentation needs no training of its own: every row gives the test accuracy with
and without it.

    python bench/bench_ablation.py --data-dir path/to/cifar-10-batches-py
    python bench/bench_ablation.py --data-dir ... --quick     # ker5's --quick subset, 8 epochs

Training speed alone, with no accuracy: --speed-rounds N trains each variant on the first
--speed-images training images, their epochs interleaved (a, b, a, b, ...) so that other work
on the machine slows all alike, and prints the median images/s of N epochs each and the
images per CPU-second (the process's CPU time, all threads), which barely moves then:

    python bench/bench_ablation.py --data-dir ... --speed-rounds 5 --precision bfloat16
"""

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_time_to_accuracy import (  # noqa: E402
    QUICK,
    gflops,
    multiply_adds,
    prepare_run,
    train_until,
    where_it_runs,
)
from timing import interleaved_speeds  # noqa: E402

from common.cifar10 import add_data_flags, load_cifar10, resolve_data_dir  # noqa: E402
from common.files import OUTPUTS, prepare_output_dir, write_json  # noqa: E402
from common.lesson import load_definitions, positive_int, use_one_line_errors  # noqa: E402

LESSON = Path(__file__).resolve().parent.parent / "ker5_cifar10_cnn.py"
VARIANTS = {  # name: [(text in ker5, replacement)]
    "all ingredients": [],
    "batch norm before pooling": [  # the order of the plain unit, also where a unit pools
        (
            "        if pool:  # half the size first: batch norm then has a quarter of the numbers"
            " to pass\n            x = layers.MaxPooling2D(pool_size=(2, 2))(x)\n",
            "",
        ),
        (
            '        return layers.Activation("relu")(x)\n',
            '        x = layers.Activation("relu")(x)\n'
            "        return layers.MaxPooling2D(pool_size=(2, 2))(x) if pool else x\n",
        ),
    ],
    "no batch normalisation": [
        ("use_bias=False)(x)  # BN has a bias", "use_bias=True)(x)"),
        ("        x = layers.BatchNormalization(momentum=0.9)(x)", "        pass  # no BN:"),
    ],
    "no residual connections": [
        (
            "x = layers.Add()([x, unit(unit(x, filters), filters)])",
            "x = unit(unit(x, filters), filters)",
        ),
    ],
    "no label smoothing": [('"label_smoothing": 0.1,', '"label_smoothing": 0.0,')],
}


def edited_lesson(edits, folder):
    """ker5's definitions after the edits, from a copy in folder."""
    text = LESSON.read_text(encoding="utf-8")
    for old, new in edits:
        if text.count(old) != 1:
            sys.exit(f"error: ker5_cifar10_cnn.py should contain this once: {old!r}")
        text = text.replace(old, new)
    copy = Path(folder) / LESSON.name
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_text(text, encoding="utf-8")
    return load_definitions(copy)


def time_variants(names, data, rounds, seed, precision, folder):
    """Each variant's training speed: rows of its median images/s, their range, and its median
    images per CPU-second, over rounds interleaved epochs (the first epoch, which compiles,
    not counted)."""
    runs = []
    for name in names:
        lesson = edited_lesson(VARIANTS[name], Path(folder) / name.replace(" ", "_"))
        model, train, _, batch = prepare_run(
            "today", "today", rounds + 1, data, seed, precision, lesson=lesson
        )
        model.fit(train, epochs=1, verbose=0, shuffle=False)
        runs.append((model, train, len(data[0][0]) // batch * batch))
    speeds = interleaved_speeds(runs, rounds)
    return [
        {
            "variant": name,
            "images_per_second": float(np.median(wall)),
            "range": (min(wall), max(wall)),
            "images_per_cpu_second": float(np.median(cpu)),
        }
        for name, (wall, cpu) in zip(names, speeds, strict=True)
    ]


def print_speeds(rows):
    """The speed table, each variant against the first."""
    print(
        "| variant | images/s (median) | range | against the first "
        "| images per CPU-second | against the first |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    base, cpu_base = rows[0]["images_per_second"], rows[0]["images_per_cpu_second"]
    for r in rows:
        low, high = r["range"]
        print(
            f"| {r['variant']} | {r['images_per_second']:,.0f} | {low:,.0f}–{high:,.0f} "
            f"| {r['images_per_second'] / base:.2f}× | {r['images_per_cpu_second']:,.0f} "
            f"| {r['images_per_cpu_second'] / cpu_base:.2f}× |"
        )


def main(argv=None):
    use_one_line_errors()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=positive_int, default=None, help="(default: 15, quick 8)")
    parser.add_argument("--quick", action="store_true", help="ker5's --quick subset")
    parser.add_argument("--precision", choices=["float32", "bfloat16"], default="float32")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--speed-rounds",
        type=positive_int,
        default=None,
        help="time this many interleaved epochs of each variant instead (default: off)",
    )
    parser.add_argument(
        "--speed-images",
        type=positive_int,
        default=4096,
        help="training images an epoch with --speed-rounds (default: 4096)",
    )
    parser.add_argument("--output-dir", default=str(OUTPUTS))
    add_data_flags(parser)
    args = parser.parse_args(argv)
    out_dir = prepare_output_dir(args.output_dir)
    (x_train, y_train), (x_test, y_test) = load_cifar10(args.data_dir)
    ker5 = load_definitions(LESSON)
    train, val, (x_test, y_test) = ker5.take_data(
        x_train, y_train, x_test, y_test, **(QUICK if args.quick else {}), seed=args.seed
    )
    if args.speed_rounds:
        some = (train[0][: args.speed_images], train[1][: args.speed_images])
        with tempfile.TemporaryDirectory() as folder:
            rows = time_variants(
                args.variants, (some, val), args.speed_rounds, args.seed, args.precision, folder
            )
        print(f"\n{where_it_runs()}; {args.precision}; seed {args.seed}")
        print(f"{len(some[0]):,} training images an epoch, {args.speed_rounds} timed epochs each")
        print_speeds(rows)
        write_json(out_dir / "bench_ablation_speed.json", {"rows": rows})
        return 0
    epochs = args.epochs or (8 if args.quick else ker5.RECIPES["today"]["epochs"])
    test_images = x_test.astype("float32") / 255.0
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name in args.variants:
            print(f"{name}: {epochs} epochs")
            lesson = edited_lesson(VARIANTS[name], folder)
            curve, seconds, model, batch = train_until(
                "today",
                "today",
                epochs,
                float("inf"),
                (train, val),
                args.seed,
                args.precision,
                lesson=lesson,
            )
            plain = model.predict(test_images, verbose=0, batch_size=512).argmax(1)
            flipped = lesson.predict_with_flips(model, test_images).argmax(1)
            rows.append(
                {
                    "variant": name,
                    "params": model.count_params(),
                    "multiply_adds": multiply_adds(model),
                    "best_val": max(a for _, a in curve),
                    "test": float(np.mean(plain == y_test)),
                    "test_with_flips": float(np.mean(flipped == y_test)),
                    "images_per_second": len(train[0])
                    // batch
                    * batch
                    / float(np.median(seconds[1:] or seconds)),
                    "minutes": curve[-1][0],
                }
            )
    source = resolve_data_dir(args.data_dir) or "keras.datasets.cifar10"
    print(f"\n{where_it_runs()}; {args.precision}; seed {args.seed}; {epochs} epochs")
    print(f"{len(train[0]):,} training, {len(val[0]):,} validation, {len(x_test):,} test images")
    print(f"data: {source}")
    print(
        "| variant | parameters | best validation | test, no TTA | test, with TTA "
        "| images/s | multiply-adds an image | GFLOP/s | training minutes |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(
            f"| {r['variant']} | {r['params']:,} | {r['best_val']:.1%} | {r['test']:.1%} "
            f"| {r['test_with_flips']:.1%} | {r['images_per_second']:,.0f} "
            f"| {r['multiply_adds'] / 1e6:.1f} M | {gflops(r):.0f} | {r['minutes']:.1f} |"
        )
    write_json(out_dir / "bench_ablation.json", {"epochs": epochs, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
