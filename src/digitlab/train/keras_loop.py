"""Training with Keras `model.fit`: the tutorial recipe, with checkpoints and resume.

Usage:

    model = create_model("mlp")
    compile_model(model, config)
    history = fit(model, x_train, y_train, config, run_dir)   # dict of per-epoch lists

`fit` writes history.csv (CSVLogger), TensorBoard logs and a checkpoint at every
epoch end (checkpointing.EpochCheckpoint, atomic). Calling `fit` again on the same
run dir, e.g. after a crash, kill or Ctrl-C, continues from the newest readable
checkpoint (`digitlab train --resume`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

import keras
import numpy as np

from digitlab.data import split_validation, validation_size
from digitlab.errors import UserError
from digitlab.formats import (
    RunConfig,
    read_history,
    rundir,
    trim_history,
)
from digitlab.train.augment import augmented_dataset
from digitlab.train.checkpointing import EpochCheckpoint, restore
from digitlab.train.fast.engine import fit_fast


def steps_per_epoch(n_images: int, config: RunConfig, n_extra: int = 0) -> int:
    """Optimizer steps in one epoch once the validation split is held out (plus n_extra extra training images)."""
    n_train = n_images - validation_size(n_images, config.validation_split) + n_extra
    return math.ceil(n_train / config.batch_size)


def compile_model(model: keras.Model, config: RunConfig, n_images: int | None = None, n_extra: int = 0) -> None:
    """Adam (Keras defaults but the learning rate), categorical cross-entropy, accuracy.

    With lr_schedule="cosine" or "one_cycle" the rate follows the whole run, so
    the number of training images (and of extra training digits, see `fit`)
    must be given.
    """
    if config.optimizer != "adam":
        raise ValueError(f"only the tutorial's 'adam' optimizer is supported, got {config.optimizer!r}")
    learning_rate = config.learning_rate
    if config.lr_schedule != "constant":
        if n_images is None:
            raise ValueError(f"a {config.lr_schedule} schedule needs n_images to know the run's length")
        steps = config.epochs * steps_per_epoch(n_images, config, n_extra)
        learning_rate = learning_rate_schedule(config.lr_schedule, config.learning_rate, steps)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss=config.loss,
        metrics=["accuracy"],
    )


# One cycle: a fifth of the run warming up from 1/20 of the peak rate, then a cosine to 0.
# Warm-up lets a short run use a high rate without diverging at the start (the
# batch-norm statistics and Adam's moments settle first); the annealing to 0
# ends it at a minimum. The `quick` recipe uses it for its single epoch.
ONE_CYCLE_WARMUP_FRACTION = 0.2
ONE_CYCLE_START_FRACTION = 0.05


def learning_rate_schedule(kind: str, rate: float, steps: int):
    """The Keras schedule of `rate` over a run of `steps` optimizer steps: "cosine" or "one_cycle"."""
    if kind == "cosine":
        return keras.optimizers.schedules.CosineDecay(rate, decay_steps=steps, alpha=0.01)
    if kind == "one_cycle":
        warmup = max(1, int(ONE_CYCLE_WARMUP_FRACTION * steps))
        return keras.optimizers.schedules.CosineDecay(
            rate * ONE_CYCLE_START_FRACTION, decay_steps=max(1, steps - warmup), alpha=0.0,
            warmup_target=rate, warmup_steps=warmup,
        )
    raise ValueError(f"unknown learning-rate schedule {kind!r}")


def resolve_engine(config: RunConfig) -> str:
    """Which training loop runs: "fast" (one JAX program per epoch) or "keras" (model.fit)."""
    backend = keras.backend.backend()
    if config.engine == "fast":
        if backend != "jax":
            raise UserError(f"--engine fast needs Keras on JAX, but KERAS_BACKEND is {backend!r}; "
                            "unset KERAS_BACKEND or set it to jax.")
        if config.extra_data:
            raise UserError("--engine fast does not take --extra-data yet; use --engine keras (or auto).")
        return "fast"
    # auto keeps augmenting recipes on model.fit + tf.data (how the shipped models
    # were trained, so their card commands reproduce them); --engine fast augments in JAX.
    if config.engine == "auto" and backend == "jax" and not config.augment and not config.extra_data:
        return "fast"
    if config.augment and backend != "tensorflow":
        # digitlab.train.augment builds its pipeline from TensorFlow ops in tf.data; inside
        # it, Keras layers on another backend cannot take TensorFlow tensors.
        raise UserError("augmentation with model.fit (--augment, or a recipe that augments) runs on TensorFlow, "
                        f"but KERAS_BACKEND is {backend!r}; unset KERAS_BACKEND or set it to tensorflow, "
                        "or train with --engine fast.")
    return "keras"


def fit(
    model: keras.Model,
    images: np.ndarray,
    labels: np.ndarray,
    config: RunConfig,
    run_dir: Path,
    verbose: int | str = "auto",
    extra: tuple[np.ndarray, np.ndarray] | None = None,
    on_epoch_end: Callable[[int, dict], None] | None = None,
    stopped_after: int | None = None,
) -> dict[str, list[float]]:
    """Train `model` (compiled) on prepared arrays; return the whole run's history.

    `extra` (prepared images, one-hot labels) joins the training images only:
    validation stays the same last images of `images` that validation_split holds out.
    `on_epoch_end(epoch, logs)` is called once each epoch's history row and
    checkpoint are written (a sweep reports to its scheduler there, which may end
    the process). `stopped_after`: the run was stopped early after that many
    epochs; restore that checkpoint and train no further.
    """
    run_dir = Path(run_dir)
    history_path = run_dir / rundir.HISTORY
    # Every epoch done (the process stopped after training, before the model was
    # saved) resumes too: the trained weights are then the checkpoint's.
    resumed_from = restore(model, run_dir)
    trim_history(history_path, resumed_from)  # rows of epochs past the checkpoint are trained again
    if resumed_from >= (stopped_after or config.epochs):
        return read_history(history_path)
    if stopped_after is not None:
        raise UserError(f"{run_dir} was stopped after epoch {stopped_after}, but its newest readable checkpoint "
                        f"is of epoch {resumed_from}.")
    if resolve_engine(config) == "fast":
        # The fast engine writes the same history, logs and checkpoints itself.
        fit_fast(model, images, labels, config, run_dir, verbose=verbose, first_epoch=resumed_from,
                 on_epoch_end=on_epoch_end)
        return read_history(history_path)
    callbacks = [
        # The history row first, then the checkpoint (kept after training, so
        # `--resume RUN --epochs N` can train further).
        keras.callbacks.CSVLogger(str(history_path), append=resumed_from > 0),
        EpochCheckpoint(run_dir),
        keras.callbacks.TensorBoard(log_dir=str(run_dir / rundir.TENSORBOARD_LOGS), write_graph=False),
    ]
    if on_epoch_end is not None:
        callbacks.append(keras.callbacks.LambdaCallback(on_epoch_end=on_epoch_end))
    # Held out: the same last images validation_split would take. Only training
    # images (and the extra digits) are augmented; validation images stay as they are.
    (train_images, train_labels), validation = split_validation(images, labels, config.validation_split)
    validation = validation if len(validation[0]) else None
    if extra is not None and len(extra[0]):
        train_images = np.concatenate([train_images, extra[0]])
        train_labels = np.concatenate([train_labels, extra[1]])
    if not config.augment and extra is None:
        # The tutorial's call, exactly.
        model.fit(
            images,
            labels,
            epochs=config.epochs,
            initial_epoch=resumed_from,
            batch_size=config.batch_size,
            validation_split=config.validation_split,
            callbacks=callbacks,
            verbose=verbose,
        )
    elif not config.augment:
        # validation_split would cut the extra digits too: the held-out images are given explicitly.
        model.fit(
            train_images,
            train_labels,
            epochs=config.epochs,
            initial_epoch=resumed_from,
            batch_size=config.batch_size,
            validation_data=validation,
            callbacks=callbacks,
            verbose=verbose,
        )
    else:
        model.fit(
            augmented_dataset(train_images, train_labels, config.batch_size, config),
            epochs=config.epochs,
            initial_epoch=resumed_from,
            shuffle=False,  # the dataset reshuffles itself every epoch
            validation_data=validation,
            callbacks=callbacks,
            verbose=verbose,
        )
    return read_history(history_path)
