"""Lesson 3: reconstruct the "forgotten" kernel by gradient descent.

Slides "V čom je rozdiel?", "Skúsme „zabudnutý“ kernel rekonštruovať" and "Funguje to!":
suppose we forgot which kernel the Sobel operator uses and only have an image and the
desired output. Start a Conv2D(1, (3, 3)) from random weights, measure the error (MSE),
follow its gradient, repeat: Keras finds the kernel again.

Why the recipe matters. A Conv2D without bias is linear in its 9 weights, so the MSE is a
quadratic bowl whose curvature is set by the image: its Hessian is 2x the covariance of
the image's 3x3 patches. On a photo neighbouring pixels are alike, so the bowl is thousands
of times steeper in some directions than in others (the condition number kappa). The
`fast` recipe reads the curvature off the image and picks the learning rate and momentum
that suit it (heavy-ball momentum); the slide's `seminar` recipe (rmsprop, 15000 epochs)
still misses the kernel after minutes. Linear least squares gives the exact answer in one
step: the ceiling that gradient descent approaches.

Run it:
    python ker3_learn_kernel.py                       # forget sobel-x, learn it back
    python ker3_learn_kernel.py --kernel laplace      # sobel-y, scharr-x, laplace, random
    python ker3_learn_kernel.py --recipe seminar --epochs 1500   # the slide's recipe, capped
    python ker3_learn_kernel.py --quick               # a smaller image for a live demo

What a run prints: the learned kernel beside the true one, with a largest error of about
1e-5 (the target is 1e-3) after about 500 steps and 1-2 s of training, and the least-squares
answer's error (about 1e-7). Figures: outputs/ker3_learn_kernel.png; numbers:
outputs/ker3_learn_kernel.json.
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

KERNELS = {
    "sobel-x": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "sobel-y": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "scharr-x": [[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]],
    "laplace": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
}
MAX_SIDE = 256  # nine weights don't need a 24-megapixel photo: 256 px give 50,000 equations
QUICK_MAX_SIDE = 128
STEPS_PER_CALL = 10  # training steps Keras runs per call of its compiled step function
SEMINAR_EPOCHS = 15000  # the slide's model.fit(..., epochs=15000)
QUICK_SEMINAR_EPOCHS = 300  # --quick caps the seminar's recipe for a live demo
MIN_INVERSE_KAPPA = 1e-7  # flatter than this and some kernel directions are invisible
ERROR_SHRINK = 1e5  # the fast recipe runs long enough to shrink the weight error 10^5-fold


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


def heavy_ball(big, small):
    """Learning rate, momentum and step count of heavy-ball momentum for a quadratic bowl."""
    kappa = big / small
    learning_rate = 4.0 / (math.sqrt(big) + math.sqrt(small)) ** 2
    rate = (math.sqrt(kappa) - 1.0) / (math.sqrt(kappa) + 1.0)  # error shrinks by this a step
    steps = math.ceil(1.5 * math.log(ERROR_SHRINK) / -math.log(rate))  # 1.5x: start-up margin
    return learning_rate, rate**2, steps


def least_squares(x, y):
    """The exact best kernel: linear least squares of the patches against the target."""
    solution, *_ = np.linalg.lstsq(patches(x).astype(np.float64), y.reshape(-1), rcond=None)
    return solution.reshape(3, 3).astype(np.float32)


def mse_of(kernels, x, y):
    """The training loss (MSE) of each recorded kernel, recomputed in float64."""
    p = patches(x).astype(np.float64)
    flat = kernels.reshape(len(kernels), 9)
    # 256 kernels at a time: the seminar recipe records 15,001, and all of them at once
    # would need several GB for the residuals of a 256-px image.
    blocks = [flat[i : i + 256] @ p.T - y.reshape(1, -1) for i in range(0, len(flat), 256)]
    return np.concatenate([np.mean(block**2, axis=1) for block in blocks])


def learn_kernel(tf, keras, x, y, recipe="fast", epochs=None, seed=0, verbose=0):
    """Train a fresh Conv2D(1, (3, 3)) to map x to y.

    Returns (learned kernel, recorded kernels, the step of each record, info).
    """
    keras.utils.set_random_seed(seed)
    x_train = x[np.newaxis, :, :, np.newaxis]  # (batch=1, height, width, channels=1)
    y_train = y[np.newaxis, :, :, np.newaxis]

    # --- Build the model: the slide's single neuron with a 3x3 kernel, random start ---
    inp = keras.Input(shape=(None, None, 1))
    out = keras.layers.Conv2D(
        1, (3, 3), kernel_initializer="random_normal", use_bias=False, padding="same"
    )(inp)
    model = keras.Model(inputs=inp, outputs=out)
    conv = model.layers[1]

    info = {"recipe": recipe}
    if recipe == "fast":
        big, small = curvature(x)
        learning_rate, momentum, auto_steps = heavy_ball(big, small)
        epochs = epochs or auto_steps
        optimizer = keras.optimizers.SGD(learning_rate=learning_rate, momentum=momentum)
        # Keras spends tens of ms of bookkeeping per epoch and a few per call, so all steps
        # run in one epoch (the single sample, repeated) and STEPS_PER_CALL steps per call.
        model.compile(optimizer=optimizer, loss="mse", steps_per_execution=STEPS_PER_CALL)
        data = {"x": tf.data.Dataset.from_tensors((x_train, y_train)).repeat(epochs)}
        fit_epochs, record_every = 1, STEPS_PER_CALL
        info.update(kappa=big / small, learning_rate=learning_rate, momentum=momentum)
    else:  # the slide, as written: rmsprop, batch_size=1, one step per epoch
        epochs = epochs or SEMINAR_EPOCHS
        model.compile(optimizer="rmsprop", loss="mse")
        data = {"x": x_train, "y": y_train, "batch_size": 1}
        fit_epochs, record_every = epochs, 1

    # --- Train ---
    history = [conv.get_weights()[0].reshape(3, 3)]

    class RecordWeights(keras.callbacks.Callback):
        """Keep the 9 weights as they move, for the loss curve and the weight paths."""

        def on_train_batch_end(self, batch, logs=None):
            history.append(conv.get_weights()[0].reshape(3, 3))

    start = time.perf_counter()
    model.fit(
        **data, epochs=fit_epochs, shuffle=False, verbose=verbose, callbacks=[RecordWeights()]
    )
    info["train_seconds"] = time.perf_counter() - start
    info["epochs"] = epochs
    steps = np.minimum(np.arange(len(history)) * record_every, epochs)
    return conv.get_weights()[0].reshape(3, 3), np.array(history), steps, info


def main(argv=None):
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
    parser.add_argument(
        "--epochs",
        type=positive_int,
        default=None,
        help="training steps over the whole image (default: fast picks it from the image's "
        f"curvature, seminar uses {SEMINAR_EPOCHS})",
    )
    args = parser.parse_args(argv)

    # --- Prepare the data ---
    image, note = read_gray(args.image, max_side=QUICK_MAX_SIDE if args.quick else MAX_SIDE)
    out_dir = prepare_output_dir(args.output_dir)
    if note:
        print(note)
    if args.quick and args.recipe == "seminar" and args.epochs is None:
        args.epochs = QUICK_SEMINAR_EPOCHS
        print(f"--quick: the seminar's recipe is capped at {args.epochs} epochs")
    kernel = true_kernel(args.kernel, args.seed)
    x, y = make_training_pair(image, kernel)
    big, small = curvature(x)
    if small <= big * MIN_INVERSE_KAPPA:
        raise LessonError(
            f"{args.image} has too little texture to pin down 9 weights (condition number "
            f"{big / max(small, 1e-300):.0e}); try a photo with more detail"
        )
    print(f"forgotten kernel: {args.kernel}; image {x.shape[1]}x{x.shape[0]}, standardised")

    from common.tf_quiet import import_keras

    tf, keras = import_keras(args.verbose)

    # --- Train ---
    learned, history, steps, info = learn_kernel(
        tf, keras, x, y, args.recipe, args.epochs, args.seed, verbose=1 if args.verbose else 0
    )
    exact = least_squares(x, y)
    max_abs_error = float(np.abs(learned - kernel).max())
    lstsq_error = float(np.abs(exact - kernel).max())
    losses = mse_of(history, x, y)

    # --- Evaluate ---
    if args.recipe == "fast":
        print(
            f"curvature: condition number kappa = {info['kappa']:.0f} -> learning rate "
            f"{info['learning_rate']:.3g}, momentum {info['momentum']:.4f}, {info['epochs']} steps"
        )
    print(f"trained {info['epochs']} steps in {info['train_seconds']:.2f} s ({args.recipe} recipe)")
    print("true kernel            learned kernel")
    for true_row, learned_row in zip(kernel, learned, strict=True):
        print(
            "  ".join(f"{v:6.2f}" for v in true_row)
            + "    "
            + "  ".join(f"{v:9.5f}" for v in learned_row)
        )
    print(f"max |learned - true|  gradient descent: {max_abs_error:.1e}")
    print(f"max |lstsq - true|    least squares:    {lstsq_error:.1e}  (the exact answer)")
    print(f"loss: {losses[0]:.3g} at the start -> {losses[-1]:.3g} at the end")

    # --- Show it ---
    plt = pyplot(args.no_show)
    fig = plt.figure(figsize=(14, 8))
    grid = fig.add_gridspec(2, 3)
    ax_loss = fig.add_subplot(grid[0, :2])
    ax_loss.semilogy(steps, np.maximum(losses, 1e-16))
    ax_loss.set(xlabel="step", ylabel="MSE (log scale)", title="training loss")
    ax_loss.grid(True, which="both", alpha=0.3)
    ax_path = fig.add_subplot(grid[1, :2])
    for index in range(9):
        row, col = divmod(index, 3)
        ax_path.plot(steps, history[:, row, col], label=f"w[{row},{col}]")
        ax_path.axhline(kernel[row, col], color="gray", lw=0.5, ls=":")
    ax_path.set(xlabel="step", ylabel="weight", title="how the nine weights moved (dotted: true)")
    ax_path.legend(ncol=3, fontsize=8)
    limit = float(np.abs(kernel).max()) or 1.0
    for spot, (values, title) in enumerate(
        [(kernel, f"true: {args.kernel}"), (learned, f"learned: max error {max_abs_error:.1e}")]
    ):
        ax = fig.add_subplot(grid[spot, 2])
        ax.imshow(values, cmap="RdBu_r", vmin=-limit, vmax=limit)
        for (row, col), value in np.ndenumerate(values):
            color = "white" if abs(value) > 0.6 * limit else "black"
            ax.text(col, row, f"{value:.3f}", ha="center", va="center", fontsize=11, color=color)
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"Learning the forgotten kernel back ({args.recipe} recipe)")
    fig.tight_layout()
    figure = save_figure(fig, out_dir / "ker3_learn_kernel.png")
    results = {
        "kernel_name": args.kernel,
        "true_kernel": kernel.tolist(),
        "learned_kernel": learned.tolist(),
        "lstsq_kernel": exact.tolist(),
        "max_abs_error": max_abs_error,
        "lstsq_max_abs_error": lstsq_error,
        "train_seconds": info["train_seconds"],
        "epochs": info["epochs"],
        "recipe": args.recipe,
        "final_loss": float(losses[-1]),
        "condition_number": info.get("kappa"),
        "image": str(args.image or "grace_hopper.jpg"),
        "figure": str(figure),
    }
    print(f"results: {write_json(out_dir / 'ker3_learn_kernel.json', results)}")
    show(plt, args.no_show)


if __name__ == "__main__":
    run_lesson(main)
