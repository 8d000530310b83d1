"""Lessons 1-3: the Sobel filter in OpenCV, as a Keras Conv2D, and learned back."""

import subprocess
import sys

import cv2
import numpy as np
import pytest
from conftest import ROOT, assert_clean_error, read_json, run_script

from common.errors import LessonError
from common.images import read_gray, synthetic_image
from ker1_sobel_opencv import SOBEL_X, seminar_one_liner, sobel_filter2d

LESSONS = ["ker1_sobel_opencv.py", "ker2_sobel_keras.py", "ker3_learn_kernel.py"]


def step_image(column, rising=True, size=16):
    """Dark left half, bright right half (or the reverse), the step at `column`."""
    image = np.zeros((size, size), np.float32)
    image[:, column:] = 255.0
    return image if rising else 255.0 - image


# --- Known answers for the kernel (lesson 1) ---


def test_rising_step_gives_positive_response_at_the_step_column():
    response = sobel_filter2d(step_image(8))
    # b(i,j) = a(i,j+1) - a(i,j-1) summed with weights 1,2,1: 255 * 4 at columns 7 and 8.
    np.testing.assert_allclose(response[:, 7], 1020.0)
    np.testing.assert_allclose(response[:, 8], 1020.0)
    others = np.delete(response, [7, 8], axis=1)
    np.testing.assert_allclose(others, 0.0)


def test_falling_step_gives_negative_response():
    response = sobel_filter2d(step_image(8, rising=False))
    np.testing.assert_allclose(response[:, 7:9], -1020.0)


def test_flat_image_gives_zero():
    np.testing.assert_array_equal(sobel_filter2d(np.full((10, 12), 77.0, np.float32)), 0.0)


def test_horizontal_step_gives_zero_for_vertical_edge_kernel():
    horizontal = step_image(8).T.copy()  # the step now runs along a row
    np.testing.assert_allclose(sobel_filter2d(horizontal), 0.0)


def test_uint8_one_liner_loses_the_negative_edges():
    falling = step_image(8, rising=False)
    assert sobel_filter2d(falling).min() == pytest.approx(-1020.0)
    clipped = seminar_one_liner(falling)
    assert clipped.dtype == np.uint8
    assert clipped.max() == 0  # every bright-to-dark response became 0
    rising = seminar_one_liner(step_image(8))
    assert rising[:, 7:9].min() == 255  # and the positive ones are capped at 255


def test_synthetic_image_edges_have_the_right_sign_at_the_known_columns():
    image, edges = synthetic_image(size=128, seed=3)
    response = sobel_filter2d(image)
    rows = slice(edges["top"] + 2, edges["bottom"] - 2)
    left, right = edges["left"], edges["right"]
    assert response[rows, left].mean() > 400  # dark-to-bright: positive
    assert response[rows, right - 1].mean() < -400  # bright-to-dark: negative
    inside = response[rows, left + 3 : right - 3]
    assert np.abs(inside).mean() < 0.1 * response[rows, left].mean()


# --- Reading images ---


def test_reads_16_bit_and_rgba_images_to_the_same_gray(tmp_path):
    gray8 = np.tile(np.arange(0, 256, 4, dtype=np.uint8), (20, 1))
    cv2.imwrite(str(tmp_path / "gray16.png"), gray8.astype(np.uint16) * 257)
    rgba = cv2.cvtColor(gray8, cv2.COLOR_GRAY2BGRA)
    cv2.imwrite(str(tmp_path / "rgba.png"), rgba)
    from_16, _ = read_gray(tmp_path / "gray16.png")
    from_rgba, _ = read_gray(tmp_path / "rgba.png")
    np.testing.assert_allclose(from_16, gray8, atol=0.01)
    np.testing.assert_allclose(from_rgba, gray8, atol=0.51)


def test_huge_image_is_shrunk_not_loaded_at_full_size(tmp_path):
    huge = np.random.default_rng(0).integers(0, 255, (4000, 6000), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "huge.png"), huge)
    image, note = read_gray(tmp_path / "huge.png")
    assert image.shape == (683, 1024)
    assert "6000x4000" in note


@pytest.mark.parametrize("case", ["missing", "not an image", "truncated jpeg", "empty"])
def test_read_gray_raises_a_lesson_error(bad_inputs, case):
    with pytest.raises(LessonError):
        read_gray(bad_inputs[case])


# --- The lessons, run as a student runs them ---


def test_ker1_does_not_import_tensorflow(tmp_path):
    code = (
        "import runpy, sys\n"
        f"sys.argv = ['ker1', '--no-show', '--output-dir', {str(tmp_path)!r}]\n"
        "try:\n"
        f"    runpy.run_path({str(ROOT / LESSONS[0])!r}, run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
    assert (tmp_path / "ker1_sobel_opencv.png").stat().st_size > 10_000


def test_ker1_reports_about_half_of_the_edges_lost(tmp_path):
    result = run_script(LESSONS[0], "--no-show", "--output-dir", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "loses" in result.stdout
    results = read_json(tmp_path / "ker1_sobel_opencv.json")
    assert 0.3 < results["uint8_lost_edge_fraction"] < 0.7
    assert results["response_min"] < 0 < results["response_max"]


def test_ker2_interior_matches_ker1_and_border_differs(tmp_path):
    result = run_script(LESSONS[1], "--no-show", "--output-dir", tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""  # quiet start: no TensorFlow chatter
    results = read_json(tmp_path / "ker2_sobel_keras.json")
    assert results["max_abs_diff_interior"] <= 1e-4
    assert results["max_abs_diff_border"] > 1.0  # reflect (OpenCV) vs zero (Keras) padding
    assert results["max_abs_diff_zero_border"] <= 1e-4
    assert results["params"] == 9
    assert (tmp_path / "ker2_sobel_keras.png").exists()


def test_ker3_default_run_recovers_sobel_x(tmp_path):
    result = run_script(LESSONS[2], "--no-show", "--output-dir", tmp_path)
    assert result.returncode == 0, result.stderr
    results = read_json(tmp_path / "ker3_learn_kernel.json")
    assert results["kernel_name"] == "sobel-x"
    assert results["recipe"] == "fast"
    np.testing.assert_allclose(results["true_kernel"], SOBEL_X)
    np.testing.assert_allclose(results["learned_kernel"], SOBEL_X, atol=1e-3)
    assert results["max_abs_error"] <= 1e-3
    assert results["lstsq_max_abs_error"] <= 1e-5
    for key in ("train_seconds", "epochs"):
        assert results[key] > 0
    assert (tmp_path / "ker3_learn_kernel.png").exists()


@pytest.mark.parametrize("name", ["laplace", "scharr-x", "random"])
def test_ker3_fast_recipe_recovers_other_kernels_on_the_synthetic_image(name):
    from common.tf_quiet import import_keras
    from ker3_learn_kernel import learn_kernel, least_squares, make_training_pair, true_kernel

    tf, keras = import_keras()
    image, _ = synthetic_image(size=96, seed=1)
    kernel = true_kernel(name, seed=5)
    x, y = make_training_pair(image, kernel)
    learned, history, steps, info = learn_kernel(tf, keras, x, y, "fast", seed=2)
    assert np.abs(learned - kernel).max() <= 1e-3
    assert np.abs(least_squares(x, y) - kernel).max() <= 1e-5
    assert np.abs(history[0] - kernel).max() > 0.5  # it really started far away
    assert steps[-1] == info["epochs"]


def test_ker3_seminar_recipe_is_far_from_converged_after_a_few_epochs():
    from common.tf_quiet import import_keras
    from ker3_learn_kernel import learn_kernel, make_training_pair, true_kernel

    tf, keras = import_keras()
    image, _ = synthetic_image(size=32, seed=1)
    x, y = make_training_pair(image, true_kernel("sobel-x"))
    learned, history, steps, info = learn_kernel(tf, keras, x, y, "seminar", epochs=20)
    assert len(history) == 21 and steps[-1] == 20
    assert np.abs(learned - SOBEL_X).max() > 0.5  # rmsprop at lr 1e-3 moves ~1e-3 a step


@pytest.mark.parametrize("lesson", LESSONS)
@pytest.mark.parametrize(
    "case",
    [
        "missing",
        "directory",
        "not an image",
        "empty",
        "truncated jpeg",
        "truncated png",
        "smaller than the kernel",
    ],
)
def test_bad_image_gives_one_clear_line_and_exit_2(lesson, case, bad_inputs, tmp_path):
    keep = tmp_path / "out" / (lesson.removesuffix(".py") + ".json")
    keep.parent.mkdir()
    keep.write_text("a student's earlier result\n")
    result = run_script(
        lesson, "--image", bad_inputs[case], "--no-show", "--output-dir", keep.parent
    )
    assert_clean_error(result)
    assert keep.read_text() == "a student's earlier result\n"  # nothing overwritten


def test_ker3_refuses_a_flat_image_it_cannot_learn_from(tmp_path):
    flat = tmp_path / "flat.png"
    cv2.imwrite(str(flat), np.full((40, 40), 128, np.uint8))
    result = run_script(LESSONS[2], "--image", flat, "--no-show", "--output-dir", tmp_path)
    assert_clean_error(result)
    assert "texture" in result.stderr


@pytest.mark.parametrize("lesson", LESSONS)
def test_unwritable_output_folder_gives_one_clear_line(lesson, unwritable_dir):
    result = run_script(lesson, "--no-show", "--output-dir", unwritable_dir)
    assert_clean_error(result)
    assert "output folder" in result.stderr


@pytest.mark.parametrize("lesson", LESSONS)
def test_a_mistyped_flag_gives_one_clear_line(lesson, tmp_path):
    result = run_script(lesson, "--no-show", "--output-dir", tmp_path, "--no-such-flag")
    assert_clean_error(result)
    assert "--no-such-flag" in result.stderr


def test_ker3_refuses_zero_epochs_with_one_line(tmp_path):
    result = run_script(LESSONS[2], "--epochs", "0", "--output-dir", tmp_path)
    assert_clean_error(result)
    assert "--epochs" in result.stderr
