"""Loading weights: torchvision's released weights, or local files, never code.

Local files are read with ``torch.load(..., weights_only=True)`` (or
safetensors): a checkpoint that would run code when unpickled is refused, and
the code does not run. Tensors whose shape no longer fits (a new head) are
skipped and reported, as are missing and unexpected keys.
"""

from __future__ import annotations

import os
import pickle
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from visiondata.exceptions import MissingDependencyError, WeightsLoadError, WeightsUnavailableError

LOCAL_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".safetensors")


@dataclass
class LoadReport:
    """What loading a state dict into a model did.

    Attributes:
        loaded: Keys whose tensors were copied.
        skipped: Keys present in both but with other shapes (``key: file shape -> model shape``).
        missing: Model keys the file does not have (they keep their initial values).
        unexpected: File keys the model does not have (ignored).
    """

    source: str
    loaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line: counts, and the keys when there are few."""
        parts = [f"{len(self.loaded)} tensors loaded from {self.source}"]
        for label, keys in (("skipped (shape changed)", self.skipped), ("missing", self.missing),
                            ("unexpected", self.unexpected)):  # fmt: skip
            if keys:
                shown = ", ".join(keys[:6]) + (f" and {len(keys) - 6} more" if len(keys) > 6 else "")
                parts.append(f"{len(keys)} {label}: {shown}")
        return "; ".join(parts)


def is_local_file(weights: object) -> bool:
    """Whether ``weights`` names a file (by suffix, or because it exists) rather than released weights."""
    if isinstance(weights, os.PathLike):
        return True
    return isinstance(weights, str) and (
        weights.endswith(LOCAL_SUFFIXES) or os.sep in weights or Path(weights).is_file()
    )


def read_state_dict(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """The tensors of a checkpoint file, without unpickling any code.

    Accepts a plain ``state_dict``, a checkpoint dict holding one under
    ``"state_dict"``, ``"model"`` or ``"model_state_dict"``, and ``.safetensors``
    files. A ``"module."`` prefix (from ``DataParallel``) is removed.

    Raises:
        WeightsLoadError: The file is missing, is not a checkpoint, or holds
            Python objects other than tensors (refused: unpickling them could
            run code); the message names the file and the fix.
        MissingDependencyError: A ``.safetensors`` file without the ``safetensors`` package.

    Examples:
        >>> import tempfile, torch
        >>> path = tempfile.mkdtemp() + "/linear.pt"
        >>> torch.save(torch.nn.Linear(2, 3).state_dict(), path)
        >>> sorted(read_state_dict(path))
        ['bias', 'weight']
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsLoadError(
            f"{path}: expected a weights file, found {'a folder' if path.exists() else 'nothing'}"
        )
    if path.suffix == ".safetensors":
        try:
            from safetensors.torch import load_file
        except ImportError:
            raise MissingDependencyError(
                f"{path}: reading .safetensors files needs the safetensors package; pip install safetensors"
            ) from None
        try:
            state = load_file(str(path), device="cpu")
        except Exception as error:  # safetensors raises its own SafetensorError
            raise WeightsLoadError(f"{path}: not a valid safetensors file: {error}") from error
    else:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except (
            Exception
        ) as error:  # on garbage the unpickler raises anything, KeyError and IndexError included
            if isinstance(error, pickle.UnpicklingError) and "global" in str(error).lower():
                raise WeightsLoadError(
                    f"{path}: refused: the file holds Python objects other than tensors, and unpickling them "
                    "could run code (torch.load with weights_only=True); save the model's state_dict() "
                    f"instead, or convert the file to .safetensors. Details: {_first_line(error)}"
                ) from error
            raise WeightsLoadError(
                f"{path}: not a PyTorch checkpoint ({type(error).__name__}: {_first_line(error)}); expected "
                "a file written by torch.save(model.state_dict(), path)"
            ) from error
    for key in ("state_dict", "model_state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
            break
    if not isinstance(state, dict) or not all(isinstance(value, torch.Tensor) for value in state.values()):
        raise WeightsLoadError(
            f"{path}: expected a state_dict (names mapped to tensors), got {type(state).__name__}"
        )
    if state and all(key.startswith("module.") for key in state):
        state = {key[len("module.") :]: value for key, value in state.items()}
    return state


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else repr(error)


def load_weights(model: nn.Module, path: str | os.PathLike[str], strict: bool = False) -> LoadReport:
    """Copy the tensors of a local file into ``model``, skipping those whose shape changed.

    Args:
        model: The model to fill.
        path: A ``.pt``/``.pth``/``.safetensors`` file.
        strict: Raise instead of reporting missing, unexpected or reshaped keys.

    Returns:
        What was loaded, skipped, missing and unexpected; also announced with a
        warning when anything was not loaded.

    Raises:
        WeightsLoadError: The file cannot be read safely, or ``strict`` and the keys differ.

    Examples:
        >>> import tempfile, torch
        >>> path = tempfile.mkdtemp() + "/small.pt"
        >>> torch.save(torch.nn.Linear(2, 3).state_dict(), path)
        >>> load_weights(torch.nn.Linear(2, 3), path).summary().split(" from ")[0]
        '2 tensors loaded'
    """
    state = read_state_dict(path)
    own = model.state_dict()
    report = LoadReport(str(path))
    usable = {}
    for key, expected in own.items():  # the model's order, whatever order the file keeps
        if key not in state:
            report.missing.append(key)
        elif state[key].shape != expected.shape:
            report.skipped.append(f"{key}: {tuple(state[key].shape)} -> {tuple(expected.shape)}")
        else:
            usable[key] = state[key]
            report.loaded.append(key)
    report.unexpected = [key for key in state if key not in own]
    if strict and (report.skipped or report.missing or report.unexpected):
        raise WeightsLoadError(f"{path}: strict loading failed: {report.summary()}")
    model.load_state_dict(usable, strict=False)
    if report.skipped or report.missing or report.unexpected:
        warnings.warn(f"weights: {report.summary()}", stacklevel=3)
    return report


def torchvision_weights(model_name: str, weights: str) -> Any:
    """The torchvision weights enum member for ``model_name`` named by ``weights``.

    ``weights`` is ``"DEFAULT"``, a member name (``"IMAGENET1K_V1"``) or a full
    name (``"ResNet18_Weights.IMAGENET1K_V1"``).

    Raises:
        WeightsUnavailableError: No such weights; the message lists the model's weights.
    """
    import torchvision

    enum = torchvision.models.get_model_weights(model_name)
    member = weights.split(".", 1)[1] if weights.startswith(enum.__name__ + ".") else weights
    try:
        return enum[member]
    except KeyError:
        available = ", ".join(["DEFAULT", *(item.name for item in enum)])
        raise WeightsUnavailableError(
            f"{model_name}: unknown weights {weights!r}; expected one of {available}, a local file, or None"
        ) from None


def checkpoint_path(url: str) -> Path:
    """Where torch's hub keeps (and looks for) the file downloaded from ``url``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)


def unavailable(model_name: str, url: str, error: BaseException) -> WeightsUnavailableError:
    """The error for weights that are neither cached nor downloadable."""
    return WeightsUnavailableError(
        f"{model_name}: the weights could not be downloaded ({type(error).__name__}: {error}) and are not "
        f"cached. Download {url} on a machine with network access and place it at {checkpoint_path(url)} "
        "(set $TORCH_HOME to move that folder), or pass weights=None or a local file"
    )
