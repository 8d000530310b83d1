"""Shared test plumbing: run a lesson as a student would, as a script or as a notebook.

Three ways to use a lesson, and no other (no test imports a lesson, which would run it):
- run_script: `python kerN_....py flags` in a subprocess, for exit codes, stderr and files;
- run_in_process: the same script run by runpy in this process, for its variables;
- common.lesson.load_definitions: its functions and constants, with none of its steps run.
"""

import contextlib
import importlib.util
import io
import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")  # figures drawn in this process never open a window

from no_tensorflow import block_tensorflow  # noqa: E402

# The backend this test run checks (`make test BACKEND=jax` sets it). Off TensorFlow's backend
# nothing may import TensorFlow: a lesson that did would need it installed beside JAX.
BACKEND = os.environ.get("KERAS_BACKEND", "tensorflow")
HAS_TENSORFLOW = BACKEND == "tensorflow" and importlib.util.find_spec("tensorflow") is not None
if BACKEND != "tensorflow":
    block_tensorflow()
requires_tensorflow = pytest.mark.skipif(
    not HAS_TENSORFLOW,
    reason=f"TensorFlow only (SavedModel, ONNX through tf2onnx); this run is {BACKEND}; "
    "`make test` runs it",
)


def run_script(script, *args, env=None, timeout=600, cwd=ROOT):
    """Run `python script args...` headless; return the CompletedProcess (text mode)."""
    full_env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}
    full_env.pop("DISPLAY", None)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, str(ROOT / script), *map(str, args)],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        cwd=cwd,
    )


def assert_clean_error(result):
    """A bad input gives exit code 2 and one clear line on stderr, without a traceback."""
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: "), lines


def read_json(path):
    """Load a lesson's JSON of results."""
    return json.loads(Path(path).read_text())


@pytest.fixture
def bad_inputs(tmp_path):
    """Paths a student might pass by mistake, keyed by what is wrong with them."""
    import cv2
    import numpy as np

    not_image = tmp_path / "notes.txt"
    not_image.write_text("this is not an image\n")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    good = np.tile(np.linspace(0, 255, 64, dtype=np.uint8), (64, 1))
    ok, jpeg = cv2.imencode(".jpg", good)
    truncated_jpg = tmp_path / "truncated.jpg"
    truncated_jpg.write_bytes(jpeg.tobytes()[: len(jpeg) // 2])
    ok, png = cv2.imencode(".png", good)
    truncated_png = tmp_path / "truncated.png"
    truncated_png.write_bytes(png.tobytes()[: len(png) // 2])
    tiny = tmp_path / "tiny.png"
    cv2.imwrite(str(tiny), good[:2, :2])
    return {
        "missing": tmp_path / "does-not-exist.png",
        "directory": tmp_path,
        "not an image": not_image,
        "empty": empty,
        "truncated jpeg": truncated_jpg,
        "truncated png": truncated_png,
        "smaller than the kernel": tiny,
    }


@pytest.fixture
def unwritable_dir(tmp_path):
    """A path where an output folder can't be created: below a regular file."""
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    return blocker / "outputs"


def edited_copy(tmp_path, lesson, edits):
    """Copy a lesson into tmp_path and change its text as an instructor would; return the copy.

    edits is a list of (old, new) pairs; each old text must appear exactly once in the lesson,
    so a test notices when the lesson it edits has changed.
    """
    text = (ROOT / lesson).read_text(encoding="utf-8")
    for old, new in edits:
        assert text.count(old) == 1, f"{lesson} should contain this exactly once: {old!r}"
        text = text.replace(old, new)
    copy = tmp_path / lesson
    copy.write_text(text, encoding="utf-8")
    return copy


def run_edited_copy(tmp_path, lesson, edits, *args, env=None, timeout=900):
    """The edited copy (edited_copy) run as a script; returns (CompletedProcess, copy)."""
    copy = edited_copy(tmp_path, lesson, edits)
    full_env = {"PYTHONPATH": str(ROOT), **(env or {})}
    return run_script(copy, *args, env=full_env, timeout=timeout), copy


def run_in_process(script, *args, env=None):
    """Run the lesson (or an edited copy's path) as a script (runpy, as `python script args`)
    here; return its globals.

    A LessonError reaches the test as an exception, where a student would see one line.
    """
    saved_argv, saved_hook = sys.argv, sys.excepthook
    with contextlib.ExitStack() as stack:
        for name, value in (env or {}).items():
            stack.enter_context(_env_var(name, value))
        sys.argv = [str(ROOT / script), *map(str, args)]
        try:
            return runpy.run_path(str(ROOT / script), run_name="__main__")
        finally:
            sys.argv, sys.excepthook = saved_argv, saved_hook
            import matplotlib.pyplot as plt

            plt.close("all")
            _reset_keras_globals()


def printed_by(script, *args, env=None):
    """run_in_process, returning what the lesson printed (a traceback fails the test)."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        run_in_process(script, *args, env=env)
    return printed.getvalue()


def _reset_keras_globals():
    """Undo what a lesson set for the whole process: ker5 picks mixed bfloat16 on a CPU that
    has it, and data-parallel training on JAX; a later test in this worker must not inherit
    them (a Conv2D in bfloat16 no longer equals OpenCV)."""
    if "keras" in sys.modules:
        keras = sys.modules["keras"]
        keras.config.set_dtype_policy("float32")
        keras.distribution.set_distribution(None)


@contextlib.contextmanager
def _env_var(name, value):
    """Set (or, with None, unset) one environment variable for the block."""
    old = os.environ.get(name)
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = str(value)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


def execute_notebook(script, *flags, env=None, edit=None, setup_code=None, timeout=900):
    """Convert the lesson with jupytext and run its cells in a Jupyter kernel, in order.

    flags reach the lesson through $LESSON_FLAGS, as a notebook has no command line.
    edit=(old, new): after the run, change the one cell that holds old, as an instructor
    does in class, and run that cell and the ones below it again in the same kernel.
    setup_code runs first, in a cell of its own that is not the lesson's (a test's probe).
    Returns the executed notebook; a cell that fails raises nbclient's CellExecutionError.
    """
    import jupytext
    import nbformat
    from nbclient import NotebookClient

    notebook = jupytext.read(ROOT / script)
    if setup_code:
        notebook.cells.insert(0, nbformat.v4.new_code_cell(setup_code))
    with contextlib.ExitStack() as stack:
        settings = {"LESSON_FLAGS": " ".join(map(str, flags)), "MPLBACKEND": None, **(env or {})}
        for name, value in settings.items():
            stack.enter_context(_env_var(name, value))
        client = NotebookClient(
            notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": ROOT}}
        )
        with client.setup_kernel():
            for index, cell in enumerate(notebook.cells):
                client.execute_cell(cell, index)
            if edit:
                old, new = edit
                edited = [i for i, cell in enumerate(notebook.cells) if old in cell.source]
                assert len(edited) == 1, f"{script}: {old!r} should be in exactly one cell"
                first = edited[0]
                cell = notebook.cells[first]
                cell.source = cell.source.replace(old, new)
                for index in range(first, len(notebook.cells)):
                    client.execute_cell(notebook.cells[index], index)
    return notebook


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
ONE_CALL_LESSONS = {"ker1_sobel_opencv.py", "ker2_sobel_keras.py"}  # input, call, result


def execute_checked_notebook(script, *flags, tmp_path, env=None, edit=None):
    """execute_notebook, then check what every lesson's notebook must show: output under at
    least three of its steps (two for a one-call lesson), a figure drawn inline, no error and
    no traceback, and every saved figure named after the lesson with no text under 9 pt.
    With edit, the checks cover the cells run again after it too."""
    from common.files import SMALLEST_FONT

    log = tmp_path / "figure-fonts.jsonl"
    notebook = execute_notebook(
        script, *flags, env=env, edit=edit, setup_code=FIGURE_PROBE.format(log=str(log))
    )
    outputs = cell_outputs(notebook)
    printed = [i for i, cell in outputs if any(o.output_type == "stream" for o in cell)]
    wanted = 2 if Path(script).name in ONE_CALL_LESSONS else 3
    assert len(printed) >= wanted, f"output in cells {printed} only"
    drawn = [i for i, cell in outputs if any("image/png" in o.get("data", {}) for o in cell)]
    assert drawn, "no figure drawn inline"
    assert not [o for _, cell in outputs for o in cell if o.output_type == "error"]
    stderr = [o.text for _, cell in outputs for o in cell if o.get("name") == "stderr"]
    assert not any("Traceback" in text for text in stderr)
    text = "".join(o.get("text", "") for _, cell in outputs for o in cell)
    saved = [
        line.removeprefix("figure: ") for line in text.splitlines() if line.startswith("figure: ")
    ]
    assert saved, "no figure saved"
    stem = Path(script).stem
    assert all(Path(path).name.startswith(stem) for path in saved), saved
    smallest = [json.loads(line) for line in log.read_text().splitlines()]
    assert min(smallest) >= SMALLEST_FONT, f"text of {min(smallest)} pt in a figure"
    return notebook


def cell_outputs(notebook):
    """[(cell index, outputs)] of the code cells that printed or drew something."""
    return [
        (i, cell.outputs)
        for i, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and cell.outputs
    ]


# With pytest-xdist (`make test`: -n auto --dist loadgroup), a file's tests share one worker,
# so its module fixtures (a trained model, say) are made once; the tests of these files are
# independent of each other, so they spread over the workers and keep them evenly busy, except
# those that share the module fixture named here: they stay together, so it is made once.
SPREAD = {"test_notebooks.py": "tiny_model", "test_live_edits.py": "layers_edited"}


# tryfirst: xdist turns the marks into groups in its own hook of the same name, so they must be
# there before it runs (after it, each test was scheduled alone, and a module fixture was made
# again in each worker that ran one of the module's tests).
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        shared = SPREAD.get(item.path.name)
        if shared is None:
            item.add_marker(pytest.mark.xdist_group(item.path.stem))
        elif shared in item.fixturenames:
            item.add_marker(pytest.mark.xdist_group(f"{item.path.stem}-{shared}"))
    # The workers take the groups in this order (make test passes --no-loadscope-reorder): the
    # files first, the long ones with few tests among them, then the spread tests, short ones
    # that fill in at the end, so that neither worker is left alone with a long file.
    items.sort(key=lambda item: item.path.name in SPREAD)
