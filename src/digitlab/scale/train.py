"""`digitlab train --ray-workers N`: data-parallel training on Ray Train, Keras on PyTorch in each worker.

Usage:

    from functools import partial
    trainer = partial(fit_on_ray, workers=2, address=None)     # None: a local Ray; or "HOST:PORT"
    run_pipeline(config, trainer=trainer)                     # fit_on_ray stands in for digitlab.train.fit

Why PyTorch: Ray Train's TensorflowTrainer has open problems with Keras 3
(ray-project/ray#47464) and its JaxTrainer targets TPUs and GPUs, while its
TorchTrainer sets up torch.distributed (gloo on CPUs) and Keras 3 runs on
PyTorch. Each worker builds the same Keras model on the torch backend, wraps
it in DistributedDataParallel (which averages the gradients across workers in
backward) and steps Keras' own Adam, so the recipe is the single-process one:
every step takes one global batch of `batch_size` images, split between the
workers. The images reach the workers through Ray's object store, so worker
nodes need no dataset of their own.

Rank 0 writes history.csv and a checkpoint per epoch into the run directory
(digitlab's format, backend-neutral weights), so the driver restores the
trained weights into its own model and the pipeline evaluates, calibrates and
reports as after any run; `--resume` continues from the checkpoint. On a
cluster the run directory must be on a disk every node shares.

Not yet: augmentation (its pipeline is TensorFlow's tf.data) and --extra-data.
"""

from __future__ import annotations

import csv
import logging
import math
import os
import threading
from pathlib import Path

import numpy as np

from digitlab.data import split_validation
from digitlab.errors import UserError
from digitlab.formats import HISTORY_COLUMNS_WITH_VALIDATION, RunConfig, read_history, rundir, trim_history
from digitlab.models import create_model
from digitlab.scale.cluster import connect, local_cpus

logger = logging.getLogger(__name__)

# Each worker asks Ray for one CPU and runs PyTorch on one thread (Ray sets OMP_NUM_THREADS to it).
WORKER_CPUS = 1
# Images per forward pass when the workers measure the validation split.
EVALUATION_BATCH = 1000


def check_workers_fit(workers: int, address: str | None) -> None:
    """One sentence, before a run directory exists, when the cluster (or this machine) has fewer CPUs than
    `workers` need: Ray would wait for the missing CPUs forever. fit_on_ray checks again when it starts."""
    if address is None:
        _refuse_too_many_workers(workers, local_cpus(), "this machine (a local Ray)")
        return
    ray = connect(address)
    try:
        _refuse_too_many_workers(workers, ray.cluster_resources().get("CPU", 0))
    finally:
        ray.shutdown()


def _refuse_too_many_workers(workers: int, cpus: float, where: str = "the Ray cluster") -> None:
    if workers * WORKER_CPUS > cpus:
        raise UserError(f"--ray-workers {workers} needs {workers * WORKER_CPUS:g} CPUs, one per worker; "
                        f"{where} has {cpus:g}.")


def fit_on_ray(model, images: np.ndarray, labels: np.ndarray, config: RunConfig, run_dir: Path,
               verbose=0, extra=None, on_epoch_end=None, stopped_after=None, *, workers: int,
               address: str | None = None) -> dict[str, list[float]]:
    """Train on `workers` Ray Train workers, then load the trained weights into `model`; see the module doc."""
    from digitlab.train.checkpointing import restore  # heavy: Keras (the driver's own backend)

    # RunConfig.validate (run_pipeline's first step) has refused augmentation, --extra-data and fewer than 1 worker.
    if on_epoch_end is not None or stopped_after is not None:
        raise UserError("--ray-workers does not run inside a sweep.")
    run_dir = Path(run_dir).resolve()
    # On the wire as uint8 pixels and integer labels, a quarter of the floats' bytes; the workers
    # recompute the very same floats (x / 255 in float32).
    pixels = np.rint(np.asarray(images, dtype=np.float64) * 255.0).astype(np.uint8)
    classes = np.asarray(labels).argmax(axis=1).astype(np.int64)
    ray = connect(address)
    try:
        _refuse_too_many_workers(workers, ray.cluster_resources().get("CPU", 0))  # the cluster may have shrunk
        # Heavy: Ray Train (and PyTorch through it) load only when a run trains on Ray.
        from ray.train import RunConfig as TrainRunConfig
        from ray.train import ScalingConfig
        from ray.train.torch import TorchTrainer

        trainer = TorchTrainer(
            _worker_loop,
            train_loop_config={"config": config.to_dict(), "run_dir": str(run_dir), "images": ray.put(pixels),
                               "labels": ray.put(classes), "num_classes": int(np.asarray(labels).shape[1])},
            scaling_config=ScalingConfig(num_workers=workers, use_gpu=False,
                                         resources_per_worker={"CPU": WORKER_CPUS}),
            run_config=TrainRunConfig(name="train", storage_path=str(run_dir / "ray")),
        )
        with _EpochLines(run_dir / rundir.HISTORY, config.epochs, enabled=bool(verbose)):
            try:
                trainer.fit()
            except Exception as error:  # noqa: BLE001 - Ray wraps the worker's error; one sentence of it
                raise UserError(f"training on Ray failed: {_last_line(error)}") from None
    finally:
        ray.shutdown()
    restore(model, run_dir)
    return read_history(run_dir / rundir.HISTORY)


def _last_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


class _EpochLines:
    """While the workers train: a log line per epoch as rank 0 appends it to history.csv (the driver sees no more)."""

    def __init__(self, history_path: Path, epochs: int, enabled: bool) -> None:
        self.history_path, self.epochs, self.enabled = history_path, epochs, enabled
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.shown = _epochs_in(read_history(history_path)) if history_path.is_file() else 0

    def __enter__(self):
        if self.enabled:
            self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop.set()
        if self.enabled:
            self.thread.join()
            self._show_new()

    def _watch(self) -> None:
        while not self.stop.wait(1.0):  # a 1 s poll: history.csv is written once per epoch
            self._show_new()

    def _show_new(self) -> None:
        if not self.history_path.is_file():
            return
        rows = read_history(self.history_path)
        epochs = _epochs_in(rows)
        for index in range(self.shown, epochs):
            shown = " - ".join(f"{name}: {values[index]:.4f}" for name, values in rows.items())
            logger.info("Epoch %d/%d (Ray workers) - %s", index + 1, self.epochs, shown)
        self.shown = epochs


def _epochs_in(history: dict[str, list[float]]) -> int:
    return len(next(iter(history.values()), []))


def _worker_loop(loop_config: dict) -> None:
    """One Ray Train worker: Keras on PyTorch, DistributedDataParallel, Keras' Adam; rank 0 writes the files."""
    os.environ["KERAS_BACKEND"] = "torch"  # before Keras loads in this fresh worker process
    # Heavy, and only in the worker: Keras (on PyTorch), Ray Train, PyTorch, digitlab's training stage.
    import keras
    import ray
    import ray.train
    import torch
    import torch.distributed as distributed

    from digitlab.train import compile_model, seed_everything
    from digitlab.train.checkpointing import restore, save_checkpoint

    config = RunConfig(**loop_config["config"])
    run_dir = Path(loop_config["run_dir"])
    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    images = ray.get(loop_config["images"]).astype("float32") / 255.0  # the pipeline's floats, exactly
    labels = ray.get(loop_config["labels"])
    num_classes = loop_config["num_classes"]
    one_hot = np.eye(num_classes, dtype="float32")[labels]
    (train_x, train_y), (validation_x, validation_y) = split_validation(images, one_hot, config.validation_split)

    seed_everything(config.seed)  # the same starting weights on every worker (DDP also broadcasts rank 0's)
    model = create_model(config.model, input_shape=images.shape[1:], num_classes=num_classes,
                         **config.model_options)
    compile_model(model, config, n_images=len(images))
    first_epoch = restore(model, run_dir)  # every worker reads the same checkpoint (a shared disk)
    parallel = torch.nn.parallel.DistributedDataParallel(model)
    loss_function = keras.losses.get(config.loss)
    weights = model.trainable_weights
    history_path = run_dir / rundir.HISTORY
    if rank == 0:
        trim_history(history_path, first_epoch)
    n_train = len(train_x)
    steps = math.ceil(n_train / config.batch_size)
    for epoch in range(first_epoch, config.epochs):
        # Every worker draws the same order; each takes its share of every global batch.
        order = np.random.default_rng([config.seed, epoch]).permutation(n_train)
        totals = torch.zeros(3, dtype=torch.float64)  # loss sum, correct, images
        for step in range(steps):
            batch = order[step * config.batch_size:(step + 1) * config.batch_size]
            if len(batch) < world:
                break  # a last batch too small to split: every worker skips it alike
            mine = np.sort(np.array_split(batch, world)[rank])
            inputs, targets = torch.from_numpy(train_x[mine]), torch.from_numpy(train_y[mine])
            outputs = parallel(inputs, training=True)
            loss = torch.mean(loss_function(targets, outputs))  # Keras' losses.get gives per-image losses
            model.zero_grad()
            loss.backward()  # DistributedDataParallel averages the gradients over the workers here
            with torch.no_grad():
                model.optimizer.apply([weight.value.grad for weight in weights], weights)
                totals += torch.tensor([float(loss) * len(mine), float((outputs.argmax(1) == targets.argmax(1))
                                                                       .sum()), len(mine)], dtype=torch.float64)
        distributed.all_reduce(totals)
        row = {"epoch": epoch, "accuracy": float(totals[1] / totals[2]), "loss": float(totals[0] / totals[2])}
        row.update(_validation(model, loss_function, validation_x, validation_y, rank, world))
        if rank == 0:
            _append_row(history_path, row, first=epoch == 0)
            save_checkpoint(model, run_dir, epoch + 1)
        ray.train.report({name: value for name, value in row.items()})


def _validation(model, loss_function, images, targets, rank: int, world: int) -> dict:
    """Validation loss and accuracy over the whole split, each worker measuring its share."""
    import torch  # heavy: PyTorch, in the worker only
    import torch.distributed as distributed

    totals = torch.zeros(3, dtype=torch.float64)
    share = np.array_split(np.arange(len(images)), world)[rank]
    with torch.no_grad():
        for start in range(0, len(share), EVALUATION_BATCH):
            indices = share[start:start + EVALUATION_BATCH]
            outputs = model(torch.from_numpy(images[indices]), training=False)
            expected = torch.from_numpy(targets[indices])
            totals += torch.tensor([float(torch.sum(loss_function(expected, outputs))),
                                    float((outputs.argmax(1) == expected.argmax(1)).sum()), len(indices)],
                                   dtype=torch.float64)
    distributed.all_reduce(totals)
    if totals[2] == 0:
        return {}
    return {"val_accuracy": float(totals[1] / totals[2]), "val_loss": float(totals[0] / totals[2])}


def _append_row(history_path: Path, row: dict, first: bool) -> None:
    """One epoch's row, in the columns and order Keras' CSVLogger writes."""
    columns = [column for column in HISTORY_COLUMNS_WITH_VALIDATION if column in row]
    with history_path.open("w" if first else "a", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        if first:
            writer.writeheader()
        writer.writerow(row)
        handle.flush()
