"""`kiln compile`: the README's three commands, the options, and bad input (exit code 1 and one
line naming the problem; usage errors exit 2)."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kiln.cli import main
from tests.aot.helpers import ROOT, build_predict, parse_outputs

RINGS = ROOT / "examples" / "aot" / "rings" / "model.json"


def kiln(capsys, *argv):
    """(exit code, stdout, stderr) of `kiln ARGV` run in this process."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_readme_commands(tmp_path, capsys):
    """kiln compile; cc examples/aot/main.c; run it: TF.js's predictions for input.txt."""
    build = tmp_path / "build"
    code, out, err = kiln(capsys, "compile", RINGS, "-o", build, "--name", "rings")
    assert (code, err) == (0, "")
    assert out.startswith(f"compiled {RINGS} for ")
    assert f"{build / 'librings.so'}" in out
    assert sorted(p.name for p in build.iterdir()) == ["librings.so", "rings.h", "rings.o"]
    subprocess.run(["cc", "-O2", "-I", build, ROOT / "examples/aot/main.c", "-L", build,
                    "-lrings", f"-Wl,-rpath,{build}", "-o", build / "predict"], check=True)
    done = subprocess.run([build / "predict", ROOT / "examples/aot/input.txt"],
                          capture_output=True, text=True, check=True)
    (got,) = parse_outputs(done.stdout)
    expected = json.loads((RINGS.parent / "expected.json").read_text())["output"]
    assert list(got.shape) == expected["shape"]
    np.testing.assert_allclose(got.reshape(-1), expected["data"], rtol=1e-5, atol=1e-7)


def test_options_weights_file_batch_and_target(tmp_path, capsys):
    code, out, err = kiln(capsys, "compile", RINGS, "-o", tmp_path, "--weights", "file",
                          "--batch", "3", "--target-cpu", "x86-64-v2", "--threads", "2")
    assert (code, err) == (0, "")
    assert "for x86-64-v2, batch 3, 2 threads" in out
    name = "rings"                               # the model's name is the default
    assert (tmp_path / f"{name}.weights").is_file()
    header = (tmp_path / f"{name}.h").read_text()
    assert "int            rings_load_weights(const char *path);" in header
    assert "input  0: dense_Dense1_input       [3, 2] float32 (float, 24 bytes)" in header
    program = build_predict(tmp_path, name, weights_file=True)
    done = subprocess.run([program, ROOT / "examples/aot/input.txt", tmp_path / "rings.weights"],
                          capture_output=True, text=True, check=True)
    expected = json.loads((RINGS.parent / "expected.json").read_text())["output"]["data"]
    np.testing.assert_allclose(parse_outputs(done.stdout)[0].reshape(-1), expected, rtol=1e-5,
                               atol=1e-7)


def test_unknown_target_cpu(tmp_path, capsys):
    code, out, err = kiln(capsys, "compile", RINGS, "-o", tmp_path / "out", "--target-cpu",
                          "pentium9000")
    assert code == 1 and out == ""
    assert err.startswith("kiln compile: error: unknown target CPU 'pentium9000'; try "
                          "'x86-64-v2'")
    assert not (tmp_path / "out").exists()


def test_unwritable_output_folder(capsys):
    code, out, err = kiln(capsys, "compile", RINGS, "-o", "/sys")
    assert code == 1
    assert err == "kiln compile: error: cannot write in the output folder '/sys': Operation " \
                  "not permitted\n"
    code, out, err = kiln(capsys, "compile", RINGS, "-o", "/sys/kiln")
    assert code == 1 and "cannot create the output folder '/sys/kiln'" in err


def test_model_with_unsupported_layers(tmp_path, capsys):
    topology = json.loads(RINGS.read_text())
    topology["modelTopology"]["config"]["layers"][1]["class_name"] = "FancyDense"
    (tmp_path / "model.json").write_text(json.dumps(topology))
    (tmp_path / "weights.bin").write_bytes((RINGS.parent / "weights.bin").read_bytes())
    code, out, err = kiln(capsys, "compile", tmp_path / "model.json", "-o", tmp_path / "out")
    assert code == 1
    assert "kiln compile: error: " in err and "kiln cannot build this model" in err
    assert "Unknown layer: FancyDense (layer 'dense_Dense2')" in err
    assert not list((tmp_path / "out").glob("*.so"))


def test_bad_model_files(tmp_path, capsys):
    code, out, err = kiln(capsys, "compile", tmp_path / "none.json", "-o", tmp_path)
    assert (code, err) == (1, f"kiln compile: error: model file '{tmp_path / 'none.json'}' does "
                              "not exist\n")
    (tmp_path / "junk.json").write_text("not json")
    code, out, err = kiln(capsys, "compile", tmp_path / "junk.json", "-o", tmp_path)
    assert code == 1 and "junk.json: invalid JSON at line 1 column 1" in err


def test_bad_names_and_usage(tmp_path, capsys):
    code, out, err = kiln(capsys, "compile", RINGS, "-o", tmp_path, "--name", "my-model")
    assert (code, err) == (1, "kiln compile: error: library name 'my-model' must be a C "
                              "identifier (letters, digits and underscores, not starting with a "
                              "digit, not a C keyword)\n")
    for argv in (["compile", RINGS], ["compile", RINGS, "-o", tmp_path, "--batch", "0"],
                 ["compile", RINGS, "-o", tmp_path, "--weights", "disk"], ["frobnicate"]):
        with pytest.raises(SystemExit) as exit_info:
            main([str(a) for a in argv])
        assert exit_info.value.code == 2
    assert "argument --weights: invalid choice: 'disk'" in capsys.readouterr().err


def test_console_script_exit_codes(tmp_path):
    script = Path(sys.executable).with_name("kiln")         # installed by pip (pyproject)
    kiln_command = [script] if script.exists() else [sys.executable, "-m", "kiln.cli"]
    done = subprocess.run(kiln_command + ["--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "compile" in done.stdout
    done = subprocess.run(kiln_command + ["compile", RINGS, "-o", tmp_path, "--target-cpu", "z80"],
                          capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.startswith("kiln compile: error: unknown target CPU 'z80'")
