"""mkdocs hook: the transform tables of docs/augmentation.md, generated from the transform registry.

``<!-- transforms-table -->`` becomes one row per registered (portable) transform: its name, the backends
it runs on (``list_transforms(backend=...)``), what it moves (``transform_targets``: the image, or the
image, boxes and masks), its parameters with their defaults (the class signature, ``p`` last) and its
meaning (the first line of its docstring). ``<!-- own-transforms -->`` becomes, for each backend, the
library classes a pipeline runs by name (``own_names``, grouped by what they move) and those it refuses,
grouped by the reason the pipeline gives. Nothing is copied by hand, so the page cannot drift from the
registry: a transform added to visiondata or to an installed library appears on the next build.

``python scripts/docs_transforms.py`` prints the generated Markdown.
"""

from __future__ import annotations

import inspect
from collections import defaultdict
from typing import Any

TABLE_PLACEHOLDER = "<!-- transforms-table -->"
OWN_PLACEHOLDER = "<!-- own-transforms -->"
BACKENDS = ("torchvision", "albumentations")
#: What each backend's own classes are, as the page names them.
LIBRARIES = {"torchvision": "torchvision.transforms.v2", "albumentations": "albumentations"}


def _cell(text: str) -> str:
    """Markdown table cell text: reStructuredText literals as Markdown code, pipes escaped."""
    return text.replace("``", "`").replace("|", "\\|")


def _value(value: Any) -> str:
    """A default as a spec would write it in Python, floats shortened (``1.3333`` for 4/3)."""
    if isinstance(value, float):
        return repr(round(value, 4))
    if isinstance(value, tuple):
        inner = ", ".join(_value(item) for item in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    return repr(value)


def moves(targets: tuple[str, ...]) -> str:
    """What a transform moves, in words: ``"image, boxes and masks"`` or ``"image only"``."""
    if tuple(targets) == ("image",):
        return "image only"
    return ", ".join(targets[:-1]) + f" and {targets[-1]}" if len(targets) > 1 else ", ".join(targets)


def parameters(name: str) -> list[str]:
    """``name`` (required) or ``name=default`` for each parameter of a registered transform, ``p`` last."""
    from visiondata.transforms._spec import get_transform_definition

    definition = get_transform_definition(name)
    shown = []
    for parameter in definition.signature.parameters.values():
        if parameter.kind not in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY):
            continue
        if parameter.default is parameter.empty:
            shown.append(parameter.name)
        else:
            shown.append(f"{parameter.name}={_value(parameter.default)}")
    return [*shown, f"p={_value(float(definition.default_p))}"]


def meaning(name: str) -> str:
    """The first line of the transform's docstring (its class, or its albumentations builder)."""
    from visiondata.transforms._spec import get_transform_definition

    definition = get_transform_definition(name)
    source = definition.torchvision if definition.torchvision is not None else definition.albumentations
    lines = (inspect.getdoc(source) or "").strip().splitlines()
    return lines[0] if lines else ""


def transforms_table() -> str:
    """The Markdown table of every ``list_transforms()`` name, and a line counting them."""
    from visiondata.transforms import list_transforms, transform_targets

    listed = {backend: set(list_transforms(backend=backend)) for backend in BACKENDS}
    rows = [
        "| name | backends | moves | parameters (defaults) | meaning |",
        "| --- | --- | --- | --- | --- |",
    ]
    names = list_transforms()
    for name in names:
        backends = [backend for backend in BACKENDS if name in listed[backend]]
        # A portable transform moves the same targets on every backend it runs on.
        targets = transform_targets(name, backends[0]) if backends else ()
        shown = ", ".join(f"`{parameter}`" for parameter in parameters(name))
        rows.append(
            f"| `{name}` | {', '.join(backends)} | {moves(targets)} | {_cell(shown)} | {_cell(meaning(name))} |"
        )
    return "\n".join(rows) + f"\n\n{len(names)} portable transforms."


def refused(backend: str) -> dict[str, str]:
    """``"<backend>.<Name>"`` -> reason, for each class of the backend's library that a pipeline refuses.

    Raises:
        MissingDependencyError: ``"albumentations"`` without albumentations installed.
    """
    from visiondata.exceptions import UnknownNameError
    from visiondata.transforms._own import find_own

    if backend == "albumentations":
        from visiondata.transforms._albumentations_backend import import_albumentations

        library = import_albumentations()
        base = library.BasicTransform
    else:
        from torchvision.transforms import v2 as library

        base = library.Transform
    reasons = {}
    for name in sorted(dir(library)):
        cls = getattr(library, name)
        if name.startswith("_") or not inspect.isclass(cls) or not issubclass(cls, base):
            continue
        try:
            own = find_own(f"{backend}.{name}", backend)
        except UnknownNameError:
            continue  # not a class the pipeline looks at
        if own.refused is not None:
            reasons[own.qualified] = own.refused
    return reasons


def own_transforms(backend: str) -> str:
    """One backend's own classes: those that run, by what they move, then those refused, by reason."""
    from visiondata.exceptions import MissingDependencyError
    from visiondata.transforms._own import own_names, transform_targets

    library = LIBRARIES[backend]
    try:
        runnable = own_names(backend)
        refusals = refused(backend)
    except MissingDependencyError:
        return f"**{backend}**: not installed where this page was built, so its classes are not listed."
    by_targets: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for name in runnable:
        by_targets[transform_targets(name, backend)].append(name)
    lines = [f"**{backend}** (`{library}`): {len(runnable)} classes run in a pipeline.", ""]
    for targets in sorted(by_targets, key=len, reverse=True):
        names = by_targets[targets]
        lines.append(f"- {moves(targets)} ({len(names)}): {', '.join(f'`{n}`' for n in names)}")
    lines += [
        "",
        f'Refused on backend="{backend}" ({len(refusals)}), with the reason the pipeline gives:',
        "",
    ]
    by_reason: dict[str, list[str]] = defaultdict(list)
    for name, reason in refusals.items():
        by_reason[reason].append(name)
    for reason, names in sorted(by_reason.items(), key=lambda item: item[1][0]):
        lines.append(f"- {', '.join(f'`{n}`' for n in names)}: {reason}")
    return "\n".join(lines)


def own_transforms_section() -> str:
    """Both backends' own classes (`own_transforms`), one after the other."""
    return "\n\n".join(own_transforms(backend) for backend in BACKENDS)


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    if TABLE_PLACEHOLDER in markdown:
        markdown = markdown.replace(TABLE_PLACEHOLDER, transforms_table())
    if OWN_PLACEHOLDER in markdown:
        markdown = markdown.replace(OWN_PLACEHOLDER, own_transforms_section())
    return markdown


if __name__ == "__main__":
    print(transforms_table())
    print()
    print(own_transforms_section())
