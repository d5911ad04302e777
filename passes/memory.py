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
    # Updates are written into their param's buffer by the kernel that computes them when that
    # kernel is the last reader of the param (checked by the codegen's copy fallback).

    producer = {v: step for step, k in enumerate(plan.kernels) for v in k.writes}
    last_use: dict = {}
    for step, k in enumerate(plan.kernels):
        for v in k.reads:
            base = plan.aliases.get(v, v)
            last_use[base] = max(last_use.get(base, -1), step)
    for p, v in graph.updates:
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
