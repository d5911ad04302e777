"""Weight constraints, applied by training after each update: maxNorm, unitNorm, nonNeg,
minMaxNorm (norms over `axis`, as TF.js)."""
from __future__ import annotations

from kiln.frontend.engine.config import parse_args, suggestion
from kiln.frontend.ops import math as m
from kiln.frontend.ops import reduction
from kiln.frontend.serialization import Serializable, deserialize, registerClass

EPSILON = 1e-7


class Constraint(Serializable):
    ARGS: dict = {}

    def __init__(self, config=None, **kwargs):
        self.args = parse_args(self.className, self.ARGS, config, kwargs)

    def getConfig(self):
        return dict(self.args)

    def __call__(self, w):
        return self.apply(w)


def _norms(w, axis):
    return m.sqrt(reduction.sum(m.square(w), axis, True))


@registerClass
class MaxNorm(Constraint):
    className = "MaxNorm"
    ARGS = {"maxValue": 2, "axis": 0}

    def apply(self, w):
        norms = _norms(w, self.args["axis"])
        desired = m.clipByValue(norms, 0, self.args["maxValue"])
        return m.mul(w, m.div(desired, m.add(norms, EPSILON)))


@registerClass
class UnitNorm(Constraint):
    className = "UnitNorm"
    ARGS = {"axis": 0}

    def apply(self, w):
        return m.div(w, m.add(_norms(w, self.args["axis"]), EPSILON))


@registerClass
class NonNeg(Constraint):
    className = "NonNeg"

    def apply(self, w):
        return m.relu(w)


@registerClass
class MinMaxNorm(Constraint):
    className = "MinMaxNorm"
    ARGS = {"minValue": 0.0, "maxValue": 1.0, "rate": 1.0, "axis": 0}

    def apply(self, w):
        a = self.args
        norms = _norms(w, a["axis"])
        clipped = m.clipByValue(norms, a["minValue"], a["maxValue"])
        desired = m.add(m.mul(clipped, a["rate"]), m.mul(norms, 1 - a["rate"]))
        return m.mul(w, m.div(desired, m.add(norms, EPSILON)))


IDENTIFIERS = {"maxNorm": MaxNorm, "unitNorm": UnitNorm, "nonNeg": NonNeg,
               "minMaxNorm": MinMaxNorm}
for _cls in list(IDENTIFIERS.values()):
    IDENTIFIERS[_cls.className] = _cls


def get_constraint(identifier, owner="constraint"):
    if identifier is None or isinstance(identifier, Constraint):
        return identifier
    if isinstance(identifier, str):
        if identifier not in IDENTIFIERS:
            raise ValueError(f"{owner}: unknown constraint {identifier!r}"
                             f"{suggestion(identifier, IDENTIFIERS)}")
        return IDENTIFIERS[identifier]()
    if isinstance(identifier, dict):
        return deserialize(identifier, "constraint")
    raise TypeError(f"{owner}: expected a constraint, got {identifier!r}")


FACTORIES = {name: (lambda cls: lambda config=None, **kw: cls(config, **kw))(cls)
             for name, cls in IDENTIFIERS.items() if name[0].islower()}
