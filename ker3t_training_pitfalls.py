"""Lesson 3t: what can go wrong while Keras learns: learning rate, local minimum, overfitting.

Slides "Ako to robí?" (the error function E(p) and its gradient), "Algoritmus (optimizer)" and
the three "Záludnosti": Presnosť (the learning rate), Uviaznutie v lokálnom minime (a local
minimum) and Preučenie (overfitting). Keras learns with the seminar's four-step algorithm:

    1. take random parameters p
    2. compute a change dp from the gradient of the error E(p)
    3. set p = p + dp
    4. stop when E(p) is small enough, else go to 2

Plain gradient descent takes dp = -learning_rate * gradient. This lesson shows its three traps:

- the learning rate: too small crawls, too large oscillates and diverges. On a quadratic with
  curvature L the limit is exactly 2/L. We show it on a 2-parameter bowl and on ker3's problem
  (a Conv2D learning the Sobel kernel back), whose L we compute from the image;
- a local minimum: plain GD stops in the nearer valley. As the slide says, the change of p must
  not follow the gradient alone: momentum (keras.optimizers.SGD(momentum=0.9)) keeps the speed
  it gathered and rolls over the hump; restarts from random points find the deeper valley too;
- overfitting: a big network threads through every noisy point; the validation error grows.
  Early stopping on the validation loss narrows the train/validation gap (for seeds 0, 1, 2
  and 4; with --seed 3 the noise is learned before the trend and it cannot). Dropout narrows it
  with the default seed, but on 12 points it is not dependable: try --seed 2 or 3.

Made to be changed in class: add a fourth entry to LR_FACTORS (say "just below": 0.95) and
it gets its own line, curve and JSON entry on both problems.

Run it:
    python ker3t_training_pitfalls.py                    # under a minute on 2 cores
    python ker3t_training_pitfalls.py --quick --no-show  # shorter runs, no window

It saves three figures (outputs/ker3t_learning_rate.png, ker3t_local_minimum.png,
ker3t_overfitting.png) and outputs/ker3t_training_pitfalls.json. Expect: the kernel's MSE falls
from 8.4 to about 2e-4 at the good rate (0.5 x 2/L), only to about 0.04 at the small one
(0.05 x 2/L), and explodes past 1e7 at 1.1 x 2/L; plain GD ends at p = 1.13 (the local minimum),
momentum and restarts at p = -1.30 (the global one); the train/validation gap is about 0.14
without a fix, about 0.06 with dropout and 0.05 with early stopping.
"""

import cv2
import numpy as np

from common.cli import make_parser
from common.errors import run_lesson
from common.figures import pyplot, save_figure, show
from common.images import read_gray
from common.paths import prepare_output_dir, write_json
from common.quiet_keras import keras, tf
from ker1_sobel_opencv import SOBEL_X
from ker3_learn_kernel import RecordSteps, curvature, make_training_pair

# This lesson is longer than the others (about 450 lines, not 350): it is three small lessons,
# one for each "Záludnosti" slide, each with its settings below, its section and its figure.

# --- Settings ---
LR_FACTORS = {"too small": 0.05, "good": 0.5, "too large": 1.1}  # times the limit 2/L
BOWL_CURVATURES = (5.0, 1.0)  # L and mu: the steepest and the flattest curvature of the bowl
BOWL_TILT_DEG = 30.0  # the bowl's valley is tilted, so the path has two directions to fix
BOWL_START = (-1.0, 2.0)
BOWL_STEPS = 30
KERNEL_STEPS, KERNEL_STEPS_QUICK = 300, 100
IMAGE_WIDTH = 64  # ker3's problem, shrunk so that each step takes a millisecond
KERNEL = SOBEL_X  # ker1's vertical-edge Sobel, to learn back as in ker3
DIVERGED = 1e6  # a loss this many times the starting loss counts as diverged: stop there

CURVE_START = 2.0  # where the descent on the 1-D curve starts: right of the hump
CURVE_LR, CURVE_STEPS, MOMENTUM = 0.01, 300, 0.9
RESTARTS, RESTART_RANGE = 8, (-2.5, 2.5)

NUM_POINTS, NOISE = 12, 0.2  # a few noisy samples of sin(pi x)
WIDTH, FIRST_LAYER_SCALE = 128, 30.0  # capacity: 128 tanh units with steep, sharp steps
STEPS_PER_EPOCH, EPOCHS, EPOCHS_QUICK = 10, 60, 40
DROPOUT, PATIENCE = 0.3, 5


# --- The seminar's algorithm: plain gradient descent, with optional momentum ---
def gradient_descent(grad, p0, learning_rate, steps, momentum=0.0):
    """Follow p = p + dp from p0; returns the path, shape (steps + 1, len(p0))."""
    p = np.atleast_1d(np.asarray(p0, np.float64)).copy()
    velocity = np.zeros_like(p)  # momentum keeps this share of the previous step
    path = [p.copy()]
    for _ in range(steps):
        velocity = momentum * velocity - learning_rate * grad(p)  # step 2: dp
        p = p + velocity  # step 3: p = p + dp (keras.optimizers.SGD does the same)
        path.append(p.copy())
        if not np.all(np.isfinite(p)) or np.abs(p).max() > 1e6:
            break  # diverged: no point in going on
    return np.array(path)


# --- Trap 1: the learning rate ---
def bowl_hessian(curvatures=BOWL_CURVATURES, tilt_deg=BOWL_TILT_DEG):
    """The 2x2 Hessian H of the bowl E(p) = 1/2 p^T H p, with eigenvalues L and mu."""
    a = np.deg2rad(tilt_deg)
    rotation = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return rotation @ np.diag(curvatures) @ rotation.T


def bowl_loss(hessian, p):
    """E(p) = 1/2 p^T H p for one point p (2,) or many points (..., 2)."""
    return 0.5 * np.einsum("...i,ij,...j->...", p, hessian, p)


def kernel_problem():
    """ker3's problem, small: a standardised photo and its Sobel-filtered version."""
    image, _ = read_gray()  # matplotlib's grace_hopper.jpg; 600x512
    height, width = image.shape
    size = (IMAGE_WIDTH, round(IMAGE_WIDTH * height / width))
    # Shrunk, not cropped: a 64x64 crop is mostly smooth, its patches are nearly alike and
    # L/mu is about 2600; the whole photo shrunk keeps its edges (L/mu about 210), so plain SGD
    # learns the kernel in a few hundred steps.
    image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return make_training_pair(image, KERNEL)  # standardised, and filtered with zero padding


class RecordUntilDiverged(RecordSteps):
    """ker3's record of the loss Keras logs after every step; stops once the loss exploded."""

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if not np.isfinite(self.losses[-1]) or self.losses[-1] > DIVERGED * self.losses[0]:
            self.model.stop_training = True  # diverged: stop, nothing more to learn


def train_kernel(image, target, learning_rate, steps, seed):
    """Plain SGD on a 3x3 Conv2D, one step per image; returns Keras' loss before every step.

    The last entry is the loss after the last step, from model.evaluate.
    """
    x_train = image[None, :, :, None]  # (batch, height, width, channels) = (1, H, W, 1)
    y_train = target[None, :, :, None]
    model = keras.Sequential(
        [
            keras.Input(shape=(None, None, 1)),
            keras.layers.Conv2D(1, (3, 3), use_bias=False, padding="same"),
        ]
    )
    start = np.random.default_rng(seed).normal(0.0, 0.05, (3, 3, 1, 1))  # step 1: random p
    model.layers[0].set_weights([start.astype(np.float32)])  # same start for every rate
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate), loss="mse")
    record = RecordUntilDiverged(model.layers[0], steps_per_epoch=1)
    train = tf.data.Dataset.from_tensors((x_train, y_train)).repeat()  # the same image each step
    # One step an "epoch", so Keras logs each step's own loss (its logs average over an epoch).
    model.fit(train, steps_per_epoch=1, epochs=steps, shuffle=False, verbose=0, callbacks=[record])
    losses = [*record.losses, model.evaluate(x_train, y_train, verbose=0)]
    learned = model.layers[0].get_weights()[0][:, :, 0, 0]
    return np.array(losses), learned


# --- Trap 2: stuck in a local minimum ---
def curve(p):
    """A 1-D error curve with a local minimum at p = 1.13 and the global one at p = -1.30."""
    return p**4 - 3 * p**2 + p


def curve_grad(p):
    """dE/dp of curve()."""
    return 4 * p**3 - 6 * p + 1


def curve_minima():
    """The two minima of curve(), from the roots of its derivative: (global, local)."""
    roots = np.sort(np.roots([4, 0, -6, 1]).real)  # minimum, hump, minimum
    minima = [roots[0], roots[2]]
    return tuple(sorted(minima, key=curve))


def which_minimum(p, tol=0.05):
    """'global', 'local' or 'neither' for the point where a descent stopped."""
    global_p, local_p = curve_minima()
    if abs(p - global_p) < tol:
        return "global"
    return "local" if abs(p - local_p) < tol else "neither"


def best_of_restarts(seed, restarts=RESTARTS):
    """Plain GD from several random starts; returns the starts, the ends and the best path."""
    starts = np.random.default_rng(seed).uniform(*RESTART_RANGE, restarts)
    paths = [gradient_descent(curve_grad, s, CURVE_LR, CURVE_STEPS)[:, 0] for s in starts]
    ends = np.array([path[-1] for path in paths])
    return starts, ends, paths[int(np.argmin(curve(ends)))]  # keep the lowest error


# --- Trap 3: overfitting ---
def noisy_points(seed):
    """A few noisy training points of sin(pi x), and many validation points of the same."""
    rng = np.random.default_rng(seed)
    x_train = np.sort(rng.uniform(-1, 1, NUM_POINTS)).astype(np.float32)[:, None]  # (12, 1)
    y_train = (np.sin(np.pi * x_train) + rng.normal(0, NOISE, x_train.shape)).astype(np.float32)
    x_val = np.linspace(-1, 1, 200, dtype=np.float32)[:, None]  # (200, 1)
    y_val = (np.sin(np.pi * x_val) + rng.normal(0, NOISE, x_val.shape)).astype(np.float32)
    return x_train, y_train, x_val, y_val


def build_model(dropout):
    """Too much capacity for 12 points: two layers of 128 tanh units, optional Dropout."""
    # Steep first-layer weights (std 30 for x in [-1, 1]) give every unit a sharp step at its
    # own place: the network can bend anywhere, enough to pass through every noisy point.
    steep = keras.initializers.RandomNormal(0.0, FIRST_LAYER_SCALE)
    layers = [
        keras.Input(shape=(1,)),
        keras.layers.Dense(
            WIDTH,
            activation="tanh",
            kernel_initializer=steep,
            bias_initializer=keras.initializers.RandomUniform(
                -FIRST_LAYER_SCALE, FIRST_LAYER_SCALE
            ),
        ),
        keras.layers.Dense(WIDTH, activation="tanh"),
        keras.layers.Dense(1),
    ]
    if dropout:
        layers.insert(2, keras.layers.Dropout(dropout))
        layers.insert(4, keras.layers.Dropout(dropout))
    model = keras.Sequential(layers)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.003), loss="mse")
    return model


def fit_points(data, epochs, seed, dropout=0.0, early_stopping=False):
    """Train on the noisy points; returns the history, the final gap and the fitted curve."""
    x_train, y_train, x_val, y_val = data
    keras.utils.set_random_seed(seed)
    model = build_model(dropout)
    callbacks = []
    if early_stopping:  # stop when the validation loss stops improving; keep the best weights
        callbacks.append(
            keras.callbacks.EarlyStopping(patience=PATIENCE, restore_best_weights=True)
        )
    train = tf.data.Dataset.from_tensors((x_train, y_train)).repeat()  # all 12 points a step
    history = model.fit(
        train,
        steps_per_epoch=STEPS_PER_EPOCH,
        epochs=epochs,
        validation_data=(x_val, y_val),
        callbacks=callbacks,
        shuffle=False,  # one full batch per step: nothing to shuffle
        verbose=0,
    )
    train_loss = model.evaluate(x_train, y_train, verbose=0)  # inference mode: no dropout
    val_loss = model.evaluate(x_val, y_val, verbose=0)
    return {
        "history": history.history,
        "train_loss": float(train_loss),
        "val_loss": float(val_loss),
        "gap": float(val_loss - train_loss),
        "epochs_run": len(history.history["loss"]),
        "best_val_epoch": int(np.argmin(history.history["val_loss"])) + 1,
        "fit": model.predict(x_val, verbose=0)[:, 0],
    }


# --- Figures: one per trap ---
def figure_learning_rate(plt, hessian, bowl_paths, kernel_runs, limit):
    """Paths over the bowl's contours, the bowl's losses and the kernel's losses."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    grid = np.linspace(-2.5, 2.5, 201)
    p1, p2 = np.meshgrid(grid, grid)
    surface = bowl_loss(hessian, np.stack([p1, p2], axis=-1))
    axes[0].contour(p1, p2, surface, levels=np.geomspace(0.02, 20, 12), cmap="Greys", alpha=0.7)
    for index, (name, path) in enumerate(bowl_paths.items()):
        color = f"C{index}"  # matplotlib's colour cycle: as many curves as LR_FACTORS has
        axes[0].plot(path[:, 0], path[:, 1], "o-", ms=3, color=color, label=name)
        axes[1].semilogy(bowl_loss(hessian, path), color=color, label=name)
    axes[0].set(xlim=(-2.5, 2.5), ylim=(-2.5, 2.5), aspect="equal", xlabel="p1", ylabel="p2")
    axes[0].plot(0, 0, "k+", ms=12)  # the minimum
    axes[0].set_title(
        f"bowl E(p) = 1/2 p^T H p, L = {BOWL_CURVATURES[0]:g}: 2/L = {2 / BOWL_CURVATURES[0]:g}"
    )
    axes[0].legend(loc="lower right", fontsize=8)
    axes[1].set(title="bowl: error by step", xlabel="step", ylabel="E(p)")
    for index, (name, run) in enumerate(kernel_runs.items()):
        label = f"{name}: lr = {run['learning_rate']:.3g}"
        axes[2].semilogy(run["losses"], color=f"C{index}", label=label)
    axes[2].set(title=f"ker3's Conv2D + SGD, 2/L = {limit:.3g}", xlabel="step", ylabel="MSE")
    for ax in axes[1:]:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def figure_local_minimum(plt, paths, starts, ends):
    """The 1-D curve with where each method went."""
    fig, ax = plt.subplots(figsize=(7.5, 4.6))
    p = np.linspace(-2.1, 2.3, 400)
    ax.plot(p, curve(p), color="black", lw=1)
    for index, (name, path) in enumerate(paths.items()):
        color = f"C{index}"
        ax.plot(path, curve(path), ".", ms=3, color=color, alpha=0.5)
        ax.plot(
            path[-1], curve(path[-1]), "o", ms=10, color=color, label=f"{name}: p = {path[-1]:.2f}"
        )
    ax.plot(starts, curve(starts), "x", color="grey", label="restarts: random starts")
    ax.plot(ends, curve(ends), "|", ms=14, color="grey")
    ax.set(xlabel="parameter p", ylabel="error E(p)", ylim=(-4, 8))
    ax.set_title("E(p) = p^4 - 3p^2 + p, all starting at p = 2 except the restarts")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def figure_overfitting(plt, data, runs):
    """Training against validation error by epoch, and the fitted curves."""
    x_train, y_train, x_val, _ = data
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.6))
    for index, (name, run) in enumerate(runs.items()):
        color = f"C{index}"
        epochs = np.arange(1, run["epochs_run"] + 1)
        axes[0].semilogy(epochs, run["history"]["loss"], "--", color=color, label=f"{name}: train")
        axes[0].semilogy(epochs, run["history"]["val_loss"], color=color, label=f"{name}: val")
        axes[1].plot(x_val[:, 0], run["fit"], color=color, label=f"{name}: gap {run['gap']:.3f}")
    stop = runs["early stopping"]["best_val_epoch"]
    color = f"C{list(runs).index('early stopping')}"  # the colour of the early-stopping curves
    axes[0].axvline(stop, color=color, lw=0.8, ls=":", label=f"early stopping keeps epoch {stop}")
    axes[0].axhline(NOISE**2, color="grey", lw=0.8, ls=":", label="noise variance")
    axes[0].set(title="error by epoch (train: as fit() logs it)", xlabel="epoch", ylabel="MSE")
    axes[1].plot(x_val[:, 0], np.sin(np.pi * x_val[:, 0]), ":", color="black", label="truth")
    axes[1].plot(x_train[:, 0], y_train[:, 0], "ko", label="training points")
    axes[1].set(title="what each model learned", xlabel="x", ylabel="y", ylim=(-2, 2))
    axes[0].legend(loc="lower left", fontsize=7, ncol=2)
    axes[1].legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


# --- The three traps, run and shown ---
def trap_learning_rate(plt, out, kernel_steps, seed):
    """Each rate in LR_FACTORS, on the bowl and on ker3's kernel; returns the JSON part."""
    hessian = bowl_hessian()
    bowl_L = float(np.linalg.eigvalsh(hessian)[-1])  # the steepest curvature
    bowl_paths, bowl_results = {}, {}
    print(
        f"Trap 1, the learning rate. Bowl with curvature L = {bowl_L:g}: "
        f"the limit is 2/L = {2 / bowl_L:g}"
    )
    for name, factor in LR_FACTORS.items():
        rate = factor * 2 / bowl_L
        path = gradient_descent(lambda p: hessian @ p, BOWL_START, rate, BOWL_STEPS)
        bowl_paths[name] = path
        losses = bowl_loss(hessian, path)
        bowl_results[name] = {
            "learning_rate": rate,
            "final_loss": float(losses[-1]),
            "diverged": bool(losses[-1] > losses[0]),
        }
        print(f"  {name:9s} lr = {rate:.3f}: E {losses[0]:.3g} -> {losses[-1]:.3g}")

    # ker3's kernel, the same rates relative to its own 2/L
    image, target = kernel_problem()
    L, mu = curvature(image)  # ker3's: the extreme curvatures of the MSE over the 9 weights
    height, width = image.shape
    print(f"ker3's kernel on a {width}x{height} photo: L = {L:.3g}, 2/L = {2 / L:.3g}")
    kernel_runs = {}
    for name, factor in LR_FACTORS.items():
        rate = factor * 2 / L
        losses, learned = train_kernel(image, target, rate, kernel_steps, seed)
        kernel_runs[name] = {
            "learning_rate": float(rate),
            "losses": losses,
            "final_loss": float(losses[-1]),
            "steps": len(losses) - 1,
            "diverged": bool(losses[-1] > losses[0]),
            "max_kernel_error": float(np.abs(learned - KERNEL).max()),
        }
        verdict = "DIVERGED, stopped" if kernel_runs[name]["diverged"] else "ends"
        print(
            f"  {name:9s} lr = {rate:.4f}: MSE {losses[0]:.3g} -> {losses[-1]:.3g} "
            f"({verdict} after {len(losses) - 1} steps)"
        )
    fig = figure_learning_rate(plt, hessian, bowl_paths, kernel_runs, 2 / L)
    save_figure(fig, out / "ker3t_learning_rate.png")
    print("  The figure: below 2/L the error falls (slowly when too small); above it, it explodes.")
    kernel_results = {
        k: {m: v for m, v in r.items() if m != "losses"} for k, r in kernel_runs.items()
    }
    return {
        "bowl": {"L": bowl_L, "runs": bowl_results},
        "kernel": {
            "L": float(L),
            "mu": float(mu),
            "limit_2_over_L": float(2 / L),
            "runs": kernel_results,
        },
    }


def trap_local_minimum(plt, out, seed):
    """Plain GD, momentum and restarts on the two-valley curve; returns the JSON part."""
    global_p, local_p = curve_minima()
    print("\nTrap 2, the local minimum: E(p) = p^4 - 3p^2 + p has its global minimum at")
    print(
        f"  p = {global_p:.2f}, a local one at p = {local_p:.2f}. GD starts at p = {CURVE_START}."
    )
    curve_paths = {
        "plain GD": gradient_descent(curve_grad, CURVE_START, CURVE_LR, CURVE_STEPS)[:, 0],
        f"momentum {MOMENTUM}": gradient_descent(
            curve_grad, CURVE_START, CURVE_LR, CURVE_STEPS, momentum=MOMENTUM
        )[:, 0],
    }
    starts, ends, curve_paths[f"best of {RESTARTS} restarts"] = best_of_restarts(seed)
    results = {"global_minimum": global_p, "local_minimum": local_p}
    for name, path in curve_paths.items():
        end = float(path[-1])
        stop = {"p": end, "E": float(curve(end)), "minimum": which_minimum(end)}
        results[name] = stop
        where = stop["minimum"]
        print(f"  {name:18s} ends at p = {end:6.2f}, E = {stop['E']:6.2f}: {where} minimum")
    fig = figure_local_minimum(plt, curve_paths, starts, ends)
    save_figure(fig, out / "ker3t_local_minimum.png")
    print("  The figure: plain GD rolls into the nearer valley; momentum carries over the hump.")
    return results


def trap_overfitting(plt, out, epochs, seed):
    """The big network with no fix, with dropout and with early stopping; the JSON part."""
    data = noisy_points(seed)
    print(f"\nTrap 3, overfitting: {NUM_POINTS} noisy points, {epochs} epochs", end=" ")
    print(f"of {STEPS_PER_EPOCH} steps")
    runs = {
        "no fix": fit_points(data, epochs, seed),
        f"dropout {DROPOUT}": fit_points(data, epochs, seed, dropout=DROPOUT),
        "early stopping": fit_points(data, epochs, seed, early_stopping=True),
    }
    results = {}
    for name, run in runs.items():
        results[name] = {
            k: run[k] for k in ("train_loss", "val_loss", "gap", "epochs_run", "best_val_epoch")
        }
        print(
            f"  {name:14s} train {run['train_loss']:.4f}  validation {run['val_loss']:.4f}  "
            f"gap {run['gap']:.4f}  ({run['epochs_run']} epochs)"
        )
    fig = figure_overfitting(plt, data, runs)
    save_figure(fig, out / "ker3t_overfitting.png")
    print("  The figure: training error keeps falling while validation error climbs. Early")
    print("  stopping keeps the epoch with the best validation error: a bigger training error,")
    print("  better predictions. (Dropout helps with this seed; with --seed 2 or 3 it does not.)")
    return results


def main(argv=None):
    parser = make_parser(__doc__, epochs=(EPOCHS, EPOCHS_QUICK))
    args = parser.parse_args(argv)
    out = prepare_output_dir(args.output_dir)
    kernel_steps = KERNEL_STEPS_QUICK if args.quick else KERNEL_STEPS
    plt = pyplot(args.no_show)

    results = {"lr_factors_of_2_over_L": LR_FACTORS}
    results["learning_rate"] = trap_learning_rate(plt, out, kernel_steps, args.seed)
    results["local_minimum"] = trap_local_minimum(plt, out, args.seed)
    results["overfitting"] = trap_overfitting(plt, out, args.epochs, args.seed)

    write_json(out / "ker3t_training_pitfalls.json", results)
    print(f"results: {out / 'ker3t_training_pitfalls.json'}")
    show(plt, args.no_show)


if __name__ == "__main__":
    run_lesson(main)
