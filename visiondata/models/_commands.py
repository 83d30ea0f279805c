"""``visiondata models list`` and ``visiondata models info NAME``."""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

from visiondata.models._names import remembered, remembering
from visiondata.models._zoo import MODEL_TASKS, SOURCES, ModelEntry, get_model_entry, list_entries


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Add the ``models`` command and its sub-commands to the top-level parser."""
    models = commands.add_parser(
        "models",
        help="list and describe the models create_model() can build",
        description="List and describe the models create_model() can build: torchvision's, timm's (when "
        "installed) and visiondata's own.",
    )
    actions = models.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="one line per model", description="List the model zoo.")
    listing.add_argument("--pattern", help="shell-style pattern on the name, e.g. 'resnet*'")
    listing.add_argument("--task", choices=MODEL_TASKS, help="keep only models of this task")
    listing.add_argument("--source", choices=SOURCES, help="keep only models from this source")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(handler=_list)

    info = actions.add_parser(
        "info",
        help="parameters, head, input and weights of one model",
        description="Describe one model: its parameter count, classification head, the input its weights "
        "expect, and its released weights (cached, or where a download goes).",
    )
    info.add_argument("name", help="model name, e.g. resnet18 or timm:convnext_tiny")
    info.add_argument("--json", action="store_true", help="print JSON instead of text")
    info.set_defaults(handler=_info)


def _list(options: argparse.Namespace) -> None:
    with remembering():  # names from the cache folder: no torchvision or timm import
        found = list_entries(options.pattern, source=options.source, task=options.task)
    rows = [(name, entry.source, entry.task) for name, entry in found]
    if options.json:
        print(json.dumps([{"name": n, "source": s, "task": t} for n, s, t in rows], indent=2))
        return
    width = max([len("name"), *(len(row[0]) for row in rows)])
    print(f"{'name':<{width}}  {'source':<11}  task")
    print(f"{'-' * width}  {'-' * 11}  {'-' * 14}")
    for name, source, task in rows:
        print(f"{name:<{width}}  {source:<11}  {task}")
    print(f"{len(rows)} model{'' if len(rows) == 1 else 's'}")


def model_info(name: str) -> dict[str, Any]:
    """Everything ``visiondata models info`` shows, as a dict (builds the model without weights).

    ``weights`` lists the released weights (see ``released_weights``, which
    ``create_model(..., weights="DEFAULT")`` follows too), the default one
    marked, each with whether it is cached and the path a download goes to.

    Examples:
        >>> info = model_info("resnet18")
        >>> info["parameters"], info["head"], info["input"]["input_size"]
        (11689512, 'fc (Linear, 1000 outputs)', [3, 224, 224])
        >>> [(weights["name"], weights["default"]) for weights in info["weights"]]
        [('ResNet18_Weights.IMAGENET1K_V1', True)]
    """
    return _with_cache_state(_describe(get_model_entry(name)))


def _describe(entry: ModelEntry) -> dict[str, Any]:
    """What ``models info`` shows that only changes with the installed packages: all but the cache state."""
    import torch

    from visiondata.models._config import model_data_config
    from visiondata.models._freeze import count_parameters
    from visiondata.models._heads import get_head
    from visiondata.models._weights import released_weights
    from visiondata.models._zoo import create_model

    extra = {"weights_backbone": None} if entry.task != "classification" else {}
    try:
        with torch.device("meta"):  # shapes and counts only: no memory, no initialisation time
            model = create_model(entry.qualified_name, **extra)
    except (NotImplementedError, RuntimeError):  # builders that compute with tensors (RegNet)
        model = create_model(entry.qualified_name, **extra)
    head = "-"
    if entry.task == "classification":
        path, layer = get_head(model)
        outputs = layer.out_features if isinstance(layer, torch.nn.Linear) else layer.out_channels
        head = f"{path} ({type(layer).__name__}, {outputs} outputs)"
    config = dataclasses.asdict(model_data_config(entry.qualified_name))
    return {
        "name": entry.name,
        "source": entry.source,
        "task": entry.task,
        "parameters": count_parameters(model),
        "head": head,
        "input": {key: list(value) if isinstance(value, tuple) else value for key, value in config.items()},
        "weights": [
            {**dataclasses.asdict(weights), "filenames": list(weights.filenames)}
            for weights in released_weights(entry)
        ],
    }


def _with_cache_state(described: dict[str, Any]) -> dict[str, Any]:
    """``described`` with, for each released weights, whether they are cached and where (asked now)."""
    from visiondata.models._weights import ReleasedWeights

    weights = []
    for fields in described["weights"]:
        released = ReleasedWeights(**{**fields, "filenames": tuple(fields["filenames"])})
        cached = released.cached_file()
        weights.append({
            "name": released.name,
            "default": released.default,
            "url": released.url,
            "repository": released.repository,
            "cached": cached is not None,
            "path": str(cached or released.cache_path()),
        })  # fmt: skip
    return {**described, "weights": weights}


def _remembered_info(name: str) -> dict[str, Any]:
    """``model_info(name)``, without building a torchvision or timm model again once described.

    What does not change until a package does is kept on disk (see
    ``visiondata.models._names``), so asking again imports neither torch nor
    the model's library. visiondata's own models, which ``register_model``
    may replace, are described afresh.
    """
    with remembering():
        entry = get_model_entry(name)
    if entry.source == "visiondata":
        return _with_cache_state(_describe(entry))
    packages = ("visiondata", "torch", "torchvision") + (("timm",) if entry.source == "timm" else ())
    described = remembered(f"info-{entry.source}-{entry.name}", packages, lambda: _describe(entry))
    return _with_cache_state(described)


def _info(options: argparse.Namespace) -> None:
    info = _remembered_info(options.name)
    if options.json:
        print(json.dumps(info, indent=2))
        return
    config = info["input"]
    print(f"name        {info['source']}:{info['name']}")
    print(f"task        {info['task']}")
    print(f"parameters  {info['parameters']:,}")
    print(f"head        {info['head']}")
    print(
        f"input       {' x '.join(map(str, config['input_size']))}, mean {config['mean']}, std {config['std']}, "
        f"{config['interpolation']}, crop fraction {config['crop_fraction']:.3f} (from {config['source']})"
    )
    if not info["weights"]:
        print("weights     none released (use weights=None or a local file)")
    for weight in info["weights"]:
        if weight["cached"]:
            state = f"cached at {weight['path']}"
        elif weight["repository"]:
            state = f"not cached: the Hugging Face repository {weight['repository']} goes to {weight['path']}"
        else:
            state = f"not cached: download {weight['url']} to {weight['path']}"
        default = ", loaded by weights='DEFAULT'" if weight["default"] else ""
        print(f"weights     {weight['name']}{default} ({state})")
