"""Checkpoints of a Keras model while it trains, and restoring one to resume (both engines).

Usage:

    epochs_done = restore(model, run_dir)          # 0 when there is no readable checkpoint
    model.fit(..., initial_epoch=epochs_done, callbacks=[..., EpochCheckpoint(run_dir)])
    save_checkpoint(model, run_dir, epochs_done)   # what the callback does (the fast engine calls it)

Why not keras.callbacks.BackupAndRestore: it writes its weights file in place,
so a kill during the write leaves a truncated HDF5 file that nothing can load,
and the run cannot resume. Here every checkpoint goes through
digitlab.formats.write_checkpoint (temporary file, fsync, rename, the previous
checkpoint kept), and restoring falls back to the previous one.

A checkpoint also holds the state of the model's random generators (dropout's
SeedGenerator), which `model.save_weights` leaves out: with it, the epochs
after a resume draw the dropout masks the uninterrupted run would have drawn,
so a resumed run ends where the uninterrupted one does.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import keras
import numpy as np

from digitlab.formats import list_checkpoints, restore_checkpoint, write_checkpoint

# An HDF5 group of our own beside Keras' in the weights file; Keras' load_weights ignores it.
SEED_STATES_GROUP = "digitlab_seed_generator_states"


def _seed_states(model: keras.Model) -> list:
    """The state variables of the model's SeedGenerators (Keras names them "seed_generator_state")."""
    return [variable for variable in model.non_trainable_variables if variable.path.endswith("seed_generator_state")]


def save_checkpoint(model: keras.Model, run_dir: str | Path, epochs_done: int) -> None:
    """Weights, optimizer state and random-generator state after `epochs_done` epochs, written atomically."""

    def save(path: Path) -> None:
        model.save_weights(path, overwrite=True)
        with h5py.File(path, "a") as weights_file:
            group = weights_file.create_group(SEED_STATES_GROUP)
            for index, variable in enumerate(_seed_states(model)):
                group.create_dataset(str(index), data=np.asarray(variable.value))

    write_checkpoint(run_dir, epochs_done, save)


def _load_checkpoint(model: keras.Model, path: Path) -> None:
    model.load_weights(path)
    with h5py.File(path, "r") as weights_file:
        group = weights_file.get(SEED_STATES_GROUP)
        variables = _seed_states(model)
        if group is not None and len(group) == len(variables):  # checkpoints of earlier versions have none
            for index, variable in enumerate(variables):
                variable.assign(group[str(index)][()])


class EpochCheckpoint(keras.callbacks.Callback):
    """Save weights and optimizer state atomically at the end of every epoch.

    Put it after CSVLogger in the callback list: an epoch's history row is then
    on disk before its checkpoint, so a resumed run never lacks a row.
    """

    def __init__(self, run_dir: str | Path) -> None:
        super().__init__()
        self.run_dir = Path(run_dir)

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        save_checkpoint(self.model, self.run_dir, epoch + 1)


def restore(model: keras.Model, run_dir: str | Path) -> int:
    """Load the newest readable checkpoint of run_dir into `model` (compiled); return its epoch count.

    A checkpoint that fails to load may have assigned some variables already,
    so the model's starting values are kept aside and put back when no
    checkpoint loads (training then starts from the first epoch).
    """
    if not list_checkpoints(run_dir):
        return 0  # a new run: nothing to load, so nothing to build or keep aside
    model.optimizer.build(model.trainable_variables)  # a checkpoint holds Adam's state too
    variables = list(model.variables) + list(model.optimizer.variables)
    starting_values = [variable.numpy() for variable in variables]

    def reset() -> None:
        for variable, value in zip(variables, starting_values):
            variable.assign(value)

    return restore_checkpoint(run_dir, lambda path: _load_checkpoint(model, path), reset=reset)
