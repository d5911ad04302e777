"""Neural-network ops: softmax and logSoftmax, numerically stable over any axis."""
from __future__ import annotations

from kiln.frontend.ops.axes import normalize_axis
from kiln.frontend.ops.dispatch import composite
from kiln.frontend.ops.math import _as, div, exp, log, sub
from kiln.frontend.ops.reduction import max, sum


@composite("logits")
def softmax(logits, dim=-1):
    """exp(x - max) / sum(exp(x - max)) along dim (TF.js allows only the last axis; kiln any)."""
    x = _as(logits, "float32")
    axis = normalize_axis(dim, x.rank, "softmax")
    shifted = exp(sub(x, max(x, axis, True)))
    return div(shifted, sum(shifted, axis, True))


@composite("logits")
def logSoftmax(logits, axis=-1):
    x = _as(logits, "float32")
    axis = normalize_axis(axis, x.rank, "logSoftmax")
    shifted = sub(x, max(x, axis, True))
    return sub(shifted, log(sum(exp(shifted), axis, True)))
