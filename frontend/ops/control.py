"""scan: a loop over time written with tf.* ops, compiled as one IR `loop` op.

    finals, stacked = scan(step, carries, sequences, reverse=False, unroll=False)

`step(carries, slices)` returns `(new_carries, outputs)`: lists of tensors. It is traced once,
into the loop's body graph: its arguments are traced placeholders, one per carry and one per
time slice of each (time-major) sequence. Every other tensor it reads (a layer's weights, a
dropout mask, a tensor of the enclosing trace) becomes a loop-invariant operand. Random ops
inside the step draw from the enclosing trace's seed and give the same numbers at every step.

Returns the carries after the last step and each per-step output stacked along a new leading
time axis (stacked[t] is the output of the step that read time index t, in both directions).
"""
from __future__ import annotations

from kiln.frontend.ops.convert import convert
from kiln.frontend.ops.dispatch import apply
from kiln.frontend.trace import TracedTensor, Tracer, current_tracer
from kiln.ir import Builder, TensorType
from kiln.ir.dtypes import as_dtype
from kiln.ir.ops.control import Body
from kiln.runtime.tensor import Tensor, Variable


class BodyTracer(Tracer):
    """Traces a loop body. Tensors from outside the body (traced values of the enclosing
    trace, Variables) become body inputs, recorded (in discovery order) in `captured`: the
    loop's invariant operands. Other concrete tensors are constants, as in any trace."""

    def __init__(self, outer: Tracer | None, name: str):
        super().__init__(Builder(name))
        self.outer = outer
        self.captured: list = []
        self._outer_seed = None

    def value_of(self, x, op: str = "trace"):
        if isinstance(x, TracedTensor) and x.tracer is self:
            return x.value
        if not isinstance(x, (TracedTensor, Tensor)):
            raise TypeError(f"{op}: expected a tensor, got {type(x).__name__}")
        found = self._captured.get(id(x))
        if found is not None:
            return found
        if isinstance(x, Tensor) and not isinstance(x, Variable) and (
                x.size == 1 or self.outer is None or not self.outer.capture_inputs):
            # a literal (0.5 in a gate formula): a constant of the body, as in any trace
            value = self.builder.constant(x.buffer(op))
            self._captured[id(x)] = value
            self._keepalive.append(x)
            return value
        value = self.builder.input(TensorType(tuple(x.shape), as_dtype(x.dtype)),
                                   f"invariant{len(self.captured)}")
        self._captured[id(x)] = value
        self._keepalive.append(x)
        self.captured.append(x)
        return value

    def random_stream(self):
        if self.outer is None:
            raise ValueError("scan: random ops inside a loop body need an enclosing compiled "
                             "function (give them a seed, or draw them outside the loop)")
        seed, salt = self.outer.random_stream()
        if self._outer_seed is None:
            self._outer_seed = self.outer.wrap(seed)
        return self.value_of(self._outer_seed), salt

    def add_update(self, variable, value) -> None:
        raise ValueError("scan: a loop body cannot update variables; return the new value as a "
                         "carry and update after the loop")


def scan(step, carries, sequences=(), reverse: bool = False, unroll: bool = False,
         name: str = "loop"):
    """Run `step` over the leading (time) axis of `sequences`; see the module docstring."""
    carries = [convert(c, f"carries[{i}]", "scan") for i, c in enumerate(carries)]
    sequences = [convert(s, f"sequences[{i}]", "scan") for i, s in enumerate(sequences)]
    if not sequences:
        raise ValueError("scan: needs at least one sequence (its leading axis is time)")
    steps = sequences[0].shape[0] if sequences[0].rank else None
    for i, s in enumerate(sequences):
        if s.rank < 1 or s.shape[0] != steps:
            raise ValueError(f"scan: sequence {i} has shape {s.shape}; every sequence needs the "
                             f"leading time axis of sequence 0 ({steps})")

    tracer = BodyTracer(current_tracer(), name)
    with tracer:
        traced_carries = [tracer.input(c.shape, c.dtype, f"carry{i}") for i, c in enumerate(carries)]
        slices = [tracer.input(s.shape[1:], s.dtype, f"slice{i}") for i, s in enumerate(sequences)]
        new_carries, outputs = step(traced_carries, slices)
        new_carries, outputs = list(new_carries), list(outputs)
        if len(new_carries) != len(carries):
            raise ValueError(f"scan: the step returned {len(new_carries)} carries for "
                             f"{len(carries)}")
        results = [tracer.value_of(convert(t, "step result", "scan"), "scan")
                   for t in new_carries + outputs]
    for i, (old, new) in enumerate(zip(carries, results)):
        if list(new.shape) != list(old.shape) or new.dtype.value != old.dtype:
            raise ValueError(f"scan: the step returned {new.dtype.value}{list(new.shape)} for "
                             f"carry {i}, which is {old.dtype}{old.shape}")
    if not results:
        raise ValueError("scan: the step must return at least one carry or output")
    body = Body(tracer.builder.finish(results))
    attrs = {"body": body, "steps": steps, "carries": len(carries),
             "sequences": len(sequences), "reverse": bool(reverse), "unroll": bool(unroll)}
    out = apply("loop", carries + sequences + tracer.captured, attrs)
    out = list(out) if isinstance(out, tuple) else [out]
    return out[:len(carries)], out[len(carries):]
