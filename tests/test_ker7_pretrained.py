"""ker7: offline messages name the file Keras wants; preprocessing and top-5 decoding are right.

No test downloads anything: the trained weights are 528 MB. The pipeline runs with
`--weights none` (the same architecture, untrained) and a class index the test writes.
"""

import hashlib
import json
import re

import numpy as np
import pytest
from conftest import assert_clean_error, read_json, run_in_process, run_script

from common import pretrained
from common.files import center_square, read_rgb
from common.lesson import LessonError, load_definitions
from common.pretrained import CLASS_INDEX, WEIGHT_FILES

SCRIPT = "ker7_pretrained.py"
ker7 = load_definitions(SCRIPT)  # the lesson's functions and constants; none of its steps run
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
def test_offline_names_the_missing_files_and_folder(tmp_path, model, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    builder = ker7.MODELS[model][0]
    with pytest.raises(LessonError) as refused:
        pretrained.check_weights_cache(builder, trained=True, offline=True)
    spec = WEIGHT_FILES[builder]
    message = str(refused.value)
    assert spec["file"] in message and spec["url"] + spec["file"] in message
    assert "imagenet_class_index.json" in message
    assert f"{tmp_path / 'models'}/" in message  # honours KERAS_HOME
    assert "\n" not in message


def test_offline_error_is_one_line_from_the_command_line(tmp_path):
    result = run_script(
        SCRIPT, "--model", "vgg16", "--offline", "--no-show", env={"KERAS_HOME": str(tmp_path)}
    )
    assert_clean_error(result)
    assert WEIGHT_FILES["VGG16"]["file"] in result.stderr
    assert f"{tmp_path / 'models'}/" in result.stderr


def test_offline_with_cached_class_index_asks_only_for_weights(tmp_path, monkeypatch):
    write_class_index(tmp_path / "models")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(LessonError) as refused:
        pretrained.check_weights_cache("VGG16", trained=True, offline=True)
    assert "vgg16_weights_tf_dim_ordering_tf_kernels.h5" in str(refused.value)
    assert "imagenet_class_index.json" not in str(refused.value)
    # Untrained, a run needs no weights file: nothing to refuse.
    assert pretrained.check_weights_cache("VGG16", trained=False, offline=True) is None
    (tmp_path / "models" / "imagenet_class_index.json").unlink()
    assert pretrained.check_weights_cache("VGG16", trained=False, offline=True) is None


def test_untrained_offline_without_the_class_index_numbers_the_classes(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    out = tmp_path / "out"
    args = ["--model", "mobilenetv3small", "--weights", "none", "--offline", "--no-show"]
    run = run_in_process(SCRIPT, *args, "--output-dir", out, env=NO_NETWORK)
    printed = capsys.readouterr().out
    notes = [line for line in printed.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "imagenet_class_index.json" in notes[0]
    assert f"{tmp_path / 'models'}/" in notes[0] and "Downloading" not in printed
    # Known answer: the five largest of the model's 1000 probabilities, named by number.
    best = np.argsort(run["probabilities"])[::-1][:5]
    data = read_json(out / "ker7_pretrained.json")
    assert [entry["label"] for entry in data["top5"]] == [f"class {i}" for i in best]
    assert all(entry["wordnet_id"] is None for entry in data["top5"])
    assert (out / "ker7_pretrained_photo.png").is_file() and (out / "ker7_pretrained.png").is_file()


def test_failed_download_names_the_file_keras_asked_for(tmp_path):
    """Without --offline Keras itself tries; the error must name the file it tried to fetch."""
    env = {"KERAS_HOME": str(tmp_path), **NO_NETWORK}
    result = run_script(SCRIPT, "--no-show", "--output-dir", tmp_path / "out", env=env)
    assert_clean_error(result)
    asked = re.findall(r"Downloading data from (\S+)", result.stdout)
    assert asked, result.stdout
    assert asked[0].rsplit("/", 1)[1] == WEIGHT_FILES["VGG16"]["file"]
    assert asked[0] in result.stderr  # the URL Keras used is the one the student is given
    assert f"{tmp_path / 'models'}/" in result.stderr
    assert not list((tmp_path / "models").glob("*.h5"))  # no half-downloaded file left behind
    assert not (tmp_path / "out" / "ker7_pretrained.json").exists()


def what_keras_downloads(builder, monkeypatch):
    """(file name, URL, MD5) that keras.applications.<builder>(weights="imagenet") asks for."""
    import keras
    from keras.src.utils import file_utils

    class Asked(Exception):
        pass

    asked = []

    def record(fname, origin, **kwargs):
        asked.append((fname, origin, kwargs.get("file_hash")))
        raise Asked  # stop there: nothing is downloaded

    monkeypatch.setattr(file_utils, "get_file", record)
    with pytest.raises(Asked):
        getattr(keras.applications, builder)(weights="imagenet")
    return asked[0]


@pytest.mark.parametrize("name", sorted(ker7.MODELS))
def test_weight_files_are_those_keras_asks_for(name, monkeypatch):
    """The table the offline messages and checksums use is what keras.applications fetches."""
    builder = ker7.MODELS[name][0]
    spec = WEIGHT_FILES[builder]
    assert what_keras_downloads(builder, monkeypatch) == (
        spec["file"],
        spec["url"] + spec["file"],
        spec["md5"],
    )


def test_weight_urls_and_hashes_match_the_keras_modules():
    """The same table against the constants the keras.applications modules define."""
    from keras.src.applications import efficientnet, imagenet_utils, mobilenet_v3, vgg16

    assert vgg16.WEIGHTS_PATH == WEIGHT_FILES["VGG16"]["url"] + WEIGHT_FILES["VGG16"]["file"]
    small = WEIGHT_FILES["MobileNetV3Small"]
    assert mobilenet_v3.BASE_WEIGHT_PATH == small["url"]
    assert mobilenet_v3.WEIGHTS_HASHES["small_224_1.0_float"][0] == small["md5"]  # with top
    b0 = WEIGHT_FILES["EfficientNetB0"]
    assert efficientnet.BASE_WEIGHTS_PATH == b0["url"]
    assert efficientnet.WEIGHTS_HASHES["b0"][0] == b0["md5"]
    assert imagenet_utils.CLASS_INDEX_PATH == CLASS_INDEX["url"] + CLASS_INDEX["file"]


def test_models_dir_honours_keras_home(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert pretrained.keras_models_dir() == tmp_path / "models"
    monkeypatch.delenv("KERAS_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert pretrained.keras_models_dir() == tmp_path / ".keras" / "models"


# --- Preprocessing and decoding, known answers ---
def test_center_square_keeps_the_middle():
    wide = np.zeros((100, 300, 3), np.uint8)
    wide[:, 100:200] = (10, 200, 30)  # only the middle third has this colour
    square = center_square(wide, ker7.INPUT_SIZE)
    assert square.shape == (224, 224, 3)
    assert (square == (10, 200, 30)).all()


def test_model_input_vgg16_is_bgr_minus_imagenet_mean():
    red = np.zeros((224, 224, 3), np.uint8)
    red[..., 0] = 255  # RGB red
    x = np.asarray(ker7.model_input("vgg16", red))
    assert x.shape == (1, 224, 224, 3)
    # caffe-style: channels reordered to B, G, R, then ImageNet's mean per channel subtracted
    np.testing.assert_allclose(x[0, 0, 0], [-103.939, -116.779, 255 - 123.68], atol=1e-3)
    # MobileNetV3 and EfficientNet scale inside the model: their input stays RGB 0..255
    for name in ("mobilenetv3small", "efficientnetb0"):
        y = np.asarray(ker7.model_input(name, red))
        np.testing.assert_allclose(y[0, 0, 0], [255, 0, 0])


def test_top_classes_orders_by_probability():
    names = [(f"w{i}", f"label_{i}") for i in range(1000)]
    p = np.full(1000, 0.5 / 995)
    p[[3, 500, 7, 999, 42]] = [0.2, 0.15, 0.08, 0.05, 0.02]
    top = ker7.top_classes(p, names)
    assert [label for (_, label), _ in top] == [f"label_{i}" for i in (3, 500, 7, 999, 42)]
    assert top[0] == (("w3", "label_3"), pytest.approx(0.2))
    assert len(ker7.top_classes(p, names, k=7)) == 7


def test_broken_class_index_is_a_clean_error(tmp_path):
    path = tmp_path / "imagenet_class_index.json"
    path.write_text('{"0": ["n1", "tench"]}')  # only one class of 1000
    with pytest.raises(LessonError, match="not ImageNet's class index"):
        pretrained.read_class_index(path)


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
    # The slide's VGG-BUDDY does not exist: the run says so and names the other models here.
    buddy = [line for line in result.stdout.splitlines() if "VGG-BUDDY" in line]
    assert len(buddy) == 1 and "no network by that name exists" in buddy[0]
    assert all(name in buddy[0] for name in ker7.MODELS if name != model)
    assert model not in buddy[0]
    assert (out / "ker7_pretrained.png").stat().st_size > 10_000


def test_bad_images_are_one_line_errors(tmp_path, bad_inputs):
    for path in bad_inputs.values():  # in-process: each photo is read as the lesson reads it
        with pytest.raises(LessonError):
            read_rgb(path, min_size=ker7.MIN_SIDE)
    result = run_script(  # and once from the command line: one line, before the Keras cache
        SCRIPT,
        "--image",
        bad_inputs["truncated jpeg"],
        "--offline",
        "--no-show",
        env={"KERAS_HOME": str(tmp_path)},
    )
    assert_clean_error(result)
    assert "truncated.jpg" in result.stderr and "Keras cache" not in result.stderr


# --- Offline with the weights in the cache: checked first, never fetched again ---
def test_file_md5_known_answers(tmp_path):
    path = tmp_path / "abc"
    path.write_bytes(b"abc")
    md5 = pretrained.file_md5
    assert md5(path) == "900150983cd24fb0d6963f7d28e17f72"  # RFC 1321's test suite
    path.write_bytes(b"a" * (3 << 20))  # several 1 MB blocks
    assert md5(path) == hashlib.md5(b"a" * (3 << 20)).hexdigest()


def test_offline_with_a_damaged_cached_file_says_delete_it(tmp_path):
    models_dir = tmp_path / "models"
    write_class_index(models_dir)
    damaged = models_dir / WEIGHT_FILES["MobileNetV3Small"]["file"]
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
