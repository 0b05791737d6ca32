"""What one benchmark configuration is, and what measuring it gives."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Job:
    """One configuration, measured in its own process.

    ``kind``: ``core`` (emospark.load().predict_proba), ``baseline`` (sentence-transformers),
    ``spark`` (the pandas UDF on local[threads]), ``row-udf`` (a plain Python UDF calling
    emospark, one text per call) or ``row-udf-st`` (the same with sentence-transformers). ``call``: texts per call (each call's latency is recorded); None for
    one call with every text (the model batches and length-sorts internally).
    """

    kind: str
    texts: str = "short"
    batch: int = 32
    threads: int = 2
    call: int | None = None
    variant: str = "int8"
    long_texts: str = "chunk"
    limit: int | None = None  # measure only the first `limit` texts (row-at-a-time)

    @property
    def name(self) -> str:
        call = "all" if self.call is None else self.call
        extra = "" if self.variant == "int8" else f" {self.variant}"
        extra += " truncate" if self.long_texts == "truncate" and self.texts == "long" else ""
        rows = "" if self.limit is None else f" rows={self.limit}"
        return f"{self.kind}{extra} {self.texts} b{self.batch} t{self.threads} call={call}{rows}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Measurement:
    """What a worker process reports for one job."""

    texts: int
    seconds: float
    load_s: float
    peak_rss_mb: float
    latencies_ms: list[float] = field(default_factory=list)
    note: str = ""
