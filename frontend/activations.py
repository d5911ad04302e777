"""Activation functions, by the names layers accept for their `activation` option.

Each is written with tf.* ops, so it runs eagerly or is recorded in a trace (and fused into
the kernel of the layer that uses it).
"""
from __future__ import annotations

import math

from kiln.frontend.engine.config import suggestion
from kiln.frontend.ops import math as m
from kiln.frontend.ops import nn, reduction  # noqa: F401


def _hard_sigmoid(x):
    return m.clipByValue(m.add(m.mul(x, 0.2), 0.5), 0.0, 1.0)


def _softsign(x):
    return m.div(x, m.add(m.abs(x), 1.0))


def _swish(x):
    return m.mul(x, m.sigmoid(x))


def _mish(x):
    return m.mul(x, m.tanh(m.softplus(x)))


def _gelu(x):
    return m.mul(m.mul(x, 0.5), m.add(m.erf(m.mul(x, 1.0 / math.sqrt(2.0))), 1.0))


def _gelu_new(x):
    inner = m.mul(m.add(x, m.mul(m.mul(m.mul(x, x), x), 0.044715)), math.sqrt(2.0 / math.pi))
    return m.mul(m.mul(x, 0.5), m.add(m.tanh(inner), 1.0))


def _linear(x):
    return x


ACTIVATIONS = {
    "elu": m.elu,
    "hardSigmoid": _hard_sigmoid,
    "linear": _linear,
    "relu": m.relu,
    "relu6": m.relu6,
    "selu": m.selu,
    "sigmoid": m.sigmoid,
    "softmax": lambda x: nn.softmax(x, -1),
    "softplus": m.softplus,
    "softsign": _softsign,
    "tanh": m.tanh,
    "swish": _swish,
    "mish": _mish,
    "gelu": _gelu,
    "gelu_new": _gelu_new,
    "logSoftmax": lambda x: nn.logSoftmax(x, -1),
}
# Keras writes 'gelu_new' and TF.js camel-cases values on load to 'geluNew'; accept both.
ALIASES = {"geluNew": "gelu_new", "silu": "swish", "hard_sigmoid": "hardSigmoid", "log_softmax": "logSoftmax",
           "None": "linear"}


class Activation:
    """A named activation function; `str(a)` / `a.name` is its serialized identifier."""

    def __init__(self, name: str):
        self.name = name
        self.fn = ACTIVATIONS[name]

    def __call__(self, x):
        return self.fn(x)

    def getClassName(self) -> str:
        return self.name

    def __repr__(self):
        return f"Activation({self.name!r})"


def get_activation(identifier, owner: str = "activation") -> Activation:
    """'relu', None (linear), an Activation, or a callable (used as is)."""
    if identifier is None:
        return Activation("linear")
    if isinstance(identifier, Activation):
        return identifier
    if isinstance(identifier, dict) and "className" in identifier:
        identifier = identifier["className"]
    if isinstance(identifier, str):
        name = ALIASES.get(identifier, identifier)
        if name not in ACTIVATIONS:
            raise ValueError(f"{owner}: unknown activation {identifier!r}"
                             f"{suggestion(identifier, ACTIVATIONS)} (valid: "
                             f"{', '.join(sorted(ACTIVATIONS))})")
        return Activation(name)
    if callable(identifier):
        return identifier
    raise TypeError(f"{owner}: activation must be a name or a function, got {identifier!r}")


def serialize_activation(activation) -> str:
    if isinstance(activation, Activation):
        return activation.name
    return getattr(activation, "__name__", "custom")
