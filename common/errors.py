"""Errors a student can act on: one line on stderr, exit code 2, no traceback."""

import sys


class LessonError(Exception):
    """Bad input the student can fix; the message is the one line they see."""


def first_line(error, limit=160):
    """The first line of an exception's message (or its type's name), for a one-line error."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:limit]


def run_lesson(main):
    """Call main() and turn a LessonError into one stderr line and exit code 2."""
    try:
        code = main()
    except LessonError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(code or 0)
