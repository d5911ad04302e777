"""Helpers shared by layer definitions: option normalization and config serialization."""
from __future__ import annotations

from kiln.frontend.activations import get_activation, serialize_activation
from kiln.frontend.constraints import get_constraint
from kiln.frontend.initializers import get_initializer
from kiln.frontend.regularizers import get_regularizer
from kiln.frontend.serialization import serialize

__all__ = ["get_activation", "get_constraint", "get_initializer", "get_regularizer",
           "serialize", "serialize_activation", "int_tuple", "check_choice"]


def int_tuple(value, n: int, name: str, owner: str) -> tuple[int, ...]:
    """An int or a list of n ints (TF.js's normalizeArray)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (int(value),) * n
    values = tuple(int(v) for v in value)
    if len(values) == 1:
        return values * n
    if len(values) != n:
        raise ValueError(f"{owner}: {name} must be an integer or a list of {n} integers, got "
                         f"{list(value)}")
    return values


def check_choice(value, choices, name: str, owner: str):
    if value not in choices:
        from kiln.frontend.engine.config import suggestion
        raise ValueError(f"{owner}: {name} must be one of {list(choices)}, got {value!r}"
                         f"{suggestion(str(value), choices)}")
    return value
