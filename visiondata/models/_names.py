"""The models torchvision and timm provide, remembered on disk per installed version.

Naming them means importing torchvision and timm, which takes seconds, yet
the names only change when those packages do. The command line therefore
works them out once per installed version and keeps them as JSON in
``$VISIONDATA_HOME/model-cache`` (the file name is a hash of the packages'
versions), so ``visiondata models list`` and ``visiondata models info``
answer without importing either; ``models info`` keeps what it shows about
each model there too (``remembered``). Library calls only use that folder
inside ``remembering()``, which the command line enters: like visiondata's
other caches, it is not written unasked.

Nothing here imports torch.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from visiondata._paths import default_root

#: Folder of ``$VISIONDATA_HOME`` holding the remembered names and model descriptions.
CACHE_FOLDER = "model-cache"
# Bump when what is stored changes shape: older files are then ignored.
_CACHE_FORMAT = 1
# Inside remembering(): the names may be read from, and written to, the cache folder.
_on_disk = False
# The names worked out (or read) in this process, by kind; and the kinds known to be in the cache folder.
_memory: dict[str, dict[str, str]] = {}
_in_folder: set[str] = set()
# torchvision modules holding each task's models.
_TORCHVISION_MODULES = {"classification": "", "detection": "detection", "segmentation": "segmentation"}


def is_installed(package: str) -> bool:
    """Whether ``package`` can be imported (found without importing it)."""
    return package in sys.modules or importlib.util.find_spec(package) is not None


def _fingerprint(package: str) -> str:
    """Changes when ``package`` is upgraded, downgraded or reinstalled; ``"-"`` when it is missing."""
    spec = importlib.util.find_spec(package) if package not in sys.modules else sys.modules[package].__spec__
    if spec is None or spec.origin is None:
        return "-"
    try:
        version = importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        version = "?"
    try:
        changed = os.stat(spec.origin).st_mtime_ns  # a reinstall or an editable checkout keeps the version
    except OSError:
        changed = 0
    return f"{version}@{changed}"


def cache_file(kind: str, packages: tuple[str, ...]) -> Path:
    """Where ``kind`` is remembered for the installed versions of ``packages``."""
    key = json.dumps([_CACHE_FORMAT, kind, [(package, _fingerprint(package)) for package in packages]])
    digest = hashlib.sha256(key.encode()).hexdigest()[:20]
    safe = "".join(character if character.isalnum() or character in "-_." else "_" for character in kind)
    return default_root() / CACHE_FOLDER / f"{safe}-{digest}.json"


def remembered(kind: str, packages: tuple[str, ...], compute: Callable[[], Any]) -> Any:
    """``compute()``'s JSON-ready result, read from the cache file when the packages have not changed since.

    A cache that cannot be read or written (read-only home, damaged file)
    only costs the computation.

    Examples:
        >>> remembered("demo", ("json",), lambda: {"answer": 42})  # doctest: +SKIP
        {'answer': 42}
    """
    path = cache_file(kind, packages)
    try:
        return json.loads(path.read_text(encoding="utf-8"))["value"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    value = compute()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside then renamed: a process reading at the same time sees the old file or the new one.
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump({"packages": list(packages), "value": value}, stream)
        os.replace(temporary, path)
    except OSError:
        pass
    return value


@contextlib.contextmanager
def remembering() -> Iterator[None]:
    """Within the block, model names come from (and go to) ``$VISIONDATA_HOME/model-cache``."""
    global _on_disk
    previous, _on_disk = _on_disk, True
    try:
        yield
    finally:
        _on_disk = previous


def forget() -> None:
    """Drop the names this process holds (tests; a package installed meanwhile)."""
    _memory.clear()
    _in_folder.clear()


def _held(kind: str, packages: tuple[str, ...], compute: Callable[[], dict[str, str]]) -> dict[str, str]:
    """``compute()``'s names, once per process; inside ``remembering()``, through the cache folder."""
    if _on_disk and kind not in _in_folder:
        # Written even when this process has the names already: the next command needs them.
        _memory[kind] = remembered(kind, packages, lambda: _memory[kind] if kind in _memory else compute())
        _in_folder.add(kind)
    elif kind not in _memory:
        _memory[kind] = compute()
    return _memory[kind]


def torchvision_models() -> dict[str, str]:
    """Name -> task (``"classification"``, ``"detection"``, ``"segmentation"``) of torchvision's models.

    Examples:
        >>> torchvision_models()["resnet18"], torchvision_models()["fcn_resnet50"]
        ('classification', 'segmentation')
    """
    return _held("torchvision-models", ("torch", "torchvision"), _list_torchvision)


def _list_torchvision() -> dict[str, str]:
    import torchvision

    names = {}
    for task, module_name in _TORCHVISION_MODULES.items():
        module = getattr(torchvision.models, module_name) if module_name else torchvision.models
        names.update(dict.fromkeys(torchvision.models.list_models(module=module), task))
    return names


def timm_models() -> dict[str, str]:
    """Name -> task of timm's models (all classify); empty when timm is not installed."""
    if not is_installed("timm"):
        return {}
    return _held("timm-models", ("torch", "timm"), _list_timm)


def _list_timm() -> dict[str, str]:
    import timm

    return dict.fromkeys(timm.list_models(), "classification")
