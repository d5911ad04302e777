"""kiln compile MODEL.json -o OUT/: a shared library + C header that run the model without
Python (see kiln.frontend.aot and the generated NAME.h)."""
from __future__ import annotations

import argparse
import re
import time

from kiln.cli.common import format_bytes, format_seconds, load_model

HELP = "compile a model ahead of time into OUT/libNAME.so, OUT/NAME.h and OUT/NAME.o"


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="model.json (TF.js layers format, or its folder) or a "
                        "Keras .keras/.h5 file")
    parser.add_argument("-o", "--output", required=True, metavar="OUT",
                        help="output folder (created if missing)")
    parser.add_argument("--name", help="library name and prefix of its C functions "
                        "(default: the model's name)")
    parser.add_argument("--batch", type=positive_int, default=1, metavar="N",
                        help="samples per NAME_run (default 1; NAME_run_batch takes any count)")
    parser.add_argument("--target-cpu", metavar="CPU", help="instruction set: x86-64-v2, "
                        "x86-64-v3, x86-64-v4 or an LLVM CPU name such as znver3 (default: "
                        "this machine's CPU)")
    parser.add_argument("--weights", choices=["embed", "file"], default="embed",
                        help="embed the weights in the library (default) or write them to "
                        "OUT/NAME.weights for NAME_load_weights")
    parser.add_argument("--threads", type=positive_int, default=1, metavar="N",
                        help="threads large kernels use inside one run (default 1)")


def default_name(model) -> str:
    """The model's name as a C identifier."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", model.name) or "model"
    return f"_{name}" if name[0].isdigit() else name


def main(args) -> int:
    from kiln import codegen
    from kiln.frontend.aot import check_library_name, compile_model
    from kiln.runtime.aot import prepare_output_folder

    # Cheap checks first, so a typo fails before the model is loaded and compiled.
    if args.name is not None:
        check_library_name(args.name)
    target = codegen.named_target(args.target_cpu) if args.target_cpu else codegen.host_target()
    prepare_output_folder(args.output)
    model = load_model(args.model)
    name = args.name or default_name(model)
    check_library_name(name)
    start = time.perf_counter()
    files = compile_model(model, args.output, name=name, batch=args.batch,
                          targetCpu=args.target_cpu, weights=args.weights, threads=args.threads)
    elapsed = time.perf_counter() - start
    spec = files.spec
    threads = f"{spec.threads} thread" + ("s" if spec.threads > 1 else "")
    print(f"compiled {args.model} for {target.cpu}, batch {spec.batch}, {threads}, in "
          f"{format_seconds(elapsed)}")
    print(f"  {files.library}  {format_bytes(files.library.stat().st_size)}")
    print(f"  {files.header}  (the C API)")
    print(f"  {files.object}  {format_bytes(files.object.stat().st_size)}")
    if files.weights is not None:
        print(f"  {files.weights}  {format_bytes(files.weights.stat().st_size)}")
    for kind, tensors in (("input", spec.inputs), ("output", spec.outputs)):
        for t in tensors:
            print(f"  {kind:<6} {t.name} {list(t.shape)} {t.dtype.value}")
    where = "embedded" if spec.weights == "embed" else f"in {files.weights.name}"
    print(f"  {files.kernels} kernels; workspace {format_bytes(files.workspace_bytes)} per run; "
          f"weights {format_bytes(files.weights_bytes)} {where}")
    return 0
