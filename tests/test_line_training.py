"""Training and shipping a line reader end to end, tiny: the CLI makes a run dir, ships it, and predict reads with it.

A few hundred synthetic photos and one epoch: the model reads nothing well, but
every stage runs as a user runs it (strips cut by the pipeline, CTC training on
JAX, the run dir's status, ONNX export checked against Keras, calibration on
validation strips, the card, reading through DIGITLAB_LINE_READER).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from digitlab.errors import UserError
from digitlab.formats import read_json, rundir
from digitlab.models.line_reader import FRAME_WIDTH
from digitlab.synth.strip_data import found_the_line, line_strips, make_strips
from digitlab.train.line_training import batch_arrays, batches, check_architecture

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = 240


def _digitlab(*arguments: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "digitlab", *arguments], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, cwd=cwd, timeout=900)


def test_strips_are_cut_from_training_and_validation_photos_apart():
    train, validation = make_strips("train", 48), make_strips("validation", 48)
    for strips in (train, validation):
        assert len(strips) + strips.missed == 48 and len(strips) >= 30
        assert all(strips.pixels(index).shape[0] == 32 for index in range(len(strips)))
        assert all(text == "" or (text.isdigit() and len(text) <= 8) for text in strips.texts)
        assert "" in strips.texts  # something to refuse is among them
    # Different digits, different photos: no strip of one split is in the other.
    assert not {strips.pixels(0).tobytes() for strips in (train,)} & {validation.pixels(0).tobytes()}


def test_found_the_line_needs_the_ink_across_and_little_else():
    ink = (100, 50, 300, 90)
    assert found_the_line((90, 40, 310, 100), ink)
    assert not found_the_line((90, 40, 200, 100), ink)  # half the number missing
    assert not found_the_line((115, 40, 310, 100), ink)  # its first digit missing
    assert not found_the_line((0, 0, 2000, 100), ink)  # mostly something else (a shadow's edge)
    assert not found_the_line((90, 95, 310, 140), ink)  # another line
    assert not found_the_line((90, 0, 310, 100), ink)  # the digits squashed under a tall band


def test_line_strips_are_cached_in_blocks_that_more_photos_reuse(tmp_path, monkeypatch):
    import digitlab.synth.strip_data as strip_data

    monkeypatch.setattr(strip_data, "BLOCK_PHOTOS", 4)
    made = []
    real_make = strip_data.make_strips
    monkeypatch.setattr(strip_data, "make_strips",
                        lambda split, count, skip=0: made.append((skip, count)) or real_make(split, count, skip))
    six = strip_data.line_strips("validation", 6, cache_dir=tmp_path)
    assert made == [(0, 4), (4, 2)]
    eleven = strip_data.line_strips("validation", 11, cache_dir=tmp_path)
    assert made == [(0, 4), (4, 2), (4, 4), (8, 3)]                    # the first block read from the cache
    whole = real_make("validation", 11)
    assert eleven.texts == whole.texts and eleven.missed == whole.missed and len(whole) > 6
    assert np.array_equal(eleven.offsets, whole.offsets) and np.array_equal(eleven.columns, whole.columns)
    assert six.texts == whole.texts[:len(six)]


def test_batches_pad_to_buckets_and_keep_each_strip_s_frames():
    strips = line_strips("validation", 48)
    every = np.sort(np.concatenate(batches(strips, 8, np.random.default_rng(0))))
    assert np.array_equal(every, np.arange(len(strips)))
    images, labels, lengths, frames = batch_arrays(strips, np.arange(4))
    assert images.shape[1] == 32 and images.shape[2] % 32 == 0 and images.shape[3] == 1
    for row in range(4):
        assert frames[row] == strips.width(row) // FRAME_WIDTH
        assert lengths[row] == len(strips.texts[row])
        assert "".join(str(label) for label in labels[row, :lengths[row]]) == strips.texts[row]


def test_augmented_strips_stay_readable_for_ctc_and_change_as_said():
    from digitlab.train.line_training import INK_GAIN, SHIFT_ROWS, STRETCH, augmented

    rng = np.random.default_rng(0)
    strip = np.zeros((32, 120), np.float32)
    strip[8:24, 10:110] = 1.0
    widths = set()
    for _ in range(50):
        drawn = augmented(strip, "2026", rng)
        widths.add(drawn.shape[1])
        assert drawn.shape[0] == 32 and drawn.shape[1] % 4 == 0
        assert STRETCH[0] * 120 - 4 <= drawn.shape[1] <= STRETCH[1] * 120 + 4
        assert INK_GAIN[0] - 1e-6 <= drawn.max() <= INK_GAIN[1] + 1e-6
        inked = np.flatnonzero(drawn.max(axis=1) > 0)
        assert 8 - SHIFT_ROWS <= inked[0] <= 8 + SHIFT_ROWS and 23 - SHIFT_ROWS <= inked[-1] <= 23 + SHIFT_ROWS
    assert len(widths) > 3  # stretched and squeezed, not always the same
    # Eight equal digits need 15 frames: a strip 60 columns wide (15 frames of 4) is never squeezed.
    tight = np.ones((32, 60), np.float32)
    assert all(augmented(tight, "11111111", rng).shape[1] >= 60 for _ in range(50))


def test_strips_too_narrow_for_their_label_are_left_out_of_training():
    from digitlab.synth.strip_data import StripSet
    from digitlab.train.line_training import frames_needed, spellable

    assert frames_needed("2026") == 4 and frames_needed("11") == 3 and frames_needed("") == 0
    # 8 columns (2 frames) for "11" (3 frames needed), 12 for "11" (enough), 8 for "" (always).
    strips = StripSet(np.zeros((32, 28), np.uint8), np.array([0, 8, 20, 28]), ["11", "11", ""], missed=0)
    assert spellable(strips).tolist() == [1, 2]
    assert sorted(int(index) for batch in batches(strips, 2, None, spellable(strips)) for index in batch) == [1, 2]


def test_augmented_batches_count_each_strip_s_own_frames():
    strips = make_strips("validation", 24)
    images, labels, lengths, frames = batch_arrays(strips, np.arange(8), rng=np.random.default_rng(1))
    plain = batch_arrays(strips, np.arange(8))
    assert images.shape[2] >= max(frames) * FRAME_WIDTH and not np.array_equal(frames, plain[3])
    assert np.array_equal(labels, plain[1]) and np.array_equal(lengths, plain[2])


@pytest.mark.parametrize("options, resume, init_from, says", [
    ({"height": 3}, False, None, "takes widths, context"),
    ({"widths": [32, 64, 96, 128, 160, 192]}, False, None, "one to 5 positive whole numbers"),
    ({"widths": "wide"}, False, None, "widths must be a list"),
    ({"context": 0}, False, None, "context must be a positive whole number"),
    ({"frame_width": 8}, False, None, "frame_width must be 1, 2 or 4"),
    ({"frame_width": 4, "widths": [32]}, False, None, "at most 2 to the number of widths"),
    ({"dropout_rate": 1.5}, False, None, "dropout_rate must be a number from 0 up to 1"),
    ({"context": 64}, True, None, "a resumed run keeps its own"),
    ({"context": 64}, False, Path("model.keras"), "with --init-from, --option may only add residual_blocks"),
    ({"residual_blocks": [4]}, False, None, "residual_blocks must be a list of different blocks from 0 to 3"),
    ({"residual_blocks": [2, 2]}, False, None, "residual_blocks must be a list of different blocks"),
    ({"residual_blocks": "deep"}, False, None, "residual_blocks must be a list"),
])
def test_a_shape_the_line_reader_cannot_take_is_one_sentence(options, resume, init_from, says):
    with pytest.raises(UserError, match=says):
        check_architecture(options, resume=resume, init_from=init_from)


def test_train_refuses_a_bad_line_reader_option_before_making_a_run_dir(tmp_path):
    done = _digitlab("train", "--model", "line-reader", "--option", "height=3", "--runs-dir", str(tmp_path / "runs"))
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "the line reader takes widths" in done.stderr and not (tmp_path / "runs").exists()


def test_the_builder_takes_the_shape_it_is_given():
    """--option's knobs shape the model: three blocks (4 rows left, not 2), 2-column frames, its own context."""
    from digitlab.models.line_reader import build_line_reader

    model = build_line_reader(strip_height=32, widths=[8, 16, 24], context=40, frame_width=2, dilation=2)
    assert [layer.filters for layer in model.layers if hasattr(layer, "filters")] == [8, 16, 24, 40, 40]
    assert model.predict_on_batch(np.zeros((1, 32, 96, 1), np.float32)).shape == (1, 96 // 2, 11)


def test_a_fine_tuned_run_may_add_residual_blocks():
    check_architecture({"residual_blocks": [2, 3]}, init_from=Path("model.keras"))  # no error


def test_residual_units_start_as_the_identity_so_a_deeper_reader_reads_as_the_one_it_came_from():
    """The trained layers copied over, the new units pass their input through: the same frames to the last bit.
    Checked on weights that are not fresh (random batch-normalization statistics), as a trained reader's."""
    from digitlab.models.line_reader import build_line_reader, line_reader_shape
    from digitlab.train.line_training import transfer_weights

    start = build_line_reader(widths=[8, 16, 24], context=40, frame_width=2, dilation=2)
    rng = np.random.default_rng(0)
    for layer in start.layers:
        layer.set_weights([rng.uniform(0.5, 1.5, weight.shape).astype(np.float32) for weight in layer.get_weights()])
    shape = line_reader_shape(start)
    assert shape == {"widths": [8, 16, 24], "context": 40, "dropout_rate": 0.2, "frame_width": 2, "dilation": 2,
                     "residual_blocks": []}
    deeper = transfer_weights(start, build_line_reader(**{**shape, "residual_blocks": [1, 2]}))
    assert line_reader_shape(deeper) == {**shape, "residual_blocks": [1, 2]}
    assert deeper.count_params() > start.count_params()
    strips = rng.random((2, 32, 96, 1)).astype(np.float32)
    assert np.array_equal(np.asarray(start(strips, training=False)), np.asarray(deeper(strips, training=False)))
    # Deepened again: the units it has keep their (now trained) weights, the new one starts as the identity.
    for layer in deeper.layers:
        if layer.name.startswith("residual"):
            layer.set_weights([rng.uniform(0.5, 1.5, weight.shape).astype(np.float32)
                               for weight in layer.get_weights()])
    deepest = transfer_weights(deeper, build_line_reader(**{**shape, "residual_blocks": [0, 1, 2]}))
    assert np.array_equal(np.asarray(deeper(strips, training=False)), np.asarray(deepest(strips, training=False)))

    with pytest.raises(UserError, match="its weights do not fit"):
        transfer_weights(start, build_line_reader(widths=[8, 16, 32], context=40, frame_width=2, dilation=2))


def test_fine_tuning_with_residual_blocks_trains_and_saves_the_deeper_reader(tmp_path):
    """train_line_reader from a tiny saved reader, deepened by --option residual_blocks, on made-up strips
    (JAX, in a process of its own): the run saves a model of the start's shape plus the new units."""
    script = """
import sys
from pathlib import Path
import numpy as np
from digitlab.models.line_reader import build_line_reader, line_reader_shape
from digitlab.synth.strip_data import StripSet
from digitlab.train.line_training import train_line_reader
import keras

out = Path(sys.argv[1])
build_line_reader(widths=[8, 16], context=16, frame_width=4).save(out / "start.keras")
rng = np.random.default_rng(0)
columns = (rng.random((32, 64 * 8)) * 255).astype(np.uint8)
strips = StripSet(columns, np.arange(0, 64 * 9, 64), ["12", "3", "", "45", "6", "78", "9", "0"], missed=0)
summary = train_line_reader(out / "run", 1, strips, strips, batch_size=4, learning_rate=1e-4,
                            init_from=out / "start.keras", architecture={"residual_blocks": [1]})
model = keras.saving.load_model(out / "run" / "model.keras", compile=False)
print(line_reader_shape(model)["residual_blocks"], len(summary["history"]))
"""
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True,
                          env={**os.environ, "KERAS_BACKEND": "jax"}, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[-2] == "[1] 1"


def test_train_ship_and_read_with_a_line_reader(tmp_path):
    runs, models = tmp_path / "runs", tmp_path / "models"
    # Both runs train at the fine-tune's learning rate: the same programs, so the second one's come from
    # the compilation cache (most of a tiny run's time is compiling one program per strip width).
    # Its shape given with --option, as the shipped reader's (a different one would compile other programs).
    done = _digitlab("train", "--model", "line-reader", "--epochs", "1", "--line-photos", str(PHOTOS),
                     "--learning-rate", "1e-4", "--runs-dir", str(runs), "--option", "widths=[32,64,96,128]",
                     "--option", "context=160", env={"KERAS_BACKEND": "jax"})
    assert done.returncode == 0, done.stderr[-2000:]
    (run_dir,) = runs.iterdir()
    assert rundir.run_status(run_dir) == rundir.FINISHED
    training = read_json(run_dir / "training.json")
    assert len(training["history"]) == 1 and training["train_photos"] == PHOTOS
    assert training["frame_width"] == FRAME_WIDTH and training["init_from"] is None
    config = read_json(run_dir / rundir.CONFIG)
    assert config["architecture"] == {"frame_width": FRAME_WIDTH, "dilation": 1, "widths": [32, 64, 96, 128],
                                      "context": 160}
    assert config["command"].endswith("--option widths=[32,64,96,128] --option context=160")
    listed = json.loads(_digitlab("runs", "--runs-dir", str(runs), "--json").stdout)
    assert [(run["model"], run["status"]) for run in listed] == [("line-reader", "finished")]

    shipped = ROOT / "models" / "line-reader" / "model.keras"  # fine-tuning starts from its weights and frames
    done = _digitlab("train", "--model", "line-reader", "--epochs", "1", "--line-photos", str(PHOTOS),
                     "--init-from", str(shipped), "--learning-rate", "1e-4", "--runs-dir", str(tmp_path / "tuned"),
                     env={"KERAS_BACKEND": "jax"})
    assert done.returncode == 0, done.stderr[-2000:]
    (tuned,) = (tmp_path / "tuned").iterdir()
    tuned_training = read_json(tuned / "training.json")
    assert tuned_training["init_from"] == str(shipped) and tuned_training["learning_rate"] == 1e-4
    assert tuned_training["frame_width"] in (2, 4)
    # Started from a trained reader, one short epoch reads far more than a fresh one.
    assert tuned_training["history"][0]["validation"]["exact"] > training["history"][0]["validation"]["exact"] + 0.2

    done = _digitlab("ship", str(run_dir), "--name", "line-reader", env={"DIGITLAB_MODELS_DIR": str(models)})
    assert done.returncode == 0, done.stderr[-2000:]
    card = read_json(models / "line-reader" / "card.json")
    assert card["kind"] == "line-reader" and card["onnx_parity"]["same_reading"] == card["onnx_parity"]["strips"]
    assert 0.5 <= card["temperature"] <= 3.0 and 0.0 <= card["reject_below"] < 1.0
    assert card["data"]["fonts_held_out"] and "no test image" in card["data"]["digits"]
    assert card["data"]["generator"] == training["generator"] and len(card["data"]["validation_generator"]) == 12

    from digitlab.synth import render_photo

    photo = tmp_path / "photo.jpg"
    photo.write_bytes(render_photo(seed=900_001).jpeg)
    done = _digitlab("predict", "--json", "--reader", "line", str(photo),
                     env={"DIGITLAB_LINE_READER": str(models / "line-reader" / "model.onnx")})
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert set(result) == {"path", "prediction", "confidence", "digits"}
