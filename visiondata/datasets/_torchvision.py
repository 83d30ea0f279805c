"""Building torchvision datasets through the catalog, with one sample schema per task.

A `TorchvisionFactory` stands for one torchvision dataset class. Its
signature (what ``get_dataset`` checks keywords against) is derived from the
real class, with the catalog's renames and defaults applied, so a keyword
torchvision does not accept is refused before anything is read. torchvision
is imported only when a factory is inspected or called.

A ``plain`` factory returns the torchvision dataset itself (``transform``
and ``target_transform`` passed through); the ``detection``,
``segmentation`` and ``captioning`` schemas wrap it in a
[`CatalogDataset`][visiondata.datasets.CatalogDataset].
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from visiondata.exceptions import DatasetNotFoundError, DownloadError, MissingDependencyError

SCHEMAS = ("plain", "detection", "segmentation", "captioning")
# Parameters of a torchvision class that the joint-transform schemas handle themselves.
_TRANSFORM_PARAMETERS = ("transform", "target_transform", "transforms")


@dataclass(frozen=True)
class TorchvisionFactory:
    """Builds one torchvision dataset class for the catalog.

    Attributes:
        class_name: Name in ``torchvision.datasets`` (``"CIFAR10"``).
        schema: One of `SCHEMAS`.
        renames: Our keyword -> torchvision's (``{"variant": "split"}`` for EMNIST).
        defaults: Defaults that replace torchvision's, by our keyword name.
        kwargs_from: For a class whose ``**kwargs`` are forwarded to another
            class, that class's name, so its keywords are known too.
        requires: Optional packages the class imports, as ``(module, pip name)``.
        hidden: Parameters of the class that do not work and are not offered
            (``download`` where the upstream files are gone).
    """

    class_name: str
    schema: str = "plain"
    renames: Mapping[str, str] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    kwargs_from: str | None = None
    requires: tuple[tuple[str, str], ...] = ()
    hidden: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.schema not in SCHEMAS:
            raise ValueError(f"{self.class_name}: schema expected one of {SCHEMAS}, got {self.schema!r}")

    @property
    def __name__(self) -> str:
        return self.class_name

    @property
    def wraps(self) -> str:
        """Dotted path of the torchvision class."""
        return f"torchvision.datasets.{self.class_name}"

    def dataset_class(self) -> type:
        """The torchvision class (imports torchvision)."""
        return getattr(importlib.import_module("torchvision.datasets"), self.class_name)

    def _native_parameters(self) -> dict[str, inspect.Parameter]:
        parameters = dict(inspect.signature(self.dataset_class()).parameters)
        forwards = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
        if forwards and self.kwargs_from:
            target = getattr(importlib.import_module("torchvision.datasets"), self.kwargs_from)
            for name, parameter in inspect.signature(target).parameters.items():
                parameters.setdefault(name, parameter)
        return {
            name: parameter
            for name, parameter in parameters.items()
            if parameter.kind not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)
            and name not in self.hidden
        }

    @property
    def __signature__(self) -> inspect.Signature:
        """The keywords ``get_dataset`` accepts for this dataset, in our names."""
        native = self._native_parameters()
        ours_by_native = {native_name: ours for ours, native_name in self.renames.items()}
        parameters = [inspect.Parameter("root", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        for native_name, parameter in native.items():
            if native_name == "root":
                continue
            if self.schema in ("detection", "segmentation") and native_name in _TRANSFORM_PARAMETERS:
                continue
            name = ours_by_native.get(native_name, native_name)
            default = self.defaults.get(name, parameter.default)
            parameters.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default))
        if self.schema in ("detection", "segmentation"):
            for name in ("transform", "target_transform"):
                parameters.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None))
        return inspect.Signature(parameters)

    def __call__(self, root: str, **arguments: Any) -> Any:
        signature = self.__signature__
        missing = [
            name
            for name, parameter in signature.parameters.items()
            if parameter.default is inspect.Parameter.empty and name != "root" and name not in arguments
        ]
        if missing:
            raise TypeError(
                f"{self.wraps} needs {', '.join(f'{name}=' for name in missing)}; pass "
                f"{'it' if len(missing) == 1 else 'them'} to get_dataset (see its torchvision documentation)"
            )
        for module, package in self.requires:
            if importlib.util.find_spec(module) is None:
                raise MissingDependencyError(
                    f"{self.wraps} needs the optional package {package!r}, which is not installed; "
                    f"install it with: pip install {package}"
                )
        for name, value in self.defaults.items():
            arguments.setdefault(name, value)
        # Non-plain schemas convert the sample first, so they apply the transforms themselves.
        wrapped = self.schema != "plain"
        transform = arguments.pop("transform", None) if wrapped else None
        target_transform = arguments.pop("target_transform", None) if wrapped else None
        native = {self.renames.get(name, name): value for name, value in arguments.items()}
        native_parameters = self._native_parameters()
        if "root" in native_parameters:
            native["root"] = root
        download = bool(native.get("download", False))
        try:
            dataset = self.dataset_class()(**native)
        except ImportError as error:
            raise MissingDependencyError(
                f"{self.wraps} needs the optional package {error.name!r}, which is not installed; "
                f"install it with: pip install {error.name}"
            ) from error
        except (RuntimeError, FileNotFoundError, OSError) as error:
            raise self._missing_files_error(root, download, error) from error
        if self.schema == "plain":
            return dataset
        from visiondata.datasets._catalog_dataset import CatalogDataset

        return CatalogDataset(dataset, self.schema, transform, target_transform)

    def _missing_files_error(self, root: str, download: bool, error: Exception) -> Exception:
        cause = str(error).strip().rstrip(".")
        urls = _urls_of(self.dataset_class())
        where = (
            f"Download the files on a machine with network access ({', '.join(urls[:8])}"
            f"{', ...' if len(urls) > 8 else ''}) and place them under {root} as {self.wraps} expects"
            if urls
            else f"Get the files from the dataset's homepage and place them under {root} as {self.wraps} expects"
        )
        if download:
            return DownloadError(f"could not download {self.wraps} into {root}: {cause}. {where}")
        return DatasetNotFoundError(
            f"{self.wraps} found no usable files under {root}: {cause}. "
            + ("Pass download=True, or: " if "download" in self._native_parameters() else "")
            + where
        )


def _urls_of(dataset_class: type) -> list[str]:
    """The download addresses a torchvision class declares (``url``, ``resources``, ``mirrors``...).

    The most specific class that declares any wins (EMNIST's own ``url``, not
    MNIST's files); a class that declares none falls back to its module's
    tables (VOC keeps its URLs in a module-level dictionary).
    """

    def collect(value: Any, found: list[str]) -> None:
        if isinstance(value, str):
            if value.startswith(("http://", "https://")) and value not in found:
                found.append(value)
        elif isinstance(value, Mapping):
            for item in value.values():
                collect(item, found)
        elif isinstance(value, (list, tuple)):
            for item in value:
                collect(item, found)

    for klass in dataset_class.__mro__:
        found: list[str] = []
        for name, value in vars(klass).items():
            if not name.startswith("__") and not callable(value):
                collect(value, found)
        if found:
            break
    if not found:
        module = importlib.import_module(dataset_class.__module__)
        for name, value in vars(module).items():
            if name.isupper():
                collect(value, found)
    mirrors = [url for url in found if url.endswith("/")]
    resources = getattr(dataset_class, "resources", None)
    if mirrors and len(mirrors) == len(found) and isinstance(resources, (list, tuple)):
        # MNIST-style classes list mirrors and file names apart: join them on the first mirror.
        found = [f"{mirrors[0]}{entry[0] if isinstance(entry, tuple) else entry}" for entry in resources]
    return found
