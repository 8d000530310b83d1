"""Lesson 6: using the trained model - load it safely, predict, and run it elsewhere.

Seminar slide "Čo s naučeným modelom?": save the model as .h5 (or convert it to TensorFlow's
.pb), use it from Python (this lesson), and on platforms where training is not comfortable:
C++ through OpenCV's dnn module, or Java.

What the lesson shows:
  * Loading a model file is loading someone else's code, unless you refuse it. The model is
    loaded with `safe_mode=True`, after a look at its config that runs nothing: a Lambda
    layer, a function from outside Keras, a broken file or a model that does not take
    32x32x3 images and give 10 classes is refused with one clear line.
  * A photo of any size becomes what the network saw in training: centre-cropped to a
    square and shrunk to 32x32 with area interpolation. It prints the top-3 classes.
  * `--export` writes a TensorFlow SavedModel (today's successor of the seminar's .pb) and
    an ONNX file, runs the same images through Keras, the SavedModel, onnxruntime and
    OpenCV's dnn module (the engine C++ calls as cv::dnn), checks that they agree to 1e-5,
    and times them: `model.predict` pays tens to hundreds of milliseconds of overhead for
    one image; onnxruntime answers in about a millisecond.

Run it:
  python ker5_cifar10_cnn.py --quick          # makes models/cifar10_cnn_quick.h5 first
  python ker6_predict.py                      # 16 CIFAR-10 test images
  python ker6_predict.py my_cat.jpg photos/ "pics/*.png"   # files, folders, globs
  python ker6_predict.py --export             # + SavedModel, ONNX, parity and latency
  python ker6_predict.py --quick --no-show    # the class demo

What you should see (a model from `ker5_cifar10_cnn.py --quick`, 53.7% on cifar10-mini's
2,000 held-out images; 16 test images are few, so the share right moves a lot):
  test #536         ship  83.5%     airplane  12.6%   automobile   2.4%   (true: ship: right)
  ...
  6 of 16 right (38%)
  with --export: every runtime within 3e-7 of Keras, then a latency table. On a busy 2-core
  CPU (load average 7-8), model.predict took 203-206 ms for one image, onnxruntime 0.45-0.48 ms.
Exported files go to the output folder (default outputs/): cifar10_cnn.onnx and
cifar10_cnn_savedmodel/. Results are in outputs/ker6_predict.json.
"""

from pathlib import Path

import cv2
import numpy as np

from common.cifar10 import CLASS_NAMES, add_data_flags, load_cifar10, resolve_data_dir
from common.cli import make_parser
from common.errors import LessonError, first_line, run_lesson
from common.figures import pyplot, save_figure, show
from common.image_files import read_image_files, sample_photos
from common.images import center_square
from common.model_files import (
    check_model_file,
    check_model_fits,
    check_probabilities,
    default_model_path,
    export_chatter_hidden,
    load_error,
    replace_folder,
)
from common.onnx_export import gather_of_shape_to_transpose
from common.paths import MODELS, atomic_write, prepare_output_dir, write_json
from common.quiet_keras import keras, tf
from common.runtime_timing import time_runtimes

# --- Settings ---
MODEL_FILE = MODELS / "cifar10_cnn.h5"  # the seminar's format; ker5_cifar10_cnn.py writes it
MODEL_VARIANTS = "cifar10_cnn_*.h5"  # ker5 --quick, --no-augment, ...: cifar10_cnn_<variant>.h5
QUICKEST_TRAINING = "python ker5_cifar10_cnn.py --quick"
input_shape = (32, 32, 3)  # (height, width, channels): what CIFAR-10 images are
num_classes = len(CLASS_NAMES)  # 10
TOP_K = 3  # classes printed (and saved) for each image
N_TEST_IMAGES = 16  # CIFAR-10 test images shown when no image is given (--quick: 8)
MAX_FIGURE_IMAGES = 24
PARITY_TOLERANCE = 1e-5  # every runtime must give Keras' probabilities to this
PARITY_KEYS = {  # the exported runtimes compared with Keras, and their keys in the JSON
    "savedmodel": "savedmodel_max_abs_diff",
    "onnxruntime": "onnxruntime_max_abs_diff",
    "opencv dnn": "opencv_max_abs_diff",
}
LATENCY_CALLS = 200  # calls timed for one image (--quick: 30), median reported
LATENCY_SECONDS = 3.0  # ...but stop timing a slow runtime after this long (--quick: 1 s)
THROUGHPUT_BATCH = 256


def parse_arguments(argv=None):
    """The shared flags, plus images, --model and --export."""
    parser = make_parser(__doc__)
    parser.add_argument(
        "images",
        nargs="*",
        help="image files, folders or glob patterns to classify; in a folder, files that are "
        "not images are skipped with a warning (default: CIFAR-10 test images)",
    )
    parser.add_argument(
        "--model",
        default=None,
        help=f"a .h5 or .keras model (default: {MODEL_FILE.relative_to(MODELS.parent)}, "
        "written by ker5_cifar10_cnn.py; without it, the newest cifar10_cnn_*.h5 such as "
        "ker5 --quick's)",
    )
    parser.add_argument(
        "--export",
        action="store_true",
        help="also write a SavedModel and an ONNX file to the output folder, compare the "
        "runtimes and time them (default: off)",
    )
    add_data_flags(parser)
    return parser.parse_args(argv)


# --- Load the model safely ---


def model_file(model_arg, models_dir=MODELS):
    """The --model file, else ker5's model; one line says how to make it if there is none."""
    if model_arg:
        return Path(model_arg).expanduser()
    path = default_model_path(models_dir, MODEL_FILE.name, MODEL_VARIANTS)
    if not path.exists():
        raise LessonError(
            f"no model at {path}: ker5_cifar10_cnn.py trains and saves it; the quickest way is "
            f"`{QUICKEST_TRAINING}` (a few minutes), or pass --model PATH"
        )
    return path


def load_model_safely(path):
    """Refuse a broken file or one that carries code, then load it with Keras' safe_mode."""
    check_model_file(path)  # reads the config as plain JSON: nothing in the file runs
    try:
        model = keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises many kinds for broken or odd files
        raise load_error(path, error) from None
    check_model_fits(model, path, input_shape, num_classes)
    return model


def input_scale(model):
    """1.0 if the model rescales pixels itself (a Rescaling layer), else 1/255 as in training."""
    names = {type(layer).__name__ for layer in model.layers}
    return 1.0 if names & {"Rescaling", "Normalization"} else 1.0 / 255.0


# --- Prepare the images: make a photo look like CIFAR-10 ---


def to_cifar_size(image):
    """Centre-crop to a square and resize to 32x32: CIFAR-10 images are centred objects.

    Shrinking uses area interpolation (each output pixel averages the pixels it covers, so
    no aliasing); a tiny image is enlarged with cubic interpolation.
    """
    return center_square(image, input_shape[0])  # (32, 32, 3) uint8 RGB


def load_test_images(data_dir, count, seed):
    """`count` random CIFAR-10 test images; offline and without data, matplotlib's photos."""
    try:
        _, (x_test, y_test) = load_cifar10(data_dir)
    except LessonError as error:
        if resolve_data_dir(data_dir) is not None:
            raise  # the student named a folder: tell them what is wrong with it
        print(f"note: no CIFAR-10 test set here: {str(error).split(';')[0][:200]}")
        print(
            "note: predicting on matplotlib's sample photos instead. They show no CIFAR-10 "
            "class, yet the model must pick one of its 10: expect confident nonsense."
        )
        return sample_photos(to_cifar_size)
    rng = np.random.default_rng(seed)
    index = np.sort(rng.choice(len(x_test), size=min(count, len(x_test)), replace=False))
    names = [f"test #{i}" for i in index]
    return x_test[index], names, [int(y_test[i]) for i in index]


# --- Predict: the top classes for each image ---


def top_classes(probabilities, class_names, k=TOP_K):
    """[(class name, probability)] of the k most likely classes of one image, best first."""
    best = np.argsort(probabilities)[::-1][:k]
    return [(class_names[i], float(probabilities[i])) for i in best]


def print_top_classes(names, probabilities, labels):
    """One line per image: its top classes, and right/WRONG when the label is known."""
    width = min(40, max(len(n) for n in names))
    for name, p, label in zip(names, probabilities, labels, strict=True):
        shown = name if len(name) <= width else "..." + name[-(width - 3) :]
        tops = "   ".join(f"{c:>10} {q:6.1%}" for c, q in top_classes(p, CLASS_NAMES))
        verdict = ""
        if label is not None:
            verdict = (
                f"   (true: {CLASS_NAMES[label]}: {'right' if p.argmax() == label else 'WRONG'})"
            )
        print(f"  {shown:<{width}}  {tops}{verdict}")


def prediction_entries(names, probabilities, labels, test_set):
    """The JSON entry of each image: test_index or file, its top classes, its true label."""
    entries = []
    for name, p, label in zip(names, probabilities, labels, strict=True):
        from_test_set = test_set and name.startswith("test #")  # not a file of yours
        entry = {"test_index": int(name[6:])} if from_test_set else {"file": name}
        entry[f"top{TOP_K}"] = [[c, round(q, 6)] for c, q in top_classes(p, CLASS_NAMES)]
        entry["probabilities"] = [float(q) for q in p]  # all classes, in CLASS_NAMES order
        entry["true_label"] = None if label is None else CLASS_NAMES[label]
        entries.append(entry)
    return entries


# --- Run it elsewhere: SavedModel, ONNX in onnxruntime and in OpenCV's dnn (C++'s cv::dnn) ---


def export_savedmodel(model, folder, verbose):
    """model.export to a SavedModel folder (written beside it, then swapped into place)."""

    def write(tmp):
        with export_chatter_hidden(verbose):
            model.export(str(tmp), format="tf_saved_model", verbose=False)

    return replace_folder(folder, write)


def export_onnx(model, path, verbose):
    """model.export to ONNX (through tf2onnx), via a temporary file; OpenCV 4.6 reads it too."""

    def write(tmp):
        with export_chatter_hidden(verbose):
            # Opset 13: what OpenCV 4.6's ONNX reader (Debian 12's, used by clients/) knows.
            model.export(tmp, format="onnx", verbose=False, opset_version=13)
        gather_of_shape_to_transpose(tmp)  # the one node OpenCV 4.6 can't read, rewritten

    return atomic_write(path, write)


def make_runtimes(model, savedmodel_dir, onnx_path):
    """name -> function(batch float32 (N, 32, 32, 3)) -> probabilities (N, 10)."""
    import onnxruntime

    reloaded = tf.saved_model.load(str(savedmodel_dir))  # no Keras code: TensorFlow alone
    onnx_model = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    input_name = onnx_model.get_inputs()[0].name
    net = cv2.dnn.readNetFromONNX(str(onnx_path))  # C++: cv::dnn::readNetFromONNX(path)

    def opencv(x):
        net.setInput(x)  # an (N, 32, 32, 3) blob, the layout the ONNX graph takes
        return net.forward()

    return {
        "keras predict": lambda x: model.predict(x, batch_size=THROUGHPUT_BATCH, verbose=0),
        "keras call": lambda x: keras.ops.convert_to_numpy(
            model(x, training=False)
        ),  # eager, op by op
        "keras predict_on_batch": lambda x: model.predict_on_batch(x),  # compiled, no pipeline
        "savedmodel": lambda x: reloaded.serve(x).numpy(),
        "onnxruntime": lambda x: onnx_model.run(None, {input_name: x})[0],
        "opencv dnn": opencv,
    }


def compare_runtimes(model, x, out_dir, stem, quick, verbose):
    """Export, check each runtime against Keras, and time them; returns the JSON part."""
    savedmodel_dir = out_dir / f"{stem}_savedmodel"
    onnx_path = out_dir / f"{stem}.onnx"
    if keras.backend.backend() != "tensorflow":
        # The SavedModel is TensorFlow's; ONNX from JAX goes through jax2onnx, whose file of
        # this CNN failed in onnxruntime (MaxPool: "Unsupported pooling size").
        print(
            f"--export runs on the TensorFlow backend only (this is {keras.backend.backend()}):"
            " rerun with KERAS_BACKEND=tensorflow; the .keras file is the same on both"
        )
        return {"exported": None}
    try:
        export_savedmodel(model, savedmodel_dir, verbose)
        export_onnx(model, onnx_path, verbose)
    except Exception as error:
        raise LessonError(f"could not export the model: {first_line(error)}") from None
    print(f"\nexported: {savedmodel_dir}/ (TensorFlow SavedModel)  and  {onnx_path} (ONNX)")
    try:
        runtimes = make_runtimes(model, savedmodel_dir, onnx_path)
        reference = runtimes["keras predict"](x)
        outputs = {name: runtimes[name](x) for name in PARITY_KEYS}
    except Exception as error:
        raise LessonError(f"could not run the exported model: {first_line(error)}") from None

    # Parity: the same images through each runtime, against Keras' probabilities.
    result = {}
    print("largest |probability - Keras probability| on the same images:")
    for name, key in PARITY_KEYS.items():
        got = np.asarray(outputs[name]).reshape(reference.shape)
        result[key] = float(np.abs(got - reference).max())
        ok = "ok" if result[key] <= PARITY_TOLERANCE else f"MORE than {PARITY_TOLERANCE:g}"
        print(f"  {name:<12} {result[key]:.1e}  {ok}")

    # Latency: one image at a time (an app answering a user), then a batch of 256.
    calls, batch_calls = (30, 3) if quick else (LATENCY_CALLS, 7)
    seconds = 1.0 if quick else LATENCY_SECONDS
    one = np.ascontiguousarray(x[:1])
    batch = x[np.random.default_rng(0).integers(0, len(x), THROUGHPUT_BATCH)]  # (256, 32, 32, 3)
    print()
    latency, throughput = time_runtimes(runtimes, one, batch, calls, batch_calls, seconds)
    fastest = min(latency, key=latency.get)
    print(
        f"fastest for one image: {fastest}, {latency[fastest]:.2f} ms; model.predict is "
        f"{latency['keras predict'] / latency[fastest]:.0f}x slower (it sets up a whole "
        "input pipeline for every call)"
    )
    result["latency_ms"] = {k: round(v, 4) for k, v in latency.items()}
    result["images_per_s_batch_256"] = {k: round(v, 1) for k, v in throughput.items()}
    result["exported"] = {"savedmodel": str(savedmodel_dir), "onnx": str(onnx_path)}
    return result


# --- Show it ---


def plot_image_predictions(plt, images, names, probabilities, labels):
    """A grid of the 32x32 images the network saw, each titled with its top-1 class."""
    count = min(len(images), MAX_FIGURE_IMAGES)
    cols = min(8, count)
    rows = -(-count // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.7 * cols, 2.4 * rows), squeeze=False)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_frame_on(False)
    for ax, image, name, p, label in zip(
        axes.flat, images, names, probabilities, labels, strict=False
    ):
        ax.imshow(image, interpolation="nearest")
        best = int(p.argmax())
        color = "black" if label is None else ("green" if best == label else "red")
        ax.set_title(f"{CLASS_NAMES[best]} {p[best]:.0%}", color=color, fontsize=9)
        caption = Path(name).name[:16] if not name.startswith("test #") else name
        if label is not None:
            caption += f"\n(true: {CLASS_NAMES[label]})"
        ax.set_xlabel(caption, fontsize=7)
    title = "What the network sees (32x32) and its top-1 guess"
    if any(label is not None for label in labels):
        title += " (green: right, red: wrong)"
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def main(argv=None):
    args = parse_arguments(argv)
    out_dir = prepare_output_dir(args.output_dir)

    # --- Load the model safely ---
    model_path = model_file(args.model)
    model = load_model_safely(model_path)
    print(f"model: {model_path} ({model.count_params():,} parameters, loaded with safe_mode=True)")

    # --- Prepare the images ---
    if args.images:
        images, names, labels = read_image_files(args.images, to_cifar_size, CLASS_NAMES)
    else:
        count = N_TEST_IMAGES // 2 if args.quick else N_TEST_IMAGES
        images, names, labels = load_test_images(args.data_dir, count, args.seed)
    scale = input_scale(model)
    x = images.astype(np.float32) * np.float32(scale)  # (batch, 32, 32, 3), as in training

    # --- Predict ---
    probabilities = model.predict(x, verbose=0)  # (batch, 10): the weights stay as they are
    check_probabilities(probabilities, model_path)
    print(f"top-{TOP_K} classes for {len(images)} images:")
    print_top_classes(names, probabilities, labels)
    known = [(p.argmax() == y) for p, y in zip(probabilities, labels, strict=True) if y is not None]
    if known:
        print(f"{sum(known)} of {len(known)} right ({np.mean(known):.0%})")
    predictions = prediction_entries(names, probabilities, labels, test_set=not args.images)
    results = {"model": str(model_path), "input_scale": scale, "predictions": predictions}
    results["accuracy"] = float(np.mean(known)) if known else None

    # --- Run it elsewhere ---
    if args.export:
        results.update(
            compare_runtimes(model, x, out_dir, model_path.stem, args.quick, args.verbose)
        )

    # --- Show it ---
    plt = pyplot(args.no_show)
    fig = plot_image_predictions(plt, images, names, probabilities, labels)
    results["figure"] = str(save_figure(fig, out_dir / "ker6_predict.png"))
    json_path = write_json(out_dir / "ker6_predict.json", results)
    print(f"results: {json_path}")
    show(plt, args.no_show)


if __name__ == "__main__":
    run_lesson(main)
