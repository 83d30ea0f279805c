"""timm models through the same zoo API (timm is an optional extra; the dev install has it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytest.importorskip("timm", reason="timm is optional: the timm extra, pip install '.[timm]'")

from visiondata.models import (
    count_parameters,
    create_model,
    freeze_backbone,
    get_head,
    get_model_entry,
    list_models,
    model_data_config,
)


def test_timm_names_are_listed_with_their_prefix() -> None:
    names = list_models(source="timm")
    assert len(names) > 1000
    assert all(name.startswith("timm:") for name in names)
    assert "timm:resnet18" in names and "timm:convnext_tiny" in list_models("*convnext_tiny", source="timm")
    assert list_models("resnet18d") == []  # the pattern applies to the listed, prefixed name...
    assert list_models("timm:resnet18d") == ["timm:resnet18d"]
    assert list_models("resnet18d", source="timm") == [
        "timm:resnet18d"
    ]  # ...or, with a source, the plain one
    assert get_model_entry("resnet18").source == "torchvision"  # unprefixed: torchvision first
    assert get_model_entry("resnet18d").source == "timm"  # ...then timm, for names only timm has


def test_timm_model_with_new_head_and_one_channel() -> None:
    torch.manual_seed(0)
    model = create_model("timm:resnet18", num_classes=3, in_chans=1).eval()
    assert model(torch.zeros(2, 1, 64, 64)).shape == (2, 3)
    assert get_head(model)[0] == "fc"
    assert model.visiondata_name == "timm:resnet18"
    freeze_backbone(model)
    assert count_parameters(model, trainable_only=True) == 512 * 3 + 3


def test_timm_model_loads_local_weights_including_safetensors(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    torch.manual_seed(0)
    saved = create_model("timm:resnet18").state_dict()
    torch.save(saved, tmp_path / "timm-resnet18.pth")
    save_file(
        {key: value.contiguous() for key, value in saved.items()}, str(tmp_path / "timm-resnet18.safetensors")
    )
    for file in ("timm-resnet18.pth", "timm-resnet18.safetensors"):
        with pytest.warns(UserWarning, match="fc.weight: \\(1000, 512\\) -> \\(4, 512\\)"):
            model = create_model("timm:resnet18", num_classes=4, weights=tmp_path / file)
        state = model.state_dict()
        for key, value in saved.items():
            if not key.startswith("fc."):
                assert torch.equal(state[key], value), key
        assert state["fc.weight"].shape == (4, 512)


def test_timm_data_config() -> None:
    config = model_data_config("timm:convnext_tiny")
    assert config.input_size == (3, 224, 224)
    assert config.interpolation == "bicubic" and config.crop_fraction == pytest.approx(0.95)


def test_timm_pretrained_offline_names_the_repository_and_cache(tmp_path: Path) -> None:
    code = (
        "import json\n"
        "from visiondata.models import create_model\n"
        "try:\n"
        "    create_model('timm:resnet18', weights='DEFAULT')\n"
        "except Exception as error:\n"
        "    print(json.dumps([type(error).__name__, str(error)]))\n"
    )
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=environment
    )
    assert result.returncode == 0, result.stderr
    kind, message = json.loads(result.stdout)
    assert kind == "WeightsUnavailableError"
    assert "timm/resnet18.a1_in1k" in message
    assert str(tmp_path / "hf" / "hub") in message
