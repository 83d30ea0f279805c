"""Opening a labelled source from a path and a format name: the one way every command (``check``, ``convert``,
``export``, ``preview``) reads a dataset of boxes, keypoints, oriented boxes or semantic masks."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

DETECTION_FORMATS = ("coco", "voc", "yolo", "csv", "cvat", "labelme", "label-studio", "dota", "mask-folder")
#: The format name of a semantic segmentation folder (images + masks of class ids).
MASK_FOLDER = "mask-folder"
#: The image and mask folder names of a mask folder, as ``to_mask_folder`` writes it (ADE20K's second).
MASK_FOLDER_LAYOUTS = (("images", "masks"), ("images", "annotations"))


def guess_format(source: str | Path) -> str | None:
    """The format of the labelled source a path looks like, or ``None``.

    An ``.xml`` file (or a folder holding ``annotations.xml``) with CVAT's ``<annotations>`` root is
    CVAT; a ``.json`` file holding a list of Label Studio tasks is Label Studio, a LabelMe JSON file (or a
    folder of them) LabelMe; another ``.json`` file is COCO, a ``.csv`` file CSV, a ``.yaml`` file YOLO, and
    so is Darknet's ``obj.data`` (CVAT's and datumaro's "YOLO 1.1" export), or a folder holding it (or holding
    ``obj.names`` and an ``obj_<subset>_data/`` folder); a folder with ``Annotations/``
    (or a ``VOCdevkit``) is VOC; a folder is YOLO only with YOLO's structure: a ``data.yaml``, or image
    files whose label files (``.txt`` of the same name) stand in a ``labels/`` folder beside their
    ``images/`` folder. A ``labels/`` folder alone proves nothing (a folder of class sub-folders may sit
    beside one, or hold a class named ``labels``), so such a folder is left to the caller, who reads it
    as class folders. Then a folder of XML files is VOC. A folder holding ``images/`` and DOTA's
    ``labelTxt/`` (or an ``images`` folder with ``labelTxt/`` beside it) is DOTA. A folder holding
    ``images/`` and ``masks/`` (or ADE20K's ``annotations/``) where a ``.png`` mask has the name of an image
    (one of the first few looked at) is a mask folder (``"mask-folder"``), as ``to_mask_folder`` writes it;
    so is Pascal VOC's ``JPEGImages/`` + ``SegmentationClass/`` tree without ``Annotations/`` (with it, the
    folder is VOC detection: pass ``"mask-folder"`` to read its masks).
    YOLO's task (detect,
    segment, pose, obb) is not part of the format: ``YOLODataset`` guesses it from the lines and the
    ``data.yaml``'s ``kpt_shape``.
    """
    from visiondata.formats._cvat import looks_like_cvat
    from visiondata.formats._label_studio import looks_like_label_studio
    from visiondata.formats._labelme import looks_like_labelme

    path = Path(source)
    suffix = path.suffix.lower()
    if looks_like_cvat(path):
        return "cvat"
    if looks_like_label_studio(path):
        return "label-studio"
    if looks_like_labelme(path):
        return "labelme"
    if path.is_file():
        if suffix == ".data" and path.name == "obj.data":
            return "yolo"  # Darknet / CVAT "YOLO 1.1"
        return {".json": "coco", ".csv": "csv", ".yaml": "yolo", ".yml": "yolo"}.get(suffix)
    if not path.is_dir():
        return None
    if _dota_folders(path) is not None:
        return "dota"
    if _mask_folders(path) is not None:
        return MASK_FOLDER
    voc_tree = _voc_segmentation_root(path)
    if voc_tree is not None and not (voc_tree / "Annotations").is_dir():
        return MASK_FOLDER  # VOC's segmentation tree alone; with Annotations/ it is read as VOC detection
    if (path / "obj.data").is_file() or ((path / "obj.names").is_file() and any(path.glob("obj_*_data"))):
        return "yolo"  # Darknet / CVAT "YOLO 1.1": obj.data, obj.names, obj_<subset>_data/
    if (
        (path / "Annotations").is_dir()
        or (path / "VOCdevkit").is_dir()
        or any(path.glob("VOC20*/Annotations"))
    ):
        return "voc"
    if (path / "data.yaml").is_file() or _looks_like_yolo(path):
        return "yolo"
    if any(path.glob("*.xml")):
        return "voc"
    return None


def _dota_folders(path: Path) -> tuple[Path, Path] | None:
    """``(images, labelTxt)`` of a DOTA folder (``path/images`` + ``path/labelTxt``, or ``path`` = its images)."""
    if (path / "images").is_dir() and (path / "labelTxt").is_dir():
        return path / "images", path / "labelTxt"
    if path.name == "images" and (path.parent / "labelTxt").is_dir():
        return path, path.parent / "labelTxt"
    return None


#: Image files looked at (at most) to find YOLO label files, so guessing stays quick on large folders.
_GUESS_SAMPLE = 200


def _mask_folders(path: Path, split: str | None = None) -> tuple[Path, Path] | None:
    """``(images, masks)`` of a mask folder (``path/images`` + ``path/masks``), or ``None``.

    Only a folder where one of the first images has a ``.png`` mask of the same relative name counts: two
    class sub-folders named ``images`` and ``masks`` are not taken for one. With ``split``, the
    ``images/<split>`` and ``masks/<split>`` sub-folders are the pair when both exist.
    """
    from visiondata.io._read import IMAGE_EXTENSIONS

    for images_name, masks_name in MASK_FOLDER_LAYOUTS:
        images, masks = path / images_name, path / masks_name
        if not (images.is_dir() and masks.is_dir()):
            continue
        if split is not None and (images / split).is_dir() and (masks / split).is_dir():
            images, masks = images / split, masks / split
        seen = 0
        for file in images.rglob("*"):
            if file.suffix.lower() not in IMAGE_EXTENSIONS:
                continue
            if (masks / file.relative_to(images)).with_suffix(".png").is_file():
                return images, masks
            seen += 1
            if seen >= _GUESS_SAMPLE:
                break
    return None


def _looks_like_yolo(path: Path) -> bool:
    """Whether ``path`` (a dataset folder, its ``images/``, or an ``images/<split>`` folder) has label files.

    YOLO's label file of ``.../images/x/a.jpg`` is ``.../labels/x/a.txt``: the folder counts as YOLO
    when one of its first images has that file.
    """
    candidates = [(path / "images", path / "labels")]
    if path.name == "images":
        candidates.append((path, path.parent / "labels"))
    if path.parent.name == "images":
        candidates.append((path, path.parent.parent / "labels" / path.name))
    from visiondata.io._read import IMAGE_EXTENSIONS

    for images, labels in candidates:
        if not (images.is_dir() and labels.is_dir()):
            continue
        seen = 0
        for file in images.rglob("*"):
            if file.suffix.lower() not in IMAGE_EXTENSIONS:
                continue
            if (labels / file.relative_to(images)).with_suffix(".txt").is_file():
                return True
            seen += 1
            if seen >= _GUESS_SAMPLE:
                break
    return False


def open_detection(
    source: str | Path,
    fmt: str | None = None,
    images: str | None = None,
    split: str | None = None,
    root: str | None = None,
    on_error: str = "raise",
    classes: list[str] | None = None,
    include_crowd: bool = False,
) -> Any:
    """The labelled dataset of a path (the function keeps its old name): COCO JSON (images in ``images``), a VOC folder, YOLO, a CSV file, a
    CVAT for images XML file (images in ``images``, default: beside it or in ``images/``), a LabelMe JSON
    file or folder of them, or a Label Studio JSON export (images in ``images``, default: its folder).
    A Darknet / CVAT "YOLO 1.1" export (``obj.data`` or its folder) is read as YOLO, ``split`` picking the
    subset (``train``, ``val`` for CVAT's ``valid``).

    COCO without ``images``: the JSON's folder, else (when none or most of the images are there) the
    ``images/`` folder beside the JSON or beside its folder (a COCO export's ``annotations/instances.json``
    + ``images/``) that holds them; if neither does, one error says how many are missing and to pass
    ``images``. YOLO: ``classes`` names the class ids in order; without it, the ``names`` (or ``nc``) of a
    ``data.yaml`` are used: the one given, the one in the folder (a ``data.yaml`` with only ``names`` /
    ``nc``, as supervision writes it, describes the ``images/`` + ``labels/`` beside it), or the one
    beside an ``images`` folder given as the source (``ds/images`` or ``ds/images/train`` with
    ``ds/data.yaml``). Only without any names are classes named by their ids (``"0"``, ``"1"``...).
    DOTA: a folder holding ``images/`` and ``labelTxt/``, or its ``images`` folder; ``classes`` replaces
    DOTA's own class list (see ``DOTADataset``).

    Mask folder (``"mask-folder"``): a folder holding ``images/`` and ``masks/`` (``annotations/``,
    ADE20K's name), read by ``SegmentationFolderDataset``; ``split`` picks ``images/<split>`` and
    ``masks/<split>`` when the folders have such sub-folders (a split that is not there is an error when
    they have other sub-folders, and is ignored when they have none: the folder is one split). Class names:
    ``classes``, else the ``classes.txt`` in the folder (one name a line, as ``to_mask_folder`` writes it),
    else unnamed ids. Pascal VOC's tree (the folder holding ``JPEGImages/`` and ``SegmentationClass/``, or a
    ``VOCdevkit`` / ``VOC20xx`` folder above it): ``split`` reads the names of
    ``ImageSets/Segmentation/<split>.txt``; without it, every mask in ``SegmentationClass`` with its image
    (most VOC images have no mask: they are not problems). Class names: VOC's 20 after ``__background__``.

    ``include_crowd`` is passed to a COCO reader: ``visiondata convert`` reads crowd regions so that
    COCO -> COCO keeps them and each writer's own ``include_crowd`` decides; ``check``, ``preview`` and
    ``export`` read as training does (crowds left out and counted).

    Raises:
        DatasetFormatError: The format is unknown and cannot be guessed from the path, or ``split``
            is not a plain name (a path separator, ``..`` or ``%`` would lead outside the dataset), or
            a mask folder has no such split or no ``images/`` + ``masks/`` folders.
    """
    from visiondata.datasets import (
        CocoDetectionDataset,
        CSVDetectionDataset,
        VOCDetectionDataset,
        YOLODataset,
    )
    from visiondata.formats._writing import check_split_name

    if split is not None:
        check_split_name(split)  # a split names a file or folder inside the dataset: '../x' would leave it
    fmt = fmt or guess_format(source)
    path = Path(source)
    if fmt == "coco":
        if images is not None:
            return CocoDetectionDataset(images, path, on_error=on_error, include_crowd=include_crowd)
        return _open_coco(path, on_error, include_crowd)
    if fmt == "voc":
        return VOCDetectionDataset(path, split=split, on_error=on_error)
    if fmt == "yolo":
        from visiondata.formats._yolo import _darknet_file

        if _darknet_file(path) is not None:  # Darknet: obj.data (or the folder holding it) picks the subset
            return YOLODataset(path, split=split or "train", on_error=on_error, classes=classes)
        if path.is_file():
            return YOLODataset(data_yaml=path, split=split or "train", on_error=on_error, classes=classes)
        if (path / "data.yaml").is_file():
            return YOLODataset(
                data_yaml=path / "data.yaml", split=split or "train", on_error=on_error, classes=classes
            )
        return YOLODataset(path, on_error=on_error, classes=classes or _yolo_names_beside(path))
    if fmt == "dota":
        from visiondata.formats._dota import DOTADataset

        folders = _dota_folders(path)
        if folders is None:
            return DOTADataset(path, on_error=on_error, classes=classes)  # labelTxt/ beside it, by default
        return DOTADataset(folders[0], folders[1], on_error=on_error, classes=classes)
    if fmt == MASK_FOLDER:
        return _open_mask_folder(path, split, on_error, classes)
    if fmt == "csv":
        return CSVDetectionDataset(path, root or path.parent, on_error=on_error)
    if fmt == "cvat":
        from visiondata.formats import CVATDataset

        annotation_file = path / "annotations.xml" if path.is_dir() else path
        return CVATDataset(annotation_file, images_dir=images, on_error=on_error)
    if fmt == "labelme":
        from visiondata.formats import LabelMeDataset

        return LabelMeDataset(path, on_error=on_error)
    if fmt == "label-studio":
        from visiondata.formats import LabelStudioDataset

        return LabelStudioDataset(path, images_dir=images, on_error=on_error)
    from visiondata.exceptions import DatasetFormatError

    raise DatasetFormatError(
        f"{source}: cannot tell the detection format; pass one of {', '.join(DETECTION_FORMATS)} "
        "(--from on the command line)"
    )


def _open_mask_folder(path: Path, split: str | None, on_error: str, classes: list[str] | None) -> Any:
    """A ``SegmentationFolderDataset`` of the mask folder ``path`` (see `open_detection`)."""
    from visiondata._files import MAX_SPEC_BYTES, read_text_file
    from visiondata.exceptions import DatasetFormatError
    from visiondata.formats._mask_folder import CLASSES_FILE, SegmentationFolderDataset

    voc_tree = _voc_segmentation_root(path)
    if voc_tree is not None and _mask_folders(path) is None:
        return _open_voc_segmentation(voc_tree, split, on_error, classes)
    layout = next(
        ((path / i, path / m) for i, m in MASK_FOLDER_LAYOUTS if (path / i).is_dir() and (path / m).is_dir()),
        None,
    )
    if layout is None:
        raise DatasetFormatError(
            f"{path}: mask folder: expected a folder holding images/ and masks/ (one .png of class ids per "
            "image, same relative name), or Pascal VOC's JPEGImages/ and SegmentationClass/, got neither; pass "
            "the images and masks folders to SegmentationFolderDataset for another layout"
        )
    images, masks = layout
    if split is not None:
        if (images / split).is_dir() and (masks / split).is_dir():
            images, masks = images / split, masks / split
        elif any(child.is_dir() for child in images.iterdir()):
            raise DatasetFormatError(
                f"{path}: split {split!r}: expected {images / split} and {masks / split}, got no such folders; "
                "pass one of the splits the folder has, or leave the split out to read every image"
            )
    classes_file = None
    if classes is None and os.path.lexists(path / CLASSES_FILE):
        # classes.txt sits in the mask folder itself, beside images/ and masks/ (also when a split is read);
        # read_text_file refuses a FIFO or a folder by that name before opening it.
        classes_file = str(path / CLASSES_FILE)
        text = read_text_file(classes_file, "class list", MAX_SPEC_BYTES)
        classes = [line.strip() for line in text.splitlines() if line.strip()]
    dataset = SegmentationFolderDataset(images, masks, classes=classes, on_error=on_error)
    if classes_file is not None:
        dataset.classes_file = classes_file
    return dataset


def _voc_segmentation_root(path: Path) -> Path | None:
    """The folder holding VOC's ``JPEGImages/`` and ``SegmentationClass/``: ``path``, or a ``VOC20xx`` below it."""
    for candidate in (path, *sorted(path.glob("VOC20*")), *sorted(path.glob("VOCdevkit/VOC20*"))):
        if (candidate / "JPEGImages").is_dir() and (candidate / "SegmentationClass").is_dir():
            return candidate
    return None


def _open_voc_segmentation(root: Path, split: str | None, on_error: str, classes: list[str] | None) -> Any:
    """VOC's segmentation tree: the names of ``ImageSets/Segmentation/<split>.txt``, or every mask's."""
    from visiondata.datasets._base import BACKGROUND
    from visiondata.exceptions import DatasetFormatError, DatasetValidationError
    from visiondata.formats._mask_folder import SegmentationFolderDataset
    from visiondata.formats._voc import VOC_CLASSES, split_list_ids

    masks = root / "SegmentationClass"
    if split is None:
        # Only the images that have a mask: VOC's JPEGImages holds the detection images too.
        stems = sorted(
            os.path.splitext(name)[0] for name in os.listdir(masks) if name.lower().endswith(".png")
        )
    else:
        listing = root / "ImageSets" / "Segmentation" / f"{split}.txt"
        if not os.path.lexists(listing):
            raise DatasetFormatError(
                f"{root}: split {split!r}: expected {listing} (one image name a line), got no such file; pass "
                "a split the tree lists (train, val, trainval), or leave it out to read every mask"
            )
        problems: list[str] = []
        stems = split_list_ids(listing, root / "JPEGImages", problems)
        if problems:
            raise DatasetValidationError(str(listing), problems)
    # The catalog's voc_segmentation names them so too: one class list whichever way VOC is opened.
    names = classes if classes is not None else [BACKGROUND, *VOC_CLASSES]
    return SegmentationFolderDataset(
        root / "JPEGImages", masks, classes=names, on_error=on_error, stems=stems
    )


def _open_coco(path: Path, on_error: str, include_crowd: bool) -> Any:
    """A COCO file whose images folder was not given: its own folder, else an ``images/`` that holds them."""
    from visiondata.datasets import CocoDetectionDataset
    from visiondata.exceptions import DatasetNotFoundError

    try:
        return CocoDetectionDataset(path.parent, path, on_error=on_error, include_crowd=include_crowd)
    except DatasetNotFoundError as error:
        missing = getattr(error, "missing_files", None)
        if not missing:
            raise
        # COCO exports put the JSON in annotations/ and the images in images/ (beside annotations/),
        # or both in one folder with images/ inside it. The first few missing names decide (no listing).
        sample = missing[:5]
        for folder in (path.parent / "images", path.parent.parent / "images"):
            if folder.is_dir() and all((folder / name).is_file() for name in sample):
                return CocoDetectionDataset(folder, path, on_error=on_error, include_crowd=include_crowd)
        raise


def _yolo_names_beside(folder: Path) -> list[str] | None:
    """The class names of the ``data.yaml`` that describes the images folder ``folder``, or ``None``.

    ``ds/images`` (or ``ds/images/train``) given as the source, with ``ds/data.yaml`` (supervision
    writes one with only ``names`` and ``nc``): its names; a folder without one keeps id names.
    """
    from visiondata.formats._yolo import DEFAULT_MAX_CLASSES, _load_yaml, _yaml_names

    candidates = []
    if folder.name == "images":
        candidates.append(folder.parent / "data.yaml")
    if folder.parent.name == "images":
        candidates.append(folder.parent.parent / "data.yaml")
    for candidate in candidates:
        if candidate.is_file():
            return _yaml_names(candidate, _load_yaml(candidate), DEFAULT_MAX_CLASSES)
    return None


def read_class_list(value: str) -> list[str]:
    """``--classes``: names separated by commas, or ``@FILE`` with one name a line (blank lines skipped).

    Examples:
        >>> read_class_list("cat, dog,bird")
        ['cat', 'dog', 'bird']
    """
    from visiondata._files import MAX_SPEC_BYTES, read_text_file
    from visiondata.exceptions import DatasetFormatError

    if value.startswith("@"):
        text = read_text_file(Path(value[1:]), "class list", MAX_SPEC_BYTES)
        names = [line.strip() for line in text.splitlines() if line.strip()]
    else:
        names = [name.strip() for name in value.split(",")]
    if not names or any(not name for name in names):
        raise DatasetFormatError(
            f"--classes: expected class names in id order, separated by commas (cat,dog) or @FILE with one "
            f"name a line, got {value!r} (an empty name)"
        )
    return names
