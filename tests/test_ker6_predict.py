"""ker6_predict.py: safe loading, clear refusals, predicting on folders, and runtime parity."""

import json
import os
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from cifar_data import make_cifar_folder
from conftest import assert_clean_error, read_json, run_in_process, run_script

from common import deployment
from common.cifar10 import CLASS_NAMES
from common.files import read_rgb, sample_photos
from common.lesson import LessonError, load_definitions

SCRIPT = "ker6_predict.py"
ker6 = load_definitions(SCRIPT)  # the lesson's functions and constants; none of its steps run


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
    assert ker6.model_file("other.keras", models_dir=tmp_path) == Path("other.keras")


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_lambda_model_is_refused_without_running_its_code(keras, tmp_path, suffix, monkeypatch):
    marker = tmp_path / "lambda-code-ran"
    # The path is baked into the code object as a constant, so the stored bytecode alone
    # would create the marker wherever the file is loaded.
    code = eval(f"lambda x: __import__('pathlib').Path({str(marker)!r}).touch() or x")
    path = tmp_path / f"evil{suffix}"
    small_cnn(keras, code=code).save(path)
    marker.unlink()  # building the model ran the function once; start clean

    result = run_script(SCRIPT, "--model", path, "--no-show", "--output-dir", tmp_path / "out")
    assert_clean_error(result)
    assert "Lambda" in result.stderr and "refusing" in result.stderr
    assert not marker.exists()

    # Keras' own lock, without the lesson's config check in front of it, also holds: the
    # lesson's cell reads the config but lets the Lambda through to load_model.
    monkeypatch.setattr(deployment, "check_model_file", deployment.read_model_config)
    with pytest.raises(LessonError, match="safe_mode"):
        run_in_process(SCRIPT, "--model", path, "--no-show", "--output-dir", tmp_path / "out")
    assert not marker.exists()

    # Control: the file really is dangerous. Loading it unsafely runs the code.
    keras.models.load_model(path, safe_mode=False, compile=False)
    assert marker.exists()


def test_config_naming_a_function_outside_keras_is_refused(good_models, tmp_path):
    # Rewrite a .keras file so that the Dense layer's activation is os.system.
    source = zipfile.ZipFile(good_models["keras"])
    config = json.loads(source.read("config.json"))
    dense = [layer for layer in config["config"]["layers"] if layer["class_name"] == "Dense"]
    dense[0]["config"]["activation"] = {
        "module": "os",
        "class_name": "function",
        "config": "system",
        "registered_name": "function",
    }
    path = tmp_path / "evil.keras"
    with zipfile.ZipFile(path, "w") as out:
        for name in source.namelist():
            data = json.dumps(config) if name == "config.json" else source.read(name)
            out.writestr(name, data)
    result = run_script(SCRIPT, "--model", path, "--no-show", "--output-dir", tmp_path / "out")
    assert_clean_error(result)
    assert "os.system" in result.stderr


def test_find_code_in_config_passes_a_plain_model(good_models):
    for path in good_models.values():
        assert deployment.find_code_in_config(deployment.read_model_config(path)) == []


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
    # From the command line: one clear line and exit code 2, before TensorFlow starts.
    for name in ("truncated .h5", "truncated .keras"):
        result = run_script(SCRIPT, "--model", paths[name], "--no-show", "--output-dir", tmp_path)
        assert_clean_error(result)
        assert "truncated" in result.stderr
    assert not (tmp_path / "ker6_predict.json").exists()


def test_missing_default_model_says_how_to_make_it(tmp_path):
    with pytest.raises(LessonError, match=r"ker5_cifar10_cnn\.py --quick"):
        ker6.model_file(None, models_dir=tmp_path)
    result = run_script(SCRIPT, "--model", tmp_path / "typo.h5", "--output-dir", tmp_path)
    assert_clean_error(result)
    assert "no such model file" in result.stderr and "typo.h5" in result.stderr


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


def test_wrong_model_exits_2_from_the_command_line(keras, tmp_path):
    path = tmp_path / "five.h5"
    small_cnn(keras, classes=5).save(path)
    result = run_script(SCRIPT, "--model", path, "--no-show", "--output-dir", tmp_path / "o")
    assert_clean_error(result)
    assert "not 10 classes" in result.stderr


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


def test_explicit_non_image_is_an_error(good_models, bad_inputs, tmp_path):
    result = run_script(
        SCRIPT, bad_inputs["not an image"], "--model", good_models["h5"], "--output-dir", tmp_path
    )
    assert_clean_error(result)
    assert "notes.txt" in result.stderr


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


def test_offline_fallback_images_exist():
    images, names, labels = sample_photos(ker6.to_cifar_size)
    assert images.shape[1:] == (32, 32, 3) and len(images) == len(names) >= 1
    assert labels == [None] * len(names)


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
    result = run_script(
        SCRIPT,
        "--model",
        model_path,
        "--data-dir",
        data,
        "--quick",
        "--no-show",
        "--output-dir",
        out,
    )
    assert result.returncode == 0, result.stderr[-2000:]
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
