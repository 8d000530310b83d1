"""ker4t changed in class: a bigger Conv2D, a wider LSTM or Dense; the rows still tell the truth."""

from conftest import read_json, run_edited_copy

LESSON = "ker4t_layers_and_tensors.py"


def run_edit(tmp_path, old, new):
    """Run ker4t with one line changed; return its stdout and its JSON rows by call."""
    out = tmp_path / "outputs"
    result, _ = run_edited_copy(
        tmp_path, LESSON, [(old, new)], "--quick", "--no-show", "--output-dir", out
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    data = read_json(out / "ker4t_layers_and_tensors.json")
    return result.stdout, data, {row["call"]: row for row in data["layers"]}


def test_a_bigger_conv2d(tmp_path):
    stdout, data, rows = run_edit(tmp_path, "layers.Conv2D(2, (3, 3))", "layers.Conv2D(4, (5, 5))")
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


def test_a_wider_lstm(tmp_path):
    stdout, _, rows = run_edit(tmp_path, "layers.LSTM(4)", "layers.LSTM(8)")
    row = rows["LSTM(8)"]
    assert row["params"] == 4 * 8 * (3 + 8 + 1)
    assert row["params_formula"] == "3·32 + 8·32 + 32"
    assert row["output_shape"] == [2, 8]
    assert "params   384 = 3·32 + 8·32 + 32" in stdout  # 4 gates x 8 units x (3 + 8 + 1)


def test_a_wider_dense(tmp_path):
    stdout, _, rows = run_edit(tmp_path, "layers.Dense(6)", "layers.Dense(16)")
    row = rows["Dense(16)"]
    assert row["params"] == 4 * 16 + 16 and row["params_formula"] == "4·16 + 16"
    assert "check by hand: max |y - (x @ W + b)| = 0.0e+00" in stdout
