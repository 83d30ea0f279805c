"""Where datasets live on disk when the caller does not say."""

from __future__ import annotations

import os
from pathlib import Path

HOME_VARIABLE = "VISIONDATA_HOME"


def default_root() -> Path:
    """The default dataset folder: ``$VISIONDATA_HOME``, else ``~/.cache/visiondata``.

    Read on every call, so setting the variable after import still takes effect.

    Examples:
        >>> default_root()  # with VISIONDATA_HOME=/data/vision  # doctest: +SKIP
        PosixPath('/data/vision')
    """
    configured = os.environ.get(HOME_VARIABLE)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "visiondata"


def resolve_root(root: str | os.PathLike[str] | None) -> Path:
    """``root`` as a `Path`, or `default_root` when it is ``None``.

    Examples:
        >>> str(resolve_root("/data/vision"))
        '/data/vision'
    """
    return default_root() if root is None else Path(root).expanduser()
