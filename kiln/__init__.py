"""kiln: the TensorFlow.js Layers API in Python, compiled to native code.

    import kiln as tf
    tf.tensor([[1, 2], [3, 4]]).matMul(tf.ones([2, 2])).print()
"""
from kiln.frontend import OPS as _OPS
from kiln.runtime import DisposedError, Tensor, Variable, dispose, keep, memory, tidy

globals().update(_OPS)

__version__ = "0.1.0"
__all__ = sorted(list(_OPS) + ["Tensor", "Variable", "DisposedError", "dispose", "keep",
                               "memory", "tidy"])
