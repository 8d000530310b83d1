"""ker5n_negative_examples.py: a cat detector needs negative examples to learn what "cat" means."""

import numpy as np
import pytest
from cifar_data import make_cifar_folder
from conftest import (
    assert_clean_error,
    execute_notebook,
    read_json,
    run_edited_copy,
    run_in_process,
    run_script,
)

from common.cifar10 import CLASS_NAMES
from common.lesson import LessonError, load_definitions

SCRIPT = "ker5n_negative_examples.py"
ONLY, WITH = "cats only", "cats and non-cats"
# 100 cats and 900 non-cats of easy colours: 1 epoch already separates them, so 3 leave a margin.
FAST = ["--quick", "--no-show", "--epochs", "3", "--batch-size", "32"]


@pytest.fixture(scope="module")
def ker5n():
    """The lesson's functions and constants, with none of its steps run."""
    from common.keras_setup import start_keras

    start_keras()
    return load_definitions(SCRIPT)


@pytest.fixture(scope="module")
def easy_data(tmp_path_factory):
    """1,000 training and 200 test images, a tenth of them cats, in the official format."""
    folder = tmp_path_factory.mktemp("cifar") / "cifar-10-batches-py"
    return make_cifar_folder(folder, n_train=1000, n_test=200, n_batches=2)


@pytest.fixture(scope="module")
def lesson_run(easy_data, tmp_path_factory):
    """One run of the lesson as a student starts it; returns (CompletedProcess, JSON, out)."""
    out = tmp_path_factory.mktemp("out")
    result = run_script(SCRIPT, *FAST, "--data-dir", easy_data, "--output-dir", out)
    assert result.returncode == 0, result.stderr[-3000:]
    return result, read_json(out / "ker5n_negative_examples.json"), out


# --- Known answers on inputs small enough to check by hand ---


def test_balanced_class_weight_gives_each_label_the_same_total_weight(ker5n):
    labels = np.array([1, 0, 0, 0, 0, 0, 0, 0, 0, 0], dtype="float32")  # 1 cat, 9 non-cats
    weights = ker5n.balanced_class_weight(labels)
    assert weights == pytest.approx({0: 10 / 18, 1: 5.0})
    assert 9 * weights[0] == pytest.approx(1 * weights[1])  # the cat counts as much as the 9
    assert ker5n.balanced_class_weight(np.ones(4, "float32")) == {1: 1.0}  # cats only: no change


def test_detector_data_keeps_cats_and_the_chosen_negatives(ker5n):
    cat, dog, frog = (CLASS_NAMES.index(n) for n in ("cat", "dog", "frog"))
    y_train = np.array([cat, frog, dog, cat, dog])
    x_train = np.full((5, 32, 32, 3), 255, dtype=np.uint8)
    x, labels = ker5n.detector_data(x_train, y_train, [])
    assert x.shape == (2, 32, 32, 3) and labels.tolist() == [1, 1]
    x, labels = ker5n.detector_data(x_train, y_train, ["dog"])
    assert labels.tolist() == [1, 0, 1, 0]
    assert x.dtype == np.float32 and x.max() == 1.0  # pixels scaled to 0..1
    _, labels = ker5n.detector_data(x_train, y_train, ker5n.DETECTORS[WITH])
    assert labels.tolist() == [1, 0, 0, 1, 0]


def test_score_counts_cats_found_and_non_cats_rejected(ker5n):
    cat, plane, car = (CLASS_NAMES.index(n) for n in ("cat", "airplane", "automobile"))
    y_test = np.array([cat, cat, plane, car, car])
    p_cat = np.array([0.9, 0.2, 0.5, 0.1, 0.7])  # 0.5 is at the threshold: a "cat" verdict
    result = ker5n.score(p_cat, y_test)
    assert result["cat_recall"] == pytest.approx(0.5)
    assert result["noncat_rejection"] == pytest.approx(1 / 3)
    assert result["called_cat_per_class"] == pytest.approx(
        {"airplane": 1.0, "automobile": 0.5, "cat": 0.5}
    )


def test_the_test_subset_is_a_random_sample_in_file_order(ker5n):
    # A test file sorted by class (as some copies are): its first images are all airplanes.
    y_test = np.repeat(np.arange(10), 100)
    x_test = np.arange(1000).reshape(-1, 1)  # each image's index in the file
    x_train, y_train = np.zeros((50, 1)), np.arange(50) % 10
    (x, _), (x_sub, y_sub) = ker5n.take_subset(
        x_train, y_train, x_test, y_test, train_images=20, test_images=200, seed=0
    )
    assert len(x) == 20 and len(x_sub) == 200
    assert len(set(y_sub.tolist())) == 10  # every class, not only the first two
    assert np.all(np.diff(x_sub[:, 0]) > 0)  # in file order, each image once
    (x, _), (x_all, _) = ker5n.take_subset(x_train, y_train, x_test, y_test)
    assert len(x) == 50 and len(x_all) == 1000  # None: all of them


def test_the_detectors_differ_only_in_their_training_images(ker5n):
    first, second = ker5n.build_model(), ker5n.build_model()
    assert first.count_params() == second.count_params()
    assert first.output_shape == (None, 1)
    assert first.layers[-1].get_config()["activation"] == "sigmoid"
    assert ker5n.DETECTORS[ONLY] == []
    assert sorted(ker5n.DETECTORS[WITH]) == sorted(set(CLASS_NAMES) - {"cat"})


# --- The effect the lesson shows ---


def test_without_negatives_the_detector_calls_most_non_cats_cat(lesson_run):
    _, data, _ = lesson_run
    only = data["detectors"][ONLY]
    assert only["noncat_rejection"] < 0.5  # most non-cats are called "cat"
    assert only["cat_recall"] > 0.9
    assert only["train_noncats"] == 0 and only["train_cats"] == 100


def test_with_negatives_the_detector_rejects_clearly_more_non_cats(lesson_run):
    _, data, _ = lesson_run
    only, with_negatives = data["detectors"][ONLY], data["detectors"][WITH]
    assert with_negatives["noncat_rejection"] >= only["noncat_rejection"] + 0.4
    assert with_negatives["noncat_rejection"] > 0.5  # it rejects most non-cats
    assert with_negatives["cat_recall"] > 0.5  # and still finds most cats
    assert with_negatives["train_cats"] == 100 and with_negatives["train_noncats"] == 900
    # The class weights make the 100 cats weigh as much as the 900 non-cats.
    weights = with_negatives["class_weight"]
    assert 900 * weights["0"] == pytest.approx(100 * weights["1"])


def test_the_run_prints_the_comparison_and_saves_figure_and_json(lesson_run, ker5n):
    result, data, out = lesson_run
    assert "Traceback" not in result.stderr
    assert "cats found" in result.stdout and "non-cats rejected" in result.stdout
    for name in (ONLY, WITH):
        assert name in result.stdout
    assert data["train_images"] == 1000 and data["test_images"] == 200
    assert data["test_cats"] == 20 and data["epochs"] == 3 and data["quick"] is True
    assert data["params"] == ker5n.build_model().count_params()
    figure = out / "ker5n_negative_examples.png"
    assert data["figure"] == str(figure) and figure.stat().st_size > 10_000


# --- Live edits an instructor might make ---


def test_a_third_detector_appears_in_the_table_json_and_figure(tmp_path, easy_data):
    edit = ('    "cats only": [],\n', '    "cats only": [],\n    "cats and dogs": ["dog"],\n')
    out = tmp_path / "out"
    result, _ = run_edited_copy(
        tmp_path, SCRIPT, [edit], *FAST, "--data-dir", easy_data, "--output-dir", out
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    data = read_json(out / "ker5n_negative_examples.json")
    assert list(data["detectors"]) == [ONLY, "cats and dogs", WITH]
    dogs = data["detectors"]["cats and dogs"]
    assert dogs["negatives"] == ["dog"] and dogs["train_noncats"] == 100
    assert dogs["called_cat_per_class"]["dog"] < 0.5  # the one class it was shown as "not cat"
    assert "cats and dogs" in result.stdout
    assert (out / "ker5n_negative_examples.png").stat().st_size > 10_000


def test_a_changed_model_reports_its_own_parameter_count(tmp_path, easy_data, ker5n):
    dense = '            layers.Dense(64, activation="relu"),  # (batch, 64)\n'
    edit = (dense, dense + '            layers.Dense(32, activation="relu"),\n')
    out = tmp_path / "out"
    result, _ = run_edited_copy(
        tmp_path, SCRIPT, [edit], *FAST, "--data-dir", easy_data, "--output-dir", out
    )
    assert result.returncode == 0, result.stderr[-3000:]
    before = ker5n.build_model().count_params()
    # Dense(32) adds 64·32 + 32; the output Dense(1) now reads 32 numbers instead of 64.
    expected = before + (64 * 32 + 32) - (64 - 32)
    assert read_json(out / "ker5n_negative_examples.json")["params"] == expected
    assert f"{expected:,} parameters" in result.stdout


def test_a_third_detector_added_in_the_notebook_trains_without_reloading_the_data(
    tmp_path, easy_data
):
    edit = ('    "cats only": [],\n', '    "cats only": [],\n    "cats and dogs": ["dog"],\n')
    notebook = execute_notebook(
        SCRIPT, *FAST, "--data-dir", easy_data, "--output-dir", tmp_path, edit=edit
    )
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    data = next(cell for cell in code if "load_cifar10(" in cell.source)
    training = next(cell for cell in code if "model.fit(" in cell.source)
    assert data.execution_count <= len(code)  # ran once, in the first pass
    assert training.execution_count > len(code)  # ran again, after the edit
    data = read_json(tmp_path / "ker5n_negative_examples.json")
    assert list(data["detectors"]) == [ONLY, "cats and dogs", WITH]
    assert data["detectors"]["cats and dogs"]["train_noncats"] == 100


# --- Errors a student can act on ---


def test_bad_inputs_give_one_clear_line(tmp_path, easy_data, unwritable_dir):
    assert_clean_error(run_script(SCRIPT, "--data-dir", tmp_path / "nope", "--no-show"))
    result = run_script(
        SCRIPT, "--data-dir", easy_data, "--output-dir", unwritable_dir, "--no-show"
    )
    assert_clean_error(result)
    assert_clean_error(run_script(SCRIPT, "--epochs", "0", "--no-show"))


def test_offline_without_data_says_how_to_get_it(monkeypatch, tmp_path, ker5n):
    import keras

    import common.cifar10 as cifar10

    def no_network():
        raise Exception("URL fetch failure on https://www.cs.toronto.edu/: None -- no network")

    monkeypatch.delenv("CIFAR10_DIR", raising=False)
    monkeypatch.setattr(cifar10, "LOCAL_FOLDER", tmp_path / "no-data-here")
    monkeypatch.setattr(keras.datasets.cifar10, "load_data", no_network)
    with pytest.raises(LessonError) as caught:
        run_in_process(SCRIPT, "--no-show", "--output-dir", tmp_path)
    text = str(caught.value)
    assert "could not download" in text and "--data-dir" in text and "\n" not in text
