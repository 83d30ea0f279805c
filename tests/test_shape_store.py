"""One per-box shape store (``formats/_shapes.py``) and one ``polygons()`` contract for every reader (issue 19).

``dataset.polygons(index)`` gives one item per stored box, in the order of the boxes: a ``(K, 2)`` float
array of ``x y`` pixels, or ``None`` for a plain rectangle. Fixtures are laid out as the tools write them:
YOLO segment lines (``class x1 y1 ... xn yn``, normalised) and CVAT for images 1.1 XML.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from visiondata.datasets._detection import rasterize_polygon
from visiondata.formats import CVATDataset, LabelMeDataset, LabelStudioDataset, YOLODataset
from visiondata.formats._shapes import ShapeDetectionDataset

WIDTH, HEIGHT = 200, 100


def yolo_folder(root: Path, lines: str, size: tuple[int, int] = (WIDTH, HEIGHT)) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    Image.new("RGB", size).save(root / "images" / "a.png")
    (root / "labels" / "a.txt").write_text(lines)
    return root / "images"


CVAT = """<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta><task><labels><label><name>kiwi</name></label></labels></task></meta>
  <image id="0" name="a.png" width="40" height="30">
    <box label="kiwi" occluded="0" source="manual" xtl="2.00" ytl="3.00" xbr="12.00" ybr="13.00" z_order="0">
    </box>
    <polygon label="kiwi" occluded="0" source="manual" points="20.00,5.00;35.00,5.00;35.00,25.00" z_order="0">
    </polygon>
    <box label="kiwi" occluded="0" source="manual" xtl="10.00" ytl="10.00" xbr="20.00" ybr="20.00" rotation="90.0"
      z_order="0">
    </box>
    <mask label="kiwi" source="manual" occluded="0" rle="1, 2, 2, 1" left="4" top="20" width="2" height="3"
      z_order="0">
    </mask>
    <ellipse label="kiwi" occluded="0" cx="20" cy="15" rx="5" ry="3" z_order="0"></ellipse>
  </image>
</annotations>
"""


def cvat_export(root: Path) -> Path:
    Image.new("RGB", (40, 30)).save(root / "a.png")
    (root / "annotations.xml").write_text(CVAT)
    return root / "annotations.xml"


def test_yolo_polygons_are_pixels_of_the_image_read_from_its_header(tmp_path: Path) -> None:
    images = yolo_folder(tmp_path, "0 0.1 0.2 0.5 0.2 0.5 0.8 0.1 0.8\n1 0.75 0.5 0.2 0.4\n")
    dataset = YOLODataset(images, classes=["kiwi", "fig"])
    polygon, box = dataset.polygons(0)
    # Before: normalised points ([[0.1, 0.2], ...]), unlike every other reader.
    np.testing.assert_allclose(polygon, [[20, 20], [100, 20], [100, 80], [20, 80]], atol=1e-4)
    assert polygon.dtype.kind == "f" and box is None
    # The polygon matches the boxes the sample gives (pixels of the same image).
    _image, target = dataset[0]
    np.testing.assert_allclose(
        target["boxes"][0].tolist(), [*polygon.min(axis=0), *polygon.max(axis=0)], atol=1e-4
    )


def test_yolo_polygons_follow_the_exif_orientation_of_the_image(tmp_path: Path) -> None:
    # A JPEG stored 200 x 100 with EXIF orientation 6 decodes (read_image, Ultralytics' exif_size) as 100 x 200.
    images = yolo_folder(tmp_path, "0 0.1 0.2 0.5 0.2 0.5 0.8\n")
    (images / "a.png").unlink()
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (WIDTH, HEIGHT)).save(images / "a.jpg", exif=exif)
    dataset = YOLODataset(images, classes=["kiwi"])
    np.testing.assert_allclose(dataset.polygons(0)[0], [[10, 40], [50, 40], [50, 160]], atol=1e-4)
    assert tuple(dataset[0][0].shape[-2:]) == (200, 100)


def test_cvat_polygons_follow_the_one_contract_without_masks(tmp_path: Path) -> None:
    dataset = CVATDataset(cvat_export(tmp_path))  # masks=False: the shapes are kept all the same
    box, polygon, rotated, mask, ellipse = dataset.polygons(0)
    assert box is None and mask is None
    assert polygon.tolist() == [[20, 5], [35, 5], [35, 25]]
    # A rotated box is its 4 corners (90 degrees about its centre: the same square, corners moved round).
    assert rotated.shape == (4, 2)
    np.testing.assert_allclose(
        sorted(map(tuple, rotated.round(6).tolist())), [(10, 10), (10, 20), (20, 10), (20, 20)]
    )
    assert ellipse.shape == (64, 2)
    np.testing.assert_allclose(ellipse.min(axis=0), [15, 12], atol=1e-6)
    assert dataset.mask_only(0) == [False, False, False, True, False]
    assert dataset.polygons(-1)[1].tolist() == polygon.tolist()


def test_cvat_masks_come_from_the_shared_store(tmp_path: Path) -> None:
    dataset = CVATDataset(cvat_export(tmp_path), masks=True)
    masks = dataset[0][1]["masks"].numpy()
    assert masks.shape == (5, 30, 40)
    assert int(masks[0].sum()) == 100 and masks[0][3:13, 2:12].all()  # the box, filled
    assert np.array_equal(masks[1], rasterize_polygon(np.array([[20, 5], [35, 5], [35, 25]], float), 30, 40))
    # The RLE region at left 4, top 20, 2 x 3: runs 1 off, 2 on, 2 off, 1 on (row by row).
    region = np.array([0, 1, 1, 0, 0, 1]).reshape(3, 2)
    assert np.array_equal(masks[3][20:23, 4:6], region) and int(masks[3].sum()) == 3


def test_every_reader_uses_the_one_store_and_keeps_no_object_per_box(tmp_path: Path) -> None:
    yolo = YOLODataset(yolo_folder(tmp_path / "y", "0 0.1 0.2 0.5 0.2 0.5 0.8\n0 0.5 0.5 0.2 0.2\n"))
    cvat = CVATDataset(cvat_export(tmp_path))
    for dataset in (yolo, cvat):
        assert isinstance(dataset, ShapeDetectionDataset)
        for name in ("_shape_kinds", "_shape_points", "_shape_offsets"):
            assert isinstance(getattr(dataset, name), np.ndarray), name
        # The duplicate stores are gone.
        assert not hasattr(dataset, "_polygon_points") and not hasattr(dataset, "_shape_data")
    assert issubclass(LabelMeDataset, ShapeDetectionDataset) and issubclass(
        LabelStudioDataset, ShapeDetectionDataset
    )
    assert yolo._shape_points.dtype == np.float32 and yolo._shape_offsets.tolist() == [0, 6, 6]


def test_yolo_masks_still_drawn_at_the_decoded_size(tmp_path: Path) -> None:
    images = yolo_folder(tmp_path, "0 0.1 0.2 0.5 0.2 0.5 0.8 0.1 0.8\n0 0.75 0.5 0.2 0.4\n")
    masks = YOLODataset(images, masks=True)[0][1]["masks"].numpy()
    assert int(masks[0].sum()) == 80 * 60 and masks[0][20:80, 20:100].all()
    assert int(masks[1].sum()) == 40 * 40 and masks[1][30:70, 130:170].all()


@pytest.mark.parametrize("boxes", [100_000])
def test_a_large_yolo_segment_dataset_builds_flat(tmp_path: Path, boxes: int) -> None:
    # 1,000 images of 100 segment lines each: the store is three arrays, whatever the count of boxes.
    images = tmp_path / "images"
    images.mkdir()
    (tmp_path / "labels").mkdir()
    Image.new("RGB", (64, 32)).save(images / "i0.png")
    text = "0 0.1 0.2 0.5 0.2 0.5 0.8\n" * 100
    for number in range(boxes // 100):
        if number:
            (images / f"i{number}.png").hardlink_to(images / "i0.png")
        (tmp_path / "labels" / f"i{number}.txt").write_text(text)
    start = time.perf_counter()
    dataset = YOLODataset(images, check_files=False)
    print(f"built {boxes} segment boxes in {time.perf_counter() - start:.2f} s")
    assert len(dataset.index.boxes) == boxes
    assert dataset._shape_points.shape == (boxes * 6,) and dataset._shape_kinds.shape == (boxes,)
    np.testing.assert_allclose(dataset.polygons(999)[99], [[6.4, 6.4], [32, 6.4], [32, 25.6]], atol=1e-4)
