"""digitlab.formats: every file digitlab writes, one reader and one writer each, all writes atomic.

Usage:

    from digitlab.formats import RunConfig, rundir, read_metrics, write_metrics, shipped_models

    run_dir = rundir.new_run_dir("runs", "mlp")          # runs/<UTC time>-mlp/
    RunConfig(model="mlp").save(run_dir / rundir.CONFIG)
    write_metrics(run_dir, {"test_accuracy": 0.977})
    read_history(run_dir / rundir.HISTORY)
    resolve_model_path("deotte")                         # a shipped name, run dir or file → model.keras
    shipped_models()                                     # bundled models + the models dir's ($DIGITLAB_MODELS_DIR)
    read_manifest()                                      # what `digitlab models pull` can fetch, with SHA-256
    ensemble_members(resolve_model_path("ensemble"))     # its members' model.keras, checked by SHA-256

What lives where: `rundir` (the run directory's layout), `config` (config.json,
RunConfig), `metrics` (metrics.json), `history` (history.csv), `checkpoints`
(checkpoints/ for --resume), `tensorboard` (training time read back from logs/),
`cards` (card.json, the models directory and the bundled models), `ensembles`
(an ensemble's card and its members), `manifest` (models_manifest.json: what
`models pull` fetches, with checksums), `lookup` (finding a model by name),
`results` (benchmark RESULTS files), `sweeps` (a `digitlab tune` sweep's folder), `files` (atomic writes, staged folders,
checksums).
This package imports nothing heavier than NumPy, so the lean reader can use it.
"""

from digitlab.formats import rundir
from digitlab.formats.cards import (
    BUNDLED,
    CARD,
    MODELS_DIR,
    MODELS_DIR_ENVIRONMENT,
    ONNX_MODEL,
    bundled_models_dir,
    ENSEMBLE,
    card_from_run,
    is_ensemble,
    is_line_reader,
    model_card,
    model_file,
    models_dir,
    read_card,
    shipped_models,
    with_onnx,
    write_card,
)
from digitlab.formats.checkpoints import (
    checkpoint_dir,
    completed_epochs,
    list_checkpoints,
    restore_checkpoint,
    write_checkpoint,
)
from digitlab.formats.config import CONFIG_FIELD_MEANINGS, EXTRA_DATA_KINDS, LR_SCHEDULES, TINY_LIMITS, RunConfig
from digitlab.formats.ensembles import ensemble_members, is_ensemble_card
from digitlab.formats.files import (
    atomic_path,
    check_writable,
    file_sha256,
    read_json,
    read_json_or_none,
    staged_files,
    write_bytes_atomic,
    write_json_atomic,
    write_text_atomic,
)
from digitlab.formats.history import (
    HISTORY_COLUMNS,
    HISTORY_COLUMNS_WITH_VALIDATION,
    read_history,
    read_history_rows,
    trim_history,
)
from digitlab.formats.lookup import (
    READER_MODEL,
    default_shipped_model,
    finite_number,
    model_temperature,
    resolve_model_path,
    sidecar_value,
)
from digitlab.formats.manifest import (
    BUNDLED_MODELS,
    MANIFEST,
    build_manifest,
    file_problem,
    looks_like_onnx,
    read_manifest,
    refresh_bundled,
    with_requirements,
    write_manifest,
)
from digitlab.formats.metrics import DIRECTION_ARROW, PAIR_ARROW, read_metrics, write_metrics
from digitlab.formats.runlist import list_runs, run_summary
from digitlab.formats.results import markdown_table, write_results, write_results_json
from digitlab.formats.sweeps import new_sweep_dir, read_sweep, write_sweep
from digitlab.formats.tensorboard import run_training_seconds, training_seconds

__all__ = [
    "BUNDLED", "BUNDLED_MODELS", "MANIFEST", "MODELS_DIR", "MODELS_DIR_ENVIRONMENT", "ONNX_MODEL",
    "build_manifest", "bundled_models_dir", "file_problem", "looks_like_onnx", "model_file", "read_manifest",
    "refresh_bundled", "staged_files", "with_requirements", "write_manifest",
    "CARD", "CONFIG_FIELD_MEANINGS", "DIRECTION_ARROW", "ENSEMBLE", "EXTRA_DATA_KINDS", "HISTORY_COLUMNS", "HISTORY_COLUMNS_WITH_VALIDATION", "LR_SCHEDULES", "PAIR_ARROW", "READER_MODEL", "TINY_LIMITS",
    "RunConfig", "atomic_path", "card_from_run", "check_writable", "checkpoint_dir", "completed_epochs", "default_shipped_model", "ensemble_members",
    "file_sha256", "finite_number", "is_ensemble", "is_line_reader", "is_ensemble_card",
    "list_checkpoints", "list_runs", "markdown_table", "model_card", "model_temperature", "models_dir", "read_card", "read_history", "read_history_rows", "read_json",
    "read_json_or_none",
    "read_metrics", "resolve_model_path", "run_training_seconds", "run_summary", "rundir", "shipped_models", "sidecar_value",
    "restore_checkpoint", "training_seconds", "trim_history", "with_onnx", "write_bytes_atomic", "write_card",
    "write_checkpoint", "write_json_atomic", "write_metrics", "write_results", "write_results_json",
    "write_text_atomic", "new_sweep_dir", "read_sweep", "write_sweep",
]
