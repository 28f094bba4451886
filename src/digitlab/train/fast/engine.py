"""Train a Keras model with one compiled JAX program per epoch; same recipe, same artifacts.

Usage (Keras must run on the JAX backend):

    history = fit_fast(model, images, one_hot_labels, config, run_dir, verbose=2)

Why it is fast: `model.fit` runs a Python loop that dispatches one compiled
step per batch, and on a 2-core CPU that overhead dominates a small model. Here
the data stay in memory as one array, the shuffle happens inside the program,
and `jax.lax.scan` runs every step of an epoch in a single XLA call, in which
convolutions and pooling run as matrix multiplies (`convolutions.py`). The model,
optimizer, loss, batch size, validation split and dropout are exactly those of
the Keras recipe, through Keras' own stateless API (`model.stateless_call`,
`optimizer.stateless_apply`), and the results are written back into the Keras
model, so saving, the report and everything downstream are unchanged.

It writes history.csv with the columns of Keras' CSVLogger, TensorBoard scalars,
and the checkpoints of digitlab.formats.checkpoints (at most every
CHECKPOINT_SECONDS and at the end), so `--resume` works whichever engine wrote them.
"""

from __future__ import annotations

import csv
import logging
import os
import socket
import time
from pathlib import Path

import numpy as np

from digitlab.data import cache_dir, split_validation
from digitlab.formats import (
    HISTORY_COLUMNS,
    HISTORY_COLUMNS_WITH_VALIDATION,
    RunConfig,
    rundir,
)
from digitlab.train.fast.augment import augment_batch
from digitlab.console import progress
from digitlab.train.checkpointing import restore, save_checkpoint
from digitlab.train.fast.convolutions import matmul_convolutions

logger = logging.getLogger(__name__)

# Writing a checkpoint costs tens of milliseconds; an MLP epoch here takes a few
# hundred, so checkpoint by wall time rather than after every epoch.
CHECKPOINT_SECONDS = 10.0


def _epoch_program(model, loss_function, batch_size: int, n_train: int, augment_config: RunConfig | None = None):
    """A jitted function (state, images, labels, key) → (state, mean loss, accuracy) for one epoch.

    With augment_config, every batch is augmented in the program (fast/augment.py).
    """
    import jax  # heavy: JAX loads only when the fast engine trains
    import jax.numpy as jnp

    optimizer = model.optimizer
    steps = -(-n_train // batch_size)  # Keras runs a short last batch: ceil(n / batch_size) steps
    padding = steps * batch_size - n_train

    def train_step(state, batch):
        trainable, non_trainable, optimizer_variables = state
        images, labels, weights = batch

        def loss_and_outputs(trainable, non_trainable):
            predictions, non_trainable = model.stateless_call(trainable, non_trainable, images, training=True)
            # Padding rows have weight 0, so the short last batch's gradient is
            # exactly that of its real images, as in model.fit.
            loss = jnp.sum(weights * loss_function(labels, predictions)) / jnp.sum(weights)
            return loss, (predictions, non_trainable)

        (loss, (predictions, non_trainable)), gradients = jax.value_and_grad(loss_and_outputs, has_aux=True)(
            trainable, non_trainable
        )
        trainable, optimizer_variables = optimizer.stateless_apply(optimizer_variables, gradients, trainable)
        correct = jnp.sum(weights * (jnp.argmax(predictions, axis=-1) == jnp.argmax(labels, axis=-1)))
        # Sums, so the epoch's mean weighs the short last batch like Keras does.
        return (trainable, non_trainable, optimizer_variables), (loss * jnp.sum(weights), correct)

    @jax.jit
    def run_epoch(state, images, labels, key):
        # A fresh shuffle every epoch, as model.fit(shuffle=True) does. One
        # batch shape for every step lets XLA compile the step once.
        shuffle_key, augment_key = jax.random.split(key)
        # (Without augmentation the whole key shuffles, as before augmentation existed: same runs, same results.)
        order = jax.random.permutation(shuffle_key if augment_config is not None else key, n_train)
        order = jnp.concatenate([order, order[:padding]]).reshape(steps, batch_size)
        weights = (jnp.arange(steps * batch_size) < n_train).astype(images.dtype).reshape(steps, batch_size)

        def scan_step(state, batch):
            indices, batch_weights, step = batch
            batch_images = images[indices]
            if augment_config is not None:
                batch_images = augment_batch(batch_images, jax.random.fold_in(augment_key, step), augment_config)
            return train_step(state, (batch_images, labels[indices], batch_weights))

        state, (loss_sums, corrects) = jax.lax.scan(scan_step, state, (order, weights, jnp.arange(steps)))
        return state, loss_sums.sum() / n_train, corrects.sum() / n_train

    return run_epoch


def _evaluation_program(model, loss_function):
    import jax  # heavy: JAX loads only when the fast engine trains
    import jax.numpy as jnp

    @jax.jit
    def evaluate(trainable, non_trainable, images, labels):
        predictions, _ = model.stateless_call(trainable, non_trainable, images, training=False)
        accuracy = jnp.mean(jnp.argmax(predictions, axis=-1) == jnp.argmax(labels, axis=-1))
        return jnp.mean(loss_function(labels, predictions)), accuracy

    return evaluate


def stateless_state(model, optimizer) -> tuple[list, list, list]:
    """(trainable, non-trainable, optimizer) values: what Keras' stateless calls take and return."""
    return ([variable.value for variable in model.trainable_variables],
            [variable.value for variable in model.non_trainable_variables],
            [variable.value for variable in optimizer.variables])


def write_back(model, optimizer, state) -> None:
    """Copy the trained values into the Keras model and optimizer (for saving and predicting)."""
    trainable, non_trainable, optimizer_variables = state
    for variable, value in zip(model.trainable_variables, trainable):
        variable.assign(value)
    for variable, value in zip(model.non_trainable_variables, non_trainable):
        variable.assign(value)
    for variable, value in zip(optimizer.variables, optimizer_variables):
        variable.assign(value)


class _TensorBoardScalars:
    """Per-epoch scalars in the layout Keras' TensorBoard callback uses (logs/train, logs/validation).

    Writes event files with tensorboard's record writer on plain files:
    tensorboard's EventFileWriter would import TensorFlow (~5 s) for its file I/O.
    """

    def __init__(self, log_dir: Path) -> None:
        # tensorboard is a training dependency: loaded only when a run writes logs.
        from tensorboard.compat.proto.event_pb2 import Event
        from tensorboard.summary.writer.record_writer import RecordWriter

        self._files = {}
        self._writers = {}
        for part in ("train", "validation"):
            folder = log_dir / part
            folder.mkdir(parents=True, exist_ok=True)
            name = f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}.{os.getpid()}.fast"
            self._files[part] = (folder / name).open("wb")
            self._writers[part] = RecordWriter(self._files[part])
            self._writers[part].write(Event(wall_time=time.time(), file_version="brain.Event:2").SerializeToString())

    def write(self, epoch: int, values: dict[str, float]) -> None:
        from tensorboard.compat.proto.event_pb2 import Event  # loaded by __init__ already; cheap here
        from tensorboard.compat.proto.summary_pb2 import Summary

        for name, value in values.items():
            part = "validation" if name.startswith("val_") else "train"
            summary = Summary(value=[Summary.Value(tag="epoch_" + name.removeprefix("val_"), simple_value=value)])
            event = Event(wall_time=time.time(), step=epoch, summary=summary)
            self._writers[part].write(event.SerializeToString())
            self._files[part].flush()

    def close(self) -> None:
        for handle in self._files.values():
            try:
                handle.close()
            except OSError:
                pass  # logs only (a full disk): the error that stopped training is the one to report


def enable_compilation_cache() -> None:
    """Keep XLA's compiled epoch programs on disk, so the next run of a recipe skips compiling.

    Compiling the epoch program takes seconds, several times one epoch of the
    MLP; the cache lives next to the dataset cache (DIGITLAB_CACHE/jax).
    """
    import jax  # heavy: JAX loads only when the fast engine trains

    jax.config.update("jax_compilation_cache_dir", str(cache_dir() / "jax"))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)


def fit_fast(
    model,
    images: np.ndarray,
    labels: np.ndarray,
    config: RunConfig,
    run_dir: Path,
    verbose: int | str = 2,
    first_epoch: int | None = None,
    on_epoch_end=None,
) -> None:
    """Train a compiled Keras model (JAX backend) as `model.fit` would; write history and logs.

    verbose: 0 silent; otherwise one logged line per epoch (the line Keras' verbose=2
    prints), and a progress bar over the epochs where stderr is a terminal.
    first_epoch: epochs already trained, when the caller has restored a checkpoint
    into `model` (None: restore the run dir's newest readable one here).
    on_epoch_end(epoch, row): called after each epoch's history row, with a checkpoint of that epoch written.
    """
    # Heavy: JAX and Keras load only when the fast engine trains.
    import jax
    import keras

    enable_compilation_cache()
    run_dir = Path(run_dir)
    (train_images, train_labels), (validation_images, validation_labels) = split_validation(
        images, labels, config.validation_split)
    n_train = len(train_images)
    train_images, train_labels = jax.device_put(train_images), jax.device_put(train_labels)

    model.optimizer.build(model.trainable_variables)
    if first_epoch is None:
        first_epoch = restore(model, run_dir)
    loss_function = keras.losses.get(config.loss)
    run_epoch = _epoch_program(model, loss_function, config.batch_size, n_train,
                               augment_config=config if config.augment else None)
    evaluate = _evaluation_program(model, loss_function) if len(validation_images) else None
    state = stateless_state(model, model.optimizer)
    history_path = run_dir / rundir.HISTORY
    tensorboard = _TensorBoardScalars(run_dir / rundir.TENSORBOARD_LOGS)
    # One key per epoch, derived from the seed and the epoch number, so a
    # resumed run shuffles its remaining epochs as the uninterrupted run would.
    base_key = jax.random.PRNGKey(config.seed)
    last_checkpoint = time.perf_counter()
    bar = progress(total=config.epochs, initial=first_epoch, desc="Training", unit="epoch", enabled=bool(verbose))
    try:
        # The programs are traced at their first call, inside this context:
        # convolutions and pooling then compile to matrix multiplies (see convolutions.py).
        mode = "a" if first_epoch else "w"
        with matmul_convolutions(), history_path.open(mode, newline="", encoding="utf-8") as handle:
            # The columns and order of Keras' CSVLogger.
            columns = HISTORY_COLUMNS_WITH_VALIDATION if evaluate else HISTORY_COLUMNS
            writer = csv.DictWriter(handle, fieldnames=columns)
            if not first_epoch:
                writer.writeheader()
            for epoch in range(first_epoch, config.epochs):
                started = time.perf_counter()
                key = jax.random.fold_in(base_key, epoch)
                state, loss, accuracy = run_epoch(state, train_images, train_labels, key)
                row = {"epoch": epoch, "accuracy": float(accuracy), "loss": float(loss)}
                if evaluate is not None:
                    val_loss, val_accuracy = evaluate(state[0], state[1], validation_images, validation_labels)
                    row.update(val_accuracy=float(val_accuracy), val_loss=float(val_loss))
                try:
                    writer.writerow(row)
                    handle.flush()
                except OSError as error:
                    # A full disk: the CLI's one sentence names the file (the error itself names none).
                    error.filename = error.filename or str(history_path)
                    raise
                tensorboard.write(epoch, {name: value for name, value in row.items() if name != "epoch"})
                if verbose:
                    # Keras' verbose=2 line; on a terminal it scrolls above the bar (cli/logs.py).
                    shown = " - ".join(f"{name}: {value:.4f}" for name, value in row.items() if name != "epoch")
                    logger.info("Epoch %d/%d - %.2fs - %s", epoch + 1, config.epochs,
                                time.perf_counter() - started, shown)
                bar.update()
                # A caller told of every epoch (a sweep's scheduler, which may stop the run there)
                # needs every epoch's checkpoint.
                if (on_epoch_end is not None or time.perf_counter() - last_checkpoint >= CHECKPOINT_SECONDS
                        or epoch == config.epochs - 1):
                    write_back(model, model.optimizer, state)
                    save_checkpoint(model, run_dir, epoch + 1)  # the Keras loop's files: either engine resumes
                    last_checkpoint = time.perf_counter()
                if on_epoch_end is not None:
                    on_epoch_end(epoch, row)
    finally:
        tensorboard.close()
        bar.close()
    write_back(model, model.optimizer, state)
