"""Keras set-up: start it quietly on a backend that is installed, and choose where it trains.

TensorFlow prints start-up lines from C++ (absl, oneDNN, CUDA) that Python's logging can't
hide, even with TF_CPP_MIN_LOG_LEVEL=3. `start_keras` points file descriptor 2 at /dev/null
while Keras and TensorFlow are imported, then puts it back, so real errors stay visible.
"""

import contextlib
import importlib.util
import os
import sys
import types
from pathlib import Path

from common.lesson import LessonError

BACKENDS = ("tensorflow", "jax", "torch")  # the Keras 3 backends the lessons run on
BACKEND_MODULES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}


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


def installed_backends():
    """The backends whose library is installed here."""
    return [name for name in BACKENDS if importlib.util.find_spec(BACKEND_MODULES[name])]


def check_backend():
    """Refuse an unknown or uninstalled KERAS_BACKEND in one line, before Keras sees it."""
    asked = os.environ.get("KERAS_BACKEND")
    if asked is None or "keras" in sys.modules:
        return
    installed = ", ".join(installed_backends()) or "none"
    if asked not in BACKENDS:
        raise LessonError(
            f"KERAS_BACKEND={asked} is not a backend the lessons run on; use one of "
            f"{', '.join(BACKENDS)} (lower case; installed here: {installed})"
        )
    if importlib.util.find_spec(BACKEND_MODULES[asked]) is None:
        raise LessonError(
            f"KERAS_BACKEND={asked}, but {BACKEND_MODULES[asked]} is not installed; installed "
            f"here: {installed} (see the README's backend table for how to install it)"
        )


def import_tensorflow():
    """TensorFlow, or None where it is not installed (a JAX-only or PyTorch-only set-up)."""
    if importlib.util.find_spec("tensorflow") is None:
        return None
    try:
        import tensorflow as tf
    except ImportError:  # a broken or partial install: the lessons run without it
        return None
    return tf


def start_keras(verbose=False, cpu_devices=1):
    """Import Keras on the chosen backend, quietly unless verbose, and say which one runs.

    cpu_devices > 1 makes JAX show the CPU as that many devices (for data-parallel training
    on a machine without GPUs); it must be set before JAX starts.
    """
    check_backend()
    if cpu_devices > 1:
        flag = f"--xla_force_host_platform_device_count={cpu_devices}"
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flag}".strip()
    if verbose:
        import keras
    else:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        with stderr_silenced():
            import keras

            # Also on JAX or PyTorch, where TensorFlow is installed: keras.utils.set_random_seed
            # imports it to seed tf.data, and it would talk then.
            tf = import_tensorflow()
            if tf is not None:
                tf.get_logger().setLevel("ERROR")
                tf.config.list_physical_devices()  # device discovery logs too; do it muted
        with contextlib.suppress(ImportError):
            import absl.logging

            absl.logging.set_verbosity(absl.logging.ERROR)
    print(f"Keras {keras.__version__} on the {keras.backend.backend()} backend")
    return keras


# --- Where training runs ---


def cpu_has_bfloat16():
    """True when this CPU does bfloat16 arithmetic natively (AVX512-BF16 or AMX)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False  # not Linux: play safe
    return "avx512_bf16" in flags or "amx_bf16" in flags


def gpus():
    """The GPUs the running Keras backend sees, as [(name, compute capability)].

    Asked with the backend's own calls (tf.config, jax.devices, torch.cuda), so a JAX-only or
    PyTorch-only set-up needs no TensorFlow.
    """
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        tf = import_tensorflow()
        details = [
            tf.config.experimental.get_device_details(g)
            for g in tf.config.list_physical_devices("GPU")
        ]
        return [
            (d.get("device_name", "GPU"), tuple(d.get("compute_capability", (0, 0))))
            for d in details
        ]
    if backend == "jax":
        import jax

        found = [d for d in jax.devices() if d.platform == "gpu"]
        return [(d.device_kind, _capability(getattr(d, "compute_capability", ""))) for d in found]
    if backend == "torch":
        import torch

        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        return [
            (torch.cuda.get_device_name(i), torch.cuda.get_device_capability(i))
            for i in range(count)
        ]
    return []


def _capability(text):
    """ "9.0" -> (9, 0); anything else -> (0, 0)."""
    try:
        return tuple(int(part) for part in str(text).split(".")[:2])
    except ValueError:
        return (0, 0)


def choose_precision(precision="auto"):
    """Set Keras' dtype policy and return its name: bfloat16 only where the hardware has it.

    precision is "float32", "bfloat16" or "auto" (mixed bfloat16 on a GPU of compute
    capability 8.0 or newer, or a CPU with native bfloat16; float32 elsewhere, because
    emulated bfloat16 is many times slower).
    """
    import keras

    if precision == "float32":
        policy = "float32"
    elif precision == "bfloat16":
        policy = "mixed_bfloat16"
    else:
        found = gpus()
        native = all(c >= (8, 0) for _, c in found) if found else cpu_has_bfloat16()
        policy = "mixed_bfloat16" if native else "float32"
    keras.config.set_dtype_policy(policy)
    return policy


def describe_precision(policy, asked):
    """One line that says which precision runs, and why float32 when bfloat16 was possible."""
    if policy != "float32":
        return f"precision: {policy} (weights kept in float32, softmax in float32)"
    if asked == "auto":
        return "precision: float32 (this hardware has no native bfloat16; emulating it is slower)"
    return "precision: float32"


def choose_strategy(distribute):
    """Pick where training runs and say so: one GPU, the CPU, or data-parallel over several.

    Returns (strategy, device names); `with strategy.scope():` builds the model. With
    --distribute and no GPU, the CPU is split into two logical devices, so the data-parallel
    code path runs (it is no faster). MirroredStrategy is TensorFlow's; on JAX the same idea
    is keras.distribution.DataParallel, and the TensorFlow strategy scope does nothing.
    """
    import keras

    if keras.backend.backend() != "tensorflow":
        return _keras_data_parallel(distribute)
    tf = import_tensorflow()  # TensorFlow's own calls, on its own backend
    found = tf.config.list_physical_devices("GPU")
    if distribute and not found:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2
        )
        devices = [d.name for d in tf.config.list_logical_devices("CPU")]
        strategy = tf.distribute.MirroredStrategy(devices=devices)
        print(f"training data-parallel on {len(devices)} devices: {', '.join(devices)}")
        print("  (one CPU split in two: the MirroredStrategy code path, not a speed-up)")
        return strategy, devices
    if distribute:
        strategy = tf.distribute.MirroredStrategy()  # every visible GPU
        devices = list(strategy.extended.worker_devices)
        print(f"training data-parallel on {len(devices)} GPUs: {', '.join(devices)}")
        return strategy, devices
    if found:
        name = tf.config.experimental.get_device_details(found[0]).get("device_name", "GPU")
        print(f"training on the GPU: {name} ({found[0].name})")
        return tf.distribute.get_strategy(), [found[0].name]
    print(f"training on the CPU ({os.cpu_count()} cores); TensorFlow sees no GPU")
    return tf.distribute.get_strategy(), ["CPU"]


def _keras_data_parallel(distribute):
    """JAX: Keras' own DataParallel over every device the backend lists. PyTorch: one device."""
    import keras

    scope = types.SimpleNamespace(scope=contextlib.nullcontext)  # a scope() that does nothing
    if keras.backend.backend() == "torch":
        if distribute:
            raise LessonError(
                "--distribute: Keras 3 has no data-parallel training on the torch backend; "
                "run without it, or with KERAS_BACKEND=tensorflow or jax"
            )
        found = gpus()
        where = f"the GPU: {found[0][0]}" if found else f"the CPU ({os.cpu_count()} cores)"
        print(f"training on {where} (torch backend)")
        return scope, ["cuda:0" if found else "cpu"]
    devices = keras.distribution.list_devices()
    if distribute:
        print("MirroredStrategy is TensorFlow's; on this backend: keras.distribution.DataParallel")
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
        print(f"training data-parallel on {len(devices)} devices: {', '.join(devices)}")
        if all(d.startswith("cpu") for d in devices):
            print("  (one CPU split in two: the DataParallel code path, not a speed-up)")
    else:
        print(f"training on {devices[0]} ({keras.backend.backend()} backend)")
    return scope, devices


def use_xla():
    """XLA on a GPU; on a CPU, XLA's convolutions trained about 3x slower than oneDNN's here.

    On JAX every step is compiled with XLA anyway: switching it off would run op by op.
    """
    import keras

    if keras.backend.backend() != "tensorflow":
        return "auto"
    return "auto" if gpus() else False
