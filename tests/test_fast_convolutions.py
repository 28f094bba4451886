"""The fast engine's convolution and pooling compute what XLA's own operations compute, gradients included."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

jax = pytest.importorskip("jax", reason="JAX missing: pip install jax (a core dependency: pip install -e .)")
from jax import lax  # noqa: E402

from digitlab.train.fast.convolutions import conv_as_matmul, matmul_convolutions, max_pool_as_reshape  # noqa: E402


def _unused(*args):
    raise AssertionError("fell back to XLA for a supported case")


def xla_conv(inputs, kernel, strides, padding):
    return lax.conv_general_dilated(
        inputs, kernel, strides, padding.upper(), dimension_numbers=("NHWC", "HWIO", "NHWC")
    )


# Odd and even image sizes and kernels, both strides and paddings, one and several input channels.
CONVOLUTIONS = [
    (28, 3, 1, "valid", 1), (28, 5, 2, "same", 1), (28, 4, 1, "same", 5), (28, 3, 2, "valid", 5),
    (13, 4, 2, "same", 1), (13, 5, 1, "valid", 5), (13, 3, 2, "same", 5), (13, 4, 2, "valid", 1),
]


@pytest.mark.parametrize("size, kernel_size, stride, padding, in_channels", CONVOLUTIONS)
def test_convolution_and_its_gradients_match_xla(size, kernel_size, stride, padding, in_channels):
    rng = np.random.default_rng(size * kernel_size + stride)
    inputs = rng.normal(size=(3, size, size, in_channels)).astype(np.float32)
    kernel = rng.normal(size=(kernel_size, kernel_size, in_channels, 4)).astype(np.float32)

    def ours(x, k):
        return conv_as_matmul(x, k, (stride, stride), padding, fallback=_unused)

    def theirs(x, k):
        return xla_conv(x, k, (stride, stride), padding)

    expected, result = theirs(inputs, kernel), jax.jit(ours)(inputs, kernel)
    assert result.shape == expected.shape
    np.testing.assert_allclose(result, expected, rtol=1e-4, atol=1e-4)
    weights = rng.normal(size=expected.shape).astype(np.float32)
    gradients = jax.jit(jax.grad(lambda x, k: (ours(x, k) * weights).sum(), argnums=(0, 1)))(inputs, kernel)
    expected_gradients = jax.grad(lambda x, k: (theirs(x, k) * weights).sum(), argnums=(0, 1))(inputs, kernel)
    for gradient, reference in zip(gradients, expected_gradients):
        np.testing.assert_allclose(gradient, reference, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("size, pool", [(28, 2), (13, 2), (7, 3)])
def test_max_pooling_and_its_gradient_match_xla(size, pool):
    inputs = np.random.default_rng(size + pool).normal(size=(2, size, size, 3)).astype(np.float32)

    def ours(x):
        return max_pool_as_reshape(x, pool, None, "valid", fallback=_unused)

    def theirs(x):
        return lax.reduce_window(x, -np.inf, lax.max, (1, pool, pool, 1), (1, pool, pool, 1), "VALID")

    np.testing.assert_array_equal(ours(inputs), theirs(inputs))
    # Random normal inputs have no ties, so each window's gradient goes to one pixel in both.
    gradient = jax.jit(jax.grad(lambda x: ours(x).sum()))(inputs)
    np.testing.assert_array_equal(gradient, jax.grad(lambda x: theirs(x).sum())(inputs))


def test_cases_it_does_not_cover_go_to_keras_own_functions():
    calls = []

    def fallback(*args):
        calls.append(args)
        return "keras"

    image, kernel = np.zeros((1, 8, 8, 2), np.float32), np.zeros((3, 3, 2, 4), np.float32)
    assert conv_as_matmul(image, kernel, 1, "valid", None, 2, fallback=fallback) == "keras"  # dilated
    assert conv_as_matmul(image, kernel, 1, "valid", "channels_first", fallback=fallback) == "keras"
    assert conv_as_matmul(image, np.zeros((3, 3, 1, 2), np.float32), 1, "valid", fallback=fallback) == "keras"  # grouped
    assert conv_as_matmul(np.zeros((1, 8, 2), np.float32), np.zeros((3, 2, 4), np.float32), fallback=fallback) == "keras"
    assert max_pool_as_reshape(image, 3, 2, "valid", fallback=fallback) == "keras"  # overlapping windows
    assert max_pool_as_reshape(image, 2, None, "same", fallback=fallback) == "keras"
    assert len(calls) == 6


def test_the_swap_lasts_only_inside_the_context():
    module = importlib.import_module("keras.src.backend.jax.nn")
    original = module.conv, module.max_pool
    with pytest.raises(RuntimeError):
        with matmul_convolutions():
            assert module.conv.func is conv_as_matmul and module.max_pool.func is max_pool_as_reshape
            raise RuntimeError("a failure inside the context")
    assert (module.conv, module.max_pool) == original
