"""Benchmark: training speed of ker4's deep U-Net in float32 vs mixed_bfloat16, on this CPU.

Mixed precision only pays where the CPU multiplies bfloat16 natively (AVX-512 BF16 or AMX);
elsewhere TensorFlow converts back and forth and it can be slower. This prints crops/s for
both, measured in the same run, so ker4_learn_canny.py keeps float32 unless bf16 wins.

Run: python bench/bench_canny.py [--steps 10] [--repeats 3]   (about 3 minutes on 2 cores)
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import scenes  # noqa: E402
from common.keras_setup import start_keras  # noqa: E402
from common.lesson import load_definitions, positive_int  # noqa: E402


def cpu_flags():
    """The CPU's bfloat16-related flags, from /proc/cpuinfo (Linux), or 'unknown'."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "unknown"
    wanted = ("avx512f", "avx512_bf16", "amx_bf16", "amx_tile")
    flags = next((line.split() for line in text.splitlines() if line.startswith("flags")), [])
    found = [f for f in wanted if f in flags]
    return ", ".join(found) or "none of " + ", ".join(wanted)


def crops_per_second(lesson, policy, x, y, batch_size, steps, repeats):
    """Median training throughput of the lesson's U-Net under a dtype policy."""
    import keras

    keras.mixed_precision.set_global_policy(policy)
    model = lesson.build_deep_unet()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=lesson.edge_loss)
    n = batch_size * steps
    model.fit(x[:batch_size], y[:batch_size], batch_size=batch_size, epochs=1, verbose=0)
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.fit(x[:n], y[:n], batch_size=batch_size, epochs=1, verbose=0)
        rates.append(n / (time.perf_counter() - start))
    keras.mixed_precision.set_global_policy("float32")
    return statistics.median(rates), rates


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--steps", type=positive_int, default=10, help="steps per timing (default: 10)"
    )
    parser.add_argument("--repeats", type=positive_int, default=3, help="timings each (default: 3)")
    parser.add_argument("--batch-size", type=positive_int, default=16, help="(default: 16)")
    args = parser.parse_args()
    start_keras()
    lesson = load_definitions("ker4_learn_canny.py")  # its builders and loss, no steps run
    x, y = scenes.training_crops(0, args.batch_size * args.steps, lesson.canny_edges)
    print(f"CPU flags: {cpu_flags()}")
    print(f"{'policy':<16}{'crops/s (median)':>18}  all runs")
    for policy in ("float32", "mixed_bfloat16"):
        median, rates = crops_per_second(
            lesson, policy, x, y, args.batch_size, args.steps, args.repeats
        )
        print(f"{policy:<16}{median:>18.1f}  {', '.join(f'{r:.1f}' for r in rates)}")


if __name__ == "__main__":
    main()
