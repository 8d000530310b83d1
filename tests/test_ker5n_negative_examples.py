"""ker5n_negative_examples.py: a cat detector needs negative examples to learn what "cat" means."""

import contextlib
import io
import types

import numpy as np
import pytest
from cifar_data import make_cifar_folder
from conftest import (
    ROOT,
    assert_clean_error,
    execute_checked_notebook,
    read_json,
    run_edited_copy,
    run_in_process,
)

from common.cifar10 import CLASS_NAMES
from common.lesson import LessonError, load_definitions

SCRIPT = "ker5n_negative_examples.py"
MUTATIONS = [  # (lesson, text, replacement, what it breaks): tests/mutants.py applies each
    (
        "ker5n_negative_examples.py",
        "        class_weight=class_weight,  # {label: weight}:",
        "        # class_weight=class_weight,  # {label: weight}:",
        "trains without the class weights: 9 non-cats to a cat push the detector to 'not cat'",
    ),
    (
        "ker5n_negative_examples.py",
        "    keras.utils.set_random_seed(settings.seed)  # same seed, same layers: same starting",
        "    pass  # same seed, same layers: same starting",
        "the detectors start from different weights, so they differ in more than their images",
    ),
    (
        "ker5n_negative_examples.py",
        "    called_cat = p_cat >= THRESHOLD",
        "    called_cat = p_cat > THRESHOLD",
        "a probability of exactly THRESHOLD is a 'not cat' verdict, unlike what the lesson says",
    ),
    (
        "ker5n_negative_examples.py",
        'labels = (y_train[keep] == cat).astype("float32")',
        'labels = (y_train[keep] != cat).astype("float32")',
        "the cats are labelled 0 and the non-cats 1",
    ),
]
ONLY, WITH = "cats only", "cats and non-cats"
# 100 cats and 900 non-cats of easy colours: 1 epoch already separates them, so 3 leave a margin.
FAST = ["--quick", "--no-show", "--epochs", "3", "--batch-size", "32"]
CAT = CLASS_NAMES.index("cat")
LIKE_CATS = ("deer", "dog", "horse")  # in the hard data, these look exactly like cats
THIRD = ('    "cats only": [],\n', '    "cats only": [],\n    "cats and dogs": ["dog"],\n')


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
def hard_data(tmp_path_factory):
    """Like easy_data, but deer, dogs and horses look exactly like cats. A cat-looking image is
    then a cat one time in four: without class weights a detector says "not cat" to all of
    them (it finds no cat); with them, "cat" (it finds every cat, and lets those three in)."""
    folder = tmp_path_factory.mktemp("hard") / "cifar-10-batches-py"
    looks = {CLASS_NAMES.index(name): CAT for name in LIKE_CATS}
    return make_cifar_folder(folder, n_train=1000, n_test=200, looks=looks)


def run_and_spy(script, *flags):
    """Run the lesson in this process; return its globals, its stdout and, for each fit,
    the model's starting weights and what fit was given."""
    import keras

    fits = []
    fit = keras.Model.fit

    def spy(self, x=None, y=None, **kwargs):
        fits.append({"weights": self.get_weights(), "x": x, "y": y, **kwargs})
        return fit(self, x, y, **kwargs)

    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(printed):
        patch.setattr(keras.Model, "fit", spy)
        names = run_in_process(script, *flags)
    return types.SimpleNamespace(names=names, stdout=printed.getvalue(), fits=fits)


@pytest.fixture(scope="module")
def lesson_run(hard_data, tmp_path_factory, ker5n):
    """One run of the lesson on the hard data: its globals, stdout, fits, JSON and folder."""
    out = tmp_path_factory.mktemp("out")
    run = run_and_spy(SCRIPT, *FAST, "--data-dir", hard_data, "--output-dir", out)
    run.report, run.out = read_json(out / "ker5n_negative_examples.json"), out
    return run


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


def test_an_unknown_class_in_a_detector_list_names_the_valid_ones(ker5n):
    with pytest.raises(LessonError, match="'dogs' is not a CIFAR-10 class") as caught:
        ker5n.class_ids(["dog", "dogs"], detector="cats and dogs")
    assert "airplane, automobile, bird, deer, dog" in str(caught.value)
    with pytest.raises(LessonError, match="'cat' is the class it detects"):
        ker5n.class_ids(["cat"])
    assert ker5n.class_ids(["dog", "frog"]) == [5, 6]


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


def test_the_figure_shows_cats_and_non_cats_of_different_classes(ker5n):
    y_test = np.repeat(np.arange(10), 20)  # sorted by class
    shown = ker5n.shown_images(y_test, seed=0)
    classes = y_test[shown]
    assert len(shown) == ker5n.IMAGES_SHOWN and np.sum(classes == CAT) == len(shown) // 2
    others = classes[classes != CAT]
    assert len(set(others.tolist())) == len(others)  # each non-cat from another class


# --- The effect the lesson shows, on data where the class weights matter ---


def test_the_detectors_differ_only_in_their_training_images(lesson_run):
    names = list(lesson_run.names["detectors"])
    fits = dict(zip(names, lesson_run.fits, strict=True))
    assert list(fits) == [ONLY, WITH]
    only, with_negatives = fits[ONLY], fits[WITH]
    for a, b in zip(only["weights"], with_negatives["weights"], strict=True):
        np.testing.assert_array_equal(a, b)  # the same starting weights
    assert only["epochs"] == with_negatives["epochs"] == 3
    x_train, y_train = lesson_run.names["x_train"], lesson_run.names["y_train"]
    np.testing.assert_allclose(only["x"], x_train[y_train == CAT] / 255.0, rtol=1e-6)
    assert only["y"].tolist() == [1.0] * int(np.sum(y_train == CAT))
    np.testing.assert_allclose(with_negatives["x"], x_train / 255.0, rtol=1e-6)  # every image
    np.testing.assert_array_equal(with_negatives["y"], (y_train == CAT).astype("float32"))
    # The class weights fit was given: each label's images weigh the same in total.
    assert with_negatives["class_weight"] == pytest.approx({0: 1000 / 1800, 1: 1000 / 200})
    assert only["class_weight"] == {1: 1.0}


def test_without_negatives_the_detector_calls_most_non_cats_cat(lesson_run):
    only = lesson_run.report["detectors"][ONLY]
    assert only["noncat_rejection"] < 0.5  # most non-cats are called "cat"
    assert only["cat_recall"] > 0.9
    assert only["train_noncats"] == 0 and only["train_cats"] == 100


def test_with_negatives_and_class_weights_the_detector_learns_what_a_cat_looks_like(
    lesson_run,
):
    only = lesson_run.report["detectors"][ONLY]
    with_negatives = lesson_run.report["detectors"][WITH]
    assert with_negatives["noncat_rejection"] >= only["noncat_rejection"] + 0.4
    assert with_negatives["train_cats"] == 100 and with_negatives["train_noncats"] == 900
    # A cat-looking image is a cat one time in four. Unweighted, "not cat" would be right
    # three times in four, and the detector would find no cat; the weights make it say "cat".
    assert with_negatives["cat_recall"] > 0.8
    said = with_negatives["called_cat_per_class"]
    for name in CLASS_NAMES:
        if name in LIKE_CATS:
            assert said[name] > 0.5, name  # it can't tell these from cats
        elif name != "cat":
            assert said[name] < 0.5, name  # it learned to reject these


def test_the_run_prints_the_comparison_and_saves_figure_and_json(lesson_run, ker5n):
    stdout, data, out = lesson_run.stdout, lesson_run.report, lesson_run.out
    assert "cats found" in stdout and "non-cats rejected" in stdout
    assert "measured on all 200 test images" in stdout
    for name in (ONLY, WITH):
        assert name in stdout
    shares = [line.split() for line in stdout.splitlines() if line.startswith("  dog ")]
    expected = [f"{data['detectors'][d]['called_cat_per_class']['dog']:.1%}" for d in (ONLY, WITH)]
    assert shares == [["dog", *expected]]
    assert data["train_images"] == 1000 and data["test_images"] == 200
    assert data["test_cats"] == 20 and data["epochs"] == 3 and data["quick"] is True
    assert data["params"] == ker5n.build_model().count_params()
    figure = out / "ker5n_negative_examples.png"
    assert data["figure"] == str(figure) and figure.stat().st_size > 10_000


# --- Live edits an instructor might make ---


def test_a_third_detector_and_a_changed_model_show_up_everywhere(tmp_path, easy_data, ker5n):
    dense = '            layers.Dense(64, activation="relu"),  # (batch, 64)\n'
    edits = [THIRD, (dense, dense + '            layers.Dense(32, activation="relu"),\n')]
    text = (ROOT / SCRIPT).read_text(encoding="utf-8")
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    copy = tmp_path / SCRIPT
    copy.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    run = run_and_spy(copy, *FAST, "--data-dir", easy_data, "--output-dir", out)
    data = read_json(out / "ker5n_negative_examples.json")
    assert list(data["detectors"]) == [ONLY, "cats and dogs", WITH]
    dogs = data["detectors"]["cats and dogs"]
    assert dogs["negatives"] == ["dog"] and dogs["train_noncats"] == 100
    assert dogs["called_cat_per_class"]["dog"] < 0.5  # the one class it was shown as "not cat"
    assert "cats and dogs" in run.stdout
    assert (out / "ker5n_negative_examples.png").stat().st_size > 10_000
    before = ker5n.build_model().count_params()
    # Dense(32) adds 64·32 + 32; the output Dense(1) now reads 32 numbers instead of 64.
    expected = before + (64 * 32 + 32) - (64 - 32)
    assert data["params"] == expected
    assert f"{expected:,} parameters" in run.stdout


def test_a_third_detector_added_in_the_notebook_trains_without_reloading_the_data(
    tmp_path, easy_data
):
    flags = [*FAST, "--epochs", "1"]  # the reruns are what this checks, not the learning
    notebook = execute_checked_notebook(
        SCRIPT,
        *flags,
        *("--data-dir", easy_data, "--output-dir", tmp_path),
        tmp_path=tmp_path,
        edit=THIRD,
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


def test_a_typo_in_a_detector_list_is_one_clear_line_before_any_training(tmp_path, easy_data):
    typo = (THIRD[0], '    "cats only": [],\n    "cats and dogs": ["dogs"],\n')
    result, _ = run_edited_copy(
        tmp_path, SCRIPT, [typo], *FAST, "--data-dir", easy_data, "--output-dir", tmp_path
    )
    assert_clean_error(result)
    assert "'dogs' is not a CIFAR-10 class" in result.stderr
    assert "dog, frog, horse, ship, truck" in result.stderr
    assert "training '" not in result.stdout  # it stopped before training the first detector


def test_bad_inputs_stop_with_a_lesson_error(tmp_path, easy_data, unwritable_dir, ker5n):
    """Each bad input, run in this process; the subprocess test above shows the one line."""
    cases = [
        (["--data-dir", tmp_path / "nope"], "no such CIFAR-10 folder"),
        (["--data-dir", easy_data, "--output-dir", unwritable_dir], "cannot write"),
        (["--epochs", "0"], "must be at least 1"),
    ]
    for flags, message in cases:
        with pytest.raises(LessonError, match=message):
            run_in_process(SCRIPT, "--no-show", "--output-dir", tmp_path, *flags)


def test_offline_without_data_says_how_to_get_it(monkeypatch, tmp_path, ker5n):
    import keras

    import common.cifar10 as cifar10

    def no_network():
        raise Exception("URL fetch failure on https://www.cs.toronto.edu/: None -- no network")

    monkeypatch.delenv("CIFAR10_DIR", raising=False)
    monkeypatch.setattr(cifar10, "LOCAL_FOLDER", tmp_path / "no-data-here")  # not data/...
    monkeypatch.setattr(keras.datasets.cifar10, "load_data", no_network)
    with pytest.raises(LessonError) as caught:
        run_in_process(SCRIPT, "--no-show", "--output-dir", tmp_path)
    text = str(caught.value)
    assert "could not download" in text and "--data-dir" in text and "\n" not in text


def test_the_figure_draws_the_said_cat_bars_the_terminal_prints(ker5n):
    results = {
        ONLY: {"cat_recall": 1.0, "noncat_rejection": 0.0, "negatives": []},
        "cats and dogs": {"cat_recall": 0.8, "noncat_rejection": 0.3, "negatives": ["dog"]},
    }
    rng = np.random.default_rng(0)
    for r in results.values():
        r["called_cat_per_class"] = {name: float(rng.random()) for name in CLASS_NAMES}
    y_test = np.repeat(np.arange(10), 4)
    x_test = np.zeros((40, 32, 32, 3), np.uint8)
    p_cats = {name: rng.random(40) for name in results}
    fig = ker5n.plot_comparison(results, p_cats, x_test, y_test, what="40 test images")
    per_class = fig.axes[1]
    bars = [p for p in per_class.patches if p.get_height() > 0]
    for k, r in enumerate(results.values()):  # each detector's bars, in the class order
        mine = bars[k * 10 : (k + 1) * 10]
        heights = [bar.get_height() for bar in mine]
        assert heights == pytest.approx([r["called_cat_per_class"][n] for n in CLASS_NAMES])
        solid = [CLASS_NAMES[i] for i, bar in enumerate(mine) if not bar.get_hatch()]
        assert solid == ["cat", *r["negatives"]]  # shown in training; the rest hatched
    verdicts = [t.get_text() for ax in fig.axes[2:] for t in ax.texts]
    cat = CLASS_NAMES.index("cat")
    for ax, i in zip(fig.axes[2:], ker5n.shown_images(y_test), strict=True):
        for text, (name, p_cat) in zip(
            [t.get_text() for t in ax.texts], p_cats.items(), strict=True
        ):
            says_cat = p_cat[i] >= ker5n.THRESHOLD
            mark = "✓" if says_cat == (y_test[i] == cat) else "✗"
            assert text.startswith(f"{name}:\n{mark} {'cat' if says_cat else 'not cat'}")
    assert len(verdicts) == 2 * ker5n.IMAGES_SHOWN
    import matplotlib.text

    sizes = [t.get_fontsize() for t in fig.findobj(matplotlib.text.Text) if t.get_text().strip()]
    assert min(sizes) >= 9
