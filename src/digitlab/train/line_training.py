"""Training the line reader: CTC on strips of synthetic number photos, chosen on validation strips.

Usage:

    digitlab train --model line-reader --epochs 12 --line-photos 60000      # a run dir runs/<time>-line-reader
    digitlab train --resume runs/<time>-line-reader                          # after a kill: on from the last epoch
    digitlab train --model line-reader --init-from line-reader --learning-rate 5e-4   # fine-tune a trained one
    digitlab train --model line-reader --augment ...      # each strip stretched, moved and faded as it is drawn
    train_line_reader(run_dir, epochs, train_strips, validation_strips)      # the loop itself, on StripSets

Data: digitlab.synth.strip_data ("train": MNIST training digits 0–53,999 and
the training fonts; "validation": digits 54,000–59,999). Strips of similar
width are batched together, padded with paper to the batch's bucket width, and
each strip's own frame count goes to the CTC loss, so padding never counts.
Each epoch is followed by reading every validation strip (best path); the
weights of the best epoch by exact numbers are kept as `best.weights.h5` and
saved as `model.keras` at the end, with `training.json` (the history and the
figures). A checkpoint after every epoch lets `--resume` continue a killed run.
Keras on JAX, through Keras' stateless API, one compiled step per bucket width;
the compiled programs are kept in the data cache (DIGITLAB_CACHE/jax), so a
resumed run, or a new one of the same shape and learning rate, skips compiling.
`--init-from` starts from a trained line reader's model.keras (its own
architecture and frame width, deepened by any `--option residual_blocks`)
instead of build_line_reader's fresh weights.
"""

from __future__ import annotations

import inspect
import json
import time
from pathlib import Path

import numpy as np
from PIL import Image

from digitlab.errors import UserError
from digitlab.formats import atomic_path, read_json, rundir, write_json_atomic
from digitlab.models.line_reader import BLANK, FRAME_WIDTH, RESIDUAL_PREFIX, build_line_reader, line_reader_shape
from digitlab.recognize.ctc import best_path_text
from digitlab.recognize.line_reader import moved_rows
from digitlab.synth.strip_data import StripSet, line_strips
from digitlab.train.fast.engine import enable_compilation_cache, stateless_state, write_back
from digitlab.vision.line import MAX_STRIP_WIDTH, STRIP_HEIGHT, WIDTH_MULTIPLE

# Strips are padded to the next of these widths: few shapes, so few compilations.
BUCKETS = (64, 96, 128, 160, 192, 224, 256, 320, 384, 448, 512, MAX_STRIP_WIDTH)
MAX_LABEL = 8
DEFAULT_EPOCHS = 12
DEFAULT_LEARNING_RATE = 2e-3
# build_line_reader's shape options for a new run (a fine-tuned run keeps its start model's shape).
DEFAULT_ARCHITECTURE = {"frame_width": FRAME_WIDTH, "dilation": 1}
# What `digitlab train --model line-reader --option NAME=VALUE` may set: the builder's knobs (all but the
# strip height) with their defaults, read from its signature as models.registry reads a registered builder's.
BUILDER_DEFAULTS = {name: parameter.default
                    for name, parameter in inspect.signature(build_line_reader).parameters.items()
                    if name != "strip_height"}
ARCHITECTURE_OPTIONS = tuple(BUILDER_DEFAULTS)
CHECKPOINT, BEST, HISTORY = "last.weights.h5", "best.weights.h5", "training.json"
# --augment: how much a training strip may be stretched across the line, moved up or down (rows) and its ink
# weakened each time it is drawn, so that a reader fits the writing rather than the strips it was shown.
STRETCH, SHIFT_ROWS, INK_GAIN = (0.85, 1.15), 2, (0.7, 1.0)


def _bucket(width: int) -> int:
    return next(bucket for bucket in BUCKETS if bucket >= width)


def frames_needed(text: str) -> int:
    """The fewest frames CTC can spell `text` in: one per digit, and a blank between two equal digits."""
    return len(text) + sum(first == second for first, second in zip(text, text[1:]))


def spellable(strips: StripSet, frame_width: int = FRAME_WIDTH) -> np.ndarray:
    """The indices of the strips wide enough for their label. A narrower one (2 of the 54,458 training
    strips of generator e4d56b297738: 8 digits in 24 or 36 columns) has no CTC path: a loss of about
    1e5 that says nothing, and was most of the mean loss training.json showed."""
    return np.array([index for index in range(len(strips))
                     if strips.width(index) // frame_width >= frames_needed(strips.texts[index])], dtype=np.int64)


def batches(strips: StripSet, batch_size: int, rng: np.random.Generator | None,
            indices: np.ndarray | None = None) -> list[np.ndarray]:
    """Index batches of strips of one bucket each (of `indices`, default all); shuffled within and across
    buckets when rng is given."""
    by_bucket: dict[int, list[int]] = {}
    for index in range(len(strips)) if indices is None else indices:
        by_bucket.setdefault(_bucket(strips.width(int(index))), []).append(int(index))
    result = []
    for bucket in by_bucket.values():
        bucket = np.array(bucket)
        if rng is not None:
            rng.shuffle(bucket)
        result += [bucket[start:start + batch_size] for start in range(0, len(bucket), batch_size)]
    if rng is not None:
        rng.shuffle(result)
    return result


def augmented(pixels: np.ndarray, text: str, rng: np.random.Generator, frame_width: int = FRAME_WIDTH) -> np.ndarray:
    """A training strip as drawn with --augment: stretched or squeezed across the line by a factor in
    STRETCH (a multiple of WIDTH_MULTIPLE wide, never too few frames for its label), moved up or down by up
    to SHIFT_ROWS rows, its ink scaled by a factor in INK_GAIN."""
    width = pixels.shape[1]
    stretched = int(round(width * rng.uniform(*STRETCH) / WIDTH_MULTIPLE)) * WIDTH_MULTIPLE
    stretched = min(max(stretched, WIDTH_MULTIPLE), MAX_STRIP_WIDTH)
    if stretched != width and stretched // frame_width >= frames_needed(text):
        pixels = np.asarray(Image.fromarray(pixels, mode="F").resize((stretched, STRIP_HEIGHT),
                                                                     Image.Resampling.BILINEAR), dtype=np.float32)
    moved = moved_rows(pixels, int(rng.integers(-SHIFT_ROWS, SHIFT_ROWS + 1)))
    return np.clip(moved * np.float32(rng.uniform(*INK_GAIN)), 0.0, 1.0)


def batch_arrays(strips: StripSet, indices: np.ndarray, frame_width: int = FRAME_WIDTH,
                 rng: np.random.Generator | None = None):
    """(images (n, 32, bucket, 1), labels (n, 8), label lengths, frame counts) for one batch; with `rng`,
    each strip augmented (augmented())."""
    pieces = [strips.pixels(index) for index in indices]
    if rng is not None:
        pieces = [augmented(pixels, strips.texts[index], rng, frame_width) for pixels, index in zip(pieces, indices)]
    width = _bucket(max(pixels.shape[1] for pixels in pieces))
    images = np.zeros((len(indices), STRIP_HEIGHT, width, 1), np.float32)
    labels = np.zeros((len(indices), MAX_LABEL), np.int32)
    label_lengths = np.zeros(len(indices), np.int32)
    frames = np.zeros(len(indices), np.int32)
    for row, (index, pixels) in enumerate(zip(indices, pieces)):
        images[row, :, :pixels.shape[1], 0] = pixels
        text = strips.texts[index]
        labels[row, :len(text)] = [int(character) for character in text]
        label_lengths[row] = len(text)
        frames[row] = pixels.shape[1] // frame_width
    return images, labels, label_lengths, frames


def _programs(model, optimizer):
    import jax  # heavy: JAX loads only when the line reader trains
    import jax.numpy as jnp
    import keras

    def loss_function(trainable, non_trainable, images, labels, label_lengths, frames):
        logits, non_trainable = model.stateless_call(trainable, non_trainable, images, training=True)
        losses = keras.ops.ctc_loss(labels, logits, label_lengths, frames, mask_index=BLANK)
        return jnp.mean(losses), non_trainable

    @jax.jit
    def train_step(state, images, labels, label_lengths, frames):
        trainable, non_trainable, optimizer_variables = state
        (loss, non_trainable), gradients = jax.value_and_grad(loss_function, has_aux=True)(
            trainable, non_trainable, images, labels, label_lengths, frames)
        trainable, optimizer_variables = optimizer.stateless_apply(optimizer_variables, gradients, trainable)
        return (trainable, non_trainable, optimizer_variables), loss

    @jax.jit
    def predict(trainable, non_trainable, images):
        logits, _ = model.stateless_call(trainable, non_trainable, images, training=False)
        return logits

    return train_step, predict


def read_strips(predict, state, strips: StripSet, batch_size: int = 64, frame_width: int = FRAME_WIDTH) -> list[str]:
    """Best-path readings of every strip, in order."""
    readings = [""] * len(strips)
    for indices in batches(strips, batch_size, rng=None):
        images, _, _, frames = batch_arrays(strips, indices, frame_width)
        logits = np.asarray(predict(state[0], state[1], images))
        for row, index in enumerate(indices):
            readings[index] = best_path_text(logits[row, :frames[row]])  # the argmax path: no softmax needed
    return readings


def validation_figures(readings: list[str], texts: list[str]) -> dict:
    numbers = [index for index, text in enumerate(texts) if text]
    refuse = [index for index, text in enumerate(texts) if not text]
    exact = np.mean([readings[index] == texts[index] for index in numbers]) if numbers else 0.0
    refused = np.mean([readings[index] == "" for index in refuse]) if refuse else 0.0
    return {"exact": float(exact), "refused_non_numbers": float(refused), "numbers": len(numbers),
            "non_numbers": len(refuse)}


def _frame_width(model) -> int:
    """Strip columns per output frame of a line-reader model (its output length on a probe strip)."""
    probe = np.zeros((1, STRIP_HEIGHT, 4 * WIDTH_MULTIPLE * 4, 1), np.float32)
    frames = int(np.asarray(model(probe, training=False)).shape[1])
    if frames < 1 or probe.shape[2] % frames or WIDTH_MULTIPLE % (probe.shape[2] // frames):
        raise UserError("that model is not a line reader (its frames do not divide a strip's width).")
    return probe.shape[2] // frames


def train_line_reader(out: Path, epochs: int, train: StripSet, validation: StripSet, batch_size: int = 32,
                      learning_rate: float = 2e-3, seed: int = 0, resume: bool = False, command: str = "",
                      photos: tuple[int, int] = (0, 0), init_from: Path | None = None,
                      architecture: dict | None = None, augment: bool = False) -> dict:
    """Train (or resume) a line reader on these strips into `out`; returns training.json's content.

    `photos`: how many training and validation photos the strips were cut from (for the record).
    `init_from`: a trained line reader's model.keras to start from (fine-tuning), else fresh weights
    built by build_line_reader with `architecture` (its keyword arguments). When fine-tuning,
    `architecture` may only name `residual_blocks`: the start model deepened by those units.
    `augment`: each training strip augmented each time it is drawn (augmented()).
    """
    import keras  # heavy: Keras loads only when the line reader trains

    out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(seed)
    if init_from is not None:
        try:
            model = keras.saving.load_model(init_from, compile=False, safe_mode=True)
        except Exception as error:  # Keras raises many types for a damaged or foreign file
            raise UserError(f"{init_from} could not be loaded as a line reader ({type(error).__name__}).") from None
        if architecture and architecture.get("residual_blocks"):
            # Deeper: the start model's shape with more residual units, its layers' weights copied in.
            shape = line_reader_shape(model)
            shape["residual_blocks"] = sorted(set(shape["residual_blocks"]) | set(architecture["residual_blocks"]))
            model = transfer_weights(model, build_line_reader(strip_height=STRIP_HEIGHT, **shape), init_from)
    else:
        model = build_line_reader(strip_height=STRIP_HEIGHT, **(architecture or {}))
    frame_width = _frame_width(model)
    usable = spellable(train, frame_width)
    steps_per_epoch = len(batches(train, batch_size, rng=None, indices=usable))
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=epochs * steps_per_epoch, alpha=0.02)
    optimizer = keras.optimizers.Adam(learning_rate=schedule, clipnorm=5.0)
    optimizer.build(model.trainable_variables)
    history: list[dict] = []
    if resume and (out / CHECKPOINT).exists():
        model.load_weights(out / CHECKPOINT)
        history = json.loads((out / HISTORY).read_text())["history"]
        # The learning-rate schedule goes on where it stopped (Adam's moments start again from zero).
        optimizer.iterations.assign(len(history) * steps_per_epoch)
    # A program per bucket width, each compiled for seconds: kept on disk, a resumed or repeated run skips that.
    enable_compilation_cache()
    train_step, predict = _programs(model, optimizer)
    state = stateless_state(model, optimizer)
    best = max((entry["validation"]["exact"] for entry in history), default=-1.0)
    for epoch in range(len(history), epochs):
        started, losses = time.time(), []
        draws = np.random.default_rng([seed, epoch, 1]) if augment else None
        for indices in batches(train, batch_size, np.random.default_rng([seed, epoch]), usable):
            state, loss = train_step(state, *batch_arrays(train, indices, frame_width, draws))
            losses.append(float(loss))
        figures = validation_figures(read_strips(predict, state, validation, frame_width=frame_width),
                                     validation.texts)
        entry = {"epoch": epoch + 1, "loss": float(np.mean(losses)), "validation": figures,
                 "seconds": round(time.time() - started, 1)}
        history.append(entry)
        print(json.dumps(entry), flush=True)
        write_back(model, optimizer, state)
        with atomic_path(out / CHECKPOINT, suffix=".weights.h5") as partial:
            model.save_weights(partial)
        if figures["exact"] > best:
            best = figures["exact"]
            with atomic_path(out / BEST, suffix=".weights.h5") as partial:
                model.save_weights(partial)
        best_epoch = max(history, key=lambda entry: entry["validation"]["exact"])["epoch"]
        summary = {"history": history, "best_epoch": best_epoch, "command": command,
                   "train_photos": photos[0], "train_strips": len(train), "train_missed": train.missed,
                   "train_too_narrow": len(train) - len(usable),
                   "validation_photos": photos[1], "validation_strips": len(validation),
                   "validation_missed": validation.missed, "generator": train.generator,
                   "batch_size": batch_size, "learning_rate": learning_rate, "seed": seed,
                   "init_from": str(init_from) if init_from else None, "frame_width": frame_width,
                   "augment": augment}
        write_json_atomic(out / HISTORY, summary)
    model.load_weights(out / BEST)
    with atomic_path(out / "model.keras", suffix=".keras") as partial:
        model.save(partial)
    return json.loads((out / HISTORY).read_text())


def transfer_weights(start, model, source: Path | str = "the start model"):
    """`model` holding `start`'s weights: its plain layers layer by layer in order, its residual units
    by name; the residual units `start` lacks stay as built, the identity (build_line_reader), so the
    deeper model reads as `start` did. A UserError when the weights do not fit (`source` names `start`)."""
    def plain(layers):
        return [layer for layer in layers if layer.weights and not layer.name.startswith(RESIDUAL_PREFIX)]

    trained_plain, target_plain = plain(start.layers), plain(model.layers)
    residual = {layer.name: layer for layer in model.layers if layer.name.startswith(RESIDUAL_PREFIX)}
    pairs = list(zip(trained_plain, target_plain))
    pairs += [(layer, residual.get(layer.name)) for layer in start.layers
              if layer.weights and layer.name.startswith(RESIDUAL_PREFIX)]
    if (len(trained_plain) != len(target_plain)
            or any(target is None or [tuple(weight.shape) for weight in trained.weights]
                   != [tuple(weight.shape) for weight in target.weights] for trained, target in pairs)):
        raise UserError(f"{source} is not a line reader of the shape it was read as; its weights do not fit.")
    for trained, target in pairs:
        target.set_weights(trained.get_weights())
    return model


def check_architecture(architecture: dict | None, resume: bool = False, init_from: Path | None = None) -> None:
    """Raise a UserError unless `architecture` holds only build_line_reader's knobs, of the right kinds,
    and the run may choose a shape (a resumed run keeps its own, a fine-tuned one its start model's)."""
    if not architecture:
        return
    if resume:
        raise UserError("--option sets a new line reader's shape; a resumed run keeps its own.")
    if init_from is not None and set(architecture) != {"residual_blocks"}:
        raise UserError("a fine-tuned run keeps its start model's shape: with --init-from, --option may only add "
                        "residual_blocks.")
    unknown = sorted(set(architecture) - set(ARCHITECTURE_OPTIONS))
    if unknown:
        raise UserError(f"the line reader takes {', '.join(ARCHITECTURE_OPTIONS)}; got {', '.join(unknown)}.")
    shape = {**BUILDER_DEFAULTS, "widths": list(BUILDER_DEFAULTS["widths"]), **architecture}  # what the run builds
    widths = shape["widths"]
    # Each width is a block that halves the strip's height: 32 rows allow five at most.
    if not (isinstance(widths, list) and 0 < len(widths) <= STRIP_HEIGHT.bit_length() - 1
            and all(isinstance(width, int) and not isinstance(width, bool) and width > 0 for width in widths)):
        raise UserError(f"widths must be a list of one to {STRIP_HEIGHT.bit_length() - 1} positive whole numbers, "
                        f"such as [48,96,144,192]; got {widths!r}.")
    for name in ("context", "frame_width", "dilation"):
        value = shape[name]
        if not (isinstance(value, int) and not isinstance(value, bool) and value > 0):
            raise UserError(f"{name} must be a positive whole number; got {value!r}.")
    # A frame is made by halving the width in the first blocks, and strips are cut WIDTH_MULTIPLE columns at a time.
    frame_width = shape["frame_width"]
    if frame_width & (frame_width - 1) or WIDTH_MULTIPLE % frame_width or frame_width.bit_length() - 1 > len(widths):
        raise UserError(f"frame_width must be 1, 2 or {WIDTH_MULTIPLE} (and at most 2 to the number of widths); "
                        f"got {frame_width}.")
    blocks = shape["residual_blocks"]
    if not (isinstance(blocks, (list, tuple)) and len(set(blocks)) == len(blocks)
            and all(isinstance(block, int) and not isinstance(block, bool) and 0 <= block < len(widths)
                    for block in blocks)):
        raise UserError(f"residual_blocks must be a list of different blocks from 0 to {len(widths) - 1} "
                        f"(one per width), such as [2,3]; got {blocks!r}.")
    rate = shape["dropout_rate"]
    if not (isinstance(rate, (int, float)) and not isinstance(rate, bool) and 0 <= rate < 1):
        raise UserError(f"dropout_rate must be a number from 0 up to 1; got {rate!r}.")


def validation_photos(train_photos: int) -> int:
    """Validation photos for a training set: one per 15 training photos, at least 100, at most 4,000."""
    return min(4_000, max(100, train_photos // 15))


def train_line_reader_run(runs_dir: Path, epochs: int | None, train_count: int = 60_000,
                          validation_count: int | None = None, batch_size: int = 32, seed: int = 0,
                          resume_dir: Path | None = None, command: str = "", learning_rate: float | None = None,
                          init_from: Path | None = None, architecture: dict | None = None,
                          augment: bool = False) -> Path:
    """Train a line reader in a run dir of its own (or resume `resume_dir`) with the run's lock and status.

    `epochs` None: DEFAULT_EPOCHS for a new run, the run's own count for a resumed one.
    `init_from`: a line reader's model.keras to fine-tune; `learning_rate` None: DEFAULT_LEARNING_RATE.
    """
    validation_count = validation_count or validation_photos(train_count)
    check_architecture(architecture, resume=resume_dir is not None, init_from=init_from)
    if resume_dir is not None:
        run_dir = Path(resume_dir)
        config = read_json(run_dir / rundir.CONFIG)
        if config.get("model") != rundir.LINE_READER_MODEL:
            raise UserError(f"{run_dir} is not a line-reader run.")
        epochs = epochs or int(config["epochs"])
        train_count, validation_count = int(config["train_photos"]), int(config["validation_photos"])
        batch_size, seed, command = int(config["batch_size"]), int(config["seed"]), str(config.get("command", command))
        learning_rate = float(config.get("learning_rate", DEFAULT_LEARNING_RATE))
        init_from = Path(config["init_from"]) if config.get("init_from") else None
        # A run resumes with its own architecture (runs made before it was recorded have the default one).
        architecture = config.get("architecture", DEFAULT_ARCHITECTURE)
        augment = bool(config.get("augment", False))
    else:
        run_dir = rundir.new_run_dir(runs_dir, rundir.LINE_READER_MODEL)
        epochs = epochs or DEFAULT_EPOCHS
        learning_rate = learning_rate or DEFAULT_LEARNING_RATE
        # A fine-tuned run keeps its start model's shape, deepened by any residual units --option adds.
        architecture = dict(architecture or {}) if init_from else dict(DEFAULT_ARCHITECTURE, **(architecture or {}))
    write_json_atomic(run_dir / rundir.CONFIG, {
        "model": rundir.LINE_READER_MODEL, "epochs": epochs, "batch_size": batch_size, "seed": seed,
        "train_photos": train_count, "validation_photos": validation_count, "command": command,
        "learning_rate": learning_rate, "init_from": str(init_from) if init_from else None,
        "architecture": architecture, "augment": augment})
    with rundir.run_lock(run_dir):
        rundir.mark_status(run_dir, rundir.RUNNING)
        try:
            strips = line_strips("train", train_count), line_strips("validation", validation_count)
            summary = train_line_reader(run_dir, epochs, *strips, batch_size, learning_rate=learning_rate,
                                        seed=seed, resume=resume_dir is not None, command=command,
                                        photos=(train_count, validation_count), init_from=init_from,
                                        architecture=architecture, augment=augment)
        except KeyboardInterrupt:
            rundir.mark_status(run_dir, rundir.INTERRUPTED)
            raise
        except BaseException as error:
            rundir.mark_status(run_dir, rundir.FAILED, error=f"{type(error).__name__}: {error}")
            raise
        best = summary["history"][summary["best_epoch"] - 1]["validation"]
        rundir.mark_status(run_dir, rundir.FINISHED, epochs_run=len(summary["history"]),
                           validation_exact=best["exact"])
    return run_dir
