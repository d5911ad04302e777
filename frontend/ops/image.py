"""tf.image: resizeBilinear and resizeNearestNeighbor (TF.js signatures and coordinate rules)."""
from __future__ import annotations

from kiln.frontend.ops.convert import convert
from kiln.frontend.ops.dispatch import apply
from kiln.frontend.ops.math import _as


def resize(images, size, method: str, alignCorners=False, halfPixelCenters=False, op="resize"):
    """Resize rank-3 or rank-4 channels-last images to size [newHeight, newWidth]."""
    images = convert(images, "images", op)
    if images.rank not in (3, 4):
        raise ValueError(f"{op}: images must be rank 3 or 4, but got rank {images.rank} "
                         f"(shape {images.shape})")
    size = [int(d) for d in size]
    if len(size) != 2 or min(size) < 1:
        raise ValueError(f"{op}: new shape must be 2 positive integers, got {size}")
    if alignCorners and halfPixelCenters:
        raise ValueError(f"{op}: if halfPixelCenters is true, alignCorners must be false")
    x = images if images.rank == 4 else apply("reshape", [images], {"shape": (1, *images.shape)})
    dtype = x.dtype
    y = apply("resize", [_as(x, "float32")],
              {"size": tuple(size), "method": method, "alignCorners": bool(alignCorners),
               "halfPixelCenters": bool(halfPixelCenters)})
    if method == "nearest" and dtype != "float32":
        y = _as(y, dtype)
    return y if images.rank == 4 else apply("reshape", [y], {"shape": tuple(y.shape[1:])})


def resizeBilinear(images, size, alignCorners=False, halfPixelCenters=False):
    """tf.image.resizeBilinear(images, [newHeight, newWidth], alignCorners?, halfPixelCenters?)."""
    return resize(images, size, "bilinear", alignCorners, halfPixelCenters, "resizeBilinear")


def resizeNearestNeighbor(images, size, alignCorners=False, halfPixelCenters=False):
    """tf.image.resizeNearestNeighbor(images, size, alignCorners?, halfPixelCenters?)."""
    return resize(images, size, "nearest", alignCorners, halfPixelCenters,
                  "resizeNearestNeighbor")
