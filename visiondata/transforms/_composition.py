"""Composition nodes of a pipeline spec: ``OneOf``, ``SomeOf``, ``Sequential``, ``RandomOrder``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from visiondata.exceptions import TransformSpecError


def normalize_composition(spec: dict[str, Any], position: int | str, backend: str) -> dict[str, Any]:
    """The spec of a composition node, its children normalised."""
    raise TransformSpecError(f"transforms[{position}] ({spec['name']}): composition is not available yet")


def build_composition(
    spec: dict[str, Any], position: int | str, backend: str, build_child: Callable[[dict[str, Any], str], Any]
) -> Any:
    """The step of a composition node, built from its children's steps."""
    raise TransformSpecError(f"transforms[{position}] ({spec['name']}): composition is not available yet")
