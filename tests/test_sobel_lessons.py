"""Lessons 1-3: the Sobel filter in OpenCV, as a Keras Conv2D, and learned back."""

import subprocess
import sys

import cv2
import numpy as np
import pytest
from conftest import ROOT, assert_clean_error, read_json, run_script

from common.images import synthetic_image
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
    assert results["parameters"] == 9 and results["learned_bias"] is None
    assert results["final_loss"] < 1e-6 * results["start_loss"]
    # The gradient at the random start: Keras, the formula and finite differences agree.
    assert results["gradient_formula_agrees"] and results["gradient_finite_differences_agrees"]
    assert results["gradient_formula_relative_difference"] < 1e-4
    assert results["gradient_finite_differences_relative_difference"] < 1e-4
    keras_gradient = np.array(results["gradient_keras"])
    assert keras_gradient.shape == (9,) and np.abs(keras_gradient).max() > 0.1
    np.testing.assert_allclose(results["gradient_formula"], keras_gradient, rtol=1e-3, atol=1e-5)
    assert "Keras vs formula: largest relative difference" in result.stdout
    assert (tmp_path / "ker3_learn_kernel.png").exists()


@pytest.mark.parametrize("name", ["laplace", "scharr-x", "random"])
def test_ker3_fast_recipe_recovers_other_kernels_on_the_synthetic_image(name):
    import ker3_learn_kernel as k3

    image, _ = synthetic_image(size=96, seed=1)
    kernel = k3.true_kernel(name, seed=5)
    x, y = k3.make_training_pair(image, kernel)
    model = k3.build_model(seed=2)
    run = k3.train(model, x, y, "fast")
    learned = model.layers[1].get_weights()[0].reshape(3, 3)
    assert np.abs(learned - kernel).max() <= 1e-3
    np.testing.assert_array_equal(run["kernels"][-1], learned)
    assert np.abs(k3.least_squares(x, y) - kernel).max() <= 1e-5
    assert np.abs(run["kernels"][0] - kernel).max() > 0.5  # it really started far away
    assert run["steps"][-1] == run["epochs"]


def test_ker3_seminar_recipe_is_far_from_converged_after_a_few_epochs():
    import ker3_learn_kernel as k3

    image, _ = synthetic_image(size=32, seed=1)
    x, y = k3.make_training_pair(image, k3.true_kernel("sobel-x"))
    model = k3.build_model()
    run = k3.train(model, x, y, "seminar", epochs=20)
    assert len(run["kernels"]) == 21 and len(run["losses"]) == 20
    assert list(run["steps"]) == list(range(1, 21))  # one step per epoch
    assert np.abs(run["kernels"][-1] - SOBEL_X).max() > 0.5  # rmsprop at lr 1e-3 moves ~1e-3 a step
    # One step per log: the first logged loss is the loss at the random start.
    assert run["losses"][0] == pytest.approx(run["start_loss"], rel=1e-5)


def mse_of_model(x, y, kernel, bias=0.0, activation=lambda z: z):
    """The MSE of activation(3x3 correlation with zero padding + bias), computed in float64."""
    padded = np.pad(x.astype(np.float64), 1)
    out = sum(
        kernel[a, b] * padded[a : a + x.shape[0], b : b + x.shape[1]]
        for a in range(3)
        for b in range(3)
    )
    return float(np.mean((activation(out + bias) - y) ** 2))


def test_ker3_loss_curve_is_what_keras_logged():
    import ker3_learn_kernel as k3

    image, _ = synthetic_image(size=48, seed=2)
    x, y = k3.make_training_pair(image, k3.true_kernel("laplace"))
    model = k3.build_model(seed=1)
    run = k3.train(model, x, y, "fast", epochs=95)
    assert run["steps_per_log"] == k3.STEPS_PER_CALL
    assert list(run["steps"]) == [*range(10, 101, 10)]  # whole calls: 95 steps rounded up
    assert run["epochs"] == 100
    assert len(run["losses"]) == 10 and run["losses"][-1] < run["losses"][0] / 10
    # evaluate() before and after fit(), against the model's MSE computed by hand
    assert run["start_loss"] == pytest.approx(mse_of_model(x, y, run["kernels"][0]), rel=1e-4)
    assert run["final_loss"] == pytest.approx(mse_of_model(x, y, run["kernels"][-1]), rel=1e-3)
    # One step per epoch (the seminar's recipe): each logged loss is the MSE of the weights
    # that step started from.
    seminar = k3.train(k3.build_model(seed=1), x, y, "seminar", epochs=5)
    by_hand = [mse_of_model(x, y, kernel) for kernel in seminar["kernels"][:-1]]
    np.testing.assert_allclose(seminar["losses"], by_hand, rtol=1e-4)


# --- ker3: the gradient Keras computes (slide "Čo je vlastne Keras?") ---


def hand_gradient(x, y, kernel):
    """dE/dw[a, b] = 2/N * sum over pixels of (residual * the pixel a-1 rows, b-1 columns away)."""
    height, width = x.shape
    padded = np.pad(x.astype(np.float64), 1)
    residual = np.zeros((height, width))
    for i in range(height):
        for j in range(width):
            residual[i, j] = np.sum(kernel * padded[i : i + 3, j : j + 3]) - y[i, j]
    gradient = np.zeros((3, 3))
    for a in range(3):
        for b in range(3):
            gradient[a, b] = 2 / x.size * np.sum(residual * padded[a : a + height, b : b + width])
    return gradient.reshape(9)


@pytest.fixture(scope="module")
def tiny_problem():
    """A 5x6 image, its Sobel target, and a model at its random start."""
    import ker3_learn_kernel as k3

    x = np.random.default_rng(3).normal(size=(5, 6)).astype(np.float32)
    y = cv2.filter2D(x, cv2.CV_32F, SOBEL_X, borderType=cv2.BORDER_CONSTANT)
    model = k3.build_model(seed=4)
    return x, y, model


def test_formula_gradient_is_the_hand_computed_sum(tiny_problem):
    import ker3_learn_kernel as k3

    x, y, _ = tiny_problem
    w = np.random.default_rng(0).normal(size=(3, 3))
    np.testing.assert_allclose(k3.formula_gradient(w, x, y), hand_gradient(x, y, w), rtol=1e-12)


def test_keras_gradient_equals_the_formula_and_finite_differences(tiny_problem):
    import ker3_learn_kernel as k3

    x, y, model = tiny_problem
    x_train, y_train = x[None, :, :, None], y[None, :, :, None]
    w = model.layers[1].get_weights()[0].reshape(3, 3)
    expected = hand_gradient(x, y, w)
    keras_gradient = k3.keras_gradient(model, x_train, y_train)
    numeric = k3.finite_differences(model, x_train, y_train)
    assert k3.relative_difference(keras_gradient, expected) < 1e-6  # float32 on 30 pixels
    assert k3.relative_difference(numeric, expected) < 1e-5
    np.testing.assert_array_equal(model.layers[1].get_weights()[0].reshape(3, 3), w)  # restored


def test_a_wrong_gradient_formula_is_detected(tiny_problem):
    import ker3_learn_kernel as k3

    x, y, model = tiny_problem
    keras_gradient = k3.keras_gradient(model, x[None, :, :, None], y[None, :, :, None])
    w = model.layers[1].get_weights()[0].reshape(3, 3)
    wrong = {
        "1/N instead of 2/N": hand_gradient(x, y, w) / 2,
        "convolution (flipped kernel) instead of correlation": np.flip(
            hand_gradient(x, y, w[::-1, ::-1]).reshape(3, 3)
        ).reshape(9),
        "the sign of the residual": -hand_gradient(x, y, w),
    }
    for name, gradient in wrong.items():
        assert k3.relative_difference(keras_gradient, gradient) > 100 * k3.GRADIENT_TOLERANCE, name


# One run per lesson proves the one-line exit; tests/test_images.py checks each bad input.
@pytest.mark.parametrize(
    "lesson, case",
    [(LESSONS[0], "not an image"), (LESSONS[1], "truncated png"), (LESSONS[2], "missing")],
)
def test_bad_image_gives_one_clear_line_and_exit_2(lesson, case, bad_inputs, tmp_path):
    keep = tmp_path / "out" / (lesson.removesuffix(".py") + ".json")
    keep.parent.mkdir()
    keep.write_text("a student's earlier result\n")
    result = run_script(
        lesson, "--image", bad_inputs[case], "--no-show", "--output-dir", keep.parent
    )
    assert_clean_error(result)
    assert str(bad_inputs[case]) in result.stderr
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
