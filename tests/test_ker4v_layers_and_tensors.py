"""ker4v: the image tensor's axes, every layer's shapes and parameter counts, the slides'
statements checked against Keras (the bias, BatchNormalization, TimeDistributed, the
activation argument), and the training phase against inference.

One run as a script (the student's contract: exit code, files, a quiet start), one run in this
process (its values, checked against references computed here), and one as a notebook whose
Conv2D cell is edited and run again.
"""

import contextlib
import io
from pathlib import Path

import keras
import numpy as np
import pytest
from cifar_data import make_cifar_folder
from conftest import (
    assert_clean_error,
    execute_checked_notebook,
    read_json,
    run_in_process,
    run_script,
)
from scipy import stats

from common.cifar10 import CLASS_NAMES, read_batch
from common.lesson import LessonError, load_definitions

SCRIPT = "ker4v_layers_and_tensors.py"
STEM = "ker4v_layers_and_tensors"
MUTATIONS = [  # (lesson, text, replacement, what it breaks): tests/mutants.py applies each
    (
        "ker4v_layers_and_tensors.py",
        "dense.set_weights([kernel, bias])",
        "dense.set_weights([kernel, -bias])",
        "the Dense subtracts its bias, as the slide says: y = x·W - b",
    ),
    (
        "ker4v_layers_and_tensors.py",
        "dense_relu.set_weights(dense.get_weights())",
        "dense_relu.get_weights()",
        "Dense(6, activation='relu') gets its own weights: the two ways no longer agree",
    ),
    (
        "ker4v_layers_and_tensors.py",
        "features = rng.exponential([2.0, 0.5, 30.0], size=(1000, 3))",
        "features = rng.normal([2.0, 0.5, 30.0], size=(1000, 3))",
        "a Gaussian input: nothing shows that BatchNormalization keeps the shape",
    ),
    (
        "ker4v_layers_and_tensors.py",
        "for _ in range(BN_TRAINING_STEPS):",
        "for _ in range(BN_TRAINING_STEPS // 5):",
        "fewer training calls than the lesson says: the moving statistics lag behind",
    ),
    (
        "ker4v_layers_and_tensors.py",
        "kept = ops.convert_to_numpy(dropout(ones, training=False))",
        "kept = ops.convert_to_numpy(dropout(ones, training=True))",
        "Dropout drops at inference too",
    ),
    (
        "ker4v_layers_and_tensors.py",
        "scale = 1 / (1 - dropout.rate)",
        "scale = 1",
        "Dropout said to keep the other inputs as they are: the sum would shrink",
    ),
    (
        "ker4v_layers_and_tensors.py",
        "only[:, :, channel] = x[:, :, channel]",
        "only[:, :, channel] = 255 - x[:, :, channel]",
        "the channel panels reversed: the brightest pixels drawn black",
    ),
    (
        "ker4v_layers_and_tensors.py",
        'ink = "white" if value < 235 else "black"',
        'ink = "red"',
        "the numbers red on red: unreadable",
    ),
    (
        "ker4v_layers_and_tensors.py",
        "curves = {name: keras.activations.get(name)(t) for name in names",
        'curves = {name: keras.activations.get("relu")(t) for name in names',
        "every panel draws relu under another function's name",
    ),
    (
        "common/layer_tour.py",
        "if _without_names(config[name]) != _without_names(default.get(name)):",
        "if False:",
        "a row's call leaves out the options: Dense(6, activation='relu') shows as Dense(6)",
    ),
    (
        "common/layer_tour.py",
        "first = [int(np.argmax(labels == c)) for c in range(len(CLASS_NAMES))]",
        "first = list(range(len(CLASS_NAMES)))",
        "the first ten test images again: some classes twice, some missing",
    ),
]
# Every layer family on the slides; each must appear in the JSON.
FAMILIES = {
    "Dense",
    "Activation",
    "Flatten",
    "Dropout",
    "Conv2D",
    "MaxPooling2D",
    "AveragePooling2D",
    "EinsumDense",
    "Add",
    "Subtract",
    "SimpleRNN",
    "LSTM",
    "Embedding",
    "Softmax",
    "LeakyReLU",
    "BatchNormalization",
    "GaussianNoise",
    "GaussianDropout",
    "TimeDistributed",
}
LOCAL = "EinsumDense('bpk,pkf->bpf', (900, 2), bias_axes='pf')"  # the call that builds it
# Parameter counts worked out by hand from the layer sizes the lesson uses.
KNOWN_PARAMS = {
    "Dense(6)": 4 * 6 + 6,  # 4 inputs
    "Dense(6, activation='relu')": 4 * 6 + 6,  # the activation adds nothing to learn
    "Conv2D(2, (3, 3))": 3 * 3 * 3 * 2 + 2,  # RGB input
    "SimpleRNN(4)": 4 * 4 + 3 * 4 + 4,  # recurrent + input kernel + bias, 3 features
    "LSTM(4)": 4 * (4 * 4 + 3 * 4 + 4),  # four gates
    "Embedding(10, 3)": 30,
    "BatchNormalization(), training": 4 * 3,  # gamma, beta, moving mean, moving variance
    "TimeDistributed(Dense(2))": 3 * 2 + 2,  # one Dense, shared over time
    LOCAL: 30 * 30 * 56,  # 900 positions, each a Conv2D's 56
}
# The formula printed beside each count, as a student reads it.
KNOWN_FORMULAS = {
    "Dense(6)": "4·6 + 6",
    "Conv2D(2, (3, 3))": "3·3·3·2 + 2",
    "BatchNormalization(), training": "4·3",
    "LSTM(4)": "3·16 + 4·16 + 16",  # kernel, recurrent kernel, bias: 4 gates x 4 units
    "Embedding(10, 3)": "10·3",
}
# The lines as the slides print them (copied by hand from the deck).
SLIDE_SNIPPETS = {"Dropout()", "x = Add([x1,x2])", "Embeded()"}


@pytest.fixture(scope="module")
def tiny_cifar(tmp_path_factory):
    """A tiny CIFAR-10 folder whose test batch holds every class, shuffled."""
    folder = tmp_path_factory.mktemp("cifar") / "cifar-10-batches-py"
    return make_cifar_folder(folder, n_train=20, n_test=30)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The lesson run in this process on the photo crops: its globals, stdout, JSON, folder."""
    out = tmp_path_factory.mktemp("ker4v")
    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(printed):
        # No data/cifar-10-batches-py, whatever this machine has: the photo crops.
        patch.setattr("common.cifar10.LOCAL_FOLDER", out / "no-cifar-here")
        patch.delenv("CIFAR10_DIR", raising=False)
        names = run_in_process(SCRIPT, "--no-show", "--output-dir", out)
    return names, printed.getvalue(), read_json(out / f"{STEM}.json")


@pytest.fixture(scope="module")
def script(tmp_path_factory, tiny_cifar):
    """The lesson run as a student runs it, on the tiny CIFAR-10 folder."""
    out = tmp_path_factory.mktemp("ker4v-script")
    result = run_script(SCRIPT, "--no-show", "--output-dir", out, "--data-dir", tiny_cifar)
    assert result.returncode == 0, result.stderr[-3000:]
    return result, read_json(out / f"{STEM}.json"), out


def first_of_each_class(folder):
    """The first test image of each class, in class order, found here by a plain loop."""
    images, labels = read_batch(Path(folder) / "test_batch")
    chosen = []
    for c in range(len(CLASS_NAMES)):
        for image, label in zip(images, labels, strict=True):
            if label == c:
                chosen.append(image)
                break
    return np.stack(chosen)


# --- As a student runs it ---


def test_a_script_run_is_quiet_and_shows_one_image_of_each_class(script, tiny_cifar):
    result, data, out = script
    saved = [line.removeprefix("figure: ") for line in result.stdout.splitlines()]
    saved = [Path(line) for line in saved if line.startswith(str(out))]
    assert len(saved) == 3, result.stdout
    for path in saved:
        assert path.name.startswith(STEM), path
        assert path.stat().st_size > 10_000, path
    assert "cuda" not in result.stderr.lower() and "I0000" not in result.stderr
    tensor = data["tensor"]
    assert tensor["names"] == list(CLASS_NAMES)  # one of each class, in class order
    assert str(tiny_cifar) not in tensor["source"]  # no local path in the title
    first = first_of_each_class(tiny_cifar)
    assert tensor["first_pixel_rgb"] == first[0, 0, 0].tolist()
    assert tensor["min"] == first.min() and tensor["max"] == first.max()


def test_help_names_the_lesson_and_lists_the_flags():
    result = run_script(SCRIPT, "--help")
    assert result.returncode == 0, result.stderr
    assert "Lesson 4v:" in result.stdout
    for flag in ("--seed", "--data-dir", "--quick", "--output-dir", "--no-show", "--verbose"):
        assert flag in result.stdout, flag


@pytest.mark.parametrize("seed", ["-1", "4294967296"])
def test_a_seed_out_of_range_is_one_error_line(seed):
    result = run_script(SCRIPT, "--no-show", "--seed", seed)
    assert_clean_error(result)
    assert "--seed" in result.stderr and "4294967295" in result.stderr


def test_bad_data_dir_and_output_dir_are_lesson_errors(tmp_path, unwritable_dir):
    """Each ends in a LessonError, which a script shows as one line (as the seeds above)."""
    out = ("--no-show", "--output-dir", tmp_path / "out")
    with pytest.raises(LessonError, match="CIFAR-10"):
        run_in_process(SCRIPT, *out, "--data-dir", tmp_path / "missing")
    with pytest.raises(LessonError, match="cannot write"):
        run_in_process(SCRIPT, "--no-show", "--output-dir", unwritable_dir)


# --- The tensor ---


def test_ten_real_images_are_one_uint8_tensor(run):
    names, _, data = run
    tensor = data["tensor"]
    assert tensor["shape"] == [10, 32, 32, 3]
    assert tensor["axes"] == ["batch", "height", "width", "channel"]
    assert tensor["slide_axes"] == ["batch", "data", "data", "channel"]
    assert tensor["dtype"] == "uint8"
    np.testing.assert_allclose(names["images"], names["x"] / 255.0, rtol=1e-6)
    assert tensor["max"] - tensor["min"] > 200  # real photos, not a flat synthetic fill
    assert len(set(tensor["names"])) == 10


def test_photo_crops_are_real_and_different():
    from common.layer_tour import photo_crops

    x, names = photo_crops()
    assert x.shape == (10, 32, 32, 3) and x.dtype == np.uint8
    assert len(set(names)) == 10
    means = x.reshape(10, -1).mean(axis=1)
    assert len(np.unique(means.round())) == 10  # ten different pictures


def test_cifar_folder_gives_one_test_image_of_each_class(tmp_path, tiny_cifar):
    from common.layer_tour import ten_images

    x, names, source = ten_images(tiny_cifar)
    np.testing.assert_array_equal(x, first_of_each_class(tiny_cifar))
    _, labels = read_batch(tiny_cifar / "test_batch")
    assert len(set(labels[:10].tolist())) < 10  # the first ten alone would not do
    assert names == list(CLASS_NAMES)
    assert "CIFAR-10" in source and str(tiny_cifar) not in source
    few = make_cifar_folder(tmp_path / "cifar-10-batches-py", n_train=10, n_test=5)
    with pytest.raises(LessonError, match="no image of"):
        ten_images(few)  # 5 test images: 5 classes missing


def relative_luminance(rgb):
    """WCAG's relative luminance of an sRGB colour given as 0..1 floats."""
    rgb = np.asarray(rgb, dtype=float)[:3]
    linear = np.where(rgb <= 0.03928, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return float(linear @ [0.2126, 0.7152, 0.0722])


def test_tensor_figure_draws_each_channel_in_its_colour_and_readable_numbers():
    import matplotlib.colors
    import matplotlib.pyplot as plt

    plot_tensor = load_definitions(SCRIPT).plot_tensor
    ramp = np.arange(32 * 32 * 3).reshape(32, 32, 3) % 256
    x = np.stack([ramp] * 10).astype(np.uint8)
    corner = [[0, 60, 120, 150], [160, 180, 200, 220], [230, 234, 235, 236], [240, 245, 250, 255]]
    x[0, :4, :4, 0] = corner  # the numbers drawn: dark to full red
    fig = plot_tensor(x, [f"image {i}" for i in range(10)], "a test source")
    try:
        axes = fig.axes
        for c in range(3):  # the panels under the ten images: red, green, blue
            drawn = axes[10 + c].get_images()[0].get_array()
            expected = np.zeros_like(x[0])
            expected[:, :, c] = x[0, :, :, c]  # black (0) to full colour (255), nothing white
            np.testing.assert_array_equal(drawn, expected)
        numbers = [t for t in axes[13].texts if t.get_text().isdigit()]
        assert len(numbers) == 16
        for text in numbers:
            column, row = text.get_position()
            value = x[0, int(row), int(column), 0]
            assert int(text.get_text()) == value
            background = relative_luminance([value / 255, 0, 0])
            ink = relative_luminance(matplotlib.colors.to_rgb(text.get_color()))
            lighter, darker = max(background, ink), min(background, ink)
            assert (lighter + 0.05) / (darker + 0.05) >= 4.5, (value, text.get_color())
        assert "a test source" in fig._suptitle.get_text()
    finally:
        plt.close(fig)


# --- The layers' rows ---


def test_every_layer_family_is_shown(run):
    _, printed, data = run
    shown = {entry["layer"] for entry in data["layers"]}
    assert FAMILIES <= shown, FAMILIES - shown
    assert "LSTM" in printed and "LSTN" in printed  # the slide's typo is named


def test_parameter_counts_and_formulas(run):
    _, printed, data = run
    by_call = {entry["call"]: entry for entry in data["layers"]}
    for call, params in KNOWN_PARAMS.items():
        assert by_call[call]["params"] == params, call
    for call, formula in KNOWN_FORMULAS.items():
        assert by_call[call]["params_formula"] == formula, call
        assert f"params {by_call[call]['params']:>5,d} = {formula}" in printed, call
    for entry in data["layers"]:  # a layer without weights has no formula to show
        if entry["params"] == 0:
            assert entry["params_formula"] is None, entry
        else:
            assert entry["params_formula"], entry


def test_each_row_counts_what_keras_counts():
    """The row's count is the layer's own count_params(); the formula comes from its sizes."""
    from common.layer_tour import layer_row

    layers = keras.layers
    images = np.zeros((2, 8, 8, 3), dtype="float32")
    seq = np.zeros((2, 5, 3), dtype="float32")
    cases = [
        (layers.Conv2D(2, (3, 3)), images, "Conv2D(2, (3, 3))", "3·3·3·2 + 2", 56),
        (layers.Conv2D(2, (3, 3), use_bias=False), images, None, "3·3·3·2", 54),
        (layers.SeparableConv2D(4, (3, 3)), images, None, "3·3·3·1 + 3·4 + 4", 43),
        (layers.BatchNormalization(), images, None, "4·3", 12),
        (layers.GRU(2), seq, "GRU(2)", None, 3 * (3 * 2 + 2 * 2 + 2 * 2)),
        (layers.TimeDistributed(layers.Dense(2)), seq, "TimeDistributed(Dense(2))", "3·2 + 2", 8),
        (layers.Bidirectional(layers.LSTM(4)), seq, "Bidirectional(LSTM(4))", None, 2 * 128),
    ]
    for layer, inputs, call, formula, count in cases:
        row = layer_row(layer, inputs, layer(inputs))
        assert row["params"] == layer.count_params() == count, row
        if call:
            assert row["call"] == call, row
        if formula:
            assert row["params_formula"] == formula, row
        terms = [term.split("·") for term in row["params_formula"].split(" + ")]
        assert sum(int(np.prod([int(n) for n in term])) for term in terms) == count, row


def without_names(config):
    """A layer's config with every name left out: two layers built alike compare equal."""
    if isinstance(config, dict):
        return {k: without_names(v) for k, v in config.items() if k != "name"}
    if isinstance(config, list | tuple):
        return [without_names(v) for v in config]
    return config


def test_a_row_shows_the_call_that_builds_the_layer():
    """Run the row's call text: it must build the same layer (wrappers and options too)."""
    from common.layer_tour import call_text

    layers = keras.layers
    cases = {
        "Bidirectional(LSTM(4))": layers.Bidirectional(layers.LSTM(4)),
        "Bidirectional(SimpleRNN(4, return_sequences=True), merge_mode='sum')": (
            layers.Bidirectional(layers.SimpleRNN(4, return_sequences=True), merge_mode="sum")
        ),
        "TimeDistributed(Dense(2))": layers.TimeDistributed(layers.Dense(2)),
        "RNN(SimpleRNNCell(4))": layers.RNN(layers.SimpleRNNCell(4)),
        "Dense(6, activation='relu')": layers.Dense(6, activation="relu"),
        "Conv2D(2, (3, 3), padding='same')": layers.Conv2D(2, 3, padding="same"),
        "MaxPooling2D((2, 2))": layers.MaxPooling2D(pool_size=(2, 2)),
        "MaxPooling2D((3, 3), strides=(1, 1))": layers.MaxPooling2D((3, 3), strides=1),
        "Dropout(0.5)": layers.Dropout(0.5),
        "LeakyReLU(negative_slope=0.1)": layers.LeakyReLU(negative_slope=0.1),
        "Activation('relu')": layers.Activation("relu"),
        "Reshape((2, 3))": layers.Reshape((2, 3)),
        LOCAL: layers.EinsumDense("bpk,pkf->bpf", output_shape=(900, 2), bias_axes="pf"),
        "BatchNormalization(momentum=0.9)": layers.BatchNormalization(momentum=0.9),
        "Embedding(10, 3)": layers.Embedding(10, 3),
    }
    for expected, layer in cases.items():
        text = call_text(layer)
        assert text == expected, (text, expected)
        rebuilt = eval(text, vars(keras.layers))
        assert type(rebuilt) is type(layer), text
        assert without_names(rebuilt.get_config()) == without_names(layer.get_config()), text


def test_shapes(run):
    _, _, data = run
    by_call = {entry["call"]: entry for entry in data["layers"]}
    expected = {
        "Dense(6)": ([2, 4], [2, 6]),
        "Flatten()": ([10, 32, 32, 3], [10, 32 * 32 * 3]),
        "Conv2D(2, (3, 3))": ([10, 32, 32, 3], [10, 30, 30, 2]),  # 'valid': loses a border
        "MaxPooling2D((2, 2))": ([10, 30, 30, 2], [10, 15, 15, 2]),
        "SimpleRNN(4)": ([2, 5, 3], [2, 4]),
        "SimpleRNN(4, return_sequences=True)": ([2, 5, 3], [2, 5, 4]),
        "Embedding(10, 3)": ([2, 5], [2, 5, 3]),
        "TimeDistributed(Dense(2))": ([2, 5, 3], [2, 5, 2]),
        "Add()": ([[1, 3], [1, 3]], [1, 3]),
    }
    for call, (shape_in, shape_out) in expected.items():
        assert by_call[call]["input_shape"] == shape_in, call
        assert by_call[call]["output_shape"] == shape_out, call


# --- What the slides say, against what Keras computes ---


def test_dense_adds_its_bias(run):
    names, printed, _ = run
    x, y = names["x_small"].astype(np.float64), names["y"]
    kernel, bias = (w.astype(np.float64) for w in names["dense"].get_weights())
    assert np.abs(bias).min() > 0.1  # a bias whose sign shows: +b and -b differ everywhere
    np.testing.assert_allclose(y, x @ kernel + bias, atol=1e-5)
    assert not np.allclose(y, x @ kernel - bias, atol=0.1)  # the slide's sign
    assert "Keras adds the bias (the slide says it is subtracted)" in printed


def test_activation_argument_is_dense_then_activation(run):
    names, _, _ = run
    x = names["x_small"].astype(np.float64)
    kernel, bias = (w.astype(np.float64) for w in names["dense"].get_weights())
    weights = names["dense_relu"].get_weights()
    for got, want in zip(weights, names["dense"].get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)  # the same W and b
    expected = np.maximum(x @ kernel + bias, 0)  # relu(x W + b), here
    assert (expected == 0).any() and (expected > 0).any()  # relu cut something off
    np.testing.assert_allclose(names["in_one"], expected, atol=1e-5)  # Dense(6, 'relu')
    np.testing.assert_allclose(names["in_two"], expected, atol=1e-5)  # Dense, Activation


def test_time_distributed_runs_on_each_time_step(run):
    names, printed, _ = run
    seq = names["seq"].astype(np.float64)  # (batch, time, features)
    kernel, bias = (w.astype(np.float64) for w in names["each_step"].layer.get_weights())
    assert kernel.shape == (3, 2)  # one Dense for all steps
    expected = np.stack([seq[:, t] @ kernel + bias for t in range(seq.shape[1])], axis=1)
    np.testing.assert_allclose(names["stepped"], expected, atol=1e-5)
    assert "time axis (axis 1), not over the batch's parts" in printed


def test_dropout_and_noise_change_only_the_training_phase(run):
    names, printed, _ = run
    ones, dropped, kept = names["ones"], names["dropped"], names["kept"]
    np.testing.assert_array_equal(kept, np.ones_like(ones))  # inference: the input, exactly
    rate = names["dropout"].rate
    assert rate == 0.5
    values = set(np.unique(dropped).tolist())
    assert values == {0.0, 1 / (1 - rate)}, values  # zeroed, or scaled by 2
    zeroed = int((dropped == 0).sum())
    assert f"{zeroed} of {ones.size} zeroed" in printed
    assert f"with chance {rate}, multiplies the rest by {1 / (1 - rate):g}" in printed
    # The noise layers: at inference the input itself, printed; while training, changed.
    assert printed.count(f"inference: {[1.0] * 8}  (the input, unchanged)") == 2
    assert not np.allclose(names["noisy"], names["signal"])  # GaussianDropout, training
    assert "testovacia fáza" in printed and "trénovacia fáza" in printed


def test_batch_normalization_keeps_the_skew_and_uses_moving_statistics(run):
    names, printed, _ = run
    bn, x = names["bn"], names["features"].astype(np.float64)
    mean, variance = x.mean(axis=0), x.var(axis=0)
    gamma, beta = (keras.ops.convert_to_numpy(w) for w in (bn.gamma, bn.beta))
    # Training: the batch's statistics, whatever the shape of the distribution.
    assert (stats.skew(x) > 1).all()  # a skewed input (a Gaussian's skewness is 0)
    expected = (x - mean) / np.sqrt(variance + bn.epsilon) * gamma + beta
    np.testing.assert_allclose(names["trained"], expected, atol=1e-4)
    np.testing.assert_allclose(stats.skew(names["trained"]), stats.skew(x), atol=1e-3)
    assert "the skewness stays" in printed
    # Inference: the moving statistics. Each training call moves them 1 - momentum of the way
    # from where they were (mean 0, variance 1) to the batch's.
    np.testing.assert_allclose(names["before"], x / np.sqrt(1 + bn.epsilon), rtol=1e-5)
    calls = names["BN_TRAINING_STEPS"] + 1  # and the one training call of the row
    share = 1 - bn.momentum**calls
    moving_mean, moving_variance = share * mean, (1 - share) * 1 + share * variance
    expected = (x - moving_mean) / np.sqrt(moving_variance + bn.epsilon) * gamma + beta
    np.testing.assert_allclose(names["after"], expected, atol=1e-3)
    assert f"{share:.1%} of the way" in printed


def test_locally_connected_is_a_conv2d_with_a_kernel_per_position(run):
    names, printed, data = run
    images, conv = names["images"].astype(np.float64), names["conv"]
    kernel, bias = (w.astype(np.float64) for w in conv.get_weights())  # (3, 3, 3, filters)
    windows = np.lib.stride_tricks.sliding_window_view(images, (3, 3), axis=(1, 2))
    expected = np.einsum("bhwcij,ijcf->bhwf", windows, kernel) + bias  # 'valid', by hand
    np.testing.assert_allclose(names["feature_maps"], expected, atol=1e-4)
    np.testing.assert_allclose(names["same"], expected, atol=1e-4)  # every kernel the Conv2D's
    local = data["locally_connected"]
    assert local["in_keras"] is False and "LocallyConnected2D" in printed
    assert local["params_conv2d"] == 3 * 3 * 3 * 2 + 2
    assert local["params_unshared"] == 30 * 30 * local["params_conv2d"]


# --- The slides' code ---


def test_slide_snippets_fail_on_this_keras_and_their_fixes_run():
    """Run each line exactly as the slide prints it, here, without the lesson's helper."""
    slide_code = load_definitions(SCRIPT).SLIDE_CODE
    assert {entry["snippet"] for entry in slide_code} == SLIDE_SNIPPETS
    x1, x2 = np.array([[1.0, 2.0, 3.0]]), np.array([[10.0, 20.0, 30.0]])
    for entry in slide_code:
        names = {**vars(keras.layers), "x1": x1, "x2": x2}
        with pytest.raises((TypeError, NameError)):
            exec(entry["snippet"], dict(names))
        exec(entry["fix"], names)  # raises if the fix does not run
    names = {**vars(keras.layers), "x1": x1, "x2": x2}
    exec("x = Add()([x1, x2])", names)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(names["x"]), x1 + x2)


def test_slide_code_report(run):
    _, printed, data = run
    report = {entry["snippet"]: entry for entry in data["slide_code"]}
    assert set(report) == SLIDE_SNIPPETS
    assert report["Dropout()"]["error_type"] == "TypeError"
    assert "rate" in report["Dropout()"]["error"]
    assert report["x = Add([x1,x2])"]["error_type"] == "TypeError"
    assert report["Embeded()"]["error_type"] == "NameError"
    for entry in data["slide_code"]:
        assert entry["fix_runs"] is True, entry
        assert "\n" not in entry["error"]
        assert f"Keras 3: {entry['error_type']}: {entry['error']}" in printed


# --- The figures ---


def test_activations_figure_draws_each_function_in_its_own_panel():
    import matplotlib.pyplot as plt

    lesson = load_definitions(SCRIPT)
    fig = lesson.plot_activations(lesson.ACTIVATIONS, slope=0.1)
    reference = {
        "linear": lambda t: t,
        "sigmoid": lambda t: 1 / (1 + np.exp(-t)),
        "tanh": np.tanh,
        "relu": lambda t: np.maximum(t, 0),
        "LeakyReLU(0.1)": lambda t: np.maximum(0.1 * t, t),
    }
    try:
        panels = {ax.get_title().split(":")[0]: ax for ax in fig.axes if ax.get_title()}
        for name, formula in reference.items():
            ax = panels[name]
            curves = [line for line in ax.get_lines() if len(line.get_xdata()) > 2]
            assert len(curves) == 1, name  # alone in its panel: nothing drawn over it
            t, values = curves[0].get_xdata(), curves[0].get_ydata()
            np.testing.assert_allclose(values, formula(t.astype(np.float64)), atol=1e-5)
            axis_lines = [line for line in ax.get_lines() if line not in curves]
            assert all(line.get_zorder() < curves[0].get_zorder() for line in axis_lines)
        assert "sums to 1.00" in panels["softmax"].get_title()
    finally:
        plt.close(fig)


def test_batch_normalization_figure_states_this_data_s_skewness():
    import matplotlib.pyplot as plt

    lesson = load_definitions(SCRIPT)
    x = np.random.default_rng(1).exponential(size=(500, 1)).astype("float32")
    normalized = (x - x.mean()) / x.std()
    fig = lesson.plot_normalization(x, normalized)
    try:
        title = fig._suptitle.get_text()
        skew = stats.skew(x[:, 0])
        assert f"skewness {skew:.2f} in, {stats.skew(normalized[:, 0]):.2f} out" in title
        assert "✗ not Gaussian" in [t.get_text() for t in fig.axes[1].texts]
    finally:
        plt.close(fig)


# --- As a notebook, edited in class ---


def test_each_layer_cell_shows_its_rows_and_a_rerun_replaces_them(tmp_path, tiny_cifar):
    """As a notebook: a layer's row is under the cell that builds it; an edited Conv2D cell,
    run again with the cells below it, replaces its rows instead of adding to them."""
    notebook = execute_checked_notebook(
        SCRIPT,
        *("--output-dir", tmp_path, "--data-dir", tiny_cifar),
        tmp_path=tmp_path,
        edit=("layers.Conv2D(2, (3, 3))", "layers.Conv2D(4, (5, 5))"),
    )
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]

    def printed(cell):
        return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")

    for built, row in {
        "layers.Dense(6)": "Dense(6)",
        "layers.Conv2D(4, (5, 5))": "Conv2D(4, (5, 5))",
        "layers.EinsumDense(": "EinsumDense('bpk,pkf->bpf', (784, 4), bias_axes='pf')",
        "layers.Add()": "Add()",
        "layers.LSTM(4)": "LSTM(4)",
        "layers.Dropout(0.5)": "Dropout(0.5), training",
        "layers.BatchNormalization()": "BatchNormalization(), training",
        "layers.LeakyReLU(": "LeakyReLU(negative_slope=0.1)",
    }.items():
        cell = next(cell for cell in code if built in cell.source)
        assert row in printed(cell), built
    tensor = next(cell for cell in code if "ten_images(" in cell.source)
    assert "x.shape = (10, 32, 32, 3)" in printed(tensor)
    assert any("image/png" in o.get("data", {}) for o in tensor.outputs)  # drawn under it

    rows = read_json(tmp_path / f"{STEM}.json")["layers"]
    calls = [row["call"] for row in rows]
    assert len(calls) == len(set(calls)), calls  # nothing twice after the rerun
    assert "Conv2D(4, (5, 5))" in calls and "Conv2D(2, (3, 3))" not in calls
    by_call = {row["call"]: row for row in rows}
    assert by_call["Conv2D(4, (5, 5))"]["output_shape"] == [10, 28, 28, 4]
    assert by_call["MaxPooling2D((2, 2))"]["input_shape"] == [10, 28, 28, 4]
    local = next(row for row in rows if row["layer"] == "EinsumDense")
    assert local["params"] == 28 * 28 * (5 * 5 * 3 * 4 + 4)
    assert by_call["Dense(6)"]["params"] == 30  # the cells above the edit kept their rows
