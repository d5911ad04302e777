"""Tracing: turn Python code written with tf.* ops into one IR graph.

Inside `with Tracer(builder) as tracer:`, every tf.* op records a node instead of computing:
its operands are TracedTensors (IR values of the graph being built), concrete Tensors
(captured: Variables become graph params bound to their buffers, other tensors become
constants), or Python data. A layer's `call`, a model's forward pass, a loss, a gradient
function and an eager composite op are all compiled this way.
"""
from __future__ import annotations

import math
import threading

from kiln.ir import Builder, TensorType, Value
from kiln.ir.dtypes import as_dtype
from kiln.runtime.tensor import Tensor, Variable

_local = threading.local()


def current_tracer() -> "Tracer | None":
    stack = getattr(_local, "stack", None)
    return stack[-1] if stack else None


class TracedTensor:
    """A tensor inside a trace. It has the shape, dtype and tf.* methods of a Tensor, but no
    values: it stands for an IR value in the graph its tracer is building."""

    __slots__ = ("value", "tracer", "__weakref__")

    def __init__(self, value: Value, tracer: "Tracer"):
        self.value = value
        self.tracer = tracer

    @property
    def shape(self) -> list[int]:
        return list(self.value.shape)

    @property
    def dtype(self) -> str:
        return self.value.dtype.value

    @property
    def rank(self) -> int:
        return len(self.value.shape)

    @property
    def size(self) -> int:
        return math.prod(self.value.shape)

    @property
    def isDisposed(self) -> bool:
        return False

    def dispose(self) -> None:
        """Traced values are not buffers; disposing one inside a trace does nothing."""

    def __repr__(self):
        return f"TracedTensor({self.dtype}{self.shape})"

    __hash__ = object.__hash__


SEED = "seed"


class Tracer:
    """Records tf.* calls into `builder`.

    Every graph input has a feed, in `feeds` (parallel to builder.inputs): an int (the i-th
    declared input), SEED (a fresh random seed per run), or a Tensor captured from outside
    the function (with capture_inputs=True, so one compiled graph serves new data each call;
    otherwise captured tensors become constants)."""

    def __init__(self, builder: Builder | None = None, capture_inputs: bool = False):
        self.builder = builder or Builder()
        self.capture_inputs = capture_inputs
        self.feeds: list = []
        self._captured: dict[int, Value] = {}
        self._keepalive: list = []
        self.variables: list[Variable] = []      # bound to builder.params, in order
        self.seed_input: Value | None = None     # fed a fresh random int32 on every run
        self._salt = 0
        self.updates: list = []                  # (Variable, traced new value) pairs
        self.losses: list = []                   # extra training losses (activity penalties)

    def __enter__(self):
        stack = getattr(_local, "stack", None)
        if stack is None:
            stack = _local.stack = []
        stack.append(self)
        return self

    def __exit__(self, *exc):
        _local.stack.pop()
        return False

    def input(self, shape, dtype, name=None) -> TracedTensor:
        """A declared input of the function being traced (fed the next argument)."""
        value = self.builder.input(TensorType(tuple(shape), as_dtype(dtype)), name)
        self.feeds.append(sum(1 for f in self.feeds if isinstance(f, int)))
        return self.wrap(value)

    def add_update(self, variable: Variable, value) -> None:
        """After each run of the compiled graph, `variable` holds `value` (e.g. a batch-norm
        moving average)."""
        self.updates.append((variable, value))

    def random_stream(self) -> tuple[Value, int]:
        """(seed value, salt) for a random op without an explicit seed: the graph's seed input,
        which the caller feeds anew on every run, and a salt unique within this graph."""
        if self.seed_input is None:
            self.seed_input = self.builder.input(TensorType((), as_dtype("int32")), "seed")
            self.feeds.append(SEED)
        self._salt += 1
        return self.seed_input, self._salt

    def wrap(self, value: Value) -> TracedTensor:
        return TracedTensor(value, self)

    def value_of(self, x, op: str = "trace") -> Value:
        """The IR value standing for x in this graph."""
        if isinstance(x, TracedTensor):
            if x.tracer is not self:
                raise ValueError(f"{op}: a traced tensor from another trace was used here; "
                                 "values cannot cross between compiled functions")
            return x.value
        if isinstance(x, Tensor):
            found = self._captured.get(id(x))
            if found is not None:
                return found
            data = x.buffer(op)
            if isinstance(x, Variable):
                value = self.builder.param(TensorType(data.shape, as_dtype(data.dtype)), x.name)
                self.variables.append(x)
            elif self.capture_inputs:
                value = self.builder.input(TensorType(data.shape, as_dtype(data.dtype)),
                                           f"captured{len(self.feeds)}")
                self.feeds.append(x)
            else:
                value = self.builder.constant(data)
            self._captured[id(x)] = value
            self._keepalive.append(x)
            return value
        raise TypeError(f"{op}: expected a tensor, got {type(x).__name__}")
