"""Benchmark for lesson 3: the seminar's recipe against the fast one and least squares.

All three learn the Sobel-x kernel back from the default photo. The two recipes are lesson
3 itself, run as a student runs it (`ker3_learn_kernel.py`); their seconds are the time it
spent in model.fit, as its JSON reports them (the seminar's compiles with the slide's metrics,
mse and mae, and their cost is in its seconds). The fast recipe runs --repeats times (seeds 0,
1, ...) and the table gives the median; the seminar's recipe is slow, so it runs once,
capped at --seminar-epochs. Least squares solves the lesson's patches (its `patches`
function, through load_definitions) on the image the lesson prepares.

    python bench/bench_learn_kernel.py                  # the seminar's 1500 epochs: minutes
    python bench/bench_learn_kernel.py --seminar-epochs 300 --repeats 3   # a quicker look
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common.files import read_gray  # noqa: E402
from common.keras_setup import stderr_silenced  # noqa: E402
from common.lesson import load_definitions, positive_int  # noqa: E402

LESSON = ROOT / "ker3_learn_kernel.py"
SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32)


def run_lesson(*flags):
    """Run lesson 3 headless in a fresh process; return its JSON of results."""
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, str(LESSON), *flags, "--no-show", "--output-dir", out]
        result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        if result.returncode != 0:
            sys.exit(f"{LESSON.name} {' '.join(flags)} failed:\n{result.stderr[-2000:]}")
        return json.loads(Path(out, "ker3_learn_kernel.json").read_text())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seminar-epochs", type=positive_int, default=1500, help="cap (default: 1500)"
    )
    parser.add_argument(
        "--repeats", type=positive_int, default=5, help="runs per fast row (default: 5)"
    )
    args = parser.parse_args()
    rows = []

    seminar = run_lesson("--recipe", "seminar", "--epochs", str(args.seminar_epochs))
    run = seminar["recipes"]["seminar"]
    rows.append(
        (f"seminar: rmsprop, batch 1, metrics mse and mae, {run['epochs']} epochs", run["epochs"])
        + (f"{run['train_seconds']:.1f}", f"{run['max_abs_error']:.1e}")
    )

    fast = [
        run_lesson("--seed", str(seed), "--seminar-epochs", "1")["recipes"]["fast"]
        for seed in range(args.repeats)
    ]
    rows.append(
        ("fast: heavy-ball momentum tuned to the curvature", fast[-1]["epochs"])
        + (f"{statistics.median(r['train_seconds'] for r in fast):.2f}",)
        + (f"{statistics.median(r['max_abs_error'] for r in fast):.1e}",)
    )

    # Least squares on the lesson's data: the default photo at its default size, standardised.
    image, _ = read_gray(None, max_side=256)  # the lesson's --max-side
    x = ((image - image.mean()) / (image.std() + 1e-8)).astype(np.float32)
    y = cv2.filter2D(x, cv2.CV_32F, SOBEL_X, borderType=cv2.BORDER_CONSTANT)
    with stderr_silenced():  # the lesson's imports start Keras and TensorFlow, loudly
        patches = load_definitions(LESSON).patches
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        p = patches(x).astype(np.float64)
        exact = np.linalg.lstsq(p, y.reshape(-1), rcond=None)[0].reshape(3, 3)
        times.append(time.perf_counter() - start)
    error = float(np.abs(exact - SOBEL_X).max())
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
