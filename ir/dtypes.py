"""Element types of kiln tensors: float32, int32 and bool, as TensorFlow.js names them."""
from __future__ import annotations

import enum

import numpy as np


class DType(enum.Enum):
    """An element type. `.value` is TF.js's name ('float32', 'int32', 'bool')."""

    float32 = "float32"
    int32 = "int32"
    bool = "bool"

    @property
    def np(self) -> np.dtype:
        return _NUMPY[self]

    @property
    def itemsize(self) -> int:
        return _NUMPY[self].itemsize

    @property
    def short(self) -> str:
        """The short spelling used by the IR printer: f32, i32, b8."""
        return _SHORT[self]

    @property
    def is_float(self) -> bool:
        return self is DType.float32

    def __repr__(self) -> str:
        return self.value

    __str__ = __repr__


float32 = DType.float32
int32 = DType.int32
bool_ = DType.bool

_NUMPY = {
    DType.float32: np.dtype(np.float32),
    DType.int32: np.dtype(np.int32),
    DType.bool: np.dtype(np.bool_),
}
_SHORT = {DType.float32: "f32", DType.int32: "i32", DType.bool: "b8"}


def as_dtype(x) -> DType:
    """Accept a DType, TF.js's name ('float32'), a numpy dtype or a Python type."""
    if isinstance(x, DType):
        return x
    if isinstance(x, str):
        try:
            return DType(x)
        except ValueError:
            raise TypeError(
                f"unknown dtype {x!r}: kiln supports 'float32', 'int32' and 'bool'"
            ) from None
    if x is float:
        return DType.float32
    if x is int:
        return DType.int32
    if x is bool:
        return DType.bool
    dt = np.dtype(x)
    if dt == np.bool_:
        return DType.bool
    if dt.kind in "iu":
        return DType.int32
    if dt.kind == "f":
        return DType.float32
    raise TypeError(f"unsupported dtype {dt}: kiln supports 'float32', 'int32' and 'bool'")


def upcast(a: DType, b: DType) -> DType:
    """TF.js's upcastType: bool < int32 < float32."""
    order = (DType.bool, DType.int32, DType.float32)
    return a if order.index(a) >= order.index(b) else b
