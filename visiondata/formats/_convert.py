"""`visiondata convert`: read a detection dataset in one format and write it in another."""

from __future__ import annotations

import argparse
import json
import sys

from visiondata.formats._open import DETECTION_FORMATS, guess_format, open_detection, read_class_list

WRITERS = ("coco", "voc", "yolo", "dota")


def add_command(commands: argparse._SubParsersAction) -> None:
    """Add ``visiondata convert`` to the top-level parser."""
    convert = commands.add_parser(
        "convert",
        help="convert a detection dataset between COCO, VOC, YOLO, DOTA (and from CSV, CVAT, LabelMe, Label "
        "Studio)",
        description="Read a detection dataset in one format and write it in another, copying (or linking) its images.",
    )
    convert.add_argument(
        "source",
        metavar="SRC",
        help="COCO JSON file, VOC folder, YOLO data.yaml or images folder, CSV file, CVAT for images XML, "
        "LabelMe folder, Label Studio JSON export, DOTA folder (images/ + labelTxt/)",
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
    refuse_special_output(options.out)
    classes = None
    if options.classes is not None:
        fmt = options.source_format or guess_format(options.source)
        if fmt not in ("yolo", "dota"):
            raise DatasetFormatError(
                f"--classes: only YOLO and DOTA sources take class names (the others name their classes), got "
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
        if options.target_format == "coco":
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
