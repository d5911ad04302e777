"""convLstm2d and convLstm2dCell (tfjs-layers/src/layers/convolutional_recurrent.ts).

An LSTM whose products are 2-D convolutions: the input [batch, time, rows, cols, channels]
(channelsLast) is convolved with `kernel` [kh, kw, channels, 4 * filters] (strides, padding,
dilationRate as the layer says), the state h [batch, rows', cols', filters] with
`recurrent_kernel` [kh, kw, filters, 4 * filters] (stride 1, 'same'), gates in TF.js's order
i, f, c, o along the channel axis. As for the dense LSTM, the input convolution of every time
step is one convolution before the loop (time folded into the batch), and the loop body holds
the recurrent convolution and the gates. Dropout follows TF.js: one mask per gate for the
input and for the state, drawn once per sequence, in training only. TF.js rejects `unroll`
and lists of cells here, and so does kiln.
"""
from __future__ import annotations

from kiln.frontend.engine.config import REQUIRED, collect_args
from kiln.frontend.layers.convolutional_utils import (check_data_format, check_padding,
                                                      normalize_tuple)
from kiln.frontend.layers.recurrent import _CellLayer, _first_shape
from kiln.frontend.layers.rnn_cells import LSTMCell, _UnitForgetBias
from kiln.frontend.ops import conv as c, math as m, shape as s
from kiln.frontend.ops.conv_util import conv_output_length
from kiln.frontend.serialization import registerClass

GATES = 4


@registerClass
class ConvLSTM2DCell(LSTMCell):
    className = "ConvLSTM2DCell"
    ARGS = {"units": None, "filters": REQUIRED, "kernelSize": REQUIRED, "strides": 1,
            "padding": "valid", "dataFormat": "channelsLast", "dilationRate": 1}

    def __init__(self, config=None, **kwargs):
        given = dict(config or {}, **kwargs)
        if given.get("filters") is not None:
            given["units"] = given["filters"]
        super().__init__(given)
        a = self.args
        owner = f"ConvLSTM2DCell {self.name!r}"
        self.filters = self.units
        self.kernelSize = list(normalize_tuple(a["kernelSize"], 2, "kernelSize", owner))
        self.strides = list(normalize_tuple(a["strides"], 2, "strides", owner))
        self.padding = check_padding(a["padding"], owner, ("valid", "same"))
        self.dataFormat = check_data_format(a["dataFormat"], owner)
        self.dilationRate = list(normalize_tuple(a["dilationRate"], 2, "dilationRate", owner))
        self._format = "NCHW" if self.dataFormat == "channelsFirst" else "NHWC"
        self._input_masks = self._state_masks = None

    @property
    def _axis(self) -> int:
        return 1 if self.dataFormat == "channelsFirst" else -1

    def build(self, inputShape):
        shape = inputShape[0] if isinstance(inputShape[0], (list, tuple)) else inputShape
        channels = shape[1] if self.dataFormat == "channelsFirst" else shape[-1]
        if channels is None:
            raise ValueError(f"The channel dimension of the input should be defined. Found "
                             f"{channels}")
        width = GATES * self.filters
        self.kernel = self.addWeight("kernel", self.kernelSize + [channels, width], None,
                                     self.kernelInitializer, self.kernelRegularizer, True,
                                     self.kernelConstraint)
        self.recurrentKernel = self.addWeight(
            "recurrent_kernel", self.kernelSize + [self.filters, width], None,
            self.recurrentInitializer, self.recurrentRegularizer, True, self.recurrentConstraint)
        if self.useBias:
            init = _UnitForgetBias(self.biasInitializer, self.filters) if self.unitForgetBias \
                else self.biasInitializer
            self.bias = self.addWeight("bias", [width], None, init, self.biasRegularizer, True,
                                       self.biasConstraint)
        self.built = True

    def outputShape(self, inputShape) -> list:
        """[batch, rows', cols', filters] (channels last) of one step's output."""
        spatial = inputShape[2:] if self.dataFormat == "channelsFirst" else inputShape[1:3]
        out = [conv_output_length(d, k, self.padding, st, dl) for d, k, st, dl in
               zip(spatial, self.kernelSize, self.strides, self.dilationRate)]
        if self.dataFormat == "channelsFirst":
            return [inputShape[0], self.filters] + out
        return [inputShape[0]] + out + [self.filters]

    # ---- dropout: one mask per gate, as TF.js ---------------------------------------------------
    def prepare(self, inputShape, training) -> None:
        super().prepare(inputShape, False)          # LSTMCell's single masks stay off
        self._input_masks = self._state_masks = None
        if training and 0 < self.dropout < 1:
            self._input_masks = [self._mask(list(inputShape), self.dropout)
                                 for _ in range(GATES)]
        if training and 0 < self.recurrentDropout < 1:
            state = self.outputShape(list(inputShape))
            self._state_masks = [self._mask(state, self.recurrentDropout) for _ in range(GATES)]

    def release(self) -> None:
        super().release()
        self._input_masks = self._state_masks = None

    def _per_gate(self, x, masks, kernel, convolve):
        """All four gates in one convolution, or one per gate when each has its own mask."""
        if masks is None:
            return convolve(x, kernel)
        kernels = s.split(kernel, GATES, 3)
        outs = []
        for mask, k in zip(masks, kernels):
            # a [batch, ...] mask broadcasts over a time-major [time, batch, ...] input
            outs.append(convolve(m.mul(x, mask), k))
        return s.concat(outs, self._axis)

    def project(self, x) -> list:
        """x [..., rows, cols, channels] (any leading axes): the input convolution + bias, all
        leading axes folded into the convolution's batch."""
        lead = x.shape[:-3]

        def convolve(v, k):
            folded = s.reshape(v, [-1] + v.shape[-3:])
            return c.conv2d(folded, k, self.strides, self.padding, self._format,
                            self.dilationRate)
        out = self._per_gate(x, self._input_masks, self.kernel.read(), convolve)
        if self.useBias:
            bias = self.bias.read()
            if self.dataFormat == "channelsFirst":
                bias = s.reshape(bias, [GATES * self.filters, 1, 1])
            out = m.add(out, bias)
        return [s.reshape(out, lead + out.shape[1:])]

    def step(self, projected, states, kwargs):
        (xz,) = projected
        h, c_prev = states

        def convolve(v, k):
            return c.conv2d(v, k, 1, "same", self._format)
        z = m.add(xz, self._per_gate(h, self._state_masks, self.recurrentKernel.read(), convolve))
        z_i, z_f, z_c, z_o = s.split(z, GATES, self._axis)
        i = self.recurrentActivation(z_i)
        f = self.recurrentActivation(z_f)
        c_new = m.add(m.mul(f, c_prev), m.mul(i, self.activation(z_c)))
        h_new = m.mul(self.recurrentActivation(z_o), self.activation(c_new))
        return h_new, [h_new, c_new]

    def getConfig(self):
        config = super().getConfig()
        del config["units"]
        return {**config, "filters": self.filters, "kernelSize": self.kernelSize,
                "padding": self.padding, "dataFormat": self.dataFormat,
                "dilationRate": self.dilationRate, "strides": self.strides}


@registerClass
class ConvLSTM2D(_CellLayer):
    """A recurrent layer over [batch, time, rows, cols, channels] with a ConvLSTM2DCell."""

    className = "ConvLSTM2D"
    CELL = ConvLSTM2DCell
    ARGS = collect_args(ConvLSTM2DCell)
    INPUT_RANK = 5

    def __init__(self, config=None, **kwargs):
        given = dict(config or {}, **kwargs)
        if given.get("unroll"):
            raise NotImplementedError("Unrolling is not possible with convolutional RNNs.")
        if isinstance(given.get("cell"), (list, tuple)):
            raise NotImplementedError("It is not possible at the moment to stack convolutional "
                                      "cells.")
        super().__init__(config, **kwargs)

    def stateShapes(self, batch, inputShape=None):
        step = [batch] + list(inputShape[2:])
        out = self.cell.outputShape(step)
        return [out, list(out)]

    def computeOutputShape(self, inputShape):
        shape = _first_shape(inputShape)
        single = self.cell.outputShape([shape[0]] + shape[2:])
        output = single[:1] + [shape[1]] + single[1:] if self.returnSequences else single
        if self.returnState:
            return [output, list(single), list(single)]
        return output
