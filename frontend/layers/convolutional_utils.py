"""Helpers shared by the convolution, pooling and reshaping layers.

The IR's window ops are channels last; a channelsFirst layer transposes its input to channels
last, computes, and transposes back (the transposes fuse into neighbouring kernels' index
arithmetic or become one cheap copy each).
"""
from __future__ import annotations

from kiln.frontend.layers._common import check_choice
from kiln.frontend.ops import linalg

DATA_FORMATS = ("channelsLast", "channelsFirst")
PADDINGS = ("valid", "same", "causal")


class DataFormatOnlyWhenChannelsFirst:
    """Mixin for the 1-D layers whose TF.js class has no dataFormat option (kiln accepts one,
    as Keras): the config carries dataFormat only when it is not the default."""

    def getConfig(self):
        config = super().getConfig()
        if self.dataFormat == "channelsLast":
            del config["dataFormat"]
        return config


def normalize_tuple(value, n: int, name: str, owner: str) -> tuple[int, ...]:
    """An integer or a list of n (or 1) integers, each >= 1 (TF.js's normalizeArray)."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{owner}: {name} must be an integer or a list of {n} integers, "
                         f"got {value!r}")
    if isinstance(value, (int, float)):
        values = (value,) * n
    else:
        try:
            values = tuple(value)
        except TypeError:
            raise ValueError(f"{owner}: {name} must be an integer or a list of {n} integers, "
                             f"got {value!r}") from None
        if len(values) == 1:
            values *= n
    if len(values) != n or any(isinstance(v, bool) or not isinstance(v, (int, float))
                               or int(v) != v or v < 1 for v in values):
        raise ValueError(f"{owner}: {name} must be a positive integer or a list of {n} positive "
                         f"integers, got {value!r}")
    return tuple(int(v) for v in values)


def check_data_format(value, owner: str) -> str:
    return check_choice(value, DATA_FORMATS, "dataFormat", owner)


def check_padding(value, owner: str, allowed=PADDINGS) -> str:
    return check_choice(value, allowed, "padding", owner)


def spatial_shape(shape, data_format: str) -> list:
    return list(shape[2:]) if data_format == "channelsFirst" else list(shape[1:-1])


def channel_axis(rank: int, data_format: str) -> int:
    return 1 if data_format == "channelsFirst" else rank - 1


def assemble_shape(batch, spatial, channels, data_format: str) -> list:
    if data_format == "channelsFirst":
        return [batch, channels, *spatial]
    return [batch, *spatial, channels]


def to_channels_last(x, data_format: str):
    if data_format != "channelsFirst":
        return x
    return linalg.transpose(x, [0, *range(2, x.rank), 1])


def from_channels_last(y, data_format: str):
    if data_format != "channelsFirst":
        return y
    return linalg.transpose(y, [0, y.rank - 1, *range(1, y.rank - 1)])
