"""Timing a model in several runtimes: median latency for one image, throughput for a batch."""

import statistics
import time


def median_ms(run, x, calls, seconds):
    """Median wall time of run(x) in ms, over up to `calls` calls (or `seconds`, at least 5)."""
    run(x)  # the first call builds graphs and allocates: not what we want to time
    times = []
    start = time.perf_counter()
    while len(times) < calls and (len(times) < 5 or time.perf_counter() - start < seconds):
        t = time.perf_counter()
        run(x)
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times), len(times)


def time_runtimes(runtimes, one, batch, calls, batch_calls, seconds, digits=2):
    """Print and return each runtime's median ms for one image and images/s for a batch."""
    latency, throughput = {}, {}
    print(f"{'runtime':<22} {'ms / 1 image':>13} {'(calls)':>8} {f'images/s @{len(batch)}':>14}")
    for name, run in runtimes.items():
        latency[name], n = median_ms(run, one, calls, seconds)
        batch_ms, _ = median_ms(run, batch, batch_calls, seconds)
        throughput[name] = len(batch) / (batch_ms / 1000)
        print(f"{name:<22} {latency[name]:13.{digits}f} {n:>8} {throughput[name]:14.0f}")
    return latency, throughput


def interleaved_speeds(runs, rounds):
    """Train each (model, batches, images an epoch) run for rounds epochs, interleaved (a, b,
    a, b, ...) so that other work on the machine slows all alike. Returns, for each run, its
    images/s and its images per CPU-second (the process's CPU time, all threads), one an epoch.
    """
    speeds = [([], []) for _ in runs]
    for _ in range(rounds):
        for (model, train, images), (wall, cpu) in zip(runs, speeds, strict=True):
            start, cpu_start = time.perf_counter(), time.process_time()
            model.fit(train, epochs=1, verbose=0, shuffle=False)
            wall.append(images / (time.perf_counter() - start))
            cpu.append(images / (time.process_time() - cpu_start))
    return speeds
