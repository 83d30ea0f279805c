"""Edge cases of the VOC and YOLO index builders: what each reader accepts, stores and refuses.

Each test writes a tiny dataset in the exact on-disk format (VOC XML, YOLO label files, images written
with PIL) under ``tmp_path`` and reads it through the public dataset classes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from visiondata.datasets import VOCDetectionDataset, YOLODataset
from visiondata.exceptions import (
    DatasetFormatError,
    DatasetNotFoundError,
    DatasetValidationError,
    ImageReadError,
)
from visiondata.formats import to_voc

# --- VOC -----------------------------------------------------------------------------------------------


def voc_xml(
    filename: str | None = "a.jpg",
    size: tuple[str, str] | None = ("20", "10"),
    objects: str = "",
) -> str:
    """A VOC annotation: ``size`` is ``(width, height)`` as written, ``objects`` the ``<object>`` elements."""
    name = "" if filename is None else f"<filename>{filename}</filename>"
    dims = "" if size is None else f"<size><width>{size[0]}</width><height>{size[1]}</height></size>"
    return f"<annotation>{name}{dims}{objects}</annotation>"


def voc_object(
    name: str = "kiwi",
    box: tuple[str, ...] = ("1", "2", "10", "10"),
    difficult: str = "0",
    truncated: str = "0",
) -> str:
    """One ``<object>`` with its ``<bndbox>`` (xmin, ymin, xmax, ymax as written)."""
    tags = "".join(f"<{tag}>{value}</{tag}>" for tag, value in zip(("xmin", "ymin", "xmax", "ymax"), box))
    return (
        f"<object><name>{name}</name><difficult>{difficult}</difficult><truncated>{truncated}</truncated>"
        f"<bndbox>{tags}</bndbox></object>"
    )


def voc_folder(root: Path, annotations: dict[str, str], images: tuple[str, ...] = ("a.jpg",)) -> Path:
    """A plain folder of XML files (``stem -> text``) with 20x10 images beside them."""
    root.mkdir(parents=True, exist_ok=True)
    for name in images:
        Image.new("RGB", (20, 10)).save(root / name)
    for stem, text in annotations.items():
        (root / f"{stem}.xml").write_text(text)
    return root


def skipping_voc(root: Path, **kwargs: object) -> VOCDetectionDataset:
    """The VOC reader with problems recorded (``on_error="skip"``) and every XML file read."""
    kwargs.setdefault("split", None)
    return VOCDetectionDataset(root, on_error="skip", **kwargs)


def test_voc_index_holds_zero_based_corners_labels_sizes_and_flags_in_file_order(tmp_path: Path) -> None:
    """Two images' objects land in the index grouped by image, with VOC's 1-based corners shifted to 0-based."""
    root = voc_folder(
        tmp_path / "voc",
        {
            "a": voc_xml("a.jpg", ("20", "10"), voc_object("kiwi", ("1", "2", "10", "10"), "1", "0")),
            "b": voc_xml(
                "b.jpg",
                ("20", "10"),
                voc_object("fig", ("3", "4", "5", "6"), "0", "1") + voc_object("kiwi", ("2", "1", "20", "9")),
            ),
        },
        images=("a.jpg", "b.jpg"),
    )
    dataset = VOCDetectionDataset(root, split=None)
    assert dataset.classes == ["__background__", "fig", "kiwi"]
    assert list(dataset.index.paths) == ["a.jpg", "b.jpg"]
    assert dataset.index.sizes.tolist() == [[10, 20], [10, 20]]
    assert dataset.index.sizes.dtype == np.int32
    assert dataset.index.offsets.tolist() == [0, 1, 3]
    assert dataset.index.boxes.tolist() == [[0, 1, 10, 10], [2, 3, 5, 6], [1, 0, 20, 9]]
    assert dataset.index.labels.tolist() == [2, 1, 2]
    assert dataset.index.labels.dtype == np.int8
    assert dataset.index.fields["difficult"].tolist() == [1, 0, 0]
    assert dataset.index.fields["truncated"].tolist() == [0, 1, 0]
    assert dataset.index.fields["difficult"].dtype == np.int64
    assert dataset.index.fields["truncated"].dtype == np.int64
    _, target = dataset[1]
    assert target["boxes"].tolist() == [[2, 3, 5, 6], [1, 0, 20, 9]]
    assert target["labels"].tolist() == [1, 2]
    assert target["truncated"].tolist() == [1, 0]
    assert dataset.problems == []


def test_voc_without_background_labels_start_at_zero_and_an_image_without_objects_stays(
    tmp_path: Path,
) -> None:
    """``background=False`` labels the first class 0; an image with no ``<object>`` is kept, boxless."""
    root = voc_folder(
        tmp_path / "voc",
        {"a": voc_xml("a.jpg"), "b": voc_xml("b.jpg", objects=voc_object("kiwi"))},
        images=("a.jpg", "b.jpg"),
    )
    dataset = VOCDetectionDataset(root, split=None, background=False)
    assert dataset.classes == ["kiwi"]
    assert dataset.index.offsets.tolist() == [0, 0, 1]
    assert dataset.index.labels.tolist() == [0]
    assert dataset.index.boxes.shape == (1, 4)
    assert dataset.index.boxes.dtype == np.float32
    assert dataset.category_ids == [None]


def test_voc_with_no_objects_anywhere_builds_an_empty_typed_index(tmp_path: Path) -> None:
    """No objects at all: ``(0, 4)`` float32 boxes and empty int64 flags, every image kept."""
    root = voc_folder(tmp_path / "voc", {"a": voc_xml("a.jpg")})
    dataset = VOCDetectionDataset(root, split=None)
    assert dataset.classes == ["__background__"]
    assert dataset.index.boxes.shape == (0, 4)
    assert dataset.index.labels.dtype == np.int8
    assert dataset.index.fields["difficult"].dtype == np.int64
    assert dataset.index.fields["truncated"].dtype == np.int64
    assert dataset.index.sizes.tolist() == [[10, 20]]
    _, target = dataset[0]
    assert target["boxes"].shape == (0, 4)


def test_voc_keep_difficult_false_leaves_out_only_the_difficult_objects(tmp_path: Path) -> None:
    """``keep_difficult=False`` drops the objects marked difficult, keeps the rest in order."""
    objects = voc_object("kiwi", ("1", "1", "5", "5"), "1") + voc_object("fig", ("2", "2", "6", "6"), "0")
    root = voc_folder(tmp_path / "voc", {"a": voc_xml("a.jpg", objects=objects)})
    dataset = VOCDetectionDataset(root, split=None, keep_difficult=False)
    assert dataset.index.boxes.tolist() == [[1, 1, 6, 6]]
    assert dataset.index.labels.tolist() == [dataset.classes.index("fig")]
    assert dataset.index.fields["difficult"].tolist() == [0]
    assert dataset.problems == []


def test_voc_missing_image_is_a_problem_unless_files_are_not_checked(tmp_path: Path) -> None:
    """An XML whose image is missing is a problem naming the XML and the path; ``check_files=False`` keeps it."""
    root = voc_folder(tmp_path / "voc", {"a": voc_xml("gone.jpg", objects=voc_object())}, images=())
    dataset = skipping_voc(root)
    assert len(dataset) == 0
    assert dataset.problems == [f"a.xml: image file {root / 'gone.jpg'} does not exist"]
    with pytest.raises(DatasetValidationError, match="does not exist"):
        VOCDetectionDataset(root, split=None)
    unchecked = VOCDetectionDataset(root, split=None, check_files=False)
    assert list(unchecked.index.paths) == ["gone.jpg"]
    assert unchecked.index.boxes.tolist() == [[0, 1, 10, 10]]


def test_voc_image_path_outside_the_root_is_a_problem_unless_allowed(tmp_path: Path) -> None:
    """``../x.jpg`` in ``<filename>`` is refused, naming the XML; ``allow_outside_root`` accepts it."""
    Image.new("RGB", (20, 10)).save(tmp_path / "x.jpg")
    root = voc_folder(tmp_path / "voc", {"a": voc_xml("../x.jpg")}, images=())
    dataset = skipping_voc(root)
    assert len(dataset) == 0
    assert dataset.problems == [
        f"a.xml: image path '../x.jpg' is outside the root {root}; expected a path relative to the root "
        "(pass allow_outside_root=True to permit it)"
    ]
    allowed = VOCDetectionDataset(root, split=None, allow_outside_root=True)
    assert list(allowed.index.paths) == ["../x.jpg"]


def test_voc_unknown_class_and_box_beyond_the_image_are_problems_naming_the_object(tmp_path: Path) -> None:
    """Objects of unknown classes or with bad boxes are left out with problems naming file, number and class."""
    objects = (
        voc_object("kiwi", ("1", "1", "5", "5"))
        + voc_object("plum", ("1", "1", "5", "5"))
        + voc_object("kiwi", ("1", "1", "25", "5"))
        + voc_object("kiwi", ("2", "2", "18", "4"))
    )
    root = voc_folder(tmp_path / "voc", {"a": voc_xml("a.jpg", objects=objects)})
    dataset = skipping_voc(root, classes=["__background__", "kiwi"])
    # The last box is wider than the image is tall: the size is checked as width x height.
    assert dataset.index.boxes.tolist() == [[0, 0, 5, 5], [1, 1, 18, 4]]
    assert dataset.index.labels.tolist() == [1, 1]
    assert len(dataset.problems) == 2
    assert dataset.problems[0] == (
        "a.xml object 2 ('plum'): class 'plum' is not one of the classes ['__background__', 'kiwi']"
    )
    assert dataset.problems[1] == (
        "a.xml object 3 ('kiwi'): box [0.0, 0.0, 25.0, 5.0] (xyxy) is outside the 20x10 image: "
        "expected 0 <= x <= 20 and 0 <= y <= 10"
    )


def voc_tree(root: Path, ids: tuple[str, ...] = ("a",), splits: dict[str, str] | None = None) -> Path:
    """A ``VOC20xx`` folder: ``Annotations/``, ``JPEGImages/`` (20x10) and ``ImageSets/Main`` lists."""
    (root / "Annotations").mkdir(parents=True)
    (root / "JPEGImages").mkdir()
    (root / "ImageSets" / "Main").mkdir(parents=True)
    for stem in ids:
        Image.new("RGB", (20, 10)).save(root / "JPEGImages" / f"{stem}.jpg")
        (root / "Annotations" / f"{stem}.xml").write_text(voc_xml(f"{stem}.jpg", objects=voc_object()))
    for split, text in (splits or {}).items():
        (root / "ImageSets" / "Main" / f"{split}.txt").write_text(text)
    return root


def test_voc_labelmap_sets_the_class_order_skipping_comments_blanks_and_the_first_background(
    tmp_path: Path,
) -> None:
    """``labelmap.txt`` lines give the classes in order; a first ``background`` entry is the background slot."""
    root = voc_tree(tmp_path / "VOC2007", splits={"train": "a\n"})
    (root / "labelmap.txt").write_text(
        "# label:color_rgb:parts:actions\n\n  background:0,0,0::\nplum\n fig :1,2,3::\n  # a comment\nkiwi:0,0,0:x:y\n"
    )
    dataset = VOCDetectionDataset(root)
    assert dataset.classes == ["__background__", "plum", "fig", "kiwi"]
    assert dataset.labelmap_file == str(root / "labelmap.txt")
    assert dataset.index.labels.tolist() == [3]
    assert VOCDetectionDataset(root, background=False).classes == ["plum", "fig", "kiwi"]


def test_voc_labelmap_first_entry_named_like_the_background_slot_is_left_out_only_first(
    tmp_path: Path,
) -> None:
    """``__background__`` first is the slot too; ``background`` after the first entry is a class of its own."""
    root = voc_folder(tmp_path / "voc", {"a": voc_xml("a.jpg", objects=voc_object())})
    (root / "labelmap.txt").write_text("__background__\nkiwi\n")
    assert VOCDetectionDataset(root, split=None).classes == ["__background__", "kiwi"]
    (root / "labelmap.txt").write_text("kiwi\nbackground\n")
    assert VOCDetectionDataset(root, split=None).classes == ["__background__", "kiwi", "background"]


@pytest.mark.parametrize("line", ["kiwi:0,0,0:::extra", ":0,0,0::", "  :1,1,1"])
def test_voc_labelmap_line_with_too_many_fields_or_no_name_names_the_line(tmp_path: Path, line: str) -> None:
    """A labelmap line of five fields or an empty name raises DatasetFormatError naming file and line."""
    root = voc_folder(tmp_path / "voc", {"a": voc_xml("a.jpg", objects=voc_object())})
    (root / "labelmap.txt").write_text(f"# header\nfig\n{line}\n")
    with pytest.raises(
        DatasetFormatError, match=r"labelmap\.txt line 3: expected 'name:r,g,b:parts:actions'"
    ):
        VOCDetectionDataset(root, split=None)


def test_voc_labelmap_with_four_fields_is_accepted(tmp_path: Path) -> None:
    """Exactly four fields (``name:color:parts:actions``) is datumaro's line, accepted."""
    root = voc_folder(tmp_path / "voc", {"a": voc_xml("a.jpg", objects=voc_object())})
    (root / "labelmap.txt").write_text("kiwi:1,2,3:parts:actions\n")
    assert VOCDetectionDataset(root, split=None).classes == ["__background__", "kiwi"]


def test_voc_labelmap_that_is_a_folder_is_a_format_error(tmp_path: Path) -> None:
    """A ``labelmap.txt`` that is not a regular file raises DatasetFormatError instead of being ignored."""
    root = voc_folder(tmp_path / "voc", {"a": voc_xml("a.jpg", objects=voc_object())})
    (root / "labelmap.txt").mkdir()
    with pytest.raises(
        DatasetFormatError, match=r"labelmap\.txt: VOC labelmap\.txt: expected a regular file"
    ):
        VOCDetectionDataset(root, split=None)


def test_voc_without_labelmap_uses_the_voc_order_for_voc_classes_and_sorted_names_otherwise(
    tmp_path: Path,
) -> None:
    """Only VOC's own classes found: its 20 classes in order; any other name: the names found, sorted."""
    root = voc_folder(
        tmp_path / "voc", {"a": voc_xml("a.jpg", objects=voc_object("dog") + voc_object("cat"))}
    )
    dataset = VOCDetectionDataset(root, split=None)
    assert len(dataset.classes) == 21
    assert dataset.classes[8] == "cat" and dataset.classes[12] == "dog"
    assert dataset.labelmap_file is None
    (root / "a.xml").write_text(voc_xml("a.jpg", objects=voc_object("dog") + voc_object("kiwi")))
    assert VOCDetectionDataset(root, split=None).classes == ["__background__", "dog", "kiwi"]


def test_voc_root_that_is_a_file_or_missing_is_not_found(tmp_path: Path) -> None:
    """A root that is a file, or nothing, raises DatasetNotFoundError saying which."""
    (tmp_path / "file").write_text("x")
    with pytest.raises(DatasetNotFoundError, match="expected a VOC folder, found a file"):
        VOCDetectionDataset(tmp_path / "file")
    with pytest.raises(DatasetNotFoundError, match="expected a VOC folder, found nothing"):
        VOCDetectionDataset(tmp_path / "missing")


def test_voc_devkit_year_is_picked_by_number_string_or_folder_name(tmp_path: Path) -> None:
    """A VOCdevkit of two years needs ``year=``, given as 2007, "2007" or "VOC2007"; an absent year is named."""
    devkit = tmp_path / "VOCdevkit"
    voc_tree(devkit / "VOC2007", ids=("a",), splits={"train": "a\n"})
    voc_tree(devkit / "VOC2012", ids=("b", "c"), splits={"train": "b\nc\n"})
    (devkit / "VOC2010").mkdir()  # no Annotations/: not a year
    for root in (tmp_path, devkit):
        with pytest.raises(DatasetNotFoundError, match="holds VOC2007, VOC2012; pick one with year="):
            VOCDetectionDataset(root)
        assert len(VOCDetectionDataset(root, year=2007)) == 1
        assert len(VOCDetectionDataset(root, year="2012")) == 2
        assert len(VOCDetectionDataset(root, year="VOC2012")) == 2
        with pytest.raises(DatasetNotFoundError, match="no VOC2010 folder; found VOC2007, VOC2012"):
            VOCDetectionDataset(root, year=2010)
    dataset = VOCDetectionDataset(tmp_path, year=2012)
    assert dataset.annotations_dir == str(devkit / "VOC2012" / "Annotations")
    assert dataset.root == str(devkit / "VOC2012" / "JPEGImages")


def test_voc_devkit_of_one_year_needs_no_year(tmp_path: Path) -> None:
    """With one ``VOC20xx`` folder, it is read without ``year=``; split None reads every annotation file."""
    voc_tree(tmp_path / "VOCdevkit" / "VOC2007", ids=("a", "b"), splits={"train": "b\n"})
    assert list(VOCDetectionDataset(tmp_path).index.paths) == ["b.jpg"]
    assert list(VOCDetectionDataset(tmp_path, split=None).index.paths) == ["a.jpg", "b.jpg"]
    with pytest.raises(DatasetNotFoundError, match="no VOC2012 folder; found VOC2007"):
        VOCDetectionDataset(tmp_path, year=2012)


def test_voc_missing_split_list_names_the_splits_found(tmp_path: Path) -> None:
    """An absent split list raises DatasetNotFoundError listing the lists there (class lists like a_train left out)."""
    root = voc_tree(tmp_path / "VOC2007", splits={"val": "a\n", "train": "a\n", "cat_train": "a 1\n"})
    with pytest.raises(
        DatasetNotFoundError, match=r"no such split list; splits found: train, val \(split=None"
    ):
        VOCDetectionDataset(root, split="test")
    bare = voc_tree(tmp_path / "VOC2012")
    with pytest.raises(DatasetNotFoundError, match="splits found: none"):
        VOCDetectionDataset(bare, split="train")


def test_voc_plain_folder_split_list_and_refusals(tmp_path: Path) -> None:
    """A plain folder reads ``<split>.txt`` beside its XML files; without XML or the list it is not found."""
    root = voc_folder(
        tmp_path / "voc",
        {"a": voc_xml("a.jpg", objects=voc_object()), "b": voc_xml("b.jpg")},
        images=("a.jpg", "b.jpg"),
    )
    (root / "val.txt").write_text("b\n")
    dataset = VOCDetectionDataset(root, split="val")
    assert list(dataset.index.paths) == ["b.jpg"]
    assert dataset.annotations_dir == str(root)
    assert dataset.root == str(root)
    with pytest.raises(
        DatasetNotFoundError, match=r"a folder of XML files has no 'train' list \(train\.txt\)"
    ):
        VOCDetectionDataset(root, split="train")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetNotFoundError, match="or XML files, found none"):
        VOCDetectionDataset(tmp_path / "empty", split=None)


def test_voc_split_list_takes_first_words_skips_blanks_and_refuses_ids_leaving_the_folder(
    tmp_path: Path,
) -> None:
    """Split-list ids are each line's first word; ``..``, ``../x`` and absolute ids are problems naming the line."""
    root = voc_tree(tmp_path / "VOC2007", ids=("a", "b"))
    (root / "ImageSets" / "Main" / "train.txt").write_text(
        "b 1\n\n   \n..\n../secret\n/etc/passwd\na\x00b\na -1\n"
    )
    listing = root / "ImageSets" / "Main" / "train.txt"
    dataset = VOCDetectionDataset(root, on_error="skip")
    assert list(dataset.index.paths) == ["b.jpg", "a.jpg"]
    assert dataset.problems == [
        f"{listing} line {number}: id {name!r} names a file outside {root / 'Annotations'}: expected an image "
        "id (a file name without its extension) inside that folder"
        for number, name in ((4, ".."), (5, "../secret"), (6, "/etc/passwd"), (7, "a\x00b"))
    ]


def test_voc_split_list_id_without_an_annotation_file_is_a_problem(tmp_path: Path) -> None:
    """An id whose XML file does not exist is a problem naming the file; the others are read."""
    root = voc_tree(tmp_path / "VOC2007", ids=("a",), splits={"train": "a\nghost\n"})
    dataset = VOCDetectionDataset(root, on_error="skip")
    assert list(dataset.index.paths) == ["a.jpg"]
    assert dataset.problems == [
        f"{root / 'Annotations' / 'ghost.xml'}: annotation file listed in the split does not exist"
    ]


def test_voc_split_list_that_is_a_folder_is_a_format_error(tmp_path: Path) -> None:
    """A split list that is not a regular file raises DatasetFormatError."""
    root = voc_tree(tmp_path / "VOC2007")
    (root / "ImageSets" / "Main" / "train.txt").mkdir()
    with pytest.raises(DatasetFormatError, match=r"train\.txt: VOC split list: expected a regular file"):
        VOCDetectionDataset(root)


@pytest.mark.parametrize(("count", "dtype"), [(128, np.int8), (129, np.int16)])
def test_voc_labels_take_the_smallest_integer_type_holding_every_label(
    tmp_path: Path, count: int, dtype: type
) -> None:
    """Labels 0..127 fit int8; one class more needs int16."""
    root = voc_folder(tmp_path / "voc", {"a": voc_xml("a.jpg", objects=voc_object("c1"))})
    dataset = VOCDetectionDataset(root, split=None, classes=[f"c{number}" for number in range(count)])
    assert dataset.index.labels.dtype == dtype
    assert dataset.index.labels.tolist() == [1]


def test_voc_xml_without_filename_or_size_uses_the_stem_and_unknown_size(tmp_path: Path) -> None:
    """No ``<filename>``: ``<stem>.jpg``; a padded one is stripped; no ``<size>``: 0x0 and any box extent."""
    root = voc_folder(
        tmp_path / "voc",
        {
            "a": voc_xml(None, None, voc_object("kiwi", ("1", "1", "500", "400"))),
            "b": voc_xml("  b.jpg \n", (" 20 ", "10.0")),
        },
        images=("a.jpg", "b.jpg"),
    )
    dataset = VOCDetectionDataset(root, split=None)
    assert list(dataset.index.paths) == ["a.jpg", "b.jpg"]
    assert dataset.index.sizes.tolist() == [[0, 0], [10, 20]]
    assert dataset.index.boxes.tolist() == [[0, 0, 500, 400]]


@pytest.mark.parametrize(
    ("size", "message"),
    [
        (("20", "ten"), "a.xml: <size/height>: expected a whole number, got 'ten'"),
        (("wide", "10"), "a.xml: <size/width>: expected a whole number, got 'wide'"),
        (("20", "nan"), "a.xml: <size/height>: expected a whole number, got 'nan'"),
        (("20", "inf"), "a.xml: <size/height>: expected a whole number, got 'inf'"),
        (("20", "-inf"), "a.xml: <size/height>: expected a whole number, got '-inf'"),
        (("20", "1e400"), "a.xml: <size/height>: expected a whole number, got '1e400'"),
        (("20", " -1 "), "a.xml: <size/height>: expected a whole number from 0 to 2147483647, got '-1'"),
        (
            ("2147483648", "10"),
            "a.xml: <size/width>: expected a whole number from 0 to 2147483647, got '2147483648'",
        ),
        (("20", "x" * 50), f"a.xml: <size/height>: expected a whole number, got '{'x' * 40}'"),
    ],
)
def test_voc_size_that_is_not_a_whole_number_in_range_is_a_problem_leaving_the_file_out(
    tmp_path: Path, size: tuple[str, str], message: str
) -> None:
    """A bad ``<size>`` leaves the whole file out with a problem naming the field and the text (cut at 40)."""
    root = voc_folder(tmp_path / "voc", {"a": voc_xml("a.jpg", size, voc_object())})
    dataset = skipping_voc(root)
    assert len(dataset) == 0
    assert dataset.problems == [f"{message} (the image's size in pixels, or 0 when unknown)"]


def test_voc_largest_size_is_accepted(tmp_path: Path) -> None:
    """2**31 - 1 pixels is the largest size accepted, 0 the smallest."""
    root = voc_folder(tmp_path / "voc", {"a": voc_xml("a.jpg", ("2147483647", "0"))})
    assert VOCDetectionDataset(root, split=None).index.sizes.tolist() == [[0, 2147483647]]


@pytest.mark.parametrize(
    ("difficult", "truncated", "problem"),
    [
        ("2", "0", "<difficult>: expected a whole number from 0 to 1, got '2'"),
        ("-1", "0", "<difficult>: expected a whole number from 0 to 1, got '-1'"),
        ("0", "yes", "<truncated>: expected a whole number, got 'yes'"),
        ("0", "3", "<truncated>: expected a whole number from 0 to 1, got '3'"),
    ],
)
def test_voc_flag_out_of_range_leaves_its_object_out_with_a_problem(
    tmp_path: Path, difficult: str, truncated: str, problem: str
) -> None:
    """``difficult``/``truncated`` must be 0 or 1: another value leaves that object out, naming it."""
    objects = voc_object("kiwi", ("1", "1", "5", "5"), difficult, truncated) + voc_object("fig")
    root = voc_folder(tmp_path / "voc", {"a": voc_xml("a.jpg", objects=objects)})
    dataset = skipping_voc(root)
    assert dataset.index.boxes.tolist() == [[0, 1, 10, 10]]
    assert dataset.problems == [f"a.xml object 1 ('kiwi'): {problem}"]


def test_voc_flags_written_as_floats_blank_or_missing_read_as_whole_numbers(tmp_path: Path) -> None:
    """``1.0`` is 1, an empty or absent flag is 0."""
    objects = (
        voc_object("kiwi", ("1", "1", "5", "5"), "1.0", " 1 ")
        + voc_object("kiwi", ("1", "1", "5", "5"), "", "  ")
        + "<object><name>kiwi</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object>"
    )
    root = voc_folder(tmp_path / "voc", {"a": voc_xml("a.jpg", objects=objects)})
    dataset = VOCDetectionDataset(root, split=None)
    assert dataset.index.fields["difficult"].tolist() == [1, 0, 0]
    assert dataset.index.fields["truncated"].tolist() == [1, 0, 0]


def test_voc_object_without_bndbox_or_with_bad_coordinates_is_a_problem(tmp_path: Path) -> None:
    """No ``<bndbox>``, a word for a coordinate, or a missing one: problems naming the object; the rest is read."""
    objects = (
        "<object><name> kiwi </name></object>"
        + voc_object("fig", ("1", "one", "5", "5"))
        + voc_object("fig", ("1", "1", "5"))
        + voc_object("fig", ("2", "3", "6", "7"))
    )
    root = voc_folder(tmp_path / "voc", {"a": voc_xml("a.jpg", objects=objects)})
    dataset = skipping_voc(root, classes=["__background__", "kiwi", "fig"])
    assert dataset.index.boxes.tolist() == [[1, 2, 6, 7]]
    assert dataset.problems[:2] == [
        "a.xml object 1 ('kiwi'): expected <bndbox> with numeric xmin, ymin, xmax, ymax (no <bndbox>)",
        "a.xml object 2 ('fig'): expected <bndbox> with numeric xmin, ymin, xmax, ymax "
        "(could not convert string to float: 'one')",
    ]
    # A missing coordinate reads as NaN, which the box check refuses (the object's number: see below).
    assert dataset.problems[2].endswith("('fig'): box [0.0, 0.0, 5.0, nan] (xyxy): expected finite numbers")
    assert len(dataset.problems) == 3


def test_voc_box_problem_names_the_objects_place_in_the_file(tmp_path: Path) -> None:
    """A box problem after an object left out by the XML reading still names the object's place in the file."""
    objects = "<object><name>kiwi</name></object>" + voc_object("fig", ("1", "1", "30", "5"))
    root = voc_folder(tmp_path / "voc", {"a": voc_xml("a.jpg", objects=objects)})
    dataset = skipping_voc(root, classes=["__background__", "kiwi", "fig"])
    assert dataset.problems[1].startswith("a.xml object 2 ('fig'): box [0.0, 0.0, 30.0, 5.0]")


def test_voc_unreadable_annotation_files_are_problems_naming_them(tmp_path: Path) -> None:
    """Malformed XML, an unknown encoding and a folder named ``*.xml`` are problems; good files are read."""
    root = voc_folder(
        tmp_path / "voc",
        {
            "a": voc_xml("a.jpg", objects=voc_object()),
            "b": "<annotation><filename>",
            "c": '<?xml version="1.0" encoding="no-such-codec"?><annotation/>',
        },
    )
    (root / "d.xml").mkdir()
    dataset = skipping_voc(root)
    assert list(dataset.index.paths) == ["a.jpg"]
    assert len(dataset.problems) == 3
    assert dataset.problems[0].startswith("b.xml: not valid XML: ")
    assert dataset.problems[1] == "c.xml: not valid XML: LookupError: unknown encoding: no-such-codec"
    assert dataset.problems[2].startswith(f"{root / 'd.xml'}: VOC annotation: expected a regular file")


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "an empty name or surrounding spaces (the reader strips them)"),
        (" fig", "an empty name or surrounding spaces (the reader strips them)"),
        ("fig\u00a0", "an empty name or surrounding spaces (the reader strips them)"),
        ("f\x01g", "the character U+0001, which XML 1.0 cannot hold"),
        ("f\x7fg", "the character U+007F, which XML 1.0 cannot hold"),
        ("f\ud800g", "the character U+D800, which XML 1.0 cannot hold"),
        ("f\ufffeg", "the character U+FFFE, which XML 1.0 cannot hold"),
        ("f\uffffg", "the character U+FFFF, which XML 1.0 cannot hold"),
    ],
)
def test_to_voc_refuses_class_names_xml_cannot_hold_as_they_are(
    tmp_path: Path, name: str, problem: str
) -> None:
    """A class name VOC XML would not read back the same is refused before writing, naming the character."""
    root = voc_folder(tmp_path / "voc", {"a": voc_xml("a.jpg", objects=voc_object())})
    dataset = VOCDetectionDataset(root, split=None, classes=["__background__", "kiwi", name])
    with pytest.raises(DatasetFormatError) as raised:
        to_voc(dataset, tmp_path / "out")
    assert f"class {name!r} (label 2): expected a name VOC XML can hold as it is, got {problem};" in str(
        raised.value
    )
    assert not (tmp_path / "out").exists()


def test_to_voc_writes_class_names_xml_holds_and_reads_them_back(tmp_path: Path) -> None:
    """Names with inner spaces, accents and characters beyond the BMP are written and read back the same."""
    names = ["__background__", "kiwi", "red fig", "caf\u00e9", "\U0001f95d"]
    root = voc_folder(tmp_path / "voc", {"a": voc_xml("a.jpg", objects=voc_object())})
    to_voc(VOCDetectionDataset(root, split=None, classes=names), tmp_path / "out")
    assert VOCDetectionDataset(tmp_path / "out").classes == names


# --- YOLO ----------------------------------------------------------------------------------------------


def yolo_folder(root: Path, labels: dict[str, str], size: tuple[int, int] = (20, 10)) -> Path:
    """``root/images/<stem>.png`` (``size`` is width x height) with ``root/labels/<stem>.txt`` holding ``labels``.

    Returns the images folder.
    """
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    for stem, text in labels.items():
        Image.new("RGB", size).save(root / "images" / f"{stem}.png")
        if text is not None:
            (root / "labels" / f"{stem}.txt").write_text(text)
    return root / "images"


def rows(dataset: YOLODataset) -> list[list[float]]:
    """The index's normalised boxes, rounded to 6 places (float32 storage)."""
    return np.round(dataset.index.boxes.astype(np.float64), 6).tolist()


def test_yolo_boxes_and_polygons_become_normalised_corners_labelled_after_the_background(
    tmp_path: Path,
) -> None:
    """Box lines give their corners, polygon lines their extent; class c has label c + 1, grouped by image."""
    images = yolo_folder(
        tmp_path,
        {
            "a": "1 0.5 0.5 0.5 0.4\n\n0 0.1 0.2 0.3 0.2 0.2 0.6\n",
            "b": "0 0.25 0.25 0.5 0.5\n",
            "c": "",
        },
    )
    dataset = YOLODataset(images, classes=["cat", "dog"])
    assert dataset.classes == ["__background__", "cat", "dog"]
    assert dataset.category_ids == [None, 0, 1]
    assert dataset.label_to_category_id == {1: 0, 2: 1}
    assert list(dataset.index.paths) == ["a.png", "b.png", "c.png"]
    assert dataset.index.offsets.tolist() == [0, 2, 3, 3]
    assert rows(dataset) == [[0.25, 0.3, 0.75, 0.7], [0.1, 0.2, 0.3, 0.6], [0.0, 0.0, 0.5, 0.5]]
    assert dataset.index.labels.tolist() == [2, 1, 1]
    assert dataset.index.labels.dtype == np.int8
    assert dataset.index.normalized
    assert dataset.index.sizes.tolist() == [[0, 0]] * 3
    assert dataset.index.corners is None and dataset.index.keypoints is None
    assert dataset.task == "detect" and dataset.layout == "ultralytics" and dataset.obj_data is None
    assert dataset.kpt_shape is None and dataset.flip_pairs is None and dataset.skeleton is None
    polygons = dataset.polygons(0)
    assert polygons[0] is None
    np.testing.assert_allclose(polygons[1], [[2, 2], [6, 2], [4, 6]], atol=1e-5)
    _, target = dataset[0]
    np.testing.assert_allclose(target["boxes"].numpy(), [[5, 3, 15, 7], [2, 2, 6, 6]], atol=1e-4)
    assert target["labels"].tolist() == [2, 1]
    assert dataset.problems == []


def test_yolo_without_background_labels_are_the_class_ids(tmp_path: Path) -> None:
    """``background=False``: labels are YOLO's ids and every label maps to its id."""
    images = yolo_folder(tmp_path, {"a": "1 0.5 0.5 0.5 0.4\n0 0.5 0.5 0.2 0.2\n"})
    dataset = YOLODataset(images, classes=["cat", "dog"], background=False)
    assert dataset.classes == ["cat", "dog"]
    assert dataset.category_ids == [0, 1]
    assert dataset.index.labels.tolist() == [1, 0]


def test_yolo_without_names_classes_are_the_ids_up_to_the_largest_found(tmp_path: Path) -> None:
    """No names: classes ``"0"``..the largest id; none found: only the background."""
    images = yolo_folder(tmp_path / "a", {"a": "3 0.5 0.5 0.5 0.4\n1.0 0.5 0.5 0.2 0.2\n"})
    dataset = YOLODataset(images)
    assert dataset.classes == ["__background__", "0", "1", "2", "3"]
    assert dataset.category_ids == [None, 0, 1, 2, 3]
    assert dataset.index.labels.tolist() == [4, 2]
    empty = YOLODataset(yolo_folder(tmp_path / "b", {"a": ""}))
    assert empty.classes == ["__background__"]
    assert empty.index.boxes.shape == (0, 4)
    assert empty.index.labels.dtype == np.int8


@pytest.mark.parametrize(("count", "dtype"), [(127, np.int8), (128, np.int16)])
def test_yolo_labels_take_the_smallest_integer_type_holding_every_label(
    tmp_path: Path, count: int, dtype: type
) -> None:
    """With the background, 127 names give labels up to 127 (int8); 128 names need int16."""
    images = yolo_folder(tmp_path, {"a": "0 0.5 0.5 0.5 0.4\n"})
    dataset = YOLODataset(images, classes=[f"c{number}" for number in range(count)])
    assert dataset.index.labels.dtype == dtype
    assert dataset.index.labels.tolist() == [1]


def test_yolo_class_ids_beyond_the_names_or_the_limit_are_problems(tmp_path: Path) -> None:
    """An id without a name, or at ``max_classes`` without names, is a problem naming file, line and limit."""
    images = yolo_folder(tmp_path, {"a": "0 0.5 0.5 0.5 0.4\n2 0.5 0.5 0.5 0.4\n"})
    label = tmp_path / "labels" / "a.txt"
    named = YOLODataset(images, classes=["cat", "dog"], on_error="skip")
    assert named.problems == [f"{label}:2: class 2 is out of range: 2 names, ids 0..1"]
    assert named.index.labels.tolist() == [1]
    limited = YOLODataset(images, max_classes=2, on_error="skip")
    assert limited.problems == [
        f"{label}:2: class 2 is beyond the limit of 2 classes without names: expected an id below 2; give the "
        "class names (classes= or the data.yaml's names) or raise max_classes="
    ]
    assert limited.classes == ["__background__", "0"]
    assert YOLODataset(images, max_classes=3).classes == ["__background__", "0", "1", "2"]


def test_yolo_class_ids_must_be_plain_digits_and_long_ones_are_shortened(tmp_path: Path) -> None:
    """``1e3``, ``-1`` and ``nan`` are refused as ids; a 13-digit id is beyond any limit; 41+ digits are cut."""
    long_id = "9" * 41
    images = yolo_folder(
        tmp_path,
        {
            "a": f"1e3 0.5 0.5 0.2 0.2\n-1 0.5 0.5 0.2 0.2\n1234567890123 0.5 0.5 0.2 0.2\n{long_id} 0.5 0.5 0.2 0.2\n"
        },
    )
    label = tmp_path / "labels" / "a.txt"
    dataset = YOLODataset(images, classes=["cat"], on_error="skip")
    assert dataset.problems == [
        f"{label}:1: class '1e3': expected an integer id >= 0 (digits only, as in '3'), got '1e3 0.5 0.5 0.2 0.2'",
        f"{label}:2: class '-1': expected an integer id >= 0 (digits only, as in '3'), got '-1 0.5 0.5 0.2 0.2'",
        f"{label}:3: class 1234567890123 is out of range: 1 names, ids 0..0",
        f"{label}:4: class {'9' * 20}...(41 digits) is out of range: 1 names, ids 0..0",
    ]


def test_yolo_twelve_digit_ids_are_compared_with_the_limit(tmp_path: Path) -> None:
    """An id of 12 digits is still a number (compared with the limit); 40 digits are shown whole."""
    forty = "1" * 40
    images = yolo_folder(tmp_path, {"a": f"000000000000 0.5 0.5 0.2 0.2\n{forty} 0.5 0.5 0.2 0.2\n"})
    dataset = YOLODataset(images, classes=["cat"], on_error="skip")
    assert dataset.index.labels.tolist() == [1]
    assert dataset.problems == [
        f"{tmp_path / 'labels' / 'a.txt'}:2: class {forty} is out of range: 1 names, ids 0..0"
    ]


def test_yolo_lines_of_the_wrong_length_or_values_are_problems_naming_file_and_line(tmp_path: Path) -> None:
    """Too few values, an odd polygon, two points, words and non-finite numbers: each line's own problem."""
    images = yolo_folder(
        tmp_path,
        {
            "a": "0 0.5 0.5 0.5\n"
            "0 0.1 0.1 0.5 0.1 0.5\n"
            "0 0.1 0.1\n"
            "0 0.5 0.5 wide 0.4\n"
            "0 0.5 0.5 inf 0.4\n"
            "0 0.1 0.1 0.5 nan 0.5 0.5\n"
            "0 0.1 0.1 0.5 0.1 x 0.5\n"
            "0 0.5 0.5 0.5 0.4\n"
        },
    )
    label = tmp_path / "labels" / "a.txt"
    expected = (
        "expected 5 values 'class cx cy w h' (a box) or 'class x1 y1 ... xn yn' (a polygon of n >= 3 points)"
    )
    dataset = YOLODataset(images, classes=["cat"], on_error="skip")
    assert rows(dataset) == [[0.25, 0.3, 0.75, 0.7]]
    assert dataset.problems == [
        f"{label}:1: {expected}, got 4 values (3 coordinates: a polygon needs x y pairs): '0 0.5 0.5 0.5'",
        f"{label}:2: {expected}, got 6 values (5 coordinates: a polygon needs x y pairs): '0 0.1 0.1 0.5 0.1 0.5'",
        f"{label}:3: {expected}, got 3 values (a polygon of 1 points needs at least 3): '0 0.1 0.1'",
        f"{label}:4: expected numbers 'class cx cy w h', got '0 0.5 0.5 wide 0.4'",
        f"{label}:5: expected finite numbers 'class cx cy w h', got '0 0.5 0.5 inf 0.4'",
        f"{label}:6: expected finite numbers 'class x1 y1 ... xn yn', got '0 0.1 0.1 0.5 nan 0.5 0.5'",
        f"{label}:7: expected numbers 'class x1 y1 ... xn yn', got '0 0.1 0.1 0.5 0.1 x 0.5'",
    ]


def test_yolo_boxes_without_area_or_beyond_the_border_are_problems_and_noise_is_snapped(
    tmp_path: Path,
) -> None:
    """A box of no width or height (also once float32), or beyond [0, 1] by more than 0.001, is a problem;
    within 0.001 it is clipped onto the border."""
    images = yolo_folder(
        tmp_path,
        {
            "a": "0 0.5 0.5 0 0.4\n"
            "0 0.5 0.5 0.4 -0.1\n"
            "0 0.5 0.5 1e-9 0.4\n"
            "0 0.5 0.5 0.4 1e-9\n"
            "0 0.1 0.5 0.21002 0.4\n"
            "0 0.5 0.9 0.4 0.21\n"
            "0 0.1 0.5 0.2018 0.4\n"
            "0 0.5 0.9 0.4 0.2018\n"
        },
    )
    label = tmp_path / "labels" / "a.txt"
    dataset = YOLODataset(images, classes=["cat"], on_error="skip")
    assert rows(dataset) == [[0.0, 0.3, 0.2009, 0.7], [0.3, 0.7991, 0.7, 1.0]]
    area = "has no area: expected w > 0 and h > 0 (also once stored as float32)"
    outside = "(xyxy): expected coordinates in [0, 1], normalised by the image size"
    assert dataset.problems == [
        f"{label}:1: box ['0.5', '0.5', '0', '0.4'] {area}",
        f"{label}:2: box ['0.5', '0.5', '0.4', '-0.1'] {area}",
        f"{label}:3: box ['0.5', '0.5', '1e-9', '0.4'] {area}",
        f"{label}:4: box ['0.5', '0.5', '0.4', '1e-9'] {area}",
        f"{label}:5: box ['0.1', '0.5', '0.21002', '0.4'] reaches [-0.005, 0.3, 0.205, 0.7] {outside}",
        f"{label}:6: box ['0.5', '0.9', '0.4', '0.21'] reaches [0.3, 0.795, 0.7, 1.005] {outside}",
    ]


def test_yolo_box_exactly_on_the_border_is_kept(tmp_path: Path) -> None:
    """A box covering the whole image (corners exactly 0 and 1) is read as it is."""
    images = yolo_folder(tmp_path, {"a": "0 0.5 0.5 1 1\n"})
    assert rows(YOLODataset(images, classes=["cat"])) == [[0.0, 0.0, 1.0, 1.0]]


def test_yolo_polygons_beyond_the_border_or_on_one_line_are_problems_and_noise_is_snapped(
    tmp_path: Path,
) -> None:
    """A polygon beyond [0, 1] by more than 0.001 or without area is a problem; within 0.001 its points are
    clipped onto the border (its extent too)."""
    images = yolo_folder(
        tmp_path,
        {
            "a": "0 0.1 0.1 0.5 0.1 -0.002 0.5\n"
            "0 0.1 0.1 0.5 0.1 0.3 1.00213\n"
            "0 0.2 0.2 0.2 0.8 0.2 0.5\n"
            "0 0.1 0.6 0.5 0.6 0.3 0.6\n"
            "0 -0.0005 0.1 0.5 0.1 1.0008 0.5\n"
        },
    )
    label = tmp_path / "labels" / "a.txt"
    dataset = YOLODataset(images, classes=["cat"], on_error="skip")
    expected = "expected coordinates in [0, 1], normalised by the image size"
    assert dataset.problems == [
        f"{label}:1: polygon of 3 points reaches -0.002: {expected}",
        f"{label}:2: polygon of 3 points reaches 1.0021: {expected}",
        f"{label}:3: polygon of 3 points spans [0.2, 0.2, 0.2, 0.8] (xyxy): expected an extent with area "
        "(the points lie on one line)",
        f"{label}:4: polygon of 3 points spans [0.1, 0.6, 0.5, 0.6] (xyxy): expected an extent with area "
        "(the points lie on one line)",
    ]
    assert rows(dataset) == [[0.0, 0.1, 1.0, 0.5]]
    points = dataset.polygons(0)[0]
    np.testing.assert_allclose(points, [[0, 1], [10, 1], [20, 5]], atol=1e-5)


def test_yolo_guesses_oriented_boxes_only_when_every_line_has_eight_coordinates_and_one_is_rotated(
    tmp_path: Path,
) -> None:
    """``task=None``: all 9-value lines with one rotated quadrilateral is OBB; rectangles only, a box line among
    them, or ``masks=True`` stay segments."""
    rectangle = "0 0.1 0.1 0.5 0.1 0.5 0.5 0.1 0.5\n"
    rotated = "0 0.5 0.1 0.9 0.5 0.5 0.9 0.1 0.5\n"
    oriented = YOLODataset(yolo_folder(tmp_path / "a", {"a": rectangle, "b": rotated}), classes=["cat"])
    assert oriented.task == "obb"
    assert oriented.index.corners.dtype == np.float32
    np.testing.assert_allclose(
        oriented.index.corners,
        [[0.1, 0.1, 0.5, 0.1, 0.5, 0.5, 0.1, 0.5], [0.5, 0.1, 0.9, 0.5, 0.5, 0.9, 0.1, 0.5]],
    )
    assert rows(oriented) == [[0.1, 0.1, 0.5, 0.5], [0.1, 0.1, 0.9, 0.9]]
    assert oriented.polygons(0) == [None]
    np.testing.assert_allclose(oriented.oriented_boxes(1), [[10, 1, 18, 5, 10, 9, 2, 5]], atol=1e-4)
    assert YOLODataset(yolo_folder(tmp_path / "b", {"a": rectangle}), classes=["cat"]).task == "detect"
    mixed = yolo_folder(tmp_path / "c", {"a": rotated + "0 0.5 0.5 0.2 0.2\n"})
    assert YOLODataset(mixed, classes=["cat"]).task == "detect"
    masked = YOLODataset(yolo_folder(tmp_path / "d", {"a": rotated}), classes=["cat"], masks=True)
    assert masked.task == "detect"
    assert masked.index.corners is None


def test_yolo_guessing_oriented_boxes_rereads_the_files_without_the_polygon_problems(tmp_path: Path) -> None:
    """A file guessed as OBB is read again as OBB: problems found reading it as polygons do not remain."""
    # Far outside: a problem either way, reported once, by the OBB check.
    images = yolo_folder(
        tmp_path,
        {"a": "0 0.5 0.1 0.9 0.5 0.5 0.9 0.1 0.5\n0 0.5 0.1 0.9 0.5 0.5 1.9 0.1 0.5\n"},
    )
    dataset = YOLODataset(images, classes=["cat"], on_error="skip")
    assert dataset.task == "obb"
    assert len(dataset.problems) == 1
    assert dataset.problems[0].startswith(f"{tmp_path / 'labels' / 'a.txt'}:2: oriented box [0.5, 0.1, 0.9")
    assert "reaches outside the image" in dataset.problems[0]
    assert len(dataset.index.corners) == 1


def test_yolo_oriented_box_problems_say_outside_twisted_or_flat_and_noise_is_snapped(tmp_path: Path) -> None:
    """``task="obb"``: a corner beyond the image, crossing sides and no area are problems naming the line; a
    corner within 0.001 of the border is clipped onto it; a line of another length is named."""
    images = yolo_folder(
        tmp_path,
        {
            "a": "0 0.1 0.1 0.5 0.1 0.5 0.5 0.1 1.50004\n"
            "0 0.1 0.1 0.5 0.5 0.5 0.1 0.1 0.5\n"
            "0 0.1 0.1 0.5 0.1 0.9 0.1 0.3 0.1\n"
            "0 0.5 0.5 0.2 0.2\n"
            "0 -0.0005 0.1 0.5 0.1 0.5 1.0005 -0.0005 1.0005\n"
        },
    )
    label = tmp_path / "labels" / "a.txt"
    dataset = YOLODataset(images, classes=["cat"], task="obb", on_error="skip")
    assert dataset.problems == [
        f"{label}:1: oriented box [0.1, 0.1, 0.5, 0.1, 0.5, 0.5, 0.1, 1.5] reaches outside the image: expected "
        "corners in [0, 1], normalised by the image size",
        f"{label}:2: oriented box [0.1, 0.1, 0.5, 0.5, 0.5, 0.1, 0.1, 0.5] is twisted: expected its corners in "
        "order round the box (its sides cross)",
        f"{label}:3: oriented box [0.1, 0.1, 0.5, 0.1, 0.9, 0.1, 0.3, 0.1] has no area: expected four corners "
        "enclosing an area",
        f"{label}:4: expected 9 values 'class x1 y1 x2 y2 x3 y3 x4 y4' (an oriented box), got 5: "
        "'0 0.5 0.5 0.2 0.2'",
    ]
    np.testing.assert_allclose(dataset.index.corners, [[0, 0.1, 0.5, 0.1, 0.5, 1, 0, 1]])
    assert rows(dataset) == [[0.0, 0.1, 0.5, 1.0]]


def test_yolo_pose_lines_give_keypoints_with_visibility_and_problems_in_line_order(tmp_path: Path) -> None:
    """``kpt_shape=[2, 3]``: keypoints in pixels with their visibility; a wrong length, a bad visibility and a
    point outside are problems listed in line order, mixed with the other lines' problems."""
    images = yolo_folder(
        tmp_path,
        {
            "a": "0 0.5 0.5 0.5 0.4 0.25 0.5 2 0.75 0.5 1\n"
            "0 0.5 0.5 0.5 0.4 0.25 0.5 2 0.75 0.5 3\n"
            "0 0.5 0.5 0.5 0.4 0.25\n"
            "0 0.5 0.5 0.5 0.4 1.5 0.5 2 0.75 0.5 1\n"
            "0 0.5 0.5 0 0.4 0.25 0.5 2 0.75 0.5 1\n"
            "0 0.5 0.5 0.5 0.4 1.0005 0.5 2 0 0 0\n"
            "x 0.5 0.5 0.5 0.4 0.25 0.5 2 0.75 0.5 1\n"
        },
    )
    label = tmp_path / "labels" / "a.txt"
    dataset = YOLODataset(images, classes=["person"], kpt_shape=[2, 3], on_error="skip")
    assert dataset.task == "pose" and dataset.kpt_shape == [2, 3]
    assert dataset.index.keypoints.shape == (2, 2, 3)
    assert dataset.index.keypoints.dtype == np.float32
    np.testing.assert_allclose(
        dataset.keypoints(0), [[[5, 5, 2], [15, 5, 1]], [[20, 5, 2], [0, 0, 0]]], atol=1e-4
    )
    assert rows(dataset) == [[0.25, 0.3, 0.75, 0.7]] * 2
    assert dataset.polygons(0) == [None, None]
    assert dataset.problems == [
        f"{label}:2: keypoint 1: visibility 3: expected 0 (not labelled), 1 (labelled but hidden) or 2 (visible)",
        f"{label}:3: expected 11 values 'class cx cy w h' then 2 keypoints of x y v (kpt_shape [2, 3]), got 6: "
        "'0 0.5 0.5 0.5 0.4 0.25'",
        f"{label}:4: keypoint 0 (1.5, 0.5) is outside its image: expected coordinates in [0, 1], normalised by "
        "the image size (a point that was not labelled is 0 0 with visibility 0)",
        f"{label}:5: box ['0.5', '0.5', '0', '0.4', '0.25', '0.5', '2', '0.75', '0.5', '1'] has no area: "
        "expected w > 0 and h > 0 (also once stored as float32)",
        f"{label}:7: class 'x': expected an integer id >= 0 (digits only, as in '3'), got "
        "'x 0.5 0.5 0.5 0.4 0.25 0.5 2 0.75 0.5 1'",
    ]


def test_yolo_pose_without_visibility_marks_zero_points_unlabelled(tmp_path: Path) -> None:
    """``kpt_shape=[2, 2]``: a ``0 0`` point is not labelled (visibility 0), any other point visible (2)."""
    images = yolo_folder(tmp_path, {"a": "0 0.5 0.5 0.5 0.4 0 0 0.5 0\n0 0.5 0.5 0.5 0.4 0 0.5 0.25 0.5\n"})
    dataset = YOLODataset(images, classes=["person"], kpt_shape=[2, 2])
    np.testing.assert_allclose(
        dataset.keypoints(0), [[[0, 0, 0], [10, 0, 2]], [[0, 5, 2], [5, 5, 2]]], atol=1e-4
    )
    assert YOLODataset(images, classes=["person"], kpt_shape=[2, 2]).problems == []


def test_yolo_pose_line_of_another_length_names_the_expected_layout_without_visibility(
    tmp_path: Path,
) -> None:
    """A pose line of another length says how many values ``kpt_shape [K, 2]`` expects (``x y`` points)."""
    images = yolo_folder(tmp_path, {"a": "0 0.5 0.5 0.5 0.4 0.1 0.1 0.2\n"})
    dataset = YOLODataset(images, classes=["person"], kpt_shape=[2, 2], on_error="skip")
    assert dataset.problems == [
        f"{tmp_path / 'labels' / 'a.txt'}:1: expected 9 values 'class cx cy w h' then 2 keypoints of x y "
        "(kpt_shape [2, 2]), got 8: '0 0.5 0.5 0.5 0.4 0.1 0.1 0.2'"
    ]
    assert dataset.index.keypoints.shape == (0, 2, 3)


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_yolo_pose_keypoint_beyond_float32_is_a_problem_naming_the_written_value(tmp_path: Path) -> None:
    """A keypoint value finite in the file but beyond float32's range is refused, showing the value written
    (and the overflow of storing it is no warning)."""
    images = yolo_folder(tmp_path, {"a": "0 0.5 0.5 0.5 0.4 1e39 0 0\n"})
    dataset = YOLODataset(images, classes=["person"], kpt_shape=[1, 3], on_error="skip")
    assert dataset.problems == [
        f"{tmp_path / 'labels' / 'a.txt'}:1: keypoint 0: expected finite numbers within float32's range, got "
        "[1e+39, 0.0, 0.0] (x, y, visibility)"
    ]


def test_yolo_pose_flip_pairs_and_skeleton_are_checked_pairs(tmp_path: Path) -> None:
    """``flip_pairs=``/``skeleton=`` become int pairs; a pair that is not two indices below K is a ValueError."""
    images = yolo_folder(tmp_path, {"a": "0 0.5 0.5 0.5 0.4 0.25 0.5 0.75 0.5 0.5 0.5\n"})
    dataset = YOLODataset(
        images,
        classes=["person"],
        kpt_shape=[3, 2],
        flip_pairs=[(1, np.int64(2))],
        skeleton=[[0, 1], (np.int32(1), 2)],
    )
    assert dataset.flip_pairs == [(1, 2)]
    assert all(type(value) is int for pair in dataset.flip_pairs + dataset.skeleton for value in pair)
    assert dataset.skeleton == [(0, 1), (1, 2)]
    for bad in ([(0, 3)], [(0, -1)], [(0, 1, 2)], [(True, 1)], [(0.0, 1)], ["ab"], [1]):
        with pytest.raises(ValueError, match=r"flip_pairs: expected pairs of keypoint indices below 3, got "):
            YOLODataset(images, classes=["person"], kpt_shape=[3, 2], flip_pairs=bad)
    with pytest.raises(ValueError, match=r"skeleton: expected pairs of keypoint indices, got \(0, -1\)"):
        YOLODataset(images, classes=["person"], kpt_shape=[3, 2], skeleton=[(0, 1), (0, -1)])
    # The skeleton is not bounded by K (YOLO files hold none to check it against).
    assert YOLODataset(images, classes=["person"], kpt_shape=[3, 2], skeleton=[(0, 7)]).skeleton == [(0, 7)]


def test_yolo_flip_pairs_outside_pose_are_checked_without_a_bound(tmp_path: Path) -> None:
    """``flip_pairs=`` for a detect dataset is kept as pairs (no K bounds them) and still checked."""
    images = yolo_folder(tmp_path, {"a": "0 0.5 0.5 0.5 0.4\n"})
    assert YOLODataset(images, classes=["cat"], flip_pairs=[[0, 9]]).flip_pairs == [(0, 9)]
    with pytest.raises(
        ValueError, match=rf"flip_pairs: expected pairs of keypoint indices, got \[0\] \({images}\)$"
    ):
        YOLODataset(images, classes=["cat"], flip_pairs=[[0]])
    assert YOLODataset(images, classes=["cat"]).keypoint_names is None


def test_yolo_pose_task_without_kpt_shape_is_refused(tmp_path: Path) -> None:
    """``task="pose"`` without ``kpt_shape`` raises DatasetFormatError; ``kpt_shape=`` alone picks pose."""
    images = yolo_folder(tmp_path, {"a": "0 0.5 0.5 0.5 0.4 0.5 0.5 2\n"})
    with pytest.raises(DatasetFormatError, match="task='pose' needs the number of keypoints"):
        YOLODataset(images, classes=["person"], task="pose")
    assert YOLODataset(images, classes=["person"], kpt_shape=[1, 3]).task == "pose"
    detect = YOLODataset(images, classes=["person"], task="detect", kpt_shape=[1, 3], on_error="skip")
    assert detect.task == "detect" and detect.kpt_shape is None and detect.index.keypoints is None


def test_yolo_refuses_bad_arguments_before_reading(tmp_path: Path) -> None:
    """``masks`` must be a bool, ``task`` a YOLO task, ``max_classes`` a positive int; a folder or YAML needed."""
    images = yolo_folder(tmp_path, {"a": "0 0.5 0.5 0.5 0.4\n"})
    with pytest.raises(TypeError, match=r"masks: expected True or False, got 1"):
        YOLODataset(images, masks=1)
    with pytest.raises(
        ValueError, match=r"task: expected one of 'detect', 'segment', 'pose', 'obb' or None, got 'x'"
    ):
        YOLODataset(images, task="x")
    for bad in (0, -1, True, 2.0):
        with pytest.raises(ValueError, match=rf"max_classes: expected a positive int, got {bad!r}"):
            YOLODataset(images, max_classes=bad)
    assert YOLODataset(images, max_classes=1).classes == ["__background__", "0"]
    with pytest.raises(ValueError, match="expected images_dir= or data_yaml=, got neither"):
        YOLODataset()
    with pytest.raises(DatasetNotFoundError, match="expected a folder of images, found a file"):
        YOLODataset(images / "a.png")
    with pytest.raises(DatasetNotFoundError, match="expected a folder of images, found nothing"):
        YOLODataset(tmp_path / "missing")


def test_yolo_segment_task_reads_like_detect(tmp_path: Path) -> None:
    """``task="segment"`` reads box and polygon lines alike and is recorded as the task."""
    images = yolo_folder(tmp_path, {"a": "0 0.5 0.5 0.5 0.4\n0 0.1 0.2 0.3 0.2 0.2 0.6\n"})
    dataset = YOLODataset(images, classes=["cat"], task="segment")
    assert dataset.task == "segment"
    assert rows(dataset) == [[0.25, 0.3, 0.75, 0.7], [0.1, 0.2, 0.3, 0.6]]


def test_yolo_label_files_follow_the_last_images_folder_or_labels_dir(tmp_path: Path) -> None:
    """``data/images/x/images/a.png`` has ``data/images/x/labels/a.txt``; ``labels_dir`` mirrors the images;
    without an ``images`` folder the label file lies beside its image."""
    root = tmp_path / "data" / "images" / "x" / "images"
    (root / "sub").mkdir(parents=True)
    Image.new("RGB", (20, 10)).save(root / "sub" / "a.png")
    labels = tmp_path / "data" / "images" / "x" / "labels" / "sub"
    labels.mkdir(parents=True)
    (labels / "a.txt").write_text("0 0.5 0.5 0.5 0.4\n")
    (tmp_path / "data" / "labels" / "x" / "images" / "sub").mkdir(parents=True)
    (tmp_path / "data" / "labels" / "x" / "images" / "sub" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    assert rows(YOLODataset(root, classes=["cat"])) == [[0.25, 0.3, 0.75, 0.7]]
    other = tmp_path / "other"
    (other / "sub").mkdir(parents=True)
    (other / "sub" / "a.txt").write_text("0 0.5 0.5 0.2 0.4\n")
    dataset = YOLODataset(root, labels_dir=other, classes=["cat"])
    assert dataset.labels_dir == str(other)
    assert rows(dataset) == [[0.4, 0.3, 0.6, 0.7]]
    plain = tmp_path / "plain"
    plain.mkdir()
    Image.new("RGB", (20, 10)).save(plain / "b.png")
    (plain / "b.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    assert rows(YOLODataset(plain, classes=["cat"])) == [[0.4, 0.4, 0.6, 0.6]]


def test_yolo_scan_finds_images_recursively_in_sorted_order_and_warns_of_loops(tmp_path: Path) -> None:
    """Images under the folder, sorted by folder then name, relative to it; other files and hidden ones are
    not images; a link back up is not followed, with a warning naming the folder."""
    images = yolo_folder(tmp_path, {"b": "", "a": ""})
    (images / "sub").mkdir()
    Image.new("RGB", (20, 10)).save(images / "sub" / "c.JPG")
    (images / "notes.txt").write_text("x")
    (images / "sub" / "up").symlink_to("..")
    Image.new("RGB", (20, 10)).save(images / ".hidden.png")
    with pytest.warns(
        UserWarning, match=rf"{images}: 1 symbolic links were not followed: \./sub/up: symbolic link"
    ):
        dataset = YOLODataset(images, classes=["cat"])
    assert list(dataset.index.paths) == ["a.png", "b.png", "sub/c.JPG"]
    assert dataset.problems == []


def test_yolo_label_file_that_is_a_folder_or_not_utf8_is_a_problem_leaving_its_boxes_out(
    tmp_path: Path,
) -> None:
    """A folder named like the label file, or bytes that are not UTF-8: a problem naming it; no label file: no boxes."""
    images = yolo_folder(tmp_path, {"a": "0 0.5 0.5 0.5 0.4\n", "b": None, "c": None, "d": None})
    (tmp_path / "labels" / "b.txt").mkdir()
    (tmp_path / "labels" / "c.txt").write_bytes(b"0 0.5 0.5 0.5 0.4\n\xff\xfe\n")
    dataset = YOLODataset(images, classes=["cat"], on_error="skip")
    assert dataset.index.offsets.tolist() == [0, 1, 1, 1, 1]
    assert len(dataset.problems) == 2
    labels = tmp_path / "labels"
    assert dataset.problems[0].startswith(f"{labels / 'b.txt'}: YOLO label file: expected a regular file")
    assert dataset.problems[1].startswith(f"{labels / 'c.txt'}: YOLO label file: expected UTF-8 text")
    assert all(problem.endswith("; its boxes are left out") for problem in dataset.problems)


def test_yolo_scanned_folder_follows_links_to_images_outside_it(tmp_path: Path) -> None:
    """A folder given as ``images_dir`` follows its links: an image linked from outside it loads."""
    images = yolo_folder(tmp_path, {"a": "0 0.5 0.5 0.5 0.4\n"})
    (tmp_path / "elsewhere").mkdir()
    Image.new("RGB", (8, 4)).save(tmp_path / "elsewhere" / "b.png")
    (images / "b.png").symlink_to(tmp_path / "elsewhere" / "b.png")
    dataset = YOLODataset(images, classes=["cat"])
    assert dataset.allow_outside_root is True
    image, target = dataset[1]
    assert tuple(image.shape) == (3, 4, 8)
    assert target["boxes"].shape == (0, 4)


def test_yolo_problems_and_refusals_name_the_images_folder(tmp_path: Path) -> None:
    """Raised problems, repeated class names and bad pairs name the folder read; the split read is recorded."""
    images = yolo_folder(tmp_path, {"a": "0 0.5 0.5 0.5\n"})
    with pytest.raises(DatasetValidationError, match=rf"^{images}: 1 problem found:\n  - {tmp_path}"):
        YOLODataset(images, classes=["cat"])
    with pytest.raises(
        ValueError, match=rf"^{images}: classes: expected distinct names, got 'cat' at positions 1"
    ):
        YOLODataset(images, classes=["cat", "cat"], on_error="skip")
    with pytest.raises(ValueError, match=rf"got \[1\] \({images}\)$"):
        YOLODataset(images, classes=["cat"], skeleton=[[1]], on_error="skip")
    assert YOLODataset(images, classes=["cat"], on_error="skip").split_name == "train"


@pytest.mark.parametrize(
    "quad",
    [
        "0.1 0.1 0.5 0.1 0.6 0.5 0.2 0.5",  # sheared along x: its y values are two levels
        "0.1 0.1 0.5 0.2 0.5 0.6 0.1 0.5",  # sheared along y: its x values are two levels
    ],
)
def test_yolo_guesses_oriented_boxes_for_a_parallelogram_sheared_either_way(
    tmp_path: Path, quad: str
) -> None:
    """A 4-point line whose x or y values alone are not two levels is no rectangle: the file is OBB."""
    images = yolo_folder(tmp_path, {"a": f"0 {quad}\n"})
    assert YOLODataset(images, classes=["cat"]).task == "obb"


def test_yolo_rectangles_anywhere_and_within_a_millionth_stay_segments(tmp_path: Path) -> None:
    """Rectangles at different places, and a quadrilateral within 1e-6 of a rectangle (float noise, even
    near 0), are rectangles: the files stay segments."""
    images = yolo_folder(
        tmp_path,
        {
            "a": "0 0.1 0.1 0.5 0.1 0.5 0.5 0.1 0.5\n",
            "b": "0 0.3 0.6 0.7 0.6 0.7 0.9 0.3 0.9\n",
            "c": "0 0 0 0.5 0 0.5 2e-6 5e-7 1.5e-6\n",
        },
    )
    dataset = YOLODataset(images, classes=["cat"])
    assert dataset.task == "detect"
    assert dataset.index.corners is None
    assert rows(dataset)[:2] == [[0.1, 0.1, 0.5, 0.5], [0.3, 0.6, 0.7, 0.9]]


def test_voc_object_without_a_name_is_an_unknown_class_named_empty(tmp_path: Path) -> None:
    """An ``<object>`` with no ``<name>`` has the empty name: a problem naming it as ``''``."""
    objects = "<object><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object>"
    root = voc_folder(tmp_path / "voc", {"a": voc_xml("a.jpg", objects=objects)})
    dataset = skipping_voc(root, classes=["__background__", "kiwi"])
    assert dataset.problems == [
        "a.xml object 1 (''): class '' is not one of the classes ['__background__', 'kiwi']"
    ]


def yaml_dataset(root: Path) -> Path:
    """A ``data.yaml`` whose train list names an image, a missing one and one outside; val is a folder."""
    for split, stem in (("train", "a"), ("val", "b")):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        Image.new("RGB", (20, 10)).save(root / "images" / split / f"{stem}.png")
        (root / "labels" / split / f"{stem}.txt").write_text("0 0.5 0.5 0.5 0.4\n")
    Image.new("RGB", (20, 10)).save(root.parent / "outside.png")
    (root / "train.txt").write_text("images/train/a.png\nimages/train/gone.png\n../outside.png\n")
    (root / "data.yaml").write_text("path: .\ntrain: train.txt\nval: images/val\nnames: [cat]\n")
    return root / "data.yaml"


def test_yolo_data_yaml_passes_split_file_checks_and_confinement_to_its_lists(tmp_path: Path) -> None:
    """A data.yaml's list: a missing image and one outside the root are problems unless ``check_files=False``
    or ``allow_outside_root=True``; ``split`` picks the entry; ``classes=`` overrides its names."""
    data = yaml_dataset(tmp_path / "ds")
    dataset = YOLODataset(data_yaml=data, on_error="skip")
    assert list(dataset.index.paths) == ["images/train/a.png"]
    assert len(dataset.problems) == 2
    assert dataset.classes == ["__background__", "cat"]
    assert dataset.layout == "ultralytics" and dataset.obj_data is None
    assert dataset.allow_outside_root is False
    with pytest.raises(DatasetValidationError, match=rf"^{data}: 2 problems found"):
        YOLODataset(data_yaml=data)
    unchecked = YOLODataset(data_yaml=data, check_files=False, on_error="skip")
    assert "images/train/gone.png" in list(unchecked.index.paths)
    allowed = YOLODataset(data_yaml=data, allow_outside_root=True, on_error="skip")
    assert len(allowed) == 2 and len(allowed.problems) == 1
    val = YOLODataset(data_yaml=data, split="val", classes=["dog"])
    assert list(val.index.paths) == ["images/val/b.png"]
    assert val.split_name == "val"
    assert val.classes == ["__background__", "dog"]
    assert rows(val) == [[0.25, 0.3, 0.75, 0.7]]


def test_yolo_data_yaml_images_linked_from_outside_the_root_are_refused_when_loaded(tmp_path: Path) -> None:
    """A data.yaml's images stay confined to its root: a linked image from outside fails to load."""
    data = yaml_dataset(tmp_path / "ds")
    (tmp_path / "ds" / "images" / "val" / "c.png").symlink_to(tmp_path / "outside.png")
    dataset = YOLODataset(data_yaml=data, split="val")
    assert list(dataset.index.paths) == ["images/val/b.png", "images/val/c.png"]
    with pytest.raises(ImageReadError, match="outside the dataset root"):
        dataset[1]
    assert tuple(YOLODataset(data_yaml=data, split="val", allow_outside_root=True)[1][0].shape) == (3, 10, 20)


def test_yolo_darknet_export_reads_its_list_names_and_label_files_beside_the_images(tmp_path: Path) -> None:
    """A Darknet export (``obj.data``): its names, its train list (missing images are problems unless
    ``check_files=False``) and each label file beside its image."""
    # Under a folder named images: Darknet's label files stay beside the images all the same.
    root = tmp_path / "images" / "export"
    (root / "obj_train_data").mkdir(parents=True)
    Image.new("RGB", (20, 10)).save(root / "obj_train_data" / "a.png")
    (root / "obj_train_data" / "a.txt").write_text("0 0.5 0.5 0.5 0.4\n")
    (root / "obj.names").write_text("cat\n")
    (root / "train.txt").write_text("data/obj_train_data/a.png\ndata/obj_train_data/gone.png\n")
    (root / "obj.data").write_text("classes = 1\ntrain = data/train.txt\nnames = data/obj.names\n")
    dataset = YOLODataset(root, on_error="skip")
    assert dataset.layout == "darknet"
    assert dataset.obj_data == str(root / "obj.data")
    assert dataset.allow_outside_root is False
    assert dataset.classes == ["__background__", "cat"]
    assert list(dataset.index.paths) == ["obj_train_data/a.png"]
    assert rows(dataset) == [[0.25, 0.3, 0.75, 0.7]]
    assert len(dataset.problems) == 1
    with pytest.raises(DatasetValidationError, match=rf"^{root / 'obj.data'}: 1 problem found"):
        YOLODataset(root)
    unchecked = YOLODataset(root, check_files=False, classes=["dog"])
    assert list(unchecked.index.paths) == ["obj_train_data/a.png", "obj_train_data/gone.png"]
    assert unchecked.classes == ["__background__", "dog"]
    with pytest.raises(DatasetNotFoundError, match="no 'valid' subset"):
        YOLODataset(root, split="val")


def test_yolo_data_yaml_nc_without_names_is_bounded_by_max_classes(tmp_path: Path) -> None:
    """``nc`` without names names the classes by id, up to ``max_classes``; more is refused."""
    data = yaml_dataset(tmp_path / "ds")
    data.write_text("path: .\nval: images/val\nnc: 3\n")
    assert YOLODataset(data_yaml=data, split="val", max_classes=3).classes == [
        "__background__",
        "0",
        "1",
        "2",
    ]
    with pytest.raises(DatasetFormatError, match="nc: 3 classes without names is more than max_classes=2"):
        YOLODataset(data_yaml=data, split="val", max_classes=2)


def test_yolo_darknet_images_outside_the_export_are_refused_unless_allowed(tmp_path: Path) -> None:
    """A Darknet list naming an image outside the export is a problem unless ``allow_outside_root=True``;
    an image linked from outside fails to load (ImageReadError)."""
    root = tmp_path / "export"
    (root / "obj_train_data").mkdir(parents=True)
    Image.new("RGB", (20, 10)).save(tmp_path / "outside.png")
    (root / "obj_train_data" / "link.png").symlink_to(tmp_path / "outside.png")
    (root / "obj.names").write_text("cat\n")
    (root / "train.txt").write_text(f"data/obj_train_data/link.png\n{tmp_path / 'outside.png'}\n")
    (root / "obj.data").write_text("classes = 1\ntrain = data/train.txt\nnames = data/obj.names\n")
    confined = YOLODataset(root, on_error="skip")
    assert list(confined.index.paths) == ["obj_train_data/link.png"]
    assert len(confined.problems) == 1
    (root / "train.txt").write_text("data/obj_train_data/link.png\n")
    with pytest.raises(ImageReadError, match="outside the dataset root"):
        YOLODataset(root)[0]
    (root / "train.txt").write_text(f"data/obj_train_data/link.png\n{tmp_path / 'outside.png'}\n")
    allowed = YOLODataset(root, allow_outside_root=True)
    assert len(allowed) == 2
    assert tuple(allowed[0][0].shape) == (3, 10, 20)


def test_yolo_passes_loader_strict_and_scaled_decode_to_the_images(tmp_path: Path) -> None:
    """A custom ``loader`` reads the images; ``strict`` and ``scaled_decode`` are kept as given."""
    import torch

    images = yolo_folder(tmp_path, {"a": "0 0.5 0.5 0.5 0.4\n"})
    read = []

    def loader(path: str) -> torch.Tensor:
        read.append(path)
        return torch.zeros(3, 10, 20, dtype=torch.uint8)

    dataset = YOLODataset(images, classes=["cat"], loader=loader, strict=True, scaled_decode=False)
    image, target = dataset[0]
    assert read == [str(images / "a.png")]
    assert int(image.sum()) == 0
    assert target["boxes"].tolist() == [[5, 3, 15, 7]]
    assert dataset.strict is True and dataset.scaled_decode is False
    # Both reach the images' reader, which checks them.
    with pytest.raises(TypeError, match="strict: expected True, False or None, got 'yes'"):
        YOLODataset(images, classes=["cat"], strict="yes")
    with pytest.raises(TypeError, match="scaled_decode=True: expected a transform that offers a decode plan"):
        YOLODataset(images, classes=["cat"], scaled_decode=True)


def test_voc_folder_with_its_own_annotations_is_read_even_beside_year_folders(tmp_path: Path) -> None:
    """A root holding ``Annotations/`` is a VOC folder: ``VOC20xx`` folders inside it are not chosen."""
    root = voc_tree(tmp_path / "VOC2007", ids=("a",), splits={"train": "a\n"})
    voc_tree(root / "VOC2012", ids=("b", "c"), splits={"train": "b\nc\n"})
    dataset = VOCDetectionDataset(root)
    assert list(dataset.index.paths) == ["a.jpg"]
    assert dataset.annotations_dir == str(root / "Annotations")


def test_yolo_corners_exactly_at_the_tolerance_are_kept_and_snapped(tmp_path: Path) -> None:
    """A box or polygon reaching exactly 0.001 beyond the border is noise, snapped onto it."""
    images = yolo_folder(
        tmp_path,
        {"a": "0 0 0.5 0.002 0.4\n0 1 0.5 0.002 0.4\n0 -0.001 0.1 0.5 0.1 1.001 0.5\n"},
    )
    dataset = YOLODataset(images, classes=["cat"])
    assert rows(dataset) == [[0.0, 0.3, 0.001, 0.7], [0.999, 0.3, 1.0, 0.7], [0.0, 0.1, 1.0, 0.5]]


def test_yolo_polygon_problems_report_the_coordinate_beyond_and_extents_as_stored(tmp_path: Path) -> None:
    """A polygon beyond the border names the coordinate beyond it (not one within); an extent is checked in
    float32 and shown to 4 places; a polygon left of its own y range is fine."""
    images = yolo_folder(
        tmp_path,
        {
            "a": "0 -0.001 0.1 0.5 0.1 0.3 1.5\n"
            "0 0 0.1 0.5 0.1 0.3 1.5\n"
            "0 0.5 0.1 0.500000001 0.1 0.5 0.5\n"
            "0 0.1 0.123456 0.5 0.123456 0.3 0.123456\n"
            "0 0.1 0.5 0.3 0.5 0.2 0.9\n"
        },
    )
    label = tmp_path / "labels" / "a.txt"
    dataset = YOLODataset(images, classes=["cat"], on_error="skip")
    expected = "expected coordinates in [0, 1], normalised by the image size"
    flat = "(xyxy): expected an extent with area (the points lie on one line)"
    assert dataset.problems == [
        f"{label}:1: polygon of 3 points reaches 1.5: {expected}",
        f"{label}:2: polygon of 3 points reaches 1.5: {expected}",
        f"{label}:3: polygon of 3 points spans [0.5, 0.1, 0.5, 0.5] {flat}",
        f"{label}:4: polygon of 3 points spans [0.1, 0.1235, 0.5, 0.1235] {flat}",
    ]
    assert rows(dataset) == [[0.1, 0.5, 0.3, 0.9]]


def test_yolo_pose_line_of_words_names_the_pose_layout_and_problems_keep_line_order(tmp_path: Path) -> None:
    """A pose line with a word or a non-finite number names the pose layout; problems found after the loop
    (keypoints) and during it come in line order, line 2 before line 10."""
    good = "0 0.5 0.5 0.5 0.4 0.25 0.5 2\n"
    images = yolo_folder(
        tmp_path,
        {
            "a": good
            + "0 0.5 0.5 0.5 0.4 0.25 0.5 7\n"
            + good * 7
            + "0 0.5 0.5 x 0.4 0.25 0.5 2\n0 0.5 0.5 0.5 0.4 inf 0.5 2\n"
        },
    )
    label = tmp_path / "labels" / "a.txt"
    dataset = YOLODataset(images, classes=["person"], kpt_shape=[1, 3], on_error="skip")
    assert dataset.problems == [
        f"{label}:2: keypoint 0: visibility 7: expected 0 (not labelled), 1 (labelled but hidden) or 2 (visible)",
        f"{label}:10: expected numbers 'class cx cy w h px1 py1 ...', got '0 0.5 0.5 x 0.4 0.25 0.5 2'",
        f"{label}:11: expected finite numbers 'class cx cy w h px1 py1 ...', got '0 0.5 0.5 0.5 0.4 inf 0.5 2'",
    ]
    assert len(dataset.index.keypoints) == 8


def test_yolo_folder_without_images_is_an_empty_dataset(tmp_path: Path) -> None:
    """An images folder with no image files reads as an empty dataset with an empty typed index."""
    (tmp_path / "images").mkdir()
    dataset = YOLODataset(tmp_path / "images")
    assert len(dataset) == 0
    assert dataset.index.boxes.shape == (0, 4)
    assert dataset.index.offsets.tolist() == [0]
    assert dataset.classes == ["__background__"]


def pose_yaml(root: Path, extra: str) -> Path:
    """A pose ``data.yaml`` (``kpt_shape: [2, 3]`` plus ``extra``) over one image with one pose line."""
    (root / "images" / "train").mkdir(parents=True)
    (root / "labels" / "train").mkdir(parents=True)
    Image.new("RGB", (20, 10)).save(root / "images" / "train" / "a.png")
    (root / "labels" / "train" / "a.txt").write_text("0 0.5 0.5 0.5 0.4 0.25 0.5 2 0.75 0.5 2\n")
    (root / "data.yaml").write_text(
        f"path: .\ntrain: images/train\nnames: [person]\nkpt_shape: [2, 3]\n{extra}"
    )
    return root / "data.yaml"


def test_yolo_pose_data_yaml_keypoint_names_and_flip_index_count_keypoints_not_columns(
    tmp_path: Path,
) -> None:
    """``kpt_names`` and ``flip_idx`` have one entry per keypoint (K of ``[K, 3]``), read from the data.yaml."""
    data = pose_yaml(tmp_path, "kpt_names: [left, right]\nflip_idx: [1, 0]\n")
    dataset = YOLODataset(data_yaml=data)
    assert dataset.keypoint_names == ["left", "right"]
    assert dataset.flip_pairs == [(0, 1)]
    assert dataset.kpt_shape == [2, 3]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("kpt_names: [left]\n", ": kpt_names: expected 2 keypoint names"),
        ("flip_idx: [0, 0]\n", ": flip_idx: expected a permutation of 0..1"),
    ],
)
def test_yolo_pose_data_yaml_errors_name_the_yaml(tmp_path: Path, extra: str, message: str) -> None:
    """A bad ``kpt_names`` or ``flip_idx`` raises DatasetFormatError naming the data.yaml."""
    data = pose_yaml(tmp_path, extra)
    with pytest.raises(DatasetFormatError, match=f"^{data}{message}"):
        YOLODataset(data_yaml=data)


def test_yolo_kpt_shape_errors_name_where_it_came_from(tmp_path: Path) -> None:
    """A bad ``kpt_shape`` names the data.yaml it came from, or ``kpt_shape=`` when given; bad pose flip pairs
    name the data.yaml; repeated class names too."""
    data = pose_yaml(tmp_path, "")
    data.write_text(data.read_text().replace("kpt_shape: [2, 3]", "kpt_shape: [2, 4]"))
    with pytest.raises(DatasetFormatError, match=rf"^{data}: kpt_shape: expected \[K, 2\] or \[K, 3\]"):
        YOLODataset(data_yaml=data)
    with pytest.raises(DatasetFormatError, match=r"^kpt_shape=: expected \[K, 2\] or \[K, 3\]"):
        YOLODataset(data_yaml=data, kpt_shape=[2, 4])
    data.write_text(data.read_text().replace("kpt_shape: [2, 4]", "kpt_shape: [2, 3]"))
    with pytest.raises(
        ValueError, match=rf"flip_pairs: expected pairs of keypoint indices below 2, got \(0, 2\) \({data}\)$"
    ):
        YOLODataset(data_yaml=data, flip_pairs=[(0, 2)])
    with pytest.raises(ValueError, match=rf"^{data}: classes: expected distinct names"):
        YOLODataset(data_yaml=data, classes=["person", "person"])


def test_yolo_guessed_oriented_boxes_keep_earlier_problems_and_name_the_class_limit(tmp_path: Path) -> None:
    """When a data.yaml's labels are guessed OBB and read again, the list's problems stay, and an id beyond
    the names is named as such."""
    data = yaml_dataset(tmp_path / "ds")
    (tmp_path / "ds" / "labels" / "train" / "a.txt").write_text(
        "0 0.5 0.1 0.9 0.5 0.5 0.9 0.1 0.5\n3 0.5 0.1 0.9 0.5 0.5 0.9 0.1 0.5\n"
    )
    dataset = YOLODataset(data_yaml=data, on_error="skip")
    assert dataset.task == "obb"
    assert len(dataset.problems) == 3
    assert dataset.problems[2] == (
        f"{tmp_path / 'ds' / 'labels' / 'train' / 'a.txt'}:2: class 3 is out of range: 1 names, ids 0..0"
    )
