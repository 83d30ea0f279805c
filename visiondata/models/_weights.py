"""Loading weights: torchvision's released weights, or local files, never code.

Local files are read with ``torch.load(..., weights_only=True)`` (or
safetensors): a checkpoint that would run code when unpickled is refused, and
the code does not run. Tensors whose shape no longer fits (a new head) are
skipped and reported, as are missing and unexpected keys.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import pickletools
import re
import warnings
import zipfile
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
        WeightsLoadError: The file is missing; is not a checkpoint; would
            import a Python global that is not a tensor type when unpickled
            (refused: it could run code; the message names the global); or
            maps a name to something other than a tensor (the message names
            the key and its type). The message names the file and the fix.
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
        # On garbage the unpickler raises anything, KeyError and IndexError included.
        except Exception as error:
            imported = _unsafe_global(path, error)
            if imported is not None:
                raise WeightsLoadError(
                    f"{path}: refused: loading it would run code (it imports {imported}); torch.load with "
                    "weights_only=True reads only tensors and plain containers, because unpickling other "
                    "Python objects could run code. Save the model's state_dict() instead, or convert the "
                    "file to .safetensors"
                ) from error
            raise WeightsLoadError(
                f"{path}: not a PyTorch checkpoint ({type(error).__name__}: {_first_line(error)}); expected "
                "a file written by torch.save(model.state_dict(), path)"
            ) from error
    for key in ("state_dict", "model_state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
            break
    if not isinstance(state, dict):
        raise WeightsLoadError(
            f"{path}: expected a state_dict (names mapped to tensors), got {type(state).__name__}"
        )
    others = [key for key, value in state.items() if not isinstance(value, torch.Tensor)]
    if others:
        more = f" (and {len(others) - 1} more non-tensor values)" if len(others) > 1 else ""
        raise WeightsLoadError(
            f"{path}: expected a state_dict (names mapped to tensors), got a dict whose {others[0]!r} holds "
            f"{type(state[others[0]]).__name__}, not a tensor{more}; save model.state_dict(), or a checkpoint "
            "dict holding it under 'state_dict', 'model_state_dict' or 'model'"
        )
    if state and all(key.startswith("module.") for key in state):
        state = {key[len("module.") :]: value for key, value in state.items()}
    return state


# Opcodes that push a string: STACK_GLOBAL takes its module and name from the two last.
_STRING_OPCODES = frozenset(
    {"STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8"}
)


def _unsafe_global(path: Path, error: BaseException) -> str | None:
    """The global a file that ``torch.load(weights_only=True)`` failed on would import, if not a safe one.

    torch's message names it when its unpickler got that far. It does not when
    it stopped earlier (a plain ``pickle.dumps`` uses protocol 4 or 5, whose
    framing it refuses first), so the file's opcodes are read then.
    """
    named = re.search(r"GLOBAL ([\w.]+)", str(error)) if isinstance(error, pickle.UnpicklingError) else None
    if named:
        return named.group(1)
    allowed = _allowed_globals()
    unsafe = [name for name in _pickled_globals(path) if name not in allowed]
    return unsafe[0] if unsafe else None


def _pickled_globals(path: Path) -> list[str]:
    """The globals a pickle (or the ``data.pkl`` of a ``torch.save`` archive) imports, in order.

    Only the opcodes are decoded (``pickletools.genops``); nothing is
    unpickled. A file that is not a complete pickle gives ``[]``.
    """
    found: list[str] = []
    strings: list[str] = []
    memo: dict[int, str] = {}
    memoized = 0
    previous = ""
    try:
        with contextlib.ExitStack() as stack:
            if zipfile.is_zipfile(path):
                archive = stack.enter_context(zipfile.ZipFile(path))
                members = [member for member in archive.namelist() if member.endswith("data.pkl")]
                if not members:
                    return []
                stream = stack.enter_context(archive.open(members[0]))
            else:
                stream = stack.enter_context(path.open("rb"))
            for opcode, argument, _ in pickletools.genops(stream):
                name = opcode.name
                if name in ("GLOBAL", "INST"):
                    found.append(str(argument).replace(" ", "."))
                elif name == "STACK_GLOBAL":
                    found.append(
                        ".".join(strings[-2:]) if len(strings) >= 2 else "a global it names at run time"
                    )
                elif name in _STRING_OPCODES:
                    strings.append(str(argument))
                elif name in ("MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT"):
                    index = memoized if name == "MEMOIZE" else int(argument)
                    memoized += name == "MEMOIZE"
                    if previous in _STRING_OPCODES:
                        memo[index] = strings[-1]
                elif name in ("GET", "BINGET", "LONG_BINGET") and int(argument) in memo:
                    strings.append(memo[int(argument)])
                previous = name
    except Exception:  # genops raises ValueError, but on arbitrary bytes anything is possible
        return []
    return found


def _allowed_globals() -> set[str]:
    """Globals ``torch.load(weights_only=True)`` accepts: torch's own allowlist and the user's additions."""
    names: set[str] = set()
    try:  # a private helper of torch; without it every global counts as unsafe
        from torch._weights_only_unpickler import _get_allowed_globals

        names.update(_get_allowed_globals())
    except Exception:
        pass
    for item in torch.serialization.get_safe_globals():
        target = item[0] if isinstance(item, tuple) else item
        names.add(f"{getattr(target, '__module__', '')}.{getattr(target, '__qualname__', '')}")
    return names


# Lines of torch's weights_only report that are advice, not the cause; the advice
# (retry with weights_only=False) is wrong for a file that is no checkpoint at all.
_TORCH_ADVICE = ("Weights only load failed", "Please file an issue", "Check the documentation", "(1)", "(2)")


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    causes = [line for line in lines if not line.startswith(_TORCH_ADVICE)]
    return (causes or lines or [repr(error)])[0]


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
