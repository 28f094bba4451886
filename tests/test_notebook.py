"""The tutorial notebook runs top to bottom (on a small subset) without errors."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "mnist_mlp.ipynb"


def test_notebook_executes_on_a_small_subset(monkeypatch):
    monkeypatch.setenv("DIGITLAB_NOTEBOOK_TINY", "1")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.get("outputs", [])]
    assert not [output for output in outputs if output.get("output_type") == "error"]
    images = [output for output in outputs if "image/png" in output.get("data", {})]
    assert len(images) == 4, "samples, curves, confusion matrix and mistakes should all be shown"
    text = "".join(output.get("text", "") for output in outputs)
    assert "identical predictions: True" in text
