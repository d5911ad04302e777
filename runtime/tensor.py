"""Tensor: an immutable n-dimensional array in host memory, and Variable, its mutable kind.

A Tensor owns a C-contiguous numpy buffer; numpy is only the container. Its methods and
Python operators for the tf.* ops are attached by kiln.frontend (which defines the ops);
this module holds what every tensor has: shape, dtype, data access, printing, disposal.
"""
from __future__ import annotations

import itertools
import math
import weakref

import numpy as np

from kiln.ir.dtypes import as_dtype
from kiln.runtime.memory import track, untrack
from kiln.runtime.format import tensor_to_string

_ids = itertools.count()
_DTYPE_NAMES = {"f": "float32", "i": "int32", "?": "bool"}


class DisposedError(ValueError):
    """A disposed tensor or variable was used."""


class Tensor:
    __slots__ = ("_data", "_shape", "_dtype", "id", "_kept", "_nbytes", "__weakref__")
    scoped = True           # disposed by the tf.tidy it was created in (unless returned or kept)

    def __init__(self, data: np.ndarray, dtype=None):
        """Wrap `data` (taken over: callers pass a fresh, C-contiguous array)."""
        dt = as_dtype(dtype if dtype is not None else data.dtype)
        if data.dtype != dt.np or not data.flags.c_contiguous:
            data = np.array(data, dtype=dt.np, order="C")
        self._data = data
        self._shape = data.shape
        self._dtype = dt.value
        self.id = next(_ids)
        self._kept = False
        self._nbytes = data.nbytes
        track(self, self._nbytes)

    @classmethod
    def wrap(cls, data: np.ndarray) -> "Tensor":
        """A tensor owning `data`, a fresh C-contiguous array of a kiln dtype (no checks:
        for arrays the runtime itself produced)."""
        t = cls.__new__(cls)
        t._data = data
        t._shape = data.shape
        t._dtype = _DTYPE_NAMES[data.dtype.char]
        t.id = next(_ids)
        t._kept = False
        t._nbytes = data.nbytes
        track(t, t._nbytes)
        return t

    # ---- description -----------------------------------------------------------------
    @property
    def shape(self) -> list[int]:
        return list(self._shape)

    @property
    def dtype(self) -> str:
        return self._dtype

    @property
    def rank(self) -> int:
        return len(self._shape)

    @property
    def size(self) -> int:
        return math.prod(self._shape)

    @property
    def isDisposed(self) -> bool:
        return self._data is None

    def describe(self) -> str:
        return f"tensor #{self.id} ({self._dtype}{list(self._shape)})"

    # ---- data --------------------------------------------------------------------------
    def buffer(self, op: str = "use") -> np.ndarray:
        """The underlying array, or DisposedError naming this tensor and the op."""
        data = self._data
        if data is None:
            raise DisposedError(f"{op}: {self.describe()} is disposed and cannot be used")
        return data

    def dataSync(self) -> np.ndarray:
        """A flat copy of the values (float32 / int32 / bool numpy array)."""
        return self.buffer("dataSync").reshape(-1).copy()

    def arraySync(self):
        """The values as nested Python lists (a Python number for a scalar)."""
        return self.buffer("arraySync").tolist()

    async def data(self) -> np.ndarray:
        return self.dataSync()

    async def array(self):
        return self.arraySync()

    def numpy(self) -> np.ndarray:
        return self.buffer("numpy").copy()

    def __array__(self, dtype=None, copy=None):
        a = self.buffer("__array__")
        return a.astype(dtype) if dtype is not None else a.copy()

    # ---- printing ----------------------------------------------------------------------
    def toString(self, verbose: bool = False) -> str:
        return tensor_to_string(self.buffer("toString"), self._shape, self._dtype, verbose)

    def print(self, verbose: bool = False) -> None:
        print(self.toString(verbose))

    def __repr__(self):
        if self._data is None:
            return f"<disposed {self.describe()}>"
        return self.toString()

    __str__ = __repr__

    # ---- lifetime ----------------------------------------------------------------------
    def clone(self) -> "Tensor":
        return Tensor(self.buffer("clone").copy())

    def dispose(self) -> None:
        if self._data is not None:
            self._data = None
            untrack(self._nbytes)

    def __del__(self):
        try:
            if self._data is not None:
                self._data = None
                untrack(self._nbytes)
        except Exception:   # interpreter shutdown
            pass

    def __bool__(self):
        data = self.buffer("bool")
        if data.size != 1:
            raise ValueError(f"the truth value of {self.describe()} with more than one element "
                             "is ambiguous")
        return bool(data.reshape(-1)[0])

    def __len__(self):
        if not self._shape:
            raise TypeError("len() of a scalar tensor")
        return self._shape[0]

    __hash__ = object.__hash__


_variables_by_name: "weakref.WeakValueDictionary[str, Variable]" = weakref.WeakValueDictionary()


def variable_named(name: str) -> "Variable | None":
    """The live variable with this name, if any (TF.js's registered variables)."""
    v = _variables_by_name.get(name)
    return v if v is not None and not v.isDisposed else None


class Variable(Tensor):
    """A mutable tensor: `assign` replaces its values in place (same shape and dtype)."""

    __slots__ = ("name", "trainable")
    _names = itertools.count()
    scoped = False          # as TF.js: tidy never disposes variables

    def __init__(self, data: np.ndarray, trainable: bool = True, name: str | None = None,
                 dtype=None):
        super().__init__(np.array(data, dtype=as_dtype(dtype or data.dtype).np, copy=True, order="C"))
        self.trainable = bool(trainable)
        self.name = name if name is not None else str(next(Variable._names))
        _variables_by_name[self.name] = self

    def assign(self, value) -> None:
        target = self.buffer("assign")
        new = value.buffer("assign") if isinstance(value, Tensor) else np.asarray(value)
        if tuple(new.shape) != target.shape:
            raise ValueError(f"assign: variable {self.name!r} has shape {list(target.shape)}, "
                             f"the new value has shape {list(new.shape)}")
        if as_dtype(new.dtype).value != self._dtype:
            raise TypeError(f"assign: variable {self.name!r} has dtype {self._dtype}, "
                            f"the new value has dtype {as_dtype(new.dtype).value}")
        target[...] = new

    def describe(self) -> str:
        return f"variable {self.name!r} ({self._dtype}{list(self._shape)})"
