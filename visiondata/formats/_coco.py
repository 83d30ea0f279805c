"""COCO: ``CocoDetectionDataset`` reads an annotation file into a flat index; ``to_coco`` writes one.

The JSON file is decoded by msgspec straight into typed records of the few
fields a detector needs (segmentations only with ``masks=True``, keypoints
as JSON text decoded together for the annotations kept), then
into numpy arrays; no Python dict per annotation survives construction.
On a file of COCO train2017's shape this builds several times faster than
pycocotools and holds a small fraction of its memory (``docs/performance.md``).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

import msgspec
import numpy as np
import torch
from torchvision import tv_tensors

from visiondata._files import (
    MAX_DATASET_FILE_BYTES,
    read_regular_file,
    staged_output_dir,
)
from visiondata.datasets._base import BACKGROUND, check_path, class_names, refuse_duplicate_classes
from visiondata.datasets._detection import (
    DetectionFileDataset,
    DetectionIndex,
    box_problems,
    keypoint_problems,
    release_freed_memory,
)
from visiondata.datasets._index import PathIndex, smallest_int_type
from visiondata.exceptions import DatasetFormatError, DatasetNotFoundError, MissingDependencyError
from visiondata.formats._writing import (
    ConversionReport,
    StagedOutput,
    WriteRecord,
    has_files,
    note_losses,
    note_oriented_left_out,
    place_image,
    safe_name,
    start_writing,
    unique_name,
    write_manifest,
    write_records,
)

_SHOWN_NAME = 40


# Ids are stored as int64 and sizes as int32: a value beyond them is refused by the schema, with its
# place in the file, instead of overflowing numpy later (msgspec accepts integers up to 2**64 - 1).
_Id = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
_Side = Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)]


class _Image(msgspec.Struct):
    id: _Id
    file_name: str
    width: _Side = 0
    height: _Side = 0


class _Category(msgspec.Struct):
    id: _Id
    name: str
    # A keypoints file's (person_keypoints_*.json): checked only when keypoints are read.
    keypoints: Any = None
    skeleton: Any = None


_NAN = float("nan")
#: What the flat arrays hold for an annotation without a bbox (`_AnnotationTable.has_box` says so).
_NAN_BOX = (_NAN, _NAN, _NAN, _NAN)


class _Annotation(msgspec.Struct):
    image_id: _Id
    category_id: _Id
    id: _Id = -1
    # None marks what the file left out or wrote as null: no bbox is a problem, no area is the box's.
    # (A bbox written with NaN, as Python's json writes it, is a box, refused for its NaN.)
    bbox: tuple[float, float, float, float] | None = None
    iscrowd: _Id = 0
    area: float | None = None


class _AnnotationWithSegmentation(_Annotation):
    segmentation: msgspec.Raw = msgspec.Raw(b"null")


class _AnnotationWithKeypoints(_Annotation):
    # Kept as JSON text until the kept annotations' keypoints are decoded together into one array
    # (a list of 51 Python floats per annotation would hold hundreds of MB on COCO train2017).
    keypoints: msgspec.Raw = msgspec.Raw(b"null")
    num_keypoints: int | None = None


class _AnnotationWithSegmentationAndKeypoints(_AnnotationWithSegmentation):
    keypoints: msgspec.Raw = msgspec.Raw(b"null")
    num_keypoints: int | None = None


class _File(msgspec.Struct):
    images: list[_Image]
    categories: list[_Category] = []
    annotations: list[_Annotation] = []


class _FileWithSegmentation(msgspec.Struct):
    images: list[_Image]
    categories: list[_Category] = []
    annotations: list[_AnnotationWithSegmentation] = []


class _FileWithKeypoints(msgspec.Struct):
    images: list[_Image]
    categories: list[_Category] = []
    annotations: list[_AnnotationWithKeypoints] = []


class _FileWithSegmentationAndKeypoints(msgspec.Struct):
    images: list[_Image]
    categories: list[_Category] = []
    annotations: list[_AnnotationWithSegmentationAndKeypoints] = []


#: (with segmentation, with keypoints) -> (the file's schema, an annotation's schema).
_SCHEMAS: dict[tuple[bool, bool], tuple[type, type]] = {
    (False, False): (_File, _Annotation),
    (True, False): (_FileWithSegmentation, _AnnotationWithSegmentation),
    (False, True): (_FileWithKeypoints, _AnnotationWithKeypoints),
    (True, True): (_FileWithSegmentationAndKeypoints, _AnnotationWithSegmentationAndKeypoints),
}


class _LooseFile(msgspec.Struct):
    """A file whose annotations did not all fit the schema: each is checked on its own."""

    images: list[_Image]
    categories: list[_Category] = []
    annotations: list[msgspec.Raw] = []


class _LooseObjects(msgspec.Struct):
    """As `_LooseFile`, from the Python objects of ``json.loads`` (files holding NaN or Infinity)."""

    images: list[_Image]
    categories: list[_Category] = []
    annotations: list[Any] = []


class CocoDetectionDataset(DetectionFileDataset):
    """Images and boxes of a COCO annotation file (``instances_*.json``).

    Samples: ``(tv_tensors.Image, {"boxes": BoundingBoxes (XYXY, pixels),
    "labels": int64, "image_id": the COCO image id, "iscrowd": int64,
    "area": float32})``, plus ``"masks"`` (``N x H x W`` ``uint8``) with
    ``masks=True``. ``bbox [x, y, w, h]`` becomes ``[x, y, x + w, y + h]``.
    Crowd regions (``iscrowd=1``) are left out by default and counted in
    `crowd_left_out` (``include_crowd=True`` keeps them, flagged).

    Labels index `classes`: by default ``"__background__"`` then the
    category names in order of their ids, so the non-contiguous COCO ids
    (1, 3, 90...) become labels 1, 2, 3...; `category_ids` and
    `label_to_category_id` give the file's ids back (for COCO
    evaluation). ``classes=`` fixes the list of names (categories are matched
    by name: of two categories of one name, the one of the lower id takes the
    label, and the other's annotations are problems that name it);
    ``background=False`` drops the background entry, so labels
    start at 0. `annotation_ids` gives each box's annotation id in the file;
    the index keeps it (and the annotation's place in the file) as flat
    integer arrays, so that `to_coco` can write every annotation back as the
    file has it, segmentation included, without holding segmentations here.

    Construction checks every annotation and reports each problem with its
    annotation id: boxes with no area, NaN or beyond the image (by more than
    0.1% of a side; less is snapped onto the border), annotations naming an
    image or a category the file does not have, and image paths that leave
    ``images_dir`` or do not exist (when every image, or under ``"raise"`` most of
    them, is missing, ``images_dir`` is the wrong folder: one
    [`DatasetNotFoundError`][visiondata.exceptions.DatasetNotFoundError] says how
    many, shows a few and asks for the right ``images_dir``). ``on_error="raise"`` raises one
    [`DatasetValidationError`][visiondata.exceptions.DatasetValidationError] listing them all;
    ``"skip"`` and ``"warn"`` leave the bad annotations (and images) out and
    record them in `problems`. Also problems of their annotation: a record
    that does not fit the schema (a ``bbox`` of 3 numbers or of strings, an
    id beyond int64), an annotation id used twice (all but the first left
    out), and with ``masks=True`` a segmentation pycocotools could not decode
    safely (an RLE whose ``size`` is not the image's ``[height, width]`` or
    whose counts do not sum to it, polygon points not finite or far outside
    the image; see `_segmentation_problem`). An image id listed twice is a
    problem of every image of that id: annotations name their image by id, so
    no image of that id takes them, and all are left out with them. A mask
    checked against a declared size that the decoded image does not have is
    checked again when read: under ``"raise"`` a [`DatasetFormatError`][visiondata.exceptions.DatasetFormatError], otherwise the box and
    its mask are left out of the sample and recorded.

    Keypoints (a ``person_keypoints_*.json``): with ``keypoints=True``, or by
    default when a category read lists ``keypoints`` names, samples add
    ``"keypoints"``: ``float32`` ``(N, K, 3)`` ``x y visibility`` in pixels,
    one row per box (visibility as COCO: 0 not labelled, 1 labelled but
    hidden, 2 visible), as torchvision's Keypoint R-CNN takes them; also
    `keypoints(index)`. `keypoint_names` is the category's ``keypoints``
    list, `skeleton` its ``skeleton`` converted from COCO's 1-based indices
    to 0-based pairs, and `flip_pairs` (the pairs a horizontal flip swaps)
    come from ``flip_pairs=`` or from the names (``left_x`` with
    ``right_x``, ``x_left`` with ``x_right``). The categories read must
    share one keypoint list (else `DatasetFormatError`: select the
    categories of one list with ``classes=``); boxes of a category without
    one, and annotations without ``keypoints``, get all-zero keypoints (as
    COCO writes an unlabelled person; pycocotools' ``COCOeval`` ignores a
    ground truth whose ``num_keypoints`` is 0). Problems of their annotation:
    ``keypoints`` that are not ``3 K`` numbers, a point not finite, a
    visibility other than 0, 1 or 2, a labelled point outside its image
    (beyond the boxes' tolerance; within it the point is snapped onto the
    border), and a ``num_keypoints`` other than the count of labelled points.
    The keypoints are held in the index (``index.keypoints``, one ``float32``
    ``(M, K, 3)`` array aligned with the boxes), so subsets, ``drop_empty``,
    the removal of bad images and workers carry them with their boxes, and
    checked by the readers' one keypoint check (``keypoint_problems``).

    Problems of the file itself raise
    [`DatasetFormatError`][visiondata.exceptions.DatasetFormatError] whatever ``on_error`` says: not a
    regular file (a FIFO or a device is refused before opening), not JSON,
    nested too deeply, no ``images``, a malformed image or category (an id
    beyond int64, a width or height that is not a whole number from 0 to
    2**31 - 1), two categories with one id, or (without ``classes=``) two
    categories with one name.

    Args:
        images_dir: Folder the ``file_name`` of each image is relative to.
        annotation_file: The COCO JSON file.
        classes: Class names the labels index (default: background + the file's categories).
        drop_empty: Leave out images without annotations (kept by default, with ``(0, 4)`` boxes).
        include_crowd: Keep crowd regions (``iscrowd=1``) in the samples, flagged in their ``iscrowd``
            field. By default (``False``) they are left out and counted in `crowd_left_out` (and
            in ``repr``), as torchvision's detection reference does: its models ignore
            ``iscrowd`` and would train on a crowd as one object.
        masks: Add instance masks from polygons and RLE (needs pycocotools:
            ``pip install ".[coco]"``).
        transform: Called as ``transform(image, target)`` (a ``BoxPipeline`` or a v2 transform).
        target_transform: Applied to the target last.
        on_error: ``"raise"``, ``"skip"`` or ``"warn"``, for annotation problems and unreadable images.
        allow_outside_root: Accept image paths leaving ``images_dir``.
        check_files: Check at construction that every image file exists.
        loader: Reads one image path; defaults to [`visiondata.io.read_image`][visiondata.io.read_image].
        background: Put ``"__background__"`` at label 0 (torchvision's detection models expect it).
        strict: For the default loader: ``True`` refuses an image that decodes only with a
            warning (a JPEG with corrupt data), ``False`` decodes it as libjpeg recovers it;
            ``None`` (default) follows ``visiondata.io.set_strict_decode``.
        scaled_decode: Decode each JPEG for the output when the transform offers a plan (a
            ``BoxPipeline`` starting with a resize or resized crop, ``presets.detection_train``): ``None``
            (default) follows ``visiondata.io.set_scaled_decode``, ``False`` decodes every image exactly.
        keypoints: Read the annotations' keypoints: ``None`` (default) when a category read lists
            keypoint names (a ``person_keypoints_*.json``), ``True`` always (without names, ``K`` is
            the first annotation's count), ``False`` never (boxes only).
        flip_pairs: Pairs of 0-based keypoint indices a horizontal flip swaps; by default derived from
            the keypoint names.

    Examples:
        >>> import json, tempfile, pathlib
        >>> from PIL import Image
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> Image.new("RGB", (20, 10)).save(root / "a.png")
        >>> _ = (root / "ann.json").write_text(json.dumps({
        ...     "images": [{"id": 7, "file_name": "a.png", "width": 20, "height": 10}],
        ...     "categories": [{"id": 3, "name": "car"}, {"id": 90, "name": "toothbrush"}],
        ...     "annotations": [{"id": 1, "image_id": 7, "category_id": 90, "bbox": [2, 1, 5, 4]}]}))
        >>> dataset = CocoDetectionDataset(root, root / "ann.json")
        >>> image, target = dataset[0]
        >>> target["boxes"].tolist(), target["labels"].tolist(), target["image_id"], dataset.classes
        ([[2.0, 1.0, 7.0, 5.0]], [2], 7, ['__background__', 'car', 'toothbrush'])
        >>> dataset.label_to_category_id
        {1: 3, 2: 90}

        A keypoints file:

        >>> _ = (root / "kp.json").write_text(json.dumps({
        ...     "images": [{"id": 7, "file_name": "a.png", "width": 20, "height": 10}],
        ...     "categories": [{"id": 1, "name": "person", "keypoints": ["left_eye", "right_eye"],
        ...                     "skeleton": [[1, 2]]}],
        ...     "annotations": [{"id": 1, "image_id": 7, "category_id": 1, "bbox": [2, 1, 5, 4],
        ...                      "keypoints": [3, 2, 2, 6, 2, 1], "num_keypoints": 2}]}))
        >>> dataset = CocoDetectionDataset(root, root / "kp.json")
        >>> dataset.keypoints(0).tolist()
        [[[3.0, 2.0, 2.0], [6.0, 2.0, 1.0]]]
        >>> dataset.keypoint_names, dataset.skeleton, dataset.flip_pairs
        (['left_eye', 'right_eye'], [(0, 1)], [(0, 1)])
    """

    def __init__(
        self,
        images_dir: str | os.PathLike[str],
        annotation_file: str | os.PathLike[str],
        classes: Sequence[str] | None = None,
        drop_empty: bool = False,
        include_crowd: bool = False,
        masks: bool = False,
        transform: Callable[..., Any] | None = None,
        target_transform: Callable[[Any], Any] | None = None,
        on_error: str = "raise",
        allow_outside_root: bool = False,
        check_files: bool = True,
        loader: Callable[[str], Any] | None = None,
        background: bool = True,
        strict: bool | None = None,
        keypoints: bool | None = None,
        flip_pairs: Sequence[Sequence[int]] | None = None,
        scaled_decode: bool | None = None,
    ) -> None:
        super().__init__(images_dir, transform, target_transform, on_error, loader, strict, scaled_decode)
        self.allow_outside_root = allow_outside_root
        self.annotation_file = str(annotation_file)
        self.masks = bool(masks)
        if self.masks:
            _import_pycocotools()
        if keypoints not in (None, True, False):
            raise ValueError(
                f"keypoints: expected True, False or None (read them when the file's categories name "
                f"keypoints), got {keypoints!r}"
            )
        parsed, problems, file_rows = _decode(Path(annotation_file), self.masks, keypoints is not False)
        # What the file was when read: to_coco re-reads its records (segmentation, extra keys) only if
        # it is still that file.
        self._file_stamp = _stamp(self.annotation_file)
        self._file_rows = file_rows
        _refuse_repeated_categories(parsed.categories, classes, background, self.annotation_file)
        self.classes, self.category_ids, category_to_label = _classes(parsed.categories, classes, background)
        refuse_duplicate_classes(self.classes, self.annotation_file)
        self._keypoints_on, self.keypoint_names, self.skeleton = _keypoint_spec(
            parsed.categories, set(category_to_label), keypoints, self.annotation_file
        )
        #: Crowd regions (``iscrowd`` not 0) left out because ``include_crowd`` is false.
        self.crowd_left_out = 0
        self.include_crowd = bool(include_crowd)
        self.index, segmentations = self._build(
            parsed, category_to_label, include_crowd, allow_outside_root, check_files, problems
        )
        del parsed
        self._file_rows = None
        release_freed_memory()
        if drop_empty:
            self.index, segmentations = self._without_images(
                self.index, np.diff(self.index.offsets) > 0, segmentations
            )
        self._segmentations = None if segmentations is None else PathIndex(segmentations)
        self.flip_pairs = None
        if self.index.keypoints is not None:
            count = int(self.index.keypoints.shape[1])
            self.flip_pairs = (
                _given_flip_pairs(flip_pairs, count, self.keypoint_names)
                if flip_pairs is not None
                else _derived_flip_pairs(self.keypoint_names)
            )
        elif flip_pairs is not None:
            raise ValueError(
                f"flip_pairs: given, but {self.annotation_file} is read without keypoints (keypoints=False, or "
                "no category lists keypoints): expected keypoints=True or a keypoints file, or no flip_pairs"
            )
        self._settle(self.annotation_file, problems)

    def _build(
        self,
        parsed: Any,
        category_to_label: dict[int, int],
        include_crowd: bool,
        allow_outside_root: bool,
        check_files: bool,
        problems: list[str],
    ) -> tuple[DetectionIndex, list[str] | None]:
        """The index of the file's records, and each box's segmentation (JSON text) with ``masks=True``.

        Each step is a function of its own, in the order their problems are reported: the images'
        paths, their repeated ids, the annotations' flat arrays, each annotation's image and label,
        the annotations that cannot be placed, crowd regions, boxes, repeated annotation ids,
        segmentations, keypoints; then the index, and the per-box arrays it does not hold
        (annotation ids, places in the file, segmentations) in its order.
        """
        images = parsed.images
        image_ids, sizes = _image_arrays(images)
        paths, good_image = self._checked_image_paths(images, allow_outside_root, check_files, problems)
        good_image &= ~_report_repeated_image_ids(image_ids, images, problems)

        annotations = parsed.annotations
        table = _annotation_table(annotations)
        position, known_image = _positions(image_ids, table.image_ids)
        labels = _map(table.category_ids, category_to_label)
        keep = _report_unplaced_annotations(
            table, known_image, labels >= 0, parsed.categories, self.classes, self.category_ids, problems
        )
        # Annotations of an image left out (its own problem says why) are left out with it, unreported.
        keep[known_image] &= good_image[position[known_image]]
        if not include_crowd:
            # Left out by choice, not as a problem: counted (with repr saying so), never silent.
            self.crowd_left_out = int(np.count_nonzero(keep & (table.crowd != 0)))
            keep &= table.crowd == 0
        place = _AnnotationPlace(table.ids, position, images, sizes)
        boxes = _xyxy(table.xywh)
        # Checked against their image's size (0, not checked, for an image the file does not have);
        # box_problems also snaps boxes within the tolerance onto the border, in place.
        place.report(box_problems(boxes, np.where(known_image[:, None], place.sizes(), 0)), keep, problems)
        _refuse_repeated_annotation_ids(table.ids, keep, problems)
        if self.masks:
            # Only kept annotations: the others are problems already. pycocotools trusts its input
            # (an RLE larger than its size, or a polygon at 1e9, crashes the interpreter): check first.
            rows = np.flatnonzero(keep)
            raws = [bytes(annotations[row].segmentation) for row in rows.tolist()]
            place.report(_segmentation_problems(raws, place.sizes(rows)), keep, problems, rows)
        points = self._kept_keypoints(annotations, keep, place, problems) if self._keypoints_on else None
        index = DetectionIndex.build(
            paths,
            image_ids,
            sizes,
            position[keep],
            boxes[keep],
            labels[keep].astype(smallest_int_type(max(len(self.classes) - 1, 0))),
            {"iscrowd": table.crowd[keep], "area": table.area[keep].astype(np.float32)},
            keypoints=points,
        )
        del points
        grouped = _rows_by_image(position, keep)
        # Per box: its annotation id (-1: none in the file) and its place in the file's annotations list,
        # so that to_coco can write each annotation back as the file has it (segmentation included).
        self._annotation_ids = table.ids[grouped]
        file_rows = grouped if self._file_rows is None else self._file_rows[grouped]
        self._annotation_rows = file_rows.astype(
            smallest_int_type(int(file_rows.max()) if len(file_rows) else 0)
        )
        segmentations = _segmentation_texts(annotations, grouped) if self.masks else None
        if not good_image.all():
            index, segmentations = self._without_images(index, good_image, segmentations)
        return index, segmentations

    def _checked_image_paths(
        self, images: list[_Image], allow_outside_root: bool, check_files: bool, problems: list[str]
    ) -> tuple[list[str], np.ndarray]:
        """Each image's path relative to `root`, and whether it is good (else its problem is reported).

        A path leaving `root` (unless allowed) or, with ``check_files``, naming no file is a problem
        of its image; when most or all files are missing, `_refuse_wrong_images_dir` raises instead.
        """
        good = np.ones(len(images), dtype=bool)
        paths = []
        missing: list[str] = []  # file names not found in images_dir
        for position, image in enumerate(images):
            path, problem = check_path(image.file_name, self.root, allow_outside_root)
            if problem is None and check_files and not os.path.isfile(os.path.join(self.root, path)):
                problem = f"image file {os.path.join(self.root, path)} does not exist"
                missing.append(path)
            if problem is not None:
                problems.append(f"image {image.id}: {problem}")
                good[position] = False
            paths.append(path)
        self._refuse_wrong_images_dir(missing, len(images))
        return paths, good

    def _kept_keypoints(
        self, annotations: list[Any], keep: np.ndarray, place: _AnnotationPlace, problems: list[str]
    ) -> np.ndarray:
        """The keypoints of the kept annotations (``(M, K, 3)``, file order); those with a problem are left out.

        Only kept annotations are read, as for the masks: the others are problems already.
        """
        rows = np.flatnonzero(keep)
        points, issues = _keypoint_rows(
            [annotations[row] for row in rows.tolist()],
            place.sizes(rows),
            self.keypoint_names,
            self.annotation_file,
        )
        place.report(issues, keep, problems, rows)
        return points if keep[rows].all() else points[keep[rows]]  # aligned with the kept annotations

    def _refuse_wrong_images_dir(self, missing: list[str], count: int) -> None:
        """Raise one error when ``images_dir`` is not the folder the file names are relative to.

        Every image missing (at least two: one missing file is a problem of that image), or most of
        them under ``on_error="raise"``, means a wrong folder rather than lost files: one
        [`DatasetNotFoundError`][visiondata.exceptions.DatasetNotFoundError] says how many, shows a few,
        and names the fix, instead of one problem line per image. Its ``missing_files`` attribute
        holds the missing file names (relative), so a caller can look for the right folder.
        """
        if count < 2 or not missing:
            return
        everything = len(missing) == count
        if not everything and not (self.on_error == "raise" and len(missing) * 2 > count):
            return
        shown = ", ".join(repr(name) for name in missing[:3]) + (", ..." if len(missing) > 3 else "")
        how_many = (
            f"none of the {count:,} images" if everything else f"{len(missing):,} of the {count:,} images"
        )
        error = DatasetNotFoundError(
            f"{self.annotation_file}: {how_many} are in the images folder {self.root} (missing: {shown}); "
            "expected the folder the file_name values are relative to: pass images_dir= (--images on the "
            "command line), e.g. the images/ folder of a COCO export"
        )
        error.missing_files = list(missing)  # type: ignore[attr-defined]
        raise error

    def _without_images(
        self, index: DetectionIndex, keep: np.ndarray, segmentations: list[str] | None
    ) -> tuple[DetectionIndex, list[str] | None]:
        """The index without the images not in ``keep``; the per-box segmentations and ids follow.

        The index's own per-box arrays (boxes, labels, fields, keypoints) follow in `DetectionIndex.select`.
        """
        rows = np.repeat(keep, np.diff(index.offsets))
        self._annotation_ids = self._annotation_ids[rows]
        self._annotation_rows = self._annotation_rows[rows]
        if segmentations is not None:
            segmentations = [value for value, kept in zip(segmentations, rows.tolist(), strict=True) if kept]
        return index.select(keep), segmentations

    def __repr__(self) -> str:
        text = super().__repr__()
        if self.crowd_left_out:
            text = f"{text[:-1]}, {self.crowd_left_out} crowd regions left out: include_crowd=False)"
        return text

    def _box_segmentations(self, index: int) -> list[Any]:
        """The file's ``segmentation`` of each box of image ``index`` (None where it has none), decoded.

        With ``masks=True`` they are held already; otherwise the annotation file is read again once
        (for the writers, which ask for every image) and kept.
        """
        index = self._position(index)
        start, end = int(self.index.offsets[index]), int(self.index.offsets[index + 1])
        if self._segmentations is not None:
            return [msgspec.json.decode(self._segmentations[row]) for row in range(start, end)]
        source = getattr(self, "_source_cache", None)
        if source is None:
            source = self._source_cache = self._source_records()
        return [source.annotation(int(row)).get("segmentation") for row in self._annotation_rows[start:end]]

    def polygons(self, index: int) -> list[np.ndarray | None]:
        """Each box's outline as a ``(K, 2)`` array of ``x y`` pixels, or None (see `mask_only`).

        A ``segmentation`` of one polygon (the common case) is its outline. An RLE, a segmentation of
        several polygons (an object in parts) or none gives None: there is no single outline to write
        (`mask_only` says which boxes have a shape all the same). The writers use these:
        ``to_yolo`` writes segment lines, ``to_voc`` counts what it cannot hold.

        Examples:
            >>> import json, tempfile, pathlib
            >>> from PIL import Image
            >>> root = pathlib.Path(tempfile.mkdtemp())
            >>> Image.new("RGB", (20, 10)).save(root / "a.png")
            >>> _ = (root / "ann.json").write_text(json.dumps({
            ...     "images": [{"id": 7, "file_name": "a.png", "width": 20, "height": 10}],
            ...     "categories": [{"id": 3, "name": "car"}],
            ...     "annotations": [{"id": 1, "image_id": 7, "category_id": 3, "bbox": [2, 1, 5, 4],
            ...                      "segmentation": [[2, 1, 7, 1, 7, 5]]}]}))
            >>> CocoDetectionDataset(root, root / "ann.json").polygons(0)[0].tolist()
            [[2.0, 1.0], [7.0, 1.0], [7.0, 5.0]]
        """
        return [_single_polygon(value) for value in self._box_segmentations(index)]

    def mask_only(self, index: int) -> list[bool]:
        """Per box of image ``index``: whether it has a shape that is not one polygon (RLE, several parts).

        Such a shape cannot be a YOLO segment line or a VOC object: the writers count it in the
        report's ``masks_left_out`` (and write the box).
        """
        return [bool(value) and _single_polygon(value) is None for value in self._box_segmentations(index)]

    def annotation_ids(self, index: int) -> np.ndarray:
        """The file's annotation ids of image ``index``'s boxes, in the order of `boxes` (-1: the file gave none).

        Examples:
            >>> import json, tempfile, pathlib
            >>> from PIL import Image
            >>> root = pathlib.Path(tempfile.mkdtemp())
            >>> Image.new("RGB", (20, 10)).save(root / "a.png")
            >>> _ = (root / "ann.json").write_text(json.dumps({
            ...     "images": [{"id": 7, "file_name": "a.png", "width": 20, "height": 10}],
            ...     "categories": [{"id": 3, "name": "car"}],
            ...     "annotations": [{"id": 41, "image_id": 7, "category_id": 3, "bbox": [2, 1, 5, 4]}]}))
            >>> CocoDetectionDataset(root, root / "ann.json").annotation_ids(0).tolist()
            [41]
        """
        index = self._position(index)
        return self._annotation_ids[self.index.offsets[index] : self.index.offsets[index + 1]].copy()

    def _source_records(self) -> SourceRecords:
        """The annotation file read again, as written: for `to_coco`, which writes each record back.

        Raises:
            DatasetFormatError: The file changed since the dataset read it (its size or modification
                time differ): the index no longer describes it.
        """
        if _stamp(self.annotation_file) != self._file_stamp:
            raise DatasetFormatError(
                f"{self.annotation_file}: the annotation file changed since the dataset read it: expected the "
                "file the index was built from; build the dataset again to convert the file as it is now"
            )
        return _read_source_records(Path(self.annotation_file))

    def _add_masks(self, target: dict[str, Any], index: int, height: int, width: int) -> np.ndarray | None:
        if self._segmentations is None:
            return None
        from pycocotools import mask as coco_mask

        start, end = int(self.index.offsets[index]), int(self.index.offsets[index + 1])
        masks = np.zeros((end - start, height, width), dtype=np.uint8)
        # The segmentations were checked against the declared size; a decoded image of another size
        # (or of a size the file did not give) needs them checked again before pycocotools sees them.
        recheck = tuple(self.index.sizes[index]) != (height, width)
        keep: np.ndarray | None = None
        for row in range(start, end):
            text = self._segmentations[row]
            if recheck:
                issue = _segmentation_problem(text.encode("utf-8"), height, width)
                if issue is not None:
                    problem = (
                        f"{self.annotation_file}: annotation {int(self._annotation_ids[row])} (image "
                        f"{int(self.index.image_ids[index])}, {self.path(index)}, decoded {width}x{height}): {issue}"
                    )
                    if self.on_error == "raise":
                        raise DatasetFormatError(problem)
                    self._record_problem(problem, "left out a box and its mask")
                    keep = np.ones(end - start, dtype=bool) if keep is None else keep
                    keep[row - start] = False
                    continue
            # Checked (at construction, or just above): strict JSON of the shapes pycocotools takes.
            segmentation = msgspec.json.decode(text)
            if not segmentation:
                continue
            if isinstance(segmentation, list):
                rle = coco_mask.merge(coco_mask.frPyObjects(segmentation, height, width))
            elif isinstance(segmentation["counts"], list):
                rle = coco_mask.frPyObjects(segmentation, height, width)
            else:
                rle = {"size": segmentation["size"], "counts": segmentation["counts"].encode("ascii")}
            masks[row - start] = coco_mask.decode(rle)[:height, :width]
        target["masks"] = tv_tensors.Mask(torch.from_numpy(masks))
        return keep


def _keypoint_spec(
    categories: list[_Category], selected: set[int], keypoints: bool | None, source: str
) -> tuple[bool, list[str] | None, list[tuple[int, int]] | None]:
    """Whether keypoints are read, their names and the skeleton (0-based), from the categories read.

    ``keypoints=None`` reads them when a category read (of ``selected``, the ids of the classes)
    lists keypoint names; ``True`` reads them anyway (without names: the count comes from the
    annotations). The categories read must list one keypoint list (the samples hold ``(N, K, 3)``);
    those that list none get all-zero keypoints for their boxes. The skeleton is the first listing
    category's, converted from COCO's 1-based indices.
    """
    if keypoints is False:
        return False, None, None
    listing = [c for c in categories if c.id in selected and c.keypoints is not None and c.keypoints != []]
    if not listing:
        return bool(keypoints), None, None
    for category in listing:
        names = category.keypoints
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            raise DatasetFormatError(
                f"{source}: category {category.id} ({category.name!r}): keypoints: expected a list of keypoint "
                f"names (strings), as COCO's person category has, got {_kind(names)}; fix the category, or pass "
                "keypoints=False to read the boxes only"
            )
    lists: dict[tuple[str, ...], list[_Category]] = {}
    for category in listing:
        lists.setdefault(tuple(category.keypoints), []).append(category)
    if len(lists) > 1:
        shown = "; ".join(
            f"{', '.join(f'{c.id} ({c.name!r})' for c in members[:3])}: {len(names)} keypoints "
            f"{list(names)[:4]}{'...' if len(names) > 4 else ''}"
            for names, members in lists.items()
        )
        raise DatasetFormatError(
            f"{source}: the categories read name different keypoints ({shown}): expected one keypoint list, as "
            "every sample holds (N, K, 3) keypoints; select the categories of one list with classes=[...], or "
            "pass keypoints=False to read the boxes only"
        )
    names = list(listing[0].keypoints)
    return True, names, _zero_based_skeleton(listing[0], len(names), source)


def _zero_based_skeleton(category: _Category, count: int, source: str) -> list[tuple[int, int]] | None:
    """A category's ``skeleton`` (COCO: pairs of 1-based keypoint indices) as 0-based pairs; None if absent."""
    value = category.skeleton
    if value is None:
        return None
    pairs = []
    for pair in value if isinstance(value, list) else [value]:
        if (
            not isinstance(pair, list)
            or len(pair) != 2
            or any(
                isinstance(item, bool) or not isinstance(item, int) or not 1 <= item <= count for item in pair
            )
        ):
            zero = isinstance(pair, list) and 0 in pair
            raise DatasetFormatError(
                f"{source}: category {category.id} ({category.name!r}): skeleton: expected pairs of keypoint "
                f"indices from 1 to {count} (COCO's skeleton is 1-based), got {_kind(pair)}"
                f"{': 0 is not an index in COCO, whose first keypoint is 1' if zero else ''}; fix the skeleton, "
                "or pass keypoints=False to read the boxes only"
            )
        pairs.append((pair[0] - 1, pair[1] - 1))
    return pairs


def _kind(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def _given_flip_pairs(value: Any, count: int, names: list[str] | None) -> list[tuple[int, int]]:
    """``flip_pairs=``: pairs of distinct keypoint indices below ``count``, each index in one pair at most."""
    pairs: list[tuple[int, int]] = []
    used: set[int] = set()
    for pair in value:
        items = list(pair) if isinstance(pair, (list, tuple)) else None
        if (
            items is None
            or len(items) != 2
            or any(
                isinstance(item, bool) or not isinstance(item, (int, np.integer)) or not 0 <= item < count
                for item in items
            )
            or items[0] == items[1]
            or used & {int(items[0]), int(items[1])}
        ):
            raise ValueError(
                f"flip_pairs: expected pairs (i, j) of distinct keypoint indices from 0 to {count - 1} (0-based, "
                f"{'of ' + str(names[:4])[:-1] + ', ...]' if names else 'the keypoints'}), each index in one pair "
                f"at most, got {pair!r}"
            )
        used |= {int(items[0]), int(items[1])}
        pairs.append((int(items[0]), int(items[1])))
    return pairs


def _derived_flip_pairs(names: list[str] | None) -> list[tuple[int, int]] | None:
    """Pairs of keypoints a horizontal flip swaps, from their names: ``left_x`` with ``right_x`` (also ``x_left``).

    Examples:
        >>> _derived_flip_pairs(["nose", "left_eye", "right_eye", "Hip_Right", "hip_left"])
        [(1, 2), (3, 4)]
        >>> _derived_flip_pairs(None) is None
        True
    """
    if names is None:
        return None
    position = {name.lower(): index for index, name in enumerate(names)}
    pairs = []
    for index, name in enumerate(names):
        lower = name.lower()
        if lower.startswith("left_"):
            other = position.get("right_" + lower[5:])
        elif lower.endswith("_left"):
            other = position.get(lower[:-5] + "_right")
        else:
            continue
        if other is not None and other != index:
            pairs.append((min(index, other), max(index, other)))
    return sorted(set(pairs))


_KEYPOINT_LISTS = msgspec.json.Decoder(list[list[float] | None])
_KEYPOINT_LIST = msgspec.json.Decoder(list[float] | None)
#: Annotations whose keypoints are decoded together (bounds the Python floats alive at once).
_KEYPOINT_CHUNK = 4096


def _keypoint_list(raw: bytes | msgspec.Raw) -> list[float] | None:
    """One annotation's ``keypoints`` (None when absent or null); ValueError saying what does not fit."""
    raw = bytes(raw)
    try:
        try:
            return _KEYPOINT_LIST.decode(raw)
        except msgspec.ValidationError:
            raise
        except msgspec.DecodeError:  # NaN or Infinity, as Python's json writes them: named by the checks
            return msgspec.convert(json.loads(raw), list[float] | None)
    except (msgspec.ValidationError, ValueError, RecursionError):
        shown = raw[:60].decode("utf-8", "replace") + ("..." if len(raw) > 60 else "")
        raise ValueError(
            f"keypoints: expected a list of numbers [x1, y1, v1, x2, y2, v2, ...], got {shown}"
        ) from None


def _keypoint_rows(
    records: list[Any], sizes: np.ndarray, names: list[str] | None, source: str
) -> tuple[np.ndarray, list[str | None]]:
    """The keypoints of each annotation of ``records`` as ``(n, K, 3)`` ``float32``, and each one's problem.

    ``sizes`` is each one's image ``(height, width)`` (0: unknown). An annotation without
    ``keypoints`` (absent or null) gets all-zero keypoints, as COCO writes the unlabelled ones:
    pycocotools' ``COCOeval`` ignores a ground truth whose ``num_keypoints`` is 0. Problems: not a
    list of ``3 K`` numbers, a point not finite (or beyond float32), a visibility other than 0, 1 or
    2, a labelled point (visibility 1 or 2) outside its image by more than ``BORDER_TOLERANCE`` of the
    side (less is snapped onto the border, as boxes are), and a ``num_keypoints`` other than the
    count of labelled points. ``K`` is ``len(names)``, or without names the first annotation's.
    """
    raws = [record.keypoints for record in records]  # msgspec.Raw: buffers, joined without copies
    count = len(names) if names is not None else _first_keypoint_count(raws, source)
    # float32 as the index stores them, and checked as stored (1e39 becomes inf: not finite).
    points = np.zeros((len(raws), count, 3), dtype=np.float32)
    issues: list[str | None] = [None] * len(raws)
    for first in range(0, len(raws), _KEYPOINT_CHUNK):
        chunk = raws[first : first + _KEYPOINT_CHUNK]
        lists: list[Any]
        try:
            lists = _KEYPOINT_LISTS.decode(b"[" + b",".join(chunk) + b"]")
        except (msgspec.DecodeError, RecursionError):  # a malformed one, or NaN, among them
            lists = []
            for offset, raw in enumerate(chunk):
                try:
                    lists.append(_keypoint_list(raw))
                except ValueError as error:
                    lists.append(None)
                    issues[first + offset] = str(error)
        good = []
        for offset, values_of in enumerate(lists):
            if values_of is None:
                continue
            if len(values_of) != 3 * count:
                issues[first + offset] = (
                    f"keypoints: expected {3 * count} numbers ({count} keypoints x, y, visibility"
                    f"{' as the category names them' if names is not None else ', as the first annotation has'}), "
                    f"got {len(values_of)}"
                )
            else:
                good.append(offset)
        if good:
            flat = np.fromiter(
                chain.from_iterable([lists[offset] for offset in good]),
                dtype=np.float64,
                count=len(good) * 3 * count,
            )
            with np.errstate(over="ignore"):
                points[first + np.array(good)] = flat.reshape(-1, count, 3)
        del lists

    def written(row: int) -> np.ndarray:
        # The numbers as written, for the message (the stored float32 may have overflowed).
        try:
            return np.asarray(_keypoint_list(raws[row]), dtype=np.float64).reshape(count, 3)
        except (ValueError, TypeError):
            return points[row].astype(np.float64)

    # Rows already refused (not 3 K numbers) hold zeros: nothing more to find there.
    checked = keypoint_problems(points, sizes, names, written)
    labelled_count = np.count_nonzero(points[..., 2] > 0, axis=1)
    declared = np.array(
        [-1 if record.num_keypoints is None else record.num_keypoints for record in records], dtype=np.float64
    )
    for row in np.flatnonzero((declared >= 0) & (declared != labelled_count)).tolist():
        checked[row] = checked[row] or (
            f"num_keypoints {int(declared[row])}: expected the count of labelled keypoints (visibility 1 or 2), "
            f"{int(labelled_count[row])}; fix num_keypoints or the visibilities"
        )
    return points, [
        issue if issue is not None else check for issue, check in zip(issues, checked, strict=True)
    ]


def _first_keypoint_count(raws: list[msgspec.Raw], source: str) -> int:
    """K from the first annotation with keypoints (``keypoints=True`` on a file whose categories name none)."""
    for raw in raws:
        try:
            values = _keypoint_list(raw)
        except ValueError:
            continue
        if values and len(values) % 3 == 0:
            return len(values) // 3
    raise DatasetFormatError(
        f"{source}: keypoints=True, but no category read lists keypoint names and no annotation has keypoints "
        "[x1, y1, v1, ...]: expected a COCO keypoints file (person_keypoints_*.json), or keypoints=False"
    )


def _single_polygon(segmentation: Any) -> np.ndarray | None:
    """``segmentation`` as one ``(K, 2)`` polygon in pixels if it is one polygon of 3 points or more, else None."""
    if not (isinstance(segmentation, list) and len(segmentation) == 1 and isinstance(segmentation[0], list)):
        return None
    values = segmentation[0]
    if len(values) < 6 or len(values) % 2 or not all(_is_number(value) for value in values):
        return None
    return np.asarray(values, dtype=np.float64).reshape(-1, 2)


def _stamp(path: str) -> tuple[int, int] | None:
    """Size and modification time of ``path`` (None when it cannot be read): to tell a changed file."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_size, status.st_mtime_ns


@dataclass
class SourceRecords:
    """A COCO file's records as written, for writing them back (`to_coco`).

    Attributes:
        keys: The file's top-level keys, in its order.
        extras: The top-level values other than ``images``, ``annotations`` and ``categories``
            (``info``, ``licenses``...), as written.
        images: Image id -> the file's image record (the first of an id).
        categories: Category id -> the file's category record.
        annotations: The file's annotation records, each still JSON text (decoded by `annotation`)
            or, for a file holding NaN, a decoded object.
    """

    keys: list[str]
    extras: dict[str, Any]
    images: dict[int, dict[str, Any]]
    categories: dict[int, dict[str, Any]]
    annotations: list[Any]

    def annotation(self, row: int) -> dict[str, Any]:
        """The annotation at place ``row`` of the file's list, as a new dict."""
        item = self.annotations[row]
        if isinstance(item, msgspec.Raw):
            item = msgspec.json.decode(item)
        return dict(item) if isinstance(item, dict) else {}


def _read_source_records(path: Path) -> SourceRecords:
    """`SourceRecords` of the COCO file at ``path`` (annotations kept as JSON text until asked for)."""
    data = read_regular_file(path, "COCO annotation file", MAX_DATASET_FILE_BYTES)
    try:
        try:
            top = msgspec.json.decode(data, type=dict[str, msgspec.Raw])
            annotations: list[Any] = msgspec.json.decode(
                top.get("annotations", b"[]"), type=list[msgspec.Raw]
            )
            decoded: Any = {
                key: msgspec.json.decode(value) for key, value in top.items() if key != "annotations"
            }
            keys = list(top)
        except msgspec.DecodeError:  # NaN or Infinity, as Python's json writes them
            decoded = json.loads(data)
            if not isinstance(decoded, dict):
                raise ValueError(f"expected a JSON object, got {type(decoded).__name__}") from None
            annotations = list(decoded.get("annotations") or [])
            keys = list(decoded)
    except (ValueError, RecursionError) as error:
        raise DatasetFormatError(f"{path}: not valid JSON when read again: {error}") from None
    images: dict[int, dict[str, Any]] = {}
    for image in decoded.get("images") or []:
        if isinstance(image, dict) and isinstance(image.get("id"), int):
            images.setdefault(image["id"], image)
    categories = {
        category["id"]: category
        for category in decoded.get("categories") or []
        if isinstance(category, dict) and isinstance(category.get("id"), int)
    }
    extras = {key: decoded[key] for key in keys if key not in ("images", "annotations", "categories")}
    return SourceRecords(keys, extras, images, categories, annotations)


def _import_pycocotools() -> Any:
    try:
        from pycocotools import mask
    except ImportError as error:
        raise MissingDependencyError(
            "masks=True needs pycocotools to decode COCO polygons and RLE: install the coco extra (pip install '.[coco]' in a visiondata checkout, or pip install pycocotools) "
            f"({error})"
        ) from error
    return mask


def _decode(
    path: Path, with_segmentation: bool, with_keypoints: bool = False
) -> tuple[Any, list[str], np.ndarray | None]:
    """The file's records, one problem for each annotation that does not fit the schema (left out), and
    the place in the file's annotations list of each record kept (None: all were kept, in order).

    The whole file is decoded against the schema in one call. Only when that
    fails is it decoded again with the annotations kept raw, so that a bad
    annotation (a ``bbox`` of 3 numbers, an id beyond int64) becomes a problem
    of its own, handled by ``on_error``; images and categories stay strict
    (an error there is fatal, with its place in the file).
    """
    if not path.exists():
        raise DatasetNotFoundError(f"{path}: expected a COCO annotation file, found nothing")
    if path.is_dir():
        raise DatasetNotFoundError(f"{path}: expected a COCO annotation file, found a folder")
    # Refuses a FIFO, a device or an oversized file before opening it.
    data = read_regular_file(path, "COCO annotation file", MAX_DATASET_FILE_BYTES)
    schema, record = _SCHEMAS[with_segmentation, with_keypoints]
    try:
        try:
            return msgspec.json.Decoder(schema).decode(data), [], None
        except msgspec.ValidationError:
            try:
                loose = msgspec.json.Decoder(_LooseFile).decode(data)
            except msgspec.ValidationError:
                raise
            except msgspec.DecodeError:
                pass  # NaN or Infinity further on: read below
            else:
                return _one_by_one(loose, msgspec.json.Decoder(record).decode, _raw_id)
        except msgspec.DecodeError:
            pass
        # Python's json module writes NaN and Infinity, which strict JSON (and msgspec) refuse: such
        # files take the slow road, so that those boxes are reported one by one.
        try:
            parsed = json.loads(data)
        except ValueError as error:  # UnicodeDecodeError included
            raise DatasetFormatError(f"{path}: not valid JSON: {error}") from None
        loose = msgspec.convert(parsed, _LooseObjects)
        return _one_by_one(loose, lambda item: _convert_annotation(item, record), _object_id)
    except msgspec.ValidationError as error:
        raise DatasetFormatError(
            f"{path}: not a COCO annotation file: {error} (expected images, categories and annotations "
            "with image_id, category_id and bbox [x, y, w, h])"
        ) from None
    except RecursionError:
        raise DatasetFormatError(
            f"{path}: not a COCO annotation file: its JSON is nested too deeply to read (expected images, "
            "categories and annotations, a few levels deep)"
        ) from None


def _one_by_one(
    loose: Any, convert: Callable[[Any], Any], id_of: Callable[[Any], Any]
) -> tuple[Any, list[str], np.ndarray]:
    """``loose`` with each annotation converted on its own: those that fail are problems, left out.

    Also returns the place in the file's list of each annotation kept.
    """
    annotations, problems, positions = [], [], []
    for position, item in enumerate(loose.annotations):
        try:
            annotations.append(convert(item))
            positions.append(position)
        except (msgspec.DecodeError, RecursionError, ValueError, TypeError) as error:
            identifier = id_of(item)
            where = f"annotation {identifier}" if identifier is not None else "annotation"
            reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)
            problems.append(
                f"{where} (annotations[{position}]): not a COCO annotation: {reason} (expected integer "
                "image_id, category_id and id within int64, bbox [x, y, w, h] of 4 numbers or null)"
            )
    return (
        _File(images=loose.images, categories=loose.categories, annotations=annotations),
        problems,
        np.array(positions, dtype=np.int64),
    )


def _convert_annotation(item: Any, record: type) -> Any:
    """An annotation from ``json.loads``'s objects; its segmentation and keypoints kept as JSON text, NaN included."""
    raw = [name for name in ("segmentation", "keypoints") if name in record.__struct_fields__]
    if raw and isinstance(item, dict) and any(name in item for name in raw):
        converted = msgspec.convert({key: value for key, value in item.items() if key not in raw}, record)
        for name in raw:
            if name in item:
                setattr(converted, name, msgspec.Raw(json.dumps(item[name]).encode()))
        return converted
    return msgspec.convert(item, record)


def _raw_id(item: msgspec.Raw) -> Any:
    try:
        return _object_id(msgspec.json.decode(item))
    except (msgspec.DecodeError, RecursionError):
        return None


def _object_id(item: Any) -> Any:
    identifier = item.get("id") if isinstance(item, dict) else None
    return identifier if isinstance(identifier, int) and not isinstance(identifier, bool) else None


def _refuse_repeated_categories(
    categories: list[_Category], classes: Any, background: bool, source: str
) -> None:
    """Refuse two categories with one id (one would silently win), or, without ``classes``, one name."""
    names_of: dict[int, list[str]] = {}
    ids_of: dict[str, list[int]] = {}
    for category in categories:
        names_of.setdefault(category.id, []).append(category.name)
        ids_of.setdefault(category.name, []).append(category.id)
    repeated_ids = {key: names for key, names in names_of.items() if len(names) > 1}
    if repeated_ids:
        listed = "; ".join(
            f"id {key} for {' and '.join(map(repr, names))}" for key, names in list(repeated_ids.items())[:10]
        )
        raise DatasetFormatError(
            f"{source}: categories: expected distinct ids, got {listed}; give each category its own id "
            "(annotations name their category by id, so one of them would take the other's boxes)"
        )
    if classes is not None:
        return  # matched by name: a second category of a name is a problem of its annotations
    repeated = {
        name: ids for name, ids in ids_of.items() if len(ids) > 1 or (background and name == BACKGROUND)
    }
    if repeated:
        listed = "; ".join(
            f"{name!r} for ids {', '.join(map(str, sorted(ids)))}"
            for name, ids in list(repeated.items())[:10]
        )
        fix = (
            f"{BACKGROUND!r} names label 0 (the background): rename that category or pass background=False"
            if BACKGROUND in repeated
            else "rename one of them, or pass classes= to match categories by name"
        )
        raise DatasetFormatError(f"{source}: categories: expected distinct names, got {listed}; {fix}")


class _Rle(msgspec.Struct):
    size: list[int]
    counts: str | list[int]


#: A segmentation as the masks need it: polygons, one RLE, or nothing.
_Segmentation = list[list[float]] | _Rle | None
_SEGMENTATION_DECODER = msgspec.json.Decoder(_Segmentation)
#: How far beyond the image a polygon point may lie, as a fraction of the side (tools overshoot a little).
POLYGON_MARGIN = 1.0
#: A polygon's outline (summed over its edges, the longer of dx and dy) may be this many times the
#: image's height + width; pycocotools rasterises every step of it, so a longer one would fill the memory.
POLYGON_OUTLINE_LIMIT = 100
#: Polygon coordinates beyond this are refused whatever the image's size (pycocotools scales them by 5
#: into 32-bit integers).
MAX_POLYGON_COORDINATE = float(1 << 24)
#: pycocotools stores RLE counts as unsigned 32-bit integers.
_MAX_COUNT = (1 << 32) - 1


def _load_segmentation(raw: bytes) -> Any:
    """Polygons (a list of lists of floats), an `_Rle` or None; ValueError naming what does not fit."""
    try:
        try:
            return _SEGMENTATION_DECODER.decode(raw)
        except msgspec.ValidationError:
            raise
        except msgspec.DecodeError:
            # NaN or Infinity, as Python's json writes them: parsed here so that they are named below.
            return msgspec.convert(json.loads(raw), _Segmentation)
    except msgspec.ValidationError as error:
        raise ValueError(
            f"expected polygons [[x1, y1, x2, y2, ...], ...] or RLE {{'size': [height, width], 'counts': "
            f"...}}, got a value that does not fit: {error}"
        ) from None
    except RecursionError:
        raise ValueError("expected polygons or RLE, got JSON nested too deeply") from None
    except ValueError as error:
        raise ValueError(f"expected polygons or RLE, got malformed JSON: {error}") from None


_POLYGONS_DECODER = msgspec.json.Decoder(list[list[list[float]]])


def _segmentation_problems(raws: list[bytes], sizes: np.ndarray) -> list[str | None]:
    """`_segmentation_problem` of each segmentation, against ``sizes`` (``(N, 2)`` height, width).

    Built for a whole file: the polygons (nearly every segmentation of a
    COCO file) are decoded in one call and checked together in numpy arrays;
    only the segmentations found suspect, and those of other kinds (RLE,
    few), go through `_segmentation_problem` one by one, which decides and
    words the problem.
    """
    problems: list[str | None] = [None] * len(raws)
    if not raws:
        return problems
    lengths = np.fromiter(map(len, raws), dtype=np.int64, count=len(raws))
    joined = b"".join(raws)
    first = np.frombuffer(joined, dtype=np.uint8)[np.cumsum(lengths) - lengths] if lengths.all() else None
    if first is None:  # an empty value: not JSON, worded one by one
        suspect = np.ones(len(raws), dtype=bool)
    else:
        polygon = first == ord("[")
        suspect = ~polygon & (first != ord("n"))  # RLE (or anything but polygons and null)
        rows = np.flatnonzero(polygon)
        try:
            decoded = _POLYGONS_DECODER.decode(b"[" + b",".join([raws[row] for row in rows.tolist()]) + b"]")
        except (msgspec.DecodeError, RecursionError):  # a malformed one, or NaN, among them
            suspect[rows] = True
        else:
            suspect[rows] = _polygons_suspect(decoded, sizes[rows].astype(np.float64))
    for row in np.flatnonzero(suspect).tolist():
        height, width = (int(side) for side in sizes[row])
        problems[row] = _segmentation_problem(raws[row], height, width)
    return problems


def _polygons_suspect(segmentations: list[list[list[float]]], sizes: np.ndarray) -> np.ndarray:
    """Per annotation's polygons, whether a rule of `_segmentation_problem` may be broken (vectorised)."""
    per_annotation = np.fromiter(map(len, segmentations), dtype=np.int64, count=len(segmentations))
    polygons = list(chain.from_iterable(segmentations))
    lengths = np.fromiter(map(len, polygons), dtype=np.int64, count=len(polygons))
    coordinates = np.fromiter(chain.from_iterable(polygons), dtype=np.float64, count=int(lengths.sum()))
    owner = np.repeat(np.arange(len(segmentations)), per_annotation)  # the annotation of each polygon
    suspect = np.zeros(len(segmentations), dtype=bool)
    suspect[owner[(lengths < 6) | (lengths % 2 == 1)]] = True
    starts = np.cumsum(lengths) - lengths
    coordinate_owner = np.repeat(owner, lengths)
    is_y = (np.arange(len(coordinates)) - np.repeat(starts, lengths)) % 2 == 1
    height, width = sizes[coordinate_owner, 0], sizes[coordinate_owner, 1]
    known = (height > 0) & (width > 0)
    side = np.where(is_y, height, width)
    with np.errstate(invalid="ignore"):
        far = np.where(
            known,
            (coordinates < -side * POLYGON_MARGIN) | (coordinates > side * (1 + POLYGON_MARGIN)),
            np.abs(coordinates) > MAX_POLYGON_COORDINATE,
        )
    suspect[coordinate_owner[far | ~np.isfinite(coordinates)]] = True
    # The outline of the others' polygons: each point's step from the one before it, closing edge included.
    whole = (lengths >= 6) & (lengths % 2 == 0) & ~suspect[owner]
    points = coordinates[np.repeat(whole, lengths)].reshape(-1, 2)
    point_counts = lengths[whole] // 2
    point_starts = np.cumsum(point_counts) - point_counts
    previous = np.arange(len(points)) - 1
    previous[point_starts] = point_starts + point_counts - 1
    steps = np.abs(points - points[previous]).max(axis=1) if len(points) else np.zeros(0)
    outline = np.bincount(np.repeat(owner[whole], point_counts), weights=steps, minlength=len(segmentations))
    limit = POLYGON_OUTLINE_LIMIT * (sizes[:, 0] + sizes[:, 1])
    # A hair below the limit: the sum's order differs from the one-by-one check's; that one decides.
    suspect |= (sizes > 0).all(axis=1) & (outline > limit * (1 - 1e-9))
    return suspect


def _segmentation_problem(raw: bytes, height: int, width: int) -> str | None:
    """What keeps a segmentation from becoming a mask of a ``height`` x ``width`` image (0: unknown), or None.

    Everything pycocotools would trust is checked: an RLE's ``size`` must be
    the image's, its counts non-negative, within 32 bits and summing to
    ``height * width`` (more would be written past the mask's end); polygon
    points must be finite, an even count of at least 6 numbers, within
    `POLYGON_MARGIN` of the image, with a bounded outline.
    """
    try:
        segmentation = _load_segmentation(raw)
    except ValueError as error:
        return f"segmentation: {error}"
    if not segmentation:
        return None
    if isinstance(segmentation, _Rle):
        return _rle_problem(segmentation, height, width)
    outline = 0.0
    for number, polygon in enumerate(segmentation):
        where = f"segmentation polygon {number}"
        if len(polygon) < 6 or len(polygon) % 2:
            return (
                f"{where}: expected an even count of at least 6 numbers (3 points x, y), got {len(polygon)}"
            )
        points = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
        if not np.isfinite(points).all():
            return f"{where}: expected finite coordinates, got {_first(points, ~np.isfinite(points))}"
        if height > 0 and width > 0:
            side = np.array([width, height], dtype=np.float64)
            far = (points < -side * POLYGON_MARGIN) | (points > side * (1 + POLYGON_MARGIN))
            if far.any():
                return (
                    f"{where}: point {_first(points, far)} is far outside the {width}x{height} image: expected "
                    f"{-width * POLYGON_MARGIN:g} <= x <= {width * (1 + POLYGON_MARGIN):g} and "
                    f"{-height * POLYGON_MARGIN:g} <= y <= {height * (1 + POLYGON_MARGIN):g}"
                )
            outline += float(np.abs(points - np.roll(points, 1, axis=0)).max(axis=1).sum())
        elif (np.abs(points) > MAX_POLYGON_COORDINATE).any():
            return (
                f"{where}: point {_first(points, np.abs(points) > MAX_POLYGON_COORDINATE)} is beyond any "
                f"image: expected coordinates within ±{MAX_POLYGON_COORDINATE:g}"
            )
    if height > 0 and width > 0 and outline > POLYGON_OUTLINE_LIMIT * (height + width):
        return (
            f"segmentation: polygons with an outline of {outline:.0f} pixels on a {width}x{height} image: "
            f"expected at most {POLYGON_OUTLINE_LIMIT} x (height + width) = {POLYGON_OUTLINE_LIMIT * (height + width)}"
        )
    return None


def _first(points: np.ndarray, bad: np.ndarray) -> list[float]:
    return points[int(np.flatnonzero(bad.any(axis=1))[0])].tolist()


def _rle_problem(rle: _Rle, height: int, width: int) -> str | None:
    size = rle.size
    if len(size) != 2 or min(size) < 0:
        return f"segmentation RLE size: expected [height, width], got {size[:4]}"
    if height > 0 and width > 0 and list(size) != [height, width]:
        return f"segmentation RLE size: expected the image's [height, width] [{height}, {width}], got {list(size)}"
    if isinstance(rle.counts, str):
        counts = _rle_string_counts(rle.counts)
        if isinstance(counts, str):
            return f"segmentation RLE counts: {counts}"
    else:
        counts = np.asarray(rle.counts, dtype=np.float64)  # float: a count beyond int64 stays comparable
    if len(counts) and (counts.min() < 0 or counts.max() > _MAX_COUNT):
        bad = counts[(counts < 0) | (counts > _MAX_COUNT)][0]
        return f"segmentation RLE counts: expected counts between 0 and {_MAX_COUNT}, got {int(bad)}"
    total = int(counts.astype(np.int64).sum())
    if total != size[0] * size[1]:
        return (
            f"segmentation RLE counts: expected them to sum to height x width = {size[0]} x {size[1]} = "
            f"{size[0] * size[1]}, got {total}"
        )
    return None


def _rle_string_counts(text: str) -> np.ndarray | str:
    """The counts of COCO's compressed RLE string (as pycocotools' ``rleFrString`` reads them), or a problem.

    Each count is written as 5-bit groups in characters ``'0'`` + value,
    0x20 marking that more follow and 0x10 of the last one the sign; from
    the fourth on, a count is stored as the difference from the count two
    before it.
    """
    try:
        raw = np.frombuffer(text.encode("ascii"), dtype=np.uint8).astype(np.int64) - 48
    except UnicodeEncodeError:
        return "expected ASCII characters (COCO's compressed RLE), got other characters"
    if len(raw) == 0:
        return np.zeros(0, dtype=np.int64)
    if ((raw < 0) | (raw > 63)).any():
        bad = chr(int(raw[(raw < 0) | (raw > 63)][0]) + 48)
        return f"expected characters '0' to 'o' (COCO's compressed RLE), got {bad!r}"
    more = (raw & 0x20) != 0
    if more[-1]:
        return "the string ends inside a count (truncated)"
    ends = np.flatnonzero(~more)
    starts = np.concatenate([[0], ends[:-1] + 1])
    lengths = ends - starts + 1
    # pycocotools shifts in a 32-bit int: a seventh character may only add the 31st bit's neighbours.
    if (lengths > 7).any() or ((lengths == 7) & ((raw[ends] & 0x1F) > 1)).any():
        return "expected counts of at most 32 bits, got a longer one"
    shift = 5 * (np.arange(len(raw)) - np.repeat(starts, lengths))
    values = np.add.reduceat((raw & 0x1F) << shift, starts)
    negative = (raw[ends] & 0x10) != 0
    values = np.where(negative, values - (np.int64(1) << (5 * lengths)), values)
    counts = values.copy()
    # From the fourth count on, each is a difference to the count two before.
    counts[1::2] = np.cumsum(values[1::2])
    counts[2::2] = np.cumsum(values[2::2])
    return counts


def _image_arrays(images: list[_Image]) -> tuple[np.ndarray, np.ndarray]:
    """Each image's id (``int64``) and declared ``(height, width)`` (``int32``, 0 where not given)."""
    image_ids = np.fromiter((image.id for image in images), dtype=np.int64, count=len(images))
    sizes = np.array([(image.height, image.width) for image in images], dtype=np.int32).reshape(-1, 2)
    return image_ids, sizes


def _report_repeated_image_ids(
    image_ids: np.ndarray, images: list[_Image], problems: list[str]
) -> np.ndarray:
    """Per image, whether its id is listed more than once; each such id is one problem, with its file names.

    Annotations name their image by id: those of a repeated id cannot be told apart, so no image of
    that id takes them. The caller leaves every image of the id out (under skip/warn), and so its
    annotations, which are not reported one by one.
    """
    unique, inverse, repeats = np.unique(image_ids, return_inverse=True, return_counts=True)
    repeated = repeats[inverse.reshape(-1)] > 1
    for value, count in zip(unique[repeats > 1].tolist(), repeats[repeats > 1].tolist(), strict=True):
        names = [images[i].file_name for i in np.flatnonzero(image_ids == value)[:3].tolist()]
        problems.append(
            f"image id {value} is listed {count} times ({', '.join(map(repr, names))}"
            f"{', ...' if count > 3 else ''}): expected each image once with an id of its own, as "
            "annotations name their image by id; give each image its own id"
        )
    return repeated


@dataclass
class _AnnotationTable:
    """The annotation records' fields the index needs, as flat arrays: row ``i`` is record ``i``.

    Attributes:
        ids: Annotation ids (``int64``; -1 where the file gave none).
        image_ids: The image id each names.
        category_ids: The category id each names.
        crowd: ``iscrowd`` (``int64``).
        xywh: ``bbox`` ``[x, y, w, h]`` (``float64``; NaN where it has none, see `has_box`).
        area: ``area`` (``float64``), the box's ``w * h`` where the file gave none.
        has_box: Whether the record has a ``bbox`` (absent or null: no bbox, a problem).
    """

    ids: np.ndarray
    image_ids: np.ndarray
    category_ids: np.ndarray
    crowd: np.ndarray
    xywh: np.ndarray
    area: np.ndarray
    has_box: np.ndarray


def _annotation_table(annotations: list[Any]) -> _AnnotationTable:
    """`_AnnotationTable` of the decoded records, in one pass: integers as ``int64``, numbers as ``float64``."""
    integers = np.array(
        [(a.id, a.image_id, a.category_id, a.iscrowd) for a in annotations], dtype=np.int64
    ).reshape(-1, 4)
    numbers = np.array(
        [
            (*(_NAN_BOX if a.bbox is None else a.bbox), _NAN if a.area is None else a.area)
            for a in annotations
        ],
        dtype=np.float64,
    ).reshape(-1, 5)
    ids, image_ids, category_ids, crowd = integers.T
    xywh = numbers[:, :4]
    area = np.where(np.isnan(numbers[:, 4]), xywh[:, 2] * xywh[:, 3], numbers[:, 4])
    has_box = np.fromiter((a.bbox is not None for a in annotations), dtype=bool, count=len(annotations))
    return _AnnotationTable(ids, image_ids, category_ids, crowd, xywh, area, has_box)


def _xyxy(xywh: np.ndarray) -> np.ndarray:
    """COCO's ``[x, y, w, h]`` boxes as ``[x, y, x + w, y + h]`` (computed in ``float64``)."""
    return np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)


def _report_unplaced_annotations(
    table: _AnnotationTable,
    known_image: np.ndarray,
    known_label: np.ndarray,
    categories: list[_Category],
    classes: list[str],
    category_ids: list[Any],
    problems: list[str],
) -> np.ndarray:
    """Which annotations can be placed: an image the file has, a ``bbox``, a category of the classes.

    Each other annotation is one problem, for the first of these it lacks; ``known_label`` says
    whose category is one of `classes` (``category_ids`` gives each class's category id).
    """
    placed = known_image & known_label & table.has_box
    names = _category_names(categories)
    for row in np.flatnonzero(~placed).tolist():
        where = f"annotation {int(table.ids[row])}"
        if not known_image[row]:
            problems.append(f"{where}: image_id {int(table.image_ids[row])} is not in the file's images")
        elif not table.has_box[row]:
            problems.append(f"{where}: no bbox")
        else:
            category = int(table.category_ids[row])
            if category not in names:
                problems.append(
                    f"{where}: category_id {category} is not in the file's categories {_shown(sorted(names))}"
                )
            elif names[category] in classes:
                # classes= matched the name to another category (see `_classes`: the lowest id).
                problems.append(
                    f"{where}: category_id {category} is named {names[category]!r} like category "
                    f"{category_ids[classes.index(names[category])]}, which takes that class's label; "
                    "give the categories distinct names"
                )
            else:
                problems.append(
                    f"{where}: category_id {category} is {names[category]!r}, not one of the classes {classes}"
                )
    return placed


@dataclass
class _AnnotationPlace:
    """Where each annotation lies: its id and its image, for the problems found in it.

    Attributes:
        ids: Annotation ids, per row of the `_AnnotationTable`.
        position: Each annotation's image, as a position in ``images`` (meaningful where it is known).
        images: The file's image records.
        image_sizes: Each image's ``(height, width)``.
    """

    ids: np.ndarray
    position: np.ndarray
    images: list[_Image]
    image_sizes: np.ndarray

    def sizes(self, rows: np.ndarray | None = None) -> np.ndarray:
        """The ``(height, width)`` of the image of each annotation of ``rows`` (default: all)."""
        position = self.position if rows is None else self.position[rows]
        if not len(self.images):
            return np.zeros((len(position), 2), dtype=np.int32)
        return self.image_sizes[position]

    def report(
        self,
        issues: Sequence[str | None],
        keep: np.ndarray,
        problems: list[str],
        rows: np.ndarray | None = None,
    ) -> None:
        """Report each issue of a kept annotation (None: it has none) and leave that annotation out.

        ``issues[i]`` is row ``rows[i]``'s, or without ``rows`` row ``i``'s. Issues of annotations left
        out already are not reported: they have their problem, or were left out by choice.
        """
        # Over every annotation of a large file: only the few with an issue do more than one test.
        for offset, issue in enumerate(issues):
            if issue is None:
                continue
            row = offset if rows is None else int(rows[offset])
            if keep[row]:
                image = self.images[int(self.position[row])]
                problems.append(
                    f"annotation {int(self.ids[row])} (image {image.id}, {image.file_name}): {issue}"
                )
                keep[row] = False


def _rows_by_image(position: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """The kept annotations' rows in the order the index holds their boxes: by image, file order within.

    `DetectionIndex.build` groups the boxes so (a stable sort of their images' positions); what it does
    not hold per box (annotation ids, places in the file, segmentations) must be taken in this order,
    else the annotations of interleaved images would trade their masks and ids.

    Examples:
        >>> _rows_by_image(np.array([1, 0, 1, 0, 2]), np.array([True, True, True, False, True])).tolist()
        [1, 0, 2, 4]
    """
    kept = np.flatnonzero(keep)
    return kept[np.argsort(position[kept], kind="stable")]


def _segmentation_texts(annotations: list[Any], rows: np.ndarray) -> list[str]:
    """The ``segmentation`` of the annotations at ``rows``, each as its JSON text (decoded when read)."""
    return [bytes(annotations[row].segmentation).decode("utf-8") for row in rows.tolist()]


def _refuse_repeated_annotation_ids(
    annotation_ids: np.ndarray, keep: np.ndarray, problems: list[str]
) -> None:
    """Each annotation id used more than once is a problem; all but its first annotation are left out.

    COCO evaluation looks annotations up by id. Annotations without an id
    (read as -1) are not compared.
    """
    with_id = np.flatnonzero(annotation_ids != -1)
    if len(with_id) < 2:
        return
    unique, first, counts = np.unique(annotation_ids[with_id], return_index=True, return_counts=True)
    if (counts == 1).all():
        return
    repeated_rows = np.ones(len(with_id), dtype=bool)
    repeated_rows[first] = False  # the first of each id stays
    keep[with_id[repeated_rows]] = False
    for value, count in zip(unique[counts > 1].tolist(), counts[counts > 1].tolist(), strict=True):
        rows = with_id[annotation_ids[with_id] == value][:4].tolist()
        problems.append(
            f"annotation id {value} is used {count} times (annotations{rows}{'...' if count > 4 else ''}): "
            "expected distinct ids, as COCO evaluation looks annotations up by id; give each its own id "
            "(all but the first are left out)"
        )


def _category_names(categories: list[_Category]) -> dict[int, str]:
    return {category.id: category.name for category in categories}


def _shown(values: list[Any]) -> str:
    shown = ", ".join(map(str, values[:_SHOWN_NAME]))
    return f"[{shown}{', ...' if len(values) > _SHOWN_NAME else ''}]"


def _classes(
    categories: list[_Category], classes: Sequence[str] | None, background: bool
) -> tuple[list[str], list[Any], dict[int, int]]:
    """The class names, each label's category id, and category id -> label.

    ``classes`` matches categories by name: of two categories of one name, the one of the lowest id
    takes the class (the order of ids is the order labels follow without ``classes``); annotations
    of the other are problems that name it (`_report_unplaced_annotations`).
    """
    ordered = sorted(categories, key=lambda category: category.id)
    if classes is None:
        names = ([BACKGROUND] if background else []) + [category.name for category in ordered]
        ids: list[Any] = ([None] if background else []) + [category.id for category in ordered]
    else:
        names = class_names(classes)
        by_name: dict[str, int] = {}
        for category in ordered:
            by_name.setdefault(category.name, category.id)
        ids = [by_name.get(name) for name in names]
    return names, ids, {category: label for label, category in enumerate(ids) if category is not None}


def _map(values: np.ndarray, mapping: dict[int, int]) -> np.ndarray:
    """``mapping[value]`` for each value, -1 where it has no entry (by binary search: ids may be huge)."""
    if not mapping:
        return np.full(len(values), -1, dtype=np.int64)
    keys = np.array(sorted(mapping), dtype=np.int64)
    mapped = np.array([mapping[key] for key in keys.tolist()], dtype=np.int64)
    found = np.minimum(np.searchsorted(keys, values), len(keys) - 1)
    return np.where(keys[found] == values, mapped[found], -1)


def _positions(image_ids: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Position in ``image_ids`` of each id in ``wanted``, and whether it is there at all.

    For an id listed more than once, the position of its first image (the reader leaves every image
    of such an id out, with the annotations naming it: see `_report_repeated_image_ids`).

    Examples:
        >>> position, known = _positions(np.array([7, 5, 7]), np.array([7, 5, 9]))
        >>> position[known].tolist(), known.tolist()
        ([0, 1], [True, True, False])
    """
    if len(image_ids) == 0:
        return np.zeros(len(wanted), dtype=np.int64), np.zeros(len(wanted), dtype=bool)
    low, high = int(image_ids.min()), int(image_ids.max())
    if low >= 0 and high < 16 * len(image_ids) + 1024:
        # Ids are dense enough for a table (COCO's are): one lookup per annotation.
        table = np.full(high + 1, -1, dtype=np.int64)
        table[image_ids[::-1]] = np.arange(len(image_ids))[::-1]  # the first of repeated ids wins
        inside = (wanted >= 0) & (wanted <= high)
        position = np.where(inside, table[np.clip(wanted, 0, high)], -1)
        known = position >= 0
        return np.where(known, position, 0), known
    order = np.argsort(image_ids, kind="stable")
    found = np.minimum(np.searchsorted(image_ids, wanted, sorter=order), len(image_ids) - 1)
    position = order[found]
    return position, image_ids[position] == wanted


def _category_ids(dataset: Any, names: list[str], first: int) -> dict[int, int]:
    """Label -> COCO category id: distinct ids, a COCO source's own where it has one for the class.

    A class list given by hand can hold names the file lacks: they get ``label + 1 - first`` when that
    id is free, else the next id above every other, so no two categories share an id.
    """
    from visiondata.formats._coco import CocoDetectionDataset

    # Only a COCO source has COCO ids to keep (YOLO's class ids start at 0, COCO's at 1).
    kept = list(getattr(dataset, "category_ids", [])) if isinstance(dataset, CocoDetectionDataset) else []
    category_of: dict[int, int] = {}
    used: set[int] = set()
    for label in range(first, len(names)):
        wanted = kept[label] if label < len(kept) else None
        if wanted is not None and int(wanted) not in used:
            category_of[label] = int(wanted)
            used.add(int(wanted))
    for label in range(first, len(names)):
        if label in category_of:
            continue
        number = label + 1 - first
        if number in used:
            number = max(used) + 1
        category_of[label] = number
        used.add(number)
    return category_of


def to_coco(
    dataset: Any,
    out_dir: str | os.PathLike[str],
    images: str = "copy",
    progress: bool = False,
    overwrite: bool = False,
) -> ConversionReport:
    """Write a detection dataset as COCO: ``out_dir/images/...`` and ``out_dir/annotations.json``.

    COCO holds boxes, crowd regions, areas, polygons and masks: every box
    and every crowd region the source holds is written (the report's
    ``crowd_left_out`` is 0). Crowd regions the source's reader left out
    (``include_crowd=False``, its default) were never samples: they are
    counted in ``source_crowd_left_out`` (read the source with
    ``include_crowd=True`` to write them). Per-box fields COCO has no key
    for (VOC's ``difficult`` and ``truncated``, a tool's attributes) are
    counted by name in ``fields_left_out``; images without boxes are
    written as image records with no annotation (``empty_images``).
    Keypoints are written too (``keypoints`` ``[x1, y1, v1, ...]`` and
    ``num_keypoints``; see below), never counted as lost.

    From a [`CocoDetectionDataset`][visiondata.formats.CocoDetectionDataset]
    the conversion is lossless: the annotation file is read again and each
    annotation written back as the file has it (its ``segmentation``,
    polygons or RLE, compressed or not, its ``id``, ``area``, ``iscrowd``,
    ``bbox`` numbers and any other keys), with the file's image ids and
    category ids; the top-level keys other than ``images``, ``annotations``
    and ``categories`` (``info``, ``licenses``...) and the other keys of
    each image and category record are carried over as written. Only
    what the reader changed differs: a box it snapped onto the image's
    border is written as it holds it, ``file_name``, ``width`` and
    ``height`` are those of the image written, and annotations or images it
    left out (its ``problems``) are not written. Annotations keep the
    file's order. With keypoints read, each annotation's ``keypoints`` and
    ``num_keypoints`` are written as the file has them (integers stay
    integers) and the categories' ``keypoints`` names and 1-based
    ``skeleton`` as written; a point the reader snapped onto the border is
    written as it holds it, and an annotation the file gave no ``keypoints``
    or ``num_keypoints`` gets them (all zeros; the count of labelled points),
    as ``COCOeval`` reads both. An annotation file changed since the dataset read it is
    refused (build the dataset again).

    From other sources: category ids are the labels themselves when label
    0 is the background, else label + 1 (COCO ids start at 1; always
    distinct); image ids 1, 2, 3..., annotation ids 1, 2, 3... Numbers are
    written as the shortest decimal that reads back as the float32 the
    source holds (``343.2``, not ``343.20001220703125``). A source's
    polygons (``polygons(index)``, in pixels: CVAT, LabelMe, Label Studio,
    YOLO segment lines) become polygon segmentations; masks
    of a source that gives them (``"masks"`` in its samples) become
    compressed RLE (needs pycocotools; without it they are counted in the
    report's ``masks_left_out``); a box without either has no
    ``segmentation``. ``iscrowd`` and ``area`` come from the source's
    fields when it has them. Two images that would take the same name (a
    path leaving the root, made relative) are kept apart as ``a_2.jpg``.
    A source's keypoints (its samples' ``"keypoints"``, ``(N, K, 3)`` pixels)
    become ``keypoints`` (whole numbers written as integers, others as the
    shortest decimal of the float32) and ``num_keypoints`` (the points of
    visibility 1 or 2); each category gets the source's `keypoint_names`
    (else ``keypoint_0``, ``keypoint_1``...) and its ``skeleton`` 1-based,
    as COCO has it (else ``[]``).

    The output is built beside ``out_dir`` and renamed into place when complete, with
    ``visiondata-conversion.json`` written last (see the module's description).

    Args:
        dataset: Detection samples with a ``classes`` list.
        out_dir: Output folder: new or empty, apart from the source's files and folders.
        images: ``"copy"`` the image files, hard-``"link"`` them, or ``"symlink"`` them (absolute links).
        progress: Show a progress bar.
        overwrite: Replace an ``out_dir`` that holds files (whole, once the new output is complete).

    Returns:
        A [`ConversionReport`][visiondata.formats.ConversionReport].

    Raises:
        OutputConflictError: ``out_dir`` is, holds or lies inside an input, is not a folder, or holds
            files and ``overwrite`` is false. Nothing is written.
        DatasetFormatError: The source's annotation file (COCO) changed since the dataset read it.

    Examples:
        >>> import json, tempfile, pathlib
        >>> from PIL import Image
        >>> from visiondata.datasets import CSVDetectionDataset
        >>> root, out = pathlib.Path(tempfile.mkdtemp()), pathlib.Path(tempfile.mkdtemp()) / "coco"
        >>> Image.new("RGB", (20, 10)).save(root / "a.png")
        >>> _ = (root / "boxes.csv").write_text("image,x_min,y_min,x_max,y_max,label\\na.png,1,2.2,5,6,cat\\n")
        >>> report = to_coco(CSVDetectionDataset(root / "boxes.csv", root), out)
        >>> json.loads((out / "annotations.json").read_text())["annotations"][0]["bbox"]
        [1.0, 2.2, 4.0, 3.8]
    """
    from visiondata.formats._coco import CocoDetectionDataset

    names, first, out, report, inputs = start_writing(dataset, out_dir, "coco", images)
    source = dataset._source_records() if isinstance(dataset, CocoDetectionDataset) else None
    category_of = _category_ids(dataset, names, first)
    coco_images: list[dict[str, Any]] = []
    annotations: list[tuple[int, dict[str, Any]]] = []  # (the source file's order, annotation)
    next_id = 1
    if source is not None and len(dataset._annotation_ids):
        next_id = max(int(dataset._annotation_ids.max()), 0) + 1  # for annotations the file gave no id
    taken: set[str] = set()
    keypoint_count: int | None = None  # K of the source's keypoints, once a sample shows them
    with staged_output_dir(out, inputs, overwrite) as staging:
        output = StagedOutput(staging)
        for index, record in write_records(dataset, progress, report, names, first):
            image_id = record.image_id if source is not None else len(coco_images) + 1
            name = unique_name(safe_name(record.name).as_posix(), taken, PurePosixPath(record.name).suffix)
            place_image(record, output.path(f"images/{name}"), images, report)
            image = dict(source.images.get(image_id, {})) if source is not None else {}
            image.update({"id": image_id, "file_name": name, "width": record.width, "height": record.height})
            coco_images.append(image)
            note_oriented_left_out(dataset, index, len(record.boxes), report)
            # COCO holds keypoints (written below): taken out so that they are not counted as lost.
            keypoints = record.fields.pop("keypoints", None)
            if keypoints is not None and (keypoints.ndim != 3 or keypoints.shape[2] != 3):
                keypoints = None
            if keypoints is not None and keypoint_count is None:
                keypoint_count = int(keypoints.shape[1])
            note_losses(record, report)  # COCO holds crowds and areas: difficult, truncated... are counted
            written = _coco_annotations(dataset, index, record, source, report, keypoints)
            for box, (order, annotation) in enumerate(written):
                if annotation.get("id", -1) == -1:
                    annotation["id"] = next_id
                    next_id += 1
                annotation["image_id"] = image_id
                annotation["category_id"] = category_of[int(record.labels[box])]
                annotations.append((order if source is not None else len(annotations), annotation))
            report.images += 1
            report.boxes += len(record.boxes)
        categories = []
        for label in range(first, len(names)):
            category = dict(source.categories.get(category_of[label], {})) if source is not None else {}
            category.update({"id": category_of[label], "name": names[label]})
            # A COCO source's categories keep their own keypoint names; names are added only where the
            # file gave none (keypoints=True on a file without names) or the source is not COCO.
            if (
                keypoint_count is not None
                and not isinstance(category.get("keypoints"), list)
                and (source is None or getattr(dataset, "keypoint_names", None) is None)
            ):
                category.update(_keypoint_category(dataset, keypoint_count))
            categories.append(category)
        written_annotations = [annotation for _, annotation in sorted(annotations, key=lambda item: item[0])]
        content = {"images": coco_images, "annotations": written_annotations, "categories": categories}
        if source is not None:
            # The file's own top-level keys (info, licenses...) as written, in the file's order.
            ordered = {key: content[key] if key in content else source.extras[key] for key in source.keys}
            content = {**ordered, **{key: value for key, value in content.items() if key not in ordered}}
        output.write_text("annotations.json", json.dumps(content, ensure_ascii=False))
        write_manifest(output, report, dataset, inputs)
    return report


def _short(value: float) -> float:
    """The shortest decimal that reads back as ``value``'s float32, as a float (what the index holds).

    Examples:
        >>> _short(343.20001220703125), _short(2.0), _short(0.1)
        (343.2, 2.0, 0.1)
    """
    return float(np.format_float_positional(np.float32(value), unique=True, trim="0"))


def _short_bbox(box: list[float]) -> list[float]:
    """``[x, y, w, h]`` of the stored ``xyxy`` ``box`` in the shortest decimals that read back as it.

    The reader computes ``x + w`` in float64 and stores it as float32: ``w`` is the shortest decimal
    for which that gives the stored corner (``10.1 + 20.7``, not ``20.699999``).

    Examples:
        >>> _short_bbox([float(np.float32(900.3)), float(np.float32(10.1)), 1000.0, float(np.float32(30.8))])
        [900.3, 10.1, 99.7, 20.7]
    """
    x, y = _short(box[0]), _short(box[1])
    return [x, y, _short_side(x, box[2]), _short_side(y, box[3])]


def _short_side(start: float, end: float) -> float:
    """The shortest decimal ``side`` with ``float32(start + side) == float32(end)`` (``start`` as written)."""
    target = np.float32(end)
    difference = float(end) - start
    for digits in range(10):
        side = round(difference, digits)
        if np.float32(start + side) == target:
            return side
    return difference


def _same_box(bbox: Any, box: np.ndarray) -> bool:
    """Whether the file's ``bbox`` ``[x, y, w, h]`` is the stored ``xyxy`` ``box`` (not snapped by the reader)."""
    if not isinstance(bbox, list) or len(bbox) != 4:
        return False
    if not all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in bbox):
        return False
    x, y, w, h = (float(value) for value in bbox)
    corners = np.array([x, y, x + w, y + h], dtype=np.float64).astype(np.float32)
    return bool(np.array_equal(corners, np.asarray(box, dtype=np.float32)))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _keypoint_category(dataset: Any, count: int) -> dict[str, Any]:
    """A category's ``keypoints`` names and 1-based ``skeleton`` from a source's keypoints (``count`` per box).

    The source's `keypoint_names` when it has ``count`` of them, else ``keypoint_0``, ``keypoint_1``...;
    its ``skeleton`` (0-based pairs) written 1-based as COCO has it, else ``[]``.
    """
    names = getattr(dataset, "keypoint_names", None)
    if not names or len(names) != count:
        names = [f"keypoint_{index}" for index in range(count)]
    skeleton = [
        [int(first) + 1, int(second) + 1]
        for first, second in getattr(dataset, "skeleton", None) or []
        if 0 <= int(first) < count and 0 <= int(second) < count
    ]
    return {"keypoints": [str(name) for name in names], "skeleton": skeleton}


def _keypoint_numbers(points: np.ndarray) -> list[float | int]:
    """``(K, 3)`` keypoints as COCO's flat ``[x1, y1, v1, ...]``: whole numbers as integers (as COCO writes
    them), others in the shortest decimals that read back as the stored float32; visibility an integer.

    Examples:
        >>> _keypoint_numbers(np.array([[12, 7.5, 2], [0, 0, 0]], dtype=np.float32))
        [12, 7.5, 2, 0, 0, 0]
    """
    written: list[float | int] = []
    for x, y, visibility in np.asarray(points, dtype=np.float32).reshape(-1, 3).tolist():
        written += [int(x) if x.is_integer() else _short(x), int(y) if y.is_integer() else _short(y)]
        written.append(int(visibility))
    return written


def _same_keypoints(value: Any, points: np.ndarray) -> bool:
    """Whether the file's ``keypoints`` are the stored ``(K, 3)`` ``points`` (not snapped by the reader)."""
    if not isinstance(value, list) or len(value) != points.size:
        return False
    if not all(isinstance(item, (int, float)) and not isinstance(item, bool) for item in value):
        return False
    return bool(np.array_equal(np.asarray(value, dtype=np.float64).astype(np.float32), points.reshape(-1)))


def _coco_annotations(
    dataset: Any,
    index: int,
    record: WriteRecord,
    source: Any,
    report: ConversionReport,
    keypoints: np.ndarray | None = None,
) -> list[tuple[int, dict[str, Any]]]:
    """``(order, annotation)`` of each box of ``record``, without ``image_id`` and ``category_id``.

    From a COCO source (``source``, its `SourceRecords`), each box's annotation as the file has it,
    ``order`` its place in the file; otherwise built from the record (``order`` unused).
    ``keypoints`` (``(N, K, 3)`` pixels, or None) are the sample's: a COCO source's as written where
    the reader kept them as they are, others as `_keypoint_numbers` writes them, with ``num_keypoints``.
    """
    if keypoints is not None and len(keypoints) != len(record.boxes):
        keypoints = None
    count = len(record.boxes)
    shortest_bbox = [_short_bbox(box) for box in record.boxes.tolist()]
    crowd = record.fields.get("iscrowd", np.zeros(count, dtype=np.int64)).reshape(-1)
    # Without a source's area: the area of the box as written (what a COCO reader would compute).
    sides = np.array([bbox[2:] for bbox in shortest_bbox], dtype=np.float64).reshape(-1, 2)
    area = np.asarray(record.fields.get("area", sides[:, 0] * sides[:, 1]), dtype=np.float64).reshape(-1)
    if source is not None:
        position = index % len(dataset)
        start, end = int(dataset.index.offsets[position]), int(dataset.index.offsets[position + 1])
        rows, ids = dataset._annotation_rows[start:end].tolist(), dataset._annotation_ids[start:end].tolist()
        written = []
        for box, (row, identifier) in enumerate(zip(rows, ids, strict=True)):
            annotation = source.annotation(row)  # as written: segmentation, numbers, other keys
            annotation["id"] = identifier
            if not _same_box(annotation.get("bbox"), record.boxes[box]):
                annotation["bbox"] = shortest_bbox[box]  # snapped onto the border by the reader
            if not _is_number(annotation.get("area")):
                annotation["area"] = _short(area[box])
            if "iscrowd" not in annotation:
                annotation["iscrowd"] = int(crowd[box])
            if keypoints is not None:
                # As written, unless the reader snapped a point onto the border or the file gave none
                # (all-zero then); num_keypoints filled in where missing, as COCOeval needs it.
                points = np.asarray(keypoints[box], dtype=np.float32)
                if not _same_keypoints(annotation.get("keypoints"), points):
                    annotation["keypoints"] = _keypoint_numbers(points)
                if isinstance(annotation.get("num_keypoints"), bool) or not isinstance(
                    annotation.get("num_keypoints"), int
                ):
                    annotation["num_keypoints"] = int(np.count_nonzero(points[:, 2] > 0))
            written.append((row, annotation))
        return written
    segmentations = _segmentations(dataset, index, record, report)
    written = []
    for box in range(count):
        annotation: dict[str, Any] = {
            "id": -1,
            "bbox": shortest_bbox[box],
            "area": _short(area[box]),
            "iscrowd": int(crowd[box]),
        }
        if segmentations[box] is not None:
            annotation["segmentation"] = segmentations[box]
        if keypoints is not None:
            points = np.asarray(keypoints[box], dtype=np.float32)
            annotation["keypoints"] = _keypoint_numbers(points)
            annotation["num_keypoints"] = int(np.count_nonzero(points[:, 2] > 0))
        written.append((box, annotation))
    return written


def _segmentations(dataset: Any, index: int, record: WriteRecord, report: ConversionReport) -> list[Any]:
    """Each box's COCO segmentation from a source that is not COCO, or None where it has none.

    A reader's polygons (``polygons(index)``: per box a ``(K, 2)`` array of ``x y`` pixels, or None
    for a rectangle; CVAT, LabelMe, Label Studio, YOLO segment lines) become COCO polygons as they
    are; masks in the samples (``"masks"``, ``N x H x W``) become compressed RLE through pycocotools
    (counted in ``report.masks_left_out`` when it is not installed).
    """
    count = len(record.boxes)
    found: list[Any] = [None] * count
    polygons = getattr(dataset, "polygons", None)
    if callable(polygons) and has_files(dataset):
        for box, points in enumerate(list(polygons(index))[:count]):
            if points is not None and len(points) >= 3:
                pixels = np.asarray(points, dtype=np.float64).reshape(-1)
                found[box] = [[_short(value) for value in pixels.tolist()]]
    masks = record.fields.get("masks")
    if masks is not None and masks.ndim == 3 and len(masks) == count:
        try:
            from pycocotools import mask as coco_mask
        except ImportError:
            report.masks_left_out += sum(1 for value in found if value is None)
            return found
        for box in range(count):
            if found[box] is None:
                rle = coco_mask.encode(np.asfortranarray(masks[box].astype(np.uint8)))
                found[box] = {
                    "size": [int(side) for side in rle["size"]],
                    "counts": rle["counts"].decode("ascii"),
                }
    return found
