"""Zero set-up, as a new user runs it: ``/path/to/venv/bin/python script.py``,
``spark-submit script.py`` and ``python -m emospark score --engine spark`` with a clean
environment (no PYSPARK_* variables, the venv not activated and not on PATH, the
interpreter called by its full path). The Python workers must run that interpreter, not
``python3`` from PATH. The script also loads a pipeline saved by the test session: a new
JVM, a new SparkSession."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytest.importorskip("pyspark")
if shutil.which("java") is None:
    pytest.skip("Spark needs a Java 17+ runtime ('java' is not on PATH)", allow_module_level=True)

import emospark.spark  # noqa: E402

from .conftest import assert_same_results, assert_same_rows  # noqa: E402
from .test_spark import TEXTS, expected  # noqa: E402
from .test_spark_api import pipeline_of  # noqa: E402

pytestmark = pytest.mark.spark

SCRIPT = r'''
import json, sys
import pyarrow as pa
from pyspark.ml import PipelineModel
from pyspark.sql import SparkSession
import emospark.spark

bundle, pipeline, texts, out = sys.argv[1:5]
spark = SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false").getOrCreate()
spark.sparkContext.setLogLevel("ERROR")
df = spark.createDataFrame(list(enumerate(json.load(open(texts)))), "id long, text string")
df.createOrReplaceTempView("comments")
emospark.spark.register(spark, "emotions", model=bundle)
results = {
    "udf": emospark.spark.score(df, "text", model=bundle).orderBy("id").toArrow(),
    "sql": spark.sql("SELECT id, emotions(text) AS emotions FROM comments ORDER BY id").toArrow(),
    "ml": PipelineModel.load(pipeline).transform(df.withColumnRenamed("text", "body")).orderBy("id").toArrow(),
}
for name, table in results.items():
    with pa.OSFile(f"{out}/{name}.arrow", "wb") as sink, pa.ipc.new_file(sink, table.schema) as w:
        w.write_table(table)
print("python workers:", spark.sparkContext.pythonExec)
spark.stop()
'''


def clean_env() -> dict[str, str]:
    """No PYSPARK_* (nor any other) variables; PATH without this interpreter's directory."""
    here = str(Path(sys.executable).parent)
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != here)
    env = {"PATH": path, "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8"}
    if "JAVA_HOME" in os.environ:
        env["JAVA_HOME"] = os.environ["JAVA_HOME"]
    return env


def read_arrow(path: Path) -> pa.Table:
    with pa.memory_map(str(path)) as source:
        return pa.ipc.open_file(source).read_all()


def spark_submit() -> str:
    """The venv's ``spark-submit`` (pip puts pyspark's scripts there), else the one inside
    the pyspark package."""
    import pyspark

    beside = Path(sys.executable).parent / "spark-submit"
    return str(beside if beside.is_file() else Path(pyspark.__file__).parent / "bin" / "spark-submit")


def test_spark_submit_script_workers_run_the_drivers_python(spark, tiny_bundle, tmp_path):
    """``spark-submit`` with the venv not activated: the driver's Python is named once
    (``PYSPARK_DRIVER_PYTHON``, as docs/spark.md says; PATH's ``python3`` lacks pyspark), and
    the workers run it too, although pyspark would start ``python3`` from PATH. (``python
    script.py`` runs in :func:`test_readme_and_docs_spark_examples_run_as_written`.)"""
    df = spark.createDataFrame(list(enumerate(TEXTS)), "id long, body string")
    fitted = pipeline_of(tiny_bundle).fit(df)
    fitted.write().save(str(tmp_path / "pipeline"))
    from_this_session = fitted.transform(df).orderBy("id").toArrow().column("emotions")
    (tmp_path / "texts.json").write_text(json.dumps(TEXTS))
    (tmp_path / "script.py").write_text(SCRIPT)
    done = subprocess.run([spark_submit(), str(tmp_path / "script.py"), str(tiny_bundle.root),
                           str(tmp_path / "pipeline"), str(tmp_path / "texts.json"), str(tmp_path)],
                          env={**clean_env(), "PYSPARK_DRIVER_PYTHON": sys.executable}, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"python workers: {sys.executable}" in done.stdout
    want = expected(TEXTS, str(tiny_bundle.root))
    assert_same_rows(read_arrow(tmp_path / "udf.arrow").column("emotions"), want)
    assert_same_rows(read_arrow(tmp_path / "sql.arrow").column("emotions"), want)
    # saved in this session, loaded in another JVM: the same output
    assert_same_results(read_arrow(tmp_path / "ml.arrow").column("emotions"), from_this_session)  # other batches: last bits


def test_cli_spark_engine_zero_setup_and_quiet(tiny_bundle, tmp_path):
    texts = TEXTS[:12]
    pq.write_table(pa.table({"id": list(range(len(texts))), "text": texts}), tmp_path / "in.parquet")
    done = subprocess.run([sys.executable, "-m", "emospark", "score", str(tmp_path / "in.parquet"),
                           str(tmp_path / "out.parquet"), "--engine", "spark", "--partitions", "2", "-q",
                           "--model", str(tiny_bundle.root)],
                          env=clean_env(), cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True,
                          timeout=300)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")  # -q: not a line from Spark or the JVM
    table = pq.read_table(tmp_path / "out.parquet")
    assert table.column("id").to_pylist() == list(range(len(texts)))  # in order across 2 part files
    assert len(list((tmp_path / "out.parquet").glob("part-*"))) == 2
    assert_same_rows(table.column("emotions"), expected(texts, str(tiny_bundle.root)))


def test_udf_keeps_an_explicit_python_choice(spark):
    """PYSPARK_PYTHON or spark.pyspark.python, when set, win over the driver's interpreter."""
    sc = spark.sparkContext
    saved, before = sc.pythonExec, os.environ.get("PYSPARK_PYTHON")
    try:
        os.environ.pop("PYSPARK_PYTHON", None)  # CI exports it: this part checks the unset case
        sc.pythonExec = "python3"
        emospark.spark.use_driver_python(sc)
        assert sc.pythonExec == (sc.getConf().get("spark.pyspark.python") or sys.executable)
        os.environ["PYSPARK_PYTHON"] = "/opt/other/python"
        sc.pythonExec = "/opt/other/python"
        emospark.spark.use_driver_python(sc)
        assert sc.pythonExec == "/opt/other/python"
    finally:
        if before is None:
            os.environ.pop("PYSPARK_PYTHON", None)
        else:
            os.environ["PYSPARK_PYTHON"] = before
        sc.pythonExec = saved


def python_blocks(markdown: Path, headings: list[str]) -> list[str]:
    """The ```python blocks under the given ``## `` headings of a Markdown file."""
    blocks, heading = [], None
    for part in re.split(r"^(## .*)$", markdown.read_text(encoding="utf-8"), flags=re.M):
        if part.startswith("## "):
            heading = part[3:].strip()
        elif heading in headings:
            blocks += re.findall(r"```python\n(.*?)```", part, flags=re.S)
    return blocks


def test_readme_and_docs_spark_examples_run_as_written(tmp_path):
    repo = Path(__file__).resolve().parents[1]
    blocks = python_blocks(repo / "README.md", ["Spark"]) + python_blocks(
        repo / "docs" / "spark.md", ["Quick start", "Spark SQL", "pyspark.ml Pipelines"])
    assert len(blocks) == 5, blocks
    (tmp_path / "example.py").write_text("\n".join(blocks))
    done = subprocess.run([sys.executable, "example.py"], env=clean_env(), cwd=tmp_path, capture_output=True,
                          text=True, timeout=400)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "gratitude" in done.stdout and (tmp_path / "emotions-pipeline" / "metadata").is_dir()
