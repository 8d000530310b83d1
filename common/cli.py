"""The flags every lesson shares, with the same names and defaults everywhere."""

import argparse
import sys

from common.paths import OUTPUTS


class LessonParser(argparse.ArgumentParser):
    """An ArgumentParser whose mistakes are one `error:` line and exit code 2, like bad input."""

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
    """An ArgumentParser with the shared flags; pass a default to add --epochs/--batch-size."""
    first_line = (doc or "").strip().splitlines()[0] if doc else None
    parser = LessonParser(description=first_line)
    if image:
        parser.add_argument(
            "--image",
            default=None,
            help="your own image (any format OpenCV reads); default: matplotlib's "
            "grace_hopper.jpg sample photo",
        )
    if epochs is not None:
        parser.add_argument(
            "--epochs",
            type=positive_int,
            default=epochs,
            help=f"training epochs (default: {epochs})",
        )
    if batch_size is not None:
        parser.add_argument(
            "--batch-size",
            type=positive_int,
            default=batch_size,
            help=f"samples per training step (default: {batch_size})",
        )
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
