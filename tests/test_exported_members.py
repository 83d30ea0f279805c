"""Each package's ``__all__`` is exactly its public surface (after httpx's test of the same name)."""

from __future__ import annotations

import importlib
import types

import pytest

PACKAGES = [
    "visiondata",
    "visiondata.boxes",
    "visiondata.cli",
    "visiondata.collate",
    "visiondata.datasets",
    "visiondata.exceptions",
    "visiondata.formats",
    "visiondata.io",
    "visiondata.loaders",
    "visiondata.models",
    "visiondata.report",
    "visiondata.shards",
    "visiondata.training",
    "visiondata.transforms",
    "visiondata.transforms.presets",
    "visiondata.viz",
]
# Names every module may import without exporting them.
_IMPORTED_HELPERS = {"annotations", "TYPE_CHECKING"}


def _defined_here(module_name: str, value: object) -> bool:
    if isinstance(value, types.ModuleType):
        return value.__name__.startswith(module_name + ".")
    origin = getattr(value, "__module__", None)
    if origin is None or not isinstance(origin, str):
        return True  # data (tuples, dicts): defined in the module itself
    return origin == module_name or origin.startswith(module_name + ".")


@pytest.mark.parametrize("module_name", PACKAGES)
def test_all_lists_every_public_name(module_name: str) -> None:
    module = importlib.import_module(module_name)
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and name not in _IMPORTED_HELPERS and _defined_here(module_name, value)
    }
    assert public <= set(module.__all__), (
        f"public but missing from __all__: {sorted(public - set(module.__all__))}"
    )


@pytest.mark.parametrize("module_name", PACKAGES)
def test_every_name_in_all_resolves_once(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert len(module.__all__) == len(set(module.__all__)), "duplicate names in __all__"
    for name in module.__all__:
        assert hasattr(module, name), f"{module_name}.__all__ names {name!r}, which does not exist"


def test_top_level_reexports_the_registry_functions() -> None:
    import visiondata
    import visiondata.datasets

    for name in ("dataset_info", "get_dataset", "list_datasets", "register_dataset", "DatasetInfo"):
        assert getattr(visiondata, name) is getattr(visiondata.datasets, name)
