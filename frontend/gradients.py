"""The TF.js gradient API: tf.grad, tf.grads, tf.valueAndGrad, tf.valueAndGrads,
tf.variableGrads.

The function is traced on every call (cheap: it records IR, it does not compute), its
gradient is appended to the graph by reverse-mode autodiff over the IR, and the whole graph is
compiled once per distinct structure; tensors the function captures are fed as inputs, so
one compiled graph serves a custom training loop's changing batches.
"""
from __future__ import annotations

from kiln.frontend.engine.compiled import executable_for, feed_arrays
from kiln.frontend.ops.convert import convert
from kiln.frontend.trace import TracedTensor, Tracer
from kiln.ir import Builder, grad_graph
from kiln.runtime.tensor import Tensor, Variable


def _check_result(y, what: str):
    if not isinstance(y, TracedTensor):
        raise TypeError(f"{what}: the function must return a tensor computed from its inputs, "
                        f"got {type(y).__name__}")
    if y.dtype != "float32":
        raise TypeError(f"{what}: the function's result must be float32 to differentiate, got "
                        f"{y.dtype}")


def differentiate(f, args, what: str, dy=None, var_list=None, scalar=False, extend=None,
                  return_grads=True):
    """Run f on args and differentiate its result. Returns (value, grads) where grads has
    one entry per arg (args mode) or a dict name -> grad (variables mode, when args is empty).
    `extend(tracer, pairs)` may record updates from (variable, gradient) pairs (an optimizer
    step); with return_grads=False the gradients stay inside the compiled graph."""
    args = [convert(a, f"args[{i}]", what) for i, a in enumerate(args or [])]
    tracer = Tracer(Builder(what), capture_inputs=True)
    with tracer:
        traced = [tracer.input(a.shape, a.dtype, f"x{i}") for i, a in enumerate(args)]
        y = f(*traced)
        _check_result(y, what)
        if scalar and y.rank != 0:
            raise ValueError(f"{what}: the function must return a scalar, got shape {y.shape}")
        b = tracer.builder
        dy_value = None
        if dy is not None:
            dy = convert(dy, "dy", what)
            if dy.shape != y.shape:
                raise ValueError(f"{what}: dy has shape {dy.shape}, the result has {y.shape}")
            dy_value = tracer.value_of(dy, what)
        if var_list is None and args:
            wrt = [t.value for t in traced]
            names = None
        else:
            candidates = var_list if var_list is not None else [
                v for v in tracer.variables if v.trainable]
            used = [v for v in candidates if id(v) in tracer._captured]
            wrt = [tracer.value_of(v, what) for v in used]
            names = [v.name for v in used]
            variables = used
        grads = grad_graph(b, [y.value], wrt, [dy_value] if dy_value is not None else None)
        if names is None:
            for i, g in enumerate(grads):
                if g is None:
                    raise ValueError(f"{what}: cannot compute the gradient of y = f(x) with "
                                     f"respect to argument {i}; make sure f computes y from it")
        outputs = [y.value] + ([g for g in grads if g is not None] if return_grads else [])
        if extend is not None and names is not None:
            pairs = [(v, tracer.wrap(g)) for v, g in zip(variables, grads) if g is not None]
            extend(tracer, pairs)
        updates = [(tracer.value_of(v, what), tracer.value_of(value, what))
                   for v, value in tracer.updates]
    graph = b.finish(outputs, updates)
    live = set(graph.params)
    params = [v for p, v in zip(b.params, tracer.variables) if p in live]
    exe = executable_for(graph)
    arrays = [a.buffer(what) for a in args]
    outs = exe.run(feed_arrays(tracer.feeds, arrays), [v.buffer(what) for v in params])
    value = Tensor(outs[0])
    grad_tensors = [Tensor(o) for o in outs[1:]]
    if not return_grads:
        return value, None
    if names is None:
        return value, grad_tensors
    kept = [n for n, g in zip(names, grads) if g is not None]
    return value, dict(zip(kept, grad_tensors))


def grad(f):
    """tf.grad(f) -> g(x, dy?) = df/dx."""
    def g(x, dy=None):
        return differentiate(lambda t: f(t), [x], "grad", dy)[1][0]
    return g


def grads(f):
    """tf.grads(f) -> g(args, dy?) = [df/dargs[i]]."""
    def g(args, dy=None):
        return differentiate(lambda *ts: f(*ts), list(args), "grads", dy)[1]
    return g


def valueAndGrad(f):
    def g(x, dy=None):
        value, gs = differentiate(lambda t: f(t), [x], "valueAndGrad", dy)
        return {"value": value, "grad": gs[0]}
    return g


def valueAndGrads(f):
    def g(args, dy=None):
        value, gs = differentiate(lambda *ts: f(*ts), list(args), "valueAndGrads", dy)
        return {"value": value, "grads": gs}
    return g


def variableGrads(f, varList=None):
    """{'value': f(), 'grads': {variable name: gradient}} for the trainable variables f uses
    (or those in varList). f must return a scalar."""
    if varList is not None:
        for v in varList:
            if not isinstance(v, Variable):
                raise TypeError(f"variableGrads: varList must hold variables, got {type(v).__name__}")
    value, named = differentiate(lambda: f(), [], "variableGrads", None, varList, scalar=True)
    return {"value": value, "grads": named}
