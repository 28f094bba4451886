"""2-D convolutions and max pooling as plain array code, for the fast engine's compiled programs.

Usage (Keras on the JAX backend):

    with matmul_convolutions():
        ...trace and run jitted code that calls Conv2D / MaxPooling2D layers...

Why: inside a compiled training loop (`jax.lax.scan`), XLA's CPU convolution
and its gradient run far below this machine's matrix-multiply speed. Measured
by benchmarks/convolutions.py on the 2-core machine, one training step (batch
128) of the keras-io convnet takes 934 ms with XLA's convolution and pooling,
27 ms with the convolution written as one matrix multiply over image patches
("im2col") and max pooling as a reshape and a max (XLA's pooling gradient,
select-and-scatter, is slow too); 34-51x faster for the CNNs here.

Inside the context, Keras' JAX functions `conv` and `max_pool` are replaced by
versions that compute the same result (up to float rounding order) for the
cases the models here use: 2-D, channels-last, no dilation, no groups, "valid"
or "same" padding, any stride; non-overlapping "valid" pooling. Anything else
falls through to Keras' own function. The layers, weights and saved `.keras`
files are unchanged; only how the traced program computes them differs.
"""

from __future__ import annotations

import importlib
from contextlib import contextmanager
from functools import partial
from typing import Iterator


def _pair(value) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


def _is_plain_2d(inputs, data_format) -> bool:
    return inputs.ndim == 4 and (data_format or "channels_last") == "channels_last"


def conv_as_matmul(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1, *, fallback):
    """Keras' `conv` for 2-D channels-last inputs: gather every kernel-sized patch, then one matmul."""
    import jax.numpy as jnp  # heavy: JAX loads only when the fast engine traces a model

    kernel_height, kernel_width, in_channels, out_channels = kernel.shape if kernel.ndim == 4 else (0, 0, 0, 0)
    if (
        not _is_plain_2d(inputs, data_format)
        or _pair(dilation_rate) != (1, 1)
        or in_channels != inputs.shape[-1]  # grouped / depthwise convolution
        or padding.lower() not in ("valid", "same")
    ):
        return fallback(inputs, kernel, strides, padding, data_format, dilation_rate)
    kernel = jnp.asarray(kernel)
    inputs = jnp.asarray(inputs, dtype=kernel.dtype)
    stride_y, stride_x = _pair(strides)
    _, height, width, _ = inputs.shape
    if padding.lower() == "same":
        # TensorFlow's rule: output = ceil(input / stride); the odd pixel of padding goes bottom/right.
        pad_y = max((-(-height // stride_y) - 1) * stride_y + kernel_height - height, 0)
        pad_x = max((-(-width // stride_x) - 1) * stride_x + kernel_width - width, 0)
        inputs = jnp.pad(inputs, ((0, 0), (pad_y // 2, pad_y - pad_y // 2), (pad_x // 2, pad_x - pad_x // 2), (0, 0)))
        _, height, width, _ = inputs.shape
    out_height = (height - kernel_height) // stride_y + 1
    out_width = (width - kernel_width) // stride_x + 1
    # Patch features in (row, column, channel) order: the order of kernel.reshape below.
    patches = jnp.concatenate(
        [
            inputs[:, row : row + (out_height - 1) * stride_y + 1 : stride_y,
                   column : column + (out_width - 1) * stride_x + 1 : stride_x, :]
            for row in range(kernel_height)
            for column in range(kernel_width)
        ],
        axis=-1,
    )
    rows = patches.reshape(-1, kernel_height * kernel_width * in_channels)
    outputs = rows @ kernel.reshape(-1, out_channels)
    return outputs.reshape(inputs.shape[0], out_height, out_width, out_channels)


def max_pool_as_reshape(inputs, pool_size, strides=None, padding="valid", data_format=None, *, fallback):
    """Keras' `max_pool` for non-overlapping 2-D windows: a reshape and a max over each window."""
    pool_y, pool_x = _pair(pool_size)
    if (
        not _is_plain_2d(inputs, data_format)
        or (strides is not None and _pair(strides) != (pool_y, pool_x))
        or padding.lower() != "valid"
    ):
        return fallback(inputs, pool_size, strides, padding, data_format)
    batch, height, width, channels = inputs.shape
    out_height, out_width = height // pool_y, width // pool_x
    # "valid" drops the last rows/columns that do not fill a window, as Keras does.
    windows = inputs[:, : out_height * pool_y, : out_width * pool_x, :].reshape(
        batch, out_height, pool_y, out_width, pool_x, channels
    )
    return windows.max(axis=(2, 4))


@contextmanager
def matmul_convolutions() -> Iterator[None]:
    """While active, Keras layers traced on the JAX backend use the functions above."""
    module = importlib.import_module("keras.src.backend.jax.nn")
    saved_conv, saved_max_pool = module.conv, module.max_pool
    module.conv = partial(conv_as_matmul, fallback=saved_conv)
    module.max_pool = partial(max_pool_as_reshape, fallback=saved_max_pool)
    try:
        yield
    finally:
        module.conv, module.max_pool = saved_conv, saved_max_pool
