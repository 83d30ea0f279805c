"""``BoxPipeline``: a declarative augmentation pipeline that keeps boxes, labels and masks aligned."""

from __future__ import annotations

import copy
import errno
import inspect
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from visiondata._arguments import (
    check_bool,
    check_choice,
    check_finite_number,
    check_probability,
    check_seed,
    is_int,
)
from visiondata._files import MAX_SPEC_BYTES, read_regular_file, refuse_non_file_output, write_text_atomic
from visiondata._registry import close_matches
from visiondata.boxes._convert import BOX_FORMATS, check_format
from visiondata.boxes._validate import BORDER_TOLERANCE
from visiondata.exceptions import TransformSpecError, UnknownNameError
from visiondata.io._plan import DecodePlan
from visiondata.transforms._backend import get_backend
from visiondata.transforms._planned import (
    PendingPlan,
    plan_first_step,
    plannable_transform,
    run_planned_first_step,
)
from visiondata.transforms._random import RandomStreams
from visiondata.transforms._sample import Sample, parse
from visiondata.transforms._spec import check_backend, get_transform_definition, normalize_spec, spec_kind
from visiondata.transforms._work import OUT_OF_BOUNDS, Work, as_numpy, as_tensor, warpable_masks

SPEC_VERSION = 1
# Float noise allowed beyond the image border in input boxes, as a fraction of the side.


class BoxPipeline:
    """Augment detection samples so that no box, label or mask is lost or misaligned without a report.

    Build it from a list of transform specs (plain dicts, so a pipeline can
    be saved as YAML and loaded back). A spec names one of three kinds of
    transform:

    - a portable transform (see [`list_transforms`][visiondata.transforms.list_transforms]),
      the same meaning on both backends; the original core takes torchvision
      v2's parameter names (``size=(h, w)``, ``scale``, ``ratio``,
      ``degrees``, ...), those albumentations defines take albumentations'
      (``brightness_limit``, ``blur_limit``, ...);
    - a backend's own class: ``"albumentations.<Name>"`` or
      ``"torchvision.<Name>"`` (``torchvision.transforms.v2``), with its
      library's parameter names; an unprefixed name that is not portable is
      looked up there too. ``p`` defaults to the class's own default, and the
      pipeline, not the class, draws it. Classes that cannot keep boxes right
      are refused when the pipeline is built, with the reason;
    - a composition node: ``OneOf``, ``SomeOf``, ``Sequential``,
      ``RandomOrder``, whose ``transforms`` are specs (nestable; their meaning,
      and where it differs from albumentations', is in
      ``visiondata.transforms._composition``).

    Call it on a sample:

    - a dict ``{"image": ..., "boxes": (N, 4) in box_format, "labels": (N,), ...}``
      returns the same keys and types, plus ``"dropped"``;
    - the detection pair ``(image, target)`` (also as two arguments, so it
      plugs in as ``transform=`` of every detection dataset) returns
      ``(image, target)`` with ``target["dropped"]``.

    The image may be a ``C x H x W`` tensor (``tv_tensors.Image`` included,
    any dtype the transforms take) or an ``H x W x C`` numpy array.
    ``tv_tensors.BoundingBoxes`` carry their own format; ``box_format`` is
    the format of plain tensors, arrays and lists.

    Every 1-D field with one row per box (``labels``, ``iscrowd``, ``area``,
    ids, scores; or exactly the fields named in ``box_fields``) is filtered
    and reordered with its box, keeping its type and dtype. Instance masks
    ``"masks"`` (N, H, W) and a semantic ``"mask"`` (H, W) move with the image;
    an instance mask leaves with its box.

    Keypoints ``"keypoints"`` ``(N, K, 3)`` (``x, y, visibility`` with COCO's
    meaning: 0 not labelled, 1 labelled but hidden, 2 visible), ``(N, K, 2)``
    or ``tv_tensors.KeyPoints``, one row per box, move with every geometric
    step on both backends and leave with their box. Coordinates are pixel
    indices (the centre of pixel ``i`` at ``i``), as in COCO, torchvision's
    ``KeyPoints`` and albumentations. A point that leaves the image gets
    visibility 0 and never gets it back; points of visibility 0 come back as
    ``(0, 0, 0)``, COCO's "not labelled" (without a visibility column they
    keep their moved coordinates). A step that mirrors the image (a
    horizontal or vertical flip, a transposition: any map that reverses
    orientation) swaps each pair of ``flip_pairs``, so that ``left_eye``
    stays the left eye; rotations swap nothing. ultralytics swaps its
    ``flip_idx`` on horizontal flips only; a vertical flip is a horizontal one
    and a half-turn, so it mirrors the person too.

    Oriented boxes (``box_format`` ``"xywhr"``, ``"cxcywhr"`` or ``"xyxyxyxy"``, or
    ``tv_tensors.BoundingBoxes`` in ``XYWHR``, ``CXCYWHR`` or ``XYXYXYXY``) move as
    their four corners with every geometric step on both backends (on the
    albumentations backend as keypoints) and come back in the format given:
    ``xyxyxyxy`` keeps the moved corners; ``xywhr`` / ``cxcywhr`` become
    rectangles again by torchvision's rule, so that the torchvision backend
    matches torchvision's own rotated-box kernels. A box cut by the border is
    clamped as torchvision's soft mode does (the smallest box of the same
    angle enclosing the part in view); its visibility is the area of its
    polygon inside the image over the whole box's, and ``min_area`` /
    ``min_size`` measure the oriented box itself.

    After the transforms, a box is dropped when too little of it is visible
    (``min_visibility``: the fraction of the whole object's box inside the
    image, measured across all steps), when its visible area is below
    ``min_area`` pixels, or its width or height below ``min_size`` pixels (or
    zero). Boxes reaching beyond the image are clipped, or dropped with
    ``out_of_bounds="drop"``; a box with nothing left in the image is always
    dropped. Each dropped box has an entry ``{"index": i, "reason":
    "visibility" | "area" | "size" | "out_of_bounds"}`` in ``"dropped"``,
    ``i`` being its position in the input.

    Input boxes with NaN, inverted corners or no area raise
    [`InvalidBoxesError`][visiondata.exceptions.InvalidBoxesError] naming them; input
    coordinates beyond the border by at most 1e-3 of the side are float
    noise and snapped onto it.

    Args:
        transforms: Specs such as ``{"name": "RandomResizedCrop", "size": 512, "p": 1.0}``
            (a bare name stands for its defaults); see [`list_transforms`][visiondata.transforms.list_transforms].
        box_format: Format of plain box arrays, one of `visiondata.boxes.BOX_FORMATS` (oriented ones included).
        min_visibility: Smallest visible fraction of a box to keep it (``1.0``
            keeps the boxes wholly in view).
        min_area: Smallest visible box area to keep, in output pixels.
        min_size: Smallest visible width and height to keep, in output pixels.
        out_of_bounds: ``"clip"`` boxes to the image, or ``"drop"`` any box
            reaching beyond it.
        backend: ``"torchvision"`` (default, nothing extra needed) or
            ``"albumentations"`` (the ``albumentations`` extra).
        seed: ``None`` draws each call's randomness from torch's global
            generator at call time, as torchvision's transforms do:
            ``torch.manual_seed(s)`` before a call repeats it, and DataLoader
            workers (seeded apart by torch) differ. An int gives the pipeline
            its own stream, repeating from its first call whatever torch's
            state; in DataLoader workers each worker then draws its own stream
            derived from the seed and torch's per-worker seed, on both backends.
        box_fields: The per-box fields; ``None`` finds the 1-D ones by their length.
        flip_pairs: Pairs ``(i, j)`` of keypoint indices swapped by a mirroring step
            (a dataset's ``.flip_pairs``), e.g. ``[(1, 2), (3, 4)]`` for COCO's eyes and ears.
        scaled_decode: Offer datasets a decode plan (`decode_plan`) when the first step is a
            resize or a resized crop applied always: a dataset reading JPEG files then decodes each
            at the smallest DCT scale that keeps twice the output's resolution for the region the
            step keeps. ``False`` for evaluation, whose scores count against the exact pixels.

    Raises:
        UnknownNameError: An unknown transform or parameter name (with close matches).
        TransformSpecError: A setting or parameter with a wrong value or type (sizes above
            32768 included), or a transform the backend cannot run; when called, an
            image with no pixels or a step that would make a side above 32768.
        InvalidBoxesError: When called: bad boxes, or ``labels``, a per-box field or instance
            masks without one row per box (named, with both counts).
        MissingDependencyError: ``backend="albumentations"`` without albumentations.

    Examples:
        >>> import torch
        >>> pipeline = BoxPipeline([{"name": "HorizontalFlip", "p": 1.0}], seed=0)
        >>> out = pipeline({"image": torch.zeros(3, 10, 20, dtype=torch.uint8),
        ...                 "boxes": torch.tensor([[0.0, 0.0, 5.0, 5.0]]), "labels": torch.tensor([7])})
        >>> out["boxes"], out["labels"], out["dropped"]
        (tensor([[15.,  0., 20.,  5.]]), tensor([7]), [])
    """

    def __init__(
        self,
        transforms: Sequence[Mapping[str, Any] | str],
        box_format: str = "xyxy",
        min_visibility: float = 0.0,
        min_area: float = 0.0,
        min_size: float = 0.0,
        out_of_bounds: str = "clip",
        backend: str = "torchvision",
        seed: int | None = None,
        box_fields: Sequence[str] | None = None,
        flip_pairs: Sequence[Sequence[int]] | None = None,
        scaled_decode: bool = True,
    ) -> None:
        if isinstance(transforms, (str, Mapping)) or not isinstance(transforms, Sequence):
            raise TransformSpecError(
                f"transforms: expected a list of specs such as [{{'name': 'HorizontalFlip', 'p': 0.5}}], got {transforms!r}"
            )
        # Every setting is checked here, as a TransformSpecError naming it: a spec file's value reaches the
        # constructor as it was written (a string, a list, 5 for a fraction).
        try:
            self.box_format = check_format(box_format, "box_format", formats=BOX_FORMATS)
        except (TypeError, ValueError) as error:
            raise TransformSpecError(str(error)) from None
        self.min_visibility = check_probability(
            "min_visibility", min_visibility, expected="a fraction in [0, 1]", error=TransformSpecError
        )
        self.min_area = _pixels(min_area, "min_area")
        self.min_size = _pixels(min_size, "min_size")
        self.out_of_bounds = check_choice(
            "out_of_bounds", out_of_bounds, OUT_OF_BOUNDS, error=TransformSpecError
        )
        try:
            self.backend = check_backend(backend)
        except (TypeError, ValueError) as error:
            raise TransformSpecError(str(error)) from None
        self._backend = get_backend(self.backend)
        if box_fields is not None and (
            isinstance(box_fields, str)
            or not isinstance(box_fields, Sequence)
            or not all(isinstance(k, str) for k in box_fields)
        ):
            raise TransformSpecError(f"box_fields: expected a list of field names, got {box_fields!r}")
        self.box_fields = None if box_fields is None else list(box_fields)
        self.flip_pairs = check_flip_pairs(flip_pairs)
        self._flip_array = None if self.flip_pairs is None else np.array(self.flip_pairs, dtype=np.int64)
        self._streams = RandomStreams(check_seed("seed", seed, error=TransformSpecError))
        self.specs = [
            normalize_spec(spec, position, self.backend) for position, spec in enumerate(transforms)
        ]
        self._steps = [self._build(spec, position) for position, spec in enumerate(self.specs)]
        self.scaled_decode = check_bool(
            "scaled_decode", scaled_decode, expected="True or False", error=TransformSpecError
        )
        # The first step, when datasets may draw its parameters on the file's header (see decode_plan).
        self._plan_transform = plannable_transform(self._steps[0]) if self._steps and scaled_decode else None
        self._pending: PendingPlan | None = None

    @property
    def seed(self) -> int | None:
        """The seed the pipeline was built with."""
        return self._streams.seed

    def _build(self, spec: dict[str, Any], position: int | str) -> Any:
        """The step for one normalised spec: an object with ``probability`` and ``run(work, rng, python_rng)``."""
        kind = spec_kind(spec["name"])
        if kind == "composition":
            from visiondata.transforms._composition import build_composition

            return build_composition(spec, position, self.backend, self._build)
        if kind == "own":
            from visiondata.transforms._own import build_own

            return build_own(spec, position, self.backend)
        return self._build_portable(spec, position)

    def _build_portable(self, spec: dict[str, Any], position: int | str) -> Any:
        name, probability = spec["name"], spec["p"]
        parameters = {key: value for key, value in spec.items() if key not in ("name", "p")}
        definition = get_transform_definition(name)
        try:
            return self._backend.build_step(definition, parameters, probability)
        except TransformSpecError as error:
            raise TransformSpecError(f"transforms[{position}] ({name}): {error}") from None

    def decode_plan(self, height: int, width: int) -> DecodePlan | None:
        """Draw the first step's parameters on a ``height`` x ``width`` image before it is decoded.

        Datasets call it with the size a JPEG's header gives (see [`read_planned`][visiondata.io.read_planned]),
        then pass the [`PlannedImage`][visiondata.io.PlannedImage] they decode, with the target in the
        full image's coordinates, to this pipeline's next call. The draw is the one the step makes on
        the decoded image, from the same generators, so every step draws as without a plan; boxes,
        keypoints, oriented boxes and masks move exactly as on the exact path, and only the image's
        pixels come from the smaller decode.

        Returns:
            The region the first step keeps and its output size; ``None`` (nothing drawn) when the
            first step is not a resize or resized crop applied always (``p=1``), on the
            albumentations backend one that draws parameters, or with ``scaled_decode=False``.

        Examples:
            >>> pipeline = BoxPipeline([{"name": "LongestMaxSize", "max_size": 640}])
            >>> pipeline.decode_plan(1200, 1600)
            DecodePlan(top=0, left=0, height=1200, width=1600, out_height=480, out_width=640)
            >>> BoxPipeline(["HorizontalFlip"]).decode_plan(1200, 1600) is None
            True
        """
        self._pending = None
        if self._plan_transform is None:
            return None
        rng, python_rng = self._streams.generators()
        self._pending = plan_first_step(self._plan_transform, rng, python_rng, height, width)
        return None if self._pending is None else self._pending.plan

    def __call__(self, *inputs: Any) -> Any:
        """Augment one sample (a dict, an ``(image, target)`` pair, or ``image, target``)."""
        sample = parse(inputs, self.box_format, self.box_fields, BORDER_TOLERANCE)
        pending, self._pending = self._pending, None
        planned = sample.planned
        if planned is not None and (pending is None or pending.plan is not planned.plan):
            # Decoded for a plan this pipeline did not make (or no longer holds): the full-size image.
            sample.image, sample.planned, planned = planned.full_resolution(), None, None
        # The first step ran on the planned pixels: below full scale on every backend; at full scale
        # only on the torchvision one (albumentations' own step, which draws nothing, runs as usual).
        planned_first = planned is not None and (self._backend.plans_at_full_scale or planned.scale > 1)
        rng, python_rng = (
            (pending.rng, pending.python_rng) if planned is not None else self._streams.generators()
        )
        work = self._start(sample)
        for position, step in enumerate(self._steps):
            try:
                if position == 0 and planned_first:
                    run_planned_first_step(
                        self._plan_transform, work, planned, pending.params, self._backend.channels_first
                    )
                    continue
                if step.probability < 1.0 and rng.random() >= step.probability:
                    continue
                step.run(work, rng, python_rng)
            except TransformSpecError as error:
                # Name the step, as the errors found when the pipeline was built do (a composition's
                # error names its child's full path already).
                if str(error).startswith(f"transforms[{position}]"):
                    raise
                name = self.specs[position]["name"]
                raise TransformSpecError(f"transforms[{position}] ({name}): {error}") from None
        work.filter(self.min_visibility, self.min_area, self.min_size)
        return sample.rebuild(work)

    def _start(self, sample: Sample) -> Work:
        """The sample in the backend's layout: ``C x H x W`` tensors, or ``H x W x C`` numpy arrays."""
        channels_first = self._backend.channels_first
        convert = as_tensor if channels_first else as_numpy
        image = sample.image_chw() if channels_first else sample.image_hwc()
        masks = None if sample.masks is None else warpable_masks(convert(sample.masks))
        mask = None
        if sample.mask is not None:
            mask = warpable_masks(convert(sample.mask))
            mask = mask[None] if mask.ndim == 2 else mask
        boxes = sample.boxes if sample.boxes is not None else np.zeros((0, 4))
        height, width = sample.size()
        flip_pairs = self._flip_array
        if sample.keypoints is not None and flip_pairs is not None and len(flip_pairs):
            count = sample.keypoints.shape[1]
            if int(flip_pairs.max()) >= count:
                raise TransformSpecError(
                    f"flip_pairs: expected keypoint indices below {count} (the sample has {count} keypoints "
                    f"per instance), got {self.flip_pairs}; pass the flip_pairs of the dataset the samples "
                    "come from"
                )
        return Work(
            image,
            boxes,
            masks,
            mask,
            self.out_of_bounds,
            height,
            width,
            keypoints=sample.keypoints,
            flip_pairs=flip_pairs,
            corners=sample.corners,
            rotated=sample.box_format if sample.corners is not None else None,
        )

    # -- serialisation -------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Every setting as plain data (what `from_dict` and `save` take).

        Examples:
            >>> spec = BoxPipeline(["HorizontalFlip"], seed=1).to_dict()
            >>> spec["transforms"], spec["seed"]
            ([{'name': 'HorizontalFlip', 'p': 0.5}], 1)
        """
        return {
            "version": SPEC_VERSION,
            "backend": self.backend,
            "box_format": self.box_format,
            "min_visibility": self.min_visibility,
            "min_area": self.min_area,
            "min_size": self.min_size,
            "out_of_bounds": self.out_of_bounds,
            "seed": self.seed,
            "box_fields": None if self.box_fields is None else list(self.box_fields),
            "flip_pairs": None if self.flip_pairs is None else [list(pair) for pair in self.flip_pairs],
            "scaled_decode": self.scaled_decode,
            # Deep copies: a composition's child specs must not be shared with the running pipeline.
            "transforms": [copy.deepcopy(spec) for spec in self.specs],
        }

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> BoxPipeline:
        """Build a pipeline from `to_dict`'s output (or a hand-written dict of the same keys).

        Raises:
            TransformSpecError: Not a dict, a newer spec version, or no ``transforms``.
            UnknownNameError: An unknown key (with close matches).
        """
        if not isinstance(spec, Mapping):
            raise TransformSpecError(
                f"pipeline spec: expected a dict, got {type(spec).__name__}; a spec is a mapping with a "
                "'transforms' list, as BoxPipeline.save writes"
            )
        settings = dict(spec)
        version = settings.pop("version", SPEC_VERSION)
        if version != SPEC_VERSION:
            raise TransformSpecError(
                f"pipeline spec version: expected {SPEC_VERSION}, got {version!r}; upgrade visiondata to read it"
            )
        if "transforms" not in settings:
            raise TransformSpecError(
                f"pipeline spec: expected a 'transforms' list, got the keys {sorted(map(str, spec))}"
            )
        accepted = list(inspect.signature(cls).parameters)
        for key in settings:
            if not isinstance(key, str):
                raise TransformSpecError(f"pipeline spec: expected keys that are names, got {key!r}")
            if key not in accepted:
                suggestions = close_matches(key, accepted)
                hint = f"did you mean {' or '.join(map(repr, suggestions))}? " if suggestions else ""
                raise UnknownNameError(
                    f"pipeline spec: unknown key {key!r}; {hint}keys: version, {', '.join(accepted)}",
                    name=key,
                    suggestions=suggestions,
                )
        return cls(**settings)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write `to_dict` to ``path`` as YAML (JSON when the name ends in ``.json``); returns the path.

        The file is written under a temporary name beside ``path`` and renamed over it when complete, so an
        interrupted save leaves any previous spec whole.

        Raises:
            OutputConflictError: ``path`` is a folder or a special file (``/dev/null``, a FIFO).
        """
        path = Path(path)
        refuse_non_file_output(path, "a pipeline spec file", "augment.yaml")
        data = self.to_dict()
        if path.suffix.lower() == ".json":
            text = json.dumps(data, indent=2) + "\n"
        else:
            import yaml

            text = yaml.safe_dump(data, sort_keys=False)
        write_text_atomic(path, text)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> BoxPipeline:
        """Read a pipeline written by `save` (YAML or JSON).

        The file is read only if it is a regular file of at most ``MAX_SPEC_BYTES`` (16 MiB): a FIFO, a
        device such as ``/dev/zero`` or a folder (or a link to one) is refused before it is opened.

        Raises:
            FileNotFoundError: No such file.
            DatasetFormatError: Not a regular file, or too large (the message names the file).
            TransformSpecError: The file is not UTF-8, does not parse, is not a mapping, or holds an
                invalid spec; every message starts with the file's name.
            UnknownNameError: An unknown key, transform or parameter (the message starts with the file's name).
        """
        path = Path(path)
        if not os.path.lexists(path):
            raise FileNotFoundError(
                errno.ENOENT,
                "no such file; expected a pipeline spec (YAML or JSON, as BoxPipeline.save writes)",
                str(path),
            )
        data = read_regular_file(path, "pipeline spec", MAX_SPEC_BYTES)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise TransformSpecError(
                f"{path}: cannot parse the pipeline spec: expected UTF-8 text, got a byte {data[error.start]:#04x} "
                f"at offset {error.start} that is not (a binary file?)"
            ) from None
        try:
            if path.suffix.lower() == ".json":
                spec = json.loads(text)
            else:
                import yaml

                spec = yaml.safe_load(text)
        except Exception as error:  # any parser failure (RecursionError for deep nesting too) is the file's
            raise TransformSpecError(f"{path}: cannot parse the pipeline spec: {error}") from None
        try:
            return cls.from_dict(spec)
        except TransformSpecError as error:
            raise TransformSpecError(f"{path}: {error}") from None
        except UnknownNameError as error:
            raise UnknownNameError(
                f"{path}: {error}", name=error.name, suggestions=error.suggestions
            ) from None
        except (TypeError, ValueError, KeyError, RecursionError) as error:
            # A value of a shape no check foresaw: still name the file, never a bare traceback.
            raise TransformSpecError(
                f"{path}: invalid pipeline spec: {type(error).__name__}: {error}"
            ) from None

    def __repr__(self) -> str:
        lines = [line for spec in self.specs for line in _spec_lines(spec, "  ")]
        settings = (
            f"box_format={self.box_format!r}, min_visibility={self.min_visibility}, min_area={self.min_area}, "
            f"min_size={self.min_size}, out_of_bounds={self.out_of_bounds!r}, backend={self.backend!r}, "
            f"seed={self.seed}"
        )
        return "BoxPipeline([\n" + "\n".join(lines) + f"\n], {settings})"


def _spec_lines(spec: dict[str, Any], indent: str) -> list[str]:
    """``repr`` lines of one normalised spec: a composition's children one per line, indented under it."""
    if spec_kind(spec["name"]) != "composition":
        return [f"{indent}{spec},"]
    head = repr({key: value for key, value in spec.items() if key != "transforms"})
    lines = [f"{indent}{head[:-1]}, 'transforms': ["]
    for child in spec["transforms"]:
        lines.extend(_spec_lines(child, indent + "  "))
    return [*lines, f"{indent}]}},"]


def _pixels(value: Any, name: str) -> float:
    return check_finite_number(
        name, value, minimum=0, expected="a number >= 0 (pixels)", error=TransformSpecError
    )


def check_flip_pairs(flip_pairs: Any) -> list[tuple[int, int]] | None:
    """``flip_pairs`` as a list of ``(i, j)`` int pairs, each index in at most one pair.

    Examples:
        >>> check_flip_pairs([[1, 2], (3, 4)])
        [(1, 2), (3, 4)]

    Raises:
        TransformSpecError: Not a list of pairs of distinct non-negative ints, or an index in two pairs.
    """
    if flip_pairs is None:
        return None
    expected = "a list of (i, j) pairs of keypoint indices, such as [(1, 2), (3, 4)]"
    if isinstance(flip_pairs, (str, Mapping)) or not isinstance(flip_pairs, Sequence):
        raise TransformSpecError(f"flip_pairs: expected {expected}, got {flip_pairs!r}")
    pairs = []
    for pair in flip_pairs:
        if (
            isinstance(pair, (str, Mapping))
            or not isinstance(pair, Sequence)
            or len(pair) != 2
            or not all(is_int(v) and v >= 0 for v in pair)
            or pair[0] == pair[1]
        ):
            raise TransformSpecError(f"flip_pairs: expected {expected}, got the pair {pair!r}")
        pairs.append((int(pair[0]), int(pair[1])))
    indices = [index for pair in pairs for index in pair]
    if len(set(indices)) != len(indices):
        raise TransformSpecError(
            f"flip_pairs: expected each keypoint index in at most one pair, got {flip_pairs!r}"
        )
    return pairs
