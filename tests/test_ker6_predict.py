"""ker6_predict.py: safe loading, clear refusals, predicting on folders, and runtime parity."""

import json
import os
import zipfile
from pathlib import Path

import cv2
import matplotlib.colors
import numpy as np
import pytest
from cifar_data import make_cifar_folder
from conftest import (
    BACKEND,
    assert_clean_error,
    read_json,
    requires_tensorflow,
    run_in_process,
    run_script,
)

from common import cifar10, deployment
from common.cifar10 import CLASS_NAMES
from common.files import RIGHT, WRONG, default_image_path, read_rgb
from common.lesson import LessonError, load_definitions

SCRIPT = "ker6_predict.py"
ker6 = load_definitions(SCRIPT)  # the lesson's functions and constants; none of its steps run
MUTATIONS = [  # (lesson, text, replacement, what it breaks): tests/mutants.py applies each
    (
        "common/deployment.py",
        'CODE_LAYERS = ("Lambda", "TFOpLambda", "__lambda__")',
        "CODE_LAYERS = ()",
        "the lesson's own check never sees a Lambda: only Keras' safe_mode stands in the way",
    ),
    (
        "ker6_predict.py",
        'return 1.0 if names & {"Rescaling", "Normalization"} else 1.0 / 255.0',
        'return 1.0 if names & {"Rescaling", "Normalization"} else 1.0',
        "pixels 0..255 go into a model trained on 0..1",
    ),
    (
        "ker6_predict.py",
        "best = np.argsort(probabilities)[::-1][:k]",
        "best = np.argsort(probabilities)[:k]",
        "the three least likely classes printed as the top 3",
    ),
    (
        "ker6_predict.py",
        "return center_square(image, size)",
        "return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)",
        "a photo squashed to 32x32 instead of its centre cut out, unlike CIFAR-10's images",
    ),
    (
        "ker6_predict.py",
        "right = labels[i] is not None and name == CLASS_NAMES[labels[i]]",
        "right = labels[i] is not None and name != CLASS_NAMES[labels[i]]",
        "the figure marks wrong guesses ✓ and the true class ✗",
    ),
    (
        "ker6_predict.py",
        "drawn = bars.barh(y, [q for _, q in top], color=colors)",
        "drawn = bars.barh(y, [top[0][1]] * len(top), color=colors)",
        "the three bars all as long as the first guess's",
    ),
    (
        "ker6_predict.py",
        "if resolve_data_dir(data_dir) is not None:",
        "if True:",
        "without the test set and offline, the lesson stops instead of using the sample photos",
    ),
]


@pytest.fixture(scope="module")
def keras():
    """Keras, imported quietly once for the tests that build model files."""
    from common.keras_setup import start_keras

    return start_keras()


def small_cnn(keras, input_shape=(32, 32, 3), classes=10, seed=0, code=None):
    """A tiny CNN; `code` (a Python function) adds a Lambda layer that runs it."""
    from keras import layers

    keras.utils.set_random_seed(seed)
    inputs = keras.Input(input_shape)  # (batch, height, width, channels)
    x = layers.Conv2D(8, 3, activation="relu")(inputs)
    if code is not None:
        x = layers.Lambda(code)(x)
    x = layers.MaxPooling2D(4)(x)
    x = layers.Flatten()(x)
    outputs = layers.Dense(classes, activation="softmax")(x)
    return keras.Model(inputs, outputs)


@pytest.fixture(scope="module")
def good_models(keras, tmp_path_factory):
    """The same small, valid model saved as .h5 and as .keras."""
    folder = tmp_path_factory.mktemp("good")
    model = small_cnn(keras)
    model.save(folder / "small.h5")
    model.save(folder / "small.keras")
    return {"h5": folder / "small.h5", "keras": folder / "small.keras"}


def write_image(path, rgb):
    """Save an RGB uint8 image with OpenCV (which wants BGR)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


# --- Safe loading: a Lambda's code must never run ---


def test_default_model_prefers_the_full_run_then_the_newest_variant(tmp_path, capsys):
    def default():
        return deployment.default_model_path(tmp_path, ker6.MODEL_FILE.name, ker6.MODEL_VARIANTS)

    assert default() == tmp_path / "cifar10_cnn.h5"  # none: the usual name
    for age, name in enumerate(["cifar10_cnn_no_augment.h5", "cifar10_cnn_quick.h5"]):
        (tmp_path / name).write_bytes(b"")
        os.utime(tmp_path / name, (1000 + age, 1000 + age))
    assert default() == tmp_path / "cifar10_cnn_quick.h5"
    assert ker6.model_file(None, models_dir=tmp_path) == tmp_path / "cifar10_cnn_quick.h5"
    assert "cifar10_cnn_quick.h5" in capsys.readouterr().out  # says which one it took
    (tmp_path / "cifar10_cnn.h5").write_bytes(b"")
    assert default() == tmp_path / "cifar10_cnn.h5"
    (tmp_path / "other.keras").write_bytes(b"")
    assert (
        ker6.model_file(tmp_path / "other.keras", models_dir=tmp_path) == tmp_path / "other.keras"
    )


@pytest.fixture(scope="module")
def lambda_models(keras, tmp_path_factory):
    """A model with a Lambda layer whose code creates a marker file, as .h5 and .keras."""
    folder = tmp_path_factory.mktemp("lambda")
    marker = folder / "lambda-code-ran"
    # The path is baked into the code object as a constant, so the stored bytecode alone
    # would create the marker wherever the file is loaded.
    code = eval(f"lambda x: __import__('pathlib').Path({str(marker)!r}).touch() or x")
    model = small_cnn(keras, code=code)
    paths = {suffix: folder / f"evil{suffix}" for suffix in (".h5", ".keras")}
    for path in paths.values():
        model.save(path)
    marker.unlink()  # building the model ran the function once; start clean
    return paths, marker


def test_lambda_model_is_refused_from_the_command_line(lambda_models, tmp_path):
    paths, marker = lambda_models
    out = tmp_path / "out"
    result = run_script(SCRIPT, "--model", paths[".h5"], "--no-show", "--output-dir", out)
    assert_clean_error(result)
    assert "it holds a Lambda layer" in result.stderr and not marker.exists()
    assert not (out / "ker6_predict.json").exists()


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_the_lessons_own_check_refuses_a_lambda_with_keras_safe_mode_off(
    keras, lambda_models, tmp_path, suffix, monkeypatch
):
    """Each lock holds alone: the lesson's config check, then Keras' safe_mode."""
    paths, marker = lambda_models
    args = ["--model", paths[suffix], "--no-show", "--output-dir", tmp_path / "out"]
    load_model = keras.models.load_model

    def unsafe(*args, **kwargs):  # Keras' lock opened: whatever the lesson asks for
        return load_model(*args, **{**kwargs, "safe_mode": False})

    with monkeypatch.context() as patch:
        patch.setattr(keras.models, "load_model", unsafe)
        with pytest.raises(LessonError, match="it holds a Lambda layer"):
            run_in_process(SCRIPT, *args)
    assert not marker.exists()

    # Keras' own lock, without the lesson's check in front of it, also holds.
    with monkeypatch.context() as patch:
        patch.setattr(deployment, "check_model_file", deployment.read_model_config)
        with pytest.raises(LessonError, match="safe_mode"):
            run_in_process(SCRIPT, *args)
    assert not marker.exists()

    # Control: the file really is dangerous. Loading it unsafely runs the code.
    load_model(paths[suffix], safe_mode=False, compile=False)
    assert marker.exists()
    marker.unlink()


def keras_file_with(good_models, tmp_path, change):
    """A copy of the good .keras file whose config.json went through change(config)."""
    source = zipfile.ZipFile(good_models["keras"])
    config = json.loads(source.read("config.json"))
    change(config)
    path = tmp_path / "edited.keras"
    with zipfile.ZipFile(path, "w") as out:
        for name in source.namelist():
            data = json.dumps(config) if name == "config.json" else source.read(name)
            out.writestr(name, data)
    return path


def os_system_activation(config):
    """The Dense layer's activation becomes os.system."""
    dense = [layer for layer in config["config"]["layers"] if layer["class_name"] == "Dense"]
    dense[0]["config"]["activation"] = {
        "module": "os",
        "class_name": "function",
        "config": "system",
        "registered_name": "function",
    }


def test_config_naming_a_function_outside_keras_is_refused(good_models, tmp_path):
    path = keras_file_with(good_models, tmp_path, os_system_activation)
    with pytest.raises(LessonError, match=r"it holds os\.system"):
        run_in_process(SCRIPT, "--model", path, "--no-show", "--output-dir", tmp_path / "out")


def test_find_code_in_config_finds_code_and_only_code(good_models):
    for path in good_models.values():  # a plain model: nothing to refuse
        assert deployment.find_code_in_config(deployment.read_model_config(path)) == []
    config = deployment.read_model_config(good_models["keras"])
    os_system_activation(config)
    assert deployment.find_code_in_config(config) == ["os.system"]
    layers = config["config"]["layers"]
    layers.append({"module": "keras.layers", "class_name": "Lambda", "config": {}})
    layers.append({"class_name": "Lambda", "config": {"function": ["4wEAAAAA", None, None]}})
    layers.append({"module": None, "class_name": "X", "registered_name": "mine>Shift"})
    assert deployment.find_code_in_config(config) == [
        "a Lambda layer",
        "os.system",
        "the custom object mine>Shift",
    ]


# --- Broken files and wrong models: one clear line, exit code 2 ---


def broken_model_files(folder, good_models, keras):
    """Files a student might pass as --model, keyed by what is wrong with them."""
    h5 = good_models["h5"].read_bytes()
    zipped = good_models["keras"].read_bytes()
    files = {
        "truncated .h5": (h5[: len(h5) // 2], ".h5"),
        "truncated .keras": (zipped[: len(zipped) // 2], ".keras"),
        "text named .h5": (b"this is not a model\n", ".h5"),
        "empty .keras": (b"", ".keras"),
        "png named .h5": (cv2.imencode(".png", np.zeros((8, 8), np.uint8))[1].tobytes(), ".h5"),
    }
    # Flip bytes inside the stored weights: the zip's checksum no longer matches.
    flipped = bytearray(zipped)
    middle = len(flipped) // 2
    flipped[middle : middle + 64] = bytes(b ^ 0xFF for b in flipped[middle : middle + 64])
    files["flipped bytes in .keras"] = (bytes(flipped), ".keras")
    paths = {}
    for i, (name, (data, suffix)) in enumerate(files.items()):
        paths[name] = folder / f"model{i}{suffix}"
        paths[name].write_bytes(data)
    weights = folder / "only.weights.h5"
    small_cnn(keras).save_weights(weights)
    paths["weights-only .h5"] = weights
    zip_path = folder / "other.keras"
    with zipfile.ZipFile(zip_path, "w") as archive:
        archive.writestr("readme.txt", "a zip, but not a model")
    paths["zip that is not a model"] = zip_path
    paths["folder"] = folder
    paths["missing"] = folder / "nope.h5"
    return paths


def test_broken_model_files_are_refused(good_models, keras, tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    paths = broken_model_files(folder, good_models, keras)
    for name, path in paths.items():
        with pytest.raises(LessonError) as refused:
            deployment.check_model_file(path)
        assert path.name in str(refused.value), name
    with pytest.raises(LessonError, match="no such model file"):
        deployment.check_model_file(paths["missing"])
    # From the command line: one clear line and exit code 2, and no results written.
    result = run_script(
        SCRIPT, "--model", paths["truncated .keras"], "--no-show", "--output-dir", tmp_path
    )
    assert_clean_error(result)
    assert "truncated" in result.stderr
    assert not (tmp_path / "ker6_predict.json").exists()


def test_missing_default_model_says_how_to_make_it(tmp_path):
    with pytest.raises(LessonError, match=r"ker5_cifar10_cnn\.py --quick"):
        ker6.model_file(None, models_dir=tmp_path)
    # A --model that isn't there (a page built without CIFAR-10 has none) says the same.
    with pytest.raises(LessonError, match=r"no such model file: .*ker5_cifar10_cnn\.py --quick"):
        ker6.model_file(tmp_path / "cifar10_cnn.h5", models_dir=tmp_path)


@pytest.mark.parametrize(
    "input_shape, classes, complaint",
    [((28, 28, 1), 10, "not 32x32x3"), ((32, 32, 3), 5, "not 10 classes")],
)
def test_model_with_wrong_input_or_output_is_refused(
    keras, tmp_path, input_shape, classes, complaint
):
    path = tmp_path / "wrong.keras"
    small_cnn(keras, input_shape=input_shape, classes=classes).save(path)
    with pytest.raises(LessonError, match=complaint):
        run_in_process(SCRIPT, "--model", path, "--no-show", "--output-dir", tmp_path / "out")


@pytest.mark.parametrize("seed", ["-1", "4294967296"])
def test_a_seed_out_of_range_is_one_line(seed):
    assert_clean_error(run_script(SCRIPT, "--seed", seed))


# --- Making a photo look like CIFAR-10 ---


def test_to_cifar_size_centre_crops_and_keeps_the_aspect_ratio():
    # A 64x128 image: red side bands, a blue centre square. Cropping keeps only the blue.
    image = np.zeros((64, 128, 3), np.uint8)
    image[:] = (255, 0, 0)
    image[:, 32:96] = (0, 0, 255)
    small = ker6.to_cifar_size(image)
    assert small.shape == (32, 32, 3) and small.dtype == np.uint8
    assert (small == (0, 0, 255)).all()
    # Area interpolation averages: a 2x2 checkerboard of 0/200 shrinks to a flat 100.
    board = np.kron(np.ones((32, 32)), [[0, 200], [200, 0]]).astype(np.uint8)
    assert (ker6.to_cifar_size(np.dstack([board] * 3)) == 100).all()


def test_read_rgb_gives_rgb_order(tmp_path):
    path = write_image(tmp_path / "red.png", np.full((10, 20, 3), (200, 10, 10), np.uint8))
    assert tuple(read_rgb(path)[0, 0]) == (200, 10, 10)


def test_a_cut_png_is_one_line(good_models, tmp_path):
    """A PNG without its last chunk: OpenCV's PNG reader would add a line of its own."""
    png = write_image(tmp_path / "photo.png", np.full((40, 40, 3), 90, np.uint8)).read_bytes()
    cut = tmp_path / "cut.png"
    cut.write_bytes(png[:-12])
    result = run_script(SCRIPT, cut, "--model", good_models["h5"], "--output-dir", tmp_path)
    assert_clean_error(result)
    assert "cut.png" in result.stderr


def test_top_classes_orders_by_probability():
    p = np.array([0.06, 0.1, 0.02, 0.4, 0.03, 0.2, 0.05, 0.04, 0.07, 0.03])
    assert ker6.top_classes(p, CLASS_NAMES) == [
        ("cat", pytest.approx(0.4)),
        ("dog", pytest.approx(0.2)),
        ("automobile", pytest.approx(0.1)),
    ]
    assert [c for c, _ in ker6.top_classes(p, CLASS_NAMES, k=5)][3:] == ["ship", "airplane"]


def test_model_without_softmax_is_refused():
    with pytest.raises(LessonError, match="not probabilities"):
        deployment.check_probabilities(np.full((2, 10), 0.5, np.float32), "raw.h5")
    deployment.check_probabilities(np.full((2, 10), 0.1, np.float32), "ok.h5")


# --- The figure: each image with its top 3 as bars, ✓ on the true class, ✗ on a wrong guess ---


def test_figure_draws_the_top_3_of_each_image_with_marks():
    images = np.zeros((3, 32, 32, 3), np.uint8)
    p = np.full((3, 10), 0.02, np.float32)
    p[0, [3, 5, 1]] = [0.6, 0.15, 0.09]  # a cat, guessed right
    p[1, [5, 3, 9]] = [0.5, 0.3, 0.04]  # a cat, guessed dog first, cat second
    p[2, [8, 0, 2]] = [0.7, 0.1, 0.04]  # a file of unknown class
    labels = [3, 3, None]
    fig = ker6.plot_image_predictions(images, ["test #1", "test #2", "x.png"], p, labels)
    bar_axes = [ax for ax in fig.axes if ax.patches]
    assert len(bar_axes) == 3
    expected = [
        (["✓ cat", "dog", "automobile"], [RIGHT, None, None]),
        (["✗ dog", "✓ cat", "truck"], [WRONG, RIGHT, None]),
        (["ship", "airplane", "bird"], [None, None, None]),
    ]
    for ax, probabilities, (texts, marks) in zip(bar_axes, p, expected, strict=True):
        ticks = {t.get_position()[1]: t.get_text() for t in ax.get_yticklabels()}
        shown = sorted(ax.patches, key=lambda bar: -bar.get_y())  # top bar first
        assert [ticks[bar.get_y() + bar.get_height() / 2] for bar in shown] == texts
        np.testing.assert_allclose(
            [bar.get_width() for bar in shown], np.sort(probabilities)[-3:][::-1]
        )
        for bar, mark in zip(shown, marks, strict=True):
            color = mark["color"] if mark else ker6.NEUTRAL
            assert matplotlib.colors.same_color(bar.get_facecolor(), color)
    title = fig._suptitle.get_text()
    assert title.startswith("1 of 2 first guesses right") and title.endswith("top 3 for 2 of 2")


# --- No test set and no network: matplotlib's sample photos stand in ---


def test_offline_without_the_test_set_predicts_the_sample_photos(
    keras, good_models, tmp_path, monkeypatch, capsys
):
    def offline():
        raise Exception("URL fetch failure on https://www.cs.toronto.edu/...: None -- refused")

    monkeypatch.setattr(cifar10, "LOCAL_FOLDER", tmp_path / "no-such-folder")  # not this machine's
    monkeypatch.setattr(keras.datasets.cifar10, "load_data", offline)
    out = tmp_path / "out"
    args = ["--model", good_models["h5"], "--no-show", "--output-dir", out]
    run = run_in_process(SCRIPT, *args, env={"CIFAR10_DIR": None})
    printed = capsys.readouterr().out
    assert "no CIFAR-10 test set here" in printed and "confident nonsense" in printed
    # Known answer: matplotlib's sample photos, their centre squares at 32x32, through the model.
    folder = default_image_path().parent
    expected = []
    for name in run["names"]:
        photo = read_rgb(folder / name)
        side = min(photo.shape[:2])
        top, left = (photo.shape[0] - side) // 2, (photo.shape[1] - side) // 2
        square = photo[top : top + side, left : left + side]
        expected.append(cv2.resize(square, (32, 32), interpolation=cv2.INTER_AREA))
    assert len(expected) >= 1 and run["labels"] == [None] * len(expected)
    np.testing.assert_array_equal(run["images"], np.stack(expected))
    reference = run["model"].predict(np.stack(expected).astype(np.float32) / 255, verbose=0)
    np.testing.assert_allclose(run["probabilities"], reference, atol=1e-6)
    report = read_json(out / "ker6_predict.json")
    assert [entry["file"] for entry in report["predictions"]] == run["names"]
    assert report["accuracy"] is None and (out / "ker6_predict.png").is_file()


# --- A folder with a non-image in it, exported and run in four runtimes ---


@pytest.fixture(scope="module")
def folder_run(good_models, tmp_path_factory):
    """ker6 --export on a folder of two photos and a text file, with the small .keras model."""
    base = tmp_path_factory.mktemp("folder")
    photos = base / "photos"
    rng = np.random.default_rng(1)
    write_image(photos / "wide.jpg", rng.integers(0, 256, (60, 90, 3), dtype=np.uint8))
    write_image(photos / "cat" / "tiny.png", rng.integers(0, 256, (20, 20, 3), dtype=np.uint8))
    (photos / "notes.txt").write_text("not an image\n")
    out = base / "out"
    before = sorted(p.name for p in photos.rglob("*"))
    result = run_script(
        SCRIPT,
        photos,
        photos / "cat" / "*.png",
        "--model",
        good_models["keras"],
        "--export",
        "--quick",
        "--no-show",
        "--output-dir",
        out,
    )
    after = sorted(p.name for p in photos.rglob("*"))
    return (
        result,
        read_json(out / "ker6_predict.json") if result.returncode == 0 else None,
        {
            "photos": photos,
            "out": out,
            "before": before,
            "after": after,
        },
    )


@requires_tensorflow
def test_folder_skips_the_non_image_and_predicts_the_rest(folder_run):
    result, data, where = folder_run
    assert result.returncode == 0, result.stderr[-2000:]
    warnings = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(warnings) == 1 and warnings[0].startswith("warning: skipping"), warnings
    assert "notes.txt" in warnings[0]
    files = [entry["file"] for entry in data["predictions"]]
    assert sorted(Path(f).name for f in files) == ["tiny.png", "wide.jpg"]
    for entry in data["predictions"]:
        labels = [label for label, _ in entry["top3"]]
        probabilities = [p for _, p in entry["top3"]]
        assert len(labels) == 3 and set(labels) <= set(CLASS_NAMES)
        assert probabilities == sorted(probabilities, reverse=True) and sum(probabilities) <= 1
    true = {Path(e["file"]).name: e["true_label"] for e in data["predictions"]}
    assert true == {"tiny.png": "cat", "wide.jpg": None}  # the "cat" folder names the label
    assert "tiny.png" in result.stdout and "wide.jpg" in result.stdout


@requires_tensorflow
def test_export_runtimes_agree_with_keras(folder_run):
    result, data, where = folder_run
    assert result.returncode == 0, result.stderr[-2000:]
    for key in ("savedmodel_max_abs_diff", "onnxruntime_max_abs_diff", "opencv_max_abs_diff"):
        assert 0 <= data[key] <= 1e-5, (key, data[key])
    # Timing is the bench's: the lesson times nothing and says where the timing lives.
    assert "latency_ms" not in data and "bench/bench_runtimes.py" in result.stdout
    # The exported files are in the output folder, never beside the student's images.
    assert (where["out"] / "small.onnx").is_file()
    assert (where["out"] / "small_savedmodel" / "saved_model.pb").is_file()
    assert where["before"] == where["after"]
    assert (where["out"] / "ker6_predict.png").is_file()


# --- The chain: ker5 trains a tiny model, ker6 loads it and predicts like training did ---


def test_chain_ker5_then_ker6(keras, tmp_path):
    data = make_cifar_folder(tmp_path / "cifar-10-batches-py", n_train=200, n_test=100)
    models = tmp_path / "models"
    models.mkdir()
    full_run = models / "cifar10_cnn.h5"  # stands for a long run's model: --quick must keep it
    full_run.write_bytes(b"the model of a 30-epoch run")
    trained = run_script(
        "ker5_cifar10_cnn.py",
        "--quick",
        "--data-dir",
        data,
        "--model-dir",
        models,
        "--epochs",
        1,
        "--no-show",
        "--output-dir",
        tmp_path / "out5",
    )
    assert trained.returncode == 0, trained.stderr[-2000:]
    assert full_run.read_bytes() == b"the model of a 30-epoch run"
    model_path = models / "cifar10_cnn_quick.h5"
    out = tmp_path / "out6"
    args = ["--model", model_path, "--data-dir", data, "--quick", "--no-show", "--output-dir", out]
    run_in_process(SCRIPT, *args)
    predictions = read_json(out / "ker6_predict.json")["predictions"]
    assert len(predictions) == 8  # --quick: 8 test images

    # Known answer: the same test images, scaled as ker5 scaled them in training (/255),
    # through the same model, give the probabilities ker6 printed.
    from common.cifar10 import load_cifar10

    _, (x_test, y_test) = load_cifar10(data)
    index = [entry["test_index"] for entry in predictions]
    expected = keras.models.load_model(model_path, compile=False).predict(
        x_test[index].astype(np.float32) / 255.0, verbose=0
    )
    for entry, p, label in zip(predictions, expected, y_test[index], strict=True):
        assert entry["true_label"] == CLASS_NAMES[label]
        top = np.argsort(p)[::-1][:3]
        assert [name for name, _ in entry["top3"]] == [CLASS_NAMES[i] for i in top]
        np.testing.assert_allclose([q for _, q in entry["top3"]], p[top], atol=1e-5)


# --- Without --export: the export cells say so and write nothing ---


def test_without_export_the_export_cells_say_so(good_models, tmp_path, capsys):
    data = make_cifar_folder(tmp_path / "cifar-10-batches-py", n_train=20, n_test=40)
    out = tmp_path / "out"
    run = run_in_process(
        SCRIPT,
        *("--model", good_models["h5"], "--data-dir", data, "--test-images", 5, "--no-show"),
        *("--output-dir", out),
    )
    printed = capsys.readouterr().out
    assert "export: off" in printed and "nothing exported" in printed
    assert run["exported"] is None and not list(out.glob("*.onnx"))
    # Known answer: the probabilities are the model's on the images as scaled in training.
    expected = run["model"].predict(run["images"].astype(np.float32) / 255.0, verbose=0)
    np.testing.assert_allclose(run["probabilities"], expected, atol=1e-6)
    report = read_json(out / "ker6_predict.json")
    assert len(report["predictions"]) == 5 and "savedmodel_max_abs_diff" not in report
    assert (out / "ker6_predict_images.png").is_file() and (out / "ker6_predict.png").is_file()


def test_export_off_the_tensorflow_backend_is_one_clear_line(tmp_path):
    """SavedModel and tf2onnx are TensorFlow's: elsewhere --export stops before any work."""
    other = BACKEND if BACKEND != "tensorflow" else "jax"
    args = ["--export", "--no-show", "--output-dir", tmp_path / "out"]
    result = run_script("ker6_predict.py", *args, env={"KERAS_BACKEND": other})
    assert_clean_error(result)
    assert f"--export needs the TensorFlow backend (this is {other})" in result.stderr
    assert not (tmp_path / "out" / "ker6_predict.json").exists()
