"""Where training runs: GPU or CPU, data-parallel or not, bfloat16 or float32, XLA or not."""

import os
from pathlib import Path

from common.quiet_keras import keras, tf


def add_device_flags(parser):
    """Add --precision and --distribute to an argparse parser."""
    parser.add_argument(
        "--precision",
        choices=["auto", "float32", "bfloat16"],
        default="auto",
        help="auto: mixed bfloat16 where the CPU/GPU computes it natively, else float32; the "
        "classic recipe always uses float32 (default: auto)",
    )
    parser.add_argument(
        "--distribute",
        action="store_true",
        help="train data-parallel with MirroredStrategy over all visible GPUs; with no GPU, "
        "over the CPU split into two logical devices (default: off)",
    )
    return parser


def cpu_has_bfloat16():
    """True when this CPU does bfloat16 arithmetic natively (AVX512-BF16 or AMX)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False  # not Linux: play safe
    return "avx512_bf16" in flags or "amx_bf16" in flags


def choose_precision(precision="auto"):
    """Set Keras' dtype policy and return its name: bfloat16 only where the hardware has it.

    precision is "float32", "bfloat16" or "auto" (mixed bfloat16 on a GPU of compute
    capability 8.0 or newer, or a CPU with native bfloat16; float32 elsewhere, because
    emulated bfloat16 is many times slower).
    """
    if precision == "float32":
        policy = "float32"
    elif precision == "bfloat16":
        policy = "mixed_bfloat16"
    else:
        gpus = tf.config.list_physical_devices("GPU")
        capability = [
            tf.config.experimental.get_device_details(g).get("compute_capability", (0, 0))
            for g in gpus
        ]
        native = all(c >= (8, 0) for c in capability) if gpus else cpu_has_bfloat16()
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
    if keras.backend.backend() != "tensorflow":
        return _keras_data_parallel(distribute)
    gpus = tf.config.list_physical_devices("GPU")
    if distribute and not gpus:
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
    if gpus:
        name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU")
        print(f"training on the GPU: {name} ({gpus[0].name})")
        return tf.distribute.get_strategy(), [gpus[0].name]
    print(f"training on the CPU ({os.cpu_count()} cores); TensorFlow sees no GPU")
    return tf.distribute.get_strategy(), ["CPU"]


def _keras_data_parallel(distribute):
    """JAX: Keras' own DataParallel over every device the backend lists. PyTorch: one device."""
    if keras.backend.backend() == "torch":
        if distribute:
            print("--distribute: Keras has no data-parallel training for PyTorch; one device")
        print("training on one device (torch backend)")
        return tf.distribute.get_strategy(), ["torch"]
    devices = keras.distribution.list_devices()
    if distribute:
        print("MirroredStrategy is TensorFlow's; on this backend: keras.distribution.DataParallel")
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
        print(f"training data-parallel on {len(devices)} devices: {', '.join(devices)}")
        if all(d.startswith("cpu") for d in devices):
            print("  (one CPU split in two: the DataParallel code path, not a speed-up)")
    else:
        print(f"training on {devices[0]} ({keras.backend.backend()} backend)")
    return tf.distribute.get_strategy(), devices


def use_xla():
    """XLA on a GPU; on a CPU, XLA's convolutions trained about 3x slower than oneDNN's here.

    On JAX every step is compiled with XLA anyway: switching it off would run op by op.
    """
    if keras.backend.backend() != "tensorflow":
        return "auto"
    return "auto" if tf.config.list_physical_devices("GPU") else False
