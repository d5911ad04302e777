"""JSON text exactly as JavaScript's JSON.stringify writes it (no whitespace, JS numbers).

TF.js writes model.json with JSON.stringify; writing the same bytes needs JS's number
formatting (ECMAScript Number::toString): integral floats without '.0' (1.0 -> "1"), fixed
notation from 1e-7 up to 1e21 (1e-05 -> "0.00001"), exponents without zero padding
("1e-7", "1e+21"), and NaN/Infinity as null.
"""
from __future__ import annotations

import json
import math
from decimal import Decimal


def js_number(x: float) -> str:
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return str(x)
    if math.isnan(x) or math.isinf(x):
        return "null"
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    _, digit_tuple, exponent = Decimal(repr(abs(x))).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0") or "0"
    # value = 0.<digits> * 10**n  (ECMAScript's k digits and exponent n)
    n = exponent + len("".join(map(str, digit_tuple)))
    k = len(digits)
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
        text = f"{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"
    return sign + text


def stringify(value) -> str:
    """JSON.stringify(value): dict key order kept, no spaces."""
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts)


def _write(value, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif isinstance(value, bool):
        out.append("true" if value else "false")
    elif isinstance(value, (int, float)):
        out.append(js_number(value))
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, dict):
        out.append("{")
        for i, (k, v) in enumerate(value.items()):
            if i:
                out.append(",")
            out.append(json.dumps(str(k), ensure_ascii=False))
            out.append(":")
            _write(v, out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, v in enumerate(value):
            if i:
                out.append(",")
            _write(v, out)
        out.append("]")
    elif hasattr(value, "tolist"):
        _write(value.tolist(), out)
    else:
        raise TypeError(f"cannot write a value of type {type(value).__name__} to JSON")
