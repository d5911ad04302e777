"""Weight regularizers: L1L2 (and the l1, l2 shorthands). Training adds their penalty,
sum(l1 * |x|) + sum(l2 * x^2), to the loss."""
from __future__ import annotations

from kiln.frontend.engine.config import parse_args, suggestion
from kiln.frontend.ops import math as m
from kiln.frontend.ops import reduction
from kiln.frontend.serialization import Serializable, deserialize, registerClass


@registerClass
class L1L2(Serializable):
    className = "L1L2"
    ARGS = {"l1": 0.01, "l2": 0.01}

    def __init__(self, config=None, **kwargs):
        self.args = parse_args("L1L2", self.ARGS, config, kwargs)
        self.l1, self.l2 = float(self.args["l1"]), float(self.args["l2"])

    def apply(self, x):
        """The penalty sum(l1 * |x|) + sum(l2 * x^2), a scalar."""
        return m.add(m.mul(reduction.sum(m.abs(x)), self.l1),
                     m.mul(reduction.sum(m.square(x)), self.l2))

    __call__ = apply

    def getConfig(self):
        return {"l1": self.l1, "l2": self.l2}


def l1l2(config=None, **kwargs):
    return L1L2(config, **kwargs)


def l1(config=None, **kwargs):
    args = dict(config or {}, **kwargs)
    return L1L2({"l1": args.get("l1", 0.01), "l2": 0.0})


def l2(config=None, **kwargs):
    args = dict(config or {}, **kwargs)
    return L1L2({"l1": 0.0, "l2": args.get("l2", 0.01)})


IDENTIFIERS = {"l1l2": l1l2, "l1": l1, "l2": l2, "L1L2": l1l2}


def get_regularizer(identifier, owner="regularizer"):
    if identifier is None or isinstance(identifier, L1L2):
        return identifier
    if isinstance(identifier, str):
        if identifier not in IDENTIFIERS:
            raise ValueError(f"{owner}: unknown regularizer {identifier!r}"
                             f"{suggestion(identifier, IDENTIFIERS)}")
        return IDENTIFIERS[identifier]()
    if isinstance(identifier, dict):
        name = identifier.get("className")
        config = dict(identifier.get("config") or {})
        if name in ("L1", "L2"):     # Keras's own classes; TF.js only knows L1L2
            return (l1 if name == "L1" else l2)(config)
        return deserialize(identifier, "regularizer")
    if callable(getattr(identifier, "apply", None)):
        return identifier
    raise TypeError(f"{owner}: expected a regularizer, got {identifier!r}")
