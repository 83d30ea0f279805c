"""COCO files as the tests write them: ``ann.json`` laid out as COCO, beside a PNG of each image's size."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PIL import Image

WIDTH, HEIGHT = 20, 10


def write_png(path: Path, width: int = WIDTH, height: int = HEIGHT) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (width, height), (30, 60, 90)).save(path)


def write_coco(
    root: Path,
    images: list[dict[str, Any]],
    annotations: list[Any],
    categories: list[dict[str, Any]] | None = None,
    missing: tuple[str, ...] = (),
    pngs: bool = True,
) -> Path:
    """``root/ann.json`` laid out as COCO; with ``pngs``, a PNG of each image's declared size (but
    ``missing``'s)."""
    root.mkdir(parents=True, exist_ok=True)
    for image in images if pngs else ():
        if image["file_name"] not in missing:
            write_png(root / image["file_name"], image.get("width", WIDTH), image.get("height", HEIGHT))
    document = {
        "images": images,
        "annotations": annotations,
        "categories": categories if categories is not None else [{"id": 1, "name": "cat"}],
    }
    path = root / "ann.json"
    # Python's json module writes NaN as such, as some COCO exporters do.
    path.write_text(json.dumps(document))
    return path
