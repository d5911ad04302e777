"""A numpy reference of TF.js's recurrent layers (float64), written from recurrent.ts and
wrappers.ts: cells, the time loop with masks, goBackwards and returnSequences, bidirectional
merging. Test code only."""
import numpy as np


def hard_sigmoid(x):
    return np.clip(0.2 * x + 0.5, 0.0, 1.0)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


ACTIVATIONS = {"tanh": np.tanh, "relu": lambda x: np.maximum(x, 0), "linear": lambda x: x,
               "sigmoid": sigmoid, "hardSigmoid": hard_sigmoid}


def simple_rnn_cell(weights, activation="tanh"):
    kernel, recurrent, bias = (list(weights) + [None])[:3]

    def step(x, states):
        (h,) = states
        out = x @ kernel + (bias if bias is not None else 0) + h @ recurrent
        out = ACTIVATIONS[activation](out)
        return out, [out]
    return step, [recurrent.shape[0]]


def lstm_cell(weights, activation="tanh", recurrent_activation="hardSigmoid"):
    kernel, recurrent, bias = (list(weights) + [None])[:3]
    act, rec = ACTIVATIONS[activation], ACTIVATIONS[recurrent_activation]

    def step(x, states):
        h, c = states
        z = x @ kernel + h @ recurrent + (bias if bias is not None else 0)
        zi, zf, zc, zo = np.split(z, 4, -1)
        c = rec(zf) * c + rec(zi) * act(zc)
        h = rec(zo) * act(c)
        return h, [h, c]
    units = recurrent.shape[0]
    return step, [units, units]


def gru_cell(weights, activation="tanh", recurrent_activation="hardSigmoid", reset_after=False):
    kernel, recurrent, bias = (list(weights) + [None])[:3]
    act, rec = ACTIVATIONS[activation], ACTIVATIONS[recurrent_activation]
    u = recurrent.shape[0]

    def step(x, states):
        (h,) = states
        if reset_after:
            input_bias, recurrent_bias = (bias[0], bias[1]) if bias is not None else (0, 0)
            mx = x @ kernel + input_bias
            inner = h @ recurrent + recurrent_bias
            z = rec(mx[:, :u] + inner[:, :u])
            r = rec(mx[:, u:2 * u] + inner[:, u:2 * u])
            hh = act(mx[:, 2 * u:] + r * inner[:, 2 * u:])
        else:
            mx = x @ kernel + (bias if bias is not None else 0)
            inner = h @ recurrent[:, :2 * u]
            z = rec(mx[:, :u] + inner[:, :u])
            r = rec(mx[:, u:2 * u] + inner[:, u:2 * u])
            hh = act(mx[:, 2 * u:] + (r * h) @ recurrent[:, 2 * u:])
        h = z * h + (1 - z) * hh
        return h, [h]
    return step, [u]


def stacked(cells):
    """cells: (step, sizes) pairs; states flat in reverse cell order, as TF.js."""
    def step(x, states):
        states = list(states)
        nested = []
        for _, sizes in reversed(cells):
            nested.append(states[:len(sizes)])
            states = states[len(sizes):]
        nested.reverse()
        new = []
        out = x
        for (cell_step, _), cell_states in zip(cells, nested):
            out, updated = cell_step(out, cell_states)
            new.append(updated)
        return out, [s for cell_states in reversed(new) for s in cell_states]
    sizes = [d for _, cell_sizes in reversed(cells) for d in cell_sizes]
    return step, sizes


def run(cell, x, initial=None, mask=None, go_backwards=False):
    """TF.js's rnn(): returns (last output, outputs [batch, time, units], final states)."""
    step, sizes = cell
    x = np.asarray(x, np.float64)
    batch, steps = x.shape[:2]
    states = [np.zeros((batch, d)) for d in sizes] if initial is None else \
        [np.asarray(s, np.float64) for s in initial]
    order = range(steps - 1, -1, -1) if go_backwards else range(steps)
    outputs = []
    last = None
    for t in order:
        out, new = step(x[:, t], states)
        if mask is not None:
            keep = np.asarray(mask[:, t], bool)[:, None]
            out = np.where(keep, out, states[0])
            new = [np.where(keep, n, s) for n, s in zip(new, states)]
        states, last = new, out
        outputs.append(out)
    return last, np.stack(outputs, 1), states


def merge(mode, forward, backward):
    if mode == "concat":
        return np.concatenate([forward, backward], -1)
    if mode == "sum":
        return forward + backward
    if mode == "mul":
        return forward * backward
    if mode == "ave":
        return (forward + backward) / 2
    return [forward, backward]


def _same_pads(size, k, stride, dilation):
    effective = (k - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + effective - size, 0)
    return (total // 2, total - total // 2)


def conv2d(x, w, strides=(1, 1), padding="valid", dilations=(1, 1)):
    """Channels-last 2-D convolution with TF's padding modes (nn_reference's definition)."""
    from tests import nn_reference
    pads = [(0, 0), (0, 0)] if padding == "valid" else [
        _same_pads(x.shape[1 + a], w.shape[a], strides[a], dilations[a]) for a in range(2)]
    return nn_reference.conv(x, w, strides, dilations, pads)


def conv_lstm_cell(weights, strides=(1, 1), padding="valid", dilations=(1, 1),
                   activation="tanh", recurrent_activation="hardSigmoid"):
    """ConvLSTM2DCell, channels last: x [batch, rows, cols, channels], states h, c."""
    kernel, recurrent, bias = (list(weights) + [None])[:3]
    act, rec = ACTIVATIONS[activation], ACTIVATIONS[recurrent_activation]

    def step(x, states):
        h, c = states
        z = conv2d(x, kernel, strides, padding, dilations) + (bias if bias is not None else 0)
        z = z + conv2d(h, recurrent, padding="same")
        zi, zf, zc, zo = np.split(z, 4, -1)
        c = rec(zf) * c + rec(zi) * act(zc)
        h = rec(zo) * act(c)
        return h, [h, c]
    return step


def run_conv(step, x, state_shape, go_backwards=False):
    """The time loop for states of any shape (zeros to start)."""
    x = np.asarray(x, np.float64)
    states = [np.zeros(state_shape), np.zeros(state_shape)]
    order = range(x.shape[1] - 1, -1, -1) if go_backwards else range(x.shape[1])
    outputs = []
    for t in order:
        out, states = step(x[:, t], states)
        outputs.append(out)
    return outputs[-1], np.stack(outputs, 1), states
