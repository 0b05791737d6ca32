"""``pyspark.ml`` Transformer: the emotions column as a Pipeline stage.

Example::

    from pyspark.ml import Pipeline, PipelineModel
    from pyspark.ml.feature import SQLTransformer
    from emospark.spark import EmotionClassifier
    clean = SQLTransformer(statement="SELECT *, trim(body) AS text FROM __THIS__")
    pipeline = Pipeline(stages=[clean, EmotionClassifier(inputCol="text", outputCol="emotions", topK=3)])
    pipeline.fit(df).write().overwrite().save("/models/emotions-pipeline")
    PipelineModel.load("/models/emotions-pipeline").transform(df)


A saved stage holds resolved values: the thresholds as numbers (the model's own
per-label thresholds when none were given), and the model by registered name, or for
a bundle directory its path *and* the digest of its manifest (``modelDigest``). When
the path does not exist where the stage is loaded, the bundle with that digest is
looked for in ``EMOSPARK_MODELS`` and the other model directories
(:func:`emospark.bundles.locate.local_dirs`); a different bundle is never used silently.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from pyspark import keyword_only
from pyspark.ml import Transformer
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.param.shared import HasInputCol, HasOutputCol
from pyspark.ml.util import DefaultParamsReadable, DefaultParamsWritable, DefaultParamsWriter

from ...bundles.locate import local_dirs, resolve
from ...core.schema import DEFAULT_COLUMN, SCHEMA_VERSION
from ...errors import EmosparkError, ModelNotFoundError, UsageError
from ...labels import GO_EMOTIONS
from .options import bundle_digest, check_model, check_threshold
from .shipping import is_connect
from .udf import score


def to_threshold(value: Any) -> float | dict[str, float] | None:
    """One number, or {label: number} (a list of 28 becomes that dict)."""
    checked = check_threshold(value)
    return dict(zip(GO_EMOTIONS, checked, strict=True)) if isinstance(checked, tuple) else checked


class EmotionClassifier(Transformer, HasInputCol, HasOutputCol, DefaultParamsReadable, DefaultParamsWritable):
    """Adds the emotions struct column of ``inputCol`` as ``outputCol`` (see
    :func:`emospark.spark.score`); saves and loads like any ``pyspark.ml`` stage."""

    model = Param(Params._dummy(), "model", "registered model name or bundle directory (empty: the default bundle)",
                  typeConverter=TypeConverters.toString)
    modelDigest = Param(Params._dummy(), "modelDigest", "sha256 of the bundle manifest, for a bundle directory",
                        typeConverter=TypeConverters.toString)
    threshold = Param(Params._dummy(), "threshold", "one threshold in [0, 1] or {label: threshold}",
                      typeConverter=to_threshold)
    topK = Param(Params._dummy(), "topK", "at most this many labels per row (0: no limit)",
                 typeConverter=TypeConverters.toInt)
    rollups = Param(Params._dummy(), "rollups", "roll-ups to add: ekman, sentiment",
                    typeConverter=TypeConverters.toListString)
    batchSize = Param(Params._dummy(), "batchSize", "texts per encoder run (0: the model's default)",
                      typeConverter=TypeConverters.toInt)
    longTexts = Param(Params._dummy(), "longTexts", "chunk or truncate texts longer than the encoder's window",
                      typeConverter=TypeConverters.toString)
    schemaVersion = Param(Params._dummy(), "schemaVersion", "result schema version: 1 or 2",
                          typeConverter=TypeConverters.toInt)
    overwrite = Param(Params._dummy(), "overwrite", "replace an existing outputCol",
                      typeConverter=TypeConverters.toBoolean)

    @keyword_only
    def __init__(self, *, inputCol: str = "text", outputCol: str = DEFAULT_COLUMN, model: str | None = None,
                 threshold: Any = None, topK: int = 0, rollups: list[str] | None = None, batchSize: int = 0,
                 longTexts: str = "chunk", schemaVersion: int = SCHEMA_VERSION, overwrite: bool = False):
        super().__init__()
        self._setDefault(inputCol="text", outputCol=DEFAULT_COLUMN, model="", modelDigest="", topK=0, rollups=[],
                         batchSize=0, longTexts="chunk", schemaVersion=SCHEMA_VERSION, overwrite=False)
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, inputCol: str = "text", outputCol: str = DEFAULT_COLUMN, model: str | None = None,
                  threshold: Any = None, topK: int = 0, rollups: list[str] | None = None, batchSize: int = 0,
                  longTexts: str = "chunk", schemaVersion: int = SCHEMA_VERSION,
                  overwrite: bool = False) -> "EmotionClassifier":
        """Set params; the model and thresholds are resolved here, on the driver."""
        kwargs = {k: v for k, v in self._input_kwargs.items() if v is not None}
        if "model" in kwargs:
            kwargs["model"] = str(kwargs["model"])
        self._set(**kwargs)
        self._resolve()
        return self

    def _resolve(self) -> None:
        """Model checked (with its digest for a directory); thresholds as 28 numbers."""
        model = check_model(self.getOrDefault("model") or None)
        if model is not None and Path(model).is_dir():
            self._set(model=model, modelDigest=bundle_digest(model))
        threshold = self.getOrDefault("threshold") if self.isDefined("threshold") else None
        if threshold is None or isinstance(threshold, dict):
            try:
                base = resolve(model).read_thresholds()
            except EmosparkError:  # a registered model not on this machine: kept as given
                return
            self._set(threshold={**base, **(threshold or {})})

    def options(self) -> dict[str, Any]:
        """The keywords of :func:`emospark.spark.score` these params stand for."""
        get = self.getOrDefault
        return {
            "model": self._model_here(), "threshold": get("threshold") if self.isDefined("threshold") else None,
            "top_k": get("topK") or None, "rollups": get("rollups"), "batch_size": get("batchSize") or None,
            "long_texts": get("longTexts"), "schema_version": get("schemaVersion"),
        }

    def _model_here(self) -> str | None:
        """The model on this machine: its path, or a bundle with the saved digest."""
        model, digest = self.getOrDefault("model") or None, self.getOrDefault("modelDigest")
        if not digest:
            return model
        if Path(model).is_dir() and bundle_digest(model) == digest:
            return model
        for base in local_dirs():
            for manifest in sorted(Path(base).glob("*/emospark.json")):
                if bundle_digest(manifest.parent) == digest:
                    return str(manifest.parent)
        raise ModelNotFoundError(
            f"the stage's bundle {model} ({digest}) is not on this machine: copy it there, or into "
            "EMOSPARK_MODELS, unchanged (or set model= to another bundle)"
        )

    def _transform(self, dataset):
        return score(dataset, self.getInputCol(), self.getOutputCol(), overwrite=self.getOrDefault("overwrite"),
                     **self.options())

    def write(self):
        return EmotionClassifierWriter(self)


class EmotionClassifierWriter(DefaultParamsWriter):
    """pyspark 4's writer clears an existing path through the classic session's JVM:
    on Spark Connect ``overwrite()`` is refused with a clear error instead."""

    def _handleOverwrite(self, path: str) -> None:
        from pyspark.sql import SparkSession

        active = SparkSession.getActiveSession()
        if active is not None and is_connect(active):
            raise UsageError(f"overwrite() cannot clear {path} on Spark Connect (pyspark 4's ML writer needs a classic "
                             "session for that): save to a new path, or remove the old one first")
        super()._handleOverwrite(path)


__all__ = ["EmotionClassifier"]
