"""The disk cache of compiled object code, exercised across processes: a second process reuses
the object code without invoking LLVM; corrupt, truncated or unreadable entries are rebuilt;
KILN_CACHE=0 writes nothing; an unwritable cache folder is not an error."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = r"""
import json
import kiln as tf
from kiln.codegen import compiler

x = tf.tensor([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]])
results = {
    "add": tf.add(x, x).arraySync(),
    "matMul": tf.matMul(x, x, False, True).arraySync(),
    "sum": tf.sum(x, 1).arraySync(),
    "softmax": tf.softmax(x).arraySync(),
    "cumsum": tf.cumsum(x, 1).arraySync(),
}
print(json.dumps({"results": results, "compile_count": compiler.compile_count}))
"""


def expected_results():
    x = np.array([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]])
    e = np.exp(x - x.max(1, keepdims=True))
    return {"add": x + x, "matMul": x @ x.T, "sum": x.sum(1),
            "softmax": e / e.sum(1, keepdims=True), "cumsum": np.cumsum(x, 1)}


def run_script(env_changes):
    env = dict(os.environ)
    env.pop("KILN_CACHE_DIR", None)
    env.pop("KILN_CACHE", None)
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = str(value)
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    for name, value in expected_results().items():
        np.testing.assert_allclose(out["results"][name], value, rtol=1e-5, atol=1e-6,
                                   err_msg=name)
    return out


def entries(folder: Path):
    return sorted(p for p in folder.rglob("*.o") if p.is_file())


def test_a_second_process_loads_object_code_without_llvm(tmp_path):
    first = run_script({"KILN_CACHE_DIR": tmp_path})
    assert first["compile_count"] > 0
    files = entries(tmp_path)
    assert len(files) == first["compile_count"]
    second = run_script({"KILN_CACHE_DIR": tmp_path})
    assert second["compile_count"] == 0
    assert entries(tmp_path) == files


@pytest.mark.parametrize("damage", ["truncate", "empty", "flip a byte", "garbage"])
def test_damaged_cache_entries_are_rebuilt(tmp_path, damage):
    first = run_script({"KILN_CACHE_DIR": tmp_path})
    files = entries(tmp_path)
    for path in files:
        data = path.read_bytes()
        if damage == "truncate":
            data = data[:len(data) // 2]
        elif damage == "empty":
            data = b""
        elif damage == "flip a byte":
            data = data[:-10] + bytes([data[-10] ^ 0xFF]) + data[-9:]
        else:
            data = os.urandom(len(data))
        path.write_bytes(data)
    again = run_script({"KILN_CACHE_DIR": tmp_path})
    assert again["compile_count"] == first["compile_count"]     # every entry was rebuilt
    third = run_script({"KILN_CACHE_DIR": tmp_path})             # ... and written back
    assert third["compile_count"] == 0


def test_an_unreadable_entry_is_ignored(tmp_path):
    run_script({"KILN_CACHE_DIR": tmp_path})
    files = entries(tmp_path)
    for path in files:
        path.unlink()
        path.mkdir()           # reading a folder fails; so does replacing it
    out = run_script({"KILN_CACHE_DIR": tmp_path})
    assert out["compile_count"] == len(files)


def test_kiln_cache_0_writes_nothing(tmp_path):
    out = run_script({"KILN_CACHE_DIR": tmp_path, "KILN_CACHE": "0"})
    assert out["compile_count"] > 0
    assert list(tmp_path.iterdir()) == []
    again = run_script({"KILN_CACHE_DIR": tmp_path, "KILN_CACHE": "0"})
    assert again["compile_count"] == out["compile_count"]


def test_an_unwritable_cache_folder_is_not_an_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    out = run_script({"KILN_CACHE_DIR": blocker / "cache"})
    assert out["compile_count"] > 0


def test_default_location_follows_xdg_cache_home(tmp_path):
    out = run_script({"XDG_CACHE_HOME": tmp_path})
    assert len(entries(tmp_path / "kiln")) == out["compile_count"] > 0
