"""Argument checks at their call sites, now through ``visiondata._arguments`` (issue 19, "One room for formats").

Each test is a value a call site accepted silently (a ``bool`` taken as an ``int``, a truthy string taken as
``True``, a NaN vertex) or a dependency it should not have had; the messages keep the project's shape
``"<name>: expected ..., got <repr>"``.
"""

from __future__ import annotations

import argparse
import ast
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from visiondata._arguments import non_negative_int_option as non_negative_int
from visiondata._arguments import positive_int_option as positive_int
from visiondata.exceptions import DatasetValidationError
from visiondata.formats import LabelMeDataset, voc_palette
from visiondata.formats._mask_folder import SegmentationFolderDataset
from visiondata.io import read_image
from visiondata.io._read import decode_with_pil
from visiondata.shards._commands import jpeg_quality


def _png(path: Path, size: tuple[int, int] = (40, 30), mode: str = "RGB") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size).save(path)
    return path


# ------------------------------------------------------------------------------------- bool is no count
def test_voc_palette_refuses_a_bool_count() -> None:
    # True used to pass as 1 and give a one-colour palette without a word.
    with pytest.raises(ValueError, match=r"count: expected a whole number from 0 to 256, got True"):
        voc_palette(True)
    assert len(voc_palette(np.int64(3))) == 3  # numpy's ints (read from arrays) are still whole numbers
    with pytest.raises(ValueError, match=r"count: expected a whole number from 0 to 256, got 257"):
        voc_palette(257)


def test_mask_folder_ignore_index_takes_numpy_ints_and_refuses_bools(tmp_path: Path) -> None:
    _png(tmp_path / "images" / "a.png", (4, 2))
    _png(tmp_path / "masks" / "a.png", (4, 2), mode="L")
    dataset = SegmentationFolderDataset(tmp_path / "images", tmp_path / "masks", ignore_index=np.uint8(255))
    assert dataset.ignore_index == 255 and type(dataset.ignore_index) is int
    with pytest.raises(
        ValueError, match=r"ignore_index: expected None or the id of void pixels .*, got True"
    ):
        SegmentationFolderDataset(tmp_path / "images", tmp_path / "masks", ignore_index=True)


# ------------------------------------------------------------------------------ truthy text is no flag
@pytest.mark.parametrize("strict", ["no", 0, 1.0])
def test_read_image_refuses_a_strict_that_is_not_a_bool(tmp_path: Path, strict: object) -> None:
    # "no" used to be truthy, so read_image(strict="no") decoded strictly: the opposite of what was asked.
    path = _png(tmp_path / "a.png")
    with pytest.raises(TypeError, match=r"strict: expected True, False or None, got "):
        read_image(path, strict=strict)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"strict: expected True, False or None, got "):
        decode_with_pil(path, np.asarray, strict=strict)  # type: ignore[arg-type]
    assert read_image(path, strict=None).shape == (3, 30, 40)
    assert read_image(path, strict=False).shape == (3, 30, 40)


def test_read_image_mode_and_output_keep_their_messages(tmp_path: Path) -> None:
    path = _png(tmp_path / "a.png")
    with pytest.raises(ValueError, match=r"^mode: expected one of 'RGB', 'L', 'unchanged', got 'rgb'$"):
        read_image(path, mode="rgb")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^output: expected one of 'tensor', 'pil', 'numpy', got True$"):
        read_image(path, output=True)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------- NaN is no coordinate
def test_labelme_polygon_with_a_nan_vertex_is_a_problem(tmp_path: Path) -> None:
    # Python's json reads NaN; min()/max() skip a NaN that is not first, so the box looked whole while
    # the polygon (and its mask) kept a NaN vertex: accepted without a word before.
    _png(tmp_path / "a.png")
    document = {
        "version": "5.4.1",
        "flags": {},
        "shapes": [
            {
                "label": "cat",
                "points": [[2, 2], [float("nan"), 2], [12, 10]],
                "group_id": None,
                "description": "",
                "shape_type": "polygon",
                "flags": {},
            }
        ],
        "imagePath": "a.png",
        "imageData": None,
        "imageHeight": 30,
        "imageWidth": 40,
    }
    (tmp_path / "a.json").write_text(json.dumps(document))  # writes the bare token NaN
    assert "NaN" in (tmp_path / "a.json").read_text()
    with pytest.raises(
        DatasetValidationError, match=r"a\.json shape 0 .*polygon points: expected a finite number, got nan"
    ):
        LabelMeDataset(tmp_path, classes=["cat"], masks=True)
    skipped = LabelMeDataset(tmp_path, classes=["cat"], masks=True, on_error="skip")
    assert len(skipped) == 1 and skipped[0][1]["boxes"].shape == (0, 4)
    assert any("expected a finite number, got nan" in problem for problem in skipped.problems)


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_labelme_masks_takes_only_a_bool(tmp_path: Path, value: object) -> None:
    with pytest.raises(TypeError, match=r"^masks: expected True or False, got "):
        LabelMeDataset(tmp_path, masks=value)  # type: ignore[arg-type]


# -------------------------------------------------------------------------- shards without training
def test_the_shards_package_does_not_depend_on_training() -> None:
    # `visiondata export`'s options took positive_int from visiondata.training._jobs: shards depended on
    # training. (visiondata/__init__ imports both, so sys.modules cannot tell; the imports can.)
    import visiondata.shards

    offending = []
    for module in sorted(Path(visiondata.shards.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            offending += [
                f"{module.name}: {name}" for name in names if name.startswith("visiondata.training")
            ]
    assert offending == []


@pytest.mark.parametrize(
    ("parse", "text", "message"),
    [
        (positive_int, "0", "expected a positive integer, got '0'"),
        (positive_int, "three", "expected a positive integer, got 'three'"),
        (non_negative_int, "-1", "expected an integer >= 0, got '-1'"),
        (non_negative_int, "x", "expected an integer >= 0, got 'x'"),
        (jpeg_quality, "101", "expected an integer from 1 to 100, got '101'"),
        (jpeg_quality, "0", "expected an integer from 1 to 100, got '0'"),
    ],
)
def test_export_option_messages_are_kept(parse, text: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as raised:
        parse(text)
    assert str(raised.value) == message


def test_export_options_read_good_values() -> None:
    assert (positive_int("3"), non_negative_int("0"), jpeg_quality("100")) == (3, 0, 100)


def test_write_shards_quality_message_names_the_range(tmp_path: Path) -> None:
    from visiondata.shards import write_shards

    # 0 and 101 used to get two different messages ("a positive integer", "1 to 100"); now one, as the CLI's.
    for quality in (0, 101, True):
        with pytest.raises(
            ValueError, match=rf"^quality: expected an integer from 1 to 100, got {quality!r}$"
        ):
            write_shards([], str(tmp_path / "s-%06d.tar"), quality=quality)
