"""Import TensorFlow and Keras without the start-up chatter, unless --verbose asks for it."""

import contextlib
import os
import sys


@contextlib.contextmanager
def stderr_silenced():
    """Point file descriptor 2 at /dev/null; C++ log lines can't be hidden any other way."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_keras(verbose=False):
    """Return (tf, keras), imported quietly unless verbose is true."""
    if verbose:
        import keras
        import tensorflow as tf

        return tf, keras
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    with stderr_silenced():
        import keras
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")
        tf.config.list_physical_devices()  # device discovery logs too; do it while muted
    import absl.logging

    absl.logging.set_verbosity(absl.logging.ERROR)
    return tf, keras
