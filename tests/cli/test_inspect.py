"""`kiln inspect`: the plan as text and JSON, stages, the training step, and errors."""
import json

from tests.cli.test_compile import RINGS, kiln


def test_default_text_lists_kernels_with_their_layers(capsys):
    code, out, err = kiln(capsys, "inspect", RINGS)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith("k0 matmul -> ") and "layers: dense_Dense1" in lines[0]
    assert lines[-1] == "4 kernels"


def test_json_plan_at_a_batch_size(capsys):
    code, out, err = kiln(capsys, "inspect", RINGS, "--format", "json", "--batch", "8")
    assert code == 0
    plan = json.loads(out)
    assert [k["kind"] for k in plan["kernels"]] == ["matmul", "matmul", "matmul", "row"]
    assert plan["kernels"][0]["type"] == "f32[8,16]"
    memory = plan["memory"]
    assert memory["arena_bytes"] <= 1.05 * memory["lower_bound_bytes"] + 64
    for buffer in memory["buffers"]:
        assert {"value", "offset", "size", "first", "last"} <= set(buffer)


def test_stages_and_training_step(capsys):
    code, out, _ = kiln(capsys, "inspect", RINGS, "--stage", "frontend")
    assert code == 0 and out.strip().splitlines()[-1].startswith("return")
    code, out, _ = kiln(capsys, "inspect", RINGS, "--train", "--format", "json")
    assert code == 0 and len(json.loads(out)["kernels"]) > 10
    code, out, _ = kiln(capsys, "inspect", RINGS, "--stage", "asm", "--kernel", "k0")
    assert code == 0 and out.startswith("k0:")
    code, out, _ = kiln(capsys, "inspect", RINGS, "--stage", "fusion", "--format", "dot")
    assert code == 0 and out.startswith("digraph kiln {")


def test_errors(capsys, tmp_path):
    code, out, err = kiln(capsys, "inspect", tmp_path / "missing.json")
    assert code == 1 and "does not exist" in err
    bad = tmp_path / "model.json"
    bad.write_text("{not json")
    code, out, err = kiln(capsys, "inspect", bad)
    assert code == 1 and "model.json" in err
    code, out, err = kiln(capsys, "inspect", RINGS, "--stage", "llvm", "--kernel", "k42")
    assert code == 1 and "no kernel named 'k42'" in err
    code, out, err = kiln(capsys, "inspect", RINGS, "--render", "x.svg")
    assert code == 1 and "--format dot" in err


def test_a_reader_that_stops_early_is_not_an_error():
    import subprocess
    import sys
    proc = subprocess.Popen([sys.executable, "-m", "kiln.cli", "inspect", str(RINGS), "--train",
                             "--format", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.read(10).startswith(b"{")
    proc.stdout.close()                       # as `| head -c 10` does
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 0 and b"error" not in err, err
