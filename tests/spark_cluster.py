"""Real Spark processes on 127.0.0.1 for the tests: a standalone master and worker, a
Spark Connect server, and a driver script run in its own process (one Python process
holds one SparkContext, and the test session already has a local one).

Run as a script, this module is that driver::

    python -m tests.spark_cluster --master spark://127.0.0.1:7077 --bundle DIR --texts in.json --out DIR
    python -m tests.spark_cluster --remote sc://127.0.0.1:15002 ...
    python -m tests.spark_cluster --master "local[2,4]" --kill-once MARKER ...

With ``--kill-once MARKER``, a stage before the UDF kills its own Python worker (SIGKILL)
mid-task, on the second batch of the first task to get there while MARKER does not exist
(it creates MARKER first): the task fails once and Spark retries it (local[N,F] allows F
attempts per task).

It scores the texts with ``emospark.spark.score`` on a bundle sent by ``ship_bundle``,
writes the result to ``out/result.arrow`` (what ``DataFrame.toArrow`` returns) and the
``(pid, load counts)`` of the Python workers to ``out/loads.json``.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyspark

SPARK_HOME = Path(pyspark.__file__).resolve().parent
LOCAL_CONF = {
    "spark.ui.enabled": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.shuffle.partitions": "2",
    "spark.pyspark.python": sys.executable,
    "spark.sql.execution.arrow.maxRecordsPerBatch": "16",  # several batches per task
}


def spark_env() -> dict[str, str]:
    """The environment of every Spark process the tests start."""
    return {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable, "SPARK_HOME": str(SPARK_HOME)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daemon:
    """A process started by the tests, its output in a log file, stopped by :meth:`stop`."""

    def __init__(self, name: str, args: list[str], log_dir: Path, env: dict[str, str] | None = None):
        self.name = name
        self.log = log_dir / f"{name}.log"
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env or spark_env(),
                cwd=log_dir, start_new_session=True,
            )

    def wait_for(self, pattern: str, timeout: float) -> re.Match:
        """Poll the log until ``pattern`` appears; fail if the process dies or time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.log.read_text(errors="replace"))
            if found:
                return found
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}")
            time.sleep(0.3)
        raise TimeoutError(f"{self.name} not ready after {timeout:.0f} s (waiting for {pattern!r}):\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM this process (a JVM, as spark-class execs java), SIGKILL if it lingers."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)


def spark_class(*args: str) -> list[str]:
    return [str(SPARK_HOME / "bin" / "spark-class"), *args]


@contextlib.contextmanager
def standalone_cluster(log_dir: Path, cores: int = 2) -> Iterator[str]:
    """A standalone master and one worker on 127.0.0.1; yields the master URL."""
    port = free_port()
    url = f"spark://127.0.0.1:{port}"
    started: list[Daemon] = []
    try:
        master = Daemon("master", spark_class(
            "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
            "--webui-port", str(free_port()),
        ), log_dir)
        started.append(master)
        master.wait_for(r"I have been elected leader", timeout=90)
        worker = Daemon("worker", spark_class(
            "org.apache.spark.deploy.worker.Worker", url, "--host", "127.0.0.1", "--cores", str(cores),
            "--memory", "2g", "--webui-port", str(free_port()), "--work-dir", str(log_dir / "work"),
        ), log_dir)
        started.append(worker)
        worker.wait_for(r"Successfully registered with master", timeout=90)
        yield url
    finally:
        for daemon in reversed(started):
            daemon.stop()


@contextlib.contextmanager
def connect_server(log_dir: Path, master: str, conf: dict[str, str] | None = None) -> Iterator[str]:
    """A Spark Connect server on 127.0.0.1 whose jobs run on ``master``; yields its sc:// URL."""
    port = free_port()
    settings = {**LOCAL_CONF, **(conf or {}), "spark.connect.grpc.binding.address": "127.0.0.1",
                "spark.connect.grpc.binding.port": str(port)}
    args = [str(SPARK_HOME / "bin" / "spark-submit"), "--master", master,
            "--class", "org.apache.spark.sql.connect.service.SparkConnectServer"]
    for key, value in settings.items():
        args += ["--conf", f"{key}={value}"]
    server = Daemon("connect", args + ["spark-internal"], log_dir)
    try:
        server.wait_for(r"Spark Connect server started", timeout=120)
        yield f"sc://127.0.0.1:{port}"
    finally:
        server.stop()


def run_driver(log_dir: Path, target: list[str], bundle: Path, texts: list, timeout: float = 240) -> tuple:
    """Run this module as a driver process; returns (pyarrow table of the result, worker loads)."""
    import pyarrow as pa

    out = log_dir / "driver-out"
    out.mkdir(exist_ok=True)
    (out / "texts.json").write_text(json.dumps(texts))
    args = [sys.executable, "-m", "tests.spark_cluster", *target, "--bundle", str(bundle),
            "--texts", str(out / "texts.json"), "--out", str(out)]
    done = subprocess.run(args, check=False, cwd=Path(__file__).resolve().parents[1], env=spark_env(), timeout=timeout,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise RuntimeError(f"driver failed ({done.returncode}):\n{done.stdout.decode(errors='replace')[-4000:]}")
    with pa.memory_map(str(out / "result.arrow")) as source:
        table = pa.ipc.open_file(source).read_all()
    return table, json.loads((out / "loads.json").read_text())


def driver_extras(log_dir: Path) -> tuple:
    """What :func:`extras` wrote in the last :func:`run_driver` run: (sql table, ml stage table,
    ml pipeline table, checks)."""
    import pyarrow as pa

    out = log_dir / "driver-out"
    tables = []
    for name in ("sql", "ml", "pipeline"):
        with pa.memory_map(str(out / f"{name}.arrow")) as source:
            tables.append(pa.ipc.open_file(source).read_all())
    return (*tables, json.loads((out / "checks.json").read_text()))


def worker_loads(spark, partitions: int = 8) -> list[dict]:
    """``{"pid", "loads"}`` of the Python workers that run a small pandas UDF over
    ``partitions`` partitions: the idle workers that scored a job before."""
    from pyspark.sql.functions import pandas_udf

    @pandas_udf("string")
    def probe(ids: pd.Series) -> pd.Series:
        import json
        import os

        from emospark.core.model_cache import load_counts

        loads = [[list(key), n] for key, n in load_counts().items()]
        return pd.Series([json.dumps({"pid": os.getpid(), "loads": loads})] * len(ids))

    rows = spark.range(0, 4 * partitions, numPartitions=partitions).select(probe("id").alias("p")).distinct().collect()
    return [json.loads(r.p) for r in rows]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--master")
    where.add_argument("--remote")
    parser.add_argument("--bundle", required=True)
    parser.add_argument("--texts", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--kill-once", metavar="MARKER", help="kill one Python worker mid-job (see the module doc)")
    args = parser.parse_args(argv)

    import pyarrow as pa
    from pyspark.sql import SparkSession

    import emospark.spark

    builder = SparkSession.builder.appName("emospark-test")
    if args.master:
        builder = builder.master(args.master)
        for key, value in {**LOCAL_CONF, "spark.executor.memory": "1g", "spark.cores.max": "2"}.items():
            builder = builder.config(key, value)
    else:
        builder = builder.remote(args.remote)
    spark = builder.getOrCreate()
    try:
        texts = json.loads(Path(args.texts).read_text())
        df = spark.createDataFrame(list(enumerate(texts)), "id long, text string").repartition(4)
        if args.kill_once:
            df = df.mapInPandas(kill_once(args.kill_once), df.schema)
        model = emospark.spark.ship_bundle(spark, args.bundle)
        table = emospark.spark.score(df, "text", model=model).orderBy("id").toArrow()
        with pa.OSFile(str(Path(args.out) / "result.arrow"), "wb") as sink, pa.ipc.new_file(sink, table.schema) as w:
            w.write_table(table)
        (Path(args.out) / "loads.json").write_text(json.dumps(worker_loads(spark)))
        extras(spark, df, args.bundle, Path(args.out))
    finally:
        spark.stop()


def write_arrow(table, path: Path) -> None:
    import pyarrow as pa

    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as w:
        w.write_table(table)


def extras(spark, df, bundle: str, out: Path) -> None:
    """SQL, the Transformer saved and loaded alone and in a Pipeline, and a bad option, in
    this session: ``sql.arrow``, ``ml.arrow``, ``pipeline.arrow`` and ``checks.json`` in ``out``."""
    import shutil

    import emospark.spark
    from emospark.errors import EmosparkError

    shutil.rmtree(out / "stage", ignore_errors=True)  # left by an earlier run in the same directory
    checks: dict = {}
    df.createOrReplaceTempView("comments")
    emospark.spark.register(spark, "emotions", model=emospark.spark.ship_bundle(spark, bundle, name="sql-bundle"))
    write_arrow(spark.sql("SELECT id, emotions(text) AS emotions FROM comments ORDER BY id").toArrow(), out / "sql.arrow")
    stage = emospark.spark.EmotionClassifier(inputCol="text", outputCol="emotions", model=bundle)
    stage.write().save(str(out / "stage"))
    try:
        stage.write().overwrite().save(str(out / "stage"))
        checks["overwrite"] = "ok"
    except EmosparkError as exc:
        checks["overwrite"] = f"{type(exc).__name__}: {exc}"
    loaded = emospark.spark.EmotionClassifier.load(str(out / "stage"))
    write_arrow(loaded.transform(df).orderBy("id").toArrow(), out / "ml.arrow")
    # a Pipeline holding the stage after another one: fitted, saved, loaded, applied
    from pyspark.ml import Pipeline, PipelineModel
    from pyspark.ml.feature import SQLTransformer

    shutil.rmtree(out / "pipeline", ignore_errors=True)
    rename = SQLTransformer(statement="SELECT id, text AS body FROM __THIS__")
    stage = emospark.spark.EmotionClassifier(inputCol="body", outputCol="emotions", model=bundle)
    Pipeline(stages=[rename, stage]).fit(df).write().save(str(out / "pipeline"))
    write_arrow(PipelineModel.load(str(out / "pipeline")).transform(df).orderBy("id").toArrow(), out / "pipeline.arrow")
    try:
        emospark.spark.score(df, "text", threshold=2.0)
    except EmosparkError as exc:
        checks["bad_option"] = type(exc).__name__
    (out / "checks.json").write_text(json.dumps(checks))


def kill_once(marker: str):
    """A mapInPandas function that SIGKILLs its Python worker the first time it runs
    (``marker`` absent: it creates it first), and passes batches through otherwise."""

    def pass_through(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        import os
        import signal

        for n, batch in enumerate(batches):
            if n == 1 and not os.path.exists(marker):  # after the first batch went on to the UDF
                Path(marker).touch()
                os.kill(os.getpid(), signal.SIGKILL)
            yield batch

    return pass_through


if __name__ == "__main__":
    main()
