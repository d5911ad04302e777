"""A planned graph: the contract between the passes (which make it) and codegen (which lowers it).

The fusion pass partitions a graph's nodes into Kernels. Each kernel writes one materialized
value (its `root`); every other node it covers is evaluated inline, element by element, at the
index where the kernel needs it. A kernel has at most one `anchor`: the node that gives the
kernel its loop structure (a reduction, a matMul, a cumsum, a concat); all other covered nodes
are elementwise or movement ops inlined as the anchor's prologue (its operand expressions) or
epilogue (the expression from the anchor's result to the root).

A loop kernel (kind 'loop') writes every result of its loop node (`root` and `extra_roots`)
and runs `subplan`, the planned body, once per step.

The memory planner then gives every materialized value a Location: a caller buffer (graph
input, output or param) or an offset into the one arena that holds every intermediate.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from kiln.ir.graph import Graph, Node, Value


@dataclass
class Kernel:
    name: str
    kind: str                  # 'pointwise' | 'reduce' | 'matmul' | 'scan' | 'concat' | 'row' | 'loop'
    root: Value                # the materialized value this kernel writes
    anchor: Node | None        # the node that shapes the loop nest (None for pointwise)
    nodes: list[Node]          # every node evaluated inside, in topological order
    reads: list[Value]         # materialized values read
    scratch_bytes: int = 0     # temporary memory the kernel needs while it runs
    collapsed: bool = False    # pointwise only: dims merged where all operands agree
    phases: list["Kernel"] = field(default_factory=list)   # 'row': its reductions, in order
    extra_roots: list[Value] = field(default_factory=list)  # more values written (loop results,
                                                            # merged pointwise siblings)
    subplan: "Plan | None" = None  # loop only: the planned body
    row_tasks: int = 1             # loop only: tasks, each running the loop on its rows
    row_invariants: frozenset = frozenset()   # loop only: invariants split by rows too

    @property
    def writes(self) -> list[Value]:
        """Every value this kernel writes: root first."""
        return [self.root] + self.extra_roots


@dataclass(frozen=True)
class Location:
    kind: str          # 'input' | 'output' | 'param' | 'arena'
    index: int = 0     # position among inputs / outputs / params
    offset: int = 0    # byte offset into the arena


@dataclass
class Plan:
    graph: Graph
    kernels: list[Kernel]
    locations: dict[Value, Location] = field(default_factory=dict)
    scratch: dict[str, int] = field(default_factory=dict)   # kernel name -> arena offset
    arena_bytes: int = 0
    lower_bound_bytes: int = 0
    no_reuse_bytes: int = 0
    intervals: dict[Value, tuple[int, int]] = field(default_factory=dict)  # value -> (first, last) kernel
    aliases: dict[Value, Value] = field(default_factory=dict)  # view value -> viewed value
    dynamic: bool = False      # pointwise dims are run-time arguments (eager kernels)

    def kernel_of(self, value: Value) -> Kernel | None:
        for k in self.kernels:
            if any(v is value for v in k.writes):
                return k
        return None
