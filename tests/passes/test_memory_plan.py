"""Memory plans: no two buffers live at the same kernel step overlap in the arena, and the
arena stays within 5% of the lower bound (the most bytes simultaneously live)."""
import numpy as np
from functools import partial
from hypothesis import given, settings

import kiln as tf
from kiln import codegen
from kiln.frontend.inspect import model_graph
from kiln.passes import compile_plan
from tests.passes.random_graphs import random_graphs


def check_plan(plan):
    items = []
    for v, loc in plan.locations.items():
        if loc.kind == "arena" and v not in plan.aliases:
            first, last = plan.intervals[v]
            items.append((loc.offset, v.type.nbytes, first, last, str(v)))
    for name, offset in plan.scratch.items():
        step = next(i for i, k in enumerate(plan.kernels) if k.name == name)
        items.append((offset, plan.kernels[step].scratch_bytes, step, step, name))
    for i, (o1, s1, f1, l1, n1) in enumerate(items):
        assert o1 % 64 == 0 and o1 + s1 <= plan.arena_bytes
        for o2, s2, f2, l2, n2 in items[i + 1:]:
            if f1 <= l2 and f2 <= l1 and s1 and s2:
                assert o1 + s1 <= o2 or o2 + s2 <= o1, f"{n1} and {n2} overlap while both live"
    assert plan.arena_bytes <= 1.05 * plan.lower_bound_bytes + 64
    assert plan.lower_bound_bytes <= plan.no_reuse_bytes


def plan_of(graph):
    target = codegen.host_target()
    return compile_plan(graph, partial(codegen.scratch_bytes, target=target, threads=2))


@given(random_graphs(max_ops=14))
@settings(max_examples=80, deadline=None)
def test_random_graph_plans(case):
    check_plan(plan_of(case[0]))


def mlp():
    model = tf.sequential()
    model.add(tf.layers.dense({"units": 512, "activation": "relu", "inputShape": [784]}))
    model.add(tf.layers.dense({"units": 512, "activation": "relu"}))
    model.add(tf.layers.dense({"units": 10, "activation": "softmax"}))
    return model


def test_reference_mlp_inference_and_training_plans():
    model = mlp()
    for batch in (1, 256):
        check_plan(plan_of(model_graph(model, batch)))
    model.compile({"optimizer": tf.train.adam(1e-3), "loss": "categoricalCrossentropy"})
    plan = plan_of(model_graph(model, 128, train=True))
    check_plan(plan)
    # Adam's moment and weight updates are written in place: no final copies of them
    in_place = [v for p, v in plan.graph.updates if plan.locations[v] == plan.locations[p]]
    assert len(in_place) == len(plan.graph.updates)
