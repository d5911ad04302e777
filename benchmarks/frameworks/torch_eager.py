"""PyTorch CPU, eager, with a hand-written training loop.

Variants:
  default  eager; inference under torch.inference_mode()
  compile  torch.compile(model, dynamic=False) under torch.inference_mode() (W2, W4, W6);
           left out, with a note, when compiling fails

Models take the same inputs as every framework (channelsLast images; [batch, time,
features] sequences) and load the shared TF.js-layout weights, converted here.
Training: Adam(lr 1e-3, eps 1e-7 as in Keras and TF.js), categorical cross-entropy
on the softmax outputs (probabilities clipped to [1e-7, 1 - 1e-7] as Keras does),
a fresh shuffle every epoch.
"""

import sys
import time

import numpy as np

import workloads
from frameworks import _common

FRAMEWORK = "torch_eager"
SUPPORTED = {"W1", "W2", "W3", "W4", "W5", "W6"}


def build_model(torch, workload):
    """The workload's model as a torch.nn.Module; see load_weights for its parameters."""
    nn = torch.nn

    class ChannelsLastCnn(nn.Module):
        """W4: takes [n, 28, 28, 1] input, computes in NCHW."""

        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 32, 3)
            self.conv2 = nn.Conv2d(32, 64, 3)
            self.dense1 = nn.Linear(1600, 128)
            self.dense2 = nn.Linear(128, 10)

        def forward(self, x):
            x = x.permute(0, 3, 1, 2)
            x = torch.max_pool2d(torch.relu(self.conv1(x)), 2)
            x = torch.max_pool2d(torch.relu(self.conv2(x)), 2)
            x = torch.relu(self.dense1(x.flatten(1)))
            return torch.softmax(self.dense2(x), dim=-1)

    class LstmRegressor(nn.Module):
        """W6: LSTM(64) over [batch, 32, 16], last hidden state -> Dense(1)."""

        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(16, 64, batch_first=True)
            self.dense = nn.Linear(64, 1)

        def forward(self, x):
            _, (h, _) = self.lstm(x)
            return self.dense(h[-1])

    if workload == "W1":
        return nn.Linear(1, 1)
    if workload in ("W2", "W3"):
        return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                             nn.Linear(512, 10), nn.Softmax(dim=-1))
    if workload in ("W4", "W5"):
        return ChannelsLastCnn()
    if workload == "W6":
        return LstmRegressor()
    raise ValueError(workload)


def torch_layout(workload, weights):
    """The TF.js-layout weights, converted to the model's parameters() order and layout."""
    if workload in ("W1", "W2", "W3"):
        # Dense kernel [in, out] -> Linear weight [out, in].
        return [w.T if w.ndim == 2 else w for w in weights]
    if workload in ("W4", "W5"):
        c1, cb1, c2, cb2, k1, b1, k2, b2 = weights
        # Conv kernel [kh, kw, in, out] -> [out, in, kh, kw]. Flatten order differs:
        # rows of k1 are (h, w, c) in TF.js and must become (c, h, w) for NCHW.
        k1_nchw = k1.reshape(5, 5, 64, 128).transpose(2, 0, 1, 3).reshape(1600, 128)
        return [c1.transpose(3, 2, 0, 1), cb1, c2.transpose(3, 2, 0, 1), cb2,
                k1_nchw.T, b1, k2.T, b2]
    if workload == "W6":
        kernel, recurrent, bias, k_out, b_out = weights
        # Gate order i, f, c, o equals torch's i, f, g, o; torch has two biases.
        return [kernel.T, recurrent.T, bias, np.zeros_like(bias), k_out.T, b_out]
    raise ValueError(workload)


def load_weights(torch, model, workload, weights):
    params = list(model.parameters())
    converted = torch_layout(workload, weights)
    assert len(params) == len(converted), (len(params), len(converted))
    with torch.no_grad():
        for param, value in zip(params, converted, strict=True):
            assert tuple(param.shape) == value.shape, (tuple(param.shape), value.shape)
            param.copy_(torch.from_numpy(np.ascontiguousarray(value)))


def categorical_crossentropy(torch, probabilities, one_hot):
    p = probabilities.clamp(1e-7, 1 - 1e-7)
    return -(one_hot * torch.log(p)).sum(dim=-1).mean()


def measure_seed(torch, model, arrays):
    settings = workloads.TRAIN["W1"]
    x, y = torch.from_numpy(arrays["x_train"]), torch.from_numpy(arrays["y_train"])
    optimizer = torch.optim.SGD(model.parameters(), lr=settings["learning_rate"])
    loss_fn = torch.nn.MSELoss()
    t0 = time.perf_counter()
    for _ in range(settings["epochs"]):  # batchSize 32 > 4 samples: one full-batch step per epoch
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
    fit_s = time.perf_counter() - t0
    with torch.inference_mode():
        predicted = model(torch.from_numpy(arrays["x_check"])).numpy()
    return {"default": _common.variant({"fit_s": fit_s, "predicted": float(predicted[0, 0])},
                                       predicted)}


def measure_training(torch, model, workload, arrays):
    settings = workloads.TRAIN[workload]
    with torch.inference_mode():
        check = model(torch.from_numpy(arrays["x_check"])).numpy()
    x, y = torch.from_numpy(arrays["x_train"]), torch.from_numpy(arrays["y_train"])
    optimizer = torch.optim.Adam(model.parameters(), lr=settings["learning_rate"], eps=1e-7)
    generator = torch.Generator().manual_seed(0)
    batch = settings["batch_size"]
    epoch_seconds = []
    for _ in range(settings["epochs"]):
        t0 = time.perf_counter()
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), batch):
            index = order[start:start + batch]
            optimizer.zero_grad()
            loss = categorical_crossentropy(torch, model(x[index]), y[index])
            loss.backward()
            optimizer.step()
        epoch_seconds.append(time.perf_counter() - t0)
    metrics = {"train_sps": _common.train_samples_per_second(epoch_seconds, len(x))}
    notes = [f"epoch seconds {[round(s, 3) for s in epoch_seconds]}"]
    return {"default": _common.variant(metrics, check, notes=notes)}


def measure_inference(torch, model, workload, arrays, options):
    x_latency, x_throughput = (None if x is None else torch.from_numpy(x)
                               for x in _common.inference_inputs(workload, arrays))
    x_check = torch.from_numpy(arrays["x_check"])
    model.eval()
    variants = {}
    with torch.inference_mode():
        metrics, reps = _common.latency_and_throughput(model, x_latency, x_throughput, options)
        variants["default"] = _common.variant(metrics, model(x_check).numpy(), reps)
        try:
            compiled = torch.compile(model, dynamic=False)
            t0 = time.perf_counter()
            compiled(x_latency)
            compile_s = time.perf_counter() - t0
            metrics, reps = _common.latency_and_throughput(compiled, x_latency, x_throughput,
                                                           options)
            variants["compile"] = _common.variant(
                metrics, compiled(x_check).numpy(), reps,
                [f"first call (compile) {compile_s:.1f} s; dynamic=False"])
        except Exception as error:  # torch.compile is optional: report and carry on
            variants["compile"] = _common.variant(
                {}, notes=[f"torch.compile failed: {type(error).__name__}: {error}"[:500]])
    return variants


def measure(workload, arrays, options):
    import torch

    model = build_model(torch, workload)
    load_weights(torch, model, workload, workloads.weights_of(arrays))
    if workload == "W1":
        variants = measure_seed(torch, model, arrays)
    elif workload in ("W3", "W5"):
        variants = measure_training(torch, model, workload, arrays)
    else:
        variants = measure_inference(torch, model, workload, arrays, options)
    threads = {"intra_op": torch.get_num_threads(), "inter_op": torch.get_num_interop_threads()}
    return {"variants": variants, "threads": threads, "notes": [],
            "versions": {"torch": torch.__version__}}


if __name__ == "__main__":
    sys.exit(_common.main(FRAMEWORK, SUPPORTED, ["torch"], measure))
