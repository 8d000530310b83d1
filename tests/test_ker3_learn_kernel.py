"""Lesson 3: the forgotten kernel learned back, and the gradient Keras follows."""

import cv2
import keras
import matplotlib.pyplot as plt
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
from synthetic import synthetic_image

from common.lesson import LessonError, load_definitions

LESSON = "ker3_learn_kernel.py"
SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32)
MUTATIONS = [  # (lesson, text, replacement, what it breaks): tests/mutants.py applies each
    (
        "ker3_learn_kernel.py",
        'optimizer="rmsprop", loss="mse", metrics=["mse", "mae"])',
        'optimizer="adam", loss="mse", metrics=["mse", "mae"])',
        "the slide's recipe trains with Adam, not the slide's rmsprop",
    ),
    (
        "ker3_learn_kernel.py",
        "return learning_rate, rate**2, steps",
        "return learning_rate, rate, steps",
        "the heavy ball's momentum is the rate, not its square: not Polyak's optimum",
    ),
    (
        "ker3_learn_kernel.py",
        "borderType=cv2.BORDER_CONSTANT)  # what we want",
        "borderType=cv2.BORDER_REFLECT)  # what we want",
        "the target pads by reflection, which no Conv2D(padding='same') kernel can reproduce",
    ),
    (
        "ker3_learn_kernel.py",
        "return 2.0 / len(p) * p.T @ (p @ np.ravel(w) - np.ravel(y))",
        "return 1.0 / len(p) * p.T @ (p @ np.ravel(w) - np.ravel(y))",
        "the gradient formula shown beside Keras' is half the true one",
    ),
    (
        "ker3_learn_kernel.py",
        '("reshape(...)", "reshape(height, width, 1)"',
        '("reshape(...)", "reshape(width, height, 1)"',
        "the slide's shape filled in as width x height: its input_images are the image scrambled",
    ),
]
# The slide „Skúsme „zabudnutý“ kernel rekonštruovať“, as printed (the lesson runs exactly this).
SLIDE_KERNEL = """input_images = np.array([input_image.reshape(...)])
output_images = np.array([output_image.reshape(...)])

inp = Input(shape=(None,None,1))
out = Conv2D(1, (3, 3), kernel_initializer="normal",
 use_bias=False, padding="same")(inp)
model = Model(inputs=inp, outputs=out)

model.compile(optimizer='rmsprop', loss='mse',
 metrics=['mse', 'mae'])
model.fit(samples_inp, samples_out, batch_size=1,
 epochs = 15000)
model.layers[1].get_weights()
"""


@pytest.fixture(scope="module")
def k3():
    """The lesson's functions and constants, none of its steps run."""
    return load_definitions(LESSON)


def synthetic_png(tmp_path, size, seed):
    """The synthetic test scene as an 8-bit PNG the lesson can read."""
    image, _ = synthetic_image(size=size, seed=seed)
    path = tmp_path / f"scene_{size}_{seed}.png"
    cv2.imwrite(str(path), np.clip(np.rint(image), 0, 255).astype(np.uint8))
    return path


def run_lesson(tmp_path, *flags):
    """The lesson run in this process on tmp_path; its variables after the run."""
    return run_in_process(LESSON, *flags, "--no-show", "--output-dir", tmp_path)


def conv_same(x, kernel):
    """The 3x3 correlation of x with zero padding, as Conv2D(padding="same"), in float64."""
    padded = np.pad(x.astype(np.float64), 1)
    return sum(
        kernel[a, b] * padded[a : a + x.shape[0], b : b + x.shape[1]]
        for a in range(3)
        for b in range(3)
    )


def mse_of_model(x, y, kernel, bias=0.0, activation=lambda z: z):
    """The MSE of activation(3x3 correlation with zero padding + bias), computed in float64."""
    return float(np.mean((activation(conv_same(x, kernel) + bias) - y) ** 2))


# --- The lesson as a student runs it ---


def test_ker3_default_run_recovers_sobel_x(tmp_path):
    result = run_script(LESSON, "--no-show", "--output-dir", tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""  # quiet start, tf.data imported quietly too
    results = read_json(tmp_path / "ker3_learn_kernel.json")
    assert results["kernel_name"] == "sobel-x"
    assert results["recipe"] == "fast"
    np.testing.assert_allclose(results["true_kernel"], SOBEL_X)
    np.testing.assert_allclose(results["learned_kernel"], SOBEL_X, atol=1e-3)
    assert results["max_abs_error"] <= 1e-3
    assert results["lstsq_max_abs_error"] <= 1e-5
    for key in ("train_seconds", "epochs", "condition_number"):
        assert results[key] > 0
    assert results["parameters"] == 9 and results["learned_bias"] is None
    assert results["final_loss"] < 1e-6 * results["start_loss"]
    # Both recipes ran from the same start: the slide's as a short demo, far from the kernel.
    seminar, fast = results["recipes"]["seminar"], results["recipes"]["fast"]
    assert seminar["epochs"] == 100 and seminar["max_abs_error"] > 0.5
    assert seminar["start_loss"] == pytest.approx(fast["start_loss"], rel=1e-6)
    assert fast["max_abs_error"] == results["max_abs_error"] and fast["epochs"] == results["epochs"]
    # The gradient at the random start: Keras, the formula and finite differences agree.
    assert results["gradient_formula_agrees"] and results["gradient_finite_differences_agrees"]
    assert results["gradient_formula_relative_difference"] < 1e-4
    assert results["gradient_finite_differences_relative_difference"] < 1e-4
    keras_gradient = np.array(results["gradient_keras"])
    assert keras_gradient.shape == (9,) and np.abs(keras_gradient).max() > 0.1
    np.testing.assert_allclose(results["gradient_formula"], keras_gradient, rtol=1e-3, atol=1e-5)
    assert "Keras vs formula: largest relative difference" in result.stdout
    assert "(seminar recipe)" in result.stdout and "(fast recipe)" in result.stdout
    assert (tmp_path / "ker3_learn_kernel.png").exists()
    # The slide's compile, metrics included: fit() logged mse (the loss) and mae too.
    logged = seminar["last_logged"]
    assert set(logged) == {"loss", "mse", "mae"}
    assert logged["mse"] == pytest.approx(logged["loss"], rel=1e-5)
    assert 0 < logged["mae"] < logged["mse"] ** 0.5 * 1.0001  # mean |e| <= root mean e^2
    # The slide's code as printed: stops at reshape(...), then at samples_inp; filled in, runs.
    tries = results["slide_code"]
    assert tries[0]["code"] == SLIDE_KERNEL
    assert [t["error_type"] for t in tries] == ["TypeError", "NameError", None]
    assert "samples_inp" in tries[1]["error"]
    assert "fit(input_images, output_images" in tries[2]["code"]
    assert "it stops: NameError: name 'samples_inp' is not defined" in result.stdout
    assert "batch / data / channel" in result.stdout


def test_ker3_the_slides_code_as_printed_and_filled_in():
    """The slide's text, run here without the lesson's runner, as a student who copies it."""
    k3 = load_definitions(LESSON)
    assert k3.SLIDE_CODE == SLIDE_KERNEL
    x = np.random.default_rng(0).normal(size=(6, 7)).astype(np.float32)
    names = {
        "np": np,
        "Input": keras.Input,
        "Conv2D": keras.layers.Conv2D,
        "Model": keras.Model,
        "input_image": x,
        "output_image": cv2.filter2D(x, -1, SOBEL_X, borderType=cv2.BORDER_CONSTANT),
        "height": 6,
        "width": 7,
    }
    with pytest.raises(TypeError, match="Ellipsis"):
        exec(SLIDE_KERNEL, dict(names))  # the slide's `...` is not Python's
    (shape, filled), (fit, one_epoch) = [fix[:2] for fix in k3.SLIDE_FIXES]  # the lesson's
    assert shape == "reshape(...)" and fit in SLIDE_KERNEL
    code = SLIDE_KERNEL.replace(shape, filled)
    ran = dict(names)
    with pytest.raises(NameError, match="samples_inp"):
        exec(code, ran)  # it never made samples_inp ...
    np.testing.assert_array_equal(ran["input_images"], x[None, :, :, None])  # ... but these
    np.testing.assert_array_equal(ran["output_images"], names["output_image"][None, :, :, None])
    assert ran["model"].get_compile_config()["metrics"] == ["mse", "mae"]  # compiled as is
    code = code.replace(fit, one_epoch)
    assert "epochs=1" in code and "15000" not in code  # one epoch in the check, not 15000
    exec(code, ran)
    history = ran["model"].history.history
    assert set(history) == {"loss", "mse", "mae"}


def test_ker3_fast_recipe_recovers_a_random_kernel_on_the_synthetic_image(tmp_path):
    image = synthetic_png(tmp_path, size=96, seed=1)
    flags = ("--image", image, "--kernel", "random", "--seed", "5", "--seminar-epochs", "1")
    lesson = run_lesson(tmp_path, *flags)
    kernel, learned, run = lesson["kernel"], lesson["learned"], lesson["runs"]["fast"]
    drawn = np.random.default_rng(5).uniform(-2, 2, (3, 3)).round(2)  # --seed 5's kernel
    np.testing.assert_allclose(kernel, drawn, atol=1e-6)
    assert np.abs(learned - kernel).max() <= 1e-3
    np.testing.assert_array_equal(run["kernels"][-1], learned)
    assert lesson["lstsq_error"] <= 1e-5
    assert np.abs(run["kernels"][0] - kernel).max() > 0.5  # it really started far away
    assert run["epochs"] == len(run["losses"]) * run["steps_per_log"]
    # The same image and kernel give the same target as cv2.filter2D with zero padding.
    x = lesson["x"]
    expected = cv2.filter2D(x, cv2.CV_32F, kernel, borderType=cv2.BORDER_CONSTANT)
    np.testing.assert_array_equal(lesson["y"], expected)
    assert abs(float(x.mean())) < 1e-4 and float(x.std()) == pytest.approx(1.0, rel=1e-4)


def rmsprop_path(x, y, start, steps, learning_rate=1e-3, rho=0.9, epsilon=1e-7):
    """Keras' RMSprop with its defaults, in float64, on the hand-computed MSE gradient."""
    w, velocity, path = np.asarray(start, np.float64).reshape(3, 3), np.zeros((3, 3)), []
    for _ in range(steps):
        gradient = hand_gradient(x, y, w).reshape(3, 3)
        velocity = rho * velocity + (1 - rho) * gradient**2
        w = w - learning_rate * gradient / np.sqrt(velocity + epsilon)
        path.append(w)
    return np.array(path)


def test_ker3_seminar_recipe_gives_the_result_and_is_far_from_converged(tmp_path):
    image = synthetic_png(tmp_path, size=32, seed=1)
    flags = ("--image", image, "--recipe", "seminar", "--epochs", "20")
    lesson = run_lesson(tmp_path, *flags, "--seminar-epochs", "1")
    run = lesson["runs"]["seminar"]
    # The slide's rmsprop, step by step: Keras' kernels against RMSprop computed here.
    x, y = lesson["x"], lesson["y"]
    expected = rmsprop_path(x, y, run["kernels"][0], 20)
    np.testing.assert_allclose(run["kernels"][1:], expected, rtol=0, atol=2e-6)
    first_gradient = hand_gradient(x, y, run["kernels"][0]).reshape(3, 3)
    adam_first = run["kernels"][0] - 1e-3 * np.sign(first_gradient)  # Adam's first step
    assert np.abs(run["kernels"][1] - adam_first).max() > 1e-3  # a negative control
    # The slide's metrics: each epoch's mae is the mean |error| of the weights it started from.
    by_hand = [np.mean(np.abs(conv_same(x, kernel) - y)) for kernel in run["kernels"][:-1]]
    np.testing.assert_allclose(run["logged"]["mae"], by_hand, rtol=1e-4)
    np.testing.assert_allclose(run["logged"]["mse"], run["losses"], rtol=1e-5)
    assert run["epochs"] == 20 and run["steps_per_log"] == 1  # one step per epoch
    assert len(run["kernels"]) == 21 and len(run["losses"]) == 20
    assert np.abs(run["kernels"][-1] - SOBEL_X).max() > 0.5  # rmsprop at lr 1e-3 moves ~1e-3 a step
    # One step per log: the first logged loss is the loss at the random start.
    assert run["losses"][0] == pytest.approx(run["start_loss"], rel=1e-5)
    # The result is the seminar's kernel, though the fast recipe ran (and did better) after it.
    np.testing.assert_array_equal(lesson["learned"], run["kernels"][-1])
    results = read_json(tmp_path / "ker3_learn_kernel.json")
    assert results["recipe"] == "seminar" and results["epochs"] == 20
    assert results["recipes"]["fast"]["max_abs_error"] < 1e-3 < results["max_abs_error"]


def test_ker3_quick_keeps_the_seminars_result_a_demo(tmp_path):
    image = synthetic_png(tmp_path, size=32, seed=1)
    flags = ("--image", image, "--recipe", "seminar", "--quick", "--seminar-epochs", "7")
    assert run_lesson(tmp_path, *flags)["runs"]["seminar"]["epochs"] == 7  # not 15000


def test_ker3_loss_curve_is_what_keras_logged(tmp_path, k3):
    image = synthetic_png(tmp_path, size=48, seed=2)
    flags = ("--image", image, "--kernel", "laplace", "--seed", "1", "--epochs", "95")
    lesson = run_lesson(tmp_path, *flags, "--seminar-epochs", "5")
    x, y, fast = lesson["x"], lesson["y"], lesson["runs"]["fast"]
    assert fast["steps_per_log"] == k3.STEPS_PER_CALL
    assert fast["epochs"] == 100  # whole calls: 95 steps rounded up
    assert len(fast["losses"]) == 10 and len(fast["kernels"]) == 11
    assert fast["losses"][-1] < fast["losses"][0] / 10
    # evaluate() before and after fit(), against the model's MSE computed by hand
    assert fast["start_loss"] == pytest.approx(mse_of_model(x, y, fast["kernels"][0]), rel=1e-4)
    assert fast["final_loss"] == pytest.approx(mse_of_model(x, y, fast["kernels"][-1]), rel=1e-3)
    # One step per epoch (the seminar's recipe): each logged loss is the MSE of the weights
    # that step started from.
    seminar = lesson["runs"]["seminar"]
    by_hand = [mse_of_model(x, y, kernel) for kernel in seminar["kernels"][:-1]]
    np.testing.assert_allclose(seminar["losses"], by_hand, rtol=1e-4)
    np.testing.assert_array_equal(seminar["kernels"][0], fast["kernels"][0])  # the same start
    # The figure: legends beside the curves (not over w[1,0]'s fall), a title that follows the run.
    fig = lesson["plot_training"](lesson["runs"], "fast", lesson["kernel"], lesson["learned"], "x")
    fig.canvas.draw()
    for ax in fig.axes:
        if ax.get_legend():
            assert not ax.get_legend().get_window_extent().overlaps(ax.get_window_extent())
    assert fig._suptitle.get_text().startswith("✓ The fast recipe's kernel after 100 steps")
    far = lesson["plot_training"](
        lesson["runs"], "seminar", lesson["kernel"], seminar["kernels"][-1], "x"
    )
    assert far._suptitle.get_text().startswith(
        "✗ The seminar recipe's kernel after 5 steps is still far"
    )
    plt.close("all")


def test_ker3_an_edited_model_cell_reruns_every_recipe_from_its_new_start(tmp_path):
    """In a notebook: add a bias in the model's cell, run it and the cells below it again."""
    edit = (
        '"random_normal", use_bias=False',
        '"random_normal", use_bias=True, bias_initializer="ones"',
    )
    flags = ("--quick", "--max-side", "64", "--seminar-epochs", "2", "--output-dir", tmp_path)
    notebook = execute_checked_notebook(LESSON, *flags, tmp_path=tmp_path, edit=edit)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    data = next(cell for cell in code if "read_gray(" in cell.source)
    model = next(cell for cell in code if "keras.layers.Conv2D(" in cell.source)
    assert data.execution_count <= len(code)  # ran once, in the first pass
    assert model.execution_count > len(code)  # ran again, after the edit
    results = read_json(tmp_path / "ker3_learn_kernel.json")
    assert results["parameters"] == 10 and abs(results["learned_bias"][0]) < 1e-3
    assert results["max_abs_error"] < 1e-3
    assert not results["gradient_formula_agrees"]  # the formula has no bias
    assert results["gradient_finite_differences_agrees"]
    for run in results["recipes"].values():  # both started from the biased model's start
        assert run["start_loss"] == pytest.approx(results["start_loss"])


def test_ker3_heavy_ball_parameters(k3):
    """Polyak's heavy ball on curvatures 1 and 100: kappa 100, rate 4/121, momentum (9/11)^2."""
    learning_rate, momentum, steps = k3.heavy_ball(100.0, 1.0)
    assert learning_rate == pytest.approx(4 / 121)
    assert momentum == pytest.approx((9 / 11) ** 2)
    assert (9 / 11) ** steps <= k3.ERROR_SHRINK**-1.5 * 1.0001  # the margin: 1.5x the steps


# --- The gradient Keras computes (slide "Čo je vlastne Keras?") ---


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


def native_gradient(model, x_train, y_train):
    """dE/dw of the Conv2D's kernel by the backend's own automatic differentiation.

    The lesson shows one way that works on every backend; this is each backend's own way, to
    check it against.
    """
    kernel = model.layers[1].kernel
    mse = keras.losses.MeanSquaredError()  # what fit() minimises for loss="mse"
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        where = [i for i, v in enumerate(model.trainable_variables) if v is kernel][0]
        frozen = [v.value for v in model.non_trainable_variables]

        def loss(trainable):  # the model as a pure function of its weights, as JAX wants it
            return mse(y_train, model.stateless_call(trainable, frozen, x_train)[0])

        gradients = jax.grad(loss)([v.value for v in model.trainable_variables])
        return np.asarray(gradients[where]).reshape(9)
    if backend == "torch":  # PyTorch records the operations as they run
        mse(y_train, model(x_train)).backward()
        gradient = kernel.value.grad.detach().cpu().numpy().reshape(9)
        kernel.value.grad = None
        return gradient
    import tensorflow as tf

    with tf.GradientTape() as tape:  # TensorFlow records the operations, then runs them back
        loss = mse(y_train, model(x_train))
    return tape.gradient(loss, kernel).numpy().reshape(9)


def slide_model(seed, use_bias=False):
    """The lesson's model, built the same way: one Conv2D neuron, random normal start."""
    keras.utils.set_random_seed(seed)
    inp = keras.Input(shape=(None, None, 1))
    out = keras.layers.Conv2D(
        1, (3, 3), kernel_initializer="random_normal", use_bias=use_bias, padding="same"
    )(inp)
    return keras.Model(inputs=inp, outputs=out)


@pytest.fixture
def tiny_problem():
    """A 5x6 image, its Sobel target, and a model at its random start."""
    x = np.random.default_rng(3).normal(size=(5, 6)).astype(np.float32)
    y = cv2.filter2D(x, cv2.CV_32F, SOBEL_X, borderType=cv2.BORDER_CONSTANT)
    return x, y, slide_model(seed=4)


def test_formula_gradient_is_the_hand_computed_sum(tiny_problem, k3):
    x, y, _ = tiny_problem
    w = np.random.default_rng(0).normal(size=(3, 3))
    gradient = k3.formula_gradient(w, k3.patches(x).astype(np.float64), y)
    np.testing.assert_allclose(gradient, hand_gradient(x, y, w), rtol=1e-12)


def test_keras_gradient_equals_the_formula_and_finite_differences(tiny_problem, k3):
    x, y, model = tiny_problem
    x_train, y_train = x[None, :, :, None], y[None, :, :, None]
    w = model.layers[1].get_weights()[0].reshape(3, 3)
    expected = hand_gradient(x, y, w)
    keras_gradient = k3.keras_gradient(model, x_train, y_train)
    np.testing.assert_array_equal(model.layers[1].get_weights()[0].reshape(3, 3), w)  # restored
    numeric = k3.finite_differences(model, x_train, y_train)
    np.testing.assert_array_equal(model.layers[1].get_weights()[0].reshape(3, 3), w)  # restored
    assert k3.relative_difference(keras_gradient, expected) < 1e-6  # float32 on 30 pixels
    assert k3.relative_difference(numeric, expected) < 1e-5


def test_keras_gradient_is_the_backends_own_gradient(tiny_problem, k3):
    """The lesson's SGD step of learning rate 1 against GradientTape, jax.grad or backward()."""
    x, y, model = tiny_problem
    x_train, y_train = x[None, :, :, None], y[None, :, :, None]
    native = native_gradient(model, x_train, y_train)
    assert k3.relative_difference(k3.keras_gradient(model, x_train, y_train), native) < 1e-6
    # With a bias (the formula no longer holds), the two still agree, and the bias stays put.
    biased = slide_model(seed=4, use_bias=True)
    biased.layers[1].bias.assign(np.ones(1, np.float32))
    native = native_gradient(biased, x_train, y_train)
    assert k3.relative_difference(k3.keras_gradient(biased, x_train, y_train), native) < 1e-6
    assert (
        k3.relative_difference(
            native, hand_gradient(x, y, biased.layers[1].get_weights()[0].reshape(3, 3))
        )
        > 1e-2
    )
    assert biased.layers[1].get_weights()[1][0] == 1.0


def test_a_wrong_gradient_formula_is_detected(tiny_problem, k3):
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


# --- Errors a student can act on ---


def test_ker3_refuses_a_flat_image_it_cannot_learn_from(tmp_path):
    flat = tmp_path / "flat.png"
    cv2.imwrite(str(flat), np.full((40, 40), 128, np.uint8))
    result = run_script(LESSON, "--image", flat, "--no-show", "--output-dir", tmp_path)
    assert_clean_error(result)
    assert "is flat (every pixel the same)" in result.stderr
    assert "condition number" not in result.stderr  # not "condition number 0e+00"


def test_ker3_refuses_an_all_nan_float_tiff_in_one_line(tmp_path):
    nan = tmp_path / "nan.tiff"
    assert cv2.imwrite(str(nan), np.full((40, 40), np.nan, np.float32))
    keep = tmp_path / "ker3_learn_kernel.json"
    keep.write_text("a student's earlier result\n")
    result = run_script(LESSON, "--image", nan, "--no-show", "--output-dir", tmp_path)
    assert_clean_error(result)
    assert str(nan) in result.stderr and "NaN" in result.stderr
    assert keep.read_text() == "a student's earlier result\n"


def edited_copy(tmp_path, old, new):
    """The lesson with one text replaced, as an instructor edits it, in tmp_path."""
    text = (ROOT / LESSON).read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    copy = tmp_path / LESSON
    copy.write_text(text.replace(old, new), encoding="utf-8")
    return copy


FIVE_BY_FIVE = [[1, 2, 0, -2, -1], [4, 8, 0, -8, -4], [6, 12, 0, -12, -6]]
FIVE_BY_FIVE += [[4, 8, 0, -8, -4], [1, 2, 0, -2, -1]]  # Sobel's 5x5, right to left


def test_ker3_learns_a_5x5_kernel_added_to_kernels(tmp_path):
    laplace = '"laplace": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],'
    copy = edited_copy(tmp_path, laplace, f'{laplace}\n    "sobel-5x5": {FIVE_BY_FIVE},')
    flags = ("--kernel", "sobel-5x5", "--quick", "--max-side", "64", "--seminar-epochs", "2")
    lesson = run_in_process(copy, *flags, "--no-show", "--output-dir", tmp_path)
    kernel = np.array(FIVE_BY_FIVE, np.float32)
    assert lesson["model"].count_params() == 25
    np.testing.assert_allclose(lesson["learned"], kernel, atol=1e-3)
    np.testing.assert_allclose(lesson["exact"], kernel, atol=1e-4)
    x = lesson["x"]
    target = cv2.filter2D(x, cv2.CV_32F, kernel, borderType=cv2.BORDER_CONSTANT)
    np.testing.assert_array_equal(lesson["y"], target)
    gradients = lesson["gradients"]
    assert gradients["formula_agrees"] and gradients["finite_differences_agrees"]
    assert len(gradients["keras"]) == 25
    assert read_json(tmp_path / "ker3_learn_kernel.json")["max_abs_error"] <= 1e-3


def test_ker3_refuses_an_even_kernel_in_one_line(tmp_path):
    laplace = '"laplace": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],'
    copy = edited_copy(tmp_path, laplace, f'{laplace}\n    "box-2x2": [[1, 1], [1, 1]],')
    with pytest.raises(LessonError, match=r"\(2, 2\): it must be square, of odd size"):
        run_in_process(copy, "--kernel", "box-2x2", "--no-show", "--output-dir", tmp_path)


@pytest.mark.parametrize("seed", ["-1", "4294967296"])
def test_ker3_refuses_a_seed_numpy_cannot_take(seed, tmp_path):
    result = run_script(LESSON, "--seed", seed, "--output-dir", tmp_path)
    assert_clean_error(result)
    assert "--seed" in result.stderr and "4294967295" in result.stderr


def test_ker3_refuses_zero_epochs_with_one_line(tmp_path):
    result = run_script(LESSON, "--epochs", "0", "--output-dir", tmp_path)
    assert_clean_error(result)
    assert "--epochs" in result.stderr
