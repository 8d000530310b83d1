"""ker3t: the learning-rate limit 2/L, the local minimum, and the overfitting fixes."""

import contextlib
import io

import cv2
import matplotlib.pyplot as plt
import numpy as np
import pytest
from conftest import ROOT, assert_clean_error, read_json, run_in_process, run_script

from common.lesson import LessonError, load_definitions

SCRIPT = "ker3t_training_pitfalls.py"
k3t = load_definitions(SCRIPT)  # the lesson's functions and constants, none of its steps run
FIGURES = ("learning_rate", "local_minimum", "overfitting")  # ker3t_training_pitfalls_<name>.png
MUTATIONS = [  # (lesson, text, replacement, what it breaks): tests/mutants.py applies each
    (
        "ker3t_training_pitfalls.py",
        "keras.callbacks.EarlyStopping(patience=PATIENCE, restore_best_weights=True)",
        "keras.callbacks.EarlyStopping(patience=PATIENCE)",
        "early stopping keeps the last weights, not the best ones it claims to keep",
    ),
    (
        "ker3t_training_pitfalls.py",
        "    if dropout:",
        "    if False:",
        "the dropout network has no Dropout layer: 'dropout' is the plain network again",
    ),
    (
        "ker3t_training_pitfalls.py",
        "velocity = momentum * velocity - learning_rate * grad(p)  # step 2: dp",
        "velocity = -learning_rate * grad(p)  # step 2: dp",
        "momentum is ignored: 'momentum 0.9' is plain gradient descent",
    ),
    (
        "ker3t_training_pitfalls.py",
        "return tuple(sorted([roots[0], roots[2]], key=curve))",
        "return tuple(sorted([roots[0], roots[2]], key=lambda p: -curve(p)))",
        "the local and the global minimum swap names",
    ),
    (
        "ker3t_training_pitfalls.py",
        "    rate = factor * 2 / L\n",
        "    rate = factor * 1 / L\n",
        "the kernel's rates are half what they say: 'too large' no longer passes 2/L",
    ),
    (
        "ker3t_training_pitfalls.py",
        'right = verdict(ended == "global")',
        'right = verdict(ended == "local")',
        "the figure marks the local minimum right and the global one wrong",
    ),
]


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


def test_learning_rate_figure_draws_one_curve_per_rate(monkeypatch):
    factors = {"too small": 0.05, "good": 0.5, "too large": 1.1, "just below": 0.95}
    monkeypatch.setattr(k3t, "LR_FACTORS", factors)  # a fourth rate, as an instructor adds it
    hessian = k3t.bowl_hessian()
    bowl = {
        name: k3t.gradient_descent(lambda p: hessian @ p, (1.0, 1.0), f * 0.4, 5)
        for name, f in factors.items()
    }
    results = {name: {"diverged": f > 1} for name, f in factors.items()}
    kernel = {
        name: {"learning_rate": f, "losses": np.geomspace(1, f, 6), "diverged": f > 1}
        for name, f in factors.items()
    }
    fig = k3t.figure_learning_rate(hessian, bowl, results, kernel, 0.147)
    for ax in fig.axes[1:]:
        assert len(ax.get_lines()) == 4
        assert [t.get_text() for t in ax.get_legend().get_texts()][-1].startswith("just below")
    colours = {line.get_color() for line in fig.axes[2].get_lines()}
    assert len(colours) == 4  # each rate its own colour
    assert fig._suptitle.get_text().startswith("✓")
    assert not any(legend_overlaps_axes(ax) for ax in fig.axes)
    plt.close(fig)
    kernel["just below"]["diverged"] = True  # a run that contradicts the limit: a cross
    fig = k3t.figure_learning_rate(hessian, bowl, results, kernel, 0.147)
    assert fig._suptitle.get_text().startswith("✗")
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


# --- The lesson end to end, run once in this process (--quick) ---
@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """The lesson's variables, what it printed, and its output folder."""
    out = tmp_path_factory.mktemp("ker3t")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        lesson = run_in_process(SCRIPT, "--quick", "--no-show", "--output-dir", out)
    return lesson, printed.getvalue(), out


def test_quick_run_writes_figures_and_json(quick_run):
    _, stdout, out = quick_run
    for name in FIGURES:  # every figure's file starts with the lesson's name
        path = out / f"ker3t_training_pitfalls_{name}.png"
        assert path.stat().st_size > 10_000
        assert f"figure: {path}" in stdout
    assert stdout.count("The figure:") == 3
    data = read_json(out / "ker3t_training_pitfalls.json")
    assert set(data) >= {"learning_rate", "local_minimum", "overfitting"}
    for problem in ("bowl", "kernel"):
        runs = data["learning_rate"][problem]["runs"]
        assert set(runs) == set(k3t.LR_FACTORS)
        assert all("final_loss" in run for run in runs.values())


def test_quick_run_learning_rates(quick_run):
    _, _, out = quick_run
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
    # The rates are shares of this image's 2/L, computed here from its patches.
    image, _ = k3t.kernel_problem()
    rows = patch_rows(image).astype(np.float64)
    L = np.linalg.eigvalsh(2 * rows.T @ rows / len(rows))[-1]
    for name, factor in k3t.LR_FACTORS.items():
        assert kernel_problem["runs"][name]["learning_rate"] == pytest.approx(factor * 2 / L)


def test_quick_run_minima(quick_run):
    _, _, out = quick_run
    minima = read_json(out / "ker3t_training_pitfalls.json")["local_minimum"]
    assert minima["plain GD"]["minimum"] == "local"
    assert minima[f"momentum {k3t.MOMENTUM}"]["minimum"] == "global"
    assert minima[f"best of {k3t.RESTARTS} restarts"]["minimum"] == "global"


def test_quick_run_fixes_narrow_the_train_validation_gap(quick_run):
    _, _, out = quick_run
    runs = read_json(out / "ker3t_training_pitfalls.json")["overfitting"]
    no_fix, early = runs["no fix"], runs["early stopping"]
    assert no_fix["train_loss"] < k3t.NOISE**2 < no_fix["val_loss"]  # it learned the noise
    assert early["gap"] < 0.8 * no_fix["gap"], (early, no_fix)
    assert early["val_loss"] < no_fix["val_loss"]
    assert early["train_loss"] > no_fix["train_loss"]  # a bigger training error, on purpose
    assert early["epochs_run"] == early["best_val_epoch"] + k3t.PATIENCE < no_fix["epochs_run"]
    dropout = runs[f"dropout {k3t.DROPOUT}"]
    assert dropout["epochs_run"] == no_fix["epochs_run"]


def test_early_stopping_keeps_the_weights_of_its_best_epoch(quick_run):
    lesson, _, _ = quick_run
    _, _, x_val, y_val = lesson["data"]
    early = lesson["fits"]["early stopping"]
    best = min(early["history"]["val_loss"])  # what fit() measured at the best epoch
    # The kept model's predictions, scored here: the best epoch's error, not the last one's.
    assert np.mean((early["fit"] - y_val[:, 0]) ** 2) == pytest.approx(best, rel=1e-4)
    assert early["val_loss"] == pytest.approx(best, rel=1e-4)
    assert early["history"]["val_loss"][-1] > best * 1.0001  # the last epoch was worse


def test_dropout_is_in_the_network_and_is_what_narrows_the_gap(quick_run):
    lesson, _, _ = quick_run
    plain, dropped = k3t.build_model(), k3t.build_model(dropout=k3t.DROPOUT)
    rates = [layer.rate for layer in dropped.layers if layer.__class__.__name__ == "Dropout"]
    assert rates == [k3t.DROPOUT, k3t.DROPOUT]  # after each hidden layer
    assert not any(layer.__class__.__name__ == "Dropout" for layer in plain.layers)
    assert dropped.count_params() == plain.count_params()  # the same network otherwise
    fits = lesson["fits"]
    no_fix, dropout = fits["no fix"], fits[f"dropout {k3t.DROPOUT}"]
    # Same seed, same start: only the Dropout layers differ. With seed 0 they narrow the gap.
    assert dropout["history"]["loss"][0] != pytest.approx(no_fix["history"]["loss"][0])
    assert dropout["gap"] < 0.7 * no_fix["gap"], (dropout["gap"], no_fix["gap"])
    assert dropout["train_loss"] > no_fix["train_loss"]  # dropout keeps it from the noise


# --- The figures say what the run shows, and cover none of it ---
def legend_overlaps_axes(ax):
    """True when the axes' legend box lies over its plotting area."""
    fig = ax.figure
    fig.canvas.draw()
    return ax.get_legend().get_window_extent().overlaps(ax.get_window_extent())


def test_overfitting_figure_keeps_its_legends_off_the_curves(quick_run):
    lesson, _, _ = quick_run
    fig = k3t.figure_overfitting(lesson["data"], lesson["fits"])
    for ax in fig.axes:
        assert not legend_overlaps_axes(ax)
    gaps = {name: fit["gap"] for name, fit in lesson["fits"].items()}
    title = fig._suptitle.get_text()
    for name, gap in gaps.items():
        assert f"{name} {gap:.3f}" in title
    assert f"✓ dropout {k3t.DROPOUT}" in title  # narrower than no fix: a tick
    plt.close(fig)


def test_local_minimum_figure_marks_each_start_end_and_both_minima(quick_run):
    lesson, _, _ = quick_run
    paths = lesson["curve_paths"]
    fig = k3t.figure_local_minimum(
        paths, lesson["minimum_results"], lesson["starts"], lesson["ends"]
    )
    assert len(fig.axes) == len(paths)  # one panel per method: no dot hides another
    global_p, local_p = k3t.curve_minima()
    for ax, (name, path) in zip(fig.axes, paths.items(), strict=True):
        squares = [line for line in ax.get_lines() if line.get_marker() == "s"]
        dots = [line for line in ax.get_lines() if line.get_marker() == "o"]
        assert [line.get_xdata()[0] for line in squares] == [path[0]]  # the start
        assert [line.get_xdata()[0] for line in dots] == [path[-1]]  # the end
        arrows = [a for a in ax.texts if a.arrow_patch is not None and not a.get_text()]
        assert len(arrows) >= 3  # the path is drawn with arrows
        labels = " ".join(text.get_text() for text in ax.texts)
        assert f"global minimum\n$p$ = {global_p:.2f}" in labels
        assert f"local minimum\n$p$ = {local_p:.2f}" in labels
        ended = k3t.which_minimum(path[-1])
        assert ax.get_title().startswith("✓" if ended == "global" else "✗"), ax.get_title()
        assert f"{name}: from" in ax.get_title() and f"to the {ended} minimum" in ax.get_title()
    assert fig.axes[0].get_title().startswith("✗ plain GD: from $p$ = 2.00")
    plt.close(fig)


# --- Errors a student can act on; an instructor's 5x5 kernel ---
def test_unwritable_output_dir_is_a_clean_error(unwritable_dir):
    with pytest.raises(LessonError, match="cannot write to output folder"):
        run_in_process(SCRIPT, "--quick", "--output-dir", unwritable_dir)


def test_zero_epochs_is_a_clean_error(tmp_path):
    assert_clean_error(run_script(SCRIPT, "--epochs", "0", "--output-dir", tmp_path))


@pytest.mark.parametrize("seed", ["-1", "4294967296"])
def test_a_seed_numpy_cannot_take_is_a_clean_error(seed, tmp_path):
    result = run_script(SCRIPT, "--seed", seed, "--output-dir", tmp_path)
    assert_clean_error(result)
    assert "--seed" in result.stderr and "4294967295" in result.stderr


def edited_copy(tmp_path, old, new):
    """The lesson with one text replaced, as an instructor edits it, in tmp_path."""
    text = (ROOT / SCRIPT).read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    copy = tmp_path / SCRIPT
    copy.write_text(text.replace(old, new), encoding="utf-8")
    return copy


SOBEL_X_LINE = "KERNEL = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32)"


def test_a_5x5_kernel_gets_its_own_curvature_and_conv2d(monkeypatch):
    """An instructor's 5x5 KERNEL: the curvature, the Conv2D and the error all take its size."""
    sobel_5x5 = [[1, 2, 0, -2, -1], [4, 8, 0, -8, -4], [6, 12, 0, -12, -6]]
    sobel_5x5 += sobel_5x5[1::-1]  # Sobel's 5x5, symmetric top to bottom
    monkeypatch.setattr(k3t, "KERNEL", np.array(sobel_5x5, np.float32))
    image, target = k3t.kernel_problem()
    rows = np.lib.stride_tricks.sliding_window_view(np.pad(image, 2), (5, 5))
    rows = rows.reshape(-1, 25).astype(np.float64)
    np.testing.assert_allclose(rows @ k3t.KERNEL.ravel(), target.ravel(), atol=1e-4)
    eigenvalues = np.linalg.eigvalsh(2 * rows.T @ rows / len(rows))
    L, mu = k3t.curvature(image, size=5)
    assert (L, mu) == pytest.approx((eigenvalues[-1], eigenvalues[0]), rel=1e-6)
    losses, learned = k3t.train_kernel(image, target, 0.5 * 2 / L, 30, seed=0)
    assert learned.shape == (5, 5)
    y = target.ravel().astype(np.float64)
    assert losses[-1] == pytest.approx(np.mean((rows @ learned.ravel() - y) ** 2), rel=1e-4)
    assert losses[-1] < losses[0] / 10  # half the limit: it learns


def test_an_even_kernel_is_refused_in_one_line(tmp_path):
    copy = edited_copy(tmp_path, SOBEL_X_LINE, "KERNEL = np.ones((2, 2), np.float32)")
    with pytest.raises(LessonError, match=r"\(2, 2\): it must be square, of odd size"):
        run_in_process(copy, "--quick", "--no-show", "--output-dir", tmp_path)
