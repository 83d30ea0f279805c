"""The input a model's weights expect, and transforms that produce it."""

from __future__ import annotations

from typing import Any

from torch import nn

# DataConfig lives in the zoo, whose entries carry one; this module builds on the zoo, never the reverse.
from visiondata.models._zoo import DataConfig, get_model_entry
from visiondata.transforms._presets import IMAGENET_MEAN, IMAGENET_STD

_DEFAULTS = DataConfig((3, 224, 224), IMAGENET_MEAN, IMAGENET_STD, "bilinear", 0.875, "defaults")


def model_data_config(model_or_name: str | nn.Module) -> DataConfig:
    """What the model's (default) weights expect as input.

    For a torchvision name, or a model made by [`create_model`][visiondata.models.create_model], the
    figures come from the default weights' own preprocessing; timm models
    use timm's data config; otherwise the ImageNet defaults (224 crop of a
    256 resize, ImageNet mean and std, bilinear).

    Examples:
        >>> config = model_data_config("vit_b_16")
        >>> config.input_size, config.crop_fraction, config.interpolation
        ((3, 224, 224), 0.875, 'bilinear')
        >>> model_data_config("inception_v3").input_size
        (3, 299, 299)
    """
    if isinstance(model_or_name, nn.Module):
        name = getattr(model_or_name, "visiondata_name", None)
        if name is None:
            return _channels(_DEFAULTS, model_or_name)
        config = model_data_config(name)
        return _channels(config, model_or_name)
    entry = get_model_entry(model_or_name)
    if entry.source == "torchvision":
        return _torchvision_config(entry.name)
    if entry.source == "timm":
        return _timm_config(entry.name)
    return entry.data_config or _DEFAULTS


def _channels(config: DataConfig, model: nn.Module) -> DataConfig:
    """Adjust the channel count (and mean/std) to a model whose stem was adapted."""
    from visiondata.models._stem import first_conv

    try:
        channels = first_conv(model)[1].in_channels
    except ValueError:
        return config
    if channels == config.input_size[0]:
        return config
    mean = (sum(config.mean) / len(config.mean),) * channels
    std = (sum(config.std) / len(config.std),) * channels
    return DataConfig((channels, *config.input_size[1:]), mean, std, config.interpolation,
                      config.crop_fraction, config.source)  # fmt: skip


def _torchvision_config(name: str) -> DataConfig:
    import torchvision

    try:
        weights = torchvision.models.get_model_weights(name).DEFAULT
    except (ValueError, KeyError, AttributeError):
        return _DEFAULTS
    preset = weights.transforms()
    crop = getattr(preset, "crop_size", None)
    resize = getattr(preset, "resize_size", None)
    if crop is None or resize is None:  # detection/segmentation presets only convert dtypes
        return DataConfig(_DEFAULTS.input_size, IMAGENET_MEAN, IMAGENET_STD, "bilinear", 0.875, str(weights))
    crop_side, resize_side = crop[0], resize[0]
    return DataConfig(
        (3, crop_side, crop_side),
        tuple(preset.mean),
        tuple(preset.std),
        preset.interpolation.value,
        crop_side / resize_side,
        str(weights),
    )


def _timm_config(name: str) -> DataConfig:
    import timm
    from timm.data import resolve_data_config

    config: dict[str, Any] = resolve_data_config({}, model=timm.create_model(name, pretrained=False))
    return DataConfig(
        tuple(config["input_size"]),
        tuple(config["mean"]),
        tuple(config["std"]),
        str(config["interpolation"]),
        float(config.get("crop_pct", 0.875)),
        f"timm:{name}",
    )


def model_transforms(model_or_name: str | nn.Module, train: bool = False) -> Any:
    """Train or evaluation presets matching [`model_data_config`][visiondata.models.model_data_config].

    Examples:
        >>> import torch
        >>> model_transforms("resnet18")(torch.zeros(3, 300, 400, dtype=torch.uint8)).shape
        torch.Size([3, 224, 224])
    """
    from torchvision.transforms import InterpolationMode, v2

    from visiondata.transforms import presets

    config = model_data_config(model_or_name)
    interpolation = InterpolationMode(config.interpolation)
    side = config.input_size[-1]
    if train:
        pipeline = presets.classification_train(side, config.mean, config.std, interpolation=interpolation)
    else:
        pipeline = presets.classification_eval(
            side, config.resize_size, config.mean, config.std, interpolation=interpolation
        )
    if config.input_size[0] == 1:
        # A one-channel model (MNISTCNN, in_chans=1): colour images become greyscale first.
        pipeline = v2.Compose([pipeline.transforms[0], presets.Grayscale(), *pipeline.transforms[1:]])
    return pipeline
