"""digitlab.train: train a registered model — Keras' model.fit, the fast JAX engine, augmentation, resume.

Usage:

    from digitlab.train import compile_model, fit, resolve_engine, seed_everything

    seed_everything(config.seed)
    compile_model(model, config, n_images=len(x_train))
    history = fit(model, prepare_images(x_train), prepare_labels(y_train), config, run_dir)

`fit` runs `model.fit` (the tutorial) or, when Keras runs on JAX and the
recipe allows, the fast engine (`train.fast`: one compiled program per epoch),
and writes history.csv, TensorBoard logs and checkpoints into the run dir
(their formats are digitlab.formats'); calling it again on the same run dir
resumes from the last checkpoint. Importing this package imports Keras.
"""

from digitlab.train.fast.engine import enable_compilation_cache, fit_fast
from digitlab.train.keras_loop import (
    compile_model,
    fit,
    learning_rate_schedule,
    resolve_engine,
    steps_per_epoch,
)
from digitlab.train.seeding import seed_everything

__all__ = [
    "compile_model", "enable_compilation_cache", "fit", "fit_fast", "learning_rate_schedule", "resolve_engine",
    "seed_everything", "steps_per_epoch",
]
