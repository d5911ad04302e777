"""The verbose=1 progress bar: one line per epoch, redrawn in place, Keras-style.

    Epoch 3/10
    96/100 [===========================>..] - ETA: 0s - loss: 0.2451 - acc: 0.9062
    100/100 [==============================] - 0s 2ms/step - loss: 0.2410 - acc: 0.91 - val_loss: ...
"""
from __future__ import annotations

import sys
import time

from kiln.frontend.training.callbacks import Callback

WIDTH = 30
REDRAW_SECONDS = 0.1


def _format_logs(logs) -> str:
    parts = []
    for key, value in logs.items():
        if key in ("batch", "size"):
            continue
        parts.append(f"{key}: {value:.4f}" if isinstance(value, float) else f"{key}: {value}")
    return " - ".join(parts)


def _bar(done, total) -> str:
    if not total:
        return ""
    filled = int(WIDTH * done / total)
    arrow = ">" if done < total and filled < WIDTH else ""
    return "[" + "=" * filled + arrow + "." * (WIDTH - filled - len(arrow)) + "]"


class ProgbarLogger(Callback):
    def __init__(self, stream=None):
        super().__init__()
        self.stream = stream

    def _out(self):
        return self.stream or sys.stdout

    def onEpochBegin(self, epoch, logs=None):
        self.epoch_start = time.monotonic()
        self.last_draw = 0.0
        self.seen = 0
        self.batches = 0
        self.totals: dict[str, float] = {}
        out = self._out()
        out.write(f"Epoch {epoch + 1}/{self.params.get('epochs')}\n")
        out.flush()

    def onBatchEnd(self, batch, logs=None):
        size = logs.get("size", 0)
        self.seen += size
        self.batches += 1
        for key, value in logs.items():
            if key not in ("batch", "size"):
                self.totals[key] = self.totals.get(key, 0.0) + value * size
        now = time.monotonic()
        if now - self.last_draw < REDRAW_SECONDS:
            return
        self.last_draw = now
        total = self.params.get("samples") or 0
        elapsed = now - self.epoch_start
        if not total:     # a dataset of unknown size: count what was seen
            averages = {k: v / self.seen for k, v in self.totals.items()}
            self._out().write(f"\r{self.seen} samples - " + _format_logs(averages))
            self._out().flush()
            return
        eta = elapsed / self.seen * (total - self.seen) if self.seen and total else 0.0
        averages = {k: v / self.seen for k, v in self.totals.items()}
        line = f"{self.seen}/{total} {_bar(self.seen, total)} - ETA: {eta:.0f}s"
        if averages:
            line += " - " + _format_logs(averages)
        self._out().write("\r" + line)
        self._out().flush()

    def onEpochEnd(self, epoch, logs=None):
        elapsed = time.monotonic() - self.epoch_start
        total = self.params.get("samples") or self.seen
        per_step = elapsed / max(self.batches, 1)
        unit = f"{per_step * 1000:.0f}ms/step" if per_step >= 1e-3 else \
            f"{per_step * 1e6:.0f}us/step"
        line = f"{self.seen}/{total} {_bar(total, total)} - {elapsed:.0f}s {unit}"
        if logs:
            line += " - " + _format_logs(logs)
        self._out().write("\r" + line + "\n")
        self._out().flush()
