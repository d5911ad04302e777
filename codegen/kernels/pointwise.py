"""Pointwise kernels: one loop nest over the root's shape, the covered nodes inlined; a
merged kernel stores several values of that shape in the same loop.

When every covered node is elementwise, adjacent dimensions that every operand treats alike
(all broadcast or all present) are merged first, so `x + bias` over [N, H, W, C] becomes a
two-level loop with a contiguous, vectorizable inner loop.
"""
from __future__ import annotations

import math

from kiln.codegen.expr import Index
from kiln.codegen.irutil import counted_loop, loop_nest
from kiln.ir.registry import Kind


def collapse_broadcast(out_shape, operand_shapes):
    """Merge adjacent output dims on which every operand is uniformly broadcast or not.

    Returns (collapsed output shape, collapsed operand shapes); each operand's collapsed shape
    has the collapsed rank, with 1 where it is broadcast.
    """
    rank = len(out_shape)
    aligned = [(1,) * (rank - len(s)) + tuple(s) for s in operand_shapes]
    keep = [k for k in range(rank) if out_shape[k] != 1]
    groups: list[list[int]] = []
    for k in keep:
        pattern = tuple(a[k] == 1 for a in aligned)
        if groups and tuple(a[groups[-1][-1]] == 1 for a in aligned) == pattern:
            groups[-1].append(k)
        else:
            groups.append([k])
    new_out = tuple(math.prod(out_shape[k] for k in g) for g in groups)
    new_shapes = [tuple(1 if a[g[0]] == 1 else math.prod(a[k] for k in g) for g in groups)
                  for a in aligned]
    return new_out, new_shapes


def can_collapse(kernel) -> bool:
    return all(n.opdef.kind is Kind.ELEMENTWISE or n.op == "constant" and n.outputs[0].type.size == 1
               for n in kernel.nodes)


PARALLEL_MIN_ELEMENTS = 1 << 20


def parallel_split(kernel, target):
    """Split the outermost axis of large kernels (the collapsed axis when dims merge)."""
    shape = kernel.root.shape
    if kernel.root.type.size < PARALLEL_MIN_ELEMENTS:
        return None
    if can_collapse(kernel):
        values = [kernel.root] + list(kernel.reads) + [v for n in kernel.nodes for v in n.outputs]
        shape, _ = collapse_broadcast(shape, [v.shape for v in values])
    if not shape or shape[0] < 2:
        return None
    return shape[0], 1


def emit(ctx, kernel, body, out_ptr, scratch):
    root = kernel.root
    shape = body.shape_of(root)
    b = body.b
    if body.split is None or not shape:
        with loop_nest(b, shape) as multi:
            _store_results(body, kernel, out_ptr, Index(b, shape, multi=multi))
        return
    begin, end = body.split
    with counted_loop(b, end, start=begin, name="p0") as first:
        with loop_nest(b, shape[1:]) as rest:
            _store_results(body, kernel, out_ptr, Index(b, shape, multi=[first] + rest))


def _store_results(body, kernel, out_ptr, index):
    """Store every value the kernel writes at `index`. A merged kernel (see passes.fusion)
    computes its values in dependency order; later ones reuse the earlier ones' registers
    (they read them only at this same index)."""
    root = kernel.root
    if not kernel.extra_roots:
        body.store(out_ptr, root.dtype, index.linear, body.value(root, index))
        return
    position = {id(n): i for i, n in enumerate(kernel.nodes)}
    for v in sorted(kernel.writes, key=lambda v: position[id(v.node)]):
        value = body.compute(v, index)
        pointer = out_ptr if v is root else body.buffers[v]
        body.store(pointer, v.dtype, index.linear, value)
        body.overrides[v] = lambda _index, value=value: value
    for v in kernel.extra_roots:
        del body.overrides[v]
