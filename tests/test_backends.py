"""Keras 3 across backends: the same layers and parameter counts, and one model file that
TensorFlow and JAX read alike. Each backend's own run of the whole suite (`make test`,
`make test BACKEND=jax`) checks the lessons on it; these tests compare two backends, so they
need TensorFlow and JAX in one venv, as `make test`'s has."""

import importlib.util

import numpy as np
import pytest
from cifar_data import make_cifar_folder
from conftest import BACKEND, HAS_TENSORFLOW, ROOT, read_json, run_script

JAX = {"KERAS_BACKEND": "jax"}
TENSORFLOW = {"KERAS_BACKEND": "tensorflow"}
BACKENDS = {"tensorflow": TENSORFLOW, "jax": JAX}
both_backends = pytest.mark.skipif(
    not (HAS_TENSORFLOW and importlib.util.find_spec("jax")),
    reason=f"compares TensorFlow with JAX, and this {BACKEND} run has not both: `make test` "
    "runs it",
)


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


@both_backends
def test_ker4v_counts_the_same_parameters_on_both_backends(tmp_path):
    counts = {}
    for backend in BACKENDS:
        ok(run_on(backend, "ker4v_layers_and_tensors.py", tmp_path=tmp_path / backend))
        layers = read_json(tmp_path / backend / "ker4v_layers_and_tensors.json")["layers"]
        counts[backend] = [(row["call"], row["params"]) for row in layers]
    assert counts["jax"] == counts["tensorflow"] and len(counts["jax"]) > 10


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


@both_backends
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


@pytest.mark.skipif(not importlib.util.find_spec("jax"), reason="JAX is not installed here")
def test_time_to_accuracy_bench_learns_without_tensorflow(tmp_path, tiny_data):
    """The bench (ker5's network, recipe and Batches) on JAX with `import tensorflow` refused,
    as on a GPU machine that has only JAX."""
    bench = ROOT / "bench" / "bench_time_to_accuracy.py"
    args = ["--data-dir", tiny_data, "--runs", "code:modern", "today", "--epochs", "3"]
    args += ["--batch-size", "32", "--targets", "0.3", "0.99"]
    launcher = ROOT / "tests" / "no_tensorflow.py"
    result = run_script(launcher, bench, *args, "--output-dir", tmp_path, env=JAX)
    ok(result)
    assert "jax backend on the CPU" in result.stdout
    assert "input: ker5's Batches (a PyDataset)" in result.stdout
    code, today = read_json(tmp_path / "bench_time_to_accuracy.json")["runs"]
    assert (code["arch"], code["recipe"]) == ("code", "modern")
    assert (today["arch"], today["recipe"]) == ("today", "today")  # a network's own recipe
    for run in (code, today):
        assert len(run["curve"]) == 3 and all(0 <= a <= 1 for _, a in run["curve"])
        assert 0 < run["test_with_flips"] <= 1 and run["images_per_second"] > 0
    # The code network learns these easy classes in 3 epochs; the today network, whose
    # learning is tested in test_ker5_cifar10_cnn.py with 6, may need more than 3 here.
    assert max(accuracy for _, accuracy in code["curve"]) > 0.5 and code["test"] > 0.5
    assert "not within" in result.stdout  # nobody reaches 99% on 200 images
    assert "today:today within 3x the code network's" in result.stdout
    assert (tmp_path / "bench_time_to_accuracy.png").stat().st_size > 10_000
