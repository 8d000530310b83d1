"""Import TensorFlow and Keras once, without the start-up chatter unless --verbose is given.

A lesson writes `from common.quiet_keras import keras, tf` at its top, where a Keras example
writes `import keras`. TensorFlow stays imported on every backend: tf.data feeds them all.
"""

import os
import sys

from common.tf_quiet import import_keras

if "--distribute" in sys.argv[1:] and os.environ.get("KERAS_BACKEND") == "jax":
    # JAX sees one CPU device unless told before it starts: two, like TensorFlow's split CPU.
    os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")

tf, keras = import_keras(verbose="--verbose" in sys.argv[1:])
