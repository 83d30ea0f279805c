"""A backend's own transforms by name: ``albumentations.<Name>`` and ``torchvision.<Name>``.

On ``backend="albumentations"`` a spec name that is no registered visiondata transform runs
``albumentations.<Name>`` (any image or dual transform of the installed albumentations), with
albumentations' own parameter names; on ``backend="torchvision"`` it runs
``torchvision.transforms.v2.<Name>`` with torchvision's. The prefixed forms ``"albumentations.<Name>"``
and ``"torchvision.<Name>"`` always mean the backend's own class, even where a portable transform has
the same name. A prefix naming the other backend than the pipeline's is refused: the two libraries
disagree on layouts and parameter meanings, and a pipeline runs on one of them.

The pipeline keeps its promises for them: it applies the spec's ``p`` itself (the own transform always
runs when drawn), moves visible and whole boxes together (so ``min_visibility`` is measured against the
whole object), moves instance and semantic masks with the image, reports every box that leaves, and
draws their randomness from the pipeline's per-sample, per-worker streams. A transform that moves
pixels but whose library cannot move boxes for it is refused when the pipeline is built, with the
reason (see `transform_targets`).

Examples:
    >>> transform_targets("albumentations.CLAHE", "albumentations")
    ('image',)
    >>> transform_targets("torchvision.RandomRotation", "torchvision")
    ('image', 'boxes', 'masks')
"""

from __future__ import annotations

import functools
import inspect
import random
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from visiondata._registry import close_matches
from visiondata.exceptions import TransformSpecError, UnknownNameError
from visiondata.transforms._albumentations_backend import AlbumentationsStep, import_albumentations
from visiondata.transforms._spec import (
    BACKENDS,
    as_probability,
    check_backend,
    plain,
    refuse_unknown_parameters,
)
from visiondata.transforms._work import Work, as_numpy

#: What a transform may move: the image; boxes (with every per-box field); instance and semantic masks.
IMAGE_ONLY = ("image",)
EVERYTHING = ("image", "boxes", "masks")


@dataclass(frozen=True)
class OwnTransform:
    """A class of a backend's own library, as a pipeline sees it.

    Attributes:
        backend: ``"albumentations"`` or ``"torchvision"``.
        name: The class name (``"CLAHE"``), without the prefix.
        cls: The class.
        targets: What it moves (`IMAGE_ONLY` or `EVERYTHING`); empty when refused.
        refused: Why a pipeline cannot run it (``None`` when it can).
    """

    backend: str
    name: str
    cls: type
    targets: tuple[str, ...]
    refused: str | None

    @property
    def qualified(self) -> str:
        """``"<backend>.<Name>"``."""
        return f"{self.backend}.{self.name}"

    def parameters(self) -> list[str]:
        """The parameter names a spec may give (``p`` is the pipeline's, so it is not among them)."""
        return [
            parameter.name
            for parameter in inspect.signature(self.cls).parameters.values()
            if parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
            and parameter.name not in ("p", "always_apply", "self")
        ]

    def required(self) -> list[str]:
        """The parameters without a default."""
        return [
            parameter.name
            for parameter in inspect.signature(self.cls).parameters.values()
            if parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
            and parameter.default is parameter.empty
        ]

    def default_p(self) -> float:
        """The class's own default ``p`` where it has one (``HorizontalFlip``'s 0.5), else 1.0."""
        parameter = inspect.signature(self.cls).parameters.get("p")
        if parameter is None or not isinstance(parameter.default, (int, float)):
            return 1.0
        return float(parameter.default)


# -- albumentations ---------------------------------------------------------------------------------------

_NEEDS_METADATA = (
    "needs reference data passed with each sample ({key}), which a BoxPipeline sample does not carry"
)
#: albumentations classes a pipeline cannot run, and why (others are judged from their targets).
_ALBUMENTATIONS_REFUSED = {
    "BasicTransform": "is a base class, not a transform",
    "DualTransform": "is a base class, not a transform",
    "ImageOnlyTransform": "is a base class, not a transform",
    "Transform3D": "is a base class, not a transform",
    "Lambda": "takes Python functions, which a spec (YAML or JSON) cannot hold; register a transform instead",
    "Mosaic": "needs other samples (mosaic_metadata); use visiondata.transforms.Mosaic, which keeps boxes",
    "OverlayElements": _NEEDS_METADATA.format(key="overlay_metadata"),
    "FDA": _NEEDS_METADATA.format(key="fda_metadata"),
    "HistogramMatching": _NEEDS_METADATA.format(key="hm_metadata"),
    "PixelDistributionAdaptation": _NEEDS_METADATA.format(key="pda_metadata"),
    "TextImage": _NEEDS_METADATA.format(key="textimage_metadata"),
    "RandomCropNearBBox": _NEEDS_METADATA.format(key="cropping_bbox"),
    "MaskDropout": (
        "removes objects by a semantic mask it expects under 'mask', and the boxes it removes with them "
        "cannot be reported; use CoarseDropout or the portable dropouts"
    ),
    "RandomGridShuffle": (
        "splits a box crossing tile borders into several pieces, which cannot stay one box per object "
        "(and outside albumentations.Compose it leaves boxes where they were)"
    ),
    "ConstrainedCoarseDropout": (
        "chooses its holes by box labels or mask indices through albumentations.Compose's label "
        "bookkeeping, which a pipeline does not use; use CoarseDropout"
    ),
    "ToTensorV2": "converts the sample's layout; BoxPipeline returns the input's own types",
    "ToTensor3D": "converts the sample's layout; BoxPipeline returns the input's own types",
}


def _albumentations_targets(cls: type) -> tuple[tuple[str, ...], str | None]:
    albumentations = import_albumentations()
    from albumentations.core.type_definitions import Targets

    name = cls.__name__
    if name in _ALBUMENTATIONS_REFUSED:
        return (), _ALBUMENTATIONS_REFUSED[name]
    targets = getattr(cls, "_targets", None) or ()
    targets = targets if isinstance(targets, tuple) else (targets,)
    if Targets.IMAGE not in targets:
        return (), "works on volumes (3D data), not on images"
    if issubclass(cls, albumentations.ImageOnlyTransform):
        return IMAGE_ONLY, None
    if not issubclass(cls, albumentations.DualTransform):
        return (), "is neither an image-only nor a dual (image, boxes and masks) transform"
    if Targets.BBOXES not in targets or cls.apply_to_bboxes is albumentations.DualTransform.apply_to_bboxes:
        return (), (
            "moves pixels, but albumentations does not move bounding boxes for it, so the boxes would "
            "no longer match the image"
        )
    return EVERYTHING, None


@functools.lru_cache(maxsize=1)
def _albumentations_catalogue() -> dict[str, OwnTransform]:
    albumentations = import_albumentations()
    catalogue = {}
    for name in dir(albumentations):
        cls = getattr(albumentations, name)
        if name.startswith("_") or not inspect.isclass(cls):
            continue
        if not issubclass(cls, albumentations.BasicTransform):
            continue
        targets, refused = _albumentations_targets(cls)
        catalogue[name] = OwnTransform("albumentations", name, cls, targets, refused)
    return catalogue


# -- torchvision ------------------------------------------------------------------------------------------

#: torchvision v2 classes that change pixel values only: boxes and masks stay as they are.
_TORCHVISION_IMAGE_ONLY = frozenset(
    {
        "ColorJitter",
        "ConvertImageDtype",
        "GaussianBlur",
        "GaussianNoise",
        "Grayscale",
        "Identity",
        "JPEG",
        "Normalize",
        "RGB",
        "RandomAdjustSharpness",
        "RandomAutocontrast",
        "RandomChannelPermutation",
        "RandomEqualize",
        # Erasing hides pixels; objects keep their boxes (torchvision passes boxes through, warning each call).
        "RandomErasing",
        "RandomGrayscale",
        "RandomInvert",
        "RandomPhotometricDistort",
        "RandomPosterize",
        "RandomSolarize",
        "ToDtype",
    }
)
#: torchvision v2 classes that move pixels and have bounding-box and mask kernels.
_TORCHVISION_GEOMETRIC = frozenset(
    {
        "CenterCrop",
        "ElasticTransform",
        "Pad",
        "RandomAffine",
        "RandomCrop",
        "RandomHorizontalFlip",
        "RandomIoUCrop",
        "RandomPerspective",
        "RandomResize",
        "RandomResizedCrop",
        "RandomRotation",
        "RandomShortestSize",
        "RandomVerticalFlip",
        "RandomZoomOut",
        "Resize",
        "ScaleJitter",
    }
)
_AUTO_AUGMENT = (
    "applies geometric operations (shear, translate, rotate) to the image, but torchvision does not move "
    "bounding boxes for it (it refuses them); use it for classification, or compose box-aware transforms"
)
_KEEPS_BOXES = (
    "is box bookkeeping, which BoxPipeline does itself: use its min_area, min_size, out_of_bounds and "
    "box_format settings"
)
_CONVERTS = "converts the sample's type; BoxPipeline returns the input's own types (use ToDtype for dtypes)"
#: torchvision v2 classes a pipeline cannot run, and why.
_TORCHVISION_REFUSED = {
    "Transform": "is a base class, not a transform",
    "AugMix": _AUTO_AUGMENT,
    "AutoAugment": _AUTO_AUGMENT,
    "RandAugment": _AUTO_AUGMENT,
    "TrivialAugmentWide": _AUTO_AUGMENT,
    "FiveCrop": "returns several images per sample; a pipeline returns one",
    "TenCrop": "returns several images per sample; a pipeline returns one",
    "Compose": "takes transform objects; a spec composes with the nodes OneOf, SomeOf, Sequential, RandomOrder",
    "RandomApply": "takes transform objects; a spec gives each transform its own 'p', or uses Sequential",
    "RandomChoice": "takes transform objects; a spec uses the composition node OneOf",
    "RandomOrder": "takes transform objects; a spec uses the composition node RandomOrder",
    "Lambda": "takes Python functions, which a spec (YAML or JSON) cannot hold; register a transform instead",
    "LinearTransformation": "takes tensors, which a spec (YAML or JSON) cannot hold",
    "CutMix": "mixes a batch of samples; use visiondata.transforms.MixUp (or CutMix on batches)",
    "MixUp": "mixes a batch of samples; use visiondata.transforms.MixUp, which keeps boxes",
    "ToPILImage": _CONVERTS,
    "ToTensor": _CONVERTS,
    "PILToTensor": _CONVERTS,
    "ToImage": _CONVERTS,
    "ToPureTensor": _CONVERTS,
    "SanitizeBoundingBoxes": _KEEPS_BOXES,
    "ClampBoundingBoxes": _KEEPS_BOXES,
    "ConvertBoundingBoxFormat": _KEEPS_BOXES,
    "SetClampingMode": _KEEPS_BOXES,
    "ClampKeyPoints": "works on keypoints, which a BoxPipeline sample does not carry",
    "SanitizeKeyPoints": "works on keypoints, which a BoxPipeline sample does not carry",
    "UniformTemporalSubsample": "works on videos, not on images",
}


@functools.lru_cache(maxsize=1)
def _torchvision_catalogue() -> dict[str, OwnTransform]:
    from torchvision.transforms import v2

    catalogue = {}
    for name in dir(v2):
        cls = getattr(v2, name)
        if name.startswith("_") or not inspect.isclass(cls) or not issubclass(cls, v2.Transform):
            continue
        if name in _TORCHVISION_REFUSED:
            targets, refused = (), _TORCHVISION_REFUSED[name]
        elif name in _TORCHVISION_GEOMETRIC:
            targets, refused = EVERYTHING, None
        elif name in _TORCHVISION_IMAGE_ONLY:
            targets, refused = IMAGE_ONLY, None
        else:
            # A class newer than this visiondata: whether its kernels move boxes has not been checked.
            targets, refused = (
                (),
                ("is not yet classified by visiondata (whether torchvision moves boxes for it is unchecked)"),
            )
        catalogue[name] = OwnTransform("torchvision", name, cls, targets, refused)
    return catalogue


def _catalogue(backend: str) -> dict[str, OwnTransform]:
    return _albumentations_catalogue() if backend == "albumentations" else _torchvision_catalogue()


# -- lookup -----------------------------------------------------------------------------------------------


def own_names(backend: str) -> list[str]:
    """Every own class a pipeline on ``backend`` can run, as ``"<backend>.<Name>"``, sorted.

    Refused classes (see `transform_targets`) are left out.

    Raises:
        ValueError: An unknown backend.
        MissingDependencyError: ``"albumentations"`` without albumentations installed.
    """
    check_backend(backend)
    return sorted(own.qualified for own in _catalogue(backend).values() if own.refused is None)


def split_own_name(name: str) -> tuple[str | None, str]:
    """``("albumentations", "CLAHE")`` for ``"albumentations.CLAHE"``; ``(None, name)`` without a prefix."""
    for backend in BACKENDS:
        if name.startswith(backend + "."):
            return backend, name[len(backend) + 1 :]
    return None, name


def find_own(name: str, backend: str, where: str = "") -> OwnTransform:
    """The own class a spec name means on ``backend`` (refused classes included: check ``refused``).

    Raises:
        TransformSpecError: A prefix naming the other backend.
        UnknownNameError: No such class (nor portable transform); the message suggests close matches
            among both.
    """
    prefix = f"{where} ({name}): " if where else f"{name}: "
    named_backend, class_name = split_own_name(name)
    if named_backend is not None and named_backend != backend:
        raise TransformSpecError(
            f"{prefix}names {named_backend}'s own transform, but the pipeline runs on backend={backend!r}; "
            f"expected a portable name or '{backend}.<Name>': use backend={named_backend!r} for it, or the "
            f"portable transform of the same meaning (list_transforms(backend={backend!r}))"
        )
    own = _catalogue(backend).get(class_name)
    if own is None:
        from visiondata.transforms._spec import list_transforms

        listed = list_transforms(backend=backend)
        own_listed = [candidate for candidate in listed if "." in candidate]
        if named_backend is None:
            # Portable names first (what most typos mean), else the backend's own classes, bare or prefixed.
            portable = [candidate for candidate in listed if "." not in candidate]
            suggestions = close_matches(name, portable) or close_matches(
                name, own_listed + [split_own_name(candidate)[1] for candidate in own_listed]
            )
        else:
            suggestions = close_matches(name, own_listed)
        hint = f"did you mean {' or '.join(map(repr, suggestions))}? " if suggestions else ""
        library = "albumentations" if backend == "albumentations" else "torchvision.transforms.v2"
        where_part = f"{where}: " if where else ""
        raise UnknownNameError(
            f"{where_part}unknown transform {name!r}; {hint}expected a visiondata transform "
            f"(list_transforms()) or a class of {library} that a pipeline can run; see "
            f"list_transforms(backend={backend!r}) for every name",
            name=name,
            suggestions=suggestions,
        )
    return own


def transform_targets(name: str, backend: str) -> tuple[str, ...]:
    """What a transform name moves on ``backend``: ``("image",)`` or ``("image", "boxes", "masks")``.

    ``name`` is a portable name, a backend's own class (``"albumentations.CLAHE"``, or unprefixed where no
    portable transform has that name) or a composition node (which moves what its children move:
    ``("image", "boxes", "masks")`` is returned, as it may). "boxes" means the boxes and every per-box
    field; "masks" instance and semantic masks.

    Raises:
        UnknownNameError: No such transform (with close matches).
        TransformSpecError: The backend cannot run it; the message says why.

    Examples:
        >>> transform_targets("HorizontalFlip", "torchvision")
        ('image', 'boxes', 'masks')
        >>> transform_targets("torchvision.Grayscale", "torchvision")
        ('image',)
    """
    from visiondata.transforms._spec import get_transform_definition, spec_kind

    check_backend(backend)
    kind = spec_kind(name)
    if kind == "composition":
        return EVERYTHING
    if kind == "portable":
        definition = get_transform_definition(name)
        if backend not in definition.backends():
            raise TransformSpecError(
                f"{name}: not available on backend={backend!r} (it runs on {', '.join(definition.backends())})"
            )
        if definition.torchvision is not None:
            return EVERYTHING if definition.torchvision.geometric else IMAGE_ONLY
        return _albumentations_builder_targets(definition)
    own = find_own(name, backend)
    if own.refused is not None:
        raise TransformSpecError(f"{name}: cannot run in a BoxPipeline: {own.qualified} {own.refused}")
    return own.targets


def _albumentations_builder_targets(definition: Any) -> tuple[str, ...]:
    # A user registration with an albumentations builder only: its class says what it moves.
    albumentations = import_albumentations()
    returned = inspect.signature(definition.albumentations).return_annotation
    if inspect.isclass(returned) and issubclass(returned, albumentations.ImageOnlyTransform):
        return IMAGE_ONLY
    return EVERYTHING


# -- specs ------------------------------------------------------------------------------------------------


def normalize_own(spec: dict[str, Any], position: int | str, backend: str) -> dict[str, Any]:
    """The spec of a backend's own transform: ``{"name": <as given>, "p": float, **parameters}``.

    ``p`` is the pipeline's probability of running the transform (the class itself always runs when
    drawn); it defaults to the class's own default ``p`` (albumentations' ``HorizontalFlip``: 0.5,
    torchvision's ``RandomHorizontalFlip``: 0.5), else 1.0. Only the parameters given are kept (the
    class's defaults are not filled in: they may not be plain data, and they follow the installed
    library); each is checked against the class's signature and by building the class once.

    Raises:
        UnknownNameError: An unknown transform or parameter (with close matches).
        TransformSpecError: ``p`` outside [0, 1]; a prefix naming the other backend; a class the
            pipeline cannot run (with the reason); a value the library refuses (naming ``transforms[i]``,
            the transform and the parameter).
        MissingDependencyError: albumentations is not installed.
    """
    name = spec["name"]
    where = f"transforms[{position}]"
    try:
        own = find_own(name, backend, where)
    except UnknownNameError as error:
        raise UnknownNameError(str(error), name=error.name, suggestions=error.suggestions) from None
    if own.refused is not None:
        raise TransformSpecError(
            f"{where} ({name}): cannot run in a BoxPipeline: {own.qualified} {own.refused}"
        )
    probability = as_probability(spec.get("p", own.default_p()), f"{where} ({name})")
    parameters = {key: plain(value) for key, value in spec.items() if key not in ("name", "p")}
    accepted = own.parameters()
    refuse_unknown_parameters(parameters, accepted, f"{where} ({name})", own.qualified)
    missing = [key for key in own.required() if key not in parameters and key != "p"]
    if missing:
        raise TransformSpecError(
            f"{where} ({name}): expected the parameter{'s' if len(missing) > 1 else ''} "
            f"{', '.join(map(repr, missing))}, which {own.qualified} requires"
        )
    instantiate(own, parameters, where, name)
    return {"name": name, "p": probability, **parameters}


def instantiate(own: OwnTransform, parameters: dict[str, Any], where: str, name: str) -> Any:
    """The library's transform built from ``parameters``, its own ``p`` forced to 1 (the pipeline draws).

    Raises:
        TransformSpecError: The library refuses a value; the message names the parameter.
    """
    forced = {"p": 1.0} if "p" in inspect.signature(own.cls).parameters else {}
    try:
        return _quiet_build(own.cls, {**parameters, **forced})
    except (TypeError, ValueError) as error:
        parameter, detail = _culprit(own, parameters, error)
        raise TransformSpecError(
            f"{where} ({name}): {parameter}: {own.qualified} refuses "
            f"{'the value ' + repr(parameters[parameter]) if parameter in parameters else 'the parameters'}: "
            f"{detail}"
        ) from None


def _quiet_build(cls: type, parameters: dict[str, Any]) -> Any:
    import warnings

    # albumentations warns about (and adjusts) some values; the spec keeps what was written.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cls(**parameters)


def _culprit(own: OwnTransform, parameters: dict[str, Any], error: Exception) -> tuple[str, str]:
    """Which given parameter the library refused, and its reason in one line."""
    cause = error.__cause__
    errors = getattr(cause, "errors", None)
    if callable(errors):
        # albumentations validates with pydantic and re-raises its ValidationError as a ValueError.
        details = errors()
        for detail in details:
            location = detail.get("loc") or ()
            if location and location[0] in parameters:
                reasons = "; ".join(
                    item["msg"] for item in details if (item.get("loc") or ())[:1] == location[:1]
                )
                return str(location[0]), reasons
    message = " ".join(str(error).split()).split(" For further information")[0]
    # Otherwise build the class with each parameter alone, to find the one it refuses.
    required = {key: parameters[key] for key in own.required() if key in parameters}
    for key, value in parameters.items():
        try:
            _quiet_build(own.cls, {**required, key: value})
        except (TypeError, ValueError):
            return key, message
    named = [key for key in parameters if key in str(error)]
    return (named[0] if named else ", ".join(parameters) or "parameters"), message


def build_own(spec: dict[str, Any], position: int | str, backend: str) -> Any:
    """The step that runs a backend's own transform with the pipeline's box bookkeeping.

    Raises:
        TransformSpecError: As `normalize_own` (the spec is normalised again if it was not).
    """
    name = spec["name"]
    where = f"transforms[{position}]"
    own = find_own(name, backend, where)
    if own.refused is not None:
        raise TransformSpecError(
            f"{where} ({name}): cannot run in a BoxPipeline: {own.qualified} {own.refused}"
        )
    parameters = {key: value for key, value in spec.items() if key not in ("name", "p")}
    transform = instantiate(own, parameters, where, name)
    if backend == "albumentations":
        return OwnAlbumentationsStep(transform, float(spec["p"]), own.qualified)
    return TorchvisionOwnStep(transform, float(spec["p"]), own)


# -- steps ------------------------------------------------------------------------------------------------


class OwnAlbumentationsStep(AlbumentationsStep):
    """An albumentations class run by the pipeline: `AlbumentationsStep`, with the library's failures named."""

    def __init__(self, transform: Any, probability: float, qualified: str) -> None:
        super().__init__(transform, probability)
        self.qualified = qualified

    def run(self, work: Work, rng: np.random.Generator, python_rng: random.Random) -> None:
        try:
            super().run(work, rng, python_rng)
        except TransformSpecError:
            raise
        except (TypeError, ValueError, KeyError, IndexError) as error:
            raise TransformSpecError(
                f"{self.qualified} failed on a {_describe(work.image, 'hwc')} image: "
                f"{type(error).__name__}: {' '.join(str(error).split())}"
            ) from None


def _describe(image: Any, layout: str) -> str:
    shape = tuple(image.shape)
    return f"{'x'.join(map(str, shape))} ({layout}) {str(image.dtype).replace('torch.', '')}"


class TorchvisionOwnStep:
    """A ``torchvision.transforms.v2`` class run by the pipeline.

    It mirrors ``Transform.forward`` without its input flattening: the parameters are drawn once
    (``make_params``) from the image and the visible boxes, then ``transform`` moves the image, the
    visible and whole boxes (as ``tv_tensors.BoundingBoxes`` with ``clamping_mode=None``, so that whole
    boxes reaching beyond the image stay whole and visibility stays measurable) and the masks. The
    class's own ``p`` is skipped: the pipeline drew it. torchvision's transforms draw from torch's global
    generator, so each run forks it and seeds it from the pipeline's stream, leaving the caller's
    global state untouched (about 5 us).
    """

    def __init__(self, transform: Any, probability: float, own: OwnTransform) -> None:
        self.transform = transform
        self.probability = probability
        self.qualified = own.qualified
        self.geometric = own.targets == EVERYTHING
        # RandomIoUCrop marks, per box, whether it stays: one flag per visible box, repeated for the whole ones.
        self._per_box_params = ("is_within_crop_area",)
        # Only RandomIoUCrop draws its parameters from the boxes; the others need the image's size alone.
        self._params_from_boxes = own.name == "RandomIoUCrop"

    def run(self, work: Work, rng: np.random.Generator, python_rng: random.Random) -> None:
        generator = torch.default_generator
        state = generator.get_state()
        generator.manual_seed(int(rng.integers(0, 2**63 - 1)))
        try:
            self._run(work)
        except TransformSpecError:
            raise
        except (TypeError, ValueError, RuntimeError, IndexError) as error:
            raise TransformSpecError(
                f"{self.qualified} failed on a {_describe(work.image, 'chw')} image: "
                f"{type(error).__name__}: {' '.join(str(error).split())}"
            ) from None
        finally:
            generator.set_state(state)

    def _run(self, work: Work) -> None:
        from torchvision import tv_tensors

        transform = self.transform
        image = tv_tensors.Image(work.image) if not isinstance(work.image, tv_tensors.Image) else work.image
        if not self.geometric:
            transform.check_inputs([image])
            params = transform.make_params([image])
            work.image = transform.transform(image, params).as_subclass(torch.Tensor)
            return
        height, width = image.shape[-2:]
        count = len(work.ids)
        inputs = [image]
        if self._params_from_boxes:
            inputs.append(
                tv_tensors.BoundingBoxes(
                    torch.from_numpy(work.visible),
                    format="XYXY",
                    canvas_size=(height, width),
                    clamping_mode=None,
                )
            )
        transform.check_inputs(inputs)
        params = transform.make_params(inputs)
        work.image = transform.transform(image, params).as_subclass(torch.Tensor)
        new_height, new_width = work.image.shape[-2:]
        if work.masks is not None:
            work.masks = self._masks(work.masks, params, new_height, new_width)
        if work.mask is not None:
            work.mask = self._masks(work.mask, params, new_height, new_width)
        if work.keypoints is not None:
            self._keypoints(work, params, (int(height), int(width)), (int(new_height), int(new_width)))
        if not count:
            return
        rotated = work.rotated is not None
        # Oriented boxes move as torchvision's own XYXYXYXY boxes (its kernels reorder mirrored corners and
        # square parallelograms; `corners_moved` then does what the pipeline does after every step).
        boxes = np.concatenate([work.visible_corners, work.full_corners]) if rotated else work.stacked()
        stacked = tv_tensors.BoundingBoxes(
            torch.from_numpy(boxes),
            format="XYXYXYXY" if rotated else "XYXY",
            canvas_size=(height, width),
            clamping_mode=None,
        )
        box_params = params
        for key in self._per_box_params:
            if key in params:
                box_params = {**box_params, key: params[key].repeat(2)}
        moved = as_numpy(transform.transform(stacked, box_params).as_subclass(torch.Tensor)).astype(
            np.float64
        )
        new_height, new_width = int(new_height), int(new_width)
        if rotated:
            work.corners_moved(moved, new_height, new_width)
            return
        work.moved(_snap_to_border(moved, new_height, new_width), new_height, new_width)

    def _keypoints(
        self, work: Work, params: dict[str, Any], size: tuple[int, int], new_size: tuple[int, int]
    ) -> None:
        """Move the keypoints as ``tv_tensors.KeyPoints`` (torchvision's pixel-index convention, which is ours)."""
        from torchvision import tv_tensors

        points = tv_tensors.KeyPoints(
            torch.from_numpy(work.points_with_probe(*size, corners=False)), canvas_size=size
        )
        try:
            moved = self.transform.transform(points, params)
        except TypeError:
            moved = None
        if moved is points or not isinstance(moved, tv_tensors.KeyPoints):
            # No kernel for KeyPoints (or one that passes them through): the points would stay behind.
            raise TransformSpecError(
                f"{self.qualified} moves pixels but torchvision does not move keypoints for it, so the "
                "sample's keypoints would be left where they were; leave it out of pipelines for keypoint "
                "samples"
            )
        work.points_moved(
            as_numpy(moved.as_subclass(torch.Tensor)).astype(np.float64), *new_size, corners=False
        )

    def _masks(self, masks: torch.Tensor, params: dict[str, Any], height: int, width: int) -> torch.Tensor:
        from torchvision import tv_tensors

        if masks.shape[0] == 0:
            return masks.new_zeros((0, height, width))
        return self.transform.transform(tv_tensors.Mask(masks), params).as_subclass(torch.Tensor)


#: torchvision's box kernels compute in float32: an edge that lands on the border comes back up to a few
#: millionths of a pixel off it (relative error about 1e-7 of the coordinate), leaving a box of no real width.
_FLOAT32_NOISE = 1e-6


def _snap_to_border(boxes: np.ndarray, height: int, width: int) -> np.ndarray:
    """Coordinates within float32 rounding of the image border, put on it."""
    borders = np.array([width, height, width, height], dtype=np.float64)
    tolerance = borders * _FLOAT32_NOISE
    boxes = np.where(np.abs(boxes) <= tolerance, 0.0, boxes)
    return np.where(np.abs(boxes - borders) <= tolerance, borders, boxes)
