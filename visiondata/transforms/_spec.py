"""Transform names and their parameters: the registry behind a pipeline's declarative spec.

A spec is a list of dicts ``{"name": "RandomResizedCrop", "p": 1.0, **parameters}``.
Each portable name is registered with its torchvision-backend class (a
[`BoxTransform`][visiondata.transforms.BoxTransform], whose ``__init__`` signature
defines the parameters) and, when it has one, its albumentations builder.
A portable transform takes the parameter names and defaults of the library its
name comes from: torchvision v2's for ``Resize``, ``RandomResizedCrop``,
``Affine``, ``GaussianBlur``, ``ScaleJitter``...; albumentations' for
``RandomBrightnessContrast``, ``CLAHE``, ``MotionBlur``, ``CoarseDropout``...
Names that are not registered are a backend's own classes (``_own``) or
composition nodes (``_composition``).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from visiondata._arguments import (
    check_choice,
    check_finite_number,
    check_int,
    check_positive_int,
    check_probability,
    check_size,
    is_finite_number,
)
from visiondata._registry import Registry, close_matches
from visiondata.exceptions import TransformSpecError, UnknownNameError

if TYPE_CHECKING:
    from visiondata.transforms._base import BoxTransform

BACKENDS = ("torchvision", "albumentations")
#: The interpolation names specs and presets take, and what each backend calls them: torchvision's
#: ``InterpolationMode`` member and OpenCV's flag (``cv2.INTER_NEAREST``, ``INTER_LINEAR``, ``INTER_CUBIC``).
INTERPOLATION_TABLE = {
    "nearest": ("NEAREST", 0),
    "bilinear": ("BILINEAR", 1),
    "bicubic": ("BICUBIC", 2),
}
INTERPOLATIONS = tuple(INTERPOLATION_TABLE)
#: The largest image side (and crop or pad size) a spec may ask for, and a step may produce: 2**15 pixels.
#: PIL, OpenCV and torchvision's kernels handle sides up to about this; a 32768 x 32768 RGB image is already
#: 3 GiB, and a typo such as ``size: 1000000000`` must fail when the pipeline is built, not exhaust memory.
MAX_SIDE = 1 << 15
#: The largest Gaussian blur kernel side (odd): covers sigmas up to about 170 pixels (6 sigma wide).
MAX_KERNEL_SIZE = 1023


@dataclass(frozen=True)
class TransformDefinition:
    """A registered transform: its parameters and how each backend builds it.

    Attributes:
        name: The registered name.
        torchvision: The torchvision-backend class (``None`` if the transform
            exists on the albumentations backend only).
        albumentations: Builds the albumentations-backend step. Built-in
            builders take the torchvision-backend instance (its parameters
            already checked); user builders take the spec's parameters.
        default_p: Probability when a spec gives no ``p``.
    """

    name: str
    torchvision: type[BoxTransform] | None
    albumentations: Callable[..., Any] | None
    default_p: float
    builder_takes_transform: bool = False

    @property
    def signature(self) -> inspect.Signature:
        """The parameters a spec may give (``p`` aside)."""
        source = self.torchvision if self.torchvision is not None else self.albumentations
        return inspect.signature(source)

    def backends(self) -> tuple[str, ...]:
        """The backends that can run this transform."""
        available = []
        if self.torchvision is not None:
            available.append("torchvision")
        if self.albumentations is not None or _runs_on_numpy(self.torchvision):
            available.append("albumentations")
        return tuple(available)


def _runs_on_numpy(transform_class: type | None) -> bool:
    return transform_class is not None and getattr(transform_class, "apply_image_numpy", None) is not None


def _register_builtins() -> None:
    from visiondata.transforms import _albumentations_backend, _photometric, _spatial, _torchvision_backend

    # Each family module holds name -> BoxTransform class (TRANSFORMS) and name -> albumentations builder
    # (BUILDERS, taking the checked torchvision-backend instance).
    families = [
        (_torchvision_backend.BUILTIN_TRANSFORMS, _albumentations_backend.BUILDERS),
        (_photometric.TRANSFORMS, _photometric.BUILDERS),
        (_spatial.TRANSFORMS, _spatial.BUILDERS),
    ]
    for transforms, builders in families:
        for name, transform_class in transforms.items():
            _TRANSFORMS.register(
                name,
                TransformDefinition(
                    name,
                    transform_class,
                    builders.get(name),
                    transform_class.default_p,
                    builder_takes_transform=True,
                ),
            )


_TRANSFORMS: Registry[TransformDefinition] = Registry("transform", on_first_lookup=_register_builtins)


_DECORATOR: Any = object()


def register_transform(
    name: str,
    transform: type[BoxTransform] | None = _DECORATOR,
    *,
    albumentations: Callable[..., Any] | None = None,
    override: bool = False,
) -> Any:
    """Register a transform by name, so that pipeline specs can use it.

    Use it as a class decorator on a [`BoxTransform`][visiondata.transforms.BoxTransform] subclass (the
    torchvision backend; ``__init__``'s keyword arguments are the spec's
    parameters), or call it with the class. ``albumentations=`` adds the
    albumentations backend: a callable taking the same parameters and
    returning an albumentations transform (a ``DualTransform`` moves boxes
    and masks, an ``ImageOnlyTransform`` does not). Pass ``None`` as the
    class to register an albumentations-only transform. A pipeline on a
    backend the transform lacks raises when built.

    Args:
        name: The name specs use.
        transform: The torchvision-backend class; omitted in the decorator form.
        albumentations: Builder of the albumentations-backend transform.
        override: Replace an existing registration of ``name``.

    Returns:
        The decorator (decorator form), else the registered definition.

    Raises:
        DuplicateNameError: ``name`` is taken and ``override`` is false.
        TypeError: Neither a class nor an albumentations builder.

    Examples:
        >>> from visiondata.transforms import BoxTransform, register_transform
        >>> @register_transform("Invert")
        ... class Invert(BoxTransform):
        ...     def apply_image(self, image, params):
        ...         return 255 - image
        >>> from visiondata.transforms import list_transforms
        >>> list_transforms("Inv*")
        ['Invert', 'InvertImg']
        >>> _ = unregister_transform("Invert")
    """
    if transform is _DECORATOR:

        def decorator(transform_class: type[BoxTransform]) -> type[BoxTransform]:
            register_transform(name, transform_class, albumentations=albumentations, override=override)
            return transform_class

        return decorator
    if transform is None and albumentations is None:
        raise TypeError(
            f"register_transform({name!r}): expected a BoxTransform class, albumentations=, or both"
        )
    _TRANSFORMS._ensure_discovered()
    default_p = transform.default_p if transform is not None else 1.0
    definition = TransformDefinition(name, transform, albumentations, default_p)
    return _TRANSFORMS.register(name, definition, override=override)


def unregister_transform(name: str) -> TransformDefinition:
    """Remove a registered transform and return its definition."""
    return _TRANSFORMS.unregister(name)


def list_transforms(pattern: str | None = None, backend: str | None = None) -> list[str]:
    """Transform names a spec may use, optionally filtered by a shell pattern and a backend.

    Without ``backend``: the registered (portable and user-registered) transforms. With ``backend``: every
    name that runs there, the registered transforms available on it and then the backend's own classes
    that a pipeline can run, each in its explicit form ``"albumentations.<Name>"`` or ``"torchvision.<Name>"``
    (listed once: the unprefixed name also works where no registered transform has it, and
    ``spec_kind`` says which one a name means). Own classes the
    pipeline refuses (geometry without box support, base classes, batch transforms) are not listed; see
    [`transform_targets`][visiondata.transforms.transform_targets] for what each name moves and why one is refused.
    The pattern is matched case-sensitively against the listed form (``"*Flip"`` also matches
    ``"torchvision.RandomHorizontalFlip"``; ``"albumentations.*"`` lists albumentations' own).

    Without albumentations installed, ``backend="albumentations"`` lists the registered names only.

    Raises:
        ValueError: An unknown backend.

    Examples:
        >>> list_transforms("*Flip")
        ['HorizontalFlip', 'VerticalFlip']
        >>> list_transforms("*Flip", backend="torchvision")
        ['HorizontalFlip', 'VerticalFlip', 'torchvision.RandomHorizontalFlip', 'torchvision.RandomVerticalFlip']
    """
    names = _TRANSFORMS.names(pattern)
    if backend is None:
        return names
    check_backend(backend)
    names = [name for name in names if backend in _TRANSFORMS.get(name).backends()]
    return names + _own_names(pattern, backend)


def _own_names(pattern: str | None, backend: str) -> list[str]:
    """The backend's own classes a pipeline runs, prefixed, filtered by ``pattern``."""
    import fnmatch

    from visiondata.exceptions import MissingDependencyError
    from visiondata.transforms._own import own_names

    try:
        names = own_names(backend)
    except MissingDependencyError:
        return []  # albumentations is not installed: only the portable names can be listed
    return [name for name in names if pattern is None or fnmatch.fnmatchcase(name, pattern)]


def get_transform_definition(name: str) -> TransformDefinition:
    """The definition registered as ``name``.

    Raises:
        UnknownNameError: No such transform; the message suggests close matches.
    """
    return _TRANSFORMS.get(name)


def check_backend(backend: str) -> str:
    return check_choice("backend", backend, BACKENDS)


#: Composition nodes: specs whose ``transforms`` are child specs (``visiondata.transforms._composition``).
COMPOSITIONS = ("OneOf", "SomeOf", "Sequential", "RandomOrder")
#: Name prefixes that always mean a backend's own class (``visiondata.transforms._own``).
OWN_PREFIXES = ("albumentations.", "torchvision.")


def spec_kind(name: str) -> str:
    """``"composition"``, ``"portable"`` (a registered visiondata transform) or ``"own"`` (a backend's own class).

    A name with a backend prefix is always the backend's own class; an unprefixed name is a registered
    transform when there is one, else looked up among the backend's own classes.

    Examples:
        >>> spec_kind("OneOf"), spec_kind("HorizontalFlip"), spec_kind("albumentations.HorizontalFlip")
        ('composition', 'portable', 'own')
    """
    if name in COMPOSITIONS:
        return "composition"
    if name.startswith(OWN_PREFIXES) or name not in _TRANSFORMS:
        return "own"
    return "portable"


def normalize_spec(spec: Any, position: int | str, backend: str = "torchvision") -> dict[str, Any]:
    """One spec entry as ``{"name", "p", **every parameter}`` with defaults filled in and tuples as lists.

    Composition nodes and backends' own transforms are normalised by their modules
    (``_composition``, ``_own``); ``position`` is the entry's index, or its path inside a composition
    (``"2].transforms[1"``, so that messages read ``transforms[2].transforms[1] (Resize): ...``).

    Raises:
        TransformSpecError: Not a dict or a name, no ``name``, ``p`` outside [0, 1],
            or a required parameter missing.
        UnknownNameError: Unknown transform or parameter name (with close matches).
    """
    where = f"transforms[{position}]"
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, Mapping):
        raise TransformSpecError(
            f"{where}: expected a dict such as {{'name': 'HorizontalFlip', 'p': 0.5}} or a name, got {spec!r}"
        )
    if "name" not in spec:
        raise TransformSpecError(f"{where}: expected a 'name' key, got the keys {sorted(map(str, spec))}")
    name = spec["name"]
    if not isinstance(name, str):
        raise TransformSpecError(f"{where}: name: expected a transform name (a string), got {name!r}")
    for key in spec:
        if not isinstance(key, str):
            raise TransformSpecError(
                f"{where} ({name}): expected parameter names (strings), got the key {key!r}"
            )
    kind = spec_kind(name)
    if kind == "composition":
        from visiondata.transforms._composition import normalize_composition

        return normalize_composition(dict(spec), position, backend)
    if kind == "own":
        from visiondata.transforms._own import normalize_own

        return normalize_own(dict(spec), position, backend)
    try:
        definition = get_transform_definition(name)
    except UnknownNameError as error:
        raise UnknownNameError(f"{where}: {error}", name=error.name, suggestions=error.suggestions) from None
    probability = as_probability(spec.get("p", definition.default_p), f"{where} ({name})")
    parameters = {key: value for key, value in spec.items() if key not in ("name", "p")}
    signature = definition.signature
    accepted = [
        parameter.name
        for parameter in signature.parameters.values()
        if parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
    ]
    refuse_unknown_parameters(parameters, accepted, f"{where} ({name})", name)
    try:
        bound = signature.bind(**parameters)
    except TypeError as error:
        raise TransformSpecError(f"{where} ({name}): {error}") from None
    bound.apply_defaults()
    return {
        "name": name,
        "p": probability,
        **{key: plain(value) for key, value in bound.arguments.items()},
    }


def as_probability(value: Any, where: str) -> float:
    """A spec's ``p`` as a float in [0, 1] (NaN and bools refused); ``where`` prefixes the message.

    Examples:
        >>> as_probability(1, "transforms[0] (HorizontalFlip)")
        1.0
        >>> as_probability(5, "transforms[0] (HorizontalFlip)")
        Traceback (most recent call last):
        ...
        visiondata.exceptions.TransformSpecError: transforms[0] (HorizontalFlip): p: expected a probability in [0, 1], got 5
    """
    return check_probability(f"{where}: p", value, error=TransformSpecError)


def refuse_unknown_parameters(
    parameters: Iterable[str], accepted: Sequence[str], where: str, takes: str
) -> None:
    """Raise `UnknownNameError` for the first of ``parameters`` not in ``accepted``, with close matches.

    ``where`` prefixes the message (``"transforms[0] (Resize)"``); ``takes`` names what takes the
    accepted parameters (``"Resize"``, ``"albumentations.CLAHE"``).
    """
    for key in parameters:
        if key not in accepted:
            suggestions = close_matches(key, list(accepted))
            hint = f"did you mean {' or '.join(map(repr, suggestions))}? " if suggestions else ""
            raise UnknownNameError(
                f"{where}: unknown parameter {key!r}; {hint}{takes} takes p{''.join(', ' + a for a in accepted)}",
                name=key,
                suggestions=suggestions,
            )


def plain(value: Any) -> Any:
    """Tuples as lists, recursively, so that a spec survives YAML and JSON unchanged."""
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    return value


# Parameter checks shared by the transforms: visiondata._arguments' checks, raising TransformSpecError
# naming the parameter, worded as the transforms' messages have always been.


def as_size(value: Any, name: str = "size", high: int = MAX_SIDE) -> tuple[int, int]:
    """``(height, width)`` from an int (a square) or a pair of ints in ``1..high`` (`MAX_SIDE`)."""
    return check_size(
        name,
        value,
        maximum=high,
        expected=f"a positive int or (height, width), each at most {high}{_why(high)}",
        error=TransformSpecError,
    )


def as_positive_int(value: Any, name: str, high: int = MAX_SIDE) -> int:
    """An int in ``1..high`` (`MAX_SIDE` unless said: most such parameters are sizes in pixels)."""
    return check_positive_int(
        name,
        value,
        maximum=high,
        expected=f"a positive int at most {high}{_why(high)}",
        error=TransformSpecError,
    )


def as_pixels(value: Any, name: str, high: int = MAX_SIDE) -> int:
    """An int in ``0..high`` (an offset or a padding, in pixels)."""
    return check_int(
        name,
        value,
        minimum=0,
        maximum=high,
        expected=f"an int >= 0 and at most {high}{_why(high)}",
        error=TransformSpecError,
    )


def _why(high: int) -> str:
    return " (2**15, the largest image side supported)" if high == MAX_SIDE else ""


def as_number(value: Any, name: str, low: float = -math.inf, high: float = math.inf) -> float:
    """A finite number in ``[low, high]``, as a ``float``."""
    return check_finite_number(
        name,
        value,
        minimum=low,
        maximum=high,
        expected=f"a number in [{low:g}, {high:g}]",
        error=TransformSpecError,
    )


def as_range(
    value: Any, name: str, center: float = 0.0, low: float = -math.inf, high: float = math.inf
) -> tuple[float, float]:
    """``(min, max)`` from a pair, or from one number ``v`` as ``(center - v, center + v)``.

    The single-number form is torchvision's (``degrees=10`` is -10..10,
    ``brightness=0.2`` is 0.8..1.2); the result must lie in ``[low, high]``.
    """
    if is_finite_number(value):
        if value < 0:
            raise TransformSpecError(
                f"{name}: expected a non-negative number or a (min, max) pair, got {value!r}"
            )
        pair = (max(center - value, low), center + value)
    elif isinstance(value, Sequence) and len(value) == 2 and all(is_finite_number(v) for v in value):
        pair = (float(value[0]), float(value[1]))
    else:
        raise TransformSpecError(f"{name}: expected a number or a (min, max) pair, got {value!r}")
    if not (low <= pair[0] <= pair[1] <= high):
        raise TransformSpecError(
            f"{name}: expected min <= max within [{low:g}, {high:g}], got {list(pair)} from {value!r}"
        )
    return pair


def as_interpolation(value: Any, name: str = "interpolation") -> str:
    """One of `INTERPOLATIONS`, from its name in any case."""
    if isinstance(value, str) and value.lower() in INTERPOLATIONS:
        return value.lower()
    raise TransformSpecError(f"{name}: expected one of {', '.join(map(repr, INTERPOLATIONS))}, got {value!r}")


def as_fill(value: Any, name: str = "fill") -> float | list[float]:
    """A fill value for uncovered pixels: one number, or one per channel."""
    if is_finite_number(value):
        return float(value)
    if isinstance(value, Sequence) and value and all(is_finite_number(v) for v in value):
        return [float(v) for v in value]
    raise TransformSpecError(f"{name}: expected a number or one number per channel, got {value!r}")
