"""Semantic segmentation folders: ``SegmentationFolderDataset`` reads image/mask pairs; ``to_mask_folder`` writes them.

A mask folder holds one mask per image, matched by relative path without the
extension: ``images/a/b.jpg`` <-> ``masks/a/b.png`` (Pascal VOC's
``JPEGImages`` / ``SegmentationClass``, ADE20K's ``images`` / ``annotations``,
Cityscapes' ``leftImg8bit`` / ``gtFine`` with their name suffixes). Each mask
pixel is a class id; one value (``ignore_index``, 255 by default) marks void
pixels that a loss leaves out (``torch.nn.CrossEntropyLoss(ignore_index=255)``).

How a mask file gives class ids:

- a palette PNG (PIL mode ``"P"``, VOC's ``SegmentationClass``): its palette
  *indices*, never its colours;
- a grey-level PNG (``"L"``, Cityscapes ``*_labelIds``, ADE-style) or a 16-bit
  one (``"I;16"``): the values themselves;
- an RGB PNG: each colour looked up in ``palette=`` (a list of ``(r, g, b)``
  per class id, or a dict colour -> id); a colour not in it is a problem.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from visiondata._arguments import check_int, is_int
from visiondata._files import MAX_SPEC_BYTES, read_text_file, staged_output_dir
from visiondata.datasets._base import ImageFileDataset, class_names, refuse_duplicate_classes
from visiondata.datasets._index import PathIndex
from visiondata.datasets._walk import FolderWalk
from visiondata.exceptions import (
    DatasetFormatError,
    DatasetNotFoundError,
    DatasetValidationError,
    ImageReadError,
    SkippedSampleWarning,
)
from visiondata.formats._writing import (
    ConversionReport,
    StagedOutput,
    WriteRecord,
    check_images_mode,
    image_size,
    place_image,
    safe_name,
    source_inputs,
    unique_key,
    write_manifest,
)
from visiondata.io._plan import PlannedImage, read_planned
from visiondata.io._read import IMAGE_EXTENSIONS

#: The file beside ``masks_dir`` (in its parent folder) that names the class ids, one name a line.
CLASSES_FILE = "classes.txt"
#: The largest class id a mask file can hold (a 16-bit PNG).
MAX_MASK_ID = 65535

Colour = tuple[int, int, int]


def _plain(value: Any) -> Any:
    """A numpy integer as a Python ``int`` (ids read from arrays are numpy's); anything else as it is."""
    return int(value) if isinstance(value, np.integer) else value


def voc_palette(count: int = 256) -> list[Colour]:
    """The Pascal VOC colour map: the colour of class id ``i`` for ``i < count``.

    The bits of the id are spread over the three channels from the high bit
    down (VOCdevkit's ``labelcolormap``): 0 is black (background), 1
    ``(128, 0, 0)`` (aeroplane), 255 ``(224, 224, 192)`` (VOC's void border).

    Examples:
        >>> palette = voc_palette()
        >>> palette[0], palette[1], palette[15], palette[255]
        ((0, 0, 0), (128, 0, 0), (192, 128, 128), (224, 224, 192))
    """
    count = check_int("count", _plain(count), minimum=0, maximum=256, expected="a whole number from 0 to 256")
    colours = []
    for index in range(count):
        red = green = blue = 0
        value = index
        for bit in range(8):
            red |= ((value >> 0) & 1) << (7 - bit)
            green |= ((value >> 1) & 1) << (7 - bit)
            blue |= ((value >> 2) & 1) << (7 - bit)
            value >>= 3
        colours.append((red, green, blue))
    return colours


# ---------------------------------------------------------------- palettes
class _ColourLookup:
    """Colour -> class id for RGB masks, as sorted packed ``0xRRGGBB`` keys (a binary search per pixel)."""

    def __init__(self, palette: Any) -> None:
        pairs: list[tuple[Colour, int]] = []
        if isinstance(palette, Mapping):
            for colour, class_id in palette.items():
                if not is_int(_plain(class_id)):
                    raise TypeError(
                        f"palette: expected a class id (a whole number) for colour {colour!r}, got {class_id!r}"
                    )
                if not 0 <= int(class_id) <= MAX_MASK_ID:
                    raise ValueError(
                        f"palette: colour {colour!r}: expected a class id from 0 to {MAX_MASK_ID}, got {class_id}"
                    )
                pairs.append((_colour(colour, "palette key"), int(class_id)))
        elif isinstance(palette, (str, bytes)) or not isinstance(palette, Sequence):
            raise TypeError(
                "palette: expected a list of (r, g, b) colours, one per class id, or a dict (r, g, b) -> class "
                f"id, got {type(palette).__name__}"
            )
        else:
            pairs = [(_colour(colour, f"palette[{index}]"), index) for index, colour in enumerate(palette)]
        seen: dict[Colour, int] = {}
        for colour, class_id in pairs:
            if colour in seen and seen[colour] != class_id:
                raise ValueError(
                    f"palette: colour {colour} is given for class ids {seen[colour]} and {class_id}; expected one "
                    "id per colour (a mask pixel of that colour could not be told apart)"
                )
            seen[colour] = class_id
        packed = np.array([(r << 16) | (g << 8) | b for r, g, b in seen], dtype=np.int64)
        order = np.argsort(packed)
        self.keys = packed[order]
        self.ids = np.array(list(seen.values()), dtype=np.int64)[order]
        #: Class id -> colour (the first colour given for it), for writing palette PNGs.
        self.colours: dict[int, Colour] = {}
        for colour, class_id in pairs:
            self.colours.setdefault(class_id, colour)

    def __call__(self, path: object, rgb: np.ndarray) -> np.ndarray:
        """Class ids of an ``H x W x 3`` uint8 array; an unknown colour is a `DatasetFormatError`."""
        packed = (
            (rgb[..., 0].astype(np.int64) << 16)
            | (rgb[..., 1].astype(np.int64) << 8)
            | rgb[..., 2].astype(np.int64)
        )
        if len(self.keys) == 0:
            found = np.zeros(packed.shape, dtype=bool)
            position = np.zeros(packed.shape, dtype=np.int64)
        else:
            position = np.minimum(np.searchsorted(self.keys, packed), len(self.keys) - 1)
            found = self.keys[position] == packed
        if not found.all():
            colours, counts = np.unique(packed[~found], return_counts=True)
            order = np.argsort(-counts, kind="stable")
            listed = ", ".join(
                f"{_unpack(int(colours[i]))} ({int(counts[i])} pixel{'s' if counts[i] != 1 else ''})"
                for i in order[:5]
            )
            more = f" and {len(colours) - 5} more" if len(colours) > 5 else ""
            raise DatasetFormatError(
                f"{path}: mask: expected only the {len(self.keys)} colours of palette=, got {len(colours)} other "
                f"colour{'s' if len(colours) != 1 else ''}: {listed}{more}; add each colour to palette= (a class "
                "id, or ignore_index for void pixels), or fix the mask"
            )
        return self.ids[position]


def _colour(value: Any, where: str) -> Colour:
    """``value`` as an ``(r, g, b)`` tuple of 0..255 ints, or a named error."""
    try:
        channels = tuple(value)
        ok = len(channels) == 3 and all(is_int(_plain(c)) and 0 <= c <= 255 for c in channels)
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(
            f"{where}: expected an (r, g, b) colour of three whole numbers 0..255, got {value!r}"
        )
    return int(channels[0]), int(channels[1]), int(channels[2])


def _unpack(packed: int) -> Colour:
    return (packed >> 16) & 255, (packed >> 8) & 255, packed & 255


# ---------------------------------------------------------------- decoding one mask
def read_mask(
    path: str | os.PathLike[str],
    palette: Any = None,
    max_pixels: int | None = None,
    strict: bool | None = None,
) -> np.ndarray:
    """The class ids of a mask file as an ``H x W`` integer array (``uint8``, ``uint16`` or ``int64``).

    A palette PNG gives its indices (not its colours), a grey-level or 16-bit
    one its values, an RGB one the ids its colours have in ``palette`` (a list
    of ``(r, g, b)`` per id or a dict colour -> id). The file is read as
    [`read_image`][visiondata.io.read_image] reads images: special files and
    oversized files refused before opening, PIL's decompression-bomb limit
    (``max_pixels``), a strict decode (PNG chunk checksums), EXIF orientation.

    Raises:
        ImageReadError: The file is missing, not a regular file, damaged, too large or not an image.
        DatasetFormatError: An RGB mask without ``palette``, or with a colour not in it (the message
            names the colours and their pixel counts); a mode that holds no class ids.

    Examples:
        >>> import tempfile, pathlib
        >>> from PIL import Image
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "m.png"
        >>> mask = Image.new("P", (3, 1))
        >>> mask.putpalette([0, 0, 0, 128, 0, 0] + [224, 224, 192] * 254)
        >>> mask.putpixel((1, 0), 1); mask.putpixel((2, 0), 255)
        >>> mask.save(path)
        >>> read_mask(path).tolist()
        [[0, 1, 255]]
    """
    lookup = palette if isinstance(palette, _ColourLookup) or palette is None else _ColourLookup(palette)
    array = _decode(os.fspath(path), max_pixels, strict)
    if array.ndim == 3:
        if lookup is None:
            raise DatasetFormatError(
                f"{path}: mask: expected class ids (a palette 'P', grey-level 'L' or 16-bit PNG), got an RGB "
                "image; pass palette= (a list of (r, g, b) colours, one per class id, or a dict colour -> id) "
                "to read colour masks"
            )
        return lookup(path, array[..., :3])
    return array


def _decode(path: str, max_pixels: int | None, strict: bool | None) -> np.ndarray:
    """``H x W`` ids or ``H x W x 3`` RGB of the mask file, through the same checks as `read_image`."""
    from visiondata.io._read import decode_with_pil

    return decode_with_pil(path, lambda image: _ids_of(path, image), max_pixels, strict)


def _ids_of(path: str, image: Any) -> np.ndarray:
    mode = image.mode
    if mode in ("P", "L", "1"):
        return np.asarray(image).astype(np.uint8)  # "P": the indices, never the palette's colours
    if mode in ("PA", "LA"):
        return np.asarray(image)[..., 0].astype(np.uint8)
    if mode.startswith("I;16"):
        return np.asarray(image).astype(np.uint16)
    if mode == "I":
        values = np.asarray(image)
        if values.size and (values.min() < 0 or values.max() > MAX_MASK_ID):
            raise DatasetFormatError(
                f"{path}: mask: expected class ids from 0 to {MAX_MASK_ID}, got values from {int(values.min())} "
                f"to {int(values.max())}"
            )
        return values.astype(np.int64)
    if mode in ("RGB", "RGBA"):
        return np.asarray(image)
    raise DatasetFormatError(
        f"{path}: mask: expected a palette 'P', grey-level 'L', 16-bit 'I;16' or RGB image, got PIL mode {mode!r}; "
        "save the mask as a PNG of class ids"
    )


# ---------------------------------------------------------------- the reader
class SegmentationFolderDataset(ImageFileDataset):
    """Images and their semantic masks, in two folders matched by relative path without the extension.

    ``images_dir/a/b.jpg`` pairs with ``masks_dir/a/b.png``. Cityscapes-style
    names are matched by removing ``image_suffix`` and ``mask_suffix`` first
    (``x_leftImg8bit.png`` <-> ``x_gtFine_labelIds.png``); with a
    ``mask_suffix``, only files ending in it (before the extension) are masks,
    so Cityscapes' ``*_color.png`` and ``*_instanceIds.png`` beside them are not
    read. An image without a mask, a mask without an image, and two images (or
    masks) with one stem are *problems*: ``on_error="raise"`` raises one
    [`DatasetValidationError`][visiondata.exceptions.DatasetValidationError]
    listing them all; ``"skip"`` and ``"warn"`` leave those files out and list
    them in `problems`. Pairs are sorted by image path and held in numpy
    (`PathIndex`), so DataLoader workers share them without copying.

    Samples: ``(tv_tensors.Image, {"mask": tv_tensors.Mask, "image_id": int})``,
    the mask ``int64`` ``(H, W)`` of class ids, ``ignore_index`` kept as it is
    in the file, ``image_id`` the sample's index. `BoxPipeline` moves the mask
    with the image; ``transform`` is called as ``transform(image, target)``,
    as torchvision v2 transforms take it.

    Class ids come from the mask file (see [`read_mask`][visiondata.formats.read_mask]):
    palette PNGs give their indices, grey-level and 16-bit PNGs their values,
    RGB masks the id of each colour in ``palette``. Masks are checked when a
    sample is read (reading every mask at construction would take as long as
    an epoch): a mask of another size than its image, an RGB colour not in
    ``palette``, or (when ``classes`` is given) an id that is neither a class
    (``0..len(classes) - 1``) nor ``ignore_index`` is an error naming the files,
    under ``on_error`` as an unreadable image is (``"skip"``/``"warn"``: the
    next sample replaces it and `errors` records it). `check` reads every
    pair and lists every such problem at once.

    Args:
        images_dir: Folder of images (searched recursively).
        masks_dir: Folder of masks, laid out like ``images_dir``.
        classes: Class names, indexed by id. ``None``: the names in ``classes.txt`` beside
            ``masks_dir`` (in its parent folder, as [`to_mask_folder`][visiondata.formats.to_mask_folder]
            writes it) when there is one, else unnamed ids (not checked).
        palette: For RGB masks: a list of ``(r, g, b)`` colours, one per class id, or a dict
            ``(r, g, b) -> id`` (map void colours to ``ignore_index``). Palette PNGs ignore it.
        ignore_index: The id of void pixels (VOC's borders), exempt from the ``classes`` check;
            ``None`` for none.
        transform: Called as ``transform(image, target)``.
        target_transform: Applied to the target last.
        on_error: ``"raise"``, ``"skip"`` or ``"warn"``.
        extensions: Image file extensions (lower case).
        mask_extensions: Mask file extensions (lower case); PNG by default, as lossy formats cannot hold ids.
        image_suffix: Ending of image names removed before matching (Cityscapes: ``"_leftImg8bit"``).
        mask_suffix: Ending of mask names removed before matching (Cityscapes: ``"_gtFine_labelIds"``).
        allow_outside_root: Follow symbolic links that lead out of ``images_dir`` / ``masks_dir``.
        loader: Reads one image path; defaults to [`visiondata.io.read_image`][visiondata.io.read_image].
        strict: Strict decoding of images and masks (``None``: the process default).
        scaled_decode: Decode each JPEG for the output when the transform offers a plan (a
            ``BoxPipeline`` starting with a resize or resized crop, ``presets.detection_train``): ``None``
            (default) follows ``visiondata.io.set_scaled_decode``, ``False`` decodes every image exactly.
        stems: Only these names (relative paths without the extension and suffixes, as Pascal VOC's
            ``ImageSets/Segmentation/<split>.txt`` lists them) are read, in the folders' order; the other
            files are not looked at. A listed name without an image is a problem, as is one without a mask.

    Raises:
        DatasetNotFoundError: A folder does not exist.
        DatasetValidationError: Pairing problems under ``on_error="raise"`` (all listed).
        ValueError: ``images_dir`` and ``masks_dir`` are one folder and ``mask_suffix`` is empty, or
            an argument is out of range.

    Examples:
        >>> import tempfile, pathlib
        >>> from PIL import Image
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> (root / "images").mkdir(); (root / "masks").mkdir()
        >>> Image.new("RGB", (4, 2), (9, 9, 9)).save(root / "images" / "a.jpg")
        >>> mask = Image.new("P", (4, 2)); mask.putpalette(sum(voc_palette(), ()))
        >>> mask.putpixel((0, 0), 1); mask.putpixel((3, 1), 255)
        >>> mask.save(root / "masks" / "a.png")
        >>> dataset = SegmentationFolderDataset(root / "images", root / "masks", classes=["bg", "kiwi"])
        >>> image, target = dataset[0]
        >>> image.shape, target["mask"].dtype, target["mask"].tolist()
        (torch.Size([3, 2, 4]), torch.int64, [[1, 0, 0, 0], [0, 0, 0, 255]])
    """

    task = "segmentation"

    def __init__(
        self,
        images_dir: str | os.PathLike[str],
        masks_dir: str | os.PathLike[str],
        classes: Sequence[str] | None = None,
        palette: Sequence[Sequence[int]] | Mapping[Any, int] | None = None,
        ignore_index: int | None = 255,
        transform: Callable[..., Any] | None = None,
        target_transform: Callable[[Any], Any] | None = None,
        on_error: str = "raise",
        extensions: Sequence[str] = IMAGE_EXTENSIONS,
        mask_extensions: Sequence[str] = (".png",),
        image_suffix: str = "",
        mask_suffix: str = "",
        allow_outside_root: bool = False,
        loader: Callable[[str], Any] | None = None,
        strict: bool | None = None,
        stems: Sequence[str] | None = None,
        scaled_decode: bool | None = None,
    ) -> None:
        super().__init__(images_dir, transform, target_transform, on_error, loader, strict, scaled_decode)
        self.allow_outside_root = allow_outside_root
        if stems is not None and (isinstance(stems, str) or not all(isinstance(stem, str) for stem in stems)):
            raise TypeError(
                f"stems: expected a list of names (relative paths without the extension, as VOC's "
                f"ImageSets/Segmentation/<split>.txt lists them), got {stems!r}"
            )
        #: The names read (``None``: every pair of the folders).
        self.stems: list[str] | None = None if stems is None else list(dict.fromkeys(stems))
        self.masks_dir = str(Path(masks_dir).expanduser())
        if ignore_index is not None:
            ignore_index = check_int(
                "ignore_index",
                _plain(ignore_index),
                minimum=0,
                maximum=MAX_MASK_ID,
                expected=f"None or the id of void pixels in the mask files (0..{MAX_MASK_ID}, 255 for VOC)",
            )
        #: The id of void pixels, kept as it is in the masks; ``None``: none.
        self.ignore_index = ignore_index
        #: The RGB palette given (``None`` when masks hold ids).
        self.palette = palette
        self._lookup = None if palette is None else _ColourLookup(palette)
        for name, value in (("image_suffix", image_suffix), ("mask_suffix", mask_suffix)):
            if not isinstance(value, str) or any(sep in value for sep in ("/", os.sep)):
                raise ValueError(f"{name}: expected the end of a file name (no folder), got {value!r}")
        self.image_suffix, self.mask_suffix = image_suffix, mask_suffix
        self.extensions = _extensions(extensions, "extensions")
        self.mask_extensions = _extensions(mask_extensions, "mask_extensions")
        #: The ``classes.txt`` the names were read from, or ``None``.
        self.classes_file: str | None = None
        if classes is None:
            candidate = Path(self.masks_dir).parent / CLASSES_FILE
            if os.path.lexists(candidate):
                text = read_text_file(candidate, "class list", MAX_SPEC_BYTES)
                classes = [line.strip() for line in text.splitlines() if line.strip()]
                self.classes_file = str(candidate)
        #: Class names indexed by id, or ``None`` (unnamed ids).
        self.classes: list[str] | None = None if classes is None else class_names(classes)
        if self.classes is not None:
            refuse_duplicate_classes(self.classes, self.classes_file or self.masks_dir)
        #: Pairing problems found at construction (under ``on_error="skip"``/``"warn"``).
        self.problems: list[str] = []
        #: Hidden files and folders not read (names starting with ``.``).
        self.hidden: list[str] = []
        problems: list[str] = []
        images, masks = self._pair(problems)
        self._images = PathIndex(images)
        self._masks = PathIndex(masks)
        self._settle(problems)

    # -- building the index
    def _pair(self, problems: list[str]) -> tuple[list[str], list[str]]:
        for folder, argument in ((self.root, "images_dir"), (self.masks_dir, "masks_dir")):
            if not os.path.isdir(folder):
                found = "a file" if os.path.exists(folder) else "nothing"
                raise DatasetNotFoundError(f"{folder}: {argument}: expected a folder, found {found}")
        same = os.path.realpath(self.root) == os.path.realpath(self.masks_dir)
        if same and not self.mask_suffix:
            raise ValueError(
                f"{self.root}: images_dir and masks_dir are the same folder; expected mask_suffix= to tell the "
                "masks from the images (a.jpg <-> a_mask.png needs mask_suffix='_mask'), or separate folders"
            )
        wanted = None if self.stems is None else set(self.stems)
        mask_walk = FolderWalk(self.masks_dir)
        mask_keys: dict[str, list[str]] = {}
        for relative in mask_walk.files(
            self.masks_dir, os.path.basename(self.masks_dir), self.mask_extensions, []
        ):
            stem = os.path.splitext(relative)[0]
            if self.mask_suffix:
                if not stem.endswith(self.mask_suffix):
                    continue  # another kind of file (Cityscapes' *_color.png): not a mask of this dataset
                stem = stem[: -len(self.mask_suffix)]
            if wanted is not None and stem not in wanted:
                continue  # not in the split listed
            mask_keys.setdefault(stem, []).append(relative)
        walk = FolderWalk(self.root)
        image_keys: dict[str, list[str]] = {}
        order: list[str] = []
        mask_files = {path for paths in mask_keys.values() for path in paths} if same else set()
        for relative in walk.files(self.root, os.path.basename(self.root), self.extensions, self.hidden):
            if relative in mask_files:
                continue
            stem = os.path.splitext(relative)[0]
            if self.image_suffix:
                if not stem.endswith(self.image_suffix):
                    problems.append(
                        f"{os.path.join(self.root, relative)}: expected an image name ending in image_suffix "
                        f"{self.image_suffix!r} (before the extension), got {os.path.basename(relative)!r}; "
                        "rename it or remove it from the folder"
                    )
                    continue
                stem = stem[: -len(self.image_suffix)]
            if wanted is not None and stem not in wanted:
                continue
            if stem not in image_keys:
                order.append(stem)
            image_keys.setdefault(stem, []).append(relative)
        problems += [*walk.loops, *walk.unlisted, *mask_walk.loops, *mask_walk.unlisted]
        images: list[str] = []
        masks: list[str] = []
        for stem in order:
            found = image_keys[stem]
            if len(found) > 1:
                problems.append(
                    f"{self.root}: images {', '.join(found)} share the name {stem!r}: expected one image per "
                    "mask (they would share one); rename or remove all but one"
                )
                continue
            candidates = mask_keys.get(stem, [])
            if len(candidates) > 1:
                problems.append(
                    f"{self.masks_dir}: masks {', '.join(candidates)} share the name {stem!r}: expected one mask "
                    f"per image ({found[0]}); remove all but one"
                )
                continue
            if not candidates:
                expected = f"{stem}{self.mask_suffix}{self.mask_extensions[0]}"
                problems.append(
                    f"{os.path.join(self.root, found[0])}: image without a mask: expected "
                    f"{os.path.join(self.masks_dir, expected)}; add the mask or remove the image"
                )
                continue
            images.append(found[0])
            masks.append(candidates[0])
        for stem in self.stems or ():
            if stem not in image_keys and stem not in mask_keys:
                problems.append(
                    f"{self.root}: {stem!r} is listed, but has no image and no mask: expected an image "
                    f"{stem}{self.image_suffix}.<{'|'.join(ext.lstrip('.') for ext in self.extensions[:4])}...> "
                    "and its mask; add them or remove the name from the list"
                )
        for stem, paths in mask_keys.items():
            if stem not in image_keys:
                for path in paths:
                    problems.append(
                        f"{os.path.join(self.masks_dir, path)}: mask without an image: expected an image "
                        f"{stem}{self.image_suffix}.<{'|'.join(ext.lstrip('.') for ext in self.extensions[:4])}...> "
                        f"in {self.root}; add the image or remove the mask"
                    )
        if not images and not problems:
            problems.append(
                f"{self.root}: no image/mask pairs found (image extensions {', '.join(self.extensions)}, mask "
                f"extensions {', '.join(self.mask_extensions)} in {self.masks_dir})"
            )
        return images, masks

    def _settle(self, problems: list[str]) -> None:
        if not problems:
            return
        if self.on_error == "raise":
            raise DatasetValidationError(f"{self.root} + {self.masks_dir}", problems)
        self.problems = problems
        if self.on_error == "warn":
            warnings.warn(
                f"{self.root}: left out files for {len(problems)} problem{'s' if len(problems) != 1 else ''} "
                f"(see .problems); the first: {problems[0]}",
                SkippedSampleWarning,
                stacklevel=3,
            )

    # -- the index
    @property
    def paths(self) -> PathIndex:  # type: ignore[override]
        """Image paths relative to ``images_dir``, in sample order."""
        return self._images

    @property
    def mask_paths(self) -> PathIndex:
        """Mask paths relative to ``masks_dir``, in sample order."""
        return self._masks

    def mask_path(self, index: int) -> str:
        """Full path of the mask of sample ``index``."""
        return os.path.join(self.masks_dir, self._masks[index])

    def mask(self, index: int) -> np.ndarray:
        """The class ids of sample ``index``'s mask, checked against ``classes`` (``H x W``, not transformed).

        Raises:
            ImageReadError: The mask file cannot be read, or leads outside ``masks_dir``.
            DatasetFormatError: An RGB colour not in ``palette``, or an id that is neither a class nor
                ``ignore_index``.
        """
        path = self.mask_path(index)
        if not self.allow_outside_root:
            self._check_inside_root(path, self.masks_dir, "_real_mask_folders")
        ids = read_mask(path, self._lookup, strict=self.strict)
        if self.classes is not None:
            self._check_ids(path, ids)
        return ids

    def _check_ids(self, path: str, ids: np.ndarray) -> None:
        limit = len(self.classes or ())
        top = int(ids.max()) if ids.size else 0
        if top < limit:
            return
        values, counts = np.unique(ids[ids >= limit], return_counts=True)
        keep = values != (-1 if self.ignore_index is None else self.ignore_index)
        values, counts = values[keep], counts[keep]
        if not len(values):
            return
        listed = ", ".join(
            f"{int(v)} ({int(c)} pixel{'s' if c != 1 else ''})"
            for v, c in zip(values[:5], counts[:5], strict=True)
        )
        void = "" if self.ignore_index is None else f" or ignore_index {self.ignore_index}"
        raise DatasetFormatError(
            f"{path}: mask: expected class ids 0..{limit - 1} ({limit} classes){void}, got {listed}"
            f"{' and more' if len(values) > 5 else ''}; fix the mask, or pass classes= naming every id"
        )

    # -- samples
    def target(self, index: int) -> dict[str, Any]:
        """``{"mask": tv_tensors.Mask int64 (H, W), "image_id": index}`` (the mask decoded and checked)."""
        import torch
        from torchvision import tv_tensors

        count = len(self)
        if not -count <= index < count:
            raise IndexError(f"index {index} is out of range for {count} samples")
        index %= count
        ids = self.mask(index)
        return {"mask": tv_tensors.Mask(torch.from_numpy(ids.astype(np.int64))), "image_id": index}

    # A mask that cannot be read, or of another size than its image, is the sample's own problem:
    # recorded under the on_error policy as an unreadable image is.
    _sample_errors = (ImageReadError, DatasetFormatError)

    def _load(self, index: int, path: str, planner: Any) -> tuple[Any, Any]:
        image = self.load_image(path) if planner is None else read_planned(path, planner, strict=self.strict)
        target = self.target(index)
        self._check_size(index, image, target["mask"])
        return image, target

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        (image, target), current = self._read(index)
        return self._sample(image, current, target)

    def _check_size(self, index: int, image: Any, mask: Any) -> None:
        if isinstance(image, PlannedImage):  # decoded for the transform's plan: the mask is at full size
            size = image.full_size
        else:
            size = tuple(image.size[::-1]) if hasattr(image, "getpixel") else tuple(image.shape[-2:])
        if tuple(mask.shape[-2:]) != size:
            raise DatasetFormatError(self.size_problem(index, size, tuple(mask.shape[-2:])))

    def size_problem(self, index: int, image_size: Sequence[int], mask_size: Sequence[int]) -> str:
        """The message for pair ``index`` whose mask (``mask_size``, height x width) differs from its image's.

        ``visiondata check`` compares the mask with the image's header size (no image decode) and
        reports this line, as reading the sample raises it.
        """
        return (
            f"{self.mask_path(index)}: mask: expected the size of its image {self.path(index)}, "
            f"{image_size[1]}x{image_size[0]} (width x height), got {mask_size[-1]}x{mask_size[-2]}; the mask "
            "must cover the image pixel for pixel"
        )

    _sample_takes_planned = True

    def _sample(self, image: Any, index: int, target: Any = None) -> tuple[Any, Any]:  # type: ignore[override]
        from torchvision import tv_tensors
        from torchvision.transforms.v2 import functional

        if target is None:
            target = self.target(index)
        if not isinstance(image, (tv_tensors.Image, PlannedImage)):
            image = functional.to_image(image) if hasattr(image, "getpixel") else tv_tensors.Image(image)
        if self.transform is not None:
            image, target = self.transform(image, target)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def check(self, progress: bool = False) -> list[str]:
        """Read every pair and list every problem: the pairing ones (`problems`), then each unreadable image or
        mask, size mismatch, unknown colour and id out of range, one line each. Raises nothing."""
        import sys

        from tqdm.auto import tqdm

        found = list(self.problems)
        for index in tqdm(range(len(self)), desc="checking", disable=not progress, file=sys.stderr):
            try:
                path = self.path(index)
                if not self.allow_outside_root:
                    self._check_inside_root(path)
                image = self.load_image(path)
                self._check_size(index, image, self.mask(index))
            except Exception as error:  # every problem is reported, none stops the check
                found.append(str(error))
        return found

    def __repr__(self) -> str:
        classes = "unnamed ids" if self.classes is None else f"{len(self.classes)} classes"
        return f"{type(self).__name__}({self.root!r}, {self.masks_dir!r}, {len(self)} pairs, {classes})"


def _extensions(values: Sequence[str], argument: str) -> tuple[str, ...]:
    if isinstance(values, str):
        values = (values,)
    result = tuple(value.lower() if value.startswith(".") else f".{value.lower()}" for value in values)
    if not result:
        raise ValueError(f"{argument}: expected at least one file extension such as '.png', got none")
    return result


# ---------------------------------------------------------------- the writer
def to_mask_folder(
    dataset: Any,
    out_dir: str | os.PathLike[str],
    images: str = "copy",
    palette: Sequence[Sequence[int]] | Mapping[Any, int] | None = None,
    overwrite: bool = False,
    progress: bool = False,
    ignore_index: int = 255,
) -> ConversionReport:
    """Write a segmentation dataset as a mask folder: ``images/``, ``masks/`` and ``classes.txt``.

    The source is a [`SegmentationFolderDataset`][visiondata.formats.SegmentationFolderDataset]
    (its image files copied byte for byte, or linked), any dataset of
    ``(image, {"mask": ...})`` or ``(image, mask)`` samples (the catalog's
    ``voc_segmentation``), whose images are written as PNG, or a detection
    reader of files whose objects have shapes (COCO polygons and RLE, YOLO
    segment lines, CVAT, LabelMe, Label Studio): each image's semantic mask
    is drawn from its objects (see below). Each mask is written under
    ``masks/`` with its image's relative path and ``.png``:

    - ids up to 255 (``ignore_index`` 255 included) as a palette PNG whose
      *indices* are the ids, coloured by ``palette`` (default: the source's
      RGB palette when it has one, else [`voc_palette`][visiondata.formats.voc_palette]),
      as VOC's ``SegmentationClass``;
    - larger ids (up to 65535) as a 16-bit grey-level PNG.

    [`SegmentationFolderDataset`][visiondata.formats.SegmentationFolderDataset]
    reads the output back with the same ids, images and class names
    (``classes.txt``, one name a line, written when the source has classes).
    A sample that cannot be written (an unreadable file, a mask of another
    size than its image, negative or too large ids) is left out and listed
    in the report's ``skipped``.

    From a detection reader: class id 0 is the background (``classes.txt``
    starts with ``background``), each class of the source follows in label
    order (the source's label ``first + k`` becomes id ``k + 1``; ``first`` is 1
    when its label 0 is ``__background__``). Crowd regions (``iscrowd=1``) are
    drawn first, as ``ignore_index`` (void: a loss leaves them out), then the
    other objects in the source's order, a later object over an earlier one
    where they overlap. An object's shape is its polygon (a pixel belongs to
    it when its centre is inside), a COCO segmentation in parts or RLE, or a
    CVAT raster mask; an object with a box only (no shape) is not drawn and is
    counted in ``fields_left_out["box without polygon or mask"]``. An image
    without objects gets an all-background mask (counted in ``empty_images``).
    ``boxes`` counts the objects drawn, crowd regions included.

    The output is built beside ``out_dir`` and renamed into place when
    complete, with ``visiondata-conversion.json`` written last.

    Args:
        dataset: The segmentation samples.
        out_dir: Output folder: new or empty, apart from the source's files and folders.
        images: ``"copy"``, ``"link"`` or ``"symlink"`` (for sources with files).
        palette: Colours of the palette PNGs: a list of ``(r, g, b)`` per id or a dict colour -> id;
            ids it leaves out take the VOC colours.
        overwrite: Replace an ``out_dir`` that holds files (whole, once the new output is complete).
        progress: Show a progress bar.
        ignore_index: From a detection reader: the id of crowd regions (void pixels), 0..65535 and
            above the last class id.

    Returns:
        A [`ConversionReport`][visiondata.formats.ConversionReport] (format ``"mask_folder"``; ``boxes``:
        the objects drawn from a detection reader, else 0).

    Raises:
        OutputConflictError: ``out_dir`` is, holds or lies inside an input, is not a folder, or holds
            files and ``overwrite`` is false. Nothing is written.
        ValueError: A source of files with a ``transform`` (the files are copied as they are), or an
            ``ignore_index`` that is a class id of a detection source.

    Examples:
        >>> import tempfile, pathlib, torch
        >>> from torchvision import tv_tensors
        >>> samples = [(tv_tensors.Image(torch.zeros(3, 2, 2, dtype=torch.uint8)),
        ...             {"mask": tv_tensors.Mask(torch.tensor([[0, 1], [255, 1]]))})]
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "out"
        >>> report = to_mask_folder(samples, out)
        >>> report.images, sorted(p.name for p in out.iterdir())
        (1, ['images', 'masks', 'visiondata-conversion.json'])
        >>> SegmentationFolderDataset(out / "images", out / "masks")[0][1]["mask"].tolist()
        [[0, 1], [255, 1]]
    """
    from tqdm.auto import tqdm

    check_images_mode(images)
    if _drawn_source(dataset):
        return _objects_to_mask_folder(
            dataset, Path(out_dir), images, palette, overwrite, progress, ignore_index
        )
    files = _file_source(dataset)
    if files is not None and files[0].transform is not None:
        raise ValueError(
            f"{type(files[0]).__name__} has a transform: the image files are copied as they are, so their masks "
            "must be too; build the dataset without transform= to convert it"
        )
    classes = getattr(files[0] if files else dataset, "classes", None)
    names = [] if classes is None else [str(name) for name in classes]
    colours = _write_palette(palette, files[0] if files else dataset)
    out = Path(out_dir)
    report = ConversionReport(str(out), "mask_folder", classes=names)
    report.source_problems = list(getattr(files[0] if files else dataset, "problems", []) or [])
    inputs = _inputs(dataset)
    taken: set[str] = set()
    with staged_output_dir(out, inputs, overwrite) as staging:
        output = StagedOutput(staging)
        for index in tqdm(range(len(dataset)), desc="converting", unit="image", disable=not progress):
            try:
                record, ids = _file_pair(files, index) if files else _decoded_pair(dataset, index)
                encoded = _encode_mask(record.name, ids, colours)
            except (OSError, ValueError) as error:
                report.skipped.append(f"sample {index}: {error}")
                continue
            name = unique_key(safe_name(record.name), taken)
            place_image(record, output.path(f"images/{name.as_posix()}"), images, report)
            mask_path = output.path(f"masks/{name.with_suffix('.png').as_posix()}")
            mask_path.parent.mkdir(parents=True, exist_ok=True)
            mask_path.write_bytes(encoded)
            report.images += 1
        if names:
            output.write_text(CLASSES_FILE, "".join(f"{name}\n" for name in names))
        write_manifest(output, report, dataset, inputs)
    return report


def _drawn_source(dataset: Any) -> bool:
    """Whether ``dataset`` is a detection reader of files whose objects give shapes (``polygons``)."""
    from visiondata.formats._writing import has_files

    return (
        not isinstance(dataset, SegmentationFolderDataset)
        and has_files(dataset)
        and callable(getattr(dataset, "polygons", None))
    )


#: The ``fields_left_out`` name of the objects drawn nowhere: a box without a polygon or mask has no pixels.
NO_SHAPE = "box without polygon or mask"


def _objects_to_mask_folder(
    dataset: Any,
    out: Path,
    images: str,
    palette: Any,
    overwrite: bool,
    progress: bool,
    ignore_index: int,
) -> ConversionReport:
    """`to_mask_folder` of a detection reader: one semantic mask per image, drawn from its objects' shapes."""
    from visiondata.formats._writing import note_losses, start_writing, write_records

    names, first, out, report, inputs = start_writing(dataset, out, "mask_folder", images)
    classes = report.classes = ["background", *names[first:]]
    ignore_index = check_int(
        "ignore_index",
        _plain(ignore_index),
        minimum=0,
        maximum=MAX_MASK_ID,
        expected=f"the id of void pixels (crowd regions), 0..{MAX_MASK_ID}",
    )
    if ignore_index < len(classes):
        raise ValueError(
            f"ignore_index: expected an id above the {len(classes)} class ids (0 background, 1..{len(classes) - 1} "
            f"the classes), got {ignore_index}; pass a larger ignore_index (the masks become 16-bit above 255)"
        )
    colours = _write_palette(palette, dataset)
    taken: set[str] = set()
    dtype = np.uint8 if ignore_index <= 255 else np.uint16
    with staged_output_dir(out, inputs, overwrite) as staging:
        output = StagedOutput(staging)
        for index, record in write_records(dataset, progress, report, names, first):
            try:
                ids = _draw_objects(dataset, index, record, first, ignore_index, dtype, report)
                encoded = _encode_mask(record.name, ids, colours)
            except (OSError, ValueError) as error:
                report.skipped.append(f"sample {index}: {error}")
                continue
            # What a mask cannot hold (keypoints, difficult...): crowds are void pixels, areas the pixels.
            note_losses(record, report)
            name = unique_key(safe_name(record.name), taken)
            place_image(record, output.path(f"images/{name.as_posix()}"), images, report)
            mask_path = output.path(f"masks/{name.with_suffix('.png').as_posix()}")
            mask_path.parent.mkdir(parents=True, exist_ok=True)
            mask_path.write_bytes(encoded)
            report.images += 1
        output.write_text(CLASSES_FILE, "".join(f"{name}\n" for name in classes))
        write_manifest(output, report, dataset, inputs)
    return report


def _draw_objects(
    dataset: Any,
    index: int,
    record: WriteRecord,
    first: int,
    ignore_index: int,
    dtype: Any,
    report: ConversionReport,
) -> np.ndarray:
    """The semantic mask of image ``index``: crowd regions as ``ignore_index``, then each object over the earlier."""
    height, width = record.height, record.width
    count = len(record.boxes)
    ids = np.zeros((height, width), dtype=dtype)
    if count == 0:
        return ids
    polygons = list(dataset.polygons(index))[:count]
    mask_only = getattr(dataset, "mask_only", None)
    raster = list(mask_only(index))[:count] if callable(mask_only) else [False] * count
    crowd = np.asarray(record.fields.get("iscrowd", np.zeros(count))).reshape(-1)[:count] != 0
    # Crowd regions first: an object drawn later keeps its pixels where a crowd region overlaps it.
    order = [*np.flatnonzero(crowd).tolist(), *np.flatnonzero(~crowd).tolist()]
    for box in order:
        pixels = _object_pixels(dataset, index, box, polygons[box], raster[box], height, width)
        if pixels is None:
            report.fields_left_out[NO_SHAPE] = report.fields_left_out.get(NO_SHAPE, 0) + 1
            continue
        ids[pixels] = ignore_index if crowd[box] else int(record.labels[box]) - first + 1
        report.boxes += 1
    return ids


def _object_pixels(
    dataset: Any, index: int, box: int, polygon: Any, raster: bool, height: int, width: int
) -> np.ndarray | None:
    """A boolean ``(height, width)`` mask of object ``box`` of image ``index``, or ``None`` when it has no shape."""
    from visiondata.datasets._detection import rasterize_polygon

    if polygon is not None and len(polygon) >= 3:
        return rasterize_polygon(np.asarray(polygon, dtype=np.float64), height, width).astype(bool)
    if not raster:
        return None
    segmentations = getattr(dataset, "_box_segmentations", None)
    if callable(segmentations):  # COCO: a polygon in parts, or RLE
        return _coco_pixels(segmentations(index)[box], height, width)
    points = getattr(dataset, "_shape_points", None)
    offsets = getattr(dataset, "_shape_offsets", None)
    if points is not None and offsets is not None:  # CVAT <mask>: a region's runs (ShapeDetectionDataset)
        from visiondata.formats._shapes import _rle

        row = int(dataset.index.offsets[dataset._position(index)]) + box
        return _rle(points[offsets[row] : offsets[row + 1]], height, width).astype(bool)
    return None


def _coco_pixels(segmentation: Any, height: int, width: int) -> np.ndarray | None:
    """The pixels of a COCO ``segmentation``: polygons (drawn here) or RLE (decoded by pycocotools)."""
    from visiondata.datasets._detection import rasterize_polygon

    if isinstance(segmentation, list):
        pixels = np.zeros((height, width), dtype=bool)
        for part in segmentation:
            flat = np.asarray(part, dtype=np.float64).reshape(-1, 2)
            pixels |= rasterize_polygon(flat, height, width).astype(bool)
        return pixels
    if not isinstance(segmentation, Mapping):
        return None
    try:
        from pycocotools import mask as coco_mask
    except ImportError as error:
        raise ValueError(
            "a COCO RLE segmentation needs pycocotools to be drawn: install it (pip install pycocotools)"
        ) from error
    if isinstance(segmentation.get("counts"), list):
        rle = coco_mask.frPyObjects(dict(segmentation), height, width)
    else:
        rle = {"size": segmentation["size"], "counts": str(segmentation["counts"]).encode("ascii")}
    pixels = coco_mask.decode(rle)
    if pixels.shape[:2] != (height, width):
        raise ValueError(
            f"COCO RLE segmentation: expected the image's size {width}x{height} (width x height), got "
            f"{pixels.shape[1]}x{pixels.shape[0]}; fix its size or the image"
        )
    return pixels.astype(bool)


def _file_source(dataset: Any) -> tuple[SegmentationFolderDataset, list[int] | None] | None:
    """The mask folder behind ``dataset`` (itself, or a ``Subset`` of one) and the indices, or ``None``."""
    if isinstance(dataset, SegmentationFolderDataset):
        return dataset, None
    inner = getattr(dataset, "dataset", None)
    indices = getattr(dataset, "indices", None)
    if isinstance(inner, SegmentationFolderDataset) and indices is not None:
        return inner, [int(i) for i in indices]
    return None


def _inputs(dataset: Any) -> list[str]:
    """Every folder the source reads (images and masks, and the folders of each): the output stays apart."""
    inputs = list(source_inputs(dataset))
    parts = [dataset, getattr(dataset, "dataset", None), *(getattr(dataset, "datasets", None) or [])]
    for part in parts:
        if isinstance(part, SegmentationFolderDataset):
            inputs += [part.root, part.masks_dir]
            folders = {os.path.dirname(part.path(i)) for i in range(len(part))}
            folders |= {os.path.dirname(part.mask_path(i)) for i in range(len(part))}
            inputs += sorted(folders)
        elif part is not None and part is not dataset:
            inputs += _inputs(part)
    return list(dict.fromkeys(inputs))


def _file_pair(
    files: tuple[SegmentationFolderDataset, list[int] | None], position: int
) -> tuple[WriteRecord, np.ndarray]:
    source, indices = files
    index = position if indices is None else indices[position]
    path = source.path(index)
    if not source.allow_outside_root:
        source._check_inside_root(path)
    height, width = image_size(path)
    ids = source.mask(index)
    if ids.shape != (height, width):
        raise ValueError(
            f"{source.mask_path(index)}: mask: expected the size of its image {path}, {width}x{height}, got "
            f"{ids.shape[1]}x{ids.shape[0]}"
        )
    return _record(source.relative_path(index), path, None, height, width, index), ids


def _decoded_pair(dataset: Any, index: int) -> tuple[WriteRecord, np.ndarray]:
    image, target = dataset[index]
    mask = target.get("mask") if isinstance(target, Mapping) else target
    if mask is None or not hasattr(mask, "shape"):
        raise ValueError("not a segmentation sample: expected (image, {'mask': ...}) or (image, mask)")
    ids = np.asarray(mask.detach().cpu() if hasattr(mask, "detach") else mask)
    if ids.ndim == 3 and ids.shape[0] == 1:
        ids = ids[0]
    if hasattr(image, "getpixel"):  # PIL (the catalog without a transform)
        from torchvision.transforms.v2 import functional

        image = functional.pil_to_tensor(image)
    height, width = (int(side) for side in image.shape[-2:])
    if ids.shape != (height, width):
        raise ValueError(
            f"mask: expected the image's height x width ({height}, {width}), got shape {ids.shape}"
        )
    return _record(f"{index:08d}.png", None, image, height, width, index), ids


def _record(name: str, source: str | None, image: Any, height: int, width: int, index: int) -> WriteRecord:
    return WriteRecord(
        name, source, image, height, width, np.zeros((0, 4)), np.zeros(0, dtype=np.int64), {}, index
    )


def _write_palette(palette: Any, dataset: Any) -> list[Colour]:
    """256 colours for the palette PNGs: ``palette`` (or the source's RGB palette), the VOC colours elsewhere."""
    colours = voc_palette()
    given = palette if palette is not None else getattr(dataset, "palette", None)
    if given is None:
        return colours
    for class_id, colour in _ColourLookup(given).colours.items():
        if class_id < 256:
            colours[class_id] = colour
    return colours


def _encode_mask(name: str, ids: np.ndarray, colours: list[Colour]) -> bytes:
    """PNG bytes of ``ids``: a palette PNG of indices when they fit in 256, else 16-bit grey-level."""
    from PIL import Image

    if not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"{name}: mask: expected integer class ids, got dtype {ids.dtype}")
    low, high = (int(ids.min()), int(ids.max())) if ids.size else (0, 0)
    if low < 0 or high > MAX_MASK_ID:
        raise ValueError(
            f"{name}: mask: expected class ids from 0 to {MAX_MASK_ID} (what a PNG holds), got values from {low} "
            f"to {high}"
        )
    buffer = io.BytesIO()
    if high <= 255:
        # The ids are the palette indices; the colours only show the classes to people (as VOC's).
        paletted = Image.frombytes(
            "P", (ids.shape[1], ids.shape[0]), np.ascontiguousarray(ids, dtype=np.uint8).tobytes()
        )
        paletted.putpalette([channel for colour in colours for channel in colour])
        paletted.save(buffer, format="PNG")
    else:
        Image.fromarray(np.ascontiguousarray(ids, dtype=np.uint16)).save(buffer, format="PNG")
    return buffer.getvalue()


__all__ = ["SegmentationFolderDataset", "read_mask", "to_mask_folder", "voc_palette"]
