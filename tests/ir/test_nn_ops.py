"""conv, convBackpropInput, convBackpropFilter, pool, maxPoolGrad, avgPoolGrad, resize and
resizeGrad: shape rules, and the compiled kernels against the numpy references."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from kiln.codegen import split_of
from kiln.codegen.kernels.conv import conv_shape, use_gemm
from kiln.codegen.kernels.conv_backprop import filter_gemm, input_as_conv, input_col2im
from kiln.ir import Builder, ShapeError, TensorType, float32
from kiln.runtime import compile_graph
from tests import nn_reference as ref

RNG = np.random.default_rng(7)


def rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def run(build, arrays):
    b = Builder()
    values = [b.input(TensorType(a.shape, float32), f"x{i}") for i, a in enumerate(arrays)]
    exe = compile_graph(b.finish([build(b, *values)]))
    return exe.run(list(arrays))[0], exe


def conv_attrs(rank, strides=None, dilations=None, pads=None, groups=1):
    return {"strides": tuple(strides or (1,) * rank), "dilations": tuple(dilations or (1,) * rank),
            "pads": tuple(pads or ((0, 0),) * rank), "groups": groups}


def close(actual, expected, tol=1e-4):
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol)


# ---- shape rules ---------------------------------------------------------------------------
def infer(op, shapes, **attrs):
    b = Builder()
    values = [b.input(TensorType(s, float32)) for s in shapes]
    return b.op(op, *values, **attrs).shape


def test_conv_output_shapes():
    assert infer("conv", [(2, 28, 28, 1), (3, 3, 1, 32)], **conv_attrs(2)) == (2, 26, 26, 32)
    assert infer("conv", [(1, 7, 9, 4), (3, 2, 4, 6)],
                 **conv_attrs(2, (2, 1), (1, 2), ((1, 1), (0, 2)))) == (1, 4, 9, 6)
    assert infer("conv", [(1, 8, 6), (3, 2, 6)], **conv_attrs(1, groups=3)) == (1, 6, 6)
    assert infer("convBackpropInput", [(2, 3, 3, 4), (3, 3, 5, 4)], inputShape=(2, 6, 6, 5),
                 **conv_attrs(2, (2, 2), pads=((0, 1), (0, 1)))) == (2, 6, 6, 5)
    assert infer("pool", [(2, 7, 7, 3)], mode="avg", window=(3, 3), strides=(2, 2),
                 pads=((1, 1), (1, 1))) == (2, 4, 4, 3)
    assert infer("resize", [(2, 3, 4, 5)], size=(6, 1), method="bilinear") == (2, 6, 1, 5)


@pytest.mark.parametrize("op, shapes, attrs, words", [
    ("conv", [(2, 8, 8), (3, 3, 8, 4)], conv_attrs(1), ["conv", "filter", "rank 3"]),
    ("conv", [(2, 8, 8, 3), (3, 3, 2, 4)], conv_attrs(2), ["conv", "input-channel", "3"]),
    ("conv", [(2, 8, 8, 6), (3, 3, 2, 5)], conv_attrs(2, groups=3), ["groups=3", "filters (5)"]),
    ("conv", [(2, 2, 2, 1), (3, 3, 1, 1)], conv_attrs(2), ["does not fit", "spatial axis 0"]),
    ("conv", [(2, 8, 8, 1), (3, 3, 1, 1)], conv_attrs(2, strides=(0, 1)), ["strides", "positive"]),
    ("conv", [(2, 8, 8, 1), (3, 3, 1, 1)], conv_attrs(2, pads=((-1, 0), (0, 0))), ["pads"]),
    ("conv", [(8, 8), (3, 3)], conv_attrs(0), ["rank >= 3"]),
    ("pool", [(2, 8, 8, 1)], {"mode": "max", "window": (2, 2), "strides": (2, 2),
                              "pads": ((2, 0), (0, 0))}, ["padding", "smaller than the window"]),
    ("pool", [(2, 8, 8, 1)], {"mode": "min", "window": (2, 2), "strides": (2, 2),
                              "pads": ((0, 0), (0, 0))}, ["mode"]),
    ("resize", [(2, 8, 8)], {"size": (4, 4), "method": "bilinear"}, ["resize", "rank 4"]),
    ("resize", [(2, 8, 8, 1)], {"size": (4, 4), "method": "cubic"}, ["method"]),
    ("resize", [(2, 8, 8, 1)], {"size": (4, 4), "method": "bilinear", "alignCorners": True,
                                "halfPixelCenters": True}, ["alignCorners", "halfPixelCenters"]),
])
def test_shape_errors_name_the_op_and_argument(op, shapes, attrs, words):
    with pytest.raises(ShapeError) as info:
        infer(op, shapes, **attrs)
    for word in words:
        assert word in str(info.value)


def test_backprop_shape_rules_check_dy():
    with pytest.raises(ShapeError, match="convBackpropInput: dy has shape"):
        infer("convBackpropInput", [(2, 5, 5, 4), (3, 3, 5, 4)], inputShape=(2, 6, 6, 5),
              **conv_attrs(2))
    with pytest.raises(ShapeError, match="convBackpropFilter: dy has shape"):
        infer("convBackpropFilter", [(2, 6, 6, 5), (2, 3, 3, 4)], filterShape=(3, 3, 5, 4),
              **conv_attrs(2))
    with pytest.raises(ShapeError, match="avgPoolGrad: dy has shape"):
        infer("avgPoolGrad", [(2, 3, 3, 1)], inputShape=(2, 8, 8, 1), window=(2, 2),
              strides=(2, 2), pads=((0, 0), (0, 0)))


# ---- convolutions --------------------------------------------------------------------------
CONV_CASES = [
    # x shape, filter shape, strides, dilations, pads, groups
    ((1, 28, 28, 1), (3, 3, 1, 32), (1, 1), (1, 1), ((0, 0), (0, 0)), 1),       # W4 conv1
    ((2, 13, 13, 32), (3, 3, 32, 64), (1, 1), (1, 1), ((0, 0), (0, 0)), 1),     # W4 conv2
    ((2, 9, 8, 4), (3, 2, 4, 6), (2, 1), (1, 2), ((1, 1), (0, 2)), 1),
    ((1, 7, 7, 20), (3, 3, 20, 24), (2, 2), (1, 1), ((1, 1), (1, 1)), 1),        # same, odd
    ((2, 7, 7, 6), (3, 3, 1, 6), (1, 1), (1, 1), ((1, 1), (1, 1)), 6),          # depthwise
    ((2, 7, 5, 4), (3, 3, 1, 8), (2, 2), (2, 1), ((2, 2), (1, 1)), 4),          # multiplier 2
    ((2, 7, 7, 8), (3, 3, 4, 16), (1, 1), (1, 1), ((1, 1), (1, 1)), 2),         # two groups
    ((2, 10, 3), (3, 3, 5), (2,), (1,), ((1, 1),), 1),
    ((2, 9, 4), (2, 4, 4), (1,), (3,), ((3, 0),), 1),                           # causal-style
    ((2, 5, 4, 5, 2), (3, 2, 3, 2, 3), (1, 2, 1), (1, 1, 1), ((1, 1), (0, 1), (1, 1)), 1),
    ((1, 6, 6, 40), (3, 3, 40, 24), (1, 1), (1, 1), ((1, 1), (1, 1)), 1),
    ((1, 6, 5, 12), (3, 2, 6, 16), (1, 1), (2, 1), ((2, 2), (1, 0)), 2),        # grouped GEMMs
    ((2, 6, 6, 16), (3, 3, 16, 2), (1, 1), (1, 1), ((1, 1), (1, 1)), 1),        # dot products
]


@pytest.mark.parametrize("xs, ws, strides, dilations, pads, groups", CONV_CASES)
def test_conv_and_its_gradients_match_the_reference(xs, ws, strides, dilations, pads, groups):
    attrs = {"strides": strides, "dilations": dilations, "pads": pads, "groups": groups}
    x, w = rand(*xs), rand(*ws)
    out, _ = run(lambda b, x, w: b.conv(x, w, **attrs), [x, w])
    close(out, ref.conv(x, w, strides, dilations, pads, groups))
    dy = rand(*out.shape)
    dx, _ = run(lambda b, dy, w: b.convBackpropInput(dy, w, inputShape=xs, **attrs), [dy, w])
    close(dx, ref.conv_backprop_input(dy, w, xs, strides, dilations, pads, groups))
    dw, _ = run(lambda b, x, dy: b.convBackpropFilter(x, dy, filterShape=ws, **attrs), [x, dy])
    close(dw, ref.conv_backprop_filter(x, dy, ws, strides, dilations, pads, groups), 3e-4)
    # the backprops are the adjoints of conv: <conv(x, w), dy> = <x, dx> = <w, dw>
    inner = float(np.vdot(out.astype(np.float64), dy))
    assert np.isclose(inner, np.vdot(x.astype(np.float64), dx), rtol=1e-4, atol=1e-3)
    assert np.isclose(inner, np.vdot(w.astype(np.float64), dw), rtol=1e-4, atol=1e-3)


def test_every_driver_of_every_conv_kernel_is_exercised():
    seen = {"conv": set(), "input": set(), "filter": set()}
    for xs, ws, strides, dilations, pads, groups in CONV_CASES:
        attrs = {"strides": strides, "dilations": dilations, "pads": pads, "groups": groups}
        b = Builder()
        x, w = b.input(TensorType(xs, float32)), b.input(TensorType(ws, float32))
        y = b.conv(x, w, **attrs)
        seen["conv"].add(use_gemm(conv_shape(xs, ws, y.shape, attrs)))
        dx = b.convBackpropInput(y, w, inputShape=xs, **attrs)
        as_conv = input_as_conv(dx.node)
        seen["input"].add("col2im" if input_col2im(dx.node) else
                          "gather" if as_conv is None else
                          "conv gemm" if use_gemm(as_conv) else "conv direct")
        dw = b.convBackpropFilter(x, y, filterShape=ws, **attrs)
        seen["filter"].add(filter_gemm(dw.node) is not None)
    assert seen == {"conv": {True, False}, "filter": {True, False},
                    "input": {"col2im", "gather", "conv gemm", "conv direct"}}, seen


@pytest.mark.parametrize("groups", [1, 4])
def test_bias_and_activation_fuse_into_the_conv(groups):
    x, w, bias = rand(2, 6, 6, 8), rand(3, 3, 8 // groups, 8), rand(8)
    attrs = conv_attrs(2, pads=((1, 1), (1, 1)), groups=groups)
    out, exe = run(lambda b, x, w, c: b.relu(b.add(b.conv(x, w, **attrs), c)), [x, w, bias])
    close(out, np.maximum(ref.conv(x, w, (1, 1), (1, 1), ((1, 1), (1, 1)), groups) + bias, 0))
    assert [[n.op for n in k.nodes] for k in exe.plan.kernels] == [["conv", "add", "relu"]]


def test_transposed_epilogue_after_conv_is_correct():
    """channelsFirst layers transpose the conv's fused result: it must stay outside the kernel."""
    x, w, bias = rand(1, 5, 5, 3), rand(3, 3, 3, 20), rand(20)
    attrs = conv_attrs(2)
    out, exe = run(lambda b, x, w, c: b.transpose(b.tanh(b.add(b.conv(x, w, **attrs), c)),
                                                  perm=(0, 3, 1, 2)), [x, w, bias])
    expected = np.tanh(ref.conv(x, w, (1, 1), (1, 1), ((0, 0), (0, 0))) + bias)
    close(out, expected.transpose(0, 3, 1, 2))


@settings(max_examples=12, deadline=None)
@given(st.data())
def test_random_convs_match_the_reference(data):
    rank = data.draw(st.integers(1, 3))
    groups = data.draw(st.sampled_from([1, 1, 2, 3]))
    cin_g = data.draw(st.integers(1, 4))
    ng = data.draw(st.integers(1, 6 if rank < 3 else 3))
    kernel = [data.draw(st.integers(1, 3)) for _ in range(rank)]
    strides = [data.draw(st.integers(1, 3)) for _ in range(rank)]
    dilations = [data.draw(st.integers(1, 2)) for _ in range(rank)]
    pads = [(data.draw(st.integers(0, 2)), data.draw(st.integers(0, 2))) for _ in range(rank)]
    sizes = [data.draw(st.integers((k - 1) * d + 1, 7 if rank < 3 else 5))
             for k, d in zip(kernel, dilations)]
    xs = (data.draw(st.integers(1, 2)), *sizes, groups * cin_g)
    ws = (*kernel, cin_g, groups * ng)
    x, w = rand(*xs), rand(*ws)
    attrs = {"strides": tuple(strides), "dilations": tuple(dilations), "pads": tuple(pads),
             "groups": groups}
    out, _ = run(lambda b, x, w: b.conv(x, w, **attrs), [x, w])
    close(out, ref.conv(x, w, strides, dilations, pads, groups))


# ---- pooling -------------------------------------------------------------------------------
POOL_CASES = [
    ((2, 26, 26, 32), (2, 2), (2, 2), ((0, 0), (0, 0))),
    ((2, 7, 9, 3), (3, 3), (2, 2), ((1, 1), (1, 2))),
    ((2, 5, 6, 2), (2, 3), (1, 2), ((1, 0), (1, 1))),
    ((2, 9, 3), (3,), (1,), ((1, 1),)),
    ((1, 4, 5, 6, 2), (2, 2, 1), (1, 1, 1), ((0, 1), (0, 0), (0, 0))),
]


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("xs, window, strides, pads", POOL_CASES)
def test_pool_matches_the_reference(mode, xs, window, strides, pads):
    x = rand(*xs)
    out, _ = run(lambda b, x: b.pool(x, mode=mode, window=window, strides=strides, pads=pads), [x])
    close(out, ref.pool(x, mode, window, strides, pads), 1e-5)


@pytest.mark.parametrize("xs, window, strides, pads", [POOL_CASES[1], POOL_CASES[2], POOL_CASES[3]])
def test_pool_gradients_match_the_reference(xs, window, strides, pads):
    x = rand(*xs)
    x[0, 0] = x[0, 1]               # ties: the first maximum in window order takes dy
    out_shape = ref.pool(x, "max", window, strides, pads).shape
    dy = rand(*out_shape)
    attrs = {"window": window, "strides": strides, "pads": pads}
    dx, _ = run(lambda b, x, dy: b.maxPoolGrad(x, dy, **attrs), [x, dy])
    close(dx, ref.max_pool_grad(x, dy, window, strides, pads), 1e-6)
    dx, _ = run(lambda b, dy: b.avgPoolGrad(dy, inputShape=xs, **attrs), [dy])
    expected = ref.adjoint(lambda v: ref.pool(v, "avg", window, strides, pads), xs, dy)
    close(dx, expected, 1e-5)


# ---- resize --------------------------------------------------------------------------------
RESIZE_CASES = [((2, 3, 4, 2), (6, 8)), ((1, 6, 8, 3), (4, 5)), ((1, 5, 5, 1), (10, 12)),
                ((1, 1, 1, 2), (3, 2)), ((1, 4, 3, 2), (1, 1))]
MODES = [(False, False), (True, False), (False, True)]


@pytest.mark.parametrize("method", ["bilinear", "nearest"])
@pytest.mark.parametrize("align, half", MODES)
@pytest.mark.parametrize("xs, size", RESIZE_CASES)
def test_resize_matches_the_reference(method, align, half, xs, size):
    x = rand(*xs)
    attrs = {"size": size, "method": method, "alignCorners": align, "halfPixelCenters": half}
    out, _ = run(lambda b, x: b.resize(x, **attrs), [x])
    close(out, ref.resize(x, size, method, align, half), 1e-5)


def test_nearest_integer_upsampling_repeats_pixels():
    x = rand(2, 3, 4, 2)
    out, _ = run(lambda b, x: b.resize(x, size=(6, 12), method="nearest"), [x])
    np.testing.assert_array_equal(out, x.repeat(2, axis=1).repeat(3, axis=2))


@pytest.mark.parametrize("method", ["bilinear", "nearest"])
@pytest.mark.parametrize("align, half", MODES)
def test_resize_grad_is_the_adjoint_of_resize(method, align, half):
    xs, size = (1, 3, 4, 2), (5, 7)
    dy = rand(1, *size, 2)
    attrs = {"method": method, "alignCorners": align, "halfPixelCenters": half}
    dx, _ = run(lambda b, dy: b.resizeGrad(dy, inputShape=xs, **attrs), [dy])
    expected = ref.adjoint(lambda v: ref.resize(v, size, method, align, half), xs, dy)
    close(dx, expected, 1e-5)


@pytest.mark.parametrize("xs, ws, groups", [((8, 13, 13, 32), (3, 3, 32, 64), 1),
                                            ((4, 64, 64, 32), (3, 3, 1, 32), 32)])
def test_large_convs_and_pools_split_across_threads(xs, ws, groups):
    """Above the size threshold the kernels run as parallel tasks over output rows."""
    x, w = rand(*xs), rand(*ws)
    pads = ((1, 1), (1, 1))
    b = Builder()
    xv, wv = b.input(TensorType(xs, float32)), b.input(TensorType(ws, float32))
    y = b.relu(b.conv(xv, wv, strides=(1, 1), dilations=(1, 1), pads=pads, groups=groups))
    p = b.pool(y, mode="max", window=(2, 2), strides=(2, 2), pads=((0, 0), (0, 0)))
    exe = compile_graph(b.finish([y, p]), threads=2)
    out, pooled = exe.run([x, w])
    expected = np.maximum(ref.conv(x, w, (1, 1), (1, 1), pads, groups), 0)
    close(out, expected)
    close(pooled, ref.pool(expected, "max", (2, 2), (2, 2), ((0, 0), (0, 0))))
    assert split_of(exe.plan.kernels[0], exe.target, 2) is not None


@pytest.mark.parametrize("mode", ["max", "avg"])
def test_large_pools_split_across_threads(mode):
    x = rand(2, 256, 256, 8)
    attrs = {"window": (3, 3), "strides": (2, 2), "pads": ((1, 1), (1, 1))}
    b = Builder()
    p = b.pool(b.input(TensorType(x.shape, float32)), mode=mode, **attrs)
    exe = compile_graph(b.finish([p]), threads=2)
    assert split_of(exe.plan.kernels[0], exe.target, 2) is not None
    close(exe.run([x])[0], ref.pool(x, mode, attrs["window"], attrs["strides"], attrs["pads"]),
          1e-5)
