"""COCO -> COCO is lossless (issue 19, item 4): segmentation, ids, info/licenses and the numbers as written.

The source is a COCO file laid out as COCO 2017's ``instances_*.json`` (and pycocotools) write it: ``info``,
``licenses``, images with ``license``/``coco_url``/``date_captured``/``flickr_url``, categories with
``supercategory``, and annotations holding polygons, an uncompressed RLE crowd region (``counts`` a list,
``iscrowd: 1``) and a compressed RLE (``counts`` a string, as ``pycocotools.mask.encode`` writes it).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from visiondata.datasets import CocoDetectionDataset, CSVDetectionDataset, YOLODataset, to_coco
from visiondata.exceptions import DatasetFormatError

mask_api = pytest.importorskip("pycocotools.mask")
from pycocotools.coco import COCO  # noqa: E402
from pycocotools.cocoeval import COCOeval  # noqa: E402

WIDTH, HEIGHT = 480, 360


def _uncompressed_rle(mask: np.ndarray) -> dict[str, object]:
    """COCO's uncompressed RLE of ``mask``: run lengths in column-major order, starting with a run of zeros."""
    flat = mask.astype(np.uint8).reshape(-1, order="F")
    changes = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], changes, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat[0] == 1:
        counts = [0, *counts]
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": counts}


def _coco_2017_file(root: Path) -> dict[str, object]:
    """Write two images and a COCO 2017-style annotation file into ``root``; return its content."""
    for name, colour in (("000000397133.jpg", (90, 120, 30)), ("000000037777.jpg", (10, 40, 200))):
        Image.new("RGB", (WIDTH, HEIGHT), colour).save(root / name, quality=95)
    crowd = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
    crowd[200:260, 30:150] = 1
    compressed = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
    compressed[50:120, 300:420] = 1
    compressed[70:90, 340:360] = 0
    encoded = mask_api.encode(np.asfortranarray(compressed))
    content = {
        "info": {
            "description": "COCO 2017 Dataset",
            "url": "http://cocodataset.org",
            "version": "1.0",
            "year": 2017,
            "contributor": "COCO Consortium",
            "date_created": "2017/09/01",
        },
        "licenses": [
            {
                "url": "http://creativecommons.org/licenses/by-nc-sa/2.0/",
                "id": 1,
                "name": "Attribution-NonCommercial-ShareAlike License",
            },
            {"url": "http://creativecommons.org/licenses/by/2.0/", "id": 4, "name": "Attribution License"},
        ],
        "images": [
            {
                "license": 4,
                "file_name": "000000397133.jpg",
                "coco_url": "http://images.cocodataset.org/val2017/000000397133.jpg",
                "height": HEIGHT,
                "width": WIDTH,
                "date_captured": "2013-11-14 17:02:52",
                "flickr_url": "http://farm7.staticflickr.com/6116/6255196340_da26cf2c9e_z.jpg",
                "id": 397133,
            },
            {
                "license": 1,
                "file_name": "000000037777.jpg",
                "coco_url": "http://images.cocodataset.org/val2017/000000037777.jpg",
                "height": HEIGHT,
                "width": WIDTH,
                "date_captured": "2013-11-14 20:55:31",
                "flickr_url": "http://farm9.staticflickr.com/8429/7839199426_f6d48aa585_z.jpg",
                "id": 37777,
            },
        ],
        # Interleaved across images, ids in no order: the output must keep both.
        "annotations": [
            {
                "segmentation": [
                    [343.2, 100.5, 400.75, 100.5, 400.75, 180.3, 343.2, 180.3],
                    [10.0, 10.0, 40.0, 10.0, 25.0, 35.0],
                ],
                "area": 4591.52,
                "iscrowd": 0,
                "image_id": 397133,
                "bbox": [10.0, 10.0, 390.75, 170.3],
                "category_id": 18,
                "id": 900100,
            },
            {
                "segmentation": _uncompressed_rle(crowd),
                "area": 7200,
                "iscrowd": 1,
                "image_id": 37777,
                "bbox": [30, 200, 120, 60],
                "category_id": 1,
                "id": 900200300,
            },
            {
                "segmentation": {"size": [HEIGHT, WIDTH], "counts": encoded["counts"].decode("ascii")},
                "area": float(compressed.sum()),
                "iscrowd": 0,
                "image_id": 397133,
                "bbox": [300.0, 50.0, 120.0, 70.0],
                "category_id": 90,
                "id": 42,
                "attributes": {"occluded": False},
            },
            {
                "segmentation": [[101.1, 201.2, 180.33, 201.2, 180.33, 300.07, 101.1, 300.07]],
                "area": 7807.7449,
                "iscrowd": 0,
                "image_id": 37777,
                "bbox": [101.1, 201.2, 79.23, 98.87],
                "category_id": 18,
                "id": 7,
            },
        ],
        "categories": [
            {"supercategory": "person", "id": 1, "name": "person"},
            {"supercategory": "animal", "id": 18, "name": "dog"},
            {"supercategory": "indoor", "id": 90, "name": "toothbrush"},
        ],
    }
    (root / "instances_val2017.json").write_text(json.dumps(content))
    return content


@pytest.fixture
def coco(tmp_path: Path) -> tuple[Path, dict[str, object]]:
    root = tmp_path / "val2017"
    root.mkdir()
    return root, _coco_2017_file(root)


def _quiet_coco(path: Path) -> COCO:
    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(str(path))


def _converted(root: Path, tmp_path: Path) -> tuple[Path, object]:
    # include_crowd=True: the reader keeps the crowd region (left out by default), so the file is whole.
    dataset = CocoDetectionDataset(root, root / "instances_val2017.json", include_crowd=True)
    report = to_coco(dataset, tmp_path / "out")
    return tmp_path / "out" / "annotations.json", report


def test_coco_to_coco_keeps_the_json_as_written(coco: tuple[Path, dict], tmp_path: Path) -> None:
    root, source = coco
    written, report = _converted(root, tmp_path)
    # Everything as written: info, licenses, image records, categories, and each annotation with its
    # segmentation (polygons, uncompressed and compressed RLE), id, numbers and other keys, in file order.
    assert json.loads(written.read_text()) == source
    assert "343.2," in written.read_text() and "343.20001" not in written.read_text()
    # COCO holds everything: the report says nothing was lost.
    assert (report.images, report.boxes) == (2, 4)
    assert (report.crowd_left_out, report.masks_left_out, report.skipped, report.source_problems) == (
        0,
        0,
        [],
        [],
    )
    manifest = json.loads((written.parent / "visiondata-conversion.json").read_text())
    assert (manifest["crowd_left_out"], manifest["masks_left_out"], manifest["boxes"]) == (0, 0, 4)


def test_pycocotools_reads_the_same_masks_from_the_output(coco: tuple[Path, dict], tmp_path: Path) -> None:
    root, _ = coco
    written, _ = _converted(root, tmp_path)
    before, after = _quiet_coco(root / "instances_val2017.json"), _quiet_coco(written)
    assert sorted(after.getAnnIds()) == sorted(before.getAnnIds()) == [7, 42, 900100, 900200300]
    for annotation_id in before.getAnnIds():
        expected = before.annToMask(before.loadAnns(annotation_id)[0])
        assert expected.any()
        assert np.array_equal(after.annToMask(after.loadAnns(annotation_id)[0]), expected)


def test_segm_evaluation_of_the_output_against_the_input_is_perfect(
    coco: tuple[Path, dict], tmp_path: Path
) -> None:
    root, _ = coco
    written, _ = _converted(root, tmp_path)
    ground_truth = _quiet_coco(root / "instances_val2017.json")
    detections = [
        {**annotation, "score": 1.0}
        for annotation in json.loads(written.read_text())["annotations"]
        if not annotation["iscrowd"]
    ]
    with contextlib.redirect_stdout(io.StringIO()):
        evaluation = COCOeval(ground_truth, ground_truth.loadRes(detections), iouType="segm")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    assert evaluation.stats[0] == pytest.approx(1.0)


def test_masks_read_back_from_the_output_are_the_inputs(coco: tuple[Path, dict], tmp_path: Path) -> None:
    root, _ = coco
    written, _ = _converted(root, tmp_path)
    before = CocoDetectionDataset(root, root / "instances_val2017.json", masks=True)
    after = CocoDetectionDataset(tmp_path / "out" / "images", written, masks=True)
    assert len(before) == len(after) == 2
    for index in range(2):
        expected, got = before[index][1], after[index][1]
        assert expected["masks"].sum() > 0
        assert torch.equal(got["masks"], expected["masks"])
        assert torch.equal(got["boxes"], expected["boxes"]) and torch.equal(got["labels"], expected["labels"])
        assert np.array_equal(after.annotation_ids(index), before.annotation_ids(index))


def test_annotation_ids_are_kept_in_the_index(coco: tuple[Path, dict]) -> None:
    root, _ = coco
    dataset = CocoDetectionDataset(root, root / "instances_val2017.json", drop_empty=True, include_crowd=True)
    assert dataset.annotation_ids(0).tolist() == [900100, 42]
    assert dataset.annotation_ids(1).tolist() == [900200300, 7]
    assert dataset._annotation_ids.dtype == np.int64
    assert not hasattr(dataset, "_segmentations") or dataset._segmentations is None  # only with masks=True


def test_an_annotation_left_out_by_the_reader_is_not_written_and_the_rest_keep_their_ids(
    coco: tuple[Path, dict], tmp_path: Path
) -> None:
    root, source = coco
    annotations = source["annotations"]
    # A record that does not fit the schema (3 numbers) before the others: their places in the file shift.
    annotations.insert(
        0, {"id": 5, "image_id": 397133, "category_id": 1, "bbox": [1, 2, 3], "segmentation": []}
    )
    annotations.append(
        {"image_id": 37777, "category_id": 1, "bbox": [5, 6, 7, 8], "area": 56.5, "iscrowd": 0}
    )
    (root / "instances_val2017.json").write_text(json.dumps(source))
    dataset = CocoDetectionDataset(root, root / "instances_val2017.json", on_error="skip", include_crowd=True)
    report = to_coco(dataset, tmp_path / "out")
    out = json.loads((tmp_path / "out" / "annotations.json").read_text())
    assert len(report.source_problems) == 1 and "annotation 5" in report.source_problems[0]
    assert out["annotations"][:4] == annotations[1:5]
    # The annotation without an id gets one no other has.
    assert out["annotations"][4]["id"] == 900200301
    assert {key: out["annotations"][4][key] for key in ("bbox", "area", "image_id")} == {
        "bbox": [5, 6, 7, 8],
        "area": 56.5,
        "image_id": 37777,
    }


def test_a_box_snapped_by_the_reader_is_written_as_it_holds_it(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    Image.new("RGB", (1000, 500)).save(source / "a.png")
    content = {
        "images": [{"id": 1, "file_name": "a.png", "width": 1000, "height": 500}],
        "categories": [{"id": 1, "name": "cat"}],
        # Beyond the right border by 0.05%: snapped onto it by the reader.
        "annotations": [
            {"id": 3, "image_id": 1, "category_id": 1, "bbox": [900.3, 10.1, 100.2, 20.7], "area": 9.5}
        ],
    }
    (source / "ann.json").write_text(json.dumps(content))
    to_coco(CocoDetectionDataset(source, source / "ann.json"), source.parent / "out")
    annotation = json.loads((source.parent / "out" / "annotations.json").read_text())["annotations"][0]
    assert annotation["bbox"] == [900.3, 10.1, 99.7, 20.7]
    assert annotation["area"] == 9.5


def test_a_changed_annotation_file_is_refused(coco: tuple[Path, dict], tmp_path: Path) -> None:
    root, source = coco
    dataset = CocoDetectionDataset(root, root / "instances_val2017.json")
    source["annotations"].reverse()
    (root / "instances_val2017.json").write_text(json.dumps(source) + " ")
    with pytest.raises(DatasetFormatError, match="changed since the dataset read it"):
        to_coco(dataset, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_numbers_of_other_sources_are_the_shortest_decimals(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    Image.new("RGB", (480, 360)).save(source / "a.png")
    (source / "boxes.csv").write_text(
        "image,x_min,y_min,x_max,y_max,label\na.png,343.2,10.1,400.7,20.3,cat\n"
    )
    to_coco(CSVDetectionDataset(source / "boxes.csv", source), tmp_path / "out")
    text = (tmp_path / "out" / "annotations.json").read_text()
    annotation = json.loads(text)["annotations"][0]
    # Each the shortest decimal of the float32 the reader holds (343.2, not 343.20001220703125).
    assert annotation["bbox"] == [343.2, 10.1, 57.5, 10.2]
    assert "343.2," in text and "343.20001" not in text
    assert np.float32(annotation["area"]) == np.float32(np.float32(57.5) * np.float32(10.2))
    assert annotation["area"] == 586.5


def test_yolo_polygons_become_coco_polygons_in_pixels(tmp_path: Path) -> None:
    images, labels = tmp_path / "images" / "train", tmp_path / "labels" / "train"
    images.mkdir(parents=True)
    labels.mkdir(parents=True)
    Image.new("RGB", (200, 100)).save(images / "a.png")
    # A segment line (supervision's default when masks exist) and a plain box line.
    (labels / "a.txt").write_text("0 0.1 0.2 0.5 0.2 0.5 0.8 0.1 0.8\n1 0.75 0.5 0.2 0.4\n")
    source = YOLODataset(images, labels, classes=["kiwi", "fig"])
    report = to_coco(source, tmp_path / "out")
    out = json.loads((tmp_path / "out" / "annotations.json").read_text())
    polygon, box = out["annotations"]
    assert polygon["segmentation"] == [[20.0, 20.0, 100.0, 20.0, 100.0, 80.0, 20.0, 80.0]]
    assert "segmentation" not in box  # a box line has no shape to write
    assert report.masks_left_out == 0 and report.boxes == 2
    coco_api = _quiet_coco(tmp_path / "out" / "annotations.json")
    mask = coco_api.annToMask(coco_api.loadAnns(polygon["id"])[0])
    assert mask[20:80, 20:100].all() and mask.sum() == pytest.approx(80 * 60, rel=0.05)
    read_back = CocoDetectionDataset(
        tmp_path / "out" / "images", tmp_path / "out" / "annotations.json", masks=True
    )
    assert read_back[0][1]["masks"][0].sum() == mask.sum()


def test_masks_of_a_decoded_source_become_rle(coco: tuple[Path, dict], tmp_path: Path) -> None:
    root, _ = coco
    with_masks = CocoDetectionDataset(root, root / "instances_val2017.json", masks=True, include_crowd=True)
    # A Subset has no files to copy: its samples (masks included) are written as they decode.
    subset = torch.utils.data.Subset(with_masks, [1, 0])
    subset.classes = with_masks.classes
    report = to_coco(subset, tmp_path / "out")
    assert (report.masks_left_out, report.boxes) == (0, 4)
    out = json.loads((tmp_path / "out" / "annotations.json").read_text())
    assert all(isinstance(annotation["segmentation"]["counts"], str) for annotation in out["annotations"])
    read_back = CocoDetectionDataset(
        tmp_path / "out" / "images", tmp_path / "out" / "annotations.json", masks=True, include_crowd=True
    )
    for index, original in enumerate([1, 0]):
        assert torch.equal(read_back[index][1]["masks"], with_masks[original][1]["masks"])


def test_json_with_nan_is_read_again_the_slow_way(coco: tuple[Path, dict], tmp_path: Path) -> None:
    root, source = coco
    source["annotations"][3]["area"] = float("nan")  # Python's json writes NaN: not strict JSON
    (root / "instances_val2017.json").write_text(json.dumps(source))
    to_coco(CocoDetectionDataset(root, root / "instances_val2017.json", include_crowd=True), tmp_path / "out")
    out = json.loads((tmp_path / "out" / "annotations.json").read_text())
    assert out["info"] == source["info"] and out["annotations"][0] == source["annotations"][0]
    # The file's NaN area is not written back: the box's own area is.
    assert out["annotations"][3]["area"] == pytest.approx(79.23 * 98.87, rel=1e-6)
    assert os.path.exists(tmp_path / "out" / "images" / "000000037777.jpg")
