"""Recurrent models train: compiled training steps run the loop's gradient (a reverse loop)."""
import asyncio

import numpy as np

import kiln as tf

L = tf.layers


def test_lstm_learns_to_remember_the_first_step():
    """Label = sign of the first of 8 steps; the other steps are noise, so the state must carry
    it through the whole sequence."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((512, 8, 1)).astype(np.float32)
    y = (x[:, 0, 0] > 0).astype(np.float32)[:, None]
    seeded = {"kernelInitializer": tf.initializers.glorotNormal({"seed": 1}),
              "recurrentInitializer": tf.initializers.orthogonal({"seed": 2})}
    model = tf.sequential({"layers": [
        L.lstm({"units": 8, "inputShape": [8, 1], "recurrentActivation": "sigmoid", **seeded}),
        L.dense({"units": 1, "activation": "sigmoid",
                 "kernelInitializer": tf.initializers.glorotNormal({"seed": 3})})]})
    model.compile({"optimizer": tf.train.adam(0.01), "loss": "binaryCrossentropy",
                   "metrics": ["accuracy"]})
    history = asyncio.run(model.fit(tf.tensor(x), tf.tensor(y), {
        "epochs": 25, "batchSize": 64, "verbose": 0, "seed": 1}))
    losses = history.history["loss"]
    assert losses[-1] < 0.3 * losses[0]
    predicted = model.predict(tf.tensor(x)).dataSync() > 0.5
    assert (predicted == (y[:, 0] > 0.5)).mean() >= 0.95


def test_bidirectional_gru_with_mask_and_dropout_trains():
    """Zero-padded variable-length sequences: label = whether the (unpadded) sum is positive."""
    rng = np.random.default_rng(1)
    lengths = rng.integers(2, 7, 256)
    x = rng.standard_normal((256, 6, 2)).astype(np.float32)
    x[np.arange(6)[None, :] >= lengths[:, None]] = 0.0
    y = (x.sum((1, 2)) > 0).astype(np.float32)[:, None]
    model = tf.sequential({"layers": [
        L.masking({"inputShape": [6, 2]}),
        L.bidirectional({"layer": L.gru({"units": 4, "dropout": 0.1, "recurrentDropout": 0.1,
                                         "resetAfter": True})}),
        L.dense({"units": 1, "activation": "sigmoid"})]})
    model.compile({"optimizer": tf.train.adam(0.03), "loss": "binaryCrossentropy",
                   "metrics": ["accuracy"]})
    history = asyncio.run(model.fit(tf.tensor(x), tf.tensor(y), {
        "epochs": 12, "batchSize": 64, "verbose": 0}))
    assert history.history["loss"][-1] < 0.6 * history.history["loss"][0]
    assert history.history["acc"][-1] >= 0.85
