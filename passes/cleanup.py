"""Common-subexpression and dead-code elimination.

Both fall out of rebuilding the graph through a fresh Builder: interning makes equal nodes
(same op, operands, attributes) one node, and `finish` keeps only what the outputs and updates
need. They are separate stages so each can be inspected and counted.
"""
from __future__ import annotations

from kiln.ir.builder import rebuild
from kiln.ir.graph import Graph


def cse(graph: Graph) -> Graph:
    """Merge structurally equal nodes."""
    return rebuild(graph)[0]


def dce(graph: Graph) -> Graph:
    """Drop nodes no output or update depends on."""
    return rebuild(graph)[0]
