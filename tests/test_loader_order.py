"""``build_loader``'s default order: every training dataset is shuffled, an evaluation split is read in order.

Issue 18, item 19: COCO, CSV-boxes and class-folder datasets name no split, and the split-aware
default used to read them in order (class-sorted batches from a class folder, with no warning),
while YOLO, VOC and MNIST-train were shuffled. Each dataset here is built from tiny real files.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from PIL import Image
from torch.utils.data import Dataset, RandomSampler, SequentialSampler, Subset

from visiondata.collate import detection_collate
from visiondata.datasets import (
    CocoDetectionDataset,
    CSVDetectionDataset,
    ImageFolderDataset,
    VOCDetectionDataset,
    YOLODataset,
)
from visiondata.loaders import build_loader

# 24! orders: the chance that a seeded shuffle is the identity is 1 in 6 * 10^23.
COUNT = 24


def image(path: Path, shade: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 6), (shade, 0, 0)).save(path)


def coco(root: Path) -> Dataset:
    for index in range(COUNT):
        image(root / "images" / f"{index:02d}.png", index)
    annotation = {
        "images": [
            {"id": index + 1, "file_name": f"{index:02d}.png", "width": 8, "height": 6}
            for index in range(COUNT)
        ],
        "categories": [{"id": 1, "name": "cat"}],
        "annotations": [
            {
                "id": index + 1,
                "image_id": index + 1,
                "category_id": 1,
                "bbox": [1, 1, 3, 3],
                "area": 9,
                "iscrowd": 0,
            }
            for index in range(COUNT)
        ],
    }
    (root / "instances.json").write_text(json.dumps(annotation))
    return CocoDetectionDataset(root / "images", root / "instances.json")


def csv_boxes(root: Path) -> Dataset:
    lines = ["image,x_min,y_min,x_max,y_max,label"]
    for index in range(COUNT):
        image(root / f"{index:02d}.png", index)
        lines.append(f"{index:02d}.png,1,1,4,4,{'cat' if index < COUNT // 2 else 'dog'}")
    (root / "boxes.csv").write_text("\n".join(lines) + "\n")
    return CSVDetectionDataset(root / "boxes.csv", root)


def image_folder(root: Path) -> Dataset:
    for index in range(COUNT):
        image(root / f"class{index // 8}" / f"{index:02d}.png", index)
    return ImageFolderDataset(root)


def yolo(root: Path) -> Dataset:
    (root / "labels").mkdir()
    for index in range(COUNT):
        image(root / "images" / f"{index:02d}.png", index)
        (root / "labels" / f"{index:02d}.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    return YOLODataset(root / "images", classes=["cat"])


def voc(root: Path) -> Dataset:
    (root / "Annotations").mkdir(parents=True)
    for index in range(COUNT):
        image(root / "JPEGImages" / f"{index:02d}.png", index)
        (root / "Annotations" / f"{index:02d}.xml").write_text(
            f"<annotation><filename>{index:02d}.png</filename><size><width>8</width><height>6</height></size>"
            "<object><name>cat</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>4</xmax><ymax>4</ymax></bndbox>"
            "</object></annotation>"
        )
    return VOCDetectionDataset(root, split=None)


BUILDERS: dict[str, Callable[[Path], Dataset]] = {
    "coco": coco,
    "csv-boxes": csv_boxes,
    "image-folder": image_folder,
    "yolo": yolo,
    "voc": voc,
}


def first_epoch(loader: torch.utils.data.DataLoader) -> list[int]:
    """The dataset indices the loader's first epoch reads, in its order."""
    return [index for batch in loader.batch_sampler for index in batch]


@pytest.mark.parametrize("name", list(BUILDERS))
def test_default_loader_shuffles_every_training_dataset_and_logs_it(
    name: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dataset = BUILDERS[name](tmp_path)
    assert len(dataset) == COUNT
    with caplog.at_level(logging.INFO, logger="visiondata.loaders"):
        loader = build_loader(dataset, batch_size=4, seed=0)
    assert isinstance(loader.sampler, RandomSampler)
    order = first_epoch(loader)
    assert sorted(order) == list(range(COUNT))
    assert order != list(range(COUNT)), f"{name}: the default loader reads in file order"
    # The same seed gives the same order; batches really come out (collate and all).
    assert first_epoch(build_loader(dataset, batch_size=4, seed=0)) == order
    assert len(next(iter(loader))[0]) == 4
    (record,) = [record for record in caplog.records if record.name == "visiondata.loaders"]
    message = record.getMessage()
    assert record.levelno == logging.INFO
    assert type(dataset).__name__ in message and f"{COUNT} samples" in message, message
    assert "shuffled (seed 0)" in message and "not known to be an evaluation split" in message, message


def test_class_folder_batches_mix_classes(tmp_path: Path) -> None:
    dataset = image_folder(tmp_path)
    loader = build_loader(dataset, batch_size=8, seed=0)
    labels = [set(batch.tolist()) for _, batch in loader]
    assert any(len(classes) > 1 for classes in labels), f"every batch holds one class: {labels}"


def test_an_evaluation_split_is_read_in_order_and_the_log_says_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "labels" / "val").mkdir(parents=True)
    for index in range(COUNT):
        image(tmp_path / "images" / "val" / f"{index:02d}.png", index)
    (tmp_path / "data.yaml").write_text("path: .\ntrain: images/val\nval: images/val\nnames: [cat]\n")
    dataset = YOLODataset(data_yaml=tmp_path / "data.yaml", split="val")
    with caplog.at_level(logging.INFO, logger="visiondata.loaders"):
        loader = build_loader(dataset, batch_size=4)
        shuffled = build_loader(dataset, batch_size=4, shuffle=True)
    assert isinstance(loader.sampler, SequentialSampler) and first_epoch(loader) == list(range(COUNT))
    assert first_epoch(shuffled) != list(range(COUNT))
    in_order, given = (
        record.getMessage() for record in caplog.records if record.name == "visiondata.loaders"
    )
    assert "read in order" in in_order and "split_name is 'val'" in in_order, in_order
    assert "shuffled (seed 0)" in given and "shuffle=True was given" in given, given
    # A Subset of an evaluation split is still one.
    assert first_epoch(build_loader(Subset(dataset, [3, 1, 2]), batch_size=2)) == [0, 1, 2]


def test_explicit_shuffle_false_reads_a_training_dataset_in_order(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dataset = coco(tmp_path)
    with caplog.at_level(logging.INFO, logger="visiondata.loaders"):
        loader = build_loader(dataset, batch_size=4, shuffle=False)
    assert first_epoch(loader) == list(range(COUNT)) and loader.collate_fn is detection_collate
    (message,) = [record.getMessage() for record in caplog.records if record.name == "visiondata.loaders"]
    assert "read in order: shuffle=False was given" in message, message


def test_concat_of_evaluation_splits_is_read_in_order() -> None:
    class Split(Dataset):
        def __init__(self, split: str) -> None:
            self.split = split

        def __len__(self) -> int:
            return 12

        def __getitem__(self, index: int) -> int:
            return index

    both_eval = torch.utils.data.ConcatDataset([Split("val"), Split("test")])
    assert first_epoch(build_loader(both_eval, batch_size=5)) == list(range(24))
    mixed = torch.utils.data.ConcatDataset([Split("train"), Split("val")])
    assert first_epoch(build_loader(mixed, batch_size=5)) != list(range(24))
