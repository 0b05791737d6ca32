"""Progress bars for long scoring in Python (``progress=None|True|False``).

``None`` (the default) shows a bar only where someone watches (an interactive terminal
or a notebook) and the input has more than :data:`AUTO_MIN_ROWS` texts; ``True`` always
shows one, ``False`` never. The bar is tqdm's (``tqdm.auto``: a widget in notebooks),
advanced once per encoder batch. An object with ``update(n)`` (e.g. a tqdm bar the
caller made) is used as it is, so several calls can advance one bar.

>>> with progress_bar(False, total=10) as bar:
...     bar.update(10)
>>> type(bar).__name__
'NoBar'
>>> import io
>>> out = io.StringIO()
>>> with progress_bar(True, total=4, file=out) as bar:
...     bar.update(4)
>>> "4/4" in out.getvalue()
True
"""
from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Any, Iterator

AUTO_MIN_ROWS = 5000  # progress=None shows a bar above this many texts, where someone watches

Progress = Any  # None | bool | an object with update(n)


class NoBar:
    """Stands in for a bar when none is shown."""

    def update(self, n: float = 1) -> None:
        pass


def watched() -> bool:
    """True in a notebook or an interactive terminal (stderr is a tty)."""
    ipython = sys.modules.get("IPython")
    if ipython is not None:
        shell = getattr(ipython, "get_ipython", lambda: None)()
        if shell is not None and type(shell).__name__ == "ZMQInteractiveShell":
            return True
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stderr
        return False


def wanted(progress: Progress, total: int | None) -> bool:
    """Whether ``progress`` asks for a bar over ``total`` texts."""
    if progress is None:
        return total is not None and total > AUTO_MIN_ROWS and watched()
    return bool(progress)


@contextmanager
def progress_bar(progress: Progress, total: int | None, *, desc: str = "emotions", **options: Any) -> Iterator[Any]:
    """A bar (``update(n)`` per batch) as ``progress`` asks, closed on exit; a caller's
    own bar is yielded unchanged and left open."""
    if progress is not None and not isinstance(progress, bool) and hasattr(progress, "update"):
        yield progress
        return
    if not wanted(progress, total):
        yield NoBar()
        return
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=desc, unit=" texts", dynamic_ncols=True, **options)
    try:
        yield bar
    finally:
        bar.close()
