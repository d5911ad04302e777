"""tf.inspect: every stage of the compiler for a model, as text, JSON or Graphviz.

    print(tf.inspect(model, stage="fusion"))           # kernels and the nodes they fuse
    plan = tf.inspect(model, format="json")            # {'kernels': [...], 'memory': {...}}
    tf.inspect(model, stage="asm", kernel="k0")        # assembly of one kernel

Stages, in pipeline order: 'frontend' (the traced graph), the graph passes ('simplify',
'fold', 'cse', 'dce'), 'fusion' (kernels), 'memory' (the arena plan), 'llvm' (LLVM IR as
generated), 'llvm-opt' (after LLVM's optimizer), 'asm' (machine code). The model is traced
for inference at `batch` samples, or its training step with train=True (needs compile()).
"""
from __future__ import annotations

import json
import re
from functools import partial

import numpy as np

import kiln.codegen as codegen
from kiln.frontend.engine.compiled import trace

from kiln.ir.printer import format_node, value_names
from kiln.passes import GRAPH_STAGES, compile_plan, stages
from kiln.runtime.executable import default_threads, evaluate_constants

GRAPH_STAGE_NAMES = ["frontend"] + [name for name, _ in GRAPH_STAGES]
STAGES = GRAPH_STAGE_NAMES + ["fusion", "memory", "llvm", "llvm-opt", "asm"]
FORMATS = ("text", "json", "dot")


def model_graph(model, batch: int = 1, train: bool = False):
    """The IR graph of a model's inference pass (or compiled training step)."""
    specs = [([batch if d is None else d for d in x.shape], x.dtype) for x in model.inputs]
    if not train:
        return trace(lambda xs: model.run_graph(xs, model.outputs, {"training": False}), specs,
                     name=model.name).graph
    from kiln.frontend.training import trainer
    compiled = trainer._require_compiled(model, "inspect (train=True)")
    out_specs = [([batch if d is None else d for d in o.shape], "float32") for o in model.outputs]
    weight_specs = [([batch], "float32") for _ in model.outputs]
    fn = partial(trainer._train_step, model, compiled)
    step = fn(specs + out_specs + weight_specs, len(specs), len(out_specs))
    return step.graph


def _plan(graph, target, threads):
    """The plan compile_graph makes (the same pipeline, the same thread count)."""
    scratch = partial(codegen.scratch_bytes, target=target, threads=threads)
    return compile_plan(graph, scratch, evaluate=evaluate_constants, threads=threads)


def kernels_json(plan) -> list[dict]:
    names = value_names(plan.graph)
    result = []
    for k in plan.kernels:
        layers = []
        for n in k.nodes:
            tag = plan.graph.provenance.get(n)
            if tag and tag not in layers:
                layers.append(tag)
        entry = {"name": k.name, "kind": k.kind, "root": names[k.root],
                 "type": str(k.root.type), "nodes": [format_node(n, names) for n in k.nodes],
                 "ops": [n.op for n in k.nodes], "layers": layers,
                 "reads": [names[v] for v in k.reads]}
        if k.subplan is not None:
            entry["body"] = kernels_json(k.subplan)     # a loop's kernels, run once per step
        result.append(entry)
    return result


def memory_json(plan) -> dict:
    names = value_names(plan.graph)
    buffers = []
    for v, loc in plan.locations.items():
        if loc.kind != "arena" or v in plan.aliases:
            continue
        first, last = plan.intervals.get(v, (None, None))
        buffers.append({"value": names.get(v, "?"), "offset": loc.offset, "size": v.type.nbytes,
                        "first": first, "last": last})
    for kernel_name, offset in plan.scratch.items():
        step = next(i for i, k in enumerate(plan.kernels) if k.name == kernel_name)
        size = plan.kernels[step].scratch_bytes
        buffers.append({"value": f"scratch:{kernel_name}", "offset": offset, "size": size,
                        "first": step, "last": step})
    buffers.sort(key=lambda b: (b["first"] if b["first"] is not None else -1, b["offset"]))
    return {"arena_bytes": plan.arena_bytes, "lower_bound_bytes": plan.lower_bound_bytes,
            "no_reuse_bytes": plan.no_reuse_bytes, "buffers": buffers}


def _fusion_text(plan) -> str:
    lines = _kernel_lines(kernels_json(plan), "")
    lines.append(f"{len(plan.kernels)} kernels")
    return "\n".join(lines)


def _kernel_lines(kernels, indent) -> list[str]:
    lines = []
    for k in kernels:
        layers = f"  layers: {', '.join(k['layers'])}" if k["layers"] else ""
        lines.append(f"{indent}{k['name']} {k['kind']} -> {k['root']} : {k['type']}{layers}")
        lines += [f"{indent}    {n}" for n in k["nodes"]]
        if "body" in k:
            lines.append(f"{indent}    body, per step:")
            lines += _kernel_lines(k["body"], indent + "        ")
    return lines


def _memory_text(plan) -> str:
    m = memory_json(plan)
    lines = [f"arena {m['arena_bytes']} bytes; lower bound {m['lower_bound_bytes']}; "
             f"without reuse {m['no_reuse_bytes']}",
             f"{'buffer':>16} {'offset':>10} {'size':>10} {'first':>6} {'last':>6}"]
    for b in m["buffers"]:
        lines.append(f"{b['value']:>16} {b['offset']:>10} {b['size']:>10} {b['first']:>6} "
                     f"{b['last']:>6}")
    return "\n".join(lines)


def _dot(graph, plan=None) -> str:
    names = value_names(graph)
    node_ids = {n: f"n{i}" for i, n in enumerate(graph.nodes)}
    lines = ["digraph kiln {", "  node [shape=box, fontname=monospace];"]
    clustered = set()
    for k in (plan.kernels if plan else []):
        lines.append(f'  subgraph cluster_{k.name} {{ label="{k.name} ({k.kind})";')
        for n in k.nodes:
            if n in node_ids:
                lines.append(f"    {node_ids[n]};")
                clustered.add(n)
        lines.append("  }")
    for n in graph.nodes:
        label = f"{', '.join(names[v] for v in n.outputs)} = {n.op}\\n" + \
                ", ".join(str(v.type) for v in n.outputs)
        lines.append(f'  {node_ids[n]} [label="{label}"];')
    for n in graph.nodes:
        for v in n.inputs:
            if v.node in node_ids:
                lines.append(f"  {node_ids[v.node]} -> {node_ids[n]};")
    lines.append("}")
    return "\n".join(lines)


def _kernel_ir(text: str, kernel: str | None) -> str:
    """One function's definition from a module's IR text (all of it without `kernel`)."""
    if kernel is None:
        return text
    pattern = re.compile(rf"^define [^@]*@\"?{re.escape(kernel)}\"?\(.*?^}}", re.S | re.M)
    match = pattern.search(text)
    if match is None:
        raise ValueError(f"inspect: no kernel named {kernel!r} in the module")
    return match.group(0)


def _kernel_asm(asm: str, kernel: str | None) -> str:
    if kernel is None:
        return asm
    lines = asm.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(f"{kernel}:")), None)
    if start is None:
        raise ValueError(f"inspect: no kernel named {kernel!r} in the assembly")
    end = next((i for i in range(start + 1, len(lines))
                if lines[i].startswith(".Lfunc_end") or lines[i].startswith("\t.size")), len(lines))
    return "\n".join(lines[start:end])


def inspect(model, stage: str | None = None, format: str = "text", batch: int = 1,
            train: bool = False, kernel: str | None = None):
    """A stage of the compilation of `model` (see the module docstring). Without a stage,
    format='json' gives {'kernels', 'memory'} for the whole plan; text gives the fusion view."""
    if stage is not None and stage not in STAGES:
        from kiln.frontend.engine.config import suggestion
        raise ValueError(f"inspect: unknown stage {stage!r}{suggestion(stage, STAGES)} "
                         f"(stages: {', '.join(STAGES)})")
    if format not in FORMATS:
        raise ValueError(f"inspect: unknown format {format!r} (formats: {', '.join(FORMATS)})")
    if batch < 1:
        raise ValueError(f"inspect: batch must be positive, got {batch}")
    target, threads = codegen.host_target(), default_threads()
    graph = model_graph(model, batch, train)
    if stage in GRAPH_STAGE_NAMES:
        chosen = dict(stages(graph, evaluate_constants))[stage]
        if format == "json":
            names = value_names(chosen)
            return {"stage": stage, "nodes": [format_node(n, names) for n in chosen.nodes]}
        return _dot(chosen) if format == "dot" else str(chosen)
    plan = _plan(graph, target, threads)
    if stage is None:
        if format == "json":
            return {"kernels": kernels_json(plan), "memory": memory_json(plan)}
        return _dot(plan.graph, plan) if format == "dot" else _fusion_text(plan)
    if stage == "fusion":
        if format == "json":
            return {"kernels": kernels_json(plan)}
        return _dot(plan.graph, plan) if format == "dot" else _fusion_text(plan)
    if stage == "memory":
        return memory_json(plan) if format == "json" else _memory_text(plan)
    module_text = str(codegen.lower(plan, target, threads))
    if stage == "llvm":
        text = _kernel_ir(module_text, kernel)
    elif stage == "llvm-opt":
        text = _kernel_ir(str(codegen.optimized_module(module_text, target)), kernel)
    else:
        text = _kernel_asm(codegen.assembly(module_text, target), kernel)
    return {"stage": stage, "text": text} if format == "json" else text


def to_json(value) -> str:
    return json.dumps(value, indent=2, default=lambda o: o.item() if isinstance(o, np.generic) else str(o))

