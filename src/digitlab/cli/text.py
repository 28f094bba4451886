"""Human-readable terminal output for the CLI (JSON output is the library's dicts, printed as they are).

Usage:

    print_run_summary(result)          # after run_pipeline
    print(format_evaluation(metrics))  # after evaluate_saved_model
    print(format_models())             # registry + shipped models (bundled, models dir, not installed)
    print(format_pulled(results))      # after digitlab.data.pull_models
    print(format_classification_report(metrics))   # sklearn's layout, from metrics.json
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from digitlab.formats import (
    CARD,
    DIRECTION_ARROW,
    MODELS_DIR_ENVIRONMENT,
    PAIR_ARROW,
    default_shipped_model,
    finite_number,
    is_line_reader,
    models_dir,
    read_card,
    read_manifest,
    shipped_models,
)
from digitlab.formats.sweeps import TRIALS_MARKDOWN, TRIALS_PLOT
from digitlab.models import list_models, model_description

# Steps in the order the pipeline runs them, with names a reader understands.
STEP_LABELS = {
    "import_keras": "import Keras + backend",
    "load_data": "load + verify data",
    "train": "train",
    "evaluate": "evaluate on test set",
    "calibrate": "calibrate confidences",
    "figures": "figures",
    "save_reload": "save + reload check",
    "report": "HTML report",
}


def format_timings(timings: dict[str, float]) -> str:
    total = timings.get("total", sum(timings.values()))
    lines = []
    for step, label in STEP_LABELS.items():
        if step in timings:
            share = 100.0 * timings[step] / total if total else 0.0
            lines.append(f"  {label:<24} {timings[step]:7.1f} s  {share:4.0f} %")
    lines.append(f"  {'total':<24} {total:7.1f} s")
    return "\n".join(lines)


def print_run_summary(result) -> None:
    metrics = result.metrics
    reload = "identical predictions" if metrics["reload_identical"] else "DIFFERENT predictions"
    print()
    print(f"Test accuracy: {metrics['test_accuracy']:.2%}  "
          f"({metrics['error_count']} errors in {metrics['n_test']:,})   test loss: {metrics['test_loss']:.4f}")
    print()
    print("Classification report (test set):")
    print(format_classification_report(metrics))
    print()
    print("Most-confused pairs (both directions):")
    print(format_confused_pairs(metrics["confused_pairs"]))
    print()
    calibration = metrics["calibration"]
    print(f"Confidence calibration: temperature {calibration['temperature']:.3f}, expected calibration error "
          f"{calibration['ece_uncalibrated']:.2%} → {calibration['ece_calibrated']:.2%} on the test set")
    print(f"Saved and reloaded model.keras: {reload}, accuracy {metrics['reload_accuracy']:.2%}")
    print()
    print("Where the time went:")
    print(format_timings(metrics["timings_seconds"]))
    print()
    print(f"Run directory: {result.run_dir}")
    print(f"Report:        {result.report_path}")


def format_evaluation(result: dict) -> str:
    lines = [
        f"Model:    {result['model']}",
        f"Dataset:  {result['dataset']} test set ({result['n']:,} images)",
        f"Accuracy: {result['accuracy']:.2%} ({result['error_count']} errors)   loss: {result['loss']:.4f}",
        "",
        format_classification_report(result),
        "",
        "Most-confused pairs:",
        format_confused_pairs(result["confused_pairs"]),
    ]
    return "\n".join(lines)


def format_models() -> str:
    lines = ["Registered architectures:"]
    for name in list_models():
        lines.append(f"  {name:<12} {model_description(name)}")
    shipped = shipped_models()
    lines.append("")
    if not shipped:
        lines.append("Shipped models: none yet (`digitlab models pull --all`, or train one with "
                     "`digitlab train --model NAME`, then `digitlab ship`).")
        lines += _models_dir_lines(shipped)
        return "\n".join(lines)
    lines.append("Shipped models (from their model cards; re-measure with benchmarks/models.py):")
    lines.append(f"  {'name':<12} {'where':<10} {'architecture':<12} {'parameters':>10} {'accuracy':>9} {'errors':>7} "
                 f"{'training':>18}  most-confused pairs")
    # Cards are files on disk: a field of the wrong type (a hand edit) prints as "—", never a crash.
    line_readers = {name: card for name, card in shipped.items() if is_line_reader(card)}
    for name, card in sorted(shipped.items(), key=lambda item: -(finite_number(item[1].get("test_accuracy")) or 0.0)):
        if name in line_readers:
            continue
        pairs = card.get("confused_pairs") if isinstance(card.get("confused_pairs"), list) else []
        pairs = ", ".join(f"{pair.get('pair')} ({pair.get('total')})" for pair in pairs[:3] if isinstance(pair, dict))
        lines.append(
            f"  {name:<12} {str(card.get('location', '—')):<10} {str(card.get('architecture', '—')):<12} "
            f"{_figure(card.get('parameters'), ',d'):>10} {_figure(card.get('test_accuracy'), '.2%'):>9} "
            f"{_figure(card.get('error_count'), 'd'):>7} {training_time(card):>18}  {pairs}"
        )
    defaults = {purpose: default_shipped_model(purpose) for purpose in ("mnist", "images")}
    lines += ["", "Defaults without --model: evaluate and export use "
                  f"{defaults['mnist']['name'] if defaults['mnist'] else 'the newest run'} (most accurate on the validation split); "
                  f"predict and serve use {defaults['images']['name'] if defaults['images'] else 'the newest run'} "
                  "(made for photos and scans)."]
    for name, card in line_readers.items():
        validation = card.get("validation") if isinstance(card.get("validation"), dict) else {}
        lines += ["", f"Line reader: {name} ({card.get('location', '—')}, {_figure(card.get('parameters'), ',d')} "
                      f"parameters) reads whole numbers in photos and scans for predict and serve; "
                      f"{_figure(validation.get('exact'), '.2%')} of validation numbers exactly right "
                      "(--reader segments reads digit by digit with the model instead)."]
    lines += _models_dir_lines(shipped)
    return "\n".join(lines)


def _models_dir_lines(shipped: dict) -> list[str]:
    """Where the models directory is, and which known models are not in it yet."""
    folder = models_dir()
    lines = ["", f"Models directory: {folder} (set {MODELS_DIR_ENVIRONMENT} to move it)."]
    missing = [name for name in read_manifest()["models"] if name not in shipped]
    # A folder with a card that did not load is there but damaged, not missing.
    damaged = [name for name in missing if (folder / name / CARD).exists()]
    absent = [name for name in missing if name not in damaged]
    if damaged:
        lines.append(f"Damaged (their card.json cannot be read): {', '.join(damaged)} "
                     "(`digitlab models pull NAME` fetches them again).")
    if absent:
        lines.append(f"Not installed yet: {', '.join(absent)} (`digitlab models pull NAME`, or `--all`).")
    return lines


def format_pulled(results) -> str:
    """What `digitlab models pull` prints: one line per model."""
    lines = []
    for result in results:
        if result.files:
            lines.append(f"{result.name}: pulled {result.files} file{'s' if result.files > 1 else ''} "
                         f"({result.bytes / 1e6:.1f} MB), checked against the manifest, into {result.folder}")
        else:
            lines.append(f"{result.name}: up to date in {result.folder}")
    return "\n".join(lines)


def training_time(card: dict) -> str:
    """A model card's training wall time; a fine-tuned model's is added to the model it started from."""
    minutes = f"{(finite_number(card.get('train_seconds')) or 0) / 60:.1f} min"
    start = card.get("init_from").get("model") if isinstance(card.get("init_from"), dict) else None
    return f"{start} + {minutes}" if start else minutes


def _figure(value, spec: str) -> str:
    """A card's number in `spec` ("d" and ",d" round to whole numbers), or "—" when it is none."""
    number = finite_number(value)
    if number is None:
        return "—"
    return format(round(number), spec) if spec.endswith("d") else format(number, spec)


def format_data_info(info: dict) -> str:
    cache = info["cache"]
    fetch = f"digitlab data fetch --dataset {info['name']}"
    state = f"{cache['bytes'] / 1e6:.1f} MB" if cache["exists"] else f"not cached yet (`{fetch}`)"
    if cache.get("problem"):
        state += f", {cache['problem']} (`{fetch} --force` rebuilds it)"
    lines = [f"{info['title']} ({info['name']}): classes {', '.join(info['class_names'])}",
             f"Cache: {cache['path']} — {state}", "Sources, tried in this order:"]
    for number, source in enumerate(info["sources"], start=1):
        available = "available" if source["available"] else "not available"
        location = source["location"] or "not set (--data-dir or DIGITLAB_DATA_DIR)"
        lines.append(f"  {number}. {source['kind']:<9} {location}  ({available})")
    if info.get("offline"):
        lines.append("Network sources are skipped (DIGITLAB_OFFLINE=1).")
    return "\n".join(lines)


def format_data_verify(result: dict) -> str:
    shapes = ", ".join(f"{name} {'×'.join(map(str, shape))}" for name, shape in result["shapes"].items())
    return (f"{result['name']}: cache {result['path']} verified in {result['seconds']:.2f} s "
            f"(SHA-256 of all four arrays match; {shapes}; originally from {result['origin']}).")


def format_shipped_ensemble(folder) -> str:
    """What `digitlab ensemble` prints: the ensemble's accuracy next to each member's."""
    card = read_card(Path(folder))
    lines = [f"Shipped ensemble {card['name']} as {folder}"]
    for member in card["members"]:
        accuracy = member["test_accuracy"]
        shown = f"{accuracy:.2%}" if isinstance(accuracy, (int, float)) else "unknown"
        lines.append(f"  member {member['model']:<28} test accuracy {shown}")
    lines.append(f"  ensemble of {len(card['members'])}{'':<17} test accuracy {card['test_accuracy']:.2%} "
                 f"({card['error_count']} errors of {card['n_test']:,}), temperature {card['temperature']:.3f}")
    return "\n".join(lines)


def format_classification_report(metrics: dict) -> str:
    """A text table in the layout of sklearn's classification_report, for a terminal.

    Accepts the dict from evaluate_predictions or a run's metrics.json
    (which spells accuracy and n as test_accuracy and n_test).
    """
    per_class = metrics.get("per_class") or {}
    accuracy = metrics.get("accuracy", metrics.get("test_accuracy"))
    total = metrics.get("n", metrics.get("n_test"))
    if total is None and per_class:
        total = sum(int(row.get("support", 0)) for row in per_class.values())
    width = max([len("weighted avg"), *(len(str(name)) for name in per_class)])
    header = " " * width + "".join(
        f"{column:>10}" for column in ("precision", "recall", "f1-score", "support")
    )

    def row(name: str, scores: dict) -> str:
        cells = [f"{scores.get(key, float('nan')):>10.4f}" for key in ("precision", "recall", "f1")]
        support = scores.get("support")
        return f"{name:>{width}}" + "".join(cells) + f"{'' if support is None else support:>10}"

    lines = [header, ""]
    lines += [row(str(name), scores) for name, scores in per_class.items()]
    lines.append("")
    if accuracy is not None:
        lines.append(
            f"{'accuracy':>{width}}" + " " * 20 + f"{accuracy:>10.4f}{'' if total is None else total:>10}"
        )
    for key, label in (("macro_avg", "macro avg"), ("weighted_avg", "weighted avg")):
        if metrics.get(key):
            lines.append(row(label, metrics[key]))
    return "\n".join(lines)


def format_confused_pairs(pairs: Sequence[dict], limit: int | None = 5) -> str:
    """One line per pair, e.g. "4↔9: 23 (4→9 14, 9→4 9)"; "no confusions" when empty."""
    shown = list(pairs) if limit is None else list(pairs)[:limit]
    if not shown:
        return "no confusions"
    lines = []
    for item in shown:
        # The names are taken from the "pair" label so that class names (not
        # indices) appear in the arrows too.
        a_name, _, b_name = str(item.get("pair", "")).partition(PAIR_ARROW)
        a_name = a_name or str(item.get("a"))
        b_name = b_name or str(item.get("b"))
        lines.append(
            f"{a_name}{PAIR_ARROW}{b_name}: {item.get('total')} "
            f"({a_name}{DIRECTION_ARROW}{b_name} {item.get('a_as_b')}, "
            f"{b_name}{DIRECTION_ARROW}{a_name} {item.get('b_as_a')})"
        )
    return "\n".join(lines)


def format_runs(runs: Sequence[dict], runs_dir: str | Path) -> str:
    """`digitlab runs`: one line per run, oldest first, with what to do about unfinished ones."""
    if not runs:
        return f"No runs in {runs_dir} yet (`digitlab train --model NAME` makes one)."
    lines = [f"Runs in {runs_dir}:", f"  {'run':<32} {'model':<12} {'status':<12} {'epochs':>7} {'accuracy':>9}  note"]
    for run in runs:
        done, asked = run["epochs_done"], run["epochs"]
        epochs = f"{'?' if done is None else done}/{'?' if asked is None else asked}"
        accuracy = f"{run['test_accuracy']:.2%}" if isinstance(run.get("test_accuracy"), float) else "—"
        note = {
            "running": f"process {run.get('pid')}",
            "interrupted": f"digitlab train --resume {run['path']}",
            "failed": run.get("error", ""),
        }.get(run["status"], "")
        lines.append(f"  {run['run']:<32} {run['model'] or '?':<12} {run['status']:<12} {epochs:>7} {accuracy:>9}  {note}")
    return "\n".join(lines)



def format_sweep(sweep) -> str:
    """`digitlab tune`: the trials' table (validation figures only), where the sweep is, and the best settings."""
    finished = sum(row["status"] == "finished" for row in sweep.rows)
    stopped = sum(bool(row["stopped_early"]) for row in sweep.rows)
    lines = [(sweep.sweep_dir / TRIALS_MARKDOWN).read_text(encoding="utf-8").rstrip(), "",
             f"{len(sweep.rows)} trials in {sweep.seconds:.0f} s: {finished} finished ({stopped} stopped early by "
             f"ASHA), {len(sweep.rows) - finished} failed."]
    for row in sweep.rows:
        if row["status"] != "finished" and row["error"]:
            lines.append(f"  {row['run'] or 'a trial'}: {row['error']}")
    lines.append(f"Sweep: {sweep.sweep_dir} (sweep.json, trials.csv, {TRIALS_MARKDOWN}, {TRIALS_PLOT})")
    if sweep.best is not None:
        lines += [f"Best on validation: {sweep.best['run']} at {sweep.best['validation_accuracy']:.2%} "
                  f"(report: {sweep.best['path']}/report.html)",
                  f"Train these settings: {sweep.best_command}"]
    else:
        lines.append("No trial finished.")
    return "\n".join(lines)
