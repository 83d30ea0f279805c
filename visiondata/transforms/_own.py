"""A backend's own transforms by name: ``albumentations.<Name>`` and ``torchvision.<Name>``."""

from __future__ import annotations

from typing import Any

from visiondata.exceptions import UnknownNameError


def normalize_own(spec: dict[str, Any], position: int | str, backend: str) -> dict[str, Any]:
    """The spec of a backend's own transform, its parameters checked against the class."""
    from visiondata.transforms._spec import get_transform_definition

    try:
        get_transform_definition(spec["name"])
    except UnknownNameError as error:
        raise UnknownNameError(
            f"transforms[{position}]: {error}", name=error.name, suggestions=error.suggestions
        ) from None
    raise AssertionError("unreachable: a registered name is portable")


def build_own(spec: dict[str, Any], position: int | str, backend: str) -> Any:
    """The step that runs a backend's own transform with the pipeline's box bookkeeping."""
    raise AssertionError("unreachable until normalize_own accepts own transforms")
