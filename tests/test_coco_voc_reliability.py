"""Issue 18 for the COCO and VOC readers: crafted masks, special files, duplicate ids, malformed values.

Every fixture is a real file in its on-disk format in ``tmp_path``. Inputs that once crashed the
interpreter (pycocotools trusting an RLE or a polygon), hung it (a FIFO) or filled the memory
(``/dev/zero``) are read in a child process with a timeout and a memory limit (`run_isolated`).
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from isolated import assert_clean_exit, run_isolated
from PIL import Image
from pycocotools import mask as coco_mask

from visiondata.cli import main
from visiondata.datasets import CocoDetectionDataset, VOCDetectionDataset
from visiondata.exceptions import (
    DatasetFormatError,
    DatasetValidationError,
    InvalidBoxesError,
    SkippedSampleWarning,
    VisionDataError,
)
from visiondata.formats._coco import _rle_string_counts, _segmentation_problem, _segmentation_problems

WIDTH, HEIGHT = 20, 10


def write_image(path: Path, width: int = WIDTH, height: int = HEIGHT) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (width, height), (90, 40, 200)).save(path)


def coco_file(
    root: Path,
    annotations: list[dict[str, Any]],
    images: list[dict[str, Any]] | None = None,
    categories: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> Path:
    """A COCO file over ``root/a.png`` (20x10, declared unless ``images`` says otherwise)."""
    write_image(root / "a.png")
    document = {
        "images": images
        if images is not None
        else [{"id": 1, "file_name": "a.png", "width": 20, "height": 10}],
        "categories": categories if categories is not None else [{"id": 1, "name": "cat"}],
        "annotations": annotations,
        **extra,
    }
    path = root / "ann.json"
    path.write_text(json.dumps(document))  # Python's json writes NaN and Infinity as such
    return path


def annotation(
    number: int, segmentation: Any = None, bbox: Any = (1, 1, 4, 4), **extra: Any
) -> dict[str, Any]:
    record = {"id": number, "image_id": 1, "category_id": 1, "bbox": list(bbox) if bbox else bbox, **extra}
    if segmentation is not None:
        record["segmentation"] = segmentation
    return record


GOOD_POLYGON = [[1.0, 1.0, 5.0, 1.0, 5.0, 5.0, 1.0, 5.0]]
# Counts within 32 bits that sum to 10^12: an RLE consistent with its own size of 10^6 x 10^6.
HUGE_COUNTS = [2**32 - 1] * 232 + [10**12 - 232 * (2**32 - 1)]


def one_problem(problems: list[str], start: str) -> str:
    found = [problem for problem in problems if problem.startswith(start)]
    assert len(found) == 1, f"expected one problem starting {start!r}, got {problems}"
    return found[0]


# ---------------------------------------------------------------- item 2: crafted masks


CRASHING_SEGMENTATIONS = {
    # size far beyond the image: pycocotools allocates and writes h*w*n bytes from it
    "rle-size-1e6": {"size": [1000000, 1000000], "counts": [0, 1000000000000]},
    # size 10^5 x 10^5 on a 10x20 image: 19 s and 10 GB before
    "rle-size-1e5": {"size": [100000, 100000], "counts": "0"},
    # counts summing to more than h*w: written past the end of the mask
    "rle-counts-overflow": {"size": [10, 20], "counts": [0, 100000000]},
    # a compressed string whose counts overflow the mask the same way
    "rle-string-overflow": {"size": [10, 20], "counts": "0" + "o" * 6 + "1"},
    # a polygon at 1e9: pycocotools' integer arithmetic overflows
    "polygon-1e9": [[0.0, 0.0, 1e9, 0.0, 1e9, 1e9, 0.0, 1e9]],
}


@pytest.mark.parametrize("name", sorted(CRASHING_SEGMENTATIONS))
def test_a_crafted_mask_is_a_named_problem_not_a_crash(name: str, tmp_path: Path) -> None:
    file = coco_file(tmp_path, [annotation(7, CRASHING_SEGMENTATIONS[name]), annotation(8, GOOD_POLYGON)])
    result = run_isolated(
        f"""
        from visiondata.datasets import CocoDetectionDataset
        from visiondata.exceptions import DatasetValidationError
        try:
            CocoDetectionDataset({str(tmp_path)!r}, {str(file)!r}, masks=True)
        except DatasetValidationError as error:
            print("RAISED", error.problems)
        else:
            raise SystemExit("no error under on_error='raise'")
        dataset = CocoDetectionDataset({str(tmp_path)!r}, {str(file)!r}, masks=True, on_error="skip")
        image, target = dataset[0]
        print("SKIP", dataset.problems, tuple(target["masks"].shape), target["boxes"].tolist())
        """,
        timeout=60,
    )
    assert_clean_exit(result)
    raised = next(line for line in result.stdout.splitlines() if line.startswith("RAISED"))
    assert "annotation 7 (image 1, a.png): segmentation" in raised and "expected" in raised
    skipped = next(line for line in result.stdout.splitlines() if line.startswith("SKIP"))
    # the bad annotation left out and listed; the good one keeps its box and its mask
    assert "annotation 7 (image 1, a.png)" in skipped and "(1, 10, 20) [[1.0, 1.0, 5.0, 5.0]]" in skipped


def test_a_crafted_mask_of_an_image_without_a_declared_size_fails_cleanly_in_a_dataloader_worker(
    tmp_path: Path,
) -> None:
    # No size in the file: only the decoded image tells the RLE is wrong, so the check runs in the worker.
    file = coco_file(
        tmp_path,
        [annotation(7, {"size": [1000000, 1000000], "counts": HUGE_COUNTS}), annotation(8, GOOD_POLYGON)],
        images=[{"id": 1, "file_name": "a.png"}],
    )
    result = run_isolated(
        f"""
        import warnings
        from torch.utils.data import DataLoader
        from visiondata.datasets import CocoDetectionDataset
        from visiondata.exceptions import DatasetFormatError, SkippedSampleWarning
        dataset = CocoDetectionDataset({str(tmp_path)!r}, {str(file)!r}, masks=True)
        loader = DataLoader(dataset, batch_size=1, num_workers=1, collate_fn=lambda batch: batch)
        try:
            next(iter(loader))
        except DatasetFormatError as error:
            print("RAISED", str(error).replace(chr(10), " "))
        else:
            raise SystemExit("the worker read the crafted mask without an error")
        skipping = CocoDetectionDataset({str(tmp_path)!r}, {str(file)!r}, masks=True, on_error="warn")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            image, target = skipping[0]
        assert any(issubclass(w.category, SkippedSampleWarning) for w in caught)
        print("SKIP", len(skipping.problems), tuple(target["masks"].shape), target["boxes"].tolist(),
              target["labels"].tolist(), target["iscrowd"].tolist())
        """,
        timeout=90,
    )
    assert_clean_exit(result)
    raised = next(line for line in result.stdout.splitlines() if line.startswith("RAISED"))
    assert "annotation 7 (image 1," in raised and "[10, 20]" in raised and "[1000000, 1000000]" in raised
    skipped = next(line for line in result.stdout.splitlines() if line.startswith("SKIP"))
    assert skipped == "SKIP 1 (1, 10, 20) [[1.0, 1.0, 5.0, 5.0]] [1] [0]"


@pytest.mark.parametrize(
    ("segmentation", "message"),
    [
        ({"counts": [0, 200]}, "size"),  # no size: a raw KeyError before
        ({"size": [10, 20], "counts": [0, -5, 205]}, "between 0 and"),
        ({"size": [10, 20], "counts": [0, 199]}, "sum to height x width = 10 x 20 = 200, got 199"),
        ({"size": [10, 20, 3], "counts": [200]}, "expected [height, width]"),
        ({"size": [10, 20], "counts": "é"}, "ASCII"),
        ({"size": [10, 20], "counts": "0 "}, "'0' to 'o'"),
        ({"size": [10, 20], "counts": "0o"}, "ends inside a count"),
        ({"size": [10, 20], "counts": [0, 2**70]}, "expected counts between 0 and 4294967295"),
        ([[1.0, 1.0, 5.0, 1.0, 5.0]], "even count of at least 6"),
        ([[1.0, 1.0, 5.0, 1.0]], "even count of at least 6"),  # 4 numbers: pycocotools reads a bbox
        ([[1.0, 1.0, 5.0, 1.0, 5.0, "5"]], "does not fit"),
        ([[1.0, 1.0, 5.0, 1.0, 5.0, float("nan")]], "finite"),
        ([[1.0, 1.0, 5.0, 1.0, 5.0, float("inf")]], "finite"),
        ([[-30.0, 1.0, 5.0, 1.0, 5.0, 5.0]], "far outside the 20x10 image"),
        ([[1.0, 1.0, 19.0, 1.0] * 2000], "outline"),
        ("a string", "does not fit"),
    ],
    ids=[
        "no-size",
        "negative-count",
        "short-counts",
        "size-of-three",
        "non-ascii-string",
        "bad-character",
        "truncated-string",
        "count-beyond-64-bits",
        "odd-polygon",
        "four-number-polygon",
        "string-coordinate",
        "nan-coordinate",
        "inf-coordinate",
        "far-point",
        "endless-outline",
        "string",
    ],
)
def test_a_bad_mask_follows_on_error_and_names_annotation_and_image(
    segmentation: Any, message: str, tmp_path: Path
) -> None:
    file = coco_file(tmp_path, [annotation(7, segmentation), annotation(8, GOOD_POLYGON)])
    with pytest.raises(DatasetValidationError) as caught:
        CocoDetectionDataset(tmp_path, file, masks=True)
    assert caught.value.problems is not None
    assert message in one_problem(caught.value.problems, "annotation 7 (image 1, a.png): segmentation")
    assert str(file) in str(caught.value)
    dataset = CocoDetectionDataset(tmp_path, file, masks=True, on_error="skip")
    assert len(dataset.problems) == 1
    _, target = dataset[0]
    assert target["boxes"].tolist() == [[1.0, 1.0, 5.0, 5.0]] and tuple(target["masks"].shape) == (1, 10, 20)
    # Without masks=True the segmentation is not read, so the box is fine.
    assert len(CocoDetectionDataset(tmp_path, file).index.boxes) == 2


def test_valid_masks_of_every_kind_still_decode_as_pycocotools_does(tmp_path: Path) -> None:
    square = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
    square[2:6, 3:9] = 1
    compressed = coco_mask.encode(np.asfortranarray(square))
    flat = square.flatten(order="F")
    runs = np.diff(np.concatenate([[0], np.flatnonzero(np.diff(flat)) + 1, [flat.size]])).tolist()
    segmentations = [
        GOOD_POLYGON,
        {"size": [HEIGHT, WIDTH], "counts": runs},
        {"size": [HEIGHT, WIDTH], "counts": compressed["counts"].decode("ascii")},
        # a polygon overshooting the border a little, as annotation tools do
        [[-2.0, -1.0, 21.0, -1.0, 21.0, 11.0]],
    ]
    file = coco_file(tmp_path, [annotation(number, value) for number, value in enumerate(segmentations, 1)])
    _, target = CocoDetectionDataset(tmp_path, file, masks=True)[0]
    masks = target["masks"].numpy()
    assert masks.shape == (4, HEIGHT, WIDTH)
    assert np.array_equal(masks[1], square) and np.array_equal(masks[2], square)
    polygon = coco_mask.decode(coco_mask.merge(coco_mask.frPyObjects(GOOD_POLYGON, HEIGHT, WIDTH)))
    assert np.array_equal(masks[0], polygon)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    height=st.integers(1, 12),
    width=st.integers(1, 12),
    counts=st.lists(st.integers(-3, 40), max_size=12),
)
def test_an_uncompressed_rle_passes_the_check_only_when_pycocotools_can_decode_it(
    height: int, width: int, counts: list[int]
) -> None:
    raw = json.dumps({"size": [height, width], "counts": counts}).encode()
    problem = _segmentation_problem(raw, height, width)
    valid = min(counts, default=0) >= 0 and sum(counts) == height * width
    assert (problem is None) == valid, problem
    if valid:
        decoded = coco_mask.decode(
            coco_mask.frPyObjects({"size": [height, width], "counts": counts}, height, width)
        )
        assert int(decoded.sum()) == sum(counts[1::2])


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=[chr(code) for code in range(ord("0"), ord("o") + 1)], max_size=12))
def test_compressed_rle_strings_are_read_as_pycocotools_reads_them(text: str) -> None:
    counts = _rle_string_counts(text)
    if isinstance(counts, str):
        return  # refused: never handed to pycocotools
    if (counts < 0).any() or (counts > 2**32 - 1).any() or counts.sum() == 0 or counts.sum() > 4096:
        return
    total = int(counts.sum())
    # A mask of 1 x total: pycocotools' decoding must give exactly the runs read.
    mask = coco_mask.decode({"size": [1, total], "counts": text.encode("ascii")})
    values = np.repeat(np.arange(len(counts)) % 2, counts).astype(np.uint8)
    assert np.array_equal(mask[0], values)


coordinate = st.one_of(
    st.floats(-40, 60, allow_nan=False),
    st.sampled_from([float("nan"), float("inf"), 1e9, -1e30, 2.0**25]),
)
polygon = st.lists(coordinate, min_size=0, max_size=14)
segmentation = st.one_of(
    st.lists(polygon, max_size=3),
    st.builds(
        lambda h, w, c: {"size": [h, w], "counts": c},
        st.integers(0, 12),
        st.integers(0, 12),
        st.lists(st.integers(-1, 60), max_size=5),
    ),
    st.none(),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    segmentations=st.lists(segmentation, min_size=1, max_size=6),
    sizes=st.lists(st.sampled_from([(0, 0), (10, 20), (5, 5), (12, 12)]), min_size=6, max_size=6),
)
def test_the_whole_file_check_finds_what_the_one_by_one_check_finds(
    segmentations: list[Any], sizes: list[tuple[int, int]]
) -> None:
    # The bulk check (one decode, numpy over every polygon) must miss nothing the careful one refuses.
    raws = [json.dumps(value).encode() for value in segmentations]
    shape = np.array(sizes[: len(raws)], dtype=np.int32)
    expected = [_segmentation_problem(raw, int(h), int(w)) for raw, (h, w) in zip(raws, shape.tolist())]
    assert _segmentation_problems(raws, shape) == expected


# ---------------------------------------------------------------- item 4: duplicate ids and names


def test_duplicate_category_ids_are_refused_naming_the_id_and_both_names(tmp_path: Path) -> None:
    file = coco_file(
        tmp_path, [annotation(1)], categories=[{"id": 1, "name": "cat"}, {"id": 1, "name": "dog"}]
    )
    with pytest.raises(
        DatasetFormatError, match=r"expected distinct ids, got id 1 for 'cat' and 'dog'"
    ) as caught:
        CocoDetectionDataset(tmp_path, file, on_error="skip")
    assert str(file) in str(caught.value)


def test_duplicate_category_names_are_a_named_error_and_the_cli_prints_no_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = coco_file(
        tmp_path, [annotation(1)], categories=[{"id": 1, "name": "cat"}, {"id": 3, "name": "cat"}]
    )
    with pytest.raises(DatasetFormatError, match=r"expected distinct names, got 'cat' for ids 1, 3"):
        CocoDetectionDataset(tmp_path, file)
    # Matched by name, the second category is a problem of its annotations (as before).
    assert CocoDetectionDataset(tmp_path, file, classes=["cat"]).classes == ["cat"]
    status = main(["convert", str(file), str(tmp_path / "out"), "--to", "voc", "--images", str(tmp_path)])
    assert status == 1
    assert "expected distinct names" in capsys.readouterr().err


def test_a_category_named_like_the_background_is_a_named_error(tmp_path: Path) -> None:
    file = coco_file(tmp_path, [annotation(1)], categories=[{"id": 1, "name": "__background__"}])
    with pytest.raises(DatasetFormatError, match="background=False"):
        CocoDetectionDataset(tmp_path, file)
    assert CocoDetectionDataset(tmp_path, file, background=False).classes == ["__background__"]


def test_duplicate_image_ids_leave_out_every_image_of_that_id(tmp_path: Path) -> None:
    write_image(tmp_path / "b.png")
    file = coco_file(
        tmp_path,
        [annotation(1), {"id": 2, "image_id": 2, "category_id": 1, "bbox": [0, 0, 3, 3]}],
        images=[
            {"id": 1, "file_name": "a.png", "width": 20, "height": 10},
            {"id": 1, "file_name": "b.png", "width": 20, "height": 10},
            {"id": 2, "file_name": "b.png", "width": 20, "height": 10},
        ],
    )
    with pytest.raises(DatasetValidationError) as caught:
        CocoDetectionDataset(tmp_path, file)
    assert "'a.png', 'b.png'" in one_problem(caught.value.problems or [], "image id 1 is listed 2 times")
    dataset = CocoDetectionDataset(tmp_path, file, on_error="skip")
    # Which of the two images the annotation of id 1 belongs to cannot be told: neither is kept.
    assert [dataset.image_id(index) for index in range(len(dataset))] == [2]
    assert len(dataset.problems) == 1


def test_duplicate_annotation_ids_are_a_problem_and_the_repeats_are_left_out(tmp_path: Path) -> None:
    file = coco_file(
        tmp_path,
        [
            annotation(5),
            annotation(5, bbox=(2, 2, 3, 3)),
            annotation(6),
            # no ids: not compared
            {"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]},
            {"image_id": 1, "category_id": 1, "bbox": [0, 0, 2, 2]},
        ],
    )
    with pytest.raises(DatasetValidationError) as caught:
        CocoDetectionDataset(tmp_path, file)
    problem = one_problem(caught.value.problems or [], "annotation id 5 is used 2 times")
    assert "annotations[0, 1]" in problem and "distinct ids" in problem
    dataset = CocoDetectionDataset(tmp_path, file, on_error="skip")
    assert dataset.problems == [problem]
    assert dataset[0][1]["boxes"].tolist() == [[1, 1, 5, 5], [1, 1, 5, 5], [0, 0, 1, 1], [0, 0, 2, 2]]


# ---------------------------------------------------------------- item 7: special files


def voc_folder(root: Path, names: tuple[str, ...] = ("a",)) -> Path:
    for name in names:
        write_image(root / f"{name}.jpg")
        (root / f"{name}.xml").write_text(voc_xml(f"{name}.jpg"))
    return root


def voc_xml(
    filename: str, size: tuple[str, str] = ("20", "10"), box: tuple[int, ...] = (2, 2, 6, 6), extra: str = ""
) -> str:
    width, height = size
    size_text = f"<size><width>{width}</width><height>{height}</height></size>" if width or height else ""
    xmin, ymin, xmax, ymax = box
    return (
        f"<annotation><filename>{filename}</filename>{size_text}<object><name>cat</name>{extra}"
        f"<bndbox><xmin>{xmin}</xmin><ymin>{ymin}</ymin><xmax>{xmax}</xmax><ymax>{ymax}</ymax></bndbox>"
        "</object></annotation>"
    )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_a_fifo_or_a_link_to_dev_zero_as_a_voc_xml_is_a_problem_not_a_hang(kind: str, tmp_path: Path) -> None:
    root = voc_folder(tmp_path / "voc")
    result = run_isolated(
        f"""
        import os
        from visiondata.datasets import VOCDetectionDataset
        from visiondata.exceptions import DatasetValidationError
        bad = {str(root / "b.xml")!r}
        if {kind!r} == "fifo":
            os.mkfifo(bad)
        else:
            os.symlink("/dev/zero", bad)
        try:
            VOCDetectionDataset({str(root)!r}, split=None)
        except DatasetValidationError as error:
            print("RAISED", error.problems)
        dataset = VOCDetectionDataset({str(root)!r}, split=None, on_error="skip")
        print("SKIP", len(dataset), dataset.problems)
        """,
        timeout=60,
    )
    assert_clean_exit(result)
    expected = "a FIFO" if kind == "fifo" else "a character device"
    raised = next(line for line in result.stdout.splitlines() if line.startswith("RAISED"))
    assert str(root / "b.xml") in raised and expected in raised
    skipped = next(line for line in result.stdout.splitlines() if line.startswith("SKIP"))
    assert skipped.startswith("SKIP 1 [") and expected in skipped


def test_a_folder_named_like_a_voc_xml_is_a_problem(tmp_path: Path) -> None:
    root = voc_folder(tmp_path / "voc")
    (root / "b.xml").mkdir()
    with pytest.raises(DatasetValidationError) as caught:
        VOCDetectionDataset(root, split=None)
    assert "got a folder" in one_problem(caught.value.problems or [], str(root / "b.xml"))
    assert len(VOCDetectionDataset(root, split=None, on_error="skip")) == 1


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize("what", ["split-list", "coco-json", "coco-dev-zero"])
def test_a_special_file_as_a_split_list_or_a_coco_file_is_a_named_error(what: str, tmp_path: Path) -> None:
    root = voc_folder(tmp_path / "voc")
    target = root / "train.txt" if what == "split-list" else tmp_path / "ann.json"
    reader = (
        f"VOCDetectionDataset({str(root)!r}, split='train')"
        if what == "split-list"
        else f"CocoDetectionDataset({str(root)!r}, {str(target)!r})"
    )
    result = run_isolated(
        f"""
        import os
        from visiondata.datasets import CocoDetectionDataset, VOCDetectionDataset
        from visiondata.exceptions import DatasetFormatError
        if {what!r} == "coco-dev-zero":
            os.symlink("/dev/zero", {str(target)!r})
        else:
            os.mkfifo({str(target)!r})
        try:
            {reader}
        except DatasetFormatError as error:
            print("RAISED", error)
        """,
        timeout=60,
    )
    assert_clean_exit(result)
    assert f"RAISED {target}" in result.stdout
    assert ("a character device" if what == "coco-dev-zero" else "a FIFO") in result.stdout


def test_a_voc_split_list_that_is_not_text_is_a_named_error(tmp_path: Path) -> None:
    root = voc_folder(tmp_path / "voc")
    (root / "train.txt").write_bytes(b"a\n\xff\xfe\n")
    with pytest.raises(DatasetFormatError, match=r"train\.txt: VOC split list: expected UTF-8"):
        VOCDetectionDataset(root, split="train")


# ---------------------------------------------------------------- item 9: zero-area boxes after clipping


@pytest.mark.parametrize("on_error", ["skip", "warn"])
def test_a_coco_box_beyond_an_undeclared_image_is_left_out_and_counted_not_emitted_flat(
    on_error: str, tmp_path: Path
) -> None:
    file = coco_file(
        tmp_path,
        [
            annotation(1, GOOD_POLYGON, bbox=(30, 1, 10, 4)),  # wholly right of the 20-wide image
            annotation(2, GOOD_POLYGON, bbox=(20, 1, 0.01, 4)),  # on the border: within the tolerance
            annotation(3, GOOD_POLYGON, bbox=(1, 1, 4, 4)),
        ],
        images=[{"id": 1, "file_name": "a.png"}],
    )
    with pytest.raises(InvalidBoxesError, match="outside the decoded 20x10 image"):
        CocoDetectionDataset(tmp_path, file)[0]
    dataset = CocoDetectionDataset(tmp_path, file, on_error=on_error, masks=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, target = dataset[0]
    assert target["boxes"].tolist() == [[1, 1, 5, 5]]
    assert target["labels"].tolist() == [1] and target["iscrowd"].tolist() == [0]
    assert tuple(target["masks"].shape) == (1, 10, 20) and target["area"].tolist() == [16]
    assert tuple(target["boxes"].canvas_size) == (10, 20)
    assert any(
        "no area once clipped to the decoded 20x10 image (2 such boxes)" in p for p in dataset.problems
    )
    assert any(issubclass(w.category, SkippedSampleWarning) for w in caught) == (on_error == "warn")


def test_a_coco_box_on_the_border_of_an_undeclared_image_raises_under_raise(tmp_path: Path) -> None:
    file = coco_file(
        tmp_path, [annotation(2, bbox=(20, 1, 0.01, 4))], images=[{"id": 1, "file_name": "a.png"}]
    )
    with pytest.raises(InvalidBoxesError, match="no area once clipped"):
        CocoDetectionDataset(tmp_path, file)[0]


def test_a_voc_box_beyond_an_image_of_no_declared_size_is_left_out_and_counted(tmp_path: Path) -> None:
    root = tmp_path / "voc"
    write_image(root / "a.jpg")
    (root / "a.xml").write_text(
        voc_xml("a.jpg", size=("", ""), box=(25, 2, 30, 6)).replace(
            "</annotation>",
            "<object><name>cat</name><bndbox><xmin>2</xmin><ymin>2</ymin><xmax>6</xmax><ymax>6</ymax>"
            "</bndbox></object></annotation>",
        )
    )
    with pytest.raises(InvalidBoxesError):
        VOCDetectionDataset(root, split=None)[0]
    dataset = VOCDetectionDataset(root, split=None, on_error="skip")
    _, target = dataset[0]
    assert target["boxes"].tolist() == [[1, 1, 6, 6]]
    assert target["difficult"].tolist() == [0] and dataset.classes[target["labels"].item()] == "cat"
    assert any("no area once clipped" in problem for problem in dataset.problems)


# ---------------------------------------------------------------- item 14: malformed values


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"images": [{"id": 2**63, "file_name": "a.png"}]}, "images[0].id"),
        ({"images": [{"id": 1, "file_name": "a.png", "width": float("inf")}]}, "images[0].width"),
        ({"images": [{"id": 1, "file_name": "a.png", "width": float("nan")}]}, "images[0].width"),
        ({"images": [{"id": 1, "file_name": "a.png", "height": -5}]}, "images[0].height"),
        ({"images": [{"id": 1, "file_name": "a.png", "height": 10**12}]}, "images[0].height"),
        ({"images": [], "categories": [{"id": 2**64, "name": "x"}]}, "categories[0].id"),
        ({"categories": []}, "images"),
    ],
    ids=[
        "image-id-2^63",
        "inf-width",
        "nan-width",
        "negative-height",
        "huge-height",
        "category-id-2^64",
        "no-images",
    ],
)
def test_malformed_file_level_values_are_fatal_named_format_errors(
    document: dict[str, Any], message: str, tmp_path: Path
) -> None:
    file = tmp_path / "ann.json"
    file.write_text(json.dumps(document))
    for on_error in ("raise", "skip"):
        with pytest.raises(DatasetFormatError, match=r"not a COCO annotation file") as caught:
            CocoDetectionDataset(tmp_path, file, on_error=on_error)
        assert str(file) in str(caught.value) and message in str(caught.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"images": [{"id": 1, "file_name": "\xff\xfe.png"}]}', "not valid JSON"),
        (b'{"info": ' + b"[" * 100000 + b"]" * 100000 + b', "images": []}', "nested too deeply"),
    ],
    ids=["not-utf8", "100k-deep"],
)
def test_undecodable_or_deep_json_is_a_named_format_error(
    content: bytes, message: str, tmp_path: Path
) -> None:
    file = tmp_path / "ann.json"
    file.write_bytes(content)
    with pytest.raises(DatasetFormatError, match=message) as caught:
        CocoDetectionDataset(tmp_path, file, masks=True)
    assert isinstance(caught.value, VisionDataError) and str(file) in str(caught.value)


BAD_ANNOTATIONS = {
    "id-2^63": (annotation(2**63), "Expected `int` <= 9223372036854775807 - at `$.id`"),
    "id-2^64": (annotation(2**64), "at `$.id`"),
    "image-id-2^63": ({"id": 7, "image_id": 2**63, "category_id": 1, "bbox": [1, 1, 2, 2]}, "$.image_id"),
    "bbox-of-3": (annotation(7, bbox=(1, 2, 3)), "Expected `array` of length 4 - at `$.bbox`"),
    "bbox-of-strings": (annotation(7, bbox=("1", "2", "3", "4")), "got `str` - at `$.bbox[0]`"),
    "no-category": ({"id": 7, "image_id": 1, "bbox": [1, 1, 2, 2]}, "category_id"),
    "string-iscrowd": (annotation(7, iscrowd="yes"), "$.iscrowd"),
    "not-an-object": ([1, 2], "Expected `object`"),
}


@pytest.mark.parametrize("name", sorted(BAD_ANNOTATIONS))
@pytest.mark.parametrize("masks", [False, True])
def test_a_malformed_annotation_is_a_problem_of_its_own_under_on_error(
    name: str, masks: bool, tmp_path: Path
) -> None:
    bad, message = BAD_ANNOTATIONS[name]
    file = coco_file(
        tmp_path, [annotation(1, GOOD_POLYGON), bad, annotation(2, GOOD_POLYGON, bbox=(2, 2, 3, 3))]
    )
    with pytest.raises(DatasetValidationError) as caught:
        CocoDetectionDataset(tmp_path, file, masks=masks)
    problems = caught.value.problems or []
    assert len(problems) == 1 and "(annotations[1]): not a COCO annotation" in problems[0]
    assert message in problems[0]
    dataset = CocoDetectionDataset(tmp_path, file, masks=masks, on_error="skip")
    assert dataset.problems == problems
    assert dataset[0][1]["boxes"].tolist() == [[1, 1, 5, 5], [2, 2, 5, 5]]


def test_a_malformed_annotation_in_a_file_with_nan_is_a_problem_of_its_own(tmp_path: Path) -> None:
    file = coco_file(
        tmp_path,
        [annotation(1), annotation(2, bbox=(1, 2, 3)), annotation(3, bbox=(float("nan"), 1, 2, 2))],
    )
    dataset = CocoDetectionDataset(tmp_path, file, on_error="skip")
    assert [problem.split(":")[0] for problem in dataset.problems] == [
        "annotation 2 (annotations[1])",
        "annotation 3 (image 1, a.png)",
    ]
    assert dataset[0][1]["boxes"].tolist() == [[1, 1, 5, 5]]


@pytest.mark.parametrize(
    ("size", "message"),
    [
        (("inf", "10"), "<size/width>: expected a whole number, got 'inf'"),
        (("nan", "10"), "<size/width>: expected a whole number, got 'nan'"),
        (("20", "-5"), "<size/height>: expected a whole number from 0 to 2147483647, got '-5'"),
        (("1e30", "10"), "got '1e30'"),
        (("twenty", "10"), "got 'twenty'"),
    ],
    ids=["inf", "nan", "negative", "huge", "word"],
)
def test_a_voc_file_with_a_malformed_size_is_a_problem_naming_it(
    size: tuple[str, str], message: str, tmp_path: Path
) -> None:
    root = voc_folder(tmp_path / "voc")
    write_image(root / "b.jpg")
    (root / "b.xml").write_text(voc_xml("b.jpg", size=size))
    with pytest.raises(DatasetValidationError) as caught:
        VOCDetectionDataset(root, split=None)
    assert message in one_problem(caught.value.problems or [], "b.xml:")
    dataset = VOCDetectionDataset(root, split=None, on_error="skip")
    assert [dataset.relative_path(index) for index in range(len(dataset))] == ["a.jpg"]


@pytest.mark.parametrize("value", ["inf", "1e30", "2", "yes"])
def test_a_voc_object_with_a_malformed_flag_is_a_problem_of_that_object(value: str, tmp_path: Path) -> None:
    root = voc_folder(tmp_path / "voc", ())
    write_image(root / "b.jpg")
    (root / "b.xml").write_text(voc_xml("b.jpg", extra=f"<difficult>{value}</difficult>"))
    with pytest.raises(DatasetValidationError) as caught:
        VOCDetectionDataset(root, split=None)
    assert "<difficult>: expected a whole number" in one_problem(
        caught.value.problems or [], "b.xml object 1 ('cat')"
    )


def test_a_voc_file_that_is_not_utf8_is_a_problem_naming_it(tmp_path: Path) -> None:
    root = voc_folder(tmp_path / "voc")
    write_image(root / "b.jpg")
    (root / "b.xml").write_bytes(voc_xml("b\xe9.jpg").encode("latin-1"))  # no encoding declared
    with pytest.raises(DatasetValidationError) as caught:
        VOCDetectionDataset(root, split=None)
    assert "not valid XML" in one_problem(caught.value.problems or [], "b.xml:")
    # Declared, the encoding is honoured.
    (root / "b.xml").write_bytes(
        b'<?xml version="1.0" encoding="latin-1"?>' + voc_xml("b.jpg").encode("latin-1")
    )
    assert len(VOCDetectionDataset(root, split=None)) == 2


# ---------------------------------------------------------------- item 17: split ids, NaN with masks


@pytest.mark.parametrize("listed", ["../../outside", "../outside", "/ABS/outside"])
def test_a_voc_split_id_outside_the_annotations_folder_is_refused_and_counted(
    listed: str, tmp_path: Path
) -> None:
    base = tmp_path / "data" / "VOC2007"
    (base / "Annotations").mkdir(parents=True)
    (base / "ImageSets" / "Main").mkdir(parents=True)
    write_image(base / "JPEGImages" / "a.jpg")
    (base / "Annotations" / "a.xml").write_text(voc_xml("a.jpg"))
    # An annotation file outside Annotations/ that the id would reach.
    outside = tmp_path / "data" / "outside.xml" if listed == "../../outside" else base / "outside.xml"
    outside.write_text(voc_xml("a.jpg", box=(1, 1, 3, 3)))
    listed = listed.replace("/ABS", str(tmp_path / "data"))
    (base / "ImageSets" / "Main" / "train.txt").write_text(f"a\n{listed}\n")
    with pytest.raises(DatasetValidationError) as caught:
        VOCDetectionDataset(base, split="train")
    problem = one_problem(
        caught.value.problems or [], str(base / "ImageSets" / "Main" / "train.txt") + " line 2"
    )
    assert repr(listed) in problem and "outside" in problem
    dataset = VOCDetectionDataset(base, split="train", on_error="skip")
    assert len(dataset) == 1 and len(dataset.problems) == 1
    assert dataset[0][1]["boxes"].tolist() == [[1, 1, 6, 6]]


def test_a_flat_voc_split_id_outside_the_folder_is_refused(tmp_path: Path) -> None:
    root = voc_folder(tmp_path / "voc")
    (tmp_path / "evil.xml").write_text(voc_xml("a.jpg"))
    (root / "train.txt").write_text("a\n../evil\n")
    dataset = VOCDetectionDataset(root, split="train", on_error="skip")
    assert len(dataset) == 1 and "'../evil'" in dataset.problems[0]


def test_masks_accept_a_file_with_nan_in_an_unrelated_field(tmp_path: Path) -> None:
    file = coco_file(tmp_path, [annotation(1, GOOD_POLYGON)], info={"score": float("nan")})
    assert "NaN" in file.read_text()
    dataset = CocoDetectionDataset(tmp_path, file, masks=True)
    _, target = dataset[0]
    assert tuple(target["masks"].shape) == (1, 10, 20) and int(target["masks"].sum()) > 0


def test_masks_refuse_nan_only_in_the_annotation_that_holds_it(tmp_path: Path) -> None:
    file = coco_file(
        tmp_path,
        [
            annotation(1, [[1.0, 1.0, float("nan"), 1.0, 5.0, 5.0]]),
            annotation(2, GOOD_POLYGON, bbox=(float("nan"), 1, 2, 2)),
            annotation(3, GOOD_POLYGON),
        ],
    )
    dataset = CocoDetectionDataset(tmp_path, file, masks=True, on_error="skip")
    assert len(dataset.problems) == 2
    assert "expected finite coordinates" in one_problem(dataset.problems, "annotation 1 (image 1, a.png)")
    assert "finite" in one_problem(dataset.problems, "annotation 2 (image 1, a.png)")
    _, target = dataset[0]
    assert target["boxes"].tolist() == [[1, 1, 5, 5]] and tuple(target["masks"].shape) == (1, 10, 20)
    assert torch.equal(
        target["masks"][0],
        CocoDetectionDataset(tmp_path, file, masks=True, on_error="skip")[0][1]["masks"][0],
    )
