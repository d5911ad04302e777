"""kiln: the TensorFlow.js Layers API in Python, compiled to native code.

    import kiln as tf
    model = tf.sequential()
    model.add(tf.layers.dense({'units': 1, 'inputShape': [1]}))
"""
from kiln.frontend import NAMESPACE as _NAMESPACE
from kiln.runtime import DisposedError, Tensor, Variable, dispose, keep, memory, tidy

globals().update(_NAMESPACE)

__version__ = "0.1.0"
__all__ = sorted(list(_NAMESPACE) + ["Tensor", "Variable", "DisposedError", "dispose", "keep",
                                     "memory", "tidy"])
