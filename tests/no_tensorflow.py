"""Make `import tensorflow` fail, as in a venv without it, even where it is installed.

The finder answers for tensorflow (so the real one is never found) and its loader refuses.
conftest.py blocks it for the whole test session off the TensorFlow backend, so a lesson or
a piece of common/ that imports TensorFlow there fails its test. As a script it runs another
script that way:

    python tests/no_tensorflow.py bench/bench_time_to_accuracy.py --epochs 3 ...
"""

import importlib.machinery
import runpy
import sys


class NoTensorFlow:
    """A meta-path finder that claims tensorflow and refuses to load it."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "tensorflow":
            return importlib.machinery.ModuleSpec(name, self)
        return None

    def create_module(self, spec):
        raise ModuleNotFoundError(
            f"No module named {spec.name!r} (blocked: this run must work without TensorFlow)",
            name=spec.name,
        )

    def exec_module(self, module):
        pass


def block_tensorflow():
    """From now on, `import tensorflow` fails in this process."""
    if not any(isinstance(finder, NoTensorFlow) for finder in sys.meta_path):
        sys.meta_path.insert(0, NoTensorFlow())


if __name__ == "__main__":
    block_tensorflow()
    script, sys.argv = sys.argv[1], sys.argv[1:]
    runpy.run_path(script, run_name="__main__")
