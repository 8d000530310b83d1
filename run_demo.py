"""Run every lesson in order in its quick class mode, then print a summary table.

    make demo            # or: .venv/bin/python run_demo.py

A lesson that cannot run here (say it needs a download while offline) shows its one-line
reason in the table, and the other lessons still run.
"""

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def teaching_order(path):
    """ker3_... before ker3t_... before ker4_...: the number, then the letter after it."""
    number, letter = re.match(r"ker(\d+)([a-z]*)_", path.name).groups()
    return int(number), letter


def lessons():
    """The lesson scripts kerN_*.py and kerNt_*.py, in teaching order."""
    return sorted(ROOT.glob("ker[0-9]*_*.py"), key=teaching_order)


def run(lesson):
    """Run one lesson with --quick --no-show, echoing its output; return (status, s, figure)."""
    print(f"\n=== {lesson.name} --quick ===", flush=True)
    figure = "-"
    start = time.perf_counter()
    with tempfile.TemporaryFile(mode="w+") as errors:
        process = subprocess.Popen(
            [sys.executable, str(lesson), "--quick", "--no-show"],
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            cwd=ROOT,
        )
        for line in process.stdout:
            print(line, end="", flush=True)
            if line.startswith("figure: ") and figure == "-":
                figure = line.removeprefix("figure: ").strip()
        process.wait()
        errors.seek(0)
        stderr_lines = [line.strip() for line in errors if line.strip()]
    seconds = time.perf_counter() - start
    if process.returncode == 0:
        return "ok", seconds, figure
    reason = stderr_lines[-1] if stderr_lines else "no message"
    print(reason, file=sys.stderr)
    return f"exit {process.returncode}: {reason}", seconds, figure


def main():
    rows = [(lesson.name, *run(lesson)) for lesson in lessons()]
    print("\n| lesson | status | seconds | figure |")
    print("| --- | --- | --- | --- |")
    for name, status, seconds, figure in rows:
        try:
            figure = str(Path(figure).relative_to(ROOT))
        except ValueError:
            pass
        print(f"| {name} | {status} | {seconds:.1f} | {figure} |")
    # Exit 2 is a lesson saying it can't run here (offline, no dataset): not a failure of
    # the demo. Anything else that isn't "ok" is a real failure.
    failed = [row for row in rows if row[1] != "ok" and not row[1].startswith("exit 2:")]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
