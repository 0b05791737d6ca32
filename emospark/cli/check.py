"""``emospark models --check DIR``: every problem of a bundle directory, found at once.

The checks, in order (a later one runs only when what it needs is sound):

1. the manifest: every field (:mod:`emospark.bundles.manifest`);
2. the files: each exists, and matches its sha256 (unless the manifest opts out);
3. the thresholds file: one number in [0, 1] per label;
4. loading: the tokenizer, encoder and classifier load and fit together, and the encoder
   takes ``max_length`` tokens (the trial runs of :class:`~emospark.core.encoder.Encoder`);
5. a trial score: finite probabilities in [0, 1], one per label.

>>> from emospark.bundles.locate import packaged_dir
>>> report = check_bundle(packaged_dir() / "minilm-l6-go-emotions")
>>> report.problems, report.passed[0]
([], "manifest: 'minilm-l6-go-emotions', 28 labels, max_length 128, mean pooling")
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..bundles.bundle import MANIFEST, Bundle, file_sha256
from ..bundles.manifest import UNVERIFIED
from ..core.model import EmotionModel
from ..errors import BundleError, EmosparkError


@dataclass
class CheckReport:
    """What passed and what is wrong, one line each."""

    directory: str
    passed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return ([f"ok       {line}" for line in self.passed] + [f"note     {line}" for line in self.notes]
                + [f"PROBLEM  {line}" for line in self.problems])


def check_bundle(directory: str | os.PathLike) -> CheckReport:
    """Run the checks of the module doc on ``directory``."""
    report = CheckReport(str(directory))
    try:
        bundle = Bundle.from_dir(directory)
    except EmosparkError as exc:
        report.problems.append(f"manifest: {exc}")
        return report
    report.passed.append(f"manifest: {bundle.name!r}, {len(bundle.labels)} labels, max_length {bundle.max_length}, "
                         f"{bundle.pooling} pooling")
    files_ok = _check_files(bundle, report)
    try:
        bundle.read_thresholds()
        report.passed.append(f"thresholds: {bundle.thresholds.relative_to(bundle.root)}")
    except EmosparkError as exc:
        report.problems.append(f"thresholds: {exc}")
        files_ok = False
    if not files_ok:
        return report
    try:
        model = EmotionModel(bundle, threads=1, verify=False)
        report.passed.append(f"loads: encoder dim {model.encoder.dim}, inputs {sorted(model.encoder.dtypes)}, "
                             f"a {bundle.max_length}-token window runs")
        proba = model.predict_proba(["This is a short test sentence, thank you!"])
    except EmosparkError as exc:
        report.problems.append(f"loading: {exc}")
        return report
    except Exception as exc:  # noqa: BLE001 - onnxruntime or tokenizers failing on these files
        report.problems.append(f"loading: {type(exc).__name__}: {str(exc)[:300]}")
        return report
    if proba.shape != (1, len(bundle.labels)) or not np.all(np.isfinite(proba)) or proba.min() < 0 or proba.max() > 1:
        report.problems.append(f"trial score: expected {len(bundle.labels)} probabilities in [0, 1], got {proba}")
    else:
        report.passed.append("trial score: one probability in [0, 1] per label")
    return report


def _check_files(bundle: Bundle, report: CheckReport) -> bool:
    ok = True
    for role, path in bundle.files().items():
        if not path.is_file():
            report.problems.append(f"files: the {role} file {path} is missing")
            ok = False
    if not bundle.sha256:
        report.notes.append(f'files: not checked against sha256 (the manifest says "sha256": "{UNVERIFIED}")')
        return ok
    for rel, expected in bundle.sha256.items():
        path = bundle.root / rel
        if not path.is_file():
            if path not in bundle.files().values():
                report.problems.append(f"files: {path} is listed in sha256 but missing")
            ok = False
        elif file_sha256(path) != expected:
            report.problems.append(f"files: {path} does not match its sha256 (altered or truncated): restore it")
            ok = False
    if ok:
        report.passed.append(f"files: {len(bundle.sha256)} files match their sha256")
    return ok


def run_check(directory: str) -> None:
    """Print the report on stdout; raise :class:`BundleError` (exit 5) if anything is wrong."""
    report = check_bundle(Path(directory))
    print("\n".join([f"checking {report.directory} ({MANIFEST})", *report.lines()]))
    if report.problems:
        count = len(report.problems)
        raise BundleError(f"{directory}: {count} problem{'s' * (count > 1)} found (listed above): "
                          f"{report.problems[0][:300]}")
