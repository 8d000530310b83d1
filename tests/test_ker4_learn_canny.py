"""Tests for ker4_learn_canny.py: the F1 metric, the Canny target, the loss, the models, the
scenes, a quick run, a fourth model added in the notebook, and bad input."""

import ast
import re
import sys

import cv2
import numpy as np
import pytest
from conftest import (
    ROOT,
    assert_clean_error,
    execute_checked_notebook,
    read_json,
    run_in_process,
    run_script,
)

from common import scenes
from common.lesson import LessonError, load_definitions

SCRIPT = "ker4_learn_canny.py"
lesson = load_definitions(SCRIPT)  # its functions and constants, none of its steps run
MUTATIONS = [  # (lesson, text, replacement, what it breaks): tests/mutants.py applies each
    (
        "ker4_learn_canny.py",
        "near_true = cv2.dilate(true.astype(np.uint8), square).astype(bool)",
        "near_true = true",
        "precision without the tolerance: an edge one pixel off Canny's counts as wrong",
    ),
    (
        "ker4_learn_canny.py",
        "        window &= ~pairs  # writes through to padded: those true pixels are used up",
        "        pass",
        "1:1 F1 lets one Canny pixel vouch for many: a thick line scores as a thin one",
    ),
    (
        "ker4_learn_canny.py",
        "L2_GRADIENT = True  # magnitude",
        "L2_GRADIENT = False  # magnitude",
        "the target is Canny with the L1 magnitude, not the textbook settings",
    ),
    (
        "ker4_learn_canny.py",
        "dice = 1 - (2 * overlap + 1)",
        "dice = 1 - (overlap + 1)",
        "Dice without its 2: a perfect prediction still costs about a half",
    ),
    (
        "ker4_learn_canny.py",
        "bce = -(EDGE_WEIGHT * y_true * keras.ops.log(p)",
        "bce = -(y_true * keras.ops.log(p)",
        "edge pixels no longer weigh EDGE_WEIGHT times in the cross-entropy",
    ),
    (
        "ker4_learn_canny.py",
        "    x = conv_bn_relu(x, width)  # (batch, H, W, width)\n",
        "",
        "'three stacked Conv2D layers' are two",
    ),
    (
        "ker4_learn_canny.py",
        '\ndeepest = max(results, key=lambda name: results[name]["depth"])',
        "\ndeepest = list(results)[-1]",
        "the gain is measured from the last model listed, not the deepest",
    ),
    (
        "ker4_learn_canny.py",
        "f1, precision, recall = edge_f1(maps[0], edges[0])",
        "f1, recall, precision = edge_f1(maps[0], edges[0])",
        "precision and recall swapped in the JSON",
    ),
]


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


# --- The target, the loss and the models, against references computed here ---
def test_canny_target_is_the_printed_settings():
    # The lesson prints "GaussianBlur(5x5, sigma 1.4), thresholds 50/100, L2 gradient".
    for seed in (1, 2):
        scene = scenes.make_scene(np.random.default_rng(seed))
        blurred = cv2.GaussianBlur(scene, (5, 5), 1.4)
        reference = cv2.Canny(blurred, 50, 100, L2gradient=True) > 0
        np.testing.assert_array_equal(lesson.canny_edges(scene), reference)


def test_edge_loss_is_weighted_cross_entropy_plus_dice():
    rng = np.random.default_rng(0)
    y_true = (rng.random((2, 8, 8, 1)) < 0.2).astype(np.float32)
    y_pred = rng.uniform(0.01, 0.99, (2, 8, 8, 1)).astype(np.float32)
    bce = -(5 * y_true * np.log(y_pred) + (1 - y_true) * np.log(1 - y_pred)).mean()
    dice = 1 - (2 * (y_true * y_pred).sum() + 1) / (y_true.sum() + y_pred.sum() + 1)
    loss = float(lesson.edge_loss(y_true, y_pred))
    assert loss == pytest.approx(bce + dice, rel=1e-5)
    # A perfect prediction: no Dice loss, and the cross-entropy of the clipped 0s and 1s.
    assert float(lesson.edge_loss(y_true, y_true)) == pytest.approx(-np.log(1 - 1e-6), abs=1e-4)


def conv_bn_relu_params(inputs, filters):
    """A 3x3 Conv2D without bias, then BatchNormalization (4 numbers per filter)."""
    return 9 * inputs * filters + 4 * filters


def test_depths_and_parameters_by_hand():
    block = lambda cin, f: conv_bn_relu_params(cin, f) + conv_bn_relu_params(f, f)  # noqa: E731
    few = conv_bn_relu_params(1, 8) + conv_bn_relu_params(8, 8) + 9 * 8 + 1
    unet = (
        block(1, 8)  # full resolution
        + block(8, 16)  # half
        + block(16, 32)  # quarter
        + block(32 + 16, 16)  # up to half, beside the half block's output
        + block(16 + 8, 8)  # up to full, beside the full block's output
        + block(8, 8)
        + 8
        + 1  # the 1x1 output convolution and its bias
    )
    expected = {"single_layer": (1, 9 + 1), "few_layers": (3, few), "deep_unet": (13, unet)}
    built = {name: build() for name, build in lesson.MODELS.items()}
    assert {n: (lesson.conv_depth(m), m.count_params()) for n, m in built.items()} == expected


def test_predicted_edges_are_the_thresholded_output_of_any_image_size():
    # One 3x3 Conv2D that passes its centre pixel on: output sigmoid((v / 64 - 2) * w), an
    # edge (>= 0.5) exactly where the grey level v is at least 128, whatever the image's size.
    model = lesson.build_single_layer()
    kernel = np.zeros((3, 3, 1, 1), np.float32)
    kernel[1, 1] = 3.0
    model.layers[-1].set_weights([kernel, np.zeros(1, np.float32)])
    image = np.random.default_rng(0).integers(0, 256, (37, 50)).astype(np.uint8)
    np.testing.assert_array_equal(lesson.predict_edges(model, image), image >= 128)
    # The U-Net pools twice: the image is padded to sides that divide by 4, then cropped back.
    edges = lesson.predict_edges(lesson.build_deep_unet(), image)
    assert edges.shape == image.shape and set(np.unique(edges)) <= {0, 1}


# --- The quick run as a notebook; an instructor adds a model and reruns from its cell ---
def image_panels(path):
    """How many image panels side by side in the lower half of a saved figure (white gaps)."""
    pixels = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    lower = pixels[pixels.shape[0] // 2 :]
    inked = (lower < 250).any(axis=0).astype(np.int8)  # columns with something drawn
    starts = np.flatnonzero(np.diff(np.concatenate([[0], inked, [0]])) == 1)
    ends = np.flatnonzero(np.diff(np.concatenate([[0], inked, [0]])) == -1)
    return int(((ends - starts) >= 40).sum())  # runs of 40+ columns: a panel, not a letter


@pytest.fixture(scope="module")
def notebook_run(tmp_path_factory):
    """The --quick lesson as a notebook, as in class: after the first pass the instructor adds
    a fourth model to MODELS and reruns from that cell. (notebook, what it printed, folder)"""
    out = tmp_path_factory.mktemp("quick")
    last = '    "deep_unet": build_deep_unet,\n}'
    fourth = (
        '    "deep_unet": build_deep_unet,\n'
        '    "wide_few_layers": lambda: build_few_layers(width=16),\n}'
    )
    flags = ("--quick", "--output-dir", out)
    notebook = execute_checked_notebook(SCRIPT, *flags, tmp_path=out, edit=(last, fourth))
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    printed = "".join(o.get("text", "") for cell in code for o in cell.outputs)
    return notebook, printed, out


def test_quick_run_deep_model_beats_the_single_layer(notebook_run):
    _, printed, out = notebook_run
    assert "thresholds 50/100, L2 gradient" in printed  # the fixed Canny settings
    summary = read_json(out / "ker4_learn_canny.json")
    assert summary["models"][:3] == ["single_layer", "few_layers", "deep_unet"]
    # Depth is what the lesson is about: on the held-out photo and on the unseen scenes the
    # U-Net and the three layers beat the single layer by far. (Each model starts from the
    # same seed, so the three are trained as in a script run, the fourth model beside them.)
    assert summary["f1_deep_unet"] > summary["f1_single_layer"] + 0.25
    assert summary["f1_few_layers"] > summary["f1_single_layer"] + 0.25
    assert summary["f1_scenes_deep_unet"] > summary["f1_scenes_single_layer"]
    assert summary["f1_one_to_one_deep_unet"] > summary["f1_one_to_one_single_layer"] + 0.25
    # F1 is the harmonic mean of the precision and recall saved beside it. The single layer
    # marks many times more pixels than Canny: few of them are right (precision), while
    # they cover much of Canny's line (recall).
    for name in summary["models"]:
        p, r = summary[f"precision_{name}"], summary[f"recall_{name}"]
        assert summary[f"f1_{name}"] == pytest.approx(2 * p * r / (p + r))
    assert summary["edge_pixels_vs_canny_single_layer"] > 3
    assert summary["precision_single_layer"] < 0.5 < summary["recall_single_layer"]
    # One name for each model, in the table as in the JSON; the table's parameter count is
    # the one Keras gives for the model the lesson builds.
    for name, build in lesson.MODELS.items():
        params = build().count_params()
        assert summary[f"params_{name}"] == params
        row = next(line for line in printed.splitlines() if line.startswith(name + " "))
        assert f"{params:,}" in row.split()
    gain = summary["f1_deep_unet"] - summary["f1_single_layer"]
    assert f"deep_unet - single_layer: {gain:+.3f} F1 on the photo" in printed
    for name in ("ker4_learn_canny.png", "ker4_learn_canny_depth.png"):
        assert (out / name).stat().st_size > 10_000
        assert f"figure: {out / name}" in printed


def test_a_fourth_model_in_the_notebook_reruns_without_reloading_the_data(notebook_run):
    # The data cell does not run again; the table, the JSON and the figure get the new model.
    notebook, _, out = notebook_run
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    data = next(cell for cell in code if "training_crops(" in cell.source)
    models = next(cell for cell in code if "MODELS = {" in cell.source)
    assert data.execution_count <= len(code)  # ran once, in the first pass
    assert models.execution_count > len(code)  # ran again, after the edit
    summary = read_json(out / "ker4_learn_canny.json")
    assert summary["models"] == ["single_layer", "few_layers", "deep_unet", "wide_few_layers"]
    wide = conv_bn_relu_params(1, 16) + conv_bn_relu_params(16, 16) + 9 * 16 + 1  # 2,721
    assert summary["params_wide_few_layers"] == wide
    assert summary["depth_wide_few_layers"] == 3
    # The table has a row for it; the gain still compares the deepest with the shallowest,
    # though the new model is listed last.
    printed = "".join(
        o.get("text", "") for cell in code[code.index(models) :] for o in cell.outputs
    )
    row = next(line for line in printed.splitlines() if line.startswith("wide_few_layers "))
    assert f"{wide:,}" in row.split()
    assert re.search(r"^deep_unet - single_layer: [+-]", printed, re.MULTILINE)
    # The edge-map figure has a sixth panel: input, Canny and four models side by side.
    assert image_panels(out / "ker4_learn_canny.png") == 6
    assert (out / "ker4_learn_canny_depth.png").stat().st_size > 10_000


# --- Bad input: one clear line, exit code 2, nothing written ---
def test_a_bad_image_gives_one_clear_line_and_writes_nothing(tmp_path):
    # tests/test_images.py checks every kind of bad image in-process; one run here shows
    # that this lesson turns one into a single line and exit code 2.
    not_image = tmp_path / "notes.txt"
    not_image.write_text("this is not an image\n")
    out = tmp_path / "out"
    result = run_script(SCRIPT, "--image", not_image, "--quick", "--output-dir", out)
    assert_clean_error(result)
    assert "notes.txt" in result.stderr
    assert not any(out.iterdir())


@pytest.mark.parametrize("seed", ["-1", "4294967296"])
def test_a_seed_out_of_range_gives_one_clear_line(seed, tmp_path):
    result = run_script(SCRIPT, "--seed", seed, "--quick", "--output-dir", tmp_path)
    assert_clean_error(result)
    assert "--seed" in result.stderr and "0 to 4294967295" in result.stderr
    assert not any(tmp_path.iterdir())


def test_unwritable_output_dir_is_refused(unwritable_dir):
    with pytest.raises(LessonError, match="cannot write to output folder"):
        run_in_process(SCRIPT, "--quick", "--output-dir", unwritable_dir)


def test_image_without_canny_edges_is_refused(tmp_path):
    smooth = tmp_path / "smooth.png"
    cv2.imwrite(str(smooth), np.tile(np.linspace(60, 90, 64).astype(np.uint8), (64, 1)))
    with pytest.raises(LessonError, match="Canny finds no edges in smooth.png"):
        run_in_process(SCRIPT, "--quick", "--image", smooth, "--output-dir", tmp_path / "out")
    assert lesson.canny_edges(cv2.imread(str(smooth), cv2.IMREAD_GRAYSCALE)).sum() == 0
    assert not (tmp_path / "out" / "ker4_learn_canny.json").exists()


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
    with pytest.raises(LessonError, match="--epochs"):
        chosen("--epochs", "0")


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
