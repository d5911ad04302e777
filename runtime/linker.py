"""The system C compiler, used as the linker of ahead-of-time libraries.

    link_shared(["m.o"], "libm.so")          # cc -shared: needs libc (and libm if used) only
    link_relocatable(["a.o", "b.o"], "m.o")  # cc -r: one object from several

The compiler is $CC, else `cc`. It only links: every instruction in the library comes from
kiln's code generator.
"""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess


class ToolchainError(RuntimeError):
    """The C compiler is missing or failed; the message says which command and why."""


def c_compiler() -> list[str]:
    command = shlex.split(os.environ.get("CC") or "cc")
    if not command or shutil.which(command[0]) is None:
        raise ToolchainError(f"no C compiler found ({command[0] if command else 'CC is empty'!r}"
                             "): kiln links libraries with the system C compiler; install gcc "
                             "or clang, or set CC")
    return command


# -z defs: fail at link time, not at load time, if the code needs anything beyond libc/libm;
# --as-needed: record libm only when the code calls it; -z nodelete: dlclose leaves the code
# mapped, since the library's thread pool sleeps in it.
SHARED_FLAGS = ["-shared", "-Wl,-z,defs", "-Wl,-z,noexecstack", "-Wl,--as-needed",
                "-Wl,-z,nodelete"]


def link_shared(objects, output) -> None:
    _run(c_compiler() + SHARED_FLAGS + ["-o", str(output)] + [str(o) for o in objects]
         + ["-lm"])


def link_relocatable(objects, output) -> None:
    _run(c_compiler() + ["-r", "-nostdlib", "-o", str(output)] + [str(o) for o in objects])


def _run(command) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True)
    except OSError as e:
        raise ToolchainError(f"cannot run {shlex.join(command)}: {e}") from None
    if done.returncode != 0:
        raise ToolchainError(f"{shlex.join(command)} failed (exit {done.returncode}):\n"
                             f"{done.stderr.strip()}")
