"""Shared by the AOT tests: models, building and running the C example against a library."""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

import kiln as tf

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "aot" / "main.c"
CC_FLAGS = ["-O2", "-Wall", "-Wextra", "-Werror", "-std=c11"]


def mlp(units=(512, 512), inputs=784, classes=10):
    """W2: Dense(512, relu, inputShape [784]) -> Dense(512, relu) -> Dense(10, softmax)."""
    layers = [tf.layers.dense({"units": units[0], "activation": "relu", "inputShape": [inputs]})]
    layers += [tf.layers.dense({"units": u, "activation": "relu"}) for u in units[1:]]
    layers.append(tf.layers.dense({"units": classes, "activation": "softmax"}))
    return tf.sequential({"layers": layers})


def cnn():
    """W4: 28x28x1 -> Conv2D(32, 3x3, relu) -> MaxPool(2) -> Conv2D(64, 3x3, relu) -> MaxPool(2)
    -> Flatten -> Dense(128, relu) -> Dense(10, softmax)."""
    return tf.sequential({"layers": [
        tf.layers.conv2d({"filters": 32, "kernelSize": 3, "activation": "relu",
                          "inputShape": [28, 28, 1]}),
        tf.layers.maxPooling2d({"poolSize": 2}),
        tf.layers.conv2d({"filters": 64, "kernelSize": 3, "activation": "relu"}),
        tf.layers.maxPooling2d({"poolSize": 2}),
        tf.layers.flatten(),
        tf.layers.dense({"units": 128, "activation": "relu"}),
        tf.layers.dense({"units": 10, "activation": "softmax"})]})


def lstm():
    """W6: Input [32 timesteps, 16 features] -> LSTM(64) -> Dense(1)."""
    return tf.sequential({"layers": [tf.layers.lstm({"units": 64, "inputShape": [32, 16]}),
                                     tf.layers.dense({"units": 1})]})


def multi_input():
    """Two inputs, two outputs; branches joined by concat and add (op layers)."""
    a = tf.input({"shape": [6], "name": "features"})
    b = tf.input({"shape": [3], "name": "context"})
    ha = tf.layers.dense({"units": 8, "activation": "relu"}).apply(a)
    hb = tf.layers.dense({"units": 8, "activation": "tanh"}).apply(b)
    probs = tf.layers.dense({"units": 4, "activation": "softmax", "name": "probs"}).apply(
        tf.concat([ha, hb], 1))
    score = tf.layers.dense({"units": 1, "name": "score"}).apply(tf.add(ha, hb))
    return tf.model({"inputs": [a, b], "outputs": [probs, score]})


def random_inputs(model, n, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1, 1, [n] + x.shape[1:]).astype(np.float32) for x in model.inputs]


def predict_arrays(model, arrays):
    out = model.predict(arrays if len(arrays) > 1 else arrays[0])
    out = out if isinstance(out, list) else [out]
    return [o.dataSync().reshape(o.shape) for o in out]


def cc(sources, output, out_dir, name, *flags):
    """Compile C `sources` against lib{name}.so in out_dir."""
    command = ["cc", *CC_FLAGS, "-I", str(out_dir), *map(str, sources), *flags,
               "-L", str(out_dir), f"-l{name}", f"-Wl,-rpath,{out_dir}", "-o", str(output)]
    subprocess.run(command, check=True, capture_output=True, text=True)
    return output


def build_predict(out_dir, name, weights_file=False) -> Path:
    """The example program examples/aot/main.c, built for library `name`."""
    flags = [f"-DMODEL={name}"] + (["-DWEIGHTS_FILE"] if weights_file else [])
    return cc([EXAMPLE], Path(out_dir) / f"predict_{name}", out_dir, name, *flags)


def input_text(arrays) -> str:
    return "\n".join(" ".join(repr(float(v)) for v in a.reshape(-1)) for a in arrays) + "\n"


def run_predict(program, arrays, *args) -> list[np.ndarray]:
    """Run the example program on `arrays` (through stdin); parse the outputs it prints."""
    done = subprocess.run([str(program), "-", *map(str, args)], input=input_text(arrays),
                          capture_output=True, text=True, check=True)
    return parse_outputs(done.stdout)


def parse_outputs(text: str) -> list[np.ndarray]:
    """`output i NAME [n, d...] DTYPE` then one line of values per sample."""
    outputs, rows, shape, dtype = [], [], None, None

    def finish():
        if shape is not None:
            outputs.append(np.array(rows, dtype=dtype).reshape(shape))

    for line in text.splitlines():
        if line.startswith("output "):
            finish()
            head, _, rest = line.partition("[")
            dims, _, dtype_name = rest.partition("]")
            shape = [int(d) for d in dims.split(",")]
            dtype = {"float32": np.float32, "int32": np.int32, "bool": np.bool_}[
                dtype_name.strip()]
            rows = []
        else:
            rows.append([float(v) for v in line.split()])
    finish()
    return outputs
