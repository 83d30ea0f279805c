"""The albumentations backend: the common set on albumentations' own transforms (OpenCV kernels).

Each spec becomes the albumentations transform of the same meaning, with
torchvision's parameter names mapped to albumentations' (``BUILDERS``). The
pipeline does not go through ``albumentations.Compose``: it calls each
transform itself, with the pipeline's random generators, and keeps the
boxes in its own bookkeeping. That is what fixes albumentations' defects
that users meet:

- boxes are never validated against ``[0, 1]`` by albumentations, so
  ``x_max = 1.0001`` is float noise (snapped), not an error;
- visibility is measured once, against the whole object, with a tolerance,
  so a flip with ``min_visibility=1.0`` keeps every box;
- nothing is dropped without an entry in the drop report;
- every DataLoader worker draws its own stream.

Where albumentations lacks a transform (``RandomIoUCrop``, torchvision's
``Perspective``) or means something else by it, the visiondata transform
runs on numpy arrays with OpenCV kernels, so both backends keep one
meaning: ``Affine`` (albumentations composes rotation and shear in the other
order), ``Pad`` (its reflecting borders add mirrored copies of boxes),
``RandomScale`` (it can round a side to 0 pixels), ``Resize`` to a shorter
side (torchvision truncates, albumentations rounds), the fixed ``Crop``
(whose window must fit) and the dtype steps (``Normalize``, ``ToDtype``).
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from typing import Any

import numpy as np

from visiondata.exceptions import MissingDependencyError, TransformSpecError
from visiondata.transforms._backend import Backend
from visiondata.transforms._spec import INTERPOLATION_TABLE
from visiondata.transforms._work import Work, run_transform

_CV2_INTERPOLATION = {name: flag for name, (_, flag) in INTERPOLATION_TABLE.items()}


def import_albumentations() -> Any:
    """``albumentations``, or a [`MissingDependencyError`][visiondata.exceptions.MissingDependencyError] naming the extra to install."""
    try:
        import albumentations
    except ImportError as error:
        raise MissingDependencyError(
            "backend='albumentations' needs albumentations (its last MIT release, 2.0.8): "
            "install the albumentations extra (pip install '.[albumentations]' in a visiondata checkout, or pip install 'albumentations<=2.0.8'); or use backend='torchvision', which needs nothing extra "
            f"({error})"
        ) from error
    return albumentations


@functools.cache
def _box_safe_crop_class() -> type:
    """albumentations' ``RandomSizedBBoxSafeCrop`` whose crop is never empty.

    It rounds the crop's far corner down from the union of the boxes, so boxes less than a pixel tall
    or wide in all (a thin box after an earlier crop) give a crop of no height, on which its crop
    kernel raises; the crop is widened to one pixel there, as the torchvision backend's draw does.
    """

    class RandomSizedBBoxSafeCrop(import_albumentations().RandomSizedBBoxSafeCrop):
        def get_params_dependent_on_data(
            self, params: dict[str, Any], data: dict[str, Any]
        ) -> dict[str, Any]:
            found = super().get_params_dependent_on_data(params, data)
            x_min, y_min, x_max, y_max = found["crop_coords"]
            height, width = params["shape"][:2]
            x_min, y_min = min(x_min, width - 1), min(y_min, height - 1)
            found["crop_coords"] = (x_min, y_min, max(x_max, x_min + 1), max(y_max, y_min + 1))
            return found

    return RandomSizedBBoxSafeCrop


def _fill(value: float | list[float]) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _builders() -> dict[str, Callable[[Any], Any]]:
    """Name -> function from the torchvision-backend transform (parameters checked) to the albumentations one."""

    def module() -> Any:
        return import_albumentations()

    def interpolation(transform: Any) -> int:
        return _CV2_INTERPOLATION[transform.interpolation]

    def resize(t: Any) -> Any:
        if isinstance(t.size, tuple):
            return module().Resize(*t.size, interpolation=interpolation(t))
        return None  # the shorter side to an int: torchvision's truncating rule, run on numpy

    return {
        "HorizontalFlip": lambda t: module().HorizontalFlip(p=1.0),
        "VerticalFlip": lambda t: module().VerticalFlip(p=1.0),
        "Resize": resize,
        "LongestMaxSize": lambda t: module().LongestMaxSize(
            max_size=t.max_size, interpolation=interpolation(t)
        ),
        "SmallestMaxSize": lambda t: module().SmallestMaxSize(
            max_size=t.max_size, interpolation=interpolation(t)
        ),
        "PadIfNeeded": lambda t: module().PadIfNeeded(
            min_height=t.min_height,
            min_width=t.min_width,
            position=t.position,
            border_mode=0,
            fill=_fill(t.fill),
        ),
        "RandomCrop": lambda t: module().RandomCrop(
            *t.size, pad_if_needed=t.pad_if_needed, border_mode=0, fill=_fill(t.fill), p=1.0
        ),
        "RandomResizedCrop": lambda t: module().RandomResizedCrop(
            size=t.size, scale=t.scale, ratio=t.ratio, interpolation=interpolation(t), p=1.0
        ),
        "RandomSizedBBoxSafeCrop": lambda t: _box_safe_crop_class()(
            *t.size, erosion_rate=t.erosion_rate, interpolation=interpolation(t), p=1.0
        ),
        "Rotate": lambda t: module().Rotate(
            limit=t.degrees, interpolation=interpolation(t), border_mode=0, fill=_fill(t.fill), p=1.0
        ),
        "ColorJitter": lambda t: module().ColorJitter(
            brightness=t.brightness, contrast=t.contrast, saturation=t.saturation, hue=t.hue, p=1.0
        ),
        "RandomGrayscale": lambda t: module().ToGray(num_output_channels=3, p=1.0),
        "GaussianBlur": lambda t: module().GaussianBlur(blur_limit=t.kernel_size, sigma_limit=t.sigma, p=1.0),
        "GaussianNoise": lambda t: module().GaussNoise(
            std_range=(t.sigma, t.sigma), mean_range=(t.mean, t.mean), p=1.0
        ),
    }


#: Built-in name -> albumentations builder. Transforms absent here, or whose builder returns None for the
#: given parameters, run visiondata's own class on numpy arrays (CenterCrop: albumentations floors odd margins,
#: torchvision v2 rounds them; ours cuts v2's window on both backends).
BUILDERS = _builders()


class AlbumentationsStep:
    """One albumentations transform, called outside ``Compose`` with the pipeline's box bookkeeping."""

    def __init__(self, transform: Any, probability: float, checker: Any = None) -> None:
        albumentations = import_albumentations()
        self.transform = transform
        self.probability = probability
        self.geometric = isinstance(transform, albumentations.DualTransform)
        # The torchvision-backend transform of the same spec: both backends refuse an image the same way.
        self.checker = checker

    def run(self, work: Work, rng: np.random.Generator, python_rng: random.Random) -> None:
        if self.checker is not None:
            self.checker.check(*work.image.shape[:2])
        transform = self.transform
        if transform.random_generator is not rng:
            transform.set_random_state(rng, python_rng)
        data: dict[str, Any] = {"image": work.image}
        if not self.geometric:
            params = transform.update_transform_params(transform.get_params(), data)
            params.update(transform.get_params_dependent_on_data(params, data))
            work.image = transform.apply_with_params(params, image=work.image)["image"]
            return
        height, width = work.image.shape[:2]
        count = len(work.ids)
        scale = np.array([width, height, width, height], dtype=np.float64)
        # Visible then whole boxes, normalised, with a row id: albumentations may drop rows (rotations).
        stacked = np.concatenate([work.stacked() / scale, np.arange(2 * count)[:, None]], axis=1)
        if work.masks is not None and len(work.masks):
            data["masks"] = work.masks
        if work.mask is not None:
            data["mask"] = work.mask[0]
        data["bboxes"] = stacked
        if work.keypoints is not None or work.rotated is not None:
            self._check_keypoints()
            # albumentations' layout (x, y, z, angle, scale), in its pixel-index convention, which is
            # ours, plus each point's row: a distortion drops the points it cannot place.
            # Each distinct point once: distortions move points as small discs of a mask, and a copy (an
            # oriented box's visible corners equal its whole ones until a crop cuts it) would overwrite
            # its twin and lose both.
            points, copies = np.unique(work.points_with_probe(height, width), axis=0, return_inverse=True)
            rows = np.arange(len(points), dtype=np.float64)[:, None]
            data["keypoints"] = np.concatenate([points, np.zeros((len(points), 3)), rows], axis=1)
        params = transform.update_transform_params(transform.get_params(), data)
        # Parameters that look at boxes (a box-safe crop) see the visible boxes only.
        params.update(transform.get_params_dependent_on_data(params, {**data, "bboxes": stacked[:count]}))
        result = transform.apply_with_params(params, **data)
        work.image = result["image"]
        new_height, new_width = work.image.shape[:2]
        if work.masks is not None:
            work.masks = (
                result["masks"]
                if "masks" in result
                else np.zeros((0, new_height, new_width), work.masks.dtype)
            )
        if work.mask is not None:
            work.mask = result["mask"][None]
        if work.keypoints is not None or work.rotated is not None:
            # Oriented boxes' corners are among the points (albumentations has no oriented boxes).
            # Outside Compose, albumentations' KeypointsProcessor drops nothing, but a few functions
            # (GridDistortion, ElasticTransform) drop the points they cannot place: those get
            # visibility 0 (their coordinates NaN) instead of shifting the rows after them.
            given = data["keypoints"]
            returned = np.asarray(result["keypoints"], dtype=np.float64).reshape(-1, given.shape[1])
            moved = np.full((len(given), 2), np.nan)
            moved[returned[:, 5].astype(np.int64)] = returned[:, :2]
            moved = moved[copies.reshape(-1)]
            if np.isnan(moved[-3:]).any():
                raise TransformSpecError(
                    f"albumentations.{type(transform).__name__} lost points at the image centre, so whether "
                    "it mirrored the image (and the flip_pairs) cannot be told; leave it out of pipelines "
                    "for keypoint samples"
                )
            work.points_moved(moved, new_height, new_width)
        if not count or work.rotated is not None:
            return
        moved = np.zeros((2 * count, 4))
        present = np.zeros(2 * count, dtype=bool)
        rows = result["bboxes"]
        if len(rows):
            ids = rows[:, 4].astype(np.int64)
            if len(np.unique(ids)) != len(ids):
                raise TransformSpecError(
                    f"{type(transform).__name__} added copies of boxes (albumentations does for reflecting "
                    "borders), which cannot be paired with their objects; use a constant border"
                )
            moved[ids] = rows[:, :4] * (new_width, new_height, new_width, new_height)
            present[ids] = True
        gone = ~(present[:count] & present[count:])
        work.remove(gone, "out_of_bounds")
        kept = ~gone
        work.moved(np.concatenate([moved[:count][kept], moved[count:][kept]]), new_height, new_width)

    def _check_keypoints(self) -> None:
        """Refuse, by name, a transform that moves pixels but whose class does not move keypoints."""
        albumentations = import_albumentations()
        cls = type(self.transform)
        targets = getattr(self.transform, "_targets", ())
        targets = targets if isinstance(targets, tuple) else (targets,)
        if (
            albumentations.core.type_definitions.Targets.KEYPOINTS not in targets
            or cls.apply_to_keypoints is albumentations.DualTransform.apply_to_keypoints
        ):
            raise TransformSpecError(
                f"albumentations.{cls.__name__} moves pixels but does not move keypoints, so the sample's "
                "keypoints (or oriented boxes' corners, which move as keypoints) would be left where they "
                "were; leave it out of pipelines for keypoint or oriented-box samples"
            )


class NumpyStep:
    """A visiondata transform run on numpy arrays (for what albumentations lacks or means differently)."""

    def __init__(self, transform: Any, probability: float) -> None:
        self.transform = transform
        self.probability = probability

    def run(self, work: Work, rng: np.random.Generator, python_rng: random.Random) -> None:
        size = tuple(work.image.shape[:2])
        run_transform(
            self.transform,
            work,
            rng,
            size,
            self.transform.apply_image_numpy,
            self.transform.apply_masks_numpy,
        )


def build_step(definition: Any, parameters: dict[str, Any], probability: float) -> Any:
    """The albumentations backend's step for a registered transform's parameters.

    albumentations' own transform when the registration names one; else the transform's numpy
    implementation. The torchvision-side transform, when there is one, checks the parameters in
    visiondata's words first (and checks the samples' boxes for the albumentations step).

    Raises:
        MissingDependencyError: albumentations is not installed.
        TransformSpecError: Neither an albumentations transform nor a numpy implementation, or a
            parameter refused (by visiondata's checks or by albumentations' own).
    """
    transform = definition.torchvision(**parameters) if definition.torchvision is not None else None
    import_albumentations()
    built = None
    if definition.albumentations is not None:
        try:
            built = (
                definition.albumentations(transform)
                if definition.builder_takes_transform
                else definition.albumentations(**parameters)
            )
        except (TypeError, ValueError) as error:
            if isinstance(error, TransformSpecError):
                raise
            # albumentations' own validation (pydantic) of a value it refuses.
            raise TransformSpecError(
                f"albumentations refuses the parameters: {' '.join(str(error).split())}"
            ) from None
    if built is not None:
        return AlbumentationsStep(built, probability, checker=transform)
    if transform is not None and transform.apply_image_numpy is not None:
        return NumpyStep(transform, probability)
    raise TransformSpecError(
        "not available on the albumentations backend (it has no albumentations transform and no numpy "
        "implementation); use backend='torchvision', or register it with albumentations=..."
    )


BACKEND = Backend("albumentations", build_step, channels_first=False, plans_at_full_scale=False)
