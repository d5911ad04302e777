"""The machine code is generated for: triple, CPU name and features, and its vector width.

The host target uses the CPU's real name and features (AVX-512 / AVX2 when present). Other
targets are named by an LLVM CPU name such as 'x86-64-v2' or 'znver3' (for ahead-of-time
libraries built for other machines).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import llvmlite.binding as llvm


@functools.cache
def _init_llvm() -> None:
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    llvm.initialize_native_asmparser()


@dataclass(frozen=True)
class Target:
    triple: str
    cpu: str
    features: str

    @property
    def vector_bits(self) -> int:
        """Widest float vector register the generated loops should use."""
        feats = set(self.features.split(","))
        if "+avx512f" in feats or self.cpu in ("x86-64-v4",):
            return 512
        if "+avx" in feats or "+avx2" in feats or self.cpu in ("x86-64-v3",):
            return 256
        return 128

    @property
    def float_lanes(self) -> int:
        return self.vector_bits // 32

    @property
    def machine_features(self) -> str:
        """The features the machine is created with. LLVM tunes many AVX-512 CPUs (Intel's,
        x86-64-v4) to prefer 256-bit vectors in auto-vectorized loops; kiln's loops are meant
        to run at the full vector width, so that preference is turned off."""
        if self.vector_bits == 512:
            return ",".join(f for f in (self.features, "-prefer-256-bit") if f)
        return self.features

    @property
    def key(self) -> str:
        """Identifies the target in cache keys."""
        return f"{self.triple}|{self.cpu}|{self.machine_features}"

    @functools.cached_property
    def machine(self):
        """An llvmlite TargetMachine (position-independent code, -O3 code generation)."""
        _init_llvm()
        target = llvm.Target.from_triple(self.triple)
        return target.create_target_machine(cpu=self.cpu, features=self.machine_features,
                                            opt=3, reloc="pic", codemodel="default")


@functools.cache
def host_target() -> Target:
    _init_llvm()
    return Target(llvm.get_process_triple(), llvm.get_host_cpu_name(),
                  llvm.get_host_cpu_features().flatten())


def named_target(cpu: str) -> Target:
    """A target for the named LLVM CPU on the host's triple; ValueError if LLVM does not know it."""
    _init_llvm()
    triple = llvm.get_process_triple()
    target = llvm.Target.from_triple(triple)
    try:
        with _capture_stderr() as err:
            target.create_target_machine(cpu=cpu)
    except Exception as e:  # pragma: no cover - llvmlite reports unknown CPUs on stderr only
        raise ValueError(f"unknown target CPU {cpu!r}: {e}") from None
    if err.text and "not a recognized processor" in err.text:
        raise ValueError(f"unknown target CPU {cpu!r}; try 'x86-64-v2', 'x86-64-v3', "
                         f"'x86-64-v4' or an LLVM CPU name such as 'znver3' or 'skylake'")
    return Target(triple, cpu, "")


class _capture_stderr:
    """Capture what LLVM writes to the process's stderr (file descriptor 2)."""

    def __enter__(self):
        import os
        import tempfile

        self._tmp = tempfile.TemporaryFile()
        self._saved = os.dup(2)
        os.dup2(self._tmp.fileno(), 2)
        self.text = ""
        return self

    def __exit__(self, *exc):
        import os

        os.dup2(self._saved, 2)
        os.close(self._saved)
        self._tmp.seek(0)
        self.text = self._tmp.read().decode(errors="replace")
        self._tmp.close()
        return False
