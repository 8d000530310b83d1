"""Benchmark for lesson 3: the seminar's recipe against the fast one and least squares.

All three learn the Sobel-x kernel back from the default photo, prepared exactly as
ker3_learn_kernel.py prepares it. The fast recipe and least squares run --repeats times and
report the median; the seminar's recipe is slow, so it runs once, capped at --seminar-epochs.
The seconds of the gradient-descent rows are the time spent in model.fit.

    python bench/bench_learn_kernel.py                  # about 5-10 minutes on 2 cores
    python bench/bench_learn_kernel.py --seminar-epochs 300 --repeats 3   # a quicker look
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common.cli import positive_int  # noqa: E402
from common.images import read_gray  # noqa: E402
from ker3_learn_kernel import (  # noqa: E402
    MAX_SIDE,
    build_model,
    least_squares,
    make_training_pair,
    train,
    true_kernel,
)


def learn(x, y, recipe, epochs=None, seed=0):
    """ker3's model, trained with one recipe; returns the learned 3x3 kernel and the run."""
    model = build_model(seed)
    run = train(model, x, y, recipe, epochs)
    return model.layers[1].get_weights()[0].reshape(3, 3), run


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seminar-epochs", type=positive_int, default=1500, help="cap (default: 1500)"
    )
    parser.add_argument(
        "--repeats", type=positive_int, default=5, help="runs per fast row (default: 5)"
    )
    args = parser.parse_args()

    image, _ = read_gray(None, max_side=MAX_SIDE)
    kernel = true_kernel("sobel-x")
    x, y = make_training_pair(image, kernel)
    rows = []

    learned, run = learn(x, y, "seminar", epochs=args.seminar_epochs)
    seconds = run["train_seconds"]
    error = float(np.abs(learned - kernel).max())
    rows.append((f"seminar: rmsprop, batch 1, {args.seminar_epochs} epochs", run["epochs"]))
    rows[-1] += (f"{seconds:.1f}", f"{error:.1e}")

    times, errors = [], []
    for seed in range(args.repeats):
        learned, run = learn(x, y, "fast", seed=seed)
        times.append(run["train_seconds"])
        errors.append(float(np.abs(learned - kernel).max()))
    rows.append(
        ("fast: heavy-ball momentum tuned to the curvature", run["epochs"])
        + (f"{statistics.median(times):.2f}", f"{statistics.median(errors):.1e}")
    )

    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        exact = least_squares(x, y)
        times.append(time.perf_counter() - start)
    error = float(np.abs(exact - kernel).max())
    rows.append(("least squares (numpy.linalg.lstsq)", "-", f"{statistics.median(times):.3f}"))
    rows[-1] += (f"{error:.1e}",)

    print(f"image: grace_hopper.jpg at {x.shape[1]}x{x.shape[0]}, kernel sobel-x")
    print(f"fast and least-squares rows: median of {args.repeats} runs; seminar: one run")
    print("| recipe | steps | seconds | max abs error |")
    print("| --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")


if __name__ == "__main__":
    main()
