"""The layer catalog: `tf.layers.<factory>(config)` for every layer class.

FACTORIES maps TF.js's factory names (lowerCamelCase) to layer classes; each factory takes
the config dict (or keyword arguments) and returns a new layer.
"""
from __future__ import annotations

from kiln.frontend.engine.input_layer import InputLayer, input
from kiln.frontend.engine.layer import Layer
from kiln.frontend.layers import advanced_activations as adv
from kiln.frontend.layers import core, embeddings
from kiln.frontend.layers import attention, merge, noise, normalization, preprocessing
from kiln.frontend.layers import recurrent, rnn_cells, wrappers

CLASSES = {
    "inputLayer": InputLayer,
    "dense": core.Dense,
    "activation": core.Activation,
    "dropout": core.Dropout,
    "spatialDropout1d": core.SpatialDropout1D,
    "flatten": core.Flatten,
    "reshape": core.Reshape,
    "permute": core.Permute,
    "repeatVector": core.RepeatVector,
    "masking": core.Masking,
    "embedding": embeddings.Embedding,
    "reLU": adv.ReLU,
    "leakyReLU": adv.LeakyReLU,
    "prelu": adv.PReLU,
    "elu": adv.ELU,
    "thresholdedReLU": adv.ThresholdedReLU,
    "softmax": adv.Softmax,
    # normalization, merge, noise, preprocessing, attention
    "batchNormalization": normalization.BatchNormalization,
    "layerNormalization": normalization.LayerNormalization,
    "add": merge.Add,
    "average": merge.Average,
    "concatenate": merge.Concatenate,
    "dot": merge.Dot,
    "maximum": merge.Maximum,
    "minimum": merge.Minimum,
    "multiply": merge.Multiply,
    "gaussianNoise": noise.GaussianNoise,
    "gaussianDropout": noise.GaussianDropout,
    "alphaDropout": noise.AlphaDropout,
    "rescaling": preprocessing.Rescaling,
    "centerCrop": preprocessing.CenterCrop,
    "categoryEncoding": preprocessing.CategoryEncoding,
    "multiHeadAttention": attention.MultiHeadAttention,
    # recurrent
    "rnn": recurrent.RNN,
    "simpleRNN": recurrent.SimpleRNN,
    "gru": recurrent.GRU,
    "lstm": recurrent.LSTM,
    "simpleRNNCell": rnn_cells.SimpleRNNCell,
    "gruCell": rnn_cells.GRUCell,
    "lstmCell": rnn_cells.LSTMCell,
    "stackedRNNCells": rnn_cells.StackedRNNCells,
    "bidirectional": wrappers.Bidirectional,
    "timeDistributed": wrappers.TimeDistributed,
}

ALIASES: dict[str, str] = {}


def _factory(name, cls):
    def make(config=None, **kwargs):
        if isinstance(config, (list, tuple)) and getattr(cls, "FACTORY_APPLIES_TO_INPUTS", False):
            return cls(**kwargs).apply(list(config))     # tf.layers.add([a, b]), as TF.js
        return cls(config, **kwargs)
    make.__name__ = name
    make.__doc__ = f"tf.layers.{name}(config): a new {cls.className} layer."
    return make


def factories() -> dict:
    result = {name: _factory(name, cls) for name, cls in CLASSES.items()}
    for alias, target in ALIASES.items():
        result[alias] = result[target]
    result["input"] = input
    result["Layer"] = Layer
    return result
