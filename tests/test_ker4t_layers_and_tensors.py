"""ker4t: the image tensor's axes, every layer's shapes and parameter counts, train vs inference."""

import ast
import operator

import numpy as np
import pytest
from cifar_data import make_cifar_folder
from conftest import assert_clean_error, read_json, run_script

SCRIPT = "ker4t_layers_and_tensors.py"
# Every layer family the issue lists; each must appear in the JSON.
FAMILIES = {
    "Dense",
    "Activation",
    "Flatten",
    "Dropout",
    "Conv2D",
    "MaxPooling2D",
    "AveragePooling2D",
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
# Parameter counts worked out by hand from the layer sizes the lesson uses.
KNOWN_PARAMS = {
    "Dense(6)": 4 * 6 + 6,  # 4 inputs
    "Conv2D(2, (3, 3))": 3 * 3 * 3 * 2 + 2,  # RGB input
    "SimpleRNN(4)": 4 * 4 + 3 * 4 + 4,  # recurrent + input kernel + bias, 3 features
    "LSTM(4)": 4 * (4 * 4 + 3 * 4 + 4),  # four gates
    "Embedding(10, 3)": 30,
    "BatchNormalization()": 4 * 3,  # gamma, beta, moving mean, moving variance
    "TimeDistributed(Dense(2))": 3 * 2 + 2,  # one Dense, shared over time
    "EinsumDense, unshared 3x3": 30 * 30 * 56,  # 900 positions, each a Conv2D's 56
}
_OPS = {ast.Add: operator.add, ast.Mult: operator.mul}


def evaluate(formula):
    """The value of a printed formula such as '3*3*3*2 + 2' (only +, * and brackets)."""

    def walk(node):
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](walk(node.left), walk(node.right))
        raise ValueError(f"unexpected formula {formula!r}")

    return walk(ast.parse(formula, mode="eval"))


@pytest.fixture(scope="module")
def lesson(tmp_path_factory):
    """Run the lesson once in quick mode, on the photo crops; return (result, json, out_dir)."""
    out = tmp_path_factory.mktemp("ker4t")
    result = run_script(
        SCRIPT, "--quick", "--no-show", "--output-dir", out, env={"CIFAR10_DIR": ""}
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result, read_json(out / "ker4t_layers_and_tensors.json"), out


def test_figures_and_quiet_start(lesson):
    result, _, out = lesson
    assert (out / "ker4t_tensor.png").stat().st_size > 10_000
    assert (out / "ker4t_activations.png").stat().st_size > 10_000
    assert "figure:" in result.stdout
    assert "cuda" not in result.stderr.lower() and "I0000" not in result.stderr


def test_ten_real_images_are_one_uint8_tensor(lesson):
    _, data, _ = lesson
    tensor = data["tensor"]
    assert tensor["shape"] == [10, 32, 32, 3]
    assert tensor["axes"] == ["batch", "height", "width", "channel"]
    assert tensor["dtype"] == "uint8"
    assert 0 <= tensor["min"] and tensor["max"] <= 255
    assert tensor["max"] - tensor["min"] > 200  # real photos, not a flat synthetic fill
    assert len(tensor["names"]) == 10


def test_photo_crops_are_real_and_different():
    import ker4t_layers_and_tensors as ker4t

    x, names = ker4t.photo_crops()
    assert x.shape == (10, 32, 32, 3) and x.dtype == np.uint8
    assert len(set(names)) == 10
    means = x.reshape(10, -1).mean(axis=1)
    assert len(np.unique(means.round())) == 10  # ten different pictures


def test_cifar_folder_gives_its_first_ten_test_images(tmp_path):
    import ker4t_layers_and_tensors as ker4t
    from common.cifar10 import CLASS_NAMES, read_batch

    folder = make_cifar_folder(tmp_path / "cifar-10-batches-py", n_train=20, n_test=12)
    x, names = ker4t.cifar_images(folder)
    images, labels = read_batch(folder / "test_batch")
    assert x.shape == (10, 32, 32, 3) and x.dtype == np.uint8
    np.testing.assert_array_equal(x, images[:10])
    assert names == [CLASS_NAMES[label] for label in labels[:10]]


def test_every_layer_family_is_shown(lesson):
    result, data, _ = lesson
    shown = {entry["layer"] for entry in data["layers"]}
    assert FAMILIES <= shown, FAMILIES - shown
    assert "LSTM" in result.stdout and "LSTN" in result.stdout  # the slide's typo is named


def test_parameter_counts_match_their_formulas(lesson):
    _, data, _ = lesson
    for entry in data["layers"]:
        assert entry["params"] == entry["params_by_formula"], entry
        assert evaluate(entry["params_formula"]) == entry["params"], entry
    by_call = {entry["call"]: entry for entry in data["layers"]}
    for call, params in KNOWN_PARAMS.items():
        assert by_call[call]["params"] == params, call
    for entry in data["layers"]:  # layers without weights
        if entry["layer"] in {"Activation", "Flatten", "Dropout", "MaxPooling2D", "Add"}:
            assert entry["params"] == 0, entry


def test_shapes(lesson):
    _, data, _ = lesson
    by_call = {entry["call"]: entry for entry in data["layers"]}
    expected = {
        "Dense(6)": ([2, 4], [2, 6]),
        "Flatten()": ([10, 32, 32, 3], [10, 32 * 32 * 3]),
        "Conv2D(2, (3, 3))": ([10, 32, 32, 3], [10, 30, 30, 2]),  # 'valid': loses a border
        "MaxPooling2D((2, 2))": ([10, 30, 30, 2], [10, 15, 15, 2]),
        "SimpleRNN(4)": ([2, 5, 3], [2, 4]),
        "SimpleRNN(4, return_sequences)": ([2, 5, 3], [2, 5, 4]),
        "Embedding(10, 3)": ([2, 5], [2, 5, 3]),
        "TimeDistributed(Dense(2))": ([2, 5, 3], [2, 5, 2]),
        "Add()": ([[1, 3], [1, 3]], [1, 3]),
    }
    for call, (shape_in, shape_out) in expected.items():
        assert by_call[call]["input_shape"] == shape_in, call
        assert by_call[call]["output_shape"] == shape_out, call


def test_training_is_not_inference(lesson):
    _, data, _ = lesson
    behaviour = data["training_vs_inference"]
    assert behaviour["Dropout"]["inference_identity"] is True
    assert 0 < behaviour["Dropout"]["training_zero_fraction"] < 1
    for name in ("GaussianNoise", "GaussianDropout"):
        assert behaviour[name]["inference_identity"] is True, name
        assert behaviour[name]["training_changed"] is True, name
    bn = behaviour["BatchNormalization"]
    np.testing.assert_allclose(bn["training_output_means"], 0, atol=1e-3)
    np.testing.assert_allclose(bn["training_output_stds"], 1, atol=0.01)
    # Untrained moving statistics (mean 0, variance 1) let the input through almost unchanged.
    np.testing.assert_allclose(bn["inference_untrained_means"], bn["input_means"], rtol=1e-3)
    np.testing.assert_allclose(bn["inference_after_training_means"], 0, atol=0.2)


def test_locally_connected_equivalent(lesson):
    result, data, _ = lesson
    local = data["locally_connected"]
    assert local["in_keras"] is False and "LocallyConnected2D" in result.stdout
    assert local["params_unshared"] == 900 * local["params_conv2d"]
    assert local["max_abs_diff_with_conv_weights"] < 1e-4  # shared kernels = a Conv2D


def test_bad_data_dir_is_a_clean_error(tmp_path):
    result = run_script(SCRIPT, "--no-show", "--data-dir", tmp_path / "missing")
    assert_clean_error(result)
    assert "CIFAR-10" in result.stderr


def test_unwritable_output_dir_is_a_clean_error(unwritable_dir):
    result = run_script(SCRIPT, "--no-show", "--output-dir", unwritable_dir)
    assert_clean_error(result)
