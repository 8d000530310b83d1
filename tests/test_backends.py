"""Keras 3 on two backends: the lessons' quick runs and known answers on JAX, and one model
file that TensorFlow and JAX read alike. The rest of the suite runs on TensorFlow."""

import json

import numpy as np
import pytest
from cifar_data import make_cifar_folder
from conftest import ROOT, assert_clean_error, read_json, run_script

JAX = {"KERAS_BACKEND": "jax"}
TENSORFLOW = {"KERAS_BACKEND": "tensorflow"}
BACKENDS = {"tensorflow": TENSORFLOW, "jax": JAX}


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    """200 training and 100 test images of 10 easy classes, in the official folder format."""
    folder = tmp_path_factory.mktemp("cifar") / "cifar-10-batches-py"
    return make_cifar_folder(folder, n_train=200, n_test=100, n_batches=2)


def run_on(backend, script, *args, tmp_path):
    """Run a lesson headless on one backend, writing into tmp_path; check it names the backend."""
    result = run_script(script, *args, "--no-show", "--output-dir", tmp_path, env=BACKENDS[backend])
    if result.returncode == 0:
        assert f"on the {backend} backend" in result.stdout
    return result


def ok(result):
    """The run finished cleanly."""
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr


def test_ker2_conv2d_equals_opencv_on_jax(tmp_path):
    ok(run_on("jax", "ker2_sobel_keras.py", tmp_path=tmp_path))
    report = read_json(tmp_path / "ker2_sobel_keras.json")
    assert report["max_abs_diff_interior"] < 1e-3  # float32 sums of pixels up to 255
    assert report["max_abs_diff_zero_border"] < 1e-3
    assert report["params"] == 9


def test_ker3_recovers_a_random_kernel_on_jax(tmp_path):
    """One ker3 run on JAX: the slide's code, both recipes, the gradient checks."""
    args = ("--quick", "--kernel", "random", "--seminar-epochs", "3")
    ok(run_on("jax", "ker3_learn_kernel.py", *args, tmp_path=tmp_path))
    report = read_json(tmp_path / "ker3_learn_kernel.json")
    assert report["max_abs_error"] <= 1e-3
    assert report["gradient_formula_agrees"] and report["gradient_finite_differences_agrees"]
    assert [t["error_type"] for t in report["slide_code"]] == ["TypeError", "NameError", None]
    assert set(report["recipes"]["seminar"]["last_logged"]) == {"loss", "mse", "mae"}


def test_ker3_gradient_checks_pass_on_jax():
    """ker3's gradient tests on JAX: its SGD step against jax.grad, the formula and more."""
    import os
    import subprocess
    import sys

    tests = ROOT / "tests" / "test_ker3_learn_kernel.py"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)]
    result = subprocess.run(
        [*command, "-k", "gradient"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **JAX},
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert " passed" in result.stdout and " skipped" not in result.stdout


def test_ker3t_and_ker4v_run_on_jax_with_the_same_parameter_counts(tmp_path):
    args = ("--quick", "--epochs", "3")  # the learning rates in full; overfitting in brief
    ok(run_on("jax", "ker3t_training_pitfalls.py", *args, tmp_path=tmp_path / "3t"))
    pitfalls = read_json(tmp_path / "3t" / "ker3t_training_pitfalls.json")
    assert pitfalls["learning_rate"]["kernel"]["runs"]["too large"]["diverged"]
    counts = {}
    for backend in BACKENDS:
        ok(run_on(backend, "ker4v_layers_and_tensors.py", tmp_path=tmp_path / backend))
        layers = read_json(tmp_path / backend / "ker4v_layers_and_tensors.json")["layers"]
        counts[backend] = [(row["call"], row["params"]) for row in layers]
    assert counts["jax"] == counts["tensorflow"] and len(counts["jax"]) > 10


# ker4's Keras parts on a backend, with answers the test knows: its loss, its models, its
# edge maps, a few training steps. (The rest of ker4 is NumPy and OpenCV.) The U-Net is left
# out: building it on JAX costs more than the rest together; on TensorFlow its size and edge
# maps are checked in tests/test_ker4_learn_canny.py.
KER4_CHECK = """
import json, sys
import numpy as np
from common.keras_setup import start_keras
start_keras()
import keras
from common import scenes
from common.lesson import load_definitions

lesson = load_definitions("ker4_learn_canny.py")
data = np.load(sys.argv[1])
loss = lesson.edge_loss(data["y_true"], data["y_pred"])
models = {name: lesson.MODELS[name]() for name in ("single_layer", "few_layers")}
single = models["single_layer"]  # passes its centre pixel on: an edge where grey >= 128
kernel = np.zeros((3, 3, 1, 1), np.float32)
kernel[1, 1] = 3.0
single.layers[-1].set_weights([kernel, np.zeros(1, np.float32)])
x, y = scenes.training_crops(0, 16, lesson.canny_edges)
keras.utils.set_random_seed(0)
few = lesson.build_few_layers()
few.compile(optimizer=keras.optimizers.Adam(1e-2), loss=lesson.edge_loss)
history = few.fit(x, y, batch_size=8, epochs=4, verbose=0)
print(json.dumps({
    "backend": keras.backend.backend(),
    "loss": float(keras.ops.convert_to_numpy(loss)),
    "models": {n: [lesson.conv_depth(m), m.count_params()] for n, m in models.items()},
    "edges": lesson.predict_edges(single, data["image"]).tolist(),
    "training_losses": history.history["loss"],
}))
"""


def test_ker4_loss_models_and_edge_maps_on_jax(tmp_path):
    rng = np.random.default_rng(0)
    y_true = (rng.random((2, 8, 8, 1)) < 0.2).astype(np.float32)
    y_pred = rng.uniform(0.01, 0.99, (2, 8, 8, 1)).astype(np.float32)
    image = rng.integers(0, 256, (37, 50)).astype(np.uint8)
    np.savez(tmp_path / "data.npz", y_true=y_true, y_pred=y_pred, image=image)
    script = tmp_path / "ker4_check.py"
    script.write_text(KER4_CHECK)
    result = run_script(script, tmp_path / "data.npz", env={**JAX, "PYTHONPATH": str(ROOT)})
    ok(result)
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["backend"] == "jax"
    # The weighted cross-entropy (edges count 5x) plus the Dice loss, computed here.
    bce = -(5 * y_true * np.log(y_pred) + (1 - y_true) * np.log(1 - y_pred)).mean()
    dice = 1 - (2 * (y_true * y_pred).sum() + 1) / (y_true.sum() + y_pred.sum() + 1)
    assert found["loss"] == pytest.approx(bce + dice, rel=1e-5)
    # Depth and parameters as counted by hand in tests/test_ker4_learn_canny.py.
    assert found["models"] == {"single_layer": [1, 10], "few_layers": [3, 785]}
    np.testing.assert_array_equal(found["edges"], image >= 128)
    losses = found["training_losses"]
    assert losses[-1] < 0.9 * losses[0], losses  # the edge loss falls as it trains


def test_ker5n_shows_the_same_effect_on_jax(tmp_path):
    """The detector without negatives calls most non-cats "cat"; the one with them does not."""
    data = make_cifar_folder(tmp_path / "cifar-10-batches-py", n_train=1000, n_test=200)
    args = ["--quick", "--epochs", "3", "--batch-size", "32", "--data-dir", data]
    ok(run_on("jax", "ker5n_negative_examples.py", *args, tmp_path=tmp_path))
    detectors = read_json(tmp_path / "ker5n_negative_examples.json")["detectors"]
    only, with_negatives = detectors["cats only"], detectors["cats and non-cats"]
    assert only["noncat_rejection"] < 0.5 and only["cat_recall"] > 0.9
    assert with_negatives["noncat_rejection"] >= only["noncat_rejection"] + 0.4
    assert with_negatives["cat_recall"] > 0.5


def test_ker7_offline_is_one_clear_line_on_jax(tmp_path):
    result = run_script(
        "ker7_pretrained.py",
        "--offline",
        "--no-show",
        "--output-dir",
        tmp_path,
        env={**JAX, "KERAS_HOME": str(tmp_path / "empty-keras-home")},
    )
    assert_clean_error(result)


@pytest.fixture(scope="module")
def models_of_both_backends(tmp_path_factory, tiny_data):
    """ker5 --quick trained once on each backend: {backend: its models folder}. (Data-parallel
    training, --distribute, is tested on TensorFlow in test_ker5_cifar10_cnn.py.)"""
    folders = {}
    for backend in BACKENDS:
        work = tmp_path_factory.mktemp(f"ker5-{backend}")
        args = ["--quick", "--epochs", "3", "--batch-size", "32", "--data-dir", tiny_data]
        result = run_on(
            backend, "ker5_cifar10_cnn.py", *args, "--model-dir", work / "models", tmp_path=work
        )
        ok(result)
        report = read_json(work / "ker5_cifar10_cnn.json")
        assert report["params"] == 1_250_858  # the same parameter count on both
        assert report["test_accuracy"] > 0.3  # it learned on this backend too (chance: 0.1)
        folders[backend] = work / "models"
    return folders


@pytest.mark.parametrize("saved_by", ["tensorflow", "jax"])
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_a_model_saved_on_one_backend_predicts_the_same_on_the_other(
    tmp_path, tiny_data, models_of_both_backends, saved_by, suffix
):
    from conftest import run_in_process

    from common.keras_setup import start_keras

    model = models_of_both_backends[saved_by] / f"cifar10_cnn_quick{suffix}"
    probabilities = {}
    for backend in BACKENDS:
        args = ["--model", model, "--data-dir", tiny_data, "--quick"]
        if backend == start_keras().backend.backend():  # this process's: run the lesson in it
            args += ["--no-show", "--output-dir", tmp_path / backend]
            run_in_process("ker6_predict.py", *args)
        else:
            ok(run_on(backend, "ker6_predict.py", *args, tmp_path=tmp_path / backend))
        report = read_json(tmp_path / backend / "ker6_predict.json")
        probabilities[backend] = np.array([p["probabilities"] for p in report["predictions"]])
    assert probabilities["jax"].shape == probabilities["tensorflow"].shape == (8, 10)
    np.testing.assert_allclose(probabilities["jax"], probabilities["tensorflow"], atol=1e-5)
    assert not np.allclose(probabilities["jax"], 0.1, atol=1e-3)  # a trained model, not chance


def test_export_on_jax_says_it_needs_tensorflow(tmp_path, tiny_data, models_of_both_backends):
    model = models_of_both_backends["jax"] / "cifar10_cnn_quick.keras"
    args = ["--model", model, "--data-dir", tiny_data, "--quick", "--export"]
    result = run_on("jax", "ker6_predict.py", *args, tmp_path=tmp_path)
    ok(result)
    assert "--export runs on the TensorFlow backend only" in result.stdout
    assert read_json(tmp_path / "ker6_predict.json")["exported"] is None


# Run a script with `import tensorflow` failing, as on a GPU machine that has only JAX. The
# finder answers for tensorflow (so the real one is never found) and its loader refuses.
WITHOUT_TENSORFLOW = """
import importlib.machinery, runpy, sys

class NoTensorFlow:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "tensorflow":
            return importlib.machinery.ModuleSpec(name, self)

    def create_module(self, spec):
        raise ModuleNotFoundError(f"No module named {spec.name!r}", name=spec.name)

    def exec_module(self, module):
        pass

sys.meta_path.insert(0, NoTensorFlow())
script, sys.argv = sys.argv[1], sys.argv[1:]
runpy.run_path(script, run_name="__main__")
"""


@pytest.mark.parametrize("tensorflow", ["installed", "missing"])
def test_time_to_accuracy_bench_learns_with_and_without_tensorflow(tmp_path, tiny_data, tensorflow):
    bench = "bench/bench_time_to_accuracy.py"
    args = ["--data-dir", tiny_data, "--recipes", "modern", "--epochs", "3", "--batch-size", "32"]
    if tensorflow == "missing":
        launcher = tmp_path / "without_tensorflow.py"
        launcher.write_text(WITHOUT_TENSORFLOW)
        args = [ROOT / bench, *args]
        bench, env = launcher, JAX
    else:
        env = TENSORFLOW
    result = run_script(bench, *args, "--output-dir", tmp_path, env=env)
    ok(result)
    pipeline = "NumPy PyDataset (no TensorFlow)" if tensorflow == "missing" else "tf.data"
    assert f"input: {pipeline}" in result.stdout
    (run,) = read_json(tmp_path / "bench_time_to_accuracy.json")["runs"]
    assert run["recipe"] == "modern" and len(run["curve"]) == 3
    assert max(accuracy for _, accuracy in run["curve"]) > 0.5  # chance is 0.1
    assert run["test"] > 0.5
    assert (tmp_path / "bench_time_to_accuracy.png").stat().st_size > 10_000
