"""Metrics: the names compile() accepts and tf.metrics.*. Each maps (yTrue, yPred) to one value
per sample (the batch mean is what training logs), as TF.js's do.

compile() accepts 'accuracy'/'acc' and 'crossentropy'/'ce' (chosen by the output's shape and
the loss, logged under the name given) and the keys of TF.js's metricsMap. kiln also accepts
the metrics TF.js exports but rejects as strings (recall, r2Score, top-k accuracies).
"""
from __future__ import annotations

from kiln.frontend.engine.config import suggestion
from kiln.frontend.ops import math as m, reduction as r, shape as s
from kiln.frontend.training import losses as L


def binaryAccuracy(yTrue, yPred, threshold=0.5):
    predicted = m.cast(m.greater(yPred, threshold), "float32")
    return r.mean(m.cast(m.equal(m.cast(yTrue, "float32"), predicted), "float32"), -1)


def categoricalAccuracy(yTrue, yPred):
    return m.cast(m.equal(r.argMax(yTrue, -1), r.argMax(yPred, -1)), "float32")


def sparseCategoricalAccuracy(yTrue, yPred):
    truth = m.cast(m.floor(s.reshape(m.cast(yTrue, "float32"), yPred.shape[:-1])), "int32")
    return m.cast(m.equal(truth, r.argMax(yPred, -1)), "float32")


def _true_class_rank(truth_index, yPred):
    """How many classes score strictly higher than the true class."""
    from kiln.frontend.ops.creation import oneHot
    classes = yPred.shape[-1]
    onehot = oneHot(s.reshape(truth_index, [-1]), classes, 1, 0, "float32")
    onehot = s.reshape(onehot, yPred.shape)
    true_score = r.sum(m.mul(onehot, yPred), -1, True)
    return r.sum(m.cast(m.greater(yPred, true_score), "float32"), -1)


def topKCategoricalAccuracy(yTrue, yPred, k=5):
    """1 when the true class is among the k highest scores (TF.js: not implemented)."""
    rank = _true_class_rank(r.argMax(yTrue, -1), yPred)
    return m.cast(m.less(rank, float(k)), "float32")


def sparseTopKCategoricalAccuracy(yTrue, yPred, k=5):
    truth = m.cast(m.floor(s.reshape(m.cast(yTrue, "float32"), yPred.shape[:-1])), "int32")
    return m.cast(m.less(_true_class_rank(truth, yPred), float(k)), "float32")


def _count(cond):
    return r.sum(m.cast(cond, "float32"))


def precision(yTrue, yPred):
    """tp / (tp + fp) over the batch, with predictions compared to 1 exactly (as TF.js)."""
    tp = _count(m.logicalAnd(m.equal(yTrue, 1.0), m.equal(yPred, 1.0)))
    fp = _count(m.logicalAnd(m.equal(yTrue, 0.0), m.equal(yPred, 1.0)))
    total = m.add(tp, fp)
    return m.where(m.greater(total, 0.0), m.div(tp, m.where(m.greater(total, 0.0), total, 1.0)), 0.0)


def recall(yTrue, yPred):
    tp = _count(m.logicalAnd(m.equal(yTrue, 1.0), m.equal(yPred, 1.0)))
    fn = _count(m.logicalAnd(m.equal(yTrue, 1.0), m.equal(yPred, 0.0)))
    total = m.add(tp, fn)
    return m.where(m.greater(total, 0.0), m.div(tp, m.where(m.greater(total, 0.0), total, 1.0)), 0.0)


def r2Score(yTrue, yPred):
    ss_res = r.sum(m.square(m.sub(yTrue, yPred)))
    ss_tot = r.sum(m.square(m.sub(yTrue, r.mean(yTrue))))
    return m.sub(1.0, m.div(ss_res, ss_tot))


binaryCrossentropy = L.binaryCrossentropy
categoricalCrossentropy = L.categoricalCrossentropy
sparseCategoricalCrossentropy = L.sparseCategoricalCrossentropy
cosineProximity = L.cosineProximity
meanAbsoluteError = L.meanAbsoluteError
meanAbsolutePercentageError = L.meanAbsolutePercentageError
meanSquaredError = L.meanSquaredError

METRICS_MAP = {
    "binaryAccuracy": binaryAccuracy, "categoricalAccuracy": categoricalAccuracy,
    "precision": precision, "categoricalCrossentropy": categoricalCrossentropy,
    "sparseCategoricalCrossentropy": sparseCategoricalCrossentropy, "mse": meanSquaredError,
    "MSE": meanSquaredError, "mae": meanAbsoluteError, "MAE": meanAbsoluteError,
    "mape": meanAbsolutePercentageError, "MAPE": meanAbsolutePercentageError,
    "cosine": cosineProximity,
}
# Names TF.js rejects as strings; kiln accepts them (the functions exist in tf.metrics).
EXTRA = {"recall": recall, "r2Score": r2Score, "topKCategoricalAccuracy": topKCategoricalAccuracy,
         "sparseTopKCategoricalAccuracy": sparseTopKCategoricalAccuracy,
         "sparseCategoricalAccuracy": sparseCategoricalAccuracy,
         "binaryCrossentropy": binaryCrossentropy}

TF_METRICS = {
    "binaryAccuracy": binaryAccuracy, "binaryCrossentropy": binaryCrossentropy,
    "sparseCategoricalAccuracy": sparseCategoricalAccuracy,
    "categoricalAccuracy": categoricalAccuracy, "categoricalCrossentropy": categoricalCrossentropy,
    "precision": precision, "recall": recall, "cosineProximity": cosineProximity,
    "meanAbsoluteError": meanAbsoluteError, "meanAbsolutePercentageError": meanAbsolutePercentageError,
    "MAPE": meanAbsolutePercentageError, "mape": meanAbsolutePercentageError,
    "meanSquaredError": meanSquaredError, "MSE": meanSquaredError, "mse": meanSquaredError,
    "r2Score": r2Score, "topKCategoricalAccuracy": topKCategoricalAccuracy,
    "sparseTopKCategoricalAccuracy": sparseTopKCategoricalAccuracy,
}


def resolve_metric(identifier, loss_fn, output_shape):
    """(log name, function) for one compile() metric of one output."""
    if callable(identifier):
        for table in (METRICS_MAP, L.LOSSES, EXTRA):
            for name, fn in table.items():
                if fn is identifier:
                    return name, fn
        return getattr(identifier, "__name__", "metric"), identifier
    if identifier in ("accuracy", "acc", "crossentropy", "ce"):
        accuracy = identifier in ("accuracy", "acc")
        binary = output_shape[-1] == 1 or loss_fn is L.binaryCrossentropy
        if binary:
            fn = binaryAccuracy if accuracy else L.binaryCrossentropy
        elif loss_fn is L.sparseCategoricalCrossentropy:
            fn = sparseCategoricalAccuracy if accuracy else L.sparseCategoricalCrossentropy
        else:
            fn = categoricalAccuracy if accuracy else L.categoricalCrossentropy
        return ("acc" if accuracy else "ce"), fn
    if isinstance(identifier, str):
        fn = METRICS_MAP.get(identifier) or EXTRA.get(identifier)
        if fn is None:
            valid = sorted(set(METRICS_MAP) | set(EXTRA) | {"accuracy", "acc", "crossentropy", "ce"})
            raise ValueError(f"Unknown metric {identifier!r}{suggestion(identifier, valid)} "
                             f"(valid metrics: {', '.join(valid)})")
        return identifier, fn
    raise TypeError(f"compile: a metric must be a name or a function, got {identifier!r}")
