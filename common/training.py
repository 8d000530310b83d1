"""Training that never loses work, the pictures of a classifier's training, and the
parameter table of any Keras model.

The lesson's training cell reads

    with safe_training(model, model_dir=..., name=..., settings=..., validation=...) as run:
        model.fit(..., callbacks=run.callbacks)

and `safe_training` does the rest:
- a lock (models/NAME.lock, holding the run's process id): a second run on the same files
  stops with one line while the first is alive; a crashed run's lock does not block anything;
- resume: progress is kept in models/NAME.resume, and a rerun with the very same settings and
  the same architecture carries on from the last finished epoch (other settings, or another
  model, start fresh and say why);
- the best epoch's model is saved (as float32, .keras and .h5) inside that folder while training
  runs, so the model a student already has under models/NAME.* is never touched mid-run;
- a loss or weights that stop being finite end the training (`TrainingDiverged`, exit code 1);
- at the end, the better model keeps the name: this run's best model and the one already there
  are scored on the same validation images (this run's); the other goes to models/runners-up/,
  and one line says which happened. `replace=True` puts this run's model there in any case.
"""

import contextlib
import csv
import hashlib
import json
import math
import os
import shutil
import socket
import time
import types
from datetime import datetime
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np

from common.files import atomic_write, verdict, write_json
from common.lesson import LessonError

RUNNERS_UP = "runners-up"  # the folder beside the models for the model that did not keep the name


class TrainingDiverged(LessonError):
    """The loss or the weights stopped being finite: one `error:` line, exit code 1."""

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
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


# --- One run at a time on the same files ---


def _process_start(pid):
    """When the process started (Linux: clock ticks since boot), or None where unknown; a dead
    run's process id may be reused, but not with the same start time."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _process_alive(pid):
    """True if a process with this id exists (on this machine)."""
    if os.name == "nt":  # os.kill(pid, 0) would send Ctrl-C there; ask Windows instead
        import ctypes

        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return ctypes.get_last_error() == 5  # access denied: it exists
        code = ctypes.c_ulong()
        kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        kernel32.CloseHandle(handle)
        return code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)  # signal 0 checks that the process exists, and sends nothing
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, and belongs to another user
        return True
    except OSError:
        return False
    return True


def lock_holder(path):
    """The live run that holds the lock file (its dict), or None if the lock is free or stale."""
    holder = _read_json(path)
    if not holder or not isinstance(holder.get("pid"), int):
        return None  # unreadable: not a lock a live run wrote
    if holder.get("host") != socket.gethostname():
        return holder  # another machine (a shared folder): we can't check, so assume it runs
    if holder["pid"] == os.getpid():
        return None  # this process (an earlier notebook cell): not another run
    if not _process_alive(holder["pid"]):
        return None
    start = _process_start(holder["pid"])
    if start is not None and holder.get("start") is not None and start != holder["start"]:
        return None  # the id now belongs to another process
    return holder


def _create_whole(path, aside):
    """Make path a copy of the file aside, whole or not at all; FileExistsError if it exists."""
    try:
        os.link(aside, path)
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links: create it exclusively, then fill it
        with open(path, "x", encoding="utf-8") as f:
            f.write(Path(aside).read_text(encoding="utf-8"))


@contextlib.contextmanager
def training_lock(path):
    """Hold path as a lock while the block runs; a live run holding it already is a LessonError.

    The lock file holds this process's id, machine and start time, and appears whole (it is
    written aside and linked into place, which fails if the file exists). A lock whose process
    is gone (a crash, a kill) is stale, and is taken over.
    """
    path = Path(path)
    mine = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "start": _process_start(os.getpid()),
        "since": datetime.now().isoformat(timespec="seconds"),
    }
    aside = write_json(path.with_name(f".{path.name}.{os.getpid()}"), mine)
    try:
        for _ in range(3):  # a stale lock is removed, then the link is tried again
            try:
                _create_whole(path, aside)
                break
            except FileExistsError:
                holder = lock_holder(path)
                if holder:
                    raise LessonError(
                        f"another run (process {holder['pid']} on {holder.get('host')}, since "
                        f"{holder.get('since')}) is training into {path.with_suffix('')}.*; "
                        f"wait for it, or use another --model-dir (no such run? delete {path})"
                    ) from None
                path.unlink(missing_ok=True)
        else:
            raise LessonError(f"could not take the lock {path}; delete it and run again")
    finally:
        aside.unlink(missing_ok=True)
    try:
        yield path
    finally:
        if (_read_json(path) or {}).get("pid") == os.getpid():
            path.unlink(missing_ok=True)


# --- Resume, the best epoch, and the end of a run ---


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
                changed = sorted(
                    k for k in wanted.keys() | old.keys() if old.get(k) != wanted.get(k)
                )
                why = f"was made with other settings ({', '.join(changed)})"
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


def all_finite(model):
    """True if every weight of the model is a finite number (no inf, no NaN)."""
    return all(np.isfinite(w).all() for w in model.get_weights())


def safe_training_callbacks(model, saved_copy, model_paths, state_dir, best, status):
    """Callbacks that time each epoch, keep the best model, stop on divergence, back up and log.

    saved_copy is a float32 model of the same architecture: the best weights are copied into
    it and saved to every path in model_paths. best and status are dicts updated in place.
    A loss that is not finite stops training at once; weights that are not finite (a loss
    can stay finite, huge, while the weights overflow) stop it at the end of the epoch.
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
        finite = math.isfinite(logs.get("loss", float("nan"))) and all_finite(model)
        if status["diverged"] or not finite:
            status["diverged"] = status["diverged"] or epoch + 1
            model.stop_training = True
            return
        val_accuracy = logs.get("val_accuracy", float("nan"))
        if val_accuracy > best.get("val_accuracy", -1.0):
            saved_copy.set_weights(model.get_weights())
            save_model_files(saved_copy, model_paths)
            best.update(val_accuracy=float(val_accuracy), epoch=epoch + 1)
            write_json(state_dir / "best.json", best)
            print(f"  best so far: epoch {epoch + 1}, validation accuracy {val_accuracy:.3f}")

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
    try:
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                rows[int(row["epoch"])] = row
    except FileNotFoundError:
        return {}
    ordered = [rows[e] for e in sorted(rows)]
    columns = ordered[0] if ordered else {}
    return {k: [int(r[k]) if k == "epoch" else float(r[k]) for r in ordered] for k in columns}


def validation_accuracy(path, validation):
    """The accuracy of the model file at path on validation = (uint8 images, labels)."""
    x_val, y_val = validation
    model = keras.models.load_model(path, compile=False)
    probabilities = model.predict(np.asarray(x_val, "float32") / 255.0, verbose=0, batch_size=512)
    return float(np.mean(np.argmax(probabilities, axis=1) == np.asarray(y_val)))


def _move(sources, targets):
    """os.replace each source that exists onto its target; return the targets moved to."""
    moved = []
    for source, target in zip(sources, targets, strict=True):
        if Path(source).exists():
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
            moved.append(Path(target))
    return moved


def _runner_up_paths(main_paths, when):
    """Free paths in models/runners-up/ for a model made at `when`: NAME-YYYYmmdd-HHMMSS.*"""
    folder = Path(main_paths[0]).parent / RUNNERS_UP
    stem = f"{Path(main_paths[0]).stem}-{when:%Y%m%d-%H%M%S}"
    for n in range(1, 1000):
        name = stem if n == 1 else f"{stem}-{n}"
        paths = [folder / f"{name}{Path(p).suffix}" for p in main_paths]
        if not any(p.exists() for p in paths):
            return paths
    raise LessonError(f"{folder} is full of models named {stem}; clear some out")


def _both(paths):
    """'models/x.keras' or 'models/x.keras and .h5': the files of one model, in one phrase."""
    paths = [Path(p) for p in paths]
    return str(paths[0]) + "".join(f" and {p.suffix}" for p in paths[1:])


def keep_the_better(new_paths, main_paths, validation, *, replace=False):
    """The better model keeps the main name; the other moves to runners-up/. Nothing is deleted.

    new_paths: this run's model files; main_paths: the names a lesson (and lesson 6) reads.
    Both models are scored on the same validation images. This run's model takes the name if
    no model is there, if it is better (a tie keeps the earlier one), if the earlier one can't
    be scored, or if replace is True. Returns (one line saying what happened, a dict).
    """
    n = len(validation[1])
    new_score = validation_accuracy(new_paths[0], validation)
    earlier = [p for p in main_paths if Path(p).exists()]
    info = {"this_run_val_accuracy": new_score, "earlier_val_accuracy": None, "moved_to": None}
    if not earlier:
        paths = _move(new_paths, main_paths)
        line = f"kept: this run's model, now {_both(paths)} (there was no model under that name)"
        return line, {**info, "this_run": [str(p) for p in paths], "this_run_kept": True}
    try:
        old_score, problem = validation_accuracy(earlier[0], validation), None
        info["earlier_val_accuracy"] = old_score
    except Exception as error:  # a broken file, or a model for other images
        old_score, problem = None, (str(error).strip().splitlines() or [type(error).__name__])[0]
    scores = (
        f"validation accuracy on this run's {n:,} validation images: this run's model "
        f"{new_score:.3f}, the earlier one {old_score:.3f}"
        if old_score is not None
        else f"the earlier model could not be scored: {problem[:100]}"
    )
    if replace or old_score is None or new_score > old_score:
        when = datetime.fromtimestamp(Path(earlier[0]).stat().st_mtime)
        aside = _move(main_paths, _runner_up_paths(main_paths, when))
        paths = _move(new_paths, main_paths)
        why = "as --replace asks; " if replace and old_score is not None else ""
        line = (
            f"kept: this run's model, now {_both(paths)} ({why}{scores}); "
            f"the earlier one moved to {_both(aside)}"
        )
        return line, {
            **info,
            "this_run": [str(p) for p in paths],
            "this_run_kept": True,
            "moved_to": [str(p) for p in aside],
        }
    paths = _move(new_paths, _runner_up_paths(main_paths, datetime.now()))
    line = (
        f"kept: the earlier model in {_both(earlier)} ({scores}); this run's model is in "
        f"{_both(paths)} (--replace would have put it first)"
    )
    return line, {
        **info,
        "this_run": [str(p) for p in paths],
        "this_run_kept": False,
        "moved_to": [str(p) for p in paths],
    }


@contextlib.contextmanager
def safe_training(model, *, model_dir, name, settings, validation, replace=False):
    """Train without losing work (see the module's docstring); yields a namespace `run`.

    Before fit: run.callbacks (for fit), run.first_epoch (0, or where a resume starts) and
    run.best. After the block: run.history (every epoch, also those before a resume),
    run.best ({"epoch", "val_accuracy"}), run.model_paths (this run's model files, wherever
    they ended up) and run.kept (what keep_the_better said).
    model_dir/name names the files: NAME.keras and NAME.h5, NAME.resume/, NAME.lock.
    """
    model_dir = Path(model_dir)
    main_paths = [model_dir / f"{name}.keras", model_dir / f"{name}.h5"]
    state_dir = model_dir / f"{name}.resume"
    with training_lock(model_dir / f"{name}.lock"):
        first_epoch, best = start_or_resume(state_dir, settings, architecture_fingerprint(model))
        if first_epoch:
            of = f" of {settings['epochs']}" if "epochs" in settings else ""
            print(f"resuming the interrupted run at epoch {first_epoch + 1}{of}")
        run_paths = [state_dir / path.name for path in main_paths]  # this run's, until the end
        status = {"epoch": first_epoch, "diverged": 0, "t0": time.perf_counter()}
        run = types.SimpleNamespace(first_epoch=first_epoch, best=best)
        run.callbacks = safe_training_callbacks(
            model, float32_copy(model), run_paths, state_dir, best, status
        )
        try:
            yield run
        except KeyboardInterrupt:
            print(f"\ninterrupted in epoch {status['epoch']}; run the same command to resume")
            raise
        run.history = read_history(state_dir / "history.csv")
        if not best:
            shutil.rmtree(state_dir, ignore_errors=True)
            what = (
                f"diverged at epoch {status['diverged']}; try a smaller --lr"
                if status["diverged"]
                else "gave no epoch with a validation accuracy"
            )
            there = [p for p in main_paths if p.exists()]
            untouched = f"; {_both(there)} is as it was" if there else ""
            raise TrainingDiverged(f"training {what} (no model was saved{untouched})")
        line, run.kept = keep_the_better(run_paths, main_paths, validation, replace=replace)
        print(line)
        run.kept["line"] = line
        run.model_paths = [Path(p) for p in run.kept["this_run"]]
        shutil.rmtree(state_dir, ignore_errors=True)  # finished: nothing left to resume
        if status["diverged"]:
            raise TrainingDiverged(
                f"training diverged at epoch {status['diverged']}; try a smaller --lr (this "
                f"run's best epoch, {best['epoch']}, was kept as the line above says)"
            )


def write_history_csv(history, path):
    """The merged history as a CSV (one row per epoch), written atomically."""

    def write(tmp):
        with open(tmp, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(history.keys())
            writer.writerows(zip(*history.values(), strict=True))

    return atomic_write(path, write)


# --- Pictures of a classifier's training ---


def sample_per_class(labels, count, seed=0):
    """Up to count indices, spread evenly over the classes present (in a seeded random order),
    grouped by class: on a file sorted by class it still shows every class."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    pools = [rng.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)]
    picked = []
    for rank in range(max((len(p) for p in pools), default=0)):
        for pool in rng.permutation(len(pools)):  # which classes get one more: seeded, fair
            if rank < len(pools[pool]) and len(picked) < count:
                picked.append(pools[pool][rank])
    return np.array(sorted(picked, key=lambda i: (labels[i], i)), dtype=int)


def _describe(layer, transformation, count):
    """What one Keras augmentation layer did to each of count images, in a few words."""
    kind = type(layer).__name__
    if kind == "RandomFlip":
        flips = np.asarray(transformation["flips"]).reshape(count, -1)[:, 0]
        return ["mirrored" if flip else "" for flip in flips]
    if kind == "RandomTranslation":
        words = []
        for dx, dy in np.asarray(transformation["translations"]).reshape(count, 2):
            if layer.interpolation == "nearest":  # whole pixels: that is what the image shows
                dx, dy = round(float(dx)), round(float(dy))
            x = f"{'→' if dx > 0 else '←'}{abs(dx):.3g}" if dx else ""
            y = f"{'↓' if dy > 0 else '↑'}{abs(dy):.3g}" if dy else ""  # positive: down
            words.append(f"shift {x} {y} px".replace("  ", " ") if x or y else "")
        return words
    if kind == "RandomRotation":
        angles = np.asarray(transformation["angle"]).reshape(count)  # degrees; + is ↺
        return [f"turn {abs(a):.0f}° {'↺' if a > 0 else '↻'}" if round(a) else "" for a in angles]
    return [kind] * count


def augmented_views(augmenter, images):
    """One pass of the augmenter over images: (the augmented images, a label for each).

    Each of Keras' preprocessing layers draws its random transformation and applies it, as it
    does in training; the label says what it drew (mirrored, the shift in pixels, the turn).
    """
    count, labels = len(images), [[] for _ in images]
    for layer in augmenter.layers:
        if hasattr(layer, "get_random_transformation") and hasattr(layer, "transform_images"):
            transformation = layer.get_random_transformation(images, training=True)
            images = layer.transform_images(images, transformation, training=True)
            words = _describe(layer, transformation, count)
        else:  # a layer added in class: what it did can't be read back, so name it
            images = layer(images, training=True)
            words = [type(layer).__name__] * count
        for label, word in zip(labels, words, strict=True):
            if word:
                label.append(word)
    return np.asarray(images), ["\n".join(label) or "unchanged" for label in labels]


def plot_augmented_views(augmenter, x_train, y_train, class_names, views=4, seed=0):
    """One training image per class (columns), then what the network sees of it in `views`
    epochs (rows), each view labelled with what augmentation did to it."""
    shown = sample_per_class(y_train, len(np.unique(y_train)), seed)  # one of each class
    images = x_train[shown].astype("float32") / 255.0
    rows = 1 + (views if augmenter is not None else 0)
    columns = max(len(shown), 1)
    fig, axes = plt.subplots(
        rows, columns, figsize=(1.3 * columns + 0.6, 1.75 * rows + 0.6), squeeze=False
    )
    for row in range(rows):
        if row == 0:
            pixels, labels = images, [""] * len(shown)
        else:
            pixels, labels = augmented_views(augmenter, images)
        for col, ax in enumerate(axes[row]):
            ax.set_xticks([])
            ax.set_yticks([])
            if col >= len(shown):
                ax.axis("off")
                continue
            ax.imshow(np.clip(pixels[col], 0, 1))
            ax.set_xlabel(labels[col], fontsize=9, linespacing=1.1)
        axes[row, 0].set_ylabel("original" if row == 0 else f"view {row}", fontsize=10)
    for col, index in enumerate(shown):
        axes[0, col].set_title(class_names[y_train[index]], fontsize=10)
    if augmenter is None:
        what = "the originals only (--no-augment): every epoch sees the same images"
    else:
        steps = ", ".join(type(layer).__name__ for layer in augmenter.layers)
        what = f"{steps}, a new random view of each image every epoch"
    fig.suptitle(f"What the network sees in training: {what}")
    fig.tight_layout()
    return fig


LEVEL = 0.02  # validation loss within 2% of its lowest counts as level, not as rising


def overfitting_title(history):
    """The loss panel's title, read from the history: is validation loss still falling?"""
    val, train = history["val_loss"], history["loss"]
    last = len(val)
    if last < 2:
        return "one epoch: too few to tell whether it overfits"
    best = int(np.argmin(val)) + 1  # 1-based, as the x axis counts epochs
    if best == last:
        return f"validation loss still falling at epoch {last}: no overfitting yet"
    rise = (val[-1] - val[best - 1]) / abs(val[best - 1])
    if rise <= LEVEL:
        return f"validation loss about level since epoch {best}: no clear overfitting yet"
    if train[-1] < train[best - 1]:
        return (
            f"validation loss lowest at epoch {best} and {rise:.0%} higher since, while "
            "training loss fell: overfitting"
        )
    return f"validation loss lowest at epoch {best}; training loss rose too: not overfitting"


def plot_curves(history, note=""):
    """Loss and accuracy per epoch, training against validation; titles read from the run."""
    epochs = np.arange(1, len(history["loss"]) + 1)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(12, 4.6))
    for ax, key in ((ax_loss, "loss"), (ax_acc, "accuracy")):
        ax.plot(epochs, history[key], "o-", label=f"training {key}")
        ax.plot(epochs, history[f"val_{key}"], "s-", label=f"validation {key}")
        ax.set_xlabel("epoch")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        ax.legend()
    gap = 100 * (history["accuracy"][-1] - history["val_accuracy"][-1])
    gap_text = f"{gap:+.1f}".replace("-", "−")  # the minus sign, as in "training − validation"
    ax_acc.set_title(f"last epoch: training − validation accuracy = {gap_text} points", wrap=True)
    ax_loss.set_title(overfitting_title(history), wrap=True)
    if note:
        fig.text(0.5, -0.04, note, ha="center", fontsize=9)
    fig.tight_layout()
    return fig


def plot_confusion(confusion, class_names, what=None):
    """Row percentages (each true class adds up to 100); the mistakes get their own colour
    scale, so that the largest confusion (cat and dog, say) stands out. what: which images
    (default: "N test images")."""
    confusion = np.asarray(confusion)
    n = len(class_names)
    totals = confusion.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        percent = np.where(totals > 0, 100 * confusion / np.maximum(totals, 1), np.nan)
    diagonal = np.eye(n, dtype=bool)
    mistakes = np.ma.masked_where(diagonal | np.isnan(percent), percent)
    worst = float(mistakes.max()) if mistakes.count() and mistakes.max() > 0 else 1.0
    fig, ax = plt.subplots(figsize=(8.6, 7.4))
    image = ax.imshow(mistakes, cmap="Oranges", vmin=0, vmax=worst)
    ax.imshow(np.ma.masked_where(~diagonal, percent), cmap="Greys", vmin=0, vmax=250)
    fig.colorbar(image, ax=ax, shrink=0.8, label="mistakes: % of the true class")
    for i in range(n):
        for j in range(n):
            if np.isnan(percent[i, j]):
                text, colour = "–", "black"
            else:
                text = f"{percent[i, j]:.0f}"
                dark = not diagonal[i, j] and percent[i, j] > worst * 0.6
                colour = "white" if dark else "black"
            ax.text(j, i, text, ha="center", va="center", fontsize=9, color=colour)
    ax.set_xticks(range(n), class_names, rotation=45, ha="right")
    ax.set_yticks(range(n), class_names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    total = int(confusion.sum())
    what = what or f"{total:,} test images"
    accuracy = confusion.trace() / max(total, 1)
    pair = np.unravel_index(np.argmax(mistakes.filled(-1)), mistakes.shape)
    worst_pair = (
        f"; most confused: {class_names[pair[0]]} → {class_names[pair[1]]} ({percent[pair]:.0f}%)"
        if mistakes.count() and mistakes.max() > 0
        else ""
    )
    ax.set_title(
        f"{what}: accuracy {accuracy:.1%}{worst_pair}\n"
        "% of each true class (a row adds up to 100); the grey diagonal is right"
    )
    return fig


def plot_test_predictions(x_test, y_test, predicted, class_names, count=24, seed=0):
    """count test images, two or three of each class (a seeded sample), with the true and the
    predicted class; ✓ right, ✗ wrong."""
    shown = sample_per_class(y_test, count, seed)
    columns = 6
    rows = max(1, math.ceil(len(shown) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(10, 2.0 * rows + 0.4), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    right = 0
    for ax, i in zip(axes.flat, shown, strict=False):
        ax.imshow(x_test[i])
        mark = verdict(predicted[i] == y_test[i])
        right += predicted[i] == y_test[i]
        ax.set_title(
            f"{mark['mark']} {class_names[y_test[i]]}\n→ {class_names[predicted[i]]}",
            fontsize=9,
            color=mark["color"],
        )
    classes = len(np.unique(np.asarray(y_test)[shown])) if len(shown) else 0
    fig.suptitle(
        f"{len(shown)} test images from {classes} classes (a random sample of each class): "
        f"true → predicted, {right} of {len(shown)} right (✓), ✗ wrong"
    )
    fig.tight_layout()
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
