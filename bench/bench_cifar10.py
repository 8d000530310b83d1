"""Training speed of ker5's two recipes: the classic Keras example against the modern default.

Both recipes train one of ker5's networks (taken from the lesson with load_definitions) through
ker5's own tf.data pipeline with augmentation, on the same images, in the same process. Their
epochs are interleaved (classic, modern, classic, modern, ...) so that other work on the machine
slows both alike; the table gives the median images/s and the range. It also gives images per
CPU-second (the process's CPU time, all threads): that figure barely moves when other programs
share the machine, so it is the fairer one on a busy computer.

    python bench/bench_cifar10.py                          # random images: speed only
    python bench/bench_cifar10.py --data-dir path/to/cifar-10-batches-py
    python bench/bench_cifar10.py --arch table           # the Architektúra slide's network
"""

import argparse
import platform
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from timing import interleaved_speeds  # noqa: E402

from common.cifar10 import add_data_flags, load_cifar10, resolve_data_dir  # noqa: E402
from common.keras_setup import (  # noqa: E402
    choose_precision,
    cpu_has_bfloat16,
    import_tensorflow,
    start_keras,
    use_xla,
)
from common.lesson import load_definitions, positive_int, use_one_line_errors  # noqa: E402


def parse_args(argv=None):
    """Flags: how many images, how many timed rounds, which data."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--images", type=positive_int, default=4096, help="images per timed epoch (default: 4096)"
    )
    parser.add_argument(
        "--rounds", type=positive_int, default=5, help="timed epochs per recipe (default: 5)"
    )
    parser.add_argument(
        "--precision",
        choices=["auto", "float32", "bfloat16"],
        default="auto",
        help="precision of the modern recipe, as in ker5 (default: auto)",
    )
    parser.add_argument(
        "--try-bf16",
        action="store_true",
        help="also time the modern recipe in mixed_bfloat16 where the CPU lacks native "
        "bfloat16, to see why auto falls back to float32 (default: off)",
    )
    parser.add_argument(
        "--arch",
        choices=["code", "table"],
        default="code",
        help="which of ker5's networks both recipes train (default: code)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--verbose", action="store_true", help="show TensorFlow's start-up log")
    add_data_flags(parser)
    return parser.parse_args(argv)


def load_images(args):
    """The first --images training images of the dataset, or random ones if none is given."""
    if resolve_data_dir(args.data_dir) is None:
        rng = np.random.default_rng(args.seed)
        x = rng.integers(0, 256, (args.images, 32, 32, 3), dtype=np.uint8)
        return x, rng.integers(0, 10, args.images), "random images (speed does not depend on them)"
    (x, y), _ = load_cifar10(args.data_dir)
    return x[: args.images], y[: args.images], str(resolve_data_dir(args.data_dir))


def prepare(ker5, recipe, precision, args, x, y):
    """A compiled model and its training dataset for one recipe, exactly as ker5 builds them."""
    own = ker5.RECIPES[recipe]  # the recipe's own epochs, batch size and learning rate
    policy = choose_precision(precision)
    batch_size = own["batch_size"]
    steps_per_epoch = len(x) // batch_size
    model = ker5.build_model(arch=args.arch, dropout=own["dropout"])
    model.compile(  # as ker5's model cell compiles it
        optimizer=ker5.make_optimizer(
            recipe, lr=own["lr"], epochs=own["epochs"], steps_per_epoch=steps_per_epoch
        ),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=use_xla(),
    )
    augmenter = ker5.make_augmenter(seed=args.seed, recipe=recipe)  # each recipe's own
    train = ker5.training_batches(x, y, batch_size=batch_size, augmenter=augmenter, seed=args.seed)
    optimizer = type(model.optimizer).__name__
    row = {"recipe": recipe, "batch": batch_size, "optimizer": optimizer, "precision": policy}
    return model, train, row, steps_per_epoch * batch_size


def main(argv=None):
    """Time both recipes, interleaved, and print one table."""
    use_one_line_errors()
    args = parse_args(argv)
    keras = start_keras(args.verbose)
    ker5 = load_definitions("ker5_cifar10_cnn.py")
    x, y, source = load_images(args)
    keras.utils.set_random_seed(args.seed)
    variants = [("classic", "float32"), ("modern", args.precision)]
    if args.try_bf16 and not cpu_has_bfloat16():
        variants.append(("modern", "bfloat16"))
    runs = [prepare(ker5, recipe, precision, args, x, y) for recipe, precision in variants]
    keras.config.set_dtype_policy("float32")
    for model, train, _, _ in runs:  # the first epoch compiles: not timed
        model.fit(train, epochs=1, verbose=0, shuffle=False)
    timed = [(model, train, images) for model, train, _, images in runs]
    speeds, cpu_speeds = zip(*interleaved_speeds(timed, args.rounds), strict=True)

    tf = import_tensorflow()
    print(f"data: {source}, {len(x)} images an epoch, {args.rounds} timed epochs each")
    print(
        f"machine: {platform.processor() or platform.machine()}, bfloat16 native on the CPU: "
        f"{cpu_has_bfloat16()}, GPUs: {len(tf.config.list_physical_devices('GPU')) if tf else '?'}"
    )
    print()
    print(
        "| recipe | batch | optimizer | precision | images/s (median) | range | speed-up "
        "| images per CPU-second | speed-up per CPU-second |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    base, cpu_base = float(np.median(speeds[0])), float(np.median(cpu_speeds[0]))
    for (_, _, row, _), speed, cpu_speed in zip(runs, speeds, cpu_speeds, strict=True):
        median, cpu_median = float(np.median(speed)), float(np.median(cpu_speed))
        print(
            f"| {row['recipe']} | {row['batch']} | {row['optimizer']} | {row['precision']} | "
            f"{median:.0f} | {min(speed):.0f}–{max(speed):.0f} | {median / base:.2f}× "
            f"| {cpu_median:.0f} | {cpu_median / cpu_base:.2f}× |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
