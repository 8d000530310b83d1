"""Lesson 4t: Keras' building blocks, the image tensor and the layers that take it in.

Slides "Aké súčiastky Keras poskytuje?", "S akými typmi dát Keras pracuje?" and the per-layer
slides (Dense, Activation, Conv2D, MaxPooling2D, Flatten, Dropout, Add, Embedding,
BatchNormalization, TimeDistributed). The CIFAR-10 lesson (ker5_cifar10_cnn.py) builds its
network from these layers.

What you will see:
- Ten 32x32 colour photos are ONE tensor x of shape (10, 32, 32, 3) = (batch, height, width,
  channels) of uint8 numbers 0..255: crops of matplotlib's sample photos (works offline), or with
  --data-dir (or CIFAR10_DIR) the first ten CIFAR-10 test images.
- Every layer family on the slide runs on a small tensor and prints input -> output shape and
  its parameters: Keras' own count_params(), and the formula written from the same numbers,
  e.g. "Conv2D(2, (3, 3))  (10, 32, 32, 3) -> (10, 30, 30, 2)  params 56 = 3·3·3·2 + 2".
- LocallyConnected2D is gone from Keras 3; the same layer built from EinsumDense (one kernel per
  output pixel) has 900 times the parameters of the Conv2D it generalises (50,400 against 56).
- Section "Training phase vs inference phase": Dropout zeroes each input with chance 0.5 while
  training (4 of 10 in the default run) and passes them unchanged at inference;
  BatchNormalization uses the batch's statistics while training and its moving averages at
  inference (output means [0.05, -0.05, 0.02] after 500 training batches).
- The slides' own code that Keras 3 refuses: `Dropout()` (TypeError: missing 'rate'),
  `x = Add([x1,x2])` (TypeError: takes 1 positional argument) and `Embeded()` (NameError),
  each with its error on one line and the line that works.

Run (10-30 s, mostly importing TensorFlow; --quick is the same run, the lesson is small):
    python ker4t_layers_and_tensors.py
    python ker4t_layers_and_tensors.py --data-dir path/to/cifar-10-batches-py
It saves outputs/ker4t_tensor.png, outputs/ker4t_activations.png and
outputs/ker4t_layers_and_tensors.json (every layer's row, the two phases, the slides' code).
"""

import numpy as np

from common.cifar10 import add_data_flags, resolve_data_dir
from common.cli import make_parser
from common.errors import run_lesson
from common.figures import pyplot, save_figure, show
from common.layer_rows import call_text, layer_row, print_layer_row
from common.paths import prepare_output_dir, write_json
from common.quiet_keras import keras
from common.slide_code import check_slide_code
from common.ten_images import ten_images

layers, ops = keras.layers, keras.ops
# About twenty layers, each with the lines that show it, in the order of the slides: this puts
# the file near 380 lines, past the ~350 of the other lessons, so that none of them is hidden.

BN_TRAINING_STEPS = 500  # BatchNormalization's moving averages need a few hundred batches
INDENT = " " * 4  # details under each layer
ACTIVATIONS = ("linear", "sigmoid", "tanh", "relu", "softmax")  # the Activation slide's list
# Code as the slides print it, which Keras 3 refuses, and the line that works instead.
SLIDE_CODE = [
    {"slide": "Dropout Layer", "snippet": "Dropout()", "fix": "Dropout(0.5)"},
    {"slide": "Add (Merge) Layer", "snippet": "x = Add([x1,x2])", "fix": "x = Add()([x1, x2])"},
    {"slide": "Embeded Layer", "snippet": "Embeded()", "fix": "Embedding(10, 3)"},
]


def rounded(values, digits=3):
    """A flat list of plain Python floats, rounded for printing."""
    return [round(float(v), digits) for v in np.ravel(values)]


def run(rows, layer, inputs, what, training=None):
    """Run one layer on inputs, print its call, shapes and parameters, and keep the row."""
    outputs = layer(inputs) if training is None else layer(inputs, training=training)
    rows.append(layer_row(layer, inputs, outputs, training))
    print_layer_row(rows[-1], what)
    return ops.convert_to_numpy(outputs)


# --- Prepare the data: the image tensor (batch, height, width, channels) ---
def describe_tensor(x, names, source):
    """Print what each axis of the image tensor means, on real numbers; return them for JSON."""
    batch, height, width, channels = x.shape
    print(f"x.shape = {x.shape}, dtype {x.dtype}, values {x.min()}..{x.max()}")
    print(f"  axis 0  batch   : {batch} images ({', '.join(names)})")
    print(f"  axis 1  height  : {height} rows of pixels")
    print(f"  axis 2  width   : {width} columns of pixels")
    print(f"  axis 3  channel : {channels} colours (red, green, blue)")
    print(f"  x[0, 0, 0] = {x[0, 0, 0].tolist()}   (image 0, top-left pixel: its R, G, B)")
    print(f"  x[0, :, :, 0].shape = {x[0, :, :, 0].shape}   (image 0's red channel)")
    print(
        f"  {x.size:,} numbers = {batch}*{height}*{width}*{channels}: {x.nbytes:,} bytes as uint8,"
        f" {x.size * 4:,} as the float32 that layers compute with"
    )
    return {
        "source": source,
        "shape": list(x.shape),
        "axes": ["batch", "height", "width", "channel"],
        "dtype": str(x.dtype),
        "min": int(x.min()),
        "max": int(x.max()),
        "names": names,
        "first_pixel_rgb": x[0, 0, 0].tolist(),
    }


# --- The layers: each family, its shapes and its parameters ---
def core_layers(rows, images, rng):
    """Dense and Flatten."""
    print("-- Core layers --")
    x_small = rng.normal(size=(2, 4)).astype("float32")  # (batch, features)
    dense = layers.Dense(6)
    y = run(rows, dense, x_small, "every neuron sees every input: y = x @ W + b, a bias each")
    kernel, bias = dense.get_weights()
    error = np.abs(y - (x_small @ kernel + bias)).max()
    print(f"{INDENT}check by hand: max |y - (x @ W + b)| = {error:.1e}")
    # (The slide says the bias is subtracted; Keras adds it. It's a sign convention: b learns.)
    numbers = np.prod(images.shape[1:])
    run(rows, layers.Flatten(), images, f"lines up each image's {numbers} numbers; batch stays")


def convolution_and_pooling(rows, images):
    """Conv2D, then max and average pooling; returns the Conv2D and its feature maps."""
    print("-- Convolution and pooling (on the ten images) --")
    conv = layers.Conv2D(2, (3, 3))
    what = "each kernel sees all colours; the same weights at every position"
    feature_maps = run(rows, conv, images, what)
    what = "the largest of each 2x2 block: half the height and width"
    run(rows, layers.MaxPooling2D((2, 2)), feature_maps, what)
    block = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)  # 0..15, row by row
    pooled = run(rows, layers.AveragePooling2D((2, 2)), block, "averages each 2x2 block")
    maxed = ops.convert_to_numpy(layers.MaxPooling2D((2, 2))(block))
    print(f"{INDENT}the 4x4 block {block[0, :, :, 0].astype(int).tolist()}")
    print(f"{INDENT}max -> {maxed[0, :, :, 0].tolist()}, average -> {pooled[0, :, :, 0].tolist()}")
    return conv, feature_maps


def locally_connected(rows, images, conv, feature_maps):
    """LocallyConnected2D (gone in Keras 3) built from EinsumDense: conv's layer, unshared."""
    in_keras = hasattr(layers, "LocallyConnected2D")
    print(f"-- LocallyConnected2D: keras.layers has it: {in_keras} (removed in Keras 3) --")
    print(f"{INDENT}It was a Conv2D whose kernel is NOT shared: every output position has its own.")
    # Cut the patch under every output position, then give each position its own Dense:
    # EinsumDense with the position index p in the kernel does exactly that.
    kernel, bias = conv.get_weights()  # (kh, kw, channels, filters), (filters,)
    batch, height, width, filters = feature_maps.shape
    positions, patch = height * width, np.prod(kernel.shape[:3])
    patches = ops.image.extract_patches(
        images, conv.kernel_size, conv.strides, padding=conv.padding
    )
    patches = ops.reshape(patches, (batch, positions, patch))  # (batch, position, patch)
    local = layers.EinsumDense("bpk,pkf->bpf", output_shape=(positions, filters), bias_axes="pf")
    run(rows, local, patches, f"like {call_text(conv)}, but {positions} kernels, one per pixel")
    # Give every position the Conv2D's kernel: the outputs must then be the Conv2D's.
    one_each = np.tile(kernel.reshape(1, patch, filters), (positions, 1, 1))
    local.set_weights([one_each, np.tile(bias, (positions, 1))])
    same = ops.convert_to_numpy(local(patches)).reshape(feature_maps.shape)
    difference = float(np.abs(same - feature_maps).max())
    print(
        f"{INDENT}with all {positions} kernels set to Conv2D's: max |difference| = {difference:.1e}"
    )
    ratio = local.count_params() // conv.count_params()
    print(
        f"{INDENT}parameters: {local.count_params():,} unshared against {conv.count_params()}"
        f" shared ({ratio}x)"
    )
    return {
        "in_keras": in_keras,
        "params_unshared": int(local.count_params()),
        "params_conv2d": int(conv.count_params()),
        "max_abs_diff_with_conv_weights": difference,
    }


def merge_layers(rows):
    """Add and Subtract join two branches, element by element."""
    print("-- Merge layers: join two branches --")
    x1 = np.array([[1.0, 2.0, 3.0]], dtype="float32")
    x2 = np.array([[10.0, 20.0, 30.0]], dtype="float32")
    added = run(rows, layers.Add(), [x1, x2], "element by element: x1 + x2")
    subtracted = run(rows, layers.Subtract(), [x1, x2], "x1 - x2")
    print(
        f"{INDENT}{x1[0].tolist()} and {x2[0].tolist()}: add {added[0].tolist()},"
        f" subtract {subtracted[0].tolist()}"
    )


def sequence_layers(rows, rng):
    """SimpleRNN, LSTM, Embedding and TimeDistributed on (batch, time, features)."""
    print("-- Recurrent and embedding layers: sequences (batch, time, features) --")
    seq = rng.normal(size=(2, 5, 3)).astype("float32")
    for layer, what in (
        (layers.SimpleRNN(4), "reads 5 steps, carries a state: weights for input, state, bias"),
        (layers.LSTM(4), "Keras writes LSTM (the slide's 'LSTN'): 4 gates, 4 x units columns"),
        (layers.SimpleRNN(4, return_sequences=True), "the same, but the state at every step"),
    ):
        run(rows, layer, seq, what)
    words = np.array([[7, 2, 2, 0, 9], [1, 3, 5, 7, 9]])  # (batch, time) of integer ids
    embedding = layers.Embedding(10, 3)
    what = "a learned table: integer id -> a row of real numbers (any sign, not 0..1)"
    vectors = run(rows, embedding, words, what)
    table = embedding.get_weights()[0]
    print(f"{INDENT}id 7 -> {rounded(vectors[0, 0])} = row 7 of the table: {rounded(table[7])}")
    what = "the same Dense on each of the 5 time steps: shared weights, not 5 copies"
    run(rows, layers.TimeDistributed(layers.Dense(2)), seq, what)


# --- Training phase vs inference phase: Dropout and BatchNormalization ---
# fit() calls every layer with training=True; evaluate() and predict() with training=False.
def dropout_phases(rows):
    """Dropout zeroes inputs while training, and is the identity at inference."""
    ones = np.ones((1, 10), dtype="float32")
    dropout = layers.Dropout(0.5)
    what = "zeroes each input with chance 0.5 and doubles the rest: on average, no change"
    dropped = run(rows, dropout, ones, what, training=True)
    kept = ops.convert_to_numpy(dropout(ones, training=False))
    print(f"{INDENT}training : {dropped[0].tolist()}")
    print(f"{INDENT}inference: {kept[0].tolist()}  (identity)")
    return {
        "training_zero_fraction": float((dropped == 0).mean()),
        "inference_identity": bool(np.array_equal(kept, ones)),
    }


def batchnorm_phases(rows, rng):
    """BatchNormalization: batch statistics while training, moving averages at inference."""
    features = rng.normal([10.0, -5.0, 100.0], [2.0, 0.5, 30.0], size=(8, 3)).astype("float32")
    bn = layers.BatchNormalization()
    before = ops.convert_to_numpy(bn(features, training=False))  # moving mean 0, variance 1
    what = "(x - mean) / std * gamma + beta; gamma, beta learn, 2 moving statistics don't"
    trained = run(rows, bn, features, what, training=True)
    for _ in range(BN_TRAINING_STEPS):  # each training call moves the averages 1% of the way
        bn(features, training=True)
    after = ops.convert_to_numpy(bn(features, training=False))
    for line in (
        f"input feature means {rounded(features.mean(0), 1)}",
        f"training: batch statistics -> means {rounded(trained.mean(0))}, stds"
        f" {rounded(trained.std(0))}",
        f"inference, untrained: moving mean 0, var 1 -> means {rounded(before.mean(0), 1)}"
        " (input passes nearly unchanged)",
        f"inference after {BN_TRAINING_STEPS} training batches: means"
        f" {rounded(after.mean(0), 2)} (moving averages have caught up)",
    ):
        print(INDENT + line)
    return {
        "training_output_means": trained.mean(0).tolist(),
        "training_output_stds": trained.std(0).tolist(),
        "inference_untrained_means": before.mean(0).tolist(),
        "inference_after_training_means": after.mean(0).tolist(),
        "input_means": features.mean(0).tolist(),
    }


def noise_phases(rows, layer, what):
    """GaussianNoise and GaussianDropout change their input only while training."""
    signal = np.ones((1, 8), dtype="float32")
    train = run(rows, layer, signal, what, training=True)
    infer = ops.convert_to_numpy(layer(signal, training=False))
    print(f"{INDENT}training : {rounded(train[0], 2)}")
    print(f"{INDENT}inference: {infer[0].tolist()}  (identity)")
    return {
        "training_changed": bool(not np.allclose(train, signal)),
        "inference_identity": bool(np.array_equal(infer, signal)),
    }


# --- Activations ---
def activation_layers(rows):
    """The slide's activation functions, as layers, on five numbers."""
    z = np.array([[-2.0, -1.0, 0.0, 1.0, 2.0]], dtype="float32")
    for name in ACTIVATIONS:
        y = run(rows, layers.Activation(name), z, "")
        print(f"{INDENT}{name}({z[0].tolist()}) = {rounded(y)}")
    logits = np.array([[1.0, 2.0, 3.0]], dtype="float32")
    probs = run(rows, layers.Softmax(), logits, "turns scores into probabilities that sum to 1")
    print(f"{INDENT}{logits[0].tolist()} -> {rounded(probs[0])}, sum {probs.sum():.3f}")
    what = "relu that lets 0.1 of a negative input through"
    leaky = run(rows, layers.LeakyReLU(negative_slope=0.1), z, what)
    print(f"{INDENT}{z[0].tolist()} -> {rounded(leaky[0])}")


def plot_activations(plt):
    """The slide's activation functions on a line, and softmax on a vector of scores."""
    t = np.linspace(-4, 4, 401, dtype="float32")
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for name in [name for name in ACTIVATIONS if name != "softmax"]:  # softmax: on the right
        left.plot(t, ops.convert_to_numpy(keras.activations.get(name)(t)), label=name)
    leaky = ops.convert_to_numpy(layers.LeakyReLU(negative_slope=0.1)(t))
    left.plot(t, leaky, "--", label="LeakyReLU(0.1)")
    left.set_ylim(-2, 2.5)
    left.axhline(0, color="gray", lw=0.5)
    left.axvline(0, color="gray", lw=0.5)
    left.set_xlabel("input")
    left.set_title("Activation(...): applied to each number on its own")
    left.legend()
    scores = np.array([1.0, 2.0, 3.0, 0.5, -1.0], dtype="float32")
    probs = ops.convert_to_numpy(keras.activations.softmax(scores[None]))[0]
    right.bar(np.arange(5) - 0.2, scores, 0.4, label="input scores")
    right.bar(np.arange(5) + 0.2, probs, 0.4, label=f"softmax (sums to {probs.sum():.2f})")
    right.set_xticks(range(5))
    right.set_title("softmax: looks at the whole vector")
    right.legend()
    return fig


# --- The slides' code on Keras 3 ---
def slide_code():
    """Each SLIDE_CODE line as the slide has it: Keras 3's error on one line, and the fix."""
    x1, x2 = np.array([[1.0, 2.0, 3.0]]), np.array([[10.0, 20.0, 30.0]])
    return check_slide_code(SLIDE_CODE, {**vars(layers), "x1": x1, "x2": x2})


# --- Show it: the tensor ---
def plot_tensor(plt, x, names, source):
    """The batch axis as ten pictures, and image 0 split along the channel axis."""
    fig, axes = plt.subplots(3, 5, figsize=(10, 6.6))
    for i, ax in enumerate(axes[:2].flat):
        ax.imshow(x[i])
        ax.set_title(f"x[{i}]  {names[i]}", fontsize=8)
    for c, colour in enumerate(("Reds", "Greens", "Blues")):
        axes[2, c].imshow(x[0, :, :, c], cmap=colour + "_r", vmin=0, vmax=255)
        axes[2, c].set_title(f"x[0, :, :, {c}]  ({colour[:-1].lower()})", fontsize=8)
    axes[2, 3].imshow(x[0, :4, :4, 0], cmap="gray", vmin=0, vmax=255)
    for (r, c), value in np.ndenumerate(x[0, :4, :4, 0]):
        axes[2, 3].text(c, r, str(value), ha="center", va="center", color="red", fontsize=8)
    axes[2, 3].set_title("x[0, :4, :4, 0]: uint8 numbers", fontsize=8)
    axes[2, 4].axis("off")
    legend = (
        "axis 0: batch\naxis 1: height (row)\naxis 2: width (column)\naxis 3: channel (R, G, B)"
    )
    axes[2, 4].text(0, 0.5, legend, fontsize=9, va="center")
    for ax in axes.flat[:14]:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"{source}: one tensor x of shape {x.shape}, uint8 0..255")
    return fig


def main(argv=None):
    parser = make_parser(__doc__)
    add_data_flags(parser)  # --data-dir: the first ten CIFAR-10 test images instead of the photos
    args = parser.parse_args(argv)
    out_dir = prepare_output_dir(args.output_dir)
    data_dir = resolve_data_dir(args.data_dir)  # --data-dir, else $CIFAR10_DIR, else the photos

    # x: (10, 32, 32, 3) uint8 = (batch, height, width, channels)
    x, names, source = ten_images(data_dir)
    print(f"== Tensors: ten {x.shape[1]}x{x.shape[2]} colour images from {source} ==")
    tensor = describe_tensor(x, names, source)
    images = x.astype("float32") / 255.0  # layers compute in float

    keras.utils.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    rows = []
    print("\n== Layers: input shape -> output shape, parameters = formula ==")
    core_layers(rows, images, rng)
    conv, feature_maps = convolution_and_pooling(rows, images)
    local = locally_connected(rows, images, conv, feature_maps)
    merge_layers(rows)
    sequence_layers(rows, rng)

    print("\n== Training phase vs inference phase ==")
    phases = {
        "Dropout": dropout_phases(rows),
        "BatchNormalization": batchnorm_phases(rows, rng),
        "GaussianNoise": noise_phases(rows, layers.GaussianNoise(0.5), "adds N(0, 0.5^2) noise"),
        "GaussianDropout": noise_phases(
            rows, layers.GaussianDropout(0.5), "multiplies by N(1, rate/(1-rate)) noise"
        ),
    }
    print("\n== Activations ==")
    activation_layers(rows)
    print("\n== The slides' code on Keras 3 ==")
    slides = slide_code()

    results = {
        "tensor": tensor,
        "layers": rows,
        "training_vs_inference": phases,
        "locally_connected": local,
        "slide_code": slides,
    }
    json_path = out_dir / "ker4t_layers_and_tensors.json"
    write_json(json_path, results)
    plt = pyplot(args.no_show)
    save_figure(plot_tensor(plt, x, names, source), out_dir / "ker4t_tensor.png")
    save_figure(plot_activations(plt), out_dir / "ker4t_activations.png")
    print(f"results: {json_path}")
    print("next: these layers build the CIFAR-10 network of ker5_cifar10_cnn.py")
    show(plt, args.no_show)


if __name__ == "__main__":
    run_lesson(main)
