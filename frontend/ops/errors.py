"""Errors name the op the user called.

A public tf.* op is built from IR ops and from other public ops, so an error raised inside it
first names an internal op: the shape rule of IR op 'select' under tf.where, a disposed
operand met by 'reshape' under tf.squeeze, 'mul' under tf.prelu. `public(name, fn)` wraps a
public op so that a ValueError or TypeError leaving it starts with its own name instead:
"where: operands could not be broadcast together with shapes [2] and [3] and [3]".
"""
from __future__ import annotations

import functools
import re

_LEADING_OP = re.compile(r"[A-Za-z_][A-Za-z0-9_]*: ")


def public(name: str, fn):
    @functools.wraps(fn)
    def op(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (ValueError, TypeError) as e:
            renamed = _renamed(e, name)
            if renamed is None:
                raise
            raise renamed.with_traceback(e.__traceback__) from None
    return op


def _renamed(error: Exception, name: str):
    message = str(error)
    if message.startswith(f"{name}: ") or len(error.args) != 1:
        return None
    found = _LEADING_OP.match(message)
    body = message[found.end():] if found else message
    try:
        return type(error)(f"{name}: {body}")
    except Exception:       # an exception type with another constructor: leave it alone
        return None
