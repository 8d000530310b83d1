"""Every lesson as a notebook: converted by jupytext, its cells run in order in a Jupyter kernel.

Each lesson runs in its quick settings on the tests' tiny data. Its output must be spread over
its steps (no cell runs the whole lesson), and its figures must appear inline, under the
cells that draw them.
"""

import json
from pathlib import Path

import pytest
from cifar_data import make_cifar_folder
from conftest import ROOT, cell_outputs, execute_notebook, read_json, run_script

from common.files import SMALLEST_FONT

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


# Run in the kernel before the lesson: every figure the lesson saves is checked for text
# smaller than the smallest font the figures allow, and logged with its smallest size.
FIGURE_PROBE = """
import json, matplotlib.figure, matplotlib.text
_savefig = matplotlib.figure.Figure.savefig
def _probe(self, *args, **kwargs):
    self.canvas.draw()  # lay the text out as it will be saved
    sizes = [t.get_fontsize() for t in self.findobj(matplotlib.text.Text)
             if t.get_visible() and t.get_text().strip()]
    with open({log!r}, "a") as log:
        log.write(json.dumps(min(sizes, default=99)) + "\\n")
    return _savefig(self, *args, **kwargs)
matplotlib.figure.Figure.savefig = _probe
"""


def inline_images(outputs):
    """How many figures a cell drew inline (PNG images in its outputs)."""
    return sum("image/png" in output.get("data", {}) for output in outputs)


@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_runs_as_a_notebook_with_its_output_under_each_step(
    lesson, tiny_data, request, tmp_path
):
    model = request.getfixturevalue("tiny_model") if lesson == "ker6_predict.py" else None
    flags = [flag.format(model=model, tmp=tmp_path) for flag in FLAGS.get(lesson, [])]
    log = tmp_path / "figure-fonts.jsonl"
    notebook = execute_notebook(
        lesson,
        *("--quick", "--output-dir", tmp_path, *flags),
        env={"CIFAR10_DIR": tiny_data},
        setup_code=FIGURE_PROBE.format(log=str(log)),
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
    # One style: every saved figure's file starts with the lesson's name, no text under 9 pt.
    printed = "".join(o.get("text", "") for _, cell in outputs for o in cell)
    saved = [
        line.removeprefix("figure: ")
        for line in printed.splitlines()
        if line.startswith("figure: ")
    ]
    assert saved, "no figure saved"
    stem = lesson.removesuffix(".py")
    assert all(Path(path).name.startswith(stem) for path in saved), saved
    smallest = [json.loads(line) for line in log.read_text().splitlines()]
    assert min(smallest) >= SMALLEST_FONT, f"text of {min(smallest)} pt in a figure"


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
    assert results["max_abs_diff_interior"] <= 1e-3  # float32 sums: any backend
