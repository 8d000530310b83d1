"""Latency of one CIFAR-10 image in the C++ and Java clients, beside the Python runtimes.

The runtimes ker6_predict.py --export checks (Keras, SavedModel, onnxruntime, pip OpenCV's
dnn) are timed as in bench_runtimes.py. Then the two programs in clients/ are built and run
once each on many image files with --repeat: each loads the ONNX file once and prints the
median time of one forward pass (setInput + forward, preprocessing not included, the same work
as the Python rows). The model is the seminar's CNN with random weights by default: the time
does not depend on the weights' values.

    python bench/bench_clients.py                      # seminar CNN, 100 images x 5 passes
    python bench/bench_clients.py --model models/cifar10_cnn.h5 --images 200

Timings are medians; other work on the machine shows up in them, so compare rows of the same
run rather than runs.
"""

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_runtimes import (  # noqa: E402
    IMAGE_SHAPE,
    THROUGHPUT_BATCH,
    export_and_load,
    model_to_time,
    need_tensorflow,
)
from timing import time_runtimes  # noqa: E402

from common.keras_setup import start_keras  # noqa: E402
from common.lesson import LessonError, first_line, positive_int, use_one_line_errors  # noqa: E402

CLIENTS = Path(__file__).resolve().parent.parent / "clients"
TOOLS = {"C++ (cv::dnn)": ("cpp", ["cmake", "c++"]), "Java (OpenCV)": ("java", ["javac", "java"])}


def build_client(target, build_dir):
    """`make -C clients <target>`; the program's path, or None and why it could not be built."""
    missing = [tool for tool in ["make", *TOOLS[target][1]] if not shutil.which(tool)]
    if missing:
        return None, f"needs {', '.join(missing)}"
    kind = TOOLS[target][0]
    result = subprocess.run(
        ["make", "-C", str(CLIENTS), kind, f"BUILD={build_dir}"], capture_output=True, text=True
    )
    if result.returncode != 0:
        last = (result.stderr.strip() or result.stdout.strip()).splitlines()[-1:]
        return None, f"build failed: {last[0] if last else 'make failed'}"
    return Path(build_dir) / kind / "predict", None


def time_client(program, onnx_path, images, repeat):
    """Run a client once on all images; (median ms of one forward pass, calls, OpenCV version)."""
    result = subprocess.run(
        [str(program), str(onnx_path), *map(str, images), "--repeat", str(repeat)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise LessonError(f"{program.name} failed: {first_line(result.stderr or result.stdout)}")
    timing = re.search(r"median ([\d.]+) ms per image over (\d+) calls", result.stdout)
    version = re.search(r"\(OpenCV ([^,]+),", result.stdout)
    return float(timing[1]), int(timing[2]), version[1] if version else "?"


def write_images(folder, count, seed=0):
    """count random photo-sized PNG files (crop and resize run as for a real photo)."""
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        path = Path(folder) / f"image_{i:04d}.png"
        cv2.imwrite(str(path), rng.integers(0, 256, (96, 128, 3), dtype=np.uint8))
        paths.append(path)
    return paths


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="a .h5/.keras model (default: seminar CNN)")
    parser.add_argument(
        "--calls", type=positive_int, default=200, help="timed Python calls (default: 200)"
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="cap per row (default: 5)")
    parser.add_argument(
        "--images", type=positive_int, default=100, help="image files per client (default: 100)"
    )
    parser.add_argument(
        "--repeat", type=positive_int, default=5, help="passes per image (default: 5)"
    )
    args = parser.parse_args()
    use_one_line_errors()
    start_keras()
    need_tensorflow()
    model = model_to_time(args.model)
    x = np.random.default_rng(0).random((THROUGHPUT_BATCH, *IMAGE_SHAPE), dtype=np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        runtimes, onnx_path = export_and_load(model, tmp)

        print(
            f"{model.count_params():,} parameters; Python rows: {args.calls} calls or "
            f"{args.seconds:g} s a row; 'opencv dnn' is pip's OpenCV {cv2.__version__}"
        )
        time_runtimes(runtimes, x[:1], x, args.calls, 10, args.seconds, digits=3)

        (tmp / "images").mkdir()
        images = write_images(tmp / "images", args.images)
        notes = []
        for name in TOOLS:
            program, why = build_client(name, tmp / "build")
            if program is None:
                notes.append(f"{name}: not timed, {why}")
                continue
            ms, calls, version = time_client(program, onnx_path, images, args.repeat)
            print(f"{name:<22} {ms:13.3f} {calls:>8} {'-':>14}   system OpenCV {version}")
        for note in notes:
            print(note)
        print(
            f"clients: {args.images} images x {args.repeat} passes each, model loaded once; "
            "one image at a time, so no batch column"
        )


if __name__ == "__main__":
    main()
