"""Run code exactly as a slide prints it, and say on one line how Keras answers."""

from common.errors import first_line


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
