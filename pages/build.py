"""Build the lesson pages: run every lesson as a notebook, then render them with Sphinx.

    make pages            # the lessons' real settings (CIFAR-10 from data/, --data-dir's
                          # folder or $CIFAR10_DIR; without it, the page says how to get it)
    make pages QUICK=1    # their quick settings, as in class

Each lesson is converted by jupytext and run top to bottom in a Jupyter kernel (nbclient),
in slide order, writing its figures and models under site-build/, never to outputs/ or
models/. A lesson that stops with its one-line error (no data, offline) keeps the cells it
ran and that line. Sphinx with MyST-NB then renders the executed notebooks into site/,
with the index in slide order built from the README's lesson table.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "site-build"
SITE = ROOT / "site"
LESSON_NAME = re.compile(r"ker\d+[a-z]*_\w+\.py")


def lesson_table():
    """[(lesson file, slides, what you will see)] from the README's lesson table, in order."""
    rows, header = [], None
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.startswith("|"):
            header = None  # a table ended
        elif "what you will see" in cells:
            header = cells
        elif header and len(cells) == len(header):
            names = [m.group(0) for m in map(LESSON_NAME.search, cells) if m]
            if names and names[0] not in [row[0] for row in rows]:
                what = cells[header.index("what you will see")]
                rows.append((names[0], cells[header.index("slides")], what))
    return rows


def flags_for(lesson, quick, data_dir):
    """The lesson's flags for this build: quick or not, and its files under site-build/."""
    flags = ["--output-dir", BUILD / "outputs", "--no-show"]
    if quick:
        flags.append("--quick")
    if lesson.startswith("ker5_"):
        flags += ["--model-dir", BUILD / "models"]
    if lesson.startswith("ker6_"):
        models = sorted((BUILD / "models").glob("cifar10_cnn*.h5"), key=os.path.getmtime)
        flags += ["--model", models[-1] if models else BUILD / "models" / "cifar10_cnn.h5"]
    if data_dir and lesson.split("_")[0] in ("ker4v", "ker5", "ker5n", "ker6"):
        flags += ["--data-dir", data_dir]
    return flags


def execute(lesson, flags, timeout):
    """Run the lesson's cells in order; return (notebook, status, seconds)."""
    notebook = jupytext.read(ROOT / lesson)
    os.environ["LESSON_FLAGS"] = " ".join(str(flag) for flag in flags)
    os.environ.pop("MPLBACKEND", None)  # the kernel draws figures inline
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(ROOT)}},
    )
    start = time.perf_counter()
    try:
        client.execute()
        status = "ok"
    except CellExecutionError:
        status = "stopped"  # the one-line error is in the cell's output
    return notebook, status, time.perf_counter() - start


def first_figure(notebook):
    """The first figure a lesson saved, from the 'figure: path' lines it printed."""
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            for line in output.get("text", "").splitlines():
                if line.startswith("figure: "):
                    return Path(line.removeprefix("figure: ").strip())
    return None


def download_cell(lesson):
    """A markdown cell with the downloads: the script and the notebook."""
    stem = lesson.removesuffix(".py")
    return nbformat.v4.new_markdown_cell(
        f"Download: {{download}}`{lesson} <{lesson}>` (the script) · "
        f"{{download}}`{stem}.ipynb <downloads/{stem}.ipynb>` (the notebook, for Jupyter or "
        "Colab)"
    )


def write_index(table, runs):
    """The index page: the lessons in slide order, each with its slides and its figure."""
    lines = [
        "# Deep learning with Keras: the seminar's lessons",
        "",
        "The seminar on Keras (robotics and computer vision, slides in Slovak), as lessons "
        "that run as scripts and open as notebooks. Each page shows a lesson with the "
        "output of a real run, in the order of the slides.",
        "",
        "| slides | lesson | what you will see | figure |",
        "| --- | --- | --- | --- |",
    ]
    for lesson, slides, what in table:
        stem = lesson.removesuffix(".py")
        run = runs.get(lesson, {})
        thumb = f"![{stem}](thumbnails/{stem}.png)" if run.get("thumbnail") else "(no figure)"
        lines.append(f"| {slides} | [{lesson}]({stem}.ipynb) | {what} | {thumb} |")
    lines += [
        "",
        "The slides' words, in Slovak and in English: [the glossary](docs/glossary.md).",
        "",
    ]
    lines += ["```{toctree}", ":hidden:", ""]
    lines += [lesson.removesuffix(".py") for lesson, _, _ in table]
    lines += ["docs/glossary", "```", ""]
    (BUILD / "src" / "index.md").write_text("\n".join(lines), encoding="utf-8")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the lessons' quick settings")
    parser.add_argument("--data-dir", help="a cifar-10-batches-py folder (default: as lessons)")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    parser.add_argument("--lessons", nargs="*", help="build only these lessons (default: all)")
    args = parser.parse_args()

    shutil.rmtree(BUILD, ignore_errors=True)
    (BUILD / "src" / "thumbnails").mkdir(parents=True)
    (BUILD / "src" / "downloads").mkdir()
    (BUILD / "src" / "docs").mkdir()
    shutil.copy(ROOT / "docs" / "glossary.md", BUILD / "src" / "docs" / "glossary.md")  # linked
    table = lesson_table()
    missing = sorted({p.name for p in ROOT.glob("ker[0-9]*_*.py")} - {r[0] for r in table})
    if missing:
        sys.exit(f"error: the README's lesson table does not list {', '.join(missing)}")
    if args.lessons:
        table = [row for row in table if row[0] in args.lessons]
    runs = {}
    for lesson, _, _ in table:
        flags = flags_for(lesson, args.quick, args.data_dir)
        notebook, status, seconds = execute(lesson, flags, args.timeout)
        print(f"{lesson}: {status} in {seconds:.0f} s", flush=True)
        stem = lesson.removesuffix(".py")
        shutil.copy(ROOT / lesson, BUILD / "src" / lesson)
        jupytext.write(jupytext.read(ROOT / lesson), BUILD / "src" / "downloads" / f"{stem}.ipynb")
        figure = first_figure(notebook)
        if figure and figure.exists():
            shutil.copy(figure, BUILD / "src" / "thumbnails" / f"{stem}.png")
        notebook.cells.insert(1, download_cell(lesson))
        nbformat.write(notebook, BUILD / "src" / f"{stem}.ipynb")
        runs[lesson] = {"status": status, "seconds": seconds, "thumbnail": bool(figure)}
    write_index(table, runs)
    (BUILD / "runs.json").write_text(json.dumps(runs, indent=2))
    # MyST-NB keeps its files in jupyter_execute/ beside the output folder: build under
    # site-build/, then move the finished site into place.
    sphinx = [sys.executable, "-m", "sphinx", "-q", "-b", "html", "-c", ROOT / "pages"]
    subprocess.run([*map(str, sphinx), BUILD / "src", BUILD / "html"], check=True)
    shutil.rmtree(SITE, ignore_errors=True)
    shutil.move(BUILD / "html", SITE)
    print(f"site: {SITE / 'index.html'}")


if __name__ == "__main__":
    main()
