"""Johannes Baagøe's Alea PRNG as packaged in seedrandom (`seedrandom.alea`), which TF.js's
Dataset.shuffle uses. Reproduced operation for operation in IEEE doubles (Python floats are
JavaScript numbers), so a seed gives the same stream of numbers as in TensorFlow.js.
"""
from __future__ import annotations

_2_POW_32 = 4294967296.0
_2_POW_MINUS_32 = 2.3283064365386963e-10


def _to_uint32(x: float) -> float:
    """JavaScript's `x >>> 0` for a finite number."""
    return float(int(x) % 4294967296)


def _to_int32(x: float) -> int:
    """JavaScript's `x | 0` for a finite number."""
    n = int(x) % 4294967296
    return n - 4294967296 if n >= 2147483648 else n


def js_string(seed) -> str:
    """String(seed) as JavaScript writes it, for the seeds people pass (str, int, float)."""
    if isinstance(seed, str):
        return seed
    if isinstance(seed, bool):
        return "true" if seed else "false"
    if isinstance(seed, float) and seed.is_integer():
        return str(int(seed))
    return str(seed)


def _masher():
    n = 0xefc8249d * 1.0

    def mash(data: str) -> float:
        nonlocal n
        units = data.encode("utf-16-le")          # charCodeAt walks UTF-16 code units
        for i in range(0, len(units), 2):
            n += units[i] | (units[i + 1] << 8)
            h = 0.02519603282416938 * n
            n = _to_uint32(h)
            h -= n
            h *= n
            n = _to_uint32(h)
            h -= n
            n += h * _2_POW_32
        return _to_uint32(n) * _2_POW_MINUS_32

    return mash


class Alea:
    """`Alea(seed)()` -> a float in [0, 1); `.int32()`, `.double()`, `.quick()` as seedrandom."""

    def __init__(self, seed):
        mash = _masher()
        key = js_string(seed)
        self.c = 1
        s = [mash(" "), mash(" "), mash(" ")]
        for i in range(3):
            s[i] -= mash(key)
            if s[i] < 0:
                s[i] += 1
        self.s0, self.s1, self.s2 = s

    def __call__(self) -> float:
        t = 2091639 * self.s0 + self.c * _2_POW_MINUS_32
        self.s0 = self.s1
        self.s1 = self.s2
        self.c = _to_int32(t)
        self.s2 = t - self.c
        return self.s2

    quick = __call__

    def int32(self) -> int:
        return _to_int32(self() * _2_POW_32)

    def double(self) -> float:
        return self() + _to_int32(self() * 0x200000) * 1.1102230246251565e-16
