"""digitlab.pipeline: the tutorial run — data → train → evaluate → figures → save/reload → report.

Usage:

    from digitlab.formats import RunConfig
    from digitlab.pipeline import run_pipeline

    result = run_pipeline(RunConfig(model="mlp", epochs=10, seed=42))
    result.metrics["test_accuracy"], result.run_dir, result.report_path

A layer above train, evaluate and report, beside the CLI and the web app:
`digitlab run` and `digitlab train` are thin wrappers around `run_pipeline`.
Importing it is cheap; Keras loads when a run starts.
"""

from digitlab.pipeline.run import RunResult, resume_config, run_pipeline
from digitlab.pipeline.steps import StepTimer, package_versions

__all__ = ["RunResult", "StepTimer", "package_versions", "resume_config", "run_pipeline"]
