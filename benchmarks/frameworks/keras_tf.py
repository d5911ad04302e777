"""Keras 3 on the TensorFlow backend (tensorflow-cpu).

Variants:
  default  model.fit (W1, W3, W5) and model.predict(x, batch_size=len(x)) (W2, W4, W6)
  call     the direct call model(x, training=False) on a prebuilt tensor, then .numpy()
"""

import os
import sys
import time

import workloads
from frameworks import _common

FRAMEWORK = "keras_tf"
SUPPORTED = {"W1", "W2", "W3", "W4", "W5", "W6"}

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # quieter logs; no effect on speed


def build_model(keras, workload):
    """The workload's model, in Keras layers (channelsLast, TF.js defaults)."""
    layers = keras.layers
    if workload == "W1":
        stack = [keras.Input((1,)), layers.Dense(1)]
    elif workload in ("W2", "W3"):
        stack = [keras.Input((784,)),
                 layers.Dense(512, activation="relu"),
                 layers.Dense(512, activation="relu"),
                 layers.Dense(10, activation="softmax")]
    elif workload in ("W4", "W5"):
        stack = [keras.Input((28, 28, 1)),
                 layers.Conv2D(32, 3, activation="relu"),
                 layers.MaxPooling2D(2),
                 layers.Conv2D(64, 3, activation="relu"),
                 layers.MaxPooling2D(2),
                 layers.Flatten(),
                 layers.Dense(128, activation="relu"),
                 layers.Dense(10, activation="softmax")]
    elif workload == "W6":
        stack = [keras.Input((32, 16)),
                 layers.LSTM(64, recurrent_activation="sigmoid"),
                 layers.Dense(1)]
    else:
        raise ValueError(workload)
    return keras.Sequential(stack)


def epoch_timer(keras):
    """A callback that records the wall time of every epoch in .seconds."""

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.started)

    return EpochTimer()


def measure_seed(keras, model, arrays):
    settings = workloads.TRAIN["W1"]
    model.compile(optimizer=keras.optimizers.SGD(settings["learning_rate"]), loss="mean_squared_error")
    t0 = time.perf_counter()
    model.fit(arrays["x_train"], arrays["y_train"], epochs=settings["epochs"],
              batch_size=settings["batch_size"], verbose=0)
    fit_s = time.perf_counter() - t0
    predicted = model.predict(arrays["x_check"], verbose=0)
    return {"default": _common.variant({"fit_s": fit_s, "predicted": float(predicted[0, 0])},
                                       predicted)}


def measure_training(keras, model, workload, arrays):
    settings = workloads.TRAIN[workload]
    check = model.predict(arrays["x_check"], verbose=0)
    model.compile(optimizer=keras.optimizers.Adam(settings["learning_rate"]),
                  loss="categorical_crossentropy")
    timer = epoch_timer(keras)
    x, y = arrays["x_train"], arrays["y_train"]
    model.fit(x, y, epochs=settings["epochs"], batch_size=settings["batch_size"], shuffle=True,
              verbose=0, callbacks=[timer])
    metrics = {"train_sps": _common.train_samples_per_second(timer.seconds, len(x))}
    notes = [f"epoch seconds {[round(s, 3) for s in timer.seconds]}"]
    return {"default": _common.variant(metrics, check, notes=notes)}


def measure_inference(tf, model, workload, arrays, options):
    x_latency, x_throughput = _common.inference_inputs(workload, arrays)
    check = model.predict(arrays["x_check"], verbose=0)

    def predict(x):
        return model.predict(x, batch_size=len(x), verbose=0)

    metrics, reps = _common.latency_and_throughput(predict, x_latency, x_throughput, options)
    variants = {"default": _common.variant(metrics, check, reps)}

    def call(x):
        return model(x, training=False).numpy()

    metrics, reps = _common.latency_and_throughput(
        call, tf.constant(x_latency), None if x_throughput is None else tf.constant(x_throughput),
        options)
    variants["call"] = _common.variant(metrics, model(arrays["x_check"], training=False).numpy(),
                                       reps)
    return variants


def measure(workload, arrays, options):
    import keras
    import tensorflow as tf

    model = build_model(keras, workload)
    model.set_weights(workloads.weights_of(arrays))
    if workload == "W1":
        variants = measure_seed(keras, model, arrays)
    elif workload in ("W3", "W5"):
        variants = measure_training(keras, model, workload, arrays)
    else:
        variants = measure_inference(tf, model, workload, arrays, options)
    threads = {
        "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
        "meaning of 0": "TensorFlow's default: one thread per core",
        "cpu_count": os.cpu_count(),
    }
    return {"variants": variants, "threads": threads, "notes": [],
            "versions": {"tensorflow": tf.__version__, "keras": keras.__version__}}


if __name__ == "__main__":
    sys.exit(_common.main(FRAMEWORK, SUPPORTED, ["tensorflow", "keras"], measure))
