"""The catalog's segmentation entries yield the one segmentation schema (issue 20, "Schema").

``voc_segmentation``, ``cityscapes`` and ``sbd`` give ``(tv_tensors.Image, {"mask": tv_tensors.Mask int64
(H, W), "image_id": int})`` as ``SegmentationFolderDataset`` does, void pixels kept as 255. Every fixture is
written in the dataset's real layout (torchvision's VOC tree with palette PNGs, Cityscapes' ``leftImg8bit`` /
``gtFine`` with ``*_labelIds.png`` grey levels and the files beside them, SBD's ``img/`` + ``cls/*.mat``) on
small PIL images, and the catalog's samples are compared one by one with the reader's (or torchvision's).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader
from torchvision import tv_tensors

import visiondata as vd
from visiondata.cli import main
from visiondata.collate import padded_collate
from visiondata.datasets._builtin import CITYSCAPES_CLASSES, VOC_CLASSES
from visiondata.exceptions import DatasetNotFoundError, DatasetValidationError
from visiondata.formats import SegmentationFolderDataset
from visiondata.formats._mask_folder import voc_palette
from visiondata.transforms import BoxPipeline

GREY = (100, 100, 100)
#: name -> (height, width) of the VOC fixture; each split list names some of them, in an unsorted order.
VOC_SIZES = {"2008_000002": (16, 20), "2008_000001": (18, 24), "2008_000007": (14, 22)}
VOC_SPLITS = {"train": ["2008_000002", "2008_000001"], "val": ["2008_000007"]}


def voc_ids(name: str) -> np.ndarray:
    """Class ids of ``name``'s mask: a class rectangle (id from the name), a void border (255) around it."""
    height, width = VOC_SIZES.get(name, (12, 16))
    ids = np.zeros((height, width), dtype=np.uint8)
    class_id = int(name[-1]) + 10  # 11, 12, 17: any of VOC's 1-20
    ids[2:9, 3:11] = 255
    ids[3:8, 4:10] = class_id
    return ids


def palette_png(path: Path, ids: np.ndarray) -> None:
    mask = Image.fromarray(ids, mode="P")
    mask.putpalette([channel for colour in voc_palette() for channel in colour])
    path.parent.mkdir(parents=True, exist_ok=True)
    mask.save(path)


def grey_image(path: Path, height: int, width: int, number: int) -> None:
    image = Image.new("RGB", (width, height), GREY)
    image.putpixel((width - 1, height - 1), (GREY[0] + 10 * number, GREY[1], GREY[2]))
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


def voc_tree(root: Path, year: str = "2012", splits: dict[str, list[str]] | None = None) -> Path:
    """torchvision's VOC layout: ``root/VOCdevkit/VOC{year}/`` with JPEGImages, SegmentationClass, ImageSets."""
    base = root / "VOCdevkit" / f"VOC{year}"
    splits = VOC_SPLITS if splits is None else splits
    names = {name for names in splits.values() for name in names}
    for number, name in enumerate(sorted(names)):
        height, width = VOC_SIZES.get(name, (12, 16))
        grey_image(base / "JPEGImages" / f"{name}.jpg", height, width, number)
        palette_png(base / "SegmentationClass" / f"{name}.png", voc_ids(name))
    # A detection-only image (no mask), as most of VOC's JPEGImages are: never read by the segmentation split.
    grey_image(base / "JPEGImages" / "2008_000099.jpg", 10, 10, 9)
    (base / "ImageSets" / "Segmentation").mkdir(parents=True)
    for split, names in splits.items():
        (base / "ImageSets" / "Segmentation" / f"{split}.txt").write_text("".join(f"{n}\n" for n in names))
    return base


def assert_same_samples(first: Any, second: Any) -> None:
    assert len(first) == len(second)
    for index in range(len(first)):
        (image, target), (their_image, their_target) = first[index], second[index]
        assert isinstance(image, tv_tensors.Image) and torch.equal(image, their_image)
        assert set(target) == {"mask", "image_id"} == set(their_target)
        assert isinstance(target["mask"], tv_tensors.Mask) and target["mask"].dtype == torch.int64
        assert target["mask"].shape == image.shape[-2:]
        assert torch.equal(target["mask"], their_target["mask"])
        assert target["image_id"] == their_target["image_id"] == index


# ---------------------------------------------------------------- voc_segmentation
@pytest.mark.parametrize("split", ["train", "val"])
def test_voc_segmentation_gives_the_readers_samples(tmp_path: Path, split: str) -> None:
    base = voc_tree(tmp_path)
    dataset = vd.get_dataset("voc_segmentation", root=tmp_path, split=split)
    assert isinstance(dataset, SegmentationFolderDataset)
    assert dataset.classes == list(VOC_CLASSES) == list(vd.dataset_info("voc_segmentation").classes)
    assert dataset.classes[0] == "__background__" and dataset.ignore_index == 255
    reader = SegmentationFolderDataset(
        base / "JPEGImages", base / "SegmentationClass", classes=list(VOC_CLASSES), stems=VOC_SPLITS[split]
    )
    assert_same_samples(dataset, reader)
    # SegmentationFolderDataset's order (sorted by path; VOC's own lists are sorted), palette indices as ids.
    for index, name in enumerate(sorted(VOC_SPLITS[split])):
        mask = dataset[index][1]["mask"]
        assert mask.tolist() == voc_ids(name).astype(np.int64).tolist()
        assert {0, 255, int(name[-1]) + 10} == set(mask.unique().tolist())


def test_voc_segmentation_years_and_the_2007_test_split(tmp_path: Path) -> None:
    voc_tree(tmp_path, "2010")
    voc_tree(tmp_path, "2007", {"test": ["2008_000001"]})
    assert len(vd.get_dataset("voc_segmentation", root=tmp_path, split="train", year=2010)) == 2
    test = vd.get_dataset("voc_segmentation", root=tmp_path, split="test")
    assert len(test) == 1 and test.root.endswith("VOC2007/JPEGImages")
    with pytest.raises(TypeError, match=r"split='test' sets year='2007'; got year='2010'"):
        vd.get_dataset("voc_segmentation", root=tmp_path, split="test", year="2010")


def test_voc_segmentation_missing_tree_names_the_path_and_download(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError) as caught:
        vd.get_dataset("voc_segmentation", root=tmp_path, split="val")
    message = str(caught.value)
    listing = tmp_path / "VOCdevkit" / "VOC2012" / "ImageSets" / "Segmentation" / "val.txt"
    assert str(listing) in message and "download=True" in message


def test_voc_segmentation_download_goes_through_torchvision(tmp_path: Path, monkeypatch: Any) -> None:
    import torchvision.datasets

    calls: list[dict[str, Any]] = []

    def fake_download(root: str, **arguments: Any) -> None:
        # What torchvision's download leaves on disk: the year's tree under root.
        calls.append({"root": root, **arguments})
        voc_tree(Path(root))

    monkeypatch.setattr(torchvision.datasets, "VOCSegmentation", fake_download)
    dataset = vd.get_dataset("voc_segmentation", root=tmp_path, split="train", download=True)
    assert calls == [{"root": str(tmp_path), "year": "2012", "image_set": "train", "download": True}]
    assert len(dataset) == 2
    vd.get_dataset("voc_segmentation", root=tmp_path, split="train", download=True)
    assert len(calls) == 1  # on disk now: no second download


def test_voc_segmentation_listed_name_without_mask_is_a_named_problem(tmp_path: Path) -> None:
    base = voc_tree(tmp_path)
    (base / "SegmentationClass" / "2008_000001.png").unlink()
    with pytest.raises(DatasetValidationError, match="2008_000001"):
        vd.get_dataset("voc_segmentation", root=tmp_path, split="train")
    dataset = vd.get_dataset("voc_segmentation", root=tmp_path, split="train", on_error="skip")
    assert len(dataset) == 1 and any("2008_000001" in problem for problem in dataset.problems)


def test_voc_segmentation_flip_pipeline_and_padded_collate(tmp_path: Path) -> None:
    voc_tree(tmp_path)
    plain = vd.get_dataset("voc_segmentation", root=tmp_path, split="train")
    pipeline = BoxPipeline([{"name": "HorizontalFlip", "p": 1.0}])
    flipped = vd.get_dataset("voc_segmentation", root=tmp_path, split="train", transform=pipeline)
    for index in range(len(plain)):
        image, target = plain[index]
        flipped_image, flipped_target = flipped[index]
        assert torch.equal(flipped_image.as_subclass(torch.Tensor), image.as_subclass(torch.Tensor).flip(-1))
        assert torch.equal(flipped_target["mask"].as_subclass(torch.Tensor), target["mask"].flip(-1))
        assert flipped_target["mask"].dtype == torch.int64
    batch = padded_collate([flipped[0], flipped[1]], size_divisor=32, ignore_index=255)
    masks = batch["semantic_masks"]
    assert masks.shape == (2, 32, 32) and masks.dtype == torch.int64
    for row, index in enumerate((0, 1)):
        mask = flipped[index][1]["mask"]
        height, width = mask.shape
        assert torch.equal(masks[row, :height, :width], mask.as_subclass(torch.Tensor))
        assert (masks[row, height:] == 255).all() and (masks[row, :, width:] == 255).all()
    loss = torch.nn.functional.cross_entropy(
        torch.zeros(2, len(VOC_CLASSES), 32, 32), masks, ignore_index=255, reduction="sum"
    )
    labelled = int((masks != 255).sum())
    assert labelled > 0 and loss.item() == pytest.approx(labelled * np.log(len(VOC_CLASSES)), rel=1e-5)


def test_voc_segmentation_dataloader_with_two_workers(tmp_path: Path) -> None:
    voc_tree(tmp_path, splits={"train": [f"2008_00{n:04d}" for n in range(6)]})
    dataset = vd.get_dataset("voc_segmentation", root=tmp_path, split="train")
    collate = functools.partial(padded_collate, size_divisor=1, ignore_index=255)
    loader = DataLoader(dataset, batch_size=2, num_workers=2, collate_fn=collate)
    batches = list(loader)
    assert len(batches) == 3
    for number, batch in enumerate(batches):
        expected = collate([dataset[2 * number], dataset[2 * number + 1]])
        assert torch.equal(batch["images"], expected["images"])
        assert torch.equal(batch["semantic_masks"], expected["semantic_masks"])
        assert [target["image_id"] for target in batch["targets"]] == [2 * number, 2 * number + 1]


def test_preview_of_the_catalog_name_tints_the_labelled_pixels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    voc_tree(tmp_path / "data", splits={"val": ["2008_000002"]})
    out = tmp_path / "preview.png"
    argv = ["preview", "voc_segmentation", "--root", str(tmp_path / "data"), "--split", "val"]
    assert main([*argv, "--out", str(out), "-n", "1", "--ncols", "1"]) == 0
    assert "wrote" in capsys.readouterr().out
    picture = np.asarray(Image.open(out).convert("RGB")).astype(int)
    rows, columns = np.nonzero(picture.sum(axis=2) > 0)
    top, left = rows.min(), columns.min()
    height, width = VOC_SIZES["2008_000002"]
    image = picture[top : top + height, left : left + width]
    tinted = np.abs(image - np.array(GREY)).sum(axis=2) > 30
    ids = voc_ids("2008_000002")
    assert tinted[ids == 12].all()  # the class pixels are drawn as an overlay
    assert not tinted[(ids == 0)][:-1].any()  # background (the last pixel is the marker) stays as it is


# ---------------------------------------------------------------- cityscapes
CITY_FRAMES = {"train": {"aachen": ["000000_000019", "000001_000019"], "bochum": ["000000_000313"]}}


def cityscapes_ids(number: int, height: int = 12, width: int = 24) -> np.ndarray:
    ids = np.full((height, width), 7, dtype=np.uint8)  # road
    ids[: 4 + number] = 23  # sky
    ids[6:10, 2 + number : 8 + number] = 26  # a car
    ids[-1, :3] = 0  # unlabeled
    return ids


def cityscapes_tree(root: Path, mode: str = "gtFine", splits: dict[str, Any] | None = None) -> list[Path]:
    """Cityscapes' layout; returns the labelIds files written, in sorted path order."""
    written = []
    number = 0
    for split, cities in (CITY_FRAMES if splits is None else splits).items():
        for city, frames in cities.items():
            for frame in frames:
                stem = f"{city}_{frame}"
                grey_image(root / "leftImg8bit" / split / city / f"{stem}_leftImg8bit.png", 12, 24, number)
                folder = root / mode / split / city
                folder.mkdir(parents=True, exist_ok=True)
                ids = cityscapes_ids(number)
                Image.fromarray(ids, mode="L").save(folder / f"{stem}_{mode}_labelIds.png")
                written.append(folder / f"{stem}_{mode}_labelIds.png")
                # The other files of each frame, as Cityscapes ships them: not masks of this dataset.
                Image.fromarray(np.stack([ids * 5] * 3, axis=-1)).save(folder / f"{stem}_{mode}_color.png")
                # instanceIds: 16-bit, class id * 1000 + instance number for objects.
                Image.fromarray(ids.astype(np.uint16) * 1000).save(folder / f"{stem}_{mode}_instanceIds.png")
                (folder / f"{stem}_{mode}_polygons.json").write_text(json.dumps({"objects": []}))
                number += 1
    return sorted(written)


def test_cityscapes_gives_the_readers_samples_and_torchvisions_masks(tmp_path: Path) -> None:
    import torchvision.datasets

    written = cityscapes_tree(tmp_path)
    dataset = vd.get_dataset("cityscapes", root=tmp_path, split="train")
    assert isinstance(dataset, SegmentationFolderDataset)
    assert dataset.classes == list(CITYSCAPES_CLASSES) and len(dataset.classes) == 34
    assert dataset.classes[26] == "car" and dataset.ignore_index == 255
    reader = SegmentationFolderDataset(
        tmp_path / "leftImg8bit" / "train",
        tmp_path / "gtFine" / "train",
        classes=list(CITYSCAPES_CLASSES),
        image_suffix="_leftImg8bit",
        mask_suffix="_gtFine_labelIds",
    )
    assert_same_samples(dataset, reader)
    assert [str(tmp_path / "gtFine" / "train" / path) for path in dataset.mask_paths] == [
        str(p) for p in written
    ]
    # torchvision's target_type="semantic" reads the same files: the same ids, frame by frame.
    theirs = torchvision.datasets.Cityscapes(tmp_path, split="train", target_type="semantic")
    by_file = {Path(targets[0]).name: index for index, targets in enumerate(theirs.targets)}
    for index in range(len(dataset)):
        mask = dataset[index][1]["mask"]
        _, their_mask = theirs[by_file[Path(dataset.mask_path(index)).name]]
        assert mask.tolist() == np.asarray(their_mask).astype(np.int64).tolist()
        assert {0, 7, 23, 26} == set(mask.unique().tolist())


def test_cityscapes_coarse_mode_and_refusals(tmp_path: Path) -> None:
    cityscapes_tree(tmp_path, "gtCoarse", {"train_extra": {"erlangen": ["000000_000019"]}})
    coarse = vd.get_dataset("cityscapes", root=tmp_path, split="train_extra", mode="coarse")
    assert len(coarse) == 1 and coarse.mask_paths[0].endswith("_gtCoarse_labelIds.png")
    with pytest.raises(ValueError, match="mode='fine' has the splits train, val, test"):
        vd.get_dataset("cityscapes", root=tmp_path, split="train_extra")
    with pytest.raises(ValueError, match="target_type expected 'semantic'"):
        vd.get_dataset("cityscapes", root=tmp_path, split="train_extra", mode="coarse", target_type="color")
    with pytest.raises(DatasetNotFoundError) as caught:
        vd.get_dataset("cityscapes", root=tmp_path, split="val")
    assert str(tmp_path / "leftImg8bit" / "val") in str(caught.value)
    assert "gtFine_trainvaltest.zip" in str(caught.value)


def test_cityscapes_batches_with_padded_collate(tmp_path: Path) -> None:
    cityscapes_tree(tmp_path)
    pipeline = BoxPipeline([{"name": "HorizontalFlip", "p": 1.0}])
    dataset = vd.get_dataset("cityscapes", root=tmp_path, split="train", transform=pipeline)
    plain = vd.get_dataset("cityscapes", root=tmp_path, split="train")
    batch = padded_collate([dataset[0], dataset[1]], size_divisor=16, ignore_index=255)
    assert batch["semantic_masks"].shape == (2, 16, 32)
    assert torch.equal(batch["semantic_masks"][0, :12, :24], plain[0][1]["mask"].flip(-1))
    assert (batch["semantic_masks"][:, 12:] == 255).all() and (
        batch["semantic_masks"][:, :, 24:] == 255
    ).all()


# ---------------------------------------------------------------- sbd
def sbd_tree(root: Path, names: dict[str, list[str]]) -> dict[str, np.ndarray]:
    """SBD's layout (``img/*.jpg``, ``cls/*.mat`` with ``GTcls.Segmentation``, ``<split>.txt``); the ids written."""
    from scipy.io import savemat

    written = {}
    for number, name in enumerate(sorted({n for listed in names.values() for n in listed})):
        height, width = 10 + number, 14
        grey_image(root / "img" / f"{name}.jpg", height, width, number)
        ids = np.zeros((height, width), dtype=np.uint8)
        ids[2:6, 3 : 6 + number] = 15  # a person
        (root / "cls").mkdir(parents=True, exist_ok=True)
        savemat(root / "cls" / f"{name}.mat", {"GTcls": {"Segmentation": ids, "CategoriesPresent": [15]}})
        written[name] = ids
    for split, listed in names.items():
        (root / f"{split}.txt").write_text("".join(f"{name}\n" for name in listed))
    return written


def test_sbd_gives_the_segmentation_dict_with_torchvisions_masks(tmp_path: Path) -> None:
    import torchvision.datasets

    written = sbd_tree(tmp_path, {"train": ["2008_000005", "2008_000003"], "val": ["2008_000008"]})
    dataset = vd.get_dataset("sbd", root=tmp_path, split="train")
    assert dataset.classes == list(VOC_CLASSES) and dataset.ignore_index == 255
    theirs = torchvision.datasets.SBDataset(tmp_path, image_set="train", mode="segmentation")
    assert len(dataset) == len(theirs) == 2
    for index, name in enumerate(["2008_000005", "2008_000003"]):
        image, target = dataset[index]
        their_image, their_mask = theirs[index]
        assert isinstance(image, tv_tensors.Image) and image.dtype == torch.uint8
        assert torch.equal(image.permute(1, 2, 0), torch.from_numpy(np.array(their_image)))
        assert set(target) == {"mask", "image_id"} and target["image_id"] == index
        assert isinstance(target["mask"], tv_tensors.Mask) and target["mask"].dtype == torch.int64
        assert target["mask"].tolist() == written[name].astype(np.int64).tolist()
        assert target["mask"].tolist() == np.asarray(their_mask).astype(np.int64).tolist()
    flipped = vd.get_dataset(
        "sbd", root=tmp_path, split="train", transform=BoxPipeline([{"name": "HorizontalFlip", "p": 1.0}])
    )
    assert torch.equal(flipped[1][1]["mask"].as_subclass(torch.Tensor), dataset[1][1]["mask"].flip(-1))
    batch = padded_collate([dataset[0], dataset[1]], size_divisor=8, ignore_index=255)
    assert batch["semantic_masks"].shape == (2, 16, 16)
    assert (batch["semantic_masks"][1, 10:] == 255).all()


def test_sbd_missing_split_names_the_path_and_download(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError) as caught:
        vd.get_dataset("sbd", root=tmp_path, split="val")
    assert str(tmp_path / "val.txt") in str(caught.value) and "download=True" in str(caught.value)


# ---------------------------------------------------------------- the writer
@pytest.mark.parametrize("name", ["voc_segmentation", "sbd"])
def test_to_mask_folder_round_trips_catalog_samples(tmp_path: Path, name: str) -> None:
    from visiondata.formats import to_mask_folder

    if name == "sbd":
        sbd_tree(tmp_path / "data", {"train": ["2008_000005", "2008_000003"]})
    else:
        voc_tree(tmp_path / "data")
    dataset = vd.get_dataset(name, root=tmp_path / "data", split="train")
    report = to_mask_folder(dataset, tmp_path / "out")
    assert report.images == len(dataset) == 2 and report.classes == list(VOC_CLASSES)
    back = SegmentationFolderDataset(tmp_path / "out" / "images", tmp_path / "out" / "masks")
    assert back.classes == list(VOC_CLASSES) and len(back) == len(dataset)
    written = [Path(path).stem for path in back.mask_paths]
    if name == "voc_segmentation":  # files kept with their names
        assert written == [Path(dataset.mask_path(index)).stem for index in range(len(dataset))]
    else:  # SBD's samples come decoded (no image file to copy): numbered in sample order
        assert written == ["00000000", "00000001"]
    for index in range(len(dataset)):
        assert torch.equal(back[index][1]["mask"], dataset[index][1]["mask"])
