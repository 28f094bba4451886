"""The fast training engine: a whole epoch compiled as one JAX program.

Usage: `digitlab train --model mlp` uses it by default (`--engine keras` for
plain `model.fit`). From Python: `digitlab.train.fit_fast(...)`, called by
`digitlab.train.fit` when the engine resolves to "fast" and Keras runs on JAX.
"""
