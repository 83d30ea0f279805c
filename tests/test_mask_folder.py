"""SegmentationFolderDataset and to_mask_folder: image/mask folders read, checked, transformed and written.

Fixtures are real files in the layouts the tools write: VOC's SegmentationClass (palette PNGs whose
indices are the ids, 255 on borders), Cityscapes' ``*_leftImg8bit.png`` / ``*_gtFine_labelIds.png``
(grey-level ids), RGB colour masks with a palette, and 16-bit masks; images are small PIL drawings.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from isolated import assert_clean_exit, run_isolated
from PIL import Image, ImageDraw
from torch.utils.data import DataLoader, Subset
from torchvision import tv_tensors

from visiondata.exceptions import (
    DatasetFormatError,
    DatasetValidationError,
    ImageReadError,
    OutputConflictError,
    SkippedSampleWarning,
)
from visiondata.formats._mask_folder import (
    SegmentationFolderDataset,
    read_mask,
    to_mask_folder,
    voc_palette,
)
from visiondata.transforms import BoxPipeline

BACKENDS = ("torchvision", "albumentations")
FLAT_VOC = [channel for colour in voc_palette() for channel in colour]


def photo(width: int = 32, height: int = 24, seed: int = 0) -> Image.Image:
    """A small 'photo': a dark textured background with a bright rectangle where class 1 is labelled."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 60, size=(height, width, 3), dtype=np.uint8)
    image = Image.fromarray(pixels)
    ImageDraw.Draw(image).rectangle([4, 6, 11, 13], fill=(250, 250, 250))  # x 4..11, y 6..13
    return image


def ids_for(width: int = 32, height: int = 24) -> np.ndarray:
    """Class ids matching `photo`: 1 on the bright rectangle, 2 on a band, 255 on the rectangle's border."""
    ids = np.zeros((height, width), dtype=np.uint8)
    ids[6:14, 4:12] = 1
    ids[18:22, 20:30] = 2
    ids[5, 4:12] = 255  # a void border above the object, as VOC draws them
    return ids


def save_palette_mask(path: Path, ids: np.ndarray, palette: list[int] | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    mask = Image.frombytes("P", (ids.shape[1], ids.shape[0]), ids.astype(np.uint8).tobytes())
    mask.putpalette(palette or FLAT_VOC)
    mask.save(path)


def voc_folder(root: Path, count: int = 3) -> tuple[Path, Path]:
    """VOC2012's layout: JPEGImages/*.jpg and SegmentationClass/*.png (palette indices)."""
    images, masks = root / "JPEGImages", root / "SegmentationClass"
    images.mkdir(parents=True)
    for number in range(count):
        photo(seed=number).save(images / f"2007_00{number}.jpg", quality=95)
        save_palette_mask(masks / f"2007_00{number}.png", ids_for())
    return images, masks


# ------------------------------------------------------------------ decoding
def test_palette_png_is_read_as_indices_not_colours(tmp_path: Path) -> None:
    images, masks = voc_folder(tmp_path)
    dataset = SegmentationFolderDataset(images, masks, classes=["background", "aeroplane", "bicycle"])
    image, target = dataset[0]
    assert isinstance(image, tv_tensors.Image) and image.shape == (3, 24, 32)
    mask = target["mask"]
    assert isinstance(mask, tv_tensors.Mask) and mask.dtype == torch.int64 and mask.shape == (24, 32)
    assert np.array_equal(mask.numpy(), ids_for())  # indices 0, 1, 2, 255 (colours would be 128 etc.)
    assert int((mask == 255).sum()) == 8  # ignore_index kept as it is
    assert target["image_id"] == 0
    assert len(dataset) == 3 and dataset.relative_path(2) == "2007_002.jpg"


def test_grey_level_and_16_bit_masks_are_ids(tmp_path: Path) -> None:
    grey = tmp_path / "grey.png"
    Image.fromarray(ids_for()).save(grey)
    assert Image.open(grey).mode == "L"
    assert np.array_equal(read_mask(grey), ids_for())
    wide = ids_for().astype(np.uint16)
    wide[0, 0] = 300
    wide[0, 1] = 65535
    sixteen = tmp_path / "wide.png"
    Image.fromarray(wide).save(sixteen)
    assert Image.open(sixteen).mode.startswith("I;16")
    assert np.array_equal(read_mask(sixteen), wide)


def test_rgb_mask_needs_a_palette_and_unknown_colours_are_named(tmp_path: Path) -> None:
    colours = [(0, 0, 0), (255, 0, 0), (0, 255, 0)]
    rgb = np.zeros((24, 32, 3), dtype=np.uint8)
    ids = ids_for()
    for class_id, colour in enumerate(colours):
        rgb[ids == class_id] = colour
    rgb[ids == 255] = (255, 255, 255)
    path = tmp_path / "colour.png"
    Image.fromarray(rgb).save(path)
    with pytest.raises(DatasetFormatError, match="got an RGB image; pass palette="):
        read_mask(path)
    # A list: one colour per id; white is unknown (8 pixels), named with its count.
    with pytest.raises(DatasetFormatError) as caught:
        read_mask(path, palette=colours)
    assert str(path) in str(caught.value) and "(255, 255, 255) (8 pixels)" in str(caught.value)
    # A dict maps the void colour to the ignore index.
    mapping = {colour: class_id for class_id, colour in enumerate(colours)} | {(255, 255, 255): 255}
    assert np.array_equal(read_mask(path, palette=mapping), ids)
    with pytest.raises(ValueError, match=r"palette: colour .* class ids 0 and 1"):
        read_mask(path, palette=[(0, 0, 0), (0, 0, 0)])
    with pytest.raises(ValueError, match=r"palette\[1\]: expected an \(r, g, b\) colour"):
        read_mask(path, palette=[(0, 0, 0), (300, 0, 0)])


def test_rgb_masks_through_the_dataset_report_the_file(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    for name, paint in (("a", (255, 0, 0)), ("b", (9, 9, 9))):
        photo().save(tmp_path / "images" / f"{name}.png")
        rgb = np.zeros((24, 32, 3), dtype=np.uint8)
        rgb[6:14, 4:12] = paint
        Image.fromarray(rgb).save(tmp_path / "masks" / f"{name}.png")
    palette = [(0, 0, 0), (255, 0, 0)]
    dataset = SegmentationFolderDataset(tmp_path / "images", tmp_path / "masks", palette=palette)
    assert int((dataset[0][1]["mask"] == 1).sum()) == 64
    with pytest.raises(DatasetFormatError, match=r"b\.png: mask: .*\(9, 9, 9\) \(64 pixels\)"):
        dataset[1]
    skipping = SegmentationFolderDataset(
        tmp_path / "images", tmp_path / "masks", palette=palette, on_error="skip"
    )
    assert skipping[1][1]["mask"].sum() > 0  # replaced by the next readable sample (a)
    (recorded,) = skipping.errors.values()
    assert "(9, 9, 9)" in recorded


def test_ids_beyond_the_classes_are_named_unless_void(tmp_path: Path) -> None:
    images, masks = voc_folder(tmp_path, count=1)
    with pytest.raises(DatasetFormatError) as caught:
        SegmentationFolderDataset(images, masks, classes=["background", "aeroplane"])[0]
    message = str(caught.value)
    assert "2007_000.png" in message and "2 (40 pixels)" in message and "ignore_index 255" in message
    assert "255 (" not in message  # void pixels are not a problem
    with pytest.raises(DatasetFormatError, match=r"255 \(8 pixels\)"):
        SegmentationFolderDataset(images, masks, classes=["a", "b", "c"], ignore_index=None)[0]
    # Without classes, ids are unnamed and not checked.
    assert SegmentationFolderDataset(images, masks)[0][1]["mask"].max() == 255


def test_mask_of_another_size_is_named_with_both_files(tmp_path: Path) -> None:
    images, masks = voc_folder(tmp_path, count=2)
    save_palette_mask(masks / "2007_000.png", ids_for(30, 24))
    with pytest.raises(DatasetFormatError) as caught:
        SegmentationFolderDataset(images, masks)[0]
    message = str(caught.value)
    assert "SegmentationClass/2007_000.png" in message and "JPEGImages/2007_000.jpg" in message
    assert "32x24" in message and "30x24" in message
    warned = SegmentationFolderDataset(images, masks, on_error="warn")
    with pytest.warns(SkippedSampleWarning, match="2007_000"):
        _, target = warned[0]
    assert target["image_id"] == 1 and list(warned.errors) == [str(images / "2007_000.jpg")]
    assert SegmentationFolderDataset(images, masks).check() == [message]


# ------------------------------------------------------------------ pairing
def test_pairing_problems_are_listed_together_or_recorded(tmp_path: Path) -> None:
    images, masks = voc_folder(tmp_path, count=3)
    photo().save(images / "lonely.jpg")  # no mask
    save_palette_mask(masks / "orphan.png", ids_for())  # no image
    photo().save(images / "2007_001.png")  # a second image with the stem 2007_001
    with pytest.raises(DatasetValidationError) as caught:
        SegmentationFolderDataset(images, masks)
    problems = caught.value.problems
    assert len(problems) == 3
    assert any("lonely.jpg: image without a mask" in p and "lonely.png" in p for p in problems)
    assert any("orphan.png: mask without an image" in p for p in problems)
    assert any("2007_001.jpg, 2007_001.png share the name '2007_001'" in p for p in problems)
    skipped = SegmentationFolderDataset(images, masks, on_error="skip")
    assert list(skipped.paths) == ["2007_000.jpg", "2007_002.jpg"] and skipped.problems == problems
    with pytest.warns(SkippedSampleWarning, match="3 problems"):
        SegmentationFolderDataset(images, masks, on_error="warn")


def test_nested_folders_and_cityscapes_suffixes(tmp_path: Path) -> None:
    left, fine = tmp_path / "leftImg8bit" / "train", tmp_path / "gtFine" / "train"
    for city, number in (("aachen", 0), ("bremen", 1)):
        (left / city).mkdir(parents=True)
        (fine / city).mkdir(parents=True)
        stem = f"{city}_000000_00001{number}"
        photo(seed=number).save(left / city / f"{stem}_leftImg8bit.png")
        Image.fromarray(ids_for() + number).save(fine / city / f"{stem}_gtFine_labelIds.png")
        # Cityscapes' other files beside the label ids are not masks of this dataset.
        Image.new("RGB", (32, 24)).save(fine / city / f"{stem}_gtFine_color.png")
        Image.fromarray(ids_for()).save(fine / city / f"{stem}_gtFine_instanceIds.png")
    dataset = SegmentationFolderDataset(
        left, fine, image_suffix="_leftImg8bit", mask_suffix="_gtFine_labelIds", ignore_index=None
    )
    assert list(dataset.paths) == [
        "aachen/aachen_000000_000010_leftImg8bit.png",
        "bremen/bremen_000000_000011_leftImg8bit.png",
    ]
    assert list(dataset.mask_paths) == [
        "aachen/aachen_000000_000010_gtFine_labelIds.png",
        "bremen/bremen_000000_000011_gtFine_labelIds.png",
    ]
    assert np.array_equal(
        dataset[1][1]["mask"].numpy(), (ids_for() + 1).astype(np.int64)
    )  # 255 + 1 wrapped to 0 in the file


def test_one_folder_needs_a_mask_suffix(tmp_path: Path) -> None:
    photo().save(tmp_path / "a.jpg")
    save_palette_mask(tmp_path / "a_mask.png", ids_for())
    with pytest.raises(ValueError, match="mask_suffix="):
        SegmentationFolderDataset(tmp_path, tmp_path)
    dataset = SegmentationFolderDataset(tmp_path, tmp_path, mask_suffix="_mask")
    assert list(dataset.paths) == ["a.jpg"] and list(dataset.mask_paths) == ["a_mask.png"]


def test_classes_txt_beside_the_masks_names_the_ids(tmp_path: Path) -> None:
    images, masks = voc_folder(tmp_path, count=1)
    (tmp_path / "classes.txt").write_text("background\nkiwi\nfig\n")
    dataset = SegmentationFolderDataset(images, masks)
    assert dataset.classes == ["background", "kiwi", "fig"] and dataset.classes_file == str(
        tmp_path / "classes.txt"
    )
    (tmp_path / "classes.txt").write_text("background\nkiwi\n")
    with pytest.raises(DatasetFormatError, match="2 \\(40 pixels\\)"):
        SegmentationFolderDataset(images, masks)[0]


# ------------------------------------------------------------------ files that must not be followed or opened
def test_mask_link_leaving_the_masks_folder_is_refused(tmp_path: Path) -> None:
    images, masks = voc_folder(tmp_path / "data", count=1)
    outside = tmp_path / "secret.png"
    save_palette_mask(outside, ids_for())
    (masks / "2007_000.png").unlink()
    (masks / "2007_000.png").symlink_to(outside)
    with pytest.raises(ImageReadError, match="outside the dataset root"):
        SegmentationFolderDataset(images, masks)[0]
    assert SegmentationFolderDataset(images, masks, allow_outside_root=True)[0][1]["mask"].max() == 255


def test_decompression_bomb_mask_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, masks = voc_folder(tmp_path, count=1)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 500)  # the 32 x 24 mask has 768 pixels
    with pytest.raises(ImageReadError, match="decompression-bomb limit"):
        read_mask(masks / "2007_000.png")


def test_fifo_mask_is_refused_without_hanging(tmp_path: Path) -> None:
    images, masks = voc_folder(tmp_path, count=1)
    (masks / "2007_000.png").unlink()
    os.mkfifo(masks / "2007_000.png")
    result = run_isolated(
        f"""
        from visiondata.formats._mask_folder import SegmentationFolderDataset
        from visiondata.exceptions import ImageReadError
        dataset = SegmentationFolderDataset({str(images)!r}, {str(masks)!r})
        try:
            dataset[0]
        except ImageReadError as error:
            print("refused:", error)
        """,
        timeout=60,
    )
    assert_clean_exit(result)
    assert "refused:" in result.stdout and "FIFO" in result.stdout


# ------------------------------------------------------------------ the writer
def test_round_trip_keeps_images_and_masks(tmp_path: Path) -> None:
    images, masks = voc_folder(tmp_path / "voc", count=3)
    (images / "sub").mkdir()
    photo(seed=7).save(images / "sub" / "deep.jpg")
    save_palette_mask(masks / "sub" / "deep.png", ids_for())
    source = SegmentationFolderDataset(images, masks, classes=["background", "aeroplane", "bicycle"])
    out = tmp_path / "out"
    report = to_mask_folder(source, out)
    assert report.images == 4 and report.format == "mask_folder" and not report.skipped
    assert (out / "classes.txt").read_text() == "background\naeroplane\nbicycle\n"
    written = Image.open(out / "masks" / "sub" / "deep.png")
    assert written.mode == "P" and written.getpalette()[3:6] == [128, 0, 0]
    manifest = json.loads((out / "visiondata-conversion.json").read_text())
    assert manifest["format"] == "mask_folder" and "masks/sub/deep.png" in manifest["files"]
    again = SegmentationFolderDataset(out / "images", out / "masks")
    assert again.classes == source.classes and list(again.paths) == list(source.paths)
    for index in range(len(source)):
        assert (out / "images" / source.relative_path(index)).read_bytes() == Path(
            source.path(index)
        ).read_bytes()
        assert torch.equal(again[index][0], source[index][0])
        assert torch.equal(again[index][1]["mask"], source[index][1]["mask"])


def test_rgb_source_round_trips_through_palette_pngs(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    photo().save(tmp_path / "images" / "a.png")
    rgb = np.zeros((24, 32, 3), dtype=np.uint8)
    rgb[6:14, 4:12] = (10, 200, 30)
    Image.fromarray(rgb).save(tmp_path / "masks" / "a.png")
    palette = [(0, 0, 0), (10, 200, 30)]
    source = SegmentationFolderDataset(tmp_path / "images", tmp_path / "masks", palette=palette)
    to_mask_folder(source, tmp_path / "out")
    written = Image.open(tmp_path / "out" / "masks" / "a.png")
    assert written.mode == "P" and written.getpalette()[3:6] == [10, 200, 30]  # the source's colours
    again = SegmentationFolderDataset(tmp_path / "out" / "images", tmp_path / "out" / "masks")
    assert torch.equal(again[0][1]["mask"], source[0][1]["mask"])


def test_large_ids_are_written_as_16_bit(tmp_path: Path) -> None:
    wide = ids_for().astype(np.int64)
    wide[0, :3] = [256, 1000, 65535]
    samples = [
        (
            tv_tensors.Image(torch.from_numpy(np.array(photo())).permute(2, 0, 1)),
            tv_tensors.Mask(torch.from_numpy(wide)),
        )
    ]
    report = to_mask_folder(samples, tmp_path / "out")
    assert report.images == 1 and report.encoded == 1
    assert Image.open(tmp_path / "out" / "masks" / "00000000.png").mode.startswith("I;16")
    again = SegmentationFolderDataset(tmp_path / "out" / "images", tmp_path / "out" / "masks")
    assert torch.equal(again[0][1]["mask"], torch.from_numpy(wide))
    assert torch.equal(again[0][0], samples[0][0])
    bad = [(samples[0][0], {"mask": torch.full((24, 32), -1)})]
    report = to_mask_folder(bad, tmp_path / "bad")
    assert report.images == 0 and "values from -1" in report.skipped[0]


def test_writer_refuses_outputs_that_would_lose_data(tmp_path: Path) -> None:
    images, masks = voc_folder(tmp_path / "voc", count=1)
    source = SegmentationFolderDataset(images, masks)
    for inside in (masks / "out", tmp_path / "voc"):
        with pytest.raises(OutputConflictError, match="input"):
            to_mask_folder(source, inside, overwrite=True)
    assert (masks / "2007_000.png").is_file() and not (masks / "out").exists()
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine")
    with pytest.raises(OutputConflictError, match="overwrite=True"):
        to_mask_folder(source, taken)
    assert (taken / "keep.txt").read_text() == "mine"
    to_mask_folder(source, taken, overwrite=True)
    assert not (taken / "keep.txt").exists() and (taken / "masks" / "2007_000.png").is_file()
    with pytest.raises(OutputConflictError, match="input"):
        to_mask_folder(Subset(source, [0]), masks, overwrite=True)


def test_writer_copies_a_subset_and_skips_bad_pairs(tmp_path: Path) -> None:
    images, masks = voc_folder(tmp_path / "voc", count=3)
    save_palette_mask(masks / "2007_001.png", ids_for(30, 24))  # another size
    source = SegmentationFolderDataset(images, masks)
    report = to_mask_folder(Subset(source, [2, 1]), tmp_path / "out", images="symlink")
    assert report.images == 1 and len(report.skipped) == 1 and "30x24" in report.skipped[0]
    assert os.readlink(tmp_path / "out" / "images" / "2007_002.jpg") == str(images / "2007_002.jpg")
    with pytest.raises(ValueError, match="transform"):
        to_mask_folder(
            SegmentationFolderDataset(images, masks, transform=lambda i, t: (i, t)), tmp_path / "x"
        )


# ------------------------------------------------------------------ pipeline, loaders, loss
@pytest.mark.parametrize("backend", BACKENDS)
def test_box_pipeline_moves_the_mask_with_the_image(tmp_path: Path, backend: str) -> None:
    images, masks = voc_folder(tmp_path, count=1)
    spec = [
        {"name": "HorizontalFlip", "p": 1.0},
        {"name": "Crop", "top": 2, "left": 8, "height": 20, "width": 22},
    ]
    dataset = SegmentationFolderDataset(images, masks, transform=BoxPipeline(spec, backend=backend))
    image, target = dataset[0]
    mask = target["mask"]
    assert image.shape[-2:] == mask.shape == (20, 22) and mask.dtype == torch.int64
    assert isinstance(mask, tv_tensors.Mask)
    # Where the labelled object (class 1) lands, the image's bright rectangle lands: flipped in a 32-wide
    # image, x 4..11 becomes 20..27, then the crop moves it by (-8, -2): x 12..19, y 4..11.
    labelled = (mask == 1).numpy()
    bright = (image.float().mean(0) > 200).numpy()
    assert labelled.sum() == 64 and np.array_equal(labelled, bright)
    assert labelled[4:12, 12:20].all()
    assert int((mask == 255).sum()) == 8 and (mask[3, 12:20] == 255).all()  # the void border moved too


def test_dataloader_with_two_workers(tmp_path: Path) -> None:
    images, masks = voc_folder(tmp_path, count=4)
    dataset = SegmentationFolderDataset(images, masks, classes=["bg", "a", "b"])

    loader = DataLoader(dataset, batch_size=2, num_workers=2, collate_fn=lambda batch: tuple(zip(*batch)))
    seen = []
    for batch_images, targets in loader:
        stacked = torch.stack([t["mask"] for t in targets])
        assert stacked.dtype == torch.int64 and stacked.shape == (2, 24, 32)
        seen += [t["image_id"] for t in targets]
        # A segmentation loss leaves the void pixels out.
        logits = torch.zeros(2, 3, 24, 32)
        loss = torch.nn.functional.cross_entropy(logits, stacked, ignore_index=255)
        assert torch.isfinite(loss)
        assert len(batch_images) == 2
    assert seen == [0, 1, 2, 3]


def test_transform_gets_image_and_target_and_v1_is_refused(tmp_path: Path) -> None:
    from torchvision import transforms

    images, masks = voc_folder(tmp_path, count=1)
    calls = []

    def record(image, target):
        calls.append((type(image).__name__, sorted(target)))
        return image, target

    SegmentationFolderDataset(images, masks, transform=record)[0]
    assert calls == [("Image", ["image_id", "mask"])]
    with pytest.raises(TypeError, match="v1 transform"):
        SegmentationFolderDataset(images, masks, transform=transforms.ToTensor())


def test_voc_palette_is_the_bit_interleaved_map() -> None:
    palette = voc_palette()
    assert len(palette) == 256 and len(set(palette)) == 256
    assert palette[:4] == [(0, 0, 0), (128, 0, 0), (0, 128, 0), (128, 128, 0)]
    assert palette[20] == (0, 64, 128) and palette[255] == (224, 224, 192)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert voc_palette(2) == [(0, 0, 0), (128, 0, 0)]


def test_segmentation_page_example_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import re
    import runpy

    # The page's one snippet, with what it prints checked (tests/test_docs_snippets.py only runs snippets).
    page = (Path(__file__).resolve().parents[1] / "docs" / "segmentation.md").read_text()
    (snippet,) = re.findall(r"```python\n(.*?)```", page, flags=re.DOTALL)
    script = tmp_path / "snippet.py"
    script.write_text(snippet)
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(script), run_name="__main__")
    printed = capsys.readouterr().out
    assert "torch.Size([3, 32, 48]) torch.Size([32, 48])" in printed
    assert "wrote mask_folder" in printed and "'classes.txt', 'images', 'masks'" in printed


def test_damaged_mask_is_an_unreadable_sample_under_the_policy(tmp_path: Path) -> None:
    images, masks = voc_folder(tmp_path, count=2)
    whole = (masks / "2007_000.png").read_bytes()
    (masks / "2007_000.png").write_bytes(whole[: len(whole) // 2])  # cut short
    with pytest.raises(
        ImageReadError, match=r"SegmentationClass/2007_000\.png: cannot read image: truncated"
    ):
        SegmentationFolderDataset(images, masks)[0]
    skipping = SegmentationFolderDataset(images, masks, on_error="skip")
    assert skipping[0][1]["image_id"] == 1 and "truncated" in skipping.errors[str(images / "2007_000.jpg")]
    assert len(skipping.check()) == 1


def test_detection_collate_passes_the_masks_through(tmp_path: Path) -> None:
    from visiondata.collate import detection_collate

    images, masks = voc_folder(tmp_path, count=2)
    dataset = SegmentationFolderDataset(images, masks)
    batch = detection_collate([dataset[0], dataset[1]])
    images_out, targets = batch[0], batch[1]
    assert len(images_out) == 2 and [t["image_id"] for t in targets] == [0, 1]
    assert all(torch.equal(t["mask"], torch.from_numpy(ids_for().astype(np.int64))) for t in targets)
