"""Live edits of ker4_learn_canny.py, made the way an instructor would in class, run in --quick."""

import cv2
from conftest import read_json, run_edited_copy

import ker4_learn_canny as lesson

LESSON = "ker4_learn_canny.py"


def test_a_fourth_model_gets_its_row_keys_and_panel(tmp_path):
    # Three layers twice as wide, added to the comparison with one line.
    edit = (
        '    "deep_unet": build_deep_unet,\n}',
        '    "deep_unet": build_deep_unet,\n'
        '    "wide_few_layers": lambda: build_few_layers(width=16),\n}',
    )
    out = tmp_path / "out"
    result, _ = run_edited_copy(
        tmp_path, LESSON, [edit], "--quick", "--no-show", "--output-dir", out
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr

    # The JSON has every model, with the parameter count of the model that was built.
    summary = read_json(out / "ker4_learn_canny.json")
    assert summary["models"] == ["single_layer", "few_layers", "deep_unet", "wide_few_layers"]
    params = lesson.build_few_layers(width=16).count_params()  # 2,721
    assert summary["params_wide_few_layers"] == params
    assert summary["depth_wide_few_layers"] == 3
    assert summary["f1_wide_few_layers"] > summary["f1_single_layer"] + 0.25

    # The table has a row for it; the summary line still compares the deepest with the shallowest.
    row = next(line for line in result.stdout.splitlines() if line.startswith("wide_few_layers"))
    assert f"{params:,}" in row.split()
    assert "deep_unet - single_layer: +" in result.stdout

    # The edge-map figure has a sixth panel: input, Canny and four models side by side.
    # Five panels come out about 2.1 times as wide as high, six about 2.5.
    height, width = cv2.imread(str(out / "ker4_learn_canny.png")).shape[:2]
    assert width / height > 2.3, (width, height)
    assert (out / "ker4_learn_canny_depth.png").stat().st_size > 10_000
