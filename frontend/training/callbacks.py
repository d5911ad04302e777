"""Training callbacks: the TF.js callback protocol, History, BaseLogger, plain-dict hooks,
tf.callbacks.earlyStopping, and the yielding that keeps the event loop responsive.

Hooks may be plain or async functions: onTrainBegin(logs), onTrainEnd(logs),
onEpochBegin(epoch, logs), onEpochEnd(epoch, logs), onBatchBegin(batch, logs),
onBatchEnd(batch, logs), onYield(epoch, batch, logs).
"""
from __future__ import annotations

import asyncio
import inspect
import math
import time

import numpy as np

from kiln.frontend.engine.config import parse_args, suggestion

HOOKS = ("onTrainBegin", "onTrainEnd", "onEpochBegin", "onEpochEnd", "onBatchBegin",
         "onBatchEnd", "onYield")
DEFAULT_YIELD_EVERY_MS = 125


async def _maybe_await(result):
    if inspect.isawaitable(result):
        await result


class Callback:
    """Base class: override any hook (plain or async)."""

    def __init__(self):
        self.model = None
        self.params = {}

    def setModel(self, model):
        self.model = model

    def setParams(self, params):
        self.params = params

    def onTrainBegin(self, logs=None): pass
    def onTrainEnd(self, logs=None): pass
    def onEpochBegin(self, epoch, logs=None): pass
    def onEpochEnd(self, epoch, logs=None): pass
    def onBatchBegin(self, batch, logs=None): pass
    def onBatchEnd(self, batch, logs=None): pass
    def onYield(self, epoch, batch, logs=None): pass


class CustomCallback(Callback):
    """Callbacks given as a dict of hooks {'onEpochEnd': fn, ...}."""

    def __init__(self, hooks: dict):
        super().__init__()
        unknown = [k for k in hooks if k not in HOOKS and k != "nextFrameFunc"]
        if unknown:
            raise ValueError(f"fit: unknown callback hook {unknown[0]!r}"
                             f"{suggestion(unknown[0], HOOKS)} (valid hooks: {', '.join(HOOKS)})")
        for name in HOOKS:
            if name in hooks and hooks[name] is not None:
                setattr(self, name, hooks[name])


class History(Callback):
    def __init__(self):
        super().__init__()
        self.epoch: list[int] = []
        self.history: dict[str, list] = {}

    def onEpochEnd(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)


class BaseLogger(Callback):
    """Turns batch logs into epoch logs: each metric's sample-weighted mean over batches."""

    def onEpochBegin(self, epoch, logs=None):
        self.seen = 0
        self.totals: dict[str, float] = {}

    def onBatchEnd(self, batch, logs=None):
        size = logs.get("size", 0)
        self.seen += size
        for key, value in logs.items():
            if key in ("batch", "size"):
                continue
            self.totals[key] = self.totals.get(key, 0.0) + value * size

    def onEpochEnd(self, epoch, logs=None):
        for key, total in self.totals.items():
            logs[key] = total / self.seen if self.seen else float("nan")


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved by more than minDelta for `patience` epochs."""

    ARGS = {"monitor": "val_loss", "minDelta": 0, "patience": 0, "verbose": 0, "mode": "auto",
            "baseline": None, "restoreBestWeights": False}

    def __init__(self, config=None, **kwargs):
        super().__init__()
        a = parse_args("earlyStopping", self.ARGS, config, kwargs)
        if a["mode"] not in ("auto", "min", "max"):
            raise ValueError(f"earlyStopping: mode must be 'auto', 'min' or 'max', got "
                             f"{a['mode']!r}")
        self.monitor, self.patience = a["monitor"], int(a["patience"])
        self.verbose, self.baseline = a["verbose"], a["baseline"]
        self.restoreBestWeights = bool(a["restoreBestWeights"])
        mode = a["mode"]
        if mode == "auto":
            mode = "max" if "acc" in self.monitor else "min"
        self.mode = mode
        self.minDelta = abs(float(a["minDelta"])) * (1 if mode == "max" else -1)

    def _improved(self, current, best):
        return current - self.minDelta > best if self.mode == "max" else \
            current - self.minDelta < best

    def onTrainBegin(self, logs=None):
        self.wait = 0
        self.stoppedEpoch = 0
        self.best_weights = None
        if self.baseline is not None:
            self.best = self.baseline
        else:
            self.best = -math.inf if self.mode == "max" else math.inf

    def onEpochEnd(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None:
            print(f"Metric for EarlyStopping {self.monitor} is not available. Available "
                  f"metrics are: {', '.join((logs or {}).keys())}")
            return
        if self._improved(current, self.best):
            self.best = current
            self.wait = 0
            if self.restoreBestWeights:
                self.best_weights = [w.dataSync().reshape(w.shape) for w in self.model.getWeights()]
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stoppedEpoch = epoch
                self.model.stopTraining = True
                if self.restoreBestWeights and self.best_weights is not None:
                    self.model.setWeights([np.asarray(w) for w in self.best_weights])

    def onTrainEnd(self, logs=None):
        if self.stoppedEpoch > 0 and self.verbose:
            print(f"Epoch {self.stoppedEpoch + 1}: early stopping")


def earlyStopping(config=None, **kwargs) -> EarlyStopping:
    return EarlyStopping(config, **kwargs)


class CallbackList:
    """Calls every callback's hook in order, awaiting async hooks, and yields to the event
    loop as often as yieldEvery asks ('auto' = every 125 ms, 'batch', 'epoch', 'never', or a
    number of milliseconds)."""

    def __init__(self, callbacks, yield_every="auto"):
        self.callbacks = list(callbacks)
        if yield_every == "auto":
            yield_every = DEFAULT_YIELD_EVERY_MS
        self.yield_every = yield_every
        self._last_yield = time.monotonic()
        self._hooks = {name: [getattr(c, name) for c in self.callbacks
                              if _overrides(c, name)] for name in HOOKS}
        if yield_every == "never" and self._hooks["onYield"]:
            raise ValueError("fit: yieldEvery 'never' cannot be combined with an onYield callback")

    def set(self, model, params):
        for c in self.callbacks:
            c.setModel(model)
            c.setParams(params)

    async def call(self, name, *args):
        for hook in self._hooks[name]:
            await _maybe_await(hook(*args))

    def has(self, name) -> bool:
        return bool(self._hooks[name])

    async def maybe_yield(self, epoch, batch, logs, at_epoch_end=False):
        mode = self.yield_every
        now = time.monotonic()
        if mode == "never":
            return
        if mode == "batch" or (mode == "epoch" and at_epoch_end) or \
                (isinstance(mode, (int, float)) and (now - self._last_yield) * 1000 >= mode):
            self._last_yield = now
            await self.call("onYield", epoch, batch, logs)
            await asyncio.sleep(0)


def _overrides(callback, name) -> bool:
    if isinstance(callback, CustomCallback):
        return name in callback.__dict__
    return getattr(type(callback), name) is not getattr(Callback, name)


def standardize_callbacks(callbacks) -> list[Callback]:
    if callbacks is None:
        return []
    if isinstance(callbacks, (Callback, dict)):
        callbacks = [callbacks]
    result = []
    for c in callbacks:
        if isinstance(c, Callback):
            result.append(c)
        elif isinstance(c, dict):
            result.append(CustomCallback(c))
        else:
            raise TypeError(f"fit: a callback must be a tf.Callback or a dict of hooks, got "
                            f"{type(c).__name__}")
    return result
