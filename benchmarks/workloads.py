"""The reference workloads W1-W7: their arrays, weights and metrics, in one place.

Every framework measured by the harness loads exactly these arrays (the parent
process writes them once as .npy files; see `write_arrays` / `load_arrays`).

Conventions, shared by every framework module:
- All arrays are float32. Labels are one-hot float32.
- Data comes from `numpy.random.default_rng(0)`; inputs ~ U[0, 1).
- Weights come from `numpy.random.default_rng(1)`: glorot-uniform kernels and
  small uniform biases, so every framework computes the same function.
- Weights are in the TensorFlow.js / Keras layout, in `model.getWeights()` order:
    Dense kernel [in, out], bias [out];
    Conv2D kernel [kh, kw, in, out], bias [out] (channelsLast input [n, h, w, c]);
    LSTM kernel [in, 4*units], recurrent kernel [units, 4*units], bias [4*units],
    gate order i, f, c, o; recurrentActivation sigmoid (not TF.js's hardSigmoid).
  Framework modules convert from this layout themselves.
- `x_check` is a small fixed input; every framework returns its model output on
  it (for W3/W5: before training) so the parent can cross-check the outputs.
"""

from pathlib import Path

import numpy as np

DATA_SEED = 0
WEIGHT_SEED = 1

DESCRIPTIONS = {
    "W1": "seed: Dense(1) on 4 points, sgd, MSE, fit 1000 epochs, predict [[5]]",
    "W2": "mlp-infer: 784-512-512-10, relu/softmax",
    "W3": "mlp-train: W2 model, adam 1e-3, CCE, 8192 samples, batch 128, 3 epochs",
    "W4": "cnn-infer: conv32-pool-conv64-pool-dense128-dense10 on 28x28x1",
    "W5": "cnn-train: W4 model, adam 1e-3, CCE, 4096 samples, batch 64, 3 epochs",
    "W6": "lstm-infer: LSTM(64) over 32x16 -> Dense(1), batch 32",
    "W7": "gemm-ceiling: numpy float32 matmul",
}

# (metric key, unit, "lower" or "higher" is better, or "" when neither).
METRICS = {
    "W1": [("fit_s", "s", "lower"), ("predicted", "value", ""), ("process_s", "s", "lower")],
    "W2": [("latency_b1_us", "µs", "lower"), ("throughput_b256_sps", "samples/s", "higher")],
    "W3": [("train_sps", "samples/s", "higher")],
    "W4": [("latency_b1_us", "µs", "lower"), ("throughput_b64_sps", "samples/s", "higher")],
    "W5": [("train_sps", "samples/s", "higher")],
    "W6": [("latency_b32_us", "µs", "lower")],
    "W7": [
        ("gflops_256x256x256", "GFLOP/s", "higher"),
        ("gflops_1024x1024x1024", "GFLOP/s", "higher"),
        ("gflops_128x784x512", "GFLOP/s", "higher"),
    ],
}

# Repetitions fixed by WORKLOADS.md (calls after warm-up; medians are reported).
REPS = {
    "W2": {"latency": 2000, "throughput": 50},
    "W4": {"latency": 500, "throughput": 50},
    "W6": {"latency": 200},
    "W7": {"gemm": 20},
}

# Training settings.
TRAIN = {
    "W1": {"epochs": 1000, "batch_size": 32, "learning_rate": 0.01},
    "W3": {"epochs": 3, "batch_size": 128, "learning_rate": 1e-3},
    "W5": {"epochs": 3, "batch_size": 64, "learning_rate": 1e-3},
}

# W7 matrix sizes (M, K, N): A is [M, K], B is [K, N].
GEMM_SIZES = [(256, 256, 256), (1024, 1024, 1024), (128, 784, 512)]

# Layer shapes (in TF.js layout) of each model's weight list.
MLP_SHAPES = [(784, 512), (512,), (512, 512), (512,), (512, 10), (10,)]
CNN_SHAPES = [(3, 3, 1, 32), (32,), (3, 3, 32, 64), (64,), (1600, 128), (128,), (128, 10), (10,)]
LSTM_SHAPES = [(16, 256), (64, 256), (256,), (64, 1), (1,)]
SEED_SHAPES = [(1, 1), (1,)]

MODEL_SHAPES = {"W1": SEED_SHAPES, "W2": MLP_SHAPES, "W3": MLP_SHAPES,
                "W4": CNN_SHAPES, "W5": CNN_SHAPES, "W6": LSTM_SHAPES}


def _fans(shape):
    """Keras's fan_in/fan_out for a kernel shape (receptive field x channels)."""
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = int(np.prod(shape[:-2]))
    return receptive * shape[-2], receptive * shape[-1]


def make_weights(shapes, seed=WEIGHT_SEED):
    """Deterministic weights: glorot-uniform kernels, biases ~ U[-0.05, 0.05)."""
    rng = np.random.default_rng(seed)
    weights = []
    for shape in shapes:
        if len(shape) == 1:
            w = rng.uniform(-0.05, 0.05, size=shape)
        else:
            fan_in, fan_out = _fans(shape)
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            w = rng.uniform(-limit, limit, size=shape)
        weights.append(w.astype(np.float32))
    return weights


def _one_hot(labels, classes):
    return np.eye(classes, dtype=np.float32)[labels]


def _uniform(rng, shape):
    return rng.random(shape, dtype=np.float32)


def make_arrays(workload):
    """All arrays of one workload, as {name: float32 array}.

    Weight arrays are named w0, w1, ... in getWeights() order. Data arrays:
      W1: x_train, y_train, x_check ([[5]])
      W2: x_b1 [1,784], x_b256 [256,784], x_check [4,784]
      W3: x_train [8192,784], y_train [8192,10], x_check [4,784]
      W4: x_b1 [1,28,28,1], x_b64 [64,28,28,1], x_check [4,28,28,1]
      W5: x_train [4096,28,28,1], y_train [4096,10], x_check [4,28,28,1]
      W6: x_b32 [32,32,16], x_check [4,32,16]
      W7: a_MxKxN [M,K], b_MxKxN [K,N] for each size in GEMM_SIZES
    """
    rng = np.random.default_rng(DATA_SEED)
    if workload == "W1":
        arrays = {
            "x_train": np.array([[1], [2], [3], [4]], np.float32),
            "y_train": np.array([[1], [3], [5], [7]], np.float32),
            "x_check": np.array([[5]], np.float32),
        }
    elif workload == "W2":
        arrays = {"x_b1": _uniform(rng, (1, 784)), "x_b256": _uniform(rng, (256, 784))}
        arrays["x_check"] = arrays["x_b256"][:4].copy()
    elif workload == "W3":
        arrays = {"x_train": _uniform(rng, (8192, 784)),
                  "y_train": _one_hot(rng.integers(0, 10, 8192), 10)}
        arrays["x_check"] = arrays["x_train"][:4].copy()
    elif workload == "W4":
        arrays = {"x_b1": _uniform(rng, (1, 28, 28, 1)), "x_b64": _uniform(rng, (64, 28, 28, 1))}
        arrays["x_check"] = arrays["x_b64"][:4].copy()
    elif workload == "W5":
        arrays = {"x_train": _uniform(rng, (4096, 28, 28, 1)),
                  "y_train": _one_hot(rng.integers(0, 10, 4096), 10)}
        arrays["x_check"] = arrays["x_train"][:4].copy()
    elif workload == "W6":
        arrays = {"x_b32": _uniform(rng, (32, 32, 16))}
        arrays["x_check"] = arrays["x_b32"][:4].copy()
    elif workload == "W7":
        arrays = {}
        for m, k, n in GEMM_SIZES:
            arrays[f"a_{m}x{k}x{n}"] = _uniform(rng, (m, k))
            arrays[f"b_{m}x{k}x{n}"] = _uniform(rng, (k, n))
    else:
        raise ValueError(f"unknown workload {workload!r}; expected one of {sorted(DESCRIPTIONS)}")
    for i, w in enumerate(make_weights(MODEL_SHAPES.get(workload, []))):
        arrays[f"w{i}"] = w
    return arrays


def weights_of(arrays):
    """The weight list (w0, w1, ...) of a loaded workload, in getWeights() order."""
    count = sum(1 for name in arrays if name.startswith("w") and name[1:].isdigit())
    return [arrays[f"w{i}"] for i in range(count)]


def write_arrays(workload, directory):
    """Write every array of `workload` as <directory>/<name>.npy; return the directory."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, array in make_arrays(workload).items():
        np.save(directory / f"{name}.npy", np.ascontiguousarray(array))
    return directory


def load_arrays(directory):
    """Read back every <name>.npy in `directory` as {name: array}."""
    return {path.stem: np.load(path) for path in sorted(Path(directory).glob("*.npy"))}
