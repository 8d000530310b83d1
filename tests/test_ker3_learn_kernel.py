"""Lesson 3: the forgotten kernel learned back, and the gradient Keras follows."""

import cv2
import numpy as np
import pytest
from conftest import assert_clean_error, read_json, run_script
from synthetic import synthetic_image

LESSON = "ker3_learn_kernel.py"
SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32)


def test_ker3_default_run_recovers_sobel_x(tmp_path):
    result = run_script(LESSON, "--no-show", "--output-dir", tmp_path)
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


def test_ker3_refuses_a_flat_image_it_cannot_learn_from(tmp_path):
    flat = tmp_path / "flat.png"
    cv2.imwrite(str(flat), np.full((40, 40), 128, np.uint8))
    result = run_script(LESSON, "--image", flat, "--no-show", "--output-dir", tmp_path)
    assert_clean_error(result)
    assert "texture" in result.stderr


def test_ker3_refuses_zero_epochs_with_one_line(tmp_path):
    result = run_script(LESSON, "--epochs", "0", "--output-dir", tmp_path)
    assert_clean_error(result)
    assert "--epochs" in result.stderr
