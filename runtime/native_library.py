"""Call an ahead-of-time library (libNAME.so from `kiln compile`) from Python through ctypes.

    lib = NativeLibrary("out/libmlp.so")            # NAME from the file name, or name=...
    lib.inputs, lib.outputs                         # TensorSpec(name, shape, dtype)
    outputs = lib.run([x])                          # numpy arrays, any number of samples

The library describes itself (NAME_num_inputs, NAME_input_shape, ...); nothing else is read.
A library built with `--weights file` loads NAME.weights from its folder (or `weights=`).
Every call goes through NAME_run_batch with a workspace per Python thread, after the inputs
are checked here, so the library's status codes can only report what Python cannot see.
"""
from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kiln.ir.dtypes import as_dtype
from kiln.runtime.executable import aligned_empty, data_pointer


@dataclass(frozen=True)
class TensorSpec:
    name: str
    shape: list
    dtype: str


def library_name(path: Path) -> str:
    """NAME of libNAME.so."""
    stem = path.name.split(".so")[0]
    return stem[3:] if stem.startswith("lib") else stem


class NativeLibrary:
    def __init__(self, path, name: str | None = None, weights=None):
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"compiled library {str(path)!r} does not exist")
        self.path = path
        self.name = name or library_name(path)
        try:
            self._lib = ctypes.CDLL(str(path.resolve()))
        except OSError as e:
            raise ValueError(f"cannot load compiled library {str(path)!r}: {e}") from None
        self._fn = self._bind()
        self.batch_size = self._fn["batch_size"]()
        self.inputs = [self._spec("input", i) for i in range(self._fn["num_inputs"]())]
        self.outputs = [self._spec("output", i) for i in range(self._fn["num_outputs"]())]
        self.workspace_bytes = self._fn["workspace_size"]()
        self._local = threading.local()
        self.weights_path = None
        if "load_weights" in self._fn:
            self.load_weights(weights or path.parent / f"{self.name}.weights")
        elif weights is not None:
            raise ValueError(f"library {str(path)!r} has its weights embedded; it takes no "
                             "weights file")

    _SIGNATURES = {
        "num_inputs": (ctypes.c_int, []), "num_outputs": (ctypes.c_int, []),
        "batch_size": (ctypes.c_int, []), "workspace_size": (ctypes.c_size_t, []),
        "input_rank": (ctypes.c_int, [ctypes.c_int]),
        "output_rank": (ctypes.c_int, [ctypes.c_int]),
        "input_shape": (ctypes.POINTER(ctypes.c_int64), [ctypes.c_int]),
        "output_shape": (ctypes.POINTER(ctypes.c_int64), [ctypes.c_int]),
        "input_dtype": (ctypes.c_char_p, [ctypes.c_int]),
        "output_dtype": (ctypes.c_char_p, [ctypes.c_int]),
        "input_name": (ctypes.c_char_p, [ctypes.c_int]),
        "output_name": (ctypes.c_char_p, [ctypes.c_int]),
        "status_string": (ctypes.c_char_p, [ctypes.c_int]),
        "run_batch": (ctypes.c_int, [ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p,
                                     ctypes.c_void_p]),
        "load_weights": (ctypes.c_int, [ctypes.c_char_p]),
    }

    def _bind(self) -> dict:
        fns = {}
        for short, (restype, argtypes) in self._SIGNATURES.items():
            try:
                fn = getattr(self._lib, f"{self.name}_{short}")
            except AttributeError:
                if short == "load_weights":
                    continue
                raise ValueError(f"{str(self.path)!r} is not a kiln library named "
                                 f"{self.name!r}: it has no function {self.name}_{short} "
                                 "(pass name=... if the file was renamed)") from None
            fn.restype, fn.argtypes = restype, argtypes
            fns[short] = fn
        return fns

    def _spec(self, kind: str, i: int) -> TensorSpec:
        rank = self._fn[f"{kind}_rank"](i)
        shape = self._fn[f"{kind}_shape"](i)
        return TensorSpec(self._fn[f"{kind}_name"](i).decode(), [shape[k] for k in range(rank)],
                          self._fn[f"{kind}_dtype"](i).decode())

    def status_string(self, status: int) -> str:
        return self._fn["status_string"](status).decode()

    def load_weights(self, path) -> None:
        path = Path(path)
        status = self._fn["load_weights"](str(path).encode())
        if status != 0:
            raise ValueError(f"{self.name}_load_weights({str(path)!r}) failed: "
                             f"{self.status_string(status)} (status {status})")
        self.weights_path = path

    def _workspace(self) -> int:
        address = getattr(self._local, "address", None)
        if address is None:
            self._local.buffer = aligned_empty(self.workspace_bytes)
            address = self._local.address = data_pointer(self._local.buffer)
        return address

    def run(self, arrays) -> list[np.ndarray]:
        """Outputs for `arrays` (one per input, C-contiguous, the library's dtypes and
        non-batch dimensions, any equal number of samples)."""
        if len(arrays) != len(self.inputs):
            raise ValueError(f"library {self.name!r} expects {len(self.inputs)} input(s), got "
                             f"{len(arrays)}")
        n = None
        for a, spec in zip(arrays, self.inputs):
            want = as_dtype(spec.dtype).np
            if type(a) is not np.ndarray or a.dtype != want or not a.flags.c_contiguous or \
                    list(a.shape[1:]) != spec.shape[1:] or a.ndim != len(spec.shape):
                got = f"{getattr(a, 'dtype', type(a).__name__)}{list(getattr(a, 'shape', ()))}"
                raise ValueError(f"input {spec.name!r} of library {self.name!r} must be a "
                                 f"C-contiguous {want.name} array of shape "
                                 f"[n, {', '.join(map(str, spec.shape[1:]))}], got {got}")
            if n is not None and a.shape[0] != n:
                raise ValueError(f"library {self.name!r}: all inputs must have the same number "
                                 f"of samples, got {n} and {a.shape[0]}")
            n = a.shape[0]
        outputs = [np.empty([n] + spec.shape[1:], as_dtype(spec.dtype).np)
                   for spec in self.outputs]
        ins = (ctypes.c_void_p * len(arrays))(*[data_pointer(a) for a in arrays])
        outs = (ctypes.c_void_p * len(outputs))(*[data_pointer(o) for o in outputs])
        status = self._fn["run_batch"](n, ins, outs, self._workspace())
        if status != 0:
            raise RuntimeError(f"{self.name}_run_batch failed: {self.status_string(status)} "
                               f"(status {status})")
        return outputs
