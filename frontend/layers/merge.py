"""Merge layers: add, average, maximum, minimum, multiply, concatenate, dot.

Each is applied to a list of at least two tensors: `tf.layers.add().apply([a, b])`, or, as in
TF.js, `tf.layers.add([a, b])` (the factory applies a new layer when given the list).

Elementwise merges broadcast the non-batch axes as TF.js does: inputs of lower rank get unit
axes inserted after the batch axis, then the usual right-aligned broadcasting applies; the
batch sizes must agree.

Porting notes: TF.js's Merge.computeMask ANDs only all but the last input mask (and adds a
leading axis); kiln ANDs every given mask, as Keras does. TF.js's Dot accepts inputs of rank 2
or 3 only; kiln contracts inputs of any rank, with Keras's batch_dot output layout.
"""
from __future__ import annotations

import functools
import math

from kiln.frontend.engine.config import REQUIRED
from kiln.frontend.engine.layer import Layer
from kiln.frontend.ops import creation, linalg, math as m, reduction, shape as s
from kiln.frontend.serialization import registerClass

L2_EPSILON = 1e-7     # TF.js's backend epsilon(), used by l2Normalize


def _is_list(x) -> bool:
    return isinstance(x, (list, tuple))


class Merge(Layer):
    """Base of the merge layers: shape checks, broadcasting and masks; subclasses define
    `merge(tensors)`."""

    FACTORY_APPLIES_TO_INPUTS = True     # tf.layers.add([a, b]) applies a new layer

    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        self.supportsMasking = True

    def _owner(self) -> str:
        return f"{self.getClassName()} layer {self.name!r}"

    def apply(self, inputs, kwargs=None):
        if not _is_list(inputs) or len(inputs) < 2:
            count = len(inputs) if _is_list(inputs) else 1
            raise ValueError(f"{self._owner()} should be called on a list of at least 2 "
                             f"inputs; got {count} input(s)")
        return super().apply(list(inputs), kwargs)

    # ---- shapes ------------------------------------------------------------------------
    def _elementwise_shape(self, shape1, shape2):
        """Right-aligned broadcast of two non-batch shapes (None where unknown)."""
        if len(shape1) < len(shape2):
            shape1, shape2 = shape2, shape1
        out = list(shape1[:len(shape1) - len(shape2)])
        for i, j in zip(shape1[len(shape1) - len(shape2):], shape2):
            if i is None or j is None:
                out.append(None)
            elif i == 1 or j == 1 or i == j:
                out.append(j if i == 1 else i)
            else:
                raise ValueError(f"{self._owner()}: operands could not be broadcast together "
                                 f"with shapes {list(shape1)} and {list(shape2)}")
        return out

    def _batch_size(self, shapes):
        sizes = sorted({sh[0] for sh in shapes if sh and sh[0] is not None})
        if len(sizes) > 1:
            raise ValueError(f"{self._owner()}: can not merge tensors with different batch "
                             f"sizes; got tensors with shapes {[list(sh) for sh in shapes]}")
        return sizes[0] if sizes else None

    def computeOutputShape(self, inputShape):
        shapes = [list(sh) for sh in inputShape]
        if any(len(sh) == 0 for sh in shapes):
            raise ValueError(f"{self._owner()}: inputs must have a batch axis; got shapes "
                             f"{shapes}")
        out = shapes[0][1:]
        for sh in shapes[1:]:
            out = self._elementwise_shape(out, sh[1:])
        return [self._batch_size(shapes)] + out

    def build(self, inputShape):
        self.computeOutputShape(inputShape)
        self.built = True

    # ---- computing ---------------------------------------------------------------------
    def merge(self, tensors):
        raise NotImplementedError

    def call(self, inputs, kwargs):
        self.computeOutputShape([x.shape for x in inputs])
        top = max(x.rank for x in inputs)
        expanded = []
        for x in inputs:
            if x.rank < top:
                x = s.reshape(x, x.shape[:1] + [1] * (top - x.rank) + x.shape[1:])
            expanded.append(x)
        return self.merge(expanded)

    def computeMask(self, inputs, mask=None):
        if mask is None:
            return None
        masks = mask if _is_list(mask) else [mask]
        if len(masks) != len(inputs):
            raise ValueError(f"{self._owner()}: got {len(masks)} mask(s) for {len(inputs)} "
                             "inputs")
        given = [mk for mk in masks if mk is not None]
        if not given:
            return None
        return functools.reduce(m.logicalAnd, given)


@registerClass
class Add(Merge):
    """The elementwise sum of the inputs."""

    className = "Add"

    def merge(self, tensors):
        return functools.reduce(m.add, tensors)


@registerClass
class Multiply(Merge):
    """The elementwise product of the inputs."""

    className = "Multiply"

    def merge(self, tensors):
        return functools.reduce(m.mul, tensors)


@registerClass
class Average(Merge):
    """The elementwise mean of the inputs (their sum times 1/n, as TF.js)."""

    className = "Average"

    def merge(self, tensors):
        return m.mul(functools.reduce(m.add, tensors), 1.0 / len(tensors))


@registerClass
class Maximum(Merge):
    className = "Maximum"

    def merge(self, tensors):
        return functools.reduce(m.maximum, tensors)


@registerClass
class Minimum(Merge):
    className = "Minimum"

    def merge(self, tensors):
        return functools.reduce(m.minimum, tensors)


@registerClass
class Concatenate(Merge):
    """Joins the inputs along `axis` (default -1; negative axes count from the end); every
    other axis must match."""

    className = "Concatenate"
    ARGS = {"axis": -1}

    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        axis = self.args["axis"]
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise ValueError(f"{self._owner()}: axis must be an integer, got {axis!r}")
        self.axis = axis

    def _resolve_axis(self, rank):
        axis = self.axis + rank if self.axis < 0 else self.axis
        if not 0 <= axis < rank:
            raise ValueError(f"{self._owner()}: axis {self.axis} is out of range for inputs "
                             f"of rank {rank}")
        return axis

    def computeOutputShape(self, inputShape):
        shapes = [list(sh) for sh in inputShape]
        ranks = {len(sh) for sh in shapes}
        if len(ranks) > 1:
            raise ValueError(f"{self._owner()} requires inputs of one rank; got input shapes "
                             f"{shapes}")
        axis = self._resolve_axis(ranks.pop())
        out = list(shapes[0])
        for i in range(len(out)):
            if i == axis:
                continue
            known = {sh[i] for sh in shapes if sh[i] is not None}
            if len(known) > 1:
                raise ValueError(f"{self._owner()} requires inputs with matching shapes except "
                                 f"for the concat axis; got input shapes {shapes}")
            out[i] = known.pop() if known else None
        sizes = [sh[axis] for sh in shapes]
        out[axis] = None if any(d is None for d in sizes) else sum(sizes)
        return out

    def call(self, inputs, kwargs):
        self.computeOutputShape([x.shape for x in inputs])
        dtypes = {x.dtype for x in inputs}
        if len(dtypes) > 1:
            raise TypeError(f"{self._owner()}: all inputs must have the same dtype; got "
                            f"{[x.dtype for x in inputs]}")
        return s.concat(list(inputs), self._resolve_axis(inputs[0].rank))

    def computeMask(self, inputs, mask=None):
        if mask is None:
            return None
        masks = mask if _is_list(mask) else [mask]
        if len(masks) != len(inputs):
            raise ValueError(f"{self._owner()}: got {len(masks)} mask(s) for {len(inputs)} "
                             "inputs")
        if all(mk is None for mk in masks):
            return None
        full = []
        for x, mk in zip(inputs, masks):
            if mk is None:
                full.append(m.cast(creation.onesLike(x), "bool"))
            elif mk.rank < x.rank:
                full.append(s.expandDims(mk, -1))
            else:
                full.append(mk)
        return reduction.all(s.concat(full, self._resolve_axis(inputs[0].rank)), -1)

    def getConfig(self):
        return {"axis": self.axis, **super().getConfig()}


@registerClass
class Dot(Merge):
    """Per-sample dot product of two inputs along `axes` (an int for both, or one axis per
    input; the batch axis 0 cannot be contracted). With `normalize`, the inputs are first
    L2-normalized along those axes (cosine proximity). The output keeps the remaining axes
    of the first input, then those of the second; a lone batch axis gets a trailing 1."""

    className = "Dot"
    FACTORY_APPLIES_TO_INPUTS = False
    ARGS = {"axes": REQUIRED, "normalize": False}

    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        axes = self.args["axes"]
        values = list(axes) if _is_list(axes) else [axes]
        bad_length = _is_list(axes) and len(values) != 2
        if bad_length or any(isinstance(v, bool) or not isinstance(v, int) for v in values):
            raise ValueError(f"{self._owner()}: axes must be an integer or a list of two "
                             f"integers, got {axes!r}")
        self.axes = list(axes) if _is_list(axes) else axes
        self.normalize = bool(self.args["normalize"])
        self.supportsMasking = True

    def _resolve_axes(self, shapes):
        if len(shapes) != 2:
            raise ValueError(f"{self._owner()} should be called on a list of exactly 2 inputs; "
                             f"got {len(shapes)}")
        pair = self.axes if _is_list(self.axes) else [self.axes, self.axes]
        resolved = []
        for i, (axis, shape) in enumerate(zip(pair, shapes)):
            rank = len(shape)
            if rank < 2:
                raise ValueError(f"{self._owner()}: input {i} must have rank >= 2 (a batch axis "
                                 f"and a feature axis), got shape {list(shape)}")
            a = axis + rank if axis < 0 else axis
            if not 0 <= a < rank:
                raise ValueError(f"{self._owner()}: axis {axis} is out of range for input {i} "
                                 f"of shape {list(shape)}")
            if a == 0:
                raise ValueError(f"{self._owner()}: cannot take the dot product over the batch "
                                 f"axis (axes {self.axes})")
            resolved.append(a)
        d1, d2 = shapes[0][resolved[0]], shapes[1][resolved[1]]
        if d1 is not None and d2 is not None and d1 != d2:
            raise ValueError(f"{self._owner()}: dimension incompatibility: {d1} !== {d2} "
                             f"(input shapes {[list(sh) for sh in shapes]}, axes {resolved})")
        return resolved

    def computeOutputShape(self, inputShape):
        shapes = [list(sh) for sh in inputShape]
        a1, a2 = self._resolve_axes(shapes)
        self._batch_size(shapes)
        rest1 = [d for i, d in enumerate(shapes[0]) if i != a1]
        rest2 = [d for i, d in enumerate(shapes[1]) if i not in (0, a2)]
        out = rest1 + rest2
        return out + [1] if len(out) == 1 else out

    def call(self, inputs, kwargs):
        x1, x2 = inputs
        self.computeOutputShape([x1.shape, x2.shape])
        a1, a2 = self._resolve_axes([x1.shape, x2.shape])
        x1, x2 = m.cast(x1, "float32"), m.cast(x2, "float32")
        if self.normalize:
            x1, x2 = _l2_normalize(x1, a1), _l2_normalize(x2, a2)
        if x1.rank == 2 and x2.rank == 2:
            return reduction.sum(m.mul(x1, x2), 1, True)
        batch = x1.shape[0]
        rest1 = [d for i, d in enumerate(x1.shape) if i not in (0, a1)]
        rest2 = [d for i, d in enumerate(x2.shape) if i not in (0, a2)]
        depth = x1.shape[a1]
        lhs = linalg.transpose(x1, [0] + [i for i in range(1, x1.rank) if i != a1] + [a1])
        rhs = linalg.transpose(x2, [0, a2] + [i for i in range(1, x2.rank) if i != a2])
        lhs = s.reshape(lhs, [batch, math.prod(rest1), depth])
        rhs = s.reshape(rhs, [batch, depth, math.prod(rest2)])
        out = s.reshape(linalg.matMul(lhs, rhs), [batch] + rest1 + rest2)
        return s.reshape(out, [batch, 1]) if out.rank == 1 else out

    def computeMask(self, inputs, mask=None):
        return None

    def getConfig(self):
        return {"axes": self.axes, "normalize": self.normalize, **super().getConfig()}


def _l2_normalize(x, axis):
    """x / sqrt(max(sum(x^2 along axis), epsilon)), as TF.js's l2Normalize."""
    square_sum = reduction.sum(m.square(x), axis, True)
    return m.div(x, m.sqrt(m.maximum(square_sum, L2_EPSILON)))
