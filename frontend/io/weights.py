"""Weight specs and binary weight data in TF.js's layout.

A manifest entry is {"name", "shape", "dtype"[, "group"][, "quantization"]}; the binary data of
a manifest group is the concatenation of its shard files, each weight a little-endian typed
array in manifest order. Quantized weights (written by the tensorflowjs converter) store
uint8/uint16 values q with value = q * scale + min, or float16 values; they are dequantized to
float32 here, as TF.js does (the affine map computed in double, then rounded to float32).
"""
from __future__ import annotations

import math

import numpy as np

from kiln.frontend.io.errors import WeightsError

DTYPES = {"float32": np.dtype("<f4"), "int32": np.dtype("<i4"), "bool": np.dtype("bool")}
QUANTIZED = {"uint8": np.dtype("u1"), "uint16": np.dtype("<u2"), "float16": np.dtype("<f2")}
SHARD_BYTES = 4 * 1024 * 1024        # TF.js converter's default shard size


def spec_shape(spec: dict, where: str) -> list[int]:
    shape = spec.get("shape")
    if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool)
                                              and d >= 0 for d in shape):
        raise WeightsError(f"{where}: weight {spec.get('name')!r} has an invalid shape "
                           f"{shape!r} (expected a list of non-negative integers)")
    return shape


def stored_dtype(spec: dict, where: str) -> np.dtype:
    """The dtype of the bytes in the file (the quantized one, if any)."""
    name = spec.get("name")
    quantization = spec.get("quantization")
    dtype = spec.get("dtype", "float32")
    if quantization is not None:
        qtype = quantization.get("dtype") if isinstance(quantization, dict) else None
        if qtype not in QUANTIZED:
            raise WeightsError(f"{where}: weight {name!r} has unknown quantization dtype "
                               f"{qtype!r}; supported: 'uint8', 'uint16', 'float16'")
        if qtype in ("uint8", "uint16") and not ("scale" in quantization and
                                                 "min" in quantization):
            raise WeightsError(f"{where}: weight {name!r} is quantized to {qtype} but its "
                               "quantization has no 'scale' and 'min'")
        if qtype == "float16" and dtype != "float32":
            raise WeightsError(f"{where}: weight {name!r} is float16-quantized but has dtype "
                               f"{dtype!r} (only float32 weights can be)")
        return QUANTIZED[qtype]
    if dtype not in DTYPES:
        raise WeightsError(f"{where}: weight {name!r} has dtype {dtype!r}, which kiln cannot "
                           f"load (supported: {', '.join(DTYPES)})")
    return DTYPES[dtype]


def byte_size(specs: list[dict], where: str) -> int:
    """Bytes the specs occupy (exact integers: absurd shapes give absurd sizes, not overflow)."""
    return sum(math.prod(spec_shape(s, where)) * stored_dtype(s, where).itemsize for s in specs)


def decode_weights(data: bytes | memoryview, specs: list[dict], where: str):
    """[(spec, array)] from one manifest group's bytes; the sizes must match exactly."""
    expected = byte_size(specs, where)
    if len(data) != expected:
        relation = "shorter" if len(data) < expected else "longer"
        raise WeightsError(f"{where}: the weight data is {relation} than the manifest says: "
                           f"{len(data)} bytes, but the {len(specs)} weight(s) listed need "
                           f"{expected} bytes")
    result = []
    offset = 0
    for spec in specs:
        shape = spec_shape(spec, where)
        dtype = stored_dtype(spec, where)
        count = math.prod(shape)
        raw = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
        offset += count * dtype.itemsize
        result.append((spec, dequantize(raw, spec).reshape(shape)))
    return result


def dequantize(raw: np.ndarray, spec: dict) -> np.ndarray:
    quantization = spec.get("quantization")
    target = spec.get("dtype", "float32")
    if quantization is None:
        return raw.astype(DTYPES[target].newbyteorder("="), copy=True)
    if quantization["dtype"] == "float16":
        return raw.astype(np.float32)
    values = raw.astype(np.float64) * float(quantization["scale"]) + float(quantization["min"])
    if target == "int32":
        return np.round(values).astype(np.int32)
    return values.astype(np.float32)


def encode_weights(named: list[tuple[str, np.ndarray]], group: str | None = None):
    """(specs, bytes) for [(name, array)] in order, as TF.js's io.encodeWeights."""
    specs, chunks = [], []
    for name, array in named:
        array = np.asarray(array)
        dtype = {np.dtype(np.float32): "float32", np.dtype(np.int32): "int32",
                 np.dtype(np.bool_): "bool"}.get(array.dtype.newbyteorder("="))
        if dtype is None:
            raise WeightsError(f"cannot save weight {name!r} of dtype {array.dtype}: the "
                               "layers-model format stores float32, int32 and bool")
        spec = {"name": name, "shape": [int(d) for d in array.shape], "dtype": dtype}
        if group is not None:
            spec["group"] = group
        specs.append(spec)
        chunks.append(np.ascontiguousarray(array, dtype=DTYPES[dtype]).tobytes())
    return specs, b"".join(chunks)


def shard_names(total_bytes: int, shard_bytes: int = SHARD_BYTES) -> list[tuple[str, int, int]]:
    """[(file name, start, end)]: 'weights.bin' when the data fits one shard (as tfjs-node
    writes), else 'group1-shard1ofN.bin' ... (as the converter writes)."""
    if total_bytes <= shard_bytes:
        return [("weights.bin", 0, total_bytes)]
    count = math.ceil(total_bytes / shard_bytes)
    return [(f"group1-shard{i + 1}of{count}.bin", i * shard_bytes,
             min(total_bytes, (i + 1) * shard_bytes)) for i in range(count)]
