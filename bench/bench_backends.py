"""Keras 3 on TensorFlow against Keras 3 on JAX: the same lessons' work, timed on each backend.

A backend is fixed when Keras is imported, so each measurement runs in a fresh process with
KERAS_BACKEND set; this script starts them (as `--worker`) and prints one table:

- ker3's fast recipe: seconds in model.fit (the lesson's own JSON), median of --repeats runs;
- ker5's code network, modern recipe, batch 128, shifts and mirror images: training images/s,
  median of --rounds timed epochs after one untimed (compiling) epoch;
- one image through ker5's network: model.predict and model.predict_on_batch, median ms.

    python bench/bench_backends.py                  # random images: speed only
    python bench/bench_backends.py --images 4096 --rounds 5 --repeats 5
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from timing import median_ms  # noqa: E402

from common.lesson import load_definitions, positive_int  # noqa: E402

BACKENDS = ("tensorflow", "jax")


def parse_args(argv=None):
    """Flags: sizes of the measurements, and --worker for the per-backend processes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--images", type=positive_int, default=2048, help="images per timed epoch (default: 2048)")
    add("--rounds", type=positive_int, default=3, help="timed epochs per backend (default: 3)")
    add("--repeats", type=positive_int, default=3, help="ker3 runs per backend (default: 3)")
    add("--calls", type=positive_int, default=30, help="one-image calls timed (default: 30)")
    add("--worker", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def worker(args):
    """In a process of one backend: ker5's training speed and one-image latency, as JSON."""
    from common.keras_setup import start_keras, use_xla

    keras = start_keras()
    ker5 = load_definitions("ker5_cifar10_cnn")
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (args.images, 32, 32, 3), dtype=np.uint8)
    y = rng.integers(0, 10, args.images)
    recipe = ker5.RECIPES["modern"]
    batch_size = recipe["batch_size"]
    model = ker5.build_model(arch="code", dropout=recipe["dropout"])
    model.compile(  # as ker5's model cell compiles it
        optimizer=ker5.make_optimizer(
            "modern", lr=recipe["lr"], epochs=1, steps_per_epoch=len(x) // batch_size
        ),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=use_xla(),
    )
    train = ker5.training_batches(
        x, y, batch_size=batch_size, augmenter=ker5.make_augmenter(seed=0)
    )
    model.fit(train, epochs=1, verbose=0)  # compiles
    speeds = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        model.fit(train, epochs=1, verbose=0)
        speeds.append(len(x) // batch_size * batch_size / (time.perf_counter() - start))
    one = x[:1].astype("float32") / 255.0
    result = {
        "train_images_per_s": float(np.median(speeds)),
        "predict_ms": median_ms(lambda x: model.predict(x, verbose=0), one, args.calls, 60)[0],
        "predict_on_batch_ms": median_ms(model.predict_on_batch, one, args.calls, 60)[0],
        "backend": keras.backend.backend(),
    }
    print("RESULT " + json.dumps(result))


def run_backend(backend, args):
    """ker3's training seconds (its JSON) and the worker's numbers, on one backend."""
    env = {**os.environ, "KERAS_BACKEND": backend, "MPLBACKEND": "Agg"}
    seconds = []
    with tempfile.TemporaryDirectory() as out:
        for _ in range(args.repeats):
            command = [sys.executable, str(ROOT / "ker3_learn_kernel.py"), "--no-show"]
            subprocess.run(
                [*command, "--output-dir", out], env=env, check=True, capture_output=True
            )
            seconds.append(
                json.loads(Path(out, "ker3_learn_kernel.json").read_text())["train_seconds"]
            )
    command = [sys.executable, __file__, "--worker", "--images", str(args.images)]
    command += ["--rounds", str(args.rounds), "--calls", str(args.calls)]
    done = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    line = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    result = json.loads(line.removeprefix("RESULT "))
    assert result["backend"] == backend, result
    result["ker3_fit_seconds"] = float(np.median(seconds))
    return result


def main(argv=None):
    """Measure each backend in its own processes, then print one comparison table."""
    args = parse_args(argv)
    if args.worker:
        return worker(args)
    results = {backend: run_backend(backend, args) for backend in BACKENDS}
    rows = [
        ("ker3 fast recipe: seconds in fit (median)", "ker3_fit_seconds", "{:.2f}"),
        ("ker5 training, batch 128: images/s (median)", "train_images_per_s", "{:.0f}"),
        ("one image, model.predict: ms (median)", "predict_ms", "{:.1f}"),
        ("one image, model.predict_on_batch: ms (median)", "predict_on_batch_ms", "{:.2f}"),
    ]
    print(f"{args.repeats} ker3 runs, {args.rounds} timed epochs of {args.images} random images,")
    print(f"{args.calls} one-image calls, per backend; {os.cpu_count()} CPU cores")
    print()
    print("| measure | tensorflow | jax | jax / tensorflow |")
    print("| --- | --- | --- | --- |")
    for label, key, style in rows:
        tf_value, jax_value = results["tensorflow"][key], results["jax"][key]
        print(
            f"| {label} | {style.format(tf_value)} | {style.format(jax_value)} | "
            f"{jax_value / tf_value:.2f}× |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
