"""Cumulative ops along one axis."""
from __future__ import annotations

from kiln.ir.dtypes import float32, int32
from kiln.ir.ops._rules import check_axes, require_dtype
from kiln.ir.registry import REQUIRED, Kind, OpDef, register


def _cumsum(inputs, attrs):
    (x,) = inputs
    require_dtype("cumsum", 0, x, (float32, int32))
    check_axes("cumsum", (attrs["axis"],), x.rank)
    return [x]


register(OpDef("cumsum", Kind.SCAN, _cumsum,
               {"axis": REQUIRED, "exclusive": False, "reverse": False}))
