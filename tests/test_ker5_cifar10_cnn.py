"""ker5_cifar10_cnn.py: parameter counts, the safe CIFAR-10 loader, training, resume, NaN, GPUs."""

import csv
import os
import pickle
import re
import signal

import numpy as np
import pytest
from cifar_data import make_cifar_folder
from conftest import assert_clean_error, execute_notebook, read_json, run_script

from common.cifar10 import CLASS_NAMES, load_cifar10
from common.lesson import LessonError, load_definitions

SCRIPT = "ker5_cifar10_cnn.py"
CRASH = "tests/crash_after_epoch.py"  # runs the lesson, killed after epoch N (a crash)
# The code slide's network: (label, formula, count), worked out by hand from the slide's code.
EXPECTED_CODE = [
    ("Conv2D(32)", "3·3·3·32 + 32", 896),
    ("Conv2D(32)", "3·3·32·32 + 32", 9_248),
    ("Conv2D(64)", "3·3·32·64 + 64", 18_496),
    ("Conv2D(64)", "3·3·64·64 + 64", 36_928),
    ("Dense(512)", "2304·512 + 512", 1_180_160),
    ("Dense(10)", "512·10 + 10", 5_130),
]
# The "Architektúra" slide, line by line, and the number each line adds up to.
SLIDE = [
    ("3x(3x3)x32 + 32", 896),
    ("(32x(3x3))x32 + 32", 9_248),
    ("(32x(3x3))x64 + 64", 18_496),
    ("(64x(3x3))x64 + 64", 36_928),
    ("(64x(3x3))x64 + 64", 36_928),
    ("(64x(3x3))x64 + 64", 36_928),
    ("512 x 256 + 512", 131_584),
    ("10 x 512 + 10", 5_130),
]
TINY = ["--quick", "--no-show", "--batch-size", "32"]
CONVS = 896 + 9_248 + 18_496 + 36_928  # the code slide's four convolutions
DENSE = "x = layers.Dense(512)(x)"


@pytest.fixture(scope="module")
def keras():
    """Keras, started quietly as the lessons start it."""
    from common.keras_setup import start_keras

    return start_keras()


@pytest.fixture(scope="module")
def ker5(keras):
    """The lesson's functions and constants, with none of its steps run."""
    return load_definitions(SCRIPT)


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    """200 training and 100 test images of 10 easy classes, in the official folder format."""
    folder = tmp_path_factory.mktemp("cifar") / "cifar-10-batches-py"
    return make_cifar_folder(folder, n_train=200, n_test=100, n_batches=2)


def history_rows(path):
    """The lesson's per-epoch CSV as a list of dicts."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# --- The parameter counts ---


def test_code_network_is_the_code_slide_layer_for_layer(ker5):
    model = ker5.code_network()
    rows = ker5.parameter_table(model)
    assert [(r["label"], r["formula"], r["count"]) for r in rows] == EXPECTED_CODE
    assert model.count_params() == 1_250_858
    assert model.output_shape == (None, 10)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds.count("Conv2D") == 4 and kinds.count("Dense") == 2
    assert kinds.count("Dropout") == 3 and kinds.count("MaxPooling2D") == 2
    assert model.layers[-1].get_config()["activation"] == "softmax"
    # Its Dense(512) sees 6·6·64 = 2304 numbers: no slide line adds that up.
    assert [r["slide"] for r in rows] == [line for line, _ in SLIDE[:4]] + [None, SLIDE[-1][0]]


def test_table_network_agrees_with_every_line_of_the_architektura_slide(ker5):
    model = ker5.table_network()
    rows = ker5.parameter_table(model)
    assert [(r["slide"], r["count"]) for r in rows] == SLIDE
    assert [ker5.slide_value(line) for line, _ in SLIDE] == [count for _, count in SLIDE]
    assert model.count_params() == sum(count for _, count in SLIDE) == 276_138
    assert model.get_layer(index=-1).output.shape == (None, 10)
    flatten = [layer for layer in model.layers if type(layer).__name__ == "Flatten"][0]
    assert flatten.output.shape == (None, 256)  # 2·2·64: the slide's "512 x 256"


# --- The data loader ---


def test_loader_reads_any_number_of_batches_in_numeric_order(tmp_path):
    from keras.src.datasets.cifar import load_batch  # Keras' own reader, as a reference

    folder = make_cifar_folder(tmp_path / "c", n_train=110, n_test=20, n_batches=11)
    (x_train, y_train), (x_test, y_test) = load_cifar10(folder)
    assert x_train.shape == (110, 32, 32, 3) and x_train.dtype == np.uint8
    assert y_train.shape == (110,) and y_train.dtype == np.int64
    assert x_test.shape == (20, 32, 32, 3) and y_test.shape == (20,)
    # data_batch_10 and _11 come after data_batch_2, not before it.
    parts = [load_batch(str(folder / f"data_batch_{i}")) for i in range(1, 12)]
    expected = np.concatenate([data for data, _ in parts]).transpose(0, 2, 3, 1)
    np.testing.assert_array_equal(x_train, expected)
    np.testing.assert_array_equal(y_train, np.concatenate([labels for _, labels in parts]))


def test_loader_accepts_the_parent_folder_and_the_environment_variable(
    tiny_data, monkeypatch, tmp_path
):
    (x_train, _), _ = load_cifar10(tiny_data.parent)  # the folder that holds the batches
    assert len(x_train) == 200
    monkeypatch.setenv("CIFAR10_DIR", str(tiny_data))
    (x_env, _), _ = load_cifar10(None)
    np.testing.assert_array_equal(x_env, x_train)
    monkeypatch.setenv("CIFAR10_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(LessonError, match="nowhere"):
        load_cifar10(None)


def test_loader_refuses_a_pickle_that_would_run_code(tmp_path):
    folder = make_cifar_folder(tmp_path / "c", n_train=20, n_test=10)
    marker = tmp_path / "the-attack-ran"

    class Attack:
        def __reduce__(self):
            return (os.mkdir, (str(marker),))

    (folder / "data_batch_2").write_bytes(pickle.dumps({b"data": Attack()}, protocol=4))
    with pytest.raises(LessonError, match="refusing to load the global"):
        load_cifar10(folder)
    assert not marker.exists()


@pytest.mark.parametrize(
    "damage, message",
    [
        ("no folder", "no such CIFAR-10 folder"),
        ("a file", "is a file"),
        ("no data batches", "no data_batch_N files"),
        ("no test batch", "no test_batch"),
        ("truncated", "broken or not a CIFAR-10 batch"),
        ("garbage", "not a CIFAR-10 batch"),
        ("wrong shape", "values per image"),
        ("label count", "labels"),
    ],
)
def test_loader_gives_one_clear_error_for_broken_folders(tmp_path, damage, message):
    folder = make_cifar_folder(tmp_path / "c", n_train=20, n_test=10)
    batch = folder / "data_batch_1"
    target = folder
    if damage == "no folder":
        target = tmp_path / "missing"
    elif damage == "a file":
        target = batch
    elif damage == "no data batches":
        for path in folder.glob("data_batch_*"):
            path.unlink()
    elif damage == "no test batch":
        (folder / "test_batch").unlink()
    elif damage == "truncated":
        batch.write_bytes(batch.read_bytes()[:5000])
    elif damage == "garbage":
        batch.write_bytes(b"this is not a pickle at all")
    elif damage == "wrong shape":
        data = {b"data": np.zeros((4, 100), np.uint8), b"labels": [0, 1, 2, 3]}
        batch.write_bytes(pickle.dumps(data, protocol=4))
    elif damage == "label count":
        data = {b"data": np.zeros((4, 3072), np.uint8), b"labels": [0, 1]}
        batch.write_bytes(pickle.dumps(data, protocol=4))
    with pytest.raises(LessonError, match=message) as caught:
        load_cifar10(target)
    assert "\n" not in str(caught.value)


def test_the_data_folder_is_used_without_a_flag(tiny_data, monkeypatch, tmp_path):
    import common.cifar10 as cifar10

    monkeypatch.delenv("CIFAR10_DIR", raising=False)
    monkeypatch.setattr(cifar10, "LOCAL_FOLDER", tmp_path / "data" / "cifar-10-batches-py")
    assert cifar10.resolve_data_dir(None) is None  # not there: download
    monkeypatch.setattr(cifar10, "LOCAL_FOLDER", tiny_data)
    assert cifar10.resolve_data_dir(None) == tiny_data
    (x_train, _), _ = load_cifar10(None)
    assert len(x_train) == 200
    assert cifar10.resolve_data_dir(str(tmp_path)) == tmp_path  # --data-dir wins
    monkeypatch.setenv("CIFAR10_DIR", str(tmp_path / "env"))
    assert cifar10.resolve_data_dir(None) == tmp_path / "env"  # and so does CIFAR10_DIR


def test_offline_without_data_says_how_to_get_it(monkeypatch, tmp_path, keras):
    import common.cifar10 as cifar10

    monkeypatch.setattr(cifar10, "LOCAL_FOLDER", tmp_path / "no-data-here")

    def no_network():
        raise Exception("URL fetch failure on https://www.cs.toronto.edu/: None -- no network")

    monkeypatch.delenv("CIFAR10_DIR", raising=False)
    monkeypatch.setattr(keras.datasets.cifar10, "load_data", no_network)
    with pytest.raises(LessonError) as caught:
        load_cifar10(None)
    text = str(caught.value)
    assert "cifar-10-python.tar.gz" in text and "--data-dir" in text and "CIFAR10_DIR" in text
    assert "data/" in text


def test_lesson_bad_inputs_fail_fast_with_one_line(tmp_path, unwritable_dir, tiny_data):
    assert_clean_error(run_script(SCRIPT, "--data-dir", tmp_path / "nope", "--no-show"))
    result = run_script(
        SCRIPT, "--data-dir", tiny_data, "--output-dir", unwritable_dir, "--no-show"
    )
    assert_clean_error(result)
    safe = ["--data-dir", tiny_data, "--output-dir", tmp_path, "--model-dir", tmp_path / "m"]
    for angle in ("200", "-5", "nan"):
        result = run_script(SCRIPT, "--rotate", angle, *safe)
        assert_clean_error(result)
        assert "0 to 180" in result.stderr or "invalid degrees value" in result.stderr
    result = run_script(SCRIPT, "--rotate", "10", "--no-augment", *safe)
    assert_clean_error(result)
    assert "--no-augment" in result.stderr


def test_augmentation_shifts_and_mirrors_and_turns_only_when_asked(ker5):
    plain = ker5.make_augmenter(seed=0)
    assert [type(layer).__name__ for layer in plain.layers] == ["RandomFlip", "RandomTranslation"]
    turned = ker5.make_augmenter(seed=0, rotate=9)
    assert type(turned.layers[-1]).__name__ == "RandomRotation"
    # Keras counts turns in fractions of 360°: ±9° is ±0.025.
    assert turned.layers[-1].get_config()["factor"] == pytest.approx((-0.025, 0.025))


# --- Training ---


def test_quick_run_learns_and_saves_both_model_files(tmp_path, tiny_data, keras):
    out, models = tmp_path / "out", tmp_path / "models"
    args = ["--data-dir", tiny_data, "--epochs", "3", "--output-dir", out, "--model-dir", models]
    result = run_script(SCRIPT, *TINY, *args)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "3·3·3·32 + 32" in result.stdout
    assert re.search(r"^  total\s+1,250,858$", result.stdout, re.MULTILINE)
    assert "test accuracy of the saved model" in result.stdout
    report = read_json(out / "ker5_cifar10_cnn.json")
    assert report["params"] == 1_250_858
    assert report["epochs"] == 3 and report["recipe"] == "modern"
    assert report["test_accuracy"] > 0.5  # 10 easy classes: chance is 0.1
    rows = history_rows(out / "ker5_cifar10_cnn_history.csv")
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    assert float(rows[-1]["loss"]) < 0.8 * float(rows[0]["loss"])
    for name in ("augmentation", "curves", "confusion", "predictions"):
        assert (out / f"ker5_cifar10_cnn_{name}.png").stat().st_size > 1000
    # Both files hold the same best model, and it loads as plain float32.
    paths = [models / "cifar10_cnn_quick.keras", models / "cifar10_cnn_quick.h5"]  # --quick's
    assert report["model_paths"] == [str(p) for p in paths]
    loaded = [keras.models.load_model(p) for p in paths]
    from cifar_data import make_images

    x = make_images(np.arange(10), np.random.default_rng(1)).astype("float32") / 255.0
    a, b = (m.predict(x, verbose=0) for m in loaded)
    np.testing.assert_allclose(a, b, atol=1e-5)
    assert loaded[0].dtype_policy.name == "float32"
    assert not list(models.glob(".*"))  # no temporary files left behind
    assert not (models / "cifar10_cnn_quick.resume").exists()  # finished: nothing to resume


def test_a_killed_run_resumes_from_the_last_finished_epoch(tmp_path, tiny_data):
    out, models = tmp_path / "out", tmp_path / "models"
    args = [*TINY, "--data-dir", tiny_data, "--epochs", "3", "--output-dir", out]
    args += ["--model-dir", models]
    crashed = run_script(CRASH, 2, SCRIPT, *args)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-3000:]
    assert "Epoch 2/3" in crashed.stdout and "Epoch 3/3" not in crashed.stdout
    assert (models / "cifar10_cnn_quick.resume" / "backup").is_dir()
    assert (models / "cifar10_cnn_quick.keras").exists()  # the best model so far is already safe

    resumed = run_script(SCRIPT, *args)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming the interrupted run at epoch 3 of 3" in resumed.stdout
    assert "Epoch 3/3" in resumed.stdout and "Epoch 1/3" not in resumed.stdout
    report = read_json(out / "ker5_cifar10_cnn.json")
    assert report["resumed_at_epoch"] == 3 and report["epochs"] == 3
    rows = history_rows(out / "ker5_cifar10_cnn_history.csv")
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]  # both runs' epochs, once each


def test_resume_only_with_the_same_settings_and_the_same_model(tmp_path, capsys):
    from common.training import start_or_resume

    state = tmp_path / "cifar10_cnn.resume"
    settings = {"recipe": "modern", "epochs": 3}

    def interrupted_run(epoch=2):
        (state / "backup").mkdir()
        (state / "backup" / "training_metadata.json").write_text(f'{{"epoch": {epoch}}}')
        (state / "best.json").write_text('{"val_accuracy": 0.5, "epoch": 2}')

    assert start_or_resume(state, settings, "model-a") == (0, {})  # nothing to resume
    interrupted_run()
    assert start_or_resume(state, settings, "model-a") == (2, {"val_accuracy": 0.5, "epoch": 2})
    # Other settings (here more epochs): the old backup is dropped and training starts anew.
    assert start_or_resume(state, {"recipe": "modern", "epochs": 5}, "model-a") == (0, {})
    assert not (state / "backup").exists() and not (state / "best.json").exists()
    assert "was made with other settings; starting fresh" in capsys.readouterr().out
    # The same settings but another architecture: never hand its weights to the new model.
    interrupted_run()
    assert start_or_resume(state, {"recipe": "modern", "epochs": 5}, "model-b") == (0, {})
    assert "belonged to a different model" in capsys.readouterr().out


def test_the_fingerprint_changes_with_the_architecture_only(ker5):
    from common.training import architecture_fingerprint

    code = architecture_fingerprint(ker5.code_network())
    assert code == architecture_fingerprint(ker5.code_network())  # same layers: same print
    assert code != architecture_fingerprint(ker5.table_network())


def test_each_kind_of_run_has_its_own_model_files(ker5):
    name = ker5.model_name
    assert name() == "cifar10_cnn"  # the full default run: the files the seminar names
    assert name(quick=True) == "cifar10_cnn_quick"  # the class demo keeps its hands off it
    assert name(no_augment=True) == "cifar10_cnn_no_augment"
    assert name(recipe="classic", quick=True) == "cifar10_cnn_classic_quick"
    assert name(rotate=7.5) == "cifar10_cnn_rotate7.5"
    assert name(arch="table", quick=True) == "cifar10_cnn_table_quick"
    # --epochs, --lr and --seed are not in the name: a retrain replaces the model.


def test_a_diverging_run_stops_keeps_the_good_model_and_exits_1(tmp_path, tiny_data):
    models = tmp_path / "models"
    models.mkdir()
    good = models / "cifar10_cnn_quick.keras"  # the very file this run would write
    good.write_bytes(b"the student's good model from yesterday")
    args = [*TINY, "--data-dir", tiny_data, "--epochs", "2", "--lr", "1e5"]
    result = run_script(SCRIPT, *args, "--output-dir", tmp_path, "--model-dir", models)
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert "error: training diverged at epoch 1; try a smaller --lr" in result.stderr
    assert "(no model was saved)" in result.stderr
    assert "Epoch 2/2" not in result.stdout  # it stopped at once
    assert good.read_bytes() == b"the student's good model from yesterday"
    assert not (models / "cifar10_cnn_quick.h5").exists()


def test_distribute_trains_on_two_logical_cpus(tmp_path, tiny_data):
    args = [*TINY, "--data-dir", tiny_data, "--epochs", "1", "--distribute", "--rotate", "10"]
    result = run_script(SCRIPT, *args, "--output-dir", tmp_path, "--model-dir", tmp_path / "m")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "training data-parallel on 2 devices" in result.stdout
    report = read_json(tmp_path / "ker5_cifar10_cnn.json")
    assert [d.rsplit("/", 1)[-1] for d in report["devices"]] == ["device:CPU:0", "device:CPU:1"]
    assert (tmp_path / "m" / "cifar10_cnn_rotate10_quick.keras").exists()


def test_class_names_are_the_official_order():
    assert CLASS_NAMES[:4] == ("airplane", "automobile", "bird", "cat")
    assert CLASS_NAMES[-1] == "truck" and len(CLASS_NAMES) == 10


# --- In a notebook: the model's cell edited in class, and run again without reloading ---


def test_an_edited_network_reruns_in_the_notebook_without_reloading_the_data(
    tmp_path, tiny_data, keras
):
    models = tmp_path / "models"
    flags = [*TINY, "--epochs", "1", "--data-dir", tiny_data, "--model-dir", models]
    notebook = execute_notebook(
        SCRIPT, *flags, "--output-dir", tmp_path, edit=(DENSE, "x = layers.Dense(256)(x)")
    )
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    data = next(cell for cell in code if "load_cifar10(" in cell.source)
    build = next(cell for cell in code if "model.compile(" in cell.source)
    assert data.execution_count <= len(code)  # ran once, in the first pass
    assert build.execution_count > len(code)  # ran again, after the edit
    edited = CONVS + 2304 * 256 + 256 + 256 * 10 + 10
    report = read_json(tmp_path / "ker5_cifar10_cnn.json")
    assert report["params"] == edited and report["epochs"] == 1
    assert report["resumed_at_epoch"] is None
    # The saved file is the edited network, not the one built before the edit.
    saved = keras.models.load_model(models / "cifar10_cnn_quick.keras")
    assert saved.count_params() == edited
    assert not (models / "cifar10_cnn_quick.resume").exists()
