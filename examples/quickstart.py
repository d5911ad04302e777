"""The seed example: fit y = 2x - 1 with one dense unit, then predict x = 5 (about 9)."""
import asyncio

import kiln as tf


async def main():
    model = tf.sequential()
    model.add(tf.layers.dense({'units': 1, 'inputShape': [1]}))
    model.compile({'optimizer': 'sgd', 'loss': 'meanSquaredError'})
    xs = tf.tensor2d([[1], [2], [3], [4]], [4, 1])
    ys = tf.tensor2d([[1], [3], [5], [7]], [4, 1])
    await model.fit(xs, ys, {'epochs': 1000, 'verbose': 0})
    model.predict(tf.tensor2d([[5]], [1, 1])).print()


asyncio.run(main())
