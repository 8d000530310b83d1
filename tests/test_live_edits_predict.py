"""Lessons 6 and 7 changed the way an instructor changes them in class, run in --quick."""

import json

from cifar_data import make_cifar_folder
from conftest import read_json, run_edited_copy

import ker7_pretrained as ker7


def small_model(path):
    """A tiny valid CIFAR-10 model file (32x32x3 in, 10 softmax out)."""
    from keras import layers

    from common.quiet_keras import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 3))
    x = layers.Conv2D(4, 3, activation="relu")(inputs)
    x = layers.GlobalAveragePooling2D()(x)
    keras.Model(inputs, layers.Dense(10, activation="softmax")(x)).save(path)
    return path


def test_ker6_top_5_classes(tmp_path):
    data = make_cifar_folder(tmp_path / "cifar-10-batches-py", n_train=20, n_test=40)
    model = small_model(tmp_path / "small.keras")
    out = tmp_path / "out"
    result, _ = run_edited_copy(
        tmp_path,
        "ker6_predict.py",
        [("TOP_K = 3 ", "TOP_K = 5 ")],
        "--model",
        model,
        "--data-dir",
        data,
        "--quick",
        "--no-show",
        "--output-dir",
        out,
    )
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert "top-5 classes for 8 images" in result.stdout
    rows = [line for line in result.stdout.splitlines() if line.startswith("  test #")]
    assert len(rows) == 8 and all(line.count("%") == 5 for line in rows)
    predictions = read_json(out / "ker6_predict.json")["predictions"]
    for entry in predictions:  # the JSON says top5 and holds five, best first
        top = entry["top5"]
        assert len(top) == 5 and "top3" not in entry
        assert [p for _, p in top] == sorted((p for _, p in top), reverse=True)


def test_ker7_a_fourth_model(tmp_path):
    models_dir = tmp_path / "keras" / "models"
    models_dir.mkdir(parents=True)
    table = {str(i): [f"w{i:08d}", f"label_{i}"] for i in range(1000)}
    (models_dir / "imagenet_class_index.json").write_text(json.dumps(table))
    line = '    "efficientnetb0": ("EfficientNetB0", "efficientnet"),'
    out = tmp_path / "out"
    result, _ = run_edited_copy(
        tmp_path,
        "ker7_pretrained.py",
        [(line, line + '\n    "resnet50": ("ResNet50", "resnet50"),')],
        *("--model", "resnet50", "--weights", "none", "--offline", "--quick", "--no-show"),
        *("--output-dir", out),
        env={"KERAS_HOME": str(tmp_path / "keras")},
    )
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr[-2000:]
    data = read_json(out / "ker7_pretrained.json")
    assert data["model"] == "ResNet50" and data["params"] == 25_636_712  # count_params()
    assert "25,636,712 parameters = 102.5 MB as float32" in result.stdout
    buddy = [line for line in result.stdout.splitlines() if "VGG-BUDDY" in line]
    assert len(buddy) == 1 and all(name in buddy[0] for name in ker7.MODELS)
    assert (out / "ker7_pretrained.png").is_file()
