"""``freeze_backbone`` warns before freezing a backbone that ``create_model`` left random.

``create_model`` tags each model with ``visiondata_pretrained``; only a model
tagged ``False`` is warned about, so models built elsewhere stay silent.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
import torch
import torchvision

from visiondata.models import create_model, freeze_backbone


def freeze_silently(model: torchvision.models.ResNet) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        freeze_backbone(model)
    # Silent, and still frozen: a freeze_backbone that did nothing would also be silent.
    backbone = [parameter for name, parameter in model.named_parameters() if not name.startswith("fc.")]
    assert not any(parameter.requires_grad for parameter in backbone)
    assert model.fc.weight.requires_grad and model.fc.bias.requires_grad


def test_freezing_a_random_create_model_backbone_warns_and_still_freezes() -> None:
    model = create_model("resnet18", num_classes=3)
    assert model.visiondata_pretrained is False
    with pytest.warns(
        UserWarning, match=r"expected a pretrained backbone, got torchvision:resnet18"
    ) as caught:
        freeze_backbone(model)
    assert "weights=" in str(caught[0].message) and caught[0].filename == __file__
    assert not model.conv1.weight.requires_grad and model.fc.weight.requires_grad


def test_local_weights_file_marks_the_model_pretrained_and_freezing_is_silent(tmp_path: Path) -> None:
    path = tmp_path / "resnet18.pth"
    torch.save(create_model("resnet18", num_classes=3).state_dict(), path)
    model = create_model("resnet18", num_classes=3, weights=path)
    assert model.visiondata_pretrained is True
    freeze_silently(model)


def test_model_without_the_tag_is_not_warned_about() -> None:
    freeze_silently(torchvision.models.resnet18(num_classes=3))  # nothing says whether it was trained


def test_setting_the_tag_after_loading_weights_yourself_silences_the_warning() -> None:
    model = create_model("resnet18", num_classes=3)
    model.load_state_dict(torchvision.models.resnet18(num_classes=3).state_dict())
    model.visiondata_pretrained = True
    freeze_silently(model)


def test_detection_backbone_default_weights_count_as_pretrained(monkeypatch: pytest.MonkeyPatch) -> None:
    # ssdlite's builder loads an ImageNet backbone unless weights_backbone=None: create_model must read
    # that default. The build itself is replaced (no download, no seconds spent building).
    calls: list[dict[str, Any]] = []

    def build(name: str, **kwargs: Any) -> torch.nn.Module:
        calls.append(kwargs)
        return torch.nn.Sequential()

    monkeypatch.setattr(torchvision.models, "get_model", build)
    assert create_model("ssdlite320_mobilenet_v3_large").visiondata_pretrained is True
    assert create_model("ssdlite320_mobilenet_v3_large", weights_backbone=None).visiondata_pretrained is False
    assert create_model("fasterrcnn_resnet50_fpn_v2").visiondata_pretrained is False  # its default is None
    assert calls[0] == {"weights": None}


def test_visiondata_own_models_are_random_without_a_file() -> None:
    assert create_model("mnist_cnn", num_classes=3).visiondata_pretrained is False
