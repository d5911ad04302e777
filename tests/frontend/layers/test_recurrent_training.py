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


def test_cell_regularizers_add_to_the_loss_and_constraints_apply():
    """Regularizers and constraints of a recurrent layer's weights live on its cell; training
    still adds the penalties (sgd with learning rate 0 leaves the weights, so the logged loss
    is the plain loss plus the penalty) and projects the weights after each update."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((8, 3, 2)).astype(np.float32)
    y = rng.standard_normal((8, 2)).astype(np.float32)
    layer = L.simpleRNN({"units": 2, "kernelRegularizer": "l2",
                         "recurrentRegularizer": tf.regularizers.l1({"l1": 0.5})})
    model = tf.sequential({"layers": [L.bidirectional({"layer": layer, "mergeMode": "sum",
                                                       "inputShape": [3, 2]})]})
    model.compile({"optimizer": tf.train.sgd(0.0), "loss": "meanSquaredError"})
    before = model.predict(tf.tensor(x)).dataSync().reshape(8, 2)
    history = asyncio.run(model.fit(tf.tensor(x), tf.tensor(y), {
        "epochs": 1, "batchSize": 8, "verbose": 0}))
    weights = {w.originalName.split("/")[-1] + "@" + w.originalName.split("/")[1]:
               w.read().dataSync() for w in model.weights}
    penalty = sum(0.01 * np.sum(weights[f"kernel@{d}"] ** 2) +
                  0.5 * np.sum(np.abs(weights[f"recurrent_kernel@{d}"]))
                  for d in ("forward_" + layer.name, "backward_" + layer.name))
    expected = np.mean((before - y) ** 2) + penalty
    np.testing.assert_allclose(history.history["loss"][0], expected, rtol=1e-5)

    constrained = tf.sequential({"layers": [L.lstm({
        "units": 2, "inputShape": [3, 2], "kernelConstraint": "nonNeg"})]})
    constrained.compile({"optimizer": tf.train.sgd(0.5), "loss": "meanSquaredError"})
    asyncio.run(constrained.fit(tf.tensor(x), tf.tensor(y), {"epochs": 2, "verbose": 0}))
    assert (constrained.layers[0].weights[0].read().dataSync() >= 0).all()
