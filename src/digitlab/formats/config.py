"""One dataclass describes a training run; it is saved as config.json before training.

Usage:

    config = RunConfig(model="mlp", epochs=10, seed=42)
    config.validate()
    config.save(run_dir / "config.json")
    same = RunConfig.load(run_dir / "config.json")

Every number that decides the result lives here, so a run dir alone says how to
reproduce it (`command` records the exact CLI call).
"""

from __future__ import annotations

import dataclasses
import json
import math
import shlex
import sys
from datetime import datetime, timezone
from pathlib import Path

from digitlab.errors import UserError
from digitlab.formats.files import read_json, write_json_atomic

# Kinds of extra training data (made by digitlab.synth.training_data).
EXTRA_DATA_KINDS = ("lowres", "photos", "small")

# A "tiny" run exercises the whole pipeline in seconds (like pytorch/examples'
# --dry-run): a few thousand images, two epochs.
TINY_LIMITS = {"limit_train": 2000, "limit_test": 500, "epochs": 2}


LR_SCHEDULES = ("constant", "cosine", "one_cycle")


@dataclasses.dataclass
class RunConfig:
    """Hyperparameters and data choices of one run (the tutorial's values by default)."""

    model: str = "mlp"
    dataset: str = "mnist"
    epochs: int = 10
    batch_size: int = 128
    validation_split: float = 0.1
    seed: int = 42
    optimizer: str = "adam"
    learning_rate: float = 0.001
    loss: str = "categorical_crossentropy"
    # "keras": plain model.fit (the tutorial); "fast": digitlab.train.fast (JAX backend);
    # "auto": fast when Keras runs on JAX and nothing needs model.fit (augmentation).
    engine: str = "keras"
    # "constant" (the tutorial), "cosine" (decay to 1 % of the rate by the last epoch) or
    # "one_cycle" (warm up to the rate over the first fifth of the run, then cosine to 0).
    lr_schedule: str = "constant"
    # Augmentation (off in the tutorial); see digitlab.train.augment for what each does.
    augment: bool = False
    rotation_degrees: float = 12.0
    shift_fraction: float = 0.1
    zoom_fraction: float = 0.12
    stroke_jitter: float = 0.6
    # Fine-tuning: start from this trained model's weights (shipped name, run dir or
    # .keras file) instead of random ones; None trains from scratch.
    init_from: str | None = None
    # Extra training digits made by the vision pipeline (digitlab.synth.training_data):
    # "lowres" (MNIST training digits as low-resolution scans), "photos" (digits cut
    # from extra_photos synthetic photos), "small" (the same from extra_photos photos
    # of small handwriting). Validation and test images stay MNIST's.
    extra_data: list[str] = dataclasses.field(default_factory=list)
    extra_photos: int = 8000
    # Options of the model's builder (digitlab.models), e.g. {"dropout_rate": 0.4,
    # "hidden_units": [256, 128]}; empty: the builder's defaults. `digitlab tune` sweeps them.
    model_options: dict = dataclasses.field(default_factory=dict)
    # Data-parallel training on this many Ray Train workers (digitlab.scale.train); None: one process.
    ray_workers: int | None = None
    # Optional subsets (first N images) for quick runs and tests; None means all.
    limit_train: int | None = None
    limit_test: int | None = None
    data_dir: str | None = None
    runs_dir: str = "runs"
    command: str = ""
    created_utc: str = ""

    def validate(self) -> None:
        """Raise UserError with a clear message for values that cannot work."""
        if self.epochs < 1:
            raise UserError(f"--epochs must be at least 1, got {self.epochs}.")
        if self.batch_size < 1:
            raise UserError(f"--batch-size must be at least 1, got {self.batch_size}.")
        if not 0.0 <= self.validation_split < 1.0:
            raise UserError(
                f"validation_split must be in [0, 1), got {self.validation_split}."
            )
        if self.learning_rate <= 0:
            raise UserError(f"--learning-rate must be positive, got {self.learning_rate}.")
        for name in ("limit_train", "limit_test"):
            value = getattr(self, name)
            if value is not None and value < 10:
                raise UserError(f"--{name.replace('_', '-')} must be at least 10, got {value}.")
        if self.engine not in ("auto", "fast", "keras"):
            raise UserError(f"--engine must be 'auto', 'fast' or 'keras', got {self.engine!r}.")
        if self.lr_schedule not in LR_SCHEDULES:
            raise UserError(f"--lr-schedule must be one of {', '.join(LR_SCHEDULES)}, got {self.lr_schedule!r}.")
        unknown = sorted(set(self.extra_data) - set(EXTRA_DATA_KINDS))
        if unknown:
            raise UserError(f"--extra-data takes {', '.join(EXTRA_DATA_KINDS)}; got {', '.join(unknown)}.")
        if self.extra_data and self.dataset != "mnist":
            raise UserError(f"--extra-data makes handwritten digits; it does not fit --dataset {self.dataset}.")
        if not 1 <= self.extra_photos <= 50_000:
            raise UserError(f"--extra-photos must be between 1 and 50000, got {self.extra_photos}.")
        if self.ray_workers is not None and self.ray_workers < 1:
            raise UserError(f"--ray-workers must be at least 1, got {self.ray_workers}.")
        if self.ray_workers and (self.augment or self.extra_data):
            raise UserError("--ray-workers trains without augmentation and --extra-data for now (their pipeline "
                            "is TensorFlow's tf.data); train this recipe in one process, or pass --no-augment.")
        if self.seed < 0:
            raise UserError(f"--seed must be a non-negative integer, got {self.seed}.")

    def stamp(self, argv: list[str] | None = None) -> "RunConfig":
        """Record when and how the run was started (the digitlab arguments as typed)."""
        self.created_utc = datetime.now(timezone.utc).isoformat(timespec="seconds")
        if not self.command:
            self.command = shlex.join(["digitlab", *(sys.argv[1:] if argv is None else argv)])
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def save(self, path: Path) -> None:
        write_json_atomic(path, self.to_dict())

    @classmethod
    def load(cls, path: Path) -> "RunConfig":
        """The config saved in `path`; a damaged file, a field of the wrong type or an unknown field is a UserError.

        Unknown fields are refused rather than dropped: a run whose config this
        digitlab cannot fully honour (a newer version's, or a hand edit) must not
        be resumed or shipped as if it had been made with the fields it knows.
        """
        values = read_json(path)
        fields = {field.name: field.type for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(fields))
        if unknown:
            raise UserError(f"{path} has fields this digitlab does not know ({', '.join(unknown)}); it was written "
                            "by a newer digitlab or edited by hand, so the run cannot be repeated as recorded.")
        for name, value in values.items():
            if not _has_type(value, fields[name]):
                raise UserError(f"{path} is damaged: {name} must be {_TYPE_WORDS[fields[name]]}, "
                                f"got {json.dumps(value)[:60]}.")
        return cls(**values)


# Each field type of RunConfig (as written in the annotations) and how a message names it.
_TYPE_WORDS = {
    "str": "a string", "int": "an integer", "float": "a finite number", "bool": "true or false",
    "str | None": "a string or null", "int | None": "an integer or null", "list[str]": "a list of strings",
    "dict": "an object",
}


def _has_type(value, annotation: str) -> bool:
    """Whether a JSON value fits a RunConfig field's annotation (bool is no int here; NaN and ±inf are no float)."""
    if annotation.endswith(" | None"):
        return value is None or _has_type(value, annotation.removesuffix(" | None"))
    if annotation == "dict":
        return isinstance(value, dict)
    if annotation == "list[str]":
        return isinstance(value, list) and all(isinstance(item, str) for item in value)
    if annotation == "bool":
        return isinstance(value, bool)
    if annotation == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation == "float":
        # An integer past float's range (10**400 is valid JSON) is no usable number either.
        return (isinstance(value, float) and math.isfinite(value)) or (
            isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**1000)
    return isinstance(value, str)


# What each field of config.json means, in a learner's words: the report's
# configuration table shows them (a test keeps one meaning per field).
CONFIG_FIELD_MEANINGS = {
    "model": "architecture from the model registry",
    "dataset": "which images were used",
    "epochs": "passes over the training images",
    "batch_size": "images per weight update",
    "validation_split": "share of training images held back to check generalisation",
    "seed": "random seed for weight initialisation and shuffling",
    "optimizer": "rule that updates the weights from the gradients",
    "learning_rate": "size of each update step",
    "loss": "what training minimises",
    "engine": "training loop: keras (model.fit), fast (one compiled JAX program per epoch) or auto",
    "lr_schedule": "how the learning rate changes over the run: constant, cosine or one_cycle",
    "augment": "whether training images were randomly rotated, shifted, zoomed and re-stroked",
    "rotation_degrees": "augmentation: largest random rotation, in degrees",
    "shift_fraction": "augmentation: largest random shift, as a share of the image side",
    "zoom_fraction": "augmentation: largest random zoom in or out, as a share",
    "stroke_jitter": "augmentation: how far strokes may be thickened or thinned (0 to 1)",
    "init_from": "trained model whose weights training started from (none: random weights)",
    "extra_data": "extra training digits made by the image reader (none: MNIST only)",
    "extra_photos": "synthetic photos the extra photo digits were cut from, per kind",
    "ray_workers": "Ray Train workers that trained the model together, each on its share of every batch "
                   "(none: one process)",
    "model_options": "options of the architecture's builder, such as layer widths and dropout (none: its defaults)",
    "limit_train": "use only the first N training images (none: all)",
    "limit_test": "use only the first N test images (none: all)",
    "data_dir": "folder of IDX files used instead of the cache (none: cache or download)",
    "runs_dir": "where run directories are created",
    "command": "the command that started this run",
    "created_utc": "when the run started",
}
