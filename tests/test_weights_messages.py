"""Weights files that cannot be loaded say why: code refused, not a checkpoint, or a non-tensor value."""

from __future__ import annotations

import os
import pickle
import random
from pathlib import Path
from typing import Any

import pytest
import torch

from visiondata.exceptions import WeightsLoadError
from visiondata.models import read_state_dict

# os.system pickles under its real module: posix on Linux and macOS, nt on Windows.
SYSTEM = f"{os.system.__module__}.system"

# torch warns about any pickle protocol above 2 before it refuses the file; the refusal is what is tested.
pytestmark = pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")


class RunsAShellCommand:
    """Unpickling this would call ``os.system``; the tests only ever load it with weights_only=True."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch '{self.marker}'",))


def refused(path: Path) -> str:
    with pytest.raises(WeightsLoadError) as caught:
        read_state_dict(path)
    return str(caught.value)


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_raw_pickle_exploit_is_refused_as_code(tmp_path: Path, protocol: int) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "model.pth"
    path.write_bytes(pickle.dumps(RunsAShellCommand(marker), protocol=protocol))
    message = refused(path)
    assert message.startswith(f"{path}: refused: loading it would run code (it imports {SYSTEM})")
    assert "not a PyTorch checkpoint" not in message
    assert "state_dict()" in message and ".safetensors" in message
    assert not marker.exists()


@pytest.mark.parametrize("protocol", [2, 4])
def test_torch_save_archive_with_code_is_refused_and_names_it(tmp_path: Path, protocol: int) -> None:
    # Protocol 4 makes torch's unpickler stop at the framing before it reaches the global.
    marker = tmp_path / "ran"
    path = tmp_path / "checkpoint.pt"
    torch.save({"weight": torch.zeros(2), "hook": RunsAShellCommand(marker)}, path, pickle_protocol=protocol)
    assert refused(path).startswith(f"{path}: refused: loading it would run code (it imports {SYSTEM})")
    assert not marker.exists()


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(random.Random(0).randbytes(512), id="random-bytes"),
        pytest.param(b"epoch,loss\n1,0.5\n", id="text"),
        pytest.param(pickle.dumps([1, 2.5, "three"], protocol=4), id="plain-pickle-without-globals"),
    ],
)
def test_a_file_that_is_no_checkpoint_is_not_called_code(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "weights.pt"
    path.write_bytes(content)
    message = refused(path)
    assert message.startswith(f"{path}: not a PyTorch checkpoint (")
    assert "refused" not in message
    # torch's own advice (retry with weights_only=False) must not be passed on for garbage.
    assert "weights_only` set to `False`" not in message


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ({"weight": 3}, "got a dict whose 'weight' holds int, not a tensor;"),
        (
            {"weight": torch.zeros(2), "step": 3, "name": "run-1"},
            "got a dict whose 'step' holds int, not a tensor (and 1 more non-tensor values);",
        ),
        ({"state_dict": {"fc.bias": [0.0, 1.0]}}, "got a dict whose 'fc.bias' holds list, not a tensor;"),
    ],
    ids=["int", "mixed", "nested-list"],
)
def test_non_tensor_value_is_named_with_its_type(
    tmp_path: Path, state: dict[str, Any], expected: str
) -> None:
    path = tmp_path / "state.pt"
    torch.save(state, path)
    message = refused(path)
    assert message.startswith(f"{path}: expected a state_dict (names mapped to tensors), {expected}")
    assert "save model.state_dict()" in message
