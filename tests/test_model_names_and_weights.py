"""``visiondata models`` answers without importing torch or timm once it has seen the installed versions;
``models info`` and ``create_model(weights="DEFAULT")`` agree on timm's weights; offline, timm fails at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from visiondata.exceptions import WeightsUnavailableError
from visiondata.models import _names, _weights, create_model, get_model_entry, list_models
from visiondata.models._commands import model_info

HEAVY = ("torch", "torchvision", "timm")


def run_python(code: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "VISIONDATA_HOME": str(home)},
    )


# ---------------------------------------------------------------- 1. names without importing torch or timm
def test_models_list_and_info_import_neither_torch_nor_timm_once_the_names_are_remembered(
    tmp_path: Path,
) -> None:
    pytest.importorskip("timm")
    warm_up = run_python(
        "import visiondata.models\n"
        "assert 'timm:convnext_tiny' in visiondata.models.list_models()\n"
        "from visiondata._paths import default_root\n"
        "print('written by the library:', (default_root() / 'model-cache').exists())\n"
        "from visiondata.cli import main\n"
        "main(['models', 'list']); main(['models', 'info', 'resnet18'])",
        tmp_path,
    )
    assert warm_up.returncode == 0, warm_up.stderr
    assert "written by the library: False" in warm_up.stdout  # only the command line fills the cache
    code = (
        "import sys\n"
        "from visiondata.cli import main\n"
        "statuses = [main(['models', 'info', 'resnet18']), main(['models', 'info', 'resnt18']),\n"
        "            main(['models', 'list', '--pattern', 'timm:convnext_t*'])]\n"
        f"print(statuses, [name for name in {HEAVY!r} if name in sys.modules])\n"
    )
    result = run_python(code, tmp_path)
    assert result.stdout.splitlines()[-1] == "[0, 1, 0] []", result.stderr
    assert "parameters  11,689,512" in result.stdout and "timm:convnext_tiny" in result.stdout
    assert "unknown model 'resnt18'; did you mean 'resnet18'" in result.stderr


def test_resolving_a_torchvision_name_never_asks_timm_for_its_names(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(_names, "timm_models", lambda: calls.append("timm") or {})
    assert get_model_entry("resnet18").source == "torchvision"
    assert get_model_entry("mnist_cnn").source == "visiondata"
    assert list_models(task="detection") and list_models(source="visiondata") == ["mnist_cnn"]
    assert calls == []


def test_timm_is_enumerated_once_per_process_not_per_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("timm")
    calls: list[str] = []
    listed = _names._list_timm

    def counting() -> dict[str, str]:
        calls.append("timm")
        return listed()

    _names.forget()
    monkeypatch.setattr(_names, "_list_timm", counting)
    try:
        for _ in range(3):
            with pytest.raises(KeyError):
                get_model_entry("resnt18")
            assert get_model_entry("timm:convnext_tiny").source == "timm"
    finally:
        _names.forget()
    assert calls == ["timm"]


def test_remembered_values_are_computed_once_per_installed_version(tmp_path: Path) -> None:
    calls: list[int] = []

    def compute() -> dict[str, int]:
        calls.append(1)
        return {"answer": 42}

    assert _names.remembered("demo", ("torch",), compute) == {"answer": 42}
    assert _names.remembered("demo", ("torch",), compute) == {"answer": 42}
    assert len(calls) == 1
    cache = _names.cache_file("demo", ("torch",))
    assert cache.parent == Path(os.environ["VISIONDATA_HOME"]) / "model-cache" and cache.is_file()
    cache.write_text("{damaged")
    assert _names.remembered("demo", ("torch",), compute) == {"answer": 42} and len(calls) == 2


# ---------------------------------------------------------------- 2. one decision for info and create_model
@pytest.fixture
def hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Hugging Face cache, offline: nothing may be downloaded."""
    pytest.importorskip("timm")
    for variable in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return tmp_path / "hf" / "hub"


def cache_as_the_hub_does(hub: Path, repository: str, filename: str, state: dict[str, torch.Tensor]) -> Path:
    """Write ``state`` where ``hf_hub_download(repository, filename)`` would have put it."""
    from safetensors.torch import save_file

    folder = hub / f"models--{repository.replace('/', '--')}"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text("0123abcd")
    path = folder / "snapshots" / "0123abcd" / filename
    path.parent.mkdir(parents=True)
    save_file({key: value.contiguous() for key, value in state.items()}, str(path))
    return path


def test_models_info_shows_the_timm_weights_create_model_loads(hub_cache: Path) -> None:
    info = model_info("timm:resnet18")
    (weights,) = info["weights"]
    assert weights["name"] == "resnet18.a1_in1k" and weights["default"] is True
    assert weights["repository"] == "timm/resnet18.a1_in1k" and weights["cached"] is False
    assert weights["path"] == str(hub_cache / "models--timm--resnet18.a1_in1k")
    assert _weights.default_weights(get_model_entry("timm:resnet18")).repository == weights["repository"]

    torch.manual_seed(3)
    state = create_model("timm:resnet18").state_dict()
    path = cache_as_the_hub_does(hub_cache, "timm/resnet18.a1_in1k", "model.safetensors", state)
    cached = model_info("timm:resnet18")["weights"][0]
    assert cached["cached"] is True and cached["path"] == str(path)
    torch.manual_seed(4)
    loaded = create_model("timm:resnet18", weights="DEFAULT")  # offline: read from the cache, by path
    assert torch.equal(loaded.conv1.weight, state["conv1.weight"])


def test_a_timm_model_without_released_weights_says_so_in_info_and_create_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("timm")
    monkeypatch.setattr(_weights, "released_weights", lambda entry: [])
    assert model_info("timm:resnet18")["weights"] == []
    with pytest.raises(
        WeightsUnavailableError, match=r"timm:resnet18: expected weights=None or a local file"
    ):
        create_model("timm:resnet18", weights="DEFAULT")


# ---------------------------------------------------------------- 3. offline: fail fast, say where and how
@pytest.mark.parametrize("variable", ["HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"])
def test_timm_weights_offline_and_not_cached_fail_before_any_download(
    variable: str, hub_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub
    import timm
    import timm.models._hub

    def no_network(*arguments: object, **keywords: object) -> None:
        pytest.fail("a download (or a build that would download) was attempted while offline")

    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv(variable, "1")
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", no_network)
    monkeypatch.setattr(timm.models._hub, "hf_hub_download", no_network)
    monkeypatch.setattr(timm, "create_model", no_network)
    with pytest.raises(WeightsUnavailableError) as caught:
        create_model("timm:convnext_tiny", weights="DEFAULT")
    message = str(caught.value)
    assert message.startswith(
        "timm:convnext_tiny: expected the pretrained weights in the Hugging Face cache at "
    )
    assert str(hub_cache / "models--timm--convnext_tiny.in12k_ft_in1k") in message
    assert f"{variable}=1 is set" in message
    assert "hf_hub_download('timm/convnext_tiny.in12k_ft_in1k', 'model.safetensors')" in message
    assert "weights=None or a local file" in message


def test_models_info_json_of_a_timm_model_names_its_weights(
    hub_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from visiondata.cli import main

    assert main(["models", "info", "timm:convnext_tiny", "--json"]) == 0
    (weights,) = json.loads(capsys.readouterr().out)["weights"]
    assert weights["repository"] == "timm/convnext_tiny.in12k_ft_in1k" and weights["default"] is True
