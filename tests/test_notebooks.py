"""The notebooks in notebooks/ execute from top to bottom (so they never rot)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
nbformat = pytest.importorskip("nbformat", reason='notebooks need pip install "emospark[notebooks]"')
nbclient = pytest.importorskip("nbclient", reason='notebooks need pip install "emospark[notebooks]"')


def execute(name: str) -> nbformat.NotebookNode:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    assert not any(cell.get("outputs") for cell in notebook.cells), f"{name} is committed with outputs"
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    client.execute()
    return notebook


def outputs(notebook, kind: str) -> list:
    return [o for cell in notebook.cells for o in cell.get("outputs", []) if o.get("output_type") == kind]


def images(notebook) -> list:
    return [o for o in outputs(notebook, "display_data") if "image/png" in o.get("data", {})]


def test_pandas_quickstart():
    """Runs on the committed labelled examples only (no ../shared)."""
    notebook = execute("pandas_quickstart.ipynb")
    assert "../../shared" not in "".join(cell.source for cell in notebook.cells)
    assert len(images(notebook)) == 2  # label frequencies and per-label F1 on the committed examples


def test_top_emotions_from_pandas_polars_and_duckdb():
    notebook = execute("top_emotions.ipynb")
    assert len(images(notebook)) == 3  # one chart per library
    text = "".join(o.get("text", "") for o in outputs(notebook, "stream"))
    assert "pandas, Polars and DuckDB agree: True" in text


@pytest.mark.spark
@pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs a Java 17+ runtime")
def test_spark_quickstart():
    notebook = execute("spark_quickstart.ipynb")
    text = "".join(o.get("text", "") for o in outputs(notebook, "stream"))
    assert "emotions: struct" in text and "labels: array" in text  # the written parquet's schema
