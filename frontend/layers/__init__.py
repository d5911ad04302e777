"""The layer catalog: `tf.layers.<factory>(config)` for every layer class.

FACTORIES maps TF.js's factory names (lowerCamelCase) to layer classes; each factory takes
the config dict (or keyword arguments) and returns a new layer.
"""
from __future__ import annotations

from kiln.frontend.engine.input_layer import InputLayer, input
from kiln.frontend.engine.layer import Layer
from kiln.frontend.layers import advanced_activations as adv
from kiln.frontend.layers import convolutional as conv
from kiln.frontend.layers import convolutional_depthwise as depthwise
from kiln.frontend.layers import core, embeddings, image_resizing, pooling, reshaping
from kiln.frontend.layers import attention, merge, noise, normalization, preprocessing
from kiln.frontend.layers import conv_recurrent, recurrent, rnn_cells, wrappers

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
    "conv1d": conv.Conv1D,
    "conv2d": conv.Conv2D,
    "conv3d": conv.Conv3D,
    "conv2dTranspose": conv.Conv2DTranspose,
    "conv3dTranspose": conv.Conv3DTranspose,
    "separableConv2d": conv.SeparableConv2D,
    "depthwiseConv2d": depthwise.DepthwiseConv2D,
    "cropping2D": reshaping.Cropping2D,
    "upSampling2d": reshaping.UpSampling2D,
    "zeroPadding2d": reshaping.ZeroPadding2D,
    "maxPooling1d": pooling.MaxPooling1D,
    "maxPooling2d": pooling.MaxPooling2D,
    "maxPooling3d": pooling.MaxPooling3D,
    "averagePooling1d": pooling.AveragePooling1D,
    "averagePooling2d": pooling.AveragePooling2D,
    "averagePooling3d": pooling.AveragePooling3D,
    "globalMaxPooling1d": pooling.GlobalMaxPooling1D,
    "globalMaxPooling2d": pooling.GlobalMaxPooling2D,
    "globalAveragePooling1d": pooling.GlobalAveragePooling1D,
    "globalAveragePooling2d": pooling.GlobalAveragePooling2D,
    "resizing": image_resizing.Resizing,
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
    "convLstm2d": conv_recurrent.ConvLSTM2D,
    "convLstm2dCell": conv_recurrent.ConvLSTM2DCell,
}

ALIASES: dict[str, str] = {
    "avgPool1d": "averagePooling1d",
    "avgPooling1d": "averagePooling1d",
    "avgPool2d": "averagePooling2d",
    "avgPooling2d": "averagePooling2d",
    "avgPool3d": "averagePooling3d",
    "avgPooling3d": "averagePooling3d",
    "maxPool1d": "maxPooling1d",
    "maxPool2d": "maxPooling2d",
    "globalMaxPool1d": "globalMaxPooling1d",
    "globalMaxPool2d": "globalMaxPooling2d",
}


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
