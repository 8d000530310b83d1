"""The flags every lesson shares, with the same names and defaults everywhere."""

import argparse
import sys

from common.paths import OUTPUTS


class LessonParser(argparse.ArgumentParser):
    """An ArgumentParser whose mistakes are one `error:` line and exit code 2, like bad input.

    Flags in quick_defaults (dest -> (default, default with --quick)) are filled in after
    parsing, so a value the student types is always used, with --quick or without.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.quick_defaults = {}

    def parse_args(self, args=None, namespace=None):
        parsed = super().parse_args(args, namespace)
        for dest, (default, quick) in self.quick_defaults.items():
            if getattr(parsed, dest) is None:
                setattr(parsed, dest, quick if getattr(parsed, "quick", False) else default)
        keras = sys.modules.get("keras")
        if keras is not None:  # a lesson that uses Keras says which backend runs it
            print(f"Keras {keras.__version__} on the {keras.backend.backend()} backend")
        return parsed

    def error(self, message):
        print(f"error: {message} (see --help)", file=sys.stderr)
        sys.exit(2)


def positive_int(text):
    """argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def make_parser(doc, *, image=False, epochs=None, batch_size=None, seed=0):
    """An ArgumentParser with the shared flags; pass a default to add --epochs/--batch-size.

    A default may be a pair (default, default with --quick).
    """
    first_line = (doc or "").strip().splitlines()[0] if doc else None
    parser = LessonParser(description=first_line)
    if image:
        parser.add_argument(
            "--image",
            default=None,
            help="your own image (any format OpenCV reads); default: matplotlib's "
            "grace_hopper.jpg sample photo",
        )
    for flag, value, what in (
        ("--epochs", epochs, "training epochs"),
        ("--batch-size", batch_size, "samples per training step"),
    ):
        if value is None:
            continue
        default, quick = value if isinstance(value, tuple) else (value, value)
        with_quick = f", {quick} with --quick" if quick != default else ""
        parser.add_argument(
            flag, type=positive_int, default=None, help=f"{what} (default: {default}{with_quick})"
        )
        parser.quick_defaults[flag[2:].replace("-", "_")] = (default, quick)
    parser.add_argument(
        "--seed", type=int, default=seed, help=f"random seed, for repeatable runs (default: {seed})"
    )
    parser.add_argument(
        "--quick", action="store_true", help="class-demo mode: smaller and faster (default: off)"
    )
    parser.add_argument(
        "--output-dir",
        default=str(OUTPUTS),
        help="where figures and the JSON of results go (default: outputs/)",
    )
    parser.add_argument(
        "--no-show",
        action="store_true",
        help="save figures, open no window (default: off)",
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="show TensorFlow's start-up messages (default: hidden)",
    )
    return parser
