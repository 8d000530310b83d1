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


def import_tensorflow(keras):
    """TensorFlow, or None on a JAX or PyTorch backend where it is not installed.

    The lessons feed data through tf.data, so they need it; a bench can run without it.
    """
    try:
        import tensorflow as tf
    except ModuleNotFoundError:
        if keras.backend.backend() == "tensorflow":
            raise
        return None
    return tf


def import_keras(verbose=False):
    """Return (tf, keras), imported quietly unless verbose is true; tf may be None (above)."""
    if verbose:
        import keras

        return import_tensorflow(keras), keras
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    with stderr_silenced():
        import keras

        tf = import_tensorflow(keras)
        if tf is not None:
            tf.get_logger().setLevel("ERROR")
            tf.config.list_physical_devices()  # device discovery logs too; do it while muted
    import absl.logging

    absl.logging.set_verbosity(absl.logging.ERROR)
    return tf, keras
