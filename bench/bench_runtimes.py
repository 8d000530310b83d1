"""Latency of one CIFAR-10 image and throughput at batch 256, runtime by runtime.

The same table as `ker6_predict.py --export`, on its own and with more calls. It needs no
trained model: the time a runtime takes does not depend on the weights' values, so by
default it builds the seminar's CNN (ker5_cifar10_cnn.code_network) with random weights.

    python bench/bench_runtimes.py                 # seminar CNN, random weights
    python bench/bench_runtimes.py --model models/cifar10_cnn.h5 --calls 500

Timings are medians; other work on the machine shows up in them, so compare rows of the same
run rather than runs.
"""

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import ker6_predict as ker6  # noqa: E402
from common.cli import positive_int  # noqa: E402
from common.errors import run_lesson  # noqa: E402
from common.quiet_keras import keras  # noqa: E402


def model_to_time(path):
    """The model file at path, loaded safely; without one, ker5's CNN with random weights."""
    if path:
        return ker6.load_model_safely(Path(path))
    import ker5_cifar10_cnn as ker5

    keras.utils.set_random_seed(0)
    return ker5.code_network()


def export_and_load(model, folder):
    """Export the model into folder (SavedModel, ONNX) as ker6 does; ker6's runtimes for it."""
    savedmodel, onnx_path = folder / "savedmodel", folder / "model.onnx"
    ker6.export_savedmodel(model, savedmodel, verbose=False)
    ker6.export_onnx(model, onnx_path, verbose=False)
    return ker6.make_runtimes(model, savedmodel, onnx_path), onnx_path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="a .h5/.keras model (default: seminar CNN)")
    parser.add_argument(
        "--calls", type=positive_int, default=300, help="timed calls (default: 300)"
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="cap per row (default: 10)")
    args = parser.parse_args()
    model = model_to_time(args.model)
    x = np.random.default_rng(0).random((ker6.THROUGHPUT_BATCH, 32, 32, 3), dtype=np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        runtimes, onnx_path = export_and_load(model, Path(tmp))

        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # no thread hand-off: often best for one image
        single = onnxruntime.InferenceSession(
            str(onnx_path), options, providers=["CPUExecutionProvider"]
        )
        name = single.get_inputs()[0].name
        runtimes["onnxruntime 1 thread"] = lambda b: single.run(None, {name: b})[0]

        print(f"{model.count_params():,} parameters; {args.calls} calls or {args.seconds} s a row")
        ker6.time_runtimes(runtimes, x[:1], x, args.calls, 10, args.seconds, digits=3)


if __name__ == "__main__":
    run_lesson(main)
