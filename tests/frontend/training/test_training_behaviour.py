"""Training-mode behaviour: dropout only while training (seeded, counter-based in native
code), regularizers in the loss, constraints after each update, frozen layers."""
import asyncio

import numpy as np
import pytest

import kiln as tf


def test_dropout_is_active_only_in_training():
    layer = tf.layers.dropout({"rate": 0.5, "seed": 3})
    x = tf.ones([64, 64])
    np.testing.assert_array_equal(layer.apply(x).dataSync(), x.dataSync())
    trained = layer.apply(x, {"training": True}).dataSync()
    assert set(np.unique(trained)) <= {0.0, 2.0}
    assert 0.4 < np.mean(trained == 0) < 0.6
    again = layer.apply(x, {"training": True}).dataSync()
    np.testing.assert_array_equal(trained, again)       # an explicit seed repeats the mask


def test_unseeded_dropout_masks_differ_between_training_steps():
    x = tf.input({"shape": [256]})
    y = tf.layers.dropout({"rate": 0.5}).apply(x)
    model = tf.model({"inputs": x, "outputs": y})
    model.compile({"optimizer": "sgd", "loss": "meanSquaredError"})
    masks = []

    class Grab(tf.Callback):
        def onBatchEnd(self, batch, logs=None):
            masks.append(logs["loss"])

    data = np.ones((1, 256), np.float32)
    asyncio.run(model.fit(data, np.zeros((1, 256), np.float32),
                          {"epochs": 5, "verbose": 0, "callbacks": [Grab()]}))
    # loss = mean(y^2) = 4 * fraction kept; different masks give different losses
    assert len(set(round(m, 6) for m in masks)) > 1
    assert all(1.0 < m < 3.0 for m in masks)


def test_regularization_is_added_to_the_loss():
    layer = tf.layers.dense({"units": 1, "inputShape": [2], "useBias": False,
                             "kernelRegularizer": tf.regularizers.l2({"l2": 0.5})})
    model = tf.sequential({"layers": [layer]})
    model.setWeights([tf.tensor([[1.0], [2.0]])])
    model.compile({"optimizer": tf.train.sgd(0.0), "loss": "meanSquaredError"})
    x = np.array([[1.0, 1.0]], np.float32)
    y = np.array([[0.0]], np.float32)
    history = asyncio.run(model.fit(x, y, {"epochs": 1, "verbose": 0}))
    assert history.history["loss"][0] == pytest.approx(9.0 + 0.5 * (1 + 4), rel=1e-6)
    # evaluate reports the data loss only (as Keras/TF.js do for regularization at test time)
    assert model.evaluate(x, y).dataSync()[0] == pytest.approx(9.0, rel=1e-6)


def test_constraints_apply_after_each_update():
    layer = tf.layers.dense({"units": 1, "inputShape": [2], "useBias": False,
                             "kernelConstraint": "nonNeg"})
    model = tf.sequential({"layers": [layer]})
    model.setWeights([tf.tensor([[0.1], [0.1]])])
    model.compile({"optimizer": tf.train.sgd(1.0), "loss": "meanSquaredError"})
    x = np.array([[1.0, 1.0]], np.float32)
    asyncio.run(model.fit(x, np.array([[-10.0]], np.float32), {"epochs": 1, "verbose": 0}))
    np.testing.assert_array_equal(model.getWeights()[0].dataSync(), [0.0, 0.0])


def test_frozen_layers_do_not_change():
    first = tf.layers.dense({"units": 3, "inputShape": [2]})
    second = tf.layers.dense({"units": 1})
    model = tf.sequential({"layers": [first, second]})
    first.trainable = False
    model.compile({"optimizer": tf.train.sgd(0.1), "loss": "meanSquaredError"})
    before = [w.dataSync() for w in first.getWeights()]
    after_second = second.getWeights()[0].dataSync()
    x = np.random.default_rng(0).normal(size=(8, 2)).astype(np.float32)
    asyncio.run(model.fit(x, np.ones((8, 1), np.float32), {"epochs": 2, "verbose": 0}))
    for b, a in zip(before, first.getWeights()):
        np.testing.assert_array_equal(b, a.dataSync())
    assert not np.array_equal(after_second, second.getWeights()[0].dataSync())
    assert len(model.trainableWeights) == 2 and len(model.nonTrainableWeights) == 2


def test_activity_regularizer_penalizes_outputs_per_sample():
    layer = tf.layers.dense({"units": 1, "inputShape": [2], "useBias": False,
                             "activityRegularizer": tf.regularizers.l1({"l1": 0.1})})
    model = tf.sequential({"layers": [layer]})
    model.setWeights([tf.tensor([[1.0], [2.0]])])
    model.compile({"optimizer": tf.train.sgd(0.0), "loss": "meanSquaredError"})
    x = np.array([[1.0, 1.0], [2.0, -3.0]], np.float32)      # outputs 3 and -4
    y = np.zeros((2, 1), np.float32)
    history = asyncio.run(model.fit(x, y, {"epochs": 1, "verbose": 0, "shuffle": False}))
    expected = (9 + 16) / 2 + 0.1 * (3 + 4) / 2
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-6)
