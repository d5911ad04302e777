"""The Resizing preprocessing layer (TF.js src/layers/preprocessing/image_resizing.ts).

Follows what the options promise, as Keras's Resizing does, not TF.js 4.22's behaviour, which
cannot run inside a model (its call passes the input list to the resize op), drops the batch
axis in computeOutputShape, and passes `!cropToAspectRatio` as resizeBilinear's alignCorners
argument without ever cropping. kiln resizes with half-pixel centers (TensorFlow 2's
tf.image.resize) and, with cropToAspectRatio, first crops the largest centered window that has
the target aspect ratio (Keras's smart_resize rule).
"""
from __future__ import annotations

from kiln.frontend.engine.config import REQUIRED
from kiln.frontend.engine.layer import InputSpec, Layer
from kiln.frontend.layers._common import check_choice
from kiln.frontend.layers.convolutional_utils import normalize_tuple
from kiln.frontend.ops import image, shape as s
from kiln.frontend.serialization import registerClass


@registerClass
class Resizing(Layer):
    """[batch, h, w, c] (or unbatched [h, w, c]) -> [batch, height, width, c]."""

    className = "Resizing"
    ARGS = {"height": REQUIRED, "width": REQUIRED, "interpolation": "bilinear",
            "cropToAspectRatio": False}

    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        owner = f"Resizing layer {self.name!r}"
        self.height = normalize_tuple(self.args["height"], 1, "height", owner)[0]
        self.width = normalize_tuple(self.args["width"], 1, "width", owner)[0]
        self.interpolation = check_choice(self.args["interpolation"], ("bilinear", "nearest"),
                                          "interpolation", owner)
        self.cropToAspectRatio = bool(self.args["cropToAspectRatio"])
        self.inputSpec = [InputSpec(minNDim=3, maxNDim=4)]

    def computeOutputShape(self, inputShape):
        return list(inputShape[:-3]) + [self.height, self.width, inputShape[-1]]

    def _crop_box(self, h: int, w: int):
        """(top, left, height, width) of the centered window with the target aspect ratio."""
        crop_h = max(1, min(h, int(w * self.height / self.width)))
        crop_w = max(1, min(w, int(h * self.width / self.height)))
        return (h - crop_h) // 2, (w - crop_w) // 2, crop_h, crop_w

    def call(self, inputs, kwargs):
        x = inputs
        if self.cropToAspectRatio:
            top, left, ch, cw = self._crop_box(x.shape[-3], x.shape[-2])
            lead = [0] * (x.rank - 3)
            x = s.slice(x, lead + [top, left, 0], x.shape[:-3] + [ch, cw, x.shape[-1]])
        return image.resize(x, [self.height, self.width], self.interpolation, False, True,
                            op=f"Resizing layer {self.name!r}")

    def getConfig(self):
        return {"height": self.height, "width": self.width, "interpolation": self.interpolation,
                "cropToAspectRatio": self.cropToAspectRatio, **super().getConfig()}
