# %% [markdown]
# # Lesson 4u: one hidden layer can fit any curve in principle; depth makes it practical
#
# **Slide:** „Deep Learning“, its line „dve plne prepojené vrstvy neurónov sú univerzálnym
# aproximátorom“ (two fully connected layers of neurons are a universal approximator).
#
# The same slide says „V minulosti sa predpokladalo, že hlboké učenie nie je použiteľné pre
# vysoké nároky na výkon a presnosť“ (it was once thought that deep learning could not meet
# high demands on performance and accuracy) and „Dnešná prax: DL už vykonať dá a oplatí sa“
# (today it can be done, and it pays); what changed, around 2012, is that GPUs made training
# many times faster, large labelled data sets gave deep networks enough examples (ImageNet's
# 1.2 million labelled images in 1,000 classes), ReLU let gradients pass through many layers
# (Nair and Hinton 2010; Glorot, Bordes and Bengio 2011), and dropout kept big networks from
# overfitting (Hinton et al. 2012): AlexNet (Krizhevsky, Sutskever and Hinton, "ImageNet
# Classification with Deep Convolutional Neural Networks", NIPS 2012) used all four, trained
# on two GPUs, and won the ImageNet challenge of 2012 by a wide margin.
#
# The theorem (Cybenko 1989, Hornik 1991) says that one hidden layer with enough units can
# come as close as you like to any continuous function on an interval. It says such a
# network exists, not how many units it needs, nor that training will find it. We fit
# $y = \sin(4\pi x)$ on $[-1, 1]$ (four full waves) with
#
# - `Dense(n, tanh) -> Dense(1)` for a growing number of hidden units $n$;
# - a deeper network, three `Dense(20, tanh)` layers, then `Dense(1)`;
# - one hidden layer with the deeper network's number of parameters.
#
# Every network trains the same way (Adam, the same steps of the same batch size) and its
# first layer starts the same way (weights and biases uniform in ±`INIT_SCALE`).
#
# **What you will see:**
#
# - the error of one hidden layer falls as $n$ grows, then stops falling in the steps given;
# - the deeper network fits the waves far better than one hidden layer of the same size:
#   it builds steep wiggles by composing gentle ones, while one hidden layer must be handed
#   each wiggle by a unit of its own.
#
# How the first layer starts decides a lot. With Keras' default start (small weights, zero
# biases: every tanh step sits at $x = 0$) neither network learns the waves in these steps;
# a larger `INIT_SCALE` starts the units of the one hidden layer steep enough for the waves.
# Try both in the models' cell.
#
# Another curve, say `np.abs(x)` or a step `np.where(x < 0, -1.0, 1.0)`, goes in `target`
# (the data's cell); the printout, the JSON and the figures name it from the function itself.
#
# **Run it:** `python ker4u_universal_approximator.py` (`--quick` leaves out the widest
# network; all flags: `--help`), or open this file as a notebook and run the cells in order.

# %% [markdown]
# ## Settings
#
# In a notebook, edit them here; on the command line, each is a flag (`--widths 4,64`).

# %%
import argparse

from common.lesson import lesson_settings, seed_value, setting


def unit_counts(text):
    """argparse type: hidden-layer sizes as comma-separated positive integers, "4,16,64"."""
    try:
        widths = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"want numbers like 4,16,64, got {text!r}") from None
    if not widths or min(widths) < 1:
        raise argparse.ArgumentTypeError(f"every width must be at least 1, got {text!r}")
    return widths


settings = lesson_settings(
    "Lesson 4u: one hidden layer can fit any curve in principle; depth makes it practical",
    keras=True,
    widths=setting(
        (4, 16, 64, 256, 1024),
        "hidden units n of the networks Dense(n) -> Dense(1), comma-separated",
        quick=(4, 16, 64, 256),
        type=unit_counts,
    ),
    seed=setting(
        0, "random seed, for repeatable runs; every network starts from it", type=seed_value
    ),
)

# %% [markdown]
# ## Setup

# %%
from common.keras_setup import start_keras

start_keras(settings.verbose)
import keras
import matplotlib.pyplot as plt
import numpy as np

from common.files import FIGURE_STYLE, prepare_output_dir, save_figure, show_figures, write_json
from common.formulas import formula

plt.style.use(FIGURE_STYLE)
output_dir = prepare_output_dir(settings.output_dir)

# %% [markdown]
# ## The data: four sine waves
#
# Evenly spaced points $x$ in $[-1, 1]$ and $y = \sin(4\pi x)$. The error is measured on a
# finer grid than the one the networks train on, so it also counts the points between.
# `formula(target)` reads the curve's name from `target`'s own `return` line, as text for the
# printout and the JSON and as mathtext for the figures, so an edited curve is named right.

# %%
TRAIN_POINTS = 512  # evenly spaced x in [-1, 1]
TEST_POINTS = 1001  # the error is measured on a finer grid


def target(x):
    """The curve to fit: four full sine waves on [-1, 1]."""
    return np.sin(4 * np.pi * x)


x_train = np.linspace(-1, 1, TRAIN_POINTS, dtype=np.float32)[:, None]  # (points, 1)
y_train = target(x_train)
x_test = np.linspace(-1, 1, TEST_POINTS, dtype=np.float32)[:, None]
y_test = target(x_test)
target_text, target_math = formula(target)  # "sin(4*pi*x)", "$\sin(4 \pi x)$"
print(f"the curve to fit: y = {target_text} on [-1, 1]")
print(f"x_train, y_train: {x_train.shape}; x_test, y_test: {x_test.shape}")

fig, ax = plt.subplots(figsize=(7, 2.6))
ax.plot(x_test[:, 0], y_test[:, 0], "k", lw=1, label=f"$y$ = {target_math}")
ax.plot(x_train[::8, 0], y_train[::8, 0], "o", ms=3, label="every 8th training point")
ax.set(xlabel="x", ylabel="y", title=f"the curve to fit: {target_math}")
ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))

# %% [markdown]
# ## Build the models
#
# One hidden layer, `Dense(n) -> Dense(1)`, has $n$ weights and $n$ biases in the hidden
# layer and $n + 1$ in the output: $3n + 1$ parameters. The deeper network stacks
# `DEEP_WIDTHS`; the one-hidden-layer network of its size gets the $n$ with about as many
# parameters.
#
# The first layer's tanh steps start spread over $[-1, 1]$, some of them steep: its weights
# and biases are uniform in ±`INIT_SCALE`. Every network is built from the same seed and
# compiled the same way: Adam, its learning rate decayed to zero along a cosine over
# `STEPS` steps, and the mean squared error as the loss.

# %%
ACTIVATION = "tanh"
INIT_SCALE = 5.0  # the first layer's weights and biases start uniform in +-INIT_SCALE
DEEP_WIDTHS = (20, 20, 20)  # the deeper network's hidden layers
STEPS = 2000  # Adam steps, the same for every network
LEARNING_RATE = 1e-2  # decayed to zero along a cosine


def first_layer(units):
    """The first hidden layer: its tanh steps start spread over [-1, 1], some of them steep."""
    return keras.layers.Dense(
        units,
        activation=ACTIVATION,
        kernel_initializer=keras.initializers.RandomUniform(-INIT_SCALE, INIT_SCALE),
        bias_initializer=keras.initializers.RandomUniform(-INIT_SCALE, INIT_SCALE),
    )


def build_shallow(n):
    """One hidden layer: Dense(n) -> Dense(1), 3n + 1 parameters."""
    return keras.Sequential([keras.Input((1,)), first_layer(n), keras.layers.Dense(1)])


def build_deep(widths=DEEP_WIDTHS):
    """Several hidden layers: Dense(widths[0]) -> Dense(widths[1]) -> ... -> Dense(1)."""
    hidden = [keras.layers.Dense(w, activation=ACTIVATION) for w in widths[1:]]
    return keras.Sequential(
        [keras.Input((1,)), first_layer(widths[0]), *hidden, keras.layers.Dense(1)]
    )


def same_size_width(params):
    """The n for which Dense(n) -> Dense(1) has about `params` parameters (3n + 1 of them)."""
    return round((params - 1) / 3)


twin = same_size_width(build_deep().count_params())
builders = {f"shallow_{n}": lambda n=n: build_shallow(n) for n in settings.widths}
builders["deep"] = build_deep
builders["same_size_shallow"] = lambda: build_shallow(twin)

per_call = 1 if keras.backend.backend() == "torch" else 64  # PyTorch runs one step a call
models = {}
for name, build in builders.items():
    keras.utils.set_random_seed(settings.seed)  # every network starts from the same seed
    model = build()
    schedule = keras.optimizers.schedules.CosineDecay(LEARNING_RATE, STEPS)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule), loss="mse", steps_per_execution=per_call
    )
    models[name] = model

# "20 x 20 x 20": the hidden layers' units, read from each model (all but the output layer)
hidden_layers = {
    name: " x ".join(str(layer.units) for layer in model.layers[:-1] if hasattr(layer, "units"))
    for name, model in models.items()
}
print(f"{'network':<20}{'hidden layers':>16}{'params':>9}")
for name, model in models.items():
    print(f"{name:<20}{hidden_layers[name]:>16}{model.count_params():>9,}")

# %% [markdown]
# ## Train
#
# The training points repeated, so that one epoch holds all the steps: Keras' overhead per
# epoch would otherwise cost more than the training of so small a network. Each network's
# shuffling starts from the seed too, so adding a network changes none of the others.

# %%
BATCH_SIZE = 64  # points per Adam step

repeats = int(np.ceil(STEPS * BATCH_SIZE / len(x_train)))
x_repeated, y_repeated = np.tile(x_train, (repeats, 1)), np.tile(y_train, (repeats, 1))
print(f"fitting y = {target_text} on [-1, 1]: {STEPS} Adam steps of {BATCH_SIZE} points each")
losses = {}
for name, model in models.items():
    keras.utils.set_random_seed(settings.seed)
    history = model.fit(
        x_repeated,
        y_repeated,
        batch_size=BATCH_SIZE,
        epochs=1,
        verbose=2 if settings.verbose else 0,
    )
    losses[name] = float(history.history["loss"][-1])
    print(
        f"trained {name}: loss {losses[name]:.4f} (the mean squared error, averaged over the steps)"
    )

# %% [markdown]
# ## Evaluate: the RMS error on the fine grid
#
# `model.predict` runs each trained network on points it did not train on: the slides'
# „testovacia fáza“ (testing phase), today usually called inference (see
# [the glossary](docs/glossary.md)). The error is the root of the mean squared difference
# between the fit and the curve on the test grid. For scale: a network that predicts the
# curve's mean everywhere scores the curve's standard deviation ($1/\sqrt{2} \approx 0.71$
# for $\sin(4\pi x)$).


# %%
def size_comparison(deep, twin):
    """The deep network against one hidden layer of its size, in words, from their numbers."""
    if deep["params"] == twin["params"]:
        sizes = f"the same number of parameters ({deep['params']:,})"
    else:
        sizes = f"about the same number of parameters ({deep['params']:,} and {twin['params']:,})"
    ratio = twin["rms_error"] / max(deep["rms_error"], 1e-12)
    if ratio > 1:
        found = f"depth's error is {ratio:.1f}x lower"
    else:
        found = f"depth's error is not lower ({1 / ratio:.1f}x higher)"
    return sizes, found


baseline = float(np.std(y_test))  # the RMS error of predicting the mean everywhere
print(f"predicting the mean everywhere: RMS error {baseline:.3f}")
results = {}
for name, model in models.items():
    y_fit = model.predict(x_test, batch_size=len(x_test), verbose=0)  # (points, 1)
    results[name] = {
        "layers": hidden_layers[name],
        "params": model.count_params(),
        "rms_error": float(np.sqrt(np.mean((y_fit - y_test) ** 2))),
        "fit": y_fit,
    }

print(f"{'network':<20}{'hidden layers':>16}{'params':>9}{'RMS error':>11}")
for name, r in results.items():
    print(f"{name:<20}{r['layers']:>16}{r['params']:>9,}{r['rms_error']:>11.3f}")
deep, same_size = results["deep"], results["same_size_shallow"]
sizes, found = size_comparison(deep, same_size)
print(
    f"deep / one hidden layer with {sizes}: RMS error {deep['rms_error']:.3f} against "
    f"{same_size['rms_error']:.3f}; {found}"
)

# %% [markdown]
# ## Show it
#
# Left: the fits of one hidden layer. Middle: the error against the number of parameters,
# on log scales. Right: the deeper network beside one hidden layer of the same size. The
# titles say what this run found: the counts and errors come from the models.


# %%
def plot_fits(x_test, y_test, results, widths, target_math, baseline):
    """The shallow fits | error against parameters | deep against shallow of the same size."""
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(16, 5.6), layout="constrained")
    x = x_test[:, 0]
    curve = f"$y$ = {target_math}"
    left.plot(x, y_test[:, 0], "k", lw=3, alpha=0.3, label=curve)
    for n in widths:
        left.plot(x, results[f"shallow_{n}"]["fit"][:, 0], lw=1.2, label=f"Dense({n})")
    low, high = float(y_test.min()), float(y_test.max())
    margin = 0.3 * (high - low) + 1e-3
    left.set(title="one hidden layer: Dense(n) -> Dense(1)", xlabel="x")
    left.set_ylim(low - margin, high + margin)
    left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3)

    shallow = [results[f"shallow_{n}"] for n in widths]
    middle.loglog(
        [r["params"] for r in shallow],
        [r["rms_error"] for r in shallow],
        "o-",
        label="one hidden layer",
    )
    top_axis = middle.secondary_xaxis("top")  # each shallow network's n above its point
    top_axis.set_xticks([r["params"] for r in shallow], [f"n={n}" for n in widths])
    top_axis.minorticks_off()
    labels = {"deep": "deep", "same_size_shallow": "one hidden layer, same size"}
    for name, style in (("deep", "*"), ("same_size_shallow", "s")):
        r = results[name]
        middle.loglog(
            r["params"],
            r["rms_error"],
            style,
            ms=12,
            mfc="none",  # hollow: the shallow points beside it stay visible
            mew=2,
            label=f"{labels[name]}: {r['layers']}",
        )
    middle.axhline(baseline, color="grey", ls="--", lw=1, label="predicting the mean")
    errors = [r["rms_error"] for r in results.values()] + [baseline]
    bottom, top = min(0.01, min(errors) / 1.5), max(1, 1.5 * max(errors))
    ticks = [t for t in (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10) if bottom <= t <= top]
    middle.set_yticks(ticks, [f"{t:g}" for t in ticks])
    middle.minorticks_off()
    middle.set_ylim(bottom, top)
    middle.set(title="RMS error against size", xlabel="parameters", ylabel="RMS error")
    middle.grid(alpha=0.3)
    middle.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)

    deep, twin = results["deep"], results["same_size_shallow"]
    sizes, found = size_comparison(deep, twin)
    right.plot(x, y_test[:, 0], "k", lw=3, alpha=0.3, label=curve)
    for name in ("deep", "same_size_shallow"):
        r = results[name]
        label = f"{labels[name]}: {r['layers']}, {r['params']:,} params, error {r['rms_error']:.3f}"
        right.plot(x, r["fit"][:, 0], label=label)
    right.set(title=sizes, xlabel="x")
    right.set_ylim(low - margin, high + margin)
    right.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14))
    ends = sorted({0, len(widths) - 1})  # the fewest and the most units (once if one width)
    shallow_errors = ", ".join(f"{shallow[i]['rms_error']:.3f} with n={widths[i]}" for i in ends)
    fig.suptitle(
        f"Fitting {curve}. One hidden layer: RMS error {shallow_errors}.\n"
        f"Deep ({deep['layers']}) against one hidden layer with {sizes}: {found}."
    )
    return fig


figure = save_figure(
    plot_fits(x_test, y_test, results, settings.widths, target_math, baseline),
    output_dir / "ker4u_universal_approximator.png",
)

# %% [markdown]
# ## Save the numbers

# %%
summary = {
    "target": f"{target_text} on [-1, 1]",
    "activation": ACTIVATION,
    "init_scale": INIT_SCALE,
    "steps": STEPS,
    "batch_size": BATCH_SIZE,
    "seed": settings.seed,
    "quick": settings.quick,
    "shallow_widths": list(settings.widths),
    "deep_widths": list(DEEP_WIDTHS),
    "same_size_width": twin,
    "rms_error_mean_baseline": baseline,
    **{f"params_{name}": r["params"] for name, r in results.items()},
    **{f"rms_error_{name}": r["rms_error"] for name, r in results.items()},
    "figure": str(figure),
}
print(f"results: {write_json(output_dir / 'ker4u_universal_approximator.json', summary)}")
show_figures(settings.no_show)
