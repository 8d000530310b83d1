"""Training that never loses work: resume after a crash, keep the best model, stop on NaN.

The lesson calls `start_or_resume` before `fit`, passes `safe_training_callbacks` to `fit`,
and `finish` after it. Progress is kept in a folder per kind of run (models/NAME.resume):
- settings.json: the run's settings and a fingerprint of the model's architecture, so a rerun
  resumes only the very same run, and a changed model starts fresh;
- backup/: Keras' BackupAndRestore (weights, optimizer state, epoch number);
- history.csv: one row per finished epoch; best.json: the best epoch so far.
"""

import csv
import hashlib
import json
import math
import os
import shutil
import signal
import time
from pathlib import Path

import numpy as np

from common.paths import atomic_write, write_json
from common.quiet_keras import keras

KILL_AFTER_ENV = "KER5_KILL_AFTER_EPOCH"  # tests: kill -9 ourselves after epoch N (a "crash")


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


def float32_copy(build):
    """Build a float32 twin of the model (whatever the dtype policy): what we save."""
    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")
    try:
        return build()
    finally:
        keras.config.set_dtype_policy(policy)


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
    if os.environ.get(KILL_AFTER_ENV):  # the resume test simulates a crash here
        kill_after = int(os.environ[KILL_AFTER_ENV])

        def crash(epoch, logs):
            if epoch + 1 == kill_after:
                os.kill(os.getpid(), signal.SIGKILL)

        callbacks.append(keras.callbacks.LambdaCallback(on_epoch_end=crash))
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
