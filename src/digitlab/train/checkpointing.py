"""Checkpoints of a Keras model while it trains, and restoring one to resume (both engines).

Usage:

    epochs_done = restore(model, run_dir)          # 0 when there is no readable checkpoint
    model.fit(..., initial_epoch=epochs_done, callbacks=[..., EpochCheckpoint(run_dir)])

Why not keras.callbacks.BackupAndRestore: it writes its weights file in place,
so a kill during the write leaves a truncated HDF5 file that nothing can load,
and the run cannot resume. Here every checkpoint goes through
digitlab.formats.write_checkpoint (temporary file, fsync, rename, the previous
checkpoint kept), and restoring falls back to the previous one.
"""

from __future__ import annotations

from pathlib import Path

import keras

from digitlab.formats import restore_checkpoint, write_checkpoint


class EpochCheckpoint(keras.callbacks.Callback):
    """Save weights and optimizer state atomically at the end of every epoch.

    Put it after CSVLogger in the callback list: an epoch's history row is then
    on disk before its checkpoint, so a resumed run never lacks a row.
    """

    def __init__(self, run_dir: str | Path) -> None:
        super().__init__()
        self.run_dir = Path(run_dir)

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        write_checkpoint(self.run_dir, epoch + 1, self.model.save_weights)


def restore(model: keras.Model, run_dir: str | Path) -> int:
    """Load the newest readable checkpoint of run_dir into `model` (compiled); return its epoch count.

    A checkpoint that fails to load may have assigned some variables already,
    so the model's starting values are kept aside and put back when no
    checkpoint loads (training then starts from the first epoch).
    """
    model.optimizer.build(model.trainable_variables)  # a checkpoint holds Adam's state too
    variables = list(model.variables) + list(model.optimizer.variables)
    starting_values = [variable.numpy() for variable in variables]

    def reset() -> None:
        for variable, value in zip(variables, starting_values):
            variable.assign(value)

    return restore_checkpoint(run_dir, model.load_weights, reset=reset)
