"""ker7: offline messages name the file Keras asks for; preprocessing, top-5 decoding and the
feature map are right.

No test downloads anything: the trained weights are hundreds of MB. The pipeline runs with
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
from common.pretrained import CLASS_INDEX

SCRIPT = "ker7_pretrained.py"
ker7 = load_definitions(SCRIPT)  # the lesson's functions and constants; none of its steps run
MUTATIONS = [  # (lesson, text, replacement, what it breaks): tests/mutants.py applies each
    (
        "ker7_pretrained.py",
        "return module.preprocess_input(batch)",
        "return batch",
        "the photo goes in without the preprocessing the model was trained with",
    ),
    (
        "ker7_pretrained.py",
        "best = np.argsort(probabilities)[::-1][:k]",
        "best = np.argsort(probabilities)[:k]",
        "the five least likely classes shown as the top 5",
    ),
    (
        "ker7_pretrained.py",
        '"vgg16-notop": ("VGG16", "vgg16", False)',
        '"vgg16-notop": ("VGG16", "vgg16", True)',
        "the slide's VGG-BUDDY is the whole VGG16, classifier and all",
    ),
    (
        "ker7_pretrained.py",
        "return [int(c) for c in np.argsort(means)[::-1][:count]]",
        "return [int(c) for c in np.argsort(means)[:count]]",
        "the least active channels of the feature map shown as the most active",
    ),
    (
        "ker7_pretrained.py",
        'print(f"  {params:,} parameters = {params * 4 / 1e6:.1f} MB as float32")',
        'print(f"  {params:,} parameters = {params * 2 / 1e6:.1f} MB as float32")',
        "the size in MB as if a float32 took 2 bytes",
    ),
    (
        "ker7_pretrained.py",
        "with keras_downloads(settings.offline, then=needs_names) as downloaded:",
        "with keras_downloads(False, then=needs_names) as downloaded:",
        "--offline downloads anyway",
    ),
    (
        "common/pretrained.py",
        'later = [x for x in then if not (keras_models_dir() / x["file"]).is_file()]',
        "later = []",
        "offline, the line names the weights but not the class index the run needs next",
    ),
    (
        "common/pretrained.py",
        'algorithm = "sha256" if len(expected) == 64 else "md5"',
        'algorithm = "md5" if len(expected) == 64 else "sha256"',
        "every cached file fails its checksum",
    ),
]
NO_NETWORK = {  # any download goes to a proxy port that refuses at once, with or without internet
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "https_proxy": "http://127.0.0.1:9",
    "HTTP_PROXY": "http://127.0.0.1:9",
    "http_proxy": "http://127.0.0.1:9",
    "NO_PROXY": "",
    "no_proxy": "",
}


@pytest.fixture(autouse=True)
def no_download_in_this_process(monkeypatch):
    """A run in this process that tries to download fails at once, as without a network:
    nothing is fetched even where the machine has one (subprocesses get NO_NETWORK)."""
    import urllib.error

    from keras.src.utils import file_utils

    def refuse(url, *args, **kwargs):
        raise urllib.error.URLError(f"the tests download nothing ({url})")

    monkeypatch.setattr(file_utils, "urlretrieve", refuse)


VGG16_CONV = [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]  # the 13 Conv2D


def vgg16_params(include_top=True):
    """VGG16's parameters counted by hand: 13 3x3 convolutions, then 3 Dense layers."""
    count, channels = 0, 3
    for filters in VGG16_CONV:
        count += (3 * 3 * channels + 1) * filters  # a 3x3 kernel per input channel, and a bias
        channels = filters
    if include_top:
        sizes = [7 * 7 * 512, 4096, 4096, 1000]  # Flatten of the 7x7x512 map, fc1, fc2, classes
        count += sum((a + 1) * b for a, b in zip(sizes, sizes[1:], strict=False))
    return count


def write_class_index(models_dir):
    """A stand-in for imagenet_class_index.json: class i is ('w%08d' % i, 'label_i')."""
    models_dir.mkdir(parents=True, exist_ok=True)
    table = {str(i): [f"w{i:08d}", f"label_{i}"] for i in range(1000)}
    (models_dir / "imagenet_class_index.json").write_text(json.dumps(table))


def what_keras_downloads(builder, include_top, monkeypatch):
    """(file name, URL, hash) that keras.applications.<builder>(weights="imagenet") asks for."""
    import keras
    from keras.src.utils import file_utils

    class Asked(Exception):
        pass

    asked = []

    def record(fname, origin, **kwargs):
        asked.append((fname, origin, kwargs.get("file_hash")))
        raise Asked  # stop there: nothing is downloaded

    with monkeypatch.context() as patch:
        patch.setattr(file_utils, "get_file", record)
        with pytest.raises(Asked):
            getattr(keras.applications, builder)(weights="imagenet", include_top=include_top)
    return asked[0]


# --- Offline: one line naming the file Keras asks for, its URL and the folder ---
@pytest.mark.parametrize("name", sorted(ker7.MODELS))
def test_offline_names_the_file_keras_asks_for(tmp_path, name, monkeypatch, capsys):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    builder, _, include_top = ker7.MODELS[name]
    file, url, _ = what_keras_downloads(builder, include_top, monkeypatch)
    out = tmp_path / "out"
    with pytest.raises(LessonError) as refused:
        run_in_process(SCRIPT, "--model", name, "--offline", "--output-dir", out, env=NO_NETWORK)
    message = str(refused.value)
    assert message.startswith("--offline and not in the Keras cache: download " + file)
    assert url in message and f"{tmp_path / 'models'}/" in message  # honours KERAS_HOME
    # A classifier needs the class names next: the same line names them; a feature map doesn't.
    assert (CLASS_INDEX["file"] in message) == include_top
    assert "\n" not in message and "Downloading" not in capsys.readouterr().out
    assert not (out / "ker7_pretrained.json").exists()


def test_offline_error_is_one_line_from_the_command_line(tmp_path):
    result = run_script(
        SCRIPT, "--model", "vgg16", "--offline", "--no-show", env={"KERAS_HOME": str(tmp_path)}
    )
    assert_clean_error(result)
    assert "vgg16_weights_tf_dim_ordering_tf_kernels.h5" in result.stderr
    assert f"{tmp_path / 'models'}/" in result.stderr


def test_offline_with_the_class_index_cached_asks_only_for_the_weights(tmp_path, monkeypatch):
    from keras.src.utils import file_utils

    write_class_index(tmp_path / "models")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    url = "https://example.org/w/weights.h5"
    with pytest.raises(LessonError) as refused:
        with pretrained.keras_downloads(offline=True, then=[CLASS_INDEX]):
            file_utils.get_file("weights.h5", url, cache_subdir="models")
    assert f"weights.h5 (from {url})" in str(refused.value)
    assert CLASS_INDEX["file"] not in str(refused.value)


def test_failed_download_names_the_file_keras_asked_for(tmp_path):
    """Without --offline Keras itself tries; the error must name the file it tried to fetch."""
    env = {"KERAS_HOME": str(tmp_path), **NO_NETWORK}
    result = run_script(SCRIPT, "--no-show", "--output-dir", tmp_path / "out", env=env)
    assert_clean_error(result)
    asked = re.findall(r"Downloading data from (\S+)", result.stdout)
    assert asked, result.stdout
    assert asked[0].rsplit("/", 1)[1] == "vgg16_weights_tf_dim_ordering_tf_kernels.h5"
    assert asked[0] in result.stderr  # the URL Keras used is the one the student is given
    assert f"{tmp_path / 'models'}/" in result.stderr
    assert not list((tmp_path / "models").glob("*.h5"))  # no half-downloaded file left behind
    assert not (tmp_path / "out" / "ker7_pretrained.json").exists()


def test_models_dir_honours_keras_home(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert pretrained.keras_models_dir() == tmp_path / "models"
    monkeypatch.delenv("KERAS_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert pretrained.keras_models_dir() == tmp_path / ".keras" / "models"


# --- Offline with the weights in the cache: checked, never fetched again ---
def test_file_hash_known_answers(tmp_path):
    path = tmp_path / "abc"
    path.write_bytes(b"abc")
    assert pretrained.file_hash(path) == "900150983cd24fb0d6963f7d28e17f72"  # RFC 1321
    assert pretrained.file_hash(path, "sha256") == (  # FIPS 180-2's example
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
    path.write_bytes(b"a" * (3 << 20))  # several 1 MB blocks
    assert pretrained.file_hash(path) == hashlib.md5(b"a" * (3 << 20)).hexdigest()


@pytest.mark.parametrize("algorithm", ["md5", "sha256"])
def test_a_cached_file_with_the_right_checksum_is_used_offline(tmp_path, algorithm, monkeypatch):
    from keras.src.utils import file_utils

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    cached = tmp_path / "models" / "w.h5"
    cached.parent.mkdir()
    cached.write_bytes(b"weights")
    digest = hashlib.new(algorithm, b"weights").hexdigest()
    with pretrained.keras_downloads(offline=True) as asked:
        got = file_utils.get_file("w.h5", "https://x/w.h5", file_hash=digest, cache_subdir="models")
    assert got == str(cached) and asked[0]["path"] == cached
    other = hashlib.new(algorithm, b"other weights").hexdigest()  # control: another checksum
    with pytest.raises(LessonError, match="damaged or incomplete"):
        with pretrained.keras_downloads(offline=True):
            file_utils.get_file("w.h5", "https://x/w.h5", file_hash=other, cache_subdir="models")
    assert cached.read_bytes() == b"weights"


def test_offline_with_a_damaged_cached_file_says_delete_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    write_class_index(tmp_path / "models")
    file, _, _ = what_keras_downloads("MobileNetV3Small", True, monkeypatch)
    damaged = tmp_path / "models" / file
    damaged.write_bytes(b"\x89HDF\r\n half a download")
    args = ["--model", "mobilenetv3small", "--offline", "--output-dir", tmp_path / "out"]
    with pytest.raises(LessonError) as refused:
        run_in_process(SCRIPT, *args, env=NO_NETWORK)
    assert "Downloading" not in capsys.readouterr().out  # --offline: Keras must not fetch it
    assert str(damaged) in str(refused.value) and "delete it" in str(refused.value)
    assert damaged.read_bytes() == b"\x89HDF\r\n half a download"


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


def test_most_active_channels_known_answer():
    feature_map = np.zeros((7, 7, 16), np.float32)
    feature_map[..., 5] = 3.0
    feature_map[0, 0, 9] = 100.0  # one hot place: mean 100/49, about 2.04
    feature_map[..., 2] = 1.0
    assert ker7.most_active_channels(feature_map, count=3) == [5, 9, 2]


def test_broken_class_index_is_a_clean_error(tmp_path):
    path = tmp_path / "imagenet_class_index.json"
    path.write_text('{"0": ["n1", "tench"]}')  # only one class of 1000
    with pytest.raises(LessonError, match="not ImageNet's class index"):
        pretrained.read_class_index(path)


# --- The whole pipeline, untrained, offline: as a student runs it without the weights ---
def run_untrained(tmp_path, model, capsys, class_index=True):
    """ker7 --model model --weights none --offline in this process: (globals, stdout, JSON)."""
    if class_index:
        write_class_index(tmp_path / "models")
    out = tmp_path / "out"
    args = ["--model", model, "--weights", "none", "--offline", "--no-show", "--output-dir", out]
    run = run_in_process(SCRIPT, *args, env={"KERAS_HOME": str(tmp_path), **NO_NETWORK})
    return run, capsys.readouterr().out, read_json(out / "ker7_pretrained.json")


def assert_sizes_printed(printed, data, params):
    """The parameters and float32 megabytes, in the JSON and the printed line, are params'."""
    assert data["params"] == params
    assert data["float32_megabytes"] == round(params * 4 / 1e6, 1)
    assert f"  {params:,} parameters = {params * 4 / 1e6:.1f} MB as float32" in printed


def test_untrained_vgg16_classifies_with_the_cached_class_names(tmp_path, capsys):
    run, printed, data = run_untrained(tmp_path, "vgg16", capsys)
    assert_sizes_printed(printed, data, vgg16_params())  # 138,357,544: the slide's "500 MB"
    assert data["input_shape"] == [1, 224, 224, 3] and data["include_top"] is True
    assert data["probability_sum"] == pytest.approx(1.0, abs=1e-4)
    # Known answer: the five largest of the model's 1000 probabilities, with the index's names.
    best = np.argsort(run["probabilities"])[::-1][:5]
    assert [entry["label"] for entry in data["top5"]] == [f"label_{i}" for i in best]
    assert [entry["wordnet_id"] for entry in data["top5"]] == [f"w{i:08d}" for i in best]
    assert "untrained" in printed.lower() and data["weights_file"] is None
    others = [line for line in printed.splitlines() if "VGG-BUDDY" in line]
    assert len(others) == 1 and "--model vgg16-notop" in others[0]
    assert all(name in others[0] for name in ker7.MODELS if name != "vgg16")
    for key in ("figure", "photo_figure"):
        assert data[key].startswith(str(tmp_path)) and (tmp_path / "out").is_dir()


def test_vgg16_notop_gives_the_feature_map(tmp_path, capsys):
    """The slide's VGG-BUDDY: VGG16's convolutional layers only, and a feature map, no classes."""
    run, printed, data = run_untrained(tmp_path, "vgg16-notop", capsys, class_index=False)
    assert_sizes_printed(printed, data, vgg16_params(include_top=False))  # 14,714,688
    assert data["include_top"] is False and "top5" not in data
    assert CLASS_INDEX["file"] not in printed  # no classes, so no class index needed
    # 224 pixels halved by 5 max-poolings: 7x7 places, 512 channels (the last Conv2D's filters)
    assert data["feature_map_shape"] == [1, 224 // 2**5, 224 // 2**5, VGG16_CONV[-1]]
    assert run["output"].shape == (1, 7, 7, 512)
    means = run["output"][0].mean(axis=(0, 1))
    shown = [entry["channel"] for entry in data["channels_shown"]]
    assert shown == list(np.argsort(means)[::-1][: len(shown)]) and len(shown) >= 4
    assert "(7, 7, 512)" in printed and "feature map" in printed


def test_offline_without_the_class_index_numbers_the_classes_and_draws(tmp_path, capsys):
    run, printed, data = run_untrained(tmp_path, "mobilenetv3small", capsys, class_index=False)
    count = sum(int(np.prod(w.shape)) for w in run["model"].weights)  # counted here
    assert_sizes_printed(printed, data, count)
    notes = [line for line in printed.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and CLASS_INDEX["file"] in notes[0] and CLASS_INDEX["url"] in notes[0]
    assert f"{tmp_path / 'models'}/" in notes[0] and "Downloading" not in printed
    best = np.argsort(run["probabilities"])[::-1][:5]
    assert [entry["label"] for entry in data["top5"]] == [f"class {i}" for i in best]
    assert all(entry["wordnet_id"] is None for entry in data["top5"])
    # The figures are drawn all the same: the photo, its preprocessing and shapes, the classes.
    out = tmp_path / "out"
    assert (out / "ker7_pretrained_photo.png").stat().st_size > 10_000
    assert (out / "ker7_pretrained.png").stat().st_size > 10_000
    assert "names need imagenet_class_index.json" in run["title"]


def test_bad_images_are_one_line_errors(tmp_path, bad_inputs, capsys):
    for path in bad_inputs.values():  # each photo is read as the lesson reads it
        with pytest.raises(LessonError):
            read_rgb(path, min_size=ker7.MIN_SIDE)
    args = ["--image", bad_inputs["truncated jpeg"], "--offline", "--output-dir", tmp_path]
    with pytest.raises(LessonError, match="truncated.jpg") as refused:  # before the Keras cache
        run_in_process(SCRIPT, *args, env={"KERAS_HOME": str(tmp_path)})
    assert "Keras cache" not in str(refused.value)


@pytest.mark.parametrize("seed", ["-1", "4294967296"])
def test_a_seed_out_of_range_is_one_line(seed):
    assert_clean_error(run_script(SCRIPT, "--seed", seed))
