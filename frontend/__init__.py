"""kiln.frontend: the TensorFlow.js API — tensor ops and the Layers API. It builds IR and
never computes numbers itself."""
from kiln.frontend.api import NAMESPACE

__all__ = ["NAMESPACE"]
