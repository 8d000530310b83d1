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
# - the tensor shape Keras works on: (batch, height, width, channels);
# - the largest difference from OpenCV's result inside the image: zero;
# - a difference on the one-pixel border only: `cv2.filter2D` reflects the image at its
#   border, while `padding="same"` pads with zeros. With zero padding in OpenCV too, the
#   two agree everywhere;
# - no kernel flip: OpenCV and Keras both compute a correlation, not a convolution.
#
# **Run it:** `python ker2_sobel_keras.py` (`--image my.jpg`; all flags: `--help`), or open
# this file as a notebook. Put any other 3×3 kernel in the model's cell (a Laplacian, or
# `SOBEL_X.T` for horizontal edges): the Conv2D and `cv2.filter2D` still agree.

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

from common.files import prepare_output_dir, read_gray, save_figure, show_figures, write_json

output_dir = prepare_output_dir(settings.output_dir)

# %% [markdown]
# ## The input as a tensor
#
# Keras works on batches of images: a 4-D tensor of shape
# (batch, height, width, channels). One grey image is a batch of 1 with 1 channel.

# %%
image, note = read_gray(settings.image)  # (height, width), float32, 0..255
if note:
    print(note)
input_images = image[np.newaxis, :, :, np.newaxis]  # (batch, height, width, channels)
print(f"input tensor: {input_images.shape} = (batch, height, width, channels)")

# %% [markdown]
# ## The model: one Conv2D neuron with a 3×3 kernel
#
# The slide's network. `Input(shape=(None, None, 1))` takes any height and width with one
# channel; `Conv2D(1, (3, 3))` is one filter of 3×3 weights, without a bias, and
# `padding="same"` keeps the output as large as the input. Conv2D keeps its kernel as
# (kernel height, kernel width, input channels, output channels), so the 3×3 Sobel kernel
# goes in reshaped to (3, 3, 1, 1).

# %%
SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32)  # lesson 1's
kernel = SOBEL_X  # any 3x3 kernel can go here

inp = keras.Input(shape=(None, None, 1))  # any height and width, one channel
out = keras.layers.Conv2D(1, (3, 3), use_bias=False, padding="same", name="conv")(inp)
model = keras.Model(inputs=inp, outputs=out)
model.get_layer("conv").set_weights([kernel.reshape(3, 3, 1, 1)])
print(f"the layer has {model.count_params()} parameters: the 9 numbers of the kernel")
model.summary()

# %% [markdown]
# ## Run it
#
# `model.predict` runs the network on the batch; the output is a batch too.

# %%
output_images = model.predict(input_images, verbose=0)  # (1, height, width, 1)
output_image = output_images[0, :, :, 0]
print(f"Keras output: {output_images.shape}, {output_image.min():.0f} .. {output_image.max():.0f}")

# %% [markdown]
# ## Compare with OpenCV
#
# The same kernel through `cv2.filter2D`, first with OpenCV's default border (reflect),
# then with zeros around the image, as Keras pads.

# %%
opencv_image = cv2.filter2D(image, cv2.CV_32F, kernel)  # border: reflect (OpenCV's default)
zero_border = cv2.filter2D(image, cv2.CV_32F, kernel, borderType=cv2.BORDER_CONSTANT)
diff = np.abs(output_image - opencv_image)
interior = np.zeros_like(diff, dtype=bool)
interior[1:-1, 1:-1] = True
diffs = {
    "max_abs_diff_interior": float(diff[interior].max()),
    "max_abs_diff_border": float(diff[~interior].max()),
    "max_abs_diff_zero_border": float(np.abs(output_image - zero_border).max()),
}
print(f"max |Keras - OpenCV| inside the image:     {diffs['max_abs_diff_interior']:.2e}")
print(
    f"max |Keras - OpenCV| on the 1-pixel border: {diffs['max_abs_diff_border']:.1f}  "
    "(reflect vs zero padding)"
)
print(f"with OpenCV's BORDER_CONSTANT (zeros) too:  {diffs['max_abs_diff_zero_border']:.2e}")
print("both compute correlation (no kernel flip), so the slide's kernel goes in as written")

# %% [markdown]
# ## Show it
#
# OpenCV's result, Keras' result, and their difference in the top-left corner: the border
# is one pixel wide, so the figure zooms in.


# %%
def plot_comparison(opencv_image, output_image, diff, kernel, zoom):
    """OpenCV's result, Keras' result and their difference in the top-left corner."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.8))
    limit = float(np.percentile(np.abs(output_image), 99.5)) or 1.0
    axes[0].imshow(opencv_image, cmap="RdBu_r", vmin=-limit, vmax=limit)
    axes[0].set_title("lesson 1: cv2.filter2D")
    axes[1].imshow(output_image, cmap="RdBu_r", vmin=-limit, vmax=limit)
    rows = " / ".join(" ".join(f"{v:g}" for v in row) for row in kernel)
    axes[1].set_title(f"Keras Conv2D, kernel rows\n{rows}")
    shown = axes[2].imshow(diff[:zoom, :zoom], cmap="magma", interpolation="nearest")
    axes[2].set_title(f"|difference|, top-left {zoom}x{zoom} pixels:\nonly the border differs")
    fig.colorbar(shown, ax=axes[2], fraction=0.046, pad=0.02)
    for ax in axes:
        ax.axis("off")
    fig.suptitle(
        "One Conv2D neuron with fixed weights is cv2.filter2D with the same kernel", y=1.04
    )
    return fig


figure = save_figure(
    plot_comparison(opencv_image, output_image, diff, kernel, settings.zoom),
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
    "figure": str(figure),
}
print(f"results: {write_json(output_dir / 'ker2_sobel_keras.json', results)}")
show_figures(settings.no_show)
