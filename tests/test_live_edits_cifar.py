"""Live edits of lesson 5, made the way an instructor makes them in class, then run in --quick."""

import re
import signal

import pytest
from cifar_data import make_cifar_folder
from conftest import read_json, run_edited_copy

LESSON = "ker5_cifar10_cnn.py"
CONVS = 896 + 9_248 + 18_496 + 36_928  # the code slide's four convolutions
FIRST_CONV = '    x = layers.Conv2D(32, (3, 3), padding="same")(inp)  # (batch, 32, 32, 32)\n'
SECOND_CONV = "layers.Conv2D(32, (3, 3))(x)"
THIRD_CONV = 'x = layers.Conv2D(64, (3, 3), padding="same")(x)'
DENSE = "x = layers.Dense(512)(x)"


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    """200 training and 100 test images of 10 easy classes, in the official folder format."""
    folder = tmp_path_factory.mktemp("cifar") / "cifar-10-batches-py"
    return make_cifar_folder(folder, n_train=200, n_test=100, n_batches=2)


def run_ker5(tmp_path, tiny_data, edits, *extra, env=None, epochs="1"):
    """Run an edited copy of lesson 5 on the tiny data; return (result, its JSON or None)."""
    out, models = tmp_path / "out", tmp_path / "models"
    args = ["--quick", "--no-show", "--batch-size", "32", "--epochs", epochs]
    args += ["--data-dir", tiny_data, "--output-dir", out, "--model-dir", models, *extra]
    result, _ = run_edited_copy(tmp_path, LESSON, edits, *args, env=env)
    report = out / "ker5_cifar10_cnn.json"
    return result, read_json(report) if report.exists() else None


def assert_ran_and_table_adds_up(result, report, total):
    """No traceback; the printed total, the JSON rows and model.count_params() all agree."""
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert report["params"] == total  # the JSON's params is model.count_params()
    assert sum(row["count"] for row in report["param_table"]) == total
    assert re.search(rf"^  total\s+{total:,}$", result.stdout, re.MULTILINE)
    for figure in report["figures"]:
        assert figure.endswith(".png")
    assert len(report["figures"]) == 4


def test_batch_normalization_after_a_conv2d(tmp_path, tiny_data):
    edit = (FIRST_CONV, FIRST_CONV + "    x = layers.BatchNormalization()(x)\n")
    result, report = run_ker5(tmp_path, tiny_data, [edit])
    assert_ran_and_table_adds_up(result, report, 1_250_858 + 4 * 32)  # gamma, beta, mean, var
    row = [r for r in report["param_table"] if r["kind"] == "BatchNormalization"][0]
    assert row["count"] == 128 and row["formula"] == "4·32" and row["slide"] is None


def test_a_conv2d_without_bias(tmp_path, tiny_data):
    edit = (SECOND_CONV, "layers.Conv2D(32, (3, 3), use_bias=False)(x)")
    result, report = run_ker5(tmp_path, tiny_data, [edit])
    assert_ran_and_table_adds_up(result, report, 1_250_858 - 32)
    assert report["param_table"][1]["formula"] == "3·3·32·32"
    assert report["param_table"][1]["slide"] is None  # the slide's line has the 32 biases


def test_dense_256_in_place_of_dense_512(tmp_path, tiny_data):
    result, report = run_ker5(tmp_path, tiny_data, [(DENSE, "x = layers.Dense(256)(x)")])
    assert_ran_and_table_adds_up(result, report, CONVS + 2304 * 256 + 256 + 256 * 10 + 10)
    dense = [r for r in report["param_table"] if r["kind"] == "Dense"]
    assert [r["label"] for r in dense] == ["Dense(256)", "Dense(10)"]
    assert dense[1]["formula"] == "256·10 + 10"
    assert "Dense(512)" not in result.stdout  # nothing printed about a layer that is gone


def test_separable_conv2d_in_place_of_a_conv2d(tmp_path, tiny_data):
    edit = (THIRD_CONV, 'x = layers.SeparableConv2D(64, (3, 3), padding="same")(x)')
    result, report = run_ker5(tmp_path, tiny_data, [edit])
    separable = 3 * 3 * 32 + 32 * 64 + 64  # one 3x3 kernel per channel, a 1x1 mix, biases
    assert_ran_and_table_adds_up(result, report, 1_250_858 - 18_496 + separable)
    row = report["param_table"][2]
    assert row["kind"] == "SeparableConv2D" and row["formula"] == "3·3·32·1 + 32·64 + 64"


def test_a_changed_model_after_a_killed_run_starts_fresh(tmp_path, tiny_data):
    killed, _ = run_ker5(tmp_path, tiny_data, [], env={"KER5_KILL_AFTER_EPOCH": "1"}, epochs="2")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert (tmp_path / "models" / "cifar10_cnn_quick.resume" / "backup").is_dir()

    edited = [(DENSE, "x = layers.Dense(256)(x)")]
    result, report = run_ker5(tmp_path, tiny_data, edited, epochs="2")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stdout.splitlines() if "saved progress" in line]
    assert len(lines) == 1 and "belonged to a different model" in lines[0]
    assert "resuming" not in result.stdout and "Epoch 1/2" in result.stdout
    assert report["resumed_at_epoch"] is None and report["epochs"] == 2
    assert report["params"] == CONVS + 2304 * 256 + 256 + 256 * 10 + 10
