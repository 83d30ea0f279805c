"""Freezing, unfreezing and fine-tuning helpers.

Transfer learning comes in two forms: a frozen pretrained backbone used as a
feature extractor with only the head trained, and fine-tuning, where lower
layers move a little (a smaller learning rate, or unfrozen stage by stage).
These helpers do both for any model [`get_head`][visiondata.models.get_head] understands, with an
explicit BatchNorm policy that survives ``model.train()``.
"""

from __future__ import annotations

import fnmatch
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from visiondata._arguments import check_choice, check_int
from visiondata.models._heads import _AUXILIARY_HEADS, _resolve, get_head

BN_POLICIES = ("train", "eval", "frozen")
_EVAL_HOOK = "_visiondata_eval_hook"


# ---------------------------------------------------------------- freeze / unfreeze
def _parameters(module: nn.Module, names: str | Sequence[str] | None) -> list[nn.Parameter]:
    if names is None:
        return list(module.parameters())
    patterns = [names] if isinstance(names, str) else list(names)
    named = list(module.named_parameters())

    def hits(pattern: str, name: str) -> bool:
        return fnmatch.fnmatchcase(name, pattern) or name.startswith(pattern.rstrip(".*") + ".")

    unmatched = [p for p in patterns if not any(hits(p, name) for name, _ in named)]
    if unmatched:
        raise ValueError(
            f"names: no parameter of {type(module).__name__} matches {unmatched}; expected sub-module names "
            "or patterns on parameter names such as 'layer1' or 'layer[12].*'"
        )
    return [parameter for name, parameter in named if any(hits(p, name) for p in patterns)]


def freeze(module: nn.Module, names: str | Sequence[str] | None = None) -> nn.Module:
    """Stop gradients for every parameter of ``module``, or only for the named ones.

    Args:
        module: The model or a part of it.
        names: Sub-module names or shell-style patterns on parameter names
            (``"layer1"``, ``"layer[12].*"``); ``None`` freezes everything.

    Returns:
        ``module``.

    Examples:
        >>> import torchvision
        >>> model = freeze(torchvision.models.resnet18(), ["conv1", "layer1"])
        >>> model.conv1.weight.requires_grad, model.layer2[0].conv1.weight.requires_grad
        (False, True)
    """
    for parameter in _parameters(module, names):
        parameter.requires_grad_(False)
    return module


def unfreeze(module: nn.Module, names: str | Sequence[str] | None = None) -> nn.Module:
    """Let gradients flow again to every parameter of ``module``, or to the named ones.

    BatchNorm layers inside are released from an ``"eval"``/``"frozen"`` policy too.

    Examples:
        >>> import torchvision
        >>> model = unfreeze(freeze(torchvision.models.resnet18()), "fc")
        >>> model.fc.weight.requires_grad, model.conv1.weight.requires_grad
        (True, False)
    """
    for parameter in _parameters(module, names):
        parameter.requires_grad_(True)
    targets = [module] if names is None else [m for n, m in module.named_modules() if _matches(n, names)]
    for target in targets:
        for layer in target.modules():
            if isinstance(layer, _BatchNorm):
                _release(layer)
    return module


def _matches(name: str, names: str | Sequence[str]) -> bool:
    patterns = [names] if isinstance(names, str) else list(names)
    return any(fnmatch.fnmatchcase(name, p) or name == p.rstrip(".*") for p in patterns)


# ---------------------------------------------------------------- BatchNorm policy
_SAVED_MODE = "_visiondata_saved_training"


def _enter_eval(module: nn.Module, inputs: Any) -> None:
    # Forward pre-hook: whatever model.train() set, this forward runs in eval mode...
    setattr(module, _SAVED_MODE, module.training)
    module.training = False


def _leave_eval(module: nn.Module, inputs: Any, output: Any) -> None:
    # ...and the layer's own flag is put back, so releasing the policy needs no other repair.
    module.training = getattr(module, _SAVED_MODE, module.training)


def _pin_eval(layer: _BatchNorm) -> None:
    if getattr(layer, _EVAL_HOOK, None) is None:
        handles = (layer.register_forward_pre_hook(_enter_eval), layer.register_forward_hook(_leave_eval))
        setattr(layer, _EVAL_HOOK, handles)


def _release(layer: _BatchNorm) -> None:
    handles = getattr(layer, _EVAL_HOOK, None)
    if handles is not None:
        for handle in handles:
            handle.remove()
        setattr(layer, _EVAL_HOOK, None)


def set_batchnorm_policy(module: nn.Module, bn: str) -> nn.Module:
    """Apply a BatchNorm policy to every BatchNorm layer in ``module``.

    - ``"train"``: normal behaviour: the running statistics update in
      training mode and the affine parameters keep their ``requires_grad``;
    - ``"eval"``: running statistics frozen (the layers stay in eval mode,
      even after ``model.train()``), affine parameters trainable;
    - ``"frozen"``: as ``"eval"``, and the affine parameters frozen too.

    Examples:
        >>> import torch
        >>> layer = set_batchnorm_policy(torch.nn.BatchNorm1d(3), "eval").train()
        >>> _ = layer(torch.randn(8, 3))
        >>> layer.running_mean.tolist()
        [0.0, 0.0, 0.0]
    """
    check_choice("bn", bn, BN_POLICIES)
    for layer in module.modules():
        if not isinstance(layer, _BatchNorm):
            continue
        if bn == "train":
            _release(layer)
            continue
        _pin_eval(layer)
        if bn == "frozen":
            for parameter in layer.parameters():
                parameter.requires_grad_(False)
        else:
            for parameter in layer.parameters():
                parameter.requires_grad_(True)
    return module


def freeze_batchnorm(model: nn.Module) -> nn.Module:
    """Freeze every BatchNorm layer: eval mode that survives ``model.train()``, no gradients.

    Examples:
        >>> import torchvision
        >>> model = freeze_batchnorm(torchvision.models.resnet18()).train()
        >>> model.bn1.weight.requires_grad
        False
    """
    return set_batchnorm_policy(model, "frozen")


# ---------------------------------------------------------------- backbone and head
def head_modules(model: nn.Module) -> list[nn.Module]:
    """The modules trained in the feature-extractor phase.

    Classification models: the head found by [`get_head`][visiondata.models.get_head] and the
    auxiliary heads. Detection and segmentation models (with a ``backbone``
    attribute): every top-level part except the backbone.
    """
    backbone = getattr(model, "backbone", None)
    if isinstance(backbone, nn.Module):
        return [child for child in model.children() if child is not backbone]
    modules = [get_head(model)[1]]
    for path in _AUXILIARY_HEADS:
        try:
            modules.append(_resolve(model, path))
        except (AttributeError, IndexError, TypeError):
            continue
    return modules


def _head_parameter_ids(model: nn.Module) -> set[int]:
    return {id(parameter) for module in head_modules(model) for parameter in module.parameters()}


def backbone_blocks(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The backbone's stages in forward order, as ``(name, module)`` pairs, for [`unfreeze_last`][visiondata.models.unfreeze_last].

    Per family: ResNet, ResNeXt, Wide ResNet: ``stem`` (conv1, bn1), then
    ``layer1``-``layer4``; RegNet: ``stem``, then the stages of
    ``trunk_output``; models with ``features`` (VGG, AlexNet, DenseNet,
    MobileNet, EfficientNet, MNASNet, ConvNeXt, Swin, SqueezeNet): its
    children that hold parameters; ViT: ``conv_proj``, then each encoder
    layer, then ``encoder.ln``; MaxViT: ``stem``, then its blocks; detection
    and segmentation models: the stages of their backbone's body, then its
    FPN (or SSD's extra layers); anything else
    (Inception v3, GoogLeNet, ShuffleNet, MNISTCNN...): the top-level children
    with parameters, in registration order. Names are attribute paths
    (``model.get_submodule(name)``), except ResNet's and RegNet's ``stem``.
    The head is never a block.

    Examples:
        >>> import torchvision
        >>> [name for name, _ in backbone_blocks(torchvision.models.resnet18())]
        ['stem', 'layer1', 'layer2', 'layer3', 'layer4']
    """
    backbone = getattr(model, "backbone", None)
    if isinstance(backbone, nn.Module):
        prefix, target = "backbone", backbone
        if isinstance(getattr(backbone, "body", None), nn.Module):
            prefix, target = "backbone.body", backbone.body
        elif isinstance(getattr(backbone, "features", None), nn.Module):  # SSD, SSDlite
            prefix, target = "backbone.features", backbone.features
        blocks = [
            (f"{prefix}.{name}", child) for name, child in target.named_children() if _has_parameters(child)
        ]
        for later in ("fpn", "extra"):  # after the body in forward order
            if isinstance(getattr(backbone, later, None), nn.Module):
                blocks.append((f"backbone.{later}", getattr(backbone, later)))
        return blocks
    head_ids = _head_parameter_ids(model)
    blocks: list[tuple[str, nn.Module]]
    if all(hasattr(model, f"layer{i}") for i in range(1, 5)) and hasattr(model, "conv1"):
        stem = nn.ModuleList([m for m in (model.conv1, getattr(model, "bn1", None)) if m is not None])
        blocks = [("stem", stem), *((f"layer{i}", getattr(model, f"layer{i}")) for i in range(1, 5))]
    elif hasattr(model, "trunk_output") and hasattr(model, "stem"):
        blocks = [
            ("stem", model.stem),
            *((f"trunk_output.{n}", c) for n, c in model.trunk_output.named_children()),
        ]
    elif isinstance(getattr(model, "features", None), nn.Module):
        blocks = [(f"features.{n}", c) for n, c in model.features.named_children() if _has_parameters(c)]
    elif hasattr(model, "encoder") and hasattr(model.encoder, "layers") and hasattr(model, "conv_proj"):
        blocks = [("conv_proj", model.conv_proj)]
        blocks += [(f"encoder.layers.{n}", c) for n, c in model.encoder.layers.named_children()]
        blocks.append(("encoder.ln", model.encoder.ln))
    elif hasattr(model, "blocks") and hasattr(model, "stem"):  # MaxViT
        blocks = [("stem", model.stem), *((f"blocks.{n}", c) for n, c in model.blocks.named_children())]
    else:
        blocks = [(n, c) for n, c in model.named_children() if _has_parameters(c)]
    return [(name, block) for name, block in blocks if not _is_head(block, head_ids)]


def _has_parameters(module: nn.Module) -> bool:
    return any(True for _ in module.parameters())


def _is_head(module: nn.Module, head_ids: set[int]) -> bool:
    ids = [id(parameter) for parameter in module.parameters()]
    return bool(ids) and all(i in head_ids for i in ids)


def freeze_backbone(model: nn.Module, bn: str = "frozen") -> nn.Module:
    """Freeze everything except the head: the feature-extractor phase of transfer learning.

    Args:
        model: A classification model (head found by [`get_head`][visiondata.models.get_head]), or a
            detection/segmentation model (everything outside ``backbone`` stays trainable).
        bn: BatchNorm policy for the backbone's BatchNorm layers (see
            [`set_batchnorm_policy`][visiondata.models.set_batchnorm_policy]): ``"frozen"`` (default: statistics and
            affine parameters fixed, even after ``model.train()``: a pure
            feature extractor), ``"eval"`` (statistics fixed, affine
            parameters trained with the head) or ``"train"`` (statistics keep
            updating and affine parameters train).

    Returns:
        ``model``.

    Warns:
        UserWarning: ``model`` comes from [`create_model`][visiondata.models.create_model] without
            pretrained weights (its ``visiondata_pretrained`` attribute is ``False``): a frozen random
            backbone gives random features, and the head alone learns little more than chance. Models
            without that attribute (built by torchvision or by hand) are not judged: nothing tells
            whether weights were loaded. After loading weights into a ``create_model`` model
            yourself, set ``model.visiondata_pretrained = True``.

    Examples:
        >>> import torchvision
        >>> model = freeze_backbone(torchvision.models.resnet18())
        >>> count_parameters(model, trainable_only=True)
        513000
    """
    check_choice("bn", bn, BN_POLICIES)
    if getattr(model, "visiondata_pretrained", None) is False:
        name = getattr(model, "visiondata_name", type(model).__name__)
        warnings.warn(
            f"freeze_backbone: expected a pretrained backbone, got {name} built with random weights "
            "(create_model(..., weights=None)); frozen, its features stay random and the head alone "
            "learns little. Pass weights= ('DEFAULT' or a local file), or train the whole model "
            "without freeze_backbone (after loading weights yourself, set model.visiondata_pretrained = True)",
            UserWarning,
            stacklevel=2,
        )
    head_ids = _head_parameter_ids(model)
    for parameter in model.parameters():
        parameter.requires_grad_(id(parameter) in head_ids)
    for module in model.modules():
        if isinstance(module, _BatchNorm) and not all(id(p) in head_ids for p in module.parameters()):
            set_batchnorm_policy(module, bn)
            if bn == "train":
                for parameter in module.parameters():
                    parameter.requires_grad_(True)
    return model


def unfreeze_last(model: nn.Module, n: int) -> list[nn.Parameter]:
    """Unfreeze the last ``n`` backbone stages (see [`backbone_blocks`][visiondata.models.backbone_blocks]) and the head.

    Returns:
        The parameters that were frozen and are now trainable, in model
        order (what an optimiser needs to add; see [`GradualUnfreezing`][visiondata.models.GradualUnfreezing]).

    Raises:
        ValueError: ``n`` is not an ``int`` (``True`` included) from 0 to the number of stages.

    Examples:
        >>> import torchvision
        >>> model = freeze_backbone(torchvision.models.resnet18())
        >>> len(unfreeze_last(model, 1)) > 0, model.layer4[0].conv1.weight.requires_grad
        (True, True)
    """
    check_int("n", n, minimum=0, expected="a non-negative integer")
    blocks = backbone_blocks(model)
    if n > len(blocks):
        raise ValueError(f"n: {type(model).__name__} has {len(blocks)} backbone stages, got n={n}")
    targets = [block for _, block in blocks[len(blocks) - n :]] + head_modules(model)
    released = []
    for target in targets:
        for parameter in target.parameters():
            if not parameter.requires_grad:
                parameter.requires_grad_(True)
                released.append(parameter)
        for layer in target.modules():
            if isinstance(layer, _BatchNorm):
                _release(layer)
    order = {id(parameter): index for index, parameter in enumerate(model.parameters())}
    return sorted(released, key=lambda parameter: order[id(parameter)])


# ---------------------------------------------------------------- optimiser helpers
def param_groups(
    model: nn.Module,
    lr: float,
    backbone_lr: float | None = None,
    weight_decay: float = 0.0,
    no_decay_norm_and_bias: bool = True,
) -> list[dict[str, Any]]:
    """Parameter groups for discriminative learning rates: the head at ``lr``, the rest at ``backbone_lr``.

    Only trainable parameters are included; empty groups are left out. With
    ``no_decay_norm_and_bias``, biases and normalisation weights (every
    parameter with fewer than 2 dimensions) get no weight decay.

    Returns:
        Groups for any ``torch.optim`` optimiser; each has a ``"name"``
        (``head``, ``head_no_decay``, ``backbone``, ``backbone_no_decay``).

    Examples:
        >>> import torch, torchvision
        >>> groups = param_groups(torchvision.models.resnet18(), lr=1e-2, backbone_lr=1e-4, weight_decay=1e-4)
        >>> [(group["name"], group["lr"]) for group in groups]
        [('head', 0.01), ('head_no_decay', 0.01), ('backbone', 0.0001), ('backbone_no_decay', 0.0001)]
        >>> optimizer = torch.optim.SGD(groups, lr=1e-2)
    """
    head_ids = _head_parameter_ids(model)
    buckets: dict[str, list[nn.Parameter]] = {
        "head": [], "head_no_decay": [], "backbone": [], "backbone_no_decay": [],
    }  # fmt: skip
    for parameter in model.parameters():
        if not parameter.requires_grad:
            continue
        part = "head" if id(parameter) in head_ids else "backbone"
        no_decay = no_decay_norm_and_bias and parameter.ndim <= 1
        buckets[f"{part}_no_decay" if no_decay else part].append(parameter)
    rates = {"head": lr, "backbone": lr if backbone_lr is None else backbone_lr}
    return [
        {
            "name": name,
            "params": parameters,
            "lr": rates[name.split("_")[0]],
            "weight_decay": 0.0 if name.endswith("no_decay") else weight_decay,
        }
        for name, parameters in buckets.items()
        if parameters
    ]


class GradualUnfreezing:
    """Unfreeze backbone stages on a schedule and hand the new parameters to the optimiser.

    Call `step` at the start of every epoch. When the epoch is in
    ``schedule``, the last ``schedule[epoch]`` stages are unfrozen and the
    parameters that became trainable are added to ``optimizer`` as a new
    parameter group, so they really train (an optimiser only updates the
    parameters it was given: unfreezing alone is not enough).

    Args:
        model: The model, usually after [`freeze_backbone`][visiondata.models.freeze_backbone].
        optimizer: The optimiser already training the head.
        schedule: Epoch -> number of last stages trainable from that epoch on.
        lr: Learning rate of the added groups; defaults to the first group's.

    Examples:
        >>> import torch, torchvision
        >>> model = freeze_backbone(torchvision.models.resnet18())
        >>> optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
        >>> unfreezing = GradualUnfreezing(model, optimizer, {2: 1, 4: 3}, lr=0.01)
        >>> [len(unfreezing.step(epoch)) > 0 for epoch in range(5)]
        [False, False, True, False, True]
        >>> len(optimizer.param_groups)
        3
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        schedule: Mapping[int, int],
        lr: float | None = None,
    ) -> None:
        stages = len(backbone_blocks(model))
        for epoch, count in schedule.items():
            if not 0 <= count <= stages:
                raise ValueError(f"schedule[{epoch}]: expected 0 to {stages} stages, got {count}")
        self.model = model
        self.optimizer = optimizer
        self.schedule = dict(schedule)
        self.lr = lr

    def step(self, epoch: int) -> list[nn.Parameter]:
        """Apply the schedule for ``epoch``; returns the parameters added to the optimiser."""
        if epoch not in self.schedule:
            return []
        unfreeze_last(self.model, self.schedule[epoch])
        known = {id(p) for group in self.optimizer.param_groups for p in group["params"]}
        new = [p for p in self.model.parameters() if p.requires_grad and id(p) not in known]
        if new:
            lr = self.lr if self.lr is not None else self.optimizer.param_groups[0]["lr"]
            self.optimizer.add_param_group({"params": new, "lr": lr, "name": f"unfrozen_epoch_{epoch}"})
        return new


# ---------------------------------------------------------------- counting
def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (each shared tensor counted once).

    Examples:
        >>> import torch
        >>> count_parameters(torch.nn.Linear(3, 2))
        8
    """
    seen: dict[int, int] = {}
    for parameter in model.parameters():
        if not trainable_only or parameter.requires_grad:
            seen[id(parameter)] = parameter.numel()
    return sum(seen.values())


@dataclass(frozen=True)
class TrainableSummary:
    """Trainable and frozen parameter counts per top-level module; ``str()`` gives a table."""

    rows: tuple[tuple[str, int, int], ...]

    @property
    def trainable(self) -> int:
        return sum(row[1] for row in self.rows)

    @property
    def frozen(self) -> int:
        return sum(row[2] for row in self.rows)

    def __str__(self) -> str:
        width = max([len("module"), *(len(name) for name, _, _ in self.rows)])
        lines = [f"{'module':<{width}}  {'trainable':>12}  {'frozen':>12}"]
        lines += [f"{name:<{width}}  {t:>12,}  {f:>12,}" for name, t, f in self.rows]
        lines.append(f"{'total':<{width}}  {self.trainable:>12,}  {self.frozen:>12,}")
        return "\n".join(lines)


def trainable_summary(model: nn.Module) -> TrainableSummary:
    """Trainable and frozen parameters of each top-level module.

    Examples:
        >>> import torchvision
        >>> summary = trainable_summary(freeze_backbone(torchvision.models.resnet18()))
        >>> summary.rows[-1], summary.trainable
        (('fc', 513000, 0), 513000)
    """
    rows = []
    for name, child in model.named_children():
        trainable = sum(p.numel() for p in child.parameters() if p.requires_grad)
        frozen = sum(p.numel() for p in child.parameters() if not p.requires_grad)
        if trainable or frozen:
            rows.append((name, trainable, frozen))
    own = list(model.parameters(recurse=False))
    if own:
        rows.append(("(own parameters)", sum(p.numel() for p in own if p.requires_grad),
                     sum(p.numel() for p in own if not p.requires_grad)))  # fmt: skip
    return TrainableSummary(tuple(rows))
