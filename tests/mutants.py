"""Break each lesson on purpose, one line at a time, and check that its tests notice.

    make mutants                       # every breakage listed in tests/test_*.py
    python tests/mutants.py --only ker5   # those whose lesson name contains ker5

Each test file may hold a list MUTATIONS of (lesson file, text, replacement, what it breaks):
one-line changes that keep the lesson running but make it teach something false. For each,
the project's tracked files are copied to a temporary folder, the text (which must appear
exactly once) is replaced, and that test file runs there. The breakage is "caught" when a
test fails, and "survived" when they all pass: then the tests don't guard what it breaks.
Prints a table, and exits 1 if any breakage survived. Not part of `make test`: each breakage
runs a test file, so the whole list takes a long while.
"""

import argparse
import ast
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def listed_mutations():
    """[(test file, lesson, text, replacement, what it breaks)] from every tests/test_*.py."""
    found = []
    for test_file in sorted((ROOT / "tests").glob("test_*.py")):
        tree = ast.parse(test_file.read_text(encoding="utf-8"))
        for node in tree.body:
            targets = [t.id for t in getattr(node, "targets", []) if isinstance(t, ast.Name)]
            if "MUTATIONS" in targets:
                for entry in ast.literal_eval(node.value):
                    found.append((test_file.name, *entry))
    return found


def copy_project(destination):
    """The files git tracks (and those not yet committed, but not ignored) into destination."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, listed):
        source = ROOT / name.decode()
        if source.is_file():
            target = destination / name.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def run_one(test_file, lesson, text, replacement, timeout):
    """'caught', 'survived' or an error word, and the seconds the test file took."""
    with tempfile.TemporaryDirectory(prefix="mutant-") as folder:
        copy = Path(folder)
        copy_project(copy)
        source = (copy / lesson).read_text(encoding="utf-8")
        if source.count(text) != 1:
            return f"stale: the text is in {lesson} {source.count(text)} times", 0.0
        (copy / lesson).write_text(source.replace(text, replacement), encoding="utf-8")
        command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"]
        start = time.perf_counter()
        try:
            done = subprocess.run(
                [*command, f"tests/{test_file}"],
                cwd=copy,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return "timed out", time.perf_counter() - start
        seconds = time.perf_counter() - start
        if done.returncode == 0:
            return "survived", seconds
        if done.returncode == 1:
            return "caught", seconds
        return f"error (pytest exit {done.returncode})", seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="only lessons whose name contains this")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per test file run")
    args = parser.parse_args()
    mutations = [m for m in listed_mutations() if args.only in m[1]]
    print("| lesson | breakage | what it breaks | tests | result | seconds |")
    print("| --- | --- | --- | --- | --- | --- |")
    results = []
    for test_file, lesson, text, replacement, why in mutations:
        result, seconds = run_one(test_file, lesson, text, replacement, args.timeout)
        results.append(result)
        change = f"`{text.strip()}` → `{replacement.strip()}`".replace("|", "\\|")
        print(f"| {lesson} | {change} | {why} | {test_file} | {result} | {seconds:.0f} |")
    caught = results.count("caught")
    print(f"\n{caught} of {len(results)} breakages caught")
    return 0 if caught == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
