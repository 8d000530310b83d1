"""Tests for ker4_learn_canny.py: the F1 metric, the Canny target, the scenes, a quick run."""

import ast
import sys

import cv2
import numpy as np
import pytest
from conftest import ROOT, assert_clean_error, execute_notebook, read_json, run_script

from common import scenes
from common.lesson import load_definitions

SCRIPT = "ker4_learn_canny.py"
lesson = load_definitions(SCRIPT)  # its functions and constants, none of its steps run


# --- The F1 metric on hand-made edge maps ---
def vertical_line(size=10, column=5):
    """A size x size map with one vertical edge line at `column`."""
    edges = np.zeros((size, size), np.uint8)
    edges[:, column] = 1
    return edges


def test_f1_identical_maps_is_one():
    line = vertical_line()
    assert lesson.edge_f1(line, line) == (1.0, 1.0, 1.0)


def test_f1_forgives_a_one_pixel_shift_but_not_two():
    line = vertical_line(column=5)
    assert lesson.edge_f1(vertical_line(column=6), line) == (1.0, 1.0, 1.0)
    assert lesson.edge_f1(vertical_line(column=4), line) == (1.0, 1.0, 1.0)
    assert lesson.edge_f1(vertical_line(column=7), line)[0] == 0.0


def test_f1_tolerance_is_a_square_so_diagonal_neighbours_count():
    true = np.zeros((5, 5), np.uint8)
    true[2, 2] = 1
    pred = np.zeros((5, 5), np.uint8)
    pred[3, 3] = 1  # one pixel away diagonally
    assert lesson.edge_f1(pred, true)[0] == 1.0
    pred = np.zeros((5, 5), np.uint8)
    pred[4, 4] = 1  # two pixels away
    assert lesson.edge_f1(pred, true)[0] == 0.0


def test_f1_empty_maps():
    empty = np.zeros((10, 10), np.uint8)
    assert lesson.edge_f1(empty, empty)[0] == 1.0  # nothing to find, nothing found
    assert lesson.edge_f1(empty, vertical_line())[0] == 0.0  # missed every edge
    assert lesson.edge_f1(vertical_line(), empty)[0] == 0.0  # every edge found is false


def test_f1_all_edge_map_has_full_recall_and_low_precision():
    # The true line at column 5, widened by the tolerance, covers columns 4..6: 30 of 100.
    f1, precision, recall = lesson.edge_f1(np.ones((10, 10), np.uint8), vertical_line())
    assert recall == 1.0
    assert precision == pytest.approx(0.3)
    assert f1 == pytest.approx(2 * 0.3 / 1.3)


def test_one_to_one_f1_counts_a_thick_line_once():
    # A 3-pixel-wide line over Canny's 1-pixel line: the tolerant F1 forgives it, while 1:1
    # pairs each true pixel with one predicted pixel, so 2 of every 3 predicted are unpaired.
    line = vertical_line(size=12, column=5)
    thick = line.copy()
    thick[:, 4] = thick[:, 6] = 1
    assert lesson.edge_f1(thick, line) == (1.0, 1.0, 1.0)
    f1, precision, recall = lesson.one_to_one_f1(thick, line)
    assert recall == 1.0
    assert precision == pytest.approx(1 / 3)
    assert f1 == pytest.approx(0.5)
    # A line shifted by one pixel still pairs off completely.
    assert lesson.one_to_one_f1(vertical_line(size=12, column=6), line) == (1.0, 1.0, 1.0)


def test_canny_of_a_scene_scores_one_against_itself_and_zero_when_missed():
    scene = scenes.make_scene(np.random.default_rng(1))
    edges = lesson.canny_edges(scene)
    assert edges.sum() > 400
    assert lesson.edge_f1(edges, edges)[0] == 1.0
    assert lesson.one_to_one_f1(edges, edges)[0] == 1.0
    assert lesson.edge_f1(np.zeros_like(edges), edges)[0] == 0.0
    # Canny's lines moved 5 pixels to the right are out of reach almost everywhere.
    shifted = np.zeros_like(edges)
    shifted[:, 5:] = edges[:, :-5]
    assert lesson.edge_f1(shifted, edges)[0] < 0.5


def test_f1_half_the_line_found():
    line = vertical_line()
    half = line.copy()
    half[5:] = 0  # rows 0..4 found; row 5 is still within reach of row 4
    f1, precision, recall = lesson.edge_f1(half, line)
    assert precision == 1.0
    assert recall == pytest.approx(0.6)


# --- The Canny target ---
def test_canny_finds_a_step_and_nothing_on_a_flat_image():
    flat = np.full((40, 40), 120, np.uint8)
    assert lesson.canny_edges(flat).sum() == 0
    step = flat.copy()
    step[:, 20:] = 220
    edges = lesson.canny_edges(step)
    columns = np.nonzero(edges[5:-5].any(axis=0))[0]
    assert set(columns) <= {19, 20}, columns
    assert edges[5:-5].sum() >= 30  # one line down the whole step


# --- The scene generator ---
def test_scene_generator_is_deterministic_for_a_seed():
    a = scenes.make_scene(np.random.default_rng(7))
    b = scenes.make_scene(np.random.default_rng(7))
    c = scenes.make_scene(np.random.default_rng(8))
    assert a.dtype == np.uint8 and a.shape == (scenes.SCENE_SIZE, scenes.SCENE_SIZE)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    x1, y1 = scenes.training_crops(3, 8, lesson.canny_edges)
    x2, y2 = scenes.training_crops(3, 8, lesson.canny_edges)
    assert x1.shape == (8, scenes.CROP, scenes.CROP, 1)
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)


def test_scenes_have_edges_and_held_out_scenes_differ_from_training():
    x, y = scenes.training_crops(0, 40, lesson.canny_edges)
    assert 0.005 < y.mean() < 0.2  # sparse edges, but some
    assert set(np.unique(y)) == {0.0, 1.0}
    held_out = scenes.held_out_scenes(0)
    train_scenes = scenes.scenes([0, 0])
    first_train = [next(train_scenes) for _ in range(len(held_out))]
    for scene in held_out:
        assert scene.shape == (scenes.HELD_OUT_SIZE, scenes.HELD_OUT_SIZE)
        assert lesson.canny_edges(scene).sum() > 0
        top_left = scene[: scenes.SCENE_SIZE, : scenes.SCENE_SIZE]
        assert not any(np.array_equal(top_left, t) for t in first_train)


# --- A quick run, as a student would start it ---
def test_quick_run_deep_model_beats_the_single_layer(tmp_path):
    result = run_script(SCRIPT, "--quick", "--no-show", "--output-dir", tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "thresholds 50/100" in result.stdout  # the fixed Canny settings are printed
    summary = read_json(tmp_path / "ker4_learn_canny.json")
    assert summary["models"] == ["single_layer", "few_layers", "deep_unet"]
    assert summary["params_single_layer"] == 10  # 3*3 weights + 1 bias
    assert summary["depth_single_layer"] < summary["depth_few_layers"] < summary["depth_deep_unet"]
    # Depth is what the lesson is about: on the held-out photo and on the unseen scenes the
    # U-Net and the three layers beat the single layer by far.
    assert summary["f1_deep_unet"] > summary["f1_single_layer"] + 0.25
    assert summary["f1_few_layers"] > summary["f1_single_layer"] + 0.25
    assert summary["f1_scenes_deep_unet"] > summary["f1_scenes_single_layer"]
    assert summary["f1_one_to_one_deep_unet"] > summary["f1_one_to_one_single_layer"] + 0.25
    # One name for each model, in the table as in the JSON; the table's parameter count is
    # the one Keras gives for the model the lesson builds.
    for name, build in lesson.MODELS.items():
        params = build().count_params()
        assert summary[f"params_{name}"] == params
        row = next(line for line in result.stdout.splitlines() if line.startswith(name + " "))
        assert f"{params:,}" in row.split()
    assert "deep_unet - single_layer: +" in result.stdout
    for name in ("ker4_learn_canny.png", "ker4_learn_canny_depth.png"):
        assert (tmp_path / name).stat().st_size > 10_000
        assert f"figure: {tmp_path / name}" in result.stdout


def test_a_fourth_model_in_the_notebook_reruns_without_reloading_the_data(tmp_path):
    # As in class: the notebook has run; the instructor adds a model to MODELS and reruns from
    # that cell. The data cell does not run again; the table and the JSON get the new model.
    last = '    "deep_unet": build_deep_unet,\n}'
    fourth = (
        '    "deep_unet": build_deep_unet,\n    "narrow": lambda: build_few_layers(width=2),\n}'
    )
    notebook = execute_notebook(
        SCRIPT, "--quick", "--epochs", "1", "--output-dir", tmp_path, edit=(last, fourth)
    )
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    data = next(cell for cell in code if "training_crops(" in cell.source)
    models = next(cell for cell in code if "MODELS = {" in cell.source)
    assert data.execution_count <= len(code)  # ran once, in the first pass
    assert models.execution_count > len(code)  # ran again, after the edit
    summary = read_json(tmp_path / "ker4_learn_canny.json")
    assert summary["models"] == ["single_layer", "few_layers", "deep_unet", "narrow"]
    assert summary["params_narrow"] == lesson.build_few_layers(width=2).count_params()
    assert summary["depth_narrow"] == 3


# --- Bad inputs: one clear line, exit code 2, nothing trained ---
def test_bad_images_give_one_clear_error(bad_inputs, tmp_path):
    for what, path in bad_inputs.items():
        result = run_script(SCRIPT, "--image", path, "--quick", "--output-dir", tmp_path)
        assert_clean_error(result)
        assert not (tmp_path / "ker4_learn_canny.json").exists(), what


def test_unwritable_output_dir_and_bad_epochs(unwritable_dir, tmp_path):
    assert_clean_error(run_script(SCRIPT, "--quick", "--output-dir", unwritable_dir))
    result = run_script(SCRIPT, "--quick", "--epochs", "0", "--output-dir", tmp_path)
    assert_clean_error(result)


def test_image_without_canny_edges_is_refused(tmp_path):
    smooth = tmp_path / "smooth.png"
    cv2.imwrite(str(smooth), np.tile(np.linspace(60, 90, 64).astype(np.uint8), (64, 1)))
    result = run_script(SCRIPT, "--quick", "--image", smooth, "--output-dir", tmp_path)
    assert_clean_error(result)
    assert "no edges" in result.stderr


def settings_of(*argv):
    """The lesson's settings cell alone, run as `python ker4_learn_canny.py argv...` would."""
    tree = ast.parse((ROOT / SCRIPT).read_text(encoding="utf-8"))
    cell = []
    for node in tree.body:
        cell.append(node)
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "settings":
            break
    saved_argv, saved_hook = sys.argv, sys.excepthook
    sys.argv = [SCRIPT, *argv]
    try:
        namespace = {}
        exec(compile(ast.Module(cell, []), SCRIPT, "exec"), namespace)
        return namespace["settings"]
    finally:
        sys.argv, sys.excepthook = saved_argv, saved_hook


def test_quick_defaults_yield_to_values_the_student_types():
    def chosen(*argv):
        settings = settings_of(*argv)
        return settings.epochs, settings.batch_size

    assert chosen() == (4, 16)
    assert chosen("--quick") == (2, 8)
    # Typed values win, even when they equal the full run's defaults.
    assert chosen("--quick", "--epochs", "4", "--batch-size", "16") == (4, 16)
    assert chosen("--epochs", "3") == (3, 16)


def test_help_lists_the_flags_and_crops_is_not_one(tmp_path):
    result = run_script(SCRIPT, "--help")
    assert result.returncode == 0, result.stderr
    for flag in ("--image", "--epochs", "--batch-size", "--seed", "--quick", "--output-dir"):
        assert flag in result.stdout, flag
    assert "default: 4; 2 with --quick" in " ".join(result.stdout.split())
    assert "--crops" not in result.stdout
    result = run_script(SCRIPT, "--crops", "10", "--output-dir", tmp_path)
    assert_clean_error(result)
    assert "--crops" in result.stderr
