"""Models: the zoo (torchvision, timm, our own) with head swap, safe weights and fine-tuning helpers.

Examples:
    >>> from visiondata.models import conv_output_size
    >>> conv_output_size(28, kernel_size=5, stride=2)
    12
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from visiondata._lazy import lazy_module_attributes
from visiondata.models._shapes import conv_output_size

if TYPE_CHECKING:
    from visiondata.models._config import DataConfig, model_data_config, model_transforms
    from visiondata.models._freeze import (
        GradualUnfreezing,
        TrainableSummary,
        backbone_blocks,
        count_parameters,
        freeze,
        freeze_backbone,
        freeze_batchnorm,
        head_modules,
        param_groups,
        set_batchnorm_policy,
        trainable_summary,
        unfreeze,
        unfreeze_last,
    )
    from visiondata.models._heads import (
        get_head,
        replace_detection_head,
        replace_head,
        replace_segmentation_head,
    )
    from visiondata.models._mnist_cnn import MNISTCNN
    from visiondata.models._stem import adapt_input_channels
    from visiondata.models._weights import LoadReport, load_weights, read_state_dict
    from visiondata.models._yolo import YOLOLoss, YOLOv3Tiny, fit_anchors
    from visiondata.models._zoo import ModelEntry, create_model, get_model_entry, list_models, register_model

__all__ = [
    "MNISTCNN",
    "DataConfig",
    "GradualUnfreezing",
    "LoadReport",
    "ModelEntry",
    "TrainableSummary",
    "YOLOLoss",
    "YOLOv3Tiny",
    "adapt_input_channels",
    "backbone_blocks",
    "conv_output_size",
    "count_parameters",
    "create_model",
    "fit_anchors",
    "freeze",
    "freeze_backbone",
    "freeze_batchnorm",
    "get_head",
    "get_model_entry",
    "head_modules",
    "list_models",
    "load_weights",
    "model_data_config",
    "model_transforms",
    "param_groups",
    "read_state_dict",
    "register_model",
    "replace_detection_head",
    "replace_head",
    "replace_segmentation_head",
    "set_batchnorm_policy",
    "trainable_summary",
    "unfreeze",
    "unfreeze_last",
]

# Loaded on first access so that importing this package does not import torch.
_LAZY = {
    "MNISTCNN": "visiondata.models._mnist_cnn",
    **dict.fromkeys(("YOLOLoss", "YOLOv3Tiny", "fit_anchors"), "visiondata.models._yolo"),
    **dict.fromkeys(("DataConfig", "model_data_config", "model_transforms"), "visiondata.models._config"),
    **dict.fromkeys(
        (
            "GradualUnfreezing",
            "TrainableSummary",
            "backbone_blocks",
            "count_parameters",
            "freeze",
            "freeze_backbone",
            "freeze_batchnorm",
            "head_modules",
            "param_groups",
            "set_batchnorm_policy",
            "trainable_summary",
            "unfreeze",
            "unfreeze_last",
        ),
        "visiondata.models._freeze",
    ),
    **dict.fromkeys(
        ("get_head", "replace_detection_head", "replace_head", "replace_segmentation_head"),
        "visiondata.models._heads",
    ),
    "adapt_input_channels": "visiondata.models._stem",
    **dict.fromkeys(("LoadReport", "load_weights", "read_state_dict"), "visiondata.models._weights"),
    **dict.fromkeys(
        ("ModelEntry", "create_model", "get_model_entry", "list_models", "register_model"),
        "visiondata.models._zoo",
    ),
}

__getattr__, __dir__ = lazy_module_attributes(globals(), _LAZY)
