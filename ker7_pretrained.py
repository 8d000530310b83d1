"""Lesson 7: ready-made models - classify a photo with a network trained on ImageNet.

Seminar slide "Hotové modely": VGG16 (500 MB) and VGG-BUDDY (50 MB). Someone else spent weeks
of GPU time teaching a network the 1000 ImageNet classes; keras.applications gives you the
architecture in one line and downloads the trained weights once, into the Keras cache
(~/.keras/models/, or $KERAS_HOME/models/).

VGG-BUDDY: nothing by that name exists today. keras.applications has no such model, and no
published network goes by that name. In its place the lesson offers two small modern ImageNet
models. Their sizes below are
parameters x 4 bytes (float32), as the lesson prints them; keras.io publishes 528 MB for
VGG16's weights file:
    --model vgg16              138,357,544 parameters = 553.4 MB   (the slide's 500 MB)
    --model efficientnetb0       5,330,571 parameters =  21.3 MB   (26 times fewer)
    --model mobilenetv3small     2,554,968 parameters =  10.2 MB   (54 times fewer)

What the lesson shows:
- the photo cut to the model's 224x224 input and preprocessed the way the model was trained;
- the top-5 ImageNet labels with their probabilities;
- the model's size, counted from the model it built (model.count_params()).

Run:
    python ker7_pretrained.py                              # VGG16 on grace_hopper.jpg
    python ker7_pretrained.py --model mobilenetv3small     # a small modern model
    python ker7_pretrained.py --image my_cat.jpg --quick --no-show
    python ker7_pretrained.py --offline        # never download; use only the Keras cache
    python ker7_pretrained.py --weights none   # untrained, for testing the pipeline: needs
                                               # only imagenet_class_index.json

The first run downloads the weights (VGG16: 528 MB) and imagenet_class_index.json (35 KB).
Offline with nothing cached, it stops with one line that names the file, where to download it
and the folder to put it in, and exit code 2. With the weights, a run prints the five labels
with their probabilities, and saves outputs/ker7_pretrained.png and outputs/ker7_pretrained.json.
--quick runs the same (it is one photo already). With --weights none the numbers are those of
an untrained network: about 0.001 for every class, so the labels mean nothing.
"""

import time
from pathlib import Path

import numpy as np

from common.cli import make_parser
from common.errors import run_lesson
from common.figures import pyplot, save_figure, show
from common.images import center_square, default_image_path, read_rgb
from common.paths import prepare_output_dir, write_json
from common.pretrained_weights import (
    WEIGHT_FILES,
    check_weights_cache,
    download_error,
    imagenet_class_names,
)
from common.quiet_keras import keras

# --- Settings ---
MODELS = {  # --model name: (the keras.applications function, its module's preprocess_input)
    "vgg16": ("VGG16", "vgg16"),  # RGB->BGR, minus ImageNet's mean colour
    "mobilenetv3small": ("MobileNetV3Small", "mobilenet_v3"),  # scales 0..255 inside the model
    "efficientnetb0": ("EfficientNetB0", "efficientnet"),  # scales and normalises inside, too
}
DEFAULT_MODEL = "vgg16"  # the seminar's
TOP_K = 5
INPUT_SIZE = 224  # all three models were trained on 224x224 crops
MIN_SIDE = 16  # smaller than this and there is nothing left to classify


def parse_arguments(argv=None):
    """The shared flags, plus --model, --weights and --offline."""
    parser = make_parser(__doc__, image=True)
    parser.add_argument(
        "--model",
        choices=sorted(MODELS),
        default=DEFAULT_MODEL,
        help=f"vgg16 as in the seminar (528 MB download) or a small modern one "
        f"(default: {DEFAULT_MODEL})",
    )
    parser.add_argument(
        "--weights",
        choices=("imagenet", "none"),
        default="imagenet",
        help="imagenet: the trained weights; none: untrained random weights, for testing the "
        "pipeline without a download (its labels are meaningless) (default: imagenet)",
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        help="never download: use only files already in the Keras cache (default: download "
        "what is missing)",
    )
    return parser.parse_args(argv)


# --- Prepare the photo ---


def model_input(name, square):
    """The batch the model expects: (1, 224, 224, 3) float32, through its own preprocess_input."""
    module = getattr(keras.applications, MODELS[name][1])
    batch = square[np.newaxis].astype("float32")  # (batch=1, height, width, channel), RGB 0..255
    return module.preprocess_input(batch)


# --- Classify the photo ---


def top_classes(probabilities, class_names, k=TOP_K):
    """[(class name, probability)] of the k most likely classes, best first.

    It is what keras.applications.imagenet_utils.decode_predictions does, written out.
    """
    best = np.argsort(probabilities)[::-1][:k]
    return [(class_names[i], float(probabilities[i])) for i in best]


def print_size(builder, model):
    """The model's size from what it is, and the slide's VGG-BUDDY beside the models here."""
    params = model.count_params()
    print(f"  {params:,} parameters = {params * 4 / 1e6:.1f} MB as float32")
    print(f"  input {model.input_shape} -> output {model.output_shape} (1000 class probabilities)")
    others = [
        f"{name} ({WEIGHT_FILES[b]['download'] if b in WEIGHT_FILES else 'size not listed'})"
        for name, (b, _) in MODELS.items()
        if b != builder
    ]
    print(
        'the slide "Hotové modely" also names VGG-BUDDY (50 MB): no network by that name '
        f"exists; the other models here: {', '.join(others)}"
    )


# --- Show it ---


def file_size(path):
    """The size of a file in bytes, or None if there is no such file."""
    return path.stat().st_size if path and path.is_file() else None


def plot_image_predictions(plt, square, top, title):
    """The 224x224 input the network saw beside a bar chart of its top classes."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), width_ratios=(1, 1.3))
    left.imshow(square)
    left.set_title(f"model input: {square.shape[0]}x{square.shape[1]} RGB")
    left.axis("off")
    labels = [label.replace("_", " ") for (_, label), _ in top][::-1]
    bars = right.barh(labels, [p for _, p in top][::-1], color="tab:blue")
    right.bar_label(bars, fmt=" %.3f")
    right.set_xlim(0, 1)
    right.set_xlabel("probability")
    right.set_title(f"top {len(top)} of 1000 ImageNet classes")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def main(argv=None):
    args = parse_arguments(argv)
    builder, _ = MODELS[args.model]
    trained = args.weights == "imagenet"

    # --- Prepare the photo ---
    out_dir = prepare_output_dir(args.output_dir)
    image_path = Path(args.image) if args.image else default_image_path()
    image = read_rgb(image_path, min_size=MIN_SIDE)  # (height, width, 3) uint8 RGB
    square = center_square(image, INPUT_SIZE)  # (224, 224, 3): the middle of the photo
    x = model_input(args.model, square)  # (1, 224, 224, 3) float32
    weights_file = check_weights_cache(builder, trained, args.offline)  # offline: one-line error

    # --- Build the model ---
    # One line gives the architecture; weights="imagenet" fetches the trained numbers (once).
    keras.utils.set_random_seed(args.seed)  # repeatable untrained weights with --weights none
    try:
        build = getattr(keras.applications, builder)
        model = build(
            weights="imagenet" if trained else None, input_shape=(INPUT_SIZE, INPUT_SIZE, 3)
        )
        class_names = imagenet_class_names()  # (WordNet id, label) for each of the 1000 classes
    except Exception as error:  # no network, a proxy, a half-downloaded or damaged file...
        raise download_error(error, builder, trained) from None
    print(f"{builder} ({'ImageNet weights' if trained else 'UNTRAINED weights'}):")
    print_size(builder, model)

    # --- Classify the photo ---
    print(f"image: {image_path} ({image.shape[1]}x{image.shape[0]}), centre square -> {x.shape}")
    start = time.perf_counter()
    # model(x) runs one batch directly; model.predict(x) would first build a graph for speed
    # on many batches, which for a single photo costs more than it saves.
    probabilities = keras.ops.convert_to_numpy(model(x, training=False))[0]  # (1000,), sum 1
    seconds = time.perf_counter() - start
    top = top_classes(probabilities, class_names)
    print(f"top {TOP_K} ({seconds:.2f} s on this machine):")
    for rank, ((wnid, label), p) in enumerate(top, start=1):
        print(f"  {rank}. {label:24s} {p:6.3f}   ({wnid})")
    if not trained:
        print("  (untrained weights: these labels are noise; drop --weights none for real ones)")

    # --- Show it ---
    params = model.count_params()
    results = {
        "model": builder,
        "weights": args.weights,
        "image": str(image_path),
        "input_shape": list(x.shape),
        "params": int(params),
        "float32_megabytes": round(params * 4 / 1e6, 1),
        "weights_file": str(weights_file) if weights_file else None,  # None: untrained
        "weights_file_bytes": file_size(weights_file),
        "predict_seconds": round(seconds, 3),
        "probability_sum": float(probabilities.sum()),
        f"top{TOP_K}": [{"wordnet_id": w, "label": lab, "probability": p} for (w, lab), p in top],
    }
    json_path = write_json(out_dir / "ker7_pretrained.json", results)
    plt = pyplot(args.no_show)
    state = "ImageNet weights" if trained else "UNTRAINED weights: labels are meaningless"
    title = f"{builder}, {params / 1e6:.1f} M parameters ({state})"
    save_figure(plot_image_predictions(plt, square, top, title), out_dir / "ker7_pretrained.png")
    print(f"results: {json_path}")
    show(plt, args.no_show)


if __name__ == "__main__":
    run_lesson(main)
