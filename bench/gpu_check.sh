#!/usr/bin/env bash
# ker5 itself on a GPU, with whichever Keras backend the machine has: --quick, then the
# default recipe (25 epochs), then one table of training images/s, training time and test
# accuracy from the lesson's own JSON. The goals: >= 40,000 training images/s
# (25 epochs in <= 60 s of training), --quick in <= 15 s, accuracy at least the CPU's.
#
#     bash bench/gpu_check.sh path/to/cifar-10-batches-py [out-folder]
#     KER5_FLAGS="--arch today" bash bench/gpu_check.sh path/to/cifar-10-batches-py
#
# Needs Keras 3 and one backend (tensorflow, jax or torch) with GPU support, plus the
# lesson's other packages (numpy, opencv-python-headless, matplotlib, h5py). On a machine
# that cannot download, carry them as wheels. KERAS_BACKEND picks the backend; unset, the
# first installed of tensorflow, jax, torch.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:?usage: bash bench/gpu_check.sh path/to/cifar-10-batches-py [out-folder]}
out=${2:-${OUT:-gpu-check}}
py=${PYTHON:-python3}
if [ -z "${KERAS_BACKEND:-}" ]; then
    KERAS_BACKEND=$($py -c 'import importlib.util as u
print(next((b for b in ("tensorflow", "jax", "torch") if u.find_spec(b)), "none"))')
fi
export KERAS_BACKEND PYTHONUNBUFFERED=1 MPLBACKEND=Agg
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true

run() {  # run NAME FLAGS...: the lesson, timed from the start of the process
    local name=$1
    shift
    local start=$SECONDS
    $py ker5_cifar10_cnn.py --data-dir "$data" --no-show --output-dir "$out/$name" \
        --model-dir "$out/models-$name" ${KER5_FLAGS:-} "$@" 2>&1 | tee "$out/$name.log"
    echo "$name: $((SECONDS - start)) s from start to end" | tee -a "$out/$name.log"
}
run quick --quick
run default

$py - "$out" <<'PY'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
print("\n| run | backend | precision | epochs | training s | images/s | test accuracy |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for name in ("quick", "default"):
    r = json.loads((out / name / "ker5_cifar10_cnn.json").read_text())
    backend = (out / f"{name}.log").read_text().split(" on the ")[1].split(" backend")[0]
    print(f"| {name} | {backend} | {r['precision']} | {r['epochs']} | {r['train_seconds']:.1f} | "
          f"{r['images_per_second']:.0f} | {r['test_accuracy']:.1%} |")
PY
