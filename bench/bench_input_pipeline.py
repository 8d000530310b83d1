"""How ker5 feeds its training: tf.data against Keras' own backend-neutral ways, per backend.

Three ways to give `fit` shuffled, scaled, augmented batches of CIFAR-10 images:

- `tf.data`: ker5's `tf_data_batches`, a tf.data pipeline that maps the augmentation layers
  over whole batches in parallel threads (ker5's way on TensorFlow's backend; TensorFlow must
  be installed, whatever the backend);
- `in the model`: NumPy arrays go straight to `fit`; the first layers of the trained model
  scale and augment (they act only in training), so the augmentation runs where the model
  runs, on the GPU when there is one;
- `PyDataset`: ker5's `Batches`, a keras.utils.PyDataset, cuts NumPy batches and augments
  them in `__getitem__`, on the CPU, in two worker threads while the model trains (ker5's
  way on the other backends).

Each variant and backend runs in its own process (a backend is fixed when Keras starts).
The rounds are interleaved (A B C A B C ...), so a busy machine slows all alike; each round
trains --epochs timed epochs after one untimed one (compiling), and the table gives the
median images/s of the rounds.

    python bench/bench_input_pipeline.py                       # TensorFlow and JAX, 3 rounds
    python bench/bench_input_pipeline.py --backends tensorflow --rounds 5 --images 8192
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common.lesson import load_definitions, positive_int  # noqa: E402

VARIANTS = ("tf.data", "in the model", "PyDataset")


def parse_args(argv=None):
    """The sizes of the measurement, and --worker for the processes that measure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--backends", nargs="+", default=["tensorflow", "jax"], help="(default: both)")
    add("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS, help="(default: all)")
    add("--images", type=positive_int, default=4096, help="training images (default: 4096)")
    add("--epochs", type=positive_int, default=2, help="timed epochs a round (default: 2)")
    add("--rounds", type=positive_int, default=3, help="rounds per variant (default: 3)")
    add("--batch-size", type=positive_int, default=128, help="(default: 128, ker5's)")
    add(
        "--precision", default="float32", choices=["float32", "bfloat16"], help="(default: float32)"
    )
    add("--worker", default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def worker(args):
    """In one process: train ker5's code network with one variant; print its images/s."""
    from common.keras_setup import start_keras

    keras = start_keras()
    import numpy as np

    ker5 = load_definitions("ker5_cifar10_cnn")
    keras.utils.set_random_seed(0)
    if args.precision == "bfloat16":
        keras.config.set_dtype_policy("mixed_bfloat16")
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (args.images, 32, 32, 3), dtype=np.uint8)
    y = rng.integers(0, 10, args.images)
    recipe = ker5.RECIPES["modern"]
    network = ker5.build_model(arch="code", dropout=recipe["dropout"])
    augmenter = ker5.make_augmenter(seed=0)
    batch = args.batch_size
    if args.worker == "tf.data":
        model = network
        fit = {"x": ker5.tf_data_batches(x, y, batch_size=batch, augmenter=augmenter)}
    elif args.worker == "in the model":
        inputs = keras.Input(x.shape[1:])
        scaled = keras.layers.Rescaling(1 / 255)(inputs)
        model = keras.Model(inputs, network(augmenter(scaled)))
        fit = {"x": x, "y": y, "batch_size": batch, "shuffle": True}
    else:
        model = network
        fit = {"x": ker5.Batches(x, y, batch_size=batch, shuffle=True, augmenter=augmenter)}
    model.compile(
        optimizer=keras.optimizers.Adam(recipe["lr"]),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(**fit, epochs=1, verbose=0)  # compiles
    start = time.perf_counter()
    model.fit(**fit, epochs=args.epochs, verbose=0)
    seconds = time.perf_counter() - start
    images = len(x) // batch * batch * args.epochs
    print("RESULT " + json.dumps({"images_per_s": images / seconds}))


def measure(backend, variant, args):
    """Start one worker process; return its images/s."""
    command = [sys.executable, __file__, "--worker", variant, "--images", str(args.images)]
    command += ["--epochs", str(args.epochs), "--batch-size", str(args.batch_size)]
    command += ["--precision", args.precision]
    env = {**os.environ, "KERAS_BACKEND": backend}
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"error: {variant} on {backend} failed: {done.stderr.strip().splitlines()[-1]}")
    line = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return json.loads(line.removeprefix("RESULT "))["images_per_s"]


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        return worker(args)
    pairs = [(b, v) for b in args.backends for v in args.variants]
    speeds = {pair: [] for pair in pairs}
    for round_number in range(args.rounds):
        for backend, variant in pairs:  # interleaved: each round measures every pair once
            speeds[backend, variant].append(measure(backend, variant, args))
        print(f"round {round_number + 1} of {args.rounds} done", file=sys.stderr)
    print(
        f"{args.images} random images, batch {args.batch_size}, {args.precision}, "
        f"{args.epochs} timed epochs a round, {args.rounds} rounds; {os.cpu_count()} CPU cores"
    )
    print()
    print("| backend | input pipeline | images/s (median) | rounds | against tf.data |")
    print("| --- | --- | --- | --- | --- |")
    for backend, variant in pairs:
        median = statistics.median(speeds[backend, variant])
        base = speeds.get((backend, "tf.data"))
        against = f"{median / statistics.median(base):.2f}×" if base else "-"
        rounds = ", ".join(f"{s:.0f}" for s in speeds[backend, variant])
        print(f"| {backend} | {variant} | {median:.0f} | {rounds} | {against} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
