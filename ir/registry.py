"""The op registry: one OpDef per IR op.

An OpDef declares everything the compiler needs to know about an op that is independent of
the target: its attributes and their defaults, its shape/dtype rule, its gradient rule, and the
group it belongs to (which passes read, e.g. fusion asks "is this elementwise?"). Lowering to
LLVM lives in codegen, keyed by the same op name.

Ops are defined in kiln.ir.ops.* modules; importing kiln.ir registers all of them.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Callable

from kiln.ir.errors import ShapeError


class Kind(enum.Enum):
    """Op groups that passes speak in."""

    SOURCE = "source"            # no data inputs: input, param, constant, iota, random
    ELEMENTWISE = "elementwise"  # out[i] = f(in_0[i'], in_1[i'], ...) with broadcasting
    MOVEMENT = "movement"        # out[i] = in[g(i)]: reshape, transpose, slice, pad, concat, gather
    REDUCE = "reduce"            # reduces axes of one input
    SCAN = "scan"                # cumulative along one axis
    CONTRACTION = "contraction"  # matMul, convolution: the heavy kernels
    WINDOW = "window"            # pooling and other sliding-window reductions
    SCATTER = "scatter"          # accumulate operand elements into computed output positions
    CONTROL = "control"          # structured loops


REQUIRED = object()


@dataclass(frozen=True)
class OpDef:
    """Everything the target-independent compiler knows about one op.

    infer(input_types, attrs) -> list of output TensorTypes; raises ShapeError naming the op
        and the offending operand or attribute.
    grad(builder, node, output_grads) -> one gradient Value (or None) per input; output_grads
        holds None for outputs that do not reach the loss.
    """

    name: str
    kind: Kind
    infer: Callable
    attrs: dict = field(default_factory=dict)
    arity: int | None = 1          # None: variadic
    grad: Callable | None = None
    pure: bool = True              # False: never merged with an equal-looking node
    doc: str = ""

    def canonical_attrs(self, given: dict) -> dict:
        """Fill defaults, reject unknown or missing attributes, make every value hashable."""
        unknown = set(given) - set(self.attrs)
        if unknown:
            raise ShapeError(f"{self.name}: unknown attribute(s) {sorted(unknown)}")
        result = {}
        for key, default in self.attrs.items():
            value = given.get(key, default)
            if value is REQUIRED:
                raise ShapeError(f"{self.name}: missing required attribute '{key}'")
            result[key] = freeze(value)
        return result


_REGISTRY: dict[str, OpDef] = {}


def register(opdef: OpDef) -> OpDef:
    if opdef.name in _REGISTRY:
        raise ValueError(f"op {opdef.name!r} registered twice")
    _REGISTRY[opdef.name] = opdef
    return opdef


def get_op(name: str) -> OpDef:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown IR op {name!r}") from None


def all_ops() -> dict[str, OpDef]:
    return dict(_REGISTRY)


def ops_of_kind(kind: Kind) -> set[str]:
    return {name for name, op in _REGISTRY.items() if op.kind is kind}


def set_grad(name: str, rule: Callable) -> None:
    """Attach a gradient rule to an already registered op (rules may live beside the op)."""
    op = _REGISTRY[name]
    _REGISTRY[name] = OpDef(**{**op.__dict__, "grad": rule})


def freeze(value):
    """Convert lists (recursively) to tuples and numpy scalars to Python numbers."""
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        return value.item()
    return value
