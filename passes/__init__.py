"""kiln.passes: Graph -> Graph transforms and the fusion and memory-planning analyses."""
from kiln.passes.fusion import fuse
from kiln.passes.memory import plan_memory
from kiln.passes.pipeline import GRAPH_STAGES, compile_plan, optimize_graph, plan_bodies, stages

__all__ = ["GRAPH_STAGES", "compile_plan", "fuse", "optimize_graph", "plan_bodies", "plan_memory",
           "stages"]
