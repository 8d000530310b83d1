# %% [markdown]
# # Lesson 2: the Sobel filter as a Keras Conv2D layer with fixed weights
#
# **Slides:** „Konvolučná neurónová sieť“ (a convolutional neural network), „Implementácia
# v Keras-e“ (the implementation in Keras).
#
# A convolutional layer whose every output neuron sees a 3×3 neighbourhood of the input,
# with the same 9 weights for every neuron, is exactly the Sobel filter of lesson 1. We
# build the slide's one-layer network, put the Sobel kernel in with `set_weights`, and run
# it on the same image.
#
# **What you will see:**
#
# - the tensor shape Keras works on: (batch, height, width, channels), the slide's
#   „batch / data / channel“ (height and width are the data's two axes);
# - the slide's code run as printed on Keras 3, and what it needs there: `import keras` alone
#   does not give `Input`, `Conv2D` and `Model`; the rest still runs;
# - the largest difference from OpenCV's result inside the image: zero on TensorFlow, and
#   float32 rounding on JAX (about 1e-4, where the responses reach 1,020);
# - a difference on the border only: `cv2.filter2D` reflects the image at its border, while
#   `padding="same"` pads with zeros. With zero padding in OpenCV too, the two agree
#   everywhere;
# - no kernel flip: OpenCV and Keras both compute a correlation, not a convolution.
#
# **Run it:** `python ker2_sobel_keras.py` (`--image my.jpg`; all flags: `--help`), or open
# this file as a notebook. Put any other square kernel of odd size in the model's cell (a
# Laplacian, `SOBEL_X.T` for horizontal edges, a 5×5 blur): the Conv2D and `cv2.filter2D`
# still agree.

# %% [markdown]
# ## Settings
#
# In a notebook, edit them here; on the command line, each is a flag.

# %%
from common.lesson import lesson_settings, setting

settings = lesson_settings(
    "Lesson 2: the Sobel filter as a Keras Conv2D layer with fixed weights",
    keras=True,
    image=setting(None, "an image file (any format OpenCV reads); none: Grace Hopper's photo"),
    zoom=setting(24, "the difference panel shows the top-left ZOOM x ZOOM pixels"),
)

# %% [markdown]
# ## Setup
#
# `start_keras` imports Keras with TensorFlow's start-up messages hidden (`--verbose` shows
# them) and says which backend runs it.

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
from common.lesson import LessonError, first_line, try_code

plt.style.use(FIGURE_STYLE)  # one style for every lesson's figures
output_dir = prepare_output_dir(settings.output_dir)

# %% [markdown]
# ## The input as a tensor
#
# Keras works on batches of images: a 4-D tensor of shape (batch, height, width, channels).
# The slide „S akými typmi dát Keras pracuje?“ names these axes batch / data / channel: the
# data of one image here are its height and width. One grey image is a batch of 1 with 1
# channel. (The slides' words: `docs/glossary.md`.)

# %%
image, note = read_gray(settings.image)  # (height, width), float32, 0..255
if note:
    print(note)
input_images = image[np.newaxis, :, :, np.newaxis]  # (batch, height, width, channels)
print(
    f"input tensor: {input_images.shape} = (batch, height, width, channels); "
    "on the slide: batch / data / channel"
)

# %% [markdown]
# ## The model: one Conv2D neuron with a 3×3 kernel
#
# The slide's network, in Keras 3's words. `Input(shape=(None, None, 1))` takes any height
# and width with one channel; `Conv2D(1, (3, 3))` is one filter of 3×3 weights, without a
# bias, and `padding="same"` keeps the output as large as the input. Conv2D keeps its kernel
# as (kernel height, kernel width, input channels, output channels), so the 3×3 Sobel kernel
# goes in reshaped to (3, 3, 1, 1). The Conv2D takes the kernel's size, so a 5×5 kernel works
# too; an even or oblong one has no centre pixel, and is refused.

# %%
SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32)  # lesson 1's
kernel = SOBEL_X  # any odd square kernel can go here: 3x3, 5x5, ...
size = kernel.shape[0]  # 3: the slide's Conv2D(1, (3, 3))
if kernel.shape != (size, size) or size % 2 == 0:
    raise LessonError(f"the kernel is {kernel.shape}: it must be square, of odd size (3x3, 5x5)")

inp = keras.Input(shape=(None, None, 1))  # any height and width, one channel
out = keras.layers.Conv2D(1, (size, size), use_bias=False, padding="same", name="conv")(inp)
model = keras.Model(inputs=inp, outputs=out)
model.get_layer("conv").set_weights([kernel.reshape(size, size, 1, 1)])
print(f"the layer has {model.count_params()} parameters: the {kernel.size} numbers of the kernel")
model.summary()

# %% [markdown]
# ## The slide's code on Keras 3
#
# The slide „Implementácia v Keras-e“ runs here exactly as printed, in a namespace with only
# NumPy. Its one import, `import keras`, does not give the bare names `Input`, `Conv2D` and
# `Model`: the seminar's Keras 2 script imported them (`from keras.layers import Input,
# Conv2D` and `from keras.models import Model`), and the slide left those lines out. With
# them, the rest runs on Keras 3 as printed: `kernel_initializer="normal"` is still a name
# Keras knows, and the slide's 5-D `w`, shape (1, 3, 3, 1, 1), works in `set_weights`, which
# takes a list of arrays: `w` is a list of one (3, 3, 1, 1) array. The cell above writes the
# same model in Keras 3's usual form: `keras.Input`, `keras.layers.Conv2D`, and the kernel
# reshaped to (3, 3, 1, 1) inside a list.

# %%
SLIDE_CODE = """import keras

inp = Input(shape=(None,None,1))
out = Conv2D(1, (3, 3), kernel_initializer="normal",
 use_bias=False, padding="same")(inp)
model = Model(inputs=inp, outputs=out)

w = np.array([[ [[[-1]],[[0]],[[1]]], [[[-2]],[[0]],[[2]]],
 [[[-1]],[[0]],[[1]]] ]])
model.layers[1].set_weights(w)
"""  # the slide's text, as printed
SLIDE_IMPORTS = """from keras.layers import Input, Conv2D
from keras.models import Model
"""  # what the seminar's Keras 2 script had above it
SLIDE_CHECK = """
assert w.shape == (1, 3, 3, 1, 1)
assert np.array_equal(model.layers[1].get_weights()[0][:, :, 0, 0], SOBEL_X)
"""  # run after the slide's code: the 5-D w went in, and the layer holds lesson 1's kernel


def indented(code):
    """The code's lines, indented, for printing."""
    return "\n".join(("    " + line).rstrip() for line in code.strip().splitlines())


print(f"the slide's code, as printed:\n{indented(SLIDE_CODE)}")
error = try_code(SLIDE_CODE, {"np": np})  # only NumPy at hand, as the slide imports nothing else
print(f"  Keras 3: {type(error).__name__}: {first_line(error)}" if error else "  Keras 3: runs")
print(f"with the imports of the seminar's script first:\n{indented(SLIDE_IMPORTS)}")
fix_error = try_code(SLIDE_IMPORTS + SLIDE_CODE + SLIDE_CHECK, {"np": np, "SOBEL_X": SOBEL_X})
if fix_error is None:
    print('  Keras 3: runs. kernel_initializer="normal" is still a Keras name, and set_weights(w)')
    print("  takes the 5-D w, shape (1, 3, 3, 1, 1), as a list of one (3, 3, 1, 1) array: the")
    print("  layer holds lesson 1's kernel")
else:
    print(f"  Keras 3: {type(fix_error).__name__}: {first_line(fix_error)}")
slide_code = {
    "slide": "Implementácia v Keras-e",
    "code": SLIDE_CODE,
    "error_type": type(error).__name__ if error else None,
    "error": first_line(error) if error else None,
    "with_imports_runs": fix_error is None,
}

# %% [markdown]
# ## Run it
#
# `model.predict` runs the network on the batch; the output is a batch too. This is the
# slide's „testovacia fáza“ (testing phase; today's word: inference): the weights stay as they
# are.

# %%
output_images = model.predict(input_images, verbose=0)  # (1, height, width, 1)
output_image = output_images[0, :, :, 0]
print(f"Keras output: {output_images.shape}, {output_image.min():.0f} .. {output_image.max():.0f}")

# %% [markdown]
# ## Compare with OpenCV
#
# The same kernel through `cv2.filter2D`, first with OpenCV's default border (reflect),
# then with zeros around the image, as Keras pads. The border the padding reaches is
# `size // 2` pixels wide: one pixel for a 3×3 kernel.

# %%
TOLERANCE = 1e-3  # float32 sums of pixels up to 255 agree to this

opencv_image = cv2.filter2D(image, cv2.CV_32F, kernel)  # border: reflect (OpenCV's default)
zero_border = cv2.filter2D(image, cv2.CV_32F, kernel, borderType=cv2.BORDER_CONSTANT)
diff = np.abs(output_image - opencv_image)
border = size // 2  # the padding reaches this many pixels in from each side
interior = np.zeros_like(diff, dtype=bool)
interior[border : diff.shape[0] - border, border : diff.shape[1] - border] = True
diffs = {
    "max_abs_diff_interior": float(diff[interior].max(initial=0.0)),
    "max_abs_diff_border": float(diff[~interior].max(initial=0.0)),
    "max_abs_diff_zero_border": float(np.abs(output_image - zero_border).max()),
}
print(f"max |Keras - OpenCV| inside the image:     {diffs['max_abs_diff_interior']:.2e}")
print(
    f"max |Keras - OpenCV| on the {border}-pixel border: {diffs['max_abs_diff_border']:.1f}  "
    "(reflect vs zero padding)"
)
print(f"with OpenCV's BORDER_CONSTANT (zeros) too:  {diffs['max_abs_diff_zero_border']:.2e}")
print("both compute correlation (no kernel flip), so the slide's kernel goes in as written")

# %% [markdown]
# ## Show it
#
# OpenCV's result and Keras' result on one colour scale (red: brighter to the right, blue:
# darker), and their difference in the top-left corner, boxed on both: the border is thin, so
# the third panel zooms in.


# %%
SCALE_PERCENTILE = 99.5  # the colour scale stops here: a few strong edges would wash out the rest


def plot_comparison(opencv_image, output_image, diff, kernel, zoom, interior):
    """OpenCV's result, Keras' result and their difference in the top-left corner."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 5.4), layout="constrained")
    limit = float(np.percentile(np.abs(output_image), SCALE_PERCENTILE)) or 1.0
    style = dict(cmap="RdBu_r", vmin=-limit, vmax=limit)
    axes[0].imshow(opencv_image, **style)
    axes[0].set_title("lesson 1: cv2.filter2D (reflect border)")
    shown = axes[1].imshow(output_image, **style)
    rows = " / ".join(" ".join(f"{v:g}" for v in row) for row in kernel)
    axes[1].set_title(f"Keras Conv2D (zero padding), kernel rows\n{rows}")
    bar = fig.colorbar(shown, ax=axes[:2], shrink=0.85, extend="both")
    bar.set_label(
        f"response: + (red) brighter to the right, - (blue) darker\n"
        f"cut at ±{limit:.0f}, the {SCALE_PERCENTILE:g}th percentile of |response|"
    )
    for ax in axes[:2]:  # where the third panel looks
        ax.add_patch(plt.Rectangle((-0.5, -0.5), zoom, zoom, fill=False, color="black", lw=1.5))
    corner = diff[:zoom, :zoom]
    shown = axes[2].imshow(corner, cmap="magma", interpolation="nearest")
    bar = fig.colorbar(shown, ax=axes[2], shrink=0.85)
    bar.set_label("|Keras - OpenCV|")
    inside, outside = diff[interior].max(initial=0.0), diff[~interior].max(initial=0.0)
    where = "only on the border" if inside <= TOLERANCE < outside else "inside too"
    if outside <= TOLERANCE:
        where = "nowhere"
    axes[2].set_title(f"|difference|, the boxed {zoom}x{zoom} corner:\nthey differ {where}")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    same = inside <= TOLERANCE
    mark = verdict(same)["mark"]
    claim = "equals" if same else "differs from"
    fig.suptitle(
        f"{mark} One Conv2D neuron with fixed weights {claim} cv2.filter2D inside the image "
        f"(largest difference {inside:.1g})",
        color=verdict(same)["color"],
    )
    return fig


figure = save_figure(
    plot_comparison(opencv_image, output_image, diff, kernel, settings.zoom, interior),
    output_dir / "ker2_sobel_keras.png",
)

# %% [markdown]
# ## Save the numbers

# %%
results = {
    "image": str(settings.image or "grace_hopper.jpg"),
    "input_shape": list(input_images.shape),
    "kernel": kernel.tolist(),
    "params": int(model.count_params()),
    "response_min": float(output_image.min()),
    "response_max": float(output_image.max()),
    **diffs,
    "slide_code": slide_code,
    "figure": str(figure),
}
print(f"results: {write_json(output_dir / 'ker2_sobel_keras.json', results)}")
show_figures(settings.no_show)
