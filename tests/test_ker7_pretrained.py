"""ker7: offline messages name the file Keras wants; preprocessing and top-5 decoding are right.

No test downloads anything: the trained weights are 528 MB. The pipeline runs with
`--weights none` (the same architecture, untrained) and a class index the test writes.
"""

import hashlib
import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import assert_clean_error, read_json, run_script

import ker7_pretrained as ker7
from common.errors import LessonError

SCRIPT = "ker7_pretrained.py"
NO_NETWORK = {  # any download goes to a proxy port that refuses at once, with or without internet
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "https_proxy": "http://127.0.0.1:9",
    "HTTP_PROXY": "http://127.0.0.1:9",
    "http_proxy": "http://127.0.0.1:9",
    "NO_PROXY": "",
    "no_proxy": "",
}


def write_class_index(models_dir):
    """A stand-in for imagenet_class_index.json: class i is ('w%08d' % i, 'label_i')."""
    models_dir.mkdir(parents=True, exist_ok=True)
    table = {str(i): [f"w{i:08d}", f"label_{i}"] for i in range(1000)}
    (models_dir / "imagenet_class_index.json").write_text(json.dumps(table))


# --- Offline: one line naming the file, its URL and the folder ---
@pytest.mark.parametrize("model", sorted(ker7.MODELS))
def test_offline_names_the_missing_files_and_folder(tmp_path, model):
    result = run_script(
        SCRIPT, "--model", model, "--offline", "--no-show", env={"KERAS_HOME": str(tmp_path)}
    )
    assert_clean_error(result)
    spec = ker7.MODELS[model]
    assert spec["file"] in result.stderr
    assert spec["url"] + spec["file"] in result.stderr
    assert "imagenet_class_index.json" in result.stderr
    assert f"{tmp_path / 'models'}/" in result.stderr  # honours KERAS_HOME


def test_offline_with_cached_class_index_asks_only_for_weights(tmp_path):
    write_class_index(tmp_path / "models")
    result = run_script(SCRIPT, "--offline", "--no-show", env={"KERAS_HOME": str(tmp_path)})
    assert_clean_error(result)
    assert "vgg16_weights_tf_dim_ordering_tf_kernels.h5" in result.stderr
    assert "imagenet_class_index.json" not in result.stderr


def test_failed_download_names_the_file_keras_asked_for(tmp_path):
    """Without --offline Keras itself tries; the error must name the file it tried to fetch."""
    env = {"KERAS_HOME": str(tmp_path), **NO_NETWORK}
    result = run_script(SCRIPT, "--no-show", "--output-dir", tmp_path / "out", env=env)
    assert_clean_error(result)
    asked = re.findall(r"Downloading data from (\S+)", result.stdout)
    assert asked, result.stdout
    assert asked[0].rsplit("/", 1)[1] == ker7.MODELS["vgg16"]["file"]
    assert asked[0] in result.stderr  # the URL Keras used is the one the student is given
    assert f"{tmp_path / 'models'}/" in result.stderr
    assert not list((tmp_path / "models").glob("*.h5"))  # no half-downloaded file left behind
    assert not (tmp_path / "out" / "ker7_pretrained.json").exists()


def test_weight_file_names_are_those_in_keras_source():
    """The table in the lesson must match what keras.applications downloads."""
    import importlib.util

    source = Path(importlib.util.find_spec("keras").origin).parent / "src" / "applications"
    vgg16 = (source / "vgg16.py").read_text()
    assert f'"{ker7.MODELS["vgg16"]["file"]}"' in vgg16
    joined = re.sub(r'"\s*\n\s*"', "", vgg16)  # "https://...keras-applications/" "vgg16/..."
    assert ker7.MODELS["vgg16"]["url"] + ker7.MODELS["vgg16"]["file"] in joined
    mobilenet = (source / "mobilenet_v3.py").read_text()
    assert ker7.MODELS["mobilenetv3small"]["url"] in mobilenet
    assert '"small_224_1.0_float"' in mobilenet and 'f"weights_mobilenet_v3_{model_name}.h5"' in (
        mobilenet
    )
    efficientnet = (source / "efficientnet.py").read_text()
    assert ker7.MODELS["efficientnetb0"]["url"] in efficientnet
    assert 'name="efficientnetb0"' in efficientnet and 'file_suffix = ".h5"' in efficientnet
    # The checksums --offline checks are the ones Keras checks (with the classifier on top).
    assert f'file_hash="{ker7.MODELS["vgg16"]["md5"]}"' in vgg16
    for name, text, key in (
        ("mobilenetv3small", mobilenet, "small_224_1.0_float"),
        ("efficientnetb0", efficientnet, "b0"),
    ):  # WEIGHTS_HASHES = {key: (with the classifier, without), ...}
        assert f'"{key}": (\n        "{ker7.MODELS[name]["md5"]}",' in text, name
    utils = re.sub(r'"\s*\n\s*"', "", (source / "imagenet_utils.py").read_text())
    assert ker7.CLASS_INDEX["url"] + ker7.CLASS_INDEX["file"] in utils


def test_models_dir_honours_keras_home(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert ker7.keras_models_dir() == tmp_path / "models"
    monkeypatch.delenv("KERAS_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert ker7.keras_models_dir() == tmp_path / ".keras" / "models"


# --- Preprocessing and decoding, known answers ---
def test_read_rgb_returns_rgb_not_bgr(tmp_path):
    path = tmp_path / "red.png"
    cv2.imwrite(str(path), np.full((32, 32, 3), (0, 0, 255), np.uint8))  # OpenCV: BGR red
    image = ker7.read_rgb(path)
    assert image.shape == (32, 32, 3)
    assert image[0, 0].tolist() == [255, 0, 0]


def test_center_square_keeps_the_middle():
    wide = np.zeros((100, 300, 3), np.uint8)
    wide[:, 100:200] = (10, 200, 30)  # only the middle third has this colour
    square = ker7.center_square(wide, ker7.INPUT_SIZE)
    assert square.shape == (224, 224, 3)
    assert (square == (10, 200, 30)).all()


def test_model_input_vgg16_is_bgr_minus_imagenet_mean():
    from common.tf_quiet import import_keras

    _, keras = import_keras()
    red = np.zeros((224, 224, 3), np.uint8)
    red[..., 0] = 255  # RGB red
    x = np.asarray(ker7.model_input(keras, "vgg16", red))
    assert x.shape == (1, 224, 224, 3)
    # caffe-style: channels reordered to B, G, R, then ImageNet's mean per channel subtracted
    np.testing.assert_allclose(x[0, 0, 0], [-103.939, -116.779, 255 - 123.68], atol=1e-3)
    # MobileNetV3 and EfficientNet scale inside the model: their input stays RGB 0..255
    for name in ("mobilenetv3small", "efficientnetb0"):
        y = np.asarray(ker7.model_input(keras, name, red))
        np.testing.assert_allclose(y[0, 0, 0], [255, 0, 0])


def test_top_k_orders_by_probability():
    names = [(f"w{i}", f"label_{i}") for i in range(1000)]
    p = np.full(1000, 0.5 / 995)
    p[[3, 500, 7, 999, 42]] = [0.2, 0.15, 0.08, 0.05, 0.02]
    top = ker7.top_k(p, names)
    assert [label for _, label, _ in top] == ["label_3", "label_500", "label_7", "label_999"] + [
        "label_42"
    ]
    assert top[0] == ("w3", "label_3", pytest.approx(0.2))


def test_broken_class_index_is_a_clean_error(tmp_path):
    path = tmp_path / "imagenet_class_index.json"
    path.write_text('{"0": ["n1", "tench"]}')  # only one class of 1000
    with pytest.raises(LessonError, match="not ImageNet's class index"):
        ker7.read_class_index(path)


# --- The whole pipeline, untrained, as a student runs it ---
@pytest.mark.parametrize(
    ("model", "params"), [("vgg16", 138_357_544), ("mobilenetv3small", 2_554_968)]
)
def test_untrained_pipeline_runs_offline(tmp_path, model, params):
    write_class_index(tmp_path / "models")
    out = tmp_path / "out"
    args = ["--model", model, "--weights", "none", "--offline", "--quick", "--no-show"]
    result = run_script(SCRIPT, *args, "--output-dir", out, env={"KERAS_HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "I0000" not in result.stderr
    data = read_json(out / "ker7_pretrained.json")
    assert data["params"] == params  # VGG16: 138.4 M parameters, the seminar's "500 MB"
    assert data["float32_megabytes"] == pytest.approx(params * 4 / 1e6, abs=0.1)
    assert data["input_shape"] == [1, 224, 224, 3]
    assert data["probability_sum"] == pytest.approx(1.0, abs=1e-4)
    top = data["top5"]
    assert len(top) == 5
    probabilities = [entry["probability"] for entry in top]
    assert probabilities == sorted(probabilities, reverse=True)
    for entry in top:  # labels come from the class index the test wrote
        index = int(entry["wordnet_id"][1:])
        assert entry["label"] == f"label_{index}"
    assert "untrained" in result.stdout.lower()
    assert (out / "ker7_pretrained.png").stat().st_size > 10_000


def test_bad_images_are_clean_errors(tmp_path, bad_inputs):
    for what, path in bad_inputs.items():
        result = run_script(
            SCRIPT, "--image", path, "--offline", "--no-show", env={"KERAS_HOME": str(tmp_path)}
        )
        assert_clean_error(result)
        assert "Keras cache" not in result.stderr, what  # the image is checked first


# --- Offline with the weights in the cache: checked first, never fetched again ---
def test_file_md5_known_answers(tmp_path):
    path = tmp_path / "abc"
    path.write_bytes(b"abc")
    assert ker7.file_md5(path) == "900150983cd24fb0d6963f7d28e17f72"  # RFC 1321's test suite
    path.write_bytes(b"a" * (3 << 20))  # several 1 MB blocks
    assert ker7.file_md5(path) == hashlib.md5(b"a" * (3 << 20)).hexdigest()


def test_offline_with_a_damaged_cached_file_says_delete_it(tmp_path):
    models_dir = tmp_path / "models"
    write_class_index(models_dir)
    damaged = models_dir / ker7.MODELS["mobilenetv3small"]["file"]
    damaged.write_bytes(b"\x89HDF\r\n half a download")
    result = run_script(
        SCRIPT,
        "--model",
        "mobilenetv3small",
        "--offline",
        "--no-show",
        env={"KERAS_HOME": str(tmp_path), **NO_NETWORK},
    )
    assert_clean_error(result)
    assert "Downloading" not in result.stdout  # --offline: Keras must not try to fetch it again
    assert str(damaged) in result.stderr and "delete it" in result.stderr
    assert damaged.read_bytes() == b"\x89HDF\r\n half a download"
