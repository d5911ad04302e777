"""tf.inspect: every stage, every format, and the errors."""
import json

import pytest

import kiln as tf


def small_model():
    model = tf.sequential()
    model.add(tf.layers.dense({"units": 8, "activation": "relu", "inputShape": [4]}))
    model.add(tf.layers.dense({"units": 3, "activation": "softmax"}))
    return model


def test_graph_stages_print_the_ir():
    model = small_model()
    text = tf.inspect(model, "frontend")
    assert "matMul(%0, %1)" in text and text.splitlines()[-1].startswith("return")
    for stage in ("simplify", "fold", "cse", "dce"):
        assert tf.inspect(model, stage).splitlines()[-1].startswith("return")


def test_plan_json_has_kernels_and_memory():
    plan = tf.inspect(small_model(), format="json", batch=4)
    json.dumps(plan)            # plain JSON data
    assert {"kernels", "memory"} <= set(plan)
    assert all({"name", "kind", "nodes", "layers"} <= set(k) for k in plan["kernels"])
    memory = plan["memory"]
    assert {"arena_bytes", "lower_bound_bytes", "no_reuse_bytes", "buffers"} <= set(memory)
    assert all({"offset", "size", "first", "last"} <= set(b) for b in memory["buffers"])


def test_training_step_plan():
    model = small_model()
    model.compile({"optimizer": "adam", "loss": "categoricalCrossentropy"})
    plan = tf.inspect(model, format="json", train=True, batch=8)
    assert len(plan["kernels"]) > 4
    text = tf.inspect(model, "memory", train=True)
    assert text.startswith("arena ")


def test_codegen_stages_and_kernel_selection():
    model = small_model()
    assert "define internal void @\"k0\"" in tf.inspect(model, "llvm", kernel="k0")
    assert "define" in tf.inspect(model, "llvm-opt", kernel="k0")
    asm = tf.inspect(model, "asm", kernel="k0")
    assert asm.startswith("k0:")


def test_dot_format():
    dot = tf.inspect(small_model(), "fusion", format="dot")
    assert dot.startswith("digraph kiln {") and "cluster_k0" in dot and dot.endswith("}")


def test_errors():
    model = small_model()
    with pytest.raises(ValueError, match="unknown stage 'fusoin'.*'fusion'"):
        tf.inspect(model, "fusoin")
    with pytest.raises(ValueError, match="unknown format"):
        tf.inspect(model, format="yaml")
    with pytest.raises(ValueError, match="no kernel named 'k99'"):
        tf.inspect(model, "llvm", kernel="k99")
    with pytest.raises(RuntimeError, match="compiled"):
        tf.inspect(model, train=True)
