# %% [markdown]
# # Lesson 3t: what can go wrong while Keras learns: the learning rate, a local minimum, overfitting
#
# **Slides:** „Ako to robí?“ (how does it do it?: the error function $E(p)$ and its
# gradient), „Algoritmus (optimizer)“ (the algorithm), and the three „Záludnosti“ (pitfalls):
# „Presnosť“ (precision: the learning rate), „Uviaznutie v lokálnom minime“ (getting stuck in a
# local minimum) and „Preučenie (overfitting)“.
#
# Keras learns with the seminar's four-step algorithm:
#
# 1. take random parameters $p$;
# 2. compute a change $\Delta p$ from the gradient of the error $E(p)$;
# 3. set $p = p + \Delta p$;
# 4. stop when $E(p)$ is small enough, else go to 2.
#
# Plain gradient descent takes $\Delta p = -\text{learning rate} \cdot \nabla E(p)$. This
# lesson shows its three traps, one section and one figure each.
#
# **What you will see:**
#
# - the learning rate: too small crawls, too large oscillates and diverges. On a quadratic with
#   curvature $L$ the limit is exactly $2/L$: on a 2-parameter bowl, and on lesson 3's problem
#   (a Conv2D learning the Sobel kernel back), whose $L$ we compute from the image;
# - a local minimum: plain gradient descent stops in the nearer valley. As the slide says, the
#   change of $p$ must not follow the gradient alone: momentum keeps the speed it gathered and
#   rolls over the hump; restarts from random points find the deeper valley too;
# - overfitting: a big network threads through every noisy point, and its validation error
#   grows. Early stopping on the validation loss and dropout are the two fixes we try; on 12
#   points, how well each works depends on the seed (try `--seed 2` or `--seed 3`).
#
# **Made to be changed in class:** add a fourth entry to `LR_FACTORS` (say `"just below": 0.95`)
# and it gets its own line, curve and JSON entry on both problems.
#
# **Run it:** `python ker3t_training_pitfalls.py` (shorter runs: `--quick`; all flags:
# `--help`), or open this file as a notebook and run the cells in order.

# %% [markdown]
# ## Settings
#
# In a notebook, edit them here; on the command line, each is a flag.

# %%
from common.lesson import lesson_settings, positive_int, seed_value, setting

settings = lesson_settings(
    "Lesson 3t: what can go wrong while Keras learns",
    keras=True,
    kernel_steps=setting(
        300, "SGD steps on lesson 3's kernel, at each learning rate", quick=100, type=positive_int
    ),
    epochs=setting(
        60, "epochs of 10 steps for the overfitting network", quick=40, type=positive_int
    ),
    seed=setting(0, "random seed: starts, restarts, noisy points, networks", type=seed_value),
)

# %% [markdown]
# ## Setup

# %%
from common.keras_setup import start_keras

start_keras(settings.verbose)
import cv2
import keras
import matplotlib.pyplot as plt
import numpy as np

from common.files import (
    FIGURE_STYLE,
    prepare_output_dir,
    read_gray,
    save_figure,
    show_figures,
    verdict,
    write_json,
)
from common.lesson import LessonError

plt.style.use(FIGURE_STYLE)  # one style for every lesson's figures
output_dir = prepare_output_dir(settings.output_dir)

# %% [markdown]
# ## The seminar's algorithm
#
# Slide „Algoritmus (optimizer)“, steps 2 and 3, with an optional momentum: the change keeps
# `momentum` times the previous change, so a descent that gathered speed keeps some of it.
# `keras.optimizers.SGD(learning_rate, momentum)` takes the same steps.


# %%
def gradient_descent(grad, p0, learning_rate, steps, momentum=0.0):
    """Follow p = p + dp from p0; returns the path, shape (steps + 1, len(p0))."""
    p = np.atleast_1d(np.asarray(p0, np.float64)).copy()  # step 1: the start
    velocity = np.zeros_like(p)  # momentum keeps this share of the previous step
    path = [p.copy()]
    for _ in range(steps):
        velocity = momentum * velocity - learning_rate * grad(p)  # step 2: dp
        p = p + velocity  # step 3: p = p + dp
        path.append(p.copy())
        if not np.all(np.isfinite(p)) or np.abs(p).max() > 1e6:
            break  # diverged: no point in going on
    return np.array(path)


# %% [markdown]
# ## Trap 1, the learning rate: a bowl
#
# Slide „Presnosť“: we know the right direction, but not how far to go. On a bowl
# $E(p) = \frac{1}{2} p^T H p$ a step multiplies the error along each axis of $H$ by
# $(1 - \text{rate} \cdot \text{curvature})$: it shrinks only while the rate is below
# $2/L$, where $L$ is the steepest curvature. `LR_FACTORS` are rates as shares of that limit.

# %%
LR_FACTORS = {"too small": 0.05, "good": 0.5, "too large": 1.1}  # times the limit 2/L
BOWL_CURVATURES = (5.0, 1.0)  # L and mu: the steepest and the flattest curvature of the bowl
BOWL_TILT_DEG = 30.0  # the bowl's valley is tilted, so the path has two directions to fix
BOWL_START = (-1.0, 2.0)
BOWL_STEPS = 30


def bowl_hessian(curvatures=BOWL_CURVATURES, tilt_deg=BOWL_TILT_DEG):
    """The 2x2 Hessian H of the bowl E(p) = 1/2 p^T H p, with eigenvalues L and mu."""
    a = np.deg2rad(tilt_deg)
    rotation = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return rotation @ np.diag(curvatures) @ rotation.T


def bowl_loss(hessian, p):
    """E(p) = 1/2 p^T H p for one point p (2,) or many points (..., 2)."""
    return 0.5 * np.einsum("...i,ij,...j->...", p, hessian, p)


hessian = bowl_hessian()
bowl_L = float(np.linalg.eigvalsh(hessian)[-1])  # the steepest curvature
print(
    f"Trap 1, the learning rate. Bowl with curvature L = {bowl_L:g}: "
    f"the limit is 2/L = {2 / bowl_L:g}"
)
bowl_paths, bowl_results = {}, {}
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

# %% [markdown]
# ## Trap 1 on lesson 3's problem
#
# Lesson 3 learns a Sobel kernel back with a `Conv2D`. Its error is a bowl too, with the
# Hessian $\frac{2}{N} P^T P$, where row $n$ of $P$ is the 3×3 neighbourhood of pixel $n$
# (5×5 for a 5×5 `KERNEL`: any square of odd size works): the image sets $L$. The photo is
# shrunk (not cropped: a small crop is mostly smooth, its patches nearly alike), so each step
# takes a millisecond.

# %%
KERNEL = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32)  # Sobel-x, lessons 1-3
IMAGE_WIDTH = 64


def kernel_problem():
    """Lesson 3's problem, small: the photo shrunk and standardised, and its Sobel-x output."""
    image, _ = read_gray()  # matplotlib's grace_hopper.jpg
    height, width = image.shape
    image = cv2.resize(
        image, (IMAGE_WIDTH, round(IMAGE_WIDTH * height / width)), interpolation=cv2.INTER_AREA
    )
    x = ((image - image.mean()) / (image.std() + 1e-8)).astype(np.float32)
    return x, cv2.filter2D(x, cv2.CV_32F, KERNEL, borderType=cv2.BORDER_CONSTANT)


def curvature(x, size=3):
    """(L, mu): the steepest and flattest curvature of the kernel's MSE, from 2/N P^T P."""
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(x, size // 2), (size, size))
    rows = windows.reshape(-1, size * size)  # P: one row per pixel
    eigenvalues = np.linalg.eigvalsh(2.0 * rows.T.astype(np.float64) @ rows / len(rows))
    return float(eigenvalues[-1]), float(eigenvalues[0])


if KERNEL.shape != (len(KERNEL), len(KERNEL)) or len(KERNEL) % 2 == 0:
    raise LessonError(f"KERNEL is {KERNEL.shape}: it must be square, of odd size (3x3, 5x5)")
image, target = kernel_problem()
L, mu = curvature(image, size=len(KERNEL))
height, width = image.shape
print(f"ker3's kernel on a {width}x{height} photo: L = {L:.3g}, 2/L = {2 / L:.3g}")

# %% [markdown]
# The same rates, as shares of this problem's $2/L$, in Keras: the slide's one-neuron
# `Conv2D`, plain `SGD`, one step per epoch so that `fit()` logs every step's loss. Every rate
# starts from the same random kernel. A run whose loss explodes stops there.

# %%
DIVERGED = 1e6  # a loss this many times the first one counts as diverged: stop there


class StopWhenDiverged(keras.callbacks.Callback):
    """Stop training once the loss Keras logged is not finite or DIVERGED times the first."""

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 0:
            self.first = logs["loss"]
        if not np.isfinite(logs["loss"]) or logs["loss"] > DIVERGED * self.first:
            self.model.stop_training = True  # diverged: nothing more to learn


def train_kernel(image, target, learning_rate, steps, seed):
    """Plain SGD on a 3x3 Conv2D, one step per epoch; Keras' loss before every step, the kernel.

    The last loss is the loss after the last step, from model.evaluate.
    """
    x_train = image[None, :, :, None]  # (batch, height, width, channels) = (1, H, W, 1)
    y_train = target[None, :, :, None]  # the slide's batch / data / channel
    size = len(KERNEL)  # 3: the slide's Conv2D(1, (3, 3))
    model = keras.Sequential(
        [
            keras.Input(shape=(None, None, 1)),
            keras.layers.Conv2D(1, (size, size), use_bias=False, padding="same"),
        ]
    )
    start = np.random.default_rng(seed).normal(0.0, 0.05, (size, size, 1, 1))  # step 1: random p
    model.layers[0].set_weights([start.astype(np.float32)])  # the same start for every rate
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate), loss="mse")
    history = model.fit(
        x_train,  # the same image each step
        y_train,
        batch_size=1,  # one image, so one step an epoch: Keras logs each step's own loss
        epochs=steps,
        shuffle=False,
        verbose=0,
        callbacks=[StopWhenDiverged()],
    )
    losses = [*history.history["loss"], model.evaluate(x_train, y_train, verbose=0)]
    return np.array(losses), model.layers[0].get_weights()[0][:, :, 0, 0]


kernel_runs = {}
for name, factor in LR_FACTORS.items():
    rate = factor * 2 / L
    losses, learned = train_kernel(image, target, rate, settings.kernel_steps, settings.seed)
    kernel_runs[name] = {
        "learning_rate": float(rate),
        "losses": losses,
        "final_loss": float(losses[-1]),
        "steps": len(losses) - 1,
        "diverged": bool(losses[-1] > losses[0]),
        "max_kernel_error": float(np.abs(learned - KERNEL).max()),
    }
    outcome = "DIVERGED, stopped" if kernel_runs[name]["diverged"] else "ends"
    print(
        f"  {name:9s} lr = {rate:.4f}: MSE {losses[0]:.3g} -> {losses[-1]:.3g} "
        f"({outcome} after {len(losses) - 1} steps)"
    )

# %% [markdown]
# The paths over the bowl's contours, and the error by step on both problems. The title says
# whether this run kept to the limit: every rate below $2/L$ ended lower than it started, every
# rate above it higher.


# %%
def as_the_limit_says(runs, factors):
    """True when every rate below 2/L ended lower than it started, and every one above higher."""
    return all(run["diverged"] == (factors[name] > 1) for name, run in runs.items())


def figure_learning_rate(hessian, bowl_paths, bowl_results, kernel_runs, limit):
    """Paths over the bowl's contours, the bowl's losses and the kernel's losses."""
    fig, axes = plt.subplots(1, 3, figsize=(16, 6), layout="constrained")
    grid = np.linspace(-2.5, 2.5, 201)
    p1, p2 = np.meshgrid(grid, grid)
    surface = bowl_loss(hessian, np.stack([p1, p2], axis=-1))
    axes[0].contour(p1, p2, surface, levels=np.geomspace(0.02, 20, 12), cmap="Greys", alpha=0.7)
    for index, (name, path) in enumerate(bowl_paths.items()):
        color = f"C{index}"  # matplotlib's colour cycle: as many curves as LR_FACTORS has
        axes[0].plot(path[:, 0], path[:, 1], "o-", ms=3, color=color, label=name)
        axes[1].semilogy(bowl_loss(hessian, path), color=color, label=name)
    axes[0].set(xlim=(-2.5, 2.5), ylim=(-2.5, 2.5), aspect="equal", xlabel="$p_1$", ylabel="$p_2$")
    axes[0].plot(0, 0, "k+", ms=12)  # the minimum
    axes[0].plot(*BOWL_START, "ks", mfc="none", ms=9, label=f"start {BOWL_START}")
    L = float(np.linalg.eigvalsh(hessian)[-1])
    axes[0].set_title(rf"bowl $E(p) = \frac{{1}}{{2}} p^T H p$, $L$ = {L:g}, $2/L$ = {2 / L:g}")
    axes[1].set(title="bowl: error by step", xlabel="step", ylabel="$E(p)$")
    for index, (name, run) in enumerate(kernel_runs.items()):
        label = f"{name}: lr = {run['learning_rate']:.3g}"
        axes[2].semilogy(run["losses"], color=f"C{index}", label=label)
    axes[2].set(title=f"ker3's Conv2D + SGD, $2/L$ = {limit:.3g}", xlabel="step", ylabel="MSE")
    for ax in axes:  # below the plots, where they cover no path or curve
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
    right = as_the_limit_says(bowl_results, LR_FACTORS) and as_the_limit_says(
        kernel_runs, LR_FACTORS
    )
    said = "falls below $2/L$ and grows above it" if right else "does not keep to $2/L$"
    fig.suptitle(
        f"{verdict(right)['mark']} On both problems the error {said}",
        color=verdict(right)["color"],
    )
    return fig


save_figure(
    figure_learning_rate(hessian, bowl_paths, bowl_results, kernel_runs, 2 / L),
    output_dir / "ker3t_training_pitfalls_learning_rate.png",
)
if as_the_limit_says(bowl_results, LR_FACTORS) and as_the_limit_says(kernel_runs, LR_FACTORS):
    print("  The figure: below 2/L the error falls (slowly when too small); above it, it explodes.")
else:
    print("  The figure: this run does not keep to the limit 2/L; see which rate differs.")

# %% [markdown]
# ## Trap 2, stuck in a local minimum
#
# Slide „Uviaznutie v lokálnom minime“: the change of the parameters cannot follow the
# gradient alone. On a curve with two valleys, plain gradient descent started on the right
# rolls into the nearer valley and stays. Momentum (`keras.optimizers.SGD(momentum=0.9)`)
# carries it over the hump; starting again from random points and keeping the best end also
# finds the deeper valley.

# %%
CURVE_START = 2.0  # where the descent on the curve starts: right of the hump
CURVE_LR, CURVE_STEPS, MOMENTUM = 0.01, 300, 0.9
RESTARTS, RESTART_RANGE = 8, (-2.5, 2.5)


def curve(p):
    """A 1-D error curve with a local minimum at p = 1.13 and the global one at p = -1.30."""
    return p**4 - 3 * p**2 + p


def curve_grad(p):
    """dE/dp of curve()."""
    return 4 * p**3 - 6 * p + 1


def curve_minima():
    """The two minima of curve(), from the roots of its derivative: (global, local)."""
    roots = np.sort(np.roots([4, 0, -6, 1]).real)  # minimum, hump, minimum
    return tuple(sorted([roots[0], roots[2]], key=curve))


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


global_p, local_p = curve_minima()
print("Trap 2, the local minimum: E(p) = p^4 - 3p^2 + p has its global minimum at")
print(f"  p = {global_p:.2f}, a local one at p = {local_p:.2f}. GD starts at p = {CURVE_START}.")
curve_paths = {
    "plain GD": gradient_descent(curve_grad, CURVE_START, CURVE_LR, CURVE_STEPS)[:, 0],
    f"momentum {MOMENTUM}": gradient_descent(
        curve_grad, CURVE_START, CURVE_LR, CURVE_STEPS, momentum=MOMENTUM
    )[:, 0],
}
starts, ends, curve_paths[f"best of {RESTARTS} restarts"] = best_of_restarts(settings.seed)
minimum_results = {"global_minimum": global_p, "local_minimum": local_p}
for name, path in curve_paths.items():
    end = float(path[-1])
    minimum_results[name] = {"p": end, "E": float(curve(end)), "minimum": which_minimum(end)}
    where = minimum_results[name]["minimum"]
    print(f"  {name:18s} ends at p = {end:6.2f}, E = {curve(end):6.2f}: {where} minimum")


# %% [markdown]
# The curve once for each method: its path as arrows from its start (a square) to where it
# stopped (a dot), and the two minima named. The restarts' random starts are grey crosses, the
# ends they reached grey bars; the best one's path is drawn.


# %%
ARROWS, SHORTEST_ARROW = 25, 0.03  # at most 25 arrows on a path, on its longest steps


def draw_path(ax, path, color):
    """A descent along the curve as arrows, from its start (a square) to its end (a dot)."""
    heights = curve(path)
    ax.plot(path, heights, color=color, lw=1.5, alpha=0.6)
    steps = np.abs(np.diff(path))
    for i in sorted(np.argsort(steps)[-ARROWS:]):  # the longest steps, in order
        if steps[i] > SHORTEST_ARROW:
            ax.annotate(
                "",
                xy=(path[i + 1], heights[i + 1]),
                xytext=(path[i], heights[i]),
                arrowprops=dict(arrowstyle="-|>", color=color, lw=1.2, shrinkA=0, shrinkB=0),
            )
    ax.plot(path[0], heights[0], "s", mfc="white", mec=color, mew=2, ms=10)
    ax.plot(path[-1], heights[-1], "o", color=color, ms=11)


def figure_local_minimum(paths, results, starts, ends):
    """The 1-D curve once per method, with its path, its start and its end, the minima named."""
    fig, axes = plt.subplots(
        1, len(paths), figsize=(5 * len(paths), 4.8), sharey=True, layout="constrained"
    )
    every = np.concatenate([*paths.values(), starts])  # every p a figure shows
    p = np.linspace(min(-2.1, every.min()), max(2.3, every.max()), 400)
    top = max(8.0, float(curve(every).max()) + 1.0)  # the highest start stays in view
    global_p, local_p = results["global_minimum"], results["local_minimum"]
    for index, (ax, (name, path)) in enumerate(zip(axes, paths.items(), strict=True)):
        ax.plot(p, curve(p), color="black", lw=1)
        if name.startswith("best of"):
            ax.plot(starts, curve(starts), "x", color="grey", ms=8, label="random starts")
            ax.plot(ends, curve(ends), "|", color="grey", ms=16, mew=2, label="their ends")
            ax.legend(loc="upper center")
        draw_path(ax, path, f"C{index}")
        for where, at in (("global", global_p), ("local", local_p)):
            ax.annotate(
                f"{where} minimum\n$p$ = {at:.2f}",
                xy=(at, curve(at)),
                xytext=(at, curve(at) - 1.0),
                ha="center",
                va="top",
                arrowprops=dict(arrowstyle="->", color="grey"),
            )
        ended = results[name]["minimum"]
        right = verdict(ended == "global")
        ax.set_title(
            f"{right['mark']} {name}: from $p$ = {path[0]:.2f}\nto the {ended} minimum, "
            f"$p$ = {path[-1]:.2f}",
            color=right["color"],
        )
        ax.set(xlabel="parameter $p$", ylim=(-7, top))
    axes[0].set_ylabel("error $E(p)$")
    fig.suptitle(
        r"$E(p) = p^4 - 3p^2 + p$: a local minimum on the right, the global one on the left"
    )
    return fig


save_figure(
    figure_local_minimum(curve_paths, minimum_results, starts, ends),
    output_dir / "ker3t_training_pitfalls_local_minimum.png",
)
ended = {name: minimum_results[name]["minimum"] for name in curve_paths}
print("  The figure:" + "".join(f"\n    {n} ends in the {w} minimum" for n, w in ended.items()))

# %% [markdown]
# ## Trap 3, overfitting: the data
#
# Slide „Preučenie (overfitting)“: better a larger error and a better prediction than a
# smaller error and a worse prediction. A few noisy samples of $\sin(\pi x)$ to learn from,
# and many more of the same curve, with other noise, to check the predictions on.

# %%
NUM_POINTS, NOISE = 12, 0.2  # a few noisy samples of sin(pi x)


def noisy_points(seed):
    """A few noisy training points of sin(pi x), and many validation points of the same."""
    rng = np.random.default_rng(seed)
    x_train = np.sort(rng.uniform(-1, 1, NUM_POINTS)).astype(np.float32)[:, None]  # (12, 1)
    y_train = (np.sin(np.pi * x_train) + rng.normal(0, NOISE, x_train.shape)).astype(np.float32)
    x_val = np.linspace(-1, 1, 200, dtype=np.float32)[:, None]  # (200, 1)
    y_val = (np.sin(np.pi * x_val) + rng.normal(0, NOISE, x_val.shape)).astype(np.float32)
    return x_train, y_train, x_val, y_val


data = noisy_points(settings.seed)
x_train, y_train, x_val, y_val = data
print(f"Trap 3, overfitting: training x {x_train.shape}, validation x {x_val.shape}")

# %% [markdown]
# ## Trap 3: a network too big for 12 points
#
# Two layers of 128 `tanh` units. Steep first-layer weights give every unit a sharp step at
# its own place, so the network can bend anywhere: enough to pass through every noisy point.
# `dropout` puts a `Dropout` layer after each hidden layer (one of the fixes).

# %%
WIDTH, FIRST_LAYER_SCALE = 128, 30.0  # capacity: 128 tanh units with steep, sharp steps


def build_model(dropout=0.0):
    """Too much capacity for 12 points: two layers of 128 tanh units, optional Dropout."""
    steep = keras.initializers.RandomNormal(0.0, FIRST_LAYER_SCALE)  # for x in [-1, 1]
    spread = keras.initializers.RandomUniform(-FIRST_LAYER_SCALE, FIRST_LAYER_SCALE)
    layers = [
        keras.Input(shape=(1,)),
        keras.layers.Dense(
            WIDTH, activation="tanh", kernel_initializer=steep, bias_initializer=spread
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


model = build_model()
print(f"{model.count_params()} parameters to fit {NUM_POINTS} points")

# %% [markdown]
# ## Trap 3: no fix, dropout, early stopping
#
# Each network trains on all 12 points at every step, and `fit()` measures the validation
# error after every epoch. Early stopping (`keras.callbacks.EarlyStopping`) stops when the
# validation error has not improved for `PATIENCE` epochs and keeps the best weights: a larger
# training error, on purpose. The last numbers come from `model.evaluate`, where dropout is off:
# inference, the slide's „testovacia fáza“ (testing phase).

# %%
STEPS_PER_EPOCH = 10
DROPOUT, PATIENCE = 0.3, 5


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
    history = model.fit(
        np.tile(x_train, (STEPS_PER_EPOCH, 1)),  # all the points in each step, ...
        np.tile(y_train, (STEPS_PER_EPOCH, 1)),  # ... STEPS_PER_EPOCH steps an epoch
        batch_size=len(x_train),
        epochs=epochs,
        validation_data=(x_val, y_val),
        callbacks=callbacks,
        shuffle=False,  # one full batch per step: nothing to shuffle
        verbose=0,
    )
    # evaluate() runs in inference mode, the slide's „testovacia fáza“ (testing phase): no dropout
    train_loss = model.evaluate(x_train, y_train, verbose=0)
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


print(f"{NUM_POINTS} noisy points, {settings.epochs} epochs of {STEPS_PER_EPOCH} steps")
fits = {
    "no fix": fit_points(data, settings.epochs, settings.seed),
    f"dropout {DROPOUT}": fit_points(data, settings.epochs, settings.seed, dropout=DROPOUT),
    "early stopping": fit_points(data, settings.epochs, settings.seed, early_stopping=True),
}
overfitting_results = {}
for name, fit in fits.items():
    keys = ("train_loss", "val_loss", "gap", "epochs_run", "best_val_epoch")
    overfitting_results[name] = {k: fit[k] for k in keys}
    print(
        f"  {name:14s} train {fit['train_loss']:.4f}  validation {fit['val_loss']:.4f}  "
        f"gap {fit['gap']:.4f}  ({fit['epochs_run']} epochs)"
    )


# %% [markdown]
# Training against validation error by epoch, and the curve each network learned.


# %%
def figure_overfitting(data, fits):
    """Training against validation error by epoch, and the fitted curves."""
    x_train, y_train, x_val, _ = data
    fig, axes = plt.subplots(1, 2, figsize=(14, 5.8), layout="constrained")
    for index, (name, fit) in enumerate(fits.items()):
        color = f"C{index}"
        epochs = np.arange(1, fit["epochs_run"] + 1)
        axes[0].semilogy(epochs, fit["history"]["loss"], "--", color=color, label=f"{name}: train")
        axes[0].semilogy(epochs, fit["history"]["val_loss"], color=color, label=f"{name}: val")
        axes[1].plot(x_val[:, 0], fit["fit"], color=color, label=f"{name}: gap {fit['gap']:.3f}")
    stop = fits["early stopping"]["best_val_epoch"]
    color = f"C{list(fits).index('early stopping')}"  # the colour of the early-stopping curves
    axes[0].axvline(stop, color=color, lw=0.8, ls=":", label=f"early stopping keeps epoch {stop}")
    axes[0].axhline(NOISE**2, color="grey", lw=0.8, ls=":", label="noise variance")
    axes[0].set(title="error by epoch (train: as fit() logs it)", xlabel="epoch", ylabel="MSE")
    axes[1].plot(x_val[:, 0], np.sin(np.pi * x_val[:, 0]), ":", color="black", label="truth")
    axes[1].plot(x_train[:, 0], y_train[:, 0], "ko", label="training points")
    axes[1].set(title="what each model learned", xlabel="$x$", ylabel="$y$", ylim=(-2, 2))
    for ax in axes:  # below the plots, where they cover no curve
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3)
    no_fix = fits["no fix"]["gap"]
    said = [f"no fix {no_fix:.3f}"]
    for name, fit in fits.items():
        if name != "no fix":
            said.append(f"{verdict(fit['gap'] < no_fix)['mark']} {name} {fit['gap']:.3f}")
    fig.suptitle("Validation minus training error (the gap): " + ", ".join(said))
    return fig


save_figure(figure_overfitting(data, fits), output_dir / "ker3t_training_pitfalls_overfitting.png")
no_fix, early = fits["no fix"], fits["early stopping"]
climbed = no_fix["history"]["val_loss"][-1] > min(no_fix["history"]["val_loss"])
print(
    f"  The figure: with no fix the training error falls to {no_fix['train_loss']:.4f},\n"
    f"  while the validation error {'climbs again' if climbed else 'does not climb'} after "
    "its best."
)
print(
    f"  Early stopping keeps epoch {early['best_val_epoch']}: training error "
    f"{early['train_loss']:.4f}, validation {early['val_loss']:.4f} (no fix: "
    f"{no_fix['val_loss']:.4f})."
)
dropout_helped = fits[f"dropout {DROPOUT}"]["gap"] < no_fix["gap"]
print(
    f"  Dropout {'narrowed' if dropout_helped else 'did not narrow'} the gap with this seed; "
    "on 12 points that depends on the seed."
)

# %% [markdown]
# ## Save the numbers

# %%
results = {
    "lr_factors_of_2_over_L": LR_FACTORS,
    "learning_rate": {
        "bowl": {"L": bowl_L, "runs": bowl_results},
        "kernel": {
            "L": float(L),
            "mu": float(mu),
            "limit_2_over_L": float(2 / L),
            "runs": {
                name: {k: v for k, v in run.items() if k != "losses"}
                for name, run in kernel_runs.items()
            },
        },
    },
    "local_minimum": minimum_results,
    "overfitting": overfitting_results,
}
print(f"results: {write_json(output_dir / 'ker3t_training_pitfalls.json', results)}")
show_figures(settings.no_show)
