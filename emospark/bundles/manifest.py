"""The bundle manifest, ``emospark.json``: read once, every field checked, then frozen.

Fields (``*``: required)::

    format*      "emospark-bundle/1"
    name*        non-empty string
    labels       unique non-empty strings (default: the 28 go_emotions labels)
    encoder*     {model*, tokenizer*: relative paths inside the bundle,
                  pooling: "mean" | "cls" (default "mean"), normalize: bool (default true),
                  max_length*: int in [2, 65536], output: the encoder output to pool}
    classifier*  {model*, thresholds*: relative paths inside the bundle}
    sha256*      {relative path: 64 hex digits} covering at least the four files above,
                 or the string "unverified" to load the bundle without checking its files
                 (the explicit opt-out: `emospark models --check` and `emospark models` say so)
    license, source, description: strings; metrics: an object; other fields are kept as they are.

Every problem found is listed in one :class:`~emospark.errors.BundleError` (CLI exit 5)
naming the file, the field and the bad value:

>>> Manifest.parse({"format": "emospark-bundle/1", "name": "x",
...                 "encoder": {"model": "e.onnx", "tokenizer": "t.json", "max_length": "128"},
...                 "classifier": {"model": "c.onnx", "thresholds": "th.json"}}, "m.json")
Traceback (most recent call last):
...
emospark.errors.BundleError: m.json: 2 problems: encoder.max_length must be an integer in [2, 65536], got '128' (str); give a whole number such as 2 | 'sha256' is missing: add the sha256 of every file (Bundle.save writes them), or "sha256": "unverified" to load it unchecked
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Mapping

from .. import checks
from ..errors import BundleError, shown
from ..labels import GO_EMOTIONS

FORMAT = "emospark-bundle/1"
POOLING_MODES = ("mean", "cls")  # implemented by emospark.core.pooling
MAX_LENGTH_LIMIT = 65536
UNVERIFIED = "unverified"
"""The value of ``sha256`` that loads a bundle without checking its files."""
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Manifest:
    """A checked manifest; paths are relative to the bundle directory."""

    name: str
    encoder: str
    tokenizer: str
    classifier: str
    thresholds: str
    max_length: int
    pooling: str = "mean"
    normalize: bool = True
    labels: tuple[str, ...] = GO_EMOTIONS
    encoder_output: str | None = None
    sha256: Mapping[str, str] = field(default_factory=dict)  # empty only when verified is False
    verified: bool = True
    license: str = "unknown"
    source: str = ""
    metrics: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, path: str | Path) -> "Manifest":
        """Read and check the manifest file ``path``."""
        return cls.parse(checks.read_json(path, BundleError, "bundle manifest"), str(path))

    @classmethod
    def parse(cls, m: Any, where: str) -> "Manifest":
        """Check the JSON value ``m`` of the manifest file ``where``; all problems are
        reported at once."""
        problems: list[str] = []

        def get(container: Any, key: str, prefix: str, check: Callable[..., Any], default: Any = ..., **kw: Any) -> Any:
            name = f"{prefix}{key}"
            if not isinstance(container, Mapping) or key not in container:
                if default is ...:
                    if isinstance(container, Mapping):
                        problems.append(f"{name!r} is missing")
                    return None
                return default
            try:
                return check(container[key], name, **kw)
            except BundleError as exc:
                problems.append(str(exc))
                return None

        def typed(checker: Callable[..., Any]) -> Callable[..., Any]:
            return lambda value, name, **kw: checker(value, "", name, BundleError, **kw)

        if not isinstance(m, Mapping):
            raise BundleError(f"{where}: holds a JSON {type(m).__name__}, not an object {{...}}: is it an emospark "
                              "bundle manifest?")
        if m.get("format") != FORMAT:
            raise BundleError(f"{where}: 'format' is {shown(m.get('format'))}, this emospark reads {FORMAT!r}; "
                              "upgrade emospark or re-save the bundle")
        encoder, head = (get(m, key, "", typed(checks.mapping)) for key in ("encoder", "classifier"))
        values = dict(
            name=get(m, "name", "", typed(checks.text)),
            encoder=get(encoder, "model", "encoder.", _relative_path),
            tokenizer=get(encoder, "tokenizer", "encoder.", _relative_path),
            pooling=get(encoder, "pooling", "encoder.", _choice, "mean", allowed=POOLING_MODES),
            normalize=get(encoder, "normalize", "encoder.", _bool, True),
            max_length=get(encoder, "max_length", "encoder.", typed(checks.positive_int), at_least=2,
                           at_most=MAX_LENGTH_LIMIT),
            encoder_output=get(encoder, "output", "encoder.", typed(checks.text), None),
            classifier=get(head, "model", "classifier.", _relative_path),
            thresholds=get(head, "thresholds", "classifier.", _relative_path),
            labels=get(m, "labels", "", _labels, GO_EMOTIONS),
            license=get(m, "license", "", typed(checks.text), "unknown", empty=True),
            source=get(m, "source", "", typed(checks.text), "", empty=True),
            metrics=get(m, "metrics", "", typed(checks.mapping), {}),
        )
        get(m, "description", "", typed(checks.text), "", empty=True)
        sha256 = get(m, "sha256", "", _digests, None)
        if "sha256" not in m:
            problems.append("'sha256' is missing: add the sha256 of every file (Bundle.save writes them), or "
                            f'"sha256": "{UNVERIFIED}" to load it unchecked')
        files = {key: values[key] for key in ("encoder", "tokenizer", "classifier", "thresholds")}
        if isinstance(sha256, dict):
            unlisted = [f"{role} ({path})" for role, path in files.items() if path is not None and path not in sha256]
            if unlisted:
                problems.append(f"'sha256' has no digest for {unlisted}; list every file, or "
                                f'"sha256": "{UNVERIFIED}" to load the bundle unchecked')
        paths = [p for p in files.values() if p is not None]
        if len(set(paths)) != len(paths):
            problems.append(f"the encoder, tokenizer, classifier and thresholds must be four files, got {files}")
        if problems:
            count = f"{len(problems)} problems: " if len(problems) > 1 else ""
            raise BundleError(f"{where}: {count}{' | '.join(problems)}")
        verified = sha256 != UNVERIFIED
        return cls(**values, sha256=sha256 if verified else {}, verified=verified)


def _relative_path(value: Any, name: str) -> str:
    """A path inside the bundle: relative, forward slashes, no ``..``."""
    checks.text(value, "", name, BundleError)
    pure = PurePosixPath(value)
    if pure.is_absolute() or "\\" in value or ".." in pure.parts or "\x00" in value or value.startswith("~"):
        raise BundleError(f"{name!r} is {shown(value)}; it must be a relative path inside the bundle directory, "
                          "with forward slashes and no '..'")
    return value


def _choice(value: Any, name: str, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise BundleError(f"{name!r} is {checks.kind(value)}, not one of {sorted(allowed)}")
    return value


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise BundleError(f"{name!r} is {checks.kind(value)}; it must be true or false")
    return value


def _labels(value: Any, name: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise BundleError(f"{name!r} is {checks.kind(value)}; it must be a non-empty list of label names")
    for i, label in enumerate(value):
        checks.text(label, "", f"{name}[{i}]", BundleError)
    duplicates = sorted({lab for lab in value if value.count(lab) > 1})
    if duplicates:
        raise BundleError(f"{name!r} has duplicates {shown(duplicates)}; each label must appear once")
    return tuple(value)


def _digests(value: Any, name: str) -> dict[str, str] | str:
    if value == UNVERIFIED:
        return UNVERIFIED
    if not isinstance(value, Mapping) or not value:
        raise BundleError(f"{name!r} is {checks.kind(value)}; it must map each file to its sha256 (64 hex digits), "
                          f'or be "{UNVERIFIED}" to load the bundle unchecked')
    out = {}
    for path, digest in value.items():
        _relative_path(path, f"{name} key")
        if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
            raise BundleError(f"'{name}.{path}' is {checks.kind(digest)}; a sha256 is 64 lowercase hex digits "
                              "(sha256sum prints it)")
        out[path] = digest
    return out
