"""The sliding-window shuffle of TF.js's ShuffleIterator.

A buffer holds the next `windowSize` upstream results (end-of-stream results included, as
TF.js's buffer of pending promises does). Each step picks index floor(random() * length),
removes that entry by moving the last entry into its slot (RingBuffer.shuffleExcise), and
refills the buffer after handing out an element. With the same seed string and the same
upstream, the order is the one TensorFlow.js produces.
"""
from __future__ import annotations

import secrets

from kiln.frontend.data.alea import Alea
from kiln.frontend.data.lazy_iterator import LazyIterator, done
from kiln.frontend.data.structure import dispose_all


def fresh_seed() -> str:
    """A seed for an unseeded shuffle (TF.js uses the current time)."""
    return secrets.token_hex(8)


class ShuffleIterator(LazyIterator):
    def __init__(self, upstream: LazyIterator, windowSize: int, seed=None):
        self.upstream = upstream
        self.windowSize = windowSize
        self.random = Alea(seed if seed is not None else fresh_seed())
        self.buffer: list = []
        self.upstream_exhausted = False

    def summary(self):
        return f"{self.upstream.summary()} -> Shuffle"

    async def _refill(self):
        while len(self.buffer) < self.windowSize:
            self.buffer.append(await self.upstream.next())

    def _excise(self, index: int) -> dict:
        chosen = self.buffer[index]
        last = self.buffer.pop()
        if index < len(self.buffer):
            self.buffer[index] = last
        return chosen

    async def _next(self):
        if not self.upstream_exhausted:
            await self._refill()
        while self.buffer:
            chosen = self._excise(int(self.random() * len(self.buffer)))
            if chosen["done"]:
                self.upstream_exhausted = True
            else:
                await self._refill()
                return chosen
        return done()

    async def aclose(self):
        for pending in self.buffer:     # read but never handed out
            if not pending["done"]:
                dispose_all(pending["value"])
        self.buffer.clear()
        self.upstream_exhausted = True
        await super().aclose()
