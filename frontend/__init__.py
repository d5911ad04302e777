"""kiln.frontend: the TensorFlow.js API — tensor ops, and (built on them) the Layers API."""
from kiln.frontend.ops import PUBLIC as OPS

__all__ = ["OPS"]
