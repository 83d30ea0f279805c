"""Modules that work together depend on each other one way only, with the import at the top of the file.

- ``models._config`` builds on ``models._zoo``: it looks models up by name, and the zoo's entries carry
  the ``DataConfig`` class (defined in the zoo). The zoo never imports ``_config``.
- ``training._mnist_job`` (the command-line options) builds on ``training._mnist_training`` (the settings
  and the training itself, which imports torch only when training starts). Training never imports the job.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "visiondata"


def imported_modules(path: Path, top_level_only: bool = False) -> set[str]:
    """Every module ``path`` imports, anywhere in it (or only in its top-level statements)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize(
    ("higher", "lower"),
    [
        ("visiondata.models._config", "visiondata.models._zoo"),
        ("visiondata.training._mnist_job", "visiondata.training._mnist_training"),
    ],
)
def test_the_higher_module_imports_the_lower_one_at_the_top_and_never_the_reverse(
    higher: str, lower: str
) -> None:
    def file_of(module: str) -> Path:
        return PACKAGE.joinpath(*module.split(".")[1:]).with_suffix(".py")

    assert lower in imported_modules(file_of(higher), top_level_only=True)
    assert higher not in imported_modules(file_of(lower))
