"""kiln.ir: the graph IR — dtypes, types, the op registry, graphs, builder, verifier, printer."""
from kiln.ir import ops  # noqa: F401  (registers every op)
from kiln.ir import gradients  # noqa: F401,E402  (attaches the gradient rules)
from kiln.ir import nn_gradients  # noqa: F401,E402  (and those of conv, pool, resize)
from kiln.ir import loop_grad  # noqa: F401,E402  (and the loop's)
from kiln.ir.autodiff import gradients as grad_graph
from kiln.ir.builder import Builder, rebuild
from kiln.ir.dtypes import DType, as_dtype, bool_, float32, int32
from kiln.ir.errors import ShapeError, VerifyError
from kiln.ir.graph import Attrs, Const, Graph, Node, Value
from kiln.ir.printer import format_graph
from kiln.ir.registry import Kind, OpDef, all_ops, get_op, ops_of_kind, register
from kiln.ir.types import TensorType
from kiln.ir.verify import verify

__all__ = [
    "Attrs", "Builder", "grad_graph", "Const", "DType", "Graph", "Kind", "Node", "OpDef", "ShapeError",
    "TensorType", "Value", "VerifyError", "all_ops", "as_dtype", "bool_", "float32",
    "format_graph", "get_op", "int32", "ops_of_kind", "rebuild", "register", "verify",
]
