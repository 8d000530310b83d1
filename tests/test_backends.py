"""Keras 3 across backends: the same layers and parameter counts, and one model file that
TensorFlow and JAX read alike. Each backend's own run of the whole suite (`make test`,
`make test BACKEND=jax`) checks the lessons on it; these tests compare two backends, so they
need TensorFlow and JAX in one venv, as `make test`'s has."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from cifar_data import make_cifar_folder
from conftest import BACKEND, HAS_TENSORFLOW, ROOT, read_json, run_in_process, run_script

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
        if backend == BACKEND:  # this process's: run the lesson in it
            run_in_process(
                "ker4v_layers_and_tensors.py", "--no-show", "--output-dir", tmp_path / backend
            )
        else:
            ok(run_on(backend, "ker4v_layers_and_tensors.py", tmp_path=tmp_path / backend))
        layers = read_json(tmp_path / backend / "ker4v_layers_and_tensors.json")["layers"]
        counts[backend] = [(row["call"], row["params"]) for row in layers]
    assert counts["jax"] == counts["tensorflow"] and len(counts["jax"]) > 10


def run_json(backend, *args):
    """Run tests/predict_files.py on a backend; return the JSON it printed."""
    result = run_script("tests/predict_files.py", *args, env=BACKENDS[backend])
    ok(result)
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["backend"] == backend
    return found


@pytest.fixture(scope="module")
def models_of_both_backends(tmp_path_factory):
    """ker5's network saved as .keras and .h5 by each backend, TensorFlow's in this process:
    [(backend that saved it, path)]. Each backend draws its own random weights, so the files
    differ; training them is each backend's own suite's to test."""
    from predict_files import save_models

    folder = tmp_path_factory.mktemp("models")
    backend, here = save_models(folder / BACKEND)
    there = run_json("jax", "save", folder / "jax")["models"]
    return [(backend, path) for path in here] + [("jax", Path(path)) for path in there]


@both_backends
def test_a_model_saved_on_one_backend_predicts_the_same_on_the_other(
    tiny_data, models_of_both_backends
):
    """Each backend reads the four files (.keras and .h5, saved by either backend) as lesson 6
    does, in one process: TensorFlow here, JAX in a subprocess."""
    from predict_files import predictions

    models = [path for _, path in models_of_both_backends]
    assert [backend for backend, _ in models_of_both_backends] == ["tensorflow"] * 2 + ["jax"] * 2
    backend, here = predictions(tiny_data, models)
    assert backend == "tensorflow"
    there = run_json("jax", "predict", tiny_data, *models)["predictions"]
    assert sorted(there) == sorted(here) == sorted(map(str, models))
    for model in models:
        tensorflow, jax = np.array(here[str(model)]), np.array(there[str(model)])
        assert tensorflow.shape == jax.shape == (8, 10), model
        np.testing.assert_allclose(jax, tensorflow, atol=1e-5, err_msg=str(model))
        assert not np.allclose(jax, 0.1, atol=1e-3), model  # weights, not a blank model
    # The two formats of one model agree; the two backends' models do not (each drew its own
    # random weights): the files were really saved by two backends, not one file read twice.
    by_tensorflow, h5_by_tensorflow, by_jax, _ = (np.array(here[str(m)]) for m in models)
    np.testing.assert_allclose(h5_by_tensorflow, by_tensorflow, atol=1e-6)
    assert not np.allclose(by_tensorflow, by_jax, atol=1e-3)


@pytest.mark.skipif(not importlib.util.find_spec("jax"), reason="JAX is not installed here")
def test_time_to_accuracy_bench_learns_without_tensorflow(tmp_path, tiny_data):
    """The bench (ker5's network, recipe and Batches) on JAX with `import tensorflow` refused,
    as on a GPU machine that has only JAX. One network: what differs off TensorFlow is the
    input pipeline and the training loop, the same for every network (the today network
    learns on JAX in that backend's run of tests/test_ker5_cifar10_cnn.py)."""
    bench = ROOT / "bench" / "bench_time_to_accuracy.py"
    args = ["--data-dir", tiny_data, "--runs", "code:modern", "--epochs", "3"]
    args += ["--batch-size", "32", "--targets", "0.3", "0.99"]
    launcher = ROOT / "tests" / "no_tensorflow.py"
    result = run_script(launcher, bench, *args, "--output-dir", tmp_path, env=JAX)
    ok(result)
    assert "jax backend on the CPU" in result.stdout
    assert "input: ker5's Batches (a PyDataset)" in result.stdout
    (code,) = read_json(tmp_path / "bench_time_to_accuracy.json")["runs"]
    assert (code["arch"], code["recipe"]) == ("code", "modern")
    assert len(code["curve"]) == 3 and all(0 <= a <= 1 for _, a in code["curve"])
    assert 0 < code["test_with_flips"] <= 1 and code["images_per_second"] > 0
    # The code network learns these easy classes in 3 epochs.
    assert max(accuracy for _, accuracy in code["curve"]) > 0.5 and code["test"] > 0.5
    assert "not within" in result.stdout  # nobody reaches 99% on 200 images
    assert (tmp_path / "bench_time_to_accuracy.png").stat().st_size > 10_000
    # Its arithmetic, counted by hand: the four convolutions and the two Dense layers.
    convs = 32 * 32 * 27 * 32 + 30 * 30 * 288 * 32 + 15 * 15 * 288 * 64 + 13 * 13 * 576 * 64
    assert code["multiply_adds"] == convs + 2304 * 512 + 512 * 10
