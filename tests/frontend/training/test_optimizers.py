"""Each tf.train optimizer, over several steps, against a numpy transcription of TF.js's
update formula (tfjs-core/src/optimizers/*), through both optimizer.minimize and model.fit."""
import asyncio

import numpy as np
import pytest

import kiln as tf

EPS = 1e-7
W0 = np.array([[0.5, -1.0], [2.0, 0.25]], np.float64)
TARGET = np.array([[1.0, 0.0], [0.0, 1.0]], np.float64)


def loss_grad(w):
    """loss = sum((w - target)^2) / 2 -> gradient w - target."""
    return w - TARGET


def numpy_steps(name, steps, **h):
    w = W0.copy()
    state = {}
    for t in range(1, steps + 1):
        g = loss_grad(w)
        if name == "sgd":
            w = w - h["lr"] * g
        elif name == "momentum":
            acc = state.get("acc", np.zeros_like(w))
            acc = h["m"] * acc + g
            step = g + acc * h["m"] if h.get("nesterov") else acc
            w = w - h["lr"] * step
            state["acc"] = acc
        elif name == "adagrad":
            acc = state.get("acc", np.full_like(w, h.get("init", 0.1))) + g * g
            w = w - h["lr"] * g / np.sqrt(acc + EPS)
            state["acc"] = acc
        elif name == "adadelta":
            ag = state.get("ag", np.zeros_like(w))
            au = state.get("au", np.zeros_like(w))
            new_ag = h["rho"] * ag + (1 - h["rho"]) * g * g
            upd = np.sqrt(au + h["eps"]) / np.sqrt(ag + h["eps"]) * g    # TF.js: old ag
            au = h["rho"] * au + (1 - h["rho"]) * upd * upd
            w = w - h["lr"] * upd
            state.update(ag=new_ag, au=au)
        elif name == "adam":
            mo = state.get("m", np.zeros_like(w))
            v = state.get("v", np.zeros_like(w))
            mo = h["b1"] * mo + (1 - h["b1"]) * g
            v = h["b2"] * v + (1 - h["b2"]) * g * g
            mhat, vhat = mo / (1 - h["b1"] ** t), v / (1 - h["b2"] ** t)
            w = w - h["lr"] * mhat / (np.sqrt(vhat) + EPS)
            state.update(m=mo, v=v)
        elif name == "adamax":
            mo = state.get("m", np.zeros_like(w))
            u = state.get("u", np.zeros_like(w))
            lr = h["lr"] / (1 + h.get("decay", 0.0) * (t - 1))
            mo = h["b1"] * mo + (1 - h["b1"]) * g
            u = np.maximum(h["b2"] * u, np.abs(g))
            w = w - lr / (1 - h["b1"] ** t) * mo / (u + EPS)
            state.update(m=mo, u=u)
        elif name == "rmsprop":
            ms = state.get("ms", np.zeros_like(w))
            mg = state.get("mg", np.zeros_like(w))
            mom = state.get("mom", np.zeros_like(w))
            ms = h["decay"] * ms + (1 - h["decay"]) * g * g
            denom = ms
            if h.get("centered"):
                mg = h["decay"] * mg + (1 - h["decay"]) * g
                denom = ms - mg * mg
            mom = h["momentum"] * mom + h["lr"] * g / np.sqrt(denom + EPS)
            w = w - mom
            state.update(ms=ms, mg=mg, mom=mom)
    return w


CASES = [
    ("sgd", lambda: tf.train.sgd(0.1), dict(lr=0.1)),
    ("momentum", lambda: tf.train.momentum(0.05, 0.9), dict(lr=0.05, m=0.9)),
    ("momentum", lambda: tf.train.momentum(0.05, 0.9, True), dict(lr=0.05, m=0.9, nesterov=True)),
    ("adagrad", lambda: tf.train.adagrad(0.3), dict(lr=0.3, init=0.1)),
    ("adadelta", lambda: tf.train.adadelta(1.0, 0.95), dict(lr=1.0, rho=0.95, eps=EPS)),
    ("adam", lambda: tf.train.adam(0.05), dict(lr=0.05, b1=0.9, b2=0.999)),
    ("adam", lambda: tf.train.adam({"learningRate": 0.02, "beta1": 0.8}), dict(lr=0.02, b1=0.8, b2=0.999)),
    ("adamax", lambda: tf.train.adamax(0.05, 0.9, 0.99, None, 0.1),
     dict(lr=0.05, b1=0.9, b2=0.99, decay=0.1)),
    ("rmsprop", lambda: tf.train.rmsprop(0.01), dict(lr=0.01, decay=0.9, momentum=0.0)),
    ("rmsprop", lambda: tf.train.rmsprop(0.01, 0.8, 0.5, None, True),
     dict(lr=0.01, decay=0.8, momentum=0.5, centered=True)),
]


@pytest.mark.parametrize("name,make,hyper", CASES)
def test_minimize_matches_tfjs_formula(name, make, hyper):
    opt = make()
    w = tf.variable(tf.tensor(W0.astype(np.float32)))
    target = tf.tensor(TARGET.astype(np.float32))
    for _ in range(5):
        opt.minimize(lambda: tf.mul(tf.sum(tf.square(tf.sub(w, target))), 0.5))
    np.testing.assert_allclose(w.dataSync().reshape(2, 2), numpy_steps(name, 5, **hyper),
                               rtol=1e-4, atol=1e-5)
    assert opt.iterations == 5


def test_apply_gradients_by_name():
    w = tf.variable(tf.tensor([1.0, 2.0]), True, "w_apply")
    opt = tf.train.sgd(0.5)
    opt.applyGradients({"w_apply": tf.tensor([2.0, -2.0])})
    np.testing.assert_allclose(w.dataSync(), [0.0, 3.0])
    with pytest.raises(ValueError, match="no live variable"):
        opt.applyGradients({"nope": tf.tensor([1.0])})


def test_string_optimizer_defaults():
    for name, cls, lr in [("sgd", "SGD", 0.01), ("adam", "Adam", 0.001), ("adagrad", "Adagrad", 0.01),
                          ("adadelta", "Adadelta", 1.0), ("adamax", "Adamax", 0.002),
                          ("rmsprop", "RMSProp", 0.001)]:
        model = tf.sequential({"layers": [tf.layers.dense({"units": 1, "inputShape": [1]})]})
        model.compile({"optimizer": name, "loss": "meanSquaredError"})
        assert model.optimizer.getClassName() == cls
        assert model.optimizer.learningRate == pytest.approx(lr)
    with pytest.raises(ValueError, match="momentum"):
        model.compile({"optimizer": "momentum", "loss": "meanSquaredError"})


def test_fit_applies_adam_exactly():
    """A linear model trained by fit (full batch, no shuffle) follows numpy's Adam."""
    x = np.array([[1.0, 2.0], [3.0, 4.0], [-1.0, 0.5]], np.float32)
    y = np.array([[1.0], [2.0], [0.0]], np.float32)
    k0 = np.array([[0.1], [-0.2]], np.float32)
    model = tf.sequential({"layers": [tf.layers.dense({"units": 1, "inputShape": [2],
                                                        "useBias": False})]})
    model.setWeights([tf.tensor(k0)])
    model.compile({"optimizer": tf.train.adam(0.1), "loss": "meanSquaredError"})
    asyncio.run(model.fit(tf.tensor(x), tf.tensor(y), {"epochs": 4, "batchSize": 3,
                                                        "shuffle": False, "verbose": 0}))
    w = k0.astype(np.float64)
    mo = v = np.zeros_like(w)
    for t in range(1, 5):
        g = 2 * x.T @ (x @ w - y) / len(x)
        mo = 0.9 * mo + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        w = w - 0.1 * (mo / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + EPS)
    np.testing.assert_allclose(model.getWeights()[0].dataSync().reshape(2, 1), w, rtol=1e-4)


def test_optimizer_weights_round_trip():
    w = tf.variable(tf.tensor([1.0, 2.0]), True, "w_round_trip")
    opt = tf.train.adam(0.1)
    opt.minimize(lambda: tf.sum(tf.square(w)))
    weights = asyncio.run(opt.getWeights())
    assert [e["name"] for e in weights] == ["iter", "w_round_trip/m", "w_round_trip/v"]
    assert int(weights[0]["tensor"].dataSync()[0]) == 1
    fresh = tf.train.adam(0.1)
    asyncio.run(fresh.setWeights(weights))
    assert fresh.iterations == 1
    restored = asyncio.run(fresh.getWeights())
    for a, b in zip(weights, restored):
        assert a["name"] == b["name"]
        np.testing.assert_array_equal(a["tensor"].dataSync(), b["tensor"].dataSync())
