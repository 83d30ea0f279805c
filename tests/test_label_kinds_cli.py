"""Mask folders, keypoints and oriented boxes through the command line (issue 20): ``check``, ``preview``,
``convert`` open them as they open boxes (``open_detection``), with the same reports and exit statuses.

Every fixture is a real file in its format's documented layout: mask folders as ``to_mask_folder`` (and VOC's
``SegmentationClass``) write them, palette PNGs whose *indices* are class ids; COCO keypoint files as
``person_keypoints_*.json``; DOTA's ``images/`` + ``labelTxt/`` with ``x1 y1 ... x4 y4 class difficult`` lines.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from visiondata.cli import main
from visiondata.datasets._check import EXIT_CLEAN, EXIT_NOT_FOUND, EXIT_PROBLEMS, check_segmentation
from visiondata.formats._mask_folder import SegmentationFolderDataset, voc_palette
from visiondata.formats._open import guess_format, open_detection

GREY = (100, 100, 100)
WIDTH, HEIGHT = 20, 16
#: The kiwi (class 1) rectangle of the clean masks: columns 5..12, rows 3..9 (inclusive).
KIWI = (5, 3, 12, 9)


def _palette_mask(path: Path, ids: np.ndarray) -> None:
    """A VOC-style palette PNG whose indices are ``ids``."""
    mask = Image.fromarray(ids.astype(np.uint8), mode="P")
    mask.putpalette([channel for colour in voc_palette() for channel in colour])
    path.parent.mkdir(parents=True, exist_ok=True)
    mask.save(path)


def _kiwi_ids(width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    ids = np.zeros((height, width), dtype=np.uint8)
    left, top, right, bottom = KIWI
    ids[top : bottom + 1, left : right + 1] = 1
    ids[0, 0] = 255  # one void pixel, as VOC's borders
    return ids


def _grey(path: Path, number: int) -> None:
    """A grey image, told apart from the others by one pixel (identical images would be a problem of their own)."""
    image = Image.new("RGB", (WIDTH, HEIGHT), GREY)
    image.putpixel((WIDTH - 1, HEIGHT - 1), (GREY[0] + number, GREY[1], GREY[2]))
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


def mask_folder(root: Path, stems: tuple[str, ...] = ("a", "b")) -> Path:
    """``root/images/<stem>.png`` (grey), ``root/masks/<stem>.png`` (palette, a kiwi rectangle), ``classes.txt``."""
    (root / "images").mkdir(parents=True)
    for number, stem in enumerate(stems):
        _grey(root / "images" / f"{stem}.png", number)
        _palette_mask(root / "masks" / f"{stem}.png", _kiwi_ids())
    (root / "classes.txt").write_text("background\nkiwi\n")
    return root


# ---------------------------------------------------------------------------------------------- open


def test_a_mask_folder_is_guessed_and_opened_with_its_class_names(tmp_path: Path) -> None:
    root = mask_folder(tmp_path / "seg")
    assert guess_format(root) == "mask-folder"
    dataset = open_detection(root)
    assert isinstance(dataset, SegmentationFolderDataset)
    assert dataset.classes == ["background", "kiwi"] and len(dataset) == 2
    assert dataset.classes_file == str(root / "classes.txt")
    # Class sub-folders named images/ and masks/ whose files share no names are not a mask folder.
    other = tmp_path / "classes"
    for name in ("images", "masks"):
        (other / name).mkdir(parents=True)
        Image.new("RGB", (4, 4)).save(other / name / f"{name}-1.png")
    assert guess_format(other) is None


def test_a_split_picks_the_sub_folders_and_an_unknown_split_is_named(tmp_path: Path) -> None:
    root = tmp_path / "seg"
    for split, stems in (("train", ("a", "b")), ("val", ("c",))):
        for number, stem in enumerate(stems):
            _grey(root / "images" / split / f"{stem}.png", number)
            _palette_mask(root / "masks" / split / f"{stem}.png", _kiwi_ids())
    (root / "classes.txt").write_text("background\nkiwi\n")
    assert guess_format(root) == "mask-folder"
    val = open_detection(root, split="val")
    assert len(val) == 1 and val.classes == ["background", "kiwi"]  # classes.txt beside images/ and masks/
    assert len(open_detection(root)) == 3
    from visiondata.exceptions import DatasetFormatError

    with pytest.raises(DatasetFormatError, match=r"split 'test': expected .*images/test"):
        open_detection(root, split="test")


# ---------------------------------------------------------------------------------------------- check


def bad_mask_folder(root: Path) -> Path:
    """A mask folder with one image without its mask and one mask of another size than its image."""
    mask_folder(root, ("a", "b"))
    _grey(root / "images" / "lonely.png", 5)  # no mask
    _grey(root / "images" / "small.png", 6)
    _palette_mask(root / "masks" / "small.png", _kiwi_ids(WIDTH - 4, HEIGHT))  # 16x16 for a 20x16 image
    return root


def test_check_names_a_missing_mask_and_a_mask_of_another_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = bad_mask_folder(tmp_path / "seg")
    assert main(["check", str(root)]) == EXIT_PROBLEMS
    out = capsys.readouterr().out
    assert "(SegmentationFolderDataset): 3 image/mask pairs in 2 classes" in out
    assert "mask problems (2):" in out
    assert (
        f"{root / 'images' / 'lonely.png'}: image without a mask: expected {root / 'masks' / 'lonely.png'}"
        in out
    )
    assert (
        f"{root / 'masks' / 'small.png'}: mask: expected the size of its image {root / 'images' / 'small.png'}, "
        "20x16 (width x height), got 16x16"
    ) in out
    assert out.rstrip().endswith("problems: 2 mask problems")
    assert main(["check", str(root), "--json"]) == EXIT_PROBLEMS
    report = json.loads(capsys.readouterr().out)
    assert report["format"] == "SegmentationFolderDataset" and report["masks"] == 3
    assert report["class_counts"] == {"background": 3, "kiwi": 3}  # masks holding each class
    assert len(report["mask_problems"]) == 2 and report["problems"] == ["2 mask problems"]


def test_check_names_unknown_ids_and_a_clean_folder_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = mask_folder(tmp_path / "seg")
    assert main(["check", str(root), "--format", "mask-folder"]) == EXIT_CLEAN
    assert "problems: none" in capsys.readouterr().out
    ids = _kiwi_ids()
    ids[15, 19] = 7  # class 7 of 2 classes; 255 (void) stays allowed
    _palette_mask(root / "masks" / "b.png", ids)
    report = check_segmentation(root, progress=False)
    assert report.problems == ["1 mask problem"]
    assert report.mask_problems == [
        f"{root / 'masks' / 'b.png'}: mask: expected class ids 0..1 (2 classes) or ignore_index 255, got 7 (1 pixel); "
        "fix the mask, or pass classes= naming every id"
    ]


def test_check_of_a_folder_that_is_no_mask_folder_exits_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty").mkdir()
    assert main(["check", str(tmp_path / "empty"), "--format", "mask-folder"]) == EXIT_NOT_FOUND
    assert "expected a folder holding images/ and masks/" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------- preview


def test_preview_tints_the_pixels_of_the_mask(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = mask_folder(tmp_path / "seg", ("a",))
    out = tmp_path / "preview.png"
    assert main(["preview", str(root), "--out", str(out), "-n", "1", "--ncols", "1"]) == 0
    assert "wrote" in capsys.readouterr().out
    picture = np.asarray(Image.open(out).convert("RGB")).astype(int)
    # The image sits inside the grid's padding (black): its top-left corner is the first non-black pixel.
    rows, columns = np.nonzero(picture.sum(axis=2) > 0)
    top, left = rows.min(), columns.min()
    image = picture[top : top + HEIGHT, left : left + WIDTH]
    tinted = np.abs(image - np.array(GREY)).sum(axis=2) > 10
    expected = _kiwi_ids() == 1  # the kiwi pixels; background (0) and void (255) stay as they are
    assert tinted.tolist() == expected.tolist()


# ---------------------------------------------------------------------------------------------- convert


def coco_with_polygons(root: Path) -> Path:
    """A COCO file with two overlapping polygon objects, a crowd region (RLE) and an image without objects."""
    root.mkdir(parents=True)
    Image.new("RGB", (40, 30), (30, 60, 90)).save(root / "one.jpg")
    Image.new("RGB", (40, 30), (30, 60, 90)).save(root / "empty.jpg")
    crowd = np.zeros((30, 40), dtype=np.uint8, order="F")
    crowd[20:28, 30:38] = 1
    from pycocotools import mask as coco_mask

    rle = coco_mask.encode(crowd)
    data = {
        "images": [
            {"id": 1, "file_name": "one.jpg", "width": 40, "height": 30},
            {"id": 2, "file_name": "empty.jpg", "width": 40, "height": 30},
        ],
        "categories": [{"id": 3, "name": "cat"}, {"id": 9, "name": "dog"}],
        "annotations": [
            # The cat covers x 2..20, y 2..20; the dog, later in the file, is drawn over it at x 10..30.
            {"id": 1, "image_id": 1, "category_id": 3, "bbox": [2, 2, 18, 18], "area": 324, "iscrowd": 0,
             "segmentation": [[2, 2, 20, 2, 20, 20, 2, 20]]},
            {"id": 2, "image_id": 1, "category_id": 9, "bbox": [10, 5, 20, 10], "area": 200, "iscrowd": 0,
             "segmentation": [[10, 5, 30, 5, 30, 15, 10, 15]]},
            {"id": 3, "image_id": 1, "category_id": 9, "bbox": [30, 20, 8, 8], "area": 64, "iscrowd": 1,
             "segmentation": {"size": [30, 40], "counts": rle["counts"].decode("ascii")}},
        ],
    }  # fmt: skip
    path = root / "instances.json"
    path.write_text(json.dumps(data))
    return path


def test_convert_coco_polygons_to_a_mask_folder_reads_back_the_ids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = coco_with_polygons(tmp_path / "coco")
    out = tmp_path / "masks_out"
    assert main(["convert", str(source), str(out), "--to", "mask-folder", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["format"] == "mask_folder" and report["images"] == 2 and report["boxes"] == 3
    assert report["classes"] == ["background", "cat", "dog"] and report["empty_images"] == 1
    assert (out / "classes.txt").read_text() == "background\ncat\ndog\n"
    assert json.loads((out / "visiondata-conversion.json").read_text())["complete"] is True
    assert guess_format(out) == "mask-folder"
    dataset = open_detection(out)
    assert dataset.classes == ["background", "cat", "dog"]
    by_name = {Path(dataset.relative_path(i)).stem: i for i in range(len(dataset))}
    mask = dataset[by_name["one"]][1]["mask"]
    assert mask[5, 5] == 1  # cat only
    assert mask[10, 15] == 2  # cat and dog: the later object (dog) is on top
    assert mask[10, 25] == 2  # dog only
    assert mask[24, 34] == 255  # the crowd region: void
    assert mask[25, 5] == 0  # nothing: background
    assert (Image.open(out / "masks" / "one.png").mode) == "P"  # palette indices, as VOC
    assert dataset[by_name["empty"]][1]["mask"].unique().tolist() == [0]  # all background
    # The images are copied byte for byte.
    assert (out / "images" / "one.jpg").read_bytes() == (source.parent / "one.jpg").read_bytes()


def test_convert_mask_folder_to_mask_folder_relays_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = mask_folder(tmp_path / "seg")
    out = tmp_path / "copy"
    assert main(["convert", str(root), str(out), "--to", "mask-folder"]) == 0
    assert "wrote mask_folder" in capsys.readouterr().out
    again = open_detection(out)
    assert again.classes == ["background", "kiwi"]
    assert again[0][1]["mask"].numpy().tolist() == _kiwi_ids().astype(np.int64).tolist()


def test_convert_refuses_what_a_mask_folder_cannot_become_or_come_from(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = mask_folder(tmp_path / "seg")
    assert main(["convert", str(root), str(tmp_path / "out"), "--to", "coco"]) == 1
    error = capsys.readouterr().err
    assert "expected a source of objects, got a mask folder" in error and "--to mask-folder" in error
    assert not (tmp_path / "out").exists()
    voc = tmp_path / "voc"
    (voc / "Annotations").mkdir(parents=True)
    assert main(["convert", str(voc), str(tmp_path / "out2"), "--to", "mask-folder"]) == 1
    assert "got voc, which holds boxes only" in capsys.readouterr().err
    assert not (tmp_path / "out2").exists()


# ---------------------------------------------------------------------------------------------- keypoints, DOTA


def test_check_counts_keypoint_instances_and_names_a_keypoint_outside_its_image(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Image.new("RGB", (80, 64), (50, 50, 50)).save(tmp_path / "a.jpg")
    category = {
        "id": 1, "name": "person", "keypoints": ["nose", "left_eye", "right_eye"], "skeleton": [[1, 2], [1, 3]],
    }  # fmt: skip
    annotations = [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 30, 30], "area": 900, "iscrowd": 0,
         "keypoints": [20, 20, 2, 15, 15, 1, 0, 0, 0], "num_keypoints": 2},
        {"id": 2, "image_id": 1, "category_id": 1, "bbox": [40, 10, 30, 30], "area": 900, "iscrowd": 0,
         "keypoints": [50, 20, 2, 45, 15, 2, 55, 15, 2], "num_keypoints": 3},
        {"id": 3, "image_id": 1, "category_id": 1, "bbox": [5, 30, 20, 20], "area": 400, "iscrowd": 0,
         "keypoints": [90, 40, 2, 10, 35, 2, 0, 0, 0], "num_keypoints": 2},  # the nose beyond the 80-pixel width
    ]  # fmt: skip
    path = tmp_path / "person_keypoints_val.json"
    path.write_text(
        json.dumps(
            {
                "images": [{"id": 1, "file_name": "a.jpg", "width": 80, "height": 64}],
                "categories": [category],
                "annotations": annotations,
            }
        )
    )
    assert main(["check", str(path)]) == EXIT_PROBLEMS
    out = capsys.readouterr().out
    assert "2 boxes, 2 keypoint instances (5 labelled keypoints) in 1 class" in out
    assert "annotation 3 (image 1, a.jpg): keypoint 0 (nose)" in out and "outside the 80x64 image" in out
    assert main(["check", str(path), "--json"]) == EXIT_PROBLEMS
    report = json.loads(capsys.readouterr().out)
    assert (report["keypoint_instances"], report["keypoints"], report["oriented_boxes"]) == (2, 5, 0)
    assert report["problems"] == ["1 annotation problem"]


def test_check_counts_dota_oriented_boxes_and_names_its_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "dota"
    (root / "images").mkdir(parents=True)
    (root / "labelTxt").mkdir()
    Image.new("RGB", (100, 80), (70, 110, 70)).save(root / "images" / "P0001.png")
    (root / "labelTxt" / "P0001.txt").write_text(
        "imagesource:GoogleEarth\ngsd:0.146343590398\n"
        "10 10 40 10 40 30 10 30 small-vehicle 0\n"
        "60 20 80 40 60 60 40 40 plane 1\n"
        "10 10 140 10 140 30 10 30 plane 0\n"  # a corner outside the 100x80 image
    )
    assert main(["check", str(root)]) == EXIT_PROBLEMS
    out = capsys.readouterr().out
    assert "(DOTADataset): 1 image, 2 boxes (2 oriented) in" in out
    assert "P0001.txt:5" in out and "annotation problems (1):" in out
    assert main(["check", str(root), "--format", "dota", "--json"]) == EXIT_PROBLEMS
    report = json.loads(capsys.readouterr().out)
    assert report["oriented_boxes"] == 2 and report["boxes"] == 2


def test_convert_yolo_segments_to_a_mask_folder_counts_boxes_without_a_shape(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "yolo"
    (root / "images" / "train").mkdir(parents=True)
    (root / "labels" / "train").mkdir(parents=True)
    Image.new("RGB", (40, 30), (90, 60, 30)).save(root / "images" / "train" / "a.png")
    # Ultralytics' segment line (class x1 y1 ... normalised): a triangle (4, 3) (24, 3) (4, 18) in pixels;
    # then a detect line (class cx cy w h): a box only, which no mask can hold.
    (root / "labels" / "train" / "a.txt").write_text("1 0.1 0.1 0.6 0.1 0.1 0.6\n0 0.8 0.8 0.1 0.1\n")
    (root / "data.yaml").write_text("path: .\ntrain: images/train\nnames:\n  0: cat\n  1: dog\n")
    out = tmp_path / "out"
    assert main(["convert", str(root), str(out), "--to", "mask-folder", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["boxes"] == 1 and report["fields_left_out"] == {"box without polygon or mask": 1}
    assert report["classes"] == ["background", "cat", "dog"]
    mask = open_detection(out)[0][1]["mask"]
    assert mask[5, 6] == 2 and mask[20, 6] == 0 and mask[24, 32] == 0  # dog inside; the cat box not drawn


def test_convert_refuses_an_ignore_index_among_the_class_ids_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = coco_with_polygons(tmp_path / "coco")
    out = tmp_path / "out"
    assert main(["convert", str(source), str(out), "--to", "mask-folder", "--ignore-index", "2"]) == 1
    error = capsys.readouterr().err
    assert "ignore_index: expected an id above the 3 class ids" in error and "Traceback" not in error
    assert not out.exists()
    assert main(["convert", str(source), str(out), "--to", "coco", "--ignore-index", "7"]) == 1
    assert "--ignore-index: only --to mask-folder takes it" in capsys.readouterr().err


def test_export_writes_a_mask_folder_as_shards_with_its_masks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = mask_folder(tmp_path / "seg")
    out = tmp_path / "shards"
    assert main(["export", str(root), str(out), "--format", "mask-folder", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["count"] == 2
    from visiondata.shards import ShardDataset

    image, target = next(iter(ShardDataset(out, split="train")))
    assert tuple(image.shape[-2:]) == (HEIGHT, WIDTH)
    assert target["mask"].tolist() == _kiwi_ids().astype(np.int64).tolist()


def voc_segmentation_tree(root: Path, annotations: bool = False) -> Path:
    """``VOCdevkit/VOC2012`` as VOC ships it: JPEGImages (some without masks), SegmentationClass, ImageSets."""
    tree = root / "VOCdevkit" / "VOC2012"
    (tree / "JPEGImages").mkdir(parents=True)
    (tree / "ImageSets" / "Segmentation").mkdir(parents=True)
    for number, stem in enumerate(("2007_000032", "2007_000033", "2007_000099")):
        Image.new("RGB", (WIDTH, HEIGHT), (GREY[0] + 40 * number, 90, 90)).save(
            tree / "JPEGImages" / f"{stem}.jpg"
        )
    for stem in ("2007_000032", "2007_000033"):  # 2007_000099 is a detection image: no mask
        _palette_mask(tree / "SegmentationClass" / f"{stem}.png", _kiwi_ids())
    (tree / "ImageSets" / "Segmentation" / "train.txt").write_text("2007_000032\n")
    if annotations:
        (tree / "Annotations").mkdir()
    return root


def test_voc_segmentation_tree_reads_the_split_list_and_only_images_with_masks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = voc_segmentation_tree(tmp_path / "voc")
    assert guess_format(root) == "mask-folder"
    train = open_detection(root, split="train")
    assert [train.relative_path(i) for i in range(len(train))] == ["2007_000032.jpg"]
    assert train.classes[:2] == ["__background__", "aeroplane"] and len(train.classes) == 21
    assert train[0][1]["mask"][KIWI[1], KIWI[0]] == 1
    every = open_detection(root)  # every mask with its image; the image without a mask is no problem
    assert len(every) == 2 and every.problems == []
    from visiondata.exceptions import DatasetFormatError

    with pytest.raises(DatasetFormatError, match=r"split 'test': expected .*Segmentation/test.txt"):
        open_detection(root, split="test")
    assert main(["check", str(root), "--split", "train"]) == EXIT_CLEAN
    assert "1 image/mask pair in 21 classes" in capsys.readouterr().out
    # With Annotations/ the tree is VOC detection, unless asked for its masks.
    full = voc_segmentation_tree(tmp_path / "full", annotations=True)
    assert guess_format(full) == "voc"
    assert len(open_detection(full, "mask-folder")) == 2


def test_a_listed_name_without_image_or_mask_is_a_named_problem(tmp_path: Path) -> None:
    root = voc_segmentation_tree(tmp_path / "voc")
    tree = root / "VOCdevkit" / "VOC2012"
    (tree / "ImageSets" / "Segmentation" / "val.txt").write_text("2007_000033\n2007_009999\n2007_000099\n")
    from visiondata.exceptions import DatasetValidationError

    with pytest.raises(DatasetValidationError) as caught:
        open_detection(root, split="val")
    message = str(caught.value)
    assert "'2007_009999' is listed, but has no image and no mask" in message
    assert f"{tree / 'JPEGImages' / '2007_000099.jpg'}: image without a mask" in message
    assert len(open_detection(root, split="val", on_error="skip")) == 1
