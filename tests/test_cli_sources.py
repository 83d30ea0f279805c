"""Sources as other tools lay them out, opened by ``visiondata convert`` (issue 19, item 8), and v1 transforms.

Fixtures are written by hand from the tools' documented layouts:

- supervision's ``DetectionDataset.as_yolo(images_directory_path, annotations_directory_path,
  data_yaml_path)``: ``images/``, ``labels/`` and a ``data.yaml`` that ``save_data_yaml`` writes with
  only ``nc`` and ``names`` (no ``path`` / ``train`` / ``val``).
- A COCO export (Roboflow, CVAT, FiftyOne's ``COCODetectionDataset``): ``annotations/instances.json``
  with ``file_name`` values relative to ``images/``, which stands beside ``annotations/``.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
import torch
from PIL import Image
from torchvision import transforms
from torchvision.transforms import v2

from visiondata.cli import main
from visiondata.datasets import CocoDetectionDataset, CSVDetectionDataset, ImageFolderDataset, YOLODataset
from visiondata.exceptions import DatasetNotFoundError
from visiondata.formats._open import open_detection
from visiondata.io import read_image

CLASSES = ["cat", "dog", "bird"]


def supervision_yolo(root: Path) -> Path:
    """``root/ds`` as supervision's ``as_yolo`` writes it: ``data.yaml`` with ``nc`` and ``names`` only."""
    ds = root / "ds"
    (ds / "images").mkdir(parents=True)
    (ds / "labels").mkdir()
    for stem, line in (("a", "2 0.5 0.5 0.5 0.4\n"), ("b", "1 0.25 0.25 0.2 0.2\n")):
        Image.new("RGB", (20, 10)).save(ds / "images" / f"{stem}.png")
        (ds / "labels" / f"{stem}.txt").write_text(line)
    # yaml.dump({"nc": 3, "names": [...]}, sort_keys=False, default_flow_style=False)
    (ds / "data.yaml").write_text("nc: 3\nnames:\n- cat\n- dog\n- bird\n")
    return ds


def coco_names(out: Path) -> dict[int, str]:
    content = json.loads((out / "annotations.json").read_text())
    return {category["id"]: category["name"] for category in content["categories"]}


def coco_labels(out: Path) -> list[str]:
    content = json.loads((out / "annotations.json").read_text())
    names = {category["id"]: category["name"] for category in content["categories"]}
    return sorted(names[annotation["category_id"]] for annotation in content["annotations"])


# ------------------------------------------------------- supervision's YOLO layout keeps its class names


def test_convert_supervision_yolo_folder_keeps_class_names(tmp_path: Path) -> None:
    ds = supervision_yolo(tmp_path)
    out = tmp_path / "out"
    assert main(["convert", str(ds), str(out), "--to", "coco"]) == 0
    assert sorted(coco_names(out).values()) == sorted(CLASSES)
    assert coco_labels(out) == ["bird", "dog"]


def test_convert_supervision_images_folder_takes_names_of_data_yaml_beside_it(tmp_path: Path) -> None:
    ds = supervision_yolo(tmp_path)
    out = tmp_path / "out"
    assert main(["convert", str(ds / "images"), str(out), "--to", "coco", "--from", "yolo"]) == 0
    assert coco_labels(out) == ["bird", "dog"]


def test_yolo_dataset_reads_supervision_data_yaml(tmp_path: Path) -> None:
    ds = supervision_yolo(tmp_path)
    dataset = YOLODataset(data_yaml=ds / "data.yaml")
    assert dataset.classes == ["__background__", *CLASSES]
    assert len(dataset) == 2
    labels = sorted(int(label) for index in range(len(dataset)) for label in dataset[index][1]["labels"])
    assert labels == [2, 3]  # dog (YOLO id 1), bird (YOLO id 2)


def test_supervision_data_yaml_has_no_other_split(tmp_path: Path) -> None:
    ds = supervision_yolo(tmp_path)
    with pytest.raises(
        DatasetNotFoundError, match=r"no 'val' entry; it has none.*supervision.*split='train'"
    ):
        YOLODataset(data_yaml=ds / "data.yaml", split="val")


def test_convert_classes_option_names_a_yolo_folder_without_names(tmp_path: Path) -> None:
    ds = supervision_yolo(tmp_path)
    (ds / "data.yaml").unlink()
    out = tmp_path / "out"
    assert main(["convert", str(ds), str(out), "--to", "coco", "--classes", "cat,dog,bird"]) == 0
    assert coco_labels(out) == ["bird", "dog"]
    names = tmp_path / "names.txt"
    names.write_text("cat\ndog\nbird\n")
    out2 = tmp_path / "out2"
    assert main(["convert", str(ds), str(out2), "--to", "coco", "--classes", f"@{names}"]) == 0
    assert coco_labels(out2) == ["bird", "dog"]


def test_convert_classes_option_refused_for_formats_with_names(tmp_path: Path, capsys) -> None:
    root = coco_export(tmp_path)
    source = str(root / "annotations" / "instances.json")
    status = main(["convert", source, str(tmp_path / "o"), "--to", "yolo", "--classes", "a,b"])
    assert status == 1
    assert "--classes: only YOLO sources" in capsys.readouterr().err


# ----------------------------------------------------------------- COCO images beside annotations/


def coco_export(root: Path, count: int = 2, images_folder: bool = True) -> Path:
    """``root/export``: ``annotations/instances.json`` + ``images/`` (file names relative to images/)."""
    export = root / "export"
    (export / "annotations").mkdir(parents=True)
    images = []
    for number in range(1, count + 1):
        name = f"img{number:04d}.png"
        images.append({"id": number, "file_name": name, "width": 20, "height": 10})
        if images_folder:
            (export / "images").mkdir(exist_ok=True)
            Image.new("RGB", (20, 10)).save(export / "images" / name)
    content = {
        "images": images,
        "categories": [{"id": 1, "name": "cat"}],
        "annotations": [
            {
                "id": number,
                "image_id": number,
                "category_id": 1,
                "bbox": [2, 1, 5, 4],
                "area": 20,
                "iscrowd": 0,
            }
            for number in range(1, count + 1)
        ],
    }
    (export / "annotations" / "instances.json").write_text(json.dumps(content))
    return export


def test_convert_coco_export_finds_images_beside_annotations(tmp_path: Path) -> None:
    export = coco_export(tmp_path)
    out = tmp_path / "out"
    assert main(["convert", str(export / "annotations" / "instances.json"), str(out), "--to", "yolo"]) == 0
    assert sorted(path.name for path in (out / "images" / "train").iterdir()) == [
        "img0001.png",
        "img0002.png",
    ]
    assert len(list((out / "labels" / "train").glob("*.txt"))) == 2


def test_open_detection_finds_images_folder_inside_the_json_folder(tmp_path: Path) -> None:
    export = coco_export(tmp_path)
    # Both in one folder: instances.json beside images/.
    moved = export / "instances.json"
    (export / "annotations" / "instances.json").rename(moved)
    dataset = open_detection(moved)
    assert Path(dataset.root) == export / "images"
    assert len(dataset) == 2


def test_coco_missing_images_are_one_short_error_suggesting_images(tmp_path: Path, capsys) -> None:
    export = coco_export(tmp_path, count=300, images_folder=False)
    status = main(
        ["convert", str(export / "annotations" / "instances.json"), str(tmp_path / "out"), "--to", "yolo"]
    )
    assert status == 1
    err = capsys.readouterr().err
    assert "none of the 300 images" in err
    assert "--images" in err and "images_dir=" in err
    assert "'img0001.png'" in err and "img0300.png" not in err  # a few shown, not all
    assert len(err.splitlines()) <= 3


def test_coco_most_images_missing_names_the_count(tmp_path: Path) -> None:
    export = coco_export(tmp_path, count=4)
    for number in (1, 2, 3):
        (export / "images" / f"img{number:04d}.png").unlink()
    with pytest.raises(DatasetNotFoundError, match=r"3 of the 4 images .*pass images_dir="):
        CocoDetectionDataset(export / "images", export / "annotations" / "instances.json")
    # Under "skip" the missing images stay problems of their own (the others are read).
    dataset = CocoDetectionDataset(
        export / "images", export / "annotations" / "instances.json", on_error="skip"
    )
    assert len(dataset) == 1 and len(dataset.problems) == 3


def test_coco_all_images_missing_is_an_error_under_skip_too(tmp_path: Path) -> None:
    export = coco_export(tmp_path, count=3)
    with pytest.raises(DatasetNotFoundError, match="none of the 3 images"):
        CocoDetectionDataset(
            export / "annotations", export / "annotations" / "instances.json", on_error="skip"
        )


# ----------------------------------------------------------------- torchvision v1 transforms


def image_folder(root: Path) -> Path:
    (root / "cats").mkdir(parents=True)
    Image.new("RGB", (8, 6), (10, 20, 30)).save(root / "cats" / "a.png")
    return root


@pytest.mark.parametrize(
    "transform",
    [transforms.ToTensor(), transforms.Compose([transforms.Resize(4), transforms.ToTensor()])],
    ids=["ToTensor", "Compose"],
)
def test_v1_transform_on_image_folder_says_to_read_pil(tmp_path: Path, transform) -> None:
    dataset = ImageFolderDataset(image_folder(tmp_path), transform=transform)
    with pytest.raises(
        TypeError, match=r"v1 transform.*loader=functools\.partial\(read_image, output='pil'\)"
    ):
        dataset[0]


def test_v1_transform_with_pil_loader_works(tmp_path: Path) -> None:
    dataset = ImageFolderDataset(
        image_folder(tmp_path),
        transform=transforms.ToTensor(),
        loader=functools.partial(read_image, output="pil"),
    )
    image, label = dataset[0]
    assert image.dtype == torch.float32 and image.shape == (3, 6, 8) and label == 0


def test_other_type_errors_of_a_transform_keep_their_message(tmp_path: Path) -> None:
    def broken(image):
        raise TypeError("my own bug")

    dataset = ImageFolderDataset(image_folder(tmp_path), transform=broken)
    with pytest.raises(TypeError, match=r"^my own bug$"):
        dataset[0]


def test_v1_transform_on_coco_dataset_is_refused_with_v2_hint(tmp_path: Path) -> None:
    export = coco_export(tmp_path)
    with pytest.raises(
        TypeError, match=r"torchvision\.transforms\.ToTensor is a torchvision v1.*(image, target).*v2"
    ):
        CocoDetectionDataset(
            export / "images", export / "annotations" / "instances.json", transform=transforms.ToTensor()
        )
    with pytest.raises(TypeError, match=r"torchvision\.transforms\.Compose is a torchvision v1"):
        CocoDetectionDataset(
            export / "images",
            export / "annotations" / "instances.json",
            transform=transforms.Compose([transforms.ToTensor()]),
        )


def test_v2_transform_on_coco_dataset_still_works(tmp_path: Path) -> None:
    export = coco_export(tmp_path)
    dataset = CocoDetectionDataset(
        export / "images",
        export / "annotations" / "instances.json",
        transform=v2.Compose([v2.ToDtype(torch.float32, scale=True)]),
    )
    image, target = dataset[0]
    assert image.dtype == torch.float32 and target["boxes"].tolist() == [[2.0, 1.0, 7.0, 5.0]]


def test_v1_transform_on_csv_detection_is_refused(tmp_path: Path) -> None:
    Image.new("RGB", (20, 10)).save(tmp_path / "a.png")
    (tmp_path / "boxes.csv").write_text("image,x_min,y_min,x_max,y_max,label\na.png,1,1,5,5,cat\n")
    with pytest.raises(TypeError, match="torchvision v1 transform"):
        CSVDetectionDataset(tmp_path / "boxes.csv", tmp_path, transform=transforms.ToTensor())
