"""The pass pipeline: named stages from a frontend graph to a memory-planned Plan.

    plan = compile_plan(graph, scratch_bytes=...)     # every stage, in order
    stages(graph)                                     # the graph after each graph stage

Graph stages are pure functions Graph -> Graph; `fuse` turns the final graph into a Plan and
`memory` assigns its buffers; a loop kernel's body is planned the same way, recursively (its
plan is the kernel's `subplan`). With `optimize=False` the graph stages are skipped and every
node becomes its own kernel (the baseline the benchmarks compare against).
"""
from __future__ import annotations

from typing import Callable

from kiln.ir.graph import Graph
from kiln.ir.plan import Plan
from kiln.ir.verify import verify
from kiln.passes.cleanup import cse, dce
from kiln.passes.fold import fold
from kiln.passes.fold_scales import fold_scales
from kiln.passes.fusion import fuse
from kiln.passes.loop_rows import row_split, sink_projections
from kiln.passes.loops import merge_loops, unroll_loops
from kiln.passes.memory import plan_memory
from kiln.passes.simplify import simplify

# (name, stage(graph, evaluate) -> graph), in order. `evaluate` runs a small graph through the
# compiler (constant folding needs values); it may be None, and then folding is skipped.
GRAPH_STAGES: list[tuple[str, Callable]] = [
    ("simplify", lambda graph, evaluate: simplify(graph)),
    ("fold_scales", lambda graph, evaluate: fold_scales(graph)),
    ("fold", lambda graph, evaluate: fold(graph, evaluate) if evaluate else graph),
    ("cse", lambda graph, evaluate: cse(graph)),
    ("merge_loops", lambda graph, evaluate: merge_loops(graph)),
    ("unroll_loops", lambda graph, evaluate: unroll_loops(graph)),
    ("dce", lambda graph, evaluate: dce(graph)),
]


def optimize_graph(graph: Graph, check: bool = False, evaluate=None, until: str | None = None):
    """Run the graph stages in order (stopping after `until`), verifying between stages when
    `check` is set."""
    for name, stage in GRAPH_STAGES:
        graph = stage(graph, evaluate)
        if check:
            verify(graph)
        if name == until:
            break
    return graph


def stages(graph: Graph, evaluate=None) -> list[tuple[str, Graph]]:
    """The graph after each named stage, starting with the input ('frontend')."""
    result = [("frontend", graph)]
    for name, stage in GRAPH_STAGES:
        graph = stage(graph, evaluate)
        result.append((name, graph))
    return result


def compile_plan(graph: Graph, scratch_bytes: Callable = lambda kernel: 0,
                 optimize: bool = True, check: bool = False, evaluate=None,
                 threads: int = 1) -> Plan:
    if check:
        verify(graph)
    if optimize:
        graph = optimize_graph(graph, check, evaluate)
        graph = sink_projections(graph, threads)    # only for loops that will run as tasks
    plan = fuse(graph, enabled=optimize)
    plan_bodies(plan, scratch_bytes, optimize, check, evaluate, threads)
    return plan_memory(plan, scratch_bytes)


def plan_bodies(plan: Plan, scratch_bytes: Callable = lambda kernel: 0, optimize: bool = True,
                check: bool = False, evaluate=None, threads: int = 1) -> Plan:
    """Plan the body of every loop kernel with the same pipeline (its `subplan`); the body's
    arena becomes part of the loop kernel's scratch, so do this before plan_memory. With
    several threads, a loop whose rows are independent (passes.loop_rows) runs as one task
    per thread over its share of the rows: its subplan is then the body for that share."""
    for kernel in plan.kernels:
        if kernel.kind != "loop":
            continue
        node = kernel.anchor
        body = node.attrs["body"].graph
        kernel.row_tasks, kernel.row_invariants = 1, frozenset()
        split = row_split(node, body, threads) if optimize else None
        if split is not None:
            body, kernel.row_invariants = split
            kernel.row_tasks = threads
        kernel.subplan = compile_plan(body, scratch_bytes, optimize, check, evaluate)
    return plan

