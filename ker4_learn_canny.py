"""Lesson 4: why depth matters, learning the Canny edge detector with one layer, a few, many.

Slides "Zložitejší príklad", "Canny cez DL (Cieslik, 2017)" and "Deep Learning": Sobel needs
a single convolution layer (ker3), but "if we try to teach the computer something harder, like
the Canny operator, the depth of the solution grows by an order of magnitude". Canny is a
blur, a gradient magnitude, thinning (non-maximum suppression) and two thresholds joined by
hysteresis. One 3x3 convolution with a sigmoid is one linear filter and one threshold, so it
cannot compute a magnitude, let alone thin it. The lesson trains every model in MODELS on the
same synthetic scenes, with the same loss and epochs, and scores each on a photo it never saw:

- single_layer: one Conv2D 3x3 with a sigmoid (10 parameters), as in ker3;
- few_layers: three stacked Conv2D layers (785 parameters);
- deep_unet: a small U-Net, thirteen Conv2D layers (31,313 parameters). A U-Net is also what
  Kuba Cieslik's deep-learning edge detector uses (kubacieslik.com, "Developing a deep
  learning edge detector to solve a 'toy' problem"; code at github.com/i008/deepedge); his
  learned the hand-drawn edges of BSDS 500, this one learns cv2.Canny.

The score is F1 against cv2.Canny with a one-pixel tolerance (edge_f1), and a stricter 1:1 F1.
The same slide's "two fully connected layers are a universal approximator" is lesson 4u.

Run:   python ker4_learn_canny.py               (1 to 4 minutes on 2 CPU cores, with other work)
       python ker4_learn_canny.py --quick       (under a minute: less data, fewer steps)
       python ker4_learn_canny.py --image my_photo.jpg

Expect on the default photo (grace_hopper.jpg, never trained on): single_layer near F1 0.08
(it gives up and marks almost nothing), few_layers and deep_unet both near 0.95. The
tolerance forgives few_layers' thick lines; the stricter 1:1 F1 does not: about 0.72 for
few_layers against 0.86 for deep_unet, whose lines are nearly as thin as Canny's. A hand-made
Laplacian shows what the best single layer could do: 0.72 on the photo, 0.16 on the noisy
unseen scenes. Figures: outputs/ker4_learn_canny.png (input | Canny | each model) and
outputs/ker4_learn_canny_depth.png (F1 against depth); numbers in outputs/ker4_learn_canny.json.
"""

import time
from pathlib import Path

import cv2
import numpy as np

from common import scenes  # the synthetic training scenes: shapes, textures, blur, noise
from common.cli import make_parser, positive_int
from common.errors import LessonError, run_lesson
from common.figures import pyplot, save_figure, show
from common.images import read_gray
from common.paths import prepare_output_dir, write_json
from common.quiet_keras import keras

# --- Settings ---
# The models to compare are MODELS, at the end of "Build the models": add a builder there
# and it gets its own row in the table, panel in the figures and keys in the JSON.
EPOCHS = 4  # the same for every model, so only the architecture differs
QUICK_EPOCHS = 2
BATCH_SIZE = 16
QUICK_BATCH_SIZE = 8  # --quick: smaller batches, so its few crops still give 64 steps
LEARNING_RATE = 1e-2  # Adam, decayed to zero along a cosine
TRAIN_CROPS = 1200  # 96x96 crops of synthetic scenes (--quick uses QUICK_CROPS)
QUICK_CROPS = 256
EDGE_WEIGHT = 5.0  # edge pixels count 5x in the cross-entropy: edges are only ~5-10% of pixels
THRESHOLD = 0.5  # a pixel is an edge when the model's output is >= 0.5
TOLERANCE = 1  # a predicted edge may sit 1 pixel away (3x3 square) from Canny's and still count

# The target. Canny's output depends on the blur and the two thresholds, so they are fixed.
BLUR_KSIZE = 5  # Gaussian blur before Canny: 5x5 ...
BLUR_SIGMA = 1.4  # ... with sigma 1.4, the textbook choice
LOW_THRESHOLD = 50  # hysteresis: weak edges (Sobel magnitude >= 50) survive if joined ...
HIGH_THRESHOLD = 100  # ... to a strong edge (magnitude >= 100)
L2_GRADIENT = True  # magnitude sqrt(gx^2 + gy^2), the same in every direction
CANNY_SETTINGS = {
    "blur_ksize": BLUR_KSIZE,
    "blur_sigma": BLUR_SIGMA,
    "low_threshold": LOW_THRESHOLD,
    "high_threshold": HIGH_THRESHOLD,
    "l2_gradient": L2_GRADIENT,
}


# --- Prepare the data: synthetic scenes, and cv2.Canny's edges as the target ---
def canny_edges(image_u8):
    """Canny edges of a uint8 image, blurred first: 1 on an edge, 0 elsewhere (uint8)."""
    blurred = cv2.GaussianBlur(image_u8, (BLUR_KSIZE, BLUR_KSIZE), BLUR_SIGMA)
    edges = cv2.Canny(blurred, LOW_THRESHOLD, HIGH_THRESHOLD, L2gradient=L2_GRADIENT)
    return (edges > 0).astype(np.uint8)


def read_photo(path):
    """The test photo as uint8, and its name; refused when Canny finds no edges in it."""
    image, note = read_gray(path)
    if note:
        print(note)
    name = Path(path).name if path else "grace_hopper.jpg"
    photo = scenes.to_uint8(image)
    if not canny_edges(photo).any():
        raise LessonError(
            f"Canny finds no edges in {name} at these settings, so there is nothing to "
            "score the models against; try a photo with sharper detail"
        )
    return photo, name


def prepare_data(seed, n_crops, photo, photo_name):
    """Training crops of synthetic scenes and their Canny edges; test images and their edges."""
    print(
        f"target: cv2.Canny(GaussianBlur({BLUR_KSIZE}x{BLUR_KSIZE}, sigma {BLUR_SIGMA}), "
        f"thresholds {LOW_THRESHOLD}/{HIGH_THRESHOLD}, L2 gradient)"
    )
    start, crop = time.perf_counter(), scenes.CROP
    x_train, y_train = scenes.training_crops(seed, n_crops, canny_edges)  # (n, 96, 96, 1) each
    test_images = [photo, *scenes.held_out_scenes(seed)]  # the photo, then the unseen scenes
    test_edges = [canny_edges(image) for image in test_images]
    print(
        f"data: {n_crops} crops of {crop}x{crop} from {n_crops // scenes.CROPS_PER_SCENE} "
        f"synthetic scenes, {y_train.mean():.1%} edge pixels "
        f"({time.perf_counter() - start:.1f} s); held out: {photo_name} "
        f"{photo.shape[1]}x{photo.shape[0]} + {scenes.HELD_OUT_SCENES} unseen scenes"
    )
    return x_train, y_train, test_images, test_edges


# --- Build the models ---
def build_single_layer():
    """One 3x3 convolution and a sigmoid: a linear filter and a threshold (10 parameters)."""
    return keras.Sequential(
        [
            keras.Input((None, None, 1)),  # (batch, height, width, 1): any image size
            keras.layers.Rescaling(1 / 64, offset=-2),  # 0..255 -> -2..2
            keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid"),
        ]
    )


def conv_bn_relu(x, filters):
    """Conv2D 3x3, then batch normalisation, then ReLU: the building block of the deeper models.

    Batch normalisation lets these models train in a few hundred steps. Its running
    statistics use momentum 0.9 (Keras' default 0.99 lags too far behind so short a run,
    and the model then scores badly at prediction time).
    """
    x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
    x = keras.layers.BatchNormalization(momentum=0.9)(x)
    return keras.layers.ReLU()(x)


def build_few_layers(width=8):
    """Three stacked 3x3 convolutions: a 7x7 view, enough for a gradient magnitude."""
    inputs = keras.Input((None, None, 1))
    x = keras.layers.Rescaling(1 / 64, offset=-2)(inputs)
    x = conv_bn_relu(x, width)  # (batch, H, W, 8)
    x = conv_bn_relu(x, width)
    outputs = keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid")(x)
    return keras.Model(inputs, outputs)


def build_deep_unet(width=8):
    """A small U-Net: two poolings widen its view, skip connections keep the detail.

    Canny's thinning and hysteresis compare a pixel with neighbours several pixels away,
    after a 5x5 blur; the poolings give a view of ~40 pixels cheaply, and the skip
    connections bring back the full-resolution detail needed to place a 1-pixel edge.
    """
    layers = keras.layers

    def block(x, filters):
        return conv_bn_relu(conv_bn_relu(x, filters), filters)

    inputs = keras.Input((None, None, 1))  # height and width: multiples of 4
    x = layers.Rescaling(1 / 64, offset=-2)(inputs)
    full = block(x, width)  # (batch, H, W, 8)
    half = block(layers.MaxPooling2D()(full), 2 * width)  # (batch, H/2, W/2, 16)
    quarter = block(layers.MaxPooling2D()(half), 4 * width)  # (batch, H/4, W/4, 32)
    up = layers.Concatenate()([layers.UpSampling2D()(quarter), half])
    up = block(up, 2 * width)  # (batch, H/2, W/2, 16)
    up = layers.Concatenate()([layers.UpSampling2D()(up), full])
    up = block(up, width)  # (batch, H, W, 8)
    up = block(up, width)
    outputs = layers.Conv2D(1, 1, activation="sigmoid")(up)  # (batch, H, W, 1)
    return keras.Model(inputs, outputs)


# The models to compare, shallow to deep. Each name is used as is in the table, the figures
# and the JSON keys (f1_<name>, params_<name>, ...).
MODELS = {
    "single_layer": build_single_layer,
    "few_layers": build_few_layers,
    "deep_unet": build_deep_unet,
}


# --- Train ---
def edge_loss(y_true, y_pred):
    """Weighted binary cross-entropy plus Dice loss: both cope with sparse edges."""
    p = keras.ops.clip(y_pred, 1e-6, 1 - 1e-6)
    bce = -(EDGE_WEIGHT * y_true * keras.ops.log(p) + (1 - y_true) * keras.ops.log(1 - p))
    overlap = keras.ops.sum(y_true * p)
    dice = 1 - (2 * overlap + 1) / (keras.ops.sum(y_true) + keras.ops.sum(p) + 1)
    return keras.ops.mean(bce) + dice


def train(model, x_train, y_train, epochs, batch_size):
    """Adam with a cosine-decayed learning rate, the same for every model; (History, seconds)."""
    steps = epochs * int(np.ceil(len(x_train) / batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(LEARNING_RATE, steps)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=edge_loss)
    start = time.perf_counter()
    history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=0)
    return history, time.perf_counter() - start


# --- Evaluate: F1 against Canny ---
# The two scores are written out here, in full, because every number the lesson prints is
# one of them; with them the file runs to about 470 lines, longer than the other lessons.
def predict_edges(model, image_u8):
    """The model's edge map of a whole image: output >= THRESHOLD, as a 0/1 uint8 array."""
    h, w = image_u8.shape
    pad_h, pad_w = (-h) % 4, (-w) % 4  # the U-Net pools twice: sides must divide by 4
    padded = cv2.copyMakeBorder(image_u8, 0, pad_h, 0, pad_w, cv2.BORDER_REFLECT_101)
    x = padded[None, :, :, None].astype(np.float32)  # (1, H, W, 1)
    output = model(x, training=False)  # eager: no retracing per image size
    prob = keras.ops.convert_to_numpy(output)[0, :h, :w, 0]
    return (prob >= THRESHOLD).astype(np.uint8)


def edge_f1(pred, true, tolerance=TOLERANCE):
    """F1, precision and recall of a predicted edge map against the true one.

    A predicted edge pixel is correct when a true edge lies within `tolerance` pixels of it,
    in the 8-neighbourhood sense: the true map is dilated by a (2*tolerance+1)^2 square.
    Recall likewise counts a true edge pixel as found when a predicted one lies within
    reach. Two empty maps agree perfectly (F1 = 1); one empty map against a non-empty one
    scores 0.
    """
    pred = np.asarray(pred).astype(bool)
    true = np.asarray(true).astype(bool)
    if pred.shape != true.shape:
        raise ValueError(f"edge maps differ in shape: {pred.shape} vs {true.shape}")
    square = np.ones((2 * tolerance + 1, 2 * tolerance + 1), np.uint8)
    near_true = cv2.dilate(true.astype(np.uint8), square).astype(bool)
    near_pred = cv2.dilate(pred.astype(np.uint8), square).astype(bool)
    n_pred, n_true = int(pred.sum()), int(true.sum())
    if n_pred == 0 and n_true == 0:
        return 1.0, 1.0, 1.0
    precision = (pred & near_true).sum() / n_pred if n_pred else 0.0
    recall = (true & near_pred).sum() / n_true if n_true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return float(f1), float(precision), float(recall)


def one_to_one_f1(pred, true, tolerance=TOLERANCE):
    """A stricter F1: each true edge pixel can vouch for one predicted pixel only.

    edge_f1 forgives a 3-pixel-thick line drawn over a 1-pixel Canny line (every pixel of
    it is near an edge). Here predicted and true pixels are paired off, nearest first
    (same pixel, then the 4 neighbours, then the diagonals), as edge benchmarks such as
    BSDS do (they pair optimally; this greedy pairing is a close, slightly lower score).
    """
    pred = np.asarray(pred).astype(bool)
    true = np.asarray(true).astype(bool)
    n_pred, n_true = int(pred.sum()), int(true.sum())
    if n_pred == 0 or n_true == 0:
        return edge_f1(pred, true, tolerance)
    r = range(-tolerance, tolerance + 1)
    offsets = sorted(((dy, dx) for dy in r for dx in r), key=lambda o: o[0] ** 2 + o[1] ** 2)
    free_pred, free_true = pred.copy(), true.copy()
    padded = np.pad(free_true, tolerance)  # a view we update as true pixels get used
    h, w = pred.shape
    matched = 0
    for dy, dx in offsets:
        window = padded[tolerance + dy : tolerance + dy + h, tolerance + dx : tolerance + dx + w]
        pairs = free_pred & window  # predicted pixel (y, x) pairs with true pixel (y+dy, x+dx)
        free_pred &= ~pairs
        window &= ~pairs  # writes through to padded: those true pixels are used up
        matched += int(pairs.sum())
    precision, recall = matched / n_pred, matched / n_true
    f1 = 2 * precision * recall / (precision + recall) if matched else 0.0
    return float(f1), float(precision), float(recall)


def evaluate(model, images, edges):
    """A model's scores on the photo (images[0]) and on the unseen scenes; its photo edge map."""
    maps = [predict_edges(model, image) for image in images]
    f1, precision, recall = edge_f1(maps[0], edges[0])
    scores = {
        "params": model.count_params(),
        "depth": sum("Conv" in type(layer).__name__ for layer in model.layers),  # Conv2D & co.
        "f1": f1,  # on the photo
        "precision": precision,
        "recall": recall,
        "f1_scenes": float(
            np.mean([edge_f1(m, t)[0] for m, t in zip(maps[1:], edges[1:], strict=True)])
        ),
        "edge_pixels_vs_canny": float(maps[0].sum() / max(1, edges[0].sum())),
        "f1_one_to_one": one_to_one_f1(maps[0], edges[0])[0],
    }
    return scores, maps[0]


LAPLACIAN = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], np.float32)


def laplacian_response(image_u8):
    """The 3x3 Laplacian of an 8-bit image, as float32 (positive on the bright side of edges)."""
    return cv2.filter2D(image_u8.astype(np.float32), -1, LAPLACIAN)


def laplacian_reference(images, edges):
    """A hand-made single layer: a 3x3 Laplacian > threshold, the threshold tuned on the photo.

    It marks the bright side of every edge, within a pixel of Canny's line, so the tolerant
    F1 rates it well on a clean photo. Not Canny: no thinning, no hysteresis, and noise makes
    it fire everywhere, as its F1 on the scenes shows.
    """
    photo = laplacian_response(images[0])
    thresholds = (4, 8, 12, 16, 24, 32, 48, 64, 96, 128)
    f1, threshold = max((edge_f1(photo > t, edges[0])[0], t) for t in thresholds)
    on_scenes = [
        edge_f1(laplacian_response(s) > threshold, e)[0] for s, e in zip(images, edges, strict=True)
    ]
    return {"f1": f1, "threshold": threshold, "f1_scenes": float(np.mean(on_scenes[1:]))}


# --- Show it ---
def print_table(results, epochs, batch_size):
    """One row per model: depth, parameters, training time and the scores."""
    width = max(14, *(len(name) + 2 for name in results))
    print(
        f"\nF1 against Canny, 1-pixel tolerance (edge = output >= {THRESHOLD}); "
        f"{epochs} epochs of batch {batch_size} each"
    )
    print(
        f"{'model':<{width}}{'depth':>6}{'params':>9}{'train s':>9}{'F1 photo':>10}"
        f"{'F1 scenes':>11}{'edge px / Canny':>16}{'1:1 F1 photo':>14}"
    )
    for name, r in results.items():
        print(
            f"{name:<{width}}{r['depth']:>6}{r['params']:>9,}{r['train_seconds']:>9.1f}"
            f"{r['f1']:>10.3f}{r['f1_scenes']:>11.3f}{r['edge_pixels_vs_canny']:>15.2f}x"
            f"{r['f1_one_to_one']:>14.3f}"
        )


def print_conclusions(results, laplacian):
    """What the table says: depth against one layer, and what a hand-made layer could do."""
    shallowest = min(results, key=lambda name: results[name]["depth"])  # the first if tied
    deepest = max(results, key=lambda name: results[name]["depth"])
    gain = results[deepest]["f1"] - results[shallowest]["f1"]
    print(
        f"{deepest} - {shallowest}: {gain:+.3f} F1 on the photo. "
        "One linear filter cannot compute a gradient magnitude, let alone thin it."
    )
    print(
        f"for reference, the best hand-made single layer we know, a 3x3 Laplacian > "
        f"{laplacian['threshold']} (threshold tuned on the photo): F1 {laplacian['f1']:.3f} on "
        f"the photo, {laplacian['f1_scenes']:.3f} on the scenes"
    )
    print(
        "edge px / Canny > 1: thicker lines than Canny's 1-pixel ones. F1 with a tolerance "
        "forgives them;\n1:1 F1 (each Canny pixel vouches for one predicted pixel) does not. "
        "Thinning them, as Canny's non-maximum suppression does, takes depth."
    )


def plot_edge_maps(plt, photo, photo_name, canny, results, maps):
    """Input | Canny | each model's edge map, with close-ups below to show line thickness."""
    panels = [("input", photo), ("Canny (target)", canny)]
    panels += [
        (f"{name}: F1 {r['f1']:.2f}\n(1:1 F1 {r['f1_one_to_one']:.2f})", maps[name])
        for name, r in results.items()
    ]
    fig, axes = plt.subplots(
        2, len(panels), figsize=(3.4 * len(panels), 7.4), height_ratios=(1.2, 1)
    )
    h, w = photo.shape
    zoom = (slice(h // 4, h // 4 + h // 4), slice(w // 4, w // 4 + w // 3))
    for top, bottom, (title, pixels) in zip(axes[0], axes[1], panels, strict=True):
        top.imshow(pixels, cmap="gray", interpolation="nearest")
        top.set_title(title)
        bottom.imshow(pixels[zoom], cmap="gray", interpolation="nearest")
        bottom.set_title("close-up: line thickness", fontsize=9)
        top.axis("off")
        bottom.axis("off")
    fig.suptitle(f"Learning cv2.Canny on synthetic scenes, tested on {photo_name}")
    return fig


def plot_f1_against_depth(plt, results, photo_name):
    """Each model's F1 (tolerant on the photo and the scenes, 1:1 on the photo) at its depth."""
    fig, ax = plt.subplots(figsize=(6, 4))
    by_depth = sorted(results.values(), key=lambda r: r["depth"])  # lines run left to right
    depths = [r["depth"] for r in by_depth]
    for key, style, label in (
        ("f1", "o-", photo_name),
        ("f1_scenes", "s--", "unseen scenes"),
        ("f1_one_to_one", "^:", f"{photo_name}, 1:1 F1"),
    ):
        ax.plot(depths, [r[key] for r in by_depth], style, label=label)
    for name, r in results.items():
        where = (r["depth"], r["f1_one_to_one"])
        label = f"{name}\n{r['params']:,} params"
        ax.annotate(label, where, xytext=(6, -26), textcoords="offset points", fontsize=8)
    ax.set(xlabel="convolution layers (depth)", ylabel="F1 vs Canny, 1-pixel tolerance")
    ax.set(xlim=(0, max(depths) + 4), ylim=(0, 1.05), title="F1 against depth")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return fig


def json_summary(args, photo_name, n_crops, results, laplacian, figures):
    """The run's settings and every number of every model, keyed <number>_<model name>."""
    return {
        "image": photo_name,
        "canny": CANNY_SETTINGS,
        "metric": "F1, 1-pixel tolerance (3x3 square dilation), output >= 0.5 is an edge",
        **{key: vars(args)[key] for key in ("quick", "epochs", "batch_size")},
        "train_crops": n_crops,
        "figures": [str(path) for path in figures],
        "models": list(results),
        **{f"{key}_{name}": value for name, r in results.items() for key, value in r.items()},
        **{f"{key}_laplacian_reference": laplacian[key] for key in ("f1", "f1_scenes")},
    }


def main(argv=None):
    parser = make_parser(
        __doc__,
        image=True,
        epochs=(EPOCHS, QUICK_EPOCHS),
        batch_size=(BATCH_SIZE, QUICK_BATCH_SIZE),
    )
    crop = scenes.CROP
    crops_help = f"training crops of {crop}x{crop} (default: {TRAIN_CROPS}, --quick: {QUICK_CROPS})"
    parser.add_argument("--crops", type=positive_int, default=None, help=crops_help)
    args = parser.parse_args(argv)
    n_crops = args.crops or (QUICK_CROPS if args.quick else TRAIN_CROPS)

    # --- Prepare the data ---
    photo, photo_name = read_photo(args.image)
    out_dir = prepare_output_dir(args.output_dir)
    keras.utils.set_random_seed(args.seed)
    x_train, y_train, test_images, test_edges = prepare_data(args.seed, n_crops, photo, photo_name)

    # --- Build, train and evaluate each model ---
    results, maps = {}, {}
    for name, build in MODELS.items():
        model = build()
        history, seconds = train(model, x_train, y_train, args.epochs, args.batch_size)
        loss = float(history.history["loss"][-1])
        print(f"trained {name}: {seconds:.1f} s, final loss {loss:.3f}")
        results[name] = {"train_seconds": seconds, "loss": loss}
        scores, maps[name] = evaluate(model, test_images, test_edges)
        results[name] |= scores
    laplacian = laplacian_reference(test_images, test_edges)

    # --- Show it ---
    print_table(results, args.epochs, args.batch_size)
    print_conclusions(results, laplacian)
    plt = pyplot(args.no_show)
    fig = plot_edge_maps(plt, photo, photo_name, test_edges[0], results, maps)
    figures = [save_figure(fig, out_dir / "ker4_learn_canny.png")]
    fig = plot_f1_against_depth(plt, results, photo_name)
    figures.append(save_figure(fig, out_dir / "ker4_learn_canny_depth.png"))
    summary = json_summary(args, photo_name, n_crops, results, laplacian, figures)
    write_json(out_dir / "ker4_learn_canny.json", summary)
    print(f"results: {out_dir / 'ker4_learn_canny.json'}")
    show(plt, args.no_show)


if __name__ == "__main__":
    run_lesson(main)
