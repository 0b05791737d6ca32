"""Which jobs a run measures, and which ratios it reports between them."""
from __future__ import annotations

from dataclasses import dataclass, replace

from .jobs import Job


@dataclass(frozen=True)
class Plan:
    """The knobs of a run (see ``python -m benchmarks --help``)."""

    batches: tuple[int, ...] = (8, 32, 128)
    threads: tuple[int, ...] = (1, 2)
    reference_batch: int = 32
    row_limit: int = 300
    baseline: bool = True
    spark: bool = True
    precision: bool = True

    @property
    def top_threads(self) -> int:
        return max(self.threads)

    def reference(self, kind: str = "core", **changes) -> Job:
        """One call with every text, reference batch size, all threads: how a job scores a column."""
        return replace(Job(kind, batch=self.reference_batch, threads=self.top_threads), **changes)

    def jobs(self) -> list[Job]:
        t = self.top_threads
        jobs = [Job("core", batch=b, threads=n, call=b) for b in self.batches for n in self.threads]
        jobs.append(self.reference())
        if self.baseline:
            jobs += [Job("baseline", batch=b, threads=t, call=b) for b in self.batches]
            jobs.append(self.reference("baseline"))
        if self.precision:
            jobs += [self.reference(variant=v) for v in ("fp32", "int8-dynamic")]
        jobs += [self.reference(texts="long"), self.reference(texts="long", long_texts="truncate")]
        if self.baseline:
            jobs.append(self.reference("baseline", texts="long", long_texts="truncate"))
        if self.spark:
            jobs += [self.reference("spark"), self.reference("row-udf", limit=self.row_limit)]
            jobs += [self.reference(texts="dev"), self.reference("spark", texts="dev")]
        if self.spark and self.baseline:
            jobs.append(self.reference("row-udf-st", limit=self.row_limit))
        return jobs

    def ratios(self) -> list[tuple[str, Job, Job]]:
        """(what, numerator, denominator) pairs of texts/s; pairs with a missing job are skipped."""
        t, ref = self.top_threads, self.reference()
        out = [
            (f"core / baseline, batch {b}, call {b}", Job("core", batch=b, threads=t, call=b),
             Job("baseline", batch=b, threads=t, call=b))
            for b in self.batches
        ]
        out += [
            ("core / baseline, one call (both length-sort)", ref, self.reference("baseline")),
            ("core / baseline, long texts truncated at 128", self.reference(texts="long", long_texts="truncate"),
             self.reference("baseline", texts="long", long_texts="truncate")),
            ("Spark pandas UDF local[2] / core (2 threads)", self.reference("spark"), ref),
            ("Spark pandas UDF local[2] / core (2 threads), all dev texts", self.reference("spark", texts="dev"),
             self.reference(texts="dev")),
            ("Spark pandas UDF / row-at-a-time UDF (sentence-transformers)", self.reference("spark"),
             self.reference("row-udf-st", limit=self.row_limit)),
            ("Spark pandas UDF / row-at-a-time UDF (emospark per row)", self.reference("spark"),
             self.reference("row-udf", limit=self.row_limit)),
            ("core / row-at-a-time UDF (sentence-transformers)", ref, self.reference("row-udf-st", limit=self.row_limit)),
            ("core / row-at-a-time UDF (emospark per row)", ref, self.reference("row-udf", limit=self.row_limit)),
            ("int8 per-row / fp32", ref, self.reference(variant="fp32")),
            ("int8 per-row / int8-dynamic (per-tensor)", ref, self.reference(variant="int8-dynamic")),
            ("long texts: chunked / truncated (texts/s)", self.reference(texts="long"),
             self.reference(texts="long", long_texts="truncate")),
        ]
        out += [
            (f"core batch {b}: 2 threads / 1 thread", Job("core", batch=b, threads=t, call=b),
             Job("core", batch=b, threads=min(self.threads), call=b))
            for b in self.batches if t != min(self.threads)
        ]
        return out
