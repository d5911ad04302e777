"""kiln.runtime: tensors, memory accounting, compiled executables, caches, eager dispatch."""
from kiln.runtime.executable import Executable, compile_graph
from kiln.runtime.memory import dispose, keep, memory, tidy
from kiln.runtime.tensor import DisposedError, Tensor, Variable

__all__ = ["DisposedError", "Executable", "Tensor", "Variable", "compile_graph", "dispose",
           "keep", "memory", "tidy"]
