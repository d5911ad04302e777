"""The optimized pipeline computes what the unoptimized one does, and what numpy computes,
on random graphs; the verifier accepts the graph after every stage."""
import numpy as np
from hypothesis import given, settings

from kiln.passes import optimize_graph
from kiln.runtime.executable import compile_graph, evaluate_constants
from tests import reference
from tests.passes.random_graphs import random_graphs


@given(random_graphs())
@settings(max_examples=60, deadline=None)
def test_optimized_equals_unoptimized_and_numpy(case):
    graph, arrays = case
    optimize_graph(graph, check=True, evaluate=evaluate_constants)
    fast = compile_graph(graph, optimize=True).run(arrays)
    plain = compile_graph(graph, optimize=False).run(arrays)
    expected = reference.evaluate(graph, arrays)
    for f, p, e in zip(fast, plain, expected):
        np.testing.assert_allclose(f, e, rtol=2e-4, atol=1e-4)
        np.testing.assert_allclose(p, e, rtol=2e-4, atol=1e-4)
