"""compile, fit, evaluate, trainOnBatch, fitDataset, evaluateDataset for LayersModel.

One training step — forward pass (training=True), losses, regularization, gradients by
reverse-mode autodiff over the IR, the optimizer's update, weight constraints and metrics — is
traced once per batch signature and compiled into one native function that updates the
weights in place. The Python loop only shuffles indices, slices batches, calls that function
and runs the callbacks.
"""
from __future__ import annotations

import math


import numpy as np

from kiln.frontend.engine.compiled import CompiledFunction
from kiln.frontend.engine.config import parse_args
from kiln.frontend.ops import math as m, reduction as r
from kiln.frontend.ops.convert import to_array
from kiln.frontend.trace import current_tracer
from kiln.frontend.training import losses as L
from kiln.frontend.training.callbacks import (BaseLogger, CallbackList, History,
                                              standardize_callbacks)
from kiln.frontend.training.metrics import resolve_metric
from kiln.frontend.training.optimizers import BY_NAME, Optimizer
from kiln.frontend.training.progbar import ProgbarLogger
from kiln.ir import grad_graph
from kiln.ir.dtypes import as_dtype
from kiln.runtime.tensor import Tensor

FIT_ARGS = {"batchSize": 32, "epochs": 1, "verbose": 1, "callbacks": None,
            "validationSplit": 0, "validationData": None, "shuffle": True, "classWeight": None,
            "sampleWeight": None, "initialEpoch": 0, "stepsPerEpoch": None,
            "validationSteps": None, "validationBatchSize": None, "yieldEvery": "auto",
            "seed": None}


class Compiled:
    """What compile() fixed: optimizer, one loss per output, metrics per output."""

    def __init__(self, model, args):
        optimizer = args["optimizer"]
        if isinstance(optimizer, str):
            if optimizer not in BY_NAME:
                from kiln.frontend.engine.config import suggestion
                raise ValueError(f"Unknown optimizer {optimizer!r}{suggestion(optimizer, BY_NAME)}"
                                 f" (valid: {', '.join(sorted(BY_NAME))}; use tf.train.momentum()"
                                 " for momentum)")
            optimizer, owned = BY_NAME[optimizer](), True
        elif isinstance(optimizer, Optimizer):
            owned = False
        else:
            raise TypeError(f"compile: optimizer must be a name or a tf.train optimizer, got "
                            f"{optimizer!r}")
        self.optimizer, self.owns_optimizer = optimizer, owned
        names = model.outputNames
        self.losses = _per_output(args["loss"], names, "loss", required=True)
        self.losses = [L.get_loss(loss) for loss in self.losses]
        metrics = _per_output_metrics(args["metrics"], names)
        self.metrics = []           # per output: [(log name, fn)]
        for i, (loss_fn, out) in enumerate(zip(self.losses, model.outputs)):
            self.metrics.append([resolve_metric(mt, loss_fn, out.shape) for mt in metrics[i]])
        multi = len(names) > 1
        self.metricsNames = ["loss"]
        if multi:
            self.metricsNames += [f"{n}_loss" for n in names]
        for n, ms in zip(names, self.metrics):
            self.metricsNames += [f"{n}_{name}" if multi else name for name, _ in ms]
        self.loss_config = args["loss"]
        self.metrics_config = args["metrics"]


def _per_output(value, names, what, required=False):
    if value is None:
        if required:
            raise ValueError(f"compile: a {what} is required")
        return [None] * len(names)
    if isinstance(value, dict):
        unknown = [k for k in value if k not in names]
        if unknown:
            raise ValueError(f"compile: unknown output {unknown[0]!r} in the {what} dict; the "
                             f"model's outputs are {names}")
        missing = [n for n in names if n not in value]
        if missing and required:
            raise ValueError(f"compile: the {what} dict has no entry for output {missing[0]!r}")
        return [value.get(n) for n in names]
    if isinstance(value, (list, tuple)):
        if len(value) != len(names):
            raise ValueError(f"compile: {len(value)} {what}es given for {len(names)} outputs")
        return list(value)
    return [value] * len(names)


def _per_output_metrics(metrics, names):
    if metrics is None:
        return [[] for _ in names]
    if isinstance(metrics, dict):
        result = []
        for n in names:
            v = metrics.get(n, [])
            result.append(list(v) if isinstance(v, (list, tuple)) else [v])
        return result
    if isinstance(metrics, (str,)) or callable(metrics):
        metrics = [metrics]
    return [list(metrics) for _ in names]


def compile(model, config=None, **kwargs):
    args = parse_args("compile", {"optimizer": None, "loss": None, "metrics": None},
                      config, kwargs)
    if args["optimizer"] is None:
        raise ValueError("compile: an optimizer is required (e.g. 'sgd' or tf.train.adam())")
    compiled = Compiled(model, args)
    model.compiled = compiled
    model.optimizer = compiled.optimizer
    model._owns_optimizer = compiled.owns_optimizer
    model.metricsNames = compiled.metricsNames
    model._train_steps = {}
    model._eval_steps = {}


def _require_compiled(model, what):
    if getattr(model, "compiled", None) is None:
        raise RuntimeError(f"{what}: the model needs to be compiled before being used "
                           "(call model.compile({...}) first)")
    return model.compiled


# ---- data -----------------------------------------------------------------------------
def _targets(model, y, what) -> list[np.ndarray]:
    names = model.outputNames
    if isinstance(y, dict):
        missing = [n for n in names if n not in y]
        if missing:
            raise ValueError(f"{what}: no target provided for output {missing[0]!r}")
        ys = [y[n] for n in names]
    elif isinstance(y, (list, tuple)) and y and all(isinstance(e, (Tensor, np.ndarray)) for e in y):
        ys = list(y)
    else:
        ys = [y]
    if len(ys) != len(names):
        raise ValueError(f"{what}: the model has {len(names)} output(s) but {len(ys)} target "
                         "array(s) were given")
    arrays = []
    for i, (data, out) in enumerate(zip(ys, model.outputs)):
        arr = data.buffer(what) if isinstance(data, Tensor) else to_array(data, None, what)
        if arr.dtype != np.float32:
            arr = arr.astype(np.float32)
        if arr.ndim == 0:
            raise ValueError(f"{what}: target {i} must have a batch axis, got a scalar")
        arrays.append(arr)
    return arrays


def _check_samples(xs, ys, what):
    nx = {a.shape[0] for a in xs}
    ny = {a.shape[0] for a in ys}
    if len(nx) > 1:
        raise ValueError(f"{what}: all input arrays must have the same number of samples, "
                         f"got {sorted(nx)}")
    if nx != ny:
        raise ValueError(f"{what}: input arrays should have the same number of samples as "
                         f"target arrays; found {nx.pop()} input samples and {sorted(ny)} "
                         "target samples")
    return xs[0].shape[0]


def _sample_weights(model, ys, sample_weight, class_weight, n, what):
    """One weight per sample (per output): sampleWeight times classWeight of the label."""
    weights = [np.ones(n, np.float32) for _ in ys]
    if sample_weight is not None:
        sw = sample_weight.buffer(what) if isinstance(sample_weight, Tensor) else \
            np.asarray(sample_weight, np.float32)
        if sw.shape != (n,):
            raise ValueError(f"{what}: sampleWeight must have shape [{n}], got {list(sw.shape)}")
        weights = [w * sw for w in weights]
    if class_weight is not None:
        per_output = class_weight if isinstance(class_weight, list) else [class_weight] * len(ys)
        for i, (cw, y) in enumerate(zip(per_output, ys)):
            if cw is None:
                continue
            labels = y.reshape(n, -1)
            label = labels.argmax(-1) if labels.shape[1] > 1 else np.round(labels[:, 0])
            lookup = np.array([cw.get(int(c), cw.get(str(int(c)), 1.0)) for c in label],
                              np.float32)
            weights[i] = weights[i] * lookup
    return weights


# ---- the compiled steps ---------------------------------------------------------------
def _loss_and_metrics(model, compiled, preds, ys, sws, training):
    """Traced: total loss, per-output losses, metric values (batch means)."""
    total = None
    per_output = []
    for loss_fn, pred, y, sw in zip(compiled.losses, preds, ys, sws):
        if list(y.shape[1:]) != list(pred.shape[1:]) and loss_fn not in (
                L.sparseCategoricalCrossentropy,):
            if not (y.size == pred.size):
                raise ValueError(f"target shape {y.shape} is incompatible with the output shape "
                                 f"{pred.shape} for loss {L.loss_name(loss_fn)!r}")
            from kiln.frontend.ops import shape as s
            y = s.reshape(y, pred.shape)
        sample_loss = loss_fn(y, pred)
        while sample_loss.rank > 1:
            sample_loss = r.mean(sample_loss, -1)
        loss = r.mean(m.mul(sample_loss, sw)) if sample_loss.rank else sample_loss
        per_output.append(loss)
        total = loss if total is None else m.add(total, loss)
    if training:
        for penalty in _regularization(model):
            total = m.add(total, penalty)
    values = [total] + (per_output if len(preds) > 1 else [])
    for metric_list, pred, y in zip(compiled.metrics, preds, ys):
        for _, fn in metric_list:
            values.append(r.mean(fn(y, pred)))
    return values


def _regularization(model):
    """Weight penalties of every layer, and the activity penalties the traced forward pass
    recorded."""
    penalties = []
    for layer in model.layers:
        for loss in layer.losses:      # a layer's own, its cell's or its wrapped layer's
            penalties.append(loss())
    tracer = current_tracer()
    if tracer is not None:
        penalties += tracer.losses
    return penalties


def _constraints(model) -> dict:
    table = {}
    for w in model.weights:
        if w.constraint is not None:
            table[id(w.read())] = w.constraint
    return table


def _train_step(model, compiled, specs, n_in, n_out):
    def body(traced):
        xs, ys, sws = traced[:n_in], traced[n_in:n_in + n_out], traced[n_in + n_out:]
        preds = model.run_graph(xs, model.outputs, {"training": True})
        values = _loss_and_metrics(model, compiled, preds, ys, sws, True)
        tracer = current_tracer()
        trainable = [w.read() for w in model.trainableWeights]
        params = [tracer.value_of(v) for v in trainable]
        grads = grad_graph(tracer.builder, [values[0].value], params)
        pairs = [(v, tracer.wrap(g)) for v, g in zip(trainable, grads) if g is not None]
        before = len(tracer.updates)
        compiled.optimizer.apply_traced(tracer, pairs)
        constraints = _constraints(model)
        for i in range(before, len(tracer.updates)):
            variable, value = tracer.updates[i]
            if id(variable) in constraints:
                tracer.updates[i] = (variable, constraints[id(variable)].apply(value))
        return values
    return CompiledFunction(body, specs, name=f"{model.name}_train")


def _eval_step(model, compiled, specs, n_in, n_out):
    def body(traced):
        xs, ys, sws = traced[:n_in], traced[n_in:n_in + n_out], traced[n_in + n_out:]
        preds = model.run_graph(xs, model.outputs, {"training": False})
        return _loss_and_metrics(model, compiled, preds, ys, sws, False)
    return CompiledFunction(body, specs, name=f"{model.name}_eval")


def _step(cache, factory, model, compiled, arrays, n_in, n_out):
    key = tuple((a.shape, a.dtype.str) for a in arrays)
    fn = cache.get(key)
    if fn is None:
        specs = [(a.shape, as_dtype(a.dtype).value) for a in arrays]
        fn = factory(model, compiled, specs, n_in, n_out)
        cache[key] = fn
    return fn


def _logs(names, outs) -> dict:
    return {name: float(v) for name, v in zip(names, outs)}


# ---- fit ------------------------------------------------------------------------------
async def fit(model, x, y, config=None, **kwargs):
    args = parse_args("fit", FIT_ARGS, config, kwargs)
    compiled = _require_compiled(model, "fit")
    xs = model._standardize_inputs(x, "fit")
    ys = _targets(model, y, "fit")
    n = _check_samples(xs, ys, "fit")
    batch_size = int(args["batchSize"])
    if batch_size <= 0:
        raise ValueError(f"fit: batchSize must be positive, got {batch_size}")
    sws = _sample_weights(model, ys, args["sampleWeight"], args["classWeight"], n, "fit")
    val = None
    if args["validationData"] is not None:
        vd = list(args["validationData"])
        if len(vd) == 3:
            vx, vy, vsw = vd
        elif len(vd) == 2:
            (vx, vy), vsw = vd, None
        else:
            raise ValueError("fit: validationData must be [x, y] or [x, y, sampleWeight]")
        vxs = model._standardize_inputs(vx, "fit (validationData)")
        vys = _targets(model, vy, "fit (validationData)")
        vn = _check_samples(vxs, vys, "fit (validationData)")
        val = (vxs, vys, _sample_weights(model, vys, vsw, None, vn, "fit"))
    elif args["validationSplit"]:
        split = float(args["validationSplit"])
        if not 0 < split < 1:
            raise ValueError(f"fit: validationSplit must be in (0, 1), got {split}")
        at = int(math.floor(n * (1 - split)))
        val = ([a[at:] for a in xs], [a[at:] for a in ys], [w[at:] for w in sws])
        xs, ys, sws = [a[:at] for a in xs], [a[:at] for a in ys], [w[:at] for w in sws]
        n = at
    return await _fit_loop(model, compiled, xs, ys, sws, n, val, args)


class _Session:
    """What fit and fitDataset share: the callback list (BaseLogger, progress bar, the user's,
    History), the training flag on the model, and the per-batch and per-epoch protocol."""

    def __init__(self, model, compiled, args, params):
        self.model, self.compiled = model, compiled
        self.history = History()
        callbacks = [BaseLogger()] + ([ProgbarLogger()] if args["verbose"] else [])
        callbacks += standardize_callbacks(args["callbacks"]) + [self.history]
        self.callbacks = CallbackList(callbacks, args["yieldEvery"])
        names = compiled.metricsNames
        params["metrics"] = list(names) + ([f"val_{k}" for k in names]
                                           if params["doValidation"] else [])
        self.callbacks.set(model, params)

    async def __aenter__(self):
        if getattr(self.model, "_fitting", False):
            raise RuntimeError("fit: another fit() call is ongoing on this model")
        self.model.stopTraining = False
        self.model._fitting = True
        await self.callbacks.call("onTrainBegin", {})
        return self

    async def __aexit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                await self.callbacks.call("onTrainEnd", {})
        finally:
            self.model._fitting = False
        self.model.history = self.history
        return False

    async def train_batch(self, epoch, batch, arrays, n_in, n_out) -> bool:
        """One compiled training step with its callbacks; True when training should stop."""
        cb, model, compiled = self.callbacks, self.model, self.compiled
        logs = {"batch": batch, "size": arrays[0].shape[0]}
        await cb.call("onBatchBegin", batch, logs)
        step = _step(model._train_steps, _train_step, model, compiled, arrays, n_in, n_out)
        logs.update(_logs(compiled.metricsNames, step.run(arrays)))
        compiled.optimizer.iterations_ += 1
        await cb.call("onBatchEnd", batch, logs)
        await cb.maybe_yield(epoch, batch, logs)
        return model.stopTraining

    async def end_epoch(self, epoch, epoch_logs, val_logs) -> bool:
        if val_logs is not None:
            epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
        await self.callbacks.call("onEpochEnd", epoch, epoch_logs)
        await self.callbacks.maybe_yield(epoch, None, epoch_logs, at_epoch_end=True)
        return self.model.stopTraining


async def _fit_loop(model, compiled, xs, ys, sws, n, val, args):
    batch_size, epochs = int(args["batchSize"]), int(args["epochs"])
    steps_per_epoch = args["stepsPerEpoch"]
    n_batches = steps_per_epoch or max(1, math.ceil(n / batch_size)) if n else 0
    params = {"epochs": epochs, "initialEpoch": int(args["initialEpoch"]), "samples": n,
              "steps": steps_per_epoch, "batchSize": batch_size, "verbose": args["verbose"],
              "doValidation": val is not None}
    session = _Session(model, compiled, args, params)
    rng = np.random.default_rng(args["seed"])
    data = xs + ys + sws
    async with session:
        for epoch in range(int(args["initialEpoch"]), epochs):
            epoch_logs: dict = {}
            await session.callbacks.call("onEpochBegin", epoch, epoch_logs)
            order = rng.permutation(n) if args["shuffle"] and n > 1 else np.arange(n)
            for batch, idx in enumerate(_batches(order, batch_size, n_batches)):
                arrays = [np.ascontiguousarray(a[idx]) for a in data] \
                    if len(idx) != n or args["shuffle"] else data
                if await session.train_batch(epoch, batch, arrays, len(xs), len(ys)):
                    break
            val_logs = None
            if val is not None:
                val_logs = _evaluate_arrays(model, compiled, *val,
                                            int(args["validationBatchSize"] or batch_size),
                                            args["validationSteps"])
            if await session.end_epoch(epoch, epoch_logs, val_logs):
                break
    return session.history


def _batches(order, batch_size, n_batches):
    """Index arrays for one epoch; with stepsPerEpoch the data is cycled."""
    n = len(order)
    if n == 0:
        return
    for b in range(n_batches):
        start = (b * batch_size) % n
        idx = order[start:start + batch_size]
        if len(idx) < batch_size and n_batches * batch_size > n and b < n_batches - 1:
            idx = np.concatenate([idx, order[:batch_size - len(idx)]])
        yield idx


# ---- evaluate -------------------------------------------------------------------------
def _evaluate_arrays(model, compiled, xs, ys, sws, batch_size, steps=None) -> dict:
    n = xs[0].shape[0]
    totals = None
    seen = 0
    data = xs + ys + sws
    for b, start in enumerate(range(0, n, batch_size)):
        if steps is not None and b >= steps:
            break
        arrays = [np.ascontiguousarray(a[start:start + batch_size]) for a in data]
        step = _step(model._eval_steps, _eval_step, model, compiled, arrays, len(xs), len(ys))
        outs = np.array([float(v) for v in step.run(arrays)])
        size = arrays[0].shape[0]
        totals = outs * size if totals is None else totals + outs * size
        seen += size
    if totals is None:
        return {name: float("nan") for name in compiled.metricsNames}
    return {name: float(v) for name, v in zip(compiled.metricsNames, totals / seen)}


def evaluate(model, x, y, config=None, **kwargs):
    """Loss (and metrics) on x, y: a scalar Tensor, or a list of them with metrics."""
    args = parse_args("evaluate", {"batchSize": 32, "verbose": 0, "sampleWeight": None,
                                   "steps": None}, config, kwargs)
    compiled = _require_compiled(model, "evaluate")
    xs = model._standardize_inputs(x, "evaluate")
    ys = _targets(model, y, "evaluate")
    n = _check_samples(xs, ys, "evaluate")
    sws = _sample_weights(model, ys, args["sampleWeight"], None, n, "evaluate")
    logs = _evaluate_arrays(model, compiled, xs, ys, sws, int(args["batchSize"]), args["steps"])
    values = [Tensor(np.array(v, np.float32)) for v in logs.values()]
    return values[0] if len(values) == 1 else values


async def trainOnBatch(model, x, y):
    compiled = _require_compiled(model, "trainOnBatch")
    xs = model._standardize_inputs(x, "trainOnBatch")
    ys = _targets(model, y, "trainOnBatch")
    n = _check_samples(xs, ys, "trainOnBatch")
    arrays = xs + ys + _sample_weights(model, ys, None, None, n, "trainOnBatch")
    step = _step(model._train_steps, _train_step, model, compiled, arrays, len(xs), len(ys))
    values = [float(v) for v in step.run(arrays)]
    compiled.optimizer.iterations_ += 1
    return values[0] if len(values) == 1 else values



# ---- datasets -------------------------------------------------------------------------
def _split_element(model, element, what):
    """An iterator element {xs, ys} or [xs, ys] as (input arrays, target arrays)."""
    if isinstance(element, dict) and "xs" in element and "ys" in element:
        xs, ys = element["xs"], element["ys"]
    elif isinstance(element, (list, tuple)) and len(element) == 2:
        xs, ys = element
    else:
        raise ValueError(f"{what}: dataset elements must be {{'xs': ..., 'ys': ...}} or "
                         f"[xs, ys], got {type(element).__name__}")
    arrays_x = model._standardize_inputs(xs, what)
    arrays_y = _targets(model, ys, what)
    _check_samples(arrays_x, arrays_y, what)
    return arrays_x, arrays_y


async def _evaluate_dataset_logs(model, compiled, dataset, batches, what) -> dict:
    iterator = await dataset.iterator()
    totals, seen, count = None, 0, 0
    try:
        while batches is None or count < batches:
            item = await iterator.next()
            if item["done"]:
                break
            xs, ys = _split_element(model, item["value"], what)
            n = xs[0].shape[0]
            arrays = xs + ys + [np.ones(n, np.float32) for _ in ys]
            step = _step(model._eval_steps, _eval_step, model, compiled, arrays, len(xs), len(ys))
            outs = np.array([float(v) for v in step.run(arrays)])
            totals = outs * n if totals is None else totals + outs * n
            seen += n
            count += 1
    finally:
        closer = getattr(iterator, "aclose", None)
        if closer is not None:
            await closer()
    if totals is None:
        raise ValueError(f"{what}: the dataset produced no batches")
    return {name: float(v) for name, v in zip(compiled.metricsNames, totals / seen)}


async def evaluateDataset(model, dataset, config=None, **kwargs):
    """Loss (and metrics) over a dataset of {xs, ys} batches."""
    args = parse_args("evaluateDataset", {"batches": None, "verbose": 0}, config, kwargs)
    compiled = _require_compiled(model, "evaluateDataset")
    logs = await _evaluate_dataset_logs(model, compiled, dataset, args["batches"],
                                        "evaluateDataset")
    values = [Tensor(np.array(v, np.float32)) for v in logs.values()]
    return values[0] if len(values) == 1 else values


FIT_DATASET_ARGS = {"epochs": None, "batchesPerEpoch": None, "verbose": 1, "callbacks": None,
                    "validationData": None, "validationBatchSize": 32, "validationBatches": None,
                    "yieldEvery": "auto", "initialEpoch": 0, "classWeight": None}


async def fitDataset(model, dataset, config=None, **kwargs):
    """Train on a dataset of {xs, ys} (or [xs, ys]) batches; resolves to a History.

    Without batchesPerEpoch an epoch is one pass over the dataset (iterated anew each epoch);
    with it, epochs take that many batches from one continuing iterator, as in TF.js."""
    args = parse_args("fitDataset", FIT_DATASET_ARGS, config, kwargs)
    if args["epochs"] is None:
        raise ValueError("fitDataset: the option 'epochs' is required")
    compiled = _require_compiled(model, "fitDataset")
    epochs = int(args["epochs"])
    per_epoch = args["batchesPerEpoch"]
    val = args["validationData"]
    val_arrays = None
    if val is not None and not hasattr(val, "iterator"):
        vx, vy = val[0], val[1]
        vxs = model._standardize_inputs(vx, "fitDataset (validationData)")
        vys = _targets(model, vy, "fitDataset (validationData)")
        vn = _check_samples(vxs, vys, "fitDataset (validationData)")
        val_arrays = (vxs, vys, _sample_weights(model, vys, None, None, vn, "fitDataset"))
    params = {"epochs": epochs, "initialEpoch": int(args["initialEpoch"]), "samples": None,
              "steps": per_epoch, "batchSize": None, "verbose": args["verbose"],
              "doValidation": val is not None}
    session = _Session(model, compiled, args, params)
    iterator = await dataset.iterator()
    async with session:
        for epoch in range(int(args["initialEpoch"]), epochs):
            epoch_logs: dict = {}
            await session.callbacks.call("onEpochBegin", epoch, epoch_logs)
            batch = 0
            while per_epoch is None or batch < per_epoch:
                item = await iterator.next()
                if item["done"]:
                    if per_epoch is not None:
                        print(f"fitDataset: the dataset ran out of data after {batch} batches "
                              f"of epoch {epoch + 1}; expected batchesPerEpoch={per_epoch}")
                    break
                xs, ys = _split_element(model, item["value"], "fitDataset")
                n = xs[0].shape[0]
                sws = _sample_weights(model, ys, None, args["classWeight"], n, "fitDataset")
                stop = await session.train_batch(epoch, batch, xs + ys + sws, len(xs), len(ys))
                batch += 1
                if stop:
                    break
            if per_epoch is None:
                iterator = await dataset.iterator()
            val_logs = None
            if val_arrays is not None:
                val_logs = _evaluate_arrays(model, compiled, *val_arrays,
                                            int(args["validationBatchSize"]))
            elif val is not None:
                val_logs = await _evaluate_dataset_logs(model, compiled, val,
                                                        args["validationBatches"], "fitDataset")
            if await session.end_epoch(epoch, epoch_logs, val_logs):
                break
    return session.history
