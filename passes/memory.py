"""Memory planning: give every intermediate buffer an offset in one arena.

Liveness is measured in kernel steps: a value is live from the kernel that writes it to the
last kernel that reads it (a view extends its base's life). Each kernel's scratch memory is
live only during that kernel. Buffers are placed largest first at the lowest 64-byte aligned
offset that does not overlap any placed buffer whose lifetime intersects (greedy by size).

The plan records the arena size, the no-reuse total (every buffer its own memory) and the
lower bound (the largest total of simultaneously live bytes at any step).
"""
from __future__ import annotations

from typing import Callable

from kiln.ir.plan import Location, Plan

ALIGN = 64


def _aligned(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def plan_memory(plan: Plan, scratch_bytes: Callable = lambda kernel: 0) -> Plan:
    """Fill plan.locations, plan.scratch and the size statistics; returns the same plan."""
    graph = plan.graph
    locations: dict = {}
    for i, v in enumerate(graph.inputs):
        locations[v] = Location("input", i)
    for i, v in enumerate(graph.params):
        locations[v] = Location("param", i)
    outputs_taken = set()
    for i, v in enumerate(graph.outputs):
        if v not in locations and v not in outputs_taken:
            locations[v] = Location("output", i)
            outputs_taken.add(v)
    for p, v in _in_place_updates(plan):
        locations[v] = locations[p]     # the kernel writes the new value over the old one

    producer = {v: step for step, k in enumerate(plan.kernels) for v in k.writes}
    last_use: dict = {}
    for step, k in enumerate(plan.kernels):
        for v in k.reads:
            base = plan.aliases.get(v, v)
            last_use[base] = max(last_use.get(base, -1), step)
    for p, v in graph.updates:
        if v not in locations:
            last_use[v] = len(plan.kernels)    # read by the final update copy

    # (name, size, first, last) for every arena item
    items = []
    for k in plan.kernels:
        for v in k.writes:
            if v in locations:
                continue
            first = producer[v]
            last = max(last_use.get(v, first), first)
            items.append((v, _aligned(v.type.nbytes), first, last))
    for step, k in enumerate(plan.kernels):
        k.scratch_bytes = scratch_bytes(k)
        if k.scratch_bytes:
            items.append((k.name, _aligned(k.scratch_bytes), step, step))

    placed = []   # (offset, size, first, last)
    offsets = {}
    for key, size, first, last in sorted(items, key=lambda t: (-t[1], t[2])):
        offset = 0
        for o, s, f, l in sorted(placed):
            if f <= last and first <= l and offset < o + s and o < offset + size:
                offset = _aligned(o + s)
        # the sorted sweep may step over a later conflict: retry until stable
        while any(f <= last and first <= l and offset < o + s and o < offset + size
                  for o, s, f, l in placed):
            offset = _aligned(max(o + s for o, s, f, l in placed
                                  if f <= last and first <= l and offset < o + s
                                  and o < offset + size))
        placed.append((offset, size, first, last))
        offsets[key] = offset

    for key, size, first, last in items:
        if isinstance(key, str):
            plan.scratch[key] = offsets[key]
        else:
            locations[key] = Location("arena", offset=offsets[key])
            plan.intervals[key] = (first, last)
    for view, base in plan.aliases.items():
        if base in locations:
            locations[view] = locations[base]
    plan.locations = locations
    plan.arena_bytes = max((o + s for o, s, f, l in placed), default=0)
    plan.no_reuse_bytes = sum(size for _, size, _, _ in items)
    steps = len(plan.kernels)
    plan.lower_bound_bytes = max(
        (sum(size for _, size, f, l in items if f <= step <= l) for step in range(steps)),
        default=0)
    return plan


def _in_place_updates(plan: Plan):
    """Updates (param, value) whose kernel can write straight into the param's buffer: the
    kernel is elementwise over the param's shape (so it reads each old element exactly where
    it writes the new one) and no later kernel reads the param's old value. A merged kernel
    stores its values one after another at each index, so a value it stores before it reads
    the param for another value cannot take the param's place."""
    from kiln.ir.registry import Kind

    step_of = {v: i for i, k in enumerate(plan.kernels) for v in k.writes}
    result = []
    for p, v in plan.graph.updates:
        step = step_of.get(v)
        if step is None or v in plan.graph.outputs:
            continue
        kernel = plan.kernels[step]
        if kernel.kind != "pointwise" or v.shape != p.shape or not all(
                n.opdef.kind is Kind.ELEMENTWISE or n.op == "constant" for n in kernel.nodes):
            continue
        readers = [i for i, k in enumerate(plan.kernels)
                   if p in k.reads or any(plan.aliases.get(r) is p for r in k.reads)]
        if any(i > step for i in readers) or _loads_after_storing(kernel, v, p):
            continue
        if any(q is p for q, _ in result):
            continue
        result.append((p, v))
    return result


def _loads_after_storing(kernel, v, p) -> bool:
    """Whether `kernel` loads p (at some index) for a value it stores after v there."""
    if not kernel.extra_roots:
        return False
    position = {id(n): i for i, n in enumerate(kernel.nodes)}
    order = sorted(kernel.writes, key=lambda w: position[id(w.node)])
    inline = {id(n) for n in kernel.nodes}
    for k, w in enumerate(order):
        if k <= order.index(v):
            continue
        stored_before = set(order[:k])       # evaluated from registers, not reloaded
        stack, seen = [w.node], set()
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            for x in node.inputs:
                if x is p:
                    return True
                if x not in stored_before and id(x.node) in inline:
                    stack.append(x.node)
    return False
