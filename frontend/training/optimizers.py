"""Optimizers (tf.train.*), with TF.js's argument order, defaults and update formulas.

An optimizer's update is written with tf.* ops and runs inside the compiled training step
(or the compiled graph of `minimize` / `applyGradients`), writing the weights and its own
state (slots, hyperparameter scalars) in place. Slots are created on first use per weight and
named as TF.js names them (`<weight>/m`, ...); `getWeights` returns
[{'name': 'iter', ...}, slots...] like TF.js.
"""
from __future__ import annotations

import numpy as np

from kiln.frontend.engine.config import parse_args
from kiln.frontend.engine.compiled import executable_for, feed_arrays
from kiln.frontend.ops import math as m
from kiln.frontend.serialization import Serializable, registerClass
from kiln.frontend.trace import Tracer
from kiln.ir import Builder
from kiln.runtime.tensor import Tensor, Variable, variable_named

EPSILON = 1e-7      # TF.js's backend epsilon for float32


class Optimizer(Serializable):
    SLOTS: tuple = ()          # (slot name, initial value attribute or number)

    def __init__(self):
        self.iterations_ = 0
        self._slots: dict[int, dict[str, Variable]] = {}
        self._slot_order: list[tuple[Variable, str]] = []
        self._scalars: dict[str, Variable] = {}
        self._values: dict[str, float] = {}

    # ---- state -----------------------------------------------------------------------
    def _scalar(self, name: str, value: float) -> Variable:
        """A hyperparameter or accumulator scalar held in a variable (so changing it needs no
        recompilation)."""
        if name not in self._scalars:
            self._values[name] = float(value)
            self._scalars[name] = Variable(np.array(value, np.float32), trainable=False,
                                           name=f"{self.getClassName()}_{id(self)}/{name}")
        return self._scalars[name]

    def _set_scalar(self, name: str, value: float) -> None:
        self._scalar(name, value).assign(np.array(value, np.float32))
        self._values[name] = float(value)

    def _slot(self, variable: Variable, name: str, initial: float) -> Variable:
        slots = self._slots.setdefault(id(variable), {})
        if name not in slots:
            shape = variable.buffer("optimizer").shape
            slots[name] = Variable(np.full(shape, initial, np.float32), trainable=False,
                                   name=f"{variable.name}/{name}")
            self._slot_order.append((variable, name))
        return slots[name]

    @property
    def iterations(self) -> int:
        return self.iterations_

    @property
    def learningRate(self) -> float:
        # The value as given (0.01), not its float32 rounding (0.009999999776...): getConfig
        # writes it to model.json as TF.js does.
        return self._values["learningRate"]

    @learningRate.setter
    def learningRate(self, value: float) -> None:
        self._set_scalar("learningRate", float(value))

    def setLearningRate(self, value: float) -> None:
        self.learningRate = value

    # ---- the update rule ---------------------------------------------------------------
    def update(self, variable: Variable, grad):
        """[(state variable, new value)] for one weight and its gradient (traced)."""
        raise NotImplementedError

    def finish_step(self):
        """[(state variable, new value)] once per step after all weights (traced)."""
        return []

    def apply_traced(self, tracer: Tracer, pairs) -> None:
        """Record this optimizer's step for (variable, gradient) pairs in the active trace."""
        for variable, grad in pairs:
            for target, value in self.update(variable, grad):
                tracer.add_update(target, value)
        for target, value in self.finish_step():
            tracer.add_update(target, value)

    # ---- TF.js's public methods --------------------------------------------------------
    def applyGradients(self, variableGradients) -> None:
        """Apply {name: gradient} (or [{'name', 'tensor'}]) to the named variables."""
        if isinstance(variableGradients, dict):
            items = list(variableGradients.items())
        else:
            items = [(entry["name"], entry["tensor"]) for entry in variableGradients]
        variables, grads = [], []
        for name, g in items:
            v = variable_named(name)
            if v is None:
                raise ValueError(f"applyGradients: no live variable named {name!r}")
            if list(g.shape) != v.shape:
                raise ValueError(f"applyGradients: gradient for {name!r} has shape {g.shape}, "
                                 f"the variable has {v.shape}")
            variables.append(v)
            grads.append(g)
        tracer = Tracer(Builder("applyGradients"))
        with tracer:
            traced = [tracer.input(g.shape, "float32", f"g{i}") for i, g in enumerate(grads)]
            for v in variables:
                tracer.value_of(v)
            self.apply_traced(tracer, list(zip(variables, traced)))
            updates = [(tracer.value_of(v), tracer.value_of(val)) for v, val in tracer.updates]
        graph = tracer.builder.finish([], updates)
        live = set(graph.params)
        params = [v for p, v in zip(tracer.builder.params, tracer.variables) if p in live]
        exe = executable_for(graph)
        arrays = [np.asarray(g.buffer("applyGradients"), np.float32) for g in grads]
        exe.run(feed_arrays(tracer.feeds, arrays), [v.buffer("applyGradients") for v in params])
        self.iterations_ += 1

    def minimize(self, f, returnCost: bool = False, varList=None):
        """One compiled step: cost = f(), gradients, and this optimizer's update."""
        from kiln.frontend.gradients import differentiate

        value, _ = differentiate(lambda: f(), [], "minimize", None, varList, scalar=True,
                                 extend=self.apply_traced, return_grads=False)
        self.iterations_ += 1
        if returnCost:
            return value
        value.dispose()
        return None

    def computeGradients(self, f, varList=None) -> dict:
        from kiln.frontend.gradients import variableGrads
        return variableGrads(f, varList)

    async def getWeights(self) -> list[dict]:
        weights = [{"name": "iter", "tensor": Tensor(np.array(self.iterations_, np.int32))}]
        # TF.js lists slots by kind, then by variable: all 'm' before all 'v'.
        kinds = list(dict.fromkeys(name for _, name in self._slot_order))
        for variable, name in sorted(self._slot_order, key=lambda e: kinds.index(e[1])):
            slot = self._slots[id(variable)][name]
            weights.append({"name": slot.name, "tensor": slot.clone()})
        return weights

    async def setWeights(self, weightValues) -> None:
        values = list(weightValues)
        if values and values[0]["name"] == "iter":
            self.iterations_ = int(values[0]["tensor"].dataSync()[0])
            values = values[1:]
        by_name = {slot.name: slot for slots in self._slots.values() for slot in slots.values()}
        for entry in values:
            slot = by_name.get(entry["name"])
            if slot is None:
                target = entry["name"].rsplit("/", 1)
                variable = variable_named(target[0]) if len(target) == 2 else None
                if variable is None:
                    raise ValueError(f"setWeights: no weight for optimizer slot {entry['name']!r}")
                slot = self._slot(variable, target[1], 0.0)
            slot.assign(entry["tensor"])
        self._after_set_weights()

    def _after_set_weights(self) -> None:
        pass

    def dispose(self) -> None:
        for slots in self._slots.values():
            for slot in slots.values():
                slot.dispose()
        for scalar in self._scalars.values():
            scalar.dispose()
        self._slots.clear()
        self._slot_order.clear()

    @staticmethod
    def fromConfig(cls, config):
        return cls(config)


def _args(owner, positional, spec, config_or_first):
    """TF.js optimizers take positional arguments; kiln also accepts one config dict."""
    if isinstance(config_or_first, dict):
        given = dict(config_or_first)
        if "lr" in given and "learningRate" not in given:
            given["learningRate"] = given.pop("lr")
        return parse_args(owner, spec, given, {})
    values = dict(zip(spec, positional))
    return parse_args(owner, spec, {k: v for k, v in values.items() if v is not None}, {})


@registerClass
class SGDOptimizer(Optimizer):
    className = "SGD"

    def __init__(self, learningRate=None):
        super().__init__()
        a = _args("sgd", [learningRate], {"learningRate": 0.01}, learningRate)
        self._scalar("learningRate", a["learningRate"])

    def update(self, variable, grad):
        lr = self._scalars["learningRate"]
        return [(variable, m.sub(variable, m.mul(grad, lr)))]

    def getConfig(self):
        return {"learningRate": self.learningRate}


@registerClass
class MomentumOptimizer(Optimizer):
    className = "Momentum"

    def __init__(self, learningRate=None, momentum=None, useNesterov=False):
        super().__init__()
        a = _args("momentum", [learningRate, momentum, useNesterov],
                  {"learningRate": 0.01, "momentum": 0.0, "useNesterov": False}, learningRate)
        self._scalar("learningRate", a["learningRate"])
        self.momentum = float(a["momentum"])
        self.useNesterov = bool(a["useNesterov"])

    def update(self, variable, grad):
        lr = self._scalars["learningRate"]
        accumulation = self._slot(variable, "momentum", 0.0)
        new_acc = m.add(m.mul(accumulation, self.momentum), grad)
        step = m.add(grad, m.mul(new_acc, self.momentum)) if self.useNesterov else new_acc
        return [(accumulation, new_acc), (variable, m.sub(variable, m.mul(step, lr)))]

    def getConfig(self):
        return {"learningRate": self.learningRate, "momentum": self.momentum,
                "useNesterov": self.useNesterov}


@registerClass
class AdagradOptimizer(Optimizer):
    className = "Adagrad"

    def __init__(self, learningRate=None, initialAccumulatorValue=None):
        super().__init__()
        a = _args("adagrad", [learningRate, initialAccumulatorValue],
                  {"learningRate": 0.01, "initialAccumulatorValue": 0.1}, learningRate)
        self._scalar("learningRate", a["learningRate"])
        self.initialAccumulatorValue = float(a["initialAccumulatorValue"])

    def update(self, variable, grad):
        lr = self._scalars["learningRate"]
        acc = self._slot(variable, "accumulator", self.initialAccumulatorValue)
        new_acc = m.add(acc, m.square(grad))
        step = m.div(grad, m.sqrt(m.add(new_acc, EPSILON)))
        return [(acc, new_acc), (variable, m.sub(variable, m.mul(step, lr)))]

    def getConfig(self):
        return {"learningRate": self.learningRate,
                "initialAccumulatorValue": self.initialAccumulatorValue}


@registerClass
class AdadeltaOptimizer(Optimizer):
    className = "Adadelta"

    def __init__(self, learningRate=None, rho=None, epsilon=None):
        super().__init__()
        a = _args("adadelta", [learningRate, rho, epsilon],
                  {"learningRate": 0.001, "rho": 0.95, "epsilon": EPSILON}, learningRate)
        self._scalar("learningRate", a["learningRate"])
        self.rho, self.epsilon = float(a["rho"]), float(a["epsilon"])

    def update(self, variable, grad):
        lr = self._scalars["learningRate"]
        acc_grad = self._slot(variable, "accum_grad", 0.0)
        acc_update = self._slot(variable, "accum_var", 0.0)
        new_acc_grad = m.add(m.mul(acc_grad, self.rho), m.mul(m.square(grad), 1 - self.rho))
        # TF.js divides by the accumulated gradient from before this step (Keras uses the new
        # one); kiln follows TF.js's formula so TF.js-trained state continues identically.
        step = m.mul(m.div(m.sqrt(m.add(acc_update, self.epsilon)),
                           m.sqrt(m.add(acc_grad, self.epsilon))), grad)
        new_acc_update = m.add(m.mul(acc_update, self.rho), m.mul(m.square(step), 1 - self.rho))
        return [(acc_grad, new_acc_grad), (acc_update, new_acc_update),
                (variable, m.sub(variable, m.mul(step, lr)))]

    def getConfig(self):
        return {"learningRate": self.learningRate, "rho": self.rho, "epsilon": self.epsilon}


class _BetaPowers(Optimizer):
    """Adam and Adamax keep beta1^t (and beta2^t) in scalars updated each step."""

    def _after_set_weights(self):
        t = self.iterations_ + 1
        self._set_scalar("accBeta1", self.beta1 ** t)
        if "accBeta2" in self._scalars:
            self._set_scalar("accBeta2", self.beta2 ** t)


@registerClass
class AdamOptimizer(_BetaPowers):
    className = "Adam"

    def __init__(self, learningRate=None, beta1=None, beta2=None, epsilon=None):
        super().__init__()
        a = _args("adam", [learningRate, beta1, beta2, epsilon],
                  {"learningRate": 0.001, "beta1": 0.9, "beta2": 0.999, "epsilon": EPSILON},
                  learningRate)
        self._scalar("learningRate", a["learningRate"])
        self.beta1, self.beta2 = float(a["beta1"]), float(a["beta2"])
        self.epsilon = float(a["epsilon"])
        self._scalar("accBeta1", self.beta1)
        self._scalar("accBeta2", self.beta2)

    def update(self, variable, grad):
        lr = self._scalars["learningRate"]
        acc1, acc2 = self._scalars["accBeta1"], self._scalars["accBeta2"]
        first = self._slot(variable, "m", 0.0)
        second = self._slot(variable, "v", 0.0)
        new_m = m.add(m.mul(first, self.beta1), m.mul(grad, 1 - self.beta1))
        new_v = m.add(m.mul(second, self.beta2), m.mul(m.square(grad), 1 - self.beta2))
        m_hat = m.div(new_m, m.sub(1.0, acc1))
        v_hat = m.div(new_v, m.sub(1.0, acc2))
        step = m.mul(m.div(m_hat, m.add(m.sqrt(v_hat), self.epsilon)), lr)
        return [(first, new_m), (second, new_v), (variable, m.sub(variable, step))]

    def finish_step(self):
        acc1, acc2 = self._scalars["accBeta1"], self._scalars["accBeta2"]
        return [(acc1, m.mul(acc1, self.beta1)), (acc2, m.mul(acc2, self.beta2))]

    def getConfig(self):
        return {"learningRate": self.learningRate, "beta1": self.beta1, "beta2": self.beta2,
                "epsilon": self.epsilon}


@registerClass
class AdamaxOptimizer(_BetaPowers):
    className = "Adamax"

    def __init__(self, learningRate=None, beta1=None, beta2=None, epsilon=None, decay=None):
        super().__init__()
        a = _args("adamax", [learningRate, beta1, beta2, epsilon, decay],
                  {"learningRate": 0.002, "beta1": 0.9, "beta2": 0.999, "epsilon": EPSILON,
                   "decay": 0.0}, learningRate)
        self._scalar("learningRate", a["learningRate"])
        self.beta1, self.beta2 = float(a["beta1"]), float(a["beta2"])
        self.epsilon, self.decay = float(a["epsilon"]), float(a["decay"])
        self._scalar("accBeta1", self.beta1)
        self._scalar("iteration", 0.0)

    def update(self, variable, grad):
        lr = m.div(self._scalars["learningRate"],
                   m.add(m.mul(self._scalars["iteration"], self.decay), 1.0))
        first = self._slot(variable, "m", 0.0)
        inf_norm = self._slot(variable, "v", 0.0)
        new_m = m.add(m.mul(first, self.beta1), m.mul(grad, 1 - self.beta1))
        new_u = m.maximum(m.mul(inf_norm, self.beta2), m.abs(grad))
        step = m.mul(m.div(lr, m.sub(1.0, self._scalars["accBeta1"])),
                     m.div(new_m, m.add(new_u, self.epsilon)))
        return [(first, new_m), (inf_norm, new_u), (variable, m.sub(variable, step))]

    def finish_step(self):
        acc1, it = self._scalars["accBeta1"], self._scalars["iteration"]
        return [(acc1, m.mul(acc1, self.beta1)), (it, m.add(it, 1.0))]

    def _after_set_weights(self):
        super()._after_set_weights()
        self._set_scalar("iteration", float(self.iterations_))

    def getConfig(self):
        return {"learningRate": self.learningRate, "beta1": self.beta1, "beta2": self.beta2,
                "epsilon": self.epsilon, "decay": self.decay}


@registerClass
class RMSPropOptimizer(Optimizer):
    className = "RMSProp"

    def __init__(self, learningRate=None, decay=None, momentum=None, epsilon=None,
                 centered=False):
        super().__init__()
        a = _args("rmsprop", [learningRate, decay, momentum, epsilon, centered],
                  {"learningRate": 0.001, "decay": 0.9, "momentum": 0.0, "epsilon": EPSILON,
                   "centered": False}, learningRate)
        self._scalar("learningRate", a["learningRate"])
        self.decay, self.momentum = float(a["decay"]), float(a["momentum"])
        self.epsilon, self.centered = float(a["epsilon"]), bool(a["centered"])

    def update(self, variable, grad):
        lr = self._scalars["learningRate"]
        ms = self._slot(variable, "rms", 0.0)
        mom = self._slot(variable, "momentum", 0.0)
        new_ms = m.add(m.mul(ms, self.decay), m.mul(m.square(grad), 1 - self.decay))
        updates = [(ms, new_ms)]
        denominator = new_ms
        if self.centered:
            mg = self._slot(variable, "mg", 0.0)
            new_mg = m.add(m.mul(mg, self.decay), m.mul(grad, 1 - self.decay))
            updates.append((mg, new_mg))
            denominator = m.sub(new_ms, m.square(new_mg))
        new_mom = m.add(m.mul(mom, self.momentum),
                        m.div(m.mul(grad, lr), m.sqrt(m.add(denominator, self.epsilon))))
        return updates + [(mom, new_mom), (variable, m.sub(variable, new_mom))]

    def getConfig(self):
        return {"learningRate": self.learningRate, "decay": self.decay,
                "momentum": self.momentum, "epsilon": self.epsilon, "centered": self.centered}


def sgd(learningRate=None):
    return SGDOptimizer(learningRate)


def momentum(learningRate=None, momentum=None, useNesterov=False):
    return MomentumOptimizer(learningRate, momentum, useNesterov)


def adagrad(learningRate=None, initialAccumulatorValue=None):
    return AdagradOptimizer(learningRate, initialAccumulatorValue)


def adadelta(learningRate=None, rho=None, epsilon=None):
    return AdadeltaOptimizer(learningRate, rho, epsilon)


def adam(learningRate=None, beta1=None, beta2=None, epsilon=None):
    return AdamOptimizer(learningRate, beta1, beta2, epsilon)


def adamax(learningRate=None, beta1=None, beta2=None, epsilon=None, decay=None):
    return AdamaxOptimizer(learningRate, beta1, beta2, epsilon, decay)


def rmsprop(learningRate=None, decay=None, momentum=None, epsilon=None, centered=False):
    return RMSPropOptimizer(learningRate, decay, momentum, epsilon, centered)


FACTORIES = {"sgd": sgd, "momentum": momentum, "adagrad": adagrad, "adadelta": adadelta,
             "adam": adam, "adamax": adamax, "rmsprop": rmsprop}

# compile({'optimizer': name}): TF.js's names and the defaults it uses for them (no 'momentum').
BY_NAME = {
    "sgd": lambda: sgd(0.01), "SGD": lambda: sgd(0.01),
    "adam": lambda: adam(0.001, 0.9, 0.999, EPSILON), "Adam": lambda: adam(0.001, 0.9, 0.999, EPSILON),
    "adagrad": lambda: adagrad(0.01), "Adagrad": lambda: adagrad(0.01),
    "adadelta": lambda: adadelta(1.0, 0.95, EPSILON), "Adadelta": lambda: adadelta(1.0, 0.95, EPSILON),
    "adamax": lambda: adamax(0.002, 0.9, 0.999, EPSILON, 0.0),
    "Adamax": lambda: adamax(0.002, 0.9, 0.999, EPSILON, 0.0),
    "rmsprop": lambda: rmsprop(0.001, 0.9, 0.0, EPSILON),
    "RMSProp": lambda: rmsprop(0.001, 0.9, 0.0, EPSILON),
}
