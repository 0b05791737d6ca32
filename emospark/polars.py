"""``import emospark.polars`` registers ``pl.col(...).emotions`` and ``df.emotions``;
see :mod:`emospark.integrations.polars`."""
from .integrations.polars import EmotionsExpr, EmotionsFrame, EmotionsLazyFrame, score, score_dtype, score_series

__all__ = ["EmotionsExpr", "EmotionsFrame", "EmotionsLazyFrame", "score", "score_dtype", "score_series"]
