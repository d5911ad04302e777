"""Ahead-of-time libraries: a C API around a Plan's entry point, in the same LLVM module.

    spec = LibrarySpec(name, inputs, outputs, feeds, batch, weights, threads)
    module = library_module(plan, spec, target)        # kernels, kiln_main (internal), NAME_*
    text = weights_module(spec, blob, target)          # --weights embed: the read-only weights

The library exports only the functions codegen.aot_header documents: NAME_num_inputs,
NAME_input_rank/shape/dtype/name (and the output twins), NAME_batch_size,
NAME_workspace_size, NAME_run, NAME_run_batch, NAME_status_string and, with weights in a file,
NAME_load_weights. Everything else is internal, so several libraries can live in one process.

Parameters live in one blob: each param at a 64-byte aligned offset (`param_layout`). With
`weights='embed'` the blob is the constant NAME_kiln_weights, defined by a second, tiny object
(`weights_module`) so the kernel code never depends on the weight values (it is cached and
optimized without them). With `weights='file'` the blob is a static buffer that
NAME_load_weights fills from a file written by `weights_file_bytes`: a 64-byte header (magic,
a fingerprint of the parameter layout, the blob size; little-endian) and the blob.

Thread safety: NAME_run writes only the caller's workspace (the arena, then the staging rows
NAME_run_batch uses for a partial last chunk) and the caller's output buffers; parameters are
only read, and the thread count is a constant passed down the call (no global state).
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import llvmlite.ir as ir
import numpy as np

from kiln.codegen import irutil
from kiln.codegen.irutil import I8, I32, I64, PTR, VOID
from kiln.codegen.lower import ENTRY, lower
from kiln.codegen.target import Target
from kiln.ir.dtypes import DType
from kiln.ir.plan import Plan

ALIGN = 64
WEIGHTS_MAGIC = b"KILNWTS1"
WEIGHTS_HEADER_BYTES = 64

# (macro, code, meaning): every status NAME_run, NAME_run_batch and NAME_load_weights return.
STATUS = [
    ("KILN_OK", 0, "ok"),
    ("KILN_ERROR_NULL_POINTER", 1, "a null pointer was passed"),
    ("KILN_ERROR_ALIGNMENT", 2, "a misaligned workspace (64 bytes) or tensor buffer"),
    ("KILN_ERROR_WEIGHTS_NOT_LOADED", 3, "weights not loaded: call NAME_load_weights first"),
    ("KILN_ERROR_BAD_ARGUMENT", 4, "a negative sample count"),
    ("KILN_ERROR_OPEN_FAILED", 5, "cannot open the weights file (see errno)"),
    ("KILN_ERROR_BAD_WEIGHTS_FILE", 6, "not a kiln weights file, truncated or too long"),
    ("KILN_ERROR_WEIGHTS_MISMATCH", 7, "weights file of a model with other parameters"),
]
_CODE = {macro: code for macro, code, _ in STATUS}


def _aligned(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


@dataclass(frozen=True)
class TensorSpec:
    """An input or output of the library: a dense row-major buffer."""
    name: str
    shape: tuple[int, ...]
    dtype: DType

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


@dataclass
class LibrarySpec:
    name: str                      # the C prefix (a C identifier)
    inputs: list[TensorSpec]       # the model's inputs, in order
    outputs: list[TensorSpec]      # the model's outputs, in order
    feeds: list[int]               # graph input j reads model input feeds[j]
    batch: int                     # samples per NAME_run (leading dim of every tensor)
    weights: str = "embed"         # 'embed' | 'file'
    threads: int = 1               # threads large kernels use inside one NAME_run

    @property
    def weights_symbol(self) -> str:
        return f"{self.name}_kiln_weights"


def param_layout(plan: Plan) -> tuple[list[int], int]:
    """(byte offset of each graph param in the weights blob, blob size)."""
    offsets, total = [], 0
    for p in plan.graph.params:
        offsets.append(total)
        total += _aligned(p.type.nbytes)
    return offsets, total


def weights_blob(plan: Plan, arrays) -> bytes:
    """The params' values (numpy arrays, graph.params order) laid out as param_layout says."""
    offsets, total = param_layout(plan)
    blob = bytearray(total)
    for p, offset, array in zip(plan.graph.params, offsets, arrays):
        data = np.ascontiguousarray(array, dtype=p.dtype.np).tobytes()
        if len(data) != p.type.nbytes:
            raise ValueError(f"param {p.node.attrs['name']!r} needs {p.type.nbytes} bytes "
                             f"({p.type}), got an array of {len(data)}")
        blob[offset:offset + len(data)] = data
    return bytes(blob)


def weights_fingerprint(plan: Plan) -> int:
    """A 64-bit identity of the parameter layout (names, types, offsets): a weights file fits
    every library with the same layout, e.g. the same model retrained."""
    h = hashlib.sha256(b"kiln-weights-1\0")
    offsets, total = param_layout(plan)
    for p, offset in zip(plan.graph.params, offsets):
        h.update(f"{p.node.attrs['name']}|{p.type}|{offset}\0".encode())
    h.update(str(total).encode())
    return int.from_bytes(h.digest()[:8], "little")


def weights_file_bytes(plan: Plan, blob: bytes) -> bytes:
    header = WEIGHTS_MAGIC + weights_fingerprint(plan).to_bytes(8, "little") + \
        len(blob).to_bytes(8, "little")
    return header.ljust(WEIGHTS_HEADER_BYTES, b"\0") + blob


@dataclass(frozen=True)
class WorkspaceLayout:
    arena: int                 # bytes of the plan's arena, at offset 0
    input_staging: list[int]   # offset of each input's staging batch (NAME_run_batch)
    output_staging: list[int]
    total: int


def workspace_layout(plan: Plan, spec: LibrarySpec) -> WorkspaceLayout:
    offset = _aligned(plan.arena_bytes)
    arena = offset
    staging = []
    for t in spec.inputs + spec.outputs:
        staging.append(offset)
        offset += _aligned(t.nbytes)
    n_in = len(spec.inputs)
    return WorkspaceLayout(arena, staging[:n_in], staging[n_in:], max(offset, ALIGN))


# ---- the weights object --------------------------------------------------------------------
def weights_module(spec: LibrarySpec, blob: bytes, target: Target) -> str:
    """LLVM IR text of a module holding only the constant weights blob (hidden symbol)."""
    escaped = _escape(blob)
    return (f'target triple = "{target.triple}"\n'
            f'target datalayout = "{target.machine.target_data}"\n\n'
            f'@{spec.weights_symbol} = hidden constant [{max(len(blob), 1)} x i8] '
            f'c"{escaped}", align {ALIGN}\n')


def _escape(blob: bytes) -> str:
    r"""Every byte as \XX (fast for megabytes: one numpy table lookup)."""
    if not blob:
        return "\\00"
    digits = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)
    data = np.frombuffer(blob, dtype=np.uint8)
    out = np.empty((len(data), 3), dtype=np.uint8)
    out[:, 0] = ord("\\")
    out[:, 1] = digits[data >> 4]
    out[:, 2] = digits[data & 15]
    return out.tobytes().decode("ascii")


# ---- the library module --------------------------------------------------------------------
def library_module(plan: Plan, spec: LibrarySpec, target: Target) -> ir.Module:
    """The plan's kernels and entry point (made internal) plus the NAME_* C API."""
    graph = plan.graph
    if len(graph.outputs) != len(spec.outputs):
        raise ValueError(f"library {spec.name!r}: the graph has {len(graph.outputs)} outputs, "
                         f"the spec {len(spec.outputs)}")
    if graph.updates:
        raise ValueError(f"library {spec.name!r}: the graph updates parameters, but a "
                         "library's parameters are read-only")
    if any(t.shape[:1] != (spec.batch,) for t in spec.inputs + spec.outputs):
        raise ValueError(f"library {spec.name!r}: every input and output must lead with the "
                         f"batch dimension {spec.batch}")
    module = lower(plan, target, spec.threads, private_pool=True)
    module.globals[ENTRY].linkage = "internal"
    _Api(module, plan, spec).emit()
    return module


class _Api:
    def __init__(self, module: ir.Module, plan: Plan, spec: LibrarySpec):
        self.module = module
        self.plan = plan
        self.spec = spec
        self.workspace = workspace_layout(plan, spec)
        self.offsets, self.blob_bytes = param_layout(plan)
        self.loaded = None        # the 'weights loaded' flag (file mode)
        self.weights = self._weights_global()

    def fn(self, name, ret, args, internal=False):
        fn = ir.Function(self.module, ir.FunctionType(ret, args), name)
        if internal:
            fn.linkage = "internal"
        return fn, ir.IRBuilder(fn.append_basic_block("entry"))

    def emit(self):
        s = self.spec
        self._constant("num_inputs", I32, len(s.inputs))
        self._constant("num_outputs", I32, len(s.outputs))
        self._constant("batch_size", I32, s.batch)
        self._constant("workspace_size", I64, self.workspace.total)
        for kind, tensors in (("input", s.inputs), ("output", s.outputs)):
            self._table(f"{kind}_rank", I32, [ir.Constant(I32, len(t.shape)) for t in tensors],
                        ir.Constant(I32, -1))
            shapes = [self._global(f"{kind}{k}.shape", ir.ArrayType(I64, len(t.shape)),
                                   [ir.Constant(I64, d) for d in t.shape])
                      for k, t in enumerate(tensors)]
            self._table(f"{kind}_shape", PTR, shapes, ir.Constant(PTR, None))
            self._table(f"{kind}_dtype", PTR,
                        [self._string(f"{kind}{k}.dtype", t.dtype.value)
                         for k, t in enumerate(tensors)], ir.Constant(PTR, None))
            self._table(f"{kind}_name", PTR,
                        [self._string(f"{kind}{k}.name", t.name) for k, t in enumerate(tensors)],
                        ir.Constant(PTR, None))
        self._table("status_string", PTR,
                    [self._string(f"status{code}", text.replace("NAME", s.name))
                     for _, code, text in STATUS],
                    self._string("status.unknown", "unknown status code"))
        check = self._check()
        invoke = self._invoke()
        self._run(check, invoke)
        self._run_batch(check, invoke)
        if s.weights == "file":
            self._load_weights()

    # ---- globals ---------------------------------------------------------------------------
    def _global(self, name, ty, value, constant=True):
        glob = ir.GlobalVariable(self.module, ty, f"{self.spec.name}.{name}")
        glob.linkage = "internal"
        glob.global_constant = constant
        glob.initializer = ir.Constant(ty, value)
        return glob

    def _string(self, name, text):
        data = bytearray(text.encode() + b"\0")
        return self._global(name, ir.ArrayType(I8, len(data)), data)

    def _weights_global(self):
        ty = ir.ArrayType(I8, max(self.blob_bytes, 1))
        if self.spec.weights == "embed":
            glob = ir.GlobalVariable(self.module, ty, self.spec.weights_symbol)
            glob.storage_class = "hidden"          # defined by the weights object
            glob.global_constant = True
        else:
            glob = self._global("weights", ty, None, constant=False)   # zero-initialized
            self.loaded = self._global("loaded", I32, 0, constant=False)
        glob.align = ALIGN
        return glob

    # ---- simple functions ------------------------------------------------------------------
    def _constant(self, name, ty, value):
        fn, b = self.fn(f"{self.spec.name}_{name}", ty, [])
        b.ret(ir.Constant(ty, value))

    def _table(self, name, ty, values, default):
        """ty NAME_name(int i): values[i] for 0 <= i < len(values), else default."""
        fn, b = self.fn(f"{self.spec.name}_{name}", ty, [I32])
        (i,) = fn.args
        if not values:
            b.ret(default)
            return
        table = self._global(f"{name}.table", ir.ArrayType(ty, len(values)), values)
        with b.if_then(b.icmp_unsigned(">=", i, ir.Constant(I32, len(values)))):
            b.ret(default)
        slot = b.gep(table, [irutil.i64(0), b.zext(i, I64)],
                     source_etype=ir.ArrayType(ty, len(values)))
        b.ret(b.load(slot, typ=ty))

    # ---- running ---------------------------------------------------------------------------
    def _fail_if(self, b, cond, status):
        with b.if_then(cond, likely=False):
            b.ret(ir.Constant(I32, _CODE[status]))

    def _misaligned(self, b, pointer, align):
        address = b.ptrtoint(pointer, I64)
        return b.icmp_unsigned("!=", b.and_(address, irutil.i64(align - 1)), irutil.i64(0))

    def _check(self):
        """i32 check(inputs, outputs, workspace): the status NAME_run would fail with, or 0."""
        fn, b = self.fn(f"{self.spec.name}.check", I32, [PTR, PTR, PTR], internal=True)
        inputs, outputs, workspace = fn.args
        null = ir.Constant(PTR, None)
        for pointer in fn.args:
            self._fail_if(b, b.icmp_unsigned("==", pointer, null), "KILN_ERROR_NULL_POINTER")
        self._fail_if(b, self._misaligned(b, workspace, ALIGN), "KILN_ERROR_ALIGNMENT")
        if self.loaded is not None:
            loaded = b.load_atomic(self.loaded, "acquire", 4, typ=I32)
            self._fail_if(b, b.icmp_unsigned("==", loaded, ir.Constant(I32, 0)),
                          "KILN_ERROR_WEIGHTS_NOT_LOADED")
        for array, tensors in ((inputs, self.spec.inputs), (outputs, self.spec.outputs)):
            for k, t in enumerate(tensors):
                pointer = _load_slot(b, array, k)
                self._fail_if(b, b.icmp_unsigned("==", pointer, null), "KILN_ERROR_NULL_POINTER")
                if t.dtype.itemsize > 1:
                    self._fail_if(b, self._misaligned(b, pointer, t.dtype.itemsize),
                                  "KILN_ERROR_ALIGNMENT")
        b.ret(ir.Constant(I32, 0))
        return fn

    def _invoke(self):
        """i32 invoke(inputs, outputs, workspace): one batch through kiln_main, unchecked."""
        graph = self.plan.graph
        fn, b = self.fn(f"{self.spec.name}.invoke", I32, [PTR, PTR, PTR], internal=True)
        inputs, outputs, workspace = fn.args
        n_buffers = len(graph.inputs) + len(graph.outputs) + len(graph.params) + 1
        buffers = irutil.entry_alloca(b, ir.ArrayType(PTR, n_buffers), "buffers")
        pointers = [_load_slot(b, inputs, k) for k in self.spec.feeds]
        pointers += [_load_slot(b, outputs, i) for i in range(len(graph.outputs))]
        pointers += [b.gep(self.weights, [irutil.i64(0), irutil.i64(offset)],
                           source_etype=self.weights.value_type) for offset in self.offsets]
        pointers.append(workspace)
        for slot, pointer in enumerate(pointers):
            b.store(pointer, b.gep(buffers, [irutil.i64(slot)], source_etype=PTR))
        status = b.call(self.module.globals[ENTRY],
                        [buffers, ir.Constant(PTR, None), ir.Constant(I32, self.spec.threads)])
        b.ret(status)
        return fn

    def _run(self, check, invoke):
        fn, b = self.fn(f"{self.spec.name}_run", I32, [PTR, PTR, PTR])
        status = b.call(check, fn.args)
        with b.if_then(b.icmp_unsigned("!=", status, ir.Constant(I32, 0)), likely=False):
            b.ret(status)
        b.ret(b.call(invoke, fn.args))

    def _run_batch(self, check, invoke):
        """i32 NAME_run_batch(int64 n, inputs, outputs, workspace): n samples in chunks of the
        compiled batch; a partial last chunk goes through staging rows in the workspace."""
        s, layout = self.spec, self.workspace
        fn, b = self.fn(f"{s.name}_run_batch", I32, [I64, PTR, PTR, PTR])
        n, inputs, outputs, workspace = fn.args
        status = b.call(check, [inputs, outputs, workspace])
        with b.if_then(b.icmp_unsigned("!=", status, ir.Constant(I32, 0)), likely=False):
            b.ret(status)
        self._fail_if(b, b.icmp_signed("<", n, irutil.i64(0)), "KILN_ERROR_BAD_ARGUMENT")
        chunk_in = irutil.entry_alloca(b, ir.ArrayType(PTR, max(len(s.inputs), 1)), "chunk_in")
        chunk_out = irutil.entry_alloca(b, ir.ArrayType(PTR, max(len(s.outputs), 1)),
                                        "chunk_out")
        rows_in = [t.nbytes // s.batch for t in s.inputs]
        rows_out = [t.nbytes // s.batch for t in s.outputs]
        full = b.sdiv(n, irutil.i64(s.batch))

        def point(array, chunk, k, row_bytes, first_sample):
            base = _load_slot(b, array, k)
            at = b.gep(base, [b.mul(first_sample, irutil.i64(row_bytes))], source_etype=I8)
            b.store(at, b.gep(chunk, [irutil.i64(k)], source_etype=PTR))

        with irutil.counted_loop(b, full, name="chunk") as c:
            first = b.mul(c, irutil.i64(s.batch))
            for k, row in enumerate(rows_in):
                point(inputs, chunk_in, k, row, first)
            for i, row in enumerate(rows_out):
                point(outputs, chunk_out, i, row, first)
            b.call(invoke, [chunk_in, chunk_out, workspace])
        first = b.mul(full, irutil.i64(s.batch))
        rest = b.sub(n, first)
        with b.if_then(b.icmp_signed(">", rest, irutil.i64(0))):
            for k, row in enumerate(rows_in):
                staging = b.gep(workspace, [irutil.i64(layout.input_staging[k])], source_etype=I8)
                source = b.gep(_load_slot(b, inputs, k), [b.mul(first, irutil.i64(row))],
                               source_etype=I8)
                used = b.mul(rest, irutil.i64(row))
                _memcpy(self.module, b, staging, source, used)
                _memset0(self.module, b, b.gep(staging, [used], source_etype=I8),
                         b.sub(irutil.i64(s.batch * row), used))
                b.store(staging, b.gep(chunk_in, [irutil.i64(k)], source_etype=PTR))
            staged_out = []
            for i in range(len(s.outputs)):
                staging = b.gep(workspace, [irutil.i64(layout.output_staging[i])],
                                source_etype=I8)
                b.store(staging, b.gep(chunk_out, [irutil.i64(i)], source_etype=PTR))
                staged_out.append(staging)
            b.call(invoke, [chunk_in, chunk_out, workspace])
            for i, row in enumerate(rows_out):
                target = b.gep(_load_slot(b, outputs, i), [b.mul(first, irutil.i64(row))],
                               source_etype=I8)
                _memcpy(self.module, b, target, staged_out[i], b.mul(rest, irutil.i64(row)))
        b.ret(ir.Constant(I32, 0))

    # ---- weights from a file ---------------------------------------------------------------
    def _load_weights(self):
        """i32 NAME_load_weights(const char *path): read and check the file into the static
        weights buffer; the library runs only after a load succeeded."""
        m = self.module
        fopen = _declare(m, "fopen", ir.FunctionType(PTR, [PTR, PTR]))
        fread = _declare(m, "fread", ir.FunctionType(I64, [PTR, I64, I64, PTR]))
        fclose = _declare(m, "fclose", ir.FunctionType(I32, [PTR]))
        fn, b = self.fn(f"{self.spec.name}_load_weights", I32, [PTR])
        (path,) = fn.args
        self._fail_if(b, b.icmp_unsigned("==", path, ir.Constant(PTR, None)),
                      "KILN_ERROR_NULL_POINTER")
        b.store_atomic(ir.Constant(I32, 0), self.loaded, "release", 4)
        stream = b.call(fopen, [path, self._string("mode.rb", "rb")])
        self._fail_if(b, b.icmp_unsigned("==", stream, ir.Constant(PTR, None)),
                      "KILN_ERROR_OPEN_FAILED")
        header = irutil.entry_alloca(b, ir.ArrayType(I64, WEIGHTS_HEADER_BYTES // 8), "header")

        def close_and_fail_if(cond, status):
            with b.if_then(cond, likely=False):
                b.call(fclose, [stream])
                b.ret(ir.Constant(I32, _CODE[status]))

        def field(k):
            return b.load(b.gep(header, [irutil.i64(k)], source_etype=I64), typ=I64)

        got = b.call(fread, [header, irutil.i64(1), irutil.i64(WEIGHTS_HEADER_BYTES), stream])
        close_and_fail_if(b.icmp_unsigned("!=", got, irutil.i64(WEIGHTS_HEADER_BYTES)),
                          "KILN_ERROR_BAD_WEIGHTS_FILE")
        magic = int.from_bytes(WEIGHTS_MAGIC, "little")
        close_and_fail_if(b.icmp_unsigned("!=", field(0), irutil.i64(magic)),
                          "KILN_ERROR_BAD_WEIGHTS_FILE")
        fingerprint = weights_fingerprint(self.plan)
        fingerprint -= (1 << 64) if fingerprint >= (1 << 63) else 0
        close_and_fail_if(b.icmp_unsigned("!=", field(1), irutil.i64(fingerprint)),
                          "KILN_ERROR_WEIGHTS_MISMATCH")
        close_and_fail_if(b.icmp_unsigned("!=", field(2), irutil.i64(self.blob_bytes)),
                          "KILN_ERROR_WEIGHTS_MISMATCH")
        got = b.call(fread, [self.weights, irutil.i64(1), irutil.i64(self.blob_bytes), stream])
        close_and_fail_if(b.icmp_unsigned("!=", got, irutil.i64(self.blob_bytes)),
                          "KILN_ERROR_BAD_WEIGHTS_FILE")
        extra = b.call(fread, [header, irutil.i64(1), irutil.i64(1), stream])
        close_and_fail_if(b.icmp_unsigned("!=", extra, irutil.i64(0)),
                          "KILN_ERROR_BAD_WEIGHTS_FILE")
        b.call(fclose, [stream])
        b.store_atomic(ir.Constant(I32, 1), self.loaded, "release", 4)
        b.ret(ir.Constant(I32, 0))


def _load_slot(b, array, k):
    return b.load(b.gep(array, [irutil.i64(k)], source_etype=PTR), typ=PTR)


def _declare(module, name, fnty):
    return module.globals.get(name) or ir.Function(module, fnty, name)


def _memcpy(module, b, dst, src, nbytes):
    fn = _declare(module, "llvm.memcpy.p0.p0.i64",
                  ir.FunctionType(VOID, [PTR, PTR, I64, irutil.I1]))
    b.call(fn, [dst, src, nbytes, ir.Constant(irutil.I1, 0)])


def _memset0(module, b, dst, nbytes):
    fn = _declare(module, "llvm.memset.p0.i64", ir.FunctionType(VOID, [PTR, I8, I64, irutil.I1]))
    b.call(fn, [dst, ir.Constant(I8, 0), nbytes, ir.Constant(irutil.I1, 0)])
