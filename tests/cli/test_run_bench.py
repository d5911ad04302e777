"""`kiln run` (npy / JSON in and out, a printed summary) and `kiln bench`."""
import json
import re

import numpy as np

from tests.aot.helpers import ROOT
from tests.cli.test_compile import RINGS, kiln

EXPECTED = json.loads((RINGS.parent / "expected.json").read_text())   # written by TF.js


def tfjs_io():
    x = np.array(EXPECTED["input"]["data"], np.float32).reshape(EXPECTED["input"]["shape"])
    y = np.array(EXPECTED["output"]["data"], np.float32).reshape(EXPECTED["output"]["shape"])
    return x, y


def test_run_npy_in_and_out(tmp_path, capsys):
    x, y = tfjs_io()
    np.save(tmp_path / "x.npy", x)
    code, out, err = kiln(capsys, "run", RINGS, "--input", tmp_path / "x.npy", "--output",
                          tmp_path / "y.npy")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == f"model {RINGS}: inputs dense_Dense1_input [4, 2] float32"
    assert lines[1].startswith("output 0 dense_Dense3 [4, 3] float32: 0.991739 0.00807495 ")
    assert re.fullmatch(r"time: load [\d.]+ m?s, first predict \(compiles\) [\d.]+ m?s, "
                        r"predict [\d.]+ (µs|ms|s)", lines[2])
    assert lines[3] == f"wrote {tmp_path / 'y.npy'}"
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), y, rtol=1e-5, atol=1e-7)


def test_run_json_in_and_out(tmp_path, capsys):
    x, y = tfjs_io()
    (tmp_path / "x.json").write_text(json.dumps(x.tolist()))
    code, out, err = kiln(capsys, "run", RINGS.parent, "--input", tmp_path / "x.json",
                          "--output", tmp_path / "y.json")
    assert (code, err) == (0, "")
    got = json.loads((tmp_path / "y.json").read_text())
    np.testing.assert_allclose(np.array(got, np.float32), y, rtol=1e-5, atol=1e-7)
    (tmp_path / "named.json").write_text(json.dumps({"dense_Dense1_input": x.tolist()}))
    assert kiln(capsys, "run", RINGS, "--input", tmp_path / "named.json")[0] == 0


def test_run_bad_input(tmp_path, capsys):
    np.save(tmp_path / "wide.npy", np.zeros((2, 5), np.float32))
    code, out, err = kiln(capsys, "run", RINGS, "--input", tmp_path / "wide.npy")
    assert code == 1
    assert err == ("kiln run: error: predict: input 'dense_Dense1_input' of model 'rings' expects "
                   "shape [None, 2], but got an array of shape [2, 5]\n")
    (tmp_path / "named.json").write_text(json.dumps({"x": [[1, 2]]}))
    code, out, err = kiln(capsys, "run", RINGS, "--input", tmp_path / "named.json")
    assert (code, err) == (1, "kiln run: error: the model's inputs are ['dense_Dense1_input']; "
                              "the input files name ['x']\n")
    code, out, err = kiln(capsys, "run", RINGS, "--input", tmp_path / "missing.npy")
    assert code == 1 and "input file" in err and "does not exist" in err
    (tmp_path / "x.csv").write_text("1,2\n")
    code, out, err = kiln(capsys, "run", RINGS, "--input", tmp_path / "x.csv")
    assert code == 1 and "expected a .npy, .npz or .json file" in err
    code, out, err = kiln(capsys, "run", RINGS, "--input", tmp_path / "x.csv", "--output",
                          tmp_path / "y.txt")
    assert code == 1 and "output file" in err and "expected a .npy, .npz or .json name" in err


def test_bench(capsys):
    code, out, err = kiln(capsys, "bench", RINGS, "--batch", "4", "--seconds", "0.05")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith(f"model {RINGS}: 3 layers, 371 parameters; batch 4; ")
    time = r"[\d.]+ (µs|ms|s)"
    assert re.fullmatch(rf"load +{time}", lines[1])
    assert re.fullmatch(rf"compile +cold {time} \(empty cache\), warm {time} \(disk cache\); "
                        r"\d+ kernels", lines[2])
    assert re.fullmatch(rf"latency +median {time} per batch \(p10 {time}, p90 {time}; \d+ "
                        r"calls\)", lines[3])
    assert re.fullmatch(r"throughput +[\d,]+ samples/s", lines[4])
    assert re.fullmatch(r"memory +arena [\d.]+ K?B, weights 1.4 KB, peak RSS [\d.]+ [KMG]B",
                        lines[5])


def test_run_multi_input_npz_in_and_out(tmp_path, capsys):
    folder = ROOT / "tests" / "fixtures" / "tfjs" / "functional_multi_io"
    io = json.loads((folder / "io.json").read_text())           # written by TF.js
    np.savez(tmp_path / "x.npz", **{r["name"]: np.array(r["data"], np.float32).reshape(r["shape"])
                                    for r in io["inputs"]})
    code, out, err = kiln(capsys, "run", folder / "model.json", "--input", tmp_path / "x.npz",
                          "--output", tmp_path / "y.npz")
    assert (code, err) == (0, "")
    assert out.splitlines()[0].endswith("inputs input_a [3, 4] float32, input_b [3, 4] float32")
    with np.load(tmp_path / "y.npz") as got:
        assert got.files == ["class_out", "reg_out"]
        for record in io["outputs"]:
            np.testing.assert_allclose(got[record["name"]].reshape(-1), record["data"],
                                       rtol=1e-5, atol=1e-6)
