"""Models by name: torchvision's, timm's (when installed) and visiondata's own.

``create_model`` builds one with a new head (``num_classes``), weights
(released, or a local file loaded safely) and another number of input
channels (``in_chans``). Names may carry their source as a prefix
(``torchvision:resnet18``, ``timm:convnext_tiny``); an unprefixed name
resolves to torchvision first, then visiondata, then timm.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from visiondata._arguments import check_choice, check_positive_int
from visiondata._registry import Registry, close_matches
from visiondata.exceptions import UnknownNameError
from visiondata.models import _names

SOURCES = ("torchvision", "visiondata", "timm")
MODEL_TASKS = ("classification", "detection", "segmentation")


@dataclass(frozen=True)
class DataConfig:
    """Input size, normalisation and resizing of a model's weights.

    Attributes:
        input_size: ``(channels, height, width)`` of the crop the model sees.
        mean: Per-channel mean to subtract (values in [0, 1]).
        std: Per-channel standard deviation.
        interpolation: Resampling filter name (``"bilinear"``, ``"bicubic"``).
        crop_fraction: Crop size over resize size at evaluation (224/256 = 0.875).
        source: Where the figures come from (the weights' name, or ``"defaults"``).
    """

    # Defined here, beside the entries that carry one, so that the zoo never imports _config
    # (which looks models up in the zoo).
    input_size: tuple[int, int, int]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    interpolation: str
    crop_fraction: float
    source: str

    @property
    def resize_size(self) -> int:
        """Shorter side before the centre crop at evaluation."""
        return round(self.input_size[-1] / self.crop_fraction)


@dataclass(frozen=True)
class ModelEntry:
    """A model the zoo can build.

    Attributes:
        name: Name without prefix (``"resnet18"``).
        source: ``"torchvision"``, ``"visiondata"`` or ``"timm"``.
        task: ``"classification"``, ``"detection"`` or ``"segmentation"``.
        builder: Called with keyword arguments (``weights``...) to build it.
        data_config: The input it expects (a [`DataConfig`][visiondata.models.DataConfig]), for models whose
            weights do not say.
    """

    name: str
    source: str
    task: str
    builder: Callable[..., Any]
    data_config: DataConfig | None = None

    @property
    def qualified_name(self) -> str:
        """``source:name``."""
        return f"{self.source}:{self.name}"


def _torchvision_builder(name: str) -> Callable[..., Any]:
    def build(**kwargs: Any) -> Any:
        import torchvision

        return torchvision.models.get_model(name, **kwargs)

    return build


def _timm_builder(name: str) -> Callable[..., Any]:
    def build(**kwargs: Any) -> Any:
        import timm

        return timm.create_model(name, **kwargs)

    return build


def _mnist_cnn(**kwargs: Any) -> Any:
    from visiondata.models._mnist_cnn import MNISTCNN

    return MNISTCNN(**kwargs)


# visiondata's models, ours and those added by register_model, keyed "visiondata:<name>". torchvision's
# and timm's are not held here: their names come from _names (remembered on disk per installed
# version), so that naming or resolving one imports neither package.
_MODELS: Registry[ModelEntry] = Registry("model")
_MODELS.register(
    "visiondata:mnist_cnn",
    ModelEntry(
        "mnist_cnn",
        "visiondata",
        "classification",
        _mnist_cnn,
        DataConfig((1, 28, 28), (0.1307,), (0.3081,), "bilinear", 1.0, "visiondata:mnist_cnn"),
    ),
)


def _models_of(source: str) -> dict[str, str]:
    """Name (without prefix) -> task of every model of ``source``."""
    if source == "torchvision":
        return _names.torchvision_models()
    if source == "timm":
        return _names.timm_models()
    return {key.split(":", 1)[1]: _MODELS.get(key).task for key in _MODELS.names()}


@functools.cache
def _third_party_entry(source: str, name: str, task: str) -> ModelEntry:
    builder = _torchvision_builder(name) if source == "torchvision" else _timm_builder(name)
    return ModelEntry(name, source, task, builder)


def _entry(source: str, name: str) -> ModelEntry | None:
    """The entry of ``name`` in ``source``, or ``None``; enumerates only that source."""
    if source == "visiondata":
        key = f"visiondata:{name}"
        return _MODELS.get(key) if key in _MODELS else None
    task = _models_of(source).get(name)
    return None if task is None else _third_party_entry(source, name, task)


def _display_name(entry: ModelEntry) -> str:
    # timm keeps its prefix, and so does a model of ours that a torchvision name shadows:
    # an unprefixed name resolves to torchvision first.
    shadowed = entry.source == "visiondata" and entry.name in _models_of("torchvision")
    return entry.qualified_name if entry.source == "timm" or shadowed else entry.name


def list_entries(
    pattern: str | None = None, source: str | None = None, task: str | None = None
) -> list[tuple[str, ModelEntry]]:
    """``(listed name, entry)`` of the models [`list_models`][visiondata.models.list_models] lists, sorted by name.

    Only the sources the filters leave are enumerated: ``source="visiondata"``
    or a detection ``task`` never asks timm for its names.
    """
    import fnmatch

    if source is not None:
        check_choice("source", source, SOURCES, expected=f"one of {', '.join(SOURCES)}")
    if task is not None:
        check_choice("task", task, MODEL_TASKS, expected=f"one of {', '.join(MODEL_TASKS)}")
    rows = []
    for candidate_source in SOURCES if source is None else (source,):
        if candidate_source == "timm" and task not in (None, "classification"):
            continue  # timm's models all classify
        for name, model_task in _models_of(candidate_source).items():
            if task is not None and model_task != task:
                continue
            if candidate_source == "visiondata":
                entry = _MODELS.get(f"visiondata:{name}")
            else:
                entry = _third_party_entry(candidate_source, name, model_task)
            shown = _display_name(entry)
            # The pattern applies to the listed name; with a source given, to the plain name as well.
            candidates = (shown, entry.name) if source is not None else (shown,)
            if pattern is None or any(fnmatch.fnmatchcase(candidate, pattern) for candidate in candidates):
                rows.append((shown, entry))
    return sorted(rows, key=lambda row: row[0])


def list_models(pattern: str | None = None, source: str | None = None, task: str | None = None) -> list[str]:
    """Sorted names of the models ``create_model`` can build.

    torchvision and visiondata models are listed by plain name, timm models
    (when timm is installed) with their ``timm:`` prefix.

    Args:
        pattern: Shell-style pattern on the listed name (``"resnet*"``,
            ``"timm:resnet*"``); with ``source`` given, on the plain name too.
        source: ``"torchvision"``, ``"visiondata"`` or ``"timm"``.
        task: ``"classification"``, ``"detection"`` or ``"segmentation"``.

    Examples:
        >>> list_models("resnet1*")
        ['resnet101', 'resnet152', 'resnet18']
        >>> list_models(task="segmentation")[:2]
        ['deeplabv3_mobilenet_v3_large', 'deeplabv3_resnet101']
    """
    return [shown for shown, _ in list_entries(pattern, source, task)]


def get_model_entry(name: str) -> ModelEntry:
    """The entry for ``name`` (``"resnet18"``, ``"torchvision:resnet18"``, ``"timm:convnext_tiny"``).

    Sources are asked in order (torchvision, visiondata, timm) and only as far
    as needed: a torchvision name never asks timm for its names.

    Raises:
        UnknownNameError: No such model; the message suggests close matches.
    """
    if ":" in name:
        source, plain = name.split(":", 1)
        if source not in SOURCES:
            raise UnknownNameError(
                f"unknown model source {source!r} in {name!r}; expected one of {', '.join(SOURCES)}",
                name=name,
            )
        entry = _entry(source, plain)
        if entry is not None:
            return entry
        # Among prefixed names: 'torchvision:mnist_cnn' suggests 'visiondata:mnist_cnn'.
        candidates = [entry.qualified_name for _, entry in list_entries()]
    else:
        for source in SOURCES:
            entry = _entry(source, name)
            if entry is not None:
                return entry
        candidates = list_models()
    suggestions = close_matches(name, candidates)
    hint = f"did you mean {' or '.join(map(repr, suggestions))}? " if suggestions else ""
    raise UnknownNameError(f"unknown model {name!r}; {hint}See list_models() for every name.", name=name,
                           suggestions=suggestions)  # fmt: skip


def register_model(
    name: str,
    builder: Callable[..., Any],
    task: str = "classification",
    data_config: Any = None,
    override: bool = False,
) -> Callable[..., Any]:
    """Add a model of your own under ``visiondata:<name>``; returns ``builder``.

    Examples:
        >>> import torch
        >>> _ = register_model("tiny_linear", lambda num_classes=10: torch.nn.Linear(4, num_classes))
        >>> create_model("tiny_linear", num_classes=3)(torch.zeros(1, 4)).shape
        torch.Size([1, 3])
        >>> _ = _MODELS.unregister("visiondata:tiny_linear")
    """
    check_choice("task", task, MODEL_TASKS, expected=f"one of {', '.join(MODEL_TASKS)}")
    entry = ModelEntry(name, "visiondata", task, builder, data_config)
    _MODELS.register(f"visiondata:{name}", entry, override=override)
    return builder


def create_model(
    name: str,
    num_classes: int | None = None,
    weights: str | os.PathLike[str] | None = None,
    in_chans: int | None = None,
    strict: bool = False,
    **kwargs: Any,
) -> Any:
    """Build a model by name, with a new head, weights and input channels as asked.

    Args:
        name: A name from [`list_models`][visiondata.models.list_models], optionally prefixed with its
            source (``"torchvision:resnet18"``, ``"timm:convnext_tiny"``).
        num_classes: Replace the head with one of this many outputs: the
            classifier of classification models; only the class predictors of
            detection (count includes the background) and segmentation models.
            Every other pretrained weight is kept.
        weights: ``None`` (random), ``"DEFAULT"`` or a torchvision weights name
            (``"IMAGENET1K_V1"``; downloaded to, or read from, torch's hub cache
            under ``$TORCH_HOME``), or a local ``.pt``/``.pth``/``.safetensors``
            file. Local files are read without unpickling code; tensors whose
            shape changed (the head) are skipped and, like missing and
            unexpected keys, reported with a warning. A timm model's
            ``"DEFAULT"`` weights come from the Hugging Face hub (read from its
            cache, with no request, when they are there); with
            ``HF_HUB_OFFLINE=1`` and nothing cached it fails at once.
            ``visiondata models info NAME`` lists what ``"DEFAULT"`` loads.
        in_chans: Input channels, adapted from the pretrained RGB kernels
            (summed for 1 channel, repeated and rescaled for more).
        strict: With a local file, raise instead of reporting missing,
            unexpected or reshaped keys.
        **kwargs: Passed to the model's builder (``weights_backbone=None``...).

    Returns:
        The model (in training mode, as built). Its ``visiondata_name``
        attribute keeps the qualified name, for [`model_data_config`][visiondata.models.model_data_config].

    Raises:
        UnknownNameError: Unknown model name (close matches are suggested).
        ValueError: ``num_classes`` or ``in_chans`` is not a positive integer
            (checked before anything is built or downloaded).
        WeightsUnavailableError: Weights neither cached nor downloadable; the
            message names the URL and the exact path to place the file at.
        WeightsLoadError: A local file that is unsafe, unreadable or (with
            ``strict``) does not fit.

    Examples:
        >>> import torch
        >>> model = create_model("resnet18", num_classes=5, in_chans=1)
        >>> model(torch.zeros(2, 1, 64, 64)).shape
        torch.Size([2, 5])
    """
    from visiondata.models._heads import replace_detection_head, replace_head, replace_segmentation_head
    from visiondata.models._stem import adapt_input_channels
    from visiondata.models._weights import is_local_file, load_weights

    # Every family gets the same check, before anything is built or downloaded: our own and
    # registered builders receive num_classes directly and would build a model with no outputs.
    for keyword, value in (("num_classes", num_classes), ("in_chans", in_chans)):
        if value is not None:
            check_positive_int(keyword, value)
    entry = get_model_entry(name)
    local = weights is not None and is_local_file(weights)
    if local and entry.task != "classification":
        kwargs.setdefault("weights_backbone", None)  # the file holds the backbone too
    if num_classes is not None and entry.source == "visiondata" and _accepts(entry.builder, "num_classes"):
        kwargs["num_classes"], num_classes = num_classes, None  # our own builders size their head directly
    model = _build(entry, None if local else weights, kwargs)
    if num_classes is not None:
        replace = {
            "classification": replace_head,
            "detection": replace_detection_head,
            "segmentation": replace_segmentation_head,
        }[entry.task]
        replace(model, num_classes)
    if local:
        model.visiondata_load_report = load_weights(model, weights, strict=strict)  # type: ignore[arg-type]
    if in_chans is not None:
        adapt_input_channels(model, in_chans)
    model.visiondata_name = entry.qualified_name
    # visiondata_pretrained: whether pretrained tensors went in (weights=, or the ImageNet backbone most
    # torchvision detection/segmentation builders load unless weights_backbone=None), so that
    # freeze_backbone can warn before freezing random features. Set it to True after loading weights yourself.
    backbone = kwargs.get("weights_backbone")
    if "weights_backbone" not in kwargs and entry.source == "torchvision" and entry.task != "classification":
        import inspect

        import torchvision

        default = inspect.signature(torchvision.models.get_model_builder(entry.name)).parameters.get(
            "weights_backbone"
        )
        backbone = None if default is None else default.default
    model.visiondata_pretrained = weights is not None or backbone is not None
    return model


def _accepts(function: Callable[..., Any], keyword: str) -> bool:
    import inspect

    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False
    return keyword in parameters or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


def _build(entry: ModelEntry, weights: Any, kwargs: dict[str, Any]) -> Any:
    if entry.source == "visiondata":
        if weights is not None:
            raise ValueError(
                f"{entry.name}: expected weights=None or a local file (visiondata models have no released "
                f"weights), got {weights!r}"
            )
        return entry.builder(**kwargs)
    if entry.source == "timm":
        if weights is not None and weights != "DEFAULT":
            raise ValueError(
                f"timm:{entry.name}: expected weights None, 'DEFAULT' or a local file, got {weights!r}"
            )
        if weights is None:
            return entry.builder(pretrained=False, **kwargs)
        from visiondata.models._weights import default_weights, timm_pretrained_arguments

        # The same decision `visiondata models info` shows: released_weights() says what exists.
        released = default_weights(entry)
        arguments = timm_pretrained_arguments(entry, released)  # fails fast when offline and not cached
        from_cache = "pretrained_cfg_overlay" in arguments
        if from_cache and "pretrained_cfg_overlay" in kwargs:  # the caller's overlay, with the cached file
            arguments["pretrained_cfg_overlay"] = {
                **kwargs.pop("pretrained_cfg_overlay"),
                **arguments["pretrained_cfg_overlay"],
            }
        try:
            return entry.builder(**arguments, **kwargs)
        except (OSError, RuntimeError, ValueError) as error:
            if from_cache:
                raise  # the file was there: not a download problem
            raise released.unavailable(entry.qualified_name, error) from error
    from visiondata.models._weights import torchvision_weights, unavailable

    resolved = None if weights is None else torchvision_weights(entry.name, str(weights))
    try:
        return entry.builder(weights=resolved, **kwargs)
    except (OSError, RuntimeError) as error:
        url = _url_in_progress(entry, resolved, kwargs)
        if url is None or not _is_download_error(error):
            raise
        raise unavailable(entry.name, url, error) from error


def _url_in_progress(entry: ModelEntry, resolved: Any, kwargs: dict[str, Any]) -> str | None:
    """The weights URL the builder was fetching: the model's, else its backbone's."""
    if resolved is not None:
        return resolved.url
    backbone = kwargs.get("weights_backbone", "DEFAULT")
    if backbone is None:
        return None
    import inspect

    import torchvision

    builder = torchvision.models.get_model_builder(entry.name)
    default = inspect.signature(builder).parameters.get("weights_backbone")
    if default is None:
        return None
    value = default.default if backbone == "DEFAULT" else backbone
    return getattr(value, "url", None)


def _is_download_error(error: BaseException) -> bool:
    import urllib.error

    chain: BaseException | None = error
    while chain is not None:
        if isinstance(chain, urllib.error.URLError | ConnectionError | TimeoutError):
            return True
        chain = chain.__cause__ or chain.__context__
    return "urlopen" in str(error) or "download" in str(error).lower()
