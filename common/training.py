"""Training that never loses work, the pictures of a classifier's training, and the
parameter table of any Keras model.

The lesson calls `start_or_resume` before `fit`, passes `safe_training_callbacks` to `fit`,
and `finish` after it; a loss that became NaN ends the lesson with `TrainingDiverged`.
Progress is kept in a folder per kind of run (models/NAME.resume):
- settings.json: the run's settings and a fingerprint of the model's architecture, so a rerun
  resumes only the very same run, and a changed model starts fresh;
- backup/: Keras' BackupAndRestore (weights, optimizer state, epoch number);
- history.csv: one row per finished epoch; best.json: the best epoch so far.
"""

import csv
import hashlib
import json
import math
import shutil
import time
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np

from common.files import atomic_write, write_json
from common.lesson import LessonError


class TrainingDiverged(LessonError):
    """The loss became NaN: one `error:` line, and exit code 1 (the input was fine)."""

    exit_code = 1


def architecture_fingerprint(model):
    """A short hash of every layer's type, settings and weight shapes; it changes with the model."""
    layers = []
    for layer in model.layers:
        config = {k: v for k, v in layer.get_config().items() if k != "name"}
        layers.append([type(layer).__name__, config, [list(w.shape) for w in layer.weights]])
    text = json.dumps(layers, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _read_json(path):
    """A small JSON file as a dict, or None if it is missing or unreadable."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def start_or_resume(state_dir, settings, fingerprint):
    """Return (first epoch, best so far): resume the same run, or start fresh and say why."""
    state_dir = Path(state_dir)
    wanted = {**settings, "model": fingerprint}
    backup_meta = _read_json(state_dir / "backup" / "training_metadata.json")
    if state_dir.exists():
        old = _read_json(state_dir / "settings.json")
        if old == wanted and backup_meta:
            return backup_meta["epoch"], _read_json(state_dir / "best.json") or {}
        if old and backup_meta:
            if old.get("model") != fingerprint:
                why = "belonged to a different model (its architecture changed)"
            else:
                why = "was made with other settings"
            print(f"the saved progress in {state_dir} {why}; starting fresh")
        shutil.rmtree(state_dir)
    state_dir.mkdir(parents=True)
    write_json(state_dir / "settings.json", wanted)
    return 0, {}


def float32_copy(model):
    """A float32 twin of the model, whatever its dtype policy, and not compiled: what we save,
    since float32 runs on any CPU. It has the model's layers; set_weights fills it."""

    def in_float32(node):  # every layer's config, also in nested models, with dtype float32
        if isinstance(node, list):
            return [in_float32(item) for item in node]
        if not isinstance(node, dict):
            return node
        node = {key: in_float32(value) for key, value in node.items()}
        config = node.get("config")
        if "class_name" in node and isinstance(config, dict) and "dtype" in config:
            config["dtype"] = "float32"
        return node

    return type(model).from_config(in_float32(model.get_config()))


def save_model_files(model, paths):
    """Save to each path through a temporary file and os.replace: never half a file."""
    for path in paths:
        atomic_write(path, model.save)  # Keras picks the format from the suffix


def safe_training_callbacks(model, saved_copy, model_paths, state_dir, best, status):
    """Callbacks that time each epoch, keep the best model, stop on NaN, back up and log.

    saved_copy is a float32 model of the same architecture: the best weights are copied into
    it and saved to every path in model_paths. best and status are dicts updated in place.
    """
    state_dir = Path(state_dir)

    def epoch_begin(epoch, logs):
        status["epoch"] = epoch + 1  # 1-based, as the progress bar shows it
        status["t0"] = time.perf_counter()

    def batch_end(batch, logs):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            status["diverged"] = status["epoch"]
            model.stop_training = True

    def epoch_end(epoch, logs):
        logs["epoch_seconds"] = time.perf_counter() - status["t0"]  # CSVLogger writes it too
        if status["diverged"] or not math.isfinite(logs.get("loss", float("nan"))):
            status["diverged"] = status["diverged"] or epoch + 1
            return
        val_accuracy = logs.get("val_accuracy", float("nan"))
        if val_accuracy > best.get("val_accuracy", -1.0):
            weights = model.get_weights()
            if not all(np.isfinite(w).all() for w in weights):
                return
            saved_copy.set_weights(weights)
            save_model_files(saved_copy, model_paths)
            best.update(val_accuracy=float(val_accuracy), epoch=epoch + 1)
            write_json(state_dir / "best.json", best)
            print(f"  best so far: val accuracy {val_accuracy:.3f}; saved {model_paths[0]}")

    callbacks = [
        keras.callbacks.LambdaCallback(
            on_epoch_begin=epoch_begin, on_train_batch_end=batch_end, on_epoch_end=epoch_end
        ),
        keras.callbacks.CSVLogger(str(state_dir / "history.csv"), append=True),
        # Weights, optimizer state and the epoch number after every epoch; a rerun of the same
        # command loads them and carries on.
        keras.callbacks.BackupAndRestore(str(state_dir / "backup"), double_checkpoint=True),
    ]
    return callbacks


def read_history(path):
    """The per-epoch CSV as {column: list}; a rerun epoch (after a crash) keeps its last row."""
    rows = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            rows[int(row["epoch"])] = row
    ordered = [rows[e] for e in sorted(rows)]
    columns = ordered[0] if ordered else {}
    return {k: [int(r[k]) if k == "epoch" else float(r[k]) for r in ordered] for k in columns}


def finish(state_dir):
    """After fit: the history of every epoch (also those before a resume); the resume folder
    is deleted, since there is nothing left to resume."""
    history = read_history(Path(state_dir) / "history.csv")
    shutil.rmtree(state_dir, ignore_errors=True)
    return history


def write_history_csv(history, path):
    """The merged history as a CSV (one row per epoch), written atomically."""

    def write(tmp):
        with open(tmp, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(history.keys())
            writer.writerows(zip(*history.values(), strict=True))

    return atomic_write(path, write)


def plot_augmented_views(augmenter, x_train, y_train, class_names, views=5):
    """Each row one training image, then what the network sees of it in `views` epochs."""
    images = x_train[:4].astype("float32") / 255.0
    fig, axes = plt.subplots(4, views + 1, figsize=(1.25 * (views + 1), 5.4), squeeze=False)
    for col in range(views + 1):
        shown = images if col == 0 or augmenter is None else augmenter(images, training=True)
        for row in range(4):
            axes[row, col].imshow(np.clip(np.asarray(shown[row]), 0, 1))
            axes[row, col].set_xticks([])
            axes[row, col].set_yticks([])
        axes[0, col].set_title("original" if col == 0 else f"augmented {col}", fontsize=8)
    for row in range(4):
        axes[row, 0].set_ylabel(class_names[y_train[row]], fontsize=9)
    if augmenter is None:
        what = "the originals only (--no-augment)"
    else:
        what = ", ".join(type(layer).__name__ for layer in augmenter.layers)
    fig.suptitle(f"What the network sees: {what}", fontsize=10)
    return fig


def plot_curves(history, note=""):
    """Loss and accuracy per epoch, training against validation; the gap is overfitting."""
    epochs = np.arange(1, len(history["loss"]) + 1)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
    for ax, key in ((ax_loss, "loss"), (ax_acc, "accuracy")):
        ax.plot(epochs, history[key], "o-", label=f"training {key}")
        ax.plot(epochs, history[f"val_{key}"], "s-", label=f"validation {key}")
        ax.set_xlabel("epoch")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        ax.legend()
    gap = history["accuracy"][-1] - history["val_accuracy"][-1]
    ax_acc.set_title(f"last epoch: training − validation = {gap:+.1%}")
    ax_loss.set_title("validation loss rising while training loss falls = overfitting")
    if note:
        fig.text(0.5, -0.07, note, ha="center", fontsize=8)
    return fig


def plot_confusion(confusion, class_names):
    """Rows: the true class; columns: the predicted class."""
    n = len(class_names)
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    ax.imshow(confusion, cmap="Blues")
    ax.set_xticks(range(n), class_names, rotation=45, ha="right")
    ax.set_yticks(range(n), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    top = confusion.max() or 1
    for i in range(n):
        for j in range(n):
            colour = "white" if confusion[i, j] > top / 2 else "black"
            ax.text(j, i, confusion[i, j], ha="center", va="center", fontsize=7, color=colour)
    ax.set_title("confusion matrix on the test images")
    return fig


def plot_test_predictions(x_test, y_test, predicted, class_names):
    """24 test images with the true and the predicted class; mistakes in red."""
    fig, axes = plt.subplots(4, 6, figsize=(9, 7.6))
    fig.subplots_adjust(hspace=0.55)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= len(x_test):
            continue
        ax.imshow(x_test[i])
        right = predicted[i] == y_test[i]
        ax.set_title(
            f"{class_names[y_test[i]]}\n→ {class_names[predicted[i]]}",
            fontsize=8,
            color="green" if right else "red",
        )
    fig.suptitle("test images: true class → predicted (red = wrong)")
    return fig


def _term(*factors):
    """A product written out and computed from the same numbers: ("3·3·3·32", 864)."""
    value = 1
    for factor in factors:
        value *= int(factor)
    return "·".join(str(int(f)) for f in factors), value


def _conv_terms(layer, channels_in):
    """Conv1D/2D/3D and their Transpose: one kernel per filter, plus one bias per filter."""
    terms = [_term(*layer.kernel_size, channels_in, layer.filters)]
    if layer.use_bias:
        terms.append(_term(layer.filters))
    return terms


def _terms(layer):
    """The formula's terms for the layer types a lesson explains; None for any other type."""
    kind = type(layer).__name__
    channels_in = layer.input.shape[-1]  # channels last: the last axis is the channels
    if kind in ("Conv1D", "Conv2D", "Conv3D", "Conv2DTranspose", "Conv3DTranspose"):
        return _conv_terms(layer, channels_in)
    if kind == "Dense":
        terms = [_term(channels_in, layer.units)]
        return terms + [_term(layer.units)] if layer.use_bias else terms
    if kind in ("SeparableConv2D", "SeparableConv1D"):
        multiplier = layer.depth_multiplier
        terms = [
            _term(*layer.kernel_size, channels_in, multiplier),  # one small kernel per channel
            _term(channels_in * multiplier, layer.filters),  # then a 1x1 mix of the channels
        ]
        return terms + [_term(layer.filters)] if layer.use_bias else terms
    if kind in ("DepthwiseConv2D", "DepthwiseConv1D"):
        terms = [_term(*layer.kernel_size, channels_in, layer.depth_multiplier)]
        bias = _term(channels_in * layer.depth_multiplier)
        return terms + [bias] if layer.use_bias else terms
    if kind == "BatchNormalization":
        # gamma and beta are trained; the moving mean and variance are counted but not trained
        kept = int(layer.scale) + int(layer.center) + 2
        return [_term(kept, channels_in)]
    return None


def parameter_rows(model):
    """One dict per layer that holds weights: name, kind, formula (or None) and count.

    The count is always Keras' own `layer.count_params()`. The formula is shown only where it
    gives the same number, so an unusual layer (or an edited one) still gets a true row.
    """
    rows = []
    for layer in model.layers:
        count = layer.count_params()
        if not layer.weights:
            continue
        try:
            terms = _terms(layer)
        except (AttributeError, TypeError, ValueError):  # a layer without the usual attributes
            terms = None
        formula = None
        if terms and sum(value for _, value in terms) == count:
            formula = " + ".join(text for text, _ in terms)
        rows.append(
            {"layer": layer.name, "kind": type(layer).__name__, "formula": formula, "count": count}
        )
    return rows
