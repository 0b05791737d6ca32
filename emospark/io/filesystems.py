"""Where tables live: local paths and URIs, resolved through ``pyarrow.fs``.

A target is a local path, or a URI that the installed ``pyarrow.fs`` resolves:
``s3://bucket/key``, ``gs://``, ``abfs://``, ``hdfs://``, ``file://``. Credentials come
from each store's standard provider chain (for S3: ``AWS_ACCESS_KEY_ID`` /
``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN``, ``~/.aws/credentials`` and
``AWS_PROFILE``, then the instance's role). An S3-compatible store (MinIO, Ceph...) is
reached with an endpoint (``--s3-endpoint http://host:9000``, or pyarrow's
``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL`` variables).

Nothing secret is ever shown: :func:`redact` removes the user and password part of a
URI and secret query parameters from every name and message emospark prints.

>>> redact("s3://AKIAXXXX:s3cr3t@bucket/data/x.parquet?region=eu-west-1&secret_key=abc")
's3://***@bucket/data/x.parquet?region=eu-west-1&secret_key=***'
>>> loc = resolve("docs/examples/comments.csv")
>>> loc.local, loc.display
(True, 'docs/examples/comments.csv')
>>> glob_pattern("data/lang=*/part-*.parquet")
('data', re.compile('data/lang=[^/]*/part\\\\-[^/]*\\\\.parquet'))
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import pyarrow as pa
import pyarrow.fs as pafs

from ..errors import UsageError

URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
SECRET_QUERY = re.compile(
    r"(?i)(\b[\w-]*(?:secret|password|passwd|token|access[_-]?key|credential|signature|sig)[\w-]*=)[^&\s'\"]*")
USERINFO = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s'\"]*@")
GLOB_CHARS = re.compile(r"[*?\[]")
HIDDEN = (".", "_")  # files and directories that datasets skip (_SUCCESS, .crc, _temporary...)


def redact(text: str) -> str:
    """``text`` without URI user/password parts and secret query parameters."""
    return SECRET_QUERY.sub(r"\1***", USERINFO.sub(r"\1***@", text))


@dataclass(frozen=True)
class Location:
    """A file, directory or glob on a filesystem: ``path`` is the filesystem's own path,
    ``display`` what messages and logs show (never a secret)."""

    filesystem: pafs.FileSystem
    path: str
    display: str
    local: bool

    def info(self) -> pafs.FileInfo:
        return self.filesystem.get_file_info(self.path)

    def child(self, path: str) -> "Location":
        """Another path on the same filesystem."""
        shown = path if self.local else redact(self.uri_of(path))
        return Location(self.filesystem, path, shown, self.local)

    def uri_of(self, path: str) -> str:
        scheme = self.display.split("://", 1)[0] if "://" in self.display else ""
        return f"{scheme}://{path}" if scheme and scheme != "file" else path


def is_uri(target: str) -> bool:
    return bool(URI.match(target))


def resolve(target: str | os.PathLike, *, s3_endpoint: str | None = None) -> Location:
    """The filesystem and path of a local path or a URI (see the module doc)."""
    text = os.fspath(target)
    if not is_uri(text):
        return Location(pafs.LocalFileSystem(), str(Path(text).absolute()), text, True)
    if text.startswith("file://"):
        return Location(pafs.LocalFileSystem(), urlsplit(text).path, redact(text), True)
    shown = redact(text)
    uri = with_endpoint(text, s3_endpoint) if text.lower().startswith("s3://") else text
    try:
        filesystem, path = pafs.FileSystem.from_uri(uri)
    except (pa.ArrowException, ValueError, OSError) as exc:
        raise UsageError(f"cannot open {shown}: {redact(str(exc))}") from None
    return Location(filesystem, path, shown, isinstance(filesystem, pafs.LocalFileSystem))


def with_endpoint(uri: str, endpoint: str | None) -> str:
    """An ``s3://`` URI with pyarrow's ``endpoint_override`` and ``scheme`` query options
    for ``endpoint`` (``http://host:port`` or ``host:port``, https if not said).

    >>> with_endpoint("s3://bucket/in.parquet", "http://127.0.0.1:9000")
    's3://bucket/in.parquet?endpoint_override=127.0.0.1%3A9000&scheme=http'
    """
    if not endpoint:
        return uri
    parts = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"--s3-endpoint {redact(endpoint)!r}: expected http(s)://host:port")
    base, _, query = uri.partition("?")
    options = dict(parse_qsl(query))
    options.setdefault("endpoint_override", parts.netloc)
    options.setdefault("scheme", parts.scheme)
    return f"{base}?{urlencode(options)}"


def glob_pattern(path: str) -> tuple[str, re.Pattern]:
    """The directory to list for a glob (its part before the first wildcard) and a regex
    of the paths it matches: ``*`` and ``?`` within one path segment, ``**`` across
    segments, ``[...]`` a character class."""
    parts = path.split("/")
    first = next(i for i, part in enumerate(parts) if GLOB_CHARS.search(part))
    base = "/".join(parts[:first]) or ("/" if path.startswith("/") else "")
    regex = ""
    for token in re.split(r"(\*\*/|\*\*|\*|\?|\[[^\]]*\])", path):
        if token == "**/":
            regex += "(?:.*/)?"
        elif token == "**":
            regex += ".*"
        elif token == "*":
            regex += "[^/]*"
        elif token == "?":
            regex += "[^/]"
        elif token.startswith("[") and token.endswith("]") and len(token) > 2:
            regex += "[" + ("^" + token[2:-1] if token[1] == "!" else token[1:-1]) + "]"
        else:
            regex += re.escape(token)
    return base, re.compile(regex)


def has_glob(path: str) -> bool:
    return bool(GLOB_CHARS.search(path))


def is_hidden(path: str, base: str) -> bool:
    """True if a segment of ``path`` below ``base`` starts with ``.`` or ``_``."""
    below = path[len(base):].lstrip("/") if path.startswith(base) else path
    return any(part.startswith(HIDDEN) for part in below.split("/"))


def list_files(location: Location, base: str) -> list[str]:
    """Every file under directory ``base``, hidden ones aside, sorted by path."""
    infos = location.filesystem.get_file_info(pafs.FileSelector(base, recursive=True))
    return sorted(i.path for i in infos if i.type == pafs.FileType.File and not is_hidden(i.path, base))


def expand_glob(location: Location) -> tuple[str, list[str]]:
    """The base directory of a glob and the files it matches (hidden ones aside), sorted."""
    base, regex = glob_pattern(location.path)
    try:
        found = list_files(location, base) if location.filesystem.get_file_info(base).type == pafs.FileType.Directory \
            else []
    except FileNotFoundError:
        found = []
    return base, [path for path in found if regex.fullmatch(path)]
