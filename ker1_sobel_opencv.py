# %% [markdown]
# # Lesson 1: vertical edges with the Sobel operator in OpenCV
#
# **Slides:** „Úvodný príklad“ (an opening example), „Sobelov operátor“ (the Sobel
# operator), „Klasická implementácia v OpenCV“ (the classic implementation in OpenCV).
#
# We want the vertical edges of an image. Every output pixel b(i,j) is a weighted sum of
# the 3×3 neighbourhood of the input pixel a(i,j), with the same nine weights, the kernel,
# everywhere:
#
# ```
#  -1  0  1
#  -2  0  2      b(i,j) = | a(i-1,j+1) + 2·a(i,j+1) + a(i+1,j+1)
#  -1  0  1               - a(i-1,j-1) - 2·a(i,j-1) - a(i+1,j-1) |
# ```
#
# OpenCV applies such a kernel with one call, `cv2.filter2D`.
#
# **What you will see:**
#
# - the signed response: positive where the image gets brighter to the right, negative
#   where it gets darker; its absolute value is the slide's b;
# - the slide's one-liner `cv2.filter2D(input_image, -1, kernel)` on an 8-bit image: its
#   output stays 8-bit, so every negative response is clipped to 0 and the bright-to-dark
#   edges vanish.
#
# **Run it:** `python ker1_sobel_opencv.py` (your own picture: `--image my.jpg`; all flags:
# `--help`), or open this file as a notebook and run the cells in order.

# %% [markdown]
# ## Settings
#
# What an instructor changes in class. In a notebook, edit them here; on the command line,
# each is a flag (`--image my.jpg`).

# %%
from common.lesson import lesson_settings, setting

settings = lesson_settings(
    "Lesson 1: vertical edges with the Sobel operator in OpenCV",
    image=setting(None, "an image file (any format OpenCV reads); none: Grace Hopper's photo"),
    edge_fraction=setting(
        0.1, "a pixel is an edge where |response| is above this share of the strongest one"
    ),
)

# %% [markdown]
# ## Setup

# %%
import cv2
import matplotlib.pyplot as plt
import numpy as np

from common.files import prepare_output_dir, read_gray, save_figure, show_figures, write_json

output_dir = prepare_output_dir(settings.output_dir)  # outputs/ unless --output-dir says

# %% [markdown]
# ## The input image
#
# A grey image as a 2-D array of brightness values, 0 (black) to 255 (white). OpenCV reads
# any common format; we keep the pixels as float32, so that no later step has to round.

# %%
image, note = read_gray(settings.image)  # (height, width), float32, 0..255
if note:
    print(note)
height, width = image.shape
print(f"image: {width}x{height} pixels, grey values {image.min():.0f}..{image.max():.0f}")

fig, ax = plt.subplots(figsize=(4, 4.6))
ax.imshow(image, cmap="gray", vmin=0, vmax=255)
ax.set_title(f"input a: {width}x{height}")
ax.set_axis_off()

# %% [markdown]
# ## The kernel, and one call of `cv2.filter2D`
#
# The slide's kernel, used exactly as written: `cv2.filter2D` computes a correlation (it
# does not flip the kernel), so each output is the right column minus the left column.
# We ask for a float32 output (`cv2.CV_32F`), so negative responses survive.

# %%
SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32)  # the slide's
kernel = SOBEL_X

response = cv2.filter2D(image, cv2.CV_32F, kernel)  # signed: + dark-to-bright, - bright-to-dark
b = np.abs(response)  # the slide's b(i,j)
print(f"kernel (used as written, no flip):\n{kernel.astype(int)}")
print(f"signed response: {response.min():.0f} .. {response.max():.0f}")

# %% [markdown]
# ## The slide's one-liner on an 8-bit image
#
# The slide calls `cv2.filter2D(input_image, -1, kernel)`. With `-1` the output has the
# input's type, and a photo read by OpenCV is 8-bit (`uint8`, 0..255). A negative response
# becomes 0 and anything above 255 becomes 255. Which edges does that cost?

# %%
input_image = np.clip(np.rint(image), 0, 255).astype(np.uint8)  # how OpenCV reads a photo
output_image = cv2.filter2D(input_image, -1, kernel)  # the slide's line: uint8 out

edges = b > settings.edge_fraction * b.max()
falling = edges & (response < 0)  # bright-to-dark: the uint8 output shows 0 here
lost_fraction = float(falling.sum() / max(edges.sum(), 1))
saturated = float((edges & (response > 255)).sum() / max(edges.sum(), 1))
print(f"uint8 output: {output_image.dtype}, {output_image.min()} .. {output_image.max()}")
print(
    f"it loses {lost_fraction:.0%} of the {edges.sum()} edge pixels (every bright-to-dark "
    f"edge) and caps {saturated:.0%} at 255"
)

# %% [markdown]
# ## Show it
#
# The input, the signed response (red: brighter to the right, blue: darker), the slide's
# b, and what the 8-bit one-liner keeps. A few very strong edges would wash out the rest,
# so the colour scales stop at the 99.5th percentile of $|response|$.


# %%
def plot_responses(image, response, clipped, lost_fraction):
    """Input | signed response | b = |response| | the uint8 one-liner's result."""
    b = np.abs(response)
    limit = float(np.percentile(b, 99.5)) or 1.0
    panels = [
        (image, "input a", dict(cmap="gray", vmin=0, vmax=255)),
        (response, "signed response (red +, blue -)", dict(cmap="RdBu_r", vmin=-limit, vmax=limit)),
        (b, "b = |response| (the slide)", dict(cmap="gray", vmin=0, vmax=limit)),
        (clipped, f"uint8 one-liner: {lost_fraction:.0%} of edges lost", dict(cmap="gray")),
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 4.6))
    for ax, (data, title, style) in zip(axes, panels, strict=True):
        shown = ax.imshow(data, **style)
        ax.set_title(title)
        ax.axis("off")
        fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.02)
    fig.suptitle("Vertical edges with cv2.filter2D and the Sobel kernel")
    return fig


figure = save_figure(
    plot_responses(image, response, output_image, lost_fraction),
    output_dir / "ker1_sobel_opencv.png",
)

# %% [markdown]
# ## Save the numbers
#
# The key numbers go to `outputs/ker1_sobel_opencv.json`, so runs can be compared.

# %%
results = {
    "image": str(settings.image or "grace_hopper.jpg"),
    "shape": [height, width],
    "kernel": kernel.astype(int).tolist(),
    "response_min": float(response.min()),
    "response_max": float(response.max()),
    "edge_pixels": int(edges.sum()),
    "uint8_lost_edge_fraction": lost_fraction,
    "uint8_saturated_fraction": saturated,
    "figure": str(figure),
}
print(f"results: {write_json(output_dir / 'ker1_sobel_opencv.json', results)}")
show_figures(settings.no_show)
