"""The generated loops run at the target's vector width: elementwise kernels and the GEMM
micro-kernel are checked in the assembly LLVM emits for them (zmm registers for AVX-512,
ymm for AVX2, xmm for SSE)."""
from __future__ import annotations

import re
from functools import partial

import pytest

from kiln import codegen
from kiln.ir import Builder, TensorType, float32
from kiln.passes import compile_plan

REGISTER = {512: "zmm", 256: "ymm", 128: "xmm"}


def llvm_text(build, target, dynamic=False) -> str:
    """LLVM IR of the graph `build(builder)` returns, planned and lowered as the runtime does
    (dynamic=True: an eager elementwise kernel whose length is a run-time argument)."""
    b = Builder("t")
    graph = b.finish(build(b))
    plan = compile_plan(graph, scratch_bytes=partial(codegen.scratch_bytes, target=target))
    plan.dynamic = dynamic
    return str(codegen.lower(plan, target))


def vec(shape=(2,)):
    return TensorType(shape, float32)


def elementwise_add(b):
    return [b.add(b.input(vec()), b.input(vec()))]


def elementwise_exp(b):
    return [b.exp(b.input(vec()))]


def matmul(b):
    return [b.matMul(b.input(vec((64, 64))), b.input(vec((64, 64))))]


def instructions(asm, mnemonic):
    return [line.strip() for line in asm.splitlines()
            if re.match(rf"\s*{mnemonic}\b", line)]


def widest_register(lines):
    for bits in (512, 256, 128):
        if any(f"%{REGISTER[bits]}" in line for line in lines):
            return bits
    return 0


TARGETS = ["host", "x86-64-v4", "x86-64-v3", "x86-64-v2"]


def target_for(name):
    return codegen.host_target() if name == "host" else codegen.named_target(name)


def test_host_target_reports_its_vector_width():
    t = codegen.host_target()
    feats = set(t.features.split(","))
    expected = 512 if "+avx512f" in feats else 256 if "+avx2" in feats or "+avx" in feats else 128
    assert t.vector_bits == expected
    assert t.float_lanes == expected // 32


@pytest.mark.parametrize("name", TARGETS)
def test_elementwise_add_loop_uses_the_full_vector_width(name):
    target = target_for(name)
    asm = codegen.assembly(llvm_text(elementwise_add, target, dynamic=True), target)
    adds = instructions(asm, "v?addps")
    assert adds, "the add loop was not vectorized"
    assert widest_register(adds) == target.vector_bits


@pytest.mark.parametrize("name", TARGETS)
def test_gemm_micro_kernel_uses_fma_on_full_width_registers(name):
    target = target_for(name)
    asm = codegen.assembly(llvm_text(matmul, target), target)
    if target.vector_bits >= 256:
        fmas = instructions(asm, r"vfmadd\d{3}ps")
        assert len(fmas) >= 8, "the micro-kernel does not use fused multiply-adds"
        assert all(f"%{REGISTER[target.vector_bits]}" in line for line in fmas)
    else:                                   # SSE has no FMA: multiply and add
        assert widest_register(instructions(asm, "mulps")) == 128


@pytest.mark.parametrize("name", ["host", "x86-64-v3"])
def test_mathlib_exp_is_inlined_and_vectorized(name):
    target = target_for(name)
    asm = codegen.assembly(llvm_text(elementwise_exp, target, dynamic=True), target)
    assert not re.search(r"call\w*\s+\S*exp", asm), "exp should not call into libm"
    assert widest_register(instructions(asm, r"v\w+ps")) == target.vector_bits


def test_target_keys_distinguish_machines():
    keys = {target_for(n).key for n in TARGETS}
    assert len(keys) == len(TARGETS)


def test_unknown_cpu_is_an_error_naming_it():
    with pytest.raises(ValueError, match="'not-a-cpu'"):
        codegen.named_target("not-a-cpu")
