"""Why depth matters: learning the Canny edge detector with one layer, a few layers, a deep net.

Slide "Canny cez DL (Cieslik, 2017)": Sobel needs a single convolution layer (ker3), but
"if we try to teach the computer something harder, like the Canny operator, the depth of the
solution grows by an order of magnitude". Canny is a blur, a gradient magnitude, thinning
(non-maximum suppression) and two thresholds joined by hysteresis. A single 3x3 convolution
with a sigmoid is one linear filter and one threshold, so it cannot compute a magnitude, let
alone thin it. This lesson trains three models on the same synthetic scenes, with the same
loss and the same number of epochs, and scores each on a photo it has never seen:

1. one Conv2D 3x3 layer with a sigmoid (10 parameters), as in ker3;
2. a few stacked Conv2D layers (three);
3. a small U-Net, the kind of model Cieslik trained (thirteen Conv2D layers).

The score is F1 against cv2.Canny with a one-pixel tolerance (see edge_f1).

Run:   python ker4_learn_canny.py               (about 3-4 minutes on a busy 2-core CPU)
       python ker4_learn_canny.py --quick       (under a minute: less data, fewer steps)
       python ker4_learn_canny.py --image my_photo.jpg

Expect on the default photo (grace_hopper.jpg, never trained on): the single layer near
F1 0.08 (it gives up and marks almost nothing), the few layers and the U-Net both near 0.95.
The tolerance forgives the few layers' thick lines; the stricter one-to-one F1 does not:
about 0.72 for the few layers against 0.85 for the U-Net, whose lines are nearly as thin as
Canny's. A hand-made Laplacian shows what the best single layer could do: 0.72 on the
photo, 0.16 on the noisy unseen scenes.
Figures: outputs/ker4_learn_canny.png (input | Canny | the three models) and
outputs/ker4_learn_canny_depth.png (F1 against depth); numbers in outputs/ker4_learn_canny.json.
"""

import time
from pathlib import Path

import cv2
import numpy as np

from common.cli import make_parser, positive_int
from common.errors import LessonError, run_lesson
from common.figures import pyplot, save_figure, show
from common.images import read_gray
from common.paths import prepare_output_dir, write_json

# --- Introduction: the target, and the numbers that define it ---
# Canny's output depends on the blur and the two thresholds, so they are fixed here.
BLUR_KSIZE = 5  # Gaussian blur before Canny: 5x5 ...
BLUR_SIGMA = 1.4  # ... with sigma 1.4, the textbook choice
LOW_THRESHOLD = 50  # hysteresis: weak edges (Sobel magnitude >= 50) survive if joined ...
HIGH_THRESHOLD = 100  # ... to a strong edge (magnitude >= 100)
L2_GRADIENT = True  # magnitude sqrt(gx^2 + gy^2), the same in every direction

SCENE_SIZE = 160  # synthetic scenes are 160x160 pixels ...
CROP = 96  # ... and the models train on random 96x96 crops of them
CROPS_PER_SCENE = 4
TRAIN_CROPS = 1200  # crops in the default run (--quick uses QUICK_CROPS)
QUICK_CROPS = 256
HELD_OUT_SCENES = 4  # generated from a seed stream that training never touches
HELD_OUT_SIZE = 256

EPOCHS = 4  # the same for all three models, so only the depth differs
QUICK_EPOCHS = 2
BATCH_SIZE = 16
QUICK_BATCH_SIZE = 8  # --quick: smaller batches, so its few crops still give 64 steps
LEARNING_RATE = 1e-2  # Adam, decayed to zero along a cosine
EDGE_WEIGHT = 5.0  # edge pixels count 5x in the cross-entropy: edges are only ~5-10% of pixels
THRESHOLD = 0.5  # a pixel is an edge when the model's output is >= 0.5
TOLERANCE = 1  # a predicted edge may sit 1 pixel away (3x3 square) from Canny's and still count


# --- The target: cv2.Canny with fixed settings ---
def to_uint8(image):
    """Round a float 0..255 image to uint8, the input cv2.Canny needs."""
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def canny_edges(image_u8):
    """Canny edges of a uint8 image, blurred first: 1 on an edge, 0 elsewhere (uint8)."""
    blurred = cv2.GaussianBlur(image_u8, (BLUR_KSIZE, BLUR_KSIZE), BLUR_SIGMA)
    edges = cv2.Canny(blurred, LOW_THRESHOLD, HIGH_THRESHOLD, L2gradient=L2_GRADIENT)
    return (edges > 0).astype(np.uint8)


# --- The metric: F1 with a one-pixel tolerance ---
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


LAPLACIAN = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], np.float32)


def laplacian_reference(image_u8, edges):
    """A hand-made one-layer edge map: a 3x3 Laplacian > threshold, the threshold tuned here.

    It marks the bright side of every edge, within a pixel of Canny's line, so the tolerant
    F1 rates it well on a clean photo. Returns (f1, threshold). Not Canny: no thinning,
    no hysteresis, and noise makes it fire everywhere.
    """
    response = laplacian_response(image_u8)
    thresholds = (4, 8, 12, 16, 24, 32, 48, 64, 96, 128)
    return max((edge_f1(response > t, edges)[0], t) for t in thresholds)


def laplacian_response(image_u8):
    """The 3x3 Laplacian of an 8-bit image, as float32 (positive on the bright side of edges)."""
    return cv2.filter2D(image_u8.astype(np.float32), -1, LAPLACIAN)


# --- Prepare the data: endless synthetic scenes ---
def _texture(rng, shape):
    """A stripe pattern or a blotchy noise, amplitude about +-40 grey levels."""
    h, w = shape
    if rng.random() < 0.5:
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        angle, period = rng.uniform(0, np.pi), rng.uniform(4, 24)
        wave = np.sin((np.cos(angle) * xx + np.sin(angle) * yy) * 2 * np.pi / period)
    else:
        cells = int(rng.integers(4, 32))
        wave = cv2.resize(rng.normal(0, 1, (cells, cells)).astype(np.float32), (w, h))
    return (rng.uniform(10, 50) * wave).astype(np.float32)


def _draw_shape(rng, canvas, size):
    """Draw one random shape (filled or outlined) of a random scale onto canvas, in place."""
    centre = rng.uniform(-0.1, 1.1, 2) * size
    radius = size * np.exp(rng.uniform(np.log(0.02), np.log(0.45)))  # small to large
    grey = float(rng.uniform(0, 255))
    thickness = -1 if rng.random() < 0.6 else int(rng.integers(1, 4))
    kind = rng.integers(5)
    if kind == 0:  # a rotated rectangle
        sides = (radius * rng.uniform(0.5, 2), radius * rng.uniform(0.5, 2))
        points = [cv2.boxPoints((tuple(centre), sides, rng.uniform(0, 180)))]
    elif kind == 1:  # a star-like or convex polygon
        n = int(rng.integers(3, 9))
        angles = np.sort(rng.uniform(0, 2 * np.pi, n))
        radii = radius * rng.uniform(0.4, 1.0, n)
        points = [centre + np.stack([np.cos(angles), np.sin(angles)], 1) * radii[:, None]]
    elif kind == 2:  # a line
        end = centre + rng.normal(0, radius, 2)
        pts = np.rint([centre, end]).astype(np.int32)
        cv2.line(canvas, tuple(map(int, pts[0])), tuple(map(int, pts[1])), grey, max(1, thickness))
        return
    else:  # an ellipse (a circle when the axes agree)
        axes = (int(radius), int(radius * rng.uniform(0.3, 1.0)))
        c = tuple(int(v) for v in np.rint(centre))
        if kind == 4 and thickness == -1:  # a textured ellipse
            mask = np.zeros(canvas.shape, np.uint8)
            cv2.ellipse(mask, c, axes, rng.uniform(0, 180), 0, 360, 1, -1)
            fill = grey + _texture(rng, canvas.shape)
            canvas[mask > 0] = fill[mask > 0]
        else:
            cv2.ellipse(canvas, c, axes, rng.uniform(0, 180), 0, 360, grey, thickness)
        return
    points = [np.rint(p).astype(np.int32) for p in points]
    if thickness == -1:
        cv2.fillPoly(canvas, points, grey)
    else:
        cv2.polylines(canvas, points, True, grey, thickness)


def make_scene(rng, size=SCENE_SIZE):
    """One random grey scene as uint8 (size, size): gradient, shapes, texture, blur, noise."""
    big = 2 * size  # draw at twice the size, then shrink: edges get soft, anti-aliased steps
    yy, xx = np.mgrid[0:big, 0:big].astype(np.float32) / big
    angle = rng.uniform(0, 2 * np.pi)
    canvas = rng.uniform(40, 215) + rng.uniform(-80, 80) * (np.cos(angle) * xx + np.sin(angle) * yy)
    if rng.random() < 0.5:
        canvas = canvas + _texture(rng, (big, big)) * rng.uniform(0, 1)
    for _ in range(int(rng.integers(6, 26))):
        _draw_shape(rng, canvas, big)
    scene = cv2.resize(canvas.astype(np.float32), (size, size), interpolation=cv2.INTER_AREA)
    shading = cv2.resize(rng.normal(0, 1, (3, 3)).astype(np.float32), (size, size))
    scene += rng.uniform(0, 25) * shading  # slow light changes, as on a face
    scene = 128 + (scene - 128) * rng.uniform(0.5, 1.2)  # low- to high-contrast scenes
    blur = rng.uniform(0, 1.6)
    if blur > 0.5:
        scene = cv2.GaussianBlur(scene, (0, 0), blur)
    scene += rng.normal(0, rng.uniform(0, 5), scene.shape)
    return to_uint8(scene)


def scenes(seed):
    """An endless stream of random scenes; the same seed gives the same stream."""
    rng = np.random.default_rng(seed)
    while True:
        yield make_scene(rng)


def training_crops(seed, n_crops, crop=CROP):
    """Random crops of fresh scenes and of their Canny edges: x, y of shape (n, crop, crop, 1).

    Canny runs on the whole scene before cropping, so crop borders hold true edges.
    """
    rng = np.random.default_rng([seed, 1])
    x = np.empty((n_crops, crop, crop, 1), np.uint8)
    y = np.empty((n_crops, crop, crop, 1), np.uint8)
    stream = scenes([seed, 0])
    for i in range(n_crops):
        if i % CROPS_PER_SCENE == 0:
            scene = next(stream)
            edges = canny_edges(scene)
        top, left = rng.integers(0, SCENE_SIZE - crop + 1, 2)
        x[i, :, :, 0] = scene[top : top + crop, left : left + crop]
        y[i, :, :, 0] = edges[top : top + crop, left : left + crop]
    return x.astype(np.float32), y.astype(np.float32)


def held_out_scenes(seed, n=HELD_OUT_SCENES):
    """Scenes from a seed stream that training never draws from."""
    rng = np.random.default_rng([seed, 2])
    return [make_scene(rng, HELD_OUT_SIZE) for _ in range(n)]


# --- Build the models ---
def build_single_layer(keras):
    """One 3x3 convolution and a sigmoid: a linear filter and a threshold (10 parameters)."""
    return keras.Sequential(
        [
            keras.Input((None, None, 1)),  # (batch, height, width, 1): any image size
            keras.layers.Rescaling(1 / 64, offset=-2),  # 0..255 -> -2..2
            keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid"),
        ],
        name="single_layer",
    )


def conv_bn_relu(keras, x, filters):
    """Conv2D 3x3, then batch normalisation, then ReLU: the building block of models 2 and 3.

    Batch normalisation lets these models train in a few hundred steps. Its running
    statistics use momentum 0.9 (Keras' default 0.99 lags too far behind so short a run,
    and the model then scores badly at prediction time).
    """
    x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
    x = keras.layers.BatchNormalization(momentum=0.9)(x)
    return keras.layers.ReLU()(x)


def build_few_layers(keras, width=8):
    """Three stacked 3x3 convolutions: a 7x7 view, enough for a gradient magnitude."""
    inputs = keras.Input((None, None, 1))
    x = keras.layers.Rescaling(1 / 64, offset=-2)(inputs)
    x = conv_bn_relu(keras, x, width)  # (batch, H, W, 8)
    x = conv_bn_relu(keras, x, width)
    outputs = keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid")(x)
    return keras.Model(inputs, outputs, name="few_layers")


def build_deep(keras, width=8):
    """A small U-Net (Cieslik's choice): two poolings widen its view, skips keep detail.

    Canny's thinning and hysteresis compare a pixel with neighbours several pixels away,
    after a 5x5 blur; the poolings give a view of ~40 pixels cheaply, and the skip
    connections bring back the full-resolution detail needed to place a 1-pixel edge.
    """
    layers = keras.layers

    def block(x, filters):
        return conv_bn_relu(keras, conv_bn_relu(keras, x, filters), filters)

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
    return keras.Model(inputs, outputs, name="deep_unet")


def count_conv_layers(model):
    """How many Conv2D layers the model stacks: its depth, for the F1-against-depth plot."""
    return sum(layer.__class__.__name__ == "Conv2D" for layer in model.layers)


def make_edge_loss(keras):
    """Weighted binary cross-entropy plus Dice loss: both cope with sparse edges."""
    ops = keras.ops

    def edge_loss(y_true, y_pred):
        p = ops.clip(y_pred, 1e-6, 1 - 1e-6)
        bce = -(EDGE_WEIGHT * y_true * ops.log(p) + (1 - y_true) * ops.log(1 - p))
        overlap = ops.sum(y_true * p)
        dice = 1 - (2 * overlap + 1) / (ops.sum(y_true) + ops.sum(p) + 1)
        return ops.mean(bce) + dice

    return edge_loss


# --- Evaluate ---
def predict_edges(model, image_u8):
    """The model's edge map of a whole image: output >= THRESHOLD, as a 0/1 uint8 array."""
    h, w = image_u8.shape
    pad_h, pad_w = (-h) % 4, (-w) % 4  # the U-Net pools twice: sides must divide by 4
    padded = cv2.copyMakeBorder(image_u8, 0, pad_h, 0, pad_w, cv2.BORDER_REFLECT_101)
    x = padded[None, :, :, None].astype(np.float32)  # (1, H, W, 1)
    prob = np.asarray(model(x, training=False))[0, :h, :w, 0]  # eager: no retracing per size
    return (prob >= THRESHOLD).astype(np.uint8)


def main():
    parser = make_parser(
        __doc__,
        image=True,
        epochs=(EPOCHS, QUICK_EPOCHS),
        batch_size=(BATCH_SIZE, QUICK_BATCH_SIZE),
    )
    parser.add_argument(
        "--crops",
        type=positive_int,
        default=None,
        help=f"training crops of {CROP}x{CROP} (default: {TRAIN_CROPS}, --quick: {QUICK_CROPS})",
    )
    args = parser.parse_args()
    # Check the inputs before TensorFlow loads, so a mistake fails at once.
    image, note = read_gray(args.image)
    if note:
        print(note)
    out_dir = prepare_output_dir(args.output_dir)
    photo_name = Path(args.image).name if args.image else "grace_hopper.jpg"
    photo = to_uint8(image)
    photo_edges = canny_edges(photo)
    if not photo_edges.any():
        raise LessonError(
            f"Canny finds no edges in {photo_name} at these settings, so there is nothing to "
            "score the models against; try a photo with sharper detail"
        )
    epochs, batch_size = args.epochs, args.batch_size  # --quick's smaller ones unless typed
    n_crops = args.crops or (QUICK_CROPS if args.quick else TRAIN_CROPS)

    from common.tf_quiet import import_keras

    tf, keras = import_keras(args.verbose)
    keras.utils.set_random_seed(args.seed)

    print(
        f"target: cv2.Canny(GaussianBlur({BLUR_KSIZE}x{BLUR_KSIZE}, sigma {BLUR_SIGMA}), "
        f"thresholds {LOW_THRESHOLD}/{HIGH_THRESHOLD}, L2 gradient)"
    )
    # --- Prepare the data ---
    start = time.perf_counter()
    x_train, y_train = training_crops(args.seed, n_crops)  # (n, 96, 96, 1) each
    test_images = [photo, *held_out_scenes(args.seed)]
    test_edges = [photo_edges, *(canny_edges(img) for img in test_images[1:])]
    print(
        f"data: {n_crops} crops of {CROP}x{CROP} from {n_crops // CROPS_PER_SCENE} synthetic "
        f"scenes, {y_train.mean():.1%} edge pixels ({time.perf_counter() - start:.1f} s); "
        f"held out: {photo_name} {photo.shape[1]}x{photo.shape[0]} "
        f"+ {HELD_OUT_SCENES} unseen scenes"
    )

    # --- Build, train and evaluate the three models ---
    builders = {
        "one layer": build_single_layer,
        "a few layers": build_few_layers,
        "deep (U-Net)": build_deep,
    }
    steps = epochs * int(np.ceil(n_crops / batch_size))
    results = {}
    for name, build in builders.items():
        model = build(keras)
        schedule = keras.optimizers.schedules.CosineDecay(LEARNING_RATE, steps)
        model.compile(optimizer=keras.optimizers.Adam(schedule), loss=make_edge_loss(keras))
        start = time.perf_counter()
        history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=0)
        seconds = time.perf_counter() - start
        maps = [predict_edges(model, img) for img in test_images]
        scores = [edge_f1(m, t) for m, t in zip(maps, test_edges, strict=True)]
        results[name] = {
            "params": model.count_params(),
            "depth": count_conv_layers(model),
            "seconds": seconds,
            "loss": float(history.history["loss"][-1]),
            "f1_photo": scores[0][0],
            "precision_photo": scores[0][1],
            "recall_photo": scores[0][2],
            "f1_scenes": float(np.mean([s[0] for s in scores[1:]])),
            "thickness": float(maps[0].sum() / max(1, test_edges[0].sum())),
            "f1_one_to_one": one_to_one_f1(maps[0], test_edges[0])[0],
            "photo_map": maps[0],
        }
        print(f"trained {name}: {seconds:.1f} s, final loss {results[name]['loss']:.3f}")

    print(
        f"\nF1 against Canny, 1-pixel tolerance (edge = output >= {THRESHOLD}); "
        f"{epochs} epochs of batch {batch_size} each"
    )
    print(
        f"{'model':<14}{'depth':>6}{'params':>9}{'train s':>9}{'F1 photo':>10}{'F1 scenes':>11}"
        f"{'edge px / Canny':>16}{'1:1 F1 photo':>14}"
    )
    for name, r in results.items():
        print(
            f"{name:<14}{r['depth']:>6}{r['params']:>9,}{r['seconds']:>9.1f}"
            f"{r['f1_photo']:>10.3f}{r['f1_scenes']:>11.3f}{r['thickness']:>15.2f}x{r['f1_one_to_one']:>14.3f}"
        )
    single, few, deep = results.values()
    print(
        f"deep - one layer: {deep['f1_photo'] - single['f1_photo']:+.3f} F1 on the photo. "
        "One linear filter cannot compute a gradient magnitude, let alone thin it."
    )
    lap_f1, lap_threshold = laplacian_reference(photo, test_edges[0])
    lap_scenes = np.mean(
        [
            edge_f1(laplacian_response(s) > lap_threshold, e)[0]
            for s, e in zip(test_images[1:], test_edges[1:], strict=True)
        ]
    )
    print(
        f"for reference, the best hand-made single layer we know, a 3x3 Laplacian > "
        f"{lap_threshold} (threshold tuned on the photo): F1 {lap_f1:.3f} on the photo, "
        f"{lap_scenes:.3f} on the scenes"
    )
    print(
        "edge px / Canny > 1: thicker lines than Canny's 1-pixel ones. F1 with a tolerance "
        "forgives them;\n1:1 F1 (each Canny pixel vouches for one predicted pixel) does not. "
        "Thinning them, as Canny's non-maximum suppression does, takes depth."
    )

    # --- Figures ---
    plt = pyplot(args.no_show)
    fig, axes = plt.subplots(2, 5, figsize=(17, 7.4), height_ratios=(1.2, 1))
    panels = [("input", photo), ("Canny (target)", test_edges[0])]
    panels += [
        (f"{n}: F1 {r['f1_photo']:.2f}\n(1:1 F1 {r['f1_one_to_one']:.2f})", r["photo_map"])
        for n, r in results.items()
    ]
    h, w = photo.shape
    zoom = (slice(h // 4, h // 4 + h // 4), slice(w // 4, w // 4 + w // 3))  # a close-up
    for top, bottom, (title, pixels) in zip(axes[0], axes[1], panels, strict=True):
        top.imshow(pixels, cmap="gray", interpolation="nearest")
        top.set_title(title)
        bottom.imshow(pixels[zoom], cmap="gray", interpolation="nearest")
        bottom.set_title("close-up: line thickness", fontsize=9)
        top.axis("off")
        bottom.axis("off")
    fig.suptitle(f"Learning cv2.Canny on synthetic scenes, tested on {photo_name}")
    figure = save_figure(fig, out_dir / "ker4_learn_canny.png")

    fig2, ax = plt.subplots(figsize=(6, 4))
    depths = [r["depth"] for r in results.values()]
    ax.plot(depths, [r["f1_photo"] for r in results.values()], "o-", label=photo_name)
    ax.plot(depths, [r["f1_scenes"] for r in results.values()], "s--", label="unseen scenes")
    one_to_one = [r["f1_one_to_one"] for r in results.values()]
    ax.plot(depths, one_to_one, "^:", label=f"{photo_name}, 1:1 F1")
    for name, r in results.items():
        ax.annotate(
            f"{name}\n{r['params']:,} params",
            (r["depth"], r["f1_one_to_one"]),
            xytext=(6, -26),
            textcoords="offset points",
            fontsize=8,
        )
    ax.set(xlabel="Conv2D layers (depth)", ylabel="F1 vs Canny, 1-pixel tolerance")
    ax.set(xlim=(0, max(depths) + 4), ylim=(0, 1.05))
    ax.set_title("F1 against depth")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    figure2 = save_figure(fig2, out_dir / "ker4_learn_canny_depth.png")

    keys = {"one layer": "single_layer", "a few layers": "shallow", "deep (U-Net)": "deep"}
    summary = {
        "image": photo_name,
        "canny": {
            "blur_ksize": BLUR_KSIZE,
            "blur_sigma": BLUR_SIGMA,
            "low_threshold": LOW_THRESHOLD,
            "high_threshold": HIGH_THRESHOLD,
            "l2_gradient": L2_GRADIENT,
        },
        "metric": "F1, 1-pixel tolerance (3x3 square dilation), output >= 0.5 is an edge",
        "quick": args.quick,
        "epochs": epochs,
        "batch_size": batch_size,
        "train_crops": n_crops,
        "figures": [str(figure), str(figure2)],
    }
    for name, r in results.items():
        k = keys[name]
        summary[f"f1_{k}"] = r["f1_photo"]
        summary[f"f1_scenes_{k}"] = r["f1_scenes"]
        summary[f"params_{k}"] = r["params"]
        summary[f"depth_{k}"] = r["depth"]
        summary[f"train_seconds_{k}"] = round(r["seconds"], 2)
        summary[f"edge_pixels_vs_canny_{k}"] = round(r["thickness"], 3)
        summary[f"f1_one_to_one_{k}"] = r["f1_one_to_one"]
    summary["f1_laplacian_reference"] = lap_f1
    summary["f1_scenes_laplacian_reference"] = float(lap_scenes)
    write_json(out_dir / "ker4_learn_canny.json", summary)
    print(f"results: {out_dir / 'ker4_learn_canny.json'}")
    show(plt, args.no_show)


if __name__ == "__main__":
    run_lesson(main)
