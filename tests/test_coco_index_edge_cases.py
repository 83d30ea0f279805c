"""Issue 26: edge cases of the COCO reader's index builder, on real COCO files written in ``tmp_path``.

The survivors of `make mutate` in `visiondata.formats._coco`'s index builder, grouped by the behaviour
they showed untested: files without images or annotations, image ids that are 0, negative, huge or
missing from the images (both ways of looking ids up), many annotations interleaved across images
(more than a sort's small-array path), label and file-row counts beyond one byte, repeated annotation
ids and categories, crowd flags other than 1, and the dtypes of the per-box fields. Each test below
fails with at least one mutant and passes on the code as it is.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from coco_files import HEIGHT, WIDTH, write_coco, write_png
from hypothesis import given, settings
from hypothesis import strategies as st

from visiondata.datasets import CocoDetectionDataset
from visiondata.exceptions import DatasetFormatError, DatasetValidationError
from visiondata.formats._coco import _positions


def image(
    identifier: int, name: str | None = None, width: int = WIDTH, height: int = HEIGHT
) -> dict[str, Any]:
    return {
        "id": identifier,
        "file_name": f"{identifier}.png" if name is None else name,
        "width": width,
        "height": height,
    }


def box(number: int, image_id: int, bbox: list[float] | None = None, category: int = 1, **extra: Any) -> dict:
    """An annotation record; its default box ``[1, 1, 2, 2]``."""
    return {
        "id": number,
        "image_id": image_id,
        "category_id": category,
        "bbox": bbox or [1, 1, 2, 2],
        **extra,
    }


def ids_by_image(dataset: CocoDetectionDataset) -> dict[int, list[int]]:
    """Image id -> the annotation ids of its boxes, in the order the dataset gives them."""
    return {dataset.image_id(index): dataset.annotation_ids(index).tolist() for index in range(len(dataset))}


# --- A file without images, or without annotations -------------------------------------------------------


@pytest.mark.parametrize("masks", [False, True])
def test_annotations_of_a_file_without_images_are_each_a_problem(tmp_path: Path, masks: bool) -> None:
    """With ``"images": []`` every annotation names an image the file does not have: one problem each."""
    segmentation = {"segmentation": [[1, 1, 3, 1, 3, 3]]}
    file = write_coco(tmp_path, [], [box(1, 1, **segmentation), box(2, 0, **segmentation)])
    dataset = CocoDetectionDataset(tmp_path, file, on_error="skip", masks=masks)
    assert len(dataset) == 0
    assert dataset.problems == [
        "annotation 1: image_id 1 is not in the file's images",
        "annotation 2: image_id 0 is not in the file's images",
    ]
    assert dataset.index.boxes.shape == (0, 4)
    assert dataset.index.sizes.shape == (0, 2)
    with pytest.raises(DatasetValidationError) as caught:
        CocoDetectionDataset(tmp_path, file, masks=masks)
    assert len(caught.value.problems) == 2


def test_images_without_annotations_are_kept_with_empty_typed_targets(tmp_path: Path) -> None:
    """No annotations at all: each image is a sample with ``(0, 4)`` float32 boxes and empty int64 labels."""
    file = write_coco(tmp_path, [image(3), image(1)], [])
    dataset = CocoDetectionDataset(tmp_path, file)
    assert [dataset.image_id(index) for index in range(len(dataset))] == [3, 1]
    assert dataset.problems == []
    _, target = dataset[1]
    assert target["boxes"].shape == (0, 4) and target["boxes"].dtype == torch.float32
    assert target["labels"].dtype == torch.int64 and target["labels"].shape == (0,)
    assert target["iscrowd"].dtype == torch.int64 and target["area"].dtype == torch.float32
    assert target["image_id"] == 1
    assert dataset.annotation_ids(0).tolist() == []
    assert CocoDetectionDataset(tmp_path, file, drop_empty=True).index.image_ids.tolist() == []


def test_per_box_fields_have_their_documented_dtypes_and_values(tmp_path: Path) -> None:
    """``labels`` and ``iscrowd`` are int64, ``area`` float32 (the file's, else ``w * h``), boxes float32 xyxy."""
    annotations = [
        box(7, 1, [1.5, 2, 4, 3], iscrowd=1, area=2.25),
        box(8, 1, [0, 0, 19, 9.5]),
    ]
    file = write_coco(tmp_path, [image(1)], annotations)
    _, target = CocoDetectionDataset(tmp_path, file, include_crowd=True)[0]
    assert target["boxes"].dtype == torch.float32
    assert target["boxes"].tolist() == [[1.5, 2.0, 5.5, 5.0], [0.0, 0.0, 19.0, 9.5]]
    assert target["labels"].dtype == torch.int64 and target["labels"].tolist() == [1, 1]
    assert target["iscrowd"].dtype == torch.int64 and target["iscrowd"].tolist() == [1, 0]
    assert target["area"].dtype == torch.float32 and target["area"].tolist() == [2.25, 180.5]


# --- Image ids: each annotation goes to the image of its id, or is a problem -----------------------------

# Dense ids (0 to a few thousand) are looked up in a table, others by binary search: both must place each
# annotation on its own image, and report the ones naming an id no image has (in a gap, below the
# smallest, beyond the largest, far beyond the table).
ID_SETS = {
    "dense": [3, 0, 1],
    "dense-with-a-large-one": [2, 0, 1024 + 16 * 3 - 1],
    "negative": [3, -7, 1],
    "sparse": [10**12, 0, 5],
}


@pytest.mark.parametrize("ids", ID_SETS.values(), ids=ID_SETS.keys())
def test_each_annotation_is_placed_on_the_image_of_its_id(tmp_path: Path, ids: list[int]) -> None:
    """Annotations interleaved over images of any ids land on their own image; unknown ids are problems."""
    missing = [2 if 2 not in ids else 4, -1, -5000, max(ids) + 1, 10**15]
    annotations = []
    number = 0
    for _ in range(2):  # two rounds: each image's annotations interleaved with the others'
        for image_id in ids:
            number += 1
            annotations.append(box(number, image_id))
    unknown = [box(100 + offset, image_id) for offset, image_id in enumerate(missing)]
    file = write_coco(
        tmp_path, [image(identifier) for identifier in ids], unknown[:2] + annotations + unknown[2:]
    )
    dataset = CocoDetectionDataset(tmp_path, file, on_error="skip", check_files=False)
    count = len(ids)
    assert ids_by_image(dataset) == {
        identifier: [position + 1, position + 1 + count] for position, identifier in enumerate(ids)
    }
    assert dataset.problems == [
        f"annotation {100 + offset}: image_id {image_id} is not in the file's images"
        for offset, image_id in enumerate(missing)
    ]


def test_an_annotation_on_the_only_image_next_to_one_of_an_unknown_image(tmp_path: Path) -> None:
    """One image: the annotation naming another id is a problem and the image keeps its own box."""
    file = write_coco(tmp_path, [image(4)], [box(1, 9, [50, 50, 5, 5]), box(2, 4)])
    dataset = CocoDetectionDataset(tmp_path, file, on_error="skip")
    assert ids_by_image(dataset) == {4: [2]}
    assert dataset.problems == ["annotation 1: image_id 9 is not in the file's images"]


def first_positions(ids: list[int], wanted: list[int]) -> tuple[list[int], list[bool]]:
    """What `_positions` promises, by hand: the first image of each wanted id, where there is one."""
    known = [value in ids for value in wanted]
    return [ids.index(value) for value in wanted if value in ids], known


@settings(max_examples=50, deadline=None)
@given(
    ids=st.lists(
        st.one_of(st.integers(0, 40), st.integers(-(2**63), 2**63 - 1), st.sampled_from([0, 7, 10**12])),
        min_size=1,
        max_size=60,
    ),
    extra=st.lists(st.integers(-(2**63), 2**63 - 1), max_size=5),
    data=st.data(),
)
def test_positions_are_the_first_image_of_each_id(ids: list[int], extra: list[int], data: Any) -> None:
    """For dense and sparse ids, repeated or not: each known id's first image, and which ids are known."""
    # Repeats, shuffled among the others, so that a sort that is not stable would pick a later image.
    ids = data.draw(st.permutations(ids + ids[: len(ids) // 2]))
    wanted = data.draw(st.lists(st.sampled_from(ids), max_size=20)) + extra
    position, known = _positions(np.array(ids, dtype=np.int64), np.array(wanted, dtype=np.int64))
    expected_position, expected_known = first_positions(ids, wanted)
    assert known.dtype == np.bool_ and known.tolist() == expected_known
    assert position.shape == (len(wanted),)
    assert position[known].tolist() == expected_position


def test_positions_of_no_images_know_nothing() -> None:
    """No images: every wanted id is unknown, with a position array of its length."""
    position, known = _positions(np.array([], dtype=np.int64), np.array([0, 5, -1], dtype=np.int64))
    assert known.dtype == np.bool_ and known.tolist() == [False, False, False]
    assert position.dtype == np.int64 and position.shape == (3,)


# --- Many annotations interleaved across images ------------------------------------------------------------


def test_many_interleaved_annotations_keep_their_ids_segmentations_and_file_order(tmp_path: Path) -> None:
    """Sixty annotations dealt over three images keep, per image, file order with their own ids and shapes.

    Enough of them that a sort that is not stable (numpy's default for more than 16 values) would
    shuffle an image's annotations; each box's x and its polygon's x are its annotation's id.
    """
    annotations = []
    for number in range(1, 61):
        x = float(number)
        annotations.append(
            box(number, [30, 10, 20][number % 3], [x, 1, 1, 1], segmentation=[[x, 1, x + 1, 1, x + 1, 2]])
        )
    images = [image(identifier, width=100) for identifier in (10, 20, 30)]
    file = write_coco(tmp_path, images, annotations, pngs=False)
    for masks in (False, True):
        dataset = CocoDetectionDataset(tmp_path, file, check_files=False, masks=masks)
        for index, identifier in enumerate((10, 20, 30)):
            expected = [number for number in range(1, 61) if [30, 10, 20][number % 3] == identifier]
            assert dataset.image_id(index) == identifier
            assert dataset.annotation_ids(index).tolist() == expected
            assert dataset.index.boxes[
                dataset.index.offsets[index] : dataset.index.offsets[index + 1], 0
            ].tolist() == [float(number) for number in expected]
            assert [shape[0, 0] for shape in dataset.polygons(index)] == [
                float(number) for number in expected
            ]


# --- Counts beyond one byte: labels and places in the file ---------------------------------------------------


@pytest.mark.parametrize(("count", "itemsize"), [(127, 1), (128, 2)])
def test_labels_beyond_127_are_exact_and_up_to_127_take_one_byte(
    tmp_path: Path, count: int, itemsize: int
) -> None:
    """``count`` categories plus the background: the last label reads back exactly; the index holds
    labels in the smallest integer type (one byte per box while labels fit in int8, as the index's
    few-bytes-per-box memory budget counts them)."""
    categories = [{"id": number, "name": f"c{number}"} for number in range(1, count + 1)]
    file = write_coco(tmp_path, [image(1)], [box(1, 1, category=count), box(2, 1, category=1)], categories)
    dataset = CocoDetectionDataset(tmp_path, file)
    assert len(dataset.classes) == count + 1
    assert dataset[0][1]["labels"].tolist() == [count, 1]
    assert dataset.label_to_category_id[count] == count
    assert dataset.index.labels.itemsize == itemsize


def test_annotations_placed_beyond_row_127_of_the_file_are_found_again(tmp_path: Path) -> None:
    """The 130th and later annotations of the file give their own polygons back (read from the file again).

    With ``masks=False`` the polygons are read again from the file at each box's place in its
    annotations list: places beyond 127 must survive being stored.
    """
    annotations = [
        box(number, 1, [number % 15, 1, 1, 1], segmentation=[[number, 0, number + 1, 0, number, 1]])
        for number in range(1, 301)
    ]
    file = write_coco(tmp_path, [image(1)], annotations, pngs=False)
    dataset = CocoDetectionDataset(tmp_path, file, check_files=False)
    assert dataset.annotation_ids(0).tolist() == list(range(1, 301))
    assert [shape[0, 0] for shape in dataset.polygons(0)] == [float(number) for number in range(1, 301)]


# --- Repeated annotation ids ------------------------------------------------------------------------------


def repeated_id_problem(value: int, count: int, rows: str) -> str:
    return (
        f"annotation id {value} is used {count} times (annotations{rows}): expected distinct ids, as COCO "
        "evaluation looks annotations up by id; give each its own id (all but the first are left out)"
    )


def test_two_annotations_of_one_id_keep_the_first_and_report_both_places(tmp_path: Path) -> None:
    """The only two annotations share an id: the first is kept (its box), the second reported and left out."""
    file = write_coco(tmp_path, [image(1)], [box(4, 1, [1, 1, 2, 2]), box(4, 1, [5, 5, 3, 3])])
    dataset = CocoDetectionDataset(tmp_path, file, on_error="skip")
    assert dataset.problems == [repeated_id_problem(4, 2, "[0, 1]")]
    assert dataset[0][1]["boxes"].tolist() == [[1.0, 1.0, 3.0, 3.0]]


def test_repeated_ids_show_four_places_and_are_reported_in_id_order(tmp_path: Path) -> None:
    """An id used five times shows its first four places and "..."; four times, all four; ids in order."""
    ids = [9, 3, 9, 9, 3, 9, 3, 3, 9, 7]  # 9: five times, 3: four times, 7: once
    annotations = [box(number, 1, [float(row), 1, 1, 1]) for row, number in enumerate(ids)]
    file = write_coco(tmp_path, [image(1)], annotations)
    with pytest.raises(DatasetValidationError) as caught:
        CocoDetectionDataset(tmp_path, file)
    expected = [repeated_id_problem(3, 4, "[1, 4, 6, 7]"), repeated_id_problem(9, 5, "[0, 2, 3, 5]...")]
    assert caught.value.problems == expected
    dataset = CocoDetectionDataset(tmp_path, file, on_error="skip")
    assert dataset.problems == expected
    # The first annotation of each id stays: rows 0 (id 9), 1 (id 3) and 9 (id 7).
    assert dataset.annotation_ids(0).tolist() == [9, 3, 7]
    assert dataset[0][1]["boxes"][:, 0].tolist() == [0.0, 1.0, 9.0]


def test_annotations_without_an_id_are_never_repeats(tmp_path: Path) -> None:
    """Annotations without an ``id`` (read as -1) are not compared, however many; one with an id is kept."""
    no_id = [{"image_id": 1, "category_id": 1, "bbox": [float(x), 1, 1, 1]} for x in range(3)]
    file = write_coco(tmp_path, [image(1)], [*no_id, box(1, 1, [5, 1, 1, 1])])
    dataset = CocoDetectionDataset(tmp_path, file)
    assert dataset.problems == []
    assert dataset.annotation_ids(0).tolist() == [-1, -1, -1, 1]
    file = write_coco(tmp_path, [image(1)], no_id[:2])
    assert CocoDetectionDataset(tmp_path, file).annotation_ids(0).tolist() == [-1, -1]


def test_a_repeated_id_is_reported_even_when_its_annotations_have_other_problems(tmp_path: Path) -> None:
    """Repeats are counted over every annotation of an id: a later repeat is left out even if the first
    is left out for a problem of its own (COCO evaluation would still see two)."""
    file = write_coco(tmp_path, [image(1)], [box(2, 1, [1, 1, 0, 2]), box(2, 1, [1, 1, 2, 2]), box(3, 1)])
    dataset = CocoDetectionDataset(tmp_path, file, on_error="skip")
    assert dataset.annotation_ids(0).tolist() == [3]
    assert [problem.split(":")[0] for problem in dataset.problems] == [
        "annotation 2 (image 1, 1.png)",
        "annotation id 2 is used 2 times (annotations[0, 1])",
    ]


# --- Image paths -------------------------------------------------------------------------------------------


def test_a_path_problem_is_reported_as_itself_not_as_a_missing_file(tmp_path: Path) -> None:
    """A path leaving the root or empty is that problem, whether or not a file is there to find."""
    images = [image(1, "a.png"), image(2, "../nowhere.png"), image(3, ""), image(4, "b.png")]
    root = tmp_path / "root"
    file = write_coco(root, [images[0], images[3]], [box(1, 1), box(2, 2), box(3, 3), box(4, 4)])
    file.write_text(json.dumps({**json.loads(file.read_text()), "images": images}))
    dataset = CocoDetectionDataset(root, file, on_error="skip")
    assert ids_by_image(dataset) == {1: [1], 4: [4]}
    assert dataset.problems == [
        f"image 2: image path '../nowhere.png' is outside the root {root}; expected a path relative to the "
        "root (pass allow_outside_root=True to permit it)",
        "image 3: empty image path",
    ]


def test_check_files_false_keeps_images_whose_files_are_missing(tmp_path: Path) -> None:
    """Without the file check a missing file is no problem at construction; paths are still checked."""
    images = [image(1, "here.png"), image(2, "gone.png"), image(3, "../out.png")]
    file = write_coco(tmp_path, images, [box(1, 1), box(2, 2), box(3, 3)], pngs=False)
    write_png(tmp_path / "here.png")
    dataset = CocoDetectionDataset(tmp_path, file, on_error="skip", check_files=False)
    assert ids_by_image(dataset) == {1: [1], 2: [2]}
    assert [dataset.relative_path(index) for index in range(len(dataset))] == ["here.png", "gone.png"]
    assert [problem.split(":")[0] for problem in dataset.problems] == ["image 3"]


def test_every_image_missing_names_the_files_and_the_wrong_folder(tmp_path: Path) -> None:
    """Every image file missing: one `DatasetNotFoundError` with the missing names, not a problem each."""
    from visiondata.exceptions import DatasetNotFoundError

    images = [image(1, "a.png"), image(2, "sub/./b.png")]
    file = write_coco(tmp_path, images, [box(1, 1)], pngs=False)
    with pytest.raises(
        DatasetNotFoundError, match=r"none of the 2 images are in the images folder"
    ) as caught:
        CocoDetectionDataset(tmp_path, file, on_error="skip")
    assert "(missing: 'a.png', 'sub/b.png')" in str(caught.value)
    assert caught.value.missing_files == ["a.png", "sub/b.png"]  # type: ignore[attr-defined]


# --- Checks of kept annotations against their own image's size ------------------------------------------------


def test_masks_of_kept_annotations_are_checked_against_their_own_image(tmp_path: Path) -> None:
    """With an annotation left out before it, a kept annotation's RLE is checked against its own image.

    The RLE fits the second image (40 x 30) and not the first (20 x 10): checked against the wrong one
    (the sizes of every annotation, not of the kept ones) it would be a problem.
    """
    rle = {"size": [30, 40], "counts": [0, 1200]}  # every pixel of a 40 x 30 image
    annotations = [
        box(1, 99, segmentation=[[1, 1, 3, 1, 3, 3]]),  # no such image: left out
        box(2, 1, [0, 0, 2, 2], segmentation=[[0, 0, 2, 0, 2, 2]]),
        box(3, 2, [1, 1, 30, 20], segmentation=rle),
        box(4, 1, [1, 1, 2, 2], segmentation={"size": [30, 40], "counts": [0, 1200]}),  # not image 1's size
    ]
    file = write_coco(tmp_path, [image(1), image(2, width=40, height=30)], annotations)
    dataset = CocoDetectionDataset(tmp_path, file, on_error="skip", masks=True)
    assert ids_by_image(dataset) == {1: [2], 2: [3]}
    assert dataset.problems == [
        "annotation 1: image_id 99 is not in the file's images",
        "annotation 4 (image 1, 1.png): segmentation RLE size: expected the image's [height, width] [10, 20], "
        "got [30, 40]",
    ]
    assert int(dataset[1][1]["masks"].sum()) == 1200


def test_keypoints_of_kept_annotations_are_checked_against_their_own_image(tmp_path: Path) -> None:
    """As the masks: a point inside the second (larger) image is no problem, after a left-out annotation."""
    categories = [{"id": 1, "name": "person", "keypoints": ["nose"], "skeleton": []}]
    annotations = [
        box(1, 99, keypoints=[1, 1, 2]),  # no such image: left out
        box(2, 2, [1, 1, 30, 20], keypoints=[35, 25, 2], num_keypoints=1),
        box(3, 1, [1, 1, 2, 2], keypoints=[35, 25, 2], num_keypoints=1),  # outside image 1 (20 x 10)
    ]
    file = write_coco(tmp_path, [image(1), image(2, width=40, height=30)], annotations, categories)
    dataset = CocoDetectionDataset(tmp_path, file, on_error="skip")
    assert ids_by_image(dataset) == {1: [], 2: [2]}
    assert dataset.keypoints(1).tolist() == [[[35.0, 25.0, 2.0]]]
    assert [problem.split(":")[0] for problem in dataset.problems] == [
        "annotation 1",
        "annotation 3 (image 1, 1.png)",
    ]


# --- Repeated image ids ---------------------------------------------------------------------------------------


def repeated_image_problem(value: int, count: int, names: str) -> str:
    return (
        f"image id {value} is listed {count} times ({names}): expected each image once with an id of its own, "
        "as annotations name their image by id; give each image its own id"
    )


def test_repeated_image_ids_are_each_one_problem_in_id_order(tmp_path: Path) -> None:
    """Two repeated ids (three times and twice), listed among other images: one problem per id, in id order,
    showing every name when there are three; every image of either id and its annotations are left out."""
    images = [image(8, "a.png"), image(2, "b.png"), image(5, "c.png"), image(8, "d.png"), image(2, "e.png")]
    images.append(image(8, "f.png"))
    annotations = [box(1, 8), box(2, 5), box(3, 2)]
    file = write_coco(tmp_path, images, annotations)
    dataset = CocoDetectionDataset(tmp_path, file, on_error="skip")
    assert ids_by_image(dataset) == {5: [2]}
    assert dataset.problems == [
        repeated_image_problem(2, 2, "'b.png', 'e.png'"),
        repeated_image_problem(8, 3, "'a.png', 'd.png', 'f.png'"),
    ]


def test_a_repeated_huge_image_id_is_told_apart_from_its_neighbour(tmp_path: Path) -> None:
    """Ids beyond float64's exact integers stay exact: 2**62 + 1 repeated, 2**62 once and kept."""
    big = 2**62
    images = [image(big + 1, "a.png"), image(big, "b.png"), image(big + 1, "c.png")]
    file = write_coco(tmp_path, images, [box(1, big), box(2, big + 1)])
    dataset = CocoDetectionDataset(tmp_path, file, on_error="skip")
    assert ids_by_image(dataset) == {big: [1]}
    assert dataset[0][1]["image_id"] == big
    assert dataset.problems == [repeated_image_problem(big + 1, 2, "'a.png', 'c.png'")]


# --- Categories: repeated ids and names, classes= ---------------------------------------------------------------


def test_repeated_category_ids_are_listed_ten_at_most(tmp_path: Path) -> None:
    """Eleven ids each given to two categories: the error lists the first ten, each with both names."""
    categories = [{"id": number, "name": f"{kind}{number}"} for number in range(1, 12) for kind in "ab"]
    file = write_coco(tmp_path, [image(1)], [box(1, 1)], categories, pngs=False)
    with pytest.raises(DatasetFormatError) as caught:
        CocoDetectionDataset(tmp_path, file, check_files=False)
    listed = "; ".join(f"id {number} for 'a{number}' and 'b{number}'" for number in range(1, 11))
    assert f"categories: expected distinct ids, got {listed}; give each category its own id" in str(
        caught.value
    )
    assert "id 11 for" not in str(caught.value)


def test_repeated_category_names_are_listed_ten_at_most_with_sorted_ids(tmp_path: Path) -> None:
    """Eleven names each used by two categories (the larger id first): ten listed, ids in order, and the fix."""
    categories = [
        {"id": number + offset, "name": f"n{number}"} for number in range(1, 12) for offset in (100, 0)
    ]
    file = write_coco(tmp_path, [image(1)], [box(1, 1)], categories, pngs=False)
    with pytest.raises(DatasetFormatError) as caught:
        CocoDetectionDataset(tmp_path, file, check_files=False)
    listed = "; ".join(f"'n{number}' for ids {number}, {number + 100}" for number in range(1, 11))
    assert str(caught.value) == (
        f"{file}: categories: expected distinct names, got {listed}; rename one of them, or pass classes= to "
        "match categories by name"
    )


def test_a_category_named_like_the_background_with_a_repeated_name(tmp_path: Path) -> None:
    """The background's name among repeated names: both listed, and the fix is the background's."""
    categories = [
        {"id": 2, "name": "cat"},
        {"id": 1, "name": "cat"},
        {"id": 3, "name": "__background__"},
    ]
    file = write_coco(tmp_path, [image(1)], [box(1, 1)], categories, pngs=False)
    with pytest.raises(DatasetFormatError) as caught:
        CocoDetectionDataset(tmp_path, file, check_files=False)
    assert str(caught.value) == (
        f"{file}: categories: expected distinct names, got 'cat' for ids 1, 2; '__background__' for ids 3; "
        "'__background__' names label 0 (the background): rename that category or pass background=False"
    )


def test_classes_naming_no_category_of_the_file_leave_every_annotation_out(tmp_path: Path) -> None:
    """``classes=`` of names the file lacks: no category has a label, each annotation is a named problem."""
    categories = [{"id": 1, "name": "cat"}, {"id": 5, "name": "dog"}]
    file = write_coco(tmp_path, [image(1)], [box(1, 1, category=5), box(2, 1, category=1)], categories)
    dataset = CocoDetectionDataset(tmp_path, file, classes=["zebra"], on_error="skip")
    assert dataset.classes == ["zebra"] and dataset.category_ids == [None]
    assert ids_by_image(dataset) == {1: []}
    assert dataset.problems == [
        "annotation 1: category_id 5 is 'dog', not one of the classes ['zebra']",
        "annotation 2: category_id 1 is 'cat', not one of the classes ['zebra']",
    ]


@pytest.mark.parametrize("background", [True, False])
def test_labels_follow_category_ids_and_classes_names_whatever_the_file_order(
    tmp_path: Path, background: bool
) -> None:
    """Without ``classes=`` labels follow the ids (not the file's order); with it, the names given."""
    categories = [{"id": 30, "name": "c"}, {"id": 7, "name": "a"}, {"id": 12, "name": "b"}]
    annotations = [box(1, 1, category=12), box(2, 1, category=30), box(3, 1, category=7)]
    file = write_coco(tmp_path, [image(1)], annotations, categories)
    first = 1 if background else 0
    dataset = CocoDetectionDataset(tmp_path, file, background=background)
    assert dataset.classes == ["__background__"] * first + ["a", "b", "c"]
    assert dataset.category_ids == [None] * first + [7, 12, 30]
    assert dataset[0][1]["labels"].tolist() == [first + 1, first + 2, first]
    chosen = CocoDetectionDataset(tmp_path, file, classes=["c", "a"], on_error="skip", background=background)
    assert chosen.classes == ["c", "a"] and chosen.category_ids == [30, 7]
    assert chosen.annotation_ids(0).tolist() == [2, 3]
    assert chosen[0][1]["labels"].tolist() == [0, 1]


# --- Crowd regions ----------------------------------------------------------------------------------------------


def test_any_nonzero_iscrowd_is_a_crowd_region(tmp_path: Path) -> None:
    """``iscrowd`` 2 is a crowd as 1 is: left out and counted by default, kept with its flag when asked."""
    annotations = [box(1, 1, iscrowd=2), box(2, 1), box(3, 1, iscrowd=1), box(4, 99, iscrowd=1), box(5, 1)]
    file = write_coco(tmp_path, [image(1)], annotations)
    dataset = CocoDetectionDataset(tmp_path, file, on_error="skip")
    assert dataset.crowd_left_out == 2  # annotation 4 is a problem, not a crowd left out
    assert ids_by_image(dataset) == {1: [2, 5]}
    assert "2 crowd regions left out: include_crowd=False)" in repr(dataset)
    kept = CocoDetectionDataset(tmp_path, file, on_error="skip", include_crowd=True)
    assert kept.crowd_left_out == 0 and "crowd regions left out" not in repr(kept)
    assert kept[0][1]["iscrowd"].tolist() == [2, 0, 1, 0]


@pytest.mark.parametrize("base", [0, 10**12], ids=["dense", "sparse"])
def test_positions_of_an_id_repeated_among_many_are_its_first_image(base: int) -> None:
    """Forty images of five ids, each repeated: more than a sort's small-array path; the first image wins."""
    ids = [base + (number * 7) % 5 for number in range(40)]
    wanted = [base + value for value in (4, 0, 3, 1, 2, 5)]
    position, known = _positions(np.array(ids, dtype=np.int64), np.array(wanted, dtype=np.int64))
    assert known.tolist() == [True] * 5 + [False]
    assert position[known].tolist() == [2, 0, 4, 3, 1]


@pytest.mark.parametrize("how", ["drop_empty", "missing_file"])
def test_the_images_left_after_some_are_dropped_keep_their_own_segmentations(
    tmp_path: Path, how: str
) -> None:
    """Dropping images (empty ones with ``drop_empty``, unreadable ones under ``on_error="skip"``) moves the
    per-box file places with the boxes: the outlines read back afterwards are the kept images' own."""
    images = [
        {"id": 1, "file_name": "a.png", "width": WIDTH, "height": HEIGHT},
        {"id": 2, "file_name": "b.png", "width": WIDTH, "height": HEIGHT},
        {"id": 3, "file_name": "c.png", "width": WIDTH, "height": HEIGHT},
    ]
    annotations = [
        {
            "id": 10,
            "image_id": 3,
            "category_id": 1,
            "bbox": [1, 1, 4, 4],
            "segmentation": [[1, 1, 5, 1, 5, 5]],
        },
        {
            "id": 11,
            "image_id": 2,
            "category_id": 1,
            "bbox": [2, 2, 3, 3],
            "segmentation": [[2, 2, 5, 2, 5, 5]],
        },
    ]
    if how == "missing_file":
        annotations.append(
            {
                "id": 12,
                "image_id": 1,
                "category_id": 1,
                "bbox": [0, 0, 2, 2],
                "segmentation": [[0, 0, 2, 0, 2, 2]],
            }
        )
    path = write_coco(tmp_path, images, annotations, missing=("a.png",) if how == "missing_file" else ())
    if how == "drop_empty":
        dataset = CocoDetectionDataset(tmp_path, path, drop_empty=True)
    else:
        dataset = CocoDetectionDataset(tmp_path, path, on_error="skip")
    assert len(dataset) == 2  # a.png is gone: it had no annotation, or no file
    assert [polygon.tolist() for polygon in dataset.polygons(0)] == [[[2.0, 2.0], [5.0, 2.0], [5.0, 5.0]]]
    assert [polygon.tolist() for polygon in dataset.polygons(1)] == [[[1.0, 1.0], [5.0, 1.0], [5.0, 5.0]]]
