"""Loss functions: the names compile() accepts (TF.js's lossesMap) and tf.losses.*.

Every compile() loss maps (yTrue, yPred) to one value per sample, reducing the last axis, as
TF.js's do; training then takes the (weighted) mean over the batch. Numerics follow TF.js:
epsilon 1e-7, probabilities clipped to [eps, 1 - eps], categoricalCrossentropy renormalizes.
"""
from __future__ import annotations

import math

from kiln.frontend.engine.config import suggestion
from kiln.frontend.ops import math as m, nn, reduction as r, shape as s
from kiln.frontend.ops.convert import convert

EPSILON = 1e-7


def _clip(x, lo=EPSILON, hi=None):
    return m.clipByValue(x, lo, hi if hi is not None else float("inf"))


def meanSquaredError(yTrue, yPred):
    return r.mean(m.square(m.sub(yPred, yTrue)), -1)


def meanAbsoluteError(yTrue, yPred):
    return r.mean(m.abs(m.sub(yPred, yTrue)), -1)


def meanAbsolutePercentageError(yTrue, yPred):
    diff = m.sub(yTrue, yPred)
    return m.mul(r.mean(m.abs(m.div(diff, _clip(m.abs(yTrue)))), -1), 100.0)


def meanSquaredLogarithmicError(yTrue, yPred):
    first = m.log1p(_clip(yPred))
    second = m.log1p(_clip(yTrue))
    return r.mean(m.square(m.sub(first, second)), -1)


def squaredHinge(yTrue, yPred):
    return r.mean(m.square(m.relu(m.sub(1.0, m.mul(yTrue, yPred)))), -1)


def hinge(yTrue, yPred):
    return r.mean(m.relu(m.sub(1.0, m.mul(yTrue, yPred))), -1)


def categoricalHinge(yTrue, yPred):
    pos = r.sum(m.mul(yTrue, yPred), -1)
    neg = r.max(m.mul(m.sub(1.0, yTrue), yPred), -1)
    return m.maximum(0.0, m.add(m.sub(neg, pos), 1.0))


def logcosh(yTrue, yPred):
    diff = m.sub(yPred, yTrue)
    return r.mean(m.sub(m.add(diff, m.softplus(m.mul(diff, -2.0))), math.log(2.0)), -1)


def categoricalCrossentropy(yTrue, yPred, fromLogits=False):
    if fromLogits:
        yPred = nn.softmax(yPred)
    else:
        yPred = m.div(yPred, r.sum(yPred, -1, True))
    yPred = _clip(yPred, EPSILON, 1 - EPSILON)
    return m.neg(r.sum(m.mul(m.cast(yTrue, "float32"), m.log(yPred)), -1))


def sparseCategoricalCrossentropy(yTrue, yPred, fromLogits=False):
    classes = yPred.shape[-1]
    indices = m.cast(m.floor(s.reshape(m.cast(yTrue, "float32"), [-1])), "int32")
    from kiln.frontend.ops.creation import oneHot
    onehot = s.reshape(oneHot(indices, classes, 1, 0, "float32"), yPred.shape)
    return categoricalCrossentropy(onehot, yPred, fromLogits)


def sigmoid_cross_entropy_with_logits(labels, logits):
    """relu(x) - x*z + log(1 + exp(-|x|)), stable for any logits."""
    return m.add(m.sub(m.relu(logits), m.mul(logits, labels)), m.log1p(m.exp(m.neg(m.abs(logits)))))


def binaryCrossentropy(yTrue, yPred):
    p = _clip(yPred, EPSILON, 1 - EPSILON)
    logits = m.log(m.div(p, m.sub(1.0, p)))
    return r.mean(sigmoid_cross_entropy_with_logits(m.cast(yTrue, "float32"), logits), -1)


def kullbackLeiblerDivergence(yTrue, yPred):
    t = _clip(yTrue, EPSILON, 1.0)
    p = _clip(yPred, EPSILON, 1.0)
    return r.sum(m.mul(yTrue, m.log(m.div(t, p))), -1)


def poisson(yTrue, yPred):
    return r.mean(m.sub(yPred, m.mul(yTrue, m.log(m.add(yPred, EPSILON)))), -1)


def l2_normalize(x, axis=-1):
    norm = m.sqrt(m.maximum(r.sum(m.square(x), axis, True), EPSILON))
    return m.div(x, norm)


def cosineProximity(yTrue, yPred):
    return m.neg(r.sum(m.mul(l2_normalize(yTrue), l2_normalize(yPred)), -1))


LOSSES = {
    "meanSquaredError": meanSquaredError,
    "meanAbsoluteError": meanAbsoluteError,
    "meanAbsolutePercentageError": meanAbsolutePercentageError,
    "meanSquaredLogarithmicError": meanSquaredLogarithmicError,
    "squaredHinge": squaredHinge,
    "hinge": hinge,
    "categoricalHinge": categoricalHinge,
    "logcosh": logcosh,
    "categoricalCrossentropy": categoricalCrossentropy,
    "sparseCategoricalCrossentropy": sparseCategoricalCrossentropy,
    "binaryCrossentropy": binaryCrossentropy,
    "kullbackLeiblerDivergence": kullbackLeiblerDivergence,
    "poisson": poisson,
    "cosineProximity": cosineProximity,
}
# Spellings TF.js exports as functions but rejects as loss names; the error names the accepted one.
_SHORT = {"mse": "meanSquaredError", "MSE": "meanSquaredError", "mae": "meanAbsoluteError",
          "MAE": "meanAbsoluteError", "mape": "meanAbsolutePercentageError",
          "MAPE": "meanAbsolutePercentageError", "msle": "meanSquaredLogarithmicError",
          "MSLE": "meanSquaredLogarithmicError", "kld": "kullbackLeiblerDivergence",
          "KLD": "kullbackLeiblerDivergence", "cosine": "cosineProximity"}


def get_loss(identifier):
    """A loss function from a name in TF.js's lossesMap, or a callable."""
    if callable(identifier):
        return identifier
    if not isinstance(identifier, str):
        raise TypeError(f"compile: loss must be a name or a function, got {identifier!r}")
    fn = LOSSES.get(identifier)
    if fn is not None:
        return fn
    hint = ""
    if identifier in _SHORT:
        hint = f"; TF.js accepts the spelling {_SHORT[identifier]!r}"
    elif "softmaxcrossentropy" in identifier.lower():
        hint = "; use 'categoricalCrossentropy' for a softmax cross-entropy loss"
    else:
        hint = suggestion(identifier, LOSSES)
    raise ValueError(f"Unknown loss {identifier!r}{hint} (valid losses: "
                     f"{', '.join(LOSSES)})")


def loss_name(fn) -> str:
    for name, f in LOSSES.items():
        if f is fn:
            return name
    return getattr(fn, "__name__", "loss")


# ---- tf.losses: reduction-aware losses from tfjs-core ------------------------------------
class Reduction:
    NONE = 0
    MEAN = 1
    SUM = 2
    SUM_BY_NONZERO_WEIGHTS = 3


def computeWeightedLoss(losses, weights=None, reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    losses = convert(losses, "losses", "computeWeightedLoss")
    weighted = losses if weights is None else m.mul(losses, convert(weights, "weights",
                                                                     "computeWeightedLoss"))
    if reduction == Reduction.NONE:
        return weighted
    if reduction == Reduction.SUM:
        return r.sum(weighted)
    if reduction == Reduction.MEAN:
        if weights is None:
            return r.mean(weighted)
        weights = convert(weights, "weights", "computeWeightedLoss")
        factor = losses.size / weights.size
        result = m.div(r.sum(weighted), r.sum(weights))
        return m.div(result, factor) if factor > 1 else result
    if reduction == Reduction.SUM_BY_NONZERO_WEIGHTS:
        if weights is None:
            return m.div(r.sum(weighted), float(losses.size))
        broadcast = m.mul(convert(weights, "weights", "computeWeightedLoss"),
                          s.broadcastTo(1.0, losses.shape) if losses.rank else 1.0)
        nonzero = r.sum(m.cast(m.notEqual(broadcast, 0.0), "float32"))
        return m.div(r.sum(weighted), nonzero)
    raise ValueError(f"computeWeightedLoss: unknown reduction {reduction!r}")


def _pair(labels, predictions, op):
    labels = m.cast(convert(labels, "labels", op), "float32")
    predictions = convert(predictions, "predictions", op)
    if labels.shape != predictions.shape:
        raise ValueError(f"{op}: labels shape {labels.shape} and predictions shape "
                         f"{predictions.shape} must match")
    return labels, predictions


def absoluteDifference(labels, predictions, weights=None,
                       reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    labels, predictions = _pair(labels, predictions, "absoluteDifference")
    return computeWeightedLoss(m.abs(m.sub(labels, predictions)), weights, reduction)


def meanSquaredErrorLoss(labels, predictions, weights=None,
                         reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    labels, predictions = _pair(labels, predictions, "meanSquaredError")
    return computeWeightedLoss(m.squaredDifference(labels, predictions), weights, reduction)


def cosineDistance(labels, predictions, axis, weights=None,
                   reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    labels, predictions = _pair(labels, predictions, "cosineDistance")
    losses = m.sub(1.0, r.sum(m.mul(labels, predictions), axis, True))
    return computeWeightedLoss(losses, weights, reduction)


def hingeLoss(labels, predictions, weights=None, reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    labels, predictions = _pair(labels, predictions, "hingeLoss")
    signed = m.sub(m.mul(labels, 2.0), 1.0)
    return computeWeightedLoss(m.relu(m.sub(1.0, m.mul(signed, predictions))), weights, reduction)


def huberLoss(labels, predictions, weights=None, delta=1.0,
              reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    labels, predictions = _pair(labels, predictions, "huberLoss")
    error = m.abs(m.sub(predictions, labels))
    quadratic = m.minimum(error, delta)
    linear = m.sub(error, quadratic)
    losses = m.add(m.mul(m.square(quadratic), 0.5), m.mul(linear, delta))
    return computeWeightedLoss(losses, weights, reduction)


def logLoss(labels, predictions, weights=None, epsilon=EPSILON,
            reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    labels, predictions = _pair(labels, predictions, "logLoss")
    first = m.mul(m.neg(labels), m.log(m.add(predictions, epsilon)))
    second = m.mul(m.sub(1.0, labels), m.log(m.add(m.sub(1.0, predictions), epsilon)))
    return computeWeightedLoss(m.sub(first, second), weights, reduction)


def sigmoidCrossEntropy(multiClassLabels, logits, weights=None, labelSmoothing=0,
                        reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    labels, logits = _pair(multiClassLabels, logits, "sigmoidCrossEntropy")
    if labelSmoothing > 0:
        labels = m.add(m.mul(labels, 1 - labelSmoothing), 0.5 * labelSmoothing)
    return computeWeightedLoss(sigmoid_cross_entropy_with_logits(labels, logits), weights,
                               reduction)


def softmaxCrossEntropy(onehotLabels, logits, weights=None, labelSmoothing=0,
                        reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    labels, logits = _pair(onehotLabels, logits, "softmaxCrossEntropy")
    if labelSmoothing > 0:
        classes = labels.shape[-1]
        labels = m.add(m.mul(labels, 1 - labelSmoothing), labelSmoothing / classes)
    losses = m.neg(r.sum(m.mul(labels, nn.logSoftmax(logits, -1)), -1))
    return computeWeightedLoss(losses, weights, reduction)


TF_LOSSES = {
    "computeWeightedLoss": computeWeightedLoss, "absoluteDifference": absoluteDifference,
    "meanSquaredError": meanSquaredErrorLoss, "cosineDistance": cosineDistance,
    "hingeLoss": hingeLoss, "huberLoss": huberLoss, "logLoss": logLoss,
    "sigmoidCrossEntropy": sigmoidCrossEntropy, "softmaxCrossEntropy": softmaxCrossEntropy,
    "Reduction": Reduction,
}
