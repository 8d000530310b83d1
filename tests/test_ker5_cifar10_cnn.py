"""ker5_cifar10_cnn.py: parameter counts, the safe CIFAR-10 loader, training that loses nothing
(resume, one run at a time, the better model keeps the name, divergence) and its figures."""

import csv
import hashlib
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import types

import numpy as np
import pytest
from cifar_data import make_cifar_folder, make_images
from conftest import (
    BACKEND,
    HAS_TENSORFLOW,
    ROOT,
    assert_clean_error,
    edited_copy,
    execute_checked_notebook,
    printed_by,
    read_json,
    run_in_process,
    run_script,
)

from common.cifar10 import CLASS_NAMES, load_cifar10
from common.lesson import LessonError, load_definitions

SCRIPT = "ker5_cifar10_cnn.py"
MUTATIONS = [  # (lesson, text, replacement, what it breaks): tests/mutants.py applies each
    (
        "ker5_cifar10_cnn.py",
        '    "lr": lr,\n',
        "",
        "a rerun with another learning rate resumes the old run's weights and optimiser",
    ),
    (
        "ker5_cifar10_cnn.py",
        "np.add.at(confusion, (y_test, predicted), 1)",
        "np.add.at(confusion, (predicted, y_test), 1)",
        "the confusion matrix's rows are the predicted class: 'accuracy per class' is precision",
    ),
    (
        "ker5_cifar10_cnn.py",
        "val, train = order[:n_val], order[n_val:]",
        "val, train = order[:n_val], order",
        "the validation images are training images too: the best epoch is chosen on seen images",
    ),
    (
        "ker5_cifar10_cnn.py",
        "pick = np.sort(np.random.default_rng(seed).permutation(len(x_test))[:test_images])",
        "pick = np.arange(min(test_images, len(x_test)))",
        "the test sample is the file's first images: on a file sorted by class, a few classes",
    ),
]
CRASH = "tests/crash_after_epoch.py"  # runs the lesson, killed after epoch N (a crash)
# The code slide's network: (label, formula, count), worked out by hand from the slide's code.
EXPECTED_CODE = [
    ("Conv2D(32)", "3·3·3·32 + 32", 896),
    ("Conv2D(32)", "3·3·32·32 + 32", 9_248),
    ("Conv2D(64)", "3·3·32·64 + 64", 18_496),
    ("Conv2D(64)", "3·3·64·64 + 64", 36_928),
    ("Dense(512)", "2304·512 + 512", 1_180_160),
    ("Dense(10)", "512·10 + 10", 5_130),
]
# The "Architektúra" slide, line by line, and the number each line adds up to.
SLIDE = [
    ("3x(3x3)x32 + 32", 896),
    ("(32x(3x3))x32 + 32", 9_248),
    ("(32x(3x3))x64 + 64", 18_496),
    ("(64x(3x3))x64 + 64", 36_928),
    ("(64x(3x3))x64 + 64", 36_928),
    ("(64x(3x3))x64 + 64", 36_928),
    ("512 x 256 + 512", 131_584),
    ("10 x 512 + 10", 5_130),
]
TINY = ["--quick", "--no-show", "--batch-size", "32"]
CONVS = 896 + 9_248 + 18_496 + 36_928  # the code slide's four convolutions
DENSE = "x = layers.Dense(512)(x)"
CAT, DOG = CLASS_NAMES.index("cat"), CLASS_NAMES.index("dog")


@pytest.fixture(scope="module")
def keras():
    """Keras, started quietly as the lessons start it."""
    from common.keras_setup import start_keras

    return start_keras()


@pytest.fixture(scope="module")
def ker5(keras):
    """The lesson's functions and constants, with none of its steps run."""
    return load_definitions(SCRIPT)


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    """200 training and 100 test images of 10 easy classes, in the official folder format."""
    folder = tmp_path_factory.mktemp("cifar") / "cifar-10-batches-py"
    return make_cifar_folder(folder, n_train=200, n_test=100, n_batches=2)


@pytest.fixture(scope="module")
def look_alike_data(tmp_path_factory):
    """Like tiny_data, but dogs look exactly like cats: no network tells those two apart, so
    the model surely makes mistakes, and the confusion matrix has a cat↔dog cell to show."""
    folder = tmp_path_factory.mktemp("look-alike") / "cifar-10-batches-py"
    return make_cifar_folder(folder, n_train=200, n_test=100, looks={DOG: CAT})


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory, look_alike_data):
    """The lesson run once, as a student runs it, data-parallel over two logical CPUs and with
    turns: (result, JSON report, output folder, model folder)."""
    work = tmp_path_factory.mktemp("quick-run")
    out, models = work / "out", work / "models"
    result = run_script(
        SCRIPT,
        *(*TINY, "--epochs", "3", "--distribute", "--rotate", "10"),
        *("--data-dir", look_alike_data, "--output-dir", out, "--model-dir", models),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = read_json(out / "ker5_cifar10_cnn.json")
    return types.SimpleNamespace(result=result, report=report, out=out, models=models)


def history_rows(path):
    """The lesson's per-epoch CSV as a list of dicts."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def digests(folder):
    """{sha256: count} of every file under folder: nothing lost means none of these vanish."""
    found = {}
    for path in folder.rglob("*"):
        if path.is_file():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            found[digest] = found.get(digest, 0) + 1
    return found


def accuracy_of(keras, path, images, labels):
    """The accuracy of a saved model file on uint8 images, computed here, not by the lesson."""
    model = keras.models.load_model(path, compile=False)
    predicted = model.predict(images.astype("float32") / 255.0, verbose=0).argmax(axis=1)
    return float(np.mean(predicted == labels)), predicted


# --- The parameter counts ---


def test_code_network_is_the_code_slide_layer_for_layer(ker5):
    model = ker5.code_network()
    rows = ker5.parameter_table(model)
    assert [(r["label"], r["formula"], r["count"]) for r in rows] == EXPECTED_CODE
    assert model.count_params() == 1_250_858
    assert model.output_shape == (None, 10)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds.count("Conv2D") == 4 and kinds.count("Dense") == 2
    assert kinds.count("Dropout") == 3 and kinds.count("MaxPooling2D") == 2
    assert model.layers[-1].get_config()["activation"] == "softmax"
    # Its Dense(512) sees 6·6·64 = 2304 numbers: no slide line adds that up.
    assert [r["slide"] for r in rows] == [line for line, _ in SLIDE[:4]] + [None, SLIDE[-1][0]]


def test_table_network_agrees_with_every_line_of_the_architektura_slide(ker5):
    model = ker5.table_network()
    rows = ker5.parameter_table(model)
    assert [(r["slide"], r["count"]) for r in rows] == SLIDE
    assert [ker5.slide_value(line) for line, _ in SLIDE] == [count for _, count in SLIDE]
    assert model.count_params() == sum(count for _, count in SLIDE) == 276_138
    assert model.get_layer(index=-1).output.shape == (None, 10)
    flatten = [layer for layer in model.layers if type(layer).__name__ == "Flatten"][0]
    assert flatten.output.shape == (None, 256)  # 2·2·64: the slide's "512 x 256"


def test_today_network_is_residual_with_batch_norm_and_its_count_adds_up(ker5):
    model = ker5.today_network()
    w = ker5.TODAY_WIDTH

    def unit(inputs, filters):  # a 3x3 convolution without bias, then BN's 4 numbers a channel
        return 3 * 3 * inputs * filters + 4 * filters

    stages = unit(w, 2 * w) + 2 * unit(2 * w, 2 * w)  # the first residual stage
    stages += unit(2 * w, 4 * w) + unit(4 * w, 8 * w) + 2 * unit(8 * w, 8 * w)
    assert model.count_params() == unit(3, w) + stages + 8 * w * 10 + 10
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds.count("BatchNormalization") == kinds.count("Conv2D") == 8
    assert kinds.count("Add") == 2 and "Flatten" not in kinds
    norms = [layer for layer in model.layers if type(layer).__name__ == "BatchNormalization"]
    sizes = [layer.input.shape[1] for layer in norms]  # a unit that pools normalises after it
    assert sizes == [32, 16, 16, 16, 8, 4, 4, 4]
    for add in (layer for layer in model.layers if type(layer).__name__ == "Add"):
        shapes = [tuple(t.shape) for t in add.input]
        assert shapes[0] == shapes[1] == tuple(add.output.shape)  # x + f(x): the same shape
    assert model.output_shape == (None, 10)


def test_test_time_augmentation_averages_each_image_with_its_mirror(ker5, keras):
    """A tiny model trained so that the bright side of an image decides its class: flipping
    swaps the class, so the averaged prediction differs from the plain one."""
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 0.2, (64, 8, 8, 3)).astype("float32")
    labels = np.arange(64) % 2
    images[labels == 0, :, :4] += 0.8  # class 0: bright on the left
    images[labels == 1, :, 4:] += 0.8  # class 1: bright on the right
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(2, "softmax")]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy")
    model.fit(images, labels, epochs=20, verbose=0)
    plain = model.predict(images, verbose=0)
    assert np.mean(plain.argmax(1) == labels) == 1.0  # it learned the rule
    averaged = ker5.predict_with_flips(model, images)
    mirrored = model.predict(images[:, :, ::-1], verbose=0)
    np.testing.assert_allclose(averaged, (plain + mirrored) / 2, atol=1e-6)
    assert np.abs(averaged - plain).max() > 0.3  # the predictions changed
    symmetric = (images + images[:, :, ::-1]) / 2  # a mirror image of itself: nothing changes
    np.testing.assert_allclose(
        ker5.predict_with_flips(model, symmetric), model.predict(symmetric, verbose=0), atol=1e-5
    )


def test_the_today_network_trains_with_label_smoothing(tiny_data, tmp_path):
    """--arch today picks its own recipe: SGD, one-hot labels for label smoothing, and the
    accuracy with test-time augmentation beside the plain one."""
    out = tmp_path / "out"
    found = run_in_process(
        SCRIPT,
        *(*TINY, "--arch", "today", "--epochs", "6", "--data-dir", tiny_data),
        *("--output-dir", out, "--model-dir", tmp_path / "models"),
    )
    assert found["settings"].recipe == "today"
    assert type(found["model"].optimizer).__name__ == "SGD" and found["model"].optimizer.nesterov
    assert found["model"].loss.get_config()["label_smoothing"] == 0.1
    assert found["on"] == "augmentation on"  # the curves' note: this network has no dropout
    report = read_json(out / "ker5_cifar10_cnn.json")
    assert report["test_accuracy"] > 0.3  # chance: 0.1
    assert 0.0 < report["test_accuracy_with_flips"] <= 1.0
    assert (tmp_path / "models" / "cifar10_cnn_today_quick.keras").is_file()


def test_the_ablation_bench_takes_away_one_ingredient_at_a_time(tmp_path, keras):
    sys.path.insert(0, str(ROOT / "bench"))
    import bench_ablation

    found = {}
    for name, edits in bench_ablation.VARIANTS.items():
        lesson = bench_ablation.edited_lesson(edits, tmp_path / name.replace(" ", "_"))
        model = lesson.today_network()
        kinds = [type(layer).__name__ for layer in model.layers]
        smoothing = lesson.RECIPES["today"]["label_smoothing"]
        norms = [layer for layer in model.layers if type(layer).__name__ == "BatchNormalization"]
        pixels = sum(layer.input.shape[1] ** 2 for layer in norms)  # each map's size, summed
        found[name] = (len(norms), kinds.count("Add"), smoothing, pixels)
        assert model.output_shape == (None, 10)
    assert found == {
        "all ingredients": (8, 2, 0.1, 32**2 + 3 * 16**2 + 8**2 + 3 * 4**2),
        "batch norm before pooling": (8, 2, 0.1, 2 * 32**2 + 3 * 16**2 + 8**2 + 2 * 4**2),
        "no batch normalisation": (0, 2, 0.1, 0),
        "no residual connections": (8, 0, 0.1, 32**2 + 3 * 16**2 + 8**2 + 3 * 4**2),
        "no label smoothing": (8, 2, 0.0, 32**2 + 3 * 16**2 + 8**2 + 3 * 4**2),
    }


def test_the_ablation_bench_times_the_variants_side_by_side(tiny_data, tmp_path, capsys):
    sys.path.insert(0, str(ROOT / "bench"))
    import bench_ablation

    names = ["all ingredients", "batch norm before pooling"]
    flags = ["--speed-rounds", "2", "--speed-images", "256", "--variants", *names]
    out = ["--data-dir", str(tiny_data), "--output-dir", str(tmp_path)]
    assert bench_ablation.main([*flags, *out]) == 0
    rows = read_json(tmp_path / "bench_ablation_speed.json")["rows"]
    assert [row["variant"] for row in rows] == names
    for row in rows:  # the median of the two timed epochs lies within their range
        low, high = row["range"]
        assert 0 < low <= row["images_per_second"] <= high and row["images_per_cpu_second"] > 0
    printed = capsys.readouterr().out
    assert "| all ingredients |" in printed and "| batch norm before pooling |" in printed


def test_the_benches_count_the_today_networks_arithmetic_and_give_it_its_recipe(ker5, keras):
    sys.path.insert(0, str(ROOT / "bench"))
    import bench_time_to_accuracy as bench

    assert bench.run_name("today") == ("today", "today")  # a network's own recipe
    assert bench.run_name("code") == ("code", "modern")
    # "within 3x the first run's minutes": the best of the epochs that ended by then
    curve = [(1.0, 0.5), (2.0, 0.7), (4.0, 0.8)]
    assert bench.best_within(curve, 3.0) == 0.7 and bench.best_within(curve, 0.5) is None
    w = ker5.TODAY_WIDTH

    def conv(size, inputs, filters):  # multiply-adds of a 3x3 convolution on size x size
        return size * size * 9 * inputs * filters

    by_hand = conv(32, 3, w) + conv(32, w, 2 * w) + 2 * conv(16, 2 * w, 2 * w)
    by_hand += conv(16, 2 * w, 4 * w) + conv(8, 4 * w, 8 * w) + 2 * conv(4, 8 * w, 8 * w)
    assert bench.multiply_adds(ker5.today_network()) == by_hand + 8 * w * 10


def test_both_input_pipelines_give_the_same_kind_of_batches(ker5, keras):
    """Batches on every backend, tf.data on TensorFlow's: shuffled full batches of every image
    once an epoch, scaled to 0..1, labels one-hot when asked; validation in order."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (70, 32, 32, 3), dtype=np.uint8)
    labels = np.arange(70) % 10
    images[:, 0, 0, 0] = np.arange(70)  # each image's own number, to follow it
    pipelines = {"Batches": ker5.Batches(images, labels, batch_size=16, shuffle=True, one_hot=10)}
    if HAS_TENSORFLOW:
        pipelines["tf.data"] = ker5.tf_data_batches(images, labels, batch_size=16, one_hot=10)
    for name, batches in pipelines.items():
        seen = []
        for x, y in batches if name == "tf.data" else (batches[i] for i in range(len(batches))):
            x, y = keras.ops.convert_to_numpy(x), keras.ops.convert_to_numpy(y)
            assert x.shape == (16, 32, 32, 3) and x.dtype == np.float32, name
            assert 0.0 <= x.min() and x.max() <= 1.0, name
            numbers = np.rint(x[:, 0, 0, 0] * 255).astype(int)
            np.testing.assert_array_equal(y, np.eye(10)[labels[numbers]], err_msg=name)
            seen += list(numbers)
        assert len(seen) == 64 and len(set(seen)) == 64, name  # 4 full batches, no repeats
        assert seen != sorted(seen), name  # shuffled
    in_order = ker5.Batches(images, labels, batch_size=32)
    assert len(in_order) == 3 and len(in_order[2][0]) == 6  # every validation image, in order
    np.testing.assert_array_equal(in_order[0][1], labels[:32])


# --- The data loader ---


def test_loader_reads_any_number_of_batches_in_numeric_order(tmp_path):
    from keras.src.datasets.cifar import load_batch  # Keras' own reader, as a reference

    folder = make_cifar_folder(tmp_path / "c", n_train=110, n_test=20, n_batches=11)
    (x_train, y_train), (x_test, y_test) = load_cifar10(folder)
    assert x_train.shape == (110, 32, 32, 3) and x_train.dtype == np.uint8
    assert y_train.shape == (110,) and y_train.dtype == np.int64
    assert x_test.shape == (20, 32, 32, 3) and y_test.shape == (20,)
    # data_batch_10 and _11 come after data_batch_2, not before it.
    parts = [load_batch(str(folder / f"data_batch_{i}")) for i in range(1, 12)]
    expected = np.concatenate([data for data, _ in parts]).transpose(0, 2, 3, 1)
    np.testing.assert_array_equal(x_train, expected)
    np.testing.assert_array_equal(y_train, np.concatenate([labels for _, labels in parts]))


def test_loader_accepts_the_parent_folder_and_the_environment_variable(
    tiny_data, monkeypatch, tmp_path
):
    (x_train, _), _ = load_cifar10(tiny_data.parent)  # the folder that holds the batches
    assert len(x_train) == 200
    monkeypatch.setenv("CIFAR10_DIR", str(tiny_data))
    (x_env, _), _ = load_cifar10(None)
    np.testing.assert_array_equal(x_env, x_train)
    monkeypatch.setenv("CIFAR10_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(LessonError, match="nowhere"):
        load_cifar10(None)


def test_loader_refuses_a_pickle_that_would_run_code(tmp_path):
    folder = make_cifar_folder(tmp_path / "c", n_train=20, n_test=10)
    marker = tmp_path / "the-attack-ran"

    class Attack:
        def __reduce__(self):
            return (os.mkdir, (str(marker),))

    (folder / "data_batch_2").write_bytes(pickle.dumps({b"data": Attack()}, protocol=4))
    with pytest.raises(LessonError, match="refusing to load the global"):
        load_cifar10(folder)
    assert not marker.exists()


@pytest.mark.parametrize("protocol", [2, 4])
def test_loader_reads_a_self_built_batch_with_numpy_integer_labels(tmp_path, protocol):
    folder = make_cifar_folder(tmp_path / "c", n_train=20, n_test=10, n_batches=1)
    batch = pickle.loads((folder / "data_batch_1").read_bytes())
    labels = [np.int64(label) for label in batch[b"labels"]]  # as np.unique or a loop gives them
    batch[b"labels"] = labels
    (folder / "data_batch_1").write_bytes(pickle.dumps(batch, protocol=protocol))
    (x_train, y_train), _ = load_cifar10(folder)
    assert y_train.tolist() == [int(label) for label in labels]
    assert x_train.shape == (20, 32, 32, 3)


@pytest.mark.parametrize(
    "damage, message",
    [
        ("no folder", "no such CIFAR-10 folder"),
        ("a file", "is a file"),
        ("no data batches", "no data_batch_N files"),
        ("no test batch", "no test_batch"),
        ("truncated", "broken or not a CIFAR-10 batch"),
        ("garbage", "not a CIFAR-10 batch"),
        ("wrong shape", "values per image"),
        ("label count", "labels"),
    ],
)
def test_loader_gives_one_clear_error_for_broken_folders(tmp_path, damage, message):
    folder = make_cifar_folder(tmp_path / "c", n_train=20, n_test=10)
    batch = folder / "data_batch_1"
    target = folder
    if damage == "no folder":
        target = tmp_path / "missing"
    elif damage == "a file":
        target = batch
    elif damage == "no data batches":
        for path in folder.glob("data_batch_*"):
            path.unlink()
    elif damage == "no test batch":
        (folder / "test_batch").unlink()
    elif damage == "truncated":
        batch.write_bytes(batch.read_bytes()[:5000])
    elif damage == "garbage":
        batch.write_bytes(b"this is not a pickle at all")
    elif damage == "wrong shape":
        data = {b"data": np.zeros((4, 100), np.uint8), b"labels": [0, 1, 2, 3]}
        batch.write_bytes(pickle.dumps(data, protocol=4))
    elif damage == "label count":
        data = {b"data": np.zeros((4, 3072), np.uint8), b"labels": [0, 1]}
        batch.write_bytes(pickle.dumps(data, protocol=4))
    with pytest.raises(LessonError, match=message) as caught:
        load_cifar10(target)
    assert "\n" not in str(caught.value)


def test_the_data_folder_is_used_without_a_flag(tiny_data, monkeypatch, tmp_path):
    import common.cifar10 as cifar10

    monkeypatch.delenv("CIFAR10_DIR", raising=False)
    monkeypatch.setattr(cifar10, "LOCAL_FOLDER", tmp_path / "data" / "cifar-10-batches-py")
    assert cifar10.resolve_data_dir(None) is None  # not there: download
    monkeypatch.setattr(cifar10, "LOCAL_FOLDER", tiny_data)
    assert cifar10.resolve_data_dir(None) == tiny_data
    (x_train, _), _ = load_cifar10(None)
    assert len(x_train) == 200
    assert cifar10.resolve_data_dir(str(tmp_path)) == tmp_path  # --data-dir wins
    monkeypatch.setenv("CIFAR10_DIR", str(tmp_path / "env"))
    assert cifar10.resolve_data_dir(None) == tmp_path / "env"  # and so does CIFAR10_DIR


def test_offline_without_data_says_how_to_get_it(monkeypatch, tmp_path, keras):
    import common.cifar10 as cifar10

    monkeypatch.setattr(cifar10, "LOCAL_FOLDER", tmp_path / "no-data-here")

    def no_network():
        raise Exception("URL fetch failure on https://www.cs.toronto.edu/: None -- no network")

    monkeypatch.delenv("CIFAR10_DIR", raising=False)
    monkeypatch.setattr(keras.datasets.cifar10, "load_data", no_network)
    with pytest.raises(LessonError) as caught:
        load_cifar10(None)
    text = str(caught.value)
    assert "cifar-10-python.tar.gz" in text and "--data-dir" in text and "CIFAR10_DIR" in text
    assert "data/" in text


def test_the_split_keeps_validation_apart_and_samples_every_class_of_a_sorted_test_file(ker5):
    x_train = np.arange(500).reshape(-1, 1)  # each image is its own index
    y_train = np.arange(500) % 10
    x_test = np.arange(1000).reshape(-1, 1)
    y_test = np.repeat(np.arange(10), 100)  # sorted by class: the first 100 are airplanes
    (x_tr, _), (x_val, _), (x_te, y_te) = ker5.take_data(
        x_train, y_train, x_test, y_test, train_images=300, test_images=50, seed=0
    )
    assert len(x_val) == 30 and len(x_tr) == 270  # a tenth of the 300 is set aside
    assert not set(x_tr[:, 0]) & set(x_val[:, 0])  # no validation image is a training image
    assert len(set(x_tr[:, 0]) | set(x_val[:, 0])) == 300
    assert len(set(y_te.tolist())) == 10  # every class, not only the first
    assert np.all(np.diff(x_te[:, 0]) > 0)  # in file order, each image once
    _, _, (x_all, _) = ker5.take_data(x_train, y_train, x_test, y_test)
    assert len(x_all) == 1000  # None: all of them


# --- Bad input: one clear line ---


def test_bad_inputs_stop_with_a_lesson_error(tmp_path, unwritable_dir, tiny_data, keras):
    """Each bad input, run in this process (the subprocess test below shows the one line)."""
    safe = ["--no-show", "--output-dir", tmp_path, "--model-dir", tmp_path / "m"]
    cases = [
        (["--data-dir", tmp_path / "nope"], "no such CIFAR-10 folder"),
        (["--data-dir", tiny_data, "--output-dir", unwritable_dir], "cannot write"),
        (["--rotate", "200"], "0 to 180"),
        (["--rotate", "-5"], "0 to 180"),
        (["--rotate", "nan"], "0 to 180"),
        (["--rotate", "10", "--no-augment"], "--no-augment"),
    ]
    try:
        for flags, message in cases:
            with pytest.raises(LessonError, match=re.escape(message)):
                run_in_process(SCRIPT, *safe, *flags)
    finally:
        keras.config.set_dtype_policy("float32")  # the lesson's setup may have chosen another


@pytest.mark.parametrize("seed", ["-1", "4294967296"])
def test_a_seed_numpy_cannot_take_is_one_clear_line(tmp_path, seed):
    result = run_script(SCRIPT, "--seed", seed, "--no-show", "--output-dir", tmp_path)
    assert_clean_error(result)
    assert "0 to 4294967295" in result.stderr


# --- A run, as a student starts it ---


def test_a_quick_run_learns_and_saves_the_model_lesson_6_loads(quick_run, keras):
    result, report = quick_run.result, quick_run.report
    out, models = quick_run.out, quick_run.models
    assert "3·3·3·32 + 32" in result.stdout
    assert re.search(r"^  total\s+1,250,858$", result.stdout, re.MULTILINE)
    assert report["params"] == 1_250_858
    assert report["epochs"] == 3 and report["recipe"] == "modern"
    # Chance is 0.1, and cats and dogs look alike. Three epochs on 200 images are not repeatable
    # to the image (threads, and --distribute's two devices): 0.50, 0.59, 0.60 and 0.70 in four
    # runs of this fixture, so the bound is well above chance, not near the runs.
    assert report["test_accuracy"] > 0.3
    rows = history_rows(out / "ker5_cifar10_cnn_history.csv")
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    assert float(rows[-1]["loss"]) < 0.8 * float(rows[0]["loss"])
    # --distribute: data-parallel over the CPU split in two
    assert "training data-parallel on 2 devices" in result.stdout
    two = {"tensorflow": ["device:CPU:0", "device:CPU:1"], "jax": ["cpu:0", "cpu:1"]}
    assert [d.rsplit("/", 1)[-1] for d in report["devices"]] == two[BACKEND]
    # Both files hold the same model, under the name lesson 6 looks for, as plain float32.
    paths = [models / "cifar10_cnn_rotate10_quick.keras", models / "cifar10_cnn_rotate10_quick.h5"]
    assert report["model_paths"] == [str(p) for p in paths]
    assert "there was no model under that name" in result.stdout
    loaded = [keras.models.load_model(p) for p in paths]
    x = make_images(np.arange(10), np.random.default_rng(1)).astype("float32") / 255.0
    a, b = (m.predict(x, verbose=0) for m in loaded)
    np.testing.assert_allclose(a, b, atol=1e-5)
    assert loaded[0].dtype_policy.name == "float32"
    assert sorted(p.name for p in models.iterdir()) == sorted(p.name for p in paths)  # no leftovers
    for name in ("augmentation", "curves", "confusion", "predictions"):
        assert (out / f"ker5_cifar10_cnn_{name}.png").stat().st_size > 1000


def test_the_accuracy_per_class_is_the_saved_models_own(quick_run, keras, look_alike_data):
    """The printed and saved test figures, recomputed here from the model file and the data."""
    _, (x_test, y_test) = load_cifar10(look_alike_data)
    path = quick_run.models / "cifar10_cnn_rotate10_quick.keras"
    accuracy, predicted = accuracy_of(keras, path, x_test, y_test)
    report = quick_run.report
    assert report["test_accuracy"] == pytest.approx(accuracy, abs=1e-9)
    recall = {
        name: float(np.mean(predicted[y_test == i] == i)) for i, name in enumerate(CLASS_NAMES)
    }
    assert report["per_class_accuracy"] == pytest.approx(recall, abs=1e-9)
    assert recall["cat"] + recall["dog"] <= 1.0 + 1e-9  # two classes that look the same
    assert f"test accuracy of the saved model: {accuracy:.1%} on all 100 test images" in (
        quick_run.result.stdout
    )


# --- Nothing lost: the model a student has, a crash, two terminals, a diverging run ---


def test_a_killed_run_never_touches_the_saved_model_and_resumes_only_the_same_settings(
    tmp_path, tiny_data, quick_run, keras
):
    models, out = tmp_path / "models", tmp_path / "out"
    models.mkdir()
    good = [models / "cifar10_cnn_quick.keras", models / "cifar10_cnn_quick.h5"]
    for path in good:  # the student's good model, from an earlier run
        earlier = quick_run.models / path.name.replace("cifar10_cnn_", "cifar10_cnn_rotate10_")
        path.write_bytes(earlier.read_bytes())
    before = [path.read_bytes() for path in good]
    run_flags = [*TINY, "--epochs", "3", "--data-dir", tiny_data]
    flags = [*run_flags, "--output-dir", out, "--model-dir", models]

    first = run_script(CRASH, 1, SCRIPT, *flags, "--lr", "1e-6")  # a weak run, killed
    assert first.returncode == -signal.SIGKILL, first.stderr[-3000:]
    assert "Epoch 1/3" in first.stdout and "Epoch 2/3" not in first.stdout
    assert [path.read_bytes() for path in good] == before  # its best epoch did not replace it
    assert (models / "cifar10_cnn_quick.resume" / "backup").is_dir()

    second = run_script(CRASH, 2, SCRIPT, *flags, "--lr", "2e-6")  # another --lr: no resume
    assert second.returncode == -signal.SIGKILL, second.stderr[-3000:]
    assert "was made with other settings (lr)" in second.stdout
    assert "resuming" not in second.stdout and "Epoch 1/3" in second.stdout
    assert [path.read_bytes() for path in good] == before

    # An instructor's edit of the network after the crash (in a copy of the models folder, so
    # that the command below still finds its progress): the saved progress belongs to another
    # model, so the edited lesson starts fresh instead of loading weights that don't fit.
    edited_models, edited_out = tmp_path / "models-edited", tmp_path / "out-edited"
    shutil.copytree(models, edited_models)
    edited_flags = [*run_flags, "--output-dir", edited_out, "--model-dir", edited_models]
    # (This run and the next run in this process: only a killed run needs a process of its own.)
    dense_256 = [(DENSE, "x = layers.Dense(256)(x)")]
    edited = printed_by(edited_copy(tmp_path, SCRIPT, dense_256), *edited_flags, "--lr", "2e-6")
    lines = [line for line in edited.splitlines() if "saved progress" in line]
    assert len(lines) == 1 and "belonged to a different model" in lines[0]
    assert "resuming" not in edited and "Epoch 1/3" in edited
    report = read_json(edited_out / "ker5_cifar10_cnn.json")
    assert report["resumed_at_epoch"] is None and report["epochs"] == 3
    assert report["params"] == CONVS + 2304 * 256 + 256 + 256 * 10 + 10

    third = printed_by(SCRIPT, *flags, "--lr", "2e-6")  # the same command again: resume
    assert "resuming the interrupted run at epoch 3 of 3" in third
    assert "Epoch 3/3" in third and "Epoch 1/3" not in third
    report = read_json(out / "ker5_cifar10_cnn.json")
    assert report["resumed_at_epoch"] == 3 and report["epochs"] == 3
    rows = history_rows(out / "ker5_cifar10_cnn_history.csv")
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]  # both runs' epochs, once each
    # The weak run did not beat the student's model: that keeps its name, and one line says
    # where this run's model went.
    assert [path.read_bytes() for path in good] == before
    kept = [line for line in third.splitlines() if line.startswith("kept:")]
    assert len(kept) == 1 and "kept: the earlier model" in kept[0]
    this_run = [models / "runners-up" / p.split("/runners-up/")[1] for p in report["model_paths"]]
    assert [p.suffix for p in this_run] == [".keras", ".h5"] and all(p.is_file() for p in this_run)
    assert str(this_run[0]) in kept[0]
    # The test figures are this run's model's, not the student's model's.
    _, (x_test, y_test) = load_cifar10(tiny_data)
    assert report["test_accuracy"] == pytest.approx(
        accuracy_of(keras, this_run[0], x_test, y_test)[0], abs=1e-9
    )
    assert not (models / "cifar10_cnn_quick.resume").exists()
    assert not (models / "cifar10_cnn_quick.lock").exists()


def test_the_better_model_keeps_the_name_and_the_other_is_kept_beside_it(
    tmp_path, quick_run, keras, look_alike_data
):
    from common.training import keep_the_better, save_model_files

    _, (x_val, y_val) = load_cifar10(look_alike_data)
    good = [quick_run.models / f"cifar10_cnn_rotate10_quick{s}" for s in (".keras", ".h5")]
    inputs = keras.Input((32, 32, 3))
    flat = keras.layers.Flatten()(inputs)
    always_airplane = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(flat))
    weights = always_airplane.get_weights()
    always_airplane.set_weights([np.zeros_like(weights[0]), np.eye(10)[0] * 5])

    def setup(case, main, new):
        """A model folder with main's files under the main name and new's in the run folder."""
        folder = tmp_path / case
        main_paths = [folder / f"cifar10_cnn_quick{s}" for s in (".keras", ".h5")]
        new_paths = [folder / "run" / f"cifar10_cnn_quick{s}" for s in (".keras", ".h5")]
        for paths, which in ((main_paths, main), (new_paths, new)):
            paths[0].parent.mkdir(parents=True, exist_ok=True)
            if which == "good":
                for source, target in zip(good, paths, strict=True):
                    target.write_bytes(source.read_bytes())
            elif which == "airplane":
                save_model_files(always_airplane, paths)
            elif which == "broken":
                paths[0].write_bytes(b"not a model")
        return folder, main_paths, new_paths

    def bytes_of(paths):
        return [p.read_bytes() if p.exists() else None for p in paths]

    # The student's good model stays; the worse new one goes to runners-up/.
    folder, main, new = setup("worse", "good", "airplane")
    files, main_bytes = digests(folder), bytes_of(main)
    line, info = keep_the_better(new, main, (x_val, y_val))
    assert bytes_of(main) == main_bytes and not info["this_run_kept"]
    assert line.startswith("kept: the earlier model") and "runners-up" in line
    # the quick run's model against one that always says airplane (see the quick run's bound)
    assert info["earlier_val_accuracy"] > 0.3 and info["this_run_val_accuracy"] == 0.1
    assert digests(folder) == files  # nothing deleted, nothing changed: only moved
    assert sorted(p.suffix for p in (folder / "runners-up").iterdir()) == [".h5", ".keras"]

    # A better new model takes the name; the old one moves aside, whole.
    folder, main, new = setup("better", "airplane", "good")
    files, new_bytes = digests(folder), bytes_of(new)
    line, info = keep_the_better(new, main, (x_val, y_val))
    assert bytes_of(main) == new_bytes and info["this_run_kept"]
    assert "the earlier one moved to" in line and digests(folder) == files

    # The student asks for the replacement: --replace.
    folder, main, new = setup("replace", "good", "airplane")
    files, new_bytes = digests(folder), bytes_of(new)
    line, info = keep_the_better(new, main, (x_val, y_val), replace=True)
    assert bytes_of(main) == new_bytes and "--replace" in line and digests(folder) == files

    # No model yet, or a broken one: the new model takes the name; the broken file is kept.
    folder, main, new = setup("first", None, "good")
    line, info = keep_the_better(new, main, (x_val, y_val))
    assert all(p.exists() for p in main) and "no model under that name" in line
    folder, main, new = setup("broken", "broken", "good")
    files = digests(folder)
    line, info = keep_the_better(new, main, (x_val, y_val))
    assert info["this_run_kept"] and "could not be scored" in line and digests(folder) == files


def test_a_second_run_on_the_same_files_stops_with_one_line(tmp_path, tiny_data):
    from common.training import training_lock

    models = tmp_path / "models"
    (models / "cifar10_cnn_quick.resume" / "backup").mkdir(parents=True)
    progress = models / "cifar10_cnn_quick.resume" / "settings.json"
    progress.write_text('{"the first run": "is using this"}')
    flags = [*TINY, "--epochs", "1", "--data-dir", tiny_data, "--output-dir", tmp_path]
    with training_lock(models / "cifar10_cnn_quick.lock"):  # this test is the live first run
        result = run_script(SCRIPT, *flags, "--model-dir", models)
    assert_clean_error(result)
    assert f"another run (process {os.getpid()}" in result.stderr
    assert progress.read_text() == '{"the first run": "is using this"}'  # its progress is safe
    assert not (models / "cifar10_cnn_quick.lock").exists()  # released when the first ended


def test_a_lock_is_taken_over_only_when_its_run_is_gone(tmp_path):
    import json
    import socket

    from common.training import _process_start, training_lock

    lock = tmp_path / "cifar10_cnn.lock"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        holder = {"pid": sleeper.pid, "host": socket.gethostname()}
        lock.write_text(json.dumps({**holder, "start": _process_start(sleeper.pid)}))
        with pytest.raises(LessonError, match=f"another run \\(process {sleeper.pid} "):
            with training_lock(lock):
                pass
        # The same id with another start time: the id was reused, the run is gone.
        lock.write_text(json.dumps({**holder, "start": "another start"}))
        with training_lock(lock):
            assert json.loads(lock.read_text())["pid"] == os.getpid()
    finally:
        sleeper.kill()
        sleeper.wait()
    lock.write_text(json.dumps({**holder, "start": None}))  # a crashed run: its process is gone
    with training_lock(lock):
        assert json.loads(lock.read_text())["pid"] == os.getpid()
    assert not lock.exists()


def test_infinite_weights_with_a_finite_loss_stop_the_run_and_touch_nothing(tmp_path, tiny_data):
    models = tmp_path / "models"
    models.mkdir()
    good = models / "cifar10_cnn_quick.keras"  # the very file this run would write
    good.write_bytes(b"the student's good model from yesterday")
    flags = [*TINY, "--epochs", "1", "--data-dir", tiny_data, "--output-dir", tmp_path]
    result = run_script(CRASH, "--weights-inf", 1, SCRIPT, *flags, "--model-dir", models)
    assert result.returncode == 1, result.stderr[-3000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [
        "error: training diverged at epoch 1; try a smaller --lr (no model was saved; "
        f"{good} is as it was)"
    ]
    assert "test accuracy" not in result.stdout  # nobody's model was evaluated
    assert good.read_bytes() == b"the student's good model from yesterday"
    assert sorted(p.name for p in models.iterdir()) == [good.name]


def test_the_guard_stops_on_a_nan_loss_and_on_weights_that_overflow(tmp_path, keras):
    from common.training import safe_training_callbacks

    def callbacks_for(model):
        best, status = {}, {"epoch": 0, "diverged": 0, "t0": 0.0}
        paths = [tmp_path / "m.keras"]
        guard = safe_training_callbacks(model, model, paths, tmp_path, best, status)[0]
        guard.set_model(model)
        return guard, best, status

    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(inputs))
    guard, best, status = callbacks_for(model)
    guard.on_epoch_begin(0, {})
    guard.on_train_batch_end(0, {"loss": float("nan")})
    assert status["diverged"] == 1 and model.stop_training

    model.stop_training = False
    guard, best, status = callbacks_for(model)
    guard.on_epoch_begin(0, {})
    guard.on_epoch_end(0, {"loss": 0.5, "val_accuracy": 0.9})  # finite: saved
    assert best == {"val_accuracy": 0.9, "epoch": 1} and (tmp_path / "m.keras").exists()
    weights = model.get_weights()
    model.set_weights([np.full_like(weights[0], np.inf), weights[1]])
    guard.on_epoch_begin(1, {})
    guard.on_epoch_end(1, {"loss": 2.6e8, "val_accuracy": 0.95})  # a finite loss, inf weights
    assert status["diverged"] == 2 and model.stop_training
    assert best["epoch"] == 1  # the overflowed weights were not saved


def test_resume_only_with_the_same_settings_and_the_same_model(tmp_path, capsys):
    from common.training import start_or_resume

    state = tmp_path / "cifar10_cnn.resume"
    settings = {"recipe": "modern", "epochs": 3}

    def interrupted_run(epoch=2):
        (state / "backup").mkdir()
        (state / "backup" / "training_metadata.json").write_text(f'{{"epoch": {epoch}}}')
        (state / "best.json").write_text('{"val_accuracy": 0.5, "epoch": 2}')

    assert start_or_resume(state, settings, "model-a") == (0, {})  # nothing to resume
    interrupted_run()
    assert start_or_resume(state, settings, "model-a") == (2, {"val_accuracy": 0.5, "epoch": 2})
    # Other settings (here more epochs): the old backup is dropped and training starts anew.
    assert start_or_resume(state, {"recipe": "modern", "epochs": 5}, "model-a") == (0, {})
    assert not (state / "backup").exists() and not (state / "best.json").exists()
    assert "was made with other settings (epochs); starting fresh" in capsys.readouterr().out
    # The same settings but another architecture: never hand its weights to the new model.
    interrupted_run()
    assert start_or_resume(state, {"recipe": "modern", "epochs": 5}, "model-b") == (0, {})
    assert "belonged to a different model" in capsys.readouterr().out


def test_the_fingerprint_changes_with_the_architecture_only(ker5):
    from common.training import architecture_fingerprint

    code = architecture_fingerprint(ker5.code_network())
    assert code == architecture_fingerprint(ker5.code_network())  # same layers: same print
    assert code != architecture_fingerprint(ker5.table_network())


def test_each_kind_of_run_has_its_own_model_files(ker5):
    name = ker5.model_name
    assert name() == "cifar10_cnn"  # the full default run: the files the seminar names
    assert name(quick=True) == "cifar10_cnn_quick"  # the class demo keeps its hands off it
    assert name(no_augment=True) == "cifar10_cnn_no_augment"
    assert name(recipe="classic", quick=True) == "cifar10_cnn_classic_quick"
    assert name(rotate=7.5) == "cifar10_cnn_rotate7.5"
    assert name(arch="table", quick=True) == "cifar10_cnn_table_quick"
    assert name(arch="today", recipe="today") == "cifar10_cnn_today"  # its own recipe
    assert name(arch="today", recipe="modern") == "cifar10_cnn_today_modern"
    # --epochs, --lr and --seed are not in the name: the better model keeps it.


def test_a_three_image_dataset_trains_and_draws_every_figure(tmp_path):
    data = make_cifar_folder(tmp_path / "cifar-10-batches-py", n_train=3, n_test=3, n_batches=1)
    out = tmp_path / "out"
    flags = ["--quick", "--no-show", "--epochs", "1", "--data-dir", data, "--output-dir", out]
    printed = printed_by(SCRIPT, *flags, "--model-dir", tmp_path / "models")
    for name in ("augmentation", "curves", "confusion", "predictions"):
        assert (out / f"ker5_cifar10_cnn_{name}.png").stat().st_size > 1000
    assert "no test image of this class" in printed  # 3 test images, 10 classes


def test_class_names_are_the_official_order():
    assert CLASS_NAMES[:4] == ("airplane", "automobile", "bird", "cat")
    assert CLASS_NAMES[-1] == "truck" and len(CLASS_NAMES) == 10


# --- The figures: each says what this run shows ---


def texts(fig):
    """Every piece of text a figure draws, with its size."""
    import matplotlib.text

    return [
        (t.get_text(), t.get_fontsize())
        for t in fig.findobj(matplotlib.text.Text)
        if t.get_visible() and t.get_text().strip()
    ]


def test_the_loss_title_says_whether_this_run_overfits():
    from common.training import overfitting_title, plot_curves

    overfits = {  # validation loss lowest at epoch 3, then up while training loss keeps falling
        "loss": [2.0, 1.5, 1.1, 0.8, 0.5, 0.3],
        "val_loss": [1.9, 1.6, 1.4, 1.5, 1.7, 2.0],
        "accuracy": [0.3, 0.5, 0.6, 0.7, 0.8, 0.9],
        "val_accuracy": [0.3, 0.45, 0.5, 0.5, 0.49, 0.48],
    }
    learning = {key: values[:3] for key, values in overfits.items()}  # both still falling
    assert "lowest at epoch 3" in overfitting_title(overfits)
    assert overfitting_title(overfits).endswith("overfitting")
    assert overfitting_title(learning) == (
        "validation loss still falling at epoch 3: no overfitting yet"
    )
    assert "lowest at epoch 3 and 43% higher since" in overfitting_title(overfits)  # 2.0 / 1.4
    worse = {**overfits, "loss": [2.0, 1.5, 1.1, 1.3, 1.6, 2.0]}  # both got worse: not that
    assert "not overfitting" in overfitting_title(worse)
    level = {**overfits, "val_loss": [1.9, 1.6, 1.4, 1.41, 1.405, 1.42]}  # 1% above its lowest
    assert overfitting_title(level) == (
        "validation loss about level since epoch 3: no clear overfitting yet"
    )
    fig = plot_curves(overfits)
    shown = [text for text, _ in texts(fig)]
    assert overfitting_title(overfits) in shown
    assert "last epoch: training − validation accuracy = +42.0 points" in shown  # 0.9 - 0.48


def test_the_prediction_grid_shows_every_class_of_a_sorted_test_file():
    from common.training import plot_test_predictions

    y_test = np.repeat(np.arange(10), 50)  # sorted by class: the first 24 are all airplanes
    x_test = np.zeros((500, 32, 32, 3), np.uint8)
    predicted = np.where(np.arange(500) % 3 == 0, (y_test + 1) % 10, y_test)
    fig = plot_test_predictions(x_test, y_test, predicted, CLASS_NAMES, seed=0)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert len(titles) == 24
    shown = [title.split("\n")[0][2:] for title in titles]  # "✓ cat\n→ cat" -> "cat"
    counts = {name: shown.count(name) for name in set(shown)}
    assert len(counts) >= 8 and set(counts.values()) <= {2, 3}  # two or three of each class
    for title in titles:  # the mark agrees with the two names
        true, said = title[2:].split("\n→ ")
        assert title[0] == ("✓" if true == said else "✗")
    right = sum(title[0] == "✓" for title in titles)
    assert f"{right} of 24 right" in fig._suptitle.get_text()
    assert min(size for _, size in texts(fig)) >= 9


def test_the_confusion_matrix_shows_row_percentages_scaled_by_the_mistakes():
    from common.training import plot_confusion

    confusion = np.array([[8, 2, 0], [1, 1, 0], [0, 0, 5]])  # rows: true; 14 of 17 right
    fig = plot_confusion(confusion, ["cat", "dog", "frog"])
    ax = fig.axes[0]
    cells = [t.get_text() for t in ax.texts]
    assert cells == ["80", "20", "0", "50", "50", "0", "0", "0", "100"]  # each row adds to 100
    assert ax.images[0].norm.vmax == pytest.approx(50)  # the largest mistake, not the 80 or 100
    title = ax.get_title()
    assert "17 test images: accuracy 82.4%" in title and "dog → cat (50%)" in title
    assert min(size for _, size in texts(fig)) >= 9


def test_each_augmented_view_is_labelled_with_what_was_done_to_it(ker5):
    from common.training import augmented_views

    rng = np.random.default_rng(0)
    images = rng.random((6, 32, 32, 3)).astype("float32")
    augmenter = ker5.make_augmenter(seed=3)  # mirror images, shifts by whole pixels
    for _ in range(3):
        views, labels = augmented_views(augmenter, images)
        for original, view, label in zip(images, views, labels, strict=True):
            expected = original[:, ::-1] if "mirrored" in label else original
            dx = dy = 0
            for arrow, amount in re.findall(r"([←→↑↓])(\d+)", label):
                step = int(amount) * (1 if arrow in "→↓" else -1)
                dx, dy = (dx + step, dy) if arrow in "←→" else (dx, dy + step)
            shifted = np.roll(expected, (dy, dx), axis=(0, 1))
            inner = (slice(4, 28), slice(4, 28))  # the borders are filled in, not shifted
            np.testing.assert_allclose(view[inner], shifted[inner], atol=1e-6, err_msg=label)
            assert label == "unchanged" or "mirrored" in label or "shift" in label
    _, labels = augmented_views(ker5.make_augmenter(seed=1, rotate=30), images)
    assert any(re.search(r"turn \d+° [↺↻]", label) for label in labels)


def test_the_augmentation_figure_shows_one_image_per_class(ker5):
    from common.training import plot_augmented_views

    y_train = np.repeat(np.arange(10), 5)
    x_train = np.zeros((50, 32, 32, 3), np.uint8)
    fig = plot_augmented_views(ker5.make_augmenter(seed=0), x_train, y_train, CLASS_NAMES)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == list(CLASS_NAMES)
    assert min(size for _, size in texts(fig)) >= 9
    few = plot_augmented_views(None, x_train[:3], np.array([3, 5, 3]), CLASS_NAMES)
    assert [ax.get_title() for ax in few.axes if ax.get_title()] == ["cat", "dog"]


# --- In a notebook: the model's cell edited in class, and run again without reloading ---


def test_an_edited_network_reruns_in_the_notebook_without_reloading_the_data(
    tmp_path, tiny_data, keras
):
    models = tmp_path / "models"
    flags = [*TINY, "--epochs", "1", "--data-dir", tiny_data, "--model-dir", models]
    notebook = execute_checked_notebook(
        SCRIPT,
        *flags,
        "--output-dir",
        tmp_path,
        tmp_path=tmp_path,
        edit=(DENSE, "x = layers.Dense(256)(x)"),
    )
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    data = next(cell for cell in code if "load_cifar10(" in cell.source)
    build = next(cell for cell in code if "model.compile(" in cell.source)
    assert data.execution_count <= len(code)  # ran once, in the first pass
    assert build.execution_count > len(code)  # ran again, after the edit
    edited = CONVS + 2304 * 256 + 256 + 256 * 10 + 10
    report = read_json(tmp_path / "ker5_cifar10_cnn.json")
    assert report["params"] == edited and report["epochs"] == 1
    assert report["resumed_at_epoch"] is None
    # This run's model is the edited network, wherever the better-model rule put it; both
    # networks are still there: one under the main name, the other in runners-up/.
    saved = keras.models.load_model(report["model_paths"][0])
    assert saved.count_params() == edited
    models_kept = [keras.models.load_model(p) for p in sorted(models.rglob("*.keras"))]
    assert sorted(m.count_params() for m in models_kept) == sorted([edited, 1_250_858])
    assert not (models / "cifar10_cnn_quick.resume").exists()
