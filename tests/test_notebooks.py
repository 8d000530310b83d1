"""Every lesson as a notebook: converted by jupytext, its cells run in order in a Jupyter kernel.

Each lesson runs in its quick settings on the tests' tiny data. Its output must be spread over
its steps (no cell runs the whole lesson), and its figures must appear inline, under the
cells that draw them.
"""

import pytest
from cifar_data import make_cifar_folder
from conftest import ROOT, execute_checked_notebook, read_json

LESSONS = sorted(path.name for path in ROOT.glob("ker[0-9]*_*.py"))
# These lessons' notebooks are run, checked the same way (execute_checked_notebook) and then
# edited in class by a test of their own: one run each, not two.
EDITED_ELSEWHERE = {
    "ker2_sobel_keras.py": "tests/test_notebooks.py",
    "ker3_learn_kernel.py": "tests/test_ker3_learn_kernel.py",
    "ker4_learn_canny.py": "tests/test_ker4_learn_canny.py",
    "ker4v_layers_and_tensors.py": "tests/test_ker4v_layers_and_tensors.py",
    "ker5_cifar10_cnn.py": "tests/test_ker5_cifar10_cnn.py",
    "ker5n_negative_examples.py": "tests/test_ker5n_negative_examples.py",
}
FLAGS = {  # what each lesson needs beyond --quick to run offline on the tiny data
    # fewer steps: its cells' output and figures are what this checks (its results: its tests)
    "ker3t_training_pitfalls.py": ["--epochs", "3", "--kernel-steps", "10"],
    "ker4u_universal_approximator.py": ["--widths", "4,64"],
    "ker6_predict.py": ["--model", "{model}"],
    "ker7_pretrained.py": ["--offline", "--weights", "none"],
}


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    """The tiny CIFAR-10 folder."""
    return make_cifar_folder(tmp_path_factory.mktemp("cifar") / "cifar-10-batches-py")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """ker5's network with its first random weights, saved as .h5 in this process, for ker6's
    notebook: what this checks is that each step shows its output, not what the model knows
    (ker6's own tests load models that ker5 trained, and tests/test_ker6_predict.py chains
    the two lessons)."""
    from predict_files import save_models

    _, paths = save_models(tmp_path_factory.mktemp("models"))
    return next(path for path in paths if path.suffix == ".h5")


@pytest.mark.parametrize("lesson", [name for name in LESSONS if name not in EDITED_ELSEWHERE])
def test_lesson_runs_as_a_notebook_with_its_output_under_each_step(
    lesson, tiny_data, request, tmp_path
):
    model = request.getfixturevalue("tiny_model") if lesson == "ker6_predict.py" else None
    flags = [flag.format(model=model) for flag in FLAGS.get(lesson, [])]
    execute_checked_notebook(
        lesson,
        *("--quick", "--output-dir", tmp_path, *flags),
        tmp_path=tmp_path,
        env={"CIFAR10_DIR": tiny_data},
    )


@pytest.mark.parametrize("lesson", sorted(EDITED_ELSEWHERE))
def test_every_other_lesson_is_checked_as_a_notebook_by_its_edit_test(lesson):
    source = (ROOT / EDITED_ELSEWHERE[lesson]).read_text(encoding="utf-8")
    assert lesson in LESSONS and lesson in source
    assert "execute_checked_notebook(" in source and "edit=" in source


def test_an_edited_model_cell_reruns_without_reloading_the_data(tmp_path):
    laplacian = "np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], np.float32)"
    notebook = execute_checked_notebook(
        "ker2_sobel_keras.py",
        *("--output-dir", tmp_path),
        tmp_path=tmp_path,
        edit=("kernel = SOBEL_X", f"kernel = {laplacian}"),
    )
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    data = next(cell for cell in code if "read_gray(" in cell.source)
    model = next(cell for cell in code if "keras.Model(" in cell.source)
    assert data.execution_count <= len(code)  # ran once, in the first pass
    assert model.execution_count > len(code)  # ran again, after the edit
    results = read_json(tmp_path / "ker2_sobel_keras.json")
    assert results["kernel"] == [[0, 1, 0], [1, -4, 1], [0, 1, 0]]
    assert results["max_abs_diff_interior"] <= 1e-3  # float32 sums: any backend
