"""Model bundles: a directory holding encoder, tokenizer, classifier head,
thresholds and a manifest (``emospark.json``) with the sha256 of every file.

A bundle directory looks like this::

    my-bundle/
      emospark.json              manifest (format, labels, pooling, files, sha256, metrics)
      encoder/model.onnx         token embeddings [N, T, D]
      encoder/tokenizer.json     a `tokenizers` tokenizer
      classifier/model.onnx      input `logits` [N, D], one [N, 2] output per label
      classifier/thresholds.json {"label": threshold, ...}

Reading the bundle that ships with the package:

>>> from emospark.bundles.bundle import Bundle
>>> from emospark.bundles.locate import packaged_dir
>>> b = Bundle.from_dir(packaged_dir() / "minilm-l6-go-emotions")
>>> b.pooling, b.max_length, sorted(b.sha256)[0]
('mean', 128, 'classifier/model.onnx')
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from .. import checks
from ..errors import BundleError, shown
from ..labels import GO_EMOTIONS
from .manifest import FORMAT, MAX_LENGTH_LIMIT, POOLING_MODES, Manifest

MANIFEST = "emospark.json"
ENCODER_CANDIDATES = ("model.onnx", "onnx/model.onnx")


@dataclass(frozen=True)
class Bundle:
    """Everything needed to build a scorer, with absolute file paths.

    ``sha256`` maps each file (relative to ``root``) to its digest. It is empty for
    bundles assembled from seed files that carry no manifest (:meth:`from_parts`), which
    are then checked for shape and names only, and for a manifest that opts out with
    ``"sha256": "unverified"``.
    """

    name: str
    root: Path
    encoder: Path
    tokenizer: Path
    classifier: Path
    thresholds: Path
    pooling: str = "mean"
    normalize: bool = True
    max_length: int = 256
    labels: tuple[str, ...] = GO_EMOTIONS
    encoder_output: str | None = None
    sha256: Mapping[str, str] = field(default_factory=dict)
    license: str = "unknown"
    source: str = ""
    metrics: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        where = f"bundle {shown(self.name)}"
        checks.text(self.name, "bundle", "name", BundleError)
        if self.pooling not in POOLING_MODES:
            raise BundleError(f"{where}: pooling {shown(self.pooling)} is not one of {sorted(POOLING_MODES)}")
        checks.positive_int(self.max_length, where, "max_length", BundleError, at_least=2, at_most=MAX_LENGTH_LIMIT)
        if not isinstance(self.normalize, bool):
            raise BundleError(f"{where}: normalize is {checks.kind(self.normalize)}; it must be True or False")
        if (not self.labels or not all(isinstance(lab, str) and lab for lab in self.labels)
                or len(set(self.labels)) != len(self.labels)):
            raise BundleError(f"{where}: labels must be unique non-empty strings, got {shown(self.labels)}")

    # -- reading ---------------------------------------------------------------------------
    @classmethod
    def from_dir(cls, path: str | os.PathLike) -> "Bundle":
        """Read a bundle directory and check its manifest (see :mod:`.manifest`; the
        files are checked by :meth:`verify`)."""
        root = Path(path).expanduser().resolve()
        manifest_path = root / MANIFEST
        if not root.is_dir():
            raise BundleError(f"bundle directory {root} does not exist or is not a directory")
        if not manifest_path.exists():
            raise BundleError(f"{manifest_path} is missing: {root} is not an emospark bundle")
        m = Manifest.read(manifest_path)
        return cls(
            name=m.name,
            root=root,
            encoder=root / m.encoder,
            tokenizer=root / m.tokenizer,
            classifier=root / m.classifier,
            thresholds=root / m.thresholds,
            pooling=m.pooling,
            normalize=m.normalize,
            max_length=m.max_length,
            labels=m.labels,
            encoder_output=m.encoder_output,
            sha256=dict(m.sha256),
            license=m.license,
            source=m.source,
            metrics=m.metrics,
        )

    @classmethod
    def from_parts(
        cls,
        name: str,
        encoder_dir: str | os.PathLike,
        classifier_dir: str | os.PathLike,
        *,
        pooling: str,
        max_length: int,
        normalize: bool = True,
        license: str = "unknown",
        source: str = "",
    ) -> "Bundle":
        """Assemble a bundle from an encoder directory (``model.onnx`` or
        ``onnx/model.onnx`` plus ``tokenizer.json``, as optimum exports them) and a
        classifier directory in the published go_emotions head format (``model.onnx``
        plus ``thresholds.json``)."""
        enc_dir, head_dir = Path(encoder_dir).expanduser(), Path(classifier_dir).expanduser()
        encoder = next((enc_dir / c for c in ENCODER_CANDIDATES if (enc_dir / c).is_file()), None)
        if encoder is None:
            raise BundleError(f"no encoder ONNX in {enc_dir}: expected one of {list(ENCODER_CANDIDATES)}")
        return cls(
            name=name,
            root=enc_dir.resolve(),
            encoder=encoder.resolve(),
            tokenizer=(enc_dir / "tokenizer.json").resolve(),
            classifier=(head_dir / "model.onnx").resolve(),
            thresholds=(head_dir / "thresholds.json").resolve(),
            pooling=pooling,
            normalize=normalize,
            max_length=max_length,
            license=license,
            source=source,
        )

    # -- checking --------------------------------------------------------------------------
    def files(self) -> dict[str, Path]:
        """The bundle's four files by role."""
        return {
            "encoder": self.encoder,
            "tokenizer": self.tokenizer,
            "classifier": self.classifier,
            "thresholds": self.thresholds,
        }

    def verify(self) -> None:
        """Check that every file exists and matches the manifest's sha256.

        Digests are cached per process by (path, size, mtime), so a bundle is hashed
        once however many scorers load it.
        """
        for role, path in self.files().items():
            if not path.is_file():
                raise BundleError(f"bundle '{self.name}': {role} file {path} is missing")
        for rel, expected in self.sha256.items():
            path = self.root / rel
            if not path.is_file():
                raise BundleError(f"bundle '{self.name}': {path} is listed in the manifest but missing")
            actual = file_sha256(path)
            if actual != expected:
                raise BundleError(
                    f"bundle '{self.name}': {path} is altered or truncated (sha256 {actual[:12]}..., "
                    f"manifest says {expected[:12]}...); restore it or reinstall the bundle"
                )

    def read_thresholds(self) -> dict[str, float]:
        """The thresholds file as {label: threshold}: a JSON object naming every label,
        or an array of one number per label in label order; each a finite number in [0, 1]."""
        where = str(self.thresholds)
        raw = checks.read_json(self.thresholds, BundleError, "thresholds file")
        if not isinstance(raw, (dict, list)):
            raise BundleError(f"{where}: holds {checks.kind(raw)}; expected an object {{label: threshold}} "
                              "or an array of one threshold per label")
        table = checks.threshold_value(raw, self.labels, where, BundleError)
        if isinstance(table, tuple):
            return dict(zip(self.labels, table, strict=True))
        missing = [lab for lab in self.labels if lab not in table]
        if missing:
            raise BundleError(f"{where} lacks thresholds for {missing}: give one for every label of the bundle")
        return {lab: table[lab] for lab in self.labels}

    # -- writing ---------------------------------------------------------------------------
    def save(self, out_dir: str | os.PathLike, **extra: Any) -> "Bundle":
        """Copy the files into ``out_dir`` in the standard layout and write a manifest
        with their sha256. ``extra`` fields (``metrics``, ``description``...) go into
        the manifest as they are. Returns the new bundle."""
        out = Path(out_dir)
        layout = {
            "encoder": "encoder/model.onnx",
            "tokenizer": "encoder/tokenizer.json",
            "classifier": "classifier/model.onnx",
            "thresholds": "classifier/thresholds.json",
        }
        for role, rel in layout.items():
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            src = self.files()[role]
            if src.resolve() != (out / rel).resolve():
                shutil.copyfile(src, out / rel)
        manifest = {
            "format": FORMAT,
            "name": self.name,
            "labels": list(self.labels),
            "encoder": {
                "model": layout["encoder"],
                "tokenizer": layout["tokenizer"],
                "pooling": self.pooling,
                "normalize": self.normalize,
                "max_length": self.max_length,
                **({"output": self.encoder_output} if self.encoder_output else {}),
            },
            "classifier": {"model": layout["classifier"], "thresholds": layout["thresholds"]},
            "license": self.license,
            "source": self.source,
            "sha256": {rel: file_sha256(out / rel) for rel in layout.values()},  # checked from now on
            **({"metrics": dict(self.metrics)} if self.metrics else {}),
            **extra,
        }
        (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        return Bundle.from_dir(out)

    def with_options(self, **changes: Any) -> "Bundle":
        """A copy with some fields changed, e.g. ``bundle.with_options(max_length=64)``."""
        return replace(self, **changes)


_digest_cache: dict[tuple[str, int, int], str] = {}
_digest_lock = threading.Lock()


def file_sha256(path: Path) -> str:
    """sha256 of a file, cached per process by (path, size, mtime)."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    with _digest_lock:
        if key in _digest_cache:
            return _digest_cache[key]
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    digest = h.hexdigest()
    with _digest_lock:
        _digest_cache[key] = digest
    return digest
