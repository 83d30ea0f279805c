"""Loading weights: torchvision's released weights, or local files, never code.

Local files are read with ``torch.load(..., weights_only=True)`` (or
safetensors): a checkpoint that would run code when unpickled is refused, and
the code does not run. Tensors whose shape no longer fits (a new head) are
skipped and reported, as are missing and unexpected keys.

Released weights (torchvision's, timm's) are described by
``released_weights``: ``create_model(weights="DEFAULT")`` and ``visiondata
models info`` both ask it, so they never disagree. Importing this module
costs no torch import: ``models info`` asks where weights are cached
without it.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import pickletools
import re
import sys
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from visiondata.exceptions import MissingDependencyError, WeightsLoadError, WeightsUnavailableError

if TYPE_CHECKING:
    import torch
    from torch import nn

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
    import torch

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
    import torch

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


def torch_hub_dir() -> Path:
    """torch's hub folder (``torch.hub.get_dir()``), found without importing torch when it is not loaded yet.

    Mirrors torch's rule: ``$TORCH_HOME/hub``, where ``$TORCH_HOME``
    defaults to ``$XDG_CACHE_HOME/torch``, else ``~/.cache/torch``. Once
    torch is imported it is asked instead, so ``torch.hub.set_dir`` counts.
    """
    if "torch" in sys.modules:
        import torch.hub

        return Path(torch.hub.get_dir())
    cache = os.getenv("XDG_CACHE_HOME", "~/.cache")
    return Path(os.path.expanduser(os.getenv("TORCH_HOME", os.path.join(cache, "torch")))) / "hub"


def checkpoint_path(url: str) -> Path:
    """Where torch's hub keeps (and looks for) the file downloaded from ``url``."""
    return torch_hub_dir() / "checkpoints" / os.path.basename(url)


def unavailable(model_name: str, url: str, error: BaseException) -> WeightsUnavailableError:
    """The error for weights that are neither cached nor downloadable."""
    return WeightsUnavailableError(
        f"{model_name}: the weights could not be downloaded ({type(error).__name__}: {error}) and are not "
        f"cached. Download {url} on a machine with network access and place it at {checkpoint_path(url)} "
        "(set $TORCH_HOME to move that folder), or pass weights=None or a local file"
    )


# ---------------------------------------------------------------- released weights
#: Environment variables that, set to 1 (or ON, YES, TRUE), forbid downloads from the Hugging Face hub.
OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
# timm's files on the hub, in the order timm tries them when a configuration names none.
_HUB_FILENAMES = ("model.safetensors", "pytorch_model.bin")


@dataclass(frozen=True)
class ReleasedWeights:
    """Weights a model's publisher released, and where their download is kept.

    Attributes:
        name: Their name (``"ResNet18_Weights.IMAGENET1K_V1"``, ``"convnext_tiny.in12k_ft_in1k"``).
        url: Where they are downloaded from.
        default: Whether ``create_model(..., weights="DEFAULT")`` loads these.
        repository: The Hugging Face repository holding them (timm), or
            ``None`` for a file at ``url`` kept in torch's hub folder.
        filenames: The files of ``repository`` that may hold them, in the order tried.
    """

    name: str
    url: str
    default: bool = False
    repository: str | None = None
    filenames: tuple[str, ...] = ()

    def cache_path(self) -> Path:
        """The file (torch's hub) or repository folder (Hugging Face cache) a download goes to."""
        if self.repository is None:
            return checkpoint_path(self.url)
        return hf_hub_cache() / f"models--{self.repository.replace('/', '--')}"

    def cached_file(self) -> Path | None:
        """The downloaded file when it is cached, else ``None``; never uses the network."""
        if self.repository is None:
            path = checkpoint_path(self.url)
            return path if path.is_file() else None
        if not self.cache_path().is_dir():  # the usual case, without importing huggingface_hub
            return None
        from huggingface_hub import try_to_load_from_cache

        for filename in self.filenames:
            found = try_to_load_from_cache(self.repository, filename, cache_dir=hf_hub_cache())
            if isinstance(found, str) and os.path.isfile(found):
                return Path(found)
        return None

    def unavailable(self, model_name: str, cause: BaseException | str) -> WeightsUnavailableError:
        """The error for these weights when they are not cached and cannot be downloaded.

        Args:
            model_name: The model, as the user named it (``"timm:convnext_tiny"``).
            cause: The download's error, or why no download was tried.
        """
        if self.repository is None:  # a plain URL, fetched by torch's downloader
            return unavailable(
                model_name, self.url, cause if isinstance(cause, BaseException) else OSError(cause)
            )
        filename = self.filenames[0]
        fetch = (
            f'Fetch them on a machine with network access (python -c "import huggingface_hub; '
            f"huggingface_hub.hf_hub_download('{self.repository}', '{filename}')\") and copy the "
            f"{self.cache_path().name} folder of that machine's hub cache into {hf_hub_cache()} (set $HF_HOME or "
            "$HF_HUB_CACHE to use another cache)"
        )
        if isinstance(cause, BaseException):
            first_line = str(cause).splitlines()[0] if str(cause) else ""
            return WeightsUnavailableError(
                f"{model_name}: the pretrained weights could not be downloaded ({type(cause).__name__}: "
                f"{first_line}) and are not cached at {self.cache_path()}; they are {filename} of the Hugging "
                f"Face repository {self.repository}. {fetch}, or pass weights=None or a local file (the "
                f"downloaded {filename} is one). Without network access, HF_HUB_OFFLINE=1 makes this fail at "
                "once instead of after retries"
            )
        return WeightsUnavailableError(
            f"{model_name}: expected the pretrained weights in the Hugging Face cache at {self.cache_path()}, "
            f"found none there, and {cause}, so they are not downloaded; they are {filename} of the "
            f"repository {self.repository}. {fetch}; or unset that variable to download them; or pass "
            f"weights=None or a local file (the downloaded {filename} is one)"
        )


def hf_hub_cache() -> Path:
    """The Hugging Face hub cache, read from the environment at each call.

    Mirrors huggingface_hub's rule (which it applies once, at import):
    ``$HF_HUB_CACHE``, else ``$HUGGINGFACE_HUB_CACHE``, else ``$HF_HOME/hub``,
    where ``$HF_HOME`` defaults to ``$XDG_CACHE_HOME/huggingface``, else
    ``~/.cache/huggingface``.
    """
    cache = os.getenv("XDG_CACHE_HOME", os.path.join(os.path.expanduser("~"), ".cache"))
    home = os.path.expandvars(os.path.expanduser(os.getenv("HF_HOME", os.path.join(cache, "huggingface"))))
    legacy = os.getenv("HUGGINGFACE_HUB_CACHE", os.path.join(home, "hub"))
    return Path(os.path.expandvars(os.path.expanduser(os.getenv("HF_HUB_CACHE", legacy))))


def offline_variable() -> str | None:
    """The environment variable that forbids downloads from the Hugging Face hub, if one does.

    Examples:
        >>> import os
        >>> os.environ["HF_HUB_OFFLINE"] = "1"
        >>> offline_variable()
        'HF_HUB_OFFLINE=1'
        >>> del os.environ["HF_HUB_OFFLINE"]
    """
    for variable in OFFLINE_VARIABLES:
        value = os.environ.get(variable, "")
        if value.upper() in ("1", "ON", "YES", "TRUE"):
            return f"{variable}={value}"
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None and getattr(constants, "HF_HUB_OFFLINE", False):
        return "HF_HUB_OFFLINE"  # set before huggingface_hub was imported, removed since: it still holds
    return None


def released_weights(entry: Any) -> list[ReleasedWeights]:
    """The weights released for a zoo entry ([`ModelEntry`][visiondata.models.ModelEntry]), in their publisher's order.

    The one that ``weights="DEFAULT"`` loads has ``default`` set; a model
    with none of them has no released weights. ``create_model`` and
    ``visiondata models info`` both decide from this list.

    Examples:
        >>> from visiondata.models import get_model_entry
        >>> [(w.name, w.default) for w in released_weights(get_model_entry("resnet50"))]
        [('ResNet50_Weights.IMAGENET1K_V1', False), ('ResNet50_Weights.IMAGENET1K_V2', True)]
    """
    if entry.source == "torchvision":
        import torchvision

        try:
            enum = torchvision.models.get_model_weights(entry.name)
        except ValueError:
            return []
        default = getattr(enum, "DEFAULT", None)
        return [
            ReleasedWeights(f"{type(member).__name__}.{member.name}", member.url, member is default)
            for member in enum
        ]
    if entry.source == "timm":
        from timm.models import get_pretrained_cfg

        config = get_pretrained_cfg(entry.name)
        if config is None:
            return []
        name = f"{config.architecture}.{config.tag}" if config.tag else entry.name
        # timm's own order: the hub when the configuration names a repository, else the URL.
        if config.hf_hub_id:
            repository = config.hf_hub_id
            filenames = (config.hf_hub_filename,) if config.hf_hub_filename else _HUB_FILENAMES
            return [
                ReleasedWeights(name, f"https://huggingface.co/{repository}", True, repository, filenames)
            ]
        if config.url:
            return [ReleasedWeights(name, config.url, True)]
        return []
    return []


def default_weights(entry: Any) -> ReleasedWeights:
    """The released weights ``weights="DEFAULT"`` loads for ``entry``.

    Raises:
        WeightsUnavailableError: The model has no released weights.
    """
    for weights in released_weights(entry):
        if weights.default:
            return weights
    raise WeightsUnavailableError(
        f"{entry.qualified_name}: expected weights=None or a local file (no pretrained weights are released "
        "for this model), got 'DEFAULT'"
    )


def timm_pretrained_arguments(entry: Any, weights: ReleasedWeights) -> dict[str, Any]:
    """What ``timm.create_model`` needs to load ``weights``: the cached file when there is one.

    A cached file is handed to timm by path, so no request reaches the hub,
    online or not.

    Raises:
        WeightsUnavailableError: Not cached while an offline variable is set
            (checked here, before timm's downloader would retry for a while).
    """
    from timm.models import get_pretrained_cfg

    cached = weights.cached_file()
    # A configuration with custom_load reads its file with the model's own loader, by timm's path only.
    if cached is not None and not get_pretrained_cfg(entry.name).custom_load:
        return {"pretrained": True, "pretrained_cfg_overlay": {"file": str(cached)}}
    if weights.repository is None:
        return {"pretrained": True}  # a URL: torch's downloader, which fails at once without network
    variable = offline_variable()
    if cached is None and variable is not None:
        raise weights.unavailable(entry.qualified_name, f"{variable} is set")
    import inspect

    import timm

    if "cache_dir" in inspect.signature(timm.create_model).parameters:  # older timm 1.0 releases lack it
        # Download where cached_file() looks, even if $HF_HOME changed after huggingface_hub read it.
        return {"pretrained": True, "cache_dir": str(hf_hub_cache())}
    return {"pretrained": True}
