"""Latency of one CIFAR-10 image and throughput at batch 256, runtime by runtime.

ker6_predict.py --export writes the model as a TensorFlow SavedModel and an ONNX file and
checks that every runtime gives Keras' probabilities; this bench times them: Keras three ways
(`model.predict`, `model(x)`, `predict_on_batch`), the SavedModel in TensorFlow, the ONNX file
in onnxruntime (with its default threads and with one) and in OpenCV's dnn module. It needs no
trained model: the time a runtime takes does not depend on the weights' values, so by default
it builds the seminar's CNN (ker5_cifar10_cnn.py's code_network) with random weights.

    python bench/bench_runtimes.py                 # seminar CNN, random weights
    python bench/bench_runtimes.py --model models/cifar10_cnn_quick.keras --calls 500

Timings are medians; other work on the machine shows up in them, so compare rows of the same
run rather than runs. docs/measurements.md keeps measured tables.
"""

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import time_runtimes  # noqa: E402

from common.deployment import (  # noqa: E402
    check_model_file,
    export_chatter_hidden,
    gather_of_shape_to_transpose,
    load_error,
)
from common.keras_setup import import_tensorflow, start_keras  # noqa: E402
from common.lesson import (  # noqa: E402
    LessonError,
    first_line,
    load_definitions,
    positive_int,
    use_one_line_errors,
)

THROUGHPUT_BATCH = 256  # images in the batch whose throughput is timed
IMAGE_SHAPE = (32, 32, 3)  # one CIFAR-10 image


def model_to_time(path=None):
    """The model file at path, checked and loaded with safe_mode as ker6 loads it; without
    one, ker5's CNN with random weights."""
    import keras

    if path:
        check_model_file(path)  # reads the config as plain JSON: nothing in the file runs
        try:
            return keras.models.load_model(path, compile=False, safe_mode=True)
        except Exception as error:
            raise load_error(path, error) from None
    try:
        code_network = load_definitions("ker5_cifar10_cnn").code_network
    except Exception as error:  # ker5 changed or broken: a model file still works
        raise LessonError(
            f"cannot build ker5's CNN ({first_line(error)}); pass --model PATH"
        ) from None
    keras.utils.set_random_seed(0)
    return code_network()


def export_and_load(model, folder):
    """Export the model into folder as ker6 --export does; name -> run(batch) for each runtime.

    Returns (runtimes, path of the ONNX file).
    """
    import cv2
    import keras
    import onnxruntime

    savedmodel, onnx_path = folder / "savedmodel", folder / "model.onnx"
    with export_chatter_hidden(verbose=False):
        model.export(str(savedmodel), format="tf_saved_model", verbose=False)
        model.export(str(onnx_path), format="onnx", verbose=False, opset_version=13)
        gather_of_shape_to_transpose(onnx_path)
    reloaded = import_tensorflow().saved_model.load(str(savedmodel))
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    net = cv2.dnn.readNetFromONNX(str(onnx_path))

    def opencv(x):
        net.setInput(x)
        return net.forward()

    runtimes = {
        "keras predict": lambda x: model.predict(x, batch_size=THROUGHPUT_BATCH, verbose=0),
        "keras call": lambda x: keras.ops.convert_to_numpy(model(x, training=False)),  # eager
        "keras predict_on_batch": lambda x: model.predict_on_batch(x),  # compiled, no pipeline
        "savedmodel": lambda x: reloaded.serve(x).numpy(),
        "onnxruntime": lambda x: session.run(None, {input_name: x})[0],
        "opencv dnn": opencv,
    }
    return runtimes, onnx_path


def one_thread_onnxruntime(onnx_path):
    """onnxruntime with one thread: no hand-off between threads, often best for one image."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    single = onnxruntime.InferenceSession(
        str(onnx_path), options, providers=["CPUExecutionProvider"]
    )
    name = single.get_inputs()[0].name
    return lambda x: single.run(None, {name: x})[0]


def need_tensorflow():
    """The exports are TensorFlow's: refuse another backend in one line."""
    import keras

    if keras.backend.backend() != "tensorflow":
        raise LessonError(
            f"the runtimes are exported from TensorFlow; this is {keras.backend.backend()}: "
            "rerun with KERAS_BACKEND=tensorflow"
        )


def say_fastest(latency):
    """One line: the fastest runtime for one image, and how much slower model.predict is."""
    fastest = min(latency, key=latency.get)
    print(
        f"fastest for one image: {fastest}, {latency[fastest]:.2f} ms; model.predict is "
        f"{latency['keras predict'] / latency[fastest]:.0f}x slower (it sets up a whole "
        "input pipeline for every call)"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="a .h5/.keras model (default: seminar CNN)")
    parser.add_argument(
        "--calls", type=positive_int, default=300, help="timed calls (default: 300)"
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="cap per row (default: 10)")
    args = parser.parse_args()
    use_one_line_errors()
    start_keras()
    need_tensorflow()
    model = model_to_time(args.model)
    x = np.random.default_rng(0).random((THROUGHPUT_BATCH, *IMAGE_SHAPE), dtype=np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        runtimes, onnx_path = export_and_load(model, Path(tmp))
        runtimes["onnxruntime 1 thread"] = one_thread_onnxruntime(onnx_path)
        print(f"{model.count_params():,} parameters; {args.calls} calls or {args.seconds} s a row")
        latency, _ = time_runtimes(runtimes, x[:1], x, args.calls, 10, args.seconds, digits=3)
        say_fastest(latency)


if __name__ == "__main__":
    main()
