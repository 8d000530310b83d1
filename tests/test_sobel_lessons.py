"""Lessons 1 and 2: the Sobel filter in OpenCV, and the same filter as a Keras Conv2D."""

import subprocess
import sys

import cv2
import matplotlib.pyplot as plt
import numpy as np
import pytest
from conftest import (
    ROOT,
    assert_clean_error,
    read_json,
    run_edited_copy,
    run_in_process,
    run_script,
)
from synthetic import step_image, synthetic_image

from common.files import RIGHT, WRONG
from common.lesson import LessonError, load_definitions

LESSONS = ["ker1_sobel_opencv.py", "ker2_sobel_keras.py"]
MUTATIONS = [  # (lesson, text, replacement, what it breaks): tests/mutants.py applies each
    (
        "ker1_sobel_opencv.py",
        "falling = edges & (response < 0)",
        "falling = edges & (response > 0)",
        "counts the rising edges as the ones the uint8 one-liner loses",
    ),
    (
        "ker1_sobel_opencv.py",
        'for mask, colour in ((kept, RIGHT["color"]), (lost, WRONG["color"])):',
        'for mask, colour in ((kept, WRONG["color"]), (lost, RIGHT["color"])):',
        "the figure paints the lost edges green and the kept ones red",
    ),
    (
        "ker1_sobel_opencv.py",
        "top, left = np.unravel_index(np.argmax(inner), inner.shape)",
        "top, left = np.unravel_index(np.argmin(inner), inner.shape)",
        "the enlarged corner is the one that loses fewest edges, not most",
    ),
    (
        "ker1_sobel_opencv.py",
        "[[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32)  # the slide's",
        "[[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]], dtype=np.float32)  # the slide's",
        "Prewitt's kernel where the slide has Sobel's",
    ),
    (
        "ker1_sobel_opencv.py",
        "response = cv2.filter2D(image, cv2.CV_32F, kernel)",
        "response = cv2.filter2D(image, cv2.CV_32F, kernel[:, ::-1])",
        "a flipped kernel (a convolution): every edge's sign reversed",
    ),
    (
        "ker2_sobel_keras.py",
        "kernel = SOBEL_X  # any odd square kernel",
        "kernel = SOBEL_X.T  # any odd square kernel",
        "the Conv2D finds horizontal edges, not the vertical ones of lesson 1",
    ),
    (
        "ker2_sobel_keras.py",
        "set_weights([kernel.reshape(size, size, 1, 1)])",
        "set_weights([kernel[::-1, ::-1].reshape(size, size, 1, 1)])",
        "the kernel flipped, as a convolution would need: the signs turn",
    ),
    (
        "ker2_sobel_keras.py",
        "border = size // 2  # the padding",
        "border = 0  # the padding",
        "the border counts as inside: Keras and OpenCV seem to differ inside the image",
    ),
    (
        "ker2_sobel_keras.py",
        "zero_border = cv2.filter2D(image, cv2.CV_32F, kernel, borderType=cv2.BORDER_CONSTANT)",
        "zero_border = cv2.filter2D(image, cv2.CV_32F, kernel, borderType=cv2.BORDER_REFLECT)",
        "OpenCV's zero border is no zero border: Keras' padding seems to differ from zeros",
    ),
    (
        "ker2_sobel_keras.py",
        'SLIDE_IMPORTS = """from keras.layers import Input, Conv2D',
        'SLIDE_IMPORTS = """from keras.layers import Input',
        "the seminar's imports, as the lesson shows them, no longer make the slide's code run",
    ),
]
# The slide „Implementácia v Keras-e“, as printed (the lesson must run exactly this).
SLIDE_KERAS = """import keras

inp = Input(shape=(None,None,1))
out = Conv2D(1, (3, 3), kernel_initializer="normal",
 use_bias=False, padding="same")(inp)
model = Model(inputs=inp, outputs=out)

w = np.array([[ [[[-1]],[[0]],[[1]]], [[[-2]],[[0]],[[2]]],
 [[[-1]],[[0]],[[1]]] ]])
model.layers[1].set_weights(w)
"""


def opencv_sobel_x():
    """OpenCV's own 3x3 Sobel kernel for d/dx, built from its separable factors."""
    across, down = cv2.getDerivKernels(dx=1, dy=0, ksize=3)  # [-1, 0, 1] and [1, 2, 1]
    return np.outer(down, across).astype(np.float32)


def write_image(path, image):
    """Save a float 0..255 image as an 8-bit PNG the lesson can read."""
    cv2.imwrite(str(path), np.clip(np.rint(image), 0, 255).astype(np.uint8))
    return path


@pytest.mark.parametrize("lesson", LESSONS)
def test_the_kernel_is_opencvs_sobel_x(lesson):
    kernel = load_definitions(lesson).SOBEL_X
    np.testing.assert_array_equal(kernel, opencv_sobel_x())
    np.testing.assert_array_equal(kernel, [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])  # the slide's


# --- Lesson 1: known answers on images small enough to check by hand ---


def test_ker1_rising_step_is_positive_at_the_step_and_zero_elsewhere(tmp_path):
    path = write_image(tmp_path / "rising.png", step_image(8))
    lesson = run_in_process(LESSONS[0], "--image", path, "--output-dir", tmp_path)
    response = lesson["response"]
    # b(i,j) = a(i,j+1) - a(i,j-1) with weights 1, 2, 1: 255 * 4 at columns 7 and 8.
    np.testing.assert_allclose(response[:, 7:9], 1020.0)
    np.testing.assert_allclose(np.delete(response, [7, 8], axis=1), 0.0)
    # The same numbers as OpenCV's own Sobel, computed independently of the lesson's kernel.
    reference = cv2.Sobel(step_image(8), cv2.CV_32F, 1, 0, ksize=3)
    np.testing.assert_allclose(response, reference)
    # A rising edge survives the uint8 one-liner (capped at 255): nothing is lost.
    assert lesson["output_image"].dtype == np.uint8
    assert lesson["output_image"][:, 7:9].min() == 255
    assert lesson["lost_fraction"] == 0.0


def test_ker1_falling_step_is_negative_and_lost_by_the_uint8_one_liner(tmp_path):
    path = write_image(tmp_path / "falling.png", step_image(8, rising=False))
    lesson = run_in_process(LESSONS[0], "--image", path, "--output-dir", tmp_path)
    np.testing.assert_allclose(lesson["response"][:, 7:9], -1020.0)
    assert lesson["output_image"].max() == 0  # every bright-to-dark response became 0
    assert lesson["lost_fraction"] == 1.0


def test_ker1_flat_and_horizontal_images_give_no_vertical_edges(tmp_path):
    flat = write_image(tmp_path / "flat.png", np.full((10, 12), 77.0))
    assert not run_in_process(LESSONS[0], "--image", flat, "--output-dir", tmp_path)[
        "response"
    ].any()
    horizontal = write_image(tmp_path / "horizontal.png", step_image(8).T)
    lesson = run_in_process(LESSONS[0], "--image", horizontal, "--output-dir", tmp_path)
    np.testing.assert_allclose(lesson["response"], 0.0)


def test_ker1_lost_edges_are_the_falling_ones_on_a_scene(tmp_path):
    image, edges = synthetic_image(size=128, seed=3)
    path = write_image(tmp_path / "scene.png", image)
    lesson = run_in_process(LESSONS[0], "--image", path, "--output-dir", tmp_path)
    response, kept = lesson["response"], lesson["output_image"]
    rows = slice(edges["top"] + 2, edges["bottom"] - 2)
    assert response[rows, edges["left"]].mean() > 400  # the rectangle's dark-to-bright side
    assert response[rows, edges["right"] - 1].mean() < -400  # its bright-to-dark side
    assert kept[rows, edges["right"] - 1].max() == 0  # the uint8 output lost that side
    # The reported fraction is the falling share of the edge pixels, counted here anew.
    b = np.abs(cv2.Sobel(image.round(), cv2.CV_32F, 1, 0, ksize=3))
    strong = b > 0.1 * b.max()
    falling = strong & (cv2.Sobel(image.round(), cv2.CV_32F, 1, 0, ksize=3) < 0)
    assert lesson["lost_fraction"] == pytest.approx(falling.sum() / strong.sum())
    # What the figure paints: red where the uint8 output really is 0, green where it is not.
    lost, kept = lesson["falling"], lesson["edges"] & ~lesson["falling"]
    assert lost[rows, edges["right"] - 1].all() and kept[rows, edges["left"]].all()
    np.testing.assert_array_equal(lesson["output_image"][lost], 0)
    assert (lesson["output_image"][kept] > 0).all()
    rgb = load_definitions(LESSONS[0]).overlay(lesson["image"], kept, lost)
    np.testing.assert_allclose(
        rgb[rows, edges["right"] - 1], rgb_of(WRONG["color"], len(rgb[rows]))
    )
    np.testing.assert_allclose(rgb[rows, edges["left"]], rgb_of(RIGHT["color"], len(rgb[rows])))
    grey = rgb[~lesson["edges"]]  # elsewhere: the input's grey, dimmed to 0.25 .. 0.75
    assert np.ptp(grey, axis=1).max() == 0
    np.testing.assert_allclose(grey[:, 0], 0.25 + 0.5 * lesson["image"][~lesson["edges"]] / 255)


def rgb_of(colour, rows):
    """A '#rrggbb' colour as RGB in 0..1, repeated for that many rows."""
    return np.tile([int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)], (rows, 1))


def test_ker1_colour_bars_say_where_the_scale_is_cut():
    k1 = load_definitions(LESSONS[0])
    image, _ = synthetic_image(size=48, seed=4)
    response = cv2.Sobel(image, cv2.CV_32F, 1, 0, ksize=3)
    clipped = np.clip(response, 0, 255).astype(np.uint8)
    edges = np.abs(response) > 0.1 * np.abs(response).max()
    fig = k1.plot_responses(image, response, clipped, edges, edges & (response < 0))
    bars = [ax.get_ylabel() for ax in fig.axes if ax.get_ylabel()]  # the colour bars' labels
    limit = np.percentile(np.abs(response), k1.SCALE_PERCENTILE)
    cut = [label for label in bars if label.startswith(f"cut at {limit:.0f}, the 99.5th")]
    assert len(cut) == 2  # the signed response's and b's colour bars
    assert "the uint8 output stops at 255" in " ".join(bars)
    assert f"loses {(edges & (response < 0)).sum() / edges.sum():.0%}" in fig._suptitle.get_text()
    plt.close(fig)


def test_ker1_enlarges_the_corner_that_loses_most():
    busiest_corner = load_definitions(LESSONS[0]).busiest_corner
    mask = np.zeros((50, 60), bool)
    mask[30:35, 40:45] = True  # 25 pixels here
    mask[5:8, 5:8] = True  # 9 pixels there
    assert busiest_corner(mask, 5) == (30, 40)
    top, left = busiest_corner(mask, 12)
    assert mask[top : top + 12, left : left + 12].sum() == 25  # the whole bigger block
    assert top + 12 <= 50 and left + 12 <= 60  # the square fits the image
    mask[45:50, 55:60] = True  # 25 pixels in the far corner, too: the first one found wins
    assert busiest_corner(mask, 5) in [(30, 40), (45, 55)]
    assert busiest_corner(np.ones((7, 9), bool), 7) == (0, 0)


def test_ker1_does_not_import_tensorflow(tmp_path):
    code = (
        "import runpy, sys\n"
        f"sys.argv = ['ker1', '--no-show', '--output-dir', {str(tmp_path)!r}]\n"
        f"runpy.run_path({str(ROOT / LESSONS[0])!r}, run_name='__main__')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
    assert (tmp_path / "ker1_sobel_opencv.png").stat().st_size > 10_000


def test_ker1_default_run_as_a_student_runs_it(tmp_path):
    result = run_script(LESSONS[0], "--no-show", "--output-dir", tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    results = read_json(tmp_path / "ker1_sobel_opencv.json")
    assert 0.3 < results["uint8_lost_edge_fraction"] < 0.7  # a photo has edges both ways
    assert results["response_min"] < 0 < results["response_max"]
    assert (tmp_path / "ker1_sobel_opencv.png").stat().st_size > 10_000


# --- Lesson 2: the Conv2D with Sobel's weights equals OpenCV ---


def test_ker2_conv2d_is_opencvs_sobel_inside_the_image(tmp_path):
    image, _ = synthetic_image(size=40, seed=1)
    path = write_image(tmp_path / "scene.png", image)
    lesson = run_in_process(LESSONS[1], "--image", path, "--output-dir", tmp_path)
    keras_output = lesson["output_image"]
    reference = cv2.Sobel(image.round(), cv2.CV_32F, 1, 0, ksize=3)  # independent of the lesson
    np.testing.assert_allclose(keras_output[1:-1, 1:-1], reference[1:-1, 1:-1], atol=1e-3)
    assert np.abs(keras_output - reference).max() > 1.0  # the border: zeros against reflection
    zeros = cv2.Sobel(image.round(), cv2.CV_32F, 1, 0, ksize=3, borderType=cv2.BORDER_CONSTANT)
    np.testing.assert_allclose(keras_output, zeros, atol=1e-3)
    assert lesson["input_images"].shape == (1, 40, 40, 1)  # (batch, height, width, channels)
    assert lesson["model"].count_params() == 9


def test_ker2_default_run_as_a_student_runs_it(tmp_path):
    result = run_script(LESSONS[1], "--no-show", "--output-dir", tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""  # quiet start: no TensorFlow chatter
    results = read_json(tmp_path / "ker2_sobel_keras.json")
    assert results["max_abs_diff_interior"] <= 1e-3  # float32 sums: any backend
    assert results["max_abs_diff_border"] > 1.0  # reflect (OpenCV) vs zero (Keras) padding
    assert results["max_abs_diff_zero_border"] <= 1e-3
    assert results["params"] == 9
    assert (tmp_path / "ker2_sobel_keras.png").exists()
    # The slide's code, run as printed: Keras 3 stops at the first bare name; with the
    # seminar's imports, it runs.
    slide = results["slide_code"]
    assert slide["code"] == SLIDE_KERAS
    assert slide["error_type"] == "NameError" and "'Input'" in slide["error"]
    assert slide["with_imports_runs"] is True
    assert "Keras 3: NameError: name 'Input' is not defined" in result.stdout
    assert "on the slide: batch / data / channel" in result.stdout


def test_ker2_the_slides_code_fails_as_printed_and_runs_with_the_seminars_imports():
    """The slide's text itself, run here without the lesson: what a student who copies it meets."""
    import keras

    k2 = load_definitions(LESSONS[1])
    assert k2.SLIDE_CODE == SLIDE_KERAS  # the lesson runs the slide's text, verbatim
    with pytest.raises(NameError, match="'Input'"):
        exec(SLIDE_KERAS, {"np": np})  # `import keras` alone: no bare Input, Conv2D, Model
    names = {"np": np}
    exec(k2.SLIDE_IMPORTS + SLIDE_KERAS, names)
    assert names["w"].shape == (1, 3, 3, 1, 1)  # the slide's 5-D w, and set_weights took it
    conv = names["model"].layers[1]
    np.testing.assert_array_equal(conv.get_weights()[0][:, :, 0, 0], opencv_sobel_x())
    assert isinstance(conv.kernel_initializer, keras.initializers.RandomNormal)  # "normal"
    # The lesson's own check fails when the slide's code sets another kernel.
    other = k2.SLIDE_IMPORTS + SLIDE_KERAS.replace("[[[-2]],[[0]],[[2]]]", "[[[2]],[[0]],[[-2]]]")
    with pytest.raises(AssertionError):
        exec(other + k2.SLIDE_CHECK, {"np": np, "SOBEL_X": k2.SOBEL_X})


def test_ker2_a_5x5_kernel_in_the_model_cell_matches_opencv(tmp_path):
    """An instructor's edit: a 5x5 kernel. The Conv2D takes its size; the border is 2 wide."""
    kernel = np.arange(25, dtype=np.float32).reshape(5, 5) - 12
    text = (ROOT / LESSONS[1]).read_text(encoding="utf-8")
    old = "kernel = SOBEL_X  # any odd square kernel"
    assert text.count(old) == 1
    copy = tmp_path / LESSONS[1]
    copy.write_text(
        text.replace(old, "kernel = np.arange(25, dtype=np.float32).reshape(5, 5) - 12  #")
    )
    image, _ = synthetic_image(size=40, seed=2)
    path = write_image(tmp_path / "scene.png", image)
    lesson = run_in_process(copy, "--image", path, "--output-dir", tmp_path)
    zeros = cv2.filter2D(image.round(), cv2.CV_32F, kernel, borderType=cv2.BORDER_CONSTANT)
    np.testing.assert_allclose(lesson["output_image"], zeros, rtol=1e-5, atol=1e-2)
    reflect = cv2.filter2D(image.round(), cv2.CV_32F, kernel)
    np.testing.assert_allclose(lesson["output_image"][2:-2, 2:-2], reflect[2:-2, 2:-2], atol=1e-2)
    results = read_json(tmp_path / "ker2_sobel_keras.json")
    assert results["params"] == 25 and results["kernel"] == kernel.tolist()
    assert results["max_abs_diff_interior"] <= 1e-2 < results["max_abs_diff_border"]


def test_ker2_an_even_kernel_is_refused_in_one_line(tmp_path):
    keep = tmp_path / "out" / "ker2_sobel_keras.json"
    keep.parent.mkdir()
    keep.write_text("a student's earlier result\n")
    edit = ("kernel = SOBEL_X  # any odd square kernel", "kernel = np.ones((4, 4)) / 16  #")
    result, _ = run_edited_copy(
        tmp_path, LESSONS[1], [edit], "--no-show", "--output-dir", keep.parent
    )
    assert_clean_error(result)
    assert "(4, 4)" in result.stderr and "odd" in result.stderr
    assert keep.read_text() == "a student's earlier result\n"


def test_ker2_figure_has_a_sign_key_and_boxes_the_zoomed_corner():
    import matplotlib.pyplot as plt

    k2 = load_definitions(LESSONS[1])
    image, _ = synthetic_image(size=40, seed=1)
    response = cv2.Sobel(image, cv2.CV_32F, 1, 0, ksize=3)
    diff = np.zeros_like(response)
    diff[0, :] = 5.0  # a difference on the top row only
    interior = np.zeros_like(diff, dtype=bool)
    interior[1:-1, 1:-1] = True
    fig = k2.plot_comparison(response, response, diff, k2.SOBEL_X, 10, interior)
    images, bars = fig.axes[:3], fig.axes[3:]
    assert len(bars) == 2  # one for the two signed panels, one for the difference
    assert "brighter to the right" in bars[0].get_ylabel()  # the sign key
    assert bars[0].get_ylim()[0] < 0 < bars[0].get_ylim()[1]
    for ax in images[:2]:  # the zoomed corner, boxed on both full images
        (box,) = [p for p in ax.patches if isinstance(p, plt.Rectangle)]
        assert (box.get_x(), box.get_y(), box.get_width(), box.get_height()) == (-0.5, -0.5, 10, 10)
    assert "only on the border" in images[2].get_title()
    plt.close(fig)


# --- Bad input: one line, exit code 2, nothing overwritten ---


# One subprocess per lesson proves the one-line exit (ker2's: the even kernel above); the rest
# run in this process, where the LessonError itself shows; tests/test_images.py checks each
# bad input.
def test_ker1_bad_image_gives_one_clear_line_and_exit_2(bad_inputs, tmp_path):
    keep = tmp_path / "out" / "ker1_sobel_opencv.json"
    keep.parent.mkdir()
    keep.write_text("a student's earlier result\n")
    bad = bad_inputs["not an image"]
    result = run_script(LESSONS[0], "--image", bad, "--no-show", "--output-dir", keep.parent)
    assert_clean_error(result)
    assert str(bad) in result.stderr
    assert keep.read_text() == "a student's earlier result\n"  # nothing overwritten


def test_ker2_bad_image_is_one_lesson_error_and_overwrites_nothing(bad_inputs, tmp_path):
    keep = tmp_path / "ker2_sobel_keras.json"
    keep.write_text("a student's earlier result\n")
    bad = bad_inputs["truncated png"]
    with pytest.raises(LessonError, match="truncated.png is not an image OpenCV can read"):
        run_in_process(LESSONS[1], "--image", bad, "--no-show", "--output-dir", tmp_path)
    assert keep.read_text() == "a student's earlier result\n"


def test_unwritable_output_folder_gives_one_clear_line(unwritable_dir):
    result = run_script(LESSONS[0], "--no-show", "--output-dir", unwritable_dir)
    assert_clean_error(result)
    assert "output folder" in result.stderr
    with pytest.raises(LessonError, match="cannot write to output folder"):
        run_in_process(LESSONS[1], "--no-show", "--output-dir", unwritable_dir)


@pytest.mark.parametrize("lesson", LESSONS)
def test_a_mistyped_flag_gives_one_clear_line(lesson, tmp_path):
    result = run_script(lesson, "--no-show", "--output-dir", tmp_path, "--no-such-flag")
    assert_clean_error(result)
    assert "--no-such-flag" in result.stderr
