"""Lesson 2: the same Sobel filter as a Keras Conv2D layer with fixed weights.

Slides "Konvolučná neurónová sieť" and "Implementácia v Keras-e": a convolutional layer whose
every output neuron sees a 3x3 neighbourhood with the same 9 weights is exactly the Sobel
filter of lesson 1. We build the slide's model, put the Sobel kernel in with `set_weights`,
and run it on the same image.

What you will see:
- the tensor shape Keras works on: (batch, height, width, channels) = (1, 600, 512, 1);
- the largest difference from lesson 1's float result inside the image: 0 (float rounding);
- a difference on the one-pixel border only: cv2.filter2D reflects the image at its border,
  while padding="same" pads with zeros. With zero padding in OpenCV too, they agree everywhere;
- no kernel flip is needed: both OpenCV and Keras compute correlation, not convolution.

Put any other 3x3 kernel in KERNEL below (a Laplacian, SOBEL_X.T for horizontal edges): the
Conv2D and cv2.filter2D still agree inside the image.

Run it:
    python ker2_sobel_keras.py                  # the default photo
    python ker2_sobel_keras.py --image my.jpg   # your own image

Output: outputs/ker2_sobel_keras.png and .json (max_abs_diff_interior, max_abs_diff_border).
"""

import time

import cv2
import numpy as np

from common.cli import make_parser
from common.errors import run_lesson
from common.figures import pyplot, save_figure, show
from common.images import read_gray
from common.paths import prepare_output_dir, write_json
from common.quiet_keras import keras
from ker1_sobel_opencv import SOBEL_X, sobel_filter2d

# --- Settings ---
KERNEL = SOBEL_X  # lesson 1's vertical-edge kernel; any 3x3 kernel can go here
ZOOM = 24  # the difference panel shows the top-left ZOOM x ZOOM pixels, where the border is


# --- Compare with lesson 1 ---
def compare_with_opencv(image, output_image):
    """Differences between the Keras output and cv2.filter2D with the same KERNEL."""
    opencv_image = sobel_filter2d(image, KERNEL)  # border: reflect (OpenCV's default)
    diff = np.abs(output_image - opencv_image)
    interior = np.zeros_like(diff, dtype=bool)
    interior[1:-1, 1:-1] = True
    zero_border = cv2.filter2D(image, cv2.CV_32F, KERNEL, borderType=cv2.BORDER_CONSTANT)
    return (
        opencv_image,
        diff,
        {
            "max_abs_diff_interior": float(diff[interior].max()),
            "max_abs_diff_border": float(diff[~interior].max()),
            "max_abs_diff_zero_border": float(np.abs(output_image - zero_border).max()),
        },
    )


# --- Show it ---
def plot_comparison(plt, opencv_image, output_image, diff):
    """OpenCV's result, Keras' result and their difference in the top-left corner."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.8))
    limit = float(np.percentile(np.abs(output_image), 99.5)) or 1.0
    axes[0].imshow(opencv_image, cmap="RdBu_r", vmin=-limit, vmax=limit)
    axes[0].set_title("lesson 1: cv2.filter2D")
    axes[1].imshow(output_image, cmap="RdBu_r", vmin=-limit, vmax=limit)
    rows = " / ".join(" ".join(f"{v:g}" for v in row) for row in KERNEL)
    axes[1].set_title(f"Keras Conv2D, kernel rows\n{rows}")
    corner = diff[:ZOOM, :ZOOM]  # the border is one pixel wide: zoom into the top-left corner
    shown = axes[2].imshow(corner, cmap="magma", interpolation="nearest")
    axes[2].set_title(f"|difference|, top-left {ZOOM}x{ZOOM} pixels:\nonly the border differs")
    fig.colorbar(shown, ax=axes[2], fraction=0.046, pad=0.02)
    for ax in axes:
        ax.axis("off")
    fig.suptitle(
        "One Conv2D neuron with fixed weights is cv2.filter2D with the same kernel", y=1.04
    )
    return fig


def main(argv=None):
    args = make_parser(__doc__, image=True).parse_args(argv)

    # --- Prepare the data ---
    image, note = read_gray(args.image)  # (height, width), float32, 0..255
    out_dir = prepare_output_dir(args.output_dir)
    if note:
        print(note)
    input_images = image[np.newaxis, :, :, np.newaxis]  # (batch, height, width, channels)
    print(f"input tensor: {input_images.shape} = (batch, height, width, channels)")

    # --- Build the model: one Conv2D neuron with a 3x3 kernel, the slide's network ---
    inp = keras.Input(shape=(None, None, 1))  # any height and width, one channel
    out = keras.layers.Conv2D(1, (3, 3), use_bias=False, padding="same", name="conv")(inp)
    model = keras.Model(inputs=inp, outputs=out)

    # Conv2D keeps its kernel as (kernel_height, kernel_width, in_channels, out_channels).
    model.get_layer("conv").set_weights([KERNEL.reshape(3, 3, 1, 1)])
    print(f"the layer has {model.count_params()} parameters: the 9 numbers of the kernel")

    # --- Run it ---
    start = time.perf_counter()
    output_images = model.predict(input_images, verbose=0)  # (1, height, width, 1)
    keras_ms = (time.perf_counter() - start) * 1000
    output_image = output_images[0, :, :, 0]

    # --- Compare with lesson 1 ---
    opencv_image, diff, diffs = compare_with_opencv(image, output_image)
    print(f"Keras output: {output_images.shape}, computed in {keras_ms:.0f} ms")
    print(f"max |Keras - OpenCV| inside the image:     {diffs['max_abs_diff_interior']:.2e}")
    print(
        f"max |Keras - OpenCV| on the 1-pixel border: {diffs['max_abs_diff_border']:.1f}  "
        "(reflect vs zero padding)"
    )
    zero_border = diffs["max_abs_diff_zero_border"]
    print(f"with OpenCV's BORDER_CONSTANT (zeros) too:  {zero_border:.2e} everywhere")
    print("both compute correlation (no kernel flip), so the slide's kernel goes in as written")

    # --- Show it ---
    plt = pyplot(args.no_show)
    figure = save_figure(
        plot_comparison(plt, opencv_image, output_image, diff), out_dir / "ker2_sobel_keras.png"
    )
    results = {
        "image": str(args.image or "grace_hopper.jpg"),
        "input_shape": list(input_images.shape),
        "kernel": KERNEL.tolist(),
        "params": int(model.count_params()),
        "response_min": float(output_image.min()),
        "response_max": float(output_image.max()),
        **diffs,
        "keras_ms": keras_ms,
        "figure": str(figure),
    }
    print(f"results: {write_json(out_dir / 'ker2_sobel_keras.json', results)}")
    show(plt, args.no_show)


if __name__ == "__main__":
    run_lesson(main)
