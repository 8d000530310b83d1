"""Lesson 1: vertical edges with the Sobel operator in OpenCV.

Slides "Úvodný príklad", "Sobelov operátor" and "Klasická implementácia v OpenCV":
we want the vertical edges of an image. Every output pixel is a weighted sum of its 3x3
neighbourhood with the kernel

    -1  0  1
    -2  0  2          b(i,j) = | a(i-1,j+1) + 2a(i,j+1) + a(i+1,j+1)
    -1  0  1                   - a(i-1,j-1) - 2a(i,j-1) - a(i+1,j-1) |

What you will see:
- the signed response: positive where the image gets brighter to the right, negative where
  it gets darker; |response| is the slide's b;
- the seminar's one-liner `cv2.filter2D(img_uint8, -1, kernel)`, which keeps the uint8 type
  and so clips every negative response to 0: the bright-to-dark edges vanish.

Run it:
    python ker1_sobel_opencv.py                  # matplotlib's photo of Grace Hopper
    python ker1_sobel_opencv.py --image my.jpg   # your own image, any format OpenCV reads

It prints the response range and how many edge pixels the uint8 version loses (about half
on the default photo), and saves outputs/ker1_sobel_opencv.png and .json. No TensorFlow here:
a run takes about a second.
"""

import time

import cv2
import numpy as np

from common.cli import make_parser
from common.errors import run_lesson
from common.figures import pyplot, save_figure, show
from common.images import read_gray
from common.paths import prepare_output_dir, write_json

# --- Settings ---
# The slide's kernel. cv2.filter2D computes correlation (no kernel flip), so the kernel is
# used exactly as written: right column minus left column.
SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32)
EDGE_FRACTION = 0.1  # a pixel is an "edge" when |response| is above 10% of the largest one


# --- The OpenCV calls ---
def sobel_filter2d(image, kernel=SOBEL_X):
    """The signed response of kernel on a float32 image, computed in float32."""
    return cv2.filter2D(image, cv2.CV_32F, kernel)


def seminar_one_liner(image):
    """The seminar's call on a uint8 image: the output stays uint8, so values clip to 0..255."""
    image_uint8 = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    return cv2.filter2D(image_uint8, -1, SOBEL_X.astype(np.int32))


# --- Show it ---
def plot_responses(plt, image, response, clipped, lost_fraction):
    """Input | signed response | b = |response| | the uint8 one-liner's result."""
    b = np.abs(response)
    limit = float(np.percentile(b, 99.5)) or 1.0  # a few very strong edges would wash out the rest
    panels = [
        (image, "input a", dict(cmap="gray", vmin=0, vmax=255)),
        (response, "signed response (red +, blue -)", dict(cmap="RdBu_r", vmin=-limit, vmax=limit)),
        (b, "b = |response| (the slide)", dict(cmap="gray", vmin=0, vmax=limit)),
        (clipped, f"uint8 one-liner: {lost_fraction:.0%} of edges lost", dict(cmap="gray")),
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 4.6))  # one per panel
    for ax, (data, title, style) in zip(axes, panels, strict=True):
        shown = ax.imshow(data, **style)
        ax.set_title(title)
        ax.axis("off")
        fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.02)
    fig.suptitle("Vertical edges with cv2.filter2D and the Sobel kernel")
    return fig


def main(argv=None):
    args = make_parser(__doc__, image=True).parse_args(argv)

    # --- Prepare the data ---
    image, note = read_gray(args.image)  # (height, width), float32, 0..255
    out_dir = prepare_output_dir(args.output_dir)
    if note:
        print(note)
    height, width = image.shape
    print(f"image: {width}x{height} pixels, grayscale 0..255")

    # --- Apply the kernel ---
    start = time.perf_counter()
    response = sobel_filter2d(image)  # signed: + dark-to-bright, - bright-to-dark
    b = np.abs(response)  # the slide's b(i,j)
    clipped = seminar_one_liner(image)
    ms = (time.perf_counter() - start) * 1000

    # --- What the uint8 one-liner loses ---
    edges = b > EDGE_FRACTION * b.max()
    falling = edges & (response < 0)  # bright-to-dark edges: the clipped version shows 0 here
    lost_fraction = float(falling.sum() / max(edges.sum(), 1))
    saturated = float((response > 255).sum() / max(edges.sum(), 1))
    print(f"kernel (used as written, no flip):\n{SOBEL_X.astype(int)}")
    print(f"signed response range: {response.min():.0f} .. {response.max():.0f} ({ms:.1f} ms)")
    print(
        f"the uint8 one-liner clips negatives to 0 and caps at 255: it loses "
        f"{lost_fraction:.0%} of the {edges.sum()} edge pixels (every bright-to-dark edge)"
    )

    # --- Show it ---
    plt = pyplot(args.no_show)
    fig = plot_responses(plt, image, response, clipped, lost_fraction)
    figure = save_figure(fig, out_dir / "ker1_sobel_opencv.png")
    results = {
        "image": str(args.image or "grace_hopper.jpg"),
        "shape": [height, width],
        "kernel": SOBEL_X.astype(int).tolist(),
        "response_min": float(response.min()),
        "response_max": float(response.max()),
        "edge_pixels": int(edges.sum()),
        "uint8_lost_edge_fraction": lost_fraction,
        "uint8_saturated_fraction": saturated,
        "milliseconds": ms,
        "figure": str(figure),
    }
    print(f"results: {write_json(out_dir / 'ker1_sobel_opencv.json', results)}")
    show(plt, args.no_show)


if __name__ == "__main__":
    run_lesson(main)
