"""Saving figures to outputs/ and showing them only where a window can open."""

import os
import sys

import matplotlib

from common.paths import atomic_write


def can_show(no_show):
    """True when the student wants a window and the machine has a display to put it on."""
    if no_show or os.environ.get("MPLBACKEND", "").lower() == "agg":
        return False
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def pyplot(no_show):
    """Import matplotlib.pyplot with a backend that never blocks on a headless machine."""
    if not can_show(no_show):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path, dpi=110):
    """Save fig to path through a temporary file, and print where it went."""
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=dpi, bbox_inches="tight"))
    print(f"figure: {path}")
    return path


def show(plt, no_show):
    """Open the figure windows when a display exists and --no-show is absent."""
    if can_show(no_show):
        plt.show()
