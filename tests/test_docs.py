"""Every code block of README.md and docs/*.md runs as written.

Rules (picked up from whatever the pages hold when the tests run):

- ```python blocks of one page run in order in one namespace; ```bash / ```sh blocks run
  with ``bash -euo pipefail``; both in a fresh temporary directory where ``docs/`` is the
  repository's docs folder (so ``docs/examples/comments.csv`` resolves) and the
  ``emospark`` command is this interpreter's.
- A block that cannot run here (installs, cluster URLs, files of the reader's own) is
  preceded by ``<!-- not-run: the reason -->`` on the line just before its fence; the
  reason is required.
- Blocks without a language or tagged ``text`` show output or syntax and are not run.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUNNABLE = {"python": "python", "py": "python", "bash": "bash", "sh": "bash", "shell": "bash"}
NOT_RUN = re.compile(r"<!--\s*not-run:\s*(?P<reason>.*?)\s*-->")


@dataclass
class Block:
    page: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    not_run: str | None  # the reason, if marked

    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """The fenced code blocks of a Markdown page."""
    out, lines, i = [], page.read_text(encoding="utf-8").splitlines(), 0
    while i < len(lines):
        fence = re.match(r"^(```+|~~~+)\s*([\w+-]*)", lines[i])
        if not fence:
            i += 1
            continue
        start, close = i, fence.group(1)
        i += 1
        while i < len(lines) and not lines[i].startswith(close):
            i += 1
        marker = NOT_RUN.search(lines[start - 1]) if start > 0 else None
        out.append(Block(page, start + 1, fence.group(2).lower(), "\n".join(lines[start + 1 : i]) + "\n",
                         marker.group("reason") if marker else None))
        i += 1
    return out


def test_the_block_parser_and_markers(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("a\n```python\nx = 1\n```\n<!-- not-run: needs a cluster -->\n```bash\nspark-submit\n```\n"
                    "```\nplain output\n```\n")
    found = blocks(page)
    assert [(b.line, b.lang, b.code, b.not_run) for b in found] == [
        (2, "python", "x = 1\n", None), (6, "bash", "spark-submit\n", "needs a cluster"), (9, "", "plain output\n", None)]


def env() -> dict[str, str]:
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", "PYSPARK_PYTHON": sys.executable,
            "MPLBACKEND": "Agg"}


def run_python(code: str, where: str, namespace: dict) -> None:
    try:
        exec(compile(code, where, "exec"), namespace)
    except Exception as exc:
        raise AssertionError(f"{where}: the documented code fails: {type(exc).__name__}: {exc}") from exc


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_page_code_runs_as_written(page, tmp_path, monkeypatch):
    found = [b for b in blocks(page) if b.lang in RUNNABLE]
    for block in found:
        if block.not_run is not None:
            assert block.not_run, f"{block.where()}: a not-run marker needs a reason"
    todo = [b for b in found if b.not_run is None]
    if not todo:
        pytest.skip(f"{page.name}: no runnable blocks")
    if any("pyspark" in b.code or "emospark.spark" in b.code for b in todo) and shutil.which("java") is None:
        pytest.skip(f"{page.name} runs Spark, which needs a Java 17+ runtime ('java' is not on PATH)")
    (tmp_path / "docs").symlink_to(ROOT / "docs")
    monkeypatch.chdir(tmp_path)
    for key, value in env().items():
        monkeypatch.setenv(key, value)
    namespace: dict = {"__name__": "__docs__"}
    for block in todo:
        if RUNNABLE[block.lang] == "python":
            run_python(block.code, block.where(), namespace)
        else:
            done = subprocess.run(["bash", "-euo", "pipefail", "-c", block.code], cwd=tmp_path, env=env(),
                                  capture_output=True, text=True, timeout=600)
            assert done.returncode == 0, f"{block.where()}: exit {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
