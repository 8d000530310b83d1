"""Tests for ker4u_universal_approximator.py: sizes, and the two effects the lesson shows."""

import numpy as np
import pytest
from conftest import assert_clean_error, read_json, run_in_process, run_script

from common.lesson import load_definitions

SCRIPT = "ker4u_universal_approximator.py"


@pytest.fixture(scope="module")
def lesson():
    """The lesson's functions and constants, none of its steps run."""
    return load_definitions(SCRIPT)


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


def test_quick_run_shows_both_effects(tmp_path):
    result = run_script(SCRIPT, "--quick", "--no-show", "--output-dir", tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = read_json(tmp_path / "ker4u_universal_approximator.json")
    errors = [summary[f"rms_error_shallow_{n}"] for n in summary["shallow_widths"]]
    assert summary["shallow_widths"] == [4, 16, 64, 256]
    # One hidden layer: more units, smaller error (sin itself has RMS 0.71).
    assert errors[0] > 0.5 and errors[-1] < 0.5 * errors[0]
    assert errors[2] < errors[0] and errors[3] < errors[1]
    # The deeper network of the same size does far better.
    assert summary["params_deep"] == summary["params_same_size_shallow"] == 901
    assert summary["same_size_width"] == 300
    assert summary["rms_error_deep"] < 0.5 * summary["rms_error_same_size_shallow"]
    assert (tmp_path / "ker4u_universal_approximator.png").stat().st_size > 10_000
    for name in ("shallow_4", "shallow_256", "deep", "same_size_shallow"):
        assert any(line.startswith(name + " ") for line in result.stdout.splitlines()), name
    assert "20 x 20 x 20" in result.stdout  # the deep network's layers, read from the model


@pytest.mark.parametrize("seed", [1, 2])
def test_depth_wins_and_width_helps_on_other_seeds(seed, tmp_path):
    # Seed 0 is the quick run above; docs/measurements.md has seeds 0-8.
    run = run_in_process(
        SCRIPT, "--seed", seed, "--widths", "4,64", "--no-show", "--output-dir", tmp_path
    )
    assert run["x_train"].shape == (run["TRAIN_POINTS"], 1)
    assert run["x_test"].shape == (run["TEST_POINTS"], 1)
    assert run["x_test"].min() == -1 and run["x_test"].max() == 1
    results = run["results"]
    assert list(results) == ["shallow_4", "shallow_64", "deep", "same_size_shallow"]
    assert results["shallow_64"]["rms_error"] < 0.5 * results["shallow_4"]["rms_error"]
    deep, twin = results["deep"], results["same_size_shallow"]
    assert deep["rms_error"] < 0.5 * twin["rms_error"], (deep["rms_error"], twin["rms_error"])
    assert read_json(tmp_path / "ker4u_universal_approximator.json")["seed"] == seed


def test_every_network_starts_from_the_seed_whatever_comes_before_it(tmp_path):
    # A network's numbers depend on the seed, not on the networks trained before it: the
    # same seed with a different list of widths gives shallow_4 and deep the same errors.
    runs = [
        run_in_process(SCRIPT, "--widths", widths, "--no-show", "--output-dir", tmp_path)
        for widths in ("4", "64,4")
    ]
    for name in ("shallow_4", "deep"):
        assert runs[0]["results"][name]["rms_error"] == runs[1]["results"][name]["rms_error"]


@pytest.mark.parametrize("widths", ["4,0", "four", ""])
def test_bad_widths_give_one_clear_line(widths, tmp_path):
    result = run_script(SCRIPT, "--widths", widths, "--no-show", "--output-dir", tmp_path)
    assert_clean_error(result)
    assert "--widths" in result.stderr
