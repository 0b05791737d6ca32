"""Progress and outcome of a CLI command, on stderr.

Four modes, chosen from the options and the stream:

- ``bar``: a terminal gets one live line (rows, rows/s, % and ETA when the total is
  known), redrawn at most 5 times a second, then a summary line;
- ``text``: a log (not a terminal) gets the summary line only;
- ``json``: one JSON object per line: ``start``, ``progress`` (every 30 s), ``done``,
  ``error``, each with ``event`` and ``time`` fields;
- ``quiet``: nothing but errors (as JSON with ``log_format="json"``).

>>> import io
>>> out = io.StringIO()
>>> r = Reporter(out, log_format="json", clock=iter(range(100)).__next__)
>>> r.start("scoring", total=10, input="in.parquet")
>>> r.advance(10)
>>> r.finish(output="out.parquet")
>>> [json.loads(line)["event"] for line in out.getvalue().splitlines()]
['start', 'done']
>>> json.loads(out.getvalue().splitlines()[-1])["rows"]
10
"""
from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any, Callable, TextIO

REDRAW_EVERY = 0.2  # seconds between redraws of the live line
JSON_PROGRESS_EVERY = 30.0  # seconds between progress events in JSON logs


class Reporter:
    def __init__(
        self,
        stream: TextIO,
        *,
        log_format: str = "text",
        quiet: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ):
        if quiet:
            self.mode = "quiet"
        elif log_format == "json":
            self.mode = "json"
        else:
            self.mode = "bar" if stream.isatty() else "text"
        self.json = log_format == "json"
        self.stream = stream
        self.clock = clock
        self.task = ""
        self.total: int | None = None
        self.rows = 0
        self.counted = True
        self.started = self.shown = 0.0

    def _event(self, event: str, **fields: Any) -> None:
        record = {"event": event, "time": round(time.time(), 3), **fields}
        self.stream.write(json.dumps(record, default=str) + "\n")
        self.stream.flush()

    def _rate(self, now: float) -> float:
        return self.rows / max(now - self.started, 1e-9)

    def start(self, task: str, total: int | None = None, *, counted: bool = True, **fields: Any) -> None:
        """A task begins; ``total`` rows if known; ``counted=False`` if rows are not
        counted here (a Spark job)."""
        self.task, self.total, self.rows, self.counted = task, total, 0, counted
        self.started = self.shown = self.clock()
        if self.mode == "json":
            self._event("start", task=task, rows_total=total, **fields)

    def advance(self, rows: int) -> None:
        """``rows`` more rows are done."""
        self.rows += rows
        now = self.clock()
        if self.mode == "bar" and now - self.shown >= REDRAW_EVERY:
            self.shown = now
            self.stream.write("\r\x1b[K" + self._line(now))
            self.stream.flush()
        elif self.mode == "json" and now - self.shown >= JSON_PROGRESS_EVERY:
            self.shown = now
            self._event("progress", task=self.task, rows=self.rows, rows_per_s=round(self._rate(now), 1))

    def _line(self, now: float) -> str:
        rate = self._rate(now)
        line = f"{self.task}: {self.rows:,}"
        if self.total:
            eta = timedelta(seconds=round(max(self.total - self.rows, 0) / max(rate, 1e-9)))
            line += f"/{self.total:,} rows ({100 * self.rows / self.total:.0f}%), {rate:,.0f} rows/s, ETA {eta}"
        else:
            line += f" rows, {rate:,.0f} rows/s"
        return line

    def finish(self, **fields: Any) -> None:
        """The task succeeded; ``fields`` describe its result (e.g. ``output``)."""
        now = self.clock()
        seconds = now - self.started
        counts = {"rows": self.rows, "rows_per_s": round(self._rate(now), 1)} if self.counted else {}
        if self.mode == "json":
            self._event("done", task=self.task, seconds=round(seconds, 3), **counts, **fields)
        elif self.mode in ("bar", "text"):
            clear = "\r\x1b[K" if self.mode == "bar" else ""
            rows = f"{self.rows:,} rows in " if self.counted else ""
            rate = f" ({counts['rows_per_s']:,.0f} rows/s)" if self.counted else ""
            where = "".join(f"; {k} {v}" for k, v in fields.items())
            self.stream.write(f"{clear}emospark: {self.task} done: {rows}{seconds:.1f} s{rate}{where}\n")
            self.stream.flush()

    def warn(self, message: str | None, **fields: Any) -> None:
        """A warning about the result (e.g. texts that are not English), unless ``message``
        is None or the mode is quiet; JSON logs get a ``warning`` event with ``fields``."""
        if message is None or self.mode == "quiet":
            return
        if self.mode == "json":
            self._event("warning", task=self.task, message=message, **fields)
        else:
            self.stream.write(f"emospark: warning: {message}\n")
            self.stream.flush()

    def error(self, exc: BaseException, exit_code: int) -> None:
        """The command failed (always reported, even in quiet mode)."""
        if self.json:
            self._event("error", exit_code=exit_code, error=type(exc).__name__, message=str(exc))
        else:
            clear = "\r\x1b[K" if self.mode == "bar" else ""
            self.stream.write(f"{clear}emospark: error: {exc}\n")
            self.stream.flush()
