"""Seed every random number generator a training run uses.

Usage:

    seed_everything(42)      # before the model is built
"""

from __future__ import annotations

import keras


def seed_everything(seed: int) -> None:
    """Same seed, same backend, same machine → the same run (weights, shuffling, dropout)."""
    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf  # only on the TensorFlow backend, where it is loaded already

        # Without this, a few TensorFlow CPU kernels may sum in a varying order.
        tf.config.experimental.enable_op_determinism()
