"""`visiondata convert`: read a labelled dataset (boxes, keypoints, oriented boxes, masks) in one format and write
it in another."""

from __future__ import annotations

import argparse
import json
import sys

from visiondata.formats._open import (
    DETECTION_FORMATS,
    MASK_FOLDER,
    guess_format,
    open_detection,
    read_class_list,
)

WRITERS = ("coco", "voc", "yolo", "dota", "mask-folder")
#: Sources whose objects may have shapes (polygons, masks) a semantic mask can be drawn from.
SHAPED_SOURCES = ("coco", "yolo", "cvat", "labelme", "label-studio", MASK_FOLDER)


def add_command(commands: argparse._SubParsersAction) -> None:
    """Add ``visiondata convert`` to the top-level parser."""
    convert = commands.add_parser(
        "convert",
        help="convert a detection dataset between COCO, VOC, YOLO, DOTA (and from CSV, CVAT, LabelMe, Label "
        "Studio), or to a mask folder",
        description="Read a detection dataset in one format and write it in another, copying (or linking) its images. "
        "--to mask-folder writes images/, masks/ (a palette PNG of class ids per image) and classes.txt, from a "
        "mask folder (re-laid out, RGB masks re-paletted) or from the polygons and masks of COCO, YOLO segment "
        "lines, CVAT, LabelMe or Label Studio: class id 0 is the background, a later object is drawn over an "
        "earlier one, crowd regions (iscrowd=1) are void (--ignore-index).",
    )
    convert.add_argument(
        "source",
        metavar="SRC",
        help="COCO JSON file, VOC folder, YOLO data.yaml or images folder, CSV file, CVAT for images XML, "
        "LabelMe folder, Label Studio JSON export, DOTA folder (images/ + labelTxt/), mask folder (images/ + "
        "masks/)",
    )
    convert.add_argument("out", metavar="OUT", help="output folder")
    convert.add_argument(
        "--from", dest="source_format", choices=DETECTION_FORMATS, help="format of SRC (guessed if left out)"
    )
    convert.add_argument("--to", dest="target_format", choices=WRITERS, required=True, help="format to write")
    convert.add_argument(
        "--images",
        help="COCO, CVAT, Label Studio: the folder the file names are relative to (default: the annotation "
        "file's folder)",
    )
    convert.add_argument(
        "--root", help="CSV: the folder the image paths are relative to (default: the CSV's folder)"
    )
    convert.add_argument(
        "--classes",
        help="YOLO: class names in id order, as NAME,NAME,... or @FILE (one name a line); default: the names "
        "of the data.yaml (given, in SRC, or beside SRC's images/ folder), else the ids. DOTA: the class "
        "names (default: DOTA's own)",
    )
    convert.add_argument("--split", help="VOC/YOLO: the split to read (VOC default: every file; YOLO: train)")
    convert.add_argument(
        "--out-split", default="train", help="VOC/YOLO: the split name to write (default: train)"
    )
    convert.add_argument(
        "--layout",
        choices=("ultralytics", "darknet"),
        default="ultralytics",
        help="YOLO: ultralytics (images/, labels/, data.yaml; default) or darknet (CVAT's and datumaro's "
        "'YOLO 1.1': obj.data, obj.names, obj_<split>_data/, <split>.txt)",
    )
    convert.add_argument(
        "--segments",
        choices=("auto", "always", "never"),
        default="auto",
        help="YOLO: write polygons as segment lines (class x1 y1 ... xn yn): auto (default) when the source "
        "has polygons, always (boxes as their 4 corners), never (boxes only; polygons are counted as left out)",
    )
    convert.add_argument(
        "--task",
        choices=("auto", "detect", "segment", "pose", "obb"),
        default="auto",
        help="YOLO: the label lines to write: detect (boxes; segments as --segments says), segment, pose "
        "(keypoints, kpt_shape in data.yaml), obb (oriented boxes); auto (default): obb for oriented boxes "
        "(DOTA, YOLO-OBB), pose for keypoints, else detect. What the task cannot hold is counted",
    )
    convert.add_argument(
        "--ignore-index",
        type=int,
        default=255,
        help="mask-folder from objects: the id of void pixels (crowd regions; default: 255, as VOC)",
    )
    convert.add_argument(
        "--link",
        choices=("copy", "link", "symlink"),
        default="copy",
        help="how images are placed (default: copy)",
    )
    convert.add_argument(
        "--skip-bad",
        action="store_true",
        help="leave out bad annotations (reported) instead of stopping at them",
    )
    convert.add_argument(
        "--include-crowd",
        action="store_true",
        help="VOC/YOLO: write crowd regions (iscrowd=1) as ordinary objects; by default they are left out "
        "and counted (COCO keeps them flagged)",
    )
    convert.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an OUT that already holds files (whole, once the new output is complete)",
    )
    convert.add_argument("--json", action="store_true", help="print the summary as JSON")
    convert.set_defaults(handler=_run)


def _run(options: argparse.Namespace) -> int:
    """Convert; every error it can name is a ``VisionDataError`` (``visiondata: error: ...``, status 1)."""
    from visiondata._files import refuse_special_output
    from visiondata.exceptions import DatasetFormatError, VisionDataError
    from visiondata.formats._coco import to_coco
    from visiondata.formats._dota import to_dota
    from visiondata.formats._voc import to_voc
    from visiondata.formats._writing import check_split_name
    from visiondata.formats._yolo import to_yolo

    # Checked before the source is read, so a wrong OUT or split costs nothing.
    if options.split is not None:
        check_split_name(options.split, "--split")
    check_split_name(options.out_split, "--out-split")
    if options.target_format != "yolo" and (
        options.layout != "ultralytics" or options.segments != "auto" or options.task != "auto"
    ):
        raise DatasetFormatError(
            f"--layout/--segments/--task: only --to yolo takes them, got --to {options.target_format}; leave them "
            "out"
        )
    if options.task in ("pose", "obb") and (options.layout == "darknet" or options.segments != "auto"):
        raise DatasetFormatError(
            f"--task {options.task}: writes Ultralytics {options.task} lines; leave out --layout darknet and "
            "--segments"
        )
    if options.layout == "darknet" and options.segments == "always":
        raise DatasetFormatError(
            "--segments always: the darknet layout holds boxes only; use --layout ultralytics for segments"
        )
    if options.target_format != "mask-folder" and options.ignore_index != 255:
        raise DatasetFormatError(
            f"--ignore-index: only --to mask-folder takes it, got --to {options.target_format}; leave it out"
        )
    refuse_special_output(options.out)
    fmt = options.source_format or guess_format(options.source)
    _refuse_unfit(options, fmt)
    classes = None
    if options.classes is not None:
        if fmt not in ("yolo", "dota", MASK_FOLDER):
            raise DatasetFormatError(
                f"--classes: only YOLO sources (and DOTA, mask folders) take class names (the others name their "
                "classes), got "
                f"{fmt or 'an unknown format'} for {options.source}; leave --classes out"
            )
        classes = read_class_list(options.classes)
    try:
        dataset = open_detection(
            options.source,
            options.source_format,
            images=options.images,
            split=options.split,
            root=options.root,
            on_error="skip" if options.skip_bad else "raise",
            classes=classes,
            include_crowd=True,  # each writer's include_crowd decides what becomes of them
        )
    except VisionDataError:
        raise
    except ValueError as error:
        # A reader's plain ValueError names the file (duplicate class names in a VOC folder or a
        # data.yaml...): the command line shows that message, not a traceback.
        message = str(error) if str(options.source) in str(error) else f"{options.source}: {error}"
        raise DatasetFormatError(message) from error
    progress = sys.stderr.isatty()
    common = {"images": options.link, "progress": progress, "overwrite": options.overwrite}
    try:
        if options.target_format == "mask-folder":
            from visiondata.formats._mask_folder import (
                SegmentationFolderDataset,
                _drawn_source,
                to_mask_folder,
            )

            if not isinstance(dataset, SegmentationFolderDataset) and not _drawn_source(dataset):
                raise DatasetFormatError(
                    f"{options.source}: --to mask-folder: expected a mask folder or a dataset whose objects have "
                    f"polygons or masks, got {type(dataset).__name__}, which holds boxes only"
                )
            try:
                report = to_mask_folder(dataset, options.out, ignore_index=options.ignore_index, **common)
            except VisionDataError:
                raise
            except ValueError as error:  # an --ignore-index among the class ids, or out of range
                raise DatasetFormatError(f"{options.source}: --to mask-folder: {error}") from error
        elif options.target_format == "coco":
            report = to_coco(dataset, options.out, **common)
        elif options.target_format == "dota":
            report = to_dota(dataset, options.out, include_crowd=options.include_crowd, **common)
        elif options.target_format == "voc":
            report = to_voc(
                dataset, options.out, split=options.out_split, include_crowd=options.include_crowd, **common
            )
        else:
            report = to_yolo(
                dataset,
                options.out,
                split=options.out_split,
                include_crowd=options.include_crowd,
                segments={"auto": None, "always": True, "never": False}[options.segments],
                layout=options.layout,
                task=None if options.task == "auto" else options.task,
                **common,
            )
    except VisionDataError:
        raise
    except OSError as error:  # the disk is full, OUT's folder is read-only...: OUT was left as it was
        print(f"visiondata: error: {options.out}: cannot write the output: {error}", file=sys.stderr)
        return 1
    print(json.dumps(report.as_dict(), indent=2) if options.json else report.summary())
    return 0


def _refuse_unfit(options: argparse.Namespace, fmt: str | None) -> None:
    """Refuse, before reading anything, a conversion whose target cannot be made from the source's labels."""
    from visiondata.exceptions import DatasetFormatError

    if fmt == MASK_FOLDER and options.target_format != "mask-folder":
        raise DatasetFormatError(
            f"{options.source}: --to {options.target_format}: expected a source of objects, got a mask folder "
            "(semantic masks: a class id per pixel, with no objects: two touching cars are one region, so "
            "boxes or instances cannot be told apart); --to mask-folder re-lays it out, or convert the instance "
            "annotations it was made from (COCO, YOLO segment, CVAT, LabelMe)"
        )
    if options.target_format == "mask-folder" and fmt is not None and fmt not in SHAPED_SOURCES:
        raise DatasetFormatError(
            f"{options.source}: --to mask-folder: expected a mask folder or a source whose objects have polygons "
            f"or masks ({', '.join(SHAPED_SOURCES)}), got {fmt}, which holds boxes only: a box is no mask"
        )
    if options.target_format == "mask-folder" and (options.include_crowd or options.out_split != "train"):
        raise DatasetFormatError(
            "--include-crowd/--out-split: --to mask-folder writes crowd regions as void pixels (--ignore-index) "
            "and one split (images/, masks/); leave them out"
        )
