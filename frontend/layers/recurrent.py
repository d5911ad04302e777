"""Recurrent layers: rnn (any cell or list of cells), simpleRNN, gru, lstm.

`call` compiles the whole sequence into one IR loop (frontend.ops.control.scan): the input is
made time-major, the cell's input projection (x @ kernel + bias) is applied to every step at
once, before the loop, and the loop body holds only the recurrent part of a step, so an LSTM
step is one matMul and one fused elementwise kernel (see kiln.frontend.layers.rnn_cells).

Semantics are TF.js's (tfjs-layers/src/layers/recurrent.ts):
  * goBackwards processes the sequence from its last step, and returnSequences then returns
    the outputs in processing order (reversed), as TF.js and Keras do;
  * masks ([batch, time], from masking, embedding({maskZero}) or a `mask` argument): a masked
    step keeps every state and repeats the previous output (the first state);
  * returnState appends the final states, [output, ...states]; initial states can be passed
    as `initialState` or as extra inputs `[x, state0, state1, ...]`;
  * stateful layers keep their final states across calls (predict, fit, evaluate) until
    resetStates(); they need a fixed batch size (batchInputShape);
  * dropout / recurrentDropout masks are drawn once per sequence and only in training.
Deviations: `unroll: true` (ignored by TF.js) unrolls the loop in the IR, as Keras does; with
no inputShape, `inputDim` and `inputLength` give the input shape (Keras; TF.js ignores them);
Keras's `zeroOutputForMask` (which Keras sets in bidirectional layers it saves) is honoured:
masked steps of the returned sequence are zeros instead of the previous output.
"""
from __future__ import annotations

from kiln.frontend.engine.config import REQUIRED, collect_args
from kiln.frontend.engine.layer import InputSpec, Layer, _flat
from kiln.frontend.layers.rnn_cells import (GRUCell, LSTMCell, RNNCell, SimpleRNNCell,
                                            StackedRNNCells, cell_options)
from kiln.frontend.ops import creation, linalg, math as m, shape as s
from kiln.frontend.ops.control import scan
from kiln.frontend.serialization import deserialize, registerClass
from kiln.frontend.trace import current_tracer
from kiln.runtime.tensor import Variable

RNN_OPTIONS = {"returnSequences": False, "returnState": False, "goBackwards": False,
               "stateful": False, "unroll": False, "inputDim": None, "inputLength": None,
               "zeroOutputForMask": False}


@registerClass
class RNN(Layer):
    className = "RNN"
    ARGS = {"cell": REQUIRED, **RNN_OPTIONS}
    INPUT_RANK = 3          # [batch, time, features]; convolutional RNNs have [.., h, w, c]

    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        a = self.args
        cell = self._make_cell()
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells({"cells": list(cell)})
        if isinstance(cell, dict):
            cell = deserialize(cell, "layer")
        if not isinstance(cell, Layer) or getattr(cell, "stateSize", None) is None:
            raise ValueError(f"{self.className} layer {self.name!r}: the cell must be an RNN cell "
                             f"with a `stateSize` (one integer per state), got {cell!r}")
        self.cell = cell
        self.returnSequences = bool(a["returnSequences"])
        self.returnState = bool(a["returnState"])
        self.goBackwards = bool(a["goBackwards"])
        self.stateful = bool(a["stateful"])
        self.unroll = bool(a["unroll"])
        self.zeroOutputForMask = bool(a["zeroOutputForMask"])
        if self.batchInputShape is None and a["inputDim"] is not None:
            self.batchInputShape = [a["batchSize"], a["inputLength"], int(a["inputDim"])]
            self._config_dtype = self.dtype
        self.supportsMasking = True
        self.inputSpec = [InputSpec(ndim=self.INPUT_RANK)]
        self._state_variables: list[Variable] | None = None
        self._state_batch = None
        self._input_shape = None

    def _make_cell(self):
        return self.args["cell"]

    @property
    def stateSizes(self) -> list[int]:
        size = self.cell.stateSize
        return list(size) if isinstance(size, (list, tuple)) else [size]

    # ---- weights live in the cell -------------------------------------------------------
    @property
    def trainableWeights(self):
        return self.cell.trainableWeights if self.trainable else []

    @property
    def nonTrainableWeights(self):
        return self.cell.weights if not self.trainable else self.cell.nonTrainableWeights

    @property
    def losses(self):
        return self.cell.losses

    def build(self, inputShape):
        shape = _first_shape(inputShape)
        if len(shape) != self.INPUT_RANK:
            raise ValueError(f"{self.className} layer {self.name!r} expects inputs of rank "
                             f"{self.INPUT_RANK} [batch, time, ...], got shape {list(shape)}")
        self._input_shape = list(shape)
        batch = shape[0] if self.stateful else None
        self.inputSpec = [InputSpec(shape=[batch, None] + list(shape[2:]))]
        if not self.cell.built:
            self.cell.build([shape[0]] + list(shape[2:]))
            self.cell.built = True
        if self.stateful:
            self._state_batch = shape[0]
            self.resetStates()
        self.built = True

    def dispose(self):
        result = super().dispose()
        count = 0
        for w in self.cell.weights:
            w.dispose()
            count += 1
        for state in self._state_variables or []:
            state.dispose()
        self._state_variables = None
        return {**result, "numDisposedVariables": result["numDisposedVariables"] + count}

    # ---- inputs: x, or [x, *initialStates] ------------------------------------------------
    def apply(self, inputs, kwargs=None):
        kwargs = dict(kwargs or {})
        initial = kwargs.pop("initialState", None)
        if initial is not None:
            inputs = _flat(inputs) + _flat(initial)
        return super().apply(inputs, kwargs)

    def assertInputCompatibility(self, inputs) -> None:
        flat = _flat(inputs)
        super().assertInputCompatibility(flat[0])
        sizes = self.stateSizes
        if len(flat) > 1 and len(flat) - 1 != len(sizes):
            raise ValueError(f"{self.className} layer {self.name!r} has {len(sizes)} state(s) "
                             f"but was passed {len(flat) - 1} initial state(s)")
        expected = self.stateShapes(None, list(flat[0].shape))
        for i, (state, want) in enumerate(zip(flat[1:], expected)):
            got = list(state.shape)
            if len(got) != len(want) or any(w is not None and g not in (w, None)
                                            for g, w in zip(got[1:], want[1:])):
                raise ValueError(f"{self.className} layer {self.name!r}: initial state {i} has "
                                 f"shape {got}, expected {want}")

    # ---- shapes and masks ---------------------------------------------------------------
    def computeOutputShape(self, inputShape):
        shape = _first_shape(inputShape)
        sizes = self.stateSizes
        if self.returnSequences:
            output = [shape[0], shape[1], sizes[0]]
        else:
            output = [shape[0], sizes[0]]
        if self.returnState:
            return [output] + [[shape[0], d] for d in sizes]
        return output

    def computeMask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.returnSequences else None
        if self.returnState:
            return [output_mask] + [None] * len(self.stateSizes)
        return output_mask

    # ---- states -----------------------------------------------------------------------------
    def stateShapes(self, batch, inputShape=None) -> list[list]:
        """The shape of each state for inputs of `inputShape`: [batch, size]."""
        return [[batch, d] for d in self.stateSizes]

    def getInitialState(self, inputs):
        return [creation.zeros(shape) for shape in self.stateShapes(inputs.shape[0],
                                                                     inputs.shape)]

    @property
    def states(self):
        if self._state_variables is None:
            return [None] * len(self.stateSizes)
        return list(self._state_variables)

    def resetStates(self, states=None, training=False):
        """Stateful layers: set the states to zeros, or to `states` (one per state)."""
        if not self.stateful:
            raise AttributeError("Cannot call resetStates() on an RNN Layer that is not stateful.")
        batch = self._state_batch
        if batch is None:
            raise ValueError(
                "If an RNN is stateful, it needs to know its batch size. Specify the batch "
                "size of your input tensors: \n- If using a Sequential model, specify the batch "
                "size by passing a `batchInputShape` option to your first layer.\n- If using the "
                "functional API, specify the batch size by passing a `batchShape` option to "
                "your Input layer.")
        shapes = self.stateShapes(batch, [batch] + list(self._input_shape[1:]))
        if states is None:
            values = [creation.zeros(shape).buffer("resetStates") for shape in shapes]
        else:
            states = _flat(states)
            if len(states) != len(shapes):
                raise ValueError(f"Layer {self.name} expects {len(shapes)} state(s), but it "
                                 f"received {len(states)} state value(s).")
            values = []
            for i, (value, shape) in enumerate(zip(states, shapes)):
                data = value.buffer("resetStates") if hasattr(value, "buffer") else value
                if list(data.shape) != shape:
                    raise ValueError(f"State {i} is incompatible with layer {self.name}: expected "
                                     f"shape={shape}, received shape={list(data.shape)}")
                values.append(data)
        if self._state_variables is None:
            self._state_variables = [Variable(v, trainable=False, name=f"{self.name}/state{i}",
                                              dtype="float32") for i, v in enumerate(values)]
        else:
            for var, v in zip(self._state_variables, values):
                var.assign(v)

    # ---- the computation ----------------------------------------------------------------
    def call(self, inputs, kwargs):
        flat = _flat(inputs)
        x, initial = flat[0], list(flat[1:]) or list(kwargs.get("initialState") or [])
        mask = kwargs.get("mask")
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        training = bool(kwargs.get("training"))
        if x.rank != self.INPUT_RANK:
            raise ValueError(f"{self.className} layer {self.name!r} expects inputs of rank "
                             f"{self.INPUT_RANK}, got shape {x.shape}")
        if initial:
            states = initial
        elif self.stateful:
            states = [v for v in self._state_variables]
        else:
            states = self.getInitialState(x)
        if len(states) != len(self.stateSizes):
            raise ValueError(f"RNN Layer has {len(self.stateSizes)} state(s) but was passed "
                             f"{len(states)} initial state(s).")
        output, last, finals = run_cell(self.cell, x, states, mask, training, kwargs,
                                        self.goBackwards, self.returnSequences, self.unroll,
                                        self.zeroOutputForMask)
        if self.stateful:
            tracer = current_tracer()
            if tracer is not None:
                for variable, value in zip(self._state_variables, finals):
                    tracer.add_update(variable, value)
        result = output if self.returnSequences else last
        return [result] + finals if self.returnState else result

    # ---- configuration ------------------------------------------------------------------
    def getConfig(self):
        cell_config = self.cell.getConfig()
        config = {"returnSequences": self.returnSequences, "returnState": self.returnState,
                  "goBackwards": self.goBackwards, "stateful": self.stateful,
                  "unroll": self.unroll}
        if self.zeroOutputForMask:      # Keras's option; TF.js configs never have the key
            config["zeroOutputForMask"] = True
        if self.getClassName() == RNN.className:
            config["cell"] = {"className": self.cell.getClassName(), "config": cell_config}
        # TF.js's order: the cell's keys, then the layer's (the layer's name wins)
        result = dict(cell_config)
        result.update(super().getConfig())
        result.update(config)
        return result

    @staticmethod
    def extra_config_keys(config) -> set:
        """Keys an RNN config repeats from its cell's config (TF.js's getConfig copies them);
        they are not options of the layer and fromConfig ignores them."""
        cell = config.get("cell")
        if isinstance(cell, dict) and isinstance(cell.get("config"), dict):
            return set(cell["config"])
        return set()

    @staticmethod
    def fromConfig(cls, config):
        """Configs repeat the cell's options at the top level (TF.js's getConfig); keep
        the layer's own."""
        config = dict(config)
        if cls is RNN:
            config["cell"] = deserialize(config["cell"], "layer")
        known = _options(cls)
        return cls({k: v for k, v in config.items() if k in known})


def run_cell(cell: RNNCell, x, states, mask, training, kwargs, go_backwards, return_sequences,
             unroll=False, zero_output_for_mask=False):
    """Run `cell` over x [batch, time, features] from `states`, as one loop.

    Returns (sequence output [batch, time, units] or None, last output, final states)."""
    batch, steps = x.shape[0], x.shape[1]
    if steps == 0:
        raise ValueError(f"recurrent layers need at least one time step, got an input of "
                         f"shape {x.shape}")
    time_major = linalg.transpose(x, [1, 0] + list(range(2, x.rank)))
    if go_backwards:
        time_major = s.reverse(time_major, 0)
    protocol = cell if isinstance(cell, RNNCell) else _AnyCell(cell)
    protocol.prepare([batch] + x.shape[2:], training)
    try:
        projected = protocol.project(time_major)
        sequences = list(projected)
        if mask is not None:
            keep = m.cast(mask, "bool") if mask.dtype != "bool" else mask
            # [time, batch, 1, ...]: broadcast against the states
            keep = s.reshape(linalg.transpose(keep, [1, 0]),
                             [steps, batch] + [1] * (states[0].rank - 1))
            if go_backwards:
                keep = s.reverse(keep, 0)
            sequences.append(keep)
        n_states = len(states)
        track_output = not protocol.outputIsFirstState
        carries = list(states)
        if track_output:
            carries.append(creation.zeros([batch, states[0].shape[-1]]))

        def step(carried, slices):
            old = carried[:n_states]
            inputs = slices[:len(projected)]
            output, new = protocol.step(inputs, old, {**kwargs, "training": training})
            if mask is not None:          # as TF.js: a masked step repeats the first state
                keep_t = slices[-1]
                output = m.where(keep_t, output, old[0])
                new = [m.where(keep_t, n, o) for n, o in zip(new, old)]
            carry_out = list(new) + ([output] if track_output else [])
            if mask is not None and zero_output_for_mask:
                sequence_output = m.where(slices[-1], output, creation.zerosLike(output))
            else:
                sequence_output = output
            return carry_out, [sequence_output] if return_sequences else []

        finals, stacked = scan(step, carries, sequences, unroll=unroll, name=cell.name)
    finally:
        protocol.release()
    last = finals[n_states] if track_output else finals[0]
    output = linalg.transpose(stacked[0], [1, 0] + list(range(2, stacked[0].rank))) \
        if return_sequences else None
    return output, last, finals[:n_states]


class _AnyCell:
    """Any layer with a `stateSize` and TF.js's cell `call([input, *states]) -> [output,
    *newStates]` (a user's cell): the whole step runs in the loop body."""

    def __init__(self, cell):        # not a Layer of its own: it only forwards
        self.cell = cell
        self.outputIsFirstState = getattr(cell, "outputIsFirstState", False)

    def prepare(self, inputShape, training) -> None:
        pass

    def release(self) -> None:
        pass

    def project(self, x) -> list:
        return [x]

    def step(self, projected, states, kwargs):
        out = self.cell.call([projected[0]] + list(states), kwargs)
        return out[0], list(out[1:])


def _first_shape(shape):
    if shape and isinstance(shape[0], (list, tuple)):
        return list(shape[0])
    return list(shape)


def _options(cls) -> set[str]:
    return set(collect_args(cls))


class _CellLayer(RNN):
    """A recurrent layer whose cell is made from the layer's own options (TF.js passes every
    option to the cell, so the cell's config carries the layer's name and input shape)."""

    CELL: type = RNNCell
    ARGS = {"cell": None}

    def _make_cell(self):
        if self.args["cell"] is not None:
            raise ValueError(f"{self.className} layer {self.name!r}: the cell is made from the "
                             "layer's options; use tf.layers.rnn({cell}) for a custom cell")
        wanted = cell_options(self.CELL) - {"weights"}
        return self.CELL({k: v for k, v in self.args.items() if k in wanted})


@registerClass
class SimpleRNN(_CellLayer):
    className = "SimpleRNN"
    CELL = SimpleRNNCell
    ARGS = collect_args(SimpleRNNCell)


@registerClass
class GRU(_CellLayer):
    className = "GRU"
    CELL = GRUCell
    ARGS = collect_args(GRUCell)


@registerClass
class LSTM(_CellLayer):
    className = "LSTM"
    CELL = LSTMCell
    ARGS = collect_args(LSTMCell)
