"""Op definitions; importing this package registers every op."""
from kiln.ir.ops import control, elementwise, linalg, movement, reduce, scan, sources  # noqa: F401
