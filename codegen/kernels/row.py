"""Row kernels: normalizations (softmax, logSoftmax, layer norm) in one pass per row.

For each index of the kept (leading) axes, every phase reduces the row — its prologue
evaluated element by element, earlier phases' results available as registers — then the root
is computed and stored along the row. Rows are contiguous, so each inner loop vectorizes.
"""
from __future__ import annotations

from kiln.codegen.expr import Index
from kiln.codegen.irutil import entry_alloca, loop_nest
from kiln.codegen.kernels.reduce import _out_index, combine, identity
from kiln.codegen.scalar import compute_type


def emit(ctx, kernel, body, out_ptr, scratch):
    b = body.b
    root = kernel.root
    shape = body.shape_of(root)
    first = min(kernel.phases[0].anchor.attrs["axes"])
    kept, row = shape[:first], shape[first:]
    with loop_nest(b, kept, "o") as outer:
        for number, phase in enumerate(kernel.phases):
            anchor = phase.anchor
            x = anchor.inputs[0]
            ctype = compute_type(x.dtype)
            acc = entry_alloca(b, ctype, f"phase{number}.acc")
            b.store(identity(anchor.op, x.dtype), acc)
            with loop_nest(b, row, "r") as inner:
                v = body.value(x, Index(b, shape, multi=outer + inner))
                b.store(combine(body, anchor.op, x.dtype, b.load(acc, typ=ctype), v), acc)
            total = b.load(acc, typ=ctype)
            out_shape = body.shape_of(anchor.outputs[0])
            body.overrides[anchor.outputs[0]] = lambda index, total=total: total
            result = body.value(phase.root, _out_index(body, anchor, out_shape, outer))
            body.overrides[phase.root] = lambda index, result=result: result
        with loop_nest(b, row, "w") as inner:
            index = Index(b, shape, multi=outer + inner)
            body.store(out_ptr, root.dtype, index.linear, body.value(root, index))
        for phase in kernel.phases:
            body.overrides.pop(phase.anchor.outputs[0], None)
            body.overrides.pop(phase.root, None)
