"""The training recipe's augmentation inside the fast engine's compiled epoch (JAX).

Usage:

    batch = augment_batch(images, key, config)   # (n, 28, 28) floats in [0, 1] → the same, transformed

Draws what digitlab.train.augment's tf.data pipeline draws, per image and from the
same ranges in the run's config: a rotation of up to ±rotation_degrees, a zoom
of up to ±zoom_fraction (both axes alike), a shift of up to ±shift_fraction of
the image size on each axis (empty borders stay black), and strokes blended
towards their 3×3 dilation or erosion by up to stroke_jitter. The geometric
part is one bilinear resampling of the combined transform, where the Keras
layers resample three times; the random draws come from JAX's generator, so
the images differ from the TensorFlow pipeline's draw for draw, not in kind.
Running in the compiled program, it costs no Python per batch and no tf.data.
"""

from __future__ import annotations

import math

from digitlab.formats import RunConfig


def _max_3x3(images):
    """3×3 maximum filter with "same" size: the largest of nine shifted copies (border padded with -inf)."""
    import jax.numpy as jnp  # heavy: JAX loads only when the fast engine trains

    height, width = images.shape[1:3]
    padded = jnp.pad(images, ((0, 0), (1, 1), (1, 1)), constant_values=-jnp.inf)
    shifted = [padded[:, row : row + height, column : column + width] for row in range(3) for column in range(3)]
    return jnp.max(jnp.stack(shifted), axis=0)


def augment_batch(images, key, config: RunConfig):
    """Randomly rotated, zoomed, shifted and stroke-width-jittered copies of a batch of (n, h, w) images."""
    # Heavy: JAX loads only when the fast engine trains.
    import jax
    import jax.numpy as jnp
    from jax.scipy.ndimage import map_coordinates

    count, height, width = images.shape[:3]
    channels = images.shape[3:]  # (1,) for (n, h, w, 1) images, () for (n, h, w)
    images = images.reshape(count, height, width)
    rotation_key, zoom_key, shift_key, amount_key, direction_key = jax.random.split(key, 5)

    def uniform(key, shape, limit):
        return jax.random.uniform(key, shape, minval=-limit, maxval=limit)

    angles = uniform(rotation_key, (count,), math.radians(config.rotation_degrees))
    zooms = 1.0 + uniform(zoom_key, (count,), config.zoom_fraction)
    shifts = uniform(shift_key, (count, 2), config.shift_fraction) * jnp.array([height, width], images.dtype)

    rows, columns = jnp.meshgrid(jnp.arange(height, dtype=images.dtype), jnp.arange(width, dtype=images.dtype),
                                 indexing="ij")
    center_row, center_column = (height - 1) / 2, (width - 1) / 2

    def transform(image, angle, zoom, shift):
        # For every output pixel, where it comes from in the input: undo the
        # shift, then rotate and scale about the centre (zoom > 1 samples a
        # wider area, so the digit comes out smaller, as in Keras' RandomZoom).
        row_offset, column_offset = rows - center_row - shift[0], columns - center_column - shift[1]
        cos, sin = jnp.cos(angle), jnp.sin(angle)
        source_rows = center_row + zoom * (cos * row_offset - sin * column_offset)
        source_columns = center_column + zoom * (sin * row_offset + cos * column_offset)
        return map_coordinates(image, [source_rows, source_columns], order=1, mode="constant", cval=0.0)

    moved = jax.vmap(transform)(images, angles, zooms, shifts)

    # Stroke width, as digitlab.train.augment.stroke_width_jitter: one amount and direction per image.
    dilated, eroded = _max_3x3(moved), -_max_3x3(-moved)
    amounts = jax.random.uniform(amount_key, (count, 1, 1), maxval=config.stroke_jitter)
    thicker = jax.random.uniform(direction_key, (count, 1, 1)) < 0.5
    jittered = moved + amounts * (jnp.where(thicker, dilated, eroded) - moved)
    return jnp.clip(jittered, 0.0, 1.0).reshape(count, height, width, *channels)
