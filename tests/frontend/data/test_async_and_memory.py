"""tf.data under asyncio and tf.memory(): tensor counts stay flat across epochs, the event
loop keeps turning during long epochs, abandoned iterations clean up."""
import asyncio
import time

import kiln as tf


def run(coro):
    return asyncio.run(coro)


def training_like_pipeline():
    """What fitDataset consumes: shuffled, mapped, batched {xs, ys} tensors."""
    items = [{"xs": tf.tensor([i, i + 1]), "ys": i % 2} for i in range(10)]
    return items, (tf.data.array(items)
                   .map(lambda e: {"xs": e["xs"].mul(0.5), "ys": e["ys"]})
                   .shuffle(10, "m").batch(4))


def test_memory_is_flat_across_epochs(steady_memory):
    items, ds = training_like_pipeline()
    assert ds.size == 3

    async def epoch():
        shapes = []
        async for batch in ds:
            shapes.append((batch["xs"].shape, batch["ys"].shape))
            tf.dispose(batch)
        return shapes
    assert run(epoch()) == [([4, 2], [4]), ([4, 2], [4]), ([2, 2], [2])]   # warm-up compiles
    baseline = tf.memory()["numTensors"]
    for _ in range(3):
        run(epoch())
        assert tf.memory()["numTensors"] == baseline
    assert all(not e["xs"].isDisposed for e in items)


def test_memory_is_flat_with_filter_skip_and_dropped_last_batch(steady_memory):
    ds = (tf.data.array([tf.tensor([i]) for i in range(9)])
          .skip(1).filter(lambda t: t.dataSync()[0] != 4).batch(3, False))
    before = tf.memory()["numTensors"]

    async def epoch():
        n = 0
        async for batch in ds:
            n += 1
            batch.dispose()
        return n
    assert run(epoch()) == 2          # 7 elements -> two full batches, the 7th dropped
    assert tf.memory()["numTensors"] == before


def test_the_event_loop_keeps_running_during_a_slow_synchronous_epoch():
    def slow_source():
        for i in range(60):
            time.sleep(0.001)          # a blocking reader, e.g. parsing
            yield i

    async def main():
        ticks = 0
        finished = False

        async def ticker():
            nonlocal ticks
            while not finished:
                ticks += 1
                await asyncio.sleep(0)
        task = asyncio.ensure_future(ticker())
        total = 0
        async for x in tf.data.generator(slow_source).map(lambda x: x + 1):
            total += x
        finished = True
        await task
        return total, ticks
    total, ticks = run(main())
    assert total == sum(range(1, 61))
    assert ticks >= 5                  # ~60 ms of work, a turn for others every 5 ms


def test_prefetch_reads_ahead_while_the_consumer_works():
    reads = []

    async def source():
        for i in range(6):
            reads.append(i)
            yield i

    async def main():
        it = await tf.data.generator(source).prefetch(3).iterator()
        first = await it.next()
        await asyncio.sleep(0.01)                 # the consumer "trains"; prefetch keeps reading
        ahead = len(reads)
        rest = [x async for x in it]
        return first["value"], ahead, rest
    first, ahead, rest = run(main())
    assert first == 0 and ahead >= 3 and rest == [1, 2, 3, 4, 5]


def test_breaking_out_of_async_for_closes_the_source_and_prefetch(steady_memory):
    closed = []

    async def source():
        try:
            for i in range(1000):
                yield tf.tensor([i])
        finally:
            closed.append(True)

    async def main():
        ds = tf.data.generator(source).prefetch(4)
        async for t in ds:
            t.dispose()
            break
        # Python finalizes an abandoned async generator in a task of its own, soon after.
        for _ in range(100):
            if len(asyncio.all_tasks()) == 1:
                break
            await asyncio.sleep(0.001)
        return len(asyncio.all_tasks())
    before = tf.memory()["numTensors"]
    remaining_tasks = run(main())
    assert closed == [True]
    assert remaining_tasks == 1                   # only main(): the prefetch task is gone
    assert tf.memory()["numTensors"] == before    # read-ahead elements were disposed


def test_to_array_after_prefetch_and_take_leaves_no_background_task():
    async def main():
        out = await tf.data.array(list(range(100))).prefetch(10).take(3).toArray()
        return out, len(asyncio.all_tasks())
    assert run(main()) == ([0, 1, 2], 1)


def test_async_filter_returning_tensors_and_abandoned_shuffle_leak_nothing(steady_memory):
    async def positive(t):
        await asyncio.sleep(0)
        return t.greater(0)
    ds = tf.data.array([tf.scalar(v) for v in (-1, 2, -3, 4)])
    before = tf.memory()["numTensors"]
    kept = run(ds.filter(positive).toArray())
    assert [t.arraySync() for t in kept] == [2, 4]
    tf.dispose(kept)
    assert run(ds.shuffle(4, "z").take(1).toArray())[0].dispose() is None
    assert tf.memory()["numTensors"] == before
