"""Lessons 2, 3 and 3t changed the way an instructor changes them in class, then run.

Each test edits a copy of the lesson (conftest.run_edited_copy), runs it in --quick, and checks
that it finishes without a traceback and that what it prints and writes reflects the edit.
"""

import cv2
import numpy as np
import pytest
from conftest import read_json, run_edited_copy

from common.images import read_gray

LAPLACIAN = "np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], np.float32)"


def run_quick(tmp_path, lesson, edits, *args):
    """Run the edited lesson in --quick, headless; check it ran cleanly; return (result, out)."""
    out = tmp_path / "out"
    result, _ = run_edited_copy(
        tmp_path, lesson, edits, "--quick", "--no-show", "--output-dir", out, *args
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    return result, out


# --- ker2: another kernel in the settings block ---
@pytest.mark.parametrize(
    "new_kernel, expected",
    [
        (LAPLACIAN, [[0, 1, 0], [1, -4, 1], [0, 1, 0]]),
        ("SOBEL_X.T.copy()  # sobel-y", [[-1, -2, -1], [0, 0, 0], [1, 2, 1]]),
    ],
)
def test_ker2_another_kernel_still_matches_opencv(tmp_path, new_kernel, expected):
    edit = ("KERNEL = SOBEL_X", f"KERNEL = {new_kernel}")
    result, out = run_quick(tmp_path, "ker2_sobel_keras.py", [edit])
    results = read_json(out / "ker2_sobel_keras.json")
    assert results["kernel"] == expected
    assert results["max_abs_diff_interior"] <= 1e-4
    assert results["max_abs_diff_zero_border"] <= 1e-4
    assert "inside the image:     0.00e+00" in result.stdout
    # The Keras output really is the new kernel's response, not the Sobel-x one.
    image, _ = read_gray(None)
    kernel = np.array(expected, np.float32)
    reference = cv2.filter2D(image, cv2.CV_32F, kernel, borderType=cv2.BORDER_CONSTANT)
    assert results["response_min"] == pytest.approx(float(reference.min()), abs=1e-3)
    assert results["response_max"] == pytest.approx(float(reference.max()), abs=1e-3)
    assert (out / "ker2_sobel_keras.png").stat().st_size > 10_000


# --- ker3: a bias or an activation in the model ---
def quick_training_pair():
    """The lesson's --quick problem, rebuilt here: the default photo at 128 px, sobel-x."""
    import ker3_learn_kernel as k3

    image, _ = read_gray(None, max_side=k3.QUICK_MAX_SIDE)
    return k3.make_training_pair(image, k3.true_kernel("sobel-x"))


def model_mse(x, y, kernel, bias=0.0, activation=lambda z: z):
    """MSE of activation(3x3 correlation with zero padding + bias) against y, in float64."""
    padded = np.pad(x.astype(np.float64), 1)
    height, width = x.shape
    out = sum(
        kernel[a][b] * padded[a : a + height, b : b + width] for a in range(3) for b in range(3)
    )
    return float(np.mean((activation(out + bias) - y) ** 2))


def test_ker3_with_a_bias_reports_keras_loss_and_learns_a_zero_bias(tmp_path):
    edit = ("use_bias=False", 'use_bias=True, bias_initializer="ones"')
    result, out = run_quick(tmp_path, "ker3_learn_kernel.py", [edit])
    results = read_json(out / "ker3_learn_kernel.json")
    x, y = quick_training_pair()
    assert results["parameters"] == 10  # 9 weights and the bias
    assert "10 parameters" in result.stdout and "learned bias:" in result.stdout
    # The loss at the start is the biased model's: about mean((1 - y)^2), not mean(y^2).
    assert results["start_loss"] == pytest.approx(model_mse(x, y, np.zeros((3, 3)), 1.0), rel=0.05)
    assert abs(results["start_loss"] - model_mse(x, y, np.zeros((3, 3)))) > 0.5
    # The bias has nothing to explain: it is learned back to 0, the kernel to sobel-x.
    (bias,) = results["learned_bias"]
    assert abs(bias) < 1e-3 and results["max_abs_error"] < 1e-3
    assert results["final_loss"] < 1e-6 * results["start_loss"]
    # The slide's formula has no bias, so it no longer matches Keras; finite differences do.
    assert not results["gradient_formula_agrees"]
    assert results["gradient_finite_differences_agrees"]
    assert (out / "ker3_learn_kernel.png").stat().st_size > 10_000


def test_ker3_with_an_activation_reports_the_loss_keras_optimised(tmp_path):
    edit = ('use_bias=False, padding="same"', 'use_bias=False, padding="same", activation="tanh"')
    result, out = run_quick(tmp_path, "ker3_learn_kernel.py", [edit])
    results = read_json(out / "ker3_learn_kernel.json")
    x, y = quick_training_pair()
    learned = results["learned_kernel"]
    tanh_loss = model_mse(x, y, learned, activation=np.tanh)
    linear_loss = model_mse(x, y, learned)
    assert results["final_loss"] == pytest.approx(tanh_loss, rel=1e-3)  # what Keras optimised
    assert abs(tanh_loss - linear_loss) > 0.1 * tanh_loss  # and not the linear filter's loss
    assert "at the end" in result.stdout
    assert not results["gradient_formula_agrees"]  # the formula is for the linear model
    assert results["gradient_finite_differences_agrees"]
    assert (out / "ker3_learn_kernel.png").stat().st_size > 10_000


# --- ker3t: a fourth learning rate; a typed --epochs wins over --quick ---
def test_ker3t_a_fourth_learning_rate_gets_its_own_runs(tmp_path):
    edit = ('"too large": 1.1}', '"too large": 1.1, "just below": 0.95}')
    result, out = run_quick(tmp_path, "ker3t_training_pitfalls.py", [edit], "--epochs", "45")
    data = read_json(out / "ker3t_training_pitfalls.json")
    assert data["lr_factors_of_2_over_L"]["just below"] == 0.95
    for problem in ("bowl", "kernel"):
        runs = data["learning_rate"][problem]["runs"]
        assert list(runs) == ["too small", "good", "too large", "just below"]
        assert not runs["just below"]["diverged"]  # 0.95 x 2/L is still below the limit
        assert runs["too large"]["diverged"]
    kernel = data["learning_rate"]["kernel"]
    assert kernel["runs"]["just below"]["learning_rate"] == pytest.approx(
        0.95 * kernel["limit_2_over_L"]
    )
    assert result.stdout.count("  just below lr = ") == 2  # one line on each problem
    assert (out / "ker3t_learning_rate.png").stat().st_size > 10_000
    # --epochs 45 with --quick: the typed value wins (--quick alone gives 40)
    assert "45 epochs of 10 steps" in result.stdout
    assert data["overfitting"]["no fix"]["epochs_run"] == 45
