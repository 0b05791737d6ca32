"""What runs in the Spark Python workers: the model cached per process, the batches
scored by :func:`emospark.core.scoring.score_arrow`."""
from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pyarrow as pa

from ...core.model import EmotionModel
from ...core.model_cache import cached_model
from ...core.scoring import score_arrow
from ...errors import BundleError
from ...labels import GO_EMOTIONS


def score_batches(batches: Iterator[pd.Series], spec: dict[str, Any]) -> Iterator[pd.DataFrame]:
    """The UDF's body: ``spec`` is :class:`~.options.SparkOptions` as a dict."""
    model = executor_model(spec["model"], spec["threads"], spec["load_options"])
    options = {k: spec[k] for k in ("threshold", "top_k", "rollups", "schema_version", "batch_size")}
    for texts in batches:
        result = score_arrow(model, texts, **options)
        yield pa.Table.from_struct_array(result).to_pandas(types_mapper=pd.ArrowDtype)


def executor_model(model: Any, threads: int | None, load_options: dict[str, Any]) -> EmotionModel:
    """The model for this task, loaded once per Python worker, with threads fitted to the task."""
    threads = threads or task_cpus()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "true" if threads > 1 else "false")
    os.environ.setdefault("RAYON_NUM_THREADS", str(threads))
    if isinstance(model, tuple):  # ("shipped", name): unpacked next to this worker
        from pyspark import SparkFiles

        model = SparkFiles.get(model[1])
    loaded = cached_model(model, threads=threads, **load_options)
    if loaded.labels != GO_EMOTIONS:
        raise BundleError(
            f"model {loaded.name} has labels {list(loaded.labels)}; the Spark column holds the 28 go_emotions labels"
        )
    return loaded


def task_cpus() -> int:
    """CPUs given to the running Spark task (``spark.task.cpus``), 1 outside a task."""
    from pyspark import TaskContext

    context = TaskContext.get()
    return context.cpus() if context is not None else 1
