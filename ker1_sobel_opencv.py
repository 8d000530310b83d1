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
#   edges vanish. The figure paints the edges it loses red, and those it keeps green.
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

from common.files import (
    FIGURE_STYLE,
    RIGHT,
    WRONG,
    prepare_output_dir,
    read_gray,
    save_figure,
    show_figures,
    write_json,
)

plt.style.use(FIGURE_STYLE)  # one style for every lesson's figures
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
print("kernel (used as written, no flip):")
print("\n".join("  " + " ".join(f"{v:3g}" for v in row) for row in kernel))
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
print(
    f"  the uint8 output is 0 at {np.sum(output_image[falling] == 0)} of the {falling.sum()} lost"
)

# %% [markdown]
# ## Show it
#
# The input; the signed response (red: brighter to the right, blue: darker); the slide's b;
# the 8-bit one-liner's output on b's scale (it stops at 255, b goes on); and the edge pixels
# (b above `edge_fraction` of its maximum) it keeps, green, and loses, red, over the grey
# input, with the corner that loses most enlarged. A few very strong edges would wash out the
# rest, so the colour scales stop at the 99.5th percentile of $|response|$: the colour bars'
# pointed ends say so.


# %%
SCALE_PERCENTILE = 99.5  # the colour scales stop here: a few strong edges would wash out the rest


def overlay(image, kept, lost):
    """The grey input, dimmed, with the kept edge pixels green and the lost ones red (RGB)."""
    rgb = np.repeat((0.25 + 0.5 * image / 255.0)[:, :, None], 3, axis=2)
    for mask, colour in ((kept, RIGHT["color"]), (lost, WRONG["color"])):
        rgb[mask] = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    return rgb


def busiest_corner(mask, side):
    """(top, left) of the side x side square that holds the most True pixels of mask."""
    counts = cv2.boxFilter(mask.astype(np.float32), -1, (side, side), normalize=False)
    half = side // 2  # boxFilter's sum is centred: keep centres whose square fits the image
    inner = counts[half : mask.shape[0] - side + half + 1, half : mask.shape[1] - side + half + 1]
    top, left = np.unravel_index(np.argmax(inner), inner.shape)
    return int(top), int(left)


def plot_responses(image, response, clipped, edges, lost):
    """Input, signed response, b, the uint8 output on b's scale, and the lost edges in red."""
    b = np.abs(response)
    limit = float(np.percentile(b, SCALE_PERCENTILE)) or 1.0
    cut = f"cut at {limit:.0f}, the {SCALE_PERCENTILE:g}th percentile"
    rgb = overlay(image, edges & ~lost, lost)
    side = min(*image.shape, max(24, min(image.shape) // 6))
    top, left = busiest_corner(lost, side)
    share = lost.sum() / max(edges.sum(), 1)
    fig, axes = plt.subplots(2, 3, figsize=(14, 10), layout="constrained")
    panels = [
        (image, "input a", dict(cmap="gray", vmin=0, vmax=255), "grey value", "neither"),
        (response, "signed response", dict(cmap="RdBu_r", vmin=-limit, vmax=limit), cut, "both"),
        (b, "b = |response| (the slide)", dict(cmap="gray", vmin=0, vmax=limit), cut, "max"),
        (
            clipped,
            "uint8 one-liner, on b's scale",
            dict(cmap="gray", vmin=0, vmax=limit),
            "b's scale; the uint8 output stops at 255",
            "neither",
        ),
    ]
    for ax, (data, title, style, label, extend) in zip(axes.flat, panels, strict=False):
        shown = ax.imshow(data, **style)
        ax.set_title(title)
        bar = fig.colorbar(shown, ax=ax, shrink=0.8, extend=extend)
        bar.set_label(label)
    bar.ax.axhline(255, color=WRONG["color"], lw=2)  # the last bar's: where uint8 stops
    axes[0, 1].text(
        0.5,
        -0.04,
        "red: brighter to the right, blue: darker",
        transform=axes[0, 1].transAxes,
        ha="center",
        va="top",
    )
    axes[1, 1].imshow(rgb)
    axes[1, 1].add_patch(
        plt.Rectangle((left - 0.5, top - 0.5), side, side, fill=False, color="black", lw=1.5)
    )
    axes[1, 1].set_title(
        f"{WRONG['mark']} lost (red): {lost.sum()}  {RIGHT['mark']} kept (green): "
        f"{(edges & ~lost).sum()}"
    )
    axes[1, 2].imshow(rgb[top : top + side, left : left + side])
    axes[1, 2].set_title(f"the boxed {side}x{side} corner, enlarged")
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    zeros = int(np.sum(clipped[lost] == 0))  # how many of the lost pixels are 0 in the output
    at = "every one of them" if zeros == lost.sum() else f"{zeros} of the {lost.sum()}"
    fig.suptitle(
        f"The slide's uint8 one-liner loses {share:.0%} of the {edges.sum()} edge pixels, the "
        f"bright-to-dark ones: its output is 0 at {at}"
    )
    return fig


figure = save_figure(
    plot_responses(image, response, output_image, edges, falling),
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
    "kernel": kernel.tolist(),
    "response_min": float(response.min()),
    "response_max": float(response.max()),
    "edge_pixels": int(edges.sum()),
    "uint8_lost_edge_fraction": lost_fraction,
    "uint8_saturated_fraction": saturated,
    "figure": str(figure),
}
print(f"results: {write_json(output_dir / 'ker1_sobel_opencv.json', results)}")
show_figures(settings.no_show)
