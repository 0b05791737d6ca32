"""Turning a model name or path into a :class:`~emospark.bundles.bundle.Bundle` on this machine.

Where a registered seed model is looked for, in order:

1. ``$EMOSPARK_MODELS`` (``os.pathsep``-separated), else ``~/.cache/emospark``:
   ``<dir>/<name>/emospark.json`` (a bundle), or ``<dir>/<name>/encoder/`` plus
   ``<dir>/<name>/classifier/`` (the published files as they are);
2. the Hugging Face cache (``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else
   ``~/.cache/huggingface/hub``);
3. only with ``download=True``: the Hugging Face Hub (``pip install "emospark[hub]"``).

>>> resolve().name
'minilm-l6-go-emotions'
"""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import BundleError, ModelNotFoundError, require, shown
from .bundle import MANIFEST, Bundle
from .registry import DEFAULT_MODEL, HubFiles, ModelInfo, model_info, registered_names


def packaged_dir() -> Path:
    """Where the bundles shipped with the package live: this package's directory
    (``emospark/bundles/<name>/``), in a wheel and in a checkout alike."""
    return Path(__file__).resolve().parent


MAX_SEARCH_DIRS = 64


def search_path(value: str | None, variable: str = "EMOSPARK_MODELS") -> tuple[Path, ...]:
    """The directories named by a search path ``value`` (``os.pathsep``-separated), each
    checked by :func:`directory_entry`; empty entries are skipped.

    >>> search_path("/data/models::/opt/models")
    (PosixPath('/data/models'), PosixPath('/opt/models'))
    >>> search_path("models")
    Traceback (most recent call last):
    ...
    emospark.errors.ModelNotFoundError: EMOSPARK_MODELS: 'models' is a relative path; give absolute directories separated by ':', e.g. EMOSPARK_MODELS=/data/models
    """
    entries = [entry for entry in (value or "").split(os.pathsep) if entry]
    if len(entries) > MAX_SEARCH_DIRS:
        raise ModelNotFoundError(f"{variable} names {len(entries)} directories (at most {MAX_SEARCH_DIRS}): "
                                 f"is it the right variable? {_example(variable)}")
    return tuple(directory_entry(entry, variable) for entry in entries)


def _example(variable: str) -> str:
    many = f"absolute directories separated by {os.pathsep!r}" if variable == "EMOSPARK_MODELS" else "an absolute directory"
    return f"give {many}, e.g. {variable}=/data/models"


def directory_entry(entry: str, variable: str) -> Path:
    """One directory of an environment variable, ``~`` expanded: it must be an absolute
    path (a relative one would depend on each job's working directory), with no leading
    or trailing spaces, that is a directory if it exists (a missing one is allowed: it may
    exist on other machines). Anything else is a :class:`ModelNotFoundError` (CLI exit 5)
    naming the variable and the entry."""
    problem = None
    try:
        path = Path(entry).expanduser()
        if entry != entry.strip():
            problem = "starts or ends with spaces"
        elif not path.is_absolute():
            problem = "is a relative path"
        elif path.exists() and not path.is_dir():
            problem = "is a file, not a directory"
    except RuntimeError as exc:  # ~someone with no home directory
        problem = f"cannot be expanded ({exc})"
    except (OSError, ValueError) as exc:  # a name too long, a loop of links, a NUL byte...
        problem = f"cannot be used ({getattr(exc, 'strerror', None) or exc})"
    if problem:
        raise ModelNotFoundError(f"{variable}: {shown(entry)} {problem}; {_example(variable)}")
    return path


def local_dirs() -> list[Path]:
    """The directories searched for user-provided models: ``$EMOSPARK_MODELS`` if it names
    any (see :func:`search_path`), else ``~/.cache/emospark``."""
    return list(search_path(os.environ.get("EMOSPARK_MODELS"))) or [Path("~/.cache/emospark").expanduser()]


def hf_cache_dir() -> Path:
    """The Hugging Face hub cache, following the same variables as huggingface_hub
    (each checked by :func:`directory_entry`)."""
    if os.environ.get("HF_HUB_CACHE"):
        return directory_entry(os.environ["HF_HUB_CACHE"], "HF_HUB_CACHE")
    if os.environ.get("HF_HOME"):
        return directory_entry(os.environ["HF_HOME"], "HF_HOME") / "hub"
    return Path("~/.cache/huggingface/hub").expanduser()


def hf_snapshot(files: HubFiles, cache: Path | None = None) -> Path | None:
    """The snapshot directory in the HF cache holding all of ``files``, if any."""
    repo_dir = (cache or hf_cache_dir()) / ("models--" + files.repo_id.replace("/", "--"))
    ref = repo_dir / "refs" / files.revision
    candidates = []
    if ref.is_file():
        candidates.append(repo_dir / "snapshots" / ref.read_text().strip())
    elif (repo_dir / "snapshots" / files.revision).is_dir():
        candidates.append(repo_dir / "snapshots" / files.revision)
    for snap in candidates:
        if all((snap / f).is_file() for f in files.files):
            return snap
    return None


def resolve(model: str | os.PathLike | Bundle | None = None, *, download: bool = False) -> Bundle:
    """Find the bundle for ``model``: ``None`` (the default bundle), a registered name,
    a bundle directory, or a :class:`Bundle`."""
    if isinstance(model, Bundle):
        return model
    if model is None:
        model = DEFAULT_MODEL
    if not isinstance(model, (str, os.PathLike)):
        raise ModelNotFoundError(f"model is {type(model).__name__} {shown(model)}: give a registered name "
                                 f"({registered_names()[0]!r}...), a bundle directory or a Bundle")
    if isinstance(model, os.PathLike) or str(model) not in registered_names():
        try:
            path = Path(model).expanduser()
            is_dir, exists = path.is_dir(), path.exists()
        except (OSError, RuntimeError, ValueError) as exc:  # too long, ~nobody, a NUL byte...
            raise ModelNotFoundError(f"model path {shown(os.fspath(model))} cannot be used: "
                                     f"{getattr(exc, 'strerror', None) or exc}") from None
        if is_dir:
            return Bundle.from_dir(path)
        if exists:
            raise BundleError(f"model path {path} is a file, not a bundle directory: give the directory holding "
                              "emospark.json")
        if isinstance(model, os.PathLike) or os.sep in str(model):
            raise ModelNotFoundError(f"model path {path} does not exist")
        model_info(str(model))  # raises, listing the registered names
    info = model_info(str(model))
    if info.packaged:
        bundle_dir = packaged_dir() / info.packaged_dir_name
        if not (bundle_dir / MANIFEST).is_file():
            raise BundleError(
                f"the packaged bundle '{info.name}' is missing from {bundle_dir}: reinstall emospark"
            )
        return Bundle.from_dir(bundle_dir)
    return _resolve_seed(info, download)


def _seed_bundle(info: ModelInfo, encoder_dir: Path, classifier_dir: Path) -> Bundle:
    return Bundle.from_parts(
        info.name,
        encoder_dir,
        classifier_dir,
        pooling=info.pooling,
        max_length=info.max_length,
        license=info.license,
        source=f"{info.encoder.repo_id} + {info.classifier.repo_id}",
    )


def _resolve_seed(info: ModelInfo, download: bool) -> Bundle:
    assert info.encoder is not None and info.classifier is not None
    for base in local_dirs():
        here = base / info.name
        try:
            manifest, parts = (here / MANIFEST).is_file(), (here / "encoder").is_dir() and (here / "classifier").is_dir()
        except OSError as exc:  # e.g. a path too long once the name is added
            raise ModelNotFoundError(f"cannot look for '{info.name}' in {base}: {exc.strerror or exc}") from None
        if manifest:
            return Bundle.from_dir(here)
        if parts:
            return _seed_bundle(info, here / "encoder", here / "classifier")
    enc, head = hf_snapshot(info.encoder), hf_snapshot(info.classifier)
    if enc is not None and head is not None:
        return _seed_bundle(info, enc, head)
    if download:
        hub = require("huggingface_hub", "hub", f"downloading '{info.name}'")
        for files in (info.encoder, info.classifier):
            for f in files.files:
                hub.hf_hub_download(files.repo_id, f, revision=files.revision, cache_dir=hf_cache_dir())
        enc, head = hf_snapshot(info.encoder), hf_snapshot(info.classifier)
        if enc is not None and head is not None:
            return _seed_bundle(info, enc, head)
    local = local_dirs()[0] / info.name
    raise ModelNotFoundError(
        f"model '{info.name}' is not on this machine. Either put the published files here:\n"
        + "".join(f"  {local / 'encoder' / f}   (from {info.encoder.repo_id})\n" for f in info.encoder.files)
        + "".join(f"  {local / 'classifier' / f}   (from {info.classifier.repo_id})\n" for f in info.classifier.files)
        + f"or into the Hugging Face cache at {hf_cache_dir()}, "
        f"or download them: pip install \"emospark[hub]\"; emospark.load('{info.name}', download=True)"
    )
