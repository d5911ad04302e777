"""kiln run MODEL.json --input x.npy [--output y.npy]: predict from the command line.

Inputs: .npy files (one --input per model input, in order), an .npz with one array per input
name, or JSON: an array (single-input models) or an object keyed by input name. Outputs:
.npy (one output), .npz (by output name) or .json.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from kiln.cli.common import UserError, format_seconds, load_model

HELP = "run a model on inputs from .npy/.npz/.json files and print a summary"


def add_arguments(parser) -> None:
    parser.add_argument("model", help="model.json (or its folder) or a Keras .keras/.h5 file")
    parser.add_argument("--input", required=True, action="append", metavar="FILE",
                        help="input data: .npy (repeat for several inputs), .npz or .json")
    parser.add_argument("--output", metavar="FILE", help="write the outputs: .npy, .npz or .json")
    parser.add_argument("--batch-size", type=int, default=32, metavar="N",
                        help="samples per compiled call (predict's batchSize, default 32)")


def read_inputs(paths, input_names, dtypes) -> list[np.ndarray]:
    """Arrays for the model's inputs, in order, from the --input files, in the inputs'
    dtypes (float32 for float data; integer data for int32 inputs)."""
    arrays: dict = {}
    ordered: list = []
    for path in map(Path, paths):
        if not path.is_file():
            raise UserError(f"input file {str(path)!r} does not exist")
        suffix = path.suffix.lower()
        try:
            if suffix == ".npy":
                ordered.append(np.load(path, allow_pickle=False))
            elif suffix == ".npz":
                with np.load(path, allow_pickle=False) as data:
                    arrays.update({k: data[k] for k in data.files})
            elif suffix == ".json":
                data = json.loads(path.read_text())
                if isinstance(data, dict):
                    arrays.update({k: np.asarray(v) for k, v in data.items()})
                else:
                    ordered.append(np.asarray(data))
            else:
                raise UserError(f"input file {str(path)!r}: expected a .npy, .npz or .json file")
        except (ValueError, OSError) as e:
            raise UserError(f"cannot read input file {str(path)!r}: {e}") from None
    if arrays:
        if ordered:
            raise UserError("give the inputs either by name (.npz / JSON object) or in order "
                            "(.npy / JSON array), not both")
        unknown = sorted(set(arrays) - set(input_names))
        missing = [n for n in input_names if n not in arrays]
        if unknown or missing:
            raise UserError(f"the model's inputs are {input_names}; the input files name "
                            f"{sorted(arrays)}")
        ordered = [arrays[n] for n in input_names]
    elif len(ordered) != len(input_names):
        raise UserError(f"the model has {len(input_names)} input(s) {input_names}, but "
                        f"{len(ordered)} input array(s) were given")
    return [_as_dtype(a, name, dtype) for a, name, dtype in zip(ordered, input_names, dtypes)]


def _as_dtype(a: np.ndarray, name: str, dtype: str) -> np.ndarray:
    if a.dtype.kind not in "biuf":
        raise UserError(f"input {name!r}: expected numbers, got an array of {a.dtype}")
    if dtype == "int32" and a.dtype.kind == "f" and not np.array_equal(a, np.round(a)):
        raise UserError(f"input {name!r} is int32, but the data has fractions")
    return a.astype({"float32": np.float32, "int32": np.int32, "bool": np.bool_}[dtype])


def write_outputs(path: Path, arrays, names) -> None:
    suffix = path.suffix.lower()
    if suffix == ".npy":
        if len(arrays) != 1:
            raise UserError(f"the model has {len(arrays)} outputs; write them to an .npz or "
                            ".json file")
        np.save(path, arrays[0])
    elif suffix == ".npz":
        np.savez(path, **{_unique(names, i): a for i, a in enumerate(arrays)})
    elif suffix == ".json":
        data = {_unique(names, i): a.tolist() for i, a in enumerate(arrays)}
        path.write_text(json.dumps(data if len(arrays) > 1 else arrays[0].tolist()) + "\n")
    else:
        raise UserError(f"output file {str(path)!r}: expected a .npy, .npz or .json name")


def _unique(names, i) -> str:
    return names[i] if names.count(names[i]) == 1 else f"{names[i]}_{i}"


def main(args) -> int:
    if args.output and Path(args.output).suffix.lower() not in (".npy", ".npz", ".json"):
        raise UserError(f"output file {args.output!r}: expected a .npy, .npz or .json name")
    if args.batch_size < 1:
        raise UserError(f"--batch-size must be positive, got {args.batch_size}")
    start = time.perf_counter()
    model = load_model(args.model)
    loaded = time.perf_counter()
    inputs = read_inputs(args.input, model.inputNames, [x.dtype for x in model.inputs])
    outputs = model.predict(inputs if len(inputs) > 1 else inputs[0],
                            {"batchSize": args.batch_size})
    first = time.perf_counter()
    outputs = outputs if isinstance(outputs, list) else [outputs]
    arrays = [o.dataSync().reshape(o.shape) for o in outputs]
    again = time.perf_counter()
    model.predict(inputs if len(inputs) > 1 else inputs[0], {"batchSize": args.batch_size})
    warm = time.perf_counter() - again

    shapes = ", ".join(f"{n} {list(a.shape)} {a.dtype}" for n, a in zip(model.inputNames, inputs))
    print(f"model {args.model}: inputs {shapes}")
    for i, (name, a) in enumerate(zip(model.outputNames, arrays)):
        flat = a.reshape(-1)
        head = " ".join(f"{v:.6g}" for v in flat[:8]) + (" ..." if flat.size > 8 else "")
        print(f"output {i} {name} {list(a.shape)} {a.dtype}: {head}")
    print(f"time: load {format_seconds(loaded - start)}, first predict (compiles) "
          f"{format_seconds(first - loaded)}, predict {format_seconds(warm)}")
    if args.output:
        write_outputs(Path(args.output), arrays, list(model.outputNames))
        print(f"wrote {args.output}")
    return 0
