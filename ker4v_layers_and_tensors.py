# %% [markdown]
# # Lesson 4v: Keras' building blocks, the image tensor and the layers that take it in
#
# **Slides:** „Aké súčiastky Keras poskytuje?“ (what parts does Keras provide?),
# „S akými typmi dát Keras pracuje?“ (what kinds of data does Keras work with?), and the
# layer slides: Dense, Activation, Conv2D, MaxPooling2D, Flatten, Dropout, Add (Merge),
# „Embeded“ (Keras' Embedding), Batch Normalization, TimeDistributed.
#
# Layers hand each other tensors: arrays with several axes, each axis of its own kind. Ten
# colour images of 32×32 pixels are one tensor of shape (10, 32, 32, 3) = (batch, height,
# width, channels). Then every layer family on the slide is built, called on a small
# tensor, and described in one row: the call that built it, the input and output shapes, and
# its parameters, counted by Keras and written out as a formula of the layer's sizes. The
# CIFAR-10 lesson (`ker5_cifar10_cnn.py`) builds its network from these layers.
#
# **What you will see:**
#
# - the ten images as one uint8 tensor, axis by axis, printed and drawn;
# - each layer family in its own section, with rows such as
#   `Conv2D(2, (3, 3))  (10, 32, 32, 3) -> (10, 30, 30, 2)  params 56 = 3·3·3·2 + 2`;
# - LocallyConnected2D, gone from Keras 3, rebuilt from EinsumDense: a Conv2D with one
#   kernel per output pixel instead of one for all;
# - the training phase against the inference phase: Dropout and the noise layers change
#   their input only while training; BatchNormalization uses the batch's statistics while
#   training and its moving averages at inference;
# - the activation functions drawn;
# - the slides' own lines `Dropout()`, `x = Add([x1,x2])` and `Embeded()` run as written:
#   Keras 3's error on one line, and the line that works.
#
# **Run it:** `python ker4v_layers_and_tensors.py` (the first ten CIFAR-10 test images
# instead of the photo crops: `--data-dir path/to/cifar-10-batches-py`; all flags: `--help`),
# or open this file as a notebook. Change a layer in its cell (a `Conv2D` with more filters, a
# wider `LSTM`) and rerun from there: the rows, the formulas and the JSON follow.

# %% [markdown]
# ## Settings
#
# In a notebook, edit them here; on the command line, each is a flag (`--seed 1`).

# %%
from common.lesson import lesson_settings, seed_value, setting

settings = lesson_settings(
    "Lesson 4v: Keras' building blocks, the image tensor and the layers that take it in",
    keras=True,
    seed=setting(0, "random seed: the layers' first weights and the small inputs", type=seed_value),
    data_dir=setting(
        None,
        "a local cifar-10-batches-py folder: its first ten test images instead of crops of "
        "matplotlib's sample photos (CIFAR10_DIR=DIR does the same, and data/"
        "cifar-10-batches-py is used when it is there)",
    ),
)

# %% [markdown]
# ## Setup
#
# `start_keras` imports Keras with TensorFlow's start-up messages hidden (`--verbose` shows
# them) and says which backend runs it. `add_row` (in `common/layer_tour.py`) prints one
# layer's row and keeps it for the JSON; each section's rows go to `layer_rows` under the
# section's name, so a cell run again replaces its own rows.

# %%
from common.keras_setup import start_keras

start_keras(settings.verbose)
import keras
import matplotlib.pyplot as plt
import numpy as np
from keras import layers, ops

from common.cifar10 import resolve_data_dir
from common.files import prepare_output_dir, save_figure, show_figures, write_json
from common.layer_tour import add_row, call_text, ten_images
from common.lesson import check_slide_code

INDENT = " " * 4  # details under a layer's row

output_dir = prepare_output_dir(settings.output_dir)
keras.utils.set_random_seed(settings.seed)  # the layers' first weights, Dropout's choices
rng = np.random.default_rng(settings.seed)  # the small input tensors
layer_rows = {}  # section name -> its rows: call, shapes, parameters
phases = {}  # layer name -> what it did while training and at inference


def rounded(values, digits=3):
    """A flat list of plain Python floats, rounded for printing."""
    return [round(float(v), digits) for v in np.ravel(values)]


# %% [markdown]
# ## The tensor: ten images as (batch, height, width, channels)
#
# Slide „S akými typmi dát Keras pracuje?“: layers hand each other *tensors*, arrays with
# several axes whose coordinates are each of one kind: batch, data, channel. Ten ordinary
# colour images of 32×32 pixels are a tensor 10 × 32 × 32 × 3 of whole numbers 0–255.
#
# For images the slide's "data" is two axes, the rows (height) and the columns (width), and
# Keras puts the channels last: `x[i]` is image i, `x[i, row, column]` its pixel's red, green
# and blue, `x[i, :, :, c]` one colour of the whole image. The images are crops of
# matplotlib's sample photos (they work offline), or with `--data-dir` the first ten CIFAR-10
# test images. Layers compute in float32, so `images` is the same tensor scaled to 0..1.


# %%
def plot_tensor(x, names, source):
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
    axes_meaning = ("batch", "height (row)", "width (column)", "channel (R, G, B)")
    legend = "\n".join(f"axis {i}: {meaning}" for i, meaning in enumerate(axes_meaning))
    axes[2, 4].text(0, 0.5, legend, fontsize=9, va="center")
    for ax in axes.flat[:14]:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"{source}: one tensor x of shape {x.shape}, uint8 0..255")
    return fig


x, names, source = ten_images(resolve_data_dir(settings.data_dir))  # --data-dir, $CIFAR10_DIR
batch, height, width, channels = x.shape  # (10, 32, 32, 3)
print(f"ten {height}x{width} colour images from {source}")
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
images = x.astype("float32") / 255.0  # (batch, height, width, channels), float32 0..1
tensor = {
    "source": source,
    "shape": list(x.shape),
    "axes": ["batch", "height", "width", "channel"],
    "dtype": str(x.dtype),
    "min": int(x.min()),
    "max": int(x.max()),
    "names": names,
    "first_pixel_rgb": x[0, 0, 0].tolist(),
}
tensor_figure = save_figure(plot_tensor(x, names, source), output_dir / "ker4v_tensor.png")

# %% [markdown]
# ## The layers: what Keras provides
#
# Slide „Aké súčiastky Keras poskytuje?“ lists the families: core layers (Dense,
# Activation, Flatten, Dropout), convolutional (Conv2D), locally connected
# (LocallyConnected2D), pooling (MaxPooling2D, AveragePooling2D), merge (Add, Subtract),
# recurrent (RNN, and „LSTN“, which Keras spells LSTM), embedding, advanced activations
# (Softmax, LeakyReLU), normalization (BatchNormalization), noise (GaussianNoise,
# GaussianDropout) and wrappers (TimeDistributed).
#
# Each section below builds a few of them and calls each on a small tensor. A layer is
# built once (`dense = layers.Dense(units)`) and then called like a function (`dense(x)`);
# Keras makes its weights at the first call, when it sees the input's last axis. Each call
# prints a row:
#
# ```
# the call                  input shape -> output shape   params N = formula
#     what the layer does
# ```
#
# N is Keras' own `layer.count_params()`; the formula is the same count written out from
# the sizes of the layer's weights, so you can check it by hand.

# %% [markdown]
# ## Core layers: Dense and Flatten
#
# Slide „Dense Layer“: a layer of neurons, each connected with every input („každý s
# každým“); each neuron has its own weights and, if wanted, a bias and an activation
# function. Dense with 6 units computes y = x·W + b with W of shape (inputs, 6) and one bias
# per neuron. The slide says the bias is subtracted; Keras adds it. That is only a sign
# convention, as the bias is learned either way. The cell checks the layer's output against
# x·W + b computed by hand.
#
# Slide „Flatten Layer“: it reshapes each input into one long vector. The batch axis stays,
# and nothing is learned.

# %%
rows = []
x_small = rng.normal(size=(2, 4)).astype("float32")  # (batch, features)
dense = layers.Dense(6)
what = "every neuron sees every input: y = x @ W + b, a bias each"
y = add_row(rows, dense, x_small, dense(x_small), what)
kernel, bias = dense.get_weights()  # (inputs, units), (units,)
error = np.abs(y - (x_small @ kernel + bias)).max()
print(f"{INDENT}check by hand: max |y - (x @ W + b)| = {error:.1e}")

flatten = layers.Flatten()
numbers = int(np.prod(images.shape[1:]))
what = f"lines up each image's {numbers} numbers; batch stays"
add_row(rows, flatten, images, flatten(images), what)
layer_rows["core"] = rows

# %% [markdown]
# ## Convolution and pooling, on the ten images
#
# Slide „Conv2D Layer“: a convolutional layer holds one or more convolutional networks
# (filters). All neurons of one filter are the same: the same weights and the same bias. Each
# neuron applies the kernel at its own place in every image of the batch. The Conv2D here has
# 2 filters of 3×3; each kernel reaches through all three colour channels, so a filter has
# 3·3·3 weights and a bias. Without padding (`padding="valid"`, the default) the output loses
# a border of one pixel.
#
# Slide „MaxPooling2D Layer“: it reduces the data and often follows a Conv2D. `pool_size =
# (sx, sy)`, and the step (`strides`) is the pool size, so a 2×2 pool halves the height and
# the width. AveragePooling2D takes the mean instead of the largest value; both run on a 4×4
# block of the numbers 0..15, small enough to check by hand.

# %%
rows = []
conv = layers.Conv2D(2, (3, 3))
what = "each kernel sees all colours; the same weights at every position"
feature_maps = add_row(rows, conv, images, conv(images), what)  # (batch, height, width, filters)
pool = layers.MaxPooling2D(pool_size=(2, 2))
what = "the largest of each 2x2 block: half the height and width"
add_row(rows, pool, feature_maps, pool(feature_maps), what)

block = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)  # 0..15, row by row
average = layers.AveragePooling2D((2, 2))
averaged = add_row(rows, average, block, average(block), "averages each 2x2 block")
maxed = ops.convert_to_numpy(pool(block))
print(f"{INDENT}the 4x4 block {block[0, :, :, 0].astype(int).tolist()}")
print(f"{INDENT}max -> {maxed[0, :, :, 0].tolist()}, average -> {averaged[0, :, :, 0].tolist()}")
layer_rows["convolution"] = rows

# %% [markdown]
# ## Locally connected: a Conv2D whose kernel is not shared
#
# The slide lists LocallyConnected2D; Keras 3 removed it. It was a Conv2D in which every
# output position has its own kernel and bias, instead of one for all. Keras 3 still has the
# parts to build it: `ops.image.extract_patches` cuts the 3×3×3 patch under every output
# position, and `EinsumDense` gives each position p its own small Dense (the `p` in the
# kernel's `pkf`).
#
# Two checks follow. With every position's kernel set to the Conv2D's, the output must be
# the Conv2D's feature maps: the shared kernel is the special case. And the parameter count
# is the Conv2D's times the number of output positions: that is what sharing saves.

# %%
rows = []
in_keras = hasattr(layers, "LocallyConnected2D")
print(f"keras.layers has LocallyConnected2D: {in_keras} (removed in Keras 3)")
print(f"{INDENT}It was a Conv2D whose kernel is NOT shared: every output position has its own.")
conv_kernel, conv_bias = conv.get_weights()  # (kh, kw, channels, filters), (filters,)
batch, out_height, out_width, filters = feature_maps.shape
positions, patch = out_height * out_width, int(np.prod(conv_kernel.shape[:3]))
patches = ops.image.extract_patches(images, conv.kernel_size, conv.strides, padding=conv.padding)
patches = ops.reshape(patches, (batch, positions, patch))  # (batch, position, patch)
local = layers.EinsumDense("bpk,pkf->bpf", output_shape=(positions, filters), bias_axes="pf")
what = f"like {call_text(conv)}, but {positions} kernels, one per pixel"
add_row(rows, local, patches, local(patches), what)

# Give every position the Conv2D's kernel: the outputs must then be the Conv2D's.
one_each = np.tile(conv_kernel.reshape(1, patch, filters), (positions, 1, 1))
local.set_weights([one_each, np.tile(conv_bias, (positions, 1))])
same = ops.convert_to_numpy(local(patches)).reshape(feature_maps.shape)
difference = float(np.abs(same - feature_maps).max())
print(f"{INDENT}with all {positions} kernels set to Conv2D's: max |difference| = {difference:.1e}")
ratio = local.count_params() // conv.count_params()
print(
    f"{INDENT}parameters: {local.count_params():,} unshared against {conv.count_params()}"
    f" shared ({ratio}x)"
)
locally_connected = {
    "in_keras": in_keras,
    "params_unshared": int(local.count_params()),
    "params_conv2d": int(conv.count_params()),
    "max_abs_diff_with_conv_weights": difference,
}
layer_rows["locally connected"] = rows

# %% [markdown]
# ## Merge layers: Add and Subtract
#
# Slide „Add (Merge) Layer“: it joins a branching structure of layers. Two branches `x1` and
# `x2` of the same shape become one, element by element. A merge layer is built first and
# then called on the list of branches: `layers.Add()([x1, x2])`. (The slide's shorter
# `Add([x1,x2])` is run as written at the end.) Nothing is learned.

# %%
rows = []
x1 = np.array([[1.0, 2.0, 3.0]], dtype="float32")  # (batch, features): one branch
x2 = np.array([[10.0, 20.0, 30.0]], dtype="float32")  # the other branch
add = layers.Add()
added = add_row(rows, add, [x1, x2], add([x1, x2]), "element by element: x1 + x2")
subtract = layers.Subtract()
subtracted = add_row(rows, subtract, [x1, x2], subtract([x1, x2]), "x1 - x2")
print(
    f"{INDENT}{x1[0].tolist()} and {x2[0].tolist()}: add {added[0].tolist()},"
    f" subtract {subtracted[0].tolist()}"
)
layer_rows["merge"] = rows

# %% [markdown]
# ## Sequences: recurrent layers, Embedding and TimeDistributed
#
# A sequence is a tensor (batch, time, features). SimpleRNN and LSTM (the slide's „LSTN“)
# read it one step at a time and carry a state from step to step: weights for the input, for
# the state, and a bias. An LSTM has four gates, each as big as a SimpleRNN. With
# `return_sequences=True` the layer gives its state after every step, not only the last.
#
# Slide „Embeded Layer“ (Keras calls it `Embedding`): it turns an integer, usually an input
# such as a word's number, into the activations of several neurons. In Keras it is a learned
# table with one row per integer. The slide says the numbers run from 0.0 to 1.0; in Keras
# they are any real numbers (they start small, of either sign).
#
# Slide „TimeDistributed Wrapper“: used with recurrent networks. It runs the same layer on
# each step of the sequence in turn (the time axis; the slide says the input's batch parts),
# with one set of weights for all steps.

# %%
rows = []
seq = rng.normal(size=(2, 5, 3)).astype("float32")  # (batch, time, features)
rnn = layers.SimpleRNN(4)
what = "reads 5 steps, carries a state: weights for input, state, bias"
add_row(rows, rnn, seq, rnn(seq), what)
lstm = layers.LSTM(4)
what = "Keras writes LSTM (the slide's 'LSTN'): 4 gates, 4 x units columns"
add_row(rows, lstm, seq, lstm(seq), what)
every_step = layers.SimpleRNN(4, return_sequences=True)
add_row(rows, every_step, seq, every_step(seq), "the same, but the state at every step")

words = np.array([[7, 2, 2, 0, 9], [1, 3, 5, 7, 9]])  # (batch, time) of integer ids
embedding = layers.Embedding(10, 3)  # ids 0..9, 3 numbers each
what = "a learned table: integer id -> a row of real numbers (any sign, not 0..1)"
vectors = add_row(rows, embedding, words, embedding(words), what)
table = embedding.get_weights()[0]  # (ids, numbers per id)
print(f"{INDENT}id 7 -> {rounded(vectors[0, 0])} = row 7 of the table: {rounded(table[7])}")

each_step = layers.TimeDistributed(layers.Dense(2))
what = "the same Dense on each of the 5 time steps: shared weights, not 5 copies"
add_row(rows, each_step, seq, each_step(seq), what)
layer_rows["sequences"] = rows

# %% [markdown]
# ## Training phase vs inference phase
#
# `model.fit()` calls every layer with `training=True`; `model.evaluate()` and
# `model.predict()` call it with `training=False`. Most layers compute the same either way.
# Dropout, the noise layers and BatchNormalization do not: they are called here in both
# phases, on the same input.
#
# ### Dropout and the noise layers
#
# Slide „Dropout Layer“: it helps against overfitting („preučenie“). While training,
# Dropout with rate 0.5 sets each input to zero with chance 0.5 and doubles the others, so
# the sum stays the same on average; the next layer cannot rely on any single input. At
# inference it passes everything unchanged. The noise layers of the slide's list,
# GaussianNoise and GaussianDropout, likewise change their input only while training.

# %%
rows = []
ones = np.ones((1, 10), dtype="float32")
dropout = layers.Dropout(0.5)
what = "zeroes each input with chance 0.5 and doubles the rest: on average, no change"
dropped = add_row(rows, dropout, ones, dropout(ones, training=True), what, training=True)
kept = ops.convert_to_numpy(dropout(ones, training=False))
print(f"{INDENT}training : {dropped[0].tolist()}")
print(f"{INDENT}inference: {kept[0].tolist()}  (identity)")
phases["Dropout"] = {
    "training_zero_fraction": float((dropped == 0).mean()),
    "inference_identity": bool(np.array_equal(kept, ones)),
}

signal = np.ones((1, 8), dtype="float32")
for noise, what in (
    (layers.GaussianNoise(0.5), "adds N(0, 0.5^2) noise"),
    (layers.GaussianDropout(0.5), "multiplies by N(1, rate/(1-rate)) noise"),
):
    noisy = add_row(rows, noise, signal, noise(signal, training=True), what, training=True)
    clean = ops.convert_to_numpy(noise(signal, training=False))
    print(f"{INDENT}training : {rounded(noisy[0], 2)}")
    print(f"{INDENT}inference: {clean[0].tolist()}  (identity)")
    phases[type(noise).__name__] = {
        "training_changed": bool(not np.allclose(noisy, signal)),
        "inference_identity": bool(np.array_equal(clean, signal)),
    }
layer_rows["dropout and noise"] = rows

# %% [markdown]
# ### BatchNormalization
#
# Slide „Batch Normalization Layer“: it normalises the input data to a normal (Gaussian)
# distribution with mean 0 and standard deviation 1. While training it uses the batch's own
# mean and standard deviation, feature by feature, then multiplies by gamma and adds beta,
# which are learned. It also keeps a moving average of the mean and of the variance: each
# training call moves them 1% of the way (Keras' `momentum=0.99`), and inference uses them.
# So an untrained layer (moving mean 0, variance 1) lets its input through nearly unchanged
# at inference; after a few hundred training batches the averages have caught up, and
# inference normalises too. Of its four numbers per feature, two learn and two are the
# moving statistics.

# %%
BN_TRAINING_STEPS = 500  # the moving averages need a few hundred batches to catch up

rows = []
features = rng.normal([10.0, -5.0, 100.0], [2.0, 0.5, 30.0], size=(8, 3)).astype("float32")
bn = layers.BatchNormalization()
before = ops.convert_to_numpy(bn(features, training=False))  # moving mean 0, variance 1
what = "(x - mean) / std * gamma + beta; gamma, beta learn, 2 moving statistics don't"
trained = add_row(rows, bn, features, bn(features, training=True), what, training=True)
for _ in range(BN_TRAINING_STEPS):  # each training call moves the averages 1% of the way
    bn(features, training=True)
after = ops.convert_to_numpy(bn(features, training=False))
print(f"{INDENT}input feature means {rounded(features.mean(0), 1)}")
print(
    f"{INDENT}training: batch statistics -> means {rounded(trained.mean(0))}, stds"
    f" {rounded(trained.std(0))}"
)
print(
    f"{INDENT}inference, untrained: moving mean 0, var 1 -> means {rounded(before.mean(0), 1)}"
    " (input passes nearly unchanged)"
)
print(
    f"{INDENT}inference after {BN_TRAINING_STEPS} training batches: means"
    f" {rounded(after.mean(0), 2)} (moving averages have caught up)"
)
phases["BatchNormalization"] = {
    "training_output_means": trained.mean(0).tolist(),
    "training_output_stds": trained.std(0).tolist(),
    "inference_untrained_means": before.mean(0).tolist(),
    "inference_after_training_means": after.mean(0).tolist(),
    "input_means": features.mean(0).tolist(),
}
layer_rows["batch normalization"] = rows

# %% [markdown]
# ## Activations
#
# Slide „Activation Layer“: it applies a function to each input on its own and passes the
# result on. Most other layers take the same function as their `activation=` argument
# (`Dense(6, activation="relu")` is a Dense followed by `Activation("relu")`). The slide
# lists linear, sigmoid, tanh, relu and softmax. Softmax is the exception to "each input on
# its own": it looks at the whole vector and turns scores into probabilities that sum to 1.
# The slide's advanced activation layers: Softmax (the same function as a layer of its own)
# and LeakyReLU, a relu that lets a small share of a negative input through.

# %%
ACTIVATIONS = ("linear", "sigmoid", "tanh", "relu", "softmax")  # the Activation slide's list

rows = []
z = np.array([[-2.0, -1.0, 0.0, 1.0, 2.0]], dtype="float32")  # (batch, features)
for name in ACTIVATIONS:
    activation = layers.Activation(name)
    activated = add_row(rows, activation, z, activation(z))
    print(f"{INDENT}{name}({z[0].tolist()}) = {rounded(activated)}")

logits = np.array([[1.0, 2.0, 3.0]], dtype="float32")
softmax = layers.Softmax()
what = "turns scores into probabilities that sum to 1"
probs = add_row(rows, softmax, logits, softmax(logits), what)
print(f"{INDENT}{logits[0].tolist()} -> {rounded(probs[0])}, sum {probs.sum():.3f}")
leaky_relu = layers.LeakyReLU(negative_slope=0.1)
what = "relu that lets 0.1 of a negative input through"
leaky = add_row(rows, leaky_relu, z, leaky_relu(z), what)
print(f"{INDENT}{z[0].tolist()} -> {rounded(leaky[0])}")
layer_rows["activations"] = rows

# %% [markdown]
# ### The activations drawn
#
# Left: each function of the slide's list on a line of inputs (softmax is on the right, as
# it needs a whole vector). Right: five scores and their softmax.


# %%
def plot_activations():
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


activations_figure = save_figure(plot_activations(), output_dir / "ker4v_activations.png")

# %% [markdown]
# ## The slides' code on Keras 3
#
# The slides print some lines in a short form. Each one runs here exactly as printed, with
# Keras' layers and two branches `x1`, `x2` at hand, and Keras 3's answer is shown on one
# line, with the line that works: Dropout needs its rate, a merge layer is built first and
# then called on the list, and the layer is spelled `Embedding` (with its table's size).

# %%
# Code as the slides print it, which Keras 3 refuses, and the line that works instead.
SLIDE_CODE = [
    {"slide": "Dropout Layer", "snippet": "Dropout()", "fix": "Dropout(0.5)"},
    {"slide": "Add (Merge) Layer", "snippet": "x = Add([x1,x2])", "fix": "x = Add()([x1, x2])"},
    {"slide": "Embeded Layer", "snippet": "Embeded()", "fix": "Embedding(10, 3)"},
]

slide_code = check_slide_code(SLIDE_CODE, {**vars(layers), "x1": x1, "x2": x2})

# %% [markdown]
# ## Save the numbers
#
# Every layer's row, the two phases, the locally connected check and the slides' code go
# to `outputs/ker4v_layers_and_tensors.json`, so runs (and backends) can be compared.

# %%
results = {
    "tensor": tensor,
    "layers": [row for rows in layer_rows.values() for row in rows],
    "training_vs_inference": phases,
    "locally_connected": locally_connected,
    "slide_code": slide_code,
}
print(f"results: {write_json(output_dir / 'ker4v_layers_and_tensors.json', results)}")
print("next: these layers build the CIFAR-10 network of ker5_cifar10_cnn.py")
show_figures(settings.no_show)
