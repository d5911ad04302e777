"""Where a tf.* op decides how to run.

`apply(op, inputs, attrs)` runs one IR op:
  * inside a trace (a layer being compiled, a gradient function, ...) it records a node;
  * with SymbolicTensor inputs (a functional model being wired) it adds an op layer;
  * otherwise it runs eagerly through a compiled kernel (kiln.runtime.eager).

`@composite(...)` marks a tf.* op written with other tf.* ops (softmax, moments, ...): in a
trace or on symbolic inputs it simply runs (its ops record themselves); eagerly it is traced
once per signature and runs as one compiled, fused graph.
"""
from __future__ import annotations

import functools
import inspect

from kiln.frontend.ops.convert import convert
from kiln.frontend.trace import TracedTensor, Tracer, current_tracer
from kiln.ir import Builder
from kiln.runtime import eager
from kiln.runtime.tensor import Tensor

_symbolic_hook = None   # set by the Layers API: (name, fn, args, kwargs) -> SymbolicTensor(s)


def set_symbolic_hook(hook) -> None:
    global _symbolic_hook
    _symbolic_hook = hook


def is_symbolic(x) -> bool:
    return type(x).__name__ == "SymbolicTensor"


_NO_ATTRS: dict = {}


def apply(op: str, inputs: list, attrs: dict | None = None):
    """Run IR op `op` on converted tensors; returns a tensor (a tuple for multi-output ops)."""
    if current_tracer() is None:
        arrays = []
        for x in inputs:       # the eager fast path: concrete tensors only
            if not isinstance(x, Tensor):
                break
            data = x._data
            if data is None:
                x.buffer(op)   # raises the disposed-tensor error naming the op
            arrays.append(data)
        else:
            outs = eager.run(op, arrays, attrs or _NO_ATTRS)
            if len(outs) == 1:
                return Tensor.wrap(outs[0])
            return tuple(Tensor.wrap(o) for o in outs)
    attrs = attrs or _NO_ATTRS
    if _symbolic_hook is not None and any(is_symbolic(x) for x in inputs):
        return _symbolic_hook(op, lambda *xs: apply(op, list(xs), attrs), list(inputs), {})
    tracer = current_tracer()
    if tracer is not None:
        values = [tracer.value_of(x, op) for x in inputs]
        out = tracer.builder.op(op, *values, **attrs)
        if isinstance(out, tuple):
            return tuple(tracer.wrap(v) for v in out)
        return tracer.wrap(out)
    for x in inputs:
        if isinstance(x, TracedTensor):
            raise ValueError(f"{op}: a traced tensor was used outside the function being "
                             "compiled (it has no values)")
    bad = next(x for x in inputs if not isinstance(x, Tensor))
    raise TypeError(f"{op}: expected a tensor, got {type(bad).__name__}")


def generate(key: tuple, build):
    """An op without tensor operands (fill, iota, ...): `build(builder)` returns its IR value.
    Traced: recorded. Eager: compiled once per `key` (which must capture everything build
    uses) and run."""
    tracer = current_tracer()
    if tracer is not None:
        return tracer.wrap(build(tracer.builder))
    (out,) = eager.run_traced(("generate",) + key, [], lambda b, values: [build(b)])
    return Tensor(out)


def _freeze(x):
    if isinstance(x, (list, tuple)):
        return tuple(_freeze(v) for v in x)
    if isinstance(x, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in x.items()))
    return x


def _flatten(x, out):
    """Flatten nested tensor structures (tensor / list / tuple / dict) into `out`; return a
    template that `_unflatten` fills back in."""
    if isinstance(x, (Tensor, TracedTensor)):
        out.append(x)
        return None
    if isinstance(x, (list, tuple)):
        return (type(x), [_flatten(v, out) for v in x])
    if isinstance(x, dict):
        return (dict, {k: _flatten(v, out) for k, v in x.items()})
    raise TypeError(f"composite ops must return tensors, got {type(x).__name__}")


def _unflatten(template, items):
    if template is None:
        return next(items)
    kind, inner = template
    if kind is dict:
        return {k: _unflatten(v, items) for k, v in inner.items()}
    return kind(_unflatten(v, items) for v in inner)


def composite(*tensor_args: str):
    """Decorate a tf.* op built from other ops. `tensor_args` names the parameters that hold
    a tensor ('x') or a list of tensors ('tensors*'); every other argument is hashable data."""
    params = [(name.rstrip("*"), name.endswith("*")) for name in tensor_args]
    names = {name for name, _ in params}

    def decorate(fn):
        signature = inspect.signature(fn)
        structures: dict = {}

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            if current_tracer() is not None:
                return fn(*bound.args, **bound.kwargs)
            flat_inputs, slots = [], {}
            for name, is_list in params:
                value = bound.arguments[name]
                if is_list:
                    if not isinstance(value, (list, tuple)):
                        raise TypeError(f"{fn.__name__}: '{name}' must be a list of tensors")
                    value = [convert(v, name, fn.__name__) for v in value]
                    slots[name] = (list, len(value))
                    flat_inputs.extend(value)
                else:
                    value = convert(value, name, fn.__name__)
                    slots[name] = None
                    flat_inputs.append(value)
            if any(is_symbolic(x) for x in flat_inputs):
                if _symbolic_hook is None:
                    raise TypeError(f"{fn.__name__}: symbolic tensors need the Layers API")
                return _symbolic_hook(fn.__name__, wrapper, args, kwargs)
            statics = {k: _freeze(v) for k, v in bound.arguments.items() if k not in names}
            key = (fn.__module__, fn.__qualname__, tuple(sorted(statics.items())),
                   tuple((k, v and v[1]) for k, v in slots.items()))
            arrays = [x.buffer(fn.__name__) for x in flat_inputs]
            shape_key = (key, tuple(a.shape for a in arrays), tuple(a.dtype.char for a in arrays))

            def build(builder: Builder, values):
                with Tracer(builder) as tracer:
                    traced = iter([tracer.wrap(v) for v in values])
                    arguments = dict(bound.arguments)
                    for name, _ in params:
                        slot = slots[name]
                        if slot is None:
                            arguments[name] = next(traced)
                        else:
                            arguments[name] = [next(traced) for _ in range(slot[1])]
                    result = fn(**arguments)
                    flat: list = []
                    structures[shape_key] = _flatten(result, flat)
                    return [tracer.value_of(t, fn.__name__) for t in flat]

            outs = eager.run_traced(key, arrays, build)
            return _unflatten(structures[shape_key], iter(Tensor(o) for o in outs))

        wrapper.__composite__ = True
        return wrapper

    return decorate
