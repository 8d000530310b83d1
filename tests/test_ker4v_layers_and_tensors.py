"""ker4v: the image tensor's axes, every layer's shapes and parameter counts, train vs inference."""

import jupytext
import numpy as np
import pytest
from cifar_data import make_cifar_folder
from conftest import ROOT, assert_clean_error, execute_notebook, read_json, run_script

from common.lesson import load_definitions

SCRIPT = "ker4v_layers_and_tensors.py"
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
# Parameter counts worked out by hand from the layer sizes the lesson uses.
KNOWN_PARAMS = {
    "Dense(6)": 4 * 6 + 6,  # 4 inputs
    "Conv2D(2, (3, 3))": 3 * 3 * 3 * 2 + 2,  # RGB input
    "SimpleRNN(4)": 4 * 4 + 3 * 4 + 4,  # recurrent + input kernel + bias, 3 features
    "LSTM(4)": 4 * (4 * 4 + 3 * 4 + 4),  # four gates
    "Embedding(10, 3)": 30,
    "BatchNormalization(), training": 4 * 3,  # gamma, beta, moving mean, moving variance
    "TimeDistributed(Dense(2))": 3 * 2 + 2,  # one Dense, shared over time
    "EinsumDense('bpk,pkf->bpf')": 30 * 30 * 56,  # 900 positions, each a Conv2D's 56
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
def lesson(tmp_path_factory):
    """Run the lesson once in quick mode, on the photo crops; return (result, json, out_dir)."""
    out = tmp_path_factory.mktemp("ker4v")
    result = run_script(
        SCRIPT, "--quick", "--no-show", "--output-dir", out, env={"CIFAR10_DIR": ""}
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result, read_json(out / "ker4v_layers_and_tensors.json"), out


def test_figures_and_quiet_start(lesson):
    result, _, out = lesson
    assert (out / "ker4v_tensor.png").stat().st_size > 10_000
    assert (out / "ker4v_activations.png").stat().st_size > 10_000
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
    from common.layer_tour import photo_crops

    x, names = photo_crops()
    assert x.shape == (10, 32, 32, 3) and x.dtype == np.uint8
    assert len(set(names)) == 10
    means = x.reshape(10, -1).mean(axis=1)
    assert len(np.unique(means.round())) == 10  # ten different pictures


def test_cifar_folder_gives_its_first_ten_test_images(tmp_path):
    from common.cifar10 import CLASS_NAMES, read_batch
    from common.layer_tour import ten_images

    folder = make_cifar_folder(tmp_path / "cifar-10-batches-py", n_train=20, n_test=12)
    x, names, source = ten_images(folder)
    images, labels = read_batch(folder / "test_batch")
    assert x.shape == (10, 32, 32, 3) and x.dtype == np.uint8
    np.testing.assert_array_equal(x, images[:10])
    assert names == [CLASS_NAMES[label] for label in labels[:10]]
    assert "CIFAR-10" in source


def markdown_cells():
    """The lesson's markdown cells, as jupytext reads them."""
    notebook = jupytext.read(ROOT / SCRIPT)
    return [cell.source for cell in notebook.cells if cell.cell_type == "markdown"]


def test_first_cell_names_the_lesson_and_its_slides():
    first = markdown_cells()[0]
    assert first.startswith("# Lesson 4v: ")
    for slide in ("Aké súčiastky Keras poskytuje?", "S akými typmi dát Keras pracuje?"):
        assert slide in first, slide


def test_help_lists_the_flags_and_a_bad_seed_is_one_line():
    result = run_script(SCRIPT, "--help")
    assert result.returncode == 0, result.stderr
    for flag in ("--seed", "--data-dir", "--quick", "--output-dir", "--no-show", "--verbose"):
        assert flag in result.stdout, flag
    assert_clean_error(run_script(SCRIPT, "--no-show", "--seed", "-1"))


def test_every_layer_family_is_shown(lesson):
    result, data, _ = lesson
    shown = {entry["layer"] for entry in data["layers"]}
    assert FAMILIES <= shown, FAMILIES - shown
    assert "LSTM" in result.stdout and "LSTN" in result.stdout  # the slide's typo is named


def test_parameter_counts_and_formulas(lesson):
    result, data, _ = lesson
    by_call = {entry["call"]: entry for entry in data["layers"]}
    for call, params in KNOWN_PARAMS.items():
        assert by_call[call]["params"] == params, call
    for call, formula in KNOWN_FORMULAS.items():
        assert by_call[call]["params_formula"] == formula, call
        assert f"params {by_call[call]['params']:>5,d} = {formula}" in result.stdout, call
    for entry in data["layers"]:  # a layer without weights has no formula to show
        if entry["params"] == 0:
            assert entry["params_formula"] is None, entry
        else:
            assert entry["params_formula"], entry


def test_each_row_counts_what_keras_counts():
    """The row's count is the layer's own count_params(); the formula comes from its sizes."""
    import keras

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


def test_shapes(lesson):
    _, data, _ = lesson
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


def test_training_is_not_inference(lesson):
    _, data, _ = lesson
    # ker5 and the README point to this section by its heading
    assert any(cell.startswith("## Training phase vs inference phase") for cell in markdown_cells())
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


def test_slide_snippets_fail_on_this_keras_and_their_fixes_run():
    """Run each line exactly as the slide prints it, here, without the lesson's helper."""
    import keras

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


def test_slide_code_report(lesson):
    result, data, _ = lesson
    report = {entry["snippet"]: entry for entry in data["slide_code"]}
    assert set(report) == SLIDE_SNIPPETS
    assert report["Dropout()"]["error_type"] == "TypeError"
    assert "rate" in report["Dropout()"]["error"]
    assert report["x = Add([x1,x2])"]["error_type"] == "TypeError"
    assert report["Embeded()"]["error_type"] == "NameError"
    for entry in data["slide_code"]:
        assert entry["fix_runs"] is True, entry
        assert "\n" not in entry["error"]
        assert f"Keras 3: {entry['error_type']}: {entry['error']}" in result.stdout


def test_bad_data_dir_is_a_clean_error(tmp_path):
    result = run_script(SCRIPT, "--no-show", "--data-dir", tmp_path / "missing")
    assert_clean_error(result)
    assert "CIFAR-10" in result.stderr


def test_unwritable_output_dir_is_a_clean_error(unwritable_dir):
    result = run_script(SCRIPT, "--no-show", "--output-dir", unwritable_dir)
    assert_clean_error(result)


def test_each_layer_cell_shows_its_rows_and_a_rerun_replaces_them(tmp_path):
    """As a notebook: a layer's row is under the cell that builds it; an edited Conv2D cell,
    run again with the cells below it, replaces its rows instead of adding to them."""
    notebook = execute_notebook(
        SCRIPT,
        *("--output-dir", tmp_path),
        env={"CIFAR10_DIR": ""},
        edit=("layers.Conv2D(2, (3, 3))", "layers.Conv2D(4, (5, 5))"),
    )
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]

    def printed(cell):
        return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")

    for built, row in {
        "layers.Dense(6)": "Dense(6)",
        "layers.Conv2D(4, (5, 5))": "Conv2D(4, (5, 5))",
        "layers.EinsumDense(": "EinsumDense('bpk,pkf->bpf')",
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

    rows = read_json(tmp_path / "ker4v_layers_and_tensors.json")["layers"]
    calls = [row["call"] for row in rows]
    assert len(calls) == len(set(calls)), calls  # nothing twice after the rerun
    assert "Conv2D(4, (5, 5))" in calls and "Conv2D(2, (3, 3))" not in calls
    by_call = {row["call"]: row for row in rows}
    assert by_call["Conv2D(4, (5, 5))"]["output_shape"] == [10, 28, 28, 4]
    assert by_call["MaxPooling2D((2, 2))"]["input_shape"] == [10, 28, 28, 4]
    assert by_call["EinsumDense('bpk,pkf->bpf')"]["params"] == 28 * 28 * (5 * 5 * 3 * 4 + 4)
    assert by_call["Dense(6)"]["params"] == 30  # the cells above the edit kept their rows
