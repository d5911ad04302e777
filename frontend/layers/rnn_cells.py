"""Recurrent cells: simpleRNNCell, gruCell, lstmCell, stackedRNNCells.

A cell is a Layer whose `call([input, *states], kwargs)` computes one time step and returns
`[output, *newStates]`, as in TF.js. The recurrent layers (kiln.frontend.layers.recurrent)
compile a whole sequence into one IR loop and use three finer entry points so that the loop
body holds only the recurrent part of the step:

    prepare(inputShape, training)  before the loop: dropout masks (fixed across time, as in
                                   Keras) and constants derived from weights (GRU's kernel
                                   halves, its split biases)
    project(x)                     the part of the step that does not depend on the state:
                                   x @ kernel + bias. Applied to the whole time-major sequence
                                   at once, it is one large matMul outside the loop
    step(projected, states)        the rest: h @ recurrentKernel, the gates, the new state

Weights are named and laid out as TF.js's: kernel [inputDim, k*units], recurrent_kernel
[units, k*units], bias [k*units], gates in TF.js's order (LSTM i, f, c, o; GRU z, r, h).
`dropout` masks the input and `recurrentDropout` the previous output with one mask each,
for all gates (TF.js's implementation 2); `implementation` is accepted and ignored, as TF.js.
"""
from __future__ import annotations

from kiln.frontend.engine.config import REQUIRED, collect_args
from kiln.frontend.engine.layer import Layer
from kiln.frontend.engine.naming import name_scope
from kiln.frontend.initializers import Initializer, Ones
from kiln.frontend.layers._common import (get_activation, get_constraint, get_initializer,
                                          get_regularizer, serialize, serialize_activation)
from kiln.frontend.layers.core import dropout as apply_dropout
from kiln.frontend.ops import creation, linalg, math as m, shape as s
from kiln.frontend.serialization import deserialize, registerClass


def dense(x, w, bias=None):
    """x [..., d] @ w [d, n] (+ bias) -> [..., n]: leading axes flattened into one matMul, the
    bias added before reshaping back so that it fuses into the matMul's epilogue."""
    lead = x.shape[:-1]
    y = linalg.matMul(x if x.rank == 2 else s.reshape(x, [-1, x.shape[-1]]), w)
    if bias is not None:
        y = m.add(y, bias)
    return y if x.rank == 2 else s.reshape(y, lead + [w.shape[-1]])


class RNNCell(Layer):
    """Base of cells. Subclasses set `stateSize` (an int or a list of ints); a cell whose
    output is its first new state (every built-in cell) sets outputIsFirstState, which lets
    the recurrent layer skip carrying the output separately."""

    className = "RNNCell"
    outputIsFirstState = False
    _prepared = False

    @property
    def stateSizes(self) -> list[int]:
        size = self.stateSize
        return list(size) if isinstance(size, (list, tuple)) else [size]

    def prepare(self, inputShape, training) -> None:
        """Before a sequence: per-sequence values (see the module docstring)."""
        self._prepared = True

    def release(self) -> None:
        """After a sequence: drop what prepare() made."""
        self._prepared = False

    def project(self, x) -> list:
        return [x]

    def step(self, projected, states, kwargs):
        out = self.call([projected[0]] + list(states), kwargs)
        return out[0], list(out[1:])


class _Cell(RNNCell):
    """Options and weights shared by the simple RNN, GRU and LSTM cells."""

    ARGS = {"units": REQUIRED, "activation": "tanh", "useBias": True,
            "kernelInitializer": "glorotNormal", "recurrentInitializer": "orthogonal",
            "biasInitializer": "zeros", "kernelRegularizer": None, "recurrentRegularizer": None,
            "biasRegularizer": None, "activityRegularizer": None, "kernelConstraint": None,
            "recurrentConstraint": None, "biasConstraint": None, "dropout": 0.0,
            "recurrentDropout": 0.0, "dropoutFunc": None}
    GATES = 1
    outputIsFirstState = True

    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        a = self.args
        owner = f"{self.className} {self.name!r}"
        units = a["units"]
        if isinstance(units, bool) or not isinstance(units, (int, float)) or units != int(units) \
                or units <= 0:
            raise ValueError(f"{owner}: units must be a positive integer, got {units!r}")
        self.units = int(units)
        self.activation = get_activation(a["activation"], owner)
        self.useBias = bool(a["useBias"])
        self.kernelInitializer = get_initializer(a["kernelInitializer"], owner)
        self.recurrentInitializer = get_initializer(a["recurrentInitializer"], owner)
        self.biasInitializer = get_initializer(a["biasInitializer"], owner)
        self.kernelRegularizer = get_regularizer(a["kernelRegularizer"], owner)
        self.recurrentRegularizer = get_regularizer(a["recurrentRegularizer"], owner)
        self.biasRegularizer = get_regularizer(a["biasRegularizer"], owner)
        self.activityRegularizer = get_regularizer(a["activityRegularizer"], owner)
        self.kernelConstraint = get_constraint(a["kernelConstraint"], owner)
        self.recurrentConstraint = get_constraint(a["recurrentConstraint"], owner)
        self.biasConstraint = get_constraint(a["biasConstraint"], owner)
        self.dropout = min(1.0, max(0.0, float(a["dropout"])))
        self.recurrentDropout = min(1.0, max(0.0, float(a["recurrentDropout"])))
        self.dropoutFunc = a["dropoutFunc"]
        self.stateSize = self.units
        self.kernel = self.recurrentKernel = self.bias = None
        self._input_mask = self._state_mask = None

    # ---- weights ---------------------------------------------------------------------------
    def build(self, inputShape):
        shape = inputShape[0] if isinstance(inputShape[0], (list, tuple)) else inputShape
        width = self.GATES * self.units
        self.kernel = self.addWeight("kernel", [shape[-1], width], None, self.kernelInitializer,
                                     self.kernelRegularizer, True, self.kernelConstraint)
        self.recurrentKernel = self.addWeight(
            "recurrent_kernel", [self.units, width], None, self.recurrentInitializer,
            self.recurrentRegularizer, True, self.recurrentConstraint)
        if self.useBias:
            self.bias = self.addWeight("bias", self._bias_shape(), None, self._bias_initializer(),
                                       self.biasRegularizer, True, self.biasConstraint)
        self.built = True

    def _bias_shape(self):
        return [self.GATES * self.units]

    def _bias_initializer(self):
        return self.biasInitializer

    # ---- dropout masks, fixed for a whole sequence -----------------------------------------
    def prepare(self, inputShape, training) -> None:
        super().prepare(inputShape, training)
        batch, features = inputShape[0], inputShape[-1]
        self._input_mask = self._state_mask = None
        if training and 0 < self.dropout < 1:
            self._input_mask = self._mask([batch, features], self.dropout)
        if training and 0 < self.recurrentDropout < 1:
            self._state_mask = self._mask([batch, self.units], self.recurrentDropout)

    def _mask(self, shape, rate):
        ones = creation.ones(shape)
        if self.dropoutFunc is not None:
            return self.dropoutFunc(ones, rate)
        return apply_dropout(ones, rate)

    def release(self) -> None:
        super().release()
        self._input_mask = self._state_mask = None

    def _masked_input(self, x):
        return x if self._input_mask is None else m.mul(x, self._input_mask)

    def _masked_state(self, h):
        return h if self._state_mask is None else m.mul(h, self._state_mask)

    # ---- one step, as TF.js calls it -------------------------------------------------------
    def call(self, inputs, kwargs):
        inputs = list(inputs)
        expected = 1 + len(self.stateSizes)
        if len(inputs) != expected:
            raise ValueError(f"{self.className} expects {expected} input tensors (the input and "
                             f"{expected - 1} state(s)), got {len(inputs)}")
        owned = not self._prepared     # called directly, not by a recurrent layer
        if owned:
            self.prepare(inputs[0].shape, bool(kwargs.get("training")))
        try:
            output, states = self.step(self.project(inputs[0]), inputs[1:], kwargs)
        finally:
            if owned:
                self.release()
        return [output] + states

    def project(self, x) -> list:
        bias = self._input_bias() if self.useBias else None
        return [dense(self._masked_input(x), self.kernel.read(), bias)]

    def _input_bias(self):
        return self.bias.read()

    def getConfig(self):
        return {**super().getConfig(), "units": self.units,
                "activation": serialize_activation(self.activation),
                **self._config_extra_first(),
                "useBias": self.useBias,
                "kernelInitializer": serialize(self.kernelInitializer),
                "recurrentInitializer": serialize(self.recurrentInitializer),
                "biasInitializer": serialize(self.biasInitializer),
                **self._config_extra_bias(),
                "kernelRegularizer": serialize(self.kernelRegularizer),
                "recurrentRegularizer": serialize(self.recurrentRegularizer),
                "biasRegularizer": serialize(self.biasRegularizer),
                "activityRegularizer": serialize(self.activityRegularizer),
                "kernelConstraint": serialize(self.kernelConstraint),
                "recurrentConstraint": serialize(self.recurrentConstraint),
                "biasConstraint": serialize(self.biasConstraint),
                "dropout": self.dropout, "recurrentDropout": self.recurrentDropout,
                **self._config_extra_last()}

    def _config_extra_first(self):
        return {}

    def _config_extra_bias(self):
        return {}

    def _config_extra_last(self):
        return {}


@registerClass
class SimpleRNNCell(_Cell):
    """output = activation(x @ kernel + bias + h @ recurrentKernel)."""

    className = "SimpleRNNCell"

    def step(self, projected, states, kwargs):
        (xw,) = projected
        (h,) = states
        output = self.activation(m.add(xw, linalg.matMul(self._masked_state(h),
                                                          self.recurrentKernel.read())))
        return output, [output]


class _GatedCell(_Cell):
    ARGS = {"recurrentActivation": "hardSigmoid", "implementation": None}

    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        self.recurrentActivation = get_activation(self.args["recurrentActivation"],
                                                  f"{self.className} {self.name!r}")
        self.implementation = self.args["implementation"]

    def _config_extra_first(self):
        return {"recurrentActivation": serialize_activation(self.recurrentActivation)}


@registerClass
class GRUCell(_GatedCell):
    """z, r = recurrentActivation(x W_{z,r} + h U_{z,r} + b); hh = activation(x W_h + b_h +
    (r * h) U_h); h' = z * h + (1 - z) * hh.

    resetAfter (Keras's default, which TF.js 4.22 rejects) applies the reset gate after the
    recurrent product: hh = activation(x W_h + b_h + r * (h U_h + b'_h)), with a second,
    recurrent bias: `bias` then has shape [2, 3 * units] (input bias, recurrent bias), as
    Keras writes it. kiln implements it; the default stays TF.js's false."""

    className = "GRUCell"
    ARGS = {"resetAfter": False}
    GATES = 3

    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        self.resetAfter = bool(self.args["resetAfter"])
        self._split = None

    def _bias_shape(self):
        return [2, 3 * self.units] if self.resetAfter else [3 * self.units]

    def _input_bias(self):
        return self._split["input_bias"]

    def _halves(self):
        """Weight pieces the step uses, sliced once per sequence."""
        u = self.units
        kernel = self.recurrentKernel.read()
        if self.resetAfter:
            pieces = {"recurrent": kernel}
            if self.useBias:
                bias = self.bias.read()
                pieces["input_bias"] = s.reshape(s.slice(bias, [0, 0], [1, 3 * u]), [3 * u])
                pieces["recurrent_bias"] = s.reshape(s.slice(bias, [1, 0], [1, 3 * u]), [3 * u])
            return pieces
        gates, candidate = s.split(kernel, [2 * u, u], 1)
        pieces = {"gates": gates, "candidate": candidate}
        if self.useBias:
            pieces["input_bias"] = self.bias.read()
        return pieces

    def prepare(self, inputShape, training) -> None:
        super().prepare(inputShape, training)
        self._split = self._halves()

    def release(self) -> None:
        super().release()
        self._split = None

    def step(self, projected, states, kwargs):
        (mx,) = projected
        (h,) = states
        h = self._masked_state(h)
        pieces = self._split
        x_z, x_r, x_h = s.split(mx, 3, -1)
        if self.resetAfter:
            inner = linalg.matMul(h, pieces["recurrent"])
            if self.useBias:
                inner = m.add(inner, pieces["recurrent_bias"])
            r_z, r_r, r_h = s.split(inner, 3, -1)
        else:
            r_z, r_r = s.split(linalg.matMul(h, pieces["gates"]), 2, -1)
        z = self.recurrentActivation(m.add(x_z, r_z))
        r = self.recurrentActivation(m.add(x_r, r_r))
        if self.resetAfter:
            recurrent_h = m.mul(r, r_h)
        else:
            recurrent_h = linalg.matMul(m.mul(r, h), pieces["candidate"])
        hh = self.activation(m.add(x_h, recurrent_h))
        new = m.add(m.mul(z, h), m.mul(m.sub(1.0, z), hh))
        return new, [new]

    def _config_extra_last(self):
        return {"implementation": self.implementation, "resetAfter": self.resetAfter}


class _UnitForgetBias(Initializer):
    """LSTM bias with the forget gate's quarter set to ones (TF.js's CustomInit)."""

    className = "CustomInit"

    def __init__(self, base, units):
        self.base, self.units = base, units

    def apply(self, shape, dtype="float32"):
        u = self.units
        return s.concat([self.base.apply([u], dtype), Ones().apply([u], dtype),
                         self.base.apply([2 * u], dtype)], 0)


@registerClass
class LSTMCell(_GatedCell):
    """i, f, o = recurrentActivation(.); c' = f * c + i * activation(x W_c + h U_c + b_c);
    h' = o * activation(c'); gates in TF.js's order i, f, c, o."""

    className = "LSTMCell"
    ARGS = {"unitForgetBias": None}
    GATES = 4

    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        self.unitForgetBias = self.args["unitForgetBias"]
        self.stateSize = [self.units, self.units]

    def _bias_initializer(self):
        if self.unitForgetBias:
            return _UnitForgetBias(self.biasInitializer, self.units)
        return self.biasInitializer

    def step(self, projected, states, kwargs):
        (xz,) = projected
        h, c = states
        z = m.add(xz, linalg.matMul(self._masked_state(h), self.recurrentKernel.read()))
        z_i, z_f, z_c, z_o = s.split(z, 4, -1)
        i = self.recurrentActivation(z_i)
        f = self.recurrentActivation(z_f)
        c_new = m.add(m.mul(f, c), m.mul(i, self.activation(z_c)))
        o = self.recurrentActivation(z_o)
        h_new = m.mul(o, self.activation(c_new))
        return h_new, [h_new, c_new]

    def _config_extra_bias(self):
        return {"unitForgetBias": self.unitForgetBias}

    def _config_extra_last(self):
        return {"implementation": self.implementation}


@registerClass
class StackedRNNCells(RNNCell):
    """Cells applied in sequence at each step; the states are one flat list in reverse cell
    order (the last cell's first), so the first state is the stack's output. Each cell's
    weights are named `RNNCell_<i>/...` inside the owning layer's scope."""

    className = "StackedRNNCells"
    ARGS = {"cells": REQUIRED}
    outputIsFirstState = True

    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        cells = self.args["cells"]
        if not isinstance(cells, (list, tuple)) or not cells:
            raise ValueError("StackedRNNCells: `cells` must be a non-empty list of cells")
        self.cells = [deserialize(c, "layer") if isinstance(c, dict) else c for c in cells]
        for i, cell in enumerate(self.cells):
            if getattr(cell, "stateSize", None) is None:
                raise ValueError(f"StackedRNNCells: cell {i} ({cell!r}) has no stateSize")
        self.outputIsFirstState = all(c.outputIsFirstState for c in self.cells)

    @property
    def stateSize(self):
        sizes = []
        for cell in reversed(self.cells):
            sizes.extend(_sizes(cell))
        return sizes

    def build(self, inputShape):
        shape = list(inputShape[0] if isinstance(inputShape[0], (list, tuple)) else inputShape)
        for i, cell in enumerate(self.cells):
            with name_scope(f"RNNCell_{i}"):
                if not cell.built:
                    cell.build(shape)
                    cell.built = True
            shape = [shape[0], _sizes(cell)[0]]
        self.built = True

    def _nested(self, states):
        """Flat states (reverse cell order) -> one list per cell, in cell order."""
        states, nested = list(states), []
        for cell in reversed(self.cells):
            n = len(_sizes(cell))
            nested.append(states[:n])
            states = states[n:]
        return nested[::-1]

    def prepare(self, inputShape, training) -> None:
        super().prepare(inputShape, training)
        shape = list(inputShape)
        for cell in self.cells:
            cell.prepare(shape, training)
            shape = [shape[0], _sizes(cell)[0]]

    def release(self) -> None:
        super().release()
        for cell in self.cells:
            cell.release()

    def project(self, x) -> list:
        return self.cells[0].project(x)

    def step(self, projected, states, kwargs):
        new_states = []
        output = None
        for i, (cell, cell_states) in enumerate(zip(self.cells, self._nested(states))):
            inputs = projected if i == 0 else cell.project(output)
            output, updated = cell.step(inputs, cell_states, kwargs)
            new_states.append(updated)
        flat = [v for cell_states in reversed(new_states) for v in cell_states]
        return output, flat

    def call(self, inputs, kwargs):
        inputs = list(inputs)
        owned = not self._prepared
        if owned:
            self.prepare(inputs[0].shape, bool(kwargs.get("training")))
        try:
            output, states = self.step(self.project(inputs[0]), inputs[1:], kwargs)
        finally:
            if owned:
                self.release()
        return [output] + states

    @property
    def trainableWeights(self):
        if not self.trainable:
            return []
        return [w for cell in self.cells for w in cell.trainableWeights]

    @property
    def nonTrainableWeights(self):
        weights = [w for cell in self.cells for w in cell.nonTrainableWeights]
        if not self.trainable:
            return [w for cell in self.cells for w in cell.trainableWeights] + weights
        return weights

    @property
    def losses(self):
        return [loss for cell in self.cells for loss in cell.losses]

    def getConfig(self):
        return {**super().getConfig(),
                "cells": [{"className": c.getClassName(), "config": c.getConfig()}
                          for c in self.cells]}


def _sizes(cell) -> list[int]:
    size = cell.stateSize
    return list(size) if isinstance(size, (list, tuple)) else [size]


def cell_options(cls) -> set[str]:
    """Every option a cell class accepts (its own and Layer's)."""
    return set(collect_args(cls))
