"""Run a lesson that a crash kills after epoch N of its training, to test that it resumes.

    python tests/crash_after_epoch.py N LESSON.py [FLAGS...]

The lesson runs as `python LESSON.py FLAGS` would run it, except that the training callbacks
from common.training get one more: after epoch N, once the other callbacks have saved that
epoch's progress, the process kills itself with SIGKILL, the way a power cut or an
out-of-memory kill ends a run (no `finally`, no atexit). The lesson's own
`from common.training import safe_training_callbacks` picks up the patched function.
"""

import os
import runpy
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import common.training  # noqa: E402

safe_training_callbacks = common.training.safe_training_callbacks


def with_a_crash_after(epochs):
    """safe_training_callbacks, plus a callback that SIGKILLs the process after epoch N."""

    def callbacks(*args, **kwargs):
        import keras

        def crash(epoch, logs):
            if epoch + 1 == epochs:
                os.kill(os.getpid(), signal.SIGKILL)

        # Last in the list: Keras calls it after the backup of the epoch has been written.
        return [
            *safe_training_callbacks(*args, **kwargs),
            keras.callbacks.LambdaCallback(on_epoch_end=crash),
        ]

    return callbacks


if __name__ == "__main__":
    crash_after, lesson, *flags = sys.argv[1:]
    common.training.safe_training_callbacks = with_a_crash_after(int(crash_after))
    sys.argv = [lesson, *flags]
    runpy.run_path(lesson, run_name="__main__")
