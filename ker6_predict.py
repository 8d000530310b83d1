"""ker6: what do we do with a trained model? Load it safely, predict, and run it elsewhere.

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

What you should see (a model from `ker5_cifar10_cnn.py --quick`, 53% on cifar10-mini):
  test #536      ship  81.5%   airplane  15.1%   automobile   1.7%   (true: ship: right)
  ...
  9 of 16 right (56%)
  with --export: every runtime within 3e-7 of Keras, then a latency table. On a busy 2-core
  laptop CPU model.predict took 300-420 ms for one image, onnxruntime 0.55-1.3 ms.
Exported files go to the output folder (default outputs/): cifar10_cnn.onnx and
cifar10_cnn_savedmodel/. Results are in outputs/ker6_predict.json.
"""

import glob
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import zipfile
import zlib
from pathlib import Path

import cv2
import numpy as np

from common.cifar10 import CLASS_NAMES, add_data_flags, load_cifar10, resolve_data_dir
from common.cli import make_parser
from common.errors import LessonError, first_line, run_lesson
from common.figures import pyplot, save_figure, show
from common.images import center_square, default_image_path, read_rgb
from common.paths import MODELS, atomic_write, prepare_output_dir, write_json
from common.tf_quiet import import_keras, stderr_silenced

DEFAULT_MODEL = MODELS / "cifar10_cnn.h5"  # the seminar's format; ker5_cifar10_cnn.py writes it
# ker5's variants (--quick, --no-augment, --recipe classic) write cifar10_cnn_<variant>.h5.
VARIANT_MODELS = "cifar10_cnn_*.h5"
QUICKEST_TRAINING = "python ker5_cifar10_cnn.py --quick"
input_shape = (32, 32, 3)  # (height, width, channels): what CIFAR-10 images are
num_classes = 10
TOP_K = 3
N_TEST_IMAGES = 16  # CIFAR-10 test images shown when no image is given (--quick: 8)
MAX_FIGURE_IMAGES = 24
PARITY_TOLERANCE = 1e-5  # every runtime must give Keras' probabilities to this
# The exported runtimes compared with Keras, and their keys in the JSON.
PARITY_KEYS = {
    "savedmodel": "savedmodel_max_abs_diff",
    "onnxruntime": "onnxruntime_max_abs_diff",
    "opencv dnn": "opencv_max_abs_diff",
}
LATENCY_CALLS = 200  # calls timed for one image (--quick: 30), median reported
LATENCY_SECONDS = 3.0  # ...but stop timing a slow runtime after this long (--quick: 1 s)
THROUGHPUT_BATCH = 256
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
ZIP_MAGIC = b"PK\x03\x04"


# --- Check the model file without running any of it ---
# A Keras file holds a JSON config that names the classes and functions to rebuild. A Lambda
# layer stores Python bytecode, and a config can name any importable function. We read the
# config as plain JSON and refuse those before Keras sees the file; Keras' own safe_mode
# check below is a second lock on the same door.


def read_model_config(path):
    """The model's config as a dict, read from a .h5 or .keras file without loading it."""
    path = Path(path)
    if path.is_dir():
        raise LessonError(f"{path} is a folder, not a model file (.h5 or .keras)")
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as error:
        raise LessonError(f"cannot read {path}: {error.strerror or error}") from None
    if not head:
        raise LessonError(f"{path} is empty (0 bytes), not a model")
    if path.suffix.lower() not in (".h5", ".hdf5", ".keras"):
        raise LessonError(f"{path}: a model file ends in .h5 or .keras, not '{path.suffix}'")
    if path.suffix.lower() == ".keras" and head == HDF5_MAGIC:
        raise LessonError(f"{path} is an HDF5 (.h5) file with a .keras name; rename it to .h5")
    if path.suffix.lower() != ".keras" and head.startswith(ZIP_MAGIC):
        raise LessonError(f"{path} is a .keras (zip) file with a .h5 name; rename it to .keras")
    if head == HDF5_MAGIC:
        text = _h5_config(path)
    elif head.startswith(ZIP_MAGIC):
        text = _keras_zip_config(path)
    else:
        raise LessonError(f"{path} is not a Keras model (neither an HDF5 .h5 nor a .keras zip)")
    try:
        config = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        raise LessonError(f"{path} is corrupted: its model config is not valid JSON") from None
    if not isinstance(config, dict) or "class_name" not in config:
        raise LessonError(f"{path} is not a Keras model (its config names no model class)")
    return config


def _h5_config(path):
    """The model_config attribute of a .h5 file (weights-only files have none)."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            text = f.attrs.get("model_config")
            has_weights = "model_weights" in f
    except OSError as error:
        if "truncated" in str(error):
            raise LessonError(f"{path} is truncated (the file ends early): copy it again") from None
        raise LessonError(f"{path} is a corrupted HDF5 file ({first_line(error, 100)})") from None
    if text is None or not has_weights:
        raise LessonError(f"{path} is an HDF5 file but not a whole Keras model (weights only?)")
    return text.decode("utf-8") if isinstance(text, bytes) else str(text)


def _keras_zip_config(path):
    """config.json from a .keras zip, after checking every member's checksum."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "config.json" not in names or "model.weights.h5" not in names:
                raise LessonError(f"{path} is a zip file but not a .keras model")
            broken = archive.testzip()  # reads every member: finds flipped bytes
            if broken is not None:
                raise LessonError(f"{path} is corrupted (bad checksum in {broken})")
            return archive.read("config.json").decode("utf-8")
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, UnicodeDecodeError) as error:
        raise LessonError(f"{path} is a truncated or corrupted .keras file ({error})") from None


def find_code_in_config(config):
    """Names of the things in a model config that would need Python code to rebuild."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            name = node.get("class_name")
            module = node.get("module")
            if name in ("Lambda", "TFOpLambda", "__lambda__"):
                found.append(f"a {name} layer")
            elif isinstance(module, str) and not module.split(".")[0] == "keras":
                inner = node.get("config")  # a function's name, or a class's settings
                found.append(f"{module}.{inner if isinstance(inner, str) else name}")
            elif isinstance(node.get("registered_name"), str) and ">" in node["registered_name"]:
                found.append(f"the custom object {node['registered_name']}")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(config)
    return sorted(set(found))


def check_model_file(path, explicit):
    """Refuse a missing, broken or code-carrying model file; return its config."""
    path = Path(path)
    if not path.exists():
        if explicit:
            raise LessonError(f"no such model file: {path}")
        raise LessonError(
            f"no model at {path}: ker5_cifar10_cnn.py trains and saves it; the quickest way is "
            f"`{QUICKEST_TRAINING}` (a few minutes), or pass --model PATH"
        )
    config = read_model_config(path)
    code = find_code_in_config(config)
    if code:
        raise LessonError(
            f"refusing to load {path}: it holds {', '.join(code)}, i.e. Python code that "
            "loading would run; rebuild the model from standard Keras layers"
        )
    return config


def default_model(models_dir=MODELS):
    """ker5's full-run model if there is one, else the newest variant (say, from --quick)."""
    full = Path(models_dir) / DEFAULT_MODEL.name
    variants = []
    for path in Path(models_dir).glob(VARIANT_MODELS):
        try:
            variants.append((path.stat().st_mtime, path))
        except OSError:  # a broken link, or deleted while we looked
            continue
    if full.exists() or not variants:
        return full
    newest = max(variants)[1]
    print(f"no {full.name} (ker5's default run) yet; using the newest variant, {newest}")
    return newest


# --- Load it with Keras, safely ---


def load_checked_model(keras, path):
    """keras.models.load_model with safe_mode=True, then check the model fits CIFAR-10."""
    try:
        model = keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises many kinds for broken or odd files
        first = first_line(error)
        if "safe_mode" in str(error) or "arbitrary code" in str(error):
            raise LessonError(f"refusing to load {path}: Keras safe_mode says: {first}") from None
        raise LessonError(f"cannot load {path} as a Keras model: {first}") from None
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise LessonError(f"{path}: the model must have one input and one output")
    got_in = tuple(model.inputs[0].shape[1:])
    got_out = tuple(model.outputs[0].shape[1:])
    if got_in != input_shape:
        raise LessonError(f"{path} takes inputs of shape {got_in}, not 32x32x3 CIFAR-10 images")
    if got_out != (num_classes,):
        raise LessonError(f"{path} gives outputs of shape {got_out}, not {num_classes} classes")
    if not all(np.isfinite(w).all() for w in model.get_weights()):
        raise LessonError(f"{path} is corrupted: some of its weights are NaN or infinite")
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


def collect_image_paths(inputs):
    """Expand files, folders and globs; return [(path, skip_if_not_an_image)]."""
    found = []
    for text in inputs:
        path = Path(text).expanduser()
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
            if not files:
                raise LessonError(f"the folder {path} holds no files")
            found += [(p, True) for p in files]
        elif path.exists():
            found.append((path, False))
        elif glob.has_magic(text):
            matches = sorted(Path(p) for p in glob.glob(os.path.expanduser(text), recursive=True))
            matches = [p for p in matches if p.is_file()]
            if not matches:
                raise LessonError(f"no files match {text}")
            found += [(p, True) for p in matches]
        else:
            raise LessonError(f"no such file or folder: {path}")
    unique = {}
    for path, skippable in found:
        unique.setdefault(path.resolve(), (path, skippable))
    return list(unique.values())


def load_student_images(inputs):
    """Read and resize the student's images; skip non-images found in folders or globs."""
    images, names, labels, skipped = [], [], [], []
    for path, skippable in collect_image_paths(inputs):
        try:
            image = read_rgb(path)
        except LessonError as error:
            if not skippable:
                raise
            skipped.append(str(error))
            continue
        images.append(to_cifar_size(image))
        names.append(str(path))
        # A folder named after a class ("photos/cat/x.jpg") gives the true label.
        parent = path.parent.name.lower()
        labels.append(CLASS_NAMES.index(parent) if parent in CLASS_NAMES else None)
    if not images:
        raise LessonError(f"no image OpenCV can read among the {len(skipped)} file(s) given")
    for reason in skipped:
        print(f"warning: skipping a file: {reason}", file=sys.stderr)  # one line per file
    return np.stack(images), names, labels


def load_test_images(data_dir, count, seed):
    """`count` random CIFAR-10 test images; offline and without data, matplotlib's photos."""
    try:
        _, (x_test, y_test) = load_cifar10(data_dir)
    except LessonError as error:
        if resolve_data_dir(data_dir) is not None:
            raise  # the student named a folder: tell them what is wrong with it
        print(f"note: no CIFAR-10 test set here: {str(error).split(';')[0][:200]}")
        return fallback_images()
    rng = np.random.default_rng(seed)
    index = np.sort(rng.choice(len(x_test), size=min(count, len(x_test)), replace=False))
    names = [f"test #{i}" for i in index]
    return x_test[index], names, [int(y_test[i]) for i in index]


def fallback_images():
    """Photos that ship with matplotlib, so the lesson shows something even offline."""
    folder = default_image_path().parent
    paths = [folder / n for n in ("grace_hopper.jpg", "Minduka_Present_Blue_Pack.png")]
    paths = [p for p in paths if p.exists()]
    print(
        "note: predicting on matplotlib's sample photos instead. They show no CIFAR-10 class, "
        "yet the model must pick one of its 10: expect confident nonsense."
    )
    images = np.stack([to_cifar_size(read_rgb(p)) for p in paths])
    return images, [p.name for p in paths], [None] * len(paths)


# --- Predict: top-3 classes for each image ---


def top_k(probabilities, k=TOP_K):
    """[(label, probability)] for the k most likely classes of one image."""
    order = np.argsort(probabilities)[::-1][:k]
    return [(CLASS_NAMES[i], float(probabilities[i])) for i in order]


def print_predictions(names, probabilities, labels):
    """One line per image: the top-3 classes, and right/WRONG when the label is known."""
    width = min(40, max(len(n) for n in names))
    for name, p, label in zip(names, probabilities, labels, strict=True):
        shown = name if len(name) <= width else "..." + name[-(width - 3) :]
        tops = "   ".join(f"{c:>10} {q:6.1%}" for c, q in top_k(p))
        verdict = ""
        if label is not None:
            verdict = (
                f"   (true: {CLASS_NAMES[label]}: {'right' if p.argmax() == label else 'WRONG'})"
            )
        print(f"  {shown:<{width}}  {tops}{verdict}")


def plot_predictions(plt, images, names, probabilities, labels):
    """A grid of the 32x32 images the network saw, titled with its top-1 guess."""
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


# --- Other runtimes: SavedModel, ONNX, onnxruntime, OpenCV dnn ---


def export_savedmodel(model, folder, verbose):
    """model.export to a SavedModel folder: write beside it, then swap it into place."""
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        with quiet(verbose):
            model.export(str(tmp / "sm"), format="tf_saved_model", verbose=False)
        old = folder.with_name(f".{folder.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        if folder.exists():
            os.replace(folder, old)
        os.replace(tmp / "sm", folder)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def export_onnx(model, path, verbose):
    """model.export to ONNX (through tf2onnx), via a temporary file; OpenCV 4.6 reads it too."""
    import onnx

    def write(tmp):
        with quiet(verbose):
            # Opset 13: what OpenCV 4.6's ONNX reader (Debian 12's, used by clients/) knows.
            model.export(tmp, format="onnx", verbose=False, opset_version=13)
        # tf2onnx writes Shape(Transpose(x)) (Flatten's batch size) as Gather(Shape(x), perm);
        # OpenCV 4.6 reads a Gather of one index only. Put the Transpose back: same numbers.
        proto = onnx.shape_inference.infer_shapes(onnx.load(tmp))
        graph = proto.graph
        values = [*graph.input, *graph.value_info]
        ranks = {v.name: len(v.type.tensor_type.shape.dim) for v in values}
        consts = {t.name: t for t in graph.initializer}
        shapes = {n.output[0]: n.input[0] for n in graph.node if n.op_type == "Shape"}
        for i, node in reversed(list(enumerate(graph.node))):
            if node.op_type == "Gather" and node.input[0] in shapes and node.input[1] in consts:
                x = shapes[node.input[0]]
                perm = onnx.numpy_helper.to_array(consts[node.input[1]]).tolist()
                if isinstance(perm, list) and sorted(perm) == [*range(ranks.get(x, -1))]:
                    moved = [node.output[0] + "_transposed"]
                    transpose = onnx.helper.make_node("Transpose", [x], moved, perm=perm)
                    node.CopyFrom(onnx.helper.make_node("Shape", moved, node.output))
                    graph.node.insert(i, transpose)
        onnx.save(proto, tmp)
        ends = [[v.name for v in part] for part in (graph.input, graph.output)]
        onnx.utils.extract_model(tmp, tmp, *ends)  # drops the nodes and constants left unused

    return atomic_write(path, write)


def quiet(verbose):
    """Hide tf2onnx's and TensorFlow's export chatter unless --verbose."""
    import contextlib
    import warnings

    if verbose:
        return contextlib.nullcontext()
    stack = contextlib.ExitStack()
    stack.enter_context(warnings.catch_warnings())
    warnings.simplefilter("ignore")
    stack.enter_context(stderr_silenced())
    return stack


def make_runtimes(tf, model, savedmodel_dir, onnx_path):
    """name -> function(batch float32 (N, 32, 32, 3)) -> probabilities (N, 10)."""
    import onnxruntime

    reloaded = tf.saved_model.load(str(savedmodel_dir))  # no Keras code: TensorFlow alone
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    net = cv2.dnn.readNetFromONNX(str(onnx_path))  # C++: cv::dnn::readNetFromONNX(path)

    def opencv(x):
        net.setInput(x)  # an (N, 32, 32, 3) blob, the layout the ONNX graph takes
        return net.forward()

    return {
        "keras predict": lambda x: model.predict(x, batch_size=THROUGHPUT_BATCH, verbose=0),
        "keras call": lambda x: model(x, training=False).numpy(),  # eager, op by op
        "keras predict_on_batch": lambda x: model.predict_on_batch(x),  # compiled, no pipeline
        "savedmodel": lambda x: reloaded.serve(x).numpy(),
        "onnxruntime": lambda x: session.run(None, {input_name: x})[0],
        "opencv dnn": opencv,
    }


def time_runtimes(runtimes, one, batch, calls, batch_calls, seconds, digits=2):
    """Print and return each runtime's median ms for one image and images/s for a batch."""
    latency, throughput = {}, {}
    print(f"{'runtime':<22} {'ms / 1 image':>13} {'(calls)':>8} {f'images/s @{len(batch)}':>14}")
    for name, run in runtimes.items():
        latency[name], n = median_ms(run, one, calls, seconds)
        batch_ms, _ = median_ms(run, batch, batch_calls, seconds)
        throughput[name] = len(batch) / (batch_ms / 1000)
        print(f"{name:<22} {latency[name]:13.{digits}f} {n:>8} {throughput[name]:14.0f}")
    return latency, throughput


def median_ms(run, x, calls, seconds):
    """Median wall time of run(x) in ms, over up to `calls` calls (or `seconds`, at least 5)."""
    run(x)  # the first call builds graphs and allocates: not what we want to time
    times = []
    start = time.perf_counter()
    while len(times) < calls and (len(times) < 5 or time.perf_counter() - start < seconds):
        t = time.perf_counter()
        run(x)
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times), len(times)


def compare_runtimes(tf, model, x, out_dir, stem, quick, verbose):
    """Export, check each runtime against Keras, and time them; returns the JSON part."""
    savedmodel_dir = out_dir / f"{stem}_savedmodel"
    onnx_path = out_dir / f"{stem}.onnx"
    try:
        export_savedmodel(model, savedmodel_dir, verbose)
        export_onnx(model, onnx_path, verbose)
    except Exception as error:
        raise LessonError(f"could not export the model: {first_line(error)}") from None
    print(f"\nexported: {savedmodel_dir}/ (TensorFlow SavedModel)  and  {onnx_path} (ONNX)")
    try:
        runtimes = make_runtimes(tf, model, savedmodel_dir, onnx_path)
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
    calls = 30 if quick else LATENCY_CALLS
    seconds = 1.0 if quick else LATENCY_SECONDS
    rng = np.random.default_rng(0)
    one = np.ascontiguousarray(x[:1])
    batch = x[rng.integers(0, len(x), THROUGHPUT_BATCH)]  # (256, 32, 32, 3)
    print()
    latency, throughput = time_runtimes(runtimes, one, batch, calls, 7 if not quick else 3, seconds)
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


def main():
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
        help=f"a .h5 or .keras model (default: {DEFAULT_MODEL.relative_to(MODELS.parent)}, "
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
    args = parser.parse_args()

    # Validate everything before the slow TensorFlow import, so a typo fails at once.
    model_path = Path(args.model).expanduser() if args.model else default_model()
    check_model_file(model_path, explicit=args.model is not None)
    out_dir = prepare_output_dir(args.output_dir)
    if args.images:
        images, names, labels = load_student_images(args.images)
    tf, keras = import_keras(args.verbose)

    # --- Load the model ---
    model = load_checked_model(keras, model_path)
    scale = input_scale(model)
    print(f"model: {model_path} ({model.count_params():,} parameters, loaded with safe_mode=True)")
    if not args.images:
        count = N_TEST_IMAGES // 2 if args.quick else N_TEST_IMAGES
        images, names, labels = load_test_images(args.data_dir, count, args.seed)

    # --- Predict ---
    x = images.astype(np.float32) * np.float32(scale)  # (batch, 32, 32, 3), as in training
    probabilities = model.predict(x, verbose=0)  # (batch, 10)
    sums = probabilities.sum(axis=1)
    if probabilities.min() < -1e-6 or not np.allclose(sums, 1.0, atol=1e-3):
        raise LessonError(
            f"{model_path} does not end in a softmax: its outputs are not probabilities"
        )
    print(f"top-{TOP_K} classes for {len(images)} images:")
    print_predictions(names, probabilities, labels)
    known = [(p.argmax() == y) for p, y in zip(probabilities, labels, strict=True) if y is not None]
    if known:
        print(f"{sum(known)} of {len(known)} right ({np.mean(known):.0%})")

    plt = pyplot(args.no_show)
    fig = plot_predictions(plt, images, names, probabilities, labels)
    figure = save_figure(fig, out_dir / "ker6_predict.png")

    predictions = []
    for name, p, label in zip(names, probabilities, labels, strict=True):
        from_test_set = not args.images and name.startswith("test #")  # not a file of yours
        entry = {"test_index": int(name[6:])} if from_test_set else {"file": name}
        entry["top3"] = [[c, round(q, 6)] for c, q in top_k(p)]
        entry["true_label"] = None if label is None else CLASS_NAMES[label]
        predictions.append(entry)
    results = {
        "model": str(model_path),
        "input_scale": scale,
        "predictions": predictions,
        "accuracy": float(np.mean(known)) if known else None,
        "figure": str(figure),
    }

    # --- Other runtimes ---
    if args.export:
        results.update(
            compare_runtimes(tf, model, x, out_dir, model_path.stem, args.quick, args.verbose)
        )
    json_path = write_json(out_dir / "ker6_predict.json", results)
    print(f"results: {json_path}")
    show(plt, args.no_show)


if __name__ == "__main__":
    run_lesson(main)
