"""Lesson 4u: one hidden layer can fit any curve in principle; depth makes it practical.

Slide "Deep Learning": "two fully connected layers of neurons are a universal approximator".
The theorem (Cybenko 1989, Hornik 1991) says that one hidden layer with enough units can
come as close as you like to any continuous function on an interval. It says such a network
exists, not how many units it needs, nor that training will find it. This lesson fits
y = sin(4*pi*x) on [-1, 1] (four full waves) with

- Dense(n, tanh) -> Dense(1) for n = 4, 16, 64, 256, 1024: the error falls as n grows;
- a deeper network, three Dense(20, tanh) layers -> Dense(1): 901 parameters;
- the one-hidden-layer network of the same size, Dense(300) -> Dense(1): 901 parameters.

Every network trains the same way (Adam, 2000 steps of 64 points) and its first layer starts
the same way (weights and biases uniform in +-5, see INIT_SCALE).

Run:   python ker4u_universal_approximator.py            (about 15 s on a busy 2-core CPU)
       python ker4u_universal_approximator.py --quick    (drops n = 1024)

What you will see (seed 0): the RMS error of one hidden layer falls from 0.645 (n = 4) to
0.172 (n = 64) and 0.130 (n = 256); 1024 units do no better in 2000 steps (0.113). The deep
network reaches 0.013, ten times lower than one hidden layer of its size (0.130). Over seeds
0-8 the deep network won every time, by 4.0 to 10.7 times. Figure:
outputs/ker4u_universal_approximator.png (the fits | error against parameters | deep beside
shallow of one size); numbers in outputs/ker4u_universal_approximator.json.

How the first layer starts decides a lot. With Keras' default start (small weights, zero
biases: every tanh step sits at x = 0) neither network learns the waves in 2000 steps (RMS
error 0.67 to 0.69, no better than predicting 0). With INIT_SCALE = 7 the units of the one
hidden layer start steep enough for the waves, and at this size it comes close to the deep
network (seeds 0-2: 0.035, 0.025, 0.015 against 0.009, 0.014, 0.025). The deep network
builds steep wiggles by composing gentle ones; one hidden layer must be handed each wiggle
by a unit of its own.
"""

import numpy as np

from common.cli import make_parser
from common.errors import run_lesson
from common.figures import pyplot, save_figure, show
from common.paths import prepare_output_dir, write_json
from common.quiet_keras import keras

# --- Settings ---
SHALLOW_WIDTHS = (4, 16, 64, 256, 1024)  # hidden units n of Dense(n) -> Dense(1)
QUICK_WIDTHS = (4, 16, 64, 256)
DEEP_WIDTHS = (20, 20, 20)  # the deeper network's hidden layers
ACTIVATION = "tanh"
INIT_SCALE = 5.0  # first layer's weights and biases start uniform in +-INIT_SCALE
STEPS = 2000  # Adam steps, the same for every network
BATCH_SIZE = 64
LEARNING_RATE = 1e-2  # decayed to zero along a cosine
TRAIN_POINTS = 512  # evenly spaced x in [-1, 1]
TEST_POINTS = 1001  # the error is measured on a finer grid


# --- Prepare the data ---
def target(x):
    """The curve to fit: four full sine waves on [-1, 1]."""
    return np.sin(4 * np.pi * x)


def make_data():
    """Training and test points, each of shape (points, 1), float32."""
    x_train = np.linspace(-1, 1, TRAIN_POINTS, dtype=np.float32)[:, None]
    x_test = np.linspace(-1, 1, TEST_POINTS, dtype=np.float32)[:, None]
    return x_train, target(x_train), x_test, target(x_test)


# --- Build the models ---
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


# --- Train and evaluate ---
def fit(model, x_train, y_train, x_test, y_test, steps=STEPS):
    """Train with Adam for `steps` batches; return the RMS error on the test grid and the fit."""
    # The 512 points repeated, so one epoch is all the steps: Keras' per-epoch overhead
    # would otherwise cost more than the training of so small a network.
    repeats = int(np.ceil(steps * BATCH_SIZE / len(x_train)))
    x, y = np.tile(x_train, (repeats, 1)), np.tile(y_train, (repeats, 1))
    schedule = keras.optimizers.schedules.CosineDecay(LEARNING_RATE, steps)
    per_call = 1 if keras.backend.backend() == "torch" else 64  # PyTorch runs one step a call
    model.compile(
        optimizer=keras.optimizers.Adam(schedule), loss="mse", steps_per_execution=per_call
    )
    model.fit(x, y, batch_size=BATCH_SIZE, epochs=1, verbose=0)
    y_fit = model.predict(x_test, batch_size=len(x_test), verbose=0)
    return float(np.sqrt(np.mean((y_fit - y_test) ** 2))), y_fit


def fit_all(widths, seed):
    """Fit every shallow width, the deep network and the shallow network of the deep one's size."""
    x_train, y_train, x_test, y_test = make_data()
    twin = same_size_width(build_deep().count_params())
    networks = [(f"shallow_{n}", str(n), lambda n=n: build_shallow(n)) for n in widths]
    networks += [
        ("deep", " x ".join(map(str, DEEP_WIDTHS)), build_deep),
        ("same_size_shallow", str(twin), lambda: build_shallow(twin)),
    ]
    results = {}
    for name, layers, build in networks:
        keras.utils.set_random_seed(seed)  # every network starts from the same seed
        model = build()
        error, y_fit = fit(model, x_train, y_train, x_test, y_test)
        results[name] = {
            "layers": layers,
            "params": model.count_params(),
            "rms_error": error,
            "fit": y_fit,
        }
    return x_test, y_test, results


# --- Show it ---
def print_table(results):
    """One row per network: its layers, parameters and RMS error."""
    print(f"{'network':<20}{'hidden layers':>16}{'params':>9}{'RMS error':>11}")
    for name, r in results.items():
        print(f"{name:<20}{r['layers']:>16}{r['params']:>9,}{r['rms_error']:>11.3f}")


def plot(plt, x_test, y_test, results, widths):
    """The shallow fits | error against parameters | deep against shallow of the same size."""
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(16, 4.6))
    x = x_test[:, 0]
    left.plot(x, y_test[:, 0], "k", lw=3, alpha=0.3, label="sin(4πx)")
    for n in widths:
        left.plot(x, results[f"shallow_{n}"]["fit"][:, 0], lw=1.2, label=f"Dense({n})")
    left.set(title="one hidden layer: Dense(n) -> Dense(1)", xlabel="x", ylim=(-1.6, 1.6))
    left.legend(fontsize=8, loc="lower left", ncol=2)

    shallow = [results[f"shallow_{n}"] for n in widths]
    middle.loglog(
        [r["params"] for r in shallow],
        [r["rms_error"] for r in shallow],
        "o-",
        label="one hidden layer",
    )
    for n, r in zip(widths, shallow, strict=True):
        middle.annotate(
            f"n={n}",
            (r["params"], r["rms_error"]),
            xytext=(4, 4),
            textcoords="offset points",
            fontsize=8,
        )
    labels = {"deep": "deep", "same_size_shallow": "one hidden layer, same size"}
    for name, style in (("deep", "*"), ("same_size_shallow", "s")):
        r = results[name]
        label = f"{labels[name]}: {r['layers']}"
        middle.loglog(r["params"], r["rms_error"], style, ms=12, label=label)
    ticks = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1]
    middle.set_yticks(ticks, [f"{t:g}" for t in ticks])
    middle.minorticks_off()
    lowest = min(r["rms_error"] for r in results.values())
    middle.set_ylim(min(0.01, lowest / 1.5), 1)
    middle.set(title="RMS error against size", xlabel="parameters", ylabel="RMS error")
    middle.grid(alpha=0.3)
    middle.legend(fontsize=8)

    right.plot(x, y_test[:, 0], "k", lw=3, alpha=0.3, label="sin(4πx)")
    for name in ("deep", "same_size_shallow"):
        r = results[name]
        label = f"{labels[name]}: {r['layers']}, {r['params']} params, error {r['rms_error']:.3f}"
        right.plot(x, r["fit"][:, 0], label=label)
    right.set(title="the same number of parameters", xlabel="x", ylim=(-1.6, 1.6))
    right.legend(fontsize=8, loc="lower left")
    fig.suptitle("Two layers can approximate any curve; depth gets there with fewer parameters")
    return fig


def main(argv=None):
    parser = make_parser(__doc__)
    args = parser.parse_args(argv)
    widths = QUICK_WIDTHS if args.quick else SHALLOW_WIDTHS
    out_dir = prepare_output_dir(args.output_dir)

    # --- Train and evaluate ---
    print(f"fitting sin(4*pi*x) on [-1, 1]: {STEPS} Adam steps of {BATCH_SIZE} points each")
    x_test, y_test, results = fit_all(widths, args.seed)

    # --- Show it ---
    print_table(results)
    deep, twin = results["deep"], results["same_size_shallow"]
    print(
        f"deep / one hidden layer of the same size: RMS error {deep['rms_error']:.3f} against "
        f"{twin['rms_error']:.3f} ({twin['rms_error'] / deep['rms_error']:.1f}x lower)"
    )
    plt = pyplot(args.no_show)
    fig = plot(plt, x_test, y_test, results, widths)
    figure = save_figure(fig, out_dir / "ker4u_universal_approximator.png")
    summary = {
        "target": "sin(4*pi*x) on [-1, 1]",
        "activation": ACTIVATION,
        "init_scale": INIT_SCALE,
        "steps": STEPS,
        "batch_size": BATCH_SIZE,
        "seed": args.seed,
        "quick": args.quick,
        "shallow_widths": list(widths),
        "deep_widths": list(DEEP_WIDTHS),
        "same_size_width": same_size_width(deep["params"]),
        **{f"params_{name}": r["params"] for name, r in results.items()},
        **{f"rms_error_{name}": r["rms_error"] for name, r in results.items()},
        "figure": str(figure),
    }
    write_json(out_dir / "ker4u_universal_approximator.json", summary)
    print(f"results: {out_dir / 'ker4u_universal_approximator.json'}")
    show(plt, args.no_show)


if __name__ == "__main__":
    run_lesson(main)
