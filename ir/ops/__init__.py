"""Op definitions; importing this package registers every op."""
from kiln.ir.ops import elementwise, linalg, movement, nn, reduce, scan, sources  # noqa: F401
