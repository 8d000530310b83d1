"""Lessons changed the way an instructor changes them in class, then run as a student runs them.

Each test copies a lesson (conftest.edited_copy), changes its text in one place, runs the
copy in --quick (here, or as a script where its exit matters), and checks that it finishes
without a traceback and that its table, its JSON and its figure reflect the edit. Lesson 5n's
live edits are in its own test file.
"""

import contextlib
import io
import json
import re

import cv2
import numpy as np
import pytest
from cifar_data import make_cifar_folder
from conftest import edited_copy, printed_by, read_json, run_edited_copy

from common.files import read_gray

# === Lessons 2, 3 and 3t ===


def run_here(tmp_path, lesson, edits, *args):
    """Run the edited copy as a script in this process (no second Python and TensorFlow to
    start); return what it printed. A traceback fails the test."""
    return printed_by(edited_copy(tmp_path, lesson, edits), *args)


def run_quick(tmp_path, lesson, edits, *args):
    """The edited lesson in --quick, headless; returns (what it printed, its output folder)."""
    out = tmp_path / "out"
    return run_here(
        tmp_path, lesson, edits, "--quick", "--no-show", "--output-dir", out, *args
    ), out


# --- ker2: another kernel in the model's cell (a Laplacian: tests/test_notebooks.py) ---
def test_ker2_another_kernel_still_matches_opencv(tmp_path):
    expected = [[-1, -2, -1], [0, 0, 0], [1, 2, 1]]  # sobel-y, as the lesson suggests
    edit = ("kernel = SOBEL_X  # any", "kernel = SOBEL_X.T.copy()  # any")
    printed, out = run_quick(tmp_path, "ker2_sobel_keras.py", [edit])
    results = read_json(out / "ker2_sobel_keras.json")
    assert results["kernel"] == expected
    assert results["max_abs_diff_interior"] <= 1e-3  # float32 sums: any backend
    assert results["max_abs_diff_zero_border"] <= 1e-3
    difference = re.search(r"inside the image: +(\S+)", printed).group(1)
    assert float(difference) == pytest.approx(results["max_abs_diff_interior"], rel=0.01, abs=1e-9)
    # The Keras output really is the new kernel's response, not the Sobel-x one.
    image, _ = read_gray(None)
    kernel = np.array(expected, np.float32)
    reference = cv2.filter2D(image, cv2.CV_32F, kernel, borderType=cv2.BORDER_CONSTANT)
    assert results["response_min"] == pytest.approx(float(reference.min()), abs=1e-3)
    assert results["response_max"] == pytest.approx(float(reference.max()), abs=1e-3)
    assert (out / "ker2_sobel_keras.png").stat().st_size > 10_000


# --- ker3: a bias or an activation in the model ---
def quick_training_pair():
    """The lesson's --quick problem, rebuilt here: the default photo at 128 px, sobel-x."""
    from common.files import read_gray

    image, _ = read_gray(None, max_side=128)  # ker3's --max-side with --quick
    x = ((image - image.mean()) / (image.std() + 1e-8)).astype(np.float32)
    sobel_x = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32)
    return x, cv2.filter2D(x, cv2.CV_32F, sobel_x, borderType=cv2.BORDER_CONSTANT)


def model_mse(x, y, kernel, bias=0.0, activation=lambda z: z):
    """MSE of activation(3x3 correlation with zero padding + bias) against y, in float64."""
    padded = np.pad(x.astype(np.float64), 1)
    height, width = x.shape
    out = sum(
        kernel[a][b] * padded[a : a + height, b : b + width] for a in range(3) for b in range(3)
    )
    return float(np.mean((activation(out + bias) - y) ** 2))


def test_ker3_with_a_bias_reports_keras_loss_and_learns_a_zero_bias(tmp_path):
    edit = (
        '"random_normal", use_bias=False',
        '"random_normal", use_bias=True, bias_initializer="ones"',
    )
    printed, out = run_quick(tmp_path, "ker3_learn_kernel.py", [edit], "--seminar-epochs", "2")
    results = read_json(out / "ker3_learn_kernel.json")
    x, y = quick_training_pair()
    assert results["parameters"] == 10  # 9 weights and the bias
    assert "10 parameters" in printed and "learned bias:" in printed
    # The loss at the start is the biased model's: about mean((1 - y)^2), not mean(y^2).
    assert results["start_loss"] == pytest.approx(model_mse(x, y, np.zeros((3, 3)), 1.0), rel=0.05)
    assert abs(results["start_loss"] - model_mse(x, y, np.zeros((3, 3)))) > 0.5
    # The bias has nothing to explain: it is learned back to 0, the kernel to sobel-x.
    (bias,) = results["learned_bias"]
    assert abs(bias) < 1e-3 and results["max_abs_error"] < 1e-3
    assert results["final_loss"] < 1e-6 * results["start_loss"]
    # The slide's formula has no bias, so it no longer matches Keras; finite differences do.
    assert not results["gradient_formula_agrees"]
    assert results["gradient_finite_differences_agrees"]
    assert (out / "ker3_learn_kernel.png").stat().st_size > 10_000


def test_ker3_with_an_activation_reports_the_loss_keras_optimised(tmp_path):
    edit = (
        'use_bias=False, padding="same"\n',
        'use_bias=False, padding="same", activation="tanh"\n',
    )
    printed, out = run_quick(tmp_path, "ker3_learn_kernel.py", [edit], "--seminar-epochs", "2")
    results = read_json(out / "ker3_learn_kernel.json")
    x, y = quick_training_pair()
    learned = results["learned_kernel"]
    tanh_loss = model_mse(x, y, learned, activation=np.tanh)
    linear_loss = model_mse(x, y, learned)
    assert results["final_loss"] == pytest.approx(tanh_loss, rel=1e-3)  # what Keras optimised
    assert abs(tanh_loss - linear_loss) > 0.1 * tanh_loss  # and not the linear filter's loss
    assert "at the end" in printed
    assert not results["gradient_formula_agrees"]  # the formula is for the linear model
    assert results["gradient_finite_differences_agrees"]
    assert (out / "ker3_learn_kernel.png").stat().st_size > 10_000


# --- ker3t: a fourth learning rate; a typed --epochs wins over --quick (and keeps it short) ---
def test_ker3t_a_fourth_learning_rate_gets_its_own_runs(tmp_path):
    edit = ('"too large": 1.1}', '"too large": 1.1, "just below": 0.95}')
    flags = ("--epochs", "3", "--kernel-steps", "30")  # enough to tell diverging from not
    printed, out = run_quick(tmp_path, "ker3t_training_pitfalls.py", [edit], *flags)
    data = read_json(out / "ker3t_training_pitfalls.json")
    assert data["lr_factors_of_2_over_L"]["just below"] == 0.95
    for problem in ("bowl", "kernel"):
        runs = data["learning_rate"][problem]["runs"]
        assert list(runs) == ["too small", "good", "too large", "just below"]
        assert not runs["just below"]["diverged"]  # 0.95 x 2/L is still below the limit
        assert runs["too large"]["diverged"]
    kernel = data["learning_rate"]["kernel"]
    assert kernel["runs"]["just below"]["learning_rate"] == pytest.approx(
        0.95 * kernel["limit_2_over_L"]
    )
    assert printed.count("  just below lr = ") == 2  # one line on each problem
    assert (out / "ker3t_training_pitfalls_learning_rate.png").stat().st_size > 10_000
    # --epochs 3 with --quick: the typed value wins (--quick alone gives 40)
    assert "3 epochs of 10 steps" in printed
    assert data["overfitting"]["no fix"]["epochs_run"] == 3


# === Lesson 4: a fourth model ===
# Added to MODELS in the notebook and rerun from that cell, as in class: the row, the JSON
# keys and the sixth panel are checked in tests/test_ker4_learn_canny.py (one run, not two).


# === Lesson 4v: bigger and wider layers ===

LAYERS_LESSON = "ker4v_layers_and_tensors.py"
# Four edits in four cells, run together in one copy: each cell's rows follow its own edit.
LAYERS_EDITS = [
    ("layers.Conv2D(2, (3, 3))", "layers.Conv2D(4, (5, 5))"),
    ("layers.LSTM(4)", "layers.LSTM(8)"),
    ("dense = layers.Dense(6)", "dense = layers.Dense(16)"),
    (
        "every_step = layers.SimpleRNN(4, return_sequences=True)",
        "every_step = layers.Bidirectional(layers.SimpleRNN(4, return_sequences=True))",
    ),
]


@pytest.fixture(scope="module")
def layers_edited(tmp_path_factory):
    """ker4v with the four edits, run once: its stdout, its JSON and its rows by call."""
    tmp_path = tmp_path_factory.mktemp("ker4v-edited")
    out = tmp_path / "outputs"
    printed = run_here(tmp_path, LAYERS_LESSON, LAYERS_EDITS, "--no-show", "--output-dir", out)
    data = read_json(out / "ker4v_layers_and_tensors.json")
    return printed, data, {row["call"]: row for row in data["layers"]}


def test_ker4v_a_bigger_conv2d(layers_edited):
    stdout, data, rows = layers_edited
    row = rows["Conv2D(4, (5, 5))"]
    assert row["output_shape"] == [10, 28, 28, 4]
    assert row["params"] == 5 * 5 * 3 * 4 + 4
    assert row["params_formula"] == "5·5·3·4 + 4"
    assert "Conv2D(4, (5, 5))" in stdout and "= 5·5·3·4 + 4" in stdout
    # The unshared version follows the Conv2D it generalises: 28*28 kernels of 5x5x3x4 + 4.
    local = data["locally_connected"]
    assert local["params_conv2d"] == 304
    assert local["params_unshared"] == 28 * 28 * 304
    assert local["max_abs_diff_with_conv_weights"] < 1e-4
    assert rows["EinsumDense('bpk,pkf->bpf', (784, 4), bias_axes='pf')"]["params"] == 784 * 304


def test_ker4v_a_wider_lstm(layers_edited):
    stdout, _, rows = layers_edited
    row = rows["LSTM(8)"]
    assert row["params"] == 4 * 8 * (3 + 8 + 1)
    assert row["params_formula"] == "3·32 + 8·32 + 32"
    assert row["output_shape"] == [2, 8]
    assert "params   384 = 3·32 + 8·32 + 32" in stdout  # 4 gates x 8 units x (3 + 8 + 1)


def test_ker4v_a_wider_dense(layers_edited):
    stdout, data, rows = layers_edited
    row = rows["Dense(16)"]
    assert row["params"] == 4 * 16 + 16 and row["params_formula"] == "4·16 + 16"
    plus = re.search(r"check by hand: max \|y - \(x @ W \+ b\)\| = (\S+)", stdout)
    assert float(plus.group(1)) < 1e-5 and "Keras adds the bias" in stdout
    assert len(data["dense_bias"]["bias"]) == 16  # a bias for each of the 16 neurons
    # The activation= argument follows the wider Dense: 16 units, and the same 16 numbers as
    # the Dense followed by Activation('relu').
    assert rows["Dense(16, activation='relu')"]["params"] == 4 * 16 + 16
    one = re.search(r"Dense\(16, activation='relu'\)\(x\)\[0\] = (\[.*\])", stdout)
    two = re.search(r"Activation\('relu'\)\(Dense\(16\)\(x\)\)\[0\] = (\[.*\])", stdout)
    assert len(json.loads(one.group(1))) == 16
    assert json.loads(one.group(1)) == json.loads(two.group(1))


def test_ker4v_a_wrapped_rnn_shows_its_wrapper(layers_edited):
    """A wrapper's row shows the call that builds it, the wrapped layer inside."""
    stdout, _, rows = layers_edited
    row = rows["Bidirectional(SimpleRNN(4, return_sequences=True))"]
    assert row["output_shape"] == [2, 5, 8]  # forward and backward states, side by side
    assert row["params"] == 2 * (3 * 4 + 4 * 4 + 4)  # two SimpleRNN(4)s
    assert "Bidirectional()" not in stdout


# === Lesson 5: the CNN changed in class ===

CIFAR_LESSON = "ker5_cifar10_cnn.py"
CONVS = 896 + 9_248 + 18_496 + 36_928  # the code slide's four convolutions
FIRST_CONV = '    x = layers.Conv2D(32, (3, 3), padding="same")(inp)  # (batch, 32, 32, 32)\n'
SECOND_CONV = "layers.Conv2D(32, (3, 3))(x)"
THIRD_CONV = 'x = layers.Conv2D(64, (3, 3), padding="same")(x)'
DENSE = "x = layers.Dense(512)(x)"


def edited_table(tmp_path, edits):
    """Edit lesson 5's network as an instructor would, and build it as the model cell does:
    (its parameter table, model.count_params(), the table as the lesson prints it). The table
    comes from the model alone, so no training is needed to check it."""
    from common.keras_setup import start_keras
    from common.lesson import load_definitions

    start_keras()
    ker5 = load_definitions(edited_copy(tmp_path, CIFAR_LESSON, edits))
    recipe = ker5.RECIPES["modern"]
    model = ker5.build_model(arch="code", dropout=recipe["dropout"])
    rows = ker5.parameter_table(model)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        ker5.print_parameter_table(rows, model.count_params())
    return rows, model.count_params(), printed.getvalue()


def assert_table_adds_up(rows, params, printed, total):
    """The printed total, the rows and model.count_params() all agree with the hand count."""
    assert params == total
    assert sum(row["count"] for row in rows) == total
    assert re.search(rf"^  total\s+{total:,}$", printed, re.MULTILINE)


def test_ker5_batch_normalization_after_a_conv2d(tmp_path):
    edit = (FIRST_CONV, FIRST_CONV + "    x = layers.BatchNormalization()(x)\n")
    rows, params, printed = edited_table(tmp_path, [edit])
    assert_table_adds_up(rows, params, printed, 1_250_858 + 4 * 32)  # gamma, beta, mean, var
    row = [r for r in rows if r["kind"] == "BatchNormalization"][0]
    assert row["count"] == 128 and row["formula"] == "4·32" and row["slide"] is None


def test_ker5_a_conv2d_without_bias(tmp_path):
    edit = (SECOND_CONV, "layers.Conv2D(32, (3, 3), use_bias=False)(x)")
    rows, params, printed = edited_table(tmp_path, [edit])
    assert_table_adds_up(rows, params, printed, 1_250_858 - 32)
    assert rows[1]["formula"] == "3·3·32·32"
    assert rows[1]["slide"] is None  # the slide's line has the 32 biases


def test_ker5_dense_256_in_place_of_dense_512(tmp_path):
    rows, params, printed = edited_table(tmp_path, [(DENSE, "x = layers.Dense(256)(x)")])
    assert_table_adds_up(rows, params, printed, CONVS + 2304 * 256 + 256 + 256 * 10 + 10)
    dense = [r for r in rows if r["kind"] == "Dense"]
    assert [r["label"] for r in dense] == ["Dense(256)", "Dense(10)"]
    assert dense[1]["formula"] == "256·10 + 10"
    assert "Dense(512)" not in printed  # nothing printed about a layer that is gone


def test_ker5_separable_conv2d_in_place_of_a_conv2d(tmp_path):
    edit = (THIRD_CONV, 'x = layers.SeparableConv2D(64, (3, 3), padding="same")(x)')
    rows, params, printed = edited_table(tmp_path, [edit])
    separable = 3 * 3 * 32 + 32 * 64 + 64  # one 3x3 kernel per channel, a 1x1 mix, biases
    assert_table_adds_up(rows, params, printed, 1_250_858 - 18_496 + separable)
    row = rows[2]
    assert row["kind"] == "SeparableConv2D" and row["formula"] == "3·3·32·1 + 32·64 + 64"


# A changed network after a killed run starts fresh: in tests/test_ker5_cifar10_cnn.py, in the
# killed-run test, which has the killed run already.


# === Lessons 6 and 7 ===


def small_model(path):
    """A tiny valid CIFAR-10 model file (32x32x3 in, 10 softmax out)."""
    from common.keras_setup import start_keras

    keras = start_keras()
    layers = keras.layers
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
    edit = [("TOP_K = 3 ", "TOP_K = 5 ")]
    flags = ("--model", model, "--data-dir", data, "--quick", "--no-show", "--output-dir", out)
    printed = run_here(tmp_path, "ker6_predict.py", edit, *flags)
    assert "top-5 classes for 8 images" in printed
    rows = [line for line in printed.splitlines() if line.startswith("  test #")]
    assert len(rows) == 8 and all(line.count("%") == 5 for line in rows)
    predictions = read_json(out / "ker6_predict.json")["predictions"]
    for entry in predictions:  # the JSON says top5 and holds five, best first
        top = entry["top5"]
        assert len(top) == 5 and "top3" not in entry
        assert [p for _, p in top] == sorted((p for _, p in top), reverse=True)


def test_ker7_a_fifth_model(tmp_path):
    """ResNet50 added to MODELS: offline, the one line names ResNet50's weights file (the one
    Keras asks for), not the class index that is cached; untrained, it runs and is counted."""
    from conftest import ROOT, run_script
    from keras.src.utils import file_utils

    from common.keras_setup import start_keras
    from common.lesson import load_definitions

    keras = start_keras()
    asked = []

    def record(fname, origin, **kwargs):
        asked.append((fname, origin))
        raise InterruptedError  # stop there: nothing is downloaded

    saved, file_utils.get_file = file_utils.get_file, record
    try:
        with pytest.raises(InterruptedError):
            keras.applications.ResNet50(weights="imagenet")
    finally:
        file_utils.get_file = saved
    (weights_file, url), *_ = asked

    models_dir = tmp_path / "keras" / "models"
    models_dir.mkdir(parents=True)
    table = {str(i): [f"w{i:08d}", f"label_{i}"] for i in range(1000)}
    (models_dir / "imagenet_class_index.json").write_text(json.dumps(table))
    line = '    "efficientnetb0": ("EfficientNetB0", "efficientnet", True),'
    edit = [(line, line + '\n    "resnet50": ("ResNet50", "resnet50", True),')]
    env = {"KERAS_HOME": str(tmp_path / "keras")}
    out = tmp_path / "out"
    flags = ["--model", "resnet50", "--offline", "--no-show", "--output-dir", out]
    refused, copy = run_edited_copy(tmp_path, "ker7_pretrained.py", edit, *flags, env=env)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr[-2000:]
    why = "error: --offline and not in the Keras cache: download"
    assert refused.stderr.startswith(f"{why} {weights_file} (from {url})")
    assert url in refused.stderr and "imagenet_class_index.json" not in refused.stderr
    assert "Downloading" not in refused.stdout

    result = run_script(copy, *flags, "--weights", "none", env={"PYTHONPATH": str(ROOT), **env})
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr[-2000:]
    data = read_json(out / "ker7_pretrained.json")
    assert data["model"] == "ResNet50" and data["params"] == 25_636_712  # count_params()
    assert "25,636,712 parameters = 102.5 MB as float32" in result.stdout
    models = load_definitions("ker7_pretrained").MODELS  # the lesson's four, not the copy's
    others = [line for line in result.stdout.splitlines() if "the other models here" in line]
    assert len(others) == 1 and all(name in others[0] for name in models)
    assert (out / "ker7_pretrained.png").is_file()
