"""Custom bundles sent to the executors with the job: :func:`ship_bundle`.

    model = emospark.spark.ship_bundle(spark, "/data/my-bundle")
    df.withColumn("emotions", emospark.spark.emotions_udf(model)("text"))
"""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ...bundles.bundle import Bundle


@dataclass(frozen=True)
class ShippedBundle:
    """A bundle sent to the executors by :func:`ship_bundle`, found there by its name."""

    name: str


def is_connect(spark) -> bool:
    """True for a Spark Connect session (which has no ``SparkContext``)."""
    return type(spark).__module__.startswith("pyspark.sql.connect")


def ship_bundle(spark, bundle_dir: str | os.PathLike, name: str | None = None) -> ShippedBundle:
    """Zip a bundle directory and send it to every executor (``SparkContext.addArchive``,
    or ``addArtifacts(archive=True)`` on Spark Connect); pass the result as the UDF's model.

    The zip lives in a temporary directory removed when the driver exits.
    """
    bundle = Bundle.from_dir(bundle_dir)
    bundle.verify()
    name = name or bundle.root.name
    workdir = tempfile.mkdtemp(prefix="emospark-ship-")
    atexit.register(shutil.rmtree, workdir, ignore_errors=True)
    archive = f"{shutil.make_archive(str(Path(workdir) / name), 'zip', bundle.root)}#{name}"
    if is_connect(spark):
        spark.addArtifacts(archive, archive=True)
    else:
        spark.sparkContext.addArchive(archive)
    return ShippedBundle(name)
