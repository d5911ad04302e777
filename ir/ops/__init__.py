"""Op definitions; importing this package registers every op."""
from kiln.ir.ops import (control, elementwise, linalg, movement, nn, reduce, scan,  # noqa: F401
                         sources)
