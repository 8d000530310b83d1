"""Using a trained model elsewhere: model files read safely, and ONNX files old readers take.

A Keras file holds a JSON config that names the classes and functions to rebuild. A Lambda
layer stores Python bytecode, and a config can name any importable function (os.system as an
activation). check_model_file reads the config as plain JSON and refuses those before Keras
sees the file; keras.models.load_model(..., safe_mode=True) in the lesson is a second lock on
the same door.
"""

import contextlib
import json
import os
import shutil
import tempfile
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np

from common.files import atomic_write
from common.keras_setup import stderr_silenced
from common.lesson import LessonError, first_line

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
ZIP_MAGIC = b"PK\x03\x04"
CODE_LAYERS = ("Lambda", "TFOpLambda", "__lambda__")  # layers that store Python bytecode


def default_model_path(models_dir, name, variants):
    """models_dir/name if it exists (or nothing else does), else the newest match of variants."""
    full = Path(models_dir) / name
    found = []
    for path in Path(models_dir).glob(variants):
        try:
            found.append((path.stat().st_mtime, path))
        except OSError:  # a broken link, or deleted while we looked
            continue
    if full.exists() or not found:
        return full
    newest = max(found)[1]
    print(f"no {full.name} (ker5's default run) yet; using the newest variant, {newest}")
    return newest


def check_model_file(path):
    """Refuse a missing, broken or code-carrying model file (one line); return its config."""
    path = Path(path)
    if not path.exists():
        raise LessonError(f"no such model file: {path}")
    config = read_model_config(path)
    code = find_code_in_config(config)
    if code:
        raise LessonError(
            f"refusing to load {path}: it holds {', '.join(code)}, i.e. Python code that "
            "loading would run; rebuild the model from standard Keras layers"
        )
    return config


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
    suffix = path.suffix.lower()
    if suffix not in (".h5", ".hdf5", ".keras"):
        raise LessonError(f"{path}: a model file ends in .h5 or .keras, not '{path.suffix}'")
    if suffix == ".keras" and head == HDF5_MAGIC:
        raise LessonError(f"{path} is an HDF5 (.h5) file with a .keras name; rename it to .h5")
    if suffix != ".keras" and head.startswith(ZIP_MAGIC):
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
            if name in CODE_LAYERS:
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


def load_error(path, error):
    """The one-line LessonError for an exception keras.models.load_model raised."""
    first = first_line(error)
    if "safe_mode" in str(error) or "arbitrary code" in str(error):
        return LessonError(f"refusing to load {path}: Keras safe_mode says: {first}")
    return LessonError(f"cannot load {path} as a Keras model: {first}")


def check_model_fits(model, path, input_shape, num_classes):
    """Refuse a model that does not take input_shape images and give num_classes outputs."""
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise LessonError(f"{path}: the model must have one input and one output")
    got_in = tuple(model.inputs[0].shape[1:])
    got_out = tuple(model.outputs[0].shape[1:])
    if got_in != tuple(input_shape):
        size = "x".join(map(str, input_shape))
        raise LessonError(f"{path} takes inputs of shape {got_in}, not {size} CIFAR-10 images")
    if got_out != (num_classes,):
        raise LessonError(f"{path} gives outputs of shape {got_out}, not {num_classes} classes")
    if not all(np.isfinite(w).all() for w in model.get_weights()):
        raise LessonError(f"{path} is corrupted: some of its weights are NaN or infinite")


def check_probabilities(probabilities, path):
    """Refuse outputs that are not probabilities (a model without a softmax at the end)."""
    sums = probabilities.sum(axis=1)
    if probabilities.min() < -1e-6 or not np.allclose(sums, 1.0, atol=1e-3):
        raise LessonError(f"{path} does not end in a softmax: its outputs are not probabilities")


def export_chatter_hidden(verbose):
    """A context that hides tf2onnx's and TensorFlow's export chatter unless verbose."""
    if verbose:
        return contextlib.nullcontext()
    stack = contextlib.ExitStack()
    stack.enter_context(warnings.catch_warnings())
    warnings.simplefilter("ignore")
    stack.enter_context(stderr_silenced())
    return stack


def replace_folder(folder, write):
    """Call write(tmp_folder) beside folder, then swap the result into place."""
    folder = Path(folder)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        write(tmp / "new")
        old = folder.with_name(f".{folder.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        if folder.exists():
            os.replace(folder, old)
        os.replace(tmp / "new", folder)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def gather_of_shape_to_transpose(path):
    """Rewrite tf2onnx's Gather(Shape(x), perm) as Shape(Transpose(x, perm)) in the file.

    tf2onnx writes Flatten's batch size that way; OpenCV 4.6's reader takes a Gather of one
    index only. The Transpose gives the same numbers. Unused nodes are dropped afterwards, and
    the new file replaces the old one only once it is whole.
    """
    import onnx

    proto = onnx.shape_inference.infer_shapes(onnx.load(path))
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
    ends = [[v.name for v in part] for part in (graph.input, graph.output)]

    def write(tmp):
        onnx.save(proto, tmp)
        onnx.utils.extract_model(tmp, tmp, *ends)  # drops the nodes and constants left unused

    atomic_write(path, write)
