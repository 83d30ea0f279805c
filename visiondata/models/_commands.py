"""``visiondata models list`` and ``visiondata models info NAME``."""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

from visiondata.models._zoo import MODEL_TASKS, SOURCES, get_model_entry, list_models


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Add the ``models`` command and its sub-commands to the top-level parser."""
    models = commands.add_parser("models", help="list and describe the models create_model() can build")
    actions = models.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="one line per model", description="List the model zoo.")
    listing.add_argument("--pattern", help="shell-style pattern on the name, e.g. 'resnet*'")
    listing.add_argument("--task", choices=MODEL_TASKS, help="keep only models of this task")
    listing.add_argument("--source", choices=SOURCES, help="keep only models from this source")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(handler=_list)

    info = actions.add_parser("info", help="parameters, head, input and weights of one model")
    info.add_argument("name", help="model name, e.g. resnet18 or timm:convnext_tiny")
    info.add_argument("--json", action="store_true", help="print JSON instead of text")
    info.set_defaults(handler=_info)


def _list(options: argparse.Namespace) -> None:
    names = list_models(options.pattern, source=options.source, task=options.task)
    rows = [(name, get_model_entry(name).source, get_model_entry(name).task) for name in names]
    if options.json:
        print(json.dumps([{"name": n, "source": s, "task": t} for n, s, t in rows], indent=2))
        return
    width = max([len("name"), *(len(row[0]) for row in rows)])
    print(f"{'name':<{width}}  {'source':<11}  task")
    print(f"{'-' * width}  {'-' * 11}  {'-' * 14}")
    for name, source, task in rows:
        print(f"{name:<{width}}  {source:<11}  {task}")
    print(f"{len(rows)} models")


def model_info(name: str) -> dict[str, Any]:
    """Everything ``visiondata models info`` shows, as a dict (builds the model without weights).

    Examples:
        >>> info = model_info("resnet18")
        >>> info["parameters"], info["head"], info["input"]["input_size"]
        (11689512, 'fc (Linear, 1000 outputs)', [3, 224, 224])
    """
    import torch

    from visiondata.models._config import model_data_config
    from visiondata.models._freeze import count_parameters
    from visiondata.models._heads import get_head
    from visiondata.models._weights import checkpoint_path
    from visiondata.models._zoo import create_model

    entry = get_model_entry(name)
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
    weights = []
    if entry.source == "torchvision":
        import torchvision

        try:
            enum = torchvision.models.get_model_weights(entry.name)
        except ValueError:
            enum = []
        for member in enum:
            cached = checkpoint_path(member.url).is_file()
            weights.append({"name": f"{type(member).__name__}.{member.name}", "url": member.url,
                            "cached": cached, "path": str(checkpoint_path(member.url))})  # fmt: skip
    config = dataclasses.asdict(model_data_config(entry.qualified_name))
    return {
        "name": entry.name,
        "source": entry.source,
        "task": entry.task,
        "parameters": count_parameters(model),
        "head": head,
        "input": {key: list(value) if isinstance(value, tuple) else value for key, value in config.items()},
        "weights": weights,
    }


def _info(options: argparse.Namespace) -> None:
    info = model_info(options.name)
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
        state = "cached" if weight["cached"] else f"not cached: download {weight['url']} to {weight['path']}"
        print(f"weights     {weight['name']} ({state})")
