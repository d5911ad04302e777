"""TensorType: the static shape and element type of an IR value."""
from __future__ import annotations

import math
from dataclasses import dataclass

from kiln.ir.dtypes import DType, as_dtype


@dataclass(frozen=True)
class TensorType:
    """A static shape (tuple of non-negative ints) and a dtype."""

    shape: tuple[int, ...]
    dtype: DType

    def __post_init__(self):
        shape = tuple(int(d) for d in self.shape)
        if any(d < 0 for d in shape):
            raise ValueError(f"negative dimension in shape {list(shape)}")
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "dtype", as_dtype(self.dtype))

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    def with_shape(self, shape) -> "TensorType":
        return TensorType(tuple(shape), self.dtype)

    def with_dtype(self, dtype) -> "TensorType":
        return TensorType(self.shape, as_dtype(dtype))

    def __str__(self) -> str:
        return f"{self.dtype.short}[{','.join(map(str, self.shape))}]"

    __repr__ = __str__
