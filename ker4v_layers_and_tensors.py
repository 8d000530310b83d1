# %% [markdown]
# # Lesson 4v: Keras' building blocks, the image tensor and the layers that take it in
#
# (4v: „vrstvy“, layers; after lesson 4u, as the slides go.)
#
# **Slides:** „Aké súčiastky Keras poskytuje?“ (what parts does Keras provide?),
# „S akými typmi dát Keras pracuje?“ (what kinds of data does Keras work with?), and the
# layer slides: Dense, Activation, Conv2D, MaxPooling2D, Flatten, Dropout, Add (Merge),
# „Embeded“ (Keras' Embedding), Batch Normalization, TimeDistributed.
#
# Layers hand each other tensors: arrays with several axes, each axis of its own kind. Ten
# colour images of 32×32 pixels are one tensor of shape (10, 32, 32, 3) = (batch, height,
# width, channels), the slide's batch / data / channel. Then every layer family on the slide
# is built, called on a small tensor, and described in one row: the call that builds it, the
# input and output shapes, and its parameters, counted by Keras and written out as a formula of
# the layer's sizes. The CIFAR-10 lesson (`ker5_cifar10_cnn.py`) builds its network from these
# layers. Where Keras differs from a slide, the output says so: the bias is added, not
# subtracted; BatchNormalization shifts and scales but does not make data Gaussian;
# TimeDistributed runs a layer on each time step; Keras 3 refuses three of the slides' code
# lines as printed.
#
# **What you will see:**
#
# - the ten images as one uint8 tensor, axis by axis, printed and drawn;
# - each layer family in its own section, with rows such as
#   `Conv2D(2, (3, 3))  (10, 32, 32, 3) -> (10, 30, 30, 2)  params 56 = 3·3·3·2 + 2`;
# - a Dense layer's output checked by hand: x·W + b, the bias added;
# - LocallyConnected2D, gone from Keras 3, rebuilt from EinsumDense: a Conv2D with one
#   kernel per output pixel instead of one for all;
# - the training phase („trénovacia fáza“) against inference (the slides' „testovacia
#   fáza“): Dropout and the noise layers change their input only while training;
#   BatchNormalization uses the batch's statistics while training and its moving averages
#   at inference, and a skewed input stays skewed (drawn);
# - the activation functions drawn, each in its own panel, and `Dense(6, activation="relu")`
#   giving what `Dense(6)` then `Activation("relu")` gives;
# - the slides' own lines `Dropout()`, `x = Add([x1,x2])` and `Embeded()` run as written:
#   Keras 3's error on one line, and the line that works.
#
# **Run it:** `python ker4v_layers_and_tensors.py` (one CIFAR-10 test image of each class
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
        "a local cifar-10-batches-py folder: one test image of each class instead of crops of "
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
from common.files import (
    FIGURE_STYLE,
    prepare_output_dir,
    save_figure,
    show_figures,
    verdict,
    write_json,
)
from common.layer_tour import add_row, call_text, ten_images
from common.lesson import check_slide_code

INDENT = " " * 4  # details under a layer's row

plt.style.use(FIGURE_STYLE)
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
# Keras puts the channels last: (batch, height, width, channels) is the slide's batch / data /
# channel. `x[i]` is image i, `x[i, row, column]` its pixel's red, green and blue,
# `x[i, :, :, c]` one colour of the whole image. The images are crops of matplotlib's sample
# photos (they work offline), or with `--data-dir` one CIFAR-10 test image of each class.
# Layers compute in float32, so `images` is the same tensor scaled to 0..1.
#
# In the figure each channel is drawn in its own colour, from black (0) to full red, green or
# blue (255), as the screen lights it; the numbers are the top-left 4×4 corner of the red
# channel, marked by the white square.


# %%
def channel_image(x, channel):
    """One channel of an RGB uint8 image, the other two set to 0: black to full colour."""
    only = np.zeros_like(x)
    only[:, :, channel] = x[:, :, channel]
    return only


def plot_tensor(x, names, source):
    """The batch axis as ten pictures, and image 0 split along the channel axis."""
    fig, axes = plt.subplots(3, 5, figsize=(11, 7.4))
    for i, ax in enumerate(axes[:2].flat):
        ax.imshow(x[i])
        ax.set_title(f"x[{i}]  {names[i]}")
    for c, colour in enumerate(("red", "green", "blue")):
        axes[2, c].imshow(channel_image(x[0], c))
        axes[2, c].set_title(f"x[0, :, :, {c}]  ({colour})")
    axes[2, 0].add_patch(plt.Rectangle((-0.5, -0.5), 4, 4, fill=False, ec="white", lw=1.5))
    corner = x[0, :4, :4, 0]
    axes[2, 3].imshow(channel_image(x[0, :4, :4], 0))
    for (r, c), value in np.ndenumerate(corner):
        ink = "white" if value < 235 else "black"  # the higher contrast on this red
        axes[2, 3].text(c, r, str(value), ha="center", va="center", color=ink, fontsize=10)
    axes[2, 3].set_title("x[0, :4, :4, 0]: numbers")
    axes[2, 4].axis("off")
    meanings = ("batch", "height (row): data", "width (column): data", "channel (R, G, B)")
    legend = "\n".join(f"axis {i}: {meaning}" for i, meaning in enumerate(meanings))
    axes[2, 4].text(0, 0.5, legend + "\n\nthe slide: batch / data / channel", va="center")
    for ax in axes.flat[:14]:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"{source}: one tensor x of shape {x.shape}, {x.dtype} {x.min()}..{x.max()}")
    return fig


data_dir = resolve_data_dir(settings.data_dir)  # --data-dir, else $CIFAR10_DIR, else data/
x, names, source = ten_images(data_dir)  # (batch, height, width, channels), uint8
batch, height, width, channels = x.shape  # (10, 32, 32, 3)
print(f"ten {height}x{width} colour images: {source}" + (f" ({data_dir})" if data_dir else ""))
print(f"x.shape = {x.shape}, dtype {x.dtype}, values {x.min()}..{x.max()}")
print(f"  axis 0  batch   : {batch} images ({', '.join(names)})")
print(f"  axis 1  height  : {height} rows of pixels        (the slide's data)")
print(f"  axis 2  width   : {width} columns of pixels     (the slide's data)")
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
    "slide_axes": ["batch", "data", "data", "channel"],
    "dtype": str(x.dtype),
    "min": int(x.min()),
    "max": int(x.max()),
    "names": names,
    "first_pixel_rgb": x[0, 0, 0].tolist(),
}
tensor_figure = save_figure(
    plot_tensor(x, names, source), output_dir / "ker4v_layers_and_tensors_tensor.png"
)

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
# per neuron.
#
# The slide says the bias is subtracted („Bias sa odpočíta“); Keras *adds* it. (It is a sign
# convention, since the bias is learned either way, but y = x·W + b is what Keras computes.)
# Keras starts every bias at 0, where adding and subtracting look the same, so the cell makes
# the weights first (`dense.build`) and gives the neurons biases from -1 to 1 (`set_weights`).
# Then it checks the layer's output against x·W + b and x·W - b computed by hand.
#
# Slide „Flatten Layer“: it reshapes each input into one long vector. The batch axis stays,
# and nothing is learned.

# %%
rows = []
x_small = rng.normal(size=(2, 4)).astype("float32")  # (batch, features)
dense = layers.Dense(6)
dense.build(x_small.shape)  # makes W (inputs, units) at random and b (units,) at 0
kernel = ops.convert_to_numpy(dense.kernel)
bias = np.linspace(-1, 1, dense.units).astype("float32")  # a bias whose sign shows
dense.set_weights([kernel, bias])
what = "every neuron sees every input: y = x @ W + b, a bias each"
y = add_row(rows, dense, x_small, dense(x_small), what)
plus = float(np.abs(y - (x_small @ kernel + bias)).max())
minus = float(np.abs(y - (x_small @ kernel - bias)).max())
bias_sign = "adds" if plus < minus else "subtracts"
print(f"{INDENT}b = {rounded(bias, 2)}")
print(f"{INDENT}y - x @ W = {rounded((y - x_small @ kernel)[0], 2)}  (sample 0)")
print(f"{INDENT}check by hand: max |y - (x @ W + b)| = {plus:.1e}")
print(f"{INDENT}              max |y - (x @ W - b)| = {minus:.1e}")
print(f"{INDENT}Keras {bias_sign} the bias (the slide says it is subtracted)")
dense_bias = {
    "bias": bias.tolist(),
    "keras": bias_sign,
    "max_abs_diff_plus": plus,
    "max_abs_diff_minus": minus,
}

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
# Slide „TimeDistributed Wrapper“: used with recurrent networks. The slide says it passes the
# input's batch parts („batch zložky“) through one by one; it is the *time steps* it goes
# through: the same layer runs on each step of the sequence (axis 1), each time on the whole
# batch, with one set of weights for all steps. The cell checks it: step t of the output is
# the inner Dense applied to step t of the input.

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
steps = seq.shape[1]
what = f"the same Dense on each of the {steps} time steps: shared weights, not {steps} copies"
stepped = add_row(rows, each_step, seq, each_step(seq), what)  # (batch, time, 2)
inner = each_step.layer  # the wrapped Dense
step_by_step = np.stack([ops.convert_to_numpy(inner(seq[:, t])) for t in range(steps)], axis=1)
step_difference = float(np.abs(stepped - step_by_step).max())
print(f"{INDENT}output[:, t] = Dense(seq[:, t]) for t = 0..{steps - 1}:", end=" ")
print(f"max |difference| = {step_difference:.1e}")
if step_difference < 1e-5:
    print(f"{INDENT}it runs over the time axis (axis 1), not over the batch's parts", end=" ")
    print("as the slide says")
time_distributed = {"steps": steps, "max_abs_diff_step_by_step": step_difference}
layer_rows["sequences"] = rows

# %% [markdown]
# ## Training phase vs inference phase („trénovacia fáza“ / „testovacia fáza“)
#
# `model.fit()` calls every layer with `training=True`: the slides' training phase
# („trénovacia fáza“). `model.evaluate()` and `model.predict()` call it with
# `training=False`: inference, the slides' testing phase („testovacia fáza“). Most layers
# compute the same either way. Dropout, the noise layers and BatchNormalization do not: they
# are called here in both phases, on the same input.
#
# ### Dropout and the noise layers
#
# Slide „Dropout Layer“: it helps against overfitting („preučenie“). While training,
# Dropout with rate 0.5 sets each input to zero with chance 0.5 and multiplies the others by
# 1 / (1 - 0.5) = 2, so the sum stays the same on average; the next layer cannot rely on any
# single input. At inference (testovacia fáza) it passes everything unchanged. The noise
# layers of the slide's list, GaussianNoise and GaussianDropout, likewise change their input
# only while training.

# %%
print("training phase (trénovacia fáza): training=True, as model.fit calls each layer")
print("inference (testovacia fáza): training=False, as model.predict and model.evaluate do")
rows = []
ones = np.ones((1, 10), dtype="float32")
dropout = layers.Dropout(0.5)
scale = 1 / (1 - dropout.rate)
what = f"zeroes each input with chance {dropout.rate}, multiplies the rest by {scale:g}"
dropped = add_row(rows, dropout, ones, dropout(ones, training=True), what, training=True)
kept = ops.convert_to_numpy(dropout(ones, training=False))
zeroed = int((dropped == 0).sum())
print(f"{INDENT}training : {dropped[0].tolist()}")
print(f"{INDENT}           {zeroed} of {ones.size} zeroed, mean {dropped.mean():.2f} (input: 1.0)")
unchanged = "the input, unchanged" if np.array_equal(kept, ones) else "CHANGED"
print(f"{INDENT}inference: {kept[0].tolist()}  ({unchanged})")
phases["Dropout"] = {
    "rate": dropout.rate,
    "training_zero_fraction": zeroed / ones.size,
    "training_values": sorted(set(dropped.ravel().tolist())),
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
    unchanged = "the input, unchanged" if np.array_equal(clean, signal) else "CHANGED"
    print(f"{INDENT}inference: {clean[0].tolist()}  ({unchanged})")
    phases[type(noise).__name__] = {
        "training_changed": bool(not np.allclose(noisy, signal)),
        "inference_identity": bool(np.array_equal(clean, signal)),
    }
layer_rows["dropout and noise"] = rows

# %% [markdown]
# ### BatchNormalization
#
# Slide „Batch Normalization Layer“: it normalises the input data so that they follow the
# Gaussian (normal) distribution with mean 0 and standard deviation 1. That is not quite
# what it does: it *shifts and scales* each feature to mean 0 and standard deviation 1, and
# the shape of the distribution stays as it was. The input here is skewed on purpose (a few
# large values, many small ones, as with prices or waiting times), and the output is just as
# skewed; a Gaussian's skewness would be 0.
#
# While training it uses the batch's own mean and standard deviation, feature by feature,
# then multiplies by gamma and adds beta, which are learned. It also keeps a moving average
# of the mean and of the variance: each training call moves them a share `1 - momentum`
# of the way (Keras' `momentum=0.99`: 1%), and inference (testovacia fáza) uses them. So an
# untrained layer (moving mean 0, variance 1) lets its input through nearly unchanged at
# inference; after a few hundred training calls the averages have caught up, and inference
# normalises too. Of its four numbers per feature, two learn and two are the moving
# statistics.


# %%
def skewness(values):
    """Each column's skewness, the mean of ((x - mean) / std) ** 3: 0 for a Gaussian."""
    z = (values - values.mean(axis=0)) / values.std(axis=0)
    return (z**3).mean(axis=0)


BN_TRAINING_STEPS = 500  # the moving averages need a few hundred training calls to catch up

rows = []
# 1000 samples of 3 features, each skewed: an exponential distribution, shifted and scaled.
features = rng.exponential([2.0, 0.5, 30.0], size=(1000, 3)) + [10.0, -5.0, 100.0]
features = features.astype("float32")  # (batch, features)
bn = layers.BatchNormalization()
before = ops.convert_to_numpy(bn(features, training=False))  # moving mean 0, variance 1
what = "(x - mean) / std * gamma + beta; gamma, beta learn, 2 moving statistics don't"
trained = add_row(rows, bn, features, bn(features, training=True), what, training=True)
print(f"{INDENT}input : means {rounded(features.mean(0), 1)}, stds {rounded(features.std(0), 2)}")
print(f"{INDENT}training: batch statistics -> means {rounded(trained.mean(0))},", end=" ")
print(f"stds {rounded(trained.std(0))}")
skew_in, skew_out = skewness(features), skewness(trained)
print(f"{INDENT}skewness in {rounded(skew_in, 2)} -> out {rounded(skew_out, 2)} (a Gaussian's: 0)")
shape_kept = bool(np.allclose(skew_in, skew_out, atol=1e-2))
if shape_kept:
    print(f"{INDENT}shifted and scaled; the skewness stays: the data are not made Gaussian")
    print(f"{INDENT}(the slide says BatchNormalization makes them Gaussian)")
for _ in range(BN_TRAINING_STEPS):  # each training call moves the averages a little
    bn(features, training=True)
after = ops.convert_to_numpy(bn(features, training=False))
caught_up = 1 - bn.momentum ** (BN_TRAINING_STEPS + 1)  # the share of the way after the calls
moving_mean = ops.convert_to_numpy(bn.moving_mean)
print(f"{INDENT}inference (testovacia fáza), untrained: moving mean 0, variance 1")
print(f"{INDENT}    -> means {rounded(before.mean(0), 1)}: the input passes nearly unchanged")
print(f"{INDENT}inference after {BN_TRAINING_STEPS + 1} training calls: moving means")
print(f"{INDENT}    {rounded(moving_mean, 1)}, {caught_up:.1%} of the way to the batch's")
print(f"{INDENT}    -> means {rounded(after.mean(0), 2)}: inference normalises too")
phases["BatchNormalization"] = {
    "training_output_means": trained.mean(0).tolist(),
    "training_output_stds": trained.std(0).tolist(),
    "input_skewness": skew_in.tolist(),
    "training_output_skewness": skew_out.tolist(),
    "inference_untrained_means": before.mean(0).tolist(),
    "inference_after_training_means": after.mean(0).tolist(),
    "moving_averages_share": caught_up,
    "input_means": features.mean(0).tolist(),
}
layer_rows["batch normalization"] = rows

# %% [markdown]
# ### BatchNormalization drawn: the same shape, shifted and scaled
#
# Left: the first feature as it comes in. Right: the same feature after BatchNormalization
# (training), with the Gaussian of mean 0 and standard deviation 1 that the slide promises.


# %%
def plot_normalization(values, normalized):
    """Histograms of one feature before and after BatchNormalization, and a Gaussian."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    skew_in, skew_out = skewness(values)[0], skewness(normalized)[0]
    left.hist(values[:, 0], bins=40, color="#0072B2")
    left.set_title(
        f"input: mean {values[:, 0].mean():.1f}, std {values[:, 0].std():.2f},"
        f" skewness {skew_in:.2f}"
    )
    left.set_xlabel("feature 0")
    left.set_ylabel("samples")
    right.hist(normalized[:, 0], bins=40, density=True, color="#0072B2", label="output")
    t = np.linspace(-3, max(3, normalized[:, 0].max()), 200)
    gaussian = np.exp(-(t**2) / 2) / np.sqrt(2 * np.pi)
    right.plot(t, gaussian, color="black", lw=2, label="Gaussian, mean 0, std 1")
    right.set_title(
        f"output: mean {normalized[:, 0].mean():.2f}, std {normalized[:, 0].std():.2f},"
        f" skewness {skew_out:.2f}"
    )
    right.set_xlabel("feature 0 after BatchNormalization")
    right.set_ylabel("density")
    right.legend()
    gaussian_like = abs(skew_out) < 0.5  # a Gaussian's skewness is 0
    mark = verdict(gaussian_like)
    said = "Gaussian" if gaussian_like else "not Gaussian"
    right.text(
        0.97,
        0.55,
        f"{mark['mark']} {said}",
        color=mark["color"],
        transform=right.transAxes,
        ha="right",
        fontsize=12,
    )
    fig.suptitle(
        f"BatchNormalization shifts and scales; the shape stays: skewness {skew_in:.2f}"
        f" in, {skew_out:.2f} out"
    )
    return fig


normalization_figure = save_figure(
    plot_normalization(features, trained),
    output_dir / "ker4v_layers_and_tensors_batch_normalization.png",
)

# %% [markdown]
# ## Activations
#
# Slide „Activation Layer“: it applies a function to each input on its own and passes the
# result on. The slide lists linear, sigmoid, tanh, relu and softmax. Softmax is the
# exception to "each input on its own": it looks at the whole vector and turns scores into
# probabilities that sum to 1. The slide's advanced activation layers: Softmax (the same
# function as a layer of its own) and LeakyReLU, a relu that lets a small share of a negative
# input through.
#
# The slide also says that most other layers take the same function as their `activation=`
# argument: `Dense(6, activation="relu")` is `Dense(6)` followed by `Activation("relu")`. The
# cell gives a `Dense(6, activation="relu")` the weights of the Dense above and shows that
# both ways give the same numbers.

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

# The activation as an argument: the Dense from above, with relu built in.
dense_relu = layers.Dense(dense.units, activation="relu")
dense_relu.build(x_small.shape)
dense_relu.set_weights(dense.get_weights())  # the same W and b as the Dense above
what = "the activation as an argument: relu applied to x @ W + b"
in_one = add_row(rows, dense_relu, x_small, dense_relu(x_small), what)
relu = layers.Activation("relu")
in_two = ops.convert_to_numpy(relu(dense(x_small)))  # Dense(6), then Activation('relu')
same_output = float(np.abs(in_one - in_two).max())
print(f"{INDENT}{call_text(dense_relu)}(x)[0] = {rounded(in_one[0], 2)}")
print(f"{INDENT}{call_text(relu)}({call_text(dense)}(x))[0] = {rounded(in_two[0], 2)}")
print(f"{INDENT}the same W and b: max |difference| = {same_output:.1e}")
activation_argument = {"max_abs_diff": same_output, "zeroed": int((in_one == 0).sum())}
layer_rows["activations"] = rows

# %% [markdown]
# ### The activations drawn
#
# Each function of the slide's list in its own panel, on a line of inputs, as Keras computes
# it (softmax is the last panel, as it needs a whole vector: five scores and their softmax).


# %%
FORMULAS = {  # each activation as mathtext, for the panels' titles
    "linear": r"$x$",
    "sigmoid": r"$1 / (1 + e^{-x})$",
    "tanh": r"$\tanh(x)$",
    "relu": r"$\max(0, x)$",
}


def plot_activations(names, slope=0.1):
    """Each activation (and LeakyReLU) in its own panel, and softmax on a vector of scores."""
    t = np.linspace(-4, 4, 401, dtype="float32")
    curves = {name: keras.activations.get(name)(t) for name in names if name != "softmax"}
    curves[f"LeakyReLU({slope})"] = layers.LeakyReLU(negative_slope=slope)(t)
    panels = len(curves) + 1  # and softmax
    columns = 3
    fig, axes = plt.subplots(
        -(-panels // columns), columns, figsize=(11, 3.3 * -(-panels // columns))
    )
    axes = axes.ravel()
    for i, (name, values) in enumerate(curves.items()):
        ax = axes[i]
        ax.axhline(0, color="0.8", lw=0.8, zorder=1)
        ax.axvline(0, color="0.8", lw=0.8, zorder=1)
        ax.plot(t, ops.convert_to_numpy(values), color="#0072B2", lw=2.5, zorder=3)
        formula = FORMULAS.get(name, rf"$\max({slope}x, x)$" if "Leaky" in name else "")
        ax.set_title(f"{name}: {formula}")
        ax.set_xlabel("input")
    right = axes[len(curves)]
    scores = np.array([1.0, 2.0, 3.0, 0.5, -1.0], dtype="float32")
    probs = ops.convert_to_numpy(keras.activations.softmax(scores[None]))[0]
    right.bar(np.arange(5) - 0.2, scores, 0.4, label="input scores", color="#999999")
    right.bar(np.arange(5) + 0.2, probs, 0.4, label="softmax", color="#0072B2")
    right.axhline(0, color="0.5", lw=0.8)
    right.set_xticks(range(5))
    right.set_xlabel("score number")
    right.set_title(f"softmax: the whole vector, sums to {probs.sum():.2f}")
    right.legend()
    for ax in axes[panels:]:
        ax.axis("off")
    fig.suptitle(f"Activation(...) as Keras computes it, on {len(t)} inputs from -4 to 4")
    fig.tight_layout()
    return fig


activations_figure = save_figure(
    plot_activations(ACTIVATIONS), output_dir / "ker4v_layers_and_tensors_activations.png"
)

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
# Every layer's row, the two phases, the checks by hand (the bias, TimeDistributed, the
# `activation=` argument, the locally connected layer) and the slides' code go to
# `outputs/ker4v_layers_and_tensors.json`, so runs (and backends) can be compared.

# %%
results = {
    "tensor": tensor,
    "layers": [row for rows in layer_rows.values() for row in rows],
    "training_vs_inference": phases,
    "locally_connected": locally_connected,
    "dense_bias": dense_bias,
    "time_distributed": time_distributed,
    "activation_argument": activation_argument,
    "slide_code": slide_code,
}
print(f"results: {write_json(output_dir / 'ker4v_layers_and_tensors.json', results)}")
print("next: these layers build the CIFAR-10 network of ker5_cifar10_cnn.py")
show_figures(settings.no_show)
