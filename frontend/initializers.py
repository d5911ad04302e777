"""Weight initializers (`tf.initializers.*` and their string names), seedable.

Values are drawn by kiln's random kernels; the orthogonal initializer's QR decomposition is
prepared with numpy (initial values are data preparation). Defaults follow TF.js exactly;
where TF.js mishandles an option (a `truncatedNormal` distribution silently drawn uniform,
`minval: 0` replaced by the default) kiln does what the option says.
"""
from __future__ import annotations

import math

import numpy as np

from kiln.frontend.engine.config import parse_args, suggestion
from kiln.frontend.ops import creation, random
from kiln.frontend.serialization import Serializable, deserialize, registerClass
from kiln.runtime.tensor import Tensor

TRUNCATION_CORRECTION = 0.87962566103423978   # stddev of a normal truncated at two sigma


def compute_fans(shape, data_format="channelsLast"):
    """(fanIn, fanOut) as TF.js computes them."""
    shape = list(shape)
    if len(shape) == 2:
        return shape[0], shape[1]
    if len(shape) in (3, 4, 5):
        if data_format == "channelsFirst":
            receptive = math.prod(shape[2:])
            return shape[1] * receptive, shape[0] * receptive
        receptive = math.prod(shape[:-2])
        return shape[-2] * receptive, shape[-1] * receptive
    size = math.sqrt(math.prod(shape))
    return size, size


class Initializer(Serializable):
    ARGS: dict = {}

    def __init__(self, config=None, **kwargs):
        self.args = parse_args(self.className, type(self).ARGS, config, kwargs)
        self._validate()

    def _validate(self):
        pass

    def apply(self, shape, dtype="float32") -> Tensor:
        raise NotImplementedError

    __call__ = apply

    def getConfig(self):
        return dict(self.args)


@registerClass
class Zeros(Initializer):
    className = "Zeros"

    def apply(self, shape, dtype="float32"):
        return creation.zeros(shape, dtype)


@registerClass
class Ones(Initializer):
    className = "Ones"

    def apply(self, shape, dtype="float32"):
        return creation.ones(shape, dtype)


@registerClass
class Constant(Initializer):
    className = "Constant"
    ARGS = {"value": None}

    def _validate(self):
        if self.args["value"] is None:
            raise ValueError("Constant initializer: the option 'value' is required")

    def apply(self, shape, dtype="float32"):
        return creation.fill(shape, self.args["value"], dtype)


@registerClass
class RandomUniform(Initializer):
    className = "RandomUniform"
    ARGS = {"minval": -0.05, "maxval": 0.05, "seed": None}

    def apply(self, shape, dtype="float32"):
        return random.randomUniform(shape, self.args["minval"], self.args["maxval"], dtype,
                                    self.args["seed"])


@registerClass
class RandomNormal(Initializer):
    className = "RandomNormal"
    ARGS = {"mean": 0.0, "stddev": 0.05, "seed": None}

    def apply(self, shape, dtype="float32"):
        return random.randomNormal(shape, self.args["mean"], self.args["stddev"], dtype,
                                   self.args["seed"])


@registerClass
class TruncatedNormal(Initializer):
    className = "TruncatedNormal"
    ARGS = {"mean": 0.0, "stddev": 0.05, "seed": None}

    def apply(self, shape, dtype="float32"):
        return random.truncatedNormal(shape, self.args["mean"], self.args["stddev"], dtype,
                                      self.args["seed"])


@registerClass
class Identity(Initializer):
    className = "Identity"
    ARGS = {"gain": 1.0}

    def apply(self, shape, dtype="float32"):
        if len(shape) != 2:
            raise ValueError(f"Identity initializer needs a 2-D shape, got {list(shape)}")
        from kiln.frontend.ops.math import mul
        return mul(creation.eye(shape[0], shape[1], None, dtype), self.args["gain"])


MODES = ("fanIn", "fanOut", "fanAvg")
DISTRIBUTIONS = ("normal", "uniform", "truncatedNormal", "untruncatedNormal")


@registerClass
class VarianceScaling(Initializer):
    """Draws with variance scale / fan: 'normal' is TF.js's (a normal truncated at two
    standard deviations, no correction), 'truncatedNormal' Keras's (corrected so the
    variance is exact), 'untruncatedNormal' a plain normal, 'uniform' within sqrt(3 * var)."""

    className = "VarianceScaling"
    ARGS = {"scale": 1.0, "mode": "fanIn", "distribution": "normal", "seed": None}

    def _validate(self):
        a = self.args
        if a["scale"] <= 0:
            raise ValueError(f"VarianceScaling: scale must be positive, got {a['scale']}")
        if a["mode"] not in MODES:
            raise ValueError(f"VarianceScaling: unknown mode {a['mode']!r}"
                             f"{suggestion(a['mode'], MODES)}")
        if a["distribution"] not in DISTRIBUTIONS:
            raise ValueError(f"VarianceScaling: unknown distribution {a['distribution']!r}"
                             f"{suggestion(a['distribution'], DISTRIBUTIONS)}")

    def apply(self, shape, dtype="float32", data_format="channelsLast"):
        a = self.args
        fan_in, fan_out = compute_fans(shape, data_format)
        fan = {"fanIn": fan_in, "fanOut": fan_out, "fanAvg": (fan_in + fan_out) / 2}[a["mode"]]
        variance = a["scale"] / max(1.0, fan)
        dist = a["distribution"]
        if dist == "normal":
            return random.truncatedNormal(shape, 0, math.sqrt(variance), dtype, a["seed"])
        if dist == "truncatedNormal":
            return random.truncatedNormal(shape, 0, math.sqrt(variance) / TRUNCATION_CORRECTION,
                                          dtype, a["seed"])
        if dist == "untruncatedNormal":
            return random.randomNormal(shape, 0, math.sqrt(variance), dtype, a["seed"])
        limit = math.sqrt(3 * variance)
        return random.randomUniform(shape, -limit, limit, dtype, a["seed"])


def _preset(class_name, scale, mode, distribution):
    """Glorot/He/LeCun: VarianceScaling with fixed options; serialized under their own name."""

    class Preset(VarianceScaling):
        ARGS = {"seed": None}

        def __init__(self, config=None, **kwargs):
            # Its own getConfig() (the full VarianceScaling config) is accepted back, as
            # TF.js's fromConfig accepts it; other values of the fixed options are not.
            fixed = {"scale": scale, "mode": mode, "distribution": distribution}
            args = parse_args(class_name, {"seed": None, **{k: None for k in fixed}}, config,
                              kwargs)
            for key, value in fixed.items():
                if args[key] is not None and args[key] != value:
                    raise ValueError(f"{class_name}: {key} is fixed to {value!r}, got "
                                     f"{args[key]!r} (use varianceScaling for other values)")
            self.args = {**fixed, "seed": args["seed"]}

        def getClassName(self):
            return "VarianceScaling"     # as TF.js writes it

    Preset.className = class_name
    Preset.__name__ = Preset.__qualname__ = class_name
    return registerClass(Preset)


GlorotUniform = _preset("GlorotUniform", 1.0, "fanAvg", "uniform")
GlorotNormal = _preset("GlorotNormal", 1.0, "fanAvg", "normal")
HeNormal = _preset("HeNormal", 2.0, "fanIn", "normal")
HeUniform = _preset("HeUniform", 2.0, "fanIn", "uniform")
LeCunNormal = _preset("LeCunNormal", 1.0, "fanIn", "normal")
LeCunUniform = _preset("LeCunUniform", 1.0, "fanIn", "uniform")


@registerClass
class Orthogonal(Initializer):
    className = "Orthogonal"
    ARGS = {"gain": 1.0, "seed": None}

    def apply(self, shape, dtype="float32"):
        shape = list(shape)
        if len(shape) < 2:
            raise ValueError(f"Orthogonal initializer needs rank >= 2, got shape {shape}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        normal = random.randomNormal([max(rows, cols), min(rows, cols)], 0, 1, "float32",
                                     self.args["seed"])
        q, r = np.linalg.qr(normal.dataSync().reshape(max(rows, cols), min(rows, cols)))
        q = q * np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return Tensor((q * self.args["gain"]).astype(np.float32).reshape(shape), dtype)


IDENTIFIERS = {
    "zeros": Zeros, "ones": Ones, "constant": Constant, "randomUniform": RandomUniform,
    "randomNormal": RandomNormal, "truncatedNormal": TruncatedNormal, "identity": Identity,
    "varianceScaling": VarianceScaling, "glorotUniform": GlorotUniform,
    "glorotNormal": GlorotNormal, "heNormal": HeNormal, "heUniform": HeUniform,
    "leCunNormal": LeCunNormal, "leCunUniform": LeCunUniform, "orthogonal": Orthogonal,
}
# Keras / snake_case spellings that appear in model files.
for _name, _cls in list(IDENTIFIERS.items()):
    IDENTIFIERS[_cls.className] = _cls
IDENTIFIERS.update({"lecunNormal": LeCunNormal, "lecunUniform": LeCunUniform,
                    "LecunNormal": LeCunNormal, "LecunUniform": LeCunUniform})


def get_initializer(identifier, owner: str = "initializer") -> Initializer:
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, str):
        cls = IDENTIFIERS.get(identifier)
        if cls is None:
            raise ValueError(f"{owner}: unknown initializer {identifier!r}"
                             f"{suggestion(identifier, IDENTIFIERS)}")
        return cls()
    if isinstance(identifier, dict):
        name = identifier.get("className")
        if name in IDENTIFIERS and name not in ("VarianceScaling",):
            return IDENTIFIERS[name](dict(identifier.get("config") or {}))
        return deserialize(identifier, "initializer")
    raise TypeError(f"{owner}: expected an initializer name, object or config, got {identifier!r}")


def _factory(cls):
    def make(config=None, **kwargs):
        return cls(config, **kwargs)
    make.__name__ = cls.className[0].lower() + cls.className[1:]
    make.__doc__ = f"tf.initializers.{make.__name__}(config?)"
    return make


FACTORIES = {name: _factory(cls) for name, cls in IDENTIFIERS.items() if name[0].islower()
             and name not in ("lecunNormal", "lecunUniform")}
