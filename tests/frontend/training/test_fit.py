"""compile / fit / evaluate / trainOnBatch behaviour: the seed example, learning, callbacks,
validation, progress output, concurrency with asyncio, and every error case."""
import asyncio
import io
import contextlib

import numpy as np
import pytest

import kiln as tf


def seed_model():
    model = tf.sequential()
    model.add(tf.layers.dense({"units": 1, "inputShape": [1]}))
    model.compile({"optimizer": "sgd", "loss": "meanSquaredError"})
    return model


def test_seed_example_predicts_nine():
    model = seed_model()
    xs = tf.tensor2d([[1], [2], [3], [4]], [4, 1])
    ys = tf.tensor2d([[1], [3], [5], [7]], [4, 1])
    history = asyncio.run(model.fit(xs, ys, {"epochs": 1000, "verbose": 0}))
    assert len(history.history["loss"]) == 1000 and history.epoch[-1] == 999
    assert history.history["loss"][-1] < history.history["loss"][0]
    prediction = model.predict(tf.tensor2d([[5]], [1, 1])).dataSync()[0]
    assert abs(prediction - 9) < 0.1


def separable_problem(n=512, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    labels = (x[:, 0] + 0.5 * x[:, 1] - x[:, 2] > 0).astype(np.int32)
    y = np.eye(2, dtype=np.float32)[labels]
    return x, y


def test_mlp_learns_separable_problem():
    x, y = separable_problem()
    model = tf.sequential({"layers": [
        tf.layers.dense({"units": 16, "activation": "relu", "inputShape": [4]}),
        tf.layers.dense({"units": 2, "activation": "softmax"})]})
    model.compile({"optimizer": tf.train.adam(0.05), "loss": "categoricalCrossentropy",
                   "metrics": ["accuracy"]})
    history = asyncio.run(model.fit(x, y, {"epochs": 15, "batchSize": 32, "verbose": 0,
                                           "seed": 1}))
    assert history.history["acc"][-1] >= 0.95
    loss, acc = model.evaluate(x, y)
    assert acc.dataSync()[0] >= 0.95
    expected = np.mean(np.argmax(model.predict(x).dataSync().reshape(-1, 2), 1) == y.argmax(1))
    assert acc.dataSync()[0] == pytest.approx(expected, abs=1e-6)


def test_validation_split_uses_last_fraction_before_shuffling():
    x = np.arange(10, dtype=np.float32).reshape(10, 1)
    y = np.zeros((10, 1), np.float32)
    seen = []

    class Spy(tf.Callback):
        def onBatchBegin(self, batch, logs=None):
            seen.append(logs["size"])

    model = seed_model()
    history = asyncio.run(model.fit(x, y, {"epochs": 1, "batchSize": 100, "verbose": 0,
                                           "validationSplit": 0.3, "callbacks": [Spy()]}))
    assert seen == [7]
    # val_loss is the MSE of the last three samples (7, 8, 9) under the trained weights
    kernel, bias = (w.dataSync() for w in model.getWeights())
    expected = np.mean((np.array([7, 8, 9]) * kernel[0] + bias[0]) ** 2)
    assert history.history["val_loss"][0] == pytest.approx(expected, rel=1e-4)


def test_validation_data_and_metrics_names():
    x, y = separable_problem(64)
    model = tf.sequential({"layers": [tf.layers.dense({"units": 2, "activation": "softmax",
                                                        "inputShape": [4]})]})
    model.compile({"optimizer": "adam", "loss": "categoricalCrossentropy",
                   "metrics": ["accuracy", "mse"]})
    history = asyncio.run(model.fit(x, y, {"epochs": 2, "verbose": 0,
                                           "validationData": [x[:16], y[:16]]}))
    assert set(history.history) == {"loss", "acc", "mse", "val_loss", "val_acc", "val_mse"}


def test_early_stopping_stops_when_monitor_stalls():
    model = seed_model()
    model.optimizer.learningRate = 0.0          # nothing improves
    x = tf.tensor2d([[1], [2]], [2, 1])
    history = asyncio.run(model.fit(x, x, {
        "epochs": 50, "verbose": 0,
        "callbacks": [tf.callbacks.earlyStopping({"monitor": "loss", "patience": 2})]}))
    assert len(history.epoch) == 3


def test_callbacks_dict_async_hooks_and_stop_training():
    events = []
    model = seed_model()

    async def on_epoch_end(epoch, logs):
        events.append(("epoch", epoch, round(logs["loss"], 6) >= 0))
        if epoch == 2:
            model.stopTraining = True

    x = tf.tensor2d([[1], [2]], [2, 1])
    asyncio.run(model.fit(x, x, {"epochs": 10, "verbose": 0, "callbacks": {
        "onTrainBegin": lambda logs: events.append("begin"),
        "onEpochEnd": on_epoch_end,
        "onTrainEnd": lambda logs: events.append("end")}}))
    assert events == ["begin", ("epoch", 0, True), ("epoch", 1, True), ("epoch", 2, True), "end"]


def test_event_loop_keeps_running_during_fit():
    x, y = separable_problem(2048)
    model = tf.sequential({"layers": [tf.layers.dense({"units": 64, "activation": "relu",
                                                        "inputShape": [4]}),
                                       tf.layers.dense({"units": 2, "activation": "softmax"})]})
    model.compile({"optimizer": "adam", "loss": "categoricalCrossentropy"})
    ticks = []

    async def ticker():
        while True:
            ticks.append(1)
            await asyncio.sleep(0)

    async def main():
        task = asyncio.create_task(ticker())
        await model.fit(x, y, {"epochs": 3, "batchSize": 8, "verbose": 0, "yieldEvery": "batch"})
        task.cancel()

    asyncio.run(main())
    assert len(ticks) > 100


def test_progress_bar_output():
    model = seed_model()
    x = tf.tensor2d([[1], [2], [3]], [3, 1])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        asyncio.run(model.fit(x, x, {"epochs": 2, "batchSize": 2}))
    text = out.getvalue()
    assert "Epoch 1/2" in text and "Epoch 2/2" in text
    final_lines = [line.split("\r")[-1] for line in text.splitlines() if "ms/step" in line
                   or "us/step" in line]
    assert len(final_lines) == 2
    assert final_lines[0].startswith("3/3 [==============================]")
    assert "loss: " in final_lines[0]
    silent = io.StringIO()
    with contextlib.redirect_stdout(silent):
        asyncio.run(model.fit(x, x, {"epochs": 1, "verbose": 0}))
    assert silent.getvalue() == ""


def test_train_on_batch_and_multi_output_logs():
    inp = tf.input({"shape": [3]})
    a = tf.layers.dense({"units": 1, "name": "a"}).apply(inp)
    b = tf.layers.dense({"units": 2, "activation": "softmax", "name": "b"}).apply(inp)
    model = tf.model({"inputs": inp, "outputs": [a, b]})
    model.compile({"optimizer": "sgd", "loss": ["meanSquaredError", "categoricalCrossentropy"],
                   "metrics": {"b": ["accuracy"]}})
    assert model.metricsNames == ["loss", "a_loss", "b_loss", "b_acc"]
    x = np.ones((4, 3), np.float32)
    ya, yb = np.zeros((4, 1), np.float32), np.eye(2, dtype=np.float32)[[0, 1, 0, 1]]
    values = asyncio.run(model.trainOnBatch(x, [ya, yb]))
    assert len(values) == 4 and values[0] == pytest.approx(values[1] + values[2], rel=1e-5)


def test_sample_and_class_weights():
    model = seed_model()
    model.optimizer.learningRate = 0.0
    x = np.array([[1.0], [2.0]], np.float32)
    y = np.array([[0.0], [0.0]], np.float32)
    k, b = (w.dataSync()[0] for w in model.getWeights())
    per_sample = (x[:, 0] * k + b) ** 2
    history = asyncio.run(model.fit(x, y, {"epochs": 1, "verbose": 0, "shuffle": False,
                                           "sampleWeight": [1.0, 3.0]}))
    assert history.history["loss"][0] == pytest.approx(np.mean(per_sample * [1, 3]), rel=1e-5)


def test_errors():
    model = tf.sequential({"layers": [tf.layers.dense({"units": 1, "inputShape": [1]})]})
    x = tf.ones([4, 1])
    with pytest.raises(RuntimeError, match="compiled"):
        asyncio.run(model.fit(x, x))
    with pytest.raises(ValueError, match="Unknown loss 'mse'.*'meanSquaredError'"):
        model.compile({"optimizer": "sgd", "loss": "mse"})
    with pytest.raises(ValueError, match="Unknown metric 'acuracy'.*'accuracy'"):
        model.compile({"optimizer": "sgd", "loss": "meanSquaredError", "metrics": ["acuracy"]})
    with pytest.raises(ValueError, match="Unknown optimizer 'adamm'.*'adam'"):
        model.compile({"optimizer": "adamm", "loss": "meanSquaredError"})
    model.compile({"optimizer": "sgd", "loss": "meanSquaredError"})
    with pytest.raises(ValueError, match="4 input samples.*\\[3\\] target samples"):
        asyncio.run(model.fit(x, tf.ones([3, 1])))
    with pytest.raises(ValueError, match="incompatible"):
        asyncio.run(model.fit(x, tf.ones([4, 3])))


def test_non_finite_loss_is_logged_not_raised():
    model = seed_model()
    x = tf.tensor2d([[1e30], [2e30]], [2, 1])
    history = asyncio.run(model.fit(x, x, {"epochs": 2, "verbose": 0}))
    assert not np.isfinite(history.history["loss"][-1])


def test_fit_dataset_and_evaluate_dataset():
    x, y = separable_problem(256)
    ds = tf.data.zip({"xs": tf.data.array(list(x)), "ys": tf.data.array(list(y))}).batch(32)
    model = tf.sequential({"layers": [
        tf.layers.dense({"units": 16, "activation": "relu", "inputShape": [4]}),
        tf.layers.dense({"units": 2, "activation": "softmax"})]})
    model.compile({"optimizer": tf.train.adam(0.05), "loss": "categoricalCrossentropy",
                   "metrics": ["accuracy"]})
    batches = []
    history = asyncio.run(model.fitDataset(ds, {
        "epochs": 10, "verbose": 0, "validationData": ds,
        "callbacks": {"onBatchEnd": lambda b, logs: batches.append(logs["size"])}}))
    assert batches[:8] == [32] * 8 and len(batches) == 80
    assert history.history["acc"][-1] >= 0.95 and "val_acc" in history.history
    loss, acc = asyncio.run(model.evaluateDataset(ds))
    eloss, eacc = model.evaluate(x, y)
    assert loss.dataSync()[0] == pytest.approx(eloss.dataSync()[0], rel=1e-5)
    assert acc.dataSync()[0] == pytest.approx(eacc.dataSync()[0], rel=1e-6)


def test_fit_dataset_batches_per_epoch_continues_the_iterator():
    x = np.arange(6, dtype=np.float32).reshape(6, 1)
    ds = tf.data.zip([tf.data.array(list(x)), tf.data.array(list(x))]).batch(1)
    seen = []
    model = seed_model()
    model.optimizer.learningRate = 0.0
    asyncio.run(model.fitDataset(ds, {
        "epochs": 3, "batchesPerEpoch": 2, "verbose": 0,
        "callbacks": {"onBatchBegin": lambda b, logs: seen.append(b)}}))
    assert seen == [0, 1, 0, 1, 0, 1]
