"""NAME_run is thread-safe: two threads with separate workspaces get correct results."""
import subprocess
from pathlib import Path

import numpy as np

from kiln.frontend.aot import compile_model
from tests.aot.helpers import cc, cnn, lstm, mlp, predict_arrays, random_inputs

HARNESS = Path(__file__).with_name("threads_harness.c")


def run_two_threads(model, lib_dir, out, name, batch_size, iterations):
    """Build the harness against lib_dir/lib{name}.so (its files go to `out`) and run it on
    two different batches."""
    harness = cc([HARNESS], out / "harness", lib_dir, name, f"-DMODEL={name}", "-pthread")
    batch = [random_inputs(model, batch_size, seed=s) for s in (1, 2)]
    for tag, arrays in zip("ab", batch):
        (out / f"in_{tag}.raw").write_bytes(b"".join(a.tobytes() for a in arrays))
    done = subprocess.run([str(harness), out / "in_a.raw", out / "in_b.raw", out / "out_a.raw",
                           out / "out_b.raw", str(iterations)], capture_output=True, text=True,
                          check=True)
    assert done.stdout.splitlines() == ["status 0 mismatches 0"] * 2
    for tag, arrays in zip("ab", batch):
        expected = predict_arrays(model, arrays)
        raw = np.frombuffer((out / f"out_{tag}.raw").read_bytes(), np.float32)
        got = np.split(raw, np.cumsum([e.size for e in expected])[:-1])
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g.reshape(e.shape), e, rtol=1e-5, atol=1e-6)


def test_two_threads_large_mlp_with_internal_threads(tmp_path):
    # batch 16 of W2: the GEMMs split across 2 pthreads inside each run as well
    model = mlp()
    compile_model(model, tmp_path, name="w2", batch=16, threads=2)
    run_two_threads(model, tmp_path, tmp_path, "w2", 16, iterations=50)


def test_two_threads_cnn_with_internal_threads(tmp_path):
    model = cnn()
    compile_model(model, tmp_path, name="w4", batch=8, threads=2)
    run_two_threads(model, tmp_path, tmp_path, "w4", 8, iterations=20)


def test_two_threads_lstm(tmp_path):
    model = lstm()
    compile_model(model, tmp_path, name="w6", batch=32, threads=2)    # W6's batch
    run_two_threads(model, tmp_path, tmp_path, "w6", 32, iterations=20)


def test_two_threads_multi_input(multi, tmp_path):
    model, out = multi
    run_two_threads(model, out, tmp_path, "multi", 2, iterations=2000)
