"""kiln inspect MODEL.json [--stage S] [--format text|json|dot] [--batch N] [--train]
[--kernel K] [--render FILE]: the compiler's view of a model (see tf.inspect).

Without --stage, text shows the kernels and the nodes each fuses; json prints one object with
`kernels` and `memory` for the optimized inference plan at batch N (default 1), or for the
training step with --train (compiled with the model's training config, or adam and the
first of meanSquaredError / categoricalCrossentropy that fits when the file has none).
"""
from __future__ import annotations

import json
import shutil
import subprocess

from kiln.cli.common import UserError, load_model

HELP = "show the IR at any compiler stage, the fusion groups and the memory plan"


def add_arguments(parser) -> None:
    from kiln.frontend.inspect import FORMATS, STAGES

    parser.add_argument("model", help="model.json (or its folder) or a Keras .keras/.h5 file")
    parser.add_argument("--stage", choices=STAGES, help="one stage (default: the fused plan)")
    parser.add_argument("--format", choices=FORMATS, default="text")
    parser.add_argument("--batch", type=int, default=1, metavar="N",
                        help="batch size the model is compiled for (default 1)")
    parser.add_argument("--train", action="store_true", help="inspect the training step")
    parser.add_argument("--kernel", metavar="K", help="one kernel (k0, k1, ...) for the "
                        "llvm, llvm-opt and asm stages")
    parser.add_argument("--render", metavar="FILE", help="with --format dot: render to FILE "
                        "(.svg/.png/.pdf) with Graphviz's dot, if installed")


def _ensure_compiled(model) -> None:
    if getattr(model, "compiled", None) is not None:
        return
    loss = "categoricalCrossentropy" if model.outputs[0].shape[-1] not in (None, 1) \
        else "meanSquaredError"
    model.compile({"optimizer": "adam", "loss": loss})


def main(args) -> int:
    import kiln as tf

    if args.batch < 1:
        raise UserError(f"--batch must be positive, got {args.batch}")
    if args.render and args.format != "dot":
        raise UserError("--render needs --format dot")
    model = load_model(args.model)
    if args.train:
        _ensure_compiled(model)
    result = tf.inspect(model, args.stage, args.format, args.batch, args.train, args.kernel)
    if args.format == "json":
        print(json.dumps(result, indent=2))
    else:
        print(result)
    if args.render:
        dot = shutil.which("dot")
        if dot is None:
            raise UserError("--render needs Graphviz's `dot` program on PATH")
        kind = args.render.rsplit(".", 1)[-1]
        subprocess.run([dot, f"-T{kind}", "-o", args.render], input=result, text=True,
                       check=True)
    return 0
