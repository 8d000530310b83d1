"""Keras 3 on two backends: the lessons' quick runs and known answers on JAX, and one model
file that TensorFlow and JAX read alike. The rest of the suite runs on TensorFlow."""

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


@pytest.mark.parametrize("kernel", ["sobel-x", "sobel-y", "scharr-x", "laplace", "random"])
def test_ker3_recovers_every_kernel_on_jax(tmp_path, kernel):
    ok(run_on("jax", "ker3_learn_kernel.py", "--quick", "--kernel", kernel, tmp_path=tmp_path))
    report = read_json(tmp_path / "ker3_learn_kernel.json")
    assert report["max_abs_error"] <= 1e-3
    assert report["gradient_formula_agrees"] and report["gradient_finite_differences_agrees"]


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
    ok(run_on("jax", "ker3t_training_pitfalls.py", "--quick", tmp_path=tmp_path / "3t"))
    pitfalls = read_json(tmp_path / "3t" / "ker3t_training_pitfalls.json")
    assert pitfalls["learning_rate"]["kernel"]["runs"]["too large"]["diverged"]
    counts = {}
    for backend in BACKENDS:
        ok(run_on(backend, "ker4v_layers_and_tensors.py", tmp_path=tmp_path / backend))
        layers = read_json(tmp_path / backend / "ker4v_layers_and_tensors.json")["layers"]
        counts[backend] = [(row["call"], row["params"]) for row in layers]
    assert counts["jax"] == counts["tensorflow"] and len(counts["jax"]) > 10


def test_ker4_runs_on_jax(tmp_path):
    ok(run_on("jax", "ker4_learn_canny.py", "--quick", tmp_path=tmp_path))
    assert (tmp_path / "ker4_learn_canny.json").exists()


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
    model = models_of_both_backends[saved_by] / f"cifar10_cnn_quick{suffix}"
    probabilities = {}
    for backend in BACKENDS:
        args = ["--model", model, "--data-dir", tiny_data, "--quick"]
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
