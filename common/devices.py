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
    """Pick where training runs and say so: one GPU, the CPU, or MirroredStrategy over several.

    Returns (strategy, device names). With --distribute and no GPU, the CPU is split into two
    logical devices, so the data-parallel code path runs (it is no faster).
    """
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


def use_xla():
    """XLA on a GPU; on a CPU, XLA's convolutions trained about 3x slower than oneDNN's here."""
    return "auto" if tf.config.list_physical_devices("GPU") else False
