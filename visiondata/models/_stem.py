"""Adapting a model's first convolution to another number of input channels."""

from __future__ import annotations

import torch
from torch import nn

from visiondata._arguments import check_positive_int


def first_conv(model: nn.Module) -> tuple[str, nn.Conv2d]:
    """The first ``Conv2d`` that reads the image (in registration order, which is forward order here).

    Raises:
        ValueError: The model has no Conv2d layer.
    """
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            return name, module
    raise ValueError(f"{type(model).__name__}: expected a Conv2d stem to adapt, found no Conv2d layer")


def adapt_input_channels(model: nn.Module, in_chans: int) -> nn.Module:
    """Make ``model`` read ``in_chans``-channel images, keeping what its RGB kernels learned (in place).

    One channel: the kernel is the sum over the RGB kernels, so a grey image
    ``g`` gives the response the RGB image ``(g, g, g)`` gave. More channels:
    the RGB kernels are repeated over the new channels and scaled by
    ``3 / in_chans``, so the response to a constant image keeps its size (the
    scheme timm uses).

    Returns:
        The same model.

    Examples:
        >>> import torch, torchvision
        >>> model = adapt_input_channels(torchvision.models.resnet18(), 1)
        >>> model(torch.zeros(1, 1, 64, 64)).shape
        torch.Size([1, 1000])
    """
    check_positive_int("in_chans", in_chans)
    path, conv = first_conv(model)
    if conv.in_channels == in_chans:
        return model
    if getattr(model, "transform_input", False):
        conv = _fold_transform_input(model, path, conv)
    if conv.groups != 1:
        raise ValueError(f"{path}: a grouped first convolution (groups={conv.groups}) cannot be adapted")
    weight = conv.weight.detach()
    if in_chans == 1:
        adapted = weight.sum(dim=1, keepdim=True)
    else:
        repeats = -(-in_chans // weight.shape[1])  # ceiling division
        adapted = weight.repeat(1, repeats, 1, 1)[:, :in_chans] * (weight.shape[1] / in_chans)
    new = nn.Conv2d(
        in_chans,
        conv.out_channels,
        conv.kernel_size,
        conv.stride,
        conv.padding,
        conv.dilation,
        bias=conv.bias is not None,
        padding_mode=conv.padding_mode,
    )
    with torch.no_grad():
        new.weight.copy_(adapted)
        if conv.bias is not None:
            new.bias.copy_(conv.bias)
    _replace(model, path, new)
    return model


def _replace(model: nn.Module, path: str, layer: nn.Module) -> None:
    parent_path, _, name = path.rpartition(".")
    parent = model.get_submodule(parent_path) if parent_path else model
    if isinstance(parent, nn.Sequential) and name.isdigit():
        parent[int(name)] = layer
    else:
        setattr(parent, name, layer)


# torchvision's Inception v3 and GoogLeNet (with transform_input=True, as their released weights set
# it) map each channel c of the input to x * std_c / 0.5 + (mean_c - 0.5) / 0.5 before the first layer.
_TRANSFORM_INPUT_MEAN = (0.485, 0.456, 0.406)
_TRANSFORM_INPUT_STD = (0.229, 0.224, 0.225)


def _fold_transform_input(model: nn.Module, path: str, conv: nn.Conv2d) -> nn.Conv2d:
    """Move the per-channel affine map of ``transform_input`` into the first convolution (exact without padding).

    A convolution of ``a_c * x_c + b_c`` equals a convolution of ``x_c`` with
    kernels ``a_c * W_c`` plus the bias ``sum_c b_c * sum(W_c)``; afterwards
    the model no longer needs three input channels to re-normalise.
    """
    if conv.in_channels != 3:
        return conv
    scale = torch.tensor([s / 0.5 for s in _TRANSFORM_INPUT_STD]).view(1, 3, 1, 1)
    shift = torch.tensor([(m - 0.5) / 0.5 for m in _TRANSFORM_INPUT_MEAN])
    folded = nn.Conv2d(
        3, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, conv.dilation, bias=True
    )
    with torch.no_grad():
        folded.weight.copy_(conv.weight * scale)
        bias = (conv.weight.sum(dim=(2, 3)) * shift).sum(dim=1)
        folded.bias.copy_(bias + (conv.bias if conv.bias is not None else 0))
    _replace(model, path, folded)
    model.transform_input = False
    return folded
