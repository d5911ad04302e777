"""kiln, through its TensorFlow.js-style API (W1-W6). setup_peers.sh installs kiln
(editable) into benchmarks/.venv; `run_peers.py --python kiln=/path/to/python` runs it
with another interpreter that has kiln and numpy. With KILN_CACHE_DIR set to an empty
folder, W1's fit time includes every compilation (the cold-cache number).

What it measures mirrors tfjs/bench.js:
  W1      model.fit 1000 epochs ('sgd', 'meanSquaredError', default batchSize), predict [[5]]
  W2/W4/W6  tf.tidy(lambda: model.predict(x, {'batchSize': n}).dataSync()) on a prebuilt tensor
  W3/W5   model.fit 3 epochs with tf.train.adam(0.001), 'categoricalCrossentropy', shuffle;
          epoch times from the onEpochBegin / onEpochEnd callbacks
The LSTM uses 'recurrentActivation': 'sigmoid' (TF.js's default is hardSigmoid), as
every framework here does. Weights come from workloads.py in TF.js layout, loaded
with model.setWeights. `threads` records the thread count kiln's kernels use
(KILN_NUM_THREADS, else the CPU count).
"""

import asyncio
import os
import sys
import time

import workloads
from frameworks import _common

FRAMEWORK = "kiln"
SUPPORTED = {"W1", "W2", "W3", "W4", "W5", "W6"}


def build_model(tf, workload):
    """The workload's model, written as a TF.js user would write it."""
    model = tf.sequential()
    if workload == "W1":
        model.add(tf.layers.dense({'units': 1, 'inputShape': [1]}))
    elif workload in ("W2", "W3"):
        model.add(tf.layers.dense({'units': 512, 'activation': 'relu', 'inputShape': [784]}))
        model.add(tf.layers.dense({'units': 512, 'activation': 'relu'}))
        model.add(tf.layers.dense({'units': 10, 'activation': 'softmax'}))
    elif workload in ("W4", "W5"):
        model.add(tf.layers.conv2d({'filters': 32, 'kernelSize': 3, 'activation': 'relu',
                                    'inputShape': [28, 28, 1]}))
        model.add(tf.layers.maxPooling2d({'poolSize': 2}))
        model.add(tf.layers.conv2d({'filters': 64, 'kernelSize': 3, 'activation': 'relu'}))
        model.add(tf.layers.maxPooling2d({'poolSize': 2}))
        model.add(tf.layers.flatten())
        model.add(tf.layers.dense({'units': 128, 'activation': 'relu'}))
        model.add(tf.layers.dense({'units': 10, 'activation': 'softmax'}))
    elif workload == "W6":
        model.add(tf.layers.lstm({'units': 64, 'inputShape': [32, 16],
                                  'recurrentActivation': 'sigmoid'}))
        model.add(tf.layers.dense({'units': 1}))
    else:
        raise ValueError(workload)
    return model


def predict_array(tf, model, x):
    return tf.tidy(lambda: model.predict(x, {'batchSize': x.shape[0]}).arraySync())


def measure_seed(tf, model, arrays):
    model.compile({'optimizer': 'sgd', 'loss': 'meanSquaredError'})
    xs, ys = tf.tensor(arrays["x_train"]), tf.tensor(arrays["y_train"])
    t0 = time.perf_counter()
    asyncio.run(model.fit(xs, ys, {'epochs': 1000, 'verbose': 0}))
    fit_s = time.perf_counter() - t0
    check = predict_array(tf, model, tf.tensor(arrays["x_check"]))
    return {"default": _common.variant({"fit_s": fit_s, "predicted": float(check[0][0])}, check)}


def measure_training(tf, model, workload, arrays):
    settings = workloads.TRAIN[workload]
    check = predict_array(tf, model, tf.tensor(arrays["x_check"]))
    model.compile({'optimizer': tf.train.adam(settings["learning_rate"]),
                   'loss': 'categoricalCrossentropy'})
    xs, ys = tf.tensor(arrays["x_train"]), tf.tensor(arrays["y_train"])
    epoch_seconds, started = [], [0.0]

    def on_epoch_begin(epoch, logs=None):
        started[0] = time.perf_counter()

    def on_epoch_end(epoch, logs=None):
        epoch_seconds.append(time.perf_counter() - started[0])

    asyncio.run(model.fit(xs, ys, {
        'epochs': settings["epochs"], 'batchSize': settings["batch_size"], 'shuffle': True,
        'verbose': 0, 'callbacks': {'onEpochBegin': on_epoch_begin, 'onEpochEnd': on_epoch_end}}))
    metrics = {"train_sps": _common.train_samples_per_second(epoch_seconds, len(arrays["x_train"]))}
    notes = [f"epoch seconds {[round(s, 3) for s in epoch_seconds]}"]
    return {"default": _common.variant(metrics, check, notes=notes)}


def measure_inference(tf, model, workload, arrays, options):
    x_latency, x_throughput = _common.inference_inputs(workload, arrays)

    def predict(x):
        return tf.tidy(lambda: model.predict(x, {'batchSize': x.shape[0]}).dataSync())

    metrics, reps = _common.latency_and_throughput(
        predict, tf.tensor(x_latency), None if x_throughput is None else tf.tensor(x_throughput),
        options)
    check = predict_array(tf, model, tf.tensor(arrays["x_check"]))
    return {"default": _common.variant(metrics, check, reps)}


def measure(workload, arrays, options):
    import kiln as tf

    model = build_model(tf, workload)
    model.setWeights([tf.tensor(w) for w in workloads.weights_of(arrays)])
    if workload == "W1":
        variants = measure_seed(tf, model, arrays)
    elif workload in ("W3", "W5"):
        variants = measure_training(tf, model, workload, arrays)
    else:
        variants = measure_inference(tf, model, workload, arrays, options)
    from kiln.runtime.executable import default_threads
    return {"variants": variants, "notes": [],
            "threads": {"kiln": default_threads(), "cpu_count": os.cpu_count()},
            "versions": {"kiln": getattr(tf, "__version__", "unknown")}}


if __name__ == "__main__":
    sys.exit(_common.main(FRAMEWORK, SUPPORTED, ["kiln"], measure))
