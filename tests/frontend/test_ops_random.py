"""Random tensors: distribution statistics on large samples with fixed seeds, reproducibility
with a seed, fresh values without one, bounds, dtypes.

Tolerances: with N = 200_000 samples the standard error of the mean is sigma/447 and of the
standard deviation about sigma/632, so 0.01 * sigma is more than 4 standard errors. The
Kolmogorov-Smirnov distance of a correct sampler is below 1.63/sqrt(N) = 0.0037 with
probability 99%; we allow 0.006.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import kiln as tf
from tests.helpers import raises

N = 200_000


def normal_cdf(x):
    return 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


def ks_distance(samples, cdf):
    x = np.sort(samples.astype(np.float64))
    f = cdf(x)
    n = len(x)
    return max(np.max(np.arange(1, n + 1) / n - f), np.max(f - np.arange(n) / n))


@pytest.mark.parametrize("seed", [0, 1, 42, 2**31 - 1])
def test_randomUniform_statistics(seed):
    x = tf.randomUniform([N], -2, 3, "float32", seed).dataSync()
    assert x.dtype == np.float32 and x.shape == (N,)
    assert x.min() >= -2 and x.max() < 3
    assert abs(x.mean() - 0.5) < 0.01 * 5 / math.sqrt(12) * 3
    assert abs(x.std() - 5 / math.sqrt(12)) < 0.01 * 5 / math.sqrt(12)
    assert ks_distance(x, lambda v: (v + 2) / 5) < 0.006


@pytest.mark.parametrize("seed", [0, 7, 123456])
def test_randomNormal_statistics(seed):
    x = tf.randomNormal([N], 1.5, 2.0, "float32", seed).dataSync()
    assert np.all(np.isfinite(x))
    assert abs(x.mean() - 1.5) < 0.02 * 2.0
    assert abs(x.std() - 2.0) < 0.01 * 2.0
    assert ks_distance(x, lambda v: normal_cdf((v - 1.5) / 2.0)) < 0.006


@pytest.mark.parametrize("seed", [0, 3, 99])
def test_truncatedNormal_stays_within_two_standard_deviations(seed):
    mean, std = -1.0, 0.5
    x = tf.truncatedNormal([N], mean, std, "float32", seed).dataSync().astype(np.float64)
    assert np.all(np.abs(x - mean) <= 2 * std)
    # a standard normal truncated to [-2, 2] has mean 0 and standard deviation 0.8796
    z = (x - mean) / std
    assert abs(z.mean()) < 0.02
    assert abs(z.std() - 0.87957) < 0.01
    mass = normal_cdf(np.array(2.0)) - normal_cdf(np.array(-2.0))
    assert ks_distance(z, lambda v: (normal_cdf(v) - normal_cdf(np.array(-2.0))) / mass) < 0.006


@pytest.mark.parametrize("fn", [tf.randomUniform, tf.randomNormal, tf.truncatedNormal])
def test_same_seed_same_values_and_different_seeds_differ(fn):
    a = fn([3, 50], seed=5).dataSync()
    b = fn([3, 50], seed=5).dataSync()
    c = fn([3, 50], seed=6).dataSync()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("fn", [tf.randomUniform, tf.randomNormal, tf.truncatedNormal])
def test_seedless_calls_differ(fn):
    a = fn([100]).dataSync()
    b = fn([100]).dataSync()
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("fn", [tf.randomUniform, tf.randomNormal, tf.truncatedNormal])
def test_elements_are_not_repeated_across_the_tensor(fn):
    x = fn([1000, 3], seed=11).dataSync()
    assert len(np.unique(x)) > 2990       # float32 collisions are possible but rare


def test_shapes_and_defaults():
    x = tf.randomUniform([2, 0, 3], seed=1)
    assert x.shape == [2, 0, 3] and x.dtype == "float32"
    x = tf.randomUniform([4, 5], seed=1).dataSync()
    assert x.min() >= 0 and x.max() < 1           # default range [0, 1)
    assert tf.randomNormal([3]).shape == [3]


def test_randomUniform_int32_covers_the_range():
    x = tf.randomUniform([N], 0, 10, "int32", 4).dataSync()
    assert x.dtype == np.int32
    counts = np.bincount(x, minlength=10)
    assert len(counts) == 10                       # never reaches maxval
    assert np.all(np.abs(counts / N - 0.1) < 0.005)


def test_randomNormal_int32_rounds():
    x = tf.randomNormal([N], 0, 3, "int32", 8).dataSync()
    assert x.dtype == np.int32
    assert abs(x.mean()) < 0.05 and abs(x.std() - math.sqrt(9 + 1 / 12)) < 0.05


def test_string_seeds_are_reproducible():
    a = tf.randomNormal([10], seed="abc").dataSync()
    np.testing.assert_array_equal(a, tf.randomNormal([10], seed="abc").dataSync())


def test_random_rejects_bad_arguments():
    with raises(ValueError, "randomUniform", "-1"):
        tf.randomUniform([2, -1])
    with raises(TypeError, "randomNormal", "bool"):
        tf.randomNormal([2], dtype="bool")
