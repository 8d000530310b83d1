# %% [markdown]
# # Lesson 3: learn the "forgotten" Sobel kernel back by gradient descent
#
# **Slides:** „V čom je rozdiel?“ (what is the difference?), „Skúsme „zabudnutý“ kernel
# rekonštruovať“ (let us reconstruct the "forgotten" kernel), „Funguje to!“ (it works!), „Čo je
# vlastne Keras?“ (what is Keras, really?).
#
# Suppose we forgot which kernel the Sobel operator uses, and only have an image and the
# desired output. Start the slide's `Conv2D(1, (3, 3))` from random weights, measure the error
# (the mean squared error, MSE), change the weights against its gradient, repeat: Keras finds
# the kernel again.
#
# Why the recipe matters. A Conv2D without bias is linear in its 9 weights, so the MSE is a
# quadratic bowl, and the image sets its shape: on a photo neighbouring pixels are alike, so
# the bowl is far steeper in some directions than in others. The slide's recipe (rmsprop, one
# image per step, 15,000 epochs) creeps down such a bowl. The fast recipe reads the bowl's
# curvature off the image and picks a learning rate and momentum that suit it.
#
# **What you will see:**
#
# - Keras' gradient at the random start beside the formula $\frac{2}{N} P^T (P w - y)$ and
#   beside finite differences: they agree to float32's precision;
# - the slide's code run as printed on Keras 3: what it leaves out (the shapes, behind `...`)
#   and what it names wrong (`samples_inp`, `samples_out`), and that its `compile` with
#   `metrics=['mse', 'mae']` still runs;
# - the slide's recipe, its `compile` and `fit` as on the slide, for a short demo: still far
#   from the kernel;
# - the fast recipe: the kernel back, beside the true one and the exact least-squares answer;
# - a figure of the loss that `fit()` logged for both recipes, and how the nine weights moved.
#
# **Run it:** `python ker3_learn_kernel.py` (another kernel: `--kernel laplace`; the slide's
# recipe for the result, all 15,000 epochs, a long run: `--recipe seminar`; all flags:
# `--help`), or open this file as a notebook and run the cells in order.

# %% [markdown]
# ## Settings
#
# In a notebook, edit them here; on the command line, each is a flag. `KERNELS` may grow: a
# kernel added here is a new `--kernel` choice, and it may be larger than 3×3 (5×5, 7×7: any
# square of odd size; the model's `Conv2D` takes the kernel's size). Both recipes always run;
# `recipe` says whose kernel is the result. The slide's recipe takes its whole 15,000 epochs
# only when it gives the result; otherwise it runs a demo of `seminar_epochs` epochs.

# %%
from common.lesson import lesson_settings, positive_int, seed_value, setting

KERNELS = {
    "sobel-x": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "sobel-y": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "scharr-x": [[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]],
    "laplace": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
}

settings = lesson_settings(
    "Lesson 3: learn the forgotten Sobel kernel back by gradient descent",
    keras=True,
    image=setting(None, "an image file (any format OpenCV reads); none: Grace Hopper's photo"),
    kernel=setting(
        "sobel-x",
        "which kernel was forgotten (random: drawn with --seed)",
        choices=[*KERNELS, "random"],
    ),
    recipe=setting(
        "fast",
        "whose kernel is the result: fast (momentum tuned to the image's curvature) or seminar "
        "(the slide's rmsprop, batch 1, 15000 epochs: a long run)",
        choices=["fast", "seminar"],
    ),
    epochs=setting(
        None,
        "training steps of the recipe that gives the result; none: the fast recipe picks them "
        "from the image's curvature, the seminar's runs the slide's 15000",
        type=positive_int,
    ),
    seminar_epochs=setting(
        100,
        "epochs of the slide's recipe when it runs as a demo: while the fast recipe gives the "
        "result, or with --quick",
        quick=30,
        type=positive_int,
    ),
    max_side=setting(
        256,
        "the photo is shrunk to this many pixels on its longer side",
        quick=128,
        type=positive_int,
    ),
    seed=setting(0, "random seed: the random start (and the random kernel)", type=seed_value),
)

# %% [markdown]
# ## Setup

# %%
from common.keras_setup import start_keras

start_keras(settings.verbose)
import math
import time

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
from common.lesson import LessonError, first_line, try_code

plt.style.use(FIGURE_STYLE)  # one style for every lesson's figures
output_dir = prepare_output_dir(settings.output_dir)
fit_verbose = 1 if settings.verbose else 0  # Keras' progress lines, with --verbose

# %% [markdown]
# ## The image and the desired output
#
# Slide „V čom je rozdiel?“: we have the image $x$ and the output $y$ the forgotten kernel
# made. Nine weights need no 24-megapixel photo: a few hundred pixels a side give tens of
# thousands of equations. Pixels of 0..255 would make the gradient thousands of times larger
# than for values near 1, so the input gets zero mean and unit spread. The target uses zero
# padding at the border, as `Conv2D(padding="same")` does, so the right kernel gives exactly
# zero error.

# %%
image, note = read_gray(settings.image, max_side=settings.max_side)  # (height, width), 0..255
if note:
    print(note)
if settings.kernel == "random":
    rng = np.random.default_rng(settings.seed)
    kernel = rng.uniform(-2, 2, (3, 3)).round(2).astype(np.float32)
else:
    kernel = np.array(KERNELS[settings.kernel], np.float32)
size = kernel.shape[0]  # 3 for the slide's Conv2D(1, (3, 3)); any odd square works
if kernel.shape != (size, size) or size % 2 == 0:
    raise LessonError(f"the kernel is {kernel.shape}: it must be square, of odd size (3x3, 5x5)")

x = ((image - image.mean()) / (image.std() + 1e-8)).astype(np.float32)  # zero mean, spread 1
y = cv2.filter2D(x, cv2.CV_32F, kernel, borderType=cv2.BORDER_CONSTANT)  # what we want
x_train = x[np.newaxis, :, :, np.newaxis]  # (batch=1, height, width, channels=1)
y_train = y[np.newaxis, :, :, np.newaxis]
print(f"forgotten kernel: {settings.kernel}; image {x.shape[1]}x{x.shape[0]}, standardised")
print(f"x_train {x_train.shape}, y_train {y_train.shape} = (batch, height, width, channels)")
print("  (the slide's batch / data / channel: one image, its height x width, one grey channel)")

# %% [markdown]
# ## The filter as a matrix, and the shape of the error
#
# Write the 3×3 neighbourhood of pixel $n$ as row $n$ of a matrix $P$ (one row per pixel,
# 9 columns; 25 for a 5×5 kernel). The filter is then a matrix product, $P w$, and the error
# is $E(w) = \frac{1}{N} \lVert P w - y \rVert^2$: a bowl in 9 dimensions. Its curvatures are
# the eigenvalues of its Hessian $\frac{2}{N} P^T P$; their ratio, the condition number
# $\kappa$, says how much steeper the bowl is in one direction than in another. An image too
# flat to pin down all the weights (a bowl with a flat direction) is refused.

# %%
MIN_INVERSE_KAPPA = 1e-7  # flatter than this and some kernel directions are invisible


def patches(x, size=3):
    """Every size x size neighbourhood of x (zero padded) as a row: shape (pixels, size**2)."""
    padded = np.pad(x, size // 2)
    return np.lib.stride_tricks.sliding_window_view(padded, (size, size)).reshape(-1, size**2)


p = patches(x, size).astype(np.float64)  # the matrix P: (N, 9)
filter_error = np.abs(p @ kernel.ravel() - y.ravel()).max()  # P w against cv2.filter2D
print(
    f"P: {p.shape} = (pixels, {size**2}); max |P w - y| for the true kernel w: {filter_error:.1e}"
)
curvatures = np.linalg.eigvalsh(2.0 * p.T @ p / len(p))  # the bowl's curvatures, ascending
big, small = float(curvatures[-1]), float(curvatures[0])
if big <= 0:  # every pixel the same: x is all zeros once standardised
    raise LessonError(
        f"{settings.image or 'the image'} is flat (every pixel the same): the output is 0 "
        "whatever the kernel, so there is nothing to learn from; try a photo"
    )
if small <= big * MIN_INVERSE_KAPPA:
    kappa = f"{big / small:.0e}" if small > 0 else "infinite"
    raise LessonError(
        f"{settings.image} has too little texture to pin down {size**2} weights (condition "
        f"number {kappa}); try a photo with more detail"
    )
print(
    f"curvatures of the error: {small:.3g} .. {big:.3g}; condition number kappa = {big / small:.0f}"
)

# %% [markdown]
# ## The model: the slide's Conv2D, from random weights
#
# The slide's network: one `Conv2D` neuron with a 3×3 kernel (the forgotten kernel's size), no
# bias, zero padding, its weights drawn at random. The slide's `kernel_initializer="normal"`
# still works on Keras 3; `"random_normal"` is the name Keras 3 documents. Edit this cell (add
# a bias, an activation) and run the cells below again: every recipe starts from
# `random_start`, the weights this cell made.

# %%
keras.utils.set_random_seed(settings.seed)  # the same random start for the same --seed
inp = keras.Input(shape=(None, None, 1))  # any height and width, one channel
out = keras.layers.Conv2D(
    1, (size, size), kernel_initializer="random_normal", use_bias=False, padding="same"
)(inp)
model = keras.Model(inputs=inp, outputs=out)
random_start = model.get_weights()
print(f"model: one Conv2D neuron, {model.count_params()} parameters, random start")
model.summary()

# %% [markdown]
# ## The gradient Keras follows
#
# Slide „Čo je vlastne Keras?“: Keras builds the model from modules whose derivatives it
# knows, so it differentiates the error exactly, by the chain rule. Keras 3 has no
# backend-neutral `grad` function: each backend differentiates its own way (TensorFlow's
# `GradientTape`, `jax.grad`, PyTorch's `backward()`), and `fit()` calls the one that runs.
# One training step shows the result on any backend: plain gradient descent with learning
# rate 1 changes the weights by exactly minus the gradient, $w \leftarrow w - 1 \cdot
# \partial E / \partial w$.


# %%
def keras_gradient(model, x_train, y_train):
    """dE/dw of the MSE for the Conv2D's kernel weights, as fit() gets it, on any backend."""
    start = model.get_weights()
    before = model.layers[1].get_weights()[0]
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=1.0), loss="mse")
    model.train_on_batch(x_train, y_train)  # one step: w <- w - 1.0 * dE/dw
    gradient = before - model.layers[1].get_weights()[0]
    model.set_weights(start)  # back to the random start
    return gradient.reshape(-1)


gradient = keras_gradient(model, x_train, y_train)
print(f"gradient of the MSE at the random start, dE/dw for w[0,0] .. w[{size - 1},{size - 1}]:")
print(f"  {f'Keras ({keras.backend.backend()})':22s}" + "".join(f"{g:8.4f}" for g in gradient))

# %% [markdown]
# ## The same gradient, by a formula and by finite differences
#
# For the slide's model, a linear 3×3 filter without bias, the derivative is a short formula:
# $\partial E / \partial w = \frac{2}{N} P^T (P w - y)$. Central finite differences,
# $(E(w + h e_i) - E(w - h e_i)) / 2h$, need no formula at all, only the model's output. Both
# should agree with Keras to float32's precision, about 7 digits. Add a bias or an activation
# to the model and the formula no longer fits it; finite differences still do.

# %%
FD_STEP = 1e-3  # the step h of the finite differences
GRADIENT_TOLERANCE = 1e-4  # two gradients agree when they differ by less than this share


def formula_gradient(w, p, y):
    """dE/dw = 2/N * P^T (P w - y): the MSE's derivative for a linear 3x3 filter, no bias."""
    return 2.0 / len(p) * p.T @ (p @ np.ravel(w) - np.ravel(y))


def finite_differences(model, x_train, y_train, h=FD_STEP):
    """(E(w + h e_i) - E(w - h e_i)) / 2h for each weight, E from the model's own output."""
    conv = model.layers[1]
    weights = conv.get_weights()  # [kernel], and the bias too if the layer has one

    def loss(kernel):
        conv.set_weights([kernel, *weights[1:]])
        output = keras.ops.convert_to_numpy(model(x_train)).astype(np.float64)
        return np.mean((output - y_train) ** 2)

    gradient = np.zeros(weights[0].size)
    for i in range(weights[0].size):
        plus, minus = weights[0].copy(), weights[0].copy()
        plus.flat[i] += h
        minus.flat[i] -= h
        step = float(plus.flat[i]) - float(minus.flat[i])  # 2h, as float32 rounded it
        gradient[i] = (loss(plus) - loss(minus)) / step
    conv.set_weights(weights)  # put the weights back exactly as they were
    return gradient


def relative_difference(a, b):
    """The largest |a - b| as a share of b's largest entry; float32 rounds at about 1e-7."""
    return float(np.abs(np.asarray(a, np.float64) - b).max() / np.abs(b).max())


gradients = {
    "keras": gradient,
    "formula": formula_gradient(model.layers[1].get_weights()[0], p, y),
    "finite_differences": finite_differences(model, x_train, y_train),
}
for name, label in (
    ("formula", "formula 2/N P^T(Pw-y)"),
    ("finite_differences", "finite differences"),
):
    print(f"  {label:22s}" + "".join(f"{g:8.4f}" for g in gradients[name]))
for name in ("formula", "finite_differences"):
    difference = relative_difference(gradients["keras"], gradients[name])
    gradients[f"{name}_relative_difference"] = difference
    gradients[f"{name}_agrees"] = difference < GRADIENT_TOLERANCE
    agree = "agree" if difference < GRADIENT_TOLERANCE else "DIFFER"
    print(f"  Keras vs {name.replace('_', ' ')}: largest relative difference {difference:.1e}")
    print(f"    {agree} (below {GRADIENT_TOLERANCE:g} is agreement: float32 keeps ~7 digits)")
if not gradients["formula_agrees"]:
    print("  the formula holds for the slide's linear Conv2D without bias; this model differs")

# %% [markdown]
# ## Watching the training
#
# Both recipes below record the same things: the loss `fit()` logs after every epoch (in the
# `History`), the kernel after every epoch (this callback), and `model.evaluate` before and
# after.


# %%
class KernelPath(keras.callbacks.Callback):
    """The layer's 3x3 kernel at the start and after every epoch; the seconds fit() took."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer
        self.size = layer.kernel_size  # (3, 3) for the slide's Conv2D
        self.kernels = [layer.get_weights()[0].reshape(self.size)]

    def on_train_begin(self, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.kernels.append(self.layer.get_weights()[0].reshape(self.size))

    def on_train_end(self, logs=None):
        self.seconds = time.perf_counter() - self.started


def describe(name, run, kernel):
    """One line: how far a recipe got."""
    error = float(np.abs(run["kernels"][-1] - kernel).max())
    print(
        f"trained {run['epochs']} steps in {run['train_seconds']:.2f} s ({name} recipe): largest "
        f"error {error:.2g}, loss {run['start_loss']:.3g} -> {run['final_loss']:.3g}"
    )


runs = {}  # recipe name -> what its training recorded

# %% [markdown]
# ## The slide's code on Keras 3
#
# Slide „Skúsme „zabudnutý“ kernel rekonštruovať“ runs here as printed, with the names the
# seminar's scripts imported (`np`, `Input`, `Conv2D`, `Model`) and this lesson's image pair
# as `input_image` and `output_image`. It stops twice before it trains: its `reshape(...)`
# leaves the shape out (the `...` is the slide's shorthand), and its `fit` trains on
# `samples_inp` and `samples_out`, names it never made: it made `input_images` and
# `output_images`. By then its `compile` with `metrics=['mse', 'mae']` has run: Keras 3 takes it
# as written. With both filled in, it runs (here for one quiet epoch; the next cell trains).

# %%
SLIDE_CODE = """input_images = np.array([input_image.reshape(...)])
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
"""  # the slide's text, as printed
SLIDE_FIXES = [  # (the slide's text, what runs instead, why)
    ("reshape(...)", "reshape(height, width, 1)", "the slide leaves the shape out"),
    (
        "fit(samples_inp, samples_out, batch_size=1,\n epochs = 15000)",
        "fit(input_images, output_images, batch_size=1, epochs=1, verbose=0)",
        "the names it made; one quiet epoch here, the next cell trains",
    ),
]

slide_names = {  # what the seminar's scripts had at hand, and this lesson's image pair
    "np": np,
    "Input": keras.Input,
    "Conv2D": keras.layers.Conv2D,
    "Model": keras.Model,
    "input_image": x,
    "output_image": y,
    "height": x.shape[0],
    "width": x.shape[1],
}
print("the slide's code, as printed:")
print("\n".join(("    " + line).rstrip() for line in SLIDE_CODE.strip().splitlines()))
slide_code, code = [], SLIDE_CODE  # each try: the code run, and what Keras 3 said
for fix in [*SLIDE_FIXES, None]:
    error = try_code(code, slide_names)
    slide_code.append(
        {
            "code": code,
            "error_type": type(error).__name__ if error else None,
            "error": first_line(error) if error else None,
        }
    )
    print(f"  it stops: {type(error).__name__}: {first_line(error)}" if error else "  it runs")
    if fix is None or error is None:
        break
    old, new, why = fix
    code = code.replace(old, new)
    print(f"  so the slide's {' '.join(old.split())}\n    runs here as {new}\n    ({why})")
if slide_code[-1]["error"] is None:
    print("  filled in, the slide's code runs on Keras 3, its metrics=['mse', 'mae'] too")

# %% [markdown]
# ## The slide's recipe: rmsprop, one image per step
#
# Slide „Skúsme „zabudnutý“ kernel rekonštruovať“, in Keras 3's words: the slide's `compile`
# as written, `metrics=['mse', 'mae']` included (they only report more numbers: `fit()` logs
# them beside the loss), and its `fit(..., batch_size=1, epochs=15000)` on `x_train` and
# `y_train`, the lesson's names for the slide's `input_images` and `output_images`. With one
# image and `batch_size=1`, an epoch is one step. rmsprop moves each weight by about its
# learning rate, 0.001 by default, per step, so a weight that must travel to -2 needs
# thousands of steps: all 15,000 epochs are a long run. Unless `--recipe seminar` asks for its
# result (and not in `--quick`), this cell runs a demo of `seminar_epochs` epochs, enough to
# see how slowly it goes; the fast recipe below gives the result.

# %%
SEMINAR_EPOCHS = 15000  # the slide's model.fit(..., epochs=15000)
if settings.recipe == "fast":
    seminar_epochs = settings.seminar_epochs  # a demo: the fast recipe gives the result
elif settings.quick:  # a class demo keeps even the seminar's result short (not one value)
    seminar_epochs = settings.epochs or settings.seminar_epochs
else:
    seminar_epochs = settings.epochs or SEMINAR_EPOCHS  # it gives the result: the slide's length

model.set_weights(random_start)  # every recipe starts from the same random weights
model.compile(optimizer="rmsprop", loss="mse", metrics=["mse", "mae"])  # the slide's compile
path = KernelPath(model.layers[1])
start_loss = model.evaluate(x_train, y_train, verbose=0, return_dict=True)["loss"]
history = model.fit(
    x_train,
    y_train,
    batch_size=1,  # the slide's fit
    epochs=seminar_epochs,
    shuffle=False,
    verbose=fit_verbose,
    callbacks=[path],
)
runs["seminar"] = {
    "epochs": seminar_epochs,
    "steps_per_log": 1,  # one step an epoch
    "losses": np.array(history.history["loss"]),
    "logged": {name: np.array(values) for name, values in history.history.items()},
    "kernels": np.array(path.kernels),
    "train_seconds": path.seconds,
    "start_loss": start_loss,
    "final_loss": model.evaluate(x_train, y_train, verbose=0, return_dict=True)["loss"],
    "weights": model.get_weights(),
}
describe("seminar", runs["seminar"], kernel)
moved = np.abs(runs["seminar"]["kernels"][-1] - runs["seminar"]["kernels"][0]).max()
print(f"  each weight moved at most {moved:.3f} from the random start in {seminar_epochs} steps")
last = ", ".join(f"{name} {values[-1]:.4g}" for name, values in runs["seminar"]["logged"].items())
print(f"  fit() logs the loss and the slide's metrics each epoch; the last: {last}")

# %% [markdown]
# ## The fast recipe: heavy-ball momentum tuned to the curvature
#
# On a quadratic bowl with curvatures from $\mu$ (small) to $L$ (big), gradient descent with
# momentum converges fastest with the learning rate $4 / (\sqrt{L} + \sqrt{\mu})^2$ and the
# momentum $\left(\frac{\sqrt{\kappa} - 1}{\sqrt{\kappa} + 1}\right)^2$ (Polyak's heavy ball):
# each step then shrinks the error by the factor $\frac{\sqrt{\kappa} - 1}{\sqrt{\kappa} + 1}$,
# so the number of steps follows from $\kappa$ too. Keras' plain `SGD` with that momentum is
# exactly this method. One step per epoch would spend most of the time on Keras' bookkeeping,
# so an epoch here is `STEPS_PER_CALL` steps, run in one call (`steps_per_execution`): `fit`
# gets the one pair repeated `STEPS_PER_CALL` times, one copy a step, as plain NumPy arrays,
# which every Keras backend takes.

# %%
STEPS_PER_CALL = 10  # training steps Keras runs per call of its compiled step function
ERROR_SHRINK = 1e5  # run long enough to shrink the weight error 10^5-fold


def heavy_ball(big, small):
    """Learning rate, momentum and step count of heavy-ball momentum for a quadratic bowl."""
    kappa = big / small
    learning_rate = 4.0 / (math.sqrt(big) + math.sqrt(small)) ** 2
    rate = (math.sqrt(kappa) - 1.0) / (math.sqrt(kappa) + 1.0)  # error shrinks by this a step
    steps = math.ceil(1.5 * math.log(ERROR_SHRINK) / -math.log(rate))  # 1.5x: start-up margin
    return learning_rate, rate**2, steps


learning_rate, momentum, steps = heavy_ball(big, small)
if settings.recipe == "fast" and settings.epochs:
    steps = settings.epochs
fit_epochs = math.ceil(steps / STEPS_PER_CALL)  # whole calls: the step count rounded up
per_call = 1 if keras.backend.backend() == "torch" else STEPS_PER_CALL  # PyTorch: 1 only

model.set_weights(random_start)
model.compile(
    optimizer=keras.optimizers.SGD(learning_rate=learning_rate, momentum=momentum),
    loss="mse",
    steps_per_execution=per_call,
)
path = KernelPath(model.layers[1])
start_loss = model.evaluate(x_train, y_train, verbose=0, return_dict=True)["loss"]
history = model.fit(
    np.repeat(x_train, STEPS_PER_CALL, axis=0),  # the one pair, once for each step of a call
    np.repeat(y_train, STEPS_PER_CALL, axis=0),
    batch_size=1,
    epochs=fit_epochs,
    shuffle=False,  # copies of one pair: nothing to shuffle
    verbose=fit_verbose,
    callbacks=[path],
)
runs["fast"] = {
    "epochs": fit_epochs * STEPS_PER_CALL,
    "steps_per_log": STEPS_PER_CALL,  # fit() logs the mean loss of each call's steps
    "losses": np.array(history.history["loss"]),
    "kernels": np.array(path.kernels),
    "train_seconds": path.seconds,
    "start_loss": start_loss,
    "final_loss": model.evaluate(x_train, y_train, verbose=0, return_dict=True)["loss"],
    "weights": model.get_weights(),
}
print(
    f"curvature: condition number kappa = {big / small:.0f} -> learning rate "
    f"{learning_rate:.3g}, momentum {momentum:.4f}, {runs['fast']['epochs']} steps"
)
describe("fast", runs["fast"], kernel)

# %% [markdown]
# ## It works: the learned kernel
#
# Slide „Funguje to!“: the slide reads the result with `model.layers[1].get_weights()`. The
# model takes the weights of the recipe that gives the result (`--recipe`).

# %%
run = runs[settings.recipe]
model.set_weights(run["weights"])
weights = model.layers[1].get_weights()  # the slide's model.layers[1].get_weights()
learned = weights[0].reshape(size, size)  # (3, 3, in_channels=1, filters=1) -> 3x3
max_abs_error = float(np.abs(learned - kernel).max())
print(f"{settings.recipe} recipe:")
print("true kernel            learned kernel")
for true_row, learned_row in zip(kernel, learned, strict=True):
    print(
        "  ".join(f"{v:6.2f}" for v in true_row)
        + "    "
        + "  ".join(f"{v:9.5f}" for v in learned_row)
    )
if len(weights) > 1:  # a Conv2D with use_bias=True
    print(f"learned bias: {weights[1][0]:.2e}")
print(f"max |learned - true|  gradient descent: {max_abs_error:.1e}")
print(f"loss: {run['start_loss']:.3g} at the start -> {run['final_loss']:.3g} at the end")

# %% [markdown]
# ## The exact answer, for comparison
#
# The error is a quadratic bowl, so linear least squares finds its bottom in one step,
# $w = \arg\min_w \lVert P w - y \rVert^2$: the ceiling that gradient descent approaches.

# %%
exact = np.linalg.lstsq(p, y.reshape(-1), rcond=None)[0].reshape(size, size)
exact = exact.astype(np.float32)
lstsq_error = float(np.abs(exact - kernel).max())
print(f"max |lstsq - true|    least squares:    {lstsq_error:.1e}  (the exact answer)")

# %% [markdown]
# ## Show it
#
# The loss each recipe's `fit()` logged, by training step (the fast recipe logs the mean of
# each call's steps, drawn at their middle); how the result recipe moved each weight, with its
# true value dotted; the true and the learned kernels. The title says whether the learned
# kernel is within `CLOSE_ENOUGH` of the true one, as the slide's was („Funguje to!“).


# %%
CLOSE_ENOUGH = 0.01  # every learned weight this close to the true one: the kernel is found


def plot_training(runs, result, kernel, learned, title):
    """Keras' logged loss of every recipe, how the weights moved, the two kernels."""
    fig = plt.figure(figsize=(13, 9), layout="constrained")
    grid = fig.add_gridspec(2, 2, width_ratios=(2.8, 1))
    ax_loss = fig.add_subplot(grid[0, 0])
    for name, run in runs.items():
        per = run["steps_per_log"]
        steps = per * np.arange(1, len(run["losses"]) + 1)
        # A log after step s covers the weights of steps s - per .. s - 1: plot it at their middle.
        middle = steps - (per + 1) / 2
        logged = "loss of each step" if per == 1 else f"mean loss of each call of {per} steps"
        ax_loss.semilogy(middle, np.maximum(run["losses"], 1e-16), label=f"{name}: {logged}")
    ends = [runs[result]["start_loss"], runs[result]["final_loss"]]
    ax_loss.semilogy(
        [0, runs[result]["epochs"]], np.maximum(ends, 1e-16), "o", label=f"evaluate(): {result}"
    )
    ax_loss.set(xlabel="step", ylabel="MSE (log scale)", title="training loss, as Keras reports it")
    ax_loss.grid(True, which="both", alpha=0.3)
    ax_loss.legend(loc="upper left", bbox_to_anchor=(1.01, 1))  # beside the curves, not on them
    ax_path = fig.add_subplot(grid[1, 0])
    kernels = runs[result]["kernels"]
    path_steps = runs[result]["steps_per_log"] * np.arange(len(kernels))
    for (row, col), true in np.ndenumerate(kernel):
        line = ax_path.plot(path_steps, kernels[:, row, col], label=f"w[{row},{col}]")[0]
        ax_path.axhline(true, color=line.get_color(), lw=1, ls=":")
    ax_path.set(
        xlabel="step",
        ylabel="weight",
        title=f"how the {result} recipe moved each weight (dotted: its true value)",
    )
    ax_path.legend(loc="upper left", bbox_to_anchor=(1.01, 1), ncol=math.ceil(kernel.size / 9))
    limit = float(np.abs(kernel).max()) or 1.0
    error = float(np.abs(learned - kernel).max())
    for spot, (values, name) in enumerate([(kernel, title), (learned, f"max error {error:.1e}")]):
        ax = fig.add_subplot(grid[spot, 1])
        ax.imshow(values, cmap="RdBu_r", vmin=-limit, vmax=limit)
        digits = 3 if len(values) <= 3 else 1  # a 5x5 kernel's cells hold fewer digits
        for (row, col), value in np.ndenumerate(values):
            color = "white" if abs(value) > 0.6 * limit else "black"
            ax.text(col, row, f"{value:.{digits}f}", ha="center", va="center", color=color)
        ax.set_title(("true: " if spot == 0 else "learned: ") + name)
        ax.set_xticks([])
        ax.set_yticks([])
    found = error <= CLOSE_ENOUGH
    said = f"within {CLOSE_ENOUGH:g} of" if found else "still far from"
    fig.suptitle(
        f"{verdict(found)['mark']} The {result} recipe's kernel after {runs[result]['epochs']} "
        f"steps is {said} the forgotten one (largest error {error:.1e})",
        color=verdict(found)["color"],
    )
    return fig


figure = save_figure(
    plot_training(runs, settings.recipe, kernel, learned, settings.kernel),
    output_dir / "ker3_learn_kernel.png",
)

# %% [markdown]
# ## Save the numbers

# %%
results = {
    "kernel_name": settings.kernel,
    "true_kernel": kernel.tolist(),
    "learned_kernel": learned.tolist(),
    "learned_bias": [float(b) for b in weights[1]] if len(weights) > 1 else None,
    "lstsq_kernel": exact.tolist(),
    "max_abs_error": max_abs_error,
    "lstsq_max_abs_error": lstsq_error,
    "parameters": int(model.count_params()),
    "train_seconds": run["train_seconds"],
    "epochs": run["epochs"],
    "recipe": settings.recipe,
    "start_loss": float(run["start_loss"]),
    "final_loss": float(run["final_loss"]),
    "condition_number": big / small,
    "recipes": {
        name: {
            "epochs": r["epochs"],
            "train_seconds": r["train_seconds"],
            "max_abs_error": float(np.abs(r["kernels"][-1] - kernel).max()),
            "start_loss": float(r["start_loss"]),
            "final_loss": float(r["final_loss"]),
            "last_logged": {k: float(v[-1]) for k, v in r.get("logged", {}).items()},
        }
        for name, r in runs.items()
    },
    "slide_code": slide_code,
    **{f"gradient_{name}": np.asarray(value).tolist() for name, value in gradients.items()},
    "image": str(settings.image or "grace_hopper.jpg"),
    "figure": str(figure),
}
print(f"results: {write_json(output_dir / 'ker3_learn_kernel.json', results)}")
show_figures(settings.no_show)
