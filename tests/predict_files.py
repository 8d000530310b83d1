"""Model files across Keras backends: write ker5's network to .keras and .h5 on this process's
backend, or read files as lesson 6 does and print their predictions. One process does all the
files, instead of one lesson run per file.

    python tests/predict_files.py save FOLDER
    python tests/predict_files.py predict DATA_DIR MODEL [MODEL ...]

save writes FOLDER/cifar10_cnn.keras and FOLDER/cifar10_cnn.h5: ker5's code network
(its build_model), with the weights this backend's random numbers gave it. predict prints
{"backend": ..., "predictions": {model path: [[10 probabilities] per image]}} for the same 8
CIFAR-10 test images ker6 picks (its load_test_images, seed 0), scaled as ker6 scales them (its
input_scale), each file loaded with `load_model(..., safe_mode=True)` as in ker6.
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SUFFIXES = (".keras", ".h5")


def save_models(folder):
    """ker5's code network, saved in both formats; returns (backend, [paths])."""
    from common.keras_setup import start_keras
    from common.lesson import load_definitions

    keras = start_keras()
    ker5 = load_definitions(ROOT / "ker5_cifar10_cnn.py")
    keras.utils.set_random_seed(0)
    model = ker5.build_model(arch="code", dropout=ker5.RECIPES["modern"]["dropout"])
    Path(folder).mkdir(parents=True, exist_ok=True)
    paths = [Path(folder) / f"cifar10_cnn{suffix}" for suffix in SUFFIXES]
    for path in paths:
        model.save(path)
    return keras.backend.backend(), paths


def predictions(data_dir, models):
    """(backend, {model path: probabilities, a list per image}) on this process's backend."""
    from common.keras_setup import start_keras
    from common.lesson import load_definitions

    keras = start_keras()
    ker6 = load_definitions(ROOT / "ker6_predict.py")
    images, _, _ = ker6.load_test_images(data_dir, count=8)
    found = {}
    for path in models:
        model = keras.models.load_model(path, compile=False, safe_mode=True)
        batch = images.astype("float32") * ker6.input_scale(model)
        found[str(path)] = keras.ops.convert_to_numpy(model(batch, training=False)).tolist()
    return keras.backend.backend(), found


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "save":
        backend, paths = save_models(args[0])
        print(json.dumps({"backend": backend, "models": [str(path) for path in paths]}))
    else:
        backend, found = predictions(args[0], args[1:])
        print(json.dumps({"backend": backend, "predictions": found}))
