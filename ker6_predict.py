# %% [markdown]
# # Lesson 6: using the trained model: load it safely, predict, and run it elsewhere
#
# **Slides:** „Použitie“ (using it) and „Čo s naučeným modelom?“ (what to do with the trained
# model?): save it as .h5 (or convert it to TensorFlow's .pb), use it from Python (this
# lesson), and on platforms where training is not comfortable: C++ through OpenCV's `cv::ml`,
# Java through Deeplearning4j.
#
# Lesson 5 trained a CNN and saved it. Here we load that file, let it classify images it has
# never seen (the slides' „testovacia fáza“, testing phase: today it is called inference), and
# export it so that programs without Keras can run it too.
#
# Two things differ from the slide today, and the lesson says where. `cv::ml` is OpenCV's
# classical machine learning (SVMs, trees, a small perceptron) and cannot read a Keras network;
# OpenCV's `cv::dnn` can, in C++ and in Java alike. Deeplearning4j reads only Keras 1/2 `.h5`
# files, not Keras 3's, so Java runs the network through OpenCV too. `clients/README.md` has
# the details and the two programs.
#
# **What you will see:**
#
# - loading a model file is loading someone else's code, unless you refuse it: the file's
#   config is read as plain JSON first (nothing in it runs), then Keras loads it with
#   `safe_mode=True`. A Lambda layer, a function from outside Keras, a broken file or a model
#   that does not take 32×32×3 images and give 10 classes is refused with one clear line;
# - a photo of any size made to look like CIFAR-10: centre-cropped to a square and shrunk to
#   32×32 with area interpolation;
# - the top-3 classes of every image, printed and drawn as small bars under each image, with
#   ✓ on the true class and ✗ on a wrong first guess;
# - with `--export`: a TensorFlow SavedModel (today's successor of the slide's .pb) and an ONNX
#   file, run in TensorFlow, onnxruntime and OpenCV's dnn module (the engine C++ calls as
#   `cv::dnn`); each must give Keras' probabilities to 1e-5. The C++ and Java programs in
#   `clients/` read the same ONNX file.
#
# How fast each runtime answers is a benchmark, not part of the lesson:
# `python bench/bench_runtimes.py --model models/cifar10_cnn_quick.keras` prints the table,
# and `docs/measurements.md` keeps measured ones.
#
# **Run it:** `python ker5_cifar10_cnn.py --quick` first (it writes the model), then
# `python ker6_predict.py` (16 CIFAR-10 test images), `python ker6_predict.py my_cat.jpg
# photos/ "pics/*.png"` (files, folders, globs), `python ker6_predict.py --export`; all flags:
# `--help`. Or open this file as a notebook.

# %% [markdown]
# ## Settings
#
# In a notebook, edit them here; on the command line, each is a flag (the images are the
# arguments without a flag name).

# %%
from common.lesson import lesson_settings, positive_int, seed_value, setting

settings = lesson_settings(
    "Lesson 6: using the trained model: load it safely, predict, and run it elsewhere",
    keras=True,
    images=setting(
        None,
        "image files, folders or glob patterns to classify; in a folder, files that are not "
        "images are skipped with a warning; none: CIFAR-10 test images",
        nargs="*",
    ),
    model=setting(
        None,
        "a .h5 or .keras model; none: models/cifar10_cnn.h5, written by ker5_cifar10_cnn.py, "
        "or else the newest models/cifar10_cnn_*.h5, such as ker5 --quick's",
    ),
    test_images=setting(
        16, "CIFAR-10 test images to classify when no image is given", quick=8, type=positive_int
    ),
    seed=setting(0, "random seed: which test images are picked", type=seed_value),
    data_dir=setting(
        None,
        "a local cifar-10-batches-py folder (the extracted official archive); $CIFAR10_DIR does "
        "the same; none: data/cifar-10-batches-py if it is there, else Keras' download",
    ),
    export=setting(
        False,
        "also write a SavedModel and an ONNX file to the output folder and check that "
        "TensorFlow, onnxruntime and OpenCV give Keras' probabilities",
    ),
)

# %% [markdown]
# ## Setup
#
# `start_keras` imports Keras with TensorFlow's start-up messages hidden (`--verbose` shows
# them) and says which backend runs it. The export needs TensorFlow's backend (its
# SavedModel, and tf2onnx for ONNX): on another backend `--export` stops here, before any work.

# %%
from common.keras_setup import start_keras
from common.lesson import LessonError

backend = start_keras(settings.verbose).backend.backend()
if settings.export and backend != "tensorflow":
    # ONNX from JAX goes through jax2onnx, whose file of this CNN failed in onnxruntime
    # (MaxPool: "Unsupported pooling size").
    raise LessonError(
        f"--export needs the TensorFlow backend (this is {backend}): rerun with "
        "KERAS_BACKEND=tensorflow; the model files are the same on every backend"
    )
from pathlib import Path

import cv2
import keras
import matplotlib.pyplot as plt
import numpy as np

from common.cifar10 import CLASS_NAMES, load_cifar10, resolve_data_dir
from common.deployment import (
    check_model_file,
    check_model_fits,
    check_probabilities,
    default_model_path,
    export_chatter_hidden,
    gather_of_shape_to_transpose,
    load_error,
    replace_folder,
)
from common.files import (
    FIGURE_STYLE,
    MODELS,
    atomic_write,
    center_square,
    prepare_output_dir,
    read_image_files,
    sample_photos,
    save_figure,
    show_figures,
    verdict,
    write_json,
)
from common.keras_setup import import_tensorflow
from common.lesson import first_line

plt.style.use(FIGURE_STYLE)
output_dir = prepare_output_dir(settings.output_dir)

# %% [markdown]
# ## The model file, loaded safely
#
# Lesson 5 saved its model twice, as `models/cifar10_cnn.h5` and `models/cifar10_cnn.keras`.
# `.h5` (HDF5) is the format the slide names („uložiť do .h5“) and the one Keras 2 wrote;
# Keras 3 still reads and writes it, but calls it legacy. `.keras` is Keras 3's native format,
# the one it recommends: a zip of `config.json`, `metadata.json` and `model.weights.h5` (look
# inside with `unzip -l`). Both hold the same layers and weights and give the same
# probabilities. Lesson 5 writes both: the `.h5` for the slide and for older tools that read
# only HDF5, the `.keras` for Keras 3 and what comes after it. This lesson loads the `.h5` by
# default, as the slide does; `--model models/cifar10_cnn.keras` loads the other one.
#
# A Keras file holds a JSON config naming the layers and functions to rebuild, and the
# weights. A Lambda layer stores Python bytecode, and a config can name any importable
# function (`os.system` as an activation): loading such a file runs it. So first
# `check_model_file` reads the config as plain JSON, which runs nothing, and refuses code,
# broken files and files that are not models. Then `keras.models.load_model(...,
# safe_mode=True)` loads it: Keras' own lock on the same door. Last, the model must take
# CIFAR-10's 32×32×3 images and give 10 probabilities.

# %%
MODEL_FILE = MODELS / "cifar10_cnn.h5"  # the seminar's format; ker5_cifar10_cnn.py writes it
MODEL_VARIANTS = "cifar10_cnn_*.h5"  # ker5 --quick, --no-augment, ...: cifar10_cnn_<variant>.h5
QUICKEST_TRAINING = "python ker5_cifar10_cnn.py --quick"


def model_file(model=None, models_dir=MODELS):
    """The model file given, else ker5's; one line says how to make it if there is none."""
    if model:
        path = Path(model).expanduser()
        if not path.exists():
            raise LessonError(
                f"no such model file: {path}; ker5_cifar10_cnn.py trains one, the quickest way "
                f"is `{QUICKEST_TRAINING}` (a few minutes)"
            )
        return path
    path = default_model_path(models_dir, MODEL_FILE.name, MODEL_VARIANTS)
    if not path.exists():
        raise LessonError(
            f"no model at {path}: ker5_cifar10_cnn.py trains and saves it; the quickest way is "
            f"`{QUICKEST_TRAINING}` (a few minutes), or pass --model PATH"
        )
    return path


input_shape = (32, 32, 3)  # (height, width, channels): what CIFAR-10 images are
num_classes = len(CLASS_NAMES)  # 10

model_path = model_file(settings.model)
config = check_model_file(model_path)  # the config as plain JSON: nothing in the file runs
file_format = ".keras, Keras 3's native format" if model_path.suffix == ".keras" else "HDF5, legacy"
print(f"config of {model_path.name} ({file_format}): a Keras {config['class_name']}")
print("  no layer in it carries code")
try:
    model = keras.models.load_model(model_path, compile=False, safe_mode=True)
except Exception as error:  # Keras raises many kinds of errors for broken or odd files
    raise load_error(model_path, error) from None
check_model_fits(model, model_path, input_shape, num_classes)
print(f"model: {model_path} ({model.count_params():,} parameters, loaded with safe_mode=True)")
print(f"  input {model.input_shape} -> output {model.output_shape}")

# %% [markdown]
# ## The images
#
# Without image files, a few CIFAR-10 test images, which the model never saw in training.
# A photo of yours is made to look like CIFAR-10: CIFAR-10 images are centred objects, so the
# largest centred square is cut out and shrunk to 32×32 with area interpolation (each output
# pixel averages the pixels it covers, so nothing aliases; a tiny image is enlarged with cubic
# interpolation). A file in a folder named after a class (`photos/cat/x.jpg`) counts as that
# class. Offline and without the test set, matplotlib's sample photos stand in.


# %%
def to_cifar_size(image, size=32):
    """Centre-crop to a square and resize to size x size: (32, 32, 3) uint8 RGB by default."""
    return center_square(image, size)


def load_test_images(data_dir=None, count=16, seed=0):
    """(images, names, labels): count random CIFAR-10 test images; without them, sample photos."""
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
    return x_test[index], [f"test #{i}" for i in index], [int(y_test[i]) for i in index]


def input_scale(model):
    """1.0 if the model rescales pixels itself (a Rescaling layer), else 1/255 as in training."""
    names = {type(layer).__name__ for layer in model.layers}
    return 1.0 if names & {"Rescaling", "Normalization"} else 1.0 / 255.0


def caption(name, label):
    """A short caption: the test image's number or the file's name, and its true class."""
    text = name if name.startswith("test #") else Path(name).name[:16]
    return text if label is None else f"{text}\n(true: {CLASS_NAMES[label]})"


MAX_FIGURE_IMAGES = 24


def plot_images(images, names, labels):
    """A grid of the 32x32 images, up to MAX_FIGURE_IMAGES, 8 to a row."""
    count = min(len(images), MAX_FIGURE_IMAGES)
    cols = min(8, count)
    rows = -(-count // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.9 * cols, 2.5 * rows), squeeze=False)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_frame_on(False)
    for ax, image, name, label in zip(axes.flat, images, names, labels, strict=False):
        ax.imshow(image)
        ax.set_xlabel(caption(name, label))
    shown = f"{count} of {len(images)}" if count < len(images) else f"all {count}"
    fig.suptitle(f"What the network will see: {shown} images, each 32x32 RGB")
    fig.tight_layout()
    return fig, axes


if settings.images:
    images, names, labels = read_image_files(settings.images, to_cifar_size, CLASS_NAMES)
else:
    images, names, labels = load_test_images(settings.data_dir, settings.test_images, settings.seed)
scale = input_scale(model)
x = images.astype(np.float32) * np.float32(scale)  # (batch, 32, 32, 3), scaled as in training
print(f"{len(images)} images: {images.shape} uint8 RGB -> x {x.shape} float32 (x{scale:.4g})")
fig, _ = plot_images(images, names, labels)
images_figure = save_figure(fig, output_dir / "ker6_predict_images.png")

# %% [markdown]
# ## Predict
#
# `model.predict` runs the images through the network; the weights stay as they are. This is
# the slides' „testovacia fáza“ (testing phase; today it is called inference), as opposed to
# the „trénovacia fáza“ of lesson 5, where `model.fit` changed them (`docs/glossary.md` has
# the slides' words). Each row of the result holds 10 probabilities that add up to 1 (the
# softmax at the end), and the top 3 are printed. A model that does not end in a softmax is
# refused here.

# %%
TOP_K = 3  # classes printed (and saved) for each image


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
            right = "right" if p.argmax() == label else "WRONG"
            verdict = f"   (true: {CLASS_NAMES[label]}: {right})"
        print(f"  {shown:<{width}}  {tops}{verdict}")


probabilities = model.predict(x, verbose=0)  # (batch, 10)
check_probabilities(probabilities, model_path)
print(f"top-{TOP_K} classes for {len(images)} images:")
print_top_classes(names, probabilities, labels)
known = [p.argmax() == y for p, y in zip(probabilities, labels, strict=True) if y is not None]
if known:
    print(f"{sum(known)} of {len(known)} right ({np.mean(known):.0%})")

# %% [markdown]
# ## Show it
#
# The same images, each with a small bar chart of its top 3 classes under it. Where the true
# class is known, its bar is green and marked ✓; a wrong first guess is orange and marked ✗.
# So a ✗ on top with a ✓ below it means the network's second or third guess was right.


# %%
NEUTRAL = "#0072B2"  # the bars of an image whose true class is not known


def plot_image_predictions(images, names, probabilities, labels):
    """Each 32x32 image the network saw, with a bar chart of its top classes under it."""
    count = min(len(images), MAX_FIGURE_IMAGES)
    cols = min(8, count)
    rows = -(-count // cols)
    height = 3.3 * rows + 1.1  # inches: each row, and two lines of title
    fig = plt.figure(figsize=(2.7 * cols, height))
    grid = fig.add_gridspec(rows, cols, hspace=0.45, wspace=1.0, top=1 - 1.1 / height)
    for i in range(count):
        image_cell, bars_cell = grid[divmod(i, cols)].subgridspec(
            2, 1, height_ratios=(1.6, 1), hspace=0.05
        )
        ax = fig.add_subplot(image_cell)
        ax.imshow(images[i])
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(caption(names[i], labels[i]))
        bars = fig.add_subplot(bars_cell)
        top = top_classes(probabilities[i], CLASS_NAMES)
        texts, colors = [], []
        for rank, (name, _) in enumerate(top):
            right = labels[i] is not None and name == CLASS_NAMES[labels[i]]
            marked = labels[i] is not None and (right or rank == 0)  # the truth, a wrong top-1
            texts.append(f"{verdict(right)['mark']} {name}" if marked else name)
            colors.append(verdict(right)["color"] if marked else NEUTRAL)
        y = np.arange(len(top))[::-1]  # the best on top
        drawn = bars.barh(y, [q for _, q in top], color=colors)
        bars.bar_label(drawn, labels=[f" {q:.0%}" for _, q in top])
        bars.set_yticks(y, texts)
        bars.set_xlim(0, 1.5)  # room for the percentages beside a full bar
        bars.set_xticks([])
        for side in ("top", "right", "bottom"):
            bars.spines[side].set_visible(False)
    shown = f" (the first {count} of {len(images)} drawn)" if count < len(images) else ""
    fig.suptitle(summary(probabilities, labels) + shown)
    return fig


def summary(probabilities, labels):
    """The figure's title: how many first guesses were right, and how many in the top 3."""
    known = [(p, y) for p, y in zip(probabilities, labels, strict=True) if y is not None]
    if not known:
        return (
            f"{len(labels)} images of unknown class: the network's top {TOP_K} for each\n"
            "(it must pick among its 10 classes, even for a photo that shows none of them)"
        )
    right = sum(int(p.argmax() == y) for p, y in known)
    in_top = sum(y in np.argsort(p)[::-1][:TOP_K] for p, y in known)
    return (
        f"{right} of {len(known)} first guesses right (✓ on top);\n"
        f"the true class in the top {TOP_K} for {in_top} of {len(known)}"
    )


figure = save_figure(
    plot_image_predictions(images, names, probabilities, labels), output_dir / "ker6_predict.png"
)

# %% [markdown]
# ## Run it elsewhere: export (only with `--export`)
#
# The slide's .pb is today a TensorFlow **SavedModel** folder (its `saved_model.pb` holds the
# graph); `model.export` writes it. **ONNX** is the format most other engines read:
# onnxruntime, and OpenCV's dnn module, which C++ and Java call (`clients/`). Opset 13 is
# what OpenCV 4.6 reads (Debian 12's, which `clients/` build against), and
# `gather_of_shape_to_transpose` rewrites the one node of tf2onnx's file that OpenCV 4.6
# can't read. The files go to the output folder, each written beside its place and then
# moved in. Both exports need the TensorFlow backend.
#
# In a notebook, set `export=True` in the settings cell and run again from there.

# %%
exported = None  # the paths of the exported files, when this cell writes them
export_results = {}  # what goes into the JSON
if not settings.export:
    print("export: off (--export on the command line, or export=True in the settings cell)")
else:
    savedmodel_dir = output_dir / f"{model_path.stem}_savedmodel"
    onnx_path = output_dir / f"{model_path.stem}.onnx"
    try:
        with export_chatter_hidden(settings.verbose):  # tf2onnx and TensorFlow talk a lot
            replace_folder(
                savedmodel_dir,
                lambda tmp: model.export(str(tmp), format="tf_saved_model", verbose=False),
            )
            atomic_write(
                onnx_path,
                lambda tmp: model.export(tmp, format="onnx", verbose=False, opset_version=13),
            )
            gather_of_shape_to_transpose(onnx_path)  # for OpenCV 4.6; rewritten in place
    except Exception as error:
        raise LessonError(f"could not export the model: {first_line(error)}") from None
    exported = {"savedmodel": savedmodel_dir, "onnx": onnx_path}
    print(f"exported: {savedmodel_dir}/ (TensorFlow SavedModel)  and  {onnx_path} (ONNX)")

# %% [markdown]
# ## The same answers in every runtime (only with `--export`)
#
# The same images go through the SavedModel in TensorFlow (no Keras code), the ONNX file in
# onnxruntime, and the ONNX file in OpenCV's dnn module, as C++'s `cv::dnn::readNetFromONNX`
# reads it. Each must give Keras' probabilities to within `PARITY_TOLERANCE`.

# %%
PARITY_TOLERANCE = 1e-5  # every runtime must give Keras' probabilities to this
PARITY_KEYS = {  # the exported runtimes compared with Keras, and their keys in the JSON
    "savedmodel": "savedmodel_max_abs_diff",
    "onnxruntime": "onnxruntime_max_abs_diff",
    "opencv dnn": "opencv_max_abs_diff",
}

if exported:
    import onnxruntime

    try:
        reloaded = import_tensorflow().saved_model.load(str(exported["savedmodel"]))
        session = onnxruntime.InferenceSession(
            str(exported["onnx"]), providers=["CPUExecutionProvider"]
        )
        net = cv2.dnn.readNetFromONNX(str(exported["onnx"]))  # C++: cv::dnn::readNetFromONNX
        net.setInput(x)  # an (N, 32, 32, 3) blob, the layout the ONNX graph takes
        outputs = {
            "savedmodel": reloaded.serve(x).numpy(),
            "onnxruntime": session.run(None, {session.get_inputs()[0].name: x})[0],
            "opencv dnn": net.forward(),
        }
    except Exception as error:
        raise LessonError(f"could not run the exported model: {first_line(error)}") from None
    print("largest |probability - Keras probability| on the same images:")
    for name, key in PARITY_KEYS.items():
        got = np.asarray(outputs[name]).reshape(probabilities.shape)
        export_results[key] = float(np.abs(got - probabilities).max())
        ok = "ok" if export_results[key] <= PARITY_TOLERANCE else f"MORE than {PARITY_TOLERANCE:g}"
        print(f"  {name:<12} {export_results[key]:.1e}  {ok}")
    export_results["exported"] = {k: str(v) for k, v in exported.items()}
    print(f"how fast each one answers: python bench/bench_runtimes.py --model {model_path}")
else:
    print("nothing exported, nothing to compare")

# %% [markdown]
# ## Save the numbers
#
# Every image's top classes and all 10 probabilities, so that runs can be compared.


# %%
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


results = {
    "model": str(model_path),
    "input_scale": scale,
    "predictions": prediction_entries(names, probabilities, labels, not settings.images),
    "accuracy": float(np.mean(known)) if known else None,
    **export_results,
    "figure": str(figure),
    "images_figure": str(images_figure),
}
print(f"results: {write_json(output_dir / 'ker6_predict.json', results)}")
show_figures(settings.no_show)
