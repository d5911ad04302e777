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
from kiln.passes.fusion import fuse
from kiln.passes.loops import merge_loops, unroll_loops
from kiln.passes.memory import plan_memory

GRAPH_STAGES: list[tuple[str, Callable[[Graph], Graph]]] = [
    ("merge_loops", merge_loops),
    ("unroll_loops", unroll_loops),
]


def optimize_graph(graph: Graph, check: bool = False) -> Graph:
    for _, stage in GRAPH_STAGES:
        graph = stage(graph)
        if check:
            verify(graph)
    return graph


def compile_plan(graph: Graph, scratch_bytes: Callable = lambda kernel: 0,
                 optimize: bool = True, check: bool = False) -> Plan:
    if check:
        verify(graph)
    if optimize:
        graph = optimize_graph(graph, check)
    plan = fuse(graph, enabled=optimize)
    for kernel in plan.kernels:
        if kernel.kind == "loop":
            # the body goes through the same pipeline; its arena becomes the loop's scratch
            body = kernel.anchor.attrs["body"].graph
            kernel.subplan = compile_plan(body, scratch_bytes, optimize, check)
    return plan_memory(plan, scratch_bytes)
