"""Ready-made models: classify a photo with a network trained on ImageNet, from keras.applications.

Seminar slide "Hotové modely" (VGG16, 500 MB). Someone else spent weeks of GPU time teaching a
network the 1000 ImageNet classes; keras.applications gives you the architecture in one line and
downloads the trained weights once, into the Keras cache (~/.keras/models/, or $KERAS_HOME/models/).

What the lesson shows:
- the photo cut to the model's 224x224 input and preprocessed the way the model was trained;
- the top-5 ImageNet labels with their probabilities;
- the model's size: VGG16 has 138,357,544 parameters = 553 MB as float32 (the slide's 500 MB);
  MobileNetV3Small has 2,554,968 (10 MB), 54 times fewer.

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

import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np

from common.cli import make_parser
from common.errors import LessonError, first_line, run_lesson
from common.figures import pyplot, save_figure, show
from common.images import center_square, default_image_path, read_rgb
from common.paths import prepare_output_dir, write_json
from common.tf_quiet import import_keras

TOP_K = 5
# What keras.applications downloads for each model (see keras/src/applications/*.py).
MODELS = {
    "vgg16": {
        "builder": "VGG16",
        "module": "vgg16",  # keras.applications.vgg16.preprocess_input: RGB->BGR, minus mean
        "file": "vgg16_weights_tf_dim_ordering_tf_kernels.h5",
        "url": "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/",
        "download": "528 MB",
        "md5": "64373286793e3c8b2b4e3219cbf3544b",  # the checksum Keras checks the file against
    },
    "mobilenetv3small": {
        "builder": "MobileNetV3Small",
        "module": "mobilenet_v3",  # scales 0..255 inside the model; preprocess_input does nothing
        "file": "weights_mobilenet_v3_small_224_1.0_float.h5",
        "url": "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v3/",
        "download": "about 10 MB",
        "md5": "8768d4c2e7dee89b9d02b2d03d65d862",
    },
    "efficientnetb0": {
        "builder": "EfficientNetB0",
        "module": "efficientnet",  # scales and normalises inside the model, too
        "file": "efficientnetb0.h5",
        "url": "https://storage.googleapis.com/keras-applications/",
        "download": "about 21 MB",
        "md5": "902e53a9f72be733fc0bcb005b3ebbac",
    },
}
CLASS_INDEX = {
    "file": "imagenet_class_index.json",  # what decode_predictions downloads
    "url": "https://storage.googleapis.com/download.tensorflow.org/data/",
    "download": "35 KB",
}
INPUT_SIZE = 224  # all three models were trained on 224x224 crops
MIN_SIDE = 16  # smaller than this and there is nothing left to classify


# --- Where Keras keeps downloads ---
def keras_models_dir():
    """The folder keras.utils.get_file caches weights in: $KERAS_HOME/models or ~/.keras/models."""
    if "KERAS_HOME" in os.environ:  # the same rule Keras applies when it is imported
        base = os.environ["KERAS_HOME"]
    else:
        home = os.path.expanduser("~")
        base = os.path.join(home if os.access(home, os.W_OK) else "/tmp", ".keras")
    base = os.path.expanduser(base)
    if os.path.isdir(base) and not os.access(base, os.W_OK):
        base = "/tmp/.keras"  # get_file's own fallback for a read-only folder
    return Path(base) / "models"


def missing_files(needed, models_dir):
    """The entries of needed (file name, url, download size) that are not in the cache yet."""
    return [item for item in needed if not (models_dir / item["file"]).is_file()]


def file_md5(path):
    """The MD5 checksum of a file, read in 1 MB blocks (VGG16's weights are 528 MB)."""
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def how_to_get(missing, models_dir, why):
    """The one line that tells a student which files to fetch and where to put them."""
    files = " and ".join(
        f"{item['file']} ({item['download']}, from {item['url']}{item['file']})" for item in missing
    )
    them = "it" if len(missing) == 1 else "them"
    return (
        f"{why}: download {files} on a machine with internet and put {them} in {models_dir}/ "
        "(or set KERAS_HOME to a folder whose models/ holds them)"
    )


# --- Prepare the data ---
def model_input(keras, name, square):
    """The batch the model expects: (1, 224, 224, 3) float32, through its own preprocess_input."""
    module = getattr(keras.applications, MODELS[name]["module"])
    batch = square[np.newaxis].astype("float32")  # (batch=1, height, width, channel), RGB 0..255
    return module.preprocess_input(batch)


def read_class_index(path):
    """ImageNet's class names: index '0'..'999' -> (WordNet id, readable label)."""
    try:
        table = json.loads(Path(path).read_text(encoding="utf-8"))
        names = [tuple(table[str(i)]) for i in range(1000)]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise LessonError(
            f"{path} is not ImageNet's class index ({type(error).__name__}); delete it and run "
            "again online to download it afresh"
        ) from None
    if any(len(entry) != 2 for entry in names):
        raise LessonError(f"{path} is not ImageNet's class index (entries must be [id, label])")
    return names


def top_k(probabilities, class_names, k=TOP_K):
    """The k most probable classes as (wordnet id, label, probability), best first.

    It is what keras.applications.imagenet_utils.decode_predictions does, written out.
    """
    best = np.argsort(probabilities)[::-1][:k]
    return [(*class_names[i], float(probabilities[i])) for i in best]


def plot_result(plt, square, top, title):
    """The 224x224 input beside a bar chart of the top-5 probabilities."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), width_ratios=(1, 1.3))
    left.imshow(square)
    left.set_title(f"model input: {square.shape[0]}x{square.shape[1]} RGB")
    left.axis("off")
    labels = [label.replace("_", " ") for _, label, _ in top][::-1]
    bars = right.barh(labels, [p for _, _, p in top][::-1], color="tab:blue")
    right.bar_label(bars, fmt=" %.3f")
    right.set_xlim(0, 1)
    right.set_xlabel("probability")
    right.set_title(f"top {len(top)} of 1000 ImageNet classes")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def main():
    parser = make_parser(__doc__, image=True)
    parser.add_argument(
        "--model",
        choices=sorted(MODELS),
        default="vgg16",
        help="vgg16 as in the seminar (528 MB download) or a small modern one (default: vgg16)",
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
    args = parser.parse_args()
    spec = MODELS[args.model]
    trained = args.weights == "imagenet"

    # Check everything a student can get wrong before the slow TensorFlow import.
    out_dir = prepare_output_dir(args.output_dir)
    image_path = Path(args.image) if args.image else default_image_path()
    image = read_rgb(image_path, min_size=MIN_SIDE)
    models_dir = keras_models_dir()
    needed = ([spec] if trained else []) + [CLASS_INDEX]
    missing = missing_files(needed, models_dir)
    if missing and args.offline:
        raise LessonError(how_to_get(missing, models_dir, "--offline and not in the Keras cache"))
    cached = models_dir / spec["file"]
    if trained and args.offline:  # Keras quietly re-downloads a file that fails its checksum
        try:
            intact = file_md5(cached) == spec["md5"]
        except OSError as error:
            raise LessonError(f"cannot read {cached}: {error.strerror}") from None
        if not intact:
            raise LessonError(
                f"{cached} is damaged or incomplete (its MD5 checksum is not the one Keras "
                f"expects); delete it and download it again from {spec['url']}{spec['file']}"
            )

    square = center_square(image, INPUT_SIZE)  # (224, 224, 3) uint8 RGB
    _, keras = import_keras(args.verbose)
    keras.utils.set_random_seed(args.seed)  # repeatable untrained weights with --weights none

    # --- Build the model ---
    # One line gives the architecture; weights="imagenet" fetches the trained numbers (once).
    build = getattr(keras.applications, spec["builder"])
    try:
        model = build(
            weights="imagenet" if trained else None, input_shape=(INPUT_SIZE, INPUT_SIZE, 3)
        )
        class_index_path = keras.utils.get_file(
            CLASS_INDEX["file"], CLASS_INDEX["url"] + CLASS_INDEX["file"], cache_subdir="models"
        )
    except Exception as error:  # no network, a proxy, a half-downloaded or damaged file...
        still_missing = missing_files(needed, models_dir)
        damaged = "corrupted" in str(error)  # downloaded, but the checksum does not match
        if not (still_missing or damaged or "URL fetch failure" in str(error)):
            raise LessonError(f"could not build {spec['builder']}: {first_line(error)}") from None
        reason = (
            first_line(error, limit=None).split(" -- ")[-1].strip()[:80] or type(error).__name__
        )
        raise LessonError(
            how_to_get(still_missing or needed, models_dir, f"could not download ({reason})")
        ) from None
    class_names = read_class_index(class_index_path)
    params = model.count_params()
    print(f"{spec['builder']} ({'ImageNet weights' if trained else 'UNTRAINED weights'}):")
    print(f"  {params:,} parameters = {params * 4 / 1e6:.1f} MB as float32")
    print(f"  input {model.input_shape} -> output {model.output_shape} (1000 class probabilities)")

    # --- Classify the photo ---
    x = model_input(keras, args.model, square)
    print(f"image: {image_path} ({image.shape[1]}x{image.shape[0]}), centre square -> {x.shape}")
    start = time.perf_counter()
    # model(x) runs one batch directly; model.predict(x) would first build a graph for speed
    # on many batches, which for a single photo costs more than it saves.
    probabilities = keras.ops.convert_to_numpy(model(x, training=False))[0]  # (1000,), sum 1
    seconds = time.perf_counter() - start
    top = top_k(probabilities, class_names)
    print(f"top {TOP_K} ({seconds:.2f} s on this machine):")
    for rank, (wnid, label, p) in enumerate(top, start=1):
        print(f"  {rank}. {label:24s} {p:6.3f}   ({wnid})")
    if not trained:
        print("  (untrained weights: these labels are noise; drop --weights none for real ones)")

    # --- Save the results ---
    results = {
        "model": spec["builder"],
        "weights": args.weights,
        "image": str(image_path),
        "input_shape": list(x.shape),
        "params": int(params),
        "float32_megabytes": round(params * 4 / 1e6, 1),
        "weights_file": str(cached) if trained else None,
        "weights_file_bytes": cached.stat().st_size if cached.is_file() else None,
        "predict_seconds": round(seconds, 3),
        "probability_sum": float(probabilities.sum()),
        "top5": [{"wordnet_id": w, "label": lab, "probability": p} for w, lab, p in top],
    }
    json_path = out_dir / "ker7_pretrained.json"
    write_json(json_path, results)
    plt = pyplot(args.no_show)
    state = "ImageNet weights" if trained else "UNTRAINED weights: labels are meaningless"
    title = f"{spec['builder']}, {params / 1e6:.1f} M parameters ({state})"
    save_figure(plot_result(plt, square, top, title), out_dir / "ker7_pretrained.png")
    print(f"results: {json_path}")
    show(plt, args.no_show)


if __name__ == "__main__":
    run_lesson(main)
