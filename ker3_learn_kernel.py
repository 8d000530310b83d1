"""Lesson 3: learn the "forgotten" Sobel kernel back by gradient descent.

Slides "V čom je rozdiel?", "Skúsme „zabudnutý“ kernel rekonštruovať", "Funguje to!" and
"Čo je vlastne Keras?": suppose we forgot which kernel the Sobel operator uses and only have an
image and the desired output. Start a Conv2D(1, (3, 3)) from random weights, measure the error
(MSE), follow its gradient, repeat: Keras finds the kernel again.

The gradient ("Čo je vlastne Keras?"). Keras builds the model from modules whose derivatives
it knows, so it differentiates the error exactly, by the chain rule. For this model, a linear
3x3 filter without bias, the derivative is also a short formula: dE/dw = 2/N * P^T (P w - y),
where row n of P holds the 3x3 neighbourhood of pixel n. At the random start the lesson prints
Keras' gradient (tf.GradientTape; jax.grad on JAX; backward() on PyTorch) beside that formula
and beside central finite differences of the model's own output: they agree to float32
precision.

Why the recipe matters. A Conv2D without bias is linear in its 9 weights, so the MSE is a
quadratic bowl whose curvature is set by the image: its Hessian is 2x the covariance of
the image's 3x3 patches. On a photo neighbouring pixels are alike, so the bowl is thousands
of times steeper in some directions than in others (the condition number kappa). The
`fast` recipe reads the curvature off the image and picks the learning rate and momentum
that suit it (heavy-ball momentum). The slide's `seminar` recipe (rmsprop, batch 1, 15000
epochs) gets there slowly. On the default photo (218x256) it is still 0.55 off after 1,500
epochs (bench/bench_learn_kernel.py). All 15,000 epochs, measured once on 2026-11-30, took
1,929 s of training (1,975 s for the whole command, on two cores shared with other work) and
ended with a largest error of 5.1e-4 and a loss of 1.8e-5. The loss stops falling near epoch
3,000: from there rmsprop's steps of about 0.001 (its default learning rate) keep the weights
jittering around the kernel.
Linear least squares gives the exact answer in one step: the ceiling that gradient descent
approaches.

Run it:
    python ker3_learn_kernel.py                       # forget sobel-x, learn it back
    python ker3_learn_kernel.py --kernel laplace      # sobel-y, scharr-x, laplace, random
    python ker3_learn_kernel.py --recipe seminar      # the slide's recipe: 15000 epochs, ~30 min
    python ker3_learn_kernel.py --quick               # a smaller image for a live demo

What a run prints, on the default photo (shrunk to 218x256):
- Keras' gradient at the random start beside the formula and finite differences: the largest
  relative differences are about 1e-5, the rounding of float32 sums over 56,000 pixels;
- the learned kernel beside the true one: a largest error of 8.3e-07 after 290 steps and
  1-2 s of training (the target is 1e-3), and the least-squares answer's error, 8.2e-09;
- the loss as Keras reports it (model.evaluate): 3.9 at the start, 2.2e-11 at the end.
The figure plots the loss fit() logged along the way, and how the nine weights moved.
Figures: outputs/ker3_learn_kernel.png; numbers: outputs/ker3_learn_kernel.json.
"""

import math
import time

import cv2
import numpy as np

from common.cli import make_parser, positive_int
from common.errors import LessonError, run_lesson
from common.figures import pyplot, save_figure, show
from common.images import read_gray
from common.paths import prepare_output_dir, write_json
from common.quiet_keras import keras, tf

# --- Settings ---
KERNELS = {
    "sobel-x": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "sobel-y": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "scharr-x": [[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]],
    "laplace": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
}
MAX_SIDE = 256  # nine weights don't need a 24-megapixel photo: 256 px give 50,000 equations
QUICK_MAX_SIDE = 128
SEMINAR_EPOCHS = 15000  # the slide's model.fit(..., epochs=15000)
QUICK_SEMINAR_EPOCHS = 300  # --quick runs the seminar's recipe this long, for a live demo
STEPS_PER_CALL = 10  # training steps Keras runs per call of its compiled step function
ERROR_SHRINK = 1e5  # the fast recipe runs long enough to shrink the weight error 10^5-fold
MIN_INVERSE_KAPPA = 1e-7  # flatter than this and some kernel directions are invisible
FD_STEP = 1e-3  # the step h of the finite differences
GRADIENT_TOLERANCE = 1e-4  # two gradients agree when they differ by less than this share


# --- Prepare the data ---
def true_kernel(name, seed=0):
    """The kernel we pretend to have forgotten, as a float32 3x3 array."""
    if name == "random":
        return np.random.default_rng(seed).uniform(-2, 2, (3, 3)).round(2).astype(np.float32)
    return np.array(KERNELS[name], dtype=np.float32)


def make_training_pair(image, kernel):
    """Standardise the image and make the desired output with the true kernel.

    Pixels of 0..255 would make the gradient ~65000x larger than for values near 1, so the
    input gets zero mean and unit spread. The target uses zero padding at the border, the
    same as Conv2D(padding="same"), so a perfect kernel gives exactly zero error.
    """
    x = ((image - image.mean()) / (image.std() + 1e-8)).astype(np.float32)
    y = cv2.filter2D(x, cv2.CV_32F, kernel, borderType=cv2.BORDER_CONSTANT)
    return x, y


def patches(x):
    """Every 3x3 neighbourhood of x (zero padded) as a row: shape (pixels, 9)."""
    padded = np.pad(x, 1)
    return np.lib.stride_tricks.sliding_window_view(padded, (3, 3)).reshape(-1, 9)


def curvature(x):
    """Largest and smallest curvature (Hessian eigenvalues) of the MSE over the 9 weights."""
    p = patches(x).astype(np.float64)
    eigenvalues = np.linalg.eigvalsh(2.0 * p.T @ p / len(p))
    return float(eigenvalues[-1]), float(eigenvalues[0])


def check_texture(x, image_name):
    """Refuse an image too flat to pin down all 9 weights."""
    big, small = curvature(x)
    if small <= big * MIN_INVERSE_KAPPA:
        raise LessonError(
            f"{image_name} has too little texture to pin down 9 weights (condition number "
            f"{big / max(small, 1e-300):.0e}); try a photo with more detail"
        )


# --- Build the model ---
def build_model(seed=0):
    """The slide's network: one Conv2D neuron with a 3x3 kernel, from random weights."""
    keras.utils.set_random_seed(seed)  # the same random start for the same --seed
    inp = keras.Input(shape=(None, None, 1))  # any height and width, one channel
    out = keras.layers.Conv2D(
        1, (3, 3), kernel_initializer="random_normal", use_bias=False, padding="same"
    )(inp)
    return keras.Model(inputs=inp, outputs=out)


# --- The gradient Keras follows (slide "Čo je vlastne Keras?") ---
# This section makes the lesson longer than 350 lines; it stays here, beside the model whose
# gradient it checks and before the training that follows that gradient.
def keras_gradient(model, x_train, y_train):
    """dE/dw of the MSE for the Conv2D's 9 weights, by the backend's automatic differentiation.

    Keras 3 runs on TensorFlow, JAX or PyTorch; each has its own autodiff, and fit() uses it.
    """
    kernel = model.layers[1].kernel
    mse = keras.losses.MeanSquaredError()  # what fit() minimises
    if keras.backend.backend() == "jax":
        import jax

        where = [i for i, v in enumerate(model.trainable_variables) if v is kernel][0]
        frozen = [v.value for v in model.non_trainable_variables]

        def loss(trainable):  # the model as a pure function of its weights, as JAX wants it
            return mse(y_train, model.stateless_call(trainable, frozen, x_train)[0])

        gradients = jax.grad(loss)([v.value for v in model.trainable_variables])
        return np.asarray(gradients[where]).reshape(9)
    if keras.backend.backend() == "torch":  # PyTorch records the operations as they run
        mse(y_train, model(x_train)).backward()
        return kernel.value.grad.detach().cpu().numpy().reshape(9)
    with tf.GradientTape() as tape:  # TensorFlow records the operations, then runs them back
        loss = mse(y_train, model(x_train))
    return tape.gradient(loss, kernel).numpy().reshape(9)


def formula_gradient(w, x, y):
    """dE/dw = 2/N * P^T (P w - y): the MSE's derivative for a linear 3x3 filter, no bias."""
    p = patches(x).astype(np.float64)  # (N, 9): row n is the 3x3 neighbourhood of pixel n
    return 2.0 / len(p) * p.T @ (p @ np.ravel(w) - np.ravel(y))


def finite_differences(model, x_train, y_train, h=FD_STEP):
    """(E(w + h e_i) - E(w - h e_i)) / 2h for each weight, E from the model's own output."""
    conv = model.layers[1]
    weights = conv.get_weights()  # [kernel], and the bias too if the layer has one
    kernel = weights[0]

    def loss(changed):
        conv.set_weights([changed, *weights[1:]])
        output = keras.ops.convert_to_numpy(model(x_train)).astype(np.float64)
        return np.mean((output - y_train) ** 2)

    gradient = np.zeros(kernel.size)
    for i in range(kernel.size):
        plus, minus = kernel.copy(), kernel.copy()
        plus.flat[i] += h
        minus.flat[i] -= h
        step = float(plus.flat[i]) - float(minus.flat[i])  # 2h, as float32 rounded it
        gradient[i] = (loss(plus) - loss(minus)) / step
    conv.set_weights(weights)  # put the weights back exactly as they were
    return gradient


def relative_difference(a, b):
    """The largest |a - b| as a share of b's largest entry; float32 rounds at about 1e-7."""
    return float(np.abs(np.asarray(a, np.float64) - b).max() / np.abs(b).max())


def compare_gradients(model, x, y):
    """Keras' gradient at the model's current weights beside the formula and finite differences."""
    x_train = x[np.newaxis, :, :, np.newaxis]  # (batch=1, height, width, channels=1)
    y_train = y[np.newaxis, :, :, np.newaxis]
    gradients = {
        "keras": keras_gradient(model, x_train, y_train),
        "formula": formula_gradient(model.layers[1].get_weights()[0], x, y),
        "finite_differences": finite_differences(model, x_train, y_train),
    }
    print("gradient of the MSE at the random start, dE/dw for w[0,0] .. w[2,2]:")
    for name, label in (
        ("keras", f"Keras ({keras.backend.backend()})"),
        ("formula", "formula 2/N P^T(Pw-y)"),
        ("finite_differences", "finite differences"),
    ):
        print(f"  {label:22s}" + "".join(f"{g:8.4f}" for g in gradients[name]))
    for name in ("formula", "finite_differences"):
        difference = relative_difference(gradients["keras"], gradients[name])
        gradients[f"{name}_relative_difference"] = difference
        gradients[f"{name}_agrees"] = difference < GRADIENT_TOLERANCE
        verdict = "agree" if difference < GRADIENT_TOLERANCE else "DIFFER"
        print(f"  Keras vs {name.replace('_', ' ')}: largest relative difference {difference:.1e}")
        print(f"    {verdict} (below {GRADIENT_TOLERANCE:g} is agreement: float32 keeps ~7 digits)")
    if not gradients["formula_agrees"]:
        print("  the formula holds for the slide's linear Conv2D without bias; this model differs")
    return gradients


# --- Train ---
def heavy_ball(big, small):
    """Learning rate, momentum and step count of heavy-ball momentum for a quadratic bowl."""
    kappa = big / small
    learning_rate = 4.0 / (math.sqrt(big) + math.sqrt(small)) ** 2
    rate = (math.sqrt(kappa) - 1.0) / (math.sqrt(kappa) + 1.0)  # error shrinks by this a step
    steps = math.ceil(1.5 * math.log(ERROR_SHRINK) / -math.log(rate))  # 1.5x: start-up margin
    return learning_rate, rate**2, steps


class RecordSteps(keras.callbacks.Callback):
    """After every epoch: the step count, Keras' logged loss (that epoch's mean), the kernel."""

    def __init__(self, layer, steps_per_epoch):
        super().__init__()
        self.layer, self.steps_per_epoch = layer, steps_per_epoch
        self.steps, self.losses = [], []
        self.kernels = [layer.get_weights()[0].reshape(3, 3)]  # the random start

    def on_epoch_end(self, epoch, logs=None):
        self.steps.append((epoch + 1) * self.steps_per_epoch)
        self.losses.append(float(logs["loss"]))  # the mean over this epoch's steps alone
        self.kernels.append(self.layer.get_weights()[0].reshape(3, 3))


def train(model, x, y, recipe="fast", epochs=None, verbose=0):
    """Compile and fit the model with one recipe; returns what Keras reported along the way."""
    x_train = x[np.newaxis, :, :, np.newaxis]  # (batch=1, height, width, channels=1)
    y_train = y[np.newaxis, :, :, np.newaxis]
    run = {"recipe": recipe, "steps_per_log": 1}
    if recipe == "fast":
        big, small = curvature(x)
        learning_rate, momentum, auto_steps = heavy_ball(big, small)
        epochs = epochs or auto_steps
        optimizer = keras.optimizers.SGD(learning_rate=learning_rate, momentum=momentum)
        # One step per epoch would cost Keras' bookkeeping at every step, so an "epoch" here is
        # STEPS_PER_CALL steps on the single sample, run in one call of the compiled step.
        per_call = 1 if keras.backend.backend() == "torch" else STEPS_PER_CALL  # torch: 1 only
        model.compile(optimizer=optimizer, loss="mse", steps_per_execution=per_call)
        fit_epochs = math.ceil(epochs / STEPS_PER_CALL)
        epochs = fit_epochs * STEPS_PER_CALL  # whole calls: the step count rounded up
        data = {
            "x": tf.data.Dataset.from_tensors((x_train, y_train)).repeat(),
            "steps_per_epoch": STEPS_PER_CALL,
        }
        run.update(kappa=big / small, learning_rate=learning_rate, momentum=momentum)
        run["steps_per_log"] = STEPS_PER_CALL
    else:  # the slide, as written: rmsprop, batch_size=1, one step per epoch
        epochs = epochs or SEMINAR_EPOCHS
        model.compile(optimizer="rmsprop", loss="mse")
        data = {"x": x_train, "y": y_train, "batch_size": 1}
        fit_epochs = epochs

    record = RecordSteps(model.layers[1], run["steps_per_log"])
    run["start_loss"] = float(model.evaluate(x_train, y_train, verbose=0))
    start = time.perf_counter()
    model.fit(**data, epochs=fit_epochs, shuffle=False, verbose=verbose, callbacks=[record])
    run["train_seconds"] = time.perf_counter() - start
    run["final_loss"] = float(model.evaluate(x_train, y_train, verbose=0))
    run["epochs"] = epochs
    run["steps"] = np.array(record.steps)
    run["losses"] = np.array(record.losses)
    run["kernels"] = np.array(record.kernels)
    return run


# --- Evaluate ---
def least_squares(x, y):
    """The exact best kernel: linear least squares of the patches against the target."""
    solution, *_ = np.linalg.lstsq(patches(x).astype(np.float64), y.reshape(-1), rcond=None)
    return solution.reshape(3, 3).astype(np.float32)


def print_kernels(kernel, learned):
    """The true kernel beside the learned one, row by row."""
    print("true kernel            learned kernel")
    for true_row, learned_row in zip(kernel, learned, strict=True):
        print(
            "  ".join(f"{v:6.2f}" for v in true_row)
            + "    "
            + "  ".join(f"{v:9.5f}" for v in learned_row)
        )


# --- Show it ---
def plot_training(plt, run, kernel, learned, title):
    """Keras' logged loss, how the nine weights moved, and the true and learned kernels."""
    fig = plt.figure(figsize=(14, 8))
    grid = fig.add_gridspec(2, 3)
    ax_loss = fig.add_subplot(grid[0, :2])
    per = run["steps_per_log"]
    logged = "loss of each step" if per == 1 else f"mean loss of each call of {per} steps"
    # A log after step s covers the weights from the call's first step to s - 1: plot it at
    # their middle (for one step per log, exactly the weights the loss was measured at).
    first = np.concatenate([[0], run["steps"][:-1]])
    middle = (first + run["steps"] - 1) / 2
    ax_loss.semilogy(middle, np.maximum(run["losses"], 1e-16), label=f"fit(): {logged}")
    ends = [run["start_loss"], run["final_loss"]]
    ax_loss.semilogy([0, run["epochs"]], np.maximum(ends, 1e-16), "o", label="evaluate()")
    ax_loss.set(xlabel="step", ylabel="MSE (log scale)", title="training loss, as Keras reports it")
    ax_loss.grid(True, which="both", alpha=0.3)
    ax_loss.legend()
    ax_path = fig.add_subplot(grid[1, :2])
    path_steps = np.concatenate([[0], run["steps"]])
    for index in range(9):
        row, col = divmod(index, 3)
        ax_path.plot(path_steps, run["kernels"][:, row, col], label=f"w[{row},{col}]")
        ax_path.axhline(kernel[row, col], color="gray", lw=0.5, ls=":")
    ax_path.set(xlabel="step", ylabel="weight", title="how the nine weights moved (dotted: true)")
    ax_path.legend(ncol=3, fontsize=8)
    limit = float(np.abs(kernel).max()) or 1.0
    error = float(np.abs(learned - kernel).max())
    for spot, (values, name) in enumerate([(kernel, title), (learned, f"max error {error:.1e}")]):
        ax = fig.add_subplot(grid[spot, 2])
        ax.imshow(values, cmap="RdBu_r", vmin=-limit, vmax=limit)
        for (row, col), value in np.ndenumerate(values):
            color = "white" if abs(value) > 0.6 * limit else "black"
            ax.text(col, row, f"{value:.3f}", ha="center", va="center", fontsize=11, color=color)
        ax.set_title(("true: " if spot == 0 else "learned: ") + name)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"Learning the forgotten kernel back ({run['recipe']} recipe)")
    fig.tight_layout()
    return fig


def parse_arguments(argv):
    """The shared flags, plus which kernel was forgotten and which recipe learns it back."""
    parser = make_parser(__doc__, image=True)
    parser.add_argument(
        "--kernel",
        choices=[*KERNELS, "random"],
        default="sobel-x",
        help="which kernel was forgotten (default: sobel-x)",
    )
    parser.add_argument(
        "--recipe",
        choices=["fast", "seminar"],
        default="fast",
        help="fast: momentum tuned to the image's curvature; seminar: the slide's rmsprop, "
        "batch 1, 15000 epochs (default: fast)",
    )
    # Not make_parser(epochs=...): the fast recipe has no fixed default, it picks its step
    # count from the image's curvature. A typed --epochs always wins, with --quick too.
    parser.add_argument(
        "--epochs",
        type=positive_int,
        default=None,
        help="training steps over the whole image (default: fast picks it from the image's "
        f"curvature, seminar uses {SEMINAR_EPOCHS}, {QUICK_SEMINAR_EPOCHS} with --quick)",
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_arguments(argv)

    # --- Prepare the data ---
    image, note = read_gray(args.image, max_side=QUICK_MAX_SIDE if args.quick else MAX_SIDE)
    out_dir = prepare_output_dir(args.output_dir)
    if note:
        print(note)
    if args.quick and args.recipe == "seminar" and args.epochs is None:
        args.epochs = QUICK_SEMINAR_EPOCHS
        print(f"--quick: the seminar's recipe is capped at {args.epochs} epochs")
    kernel = true_kernel(args.kernel, args.seed)
    x, y = make_training_pair(image, kernel)  # (height, width) each: input and desired output
    check_texture(x, args.image)
    print(f"forgotten kernel: {args.kernel}; image {x.shape[1]}x{x.shape[0]}, standardised")

    # --- Build the model, and look at the gradient Keras will follow ---
    model = build_model(args.seed)
    print(f"model: one Conv2D neuron, {model.count_params()} parameters, random start")
    gradients = compare_gradients(model, x, y)

    # --- Train ---
    run = train(model, x, y, args.recipe, args.epochs, verbose=1 if args.verbose else 0)
    if args.recipe == "fast":
        print(
            f"curvature: condition number kappa = {run['kappa']:.0f} -> learning rate "
            f"{run['learning_rate']:.3g}, momentum {run['momentum']:.4f}, {run['epochs']} steps"
        )
    print(f"trained {run['epochs']} steps in {run['train_seconds']:.2f} s ({args.recipe} recipe)")

    # --- Evaluate ---
    weights = model.layers[1].get_weights()  # the slide's model.layers[1].get_weights()
    learned = weights[0].reshape(3, 3)  # (3, 3, in_channels=1, filters=1) -> 3x3
    exact = least_squares(x, y)
    max_abs_error = float(np.abs(learned - kernel).max())
    lstsq_error = float(np.abs(exact - kernel).max())
    print_kernels(kernel, learned)
    if len(weights) > 1:  # a Conv2D with use_bias=True
        print(f"learned bias: {weights[1][0]:.2e}")
    print(f"max |learned - true|  gradient descent: {max_abs_error:.1e}")
    print(f"max |lstsq - true|    least squares:    {lstsq_error:.1e}  (the exact answer)")
    print(f"loss: {run['start_loss']:.3g} at the start -> {run['final_loss']:.3g} at the end")

    # --- Show it ---
    plt = pyplot(args.no_show)
    fig = plot_training(plt, run, kernel, learned, args.kernel)
    figure = save_figure(fig, out_dir / "ker3_learn_kernel.png")
    results = {
        "kernel_name": args.kernel,
        "true_kernel": kernel.tolist(),
        "learned_kernel": learned.tolist(),
        "learned_bias": [float(b) for b in weights[1]] if len(weights) > 1 else None,
        "lstsq_kernel": exact.tolist(),
        "max_abs_error": max_abs_error,
        "lstsq_max_abs_error": lstsq_error,
        "parameters": int(model.count_params()),
        "train_seconds": run["train_seconds"],
        "epochs": run["epochs"],
        "recipe": args.recipe,
        "start_loss": run["start_loss"],
        "final_loss": run["final_loss"],
        "condition_number": run.get("kappa"),
        **{f"gradient_{name}": np.asarray(value).tolist() for name, value in gradients.items()},
        "image": str(args.image or "grace_hopper.jpg"),
        "figure": str(figure),
    }
    print(f"results: {write_json(out_dir / 'ker3_learn_kernel.json', results)}")
    show(plt, args.no_show)


if __name__ == "__main__":
    run_lesson(main)
