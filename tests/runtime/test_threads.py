"""Large kernels run on several threads (matMul splits C's columns, big pointwise kernels
their outer axis): results match numpy and are bitwise the same for every thread count."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import kiln as tf
from tests.helpers import assert_tensor

SCRIPT = r"""
import hashlib, json
import numpy as np
import kiln as tf

rng = np.random.default_rng(0)
def r(*shape):
    return tf.tensor(rng.standard_normal(shape).astype(np.float32))

results = {
    "matMul": tf.matMul(r(300, 200), r(200, 170)),
    "matMulT": tf.matMul(r(200, 300), r(170, 200), True, True),
    "batched": tf.matMul(r(4, 150, 100), r(100, 130)),
    "rows": tf.matMul(r(8, 2000), r(2000, 700)),
    "softmax": tf.softmax(r(1030, 1030)),
    "transpose": tf.transpose(r(1100, 1000)),
    "pad": tf.pad(r(1000, 1040), [[3, 0], [0, 5]], 1.5),
}
x, w, dy = r(8, 13, 13, 32), r(3, 3, 32, 64), r(8, 11, 11, 64)
results["convFilterGrad"] = tf.grad(lambda w: tf.sum(tf.mul(tf.conv2d(x, w, 1, "valid"), dy)))(w)
results["convInputGrad"] = tf.grad(lambda x: tf.sum(tf.mul(tf.conv2d(x, w, 1, "valid"), dy)))(x)
xp, dyp = r(16, 26, 26, 32), r(16, 13, 13, 32)
for pool in ("maxPool", "avgPool"):
    results[pool + "Grad"] = tf.grad(
        lambda x: tf.sum(tf.mul(getattr(tf, pool)(x, 2, 2, "valid"), dyp)))(xp)
print(json.dumps({k: hashlib.sha256(v.dataSync().tobytes()).hexdigest()
                  for k, v in results.items()}))
"""


def run(threads):
    env = dict(os.environ, KILN_NUM_THREADS=str(threads))
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_results_do_not_depend_on_the_thread_count():
    one = run(1)
    for threads in (2, 3):
        assert run(threads) == one


def check_matmul(a, b, ta=False, tb=False):
    out = tf.matMul(tf.tensor(a), tf.tensor(b), ta, tb)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    a64 = np.swapaxes(a64, -1, -2) if ta else a64
    b64 = np.swapaxes(b64, -1, -2) if tb else b64
    bound = (a64.shape[-1] + 2) * 2.0**-24 * (np.abs(a64) @ np.abs(b64))
    err = np.abs(out.dataSync().reshape(bound.shape) - a64 @ b64)
    assert np.all(err <= bound)


@pytest.mark.parametrize("shapes", [((300, 200), (200, 170)), ((8, 2000), (2000, 700)),
                                    ((4, 150, 100), (100, 130)), ((64, 512), (512, 129))])
def test_large_matmul_matches_numpy(shapes):
    rng = np.random.default_rng(1)
    a, b = (rng.standard_normal(s).astype(np.float32) for s in shapes)
    check_matmul(a, b)
    check_matmul(np.swapaxes(a, -1, -2).copy(), b, ta=True)
    check_matmul(a, np.swapaxes(b, -1, -2).copy(), tb=True)


def test_large_pointwise_kernels_match_numpy():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((1030, 1030)).astype(np.float32)
    e = np.exp(x.astype(np.float64) - x.max(1, keepdims=True))
    assert_tensor(tf.softmax(tf.tensor(x)), e / e.sum(1, keepdims=True))
    y = rng.standard_normal((1100, 1000)).astype(np.float32)
    assert_tensor(tf.transpose(tf.tensor(y)), y.T)
    assert_tensor(tf.pad(tf.tensor(y), [[3, 0], [0, 5]], 1.5),
                  np.pad(y, [(3, 0), (0, 5)], constant_values=1.5))
    assert_tensor(tf.tile(tf.tensor(y[:3]), [400, 1]), np.tile(y[:3], [400, 1]))
    idx = rng.integers(-1, 1100, 1200).astype(np.int32)
    expected = np.where((idx >= 0)[:, None], y[np.clip(idx, 0, None)], 0)
    assert_tensor(tf.gather(tf.tensor(y), tf.tensor(idx)), expected)


POOL_SCRIPT = r"""
import gc, os, threading
import numpy as np
import kiln as tf

rng = np.random.default_rng(0)
a = rng.standard_normal((300, 200)).astype(np.float32)
b = rng.standard_normal((200, 170)).astype(np.float32)
expected = a.astype(np.float64) @ b

def check(out):
    assert np.abs(out.dataSync().reshape(300, 170) - expected).max() < 1e-3

# Models come and go: the pool's threads outlive every one of them, and are shared by all
# (code that threads sleep in is unmapped when its model is freed).
def thread_count():
    return len(os.listdir("/proc/self/task"))
before = thread_count()
for k in range(40):
    model = tf.sequential({"layers": [tf.layers.dense({"units": 170 + k, "inputShape": [200]})]})
    model.predict(tf.tensor(a), {"batchSize": 300})
    del model
    gc.collect()
    check(tf.matMul(tf.tensor(a), tf.tensor(b)))
assert thread_count() <= before + 1, (before, thread_count())   # KILN_NUM_THREADS=2

# Several Python threads run parallel kernels at once (one has the pool, others run alone).
errors = []
def work():
    try:
        for _ in range(20):
            check(tf.matMul(tf.tensor(a), tf.tensor(b)))
    except Exception as e:
        errors.append(e)
threads = [threading.Thread(target=work) for _ in range(3)]
for t in threads: t.start()
for t in threads: t.join()
assert not errors, errors

# A forked child starts its own pool.
pid = os.fork()
if pid == 0:
    try:
        check(tf.matMul(tf.tensor(a), tf.tensor(b)))
        os._exit(0)
    except BaseException:
        os._exit(1)
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0
check(tf.matMul(tf.tensor(a), tf.tensor(b)))
print("ok")
"""


def test_thread_pool_survives_freed_models_threads_and_fork():
    env = dict(os.environ, KILN_NUM_THREADS="2")
    proc = subprocess.run([sys.executable, "-c", POOL_SCRIPT], env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stderr
