"""A small generic name -> object registry shared by datasets, models and jobs.

The shape follows timm and torchvision: ``register`` (usually through a
``register_*`` decorator), ``get`` and ``names(pattern)`` with shell-style
patterns. Unknown names raise [`UnknownNameError`][visiondata.exceptions.UnknownNameError] that suggests close
matches; registering a name twice raises unless ``override=True``.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

from visiondata.exceptions import DuplicateNameError, UnknownNameError

T = TypeVar("T")


def close_matches(name: str, candidates: Iterable[str], limit: int = 3) -> tuple[str, ...]:
    """Return up to ``limit`` candidates that look like ``name``, best first.

    Comparison ignores case, hyphens and underscores, so ``"Fashion-MNIST"``
    finds ``"fashion_mnist"``.

    Examples:
        >>> close_matches("mnsit", ["mnist", "kmnist", "cifar10"])
        ('mnist', 'kmnist')
    """

    def normalise(text: str) -> str:
        return text.lower().replace("-", "_")

    by_normalised: dict[str, list[str]] = {}
    for candidate in candidates:
        by_normalised.setdefault(normalise(candidate), []).append(candidate)
    wanted = normalise(name)
    if wanted in by_normalised:
        return tuple(by_normalised[wanted][:limit])
    matches = difflib.get_close_matches(wanted, list(by_normalised), n=limit, cutoff=0.6)
    found = [candidate for match in matches for candidate in by_normalised[match]]
    # A prefix or substring match ("cifar" -> "cifar10") is what a user usually means.
    for key, originals in sorted(by_normalised.items()):
        if wanted and (key.startswith(wanted) or wanted in key):
            found.extend(candidate for candidate in originals if candidate not in found)
    return tuple(found[:limit])


class Registry(Generic[T]):
    """Names mapped to objects of one kind.

    Args:
        kind: What the registry holds, used in error messages ("dataset", "model").
        on_first_lookup: Called once, before the first lookup, to register
            entries discovered late (plugins); may be ``None``.

    Examples:
        >>> jobs = Registry("job")
        >>> _ = jobs.register("fit", print)
        >>> jobs.get("fit") is print
        True
        >>> jobs.names("f*")
        ['fit']
    """

    def __init__(self, kind: str, *, on_first_lookup: Callable[[], None] | None = None) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._on_first_lookup = on_first_lookup

    def _ensure_discovered(self) -> None:
        hook, self._on_first_lookup = self._on_first_lookup, None
        if hook is not None:
            hook()

    def register(self, name: str, value: T, *, override: bool = False) -> T:
        """Store ``value`` under ``name`` and return it.

        Raises:
            TypeError: ``name`` is not a non-empty string.
            DuplicateNameError: ``name`` is taken and ``override`` is false.
        """
        if not isinstance(name, str) or not name.strip():
            raise TypeError(f"{self.kind} name: expected a non-empty string, got {name!r}")
        if name in self._entries and not override:
            raise DuplicateNameError(
                f"a {self.kind} named {name!r} is already registered; "
                f"pick another name or pass override=True to replace it"
            )
        self._entries[name] = value
        return value

    def unregister(self, name: str) -> T:
        """Remove ``name`` and return what it held (for tests and plugin reloads)."""
        value = self.get(name)
        del self._entries[name]
        return value

    def get(self, name: str) -> T:
        """Return the object registered as ``name``.

        Raises:
            UnknownNameError: No such name; the message suggests close matches.
        """
        self._ensure_discovered()
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            raise self.unknown(name) from None

    def unknown(self, name: object) -> UnknownNameError:
        """Build the error for an unknown ``name``, with suggestions."""
        suggestions = close_matches(str(name), self._entries)
        if suggestions:
            hint = "did you mean " + " or ".join(repr(s) for s in suggestions) + "?"
        else:
            hint = f"{len(self._entries)} {self.kind}s are registered."
        function = f"list_{self.kind.replace(' ', '_')}s()"
        return UnknownNameError(
            f"unknown {self.kind} {name!r}; {hint} See {function} for every name.",
            name=str(name),
            suggestions=suggestions,
        )

    def names(self, pattern: str | Iterable[str] | None = None) -> list[str]:
        """Sorted names, optionally filtered by shell-style pattern(s) (``"*mnist"``)."""
        self._ensure_discovered()
        names = sorted(self._entries)
        if pattern is None:
            return names
        patterns = [pattern] if isinstance(pattern, str) else list(pattern)
        return [name for name in names if any(fnmatch.fnmatchcase(name, p) for p in patterns)]

    def __contains__(self, name: object) -> bool:
        self._ensure_discovered()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        self._ensure_discovered()
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {len(self._entries)} entries)"
