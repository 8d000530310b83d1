"""Running a lesson: its settings and flags, and errors a student can act on.

A lesson is a script in cells (jupytext's percent format). Its settings cell calls
`lesson_settings`, which reads the flags on the command line, or, in a notebook, keeps the
values written in the cell. From then on, bad input (LessonError) ends the run with one
`error:` line: exit code 2 in a script, one line under the cell in a notebook.

Tests and benches use a lesson's functions through `load_definitions`, which runs the
lesson's imports, functions and UPPER_CASE constants, and none of its steps.
"""

import argparse
import ast
import os
import shlex
import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLAGS_ENV = "LESSON_FLAGS"  # in a notebook: flags to apply (the tests and the pages set it)
SEED_MAX = 2**32 - 1  # NumPy's and Keras' seeds are unsigned 32-bit integers


class LessonError(Exception):
    """Bad input the student can fix; the message is the one line they see."""


def first_line(error, limit=160):
    """The first line of an exception's message (or its type's name), for a one-line error."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:limit]


# --- Settings and flags ---


def setting(default, help, *, quick=None, choices=None, type=None, nargs=None):
    """One setting of a lesson: its default, what it means, and its value with --quick.

    A bool setting is a switch: --name turns on a False default, --no-name turns off a True
    one. nargs="*" makes it the positional arguments (a list). type checks and converts a
    typed value (default: the default's own type).
    """
    return {
        "default": default,
        "help": help,
        "quick": quick,
        "choices": choices,
        "type": type,
        "nargs": nargs,
    }


def positive_int(text):
    """argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def positive_float(text):
    """argparse type: a finite number above 0."""
    value = float(text)
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def seed_value(text):
    """argparse type: a random seed, 0 to 2**32 - 1, the range NumPy and Keras accept."""
    value = int(text)
    if not 0 <= value <= SEED_MAX:
        raise argparse.ArgumentTypeError(f"must be 0 to {SEED_MAX}, got {value}")
    return value


class _Parser(argparse.ArgumentParser):
    """argparse whose mistakes are one `error:` line and exit code 2, like any bad input."""

    def error(self, message):
        raise LessonError(f"{message} (see --help)")


def _flag(name):
    """The command-line spelling of a setting: batch_size -> --batch-size."""
    return "--" + name.replace("_", "-")


def _add_setting(parser, name, spec):
    """One setting as a flag whose help says its default (and its --quick value)."""
    default, quick = spec["default"], spec["quick"]
    words = {None: "none", True: "on", False: "off"}  # not for 0 or 1, which equal False, True
    shown = words[default] if default is None or isinstance(default, bool) else default
    said = f"default: {shown}" + (f"; {quick} with --quick" if quick is not None else "")
    help = f"{spec['help']} ({said})"
    if spec["nargs"]:  # the positional arguments, such as ker6's image files
        parser.add_argument(name, nargs=spec["nargs"], default=None, help=help)
    elif isinstance(default, bool):
        flag = "--no-" + name.replace("_", "-") if default else _flag(name)
        action = "store_false" if default else "store_true"
        parser.add_argument(flag, dest=name, action=action, default=None, help=help)
    else:
        parser.add_argument(
            _flag(name),
            dest=name,
            type=spec["type"] or (type(default) if default is not None else str),
            choices=spec["choices"],
            default=None,  # None: not typed, so the cell's value (or --quick's) applies
            metavar=None if spec["choices"] else name.upper(),
            help=help,
        )


def in_notebook():
    """True inside a Jupyter kernel (JupyterLab, VS Code, PyCharm, the page builder)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython else None
    return type(shell).__name__ == "ZMQInteractiveShell"


def lesson_settings(title, *, quick=False, keras=False, **settings):
    """The lesson's settings as a namespace: the values given here, or typed as flags.

    On the command line each setting is a flag (`epochs` is `--epochs`), besides the flags
    every lesson takes: --quick, --output-dir and --no-show, and --verbose where Keras runs.
    A typed flag always wins; with --quick, a setting's quick value replaces its default.
    In a notebook there are no flags (unless $LESSON_FLAGS holds some): edit the cell.
    """
    use_one_line_errors()
    parser = _Parser(description=title)
    quick_values = {n: s["quick"] for n, s in settings.items() if s["quick"] is not None}
    what = ", ".join(f"{n.replace('_', ' ')} {v}" for n, v in quick_values.items())
    for name, spec in settings.items():
        _add_setting(parser, name, spec)
    parser.add_argument(
        "--quick",
        action="store_true",
        default=None,
        help=f"a class demo: {what} (default: {'on' if quick else 'off'})"
        if what
        else "accepted by every lesson; this one is quick already, so nothing changes",
    )
    parser.add_argument(
        "--output-dir",
        default=ROOT / "outputs",
        type=Path,
        help="where the figures and the JSON of results go (default: outputs/ beside the lessons)",
    )
    parser.add_argument(
        "--no-show", action="store_true", help="save the figures, open no window (default: off)"
    )
    if keras:
        parser.add_argument(
            "--verbose",
            action="store_true",
            help="show TensorFlow's start-up messages and Keras' progress (default: off)",
        )
    if in_notebook():
        argv = shlex.split(os.environ.get(FLAGS_ENV, ""))
    else:
        argv = sys.argv[1:]
    parsed = parser.parse_args(argv)
    parsed.quick = bool(quick) or bool(parsed.quick)
    for name, spec in settings.items():
        if getattr(parsed, name) in (None, []):  # not typed: the cell's value, or --quick's
            use_quick = parsed.quick and spec["quick"] is not None
            setattr(parsed, name, spec["quick"] if use_quick else spec["default"])
    if not keras:
        parsed.verbose = False
    return parsed


# --- Errors a student can act on ---


def _one_line_in_a_script(kind, error, traceback):
    """sys.excepthook: a LessonError is one stderr line and exit code 2 (or its exit_code);
    Ctrl-C is 130."""
    if issubclass(kind, LessonError):
        code, line = getattr(error, "exit_code", 2), f"error: {error}"
    elif issubclass(kind, KeyboardInterrupt):
        code, line = 130, "interrupted"
    else:
        sys.__excepthook__(kind, error, traceback)  # a bug: the whole traceback helps
        return
    sys.stdout.flush()
    print(line, file=sys.stderr, flush=True)
    os._exit(code)  # the exit code Python can't give from a hook; finally blocks already ran


def _one_line_in_a_notebook(shell, kind, error, traceback, tb_offset=None):
    """IPython's handler for LessonError: the cell shows one line and the run stops there."""
    print(f"error: {error}", file=sys.stderr)


def use_one_line_errors():
    """From now on, bad input ends the lesson with one `error:` line instead of a traceback."""
    if in_notebook():
        shell = sys.modules["IPython"].get_ipython()
        shell.set_custom_exc((LessonError,), _one_line_in_a_notebook)
    else:
        sys.excepthook = _one_line_in_a_script


# --- The slides' code, run as the slide prints it ---


def try_code(code, namespace):
    """Run code as written in a copy of namespace; return the error it raises, or None."""
    try:
        exec(code, dict(namespace))  # the slide's text itself runs, not a copy of it
    except Exception as error:  # whatever the line raises is what a student who copies it meets
        return error
    return None


def check_slide_code(entries, namespace, indent=" " * 4):
    """For each {"slide", "snippet", "fix"}: print the snippet, its error, and the fix; report."""
    report = []
    for entry in entries:
        error = try_code(entry["snippet"], namespace)
        fix_error = try_code(entry["fix"], namespace)
        report.append(
            {
                **entry,
                "error_type": type(error).__name__ if error else None,
                "error": first_line(error) if error else None,
                "fix_runs": fix_error is None,
                "fix_error": first_line(fix_error) if fix_error else None,
            }
        )
        said = f"{type(error).__name__}: {first_line(error)}" if error else "runs"
        print(f'slide "{entry["slide"]}": {entry["snippet"]}')
        print(f"{indent}Keras 3: {said}")
        print(f"{indent}works  : {entry['fix']}" + ("" if fix_error is None else " (FAILS)"))
    return report


# --- A lesson's definitions, for tests and benches ---


def _is_definition(node):
    """Imports, functions, classes and UPPER_CASE constants; everything else is a step."""
    if isinstance(node, ast.Import | ast.ImportFrom | ast.FunctionDef | ast.ClassDef):
        return True
    if isinstance(node, ast.Assign | ast.AnnAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        names = [n for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
        return bool(names) and all(n.id.isupper() for n in names)
    if isinstance(node, ast.With):  # imports inside `with stderr_silenced():` are imports too
        return all(isinstance(n, ast.Import | ast.ImportFrom) for n in node.body)
    return False


def load_definitions(lesson):
    """The lesson's imports, functions, classes and constants, without running its steps.

    lesson is a file name ("ker5_cifar10_cnn.py" or without .py) in the project folder, or
    a path. As d2l and nbdev export a notebook's definitions, so tests and benches use them.
    """
    path = Path(lesson)
    if not path.suffix:
        path = path.with_suffix(".py")
    if not path.is_absolute() and not path.exists():
        path = ROOT / path
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    tree.body = [node for node in tree.body if _is_definition(node)]
    module = types.ModuleType(path.stem, f"the definitions of {path.name}")
    module.__file__ = str(path)
    exec(compile(tree, str(path), "exec"), module.__dict__)
    return module
