"""Derived figures (texts/s, tokens/s, FLOP rate) and the printed table."""
from __future__ import annotations

from typing import Any

from .timing import percentile

COLUMNS = ("config", "texts/s", "tokens/s", "p50 ms", "p95 ms", "load s", "RSS MB", "GFLOP/s", "% peak")


def derive(row: dict[str, Any], tokens: int, flops: float, peak_gflops: float) -> dict[str, Any]:
    """Add rates to a job's measurement (``tokens``/``flops``: what its texts cost the encoder)."""
    m = row.get("measurement")
    if not m:
        return row
    seconds = m["seconds"]
    row.update(
        texts_per_s=m["texts"] / seconds,
        tokens=tokens,
        tokens_per_s=tokens / seconds,
        p50_ms=percentile(m["latencies_ms"], 50),
        p95_ms=percentile(m["latencies_ms"], 95),
        gflops=flops / seconds / 1e9,
        pct_peak=100 * flops / seconds / 1e9 / peak_gflops,
    )
    return row


def _fmt(value: Any, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def table(rows: list[dict[str, Any]]) -> str:
    """A Markdown table of every job (failed or skipped jobs show why)."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in rows:
        if "measurement" not in r:
            lines.append(f"| {r['name']} | {r.get('error', 'skipped')} |" + " |" * (len(COLUMNS) - 2))
            continue
        m = r["measurement"]
        cells = [
            r["name"], _fmt(r["texts_per_s"]), _fmt(r["tokens_per_s"]), _fmt(r["p50_ms"], 1), _fmt(r["p95_ms"], 1),
            _fmt(m["load_s"], 2), _fmt(m["peak_rss_mb"]), _fmt(r["gflops"], 1), _fmt(r["pct_peak"], 1),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def ratio_lines(ratios: list[dict[str, Any]]) -> str:
    """One line per ratio of texts/s."""
    return "\n".join(f"- {r['what']}: {r['ratio']:.2f}x" for r in ratios)
