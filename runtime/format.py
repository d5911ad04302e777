"""Tensor.toString() in TensorFlow.js's layout.

    Tensor
        [[1, 2  ],
         [3, 40 ]]

Values print with at most 7 decimals and JavaScript's number spelling (1, 0.5, 1e-7, NaN,
Infinity); each column is right-padded to its widest value; axes longer than 20 show their
first and last three entries around '...'. A scalar prints its full-precision value, as
TF.js does.
"""
from __future__ import annotations

import math

import numpy as np

LIMIT = 20        # longer axes are elided
EDGE = 3          # entries kept at each end of an elided axis
DECIMALS = 7


def js_number(x: float) -> str:
    """JavaScript's Number.prototype.toString for a double."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "0"
    if x == int(x) and abs(x) < 1e21:
        return str(int(x))
    digits, exponent = _shortest_digits(abs(x))
    sign = "-" if x < 0 else ""
    n = exponent + 1              # position of the decimal point relative to the digits
    if -6 < n <= 21:
        if n <= 0:
            body = "0." + "0" * (-n) + digits
        elif n >= len(digits):
            body = digits + "0" * (n - len(digits))
        else:
            body = digits[:n] + "." + digits[n:]
    else:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        body = f"{mantissa}e{'+' if n - 1 >= 0 else '-'}{abs(n - 1)}"
    return sign + body


def _shortest_digits(x: float):
    """Shortest round-trip digits of x and the decimal exponent of the first digit."""
    text = repr(x)
    if "e" in text:
        m, _, e = text.partition("e")
        digits = m.replace(".", "").lstrip("0")
        point = m.index(".") if "." in m else len(m)
        return digits.rstrip("0") or "0", int(e) + point - 1
    whole, _, frac = text.partition(".")
    frac = "" if frac == "0" else frac
    all_digits = (whole + frac).lstrip("0")
    lead_zeros = len(whole + frac) - len((whole + frac).lstrip("0"))
    exponent = len(whole) - 1 - lead_zeros
    return all_digits.rstrip("0") or "0", exponent


def value_string(v, dtype: str) -> str:
    if dtype == "bool":
        return "true" if v else "false"
    return js_number(float(f"{float(v):.{DECIMALS}f}") if math.isfinite(float(v)) else float(v))


def tensor_to_string(values: np.ndarray, shape, dtype: str, verbose: bool = False) -> str:
    values = np.asarray(values).reshape(-1)
    shape = list(shape)
    cols = shape[-1] if shape else 1
    pad = [0] * max(cols, 1)
    if len(shape) > 1 and cols:
        for i, v in enumerate(values):
            pad[i % cols] = max(pad[i % cols], len(value_string(v, dtype)))
    lines = ["Tensor"]
    if verbose:
        lines += [f"  dtype: {dtype}", f"  rank: {len(shape)}",
                  f"  shape: [{','.join(map(str, shape))}]", "  values:"]
    body = _sub(values, shape, dtype, pad, True)
    lines.append("\n".join("    " + line for line in body))
    return "\n".join(lines)


def _sub(values, shape, dtype, pad, is_last):
    if not shape:
        if dtype == "bool":
            return ["true" if values[0] else "false"]
        v = values[0]
        return [js_number(float(v)) if dtype == "float32" else str(int(v))]
    size = shape[0]
    if len(shape) == 1:
        def cell(i):
            return value_string(values[i], dtype).ljust(pad[i] if i < len(pad) else 0)
        if size > LIMIT:
            first = ", ".join(cell(i) for i in range(EDGE))
            last = ", ".join(cell(i) for i in range(size - EDGE, size))
            return [f"[{first}, ..., {last}]"]
        return ["[" + ", ".join(cell(i) for i in range(size)) + "]"]
    stride = math.prod(shape[1:])
    rows = list(range(EDGE)) + [None] + list(range(size - EDGE, size)) if size > LIMIT \
        else list(range(size))
    lines = []
    for r in rows:
        if r is None:
            lines.append("...")
            continue
        lines += _sub(values[r * stride:(r + 1) * stride], shape[1:], dtype, pad, r == size - 1)
    sep = "," if len(shape) == 2 else ""
    if lines:
        lines[0] = "[" + lines[0] + sep
    else:
        lines = ["["]          # an empty axis: closed below like any last line, as TF.js
    for i in range(1, len(lines) - 1):
        lines[i] = " " + lines[i] + sep
    newline_sep = ",\n" + "\n" * (len(shape) - 2)
    lines[-1] = " " + lines[-1] + "]" + ("" if is_last else newline_sep)
    return lines
