"""Keras' building blocks: the tensors that flow between layers, and the layers themselves.

Seminar slides "Aké súčiastky Keras poskytuje?", "S akými typmi dát Keras pracuje?" and the
per-layer slides (Dense, Activation, Conv2D, MaxPooling2D, Flatten, Dropout, Add, Embedding,
BatchNormalization, TimeDistributed).

What the lesson shows:
- Ten 32x32 colour photos are ONE tensor of shape (10, 32, 32, 3) = (batch, height, width,
  channel) of uint8 numbers 0..255. By default they are crops of matplotlib's sample photos
  (works offline); with --data-dir (or CIFAR10_DIR) they are the first ten CIFAR-10 images.
- Every layer family on the slide runs on a tiny tensor and prints its input -> output shape and
  its parameter count twice: as Keras counts it and from the formula, e.g. Conv2D(2, (3, 3)) on
  RGB: 3*3*3*2 + 2 = 56.
- Dropout, GaussianNoise, GaussianDropout and BatchNormalization behave differently while
  training and at inference; the lesson shows both.
- LocallyConnected2D was removed in Keras 3; an equivalent built from EinsumDense (one kernel
  per output pixel) has 30*30 = 900 times as many parameters as the Conv2D it generalises
  (50,400 against 56).

Run:
    python ker4t_layers_and_tensors.py              # 15-30 s, mostly importing TensorFlow
    python ker4t_layers_and_tensors.py --quick --no-show    # the same: the lesson is already small
    python ker4t_layers_and_tensors.py --data-dir path/to/cifar-10-batches-py

It prints a table of 24 layers ("Conv2D(2, (3, 3))  (10, 32, 32, 3) -> (10, 30, 30, 2)
params 56 = 3*3*3*2 + 2"), saves outputs/ker4t_tensor.png and outputs/ker4t_activations.png, and
writes outputs/ker4t_layers_and_tensors.json (one entry per layer: shapes and parameters).
"""

import cv2
import numpy as np

from common.cifar10 import add_data_flags, resolve_data_dir
from common.cli import make_parser
from common.errors import LessonError, run_lesson
from common.figures import pyplot, save_figure, show
from common.images import default_image_path, read_rgb
from common.paths import prepare_output_dir, write_json
from common.tf_quiet import import_keras

INDENT = " " * 4  # details under each layer
IMAGE_SIZE = 32  # CIFAR-10 size: small enough to print, big enough to see
BN_TRAINING_STEPS = 500  # BatchNormalization's moving averages need a few hundred batches
# Ten square windows (x, y, side) of grace_hopper.jpg (512x600), each shrunk to 32x32.
CROPS = {
    "whole photo": (0, 44, 512),
    "face": (150, 130, 230),
    "eye": (195, 160, 75),
    "cap badge": (200, 20, 130),
    "stars": (0, 0, 140),
    "flag stripes": (10, 260, 120),
    "blue wall": (390, 140, 110),
    "ribbons": (320, 460, 140),  # (x, y, side): ends at the photo's bottom row, 600
    "name tag": (70, 460, 110),
}


def rounded(values, digits=3):
    """A flat list of plain Python floats, rounded for printing."""
    return [round(float(v), digits) for v in np.ravel(values)]


# --- Prepare the data ---
def photo_crops():
    """Ten 32x32 RGB uint8 images cut from matplotlib's sample photos, and their names."""
    from matplotlib import cbook

    photo = read_rgb(default_image_path())  # (600, 512, 3) uint8 RGB
    images, names = [], []
    for name, (x, y, side) in CROPS.items():
        crop = photo[y : y + side, x : x + side]
        images.append(cv2.resize(crop, (IMAGE_SIZE, IMAGE_SIZE), interpolation=cv2.INTER_AREA))
        names.append(name)
    gift_path = cbook.get_sample_data("Minduka_Present_Blue_Pack.png", asfileobj=False)
    gift = cv2.imread(str(gift_path), cv2.IMREAD_UNCHANGED)  # BGRA, transparent background
    if gift is None or gift.ndim != 3 or gift.shape[2] != 4:
        raise LessonError(f"matplotlib's sample image {gift_path} is missing or broken")
    alpha = gift[:, :, 3:4].astype(np.float32) / 255.0
    gift = gift[:, :, :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)  # onto white
    gift = cv2.cvtColor(gift.round().astype(np.uint8), cv2.COLOR_BGR2RGB)
    images.append(cv2.resize(gift, (IMAGE_SIZE, IMAGE_SIZE), interpolation=cv2.INTER_AREA))
    names.append("gift box")
    return np.stack(images), names  # (10, 32, 32, 3) uint8


def cifar_images(data_dir):
    """The first ten CIFAR-10 test images (uint8) and their class names."""
    from common.cifar10 import CLASS_NAMES, load_cifar10

    (_, _), (x_test, y_test) = load_cifar10(data_dir)
    if len(x_test) < 10:
        raise LessonError(f"the CIFAR-10 test batch holds {len(x_test)} images; ten are needed")
    return x_test[:10], [CLASS_NAMES[label] for label in y_test[:10]]


def describe_tensor(x, names):
    """Print what each axis of the image tensor means, on real numbers."""
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
    axes[2, 4].text(
        0,
        0.5,
        "axis 0: batch\naxis 1: height (row)\naxis 2: width (column)\naxis 3: channel (R, G, B)",
        fontsize=9,
        va="center",
    )
    for ax in axes.flat[:14]:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"{source}: one tensor x of shape {x.shape}, uint8 0..255")
    return fig


def plot_activations(plt, keras, ops):
    """The slide's activation functions on a line, and softmax on a vector of scores."""
    t = np.linspace(-4, 4, 401, dtype="float32")
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for name in ("linear", "sigmoid", "tanh", "relu"):
        left.plot(t, ops.convert_to_numpy(keras.activations.get(name)(t)), label=name)
    leaky = ops.convert_to_numpy(keras.layers.LeakyReLU(negative_slope=0.1)(t))
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


# --- The layers ---
def main():
    parser = make_parser(__doc__)
    add_data_flags(parser)  # --data-dir: the first ten CIFAR-10 test images instead of the photos
    args = parser.parse_args()
    out_dir = prepare_output_dir(args.output_dir)
    data_dir = resolve_data_dir(args.data_dir)  # --data-dir, else $CIFAR10_DIR, else None

    # Data first (no TensorFlow needed): ten real colour images.
    if data_dir:
        x, names = cifar_images(data_dir)
        source = f"CIFAR-10 test images ({data_dir})"
    else:
        x, names = photo_crops()
        source = "crops of matplotlib's sample photos"
    print(f"== Tensors: ten {IMAGE_SIZE}x{IMAGE_SIZE} colour images from {source} ==")
    describe_tensor(x, names)

    _, keras = import_keras(args.verbose)
    from keras import layers, ops

    keras.utils.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    entries = []

    def run(call, layer, inputs, what, formula="0", by_formula=0, **kwargs):
        """Run one layer, print its shapes and both parameter counts, and record them."""
        y = layer(inputs, **kwargs)
        shapes = [list(t.shape) for t in inputs] if isinstance(inputs, list) else inputs.shape
        in_text = (
            " + ".join(str(tuple(s)) for s in shapes)
            if isinstance(inputs, list)
            else str(tuple(shapes))
        )
        params = layer.count_params()
        agree = "" if params == by_formula else "   <-- MISMATCH"
        print(
            f"{call:30s} {in_text:>16s} -> {str(tuple(y.shape)):16s} params {params:>5,d}"
            f" = {formula}{agree}"
        )
        print(f"{INDENT}{what}")
        entries.append(
            {
                "layer": type(layer).__name__,
                "call": call,
                "input_shape": shapes if isinstance(inputs, list) else list(shapes),
                "output_shape": list(y.shape),
                "params": int(params),
                "params_formula": formula,
                "params_by_formula": int(by_formula),
            }
        )
        return ops.convert_to_numpy(y)

    print("\n== Layers: input shape -> output shape, parameters = formula ==")
    print("-- Core layers --")
    x_small = rng.normal(size=(2, 4)).astype("float32")  # (batch, features)
    dense = layers.Dense(6)
    y = run(
        "Dense(6)",
        dense,
        x_small,
        "every neuron sees every input: y = x @ W + b (one bias per neuron)",
        "4*6 + 6",
        4 * 6 + 6,
    )
    kernel, bias = dense.get_weights()
    print(
        f"{INDENT}check by hand: max |y - (x @ W + b)| = "
        f"{np.abs(y - (x_small @ kernel + bias)).max():.1e}"
    )
    # (The slide says the bias is subtracted; Keras adds it. It's a sign convention: b learns.)

    z = np.array([[-2.0, -1.0, 0.0, 1.0, 2.0]], dtype="float32")
    for name in ("linear", "sigmoid", "tanh", "relu", "softmax"):
        run(
            f"Activation('{name}')",
            layers.Activation(name),
            z,
            f"{name}({z[0].tolist()}) = {rounded(keras.activations.get(name)(z))}",
        )

    images = x.astype("float32") / 255.0  # (10, 32, 32, 3): layers compute in float
    flat = run(
        "Flatten()",
        layers.Flatten(),
        images,
        f"lines up each image's 32*32*3 = {32 * 32 * 3} numbers; the batch axis stays",
    )

    ones = np.ones((1, 10), dtype="float32")
    drop = layers.Dropout(0.5)
    dropped = run(
        "Dropout(0.5), training",
        drop,
        ones,
        "zeroes each input with chance 0.5 and doubles the rest: on average, no change",
        training=True,
    )
    kept = ops.convert_to_numpy(drop(ones, training=False))
    print(f"{INDENT}training : {dropped[0].tolist()}")
    print(f"{INDENT}inference: {kept[0].tolist()}  (identity)")

    print("-- Convolution and pooling (on the ten images) --")
    conv = layers.Conv2D(2, (3, 3))
    feature_maps = run(
        "Conv2D(2, (3, 3))",
        conv,
        images,
        "two 3x3 kernels over all 3 colours; the same weights at every position",
        "3*3*3*2 + 2",
        3 * 3 * 3 * 2 + 2,
    )
    run(
        "MaxPooling2D((2, 2))",
        layers.MaxPooling2D((2, 2)),
        feature_maps,
        "keeps the largest of each 2x2 block: half the height and width",
    )
    block = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)  # 0..15, row by row
    pooled = run(
        "AveragePooling2D((2, 2))",
        layers.AveragePooling2D((2, 2)),
        block,
        "averages each 2x2 block",
    )
    maxed = ops.convert_to_numpy(layers.MaxPooling2D((2, 2))(block))
    print(f"{INDENT}the 4x4 block {block[0, :, :, 0].astype(int).tolist()}")
    print(f"{INDENT}max -> {maxed[0, :, :, 0].tolist()}, average -> {pooled[0, :, :, 0].tolist()}")

    print("-- LocallyConnected2D: removed in Keras 3 --")
    print(
        f"{INDENT}keras.layers has LocallyConnected2D: "
        f"{hasattr(layers, 'LocallyConnected2D')}. It was a Conv2D whose kernel is NOT"
    )
    print(f"{INDENT}shared: every output position has its own. Built here from layers that exist:")
    # Cut the 3x3x3 patch under every output position, then give each position its own Dense:
    # EinsumDense with the position index p in the kernel does exactly that.
    patches = ops.image.extract_patches(
        images, (3, 3), strides=(1, 1), padding="valid"
    )  # (10, 30, 30, 27)
    patches = ops.reshape(patches, (10, 30 * 30, 3 * 3 * 3))  # (batch, position, patch)
    local = layers.EinsumDense("bpk,pkf->bpf", output_shape=(30 * 30, 2), bias_axes="pf")
    run(
        "EinsumDense, unshared 3x3",
        local,
        patches,
        "like Conv2D(2, (3, 3)), but 900 kernels, one per output pixel",
        "30*30*(3*3*3*2 + 2)",
        30 * 30 * (3 * 3 * 3 * 2 + 2),
    )
    # Give every position the Conv2D's kernel: the outputs must then be the Conv2D's.
    kernel, bias = conv.get_weights()
    local.set_weights([np.tile(kernel.reshape(1, 27, 2), (900, 1, 1)), np.tile(bias, (900, 1))])
    same = ops.convert_to_numpy(local(patches)).reshape(10, 30, 30, 2)
    local_vs_conv = float(np.abs(same - feature_maps).max())
    print(f"{INDENT}with all 900 kernels set to Conv2D's: max |difference| = {local_vs_conv:.1e}")
    print(
        f"{INDENT}parameters: {local.count_params():,} unshared against {conv.count_params()}"
        f" shared ({local.count_params() // conv.count_params()}x)"
    )

    print("-- Merge layers: join two branches --")
    a = np.array([[1.0, 2.0, 3.0]], dtype="float32")
    b = np.array([[10.0, 20.0, 30.0]], dtype="float32")
    added = run("Add()", layers.Add(), [a, b], "element by element: x1 + x2")
    subtracted = run("Subtract()", layers.Subtract(), [a, b], "x1 - x2")
    print(
        f"{INDENT}{a[0].tolist()} and {b[0].tolist()}: add {added[0].tolist()},"
        f" subtract {subtracted[0].tolist()}"
    )

    print("-- Recurrent and embedding layers: sequences (batch, time, features) --")
    seq = rng.normal(size=(2, 5, 3)).astype("float32")
    run(
        "SimpleRNN(4)",
        layers.SimpleRNN(4),
        seq,
        "reads 5 steps, carries a state of 4 numbers; weights for input, state and bias",
        "4*(3 + 4 + 1)",
        4 * (3 + 4 + 1),
    )
    run(
        "LSTM(4)",
        layers.LSTM(4),
        seq,
        "Keras writes LSTM (the slide's 'LSTN'): 4 gates, each a SimpleRNN's weights",
        "4*4*(3 + 4 + 1)",
        4 * 4 * (3 + 4 + 1),
    )
    run(
        "SimpleRNN(4, return_sequences)",
        layers.SimpleRNN(4, return_sequences=True),
        seq,
        "the same, but outputs the state at every step",
        "4*(3 + 4 + 1)",
        4 * (3 + 4 + 1),
    )
    words = np.array([[7, 2, 2, 0, 9], [1, 3, 5, 7, 9]])  # (batch, time) of integer ids
    embedding = layers.Embedding(10, 3)
    vectors = run(
        "Embedding(10, 3)",
        embedding,
        words,
        "a learned table: integer id -> a row of 3 real numbers (any sign, not 0..1)",
        "10*3",
        10 * 3,
    )
    print(
        f"{INDENT}id 7 -> {rounded(vectors[0, 0], 3)} = row 7 of the table:"
        f" {rounded(embedding.get_weights()[0][7], 3)}"
    )
    td = layers.TimeDistributed(layers.Dense(2))
    run(
        "TimeDistributed(Dense(2))",
        td,
        seq,
        "the same Dense on each of the 5 time steps: weights are shared, not 5 copies",
        "3*2 + 2",
        3 * 2 + 2,
    )

    print("-- Advanced activations --")
    logits = np.array([[1.0, 2.0, 3.0]], dtype="float32")
    probs = run(
        "Softmax()", layers.Softmax(), logits, "turns scores into probabilities that sum to 1"
    )
    print(f"{INDENT}{logits[0].tolist()} -> {rounded(probs[0], 3)}, sum {probs.sum():.3f}")
    leaky = run(
        "LeakyReLU(negative_slope=0.1)",
        layers.LeakyReLU(negative_slope=0.1),
        z,
        "relu that lets 0.1 of a negative input through",
    )
    print(f"{INDENT}{z[0].tolist()} -> {rounded(leaky[0], 3)}")

    print("-- Normalization and noise: training is not inference --")
    features = rng.normal([10.0, -5.0, 100.0], [2.0, 0.5, 30.0], size=(8, 3)).astype("float32")
    bn = layers.BatchNormalization()
    bn_before = ops.convert_to_numpy(bn(features, training=False))  # moving mean 0, var 1
    bn_train = run(
        "BatchNormalization()",
        bn,
        features,
        "(x - mean) / std * gamma + beta per feature; gamma, beta learn, 2 moving stats don't",
        "4*3",
        4 * 3,
        training=True,
    )
    for _ in range(BN_TRAINING_STEPS):  # each training call moves the averages 1% of the way
        bn(features, training=True)
    bn_after = ops.convert_to_numpy(bn(features, training=False))
    print(f"{INDENT}input feature means {rounded(features.mean(0), 1)}")
    print(
        f"{INDENT}training: batch statistics -> means {rounded(bn_train.mean(0), 3)}"
        f", stds {rounded(bn_train.std(0), 3)}"
    )
    print(
        f"{INDENT}inference, untrained: moving mean 0, var 1 -> means"
        f" {rounded(bn_before.mean(0), 1)} (input passes nearly unchanged)"
    )
    print(
        f"{INDENT}inference after {BN_TRAINING_STEPS} training batches: means"
        f" {rounded(bn_after.mean(0), 2)} (moving averages have caught up)"
    )

    signal = np.full((1, 8), 1.0, dtype="float32")
    noisy = {}
    for call, layer in (
        ("GaussianNoise(0.5)", layers.GaussianNoise(0.5)),
        ("GaussianDropout(0.5)", layers.GaussianDropout(0.5)),
    ):
        what = (
            "adds N(0, 0.5^2) noise"
            if "Noise" in call
            else "multiplies by N(1, rate/(1-rate)) noise"
        )
        train = run(call + ", training", layer, signal, what, training=True)
        infer = ops.convert_to_numpy(layer(signal, training=False))
        print(f"{INDENT}training : {rounded(train[0], 2)}")
        print(f"{INDENT}inference: {infer[0].tolist()}  (identity)")
        noisy[call.split("(")[0]] = (train, infer)

    # --- Summary ---
    inference = {
        "Dropout": {
            "training_zero_fraction": float((dropped == 0).mean()),
            "inference_identity": bool(np.array_equal(kept, ones)),
        },
        "GaussianNoise": {
            "training_changed": bool(not np.allclose(noisy["GaussianNoise"][0], signal)),
            "inference_identity": bool(np.array_equal(noisy["GaussianNoise"][1], signal)),
        },
        "GaussianDropout": {
            "training_changed": bool(not np.allclose(noisy["GaussianDropout"][0], signal)),
            "inference_identity": bool(np.array_equal(noisy["GaussianDropout"][1], signal)),
        },
        "BatchNormalization": {
            "training_output_means": bn_train.mean(0).tolist(),
            "training_output_stds": bn_train.std(0).tolist(),
            "inference_untrained_means": bn_before.mean(0).tolist(),
            "inference_after_training_means": bn_after.mean(0).tolist(),
            "input_means": features.mean(0).tolist(),
        },
    }
    results = {
        "tensor": {
            "source": source,
            "shape": list(x.shape),
            "axes": ["batch", "height", "width", "channel"],
            "dtype": str(x.dtype),
            "min": int(x.min()),
            "max": int(x.max()),
            "names": names,
            "first_pixel_rgb": x[0, 0, 0].tolist(),
        },
        "layers": entries,
        "training_vs_inference": inference,
        "locally_connected": {
            "in_keras": hasattr(layers, "LocallyConnected2D"),
            "params_unshared": int(local.count_params()),
            "params_conv2d": int(conv.count_params()),
            "max_abs_diff_with_conv_weights": local_vs_conv,
        },
        "flatten_shape": list(flat.shape),
    }
    json_path = out_dir / "ker4t_layers_and_tensors.json"
    write_json(json_path, results)
    mismatches = [e["call"] for e in entries if e["params"] != e["params_by_formula"]]
    print(
        f"\nparameter counts: {len(entries) - len(mismatches)} of {len(entries)} layers agree"
        " with their formula"
    )

    # --- Figures ---
    plt = pyplot(args.no_show)
    save_figure(plot_tensor(plt, x, names, source), out_dir / "ker4t_tensor.png")
    save_figure(plot_activations(plt, keras, ops), out_dir / "ker4t_activations.png")
    print(f"results: {json_path}")
    show(plt, args.no_show)
    return 1 if mismatches else 0


if __name__ == "__main__":
    run_lesson(main)
