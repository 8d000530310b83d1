"""clients/: the C++ and the Java program give Keras' probabilities for the same images.

The chain a student follows: ker5 trains a model (here 2 epochs on a small synthetic
CIFAR-10 whose classes are colours), `ker6_predict.py --export` writes the ONNX file, and
both clients, built from source, classify image files with it. Their probabilities must be
Keras' to PARITY (1e-4) on every image; a wrong preprocessing (BGR instead of RGB) must not.

Without a C++ compiler, CMake, javac or OpenCV's C++/Java packages the client tests skip and
say why; with REQUIRE_CLIENTS=1 (set by .ci/run) a missing toolchain fails them instead.
"""

import glob
import os
import re
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from cifar_data import PALETTE, make_cifar_folder
from conftest import ROOT, assert_clean_error, read_json, requires_tensorflow, run_script

from common.cifar10 import CLASS_NAMES
from common.files import read_rgb
from common.lesson import LessonError, load_definitions

pytestmark = requires_tensorflow  # the clients read ker6's ONNX export, made on TensorFlow

ker6 = load_definitions("ker6_predict")  # the lesson's functions and constants, no steps run

CLIENTS = ROOT / "clients"
PARITY = 1e-4  # the largest |client probability - Keras probability| allowed
DEBIAN_PACKAGES = "libopencv-dev libopencv-java default-jdk-headless cmake g++ make"

# Test images: (file name, (height, width), class whose colour it has). Different shapes take
# every path of the preprocessing: a crop of the long side, INTER_AREA shrinking, no resize,
# INTER_CUBIC enlarging, JPEG decoding, a PNG with alpha, and a grey image.
IMAGES = [
    ("wide.png", (75, 100), 0),
    ("tall.jpg", (120, 90), 2),
    ("exact.png", (32, 32), 3),
    ("tiny.png", (20, 26), 4),
    ("alpha.png", (40, 40), 5),
    ("grey.png", (64, 48), 6),
]


# --- What the machine has ---


def missing_or_skip(what, missing):
    """Skip (or fail, when REQUIRE_CLIENTS=1) with a message naming what is missing."""
    if not missing:
        return
    reason = f"the {what} client needs {', '.join(missing)} (apt-get install {DEBIAN_PACKAGES})"
    if os.environ.get("REQUIRE_CLIENTS") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def opencv_jar():
    """OpenCV's Java bindings: $OPENCV_JAR, or where Debian's libopencv-java puts them."""
    found = [os.environ.get("OPENCV_JAR", "/usr/share/java/opencv.jar")]
    found += sorted(glob.glob("/usr/share/java/opencv*.jar"))
    return next((Path(p) for p in found if p and Path(p).is_file()), None)


def opencv_jni():
    """The folder of libopencv_java*.so: $OPENCV_JNI, or Debian's /usr/lib/jni."""
    for folder in (os.environ.get("OPENCV_JNI"), "/usr/lib/jni"):
        if folder and glob.glob(os.path.join(folder, "libopencv_java*.so")):
            return Path(folder)
    return None


def has_opencv_for_cmake():
    """True if CMake's find_package(OpenCV) can succeed: an OpenCVConfig.cmake somewhere."""
    if os.environ.get("OpenCV_DIR"):
        return True
    patterns = [
        "/usr/lib/*/cmake/opencv4",
        "/usr/lib/cmake/opencv4",
        "/usr/local/lib/cmake/opencv4",
    ]
    patterns += ["/usr/share/OpenCV", "/usr/local/lib/*/cmake/opencv4"]
    return any(glob.glob(os.path.join(p, "OpenCVConfig.cmake")) for p in patterns)


def build(target, build_dir, *settings):
    """`make -C clients <target> BUILD=build_dir`, the build a student runs."""
    result = subprocess.run(
        ["make", "-C", str(CLIENTS), target, f"BUILD={build_dir}", *settings],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]


def cpp_client(tmp_path_factory):
    """The C++ program, built with CMake against the system's OpenCV: the command to run it."""
    missing = [tool for tool in ("make", "cmake", "c++") if not shutil.which(tool)]
    if not has_opencv_for_cmake():
        missing.append("OpenCV's C++ library (OpenCVConfig.cmake)")
    missing_or_skip("C++", missing)
    folder = tmp_path_factory.mktemp("build")
    build("cpp", folder)
    return [str(folder / "cpp" / "predict")]


def java_client(tmp_path_factory):
    """The Java program, compiled against OpenCV's jar: the command to run it."""
    missing = [tool for tool in ("make", "javac", "java") if not shutil.which(tool)]
    jar, jni = opencv_jar(), opencv_jni()
    if jar is None:
        missing.append("OpenCV's Java bindings (opencv.jar)")
    if jni is None:
        missing.append("OpenCV's JNI library (libopencv_java*.so)")
    missing_or_skip("Java", missing)
    folder = tmp_path_factory.mktemp("build")
    build("java", folder, f"OPENCV_JAR={jar}", f"OPENCV_JNI={jni}")
    return [str(folder / "java" / "predict")]  # java -Djava.library.path=... Predict


@pytest.fixture(scope="module", params=["cpp", "java"])
def client(request, tmp_path_factory):
    """Each client in turn, built once; a test taking `client` before `chain` skips at once."""
    return {"cpp": cpp_client, "java": java_client}[request.param](tmp_path_factory)


# --- A model trained by ker5 and exported by ker6, and Keras' answers ---


def write_test_images(folder):
    """The IMAGES as files written with OpenCV: each one the colour of its class, plus noise."""
    rng = np.random.default_rng(1)
    paths = []
    for name, (height, width), label in IMAGES:
        rgb = PALETTE[label] * np.ones((height, width, 1), np.float32)
        rgb[height // 3 : height // 2] *= 0.6  # a darker band, like the training stripes
        rgb = np.clip(rgb + rng.normal(0, 20, rgb.shape), 0, 255).astype(np.uint8)
        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)  # OpenCV writes BGR
        if name.startswith("alpha"):
            bgr = np.dstack([bgr, np.full((height, width), 200, np.uint8)])
        if name.startswith("grey"):
            bgr = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        path = folder / name
        assert cv2.imwrite(str(path), bgr)
        paths.append(path)
    return paths


def keras_probabilities(model, paths, prepare=None):
    """Keras' probabilities for image files, prepared as ker6_predict.py prepares them."""
    prepare = prepare or ker6.to_cifar_size
    x = np.stack([prepare(read_rgb(p)) for p in paths]).astype(np.float32)
    return model.predict(x * np.float32(ker6.input_scale(model)), verbose=0)  # (N, 10)


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """ker5 --quick on synthetic data, ker6 --export on the test images; Keras' answers."""
    folder = tmp_path_factory.mktemp("chain")
    data = make_cifar_folder(folder / "data")
    models = folder / "models"
    trained = run_script(
        "ker5_cifar10_cnn.py",
        *["--quick", "--no-show", "--epochs", "2", "--batch-size", "32", "--seed", "0"],
        *["--data-dir", data, "--output-dir", folder / "out5", "--model-dir", models],
    )
    assert trained.returncode == 0, trained.stderr[-3000:]
    model_path = models / "cifar10_cnn_quick.keras"
    images = write_test_images(folder)
    exported = run_script(
        "ker6_predict.py",
        *["--model", model_path, "--export", "--quick", "--no-show"],
        *["--output-dir", folder / "out6", *images],
    )
    assert exported.returncode == 0, exported.stderr[-3000:]
    report = read_json(folder / "out6" / "ker6_predict.json")
    onnx_path = Path(report["exported"]["onnx"])
    assert onnx_path.is_file() and onnx_path.parent == folder / "out6"

    from common.keras_setup import start_keras

    keras = start_keras()
    model = keras.models.load_model(model_path, compile=False, safe_mode=True)
    reference = keras_probabilities(model, images)
    # The reference is what ker6 itself printed for these files (its JSON keeps 6 digits).
    for entry, p in zip(report["predictions"], reference, strict=True):
        for name, q in entry[f"top{ker6.TOP_K}"]:
            assert abs(p[CLASS_NAMES.index(name)] - q) < 2e-6, (entry, p)
    return {
        "model": model,
        "onnx": onnx_path,
        "images": images,
        "keras": reference,
        "report": report,
    }


def run_client(client, *args, cwd=None):
    """Run a client; returns the CompletedProcess (text)."""
    return subprocess.run(
        [*client, *map(str, args)], capture_output=True, text=True, timeout=300, cwd=cwd
    )


def client_probabilities(client, onnx_path, images, *flags):
    """The (N, 10) probabilities a client prints with --probabilities, and its stdout."""
    result = run_client(client, onnx_path, *images, "--probabilities", *flags)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert "Traceback" not in result.stderr and "Exception" not in result.stderr, result.stderr
    rows = [
        [float(v) for v in line.split(":", 1)[1].split()]
        for line in result.stdout.splitlines()
        if line.strip().startswith("probabilities:")
    ]
    assert len(rows) == len(images), result.stdout
    return np.array(rows), result.stdout


# --- The exported file ---


def test_ker6_export_loads_in_pip_opencv_and_onnxruntime(chain):
    import onnxruntime

    x = np.random.default_rng(0).random((3, 32, 32, 3), dtype=np.float32)  # a batch of 3
    expected = chain["model"].predict(x, verbose=0)
    net = cv2.dnn.readNetFromONNX(str(chain["onnx"]))  # the pip OpenCV the lessons use
    net.setInput(x)
    assert np.abs(net.forward() - expected).max() <= 1e-5, cv2.__version__
    onnx_model = onnxruntime.InferenceSession(
        str(chain["onnx"]), providers=["CPUExecutionProvider"]
    )
    got = onnx_model.run(None, {onnx_model.get_inputs()[0].name: x})[0]
    assert np.abs(got - expected).max() <= 1e-5
    # ker6's own check of the same file agreed, and the model learned the colours.
    assert chain["report"]["onnxruntime_max_abs_diff"] <= 1e-5
    assert chain["report"]["opencv_max_abs_diff"] <= 1e-5
    labels = [label for _, _, label in IMAGES]
    assert (chain["keras"].argmax(axis=1) == labels).mean() >= 0.5


# --- Both clients against Keras ---


def test_client_gives_keras_probabilities_on_every_image(client, chain):
    got, stdout = client_probabilities(client, chain["onnx"], chain["images"])
    differences = np.abs(got - chain["keras"]).max(axis=1)  # one per image
    names = [path.name for path in chain["images"]]
    assert (differences <= PARITY).all(), dict(zip(names, differences, strict=True))
    # The top-3 line of each image names Keras' three most likely classes, best first.
    tops = [line for line in stdout.splitlines() if line.startswith("  ") and "%" in line]
    assert len(tops) == len(chain["images"])
    for line, p in zip(tops, chain["keras"], strict=True):
        assert line.split()[1::2] == [CLASS_NAMES[i] for i in np.argsort(-p)[:3]], line
    version = re.search(r"\(OpenCV (\d+)\.(\d+)", stdout)
    assert version, stdout.splitlines()[0]
    name = Path(client[0]).parent.name
    print(f"{name}: OpenCV {version[1]}.{version[2]}, max |diff| {differences.max():.1e}")


def test_bgr_instead_of_rgb_fails_the_comparison(client, chain):
    swapped, _ = client_probabilities(client, chain["onnx"], chain["images"], "--bgr")
    wrong = np.abs(swapped - chain["keras"]).max()
    print(f"{Path(client[0]).parent.name} --bgr: max |diff| {wrong:.2f}")
    assert wrong > 100 * PARITY  # far outside the tolerance

    # ...and it is exactly the BGR mistake: Keras fed BGR images gives the same numbers.
    def bgr(image):
        return ker6.to_cifar_size(image)[..., ::-1]

    keras_bgr = keras_probabilities(chain["model"], chain["images"], bgr)
    assert np.abs(swapped - keras_bgr).max() <= PARITY


def logits(model, x):
    """The numbers the model's softmax turns into probabilities (they never saturate)."""
    last = model.layers[-1]
    assert type(last).__name__ == "Activation" and last.get_config()["activation"] == "softmax"
    before_softmax = type(model)(model.inputs, model.layers[-2].output)
    return before_softmax.predict(x, verbose=0)


def test_stretching_instead_of_cropping_fails_the_comparison(chain):
    """A client that squashed the whole photo to 32x32 would fail too, on non-square images.

    Compared where nothing saturates: the prepared inputs themselves, and the logits (a
    softmax can round two different inputs to the same 1.0).
    """

    def stretch(image):
        return cv2.resize(image, (32, 32), interpolation=cv2.INTER_AREA)

    photos = [read_rgb(path) for path in chain["images"]]
    cropped = np.stack([ker6.to_cifar_size(p) for p in photos]).astype(np.float32) / 255
    stretched = np.stack([stretch(p) for p in photos]).astype(np.float32) / 255
    square = np.array([h == w for _, (h, w), _ in IMAGES])
    inputs = np.abs(stretched - cropped).max(axis=(1, 2, 3))  # one per image
    assert (inputs[~square] > 0.05).all(), inputs  # more than JPEG or rounding noise
    assert (inputs[square] == 0).all(), inputs  # control: a square image is not cut
    differences = np.abs(logits(chain["model"], stretched) - logits(chain["model"], cropped))
    assert (differences.max(axis=1)[~square] > 100 * PARITY).all(), differences.max(axis=1)


def test_repeat_times_the_forward_pass(client, chain):
    result = run_client(client, chain["onnx"], *chain["images"][:2], "--repeat", "4")
    assert result.returncode == 0, result.stderr
    timing = re.search(
        r"forward pass: median ([\d.]+) ms per image over (\d+) calls", result.stdout
    )
    assert timing and int(timing[2]) == 2 * 4 and float(timing[1]) > 0, result.stdout


def test_client_refuses_bad_input_in_one_line(client, chain, tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("not an image\n")
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(chain["onnx"].read_bytes()[:5000])
    image = chain["images"][0]
    cases = {
        "no model": (tmp_path / "missing.onnx", image),
        "no image": (chain["onnx"], tmp_path / "missing.png"),
        "not an image": (chain["onnx"], text),
        "broken model": (broken, image),
        "bad option": (chain["onnx"], image, "--repeat", "0"),
        "no images": (chain["onnx"],),
    }
    for case, args in cases.items():
        result = run_client(client, *args)
        assert "Exception in thread" not in result.stderr, (case, result.stderr)
        assert_clean_error(result)


def test_client_refuses_the_images_python_refuses(client, chain, bad_inputs, tmp_path):
    """Every file ker6_predict.py (read_rgb) refuses, the client refuses in one line; every
    file it reads, the client reads. JPEGs cut at several places, as Pillow judges them."""
    jpeg = chain["images"][1].read_bytes()  # tall.jpg
    assert jpeg[:2] == b"\xff\xd8" and jpeg[-2:] == b"\xff\xd9"
    png = chain["images"][0].read_bytes()  # wide.png
    assert png[-8:-4] == b"IEND"  # the last chunk: length 0, IEND, its CRC
    files = dict(bad_inputs)
    files.pop("missing")  # "no image" above
    for name, data in {
        "jpeg without its last byte": jpeg[:-1],
        "jpeg without its end marker": jpeg[:-2],
        "jpeg cut in its data": jpeg[: len(jpeg) * 3 // 4],
        "jpeg with bytes after its end": jpeg + b"\x00 a camera's trailer" * 4,
        "whole jpeg": jpeg,
        "png without its last byte": png[:-1],
        "png without its IEND chunk": png[:-12],
    }.items():
        suffix = ".png" if name.startswith("png") else ".jpg"
        files[name] = tmp_path / f"{name.replace(' ', '_')}{suffix}"
        files[name].write_bytes(data)
    refused = {}
    for name, path in files.items():
        try:
            read_rgb(path)
            python_refuses = False
        except LessonError:
            python_refuses = True
        result = run_client(client, chain["onnx"], path)
        if python_refuses:
            assert "Exception in thread" not in result.stderr, (name, result.stderr)
            assert_clean_error(result)
            assert str(path) in result.stderr, (name, result.stderr)
            refused[name] = result.stderr
        else:
            assert result.returncode == 0, (name, result.stderr)
    cut = [name for name in files if "without" in name or "cut" in name]
    assert len(cut) == 5 and all("truncated" in refused[name] for name in cut), refused
    assert "is a folder, not an image file" in refused["directory"]
    read = {"whole jpeg", "jpeg with bytes after its end", "smaller than the kernel"}
    assert refused.keys() == files.keys() - read


def test_client_columns_line_up_with_non_ascii_names(client, chain, tmp_path):
    """Names are counted in characters, as ker6_predict.py counts them, not in bytes; a name
    longer than 40 characters is cut to its end, as ker6 cuts it."""
    source = chain["images"][2]
    names = ["a.png", "mačka_čiernobiela.png", "žirafa.png", "ľadová_kryha_na_šírom_mori_ťava.png"]
    names.append("čerstvý_" * 6 + ".png")  # longer than 40 characters
    for name in names:
        (tmp_path / name).write_bytes(source.read_bytes())
    result = run_client(client, chain["onnx"], *names, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("  ") and "%" in line]
    assert len(rows) == len(names), result.stdout
    width = 40  # the longest name is longer: ker6 shows its last 37 characters after "..."
    for row, name in zip(rows, names, strict=True):
        shown = name if len(name) <= width else "..." + name[-(width - 3) :]
        assert row[2 : 2 + width] == shown.ljust(width), (row, shown)
    starts = {len(row) - len(row[2 + width :].lstrip()) for row in rows}
    assert len(starts) == 1, rows  # the first class starts in the same column on every row


def test_non_ascii_names_without_a_utf8_locale(client, chain, tmp_path):
    """C++ takes a file name as bytes, in any locale. Java decodes it with the locale's
    character set: under LC_ALL=C it can't, and one line says how to run it."""
    path = tmp_path / "mačka.png"
    path.write_bytes(chain["images"][2].read_bytes())
    result = subprocess.run(
        [*client, str(chain["onnx"]), str(path)],
        capture_output=True,
        text=True,
        errors="replace",
        timeout=300,
        env={**os.environ, "LC_ALL": "C", "LANG": "C"},
    )
    if Path(client[0]).parent.name == "cpp":
        assert result.returncode == 0 and "mačka.png" in result.stdout, result.stderr
    else:
        assert "Exception in thread" not in result.stderr, result.stderr
        assert_clean_error(result)
        assert "LC_ALL=C.UTF-8" in result.stderr
