"""Module-level lazy attributes (PEP 562), so that importing visiondata stays cheap."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_module_attributes(
    namespace: dict[str, Any], lazy: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return ``__getattr__`` and ``__dir__`` for a package whose names load on first use.

    Args:
        namespace: The package's ``globals()``; a loaded name is cached there.
        lazy: Public name -> module that defines it.

    Examples:
        >>> namespace = {"__name__": "demo"}
        >>> getattr_, dir_ = lazy_module_attributes(namespace, {"sqrt": "math"})
        >>> getattr_("sqrt")(9.0)
        3.0
    """

    def module_getattr(name: str) -> Any:
        if name not in lazy:
            raise AttributeError(f"module {namespace['__name__']!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(lazy[name]), name)
        namespace[name] = value
        return value

    def module_dir() -> list[str]:
        return sorted(set(namespace) | set(lazy))

    return module_getattr, module_dir
