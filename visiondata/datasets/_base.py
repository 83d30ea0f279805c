"""What the folder and CSV datasets share: loading with an error policy, and splitting."""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import Dataset, Subset

from visiondata.datasets._index import PathIndex
from visiondata.datasets._split import split_dataset
from visiondata.exceptions import ImageReadError, SkippedSampleWarning
from visiondata.io._plan import Planner, decode_planner, read_planned, scaled_decode
from visiondata.io._read import read_image

ON_ERROR = ("raise", "skip", "warn")
#: The name of label 0 in detection datasets (torchvision's detection models reserve it).
BACKGROUND = "__background__"


def class_names(classes: Any, argument: str = "classes") -> list[str]:
    """``classes`` as a list of names: a sequence of names, not one string.

    Examples:
        >>> class_names(("cat", "dog"))
        ['cat', 'dog']
        >>> class_names("cat")
        Traceback (most recent call last):
        ...
        TypeError: classes: expected a sequence of class names, got the string 'cat'; pass ['cat'] for one class
    """
    if isinstance(classes, (str, bytes)):
        raise TypeError(
            f"{argument}: expected a sequence of class names, got the string {classes!r}; "
            f"pass [{classes!r}] for one class"
        )
    return [str(name) for name in classes]


def refuse_duplicate_classes(classes: Sequence[str], source: object) -> None:
    """Raise if a class name appears twice: the second would take another id than the first.

    A data class named like the background (label 0) is the usual way this
    happens in detection datasets; the message says so.

    Examples:
        >>> refuse_duplicate_classes(["__background__", "cat", "__background__"], "boxes.csv")
        Traceback (most recent call last):
        ...
        ValueError: boxes.csv: classes: expected distinct names, got '__background__' at positions 0 and 2; ...
    """
    positions: dict[str, list[int]] = {}
    for position, name in enumerate(classes):
        positions.setdefault(name, []).append(position)
    repeated = {name: where for name, where in positions.items() if len(where) > 1}
    if not repeated:
        return
    listed = "; ".join(
        f"{name!r} at positions {', '.join(map(str, where[:-1]))} and {where[-1]}"
        for name, where in repeated.items()
    )
    fix = (
        f"{BACKGROUND!r} names label 0 (the background), so a class of that name in the data would take "
        "another label: rename that class"
        if BACKGROUND in repeated
        else "give each class once"
    )
    raise ValueError(f"{source}: classes: expected distinct names, got {listed}; {fix}")


def check_path(value: str, root: str, allow_outside_root: bool) -> tuple[str, str | None]:
    """``value`` normalised, and a problem if it is empty or leaves ``root`` (unless allowed).

    A plain file name (no separator, no surrounding space, not ``.`` or ``..``), what most
    annotation files hold, is returned as it is: normalising cannot change it, nor can it leave
    ``root``, and skipping that work matters for files of a hundred thousand images.

    Examples:
        >>> check_path("a.png", "/data", False), check_path(" photos/./a.png", "/data", False)
        (('a.png', None), ('photos/a.png', None))
        >>> check_path("../a.png", "/data", False)[1]
        "image path '../a.png' is outside the root /data; expected a path relative to the root (pass allow_outside_root=True to permit it)"
        >>> check_path("../a.png", "/data", True)
        ('../a.png', None)
    """
    if "/" not in value and os.sep not in value and value.strip() == value and value not in ("", ".", ".."):
        return str(value), None
    value = value.strip()
    if not value:
        return "", "empty image path"
    normal = os.path.normpath(value)
    outside = os.path.isabs(normal) or normal == ".." or normal.startswith(".." + os.sep)
    if outside and not allow_outside_root:
        return normal, (
            f"image path {value!r} is outside the root {root}; expected a path relative to the root "
            "(pass allow_outside_root=True to permit it)"
        )
    return normal, None


def is_v1_transform(transform: Any) -> bool:
    """Whether ``transform`` is one of torchvision's v1 transforms (``torchvision.transforms``, not ``.v2``).

    v1 transforms take one argument, the image, and several (``ToTensor``, ``PILToTensor``,
    ``ToPILImage`` on a PIL image) accept only PIL images.

    Examples:
        >>> from torchvision import transforms
        >>> from torchvision.transforms import v2
        >>> is_v1_transform(transforms.ToTensor()), is_v1_transform(v2.ToImage()), is_v1_transform(len)
        (True, False, False)
    """
    module = getattr(type(transform), "__module__", None) or ""
    return module.startswith("torchvision.transforms") and not module.startswith("torchvision.transforms.v2")


def _transform_name(transform: Any) -> str:
    """``transform`` for a message: ``torchvision.transforms.ToTensor`` (not a ``Compose``'s long repr)."""
    kind = type(transform)
    module = kind.__module__.replace("torchvision.transforms.transforms", "torchvision.transforms")
    return f"{module}.{kind.__qualname__}"


def v1_transform_error(transform: Any, pair: bool, cause: object = None) -> TypeError:
    """The error for a torchvision v1 ``transform`` given to a dataset that cannot feed it.

    ``pair``: the dataset calls ``transform(image, target)`` (detection), which no v1 transform takes;
    otherwise it calls ``transform(image)`` with a tensor, where v1's ``ToTensor`` wants a PIL image.

    Examples:
        >>> from torchvision import transforms
        >>> print(v1_transform_error(transforms.ToTensor(), pair=True))  # doctest: +ELLIPSIS
        transform: torchvision.transforms.ToTensor is a torchvision v1 transform, ... transform(image, target) ...
    """
    name = _transform_name(transform)
    if pair:
        return TypeError(
            f"transform: {name} is a torchvision v1 transform, which takes the image alone, but detection "
            "datasets call transform(image, target) with a tv_tensors.Image and its boxes; expected a "
            "torchvision.transforms.v2 transform (v2.Compose([v2.ToDtype(torch.float32, scale=True), ...]) "
            "moves the boxes with the image), a BoxPipeline, or a function of (image, target)"
        )
    failed = f" (it failed with: {cause})" if cause is not None else ""
    return TypeError(
        f"transform: {name} is a torchvision v1 transform that expects a PIL image, but this dataset reads "
        f"images as uint8 C x H x W tensors{failed}; expected either "
        "loader=functools.partial(read_image, output='pil') (from visiondata.io import read_image), so that "
        "v1 transforms get PIL images as with torchvision's ImageFolder, or torchvision.transforms.v2 "
        "transforms, which take tensors (v2.ToDtype(torch.float32, scale=True) replaces ToTensor)"
    )


def _is_pil(image: Any) -> bool:
    """Whether ``image`` is a PIL image (without importing PIL for a tensor)."""
    return type(image).__module__.startswith("PIL.")


class ImageFileDataset(Dataset):
    """Base of datasets whose samples are image files under ``root`` plus a target.

    Subclasses fill `paths` (relative to ``root``), or override
    ``__len__`` and `relative_path`, and implement `target`. Reading goes through `load_image`, with the
    ``on_error`` policy:

    - ``"raise"`` (default): a file that cannot be read raises
      [`ImageReadError`][visiondata.exceptions.ImageReadError] naming it;
    - ``"skip"``: the sample is replaced by the next readable one (index + 1,
      + 2, ...; the same replacement every time), and the file and the cause
      are recorded in `errors`;
    - ``"warn"``: as ``"skip"``, and a [`SkippedSampleWarning`][visiondata.exceptions.SkippedSampleWarning] names the file.

    A replacement sample comes with its own target, so nothing is mislabelled.
    `errors` is per process: with ``DataLoader`` workers, each worker
    records its own (run ``visiondata check`` to list every bad file up front).

    What counts as unreadable is what [`read_image`][visiondata.io.read_image] refuses, the same
    definition ``visiondata check`` applies: by default a strict decode, so a JPEG
    that libjpeg decodes only with a warning ("corrupt JPEG data") is an unreadable
    file, not a sample with damaged pixels. `strict` (``None``: the process-wide
    default of ``visiondata.io.set_strict_decode``) chooses per dataset; it
    can be passed to the folder and CSV datasets, and set as an attribute on any other
    (``dataset.strict = False``). It travels with the dataset to spawned workers.

    ``transform`` gets the loaded image (a ``uint8`` tensor by default). A torchvision v1
    transform that wants a PIL image (``ToTensor``) fails on it with a ``TypeError`` that says to
    pass ``loader=functools.partial(read_image, output="pil")`` or use v2 transforms; a detection
    dataset (which calls ``transform(image, target)``, which no v1 transform takes) refuses a v1
    transform when it is built.
    """

    paths: PathIndex
    #: Whether a sample may be read from outside `root`. Readers of paths written in a file
    #: (CSV, annotations) default to ``False``; then symbolic links are resolved before the check,
    #: so a link inside the root that leads out of it is an unreadable file too. Folder datasets
    #: follow links wherever they lead (torchvision's ``ImageFolder`` behaviour).
    allow_outside_root: bool = True
    #: Strict or tolerant decoding for the default loader (see [`read_image`][visiondata.io.read_image]);
    #: ``None`` follows ``visiondata.io.set_strict_decode`` (strict unless changed).
    strict: bool | None = None
    #: Decode for the output (see [`read_planned`][visiondata.io.read_planned]): ``None`` decodes each JPEG
    #: at the smallest DCT scale the transform's plan allows when the transform offers one and
    #: ``visiondata.io.set_scaled_decode`` is on; ``True`` whenever the transform offers one; ``False`` never.
    scaled_decode: bool | None = None

    def __init__(
        self,
        root: str | os.PathLike[str],
        transform: Callable[[Any], Any] | None,
        target_transform: Callable[[Any], Any] | None,
        on_error: str,
        loader: Callable[[str], Any] | None,
        strict: bool | None = None,
        scaled_decode: bool | None = None,
    ) -> None:
        if on_error not in ON_ERROR:
            raise ValueError(f"on_error: expected one of {', '.join(map(repr, ON_ERROR))}, got {on_error!r}")
        if strict is not None and not isinstance(strict, bool):
            raise TypeError(f"strict: expected True, False or None, got {strict!r}")
        if scaled_decode is not None and not isinstance(scaled_decode, bool):
            raise TypeError(f"scaled_decode: expected True, False or None, got {scaled_decode!r}")
        if scaled_decode and decode_planner(transform) is None:
            raise TypeError(
                f"scaled_decode=True: expected a transform that offers a decode plan (presets.classification_train, "
                f"presets.classification_eval(scaled_decode=True), a BoxPipeline), got "
                f"{type(transform).__name__}; pass scaled_decode=None or False, or one of those transforms"
            )
        self.strict = strict
        self.scaled_decode = scaled_decode
        self.root = str(Path(root).expanduser())
        if (
            transform is not None
            and type(self)._sample is not ImageFileDataset._sample
            and is_v1_transform(transform)
        ):
            # A subclass with its own _sample is a detection dataset, calling transform(image, target):
            # no v1 transform takes that, so say so now rather than at the first sample.
            raise v1_transform_error(transform, pair=True)
        self.transform = transform
        self.target_transform = target_transform
        self.on_error = on_error
        self.loader = loader
        #: Files skipped under on_error="skip"/"warn": path -> cause.
        self.errors: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self.paths)

    def relative_path(self, index: int) -> str:
        """Path of sample ``index`` relative to `root`."""
        return self.paths[index]

    def path(self, index: int) -> str:
        """Full path of sample ``index``."""
        return os.path.join(self.root, self.relative_path(index))

    def load_image(self, path: str) -> Any:
        """Read one image; override to customise (the default is [`visiondata.io.read_image`][visiondata.io.read_image], RGB tensor).

        The default reads with ``strict=self.strict``; a custom ``loader`` decides for itself.

        Examples:
            >>> class GreyFolder(ImageFileDataset):  # doctest: +SKIP
            ...     def load_image(self, path):
            ...         return read_image(path, mode="L")
        """
        if self.loader is not None:
            return self.loader(path)
        return read_image(path, strict=self.strict)

    def target(self, index: int) -> Any:
        """The target of sample ``index`` (before ``target_transform``)."""
        raise NotImplementedError

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        image, current = self._read(index)
        return self._sample(image, current)

    #: Whether this class's `_sample` hands a `PlannedImage` to the transform that made its plan (a
    #: subclass with its own `_sample` says so too; otherwise its images are decoded exactly).
    _sample_takes_planned = True

    def _sample(self, image: Any, index: int) -> tuple[Any, Any]:
        """Pair the image of sample ``index`` with its target, then apply the transforms."""
        target = self.target(index)
        if self.transform is not None:
            try:
                image = self.transform(image)
            except TypeError as error:
                # torchvision v1's ToTensor/PILToTensor refuse tensors ("pic should be PIL Image"): say
                # how to feed them, instead of torchvision's message from deep inside the transform.
                if "pic should be" in str(error) or (is_v1_transform(self.transform) and not _is_pil(image)):
                    raise v1_transform_error(self.transform, pair=False, cause=error) from error
                raise
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def _read(self, index: int) -> tuple[Any, int]:
        """The image of sample ``index``, or of its replacement under the on_error policy, and its index."""
        count = len(self)
        if not -count <= index < count:
            raise IndexError(f"index {index} is out of range for {count} samples")
        planner = self._planner()
        for attempt in range(count):
            current = (index + attempt) % count
            path = self.path(current)
            try:
                if not self.allow_outside_root:
                    self._check_inside_root(path)
                image = self._load(current, path, planner)
            except Exception as error:
                failure = (
                    error
                    if isinstance(error, self._sample_errors)
                    else ImageReadError(path, "the loader failed", f"{type(error).__name__}: {error}")
                )
                if self.on_error == "raise":
                    raise failure from (None if failure is error else error)
                self._record(path, failure)
                continue
            return image, current
        raise ImageReadError(self.root, "no readable image", f"all {count} samples failed; see .errors")

    #: The errors of a sample's own files that the on_error policy records as they are; any other error
    #: is reported as a failing loader.
    _sample_errors: tuple[type[Exception], ...] = (ImageReadError,)

    def _load(self, index: int, path: str, planner: Planner | None) -> Any:
        """What sample ``index`` reads from its files: its image (a reader of more files extends it)."""
        return self.load_image(path) if planner is None else read_planned(path, planner, strict=self.strict)

    def _planner(self) -> Planner | None:
        """The transform's ``decode_plan`` when images are decoded for it (see `scaled_decode`), else ``None``.

        Only for the default reading (no ``loader``, `load_image` not overridden) and datasets that
        call ``transform(image)``: the planned image goes to the transform that made the plan.
        """
        if self.loader is not None or self.scaled_decode is False or self.transform is None:
            return None
        if self.scaled_decode is None and not scaled_decode():
            return None
        # The classes that define the _sample and load_image in effect must say that they pass a
        # PlannedImage on and read files as the default does (a subclass's own load_image may read anything).
        if not (
            _declares(type(self), "_sample", "_sample_takes_planned")
            and (
                type(self).load_image is ImageFileDataset.load_image
                or _declares(type(self), "load_image", "_load_image_plans")
            )
        ):
            return None
        return decode_planner(self.transform)

    def _check_inside_root(self, path: str, root: str | None = None, cache: str = "_real_folders") -> None:
        # Resolving every component of every path costs about 40 µs a sample; folders are few, so
        # each folder is resolved once per process and only the file itself is checked for a link.
        # ``root`` (default: the dataset's) and ``cache`` serve a second tree, such as a masks folder.
        folders = self.__dict__.setdefault(cache, {})
        folder, name = os.path.split(path)
        if "" not in folders:
            folders[""] = os.path.realpath(self.root if root is None else root)
        real_root = folders[""]
        if folder not in folders:
            folders[folder] = os.path.realpath(folder)
        real = os.path.realpath(path) if os.path.islink(path) else os.path.join(folders[folder], name)
        if real != real_root and not real.startswith(real_root.rstrip(os.sep) + os.sep):
            raise ImageReadError(
                path,
                "outside the dataset root",
                f"a symbolic link leads to {real}, outside {real_root}; pass allow_outside_root=True to follow it",
            )

    def _record(self, path: str, failure: ImageReadError) -> None:
        first_time = path not in self.errors
        self.errors[path] = str(failure)
        if self.on_error == "warn" and first_time:
            warnings.warn(f"skipped {failure}", SkippedSampleWarning, stacklevel=3)

    def _split(self, fractions: Sequence[float], labels: np.ndarray | None, seed: int) -> list[Subset]:
        return split_dataset(self, fractions, labels, seed)


@functools.cache  # asked for every sample read: a class's answer never changes
def _declares(kind: type, method: str, flag: str) -> bool:
    """Whether the class of ``kind``'s MRO that defines ``method`` sets ``flag`` to true."""
    owner = next(base for base in kind.__mro__ if method in vars(base))
    return bool(vars(owner).get(flag))
