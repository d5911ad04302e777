"""Normalization layers: batchNormalization, layerNormalization.

Both compute `(x - mean) * gamma / sqrt(variance + epsilon) + beta` with the parameters
broadcast along the normalized axis (or axes), as TF.js's batchNorm kernels do.

Porting notes (where kiln departs from TF.js 4.22):
  * TF.js's cpu kernel ignores the axis of a batch normalization over a non-last axis of a
    4-D input (element i is paired with parameter i mod depth); kiln normalizes along the
    configured axis, as Keras does.
  * TF.js limits batchNormalization to inputs of rank 2..4 and crashes in training mode with
    `center: false` or `scale: false`; kiln accepts any rank and both flags.
  * Keras writes `axis` as a list (`[3]`); kiln accepts an int or a list of ints.
  * Options Keras writes that TF.js ignores are accepted so Keras configs load: batch norm's
    `synchronized` (no effect on one device), `renorm` (false only), `renormClipping`,
    `renormMomentum`; layer norm's `betaConstraint`, `gammaConstraint` (kept and serialized
    when set) and `rmsScaling` (false only).
"""
from __future__ import annotations

from kiln.frontend.engine.layer import InputSpec, Layer
from kiln.frontend.layers._common import (get_constraint, get_initializer, get_regularizer,
                                          serialize)
from kiln.frontend.ops import linalg, math as m, reduction, shape as s
from kiln.frontend.serialization import registerClass


def _axes_option(value, owner: str) -> list[int]:
    """An int or a list of ints (the `axis` option), as a list."""
    values = [value] if not isinstance(value, (list, tuple)) else list(value)
    if not values or any(isinstance(v, bool) or not isinstance(v, int) and
                         not (isinstance(v, float) and v.is_integer()) for v in values):
        raise ValueError(f"{owner}: axis must be an integer or a list of integers, got "
                         f"{value!r}")
    return [int(v) for v in values]


def _resolve_axes(axes: list[int], rank: int, owner: str) -> list[int]:
    resolved = []
    for axis in axes:
        a = axis + rank if axis < 0 else axis
        if not 0 <= a < rank:
            raise ValueError(f"{owner}: axis {axis} is out of range for an input of rank {rank}")
        resolved.append(a)
    if len(set(resolved)) != len(resolved):
        raise ValueError(f"{owner}: duplicate axes in {axes}")
    return resolved


def _broadcast_param(param, axes: list[int], rank: int):
    """A parameter of shape [d_a for a in axes] reshaped to broadcast against a rank-`rank`
    input (sizes at `axes`, 1 elsewhere), its axes put in increasing order first."""
    order = sorted(range(len(axes)), key=lambda i: axes[i])
    if order != list(range(len(axes))):
        param = linalg.transpose(param, order)
    if axes == [rank - 1]:
        return param
    shape = [1] * rank
    for a, size in zip(sorted(axes), param.shape):
        shape[a] = size
    return s.reshape(param, shape)


def _normalize(x, mean, variance, beta, gamma, epsilon):
    """(x - mean) * gamma / sqrt(variance + epsilon) + beta; beta/gamma may be None."""
    inv = m.rsqrt(m.add(variance, epsilon))
    if gamma is not None:
        inv = m.mul(inv, gamma)
    y = m.mul(m.sub(x, mean), inv)
    return m.add(y, beta) if beta is not None else y


def _affine_options(layer, owner: str) -> None:
    """The options batch and layer normalization share: axis, epsilon, and the learned
    offset (beta, with `center`) and scale (gamma, with `scale`)."""
    a = layer.args
    layer.axis = a["axis"]
    layer._axes = _axes_option(layer.axis, owner)
    layer.epsilon = float(a["epsilon"])
    if layer.epsilon < 0:
        raise ValueError(f"{owner}: epsilon must be non-negative, got {a['epsilon']}")
    layer.center = bool(a["center"])
    layer.scale = bool(a["scale"])
    for weight in ("beta", "gamma"):
        setattr(layer, f"{weight}Initializer", get_initializer(a[f"{weight}Initializer"], owner))
        setattr(layer, f"{weight}Regularizer", get_regularizer(a[f"{weight}Regularizer"], owner))
        setattr(layer, f"{weight}Constraint", get_constraint(a[f"{weight}Constraint"], owner))
    layer.supportsMasking = True


@registerClass
class BatchNormalization(Layer):
    """Normalizes each feature (along `axis`) with the moving mean and variance at inference,
    or with the batch statistics when called with `training: True` (then the moving averages
    move toward the batch statistics: moving <- moving - (moving - batch) * (1 - momentum),
    with the population variance of the batch, as TF.js's `moments` computes it).

    As in TF.js, `training` alone selects the mode (Keras 3 also freezes the statistics of a
    layer whose `trainable` is false; TF.js does not)."""

    className = "BatchNormalization"
    ARGS = {"axis": -1, "momentum": 0.99, "epsilon": 1e-3, "center": True, "scale": True,
            "betaInitializer": "zeros", "gammaInitializer": "ones",
            "movingMeanInitializer": "zeros", "movingVarianceInitializer": "ones",
            "betaConstraint": None, "gammaConstraint": None, "betaRegularizer": None,
            "gammaRegularizer": None,
            # written by Keras 3, ignored by TF.js:
            "synchronized": False, "renorm": False, "renormClipping": None,
            "renormMomentum": 0.99}

    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        a = self.args
        owner = f"BatchNormalization layer {self.name!r}"
        if a["renorm"] or a["renormClipping"] is not None:
            raise ValueError(f"{owner}: batch renormalization (renorm) is not supported")
        _affine_options(self, owner)
        self.momentum = float(a["momentum"])
        self.movingMeanInitializer = get_initializer(a["movingMeanInitializer"], owner)
        self.movingVarianceInitializer = get_initializer(a["movingVarianceInitializer"], owner)
        self.gamma = self.beta = self.movingMean = self.movingVariance = None

    def _owner(self):
        return f"BatchNormalization layer {self.name!r}"

    def build(self, inputShape):
        rank = len(inputShape)
        axes = _resolve_axes(self._axes, rank, self._owner())
        for a in axes:
            if inputShape[a] is None:
                raise ValueError(f"{self._owner()}: axis {a} of the input should have a defined "
                                 f"dimension, but the layer received an input with shape "
                                 f"{list(inputShape)}")
        shape = [inputShape[a] for a in axes]
        self.inputSpec = [InputSpec(ndim=rank, axes={a: inputShape[a] for a in axes})]
        if self.scale:
            self.gamma = self.addWeight("gamma", shape, None, self.gammaInitializer,
                                        self.gammaRegularizer, True, self.gammaConstraint)
        if self.center:
            self.beta = self.addWeight("beta", shape, None, self.betaInitializer,
                                       self.betaRegularizer, True, self.betaConstraint)
        self.movingMean = self.addWeight("moving_mean", shape, None, self.movingMeanInitializer,
                                         None, False)
        self.movingVariance = self.addWeight("moving_variance", shape, None,
                                             self.movingVarianceInitializer, None, False)
        self.built = True

    def call(self, inputs, kwargs):
        x = m.cast(inputs, "float32") if inputs.dtype != "float32" else inputs
        rank = x.rank
        axes = _resolve_axes(self._axes, rank, self._owner())

        def param(weight):
            return None if weight is None else _broadcast_param(weight.read(), axes, rank)

        beta, gamma = param(self.beta), param(self.gamma)
        if not kwargs.get("training"):
            return _normalize(x, param(self.movingMean), param(self.movingVariance), beta,
                              gamma, self.epsilon)
        reduce_axes = [i for i in range(rank) if i not in axes]
        stats = reduction.moments(x, reduce_axes, True)
        mean, variance = stats["mean"], stats["variance"]
        decay = 1.0 - self.momentum
        for weight, batch_value in ((self.movingMean, mean), (self.movingVariance, variance)):
            value = s.reshape(batch_value, [x.shape[a] for a in sorted(axes)])
            if sorted(axes) != axes:       # back to the weight's axis order
                value = linalg.transpose(value, [sorted(axes).index(a) for a in axes])
            old = weight.read()
            self.addUpdate(weight, m.sub(old, m.mul(m.sub(old, value), decay)))
        return _normalize(x, mean, variance, beta, gamma, self.epsilon)

    def computeOutputShape(self, inputShape):
        return inputShape

    def getConfig(self):
        return {"axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale,
                "betaInitializer": serialize(self.betaInitializer),
                "gammaInitializer": serialize(self.gammaInitializer),
                "movingMeanInitializer": serialize(self.movingMeanInitializer),
                "movingVarianceInitializer": serialize(self.movingVarianceInitializer),
                "betaRegularizer": serialize(self.betaRegularizer),
                "gammaRegularizer": serialize(self.gammaRegularizer),
                "betaConstraint": serialize(self.betaConstraint),
                "gammaConstraint": serialize(self.gammaConstraint),
                **super().getConfig()}


@registerClass
class LayerNormalization(Layer):
    """Normalizes each sample over `axis` (an int or a list; default the last axis) with its
    own mean and variance, then scales by gamma and shifts by beta (shaped like those axes).
    After build, `axis` is stored as the list of non-negative axes, as TF.js does."""

    className = "LayerNormalization"
    ARGS = {"axis": -1, "epsilon": 1e-3, "center": True, "scale": True,
            "betaInitializer": "zeros", "gammaInitializer": "ones", "betaRegularizer": None,
            "gammaRegularizer": None,
            # written by Keras, ignored by TF.js:
            "betaConstraint": None, "gammaConstraint": None, "rmsScaling": False}

    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        a = self.args
        owner = f"LayerNormalization layer {self.name!r}"
        if a["rmsScaling"]:
            raise ValueError(f"{owner}: rmsScaling is not supported")
        _affine_options(self, owner)
        self.gamma = self.beta = None

    def build(self, inputShape):
        owner = f"LayerNormalization layer {self.name!r}"
        rank = len(inputShape)
        self._axes = _resolve_axes(self._axes, rank, owner)
        self.axis = list(self._axes)
        shape = [inputShape[a] for a in self._axes]
        if any(d is None for d in shape):
            raise ValueError(f"{owner}: the normalized axes {self.axis} of the input shape "
                             f"{list(inputShape)} must be known")
        if self.scale:
            self.gamma = self.addWeight("gamma", shape, "float32", self.gammaInitializer,
                                        self.gammaRegularizer, True, self.gammaConstraint)
        if self.center:
            self.beta = self.addWeight("beta", shape, "float32", self.betaInitializer,
                                       self.betaRegularizer, True, self.betaConstraint)
        self.inputSpec = [InputSpec(ndim=rank)]
        self.built = True

    def call(self, inputs, kwargs):
        x = m.cast(inputs, "float32") if inputs.dtype != "float32" else inputs
        rank = x.rank
        axes = self._axes
        stats = reduction.moments(x, axes, True)

        def param(weight):
            return None if weight is None else _broadcast_param(weight.read(), axes, rank)
        return _normalize(x, stats["mean"], stats["variance"], param(self.beta),
                          param(self.gamma), self.epsilon)

    def computeOutputShape(self, inputShape):
        return inputShape

    def getConfig(self):
        constraints = {key: serialize(value) for key, value in
                       (("betaConstraint", self.betaConstraint),
                        ("gammaConstraint", self.gammaConstraint)) if value is not None}
        return {"axis": self.axis, "epsilon": self.epsilon, "center": self.center,
                "scale": self.scale, "betaInitializer": serialize(self.betaInitializer),
                "gammaInitializer": serialize(self.gammaInitializer),
                "betaRegularizer": serialize(self.betaRegularizer),
                "gammaRegularizer": serialize(self.gammaRegularizer),
                **constraints, **super().getConfig()}
