"""ker3t: the learning-rate limit 2/L, the local minimum, and the overfitting fixes."""

import cv2
import numpy as np
import pytest
from conftest import assert_clean_error, read_json, run_script

from common.lesson import load_definitions

SCRIPT = "ker3t_training_pitfalls.py"
k3t = load_definitions(SCRIPT)  # the lesson's functions and constants, none of its steps run


def patch_rows(x):
    """Every 3x3 neighbourhood of x (zero padded) as a row, (pixels, 9), built pixel by pixel."""
    padded = np.pad(x, 1)
    height, width = x.shape
    return np.array(
        [padded[i : i + 3, j : j + 3].ravel() for i in range(height) for j in range(width)]
    )


# --- Trap 1: the learning rate ---
@pytest.mark.parametrize("curvature", [0.5, 5.0, 40.0])
def test_rate_above_2_over_L_diverges_on_a_quadratic(curvature):
    """E = L/2 p^2: each step multiplies p by (1 - lr L), so |p| shrinks iff lr < 2/L."""
    limit = 2 / curvature
    below = k3t.gradient_descent(lambda p: curvature * p, [1.0], 0.95 * limit, 200)
    above = k3t.gradient_descent(lambda p: curvature * p, [1.0], 1.05 * limit, 200)
    assert abs(below[-1, 0]) < 1e-3
    assert abs(above[-1, 0]) > 1e3
    exact = k3t.gradient_descent(lambda p: curvature * p, [1.0], 1 / curvature, 1)
    assert exact[-1, 0] == pytest.approx(0.0, abs=1e-12)  # lr = 1/L jumps to the bottom


def test_bowl_limit_is_set_by_its_steepest_curvature():
    hessian = k3t.bowl_hessian((5.0, 1.0), 30.0)
    assert np.linalg.eigvalsh(hessian) == pytest.approx([1.0, 5.0])
    start = np.array([-1.0, 2.0])
    for factor, should_converge in [(0.95, True), (1.05, False)]:
        path = k3t.gradient_descent(lambda p: hessian @ p, start, factor * 2 / 5.0, 300)
        final = k3t.bowl_loss(hessian, path[-1])
        assert (final < 1e-6) == should_converge, (factor, final)


def test_patches_reproduce_filter2d_and_give_the_mse_hessian():
    rng = np.random.default_rng(1)
    image = rng.normal(size=(7, 9)).astype(np.float32)
    patches = patch_rows(image)
    filtered = cv2.filter2D(image, -1, k3t.KERNEL, borderType=cv2.BORDER_CONSTANT)
    assert patches @ k3t.KERNEL.ravel() == pytest.approx(filtered.ravel(), abs=1e-5)

    # The Hessian of mean((P w - y)^2), by finite differences, against 2 P^T P / N.
    target = filtered.ravel().astype(np.float64)

    def mse(w):
        return np.mean((patches @ w - target) ** 2)

    w0, h = rng.normal(size=9), 1e-3
    eye = np.eye(9) * h
    numeric = np.array(
        [
            [
                (mse(w0 + eye[i] + eye[j]) - mse(w0 + eye[i]) - mse(w0 + eye[j]) + mse(w0)) / h**2
                for j in range(9)
            ]
            for i in range(9)
        ]
    )
    L, mu = k3t.curvature(image)
    eigenvalues = np.linalg.eigvalsh(numeric)
    assert eigenvalues[-1] == pytest.approx(L, rel=1e-3)
    assert eigenvalues[0] == pytest.approx(mu, rel=1e-2, abs=1e-3)


def test_kernel_gradient_descent_respects_its_2_over_L():
    """Plain GD on the lesson's own kernel problem: just below 2/L learns, just above explodes."""
    image, target = k3t.kernel_problem()
    patches = patch_rows(image).astype(np.float64)
    y = target.ravel().astype(np.float64)
    L, _ = k3t.curvature(image)

    def grad(w):
        return 2 / len(y) * patches.T @ (patches @ w - y)

    def final_loss(factor):
        path = k3t.gradient_descent(grad, np.zeros(9), factor * 2 / L, 400)
        return np.mean((patches @ path[-1] - y) ** 2)

    start = np.mean(y**2)
    assert final_loss(0.95) < 1e-3 * start
    assert final_loss(1.05) > 1e3 * start


def test_train_kernel_returns_the_loss_keras_logged_and_stops_when_it_explodes():
    image, target = k3t.kernel_problem()
    L, _ = k3t.curvature(image)
    start = np.random.default_rng(0).normal(0.0, 0.05, (3, 3))  # train_kernel's start for seed 0
    rows, y = patch_rows(image).astype(np.float64), target.ravel().astype(np.float64)
    good, learned = k3t.train_kernel(image, target, 0.5 * 2 / L, 20, seed=0)
    assert len(good) == 21  # the loss before each of the 20 steps, then after the last
    assert good[0] == pytest.approx(np.mean((rows @ start.ravel() - y) ** 2), rel=1e-5)
    assert good[-1] == pytest.approx(np.mean((rows @ learned.ravel() - y) ** 2), rel=1e-4)
    too_large, _ = k3t.train_kernel(image, target, 1.1 * 2 / L, 300, seed=0)
    assert len(too_large) < 301 and too_large[-2] > k3t.DIVERGED * too_large[0]


def test_learning_rate_figure_draws_one_curve_per_rate():
    import matplotlib.pyplot as plt

    hessian = k3t.bowl_hessian()
    factors = [0.05, 0.5, 1.1, 0.95]  # a fourth rate, as an instructor might add
    bowl = {
        f"x{f}": k3t.gradient_descent(lambda p: hessian @ p, (1.0, 1.0), f * 0.4, 5)
        for f in factors
    }
    kernel = {f"x{f}": {"learning_rate": f, "losses": np.geomspace(1, f, 6)} for f in factors}
    fig = k3t.figure_learning_rate(hessian, bowl, kernel, 0.147)
    for ax in fig.axes[1:]:
        assert len(ax.get_lines()) == 4
        assert [t.get_text() for t in ax.get_legend().get_texts()][-1].startswith("x0.95")
    colours = {line.get_color() for line in fig.axes[2].get_lines()}
    assert len(colours) == 4  # each rate its own colour
    plt.close(fig)


# --- Trap 2: the local minimum ---
def test_curve_minima_are_the_two_valleys():
    global_p, local_p = k3t.curve_minima()
    assert k3t.curve_grad(global_p) == pytest.approx(0.0, abs=1e-9)
    assert k3t.curve_grad(local_p) == pytest.approx(0.0, abs=1e-9)
    assert global_p < 0 < local_p
    assert k3t.curve(global_p) < k3t.curve(local_p)
    assert k3t.which_minimum(0.17) == "neither"  # the hump between them


def test_plain_gd_stops_locally_and_momentum_or_restarts_find_the_global_minimum():
    plain = k3t.gradient_descent(k3t.curve_grad, k3t.CURVE_START, k3t.CURVE_LR, k3t.CURVE_STEPS)
    momentum = k3t.gradient_descent(
        k3t.curve_grad, k3t.CURVE_START, k3t.CURVE_LR, k3t.CURVE_STEPS, momentum=k3t.MOMENTUM
    )
    assert k3t.which_minimum(plain[-1, 0]) == "local"
    assert k3t.which_minimum(momentum[-1, 0]) == "global"
    for seed in range(5):
        starts, ends, best = k3t.best_of_restarts(seed)
        assert len(starts) == len(ends) == k3t.RESTARTS
        assert k3t.which_minimum(best[-1]) == "global", seed


# --- The lesson end to end, as a student runs it ---
@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ker3t")
    result = run_script(SCRIPT, "--quick", "--no-show", "--output-dir", out)
    return result, out


def test_quick_run_writes_figures_and_json(quick_run):
    result, out = quick_run
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("learning_rate", "local_minimum", "overfitting"):
        assert (out / f"ker3t_{name}.png").stat().st_size > 10_000
        assert f"figure: {out / f'ker3t_{name}.png'}" in result.stdout
    assert result.stdout.count("The figure:") == 3
    data = read_json(out / "ker3t_training_pitfalls.json")
    assert set(data) >= {"learning_rate", "local_minimum", "overfitting"}
    for problem in ("bowl", "kernel"):
        runs = data["learning_rate"][problem]["runs"]
        assert set(runs) == set(k3t.LR_FACTORS)
        assert all("final_loss" in run for run in runs.values())


def test_quick_run_learning_rates(quick_run):
    _, out = quick_run
    lr = read_json(out / "ker3t_training_pitfalls.json")["learning_rate"]
    kernel_problem = lr["kernel"]
    assert kernel_problem["limit_2_over_L"] == pytest.approx(2 / kernel_problem["L"])
    for problem in (lr["bowl"], kernel_problem):
        runs = problem["runs"]
        assert runs["too large"]["diverged"] and not runs["good"]["diverged"]
        assert not runs["too small"]["diverged"]
        assert runs["good"]["final_loss"] < runs["too small"]["final_loss"] / 10
    assert kernel_problem["runs"]["too large"]["learning_rate"] > kernel_problem["limit_2_over_L"]
    assert kernel_problem["runs"]["good"]["max_kernel_error"] < 0.5
    assert kernel_problem["runs"]["good"]["steps"] == 100  # --kernel-steps with --quick


def test_quick_run_minima(quick_run):
    _, out = quick_run
    minima = read_json(out / "ker3t_training_pitfalls.json")["local_minimum"]
    assert minima["plain GD"]["minimum"] == "local"
    assert minima[f"momentum {k3t.MOMENTUM}"]["minimum"] == "global"
    assert minima[f"best of {k3t.RESTARTS} restarts"]["minimum"] == "global"


def test_quick_run_fixes_narrow_the_train_validation_gap(quick_run):
    _, out = quick_run
    runs = read_json(out / "ker3t_training_pitfalls.json")["overfitting"]
    no_fix, early = runs["no fix"], runs["early stopping"]
    assert no_fix["train_loss"] < k3t.NOISE**2 < no_fix["val_loss"]  # it learned the noise
    assert early["gap"] < 0.8 * no_fix["gap"], (early, no_fix)
    assert early["val_loss"] < no_fix["val_loss"]
    assert early["train_loss"] > no_fix["train_loss"]  # a bigger training error, on purpose
    assert early["epochs_run"] == early["best_val_epoch"] + k3t.PATIENCE < no_fix["epochs_run"]
    # Dropout is reported too; on 12 points whether it helps depends on the seed.
    dropout = runs[f"dropout {k3t.DROPOUT}"]
    assert dropout["epochs_run"] == no_fix["epochs_run"] and dropout["gap"] > 0


# --- Errors a student can act on ---
def test_unwritable_output_dir_is_a_clean_error(unwritable_dir):
    assert_clean_error(run_script(SCRIPT, "--quick", "--output-dir", unwritable_dir))


def test_zero_epochs_is_a_clean_error(tmp_path):
    assert_clean_error(run_script(SCRIPT, "--epochs", "0", "--output-dir", tmp_path))
