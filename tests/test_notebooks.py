"""Every lesson as a notebook: converted by jupytext, its cells run in order in a Jupyter kernel.

Each lesson runs in its quick settings on the tests' tiny data. Its output must be spread over
its steps (no cell runs the whole lesson), and its figures must appear inline, under the
cells that draw them.
"""

import pytest
from cifar_data import make_cifar_folder
from conftest import ROOT, cell_outputs, execute_notebook, read_json, run_script

LESSONS = sorted(path.name for path in ROOT.glob("ker[0-9]*_*.py"))
ONE_CALL_LESSONS = {"ker1_sobel_opencv.py", "ker2_sobel_keras.py"}  # input, call, result
FLAGS = {  # what each lesson needs beyond --quick to run offline on the tiny data
    "ker5_cifar10_cnn.py": ["--model-dir", "{tmp}"],  # not the student's models/
    "ker6_predict.py": ["--model", "{model}"],
    "ker7_pretrained.py": ["--offline", "--weights", "none"],
}


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    """The tiny CIFAR-10 folder."""
    return make_cifar_folder(tmp_path_factory.mktemp("cifar") / "cifar-10-batches-py")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, tiny_data):
    """A model that ker5 trained on the tiny data, for ker6."""
    models = tmp_path_factory.mktemp("models")
    result = run_script(
        "ker5_cifar10_cnn.py",
        *("--quick", "--epochs", "1", "--no-show", "--data-dir", tiny_data),
        *("--model-dir", models, "--output-dir", models),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return next(models.glob("*.h5"))


def inline_images(outputs):
    """How many figures a cell drew inline (PNG images in its outputs)."""
    return sum("image/png" in output.get("data", {}) for output in outputs)


@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_runs_as_a_notebook_with_its_output_under_each_step(
    lesson, tiny_data, request, tmp_path
):
    model = request.getfixturevalue("tiny_model") if lesson == "ker6_predict.py" else None
    flags = [flag.format(model=model, tmp=tmp_path) for flag in FLAGS.get(lesson, [])]
    notebook = execute_notebook(
        lesson,
        *("--quick", "--output-dir", tmp_path, *flags),
        env={"CIFAR10_DIR": tiny_data},
    )
    outputs = cell_outputs(notebook)
    printed = [i for i, cell in outputs if any(o.output_type == "stream" for o in cell)]
    wanted = 2 if lesson in ONE_CALL_LESSONS else 3
    assert len(printed) >= wanted, f"output in cells {printed} only"
    drawn = [i for i, cell in outputs if inline_images(cell)]
    assert drawn, "no figure drawn inline"
    errors = [o for _, cell in outputs for o in cell if o.output_type == "error"]
    assert not errors
    stderr = [o.text for _, cell in outputs for o in cell if o.get("name") == "stderr"]
    assert not any("Traceback" in text for text in stderr)


def test_an_edited_model_cell_reruns_without_reloading_the_data(tmp_path):
    laplacian = "np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], np.float32)"
    notebook = execute_notebook(
        "ker2_sobel_keras.py",
        *("--output-dir", tmp_path),
        edit=("kernel = SOBEL_X", f"kernel = {laplacian}"),
    )
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    data = next(cell for cell in code if "read_gray(" in cell.source)
    model = next(cell for cell in code if "keras.Model(" in cell.source)
    assert data.execution_count <= len(code)  # ran once, in the first pass
    assert model.execution_count > len(code)  # ran again, after the edit
    results = read_json(tmp_path / "ker2_sobel_keras.json")
    assert results["kernel"] == [[0, 1, 0], [1, -4, 1], [0, 1, 0]]
    assert results["max_abs_diff_interior"] <= 1e-4
