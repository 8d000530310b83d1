"""Tests for ker4u_universal_approximator.py: sizes, the two effects it shows, and its words."""

from pathlib import Path

import matplotlib.mathtext
import matplotlib.text
import numpy as np
import pytest
from conftest import ROOT, assert_clean_error, read_json, run_in_process, run_script

from common import files
from common.formulas import formula
from common.lesson import load_definitions

SCRIPT = "ker4u_universal_approximator.py"
FIGURE = "ker4u_universal_approximator.png"
MUTATIONS = [  # (lesson, text, replacement, what it breaks): tests/mutants.py applies each
    (
        "ker4u_universal_approximator.py",
        "return round((params - 1) / 3)",
        "return round((params - 1) / 2)",
        "the 'same size' network gets half again as many parameters as the deep one",
    ),
    (
        "ker4u_universal_approximator.py",
        '"rms_error": float(np.sqrt(np.mean((y_fit - y_test) ** 2))),',
        '"rms_error": float(np.mean(np.abs(y_fit - y_test))),',
        "the mean absolute error, printed and plotted as the RMS error",
    ),
    (
        "ker4u_universal_approximator.py",
        "    if ratio > 1:",
        "    if ratio > 0:",
        "the title and printout say depth's error is lower whatever the run found",
    ),
    (
        "ker4u_universal_approximator.py",
        '    if deep["params"] == twin["params"]:',
        "    if True:",
        "'the same number of parameters' said of networks of different sizes",
    ),
    (
        "ker4u_universal_approximator.py",
        "target_text, target_math = formula(target)",
        'target_text, target_math = "sin(4*pi*x)", r"$\\sin(4 \\pi x)$"',
        "an edited target is still named sin(4 pi x) in the printout, JSON and figure",
    ),
    (
        "ker4u_universal_approximator.py",
        "    keras.utils.set_random_seed(settings.seed)  # every network starts from the same seed",
        "    pass",
        "a network's first weights depend on the networks built before it",
    ),
    (
        "ker4u_universal_approximator.py",
        "baseline = float(np.std(y_test))",
        "baseline = float(np.sqrt(np.mean(y_test**2)))",
        "'predicting the mean' scored as predicting 0, right only for curves of mean 0",
    ),
]


@pytest.fixture(scope="module")
def lesson():
    """The lesson's functions and constants, none of its steps run."""
    return load_definitions(SCRIPT)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """One quick run as a student starts it: (CompletedProcess, output folder)."""
    out = tmp_path_factory.mktemp("quick")
    result = run_script(SCRIPT, "--quick", "--no-show", "--output-dir", out)
    assert result.returncode == 0, result.stderr[-3000:]
    return result, out


def test_parameter_counts_and_the_same_size_width(lesson):
    for n in (1, 4, 300):
        assert lesson.build_shallow(n).count_params() == 3 * n + 1  # n weights, n biases, n + 1
    deep = lesson.build_deep((20, 20, 20)).count_params()
    assert deep == 2 * 20 + 2 * (20 * 20 + 20) + 20 + 1 == 901
    assert lesson.same_size_width(deep) == 300
    assert lesson.build_shallow(lesson.same_size_width(deep)).count_params() == deep


def test_target_is_four_waves(lesson):
    x = np.linspace(-1, 1, lesson.TRAIN_POINTS, dtype=np.float32)[:, None]
    inside = lesson.target(x)[1:-1, 0]  # the 510 inner points miss every zero
    crossings = (inside[:-1] * inside[1:] < 0).sum()
    assert crossings == 7  # sin(4 pi x) on [-1, 1]: zero at 9 points, 7 of them inside


def test_formula_reads_the_curve_from_the_function():
    def sine(x):
        """A docstring is not the formula."""
        return np.sin(4 * np.pi * x)

    def absolute(x):
        return np.abs(x)

    def step(x):
        return np.where(x < 0, -1.0, 1.0)

    def mixed(x):
        return -x * (x - 1) + np.sqrt(abs(x)) / 2

    def two_lines(x):
        y = np.abs(x)
        return y

    assert formula(sine) == ("sin(4*pi*x)", r"$\sin(4 \pi x)$")
    assert formula(absolute) == ("abs(x)", "$|x|$")
    assert formula(step) == ("where(x < 0, -1.0, 1.0)", r"$\mathrm{where}(x < 0, -1, 1)$")
    assert formula(mixed) == ("-x*(x - 1) + sqrt(abs(x)) / 2", r"$-x (x - 1) + \sqrt{|x|}/2$")
    assert formula(two_lines) == ("two_lines(x)", r"$\mathrm{two\_lines}(x)$")  # no guessing
    parser = matplotlib.mathtext.MathTextParser("agg")
    for function in (sine, absolute, step, mixed, two_lines):
        parser.parse(formula(function)[1])  # mathtext draws each (raises ValueError if not)


def test_quick_run_shows_both_effects(quick_run):
    result, out = quick_run
    summary = read_json(out / "ker4u_universal_approximator.json")
    errors = [summary[f"rms_error_shallow_{n}"] for n in summary["shallow_widths"]]
    assert summary["shallow_widths"] == [4, 16, 64, 256]
    # Predicting the mean everywhere scores sin's RMS, 1/sqrt(2); four units barely beat it.
    assert summary["rms_error_mean_baseline"] == pytest.approx(1 / np.sqrt(2), abs=1e-3)
    assert "predicting the mean everywhere: RMS error 0.707" in result.stdout
    # One hidden layer: more units, smaller error.
    assert errors[0] > 0.5 and errors[-1] < 0.5 * errors[0]
    assert errors[2] < errors[0] and errors[3] < errors[1]
    # The deeper network of the same size does far better.
    assert summary["params_deep"] == summary["params_same_size_shallow"] == 901
    assert summary["same_size_width"] == 300
    assert summary["rms_error_deep"] < 0.5 * summary["rms_error_same_size_shallow"]
    ratio = summary["rms_error_same_size_shallow"] / summary["rms_error_deep"]
    assert "same number of parameters (901): RMS error" in result.stdout
    assert f"depth's error is {ratio:.1f}x lower" in result.stdout
    assert summary["target"] == "sin(4*pi*x) on [-1, 1]"
    assert "fitting y = sin(4*pi*x) on [-1, 1]" in result.stdout
    assert (out / FIGURE).stat().st_size > 10_000
    for name in ("shallow_4", "shallow_256", "deep", "same_size_shallow"):
        assert any(line.startswith(name + " ") for line in result.stdout.splitlines()), name
    assert "20 x 20 x 20" in result.stdout  # the deep network's layers, read from the model


def test_another_seed_its_rms_errors_and_the_order_of_networks(quick_run, tmp_path):
    # Seed 1 (seed 0 is the quick run; docs/measurements.md has seeds 0-8): depth still wins.
    run = run_in_process(
        SCRIPT, "--seed", 1, "--widths", "4,64", "--no-show", "--output-dir", tmp_path
    )
    results = run["results"]
    assert list(results) == ["shallow_4", "shallow_64", "deep", "same_size_shallow"]
    assert results["shallow_64"]["rms_error"] < 0.5 * results["shallow_4"]["rms_error"]
    deep, twin = results["deep"], results["same_size_shallow"]
    assert deep["rms_error"] < 0.5 * twin["rms_error"], (deep["rms_error"], twin["rms_error"])
    assert read_json(tmp_path / "ker4u_universal_approximator.json")["seed"] == 1
    # The RMS error is the root of the mean squared difference from sin(4 pi x) on 1001
    # points, computed here from the fits alone.
    x = np.linspace(-1, 1, 1001)
    for name, r in results.items():
        rms = np.sqrt(np.mean((r["fit"][:, 0] - np.sin(4 * np.pi * x)) ** 2))
        assert r["rms_error"] == pytest.approx(rms, rel=1e-4), name

    # A network's numbers depend on the seed, not on the networks trained before it: seed 0
    # with the widths the other way round gives the quick run's errors.
    other_order = run_in_process(
        SCRIPT, "--widths", "64,4", "--no-show", "--output-dir", tmp_path / "other"
    )["results"]
    quick = read_json(quick_run[1] / "ker4u_universal_approximator.json")
    for name in ("shallow_4", "shallow_64", "deep", "same_size_shallow"):
        assert other_order[name]["rms_error"] == pytest.approx(quick[f"rms_error_{name}"], rel=1e-3)


def fake_results(deep_error, twin_error, twin_params=901):
    """Results as the lesson computes them, with made-up errors, for the title's words."""
    x = np.linspace(-1, 1, 11)[:, None]
    row = lambda layers, params, error: {  # noqa: E731
        "layers": layers,
        "params": params,
        "rms_error": error,
        "fit": np.zeros_like(x),
    }
    return x, {
        "shallow_4": row("4", 13, 0.6),
        "shallow_64": row("64", 193, 0.2),
        "deep": row("20 x 20 x 20", 901, deep_error),
        "same_size_shallow": row(str((twin_params - 1) // 3), twin_params, twin_error),
    }


def figure_text(fig):
    """Every visible text of a figure, joined."""
    return " | ".join(t.get_text() for t in fig.findobj(matplotlib.text.Text) if t.get_visible())


def test_the_titles_say_what_the_run_found(lesson):
    # Equal sizes and depth ahead: the same number of parameters, the ratio from the errors.
    x, results = fake_results(0.02, 0.1)
    text = figure_text(lesson.plot_fits(x, np.sin(x), results, (4, 64), "$|x|$", 0.7))
    assert "the same number of parameters (901)" in text
    assert "depth's error is 5.0x lower" in text
    assert "fewer" not in text  # the old title's claim, false when the sizes are equal
    # Different sizes, and depth behind: the title says both.
    x, results = fake_results(0.2, 0.1, twin_params=904)
    text = figure_text(lesson.plot_fits(x, np.sin(x), results, (4, 64), "$|x|$", 0.7))
    assert "about the same number of parameters (901 and 904)" in text
    assert "depth's error is not lower (2.0x higher)" in text
    assert "lower." not in text.replace("not lower", "")


def edited_run(tmp_path, monkeypatch, new_target):
    """The lesson with another target (and 20 steps, enough to name things), run here.

    Returns (its globals, its stdout, the text of each figure it saved by file name).
    """
    text = (ROOT / SCRIPT).read_text(encoding="utf-8")
    for old, new in (
        ("    return np.sin(4 * np.pi * x)", f"    return {new_target}"),
        ("STEPS = 2000", "STEPS = 20"),
    ):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    copy = tmp_path / SCRIPT
    copy.write_text(text, encoding="utf-8")
    saved, save = {}, files.save_figure

    def save_and_read(fig, path, **kwargs):
        saved[Path(path).name] = figure_text(fig)
        return save(fig, path, **kwargs)

    monkeypatch.setattr(files, "save_figure", save_and_read)
    run = run_in_process(copy, "--widths", "4", "--no-show", "--output-dir", tmp_path / "out")
    return run, saved


@pytest.mark.parametrize(
    "new_target, text, math, curve",
    [
        ("np.abs(x)", "abs(x)", "$|x|$", np.abs),
        (
            "np.where(x < 0, -1.0, 1.0)",
            "where(x < 0, -1.0, 1.0)",
            "where",
            lambda x: np.where(x < 0, -1.0, 1.0),
        ),
    ],
)
def test_an_edited_target_is_named_everywhere(
    new_target, text, math, curve, tmp_path, monkeypatch, capsys
):
    run, saved = edited_run(tmp_path, monkeypatch, new_target)
    printed = capsys.readouterr().out
    assert f"the curve to fit: y = {text} on [-1, 1]" in printed
    assert f"fitting y = {text} on [-1, 1]" in printed
    assert "sin" not in printed
    summary = read_json(tmp_path / "out" / "ker4u_universal_approximator.json")
    assert summary["target"] == f"{text} on [-1, 1]"
    x = np.linspace(-1, 1, 1001)
    assert summary["rms_error_mean_baseline"] == pytest.approx(np.std(curve(x)), abs=1e-6)
    for figure in (saved[FIGURE], figure_text(run["fig"])):  # the saved one, the data's
        assert math in figure and "sin" not in figure


@pytest.mark.parametrize("widths", ["4,0", "four", ""])
def test_bad_widths_give_one_clear_line(widths, tmp_path):
    result = run_script(SCRIPT, "--widths", widths, "--no-show", "--output-dir", tmp_path)
    assert_clean_error(result)
    assert "--widths" in result.stderr


@pytest.mark.parametrize("seed", ["-1", "4294967296"])
def test_a_seed_out_of_range_gives_one_clear_line(seed, tmp_path):
    result = run_script(SCRIPT, "--seed", seed, "--no-show", "--output-dir", tmp_path)
    assert_clean_error(result)
    assert "--seed" in result.stderr and "0 to 4294967295" in result.stderr
    assert not any(tmp_path.iterdir())  # nothing written
