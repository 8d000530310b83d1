"""Run a lesson that a crash kills after epoch N of its training, to test that it resumes.

    python tests/crash_after_epoch.py N LESSON.py [FLAGS...]
    python tests/crash_after_epoch.py --weights-inf N LESSON.py [FLAGS...]

The lesson runs as `python LESSON.py FLAGS` would run it, except that the training callbacks
from common.training get one more: after epoch N, once the other callbacks have saved that
epoch's progress, the process kills itself with SIGKILL, the way a power cut or an
out-of-memory kill ends a run (no `finally`, no atexit). The lesson's `safe_training` picks up
the patched function.

With --weights-inf, nothing is killed: at the end of epoch N, before the lesson's own callbacks
look at the model, one of its weights becomes infinite, while the epoch's loss stays finite.
That is what a huge learning rate (`--lr 1e9`) can do, on some machines and data, faster than
a test can reproduce it.
"""

import os
import runpy
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common.keras_setup import stderr_silenced  # noqa: E402

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
with stderr_silenced():  # TensorFlow's start-up messages, as the lesson hides them
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


def with_infinite_weights_after(epochs):
    """safe_training_callbacks, after a callback that makes a weight infinite at epoch N."""

    def callbacks(model, *args, **kwargs):
        import keras
        import numpy as np

        def overflow(epoch, logs):
            if epoch + 1 == epochs:
                weights = model.get_weights()
                weights[0] = np.full_like(weights[0], np.inf)
                model.set_weights(weights)

        # First in the list: the lesson's callbacks see the model as it is after the overflow.
        return [
            keras.callbacks.LambdaCallback(on_epoch_end=overflow),
            *safe_training_callbacks(model, *args, **kwargs),
        ]

    return callbacks


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if arguments[0] == "--weights-inf":
        patch, arguments = with_infinite_weights_after, arguments[1:]
    else:
        patch = with_a_crash_after
    after, lesson, *flags = arguments
    common.training.safe_training_callbacks = patch(int(after))
    sys.argv = [lesson, *flags]
    runpy.run_path(lesson, run_name="__main__")
