"""Import TensorFlow and Keras once, without the start-up chatter unless --verbose is given.

A lesson writes `from common.quiet_keras import keras, tf` at its top, where a Keras example
writes `import keras`. TensorFlow stays imported on every backend: tf.data feeds them all.
"""

import sys

from common.tf_quiet import import_keras

tf, keras = import_keras(verbose="--verbose" in sys.argv[1:])
