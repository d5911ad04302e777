"""Exceptions raised by IR construction and verification."""


class ShapeError(ValueError):
    """An op was given operands or attributes whose shapes or dtypes it cannot accept."""


class VerifyError(ValueError):
    """A graph breaks an IR invariant; the message names the offending node."""
