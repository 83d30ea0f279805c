"""The dataset registry: ``register_dataset``, ``list_datasets``, ``dataset_info``, ``get_dataset``.

An entry is metadata plus a *factory* (a dataset class or a function) and,
optionally, the keyword arguments that select each split. The mapping from
our split vocabulary to a factory's own arguments (``train=True``,
``image_set="trainval"``...) is data in the entry, never code in
``get_dataset``.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import os
import string
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from visiondata._paths import resolve_root
from visiondata._registry import Registry, close_matches
from visiondata.datasets._info import TASKS, DatasetInfo, normalize_split
from visiondata.exceptions import PluginWarning, UnknownNameError

Factory = TypeVar("Factory", bound=Callable[..., Any])

# Arguments every factory is offered when it accepts them.
_COMMON_ARGUMENTS = ("transform", "target_transform", "download")


@dataclass(frozen=True)
class _Entry:
    info: DatasetInfo
    # A callable, or "package.module:attribute" so that registering costs no import.
    factory: Callable[..., Any] | str
    # split -> keyword arguments that select it; None means "pass split=<name>".
    split_arguments: Mapping[str, Mapping[str, Any]] | None

    def resolve(self) -> Callable[..., Any]:
        if not isinstance(self.factory, str):
            return self.factory
        module_name, _, attribute = self.factory.partition(":")
        return getattr(importlib.import_module(module_name), attribute)


#: Entry-point group through which installed packages add datasets.
ENTRY_POINT_GROUP = "visiondata.datasets"


def _load_plugins() -> None:
    """Import every ``visiondata.datasets`` entry point (once, on the first lookup).

    An entry point names a module whose import registers datasets (with
    ``@register_dataset``) or a function called with no arguments that does.
    A plugin that fails to load is reported with a warning naming it; the
    other datasets stay usable.
    """
    from importlib.metadata import entry_points

    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = entry_point.load()
            if callable(loaded) and not isinstance(loaded, type):
                loaded()
        except Exception as error:  # a broken plugin must not break every other dataset
            warnings.warn(
                f"dataset plugin {entry_point.name!r} ({entry_point.value}) failed to load: "
                f"{type(error).__name__}: {error}; its datasets are unavailable. Fix or uninstall "
                f"{entry_point.dist.name if entry_point.dist else 'the package that provides it'}",
                PluginWarning,
                stacklevel=4,
            )


_DATASETS: Registry[_Entry] = Registry("dataset", on_first_lookup=_load_plugins)


def _source_of(factory: Callable[..., Any] | str) -> str:
    if isinstance(factory, str):
        return factory.replace(":", ".")
    return f"{factory.__module__}.{factory.__qualname__}"


def register_dataset(
    name: str,
    factory: Callable[..., Any] | str | None = None,
    *,
    task: str,
    splits: tuple[str, ...] | None = None,
    split_arguments: Mapping[str, Mapping[str, Any]] | None = None,
    override: bool = False,
    **metadata: Any,
) -> Any:
    """Add a dataset to the registry, as a decorator or a plain call.

    The factory is called by [`get_dataset`][visiondata.datasets.get_dataset] with ``root`` (a string),
    the split (as ``split=`` or as the keyword arguments in
    ``split_arguments``), and those of ``transform``, ``target_transform``
    and ``download`` that its signature accepts.

    Args:
        name: Registry name; lower case with underscores by convention.
        factory: The dataset class or function; omit it to use the decorator form.
        task: One of `visiondata.datasets.TASKS`.
        splits: Split names accepted; defaults to the keys of ``split_arguments``,
            else ``("train", "test")``.
        split_arguments: For factories that do not take ``split=``: the keyword
            arguments selecting each split, e.g. ``{"train": {"train": True}}``.
            String values may contain ``{root}``, replaced by the dataset root
            (``{"val": {"annFile": "{root}/annotations/val.json"}}``); a
            ``"root"`` key replaces the root the factory receives.
        override: Replace an existing entry of the same name instead of raising.
        **metadata: Further [`DatasetInfo`][visiondata.datasets.DatasetInfo] fields (``classes``, ``mean``...).

    Returns:
        The factory (decorator form) so the decorated class stays usable.

    Raises:
        DuplicateNameError: ``name`` is taken and ``override`` is false.
        TypeError: ``factory`` is neither callable nor a string, a split's
            ``split_arguments`` is not a dict, or a metadata keyword is not a
            [`DatasetInfo`][visiondata.datasets.DatasetInfo] field.
        ValueError: A string ``factory`` is not ``"package.module:attribute"``,
            ``split_arguments`` does not cover exactly the splits, or one of its
            strings holds a placeholder other than ``{root}``.

    Examples:
        >>> import visiondata as vd
        >>> @vd.register_dataset("tiny_demo", task="classification", classes=("no", "yes"))
        ... class TinyDemo:
        ...     def __init__(self, root, split="train", transform=None):
        ...         self.split = split
        >>> vd.get_dataset("tiny_demo", root="/tmp", split="test").split
        'test'
        >>> _ = vd.datasets.unregister_dataset("tiny_demo")
    """
    if factory is None:

        def decorator(decorated: Factory) -> Factory:
            register_dataset(
                name,
                decorated,
                task=task,
                splits=splits,
                split_arguments=split_arguments,
                override=override,
                **metadata,
            )
            return decorated

        return decorator

    _check_factory(name, factory)
    allowed = {f.name for f in dataclasses.fields(DatasetInfo)} - {"name", "task", "splits"}
    unknown = sorted(set(metadata) - allowed)
    if unknown:
        raise TypeError(
            f"register_dataset({name!r}): unknown metadata {', '.join(unknown)}; "
            f"expected any of {', '.join(sorted(allowed))}"
        )
    if splits is None:
        splits = tuple(split_arguments) if split_arguments else ("train", "test")
    if split_arguments is not None and set(split_arguments) != set(splits):
        raise ValueError(
            f"register_dataset({name!r}): split_arguments expected one entry per split "
            f"{sorted(splits)}, got {sorted(split_arguments)}"
        )
    if split_arguments is not None:
        _check_split_arguments(name, split_arguments)
    if "source" not in metadata:
        metadata["source"] = _source_of(factory)
    info = DatasetInfo(name=name, task=task, splits=tuple(splits), **metadata)
    entry = _Entry(info, factory, None if split_arguments is None else dict(split_arguments))
    _DATASETS.register(name, entry, override=override)
    return factory


def _check_factory(name: str, factory: object) -> None:
    # Checked here: a bad factory would otherwise fail only at get_dataset, far from its cause.
    if isinstance(factory, str):
        module_name, colon, attribute = factory.partition(":")
        if not (colon and module_name.strip() and attribute.strip()):
            raise ValueError(
                f"register_dataset({name!r}): factory expected 'package.module:attribute', got {factory!r}; "
                "name the module, a colon, then the class or function in it"
            )
    elif not callable(factory):
        raise TypeError(
            f"register_dataset({name!r}): factory expected a dataset class, a function or a "
            f"'package.module:attribute' string, got {factory!r} ({type(factory).__name__})"
        )


def _check_split_arguments(name: str, split_arguments: Mapping[str, Any]) -> None:
    """Refuse, at registration, what ``get_dataset`` could not fill in: only ``{root}`` is known there."""
    for split, arguments in split_arguments.items():
        if not isinstance(arguments, Mapping):
            raise TypeError(
                f"register_dataset({name!r}): split_arguments[{split!r}] expected a dict of keyword "
                f"arguments such as {{'train': True}}, got {arguments!r}"
            )
        for key, value in arguments.items():
            if not isinstance(value, str):
                continue
            where = f"register_dataset({name!r}): split_arguments[{split!r}][{key!r}] = {value!r}"
            try:
                fields = [field for _, field, _, _ in string.Formatter().parse(value) if field is not None]
                unknown = [field for field in fields if field != "root"]
                if not unknown:
                    value.format(root="")  # a bad format spec ("{root:d}") shows only when applied
            except ValueError as error:
                raise ValueError(
                    f"{where}: expected a template whose only placeholder is {{root}}, got an invalid "
                    f"template ({error}); write a literal brace as {{{{ or }}}}"
                ) from None
            if unknown:
                raise ValueError(
                    f"{where}: expected no placeholder but {{root}} (the dataset root), got "
                    f"{{{unknown[0]}}}; write a literal brace as {{{{ or }}}}"
                )


def unregister_dataset(name: str) -> DatasetInfo:
    """Remove a dataset from the registry and return its metadata.

    Examples:
        >>> import visiondata as vd
        >>> _ = vd.register_dataset("scratch", lambda root, split: [], task="other")
        >>> vd.datasets.unregister_dataset("scratch").name
        'scratch'
    """
    return _DATASETS.unregister(name).info


def list_datasets(pattern: str | None = None, task: str | None = None) -> list[str]:
    """Sorted names of registered datasets.

    Args:
        pattern: Shell-style pattern on the name (``"*mnist"``).
        task: Keep only datasets of this task, one of
            `visiondata.datasets.TASKS` (``"classification"``).

    Raises:
        UnknownNameError: ``task`` is not one of the tasks; the message lists
            them and suggests close matches.

    Examples:
        >>> import visiondata as vd
        >>> "mnist" in vd.list_datasets("*mnist*", task="classification")
        True
    """
    if task is not None and task not in TASKS:
        # An empty list would read as "no such dataset" rather than "no such task".
        suggestions = close_matches(str(task), TASKS)
        hint = f"did you mean {' or '.join(map(repr, suggestions))}? " if suggestions else ""
        raise UnknownNameError(
            f"unknown task {task!r}; {hint}expected one of {', '.join(TASKS)}",
            name=str(task),
            suggestions=suggestions,
        )
    names = _DATASETS.names(pattern)
    if task is not None:
        names = [name for name in names if _DATASETS.get(name).info.task == task]
    return names


def dataset_info(name: str, /) -> DatasetInfo:
    """Metadata of a registered dataset.

    Raises:
        UnknownNameError: No dataset of that name; the message suggests close matches.

    Examples:
        >>> import visiondata as vd
        >>> vd.dataset_info("mnist").mean
        (0.1307,)
    """
    return _DATASETS.get(name).info


def get_dataset(
    name: str,
    /,
    root: str | os.PathLike[str] | None = None,
    split: str | None = None,
    transform: Callable[..., Any] | None = None,
    target_transform: Callable[..., Any] | None = None,
    download: bool = False,
    **kwargs: Any,
) -> Any:
    """Build a registered dataset.

    Args:
        name: Registry name (see [`list_datasets`][visiondata.datasets.list_datasets]).
        root: Folder holding the data; defaults to ``$VISIONDATA_HOME``, else
            ``~/.cache/visiondata``.
        split: ``"train"``, ``"val"``, ``"test"`` or a dataset-specific split
            listed in ``dataset_info(name).splits``; ``"valid"``,
            ``"validation"`` and ``"eval"`` mean ``"val"``. ``None`` takes the
            first listed split (``"train"`` wherever there is one).
        transform: Applied to each image.
        target_transform: Applied to each target.
        download: Fetch the files when they are missing.
        **kwargs: Dataset-specific options, passed through.

    Raises:
        UnknownNameError: Unknown ``name``.
        UnknownSplitError: The dataset has no such split; the message lists its splits.
        TypeError: A keyword the dataset does not accept; the message lists those it does.

    Examples:
        >>> import visiondata as vd
        >>> test = vd.get_dataset("mnist", split="test")  # doctest: +SKIP
        >>> image, label = test[0]  # doctest: +SKIP
    """
    entry = _DATASETS.get(name)
    split = entry.info.splits[0] if split is None else normalize_split(split, entry.info.splits, name)
    root_path = str(resolve_root(root))
    factory = entry.resolve()
    parameters = inspect.signature(factory).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    if entry.split_arguments is None:
        split_arguments: Mapping[str, Any] = {"split": split}
    else:
        split_arguments = {
            key: value.format(root=root_path) if isinstance(value, str) else value
            for key, value in entry.split_arguments[split].items()
        }
    # A keyword the split decides may be repeated with the same value, never overridden.
    conflicting = sorted(
        key for key in set(kwargs) & set(split_arguments) if kwargs[key] != split_arguments[key]
    )
    if conflicting:
        chosen = ", ".join(f"{key}={split_arguments[key]!r}" for key in conflicting)
        raise TypeError(
            f"get_dataset({name!r}): split={split!r} sets {chosen}; got "
            f"{', '.join(f'{key}={kwargs[key]!r}' for key in conflicting)}. Choose the data with split= "
            f"(one of {', '.join(entry.info.splits)}) instead"
        )
    accepted = sorted(
        p
        for p in parameters
        if p not in ("root", "self", *_COMMON_ARGUMENTS, *split_arguments)
        and parameters[p].kind not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)
    )
    unknown = sorted(set(kwargs) - set(accepted) - set(split_arguments))
    if unknown and not takes_any:
        raise TypeError(
            f"get_dataset({name!r}) got unexpected keyword {', '.join(unknown)}; "
            f"it accepts {', '.join(accepted) if accepted else 'no dataset-specific keywords'}"
        )
    arguments: dict[str, Any] = {"root": root_path, **split_arguments, **kwargs}
    given = {"transform": transform, "target_transform": target_transform, "download": download}
    for keyword, value in given.items():
        if keyword in parameters or takes_any:
            arguments[keyword] = value
        elif value not in (None, False):
            raise TypeError(
                f"get_dataset({name!r}): this dataset does not support {keyword}=; "
                + (
                    "place its files under root by hand (see its homepage)"
                    if keyword == "download"
                    else f"wrap the dataset to apply a {keyword}"
                )
            )
    return factory(**arguments)
