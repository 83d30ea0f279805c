"""``visiondata preview``: a PNG grid of augmented samples with their boxes, to see a pipeline before training."""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Add the ``preview`` command to the top-level parser."""
    preview = commands.add_parser(
        "preview",
        help="write a PNG grid of (augmented) samples with their boxes",
        description=(
            "Draw the first N samples of a dataset, each through an augmentation pipeline if one is given, "
            "with their boxes and labels, into one PNG grid."
        ),
    )
    preview.add_argument(
        "source",
        metavar="DATASET_OR_FOLDER",
        help="a catalog name (visiondata datasets list), a CSV file of boxes, or a folder with one sub-folder per class",
    )
    preview.add_argument(
        "--pipeline", help="a BoxPipeline spec file (YAML or JSON, as BoxPipeline.save writes)"
    )
    preview.add_argument(
        "--out",
        default="preview.png",
        help="image file to write: PNG, or JPEG for a .jpg name (default: preview.png)",
    )
    preview.add_argument(
        "-n",
        "--count",
        type=int,
        default=16,
        help="number of samples (default: 16); a smaller dataset is cycled through, each pass augmented anew",
    )
    preview.add_argument("--ncols", type=int, default=4, help="images per row (default: 4)")
    preview.add_argument("--split", help="split of a catalog dataset (default: its first)")
    preview.add_argument(
        "--root", help="data folder of a catalog dataset, or the folder CSV paths are relative to"
    )
    preview.add_argument("--seed", type=int, help="seed of the pipeline (overrides the spec's)")
    preview.set_defaults(handler=_preview)


def open_source(source: str, split: str | None = None, root: str | None = None) -> Any:
    """The dataset a command names: a CSV file of boxes, a class-folder tree, or a catalog name."""
    path = Path(source)
    if path.suffix.lower() == ".csv" and path.is_file():
        from visiondata.datasets import CSVDetectionDataset

        return CSVDetectionDataset(path, root if root is not None else path.parent)
    if path.is_dir():
        from visiondata.datasets import ImageFolderDataset

        return ImageFolderDataset(path)
    from visiondata.datasets import get_dataset

    return get_dataset(source, split=split, root=root)


def _preview(options: argparse.Namespace) -> int:
    from visiondata.transforms._pipeline import BoxPipeline
    from visiondata.viz import save_grid

    if options.count < 1:
        raise SystemExit("visiondata preview: error: -n/--count: expected a positive number")
    dataset = open_source(options.source, options.split, options.root)
    pipeline = None
    if options.pipeline is not None:
        if not Path(options.pipeline).is_file():
            print(
                f"visiondata: error: {options.pipeline}: no such file; expected a pipeline spec "
                "(YAML or JSON, as BoxPipeline.save writes it)",
                file=sys.stderr,
            )
            return 1
        pipeline = BoxPipeline.load(options.pipeline)
        if options.seed is not None:
            pipeline = BoxPipeline.from_dict({**pipeline.to_dict(), "seed": options.seed})
    if len(dataset) == 0:
        raise SystemExit(f"visiondata preview: error: {options.source}: the dataset has no samples")
    count = options.count
    samples = []
    reasons: Counter[str] = Counter()
    boxes = 0
    for index in range(count):
        image, target = dataset[index % len(dataset)]
        if pipeline is not None:
            if isinstance(target, Mapping):
                image, target = pipeline(image, target)
                reasons.update(entry["reason"] for entry in target.get("dropped", []))
            else:
                image = pipeline({"image": image})["image"]
        if isinstance(target, Mapping) and target.get("boxes") is not None:
            boxes += len(target["boxes"])
        samples.append((image, target))
    classes = getattr(dataset, "classes", None)
    path = save_grid(samples, options.out, ncols=options.ncols, class_names=classes)
    dropped = sum(reasons.values())
    detail = f" ({', '.join(f'{reason} {n}' for reason, n in sorted(reasons.items()))})" if dropped else ""
    print(f"wrote {os.fspath(path)}: {count} samples, {boxes} boxes, {dropped} dropped{detail}")
    return 0
