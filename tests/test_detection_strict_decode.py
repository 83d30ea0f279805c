"""The COCO, VOC and YOLO readers call a mid-corrupt JPEG unreadable, as ``visiondata check`` does, unless asked
for tolerant decoding with ``strict=False``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_strict_decode import jpeg_bytes, mid_corrupt_jpeg

from visiondata.datasets import CocoDetectionDataset, VOCDetectionDataset, YOLODataset


def coco(root: Path, **options: Any) -> CocoDetectionDataset:
    (root / "annotations.json").write_text(
        json.dumps(
            {
                "images": [
                    {"id": 1, "file_name": "good.jpg", "width": 224, "height": 224},
                    {"id": 2, "file_name": "bad.jpg", "width": 224, "height": 224},
                ],
                "categories": [{"id": 1, "name": "cat"}],
                "annotations": [
                    {"id": n, "image_id": n, "category_id": 1, "bbox": [10, 10, 50, 50]} for n in (1, 2)
                ],
            }
        )
    )
    return CocoDetectionDataset(root, root / "annotations.json", **options)


def voc(root: Path, **options: Any) -> VOCDetectionDataset:
    (root / "Annotations").mkdir()
    (root / "JPEGImages").mkdir()
    for stem in ("good", "bad"):
        (root / "JPEGImages" / f"{stem}.jpg").write_bytes((root / f"{stem}.jpg").read_bytes())
        (root / "Annotations" / f"{stem}.xml").write_text(
            f"<annotation><filename>{stem}.jpg</filename><size><width>224</width><height>224</height>"
            "<depth>3</depth></size><object><name>cat</name><bndbox><xmin>11</xmin><ymin>11</ymin>"
            "<xmax>60</xmax><ymax>60</ymax></bndbox></object></annotation>"
        )
    return VOCDetectionDataset(root, split=None, **options)


def yolo(root: Path, **options: Any) -> YOLODataset:
    (root / "images").mkdir()
    (root / "labels").mkdir()
    for stem in ("good", "bad"):
        (root / "images" / f"{stem}.jpg").write_bytes((root / f"{stem}.jpg").read_bytes())
        (root / "labels" / f"{stem}.txt").write_text("0 0.2 0.2 0.2 0.2\n")
    return YOLODataset(root / "images", classes=["cat"], **options)


@pytest.mark.parametrize("build", [coco, voc, yolo], ids=["coco", "voc", "yolo"])
def test_detection_readers_refuse_a_mid_corrupt_jpeg_unless_tolerant(tmp_path: Path, build: Any) -> None:
    def dataset(folder: str, **options: Any) -> Any:
        root = tmp_path / folder
        root.mkdir()
        (root / "good.jpg").write_bytes(jpeg_bytes())
        (root / "bad.jpg").write_bytes(mid_corrupt_jpeg())
        return build(root, **options)

    strict = dataset("strict", on_error="skip")
    assert strict.strict is None  # follows the process default, strict unless changed
    samples = [strict[index] for index in range(len(strict))]
    assert len(samples) == 2  # skip stands the next readable sample in for the unreadable one
    assert [Path(path).name for path in strict.errors] == ["bad.jpg"]
    assert "corrupt JPEG data" in next(iter(strict.errors.values()))

    tolerant = dataset("tolerant", on_error="raise", strict=False)
    image, target = tolerant[[Path(tolerant.path(i)).name for i in range(2)].index("bad.jpg")]
    assert tuple(image.shape) == (3, 224, 224) and len(target["boxes"]) == 1
    assert tolerant.errors == {}
