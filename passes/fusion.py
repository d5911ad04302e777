"""Fusion: partition a graph into kernels.

Which values get their own buffer is decided by data, not special cases:

  INLINE_KINDS      op kinds evaluated element by element inside their consumer's kernel;
  ANCHORS           op kinds (or ops) that give a kernel its loop nest, with the kernel kind;
  EPILOGUE_ANCHORS  anchors whose result may flow, unmaterialized, into elementwise consumers
                    of the same shape (bias + activation after matMul, scaling after a sum);
  BUFFER_OPERANDS   anchors whose operands must be materialized buffers.

A value is materialized when it is a graph boundary (input, param, output, update), when it
is an anchor's result not absorbed by an epilogue, when more than one node reads it (to avoid
recomputation), or when its reader needs a buffer. Source ops without operands that are cheap
to recompute (constants, iota, counter-based random numbers) are always inlined.

Finally, a pointwise kernel whose results only a later pointwise kernel of the same shape reads,
element by element at that kernel's own index, is merged into it: one loop writes both values
(an LSTM step's new cell state and its new output are one kernel).
"""
from __future__ import annotations

from kiln.ir.graph import Graph, Node, Value
from kiln.ir.plan import Kernel, Plan
from kiln.ir.registry import Kind

INLINE_KINDS = {Kind.ELEMENTWISE, Kind.MOVEMENT, Kind.SOURCE}
BOUNDARY_OPS = {"input", "param"}
ANCHORS = {Kind.REDUCE: "reduce", Kind.CONTRACTION: "matmul", Kind.SCAN: "scan",
           Kind.SCATTER: "scatter", "concat": "concat", "conv": "conv",
           "convBackpropInput": "convInput", "convBackpropFilter": "convFilter", "pool": "pool",
           "maxPoolGrad": "poolGrad", "avgPoolGrad": "poolGrad", "resize": "resize",
           "resizeGrad": "resizeGrad", Kind.CONTROL: "loop"}
# Scatter kernels (convFilter, poolGrad, resizeGrad) finish no element before the end: no epilogue.
EPILOGUE_ANCHORS = {"reduce", "matmul", "conv", "convInput", "pool", "resize"}
# Anchors whose float32 results are kept in the root's buffer while the epilogue runs.
FLOAT_ROOT_ANCHORS = {"matmul", "conv", "convInput", "pool", "resize"}
BUFFER_OPERANDS = {"matmul", "conv", "convInput", "convFilter", "pool", "poolGrad", "resize",
                   "resizeGrad", "loop"}
MULTI_RESULT = {"loop"}     # one kernel writes every result of the anchor


def anchor_kind(node: Node) -> str | None:
    if node.op in ANCHORS:
        return ANCHORS[node.op]
    return ANCHORS.get(node.opdef.kind)


def inlinable(node: Node) -> bool:
    return anchor_kind(node) is None and node.opdef.kind in INLINE_KINDS \
        and node.op not in BOUNDARY_OPS


def fuse(graph: Graph, enabled: bool = True) -> Plan:
    """Partition `graph` into kernels. With enabled=False every node is its own kernel."""
    users = graph.users()
    boundary = set(graph.outputs) | {v for pair in graph.updates for v in pair}
    materialized = _choose_materialized(graph, users, boundary, enabled)
    while True:
        kernels, aliases, conflict = _form_kernels(graph, materialized, boundary)
        if conflict is None:
            break
        materialized.add(conflict)   # a second anchor in one kernel: give it its own buffer
    if enabled:
        kernels = merge_rows(kernels, users, boundary)
        kernels = _merge_siblings(kernels)
    return Plan(graph=graph, kernels=kernels, aliases=aliases)


def _merge_siblings(kernels: list[Kernel]) -> list[Kernel]:
    kernels = list(kernels)
    i = 0
    while i < len(kernels):
        later = kernels[i]
        for j in range(i - 1, -1, -1):
            if _mergeable(kernels[j], later, kernels[j + 1:i]):
                kernels[i] = _merged(kernels[j], later)
                del kernels[j]
                i -= 1
                break
        else:
            i += 1
    return kernels


def _mergeable(first: Kernel, later: Kernel, between: list[Kernel]) -> bool:
    """`later` can compute `first`'s values itself: both pointwise over one shape, `later`
    reads them only through elementwise nodes of that shape (so at the index it is writing),
    and no kernel in between reads them."""
    if first.kind != "pointwise" or later.kind != "pointwise":
        return False
    shape = later.root.shape
    written = set(first.writes)
    if any(v.shape != shape for v in first.writes + later.writes):
        return False
    if not written & set(later.reads):
        return False
    if any(v in written for k in between for v in k.reads):
        return False
    downstream = set(written)
    for node in later.nodes:
        if any(v in downstream for v in node.inputs):
            if node.opdef.kind is not Kind.ELEMENTWISE or node.outputs[0].shape != shape:
                return False
            downstream.update(node.outputs)
    return True


def _merged(first: Kernel, later: Kernel) -> Kernel:
    written = set(first.writes)
    nodes = list(dict.fromkeys(first.nodes + later.nodes))
    reads = [v for v in dict.fromkeys(first.reads + later.reads) if v not in written]
    return Kernel(name=later.name, kind="pointwise", root=later.root, anchor=None, nodes=nodes,
                  reads=reads, extra_roots=first.writes + later.extra_roots)


def _choose_materialized(graph, users, boundary, enabled) -> set[Value]:
    chosen: set[Value] = set(boundary)
    for node in graph.nodes:
        if node.op in BOUNDARY_OPS:
            chosen.update(node.outputs)
            continue
        for v in node.outputs:
            readers = users.get(v, [])
            kind = anchor_kind(node)
            if any(anchor_kind(r) in BUFFER_OPERANDS for r in readers):
                chosen.add(v)
                continue
            if not enabled:
                if node.opdef.kind is not Kind.SOURCE or node.op == "constant" and v.type.size > 1:
                    chosen.add(v)
                continue
            if kind is not None:
                absorbed = (kind in EPILOGUE_ANCHORS and len(readers) == 1
                            and readers[0].opdef.kind is Kind.ELEMENTWISE
                            and readers[0].outputs[0].shape == v.shape)
                if not absorbed:
                    chosen.add(v)
            elif node.opdef.kind is Kind.SOURCE:
                continue
            elif len(readers) > 1 or len(set(readers)) != len(readers):
                chosen.add(v)
    return chosen


def _form_kernels(graph, materialized, boundary):
    kernels: list[Kernel] = []
    aliases: dict[Value, Value] = {}
    for node in graph.nodes:
        if node.op in BOUNDARY_OPS:
            continue
        if anchor_kind(node) in MULTI_RESULT:
            kernels.append(Kernel(name=f"k{len(kernels)}", kind=anchor_kind(node),
                                  root=node.outputs[0], anchor=node, nodes=[node],
                                  reads=list(dict.fromkeys(node.inputs)),
                                  extra_roots=list(node.outputs[1:])))
            continue
        for root in node.outputs:
            if root not in materialized:
                continue
            if node.op == "reshape" and node.inputs[0] in materialized and root not in boundary:
                aliases[root] = aliases.get(node.inputs[0], node.inputs[0])
                continue
            covered, reads = _collect(root, materialized)
            anchors = [n for n in covered if anchor_kind(n) is not None]
            if len(anchors) > 1:
                return None, None, anchors[0].outputs[0]
            anchor = anchors[0] if anchors else None
            if anchor is not None:
                broken = _epilogue_violation(anchor, covered)
                if broken is not None:
                    return None, None, broken
            kind = anchor_kind(anchor) if anchor else "pointwise"
            kernels.append(Kernel(name=f"k{len(kernels)}", kind=kind, root=root, anchor=anchor,
                                  nodes=covered, reads=reads))
    return kernels, aliases, None


def _epilogue_violation(anchor: Node, covered: list[Node]) -> Value | None:
    """An epilogue is evaluated on the anchor's index space: every node fed (transitively) by
    the anchor must be elementwise with the anchor's shape (and float32 after an anchor that
    keeps its results in the root's buffer).
    Returns the value to materialize where that first fails, or None."""
    result = anchor.outputs[0]
    downstream = {result}
    for node in covered[covered.index(anchor) + 1:]:
        fed = [v for v in node.inputs if v in downstream]
        if not fed:
            continue
        out = node.outputs[0]
        ok = (node.opdef.kind is Kind.ELEMENTWISE and out.shape == result.shape and
              (anchor_kind(anchor) not in FLOAT_ROOT_ANCHORS or out.dtype == result.dtype))
        if not ok:
            return fed[0]
        downstream.add(out)
    return None


def _collect(root: Value, materialized: set[Value]):
    """Nodes evaluated inside root's kernel (topological order) and the buffers it reads."""
    order: list[Node] = []
    reads: list[Value] = []
    seen: set[int] = set()

    def visit(node: Node):
        if id(node) in seen:
            return
        seen.add(id(node))
        for v in node.inputs:
            if v in materialized:
                if v not in reads:
                    reads.append(v)
            else:
                visit(v.node)
        order.append(node)

    visit(root.node)
    return order, reads


# ---- row kernels -----------------------------------------------------------------------
ROW_REDUCTIONS = {"sum", "max", "min", "prod"}


def _row_axes(kernel: Kernel):
    """(shape, first reduced axis) if kernel reduces the trailing axes of its operand."""
    if kernel.kind != "reduce" or kernel.anchor.op not in ROW_REDUCTIONS:
        return None
    shape = kernel.anchor.inputs[0].shape
    axes = sorted(kernel.anchor.attrs["axes"])
    if not axes or axes != list(range(axes[0], len(shape))):
        return None
    return shape, axes[0]


def merge_rows(kernels: list[Kernel], users, boundary) -> list[Kernel]:
    """Fuse normalizations into one kernel per row: a run of adjacent kernels made of
    reductions over the same trailing axes of one shape S (each with its prologue and
    epilogue) and elementwise kernels of shape S, ending at an elementwise kernel of shape S.
    softmax (max, exp-sum, divide), logSoftmax and layer normalization (mean, variance,
    normalize) each become one kernel that reads its input row a few times and writes once.
    Values computed inside the group are recomputed per phase instead of stored."""
    result: list[Kernel] = []
    i = 0
    while i < len(kernels):
        start = _row_axes(kernels[i])
        if start is None:
            result.append(kernels[i])
            i += 1
            continue
        shape, first = start
        run = [kernels[i]]       # the maximal run of kernels that could share the row loop
        inside = {kernels[i].root}
        for k in kernels[i + 1:]:
            qualifies = _row_axes(k) == (shape, first) or (
                k.kind == "pointwise" and k.root.shape == shape)
            if not qualifies or not any(v in inside for v in k.reads):
                break
            run.append(k)
            inside.add(k.root)
        group = _longest_closed_prefix(run, users, boundary, shape)
        if group is None:
            result.append(kernels[i])
            i += 1
            continue
        final = group[-1]
        internal = {k.root for k in group}
        nodes, seen = [], set()
        for k in group:
            for n in k.nodes:
                if id(n) not in seen:
                    seen.add(id(n))
                    nodes.append(n)
        reads = []
        for k in group:
            for v in k.reads:
                if v not in internal and v not in reads:
                    reads.append(v)
        phases = [k for k in group if k.kind == "reduce"]
        result.append(Kernel(name=group[0].name, kind="row", root=final.root, anchor=None,
                             nodes=nodes, reads=reads, phases=phases))
        i += len(group)
    for n, k in enumerate(result):
        k.name = f"k{n}"
    return result


def _longest_closed_prefix(run, users, boundary, shape):
    """The longest prefix of `run` (at least two kernels) ending in an elementwise kernel of
    the row shape, whose other members' results are read only inside the prefix."""
    for end in range(len(run), 1, -1):
        group = run[:end]
        last = group[-1]
        if last.kind != "pointwise" or last.root.shape != shape:
            continue
        if all(k.root not in boundary and all(_inside_group(r, group) for r in users.get(k.root, []))
               for k in group[:-1]):
            return group
    return None


def _inside_group(node: Node, group: list[Kernel]) -> bool:
    return any(node in k.nodes for k in group)
