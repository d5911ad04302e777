"""Op definitions; importing this package registers every op."""
from kiln.ir.ops import elementwise, linalg, movement, reduce, scan, sources  # noqa: F401
