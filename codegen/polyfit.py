"""Derive the polynomial coefficients that kiln.codegen.mathlib embeds.

Run `python -m kiln.codegen.polyfit` to print them. Each approximation is a Chebyshev
interpolant (near-minimax) of a smooth remainder function on the reduced argument range,
computed in float64 and converted to monomial form for Horner evaluation.
"""
from __future__ import annotations

import numpy as np
from numpy.polynomial import chebyshev, polynomial


def fit(f, lo, hi, degree):
    """Monomial coefficients (lowest first) of the Chebyshev interpolant of f on [lo, hi]."""
    k = np.arange(degree + 1)
    nodes = np.cos((2 * k + 1) * np.pi / (2 * degree + 2))
    x = lo + (nodes + 1) * (hi - lo) / 2
    cheb = chebyshev.Chebyshev.fit(x, f(x), degree, domain=[lo, hi])
    return cheb.convert(kind=polynomial.Polynomial).coef


def max_rel_error(coefs, f, lo, hi, outer=lambda x, p: p):
    x = np.linspace(lo, hi, 20001)
    approx = outer(x, polynomial.polyval(x, np.float32(coefs).astype(np.float64)))
    exact = outer(x, f(x))
    return np.max(np.abs(approx - exact) / np.maximum(np.abs(exact), 1e-30))


def exp_remainder(r):
    """(exp(r) - 1 - r) / r^2, so exp(r) = 1 + r + r^2 * P(r)."""
    r = np.where(r == 0, 1e-300, r)
    return np.where(np.abs(r) < 1e-8, 0.5 + r / 6, np.expm1(r) - r) / np.where(
        np.abs(r) < 1e-8, 1.0, r * r)


def log_remainder(f):
    """(log1p(f) - f + f^2/2) / f^3, so log1p(f) = f - f^2/2 + f^3 * Q(f)."""
    f = np.where(np.abs(f) < 1e-6, 1e-6, f)
    return (np.log1p(f) - f + f * f / 2) / f ** 3


TABLE = {
    "EXP_P": (exp_remainder, -np.log(2) / 2, np.log(2) / 2, 5),
    "LOG_Q": (log_remainder, np.sqrt(0.5) - 1, np.sqrt(2) - 1, 8),
}

if __name__ == "__main__":
    for name, (f, lo, hi, degree) in TABLE.items():
        c = fit(f, lo, hi, degree)
        err = max_rel_error(c, f, lo, hi)
        print(f"{name} = ({', '.join(repr(float(np.float32(v))) for v in c)})  # rel err {err:.2e}")
