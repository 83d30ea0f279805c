"""The catalog's ``coco_detection`` and ``voc_detection`` read through visiondata's own readers (issue 19,
"One reader per format, everywhere").

Fixtures are tiny trees in the catalog's layouts, written as the datasets ship them: COCO 2017's
``coco/{split}2017/`` + ``coco/annotations/instances_{split}2017.json`` (all 80 categories listed, as in
every real instances file) and torchvision's ``VOCdevkit/VOC{year}/`` with VOC XML, ``ImageSets/Main``
lists and real JPEG/PNG images. The same files are read through ``get_dataset`` and through the reader
directly, and must give identical samples.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torchvision.datasets.voc
from PIL import Image
from torchvision import tv_tensors
from torchvision.models.detection import FasterRCNN_ResNet50_FPN_Weights
from torchvision.transforms import v2

import visiondata as vd
from visiondata.cli import main
from visiondata.exceptions import DatasetNotFoundError, DatasetValidationError, DownloadError
from visiondata.formats import CocoDetectionDataset, VOCDetectionDataset
from visiondata.shards import ShardDataset

# torchvision's pretrained detectors predict COCO category ids: index -> name, "N/A" in the gaps.
TORCHVISION_COCO = FasterRCNN_ResNet50_FPN_Weights.DEFAULT.meta["categories"]


def write_image(path: Path, height: int, width: int, seed: int) -> None:
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)  # JPEG or PNG by the suffix


def plain(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.as_subclass(torch.Tensor)


def assert_same_samples(ours: Any, reader: Any) -> None:
    """Every sample identical: image pixels, and each target key with its type, dtype and values."""
    assert len(ours) == len(reader) > 0
    for index in range(len(reader)):
        (image, target), (expected_image, expected) = ours[index], reader[index]
        assert isinstance(image, tv_tensors.Image) and torch.equal(plain(image), plain(expected_image))
        assert set(target) == set(expected)
        for key, value in expected.items():
            if isinstance(value, torch.Tensor):
                assert type(target[key]) is type(value), key
                assert target[key].dtype == value.dtype, key
                assert torch.equal(plain(target[key]), plain(value)), key
            else:
                assert target[key] == value, key
        assert isinstance(target["boxes"], tv_tensors.BoundingBoxes)
        assert target["boxes"].format is tv_tensors.BoundingBoxFormat.XYXY
        assert target["boxes"].dtype == torch.float32 and target["labels"].dtype == torch.int64


# ---------------------------------------------------------------- COCO
COCO_IDS = [index for index, name in enumerate(TORCHVISION_COCO) if index and name != "N/A"]


def make_coco(root: Path, split: str = "val", *, bad_box: bool = False) -> Path:
    """``root/coco/{split}2017`` (a JPEG and a PNG) and ``root/coco/annotations/instances_{split}2017.json``.

    Whole-number boxes (torchvision's CocoDetection gave them as int64), a crowd region, an image
    without annotations, and the 80 categories as COCO lists them (ids 1-90 with gaps).
    """
    coco = root / "coco"
    images = [
        (397133, "000000397133.jpg", 30, 40),
        (37777, "000000037777.png", 24, 32),
        (252219, "e.jpg", 20, 20),
    ]
    for image_id, name, height, width in images:
        write_image(coco / f"{split}2017" / name, height, width, seed=image_id % 1000)
    annotations = [
        # (id, image, category, bbox, iscrowd): person (1), toothbrush (90), dog (18).
        (1, 397133, 1, [2, 3, 10, 12], 0),
        (2, 397133, 90, [20, 5, 8, 9], 0),
        (3, 397133, 1, [0, 0, 30, 25], 1),  # a crowd region
        (4, 37777, 18, [1.5, 2.25, 10.5, 8.0], 0),
    ]
    if bad_box:
        annotations.append((5, 37777, 18, [5, 5, 0, 4], 0))  # no width: a problem
    data = {
        "info": {"description": "COCO 2017 Dataset", "version": "1.0", "year": 2017},
        "licenses": [{"url": "http://creativecommons.org/licenses/by/2.0/", "id": 1, "name": "CC BY"}],
        "images": [
            {"license": 1, "file_name": name, "height": height, "width": width, "id": image_id}
            for image_id, name, height, width in images
        ],
        "annotations": [
            {
                "segmentation": [[x, y, x + w, y, x + w, y + h, x, y + h]],
                "area": w * h,
                "iscrowd": crowd,
                "image_id": image_id,
                "bbox": [x, y, w, h],
                "category_id": category,
                "id": annotation_id,
            }
            for annotation_id, image_id, category, (x, y, w, h), crowd in annotations
        ],
        "categories": [
            {"supercategory": "thing", "id": index, "name": TORCHVISION_COCO[index]} for index in COCO_IDS
        ],
    }
    (coco / "annotations").mkdir(parents=True, exist_ok=True)
    (coco / "annotations" / f"instances_{split}2017.json").write_text(json.dumps(data))
    return coco


def coco_reader(coco: Path, split: str = "val", **options: Any) -> CocoDetectionDataset:
    return CocoDetectionDataset(
        coco / f"{split}2017", coco / "annotations" / f"instances_{split}2017.json", **options
    )


def test_coco_detection_is_the_coco_reader_with_contiguous_labels_and_float32_boxes(tmp_path: Path) -> None:
    coco = make_coco(tmp_path)
    ours = vd.get_dataset("coco_detection", root=tmp_path, split="val")
    assert isinstance(ours, CocoDetectionDataset)
    assert_same_samples(ours, coco_reader(coco))
    _, target = ours[0]
    # Labels index the classes (person 1, toothbrush 80), not COCO's category ids (1, 90).
    person, toothbrush = ours.classes.index("person"), ours.classes.index("toothbrush")
    assert (person, toothbrush) == (1, 80)
    assert target["labels"].tolist()[:2] == [1, 80]
    assert target["boxes"].dtype == torch.float32  # whole numbers in the JSON
    assert plain(target["boxes"])[:2].tolist() == [[2.0, 3.0, 12.0, 15.0], [20.0, 5.0, 28.0, 14.0]]
    assert target["image_id"] == 397133
    assert ours[2][1]["boxes"].shape == (0, 4) and ours[2][1]["image_id"] == 252219


@pytest.mark.parametrize("include_crowd", [None, True, False])
def test_coco_detection_follows_the_readers_include_crowd(tmp_path: Path, include_crowd: bool | None) -> None:
    coco = make_coco(tmp_path)
    options = {} if include_crowd is None else {"include_crowd": include_crowd}  # None: the reader's default
    ours = vd.get_dataset("coco_detection", root=tmp_path, split="val", **options)
    reader = coco_reader(coco, **options)
    assert_same_samples(ours, reader)
    default = inspect.signature(CocoDetectionDataset).parameters["include_crowd"].default
    crowd = ours[0][1]["iscrowd"].tolist()
    assert (1 in crowd) == (default if include_crowd is None else include_crowd)


def test_coco_classes_metadata_and_torchvision_category_ids(tmp_path: Path) -> None:
    make_coco(tmp_path, "train")
    dataset = vd.get_dataset("coco_detection", root=tmp_path)  # train is the first split
    info = vd.dataset_info("coco_detection")
    assert dataset.classes == list(info.classes) and len(info.classes) == 81
    assert info.classes[0] == "__background__"
    # category_ids[label] is the id torchvision's pretrained detectors predict for that class.
    assert dataset.category_ids[0] is None
    assert [TORCHVISION_COCO[dataset.category_ids[label]] for label in range(1, 81)] == list(info.classes[1:])


def test_coco_classes_do_not_depend_on_the_categories_a_file_lists(tmp_path: Path) -> None:
    coco = make_coco(tmp_path)
    file = coco / "annotations" / "instances_val2017.json"
    data = json.loads(file.read_text())
    data["categories"] = [c for c in data["categories"] if c["id"] in (1, 18, 90)]  # a cut-down file
    file.write_text(json.dumps(data))
    dataset = vd.get_dataset("coco_detection", root=tmp_path, split="val")
    assert dataset.classes == list(vd.dataset_info("coco_detection").classes)
    assert dataset[0][1]["labels"].tolist()[:2] == [1, 80]
    assert dataset.category_ids[dataset.classes.index("bicycle")] == 2  # COCO's id, though the file lacks it


def test_coco_detection_error_policy_is_the_readers(tmp_path: Path) -> None:
    make_coco(tmp_path, bad_box=True)
    with pytest.raises(DatasetValidationError, match=r"annotation 5"):
        vd.get_dataset("coco_detection", root=tmp_path, split="val")
    dataset = vd.get_dataset("coco_detection", root=tmp_path, split="val", on_error="skip")
    assert len(dataset.problems) == 1 and "annotation 5" in dataset.problems[0]


def test_coco_detection_joint_transform_and_unknown_keyword(tmp_path: Path) -> None:
    coco = make_coco(tmp_path)
    flip = v2.RandomHorizontalFlip(p=1.0)
    ours = vd.get_dataset("coco_detection", root=tmp_path, split="val", transform=flip)
    assert_same_samples(ours, coco_reader(coco, transform=flip))
    assert plain(ours[0][1]["boxes"])[0].tolist() == [28.0, 3.0, 38.0, 15.0]  # 40 px wide
    with pytest.raises(TypeError, match=r"unexpected keyword annFile; it accepts .*include_crowd"):
        vd.get_dataset("coco_detection", root=tmp_path, split="val", annFile="x.json")


def test_coco_detection_missing_files_name_the_path(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError) as caught:
        vd.get_dataset("coco_detection", root=tmp_path, split="val")
    message = str(caught.value)
    assert str(tmp_path / "coco" / "annotations" / "instances_val2017.json") in message
    assert "val2017.zip" in message and "https://cocodataset.org" in message


# ---------------------------------------------------------------- VOC
# (name, (xmin, ymin, xmax, ymax) 1-based inclusive, difficult) per image.
VOC_OBJECTS = {
    "000005": [("chair", (3, 4, 20, 25), 0), ("person", (10, 2, 38, 29), 1)],
    "000007": [("tvmonitor", (5, 6, 30, 20), 0)],
    "000009": [("horse", (2, 3, 27, 31), 0)],
}
VOC_SIZES = {"000005": (30, 40), "000007": (24, 36), "000009": (32, 28)}
VOC_SETS = {"train": ["000005", "000007"], "val": ["000009"], "trainval": ["000005", "000007", "000009"]}
# The 20 classes in the challenge's order, literal (label = position + 1; 0 is the background).
VOC_NAMES = (
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
)  # fmt: skip


def voc_xml(year: str, file_id: str, stem: str) -> str:
    height, width = VOC_SIZES[stem]
    objects = "".join(
        f"<object><name>{name}</name><pose>Unspecified</pose><truncated>0</truncated>"
        f"<difficult>{difficult}</difficult><bndbox><xmin>{x1}</xmin><ymin>{y1}</ymin><xmax>{x2}</xmax>"
        f"<ymax>{y2}</ymax></bndbox></object>"
        for name, (x1, y1, x2, y2), difficult in VOC_OBJECTS[stem]
    )
    return (
        f"<annotation><folder>VOC{year}</folder><filename>{file_id}.jpg</filename><source><database>The "
        f"VOC{year} Database</database></source><size><width>{width}</width><height>{height}</height>"
        f"<depth>3</depth></size><segmented>0</segmented>{objects}</annotation>"
    )


def make_voc(root: Path, year: str = "2012", sets: dict[str, list[str]] | None = None) -> Path:
    """torchvision's layout: ``root/VOCdevkit/VOC{year}`` (2011: ``root/TrainVal/VOCdevkit/VOC2011``)."""
    base = root / ("TrainVal/VOCdevkit/VOC2011" if year == "2011" else f"VOCdevkit/VOC{year}")
    (base / "Annotations").mkdir(parents=True, exist_ok=True)
    (base / "ImageSets" / "Main").mkdir(parents=True, exist_ok=True)
    for stem in VOC_OBJECTS:
        file_id = stem if year == "2007" else f"{year}_{stem}"
        write_image(base / "JPEGImages" / f"{file_id}.jpg", *VOC_SIZES[stem], seed=int(stem))
        (base / "Annotations" / f"{file_id}.xml").write_text(voc_xml(year, file_id, stem))
    for name, stems in (sets or VOC_SETS).items():
        ids = [stem if year == "2007" else f"{year}_{stem}" for stem in stems]
        (base / "ImageSets" / "Main" / f"{name}.txt").write_text("".join(f"{i}\n" for i in ids))
    return base


@pytest.mark.parametrize("split", ["train", "val", "trainval"])
def test_voc_detection_is_the_voc_reader(tmp_path: Path, split: str) -> None:
    base = make_voc(tmp_path)
    ours = vd.get_dataset("voc_detection", root=tmp_path, split=split)
    assert isinstance(ours, VOCDetectionDataset)
    assert_same_samples(ours, VOCDetectionDataset(base, split=split))
    assert_same_samples(ours, VOCDetectionDataset(tmp_path / "VOCdevkit", split=split, year=2012))


def test_voc_detection_labels_boxes_and_difficult(tmp_path: Path) -> None:
    make_voc(tmp_path)
    dataset = vd.get_dataset("voc_detection", root=tmp_path, split="train")
    _, target = dataset[0]
    assert target["labels"].tolist() == [9, 15]  # chair, person in the challenge's order
    # 0-based corners: VOC's (xmin - 1, ymin - 1, xmax, ymax); torchvision kept the file's numbers.
    assert plain(target["boxes"]).tolist() == [[2.0, 3.0, 20.0, 25.0], [9.0, 1.0, 38.0, 29.0]]
    assert target["difficult"].tolist() == [0, 1] and target["image_id"] == 0
    without = vd.get_dataset("voc_detection", root=tmp_path, split="train", keep_difficult=False)
    assert without[0][1]["labels"].tolist() == [9]


def test_voc_classes_are_the_20_in_voc_order_whatever_the_split_holds(tmp_path: Path) -> None:
    make_voc(tmp_path)
    info = vd.dataset_info("voc_detection")
    assert info.classes == ("__background__", *VOC_NAMES)
    only_tv = vd.get_dataset("voc_detection", root=tmp_path, split="val")  # only a horse
    assert only_tv.classes == list(info.classes)
    assert only_tv[0][1]["labels"].tolist() == [13]
    # Even with a labelmap.txt in another order (the reader follows one): the catalog's classes win.
    (tmp_path / "VOCdevkit" / "VOC2012" / "labelmap.txt").write_text("background:0,0,0::\nhorse:1,1,1::\n")
    assert vd.get_dataset("voc_detection", root=tmp_path, split="val")[0][1]["labels"].tolist() == [13]


@pytest.mark.parametrize("year", ["2007", "2011"])
def test_voc_detection_years_in_torchvisions_layout(tmp_path: Path, year: str) -> None:
    base = make_voc(tmp_path, year, {**VOC_SETS, "test": ["000009"]} if year == "2007" else None)
    ours = vd.get_dataset("voc_detection", root=tmp_path, split="train", year=year)
    assert_same_samples(ours, VOCDetectionDataset(base, split="train"))
    if year == "2007":
        test = vd.get_dataset("voc_detection", root=tmp_path, split="test")  # 2007's test split
        assert_same_samples(test, VOCDetectionDataset(base, split="test"))


def test_voc_detection_error_policy_is_the_readers(tmp_path: Path) -> None:
    base = make_voc(tmp_path)
    xml = base / "Annotations" / "2012_000007.xml"
    xml.write_text(xml.read_text().replace("<xmax>30</xmax>", "<xmax>300</xmax>"))  # beyond the image
    with pytest.raises(DatasetValidationError, match=r"2012_000007\.xml object 1"):
        vd.get_dataset("voc_detection", root=tmp_path, split="train")
    dataset = vd.get_dataset("voc_detection", root=tmp_path, split="train", on_error="skip")
    assert len(dataset.problems) == 1 and dataset[1][1]["boxes"].shape == (0, 4)


def test_voc_detection_missing_tree_says_download(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError) as caught:
        vd.get_dataset("voc_detection", root=tmp_path, split="val")
    message = str(caught.value)
    assert str(tmp_path / "VOCdevkit" / "VOC2012" / "ImageSets" / "Main" / "val.txt") in message
    assert "download=True" in message and "VOCtrainval_11-May-2012.tar" in message
    make_voc(tmp_path, "2007")  # trainval only: the test archive is another file
    with pytest.raises(DatasetNotFoundError, match=r"download=True to fetch \S*VOCtest_06-Nov-2007\.tar"):
        vd.get_dataset("voc_detection", root=tmp_path, split="test")


@pytest.mark.parametrize(
    ("split", "year", "filename", "folder"),
    [
        ("train", None, "VOCtrainval_11-May-2012.tar", "2012"),
        ("val", "2010", "VOCtrainval_03-May-2010.tar", "2010"),
        ("test", None, "VOCtest_06-Nov-2007.tar", "2007"),
    ],
)
def test_voc_download_goes_through_torchvisions_downloader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, split: str, year: str | None, filename: str, folder: str
) -> None:
    calls: list[dict[str, Any]] = []

    def fake_download(url: str, download_root: str, filename: str, md5: str) -> None:
        # The network boundary only: record the request and unpack what the archive holds.
        calls.append({"url": url, "root": download_root, "filename": filename, "md5": md5})
        make_voc(Path(download_root), folder, {**VOC_SETS, "test": ["000009"]})

    monkeypatch.setattr(torchvision.datasets.voc, "download_and_extract_archive", fake_download)
    extra = {} if year is None else {"year": year}
    dataset = vd.get_dataset("voc_detection", root=tmp_path, split=split, download=True, **extra)
    assert [(call["filename"], call["root"]) for call in calls] == [(filename, str(tmp_path))]
    assert calls[0]["url"].endswith(filename) and calls[0]["md5"]
    assert isinstance(dataset, VOCDetectionDataset)
    assert_same_samples(dataset, VOCDetectionDataset(tmp_path / "VOCdevkit" / f"VOC{folder}", split=split))
    # Already there: nothing is fetched again.
    vd.get_dataset("voc_detection", root=tmp_path, split=split, download=True, **extra)
    assert len(calls) == 1


def test_voc_download_failure_is_a_download_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(*args: Any, **kwargs: Any) -> None:
        raise OSError("network is unreachable")

    monkeypatch.setattr(torchvision.datasets.voc, "download_and_extract_archive", offline)
    with pytest.raises(DownloadError, match=r"network is unreachable.*VOCtrainval_11-May-2012\.tar"):
        vd.get_dataset("voc_detection", root=tmp_path, split="train", download=True)


def test_voc_test_split_with_another_year_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"split='test' sets year='2007'; got year='2012'"):
        vd.get_dataset("voc_detection", root=tmp_path, split="test", year=2012)
    with pytest.raises(ValueError, match=r"year expected one of 2007, .*2012, got '2013'"):
        vd.get_dataset("voc_detection", root=tmp_path, split="train", year=2013)


# ---------------------------------------------------------------- commands on catalog names
def test_export_and_preview_read_the_catalog_entries(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_voc(tmp_path / "data")
    make_coco(tmp_path / "data")
    root = str(tmp_path / "data")
    assert main(["export", "voc_detection", str(tmp_path / "voc"), "--root", root, "--split", "train"]) == 0
    shards = ShardDataset(tmp_path / "voc", split="train", shuffle_buffer=0)
    assert shards.task == "detection" and shards.classes == list(vd.dataset_info("voc_detection").classes)
    reader = VOCDetectionDataset(tmp_path / "data" / "VOCdevkit" / "VOC2012", split="train")
    for (_, target), (_, expected) in zip(shards, reader, strict=True):
        assert target["labels"].tolist() == expected["labels"].tolist()
        assert plain(target["boxes"]).tolist() == plain(expected["boxes"]).tolist()
    out = tmp_path / "preview.png"
    assert (
        main(["preview", "coco_detection", "--root", root, "--split", "val", "--out", str(out), "-n", "3"])
        == 0
    )
    with Image.open(out) as drawn:
        assert drawn.size[0] > 0
