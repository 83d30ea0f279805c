"""Issue 18, transforms: label counts, size bounds, spec files, ``visiondata preview`` arguments, seed=None.

Every test here failed on the code before the fix (a silently wrong label, a raw ZeroDivisionError or
RuntimeError, a hang on a FIFO, a traceback from the command line, or a crop that ignored
``torch.manual_seed``).
"""

from __future__ import annotations

import functools
import math
import os
import re
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from isolated import assert_clean_exit, run_isolated
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import tv_tensors

from visiondata.cli import main
from visiondata.collate import detection_collate, padded_boxes_collate, padded_collate, yolo_collate
from visiondata.exceptions import (
    DatasetFormatError,
    InvalidBoxesError,
    OutputConflictError,
    TransformSpecError,
)
from visiondata.transforms import BoxPipeline, MixUp, Mosaic
from visiondata.viz import save_grid

BACKENDS = ["torchvision", "albumentations"]
COLLATES = [detection_collate, padded_collate, yolo_collate, padded_boxes_collate]


def image(height: int = 20, width: int = 20) -> torch.Tensor:
    return torch.arange(3 * height * width, dtype=torch.int64).reshape(3, height, width).remainder(251).byte()


def pair(
    labels: list[int], boxes: list[list[float]] | None = None, **fields: Any
) -> tuple[Any, dict[str, Any]]:
    boxes = [[1.0, 1.0, 5.0, 5.0], [12.0, 12.0, 18.0, 18.0]] if boxes is None else boxes
    target = {"boxes": torch.tensor(boxes), "labels": torch.tensor(labels), **fields}
    return tv_tensors.Image(image()), target


# ------------------------------------------------------------------ item 10: one label per box, everywhere


@pytest.mark.parametrize("backend", BACKENDS)
def test_pipeline_refuses_fewer_labels_than_boxes_instead_of_shifting_them(backend: str) -> None:
    # Before: the crop dropped box 1 and box 0 came out with the label 7 that was given for... one of them.
    pipeline = BoxPipeline(
        [{"name": "Crop", "top": 0, "left": 0, "height": 10, "width": 10}], backend=backend
    )
    sample = {"image": image(), "boxes": torch.tensor([[12.0, 12.0, 18.0, 18.0], [1.0, 1.0, 5.0, 5.0]])}
    with pytest.raises(InvalidBoxesError) as error:
        pipeline({**sample, "labels": torch.tensor([7])})
    assert isinstance(error.value, ValueError)
    assert str(error.value) == (
        "labels: a per-box field, so expected one row per box (2 boxes), got 1; boxes and labels must describe the "
        "same objects in the same order: fix the annotation (or the step that changed one without the other)"
    )


@pytest.mark.parametrize(
    ("field", "value", "got"),
    [
        ("labels", [1, 2, 3], "3"),
        ("labels", torch.tensor(4), "a single value tensor(4)"),
        ("iscrowd", torch.zeros(3, dtype=torch.int64), "3"),
        ("area", np.ones(1), "1"),
        ("difficult", [0], "1"),
    ],
)
def test_pipeline_names_every_per_box_field_of_another_length(field: str, value: Any, got: str) -> None:
    target = {
        "boxes": torch.tensor([[1.0, 1.0, 5.0, 5.0], [2.0, 2.0, 6.0, 6.0]]),
        "labels": [1, 2],
        field: value,
    }
    with pytest.raises(InvalidBoxesError) as error:
        BoxPipeline(["HorizontalFlip"])(image(), target)
    assert str(error.value) == (
        f"{field}: a per-box field, so expected one row per box (2 boxes), got {got}; boxes and {field} must "
        "describe the same objects in the same order: fix the annotation (or the step that changed one without "
        "the other)"
    )


def test_pipeline_refuses_instance_masks_of_another_count_as_invalid_boxes() -> None:
    target = {"boxes": torch.tensor([[1.0, 1.0, 5.0, 5.0]]), "labels": [1], "masks": torch.zeros(2, 20, 20)}
    with pytest.raises(InvalidBoxesError) as error:
        BoxPipeline(["HorizontalFlip"])(image(), target)
    assert str(error.value) == (
        "masks: expected one row per box (1 boxes), got 2 (shape (2, 20, 20)); boxes and masks must describe the "
        "same objects in the same order: fix the annotation (or the step that changed one without the other)"
    )


@pytest.mark.parametrize("mix", ["mosaic", "mixup", "mosaic-unmixed"])
def test_mosaic_and_mixup_refuse_a_sample_with_fewer_labels_than_boxes(mix: str) -> None:
    # Before: Mosaic emitted 8 boxes with 1 label (the labels were not a per-box field at all).
    dataset = [pair([3])] * 4
    build = {
        "mosaic": lambda: Mosaic(dataset, size=64, seed=0),
        "mixup": lambda: MixUp(dataset, p=1.0, seed=0),
        "mosaic-unmixed": lambda: Mosaic(dataset, size=64, p=0.0, seed=0),
    }[mix]
    with pytest.raises(InvalidBoxesError) as error:
        build()[0]
    name = "MixUp" if mix == "mixup" else "Mosaic"
    assert str(error.value) == (
        f"{name}: dataset[0]: labels: a per-box field, so expected one row per box (2 boxes), got 1; boxes and "
        "labels must describe the same objects in the same order: fix the annotation (or the step that changed one "
        "without the other)"
    )


def test_mosaic_keeps_one_label_per_box_when_the_counts_agree() -> None:
    dataset = [pair([3, 4])] * 4
    _, target = Mosaic(dataset, size=64, seed=0)[0]
    assert len(target["labels"]) == len(target["boxes"])


@pytest.mark.parametrize("collate", COLLATES, ids=lambda f: f.__name__)
def test_every_collate_refuses_a_label_count_that_differs_from_the_boxes(collate: Any) -> None:
    # Before: padded_boxes_collate copied the one box into three valid slots; yolo_collate raised a raw
    # RuntimeError; the others passed the mismatch on to the model.
    good = (
        torch.zeros(3, 8, 8),
        {"boxes": torch.tensor([[0.0, 0.0, 2.0, 2.0]]), "labels": torch.tensor([4])},
    )
    bad = (
        torch.zeros(3, 8, 8),
        {"boxes": torch.tensor([[0.0, 0.0, 2.0, 2.0]]), "labels": torch.tensor([4, 5, 6])},
    )
    with pytest.raises(InvalidBoxesError) as error:
        collate([good, bad])
    assert str(error.value) == (
        f"{collate.__name__}: sample 1 of the batch: labels: expected one row per box (1 boxes), got 3; boxes and "
        "labels must describe the same objects in the same order: fix the annotation (or the step that changed one "
        "without the other)"
    )


@pytest.mark.parametrize("collate", COLLATES, ids=lambda f: f.__name__)
def test_every_collate_refuses_boxes_without_labels_and_masks_of_another_count(collate: Any) -> None:
    # Before: padded_boxes_collate counted boxes by their labels, so boxes without labels vanished.
    boxes = torch.tensor([[0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 3.0, 3.0]])
    with pytest.raises(InvalidBoxesError) as error:
        collate([(torch.zeros(3, 8, 8), {"boxes": boxes})])
    assert str(error.value) == (
        f"{collate.__name__}: sample 0 of the batch: labels: expected one row per box (2 boxes), got no 'labels' "
        "key; give each box its class in target['labels']"
    )
    masked = {"boxes": boxes, "labels": torch.tensor([1, 2]), "masks": torch.zeros(1, 8, 8)}
    with pytest.raises(InvalidBoxesError) as error:
        collate([(torch.zeros(3, 8, 8), masked)])
    assert str(error.value) == (
        f"{collate.__name__}: sample 0 of the batch: masks: expected one row per box (2 boxes), got 1 (shape "
        "(1, 8, 8)); boxes and masks must describe the same objects in the same order: fix the annotation (or the "
        "step that changed one without the other)"
    )


def test_collates_still_take_targets_without_boxes() -> None:
    out = padded_boxes_collate([(torch.zeros(3, 8, 8), {}), (torch.zeros(3, 8, 8), {"image_id": 1})])
    assert out["boxes"].shape == (2, 0, 4) and out["labels"].shape == (2, 0)


@pytest.mark.parametrize(
    ("labels", "got"),
    [([1], "1"), (torch.tensor(3), "a single value tensor(3)")],
    ids=["one-label", "scalar"],
)
def test_preview_drawing_refuses_labels_that_do_not_match_the_boxes(
    tmp_path: Path, labels: Any, got: str
) -> None:
    # Before: a scalar label raised a raw TypeError (len() of a 0-d tensor), outside the CLI's error handling.
    sample = (
        image(),
        {"boxes": torch.tensor([[1.0, 1.0, 5.0, 5.0], [2.0, 2.0, 8.0, 8.0]]), "labels": labels},
    )
    with pytest.raises(InvalidBoxesError) as error:
        save_grid([sample], tmp_path / "grid.png")
    assert str(error.value) == (
        f"labels: expected one row per box (2 boxes), got {got}; boxes and labels must describe the same objects "
        "in the same order: fix the annotation (or the step that changed one without the other)"
    )
    assert not (tmp_path / "grid.png").exists()


# ------------------------------------------------------------------ item 17: bounds, empty images, alpha, float16


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"name": "Resize", "size": 10**9}, "size: expected a positive int at most 32768"),
        (
            {"name": "Resize", "size": [40000, 10]},
            "size: expected a positive int or (height, width), each at most 32768",
        ),
        ({"name": "LongestMaxSize", "max_size": 10**6}, "max_size: expected a positive int at most 32768"),
        ({"name": "SmallestMaxSize", "max_size": 10**6}, "max_size: expected a positive int at most 32768"),
        ({"name": "RandomResizedCrop", "size": 10**5}, "size: expected a positive int or (height, width)"),
        ({"name": "RandomCrop", "size": [10, 10**6]}, "size: expected a positive int or (height, width)"),
        ({"name": "CenterCrop", "size": 10**6}, "size: expected a positive int or (height, width)"),
        (
            {"name": "PadIfNeeded", "min_height": 10**6, "min_width": 4},
            "min_height: expected a positive int at most",
        ),
        ({"name": "Pad", "padding": 10**6}, "padding: expected an int >= 0"),
        (
            {"name": "Crop", "top": 10**9, "left": 0, "height": 4, "width": 4},
            "top: expected an int >= 0 and at most",
        ),
        (
            {"name": "GaussianBlur", "kernel_size": 10**6 + 1},
            "kernel_size: expected an odd positive int or two, each at most 1023",
        ),
        ({"name": "GaussianBlur", "kernel_size": True}, "kernel_size: expected an odd positive int"),
        ({"name": "RandomIoUCrop", "trials": 10**9}, "trials: expected a positive int at most 10000"),
        ({"name": "RandomIoUCrop", "sampler_options": [0.1, math.nan]}, "sampler_options: expected a list"),
        ({"name": "RandomScale", "scale": [1.0, 1e9]}, "scale: expected min <= max within [0.001, 32768]"),
    ],
)
def test_sizes_are_bounded_when_the_pipeline_is_built(spec: dict[str, Any], expected: str) -> None:
    with pytest.raises(TransformSpecError) as error:
        BoxPipeline(["HorizontalFlip", spec])
    assert str(error.value).startswith(f"transforms[1] ({spec['name']}): ")
    assert expected in str(error.value)
    assert "got" in str(error.value)


@pytest.mark.parametrize(
    ("spec", "backend", "expected"),
    [
        (
            {"name": "RandomIoUCrop", "sampler_options": 0.5},
            "torchvision",
            "sampler_options: expected a list",
        ),
        ({"name": "GaussianNoise", "mean": 10**12}, "albumentations", "mean: expected a number in [-1, 1]"),
        ({"name": "GaussianNoise", "sigma": 5}, "torchvision", "sigma: expected a number in [0, 1]"),
    ],
)
def test_sweep_of_parameter_values_that_raised_raw_errors(
    spec: dict[str, Any], backend: str, expected: str
) -> None:
    # Before: TypeError ('float' object is not iterable), albumentations' pydantic ValidationError.
    with pytest.raises(TransformSpecError, match=re.escape(expected)):
        BoxPipeline([spec], backend=backend)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            {"name": "Pad", "padding": 1, "fill": -1},
            "fill: expected values in 0..255 for a uint8 image, got -1.0",
        ),
        (
            {"name": "Rotate", "degrees": 5, "fill": [1, 2]},
            "fill: expected one number or one per channel (3 channels)",
        ),
    ],
)
def test_a_fill_the_image_cannot_take_is_named_when_called(spec: dict[str, Any], expected: str) -> None:
    # Before: torch's RuntimeError (overflow to uint8_t) or ValueError (broadcast) from inside the kernel.
    with pytest.raises(TransformSpecError, match=re.escape(expected)):
        BoxPipeline([spec])({"image": image(), "boxes": torch.tensor([[1.0, 1.0, 5.0, 5.0]])})


def test_an_extreme_crop_ratio_falls_back_to_a_crop_of_at_least_one_pixel() -> None:
    # Before: the central fallback rounded the height to 0 and the resize raised a raw RuntimeError.
    out = BoxPipeline([{"name": "RandomResizedCrop", "size": 8, "ratio": [1e9, 1e9]}], seed=0)(
        {"image": image(16, 16)}
    )
    assert out["image"].shape == (3, 8, 8)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("spec", "made"),
    [
        ({"name": "Resize", "size": 30000}, "30000x30000000"),
        ({"name": "SmallestMaxSize", "max_size": 30000}, "30000x30000000"),
        ({"name": "RandomScale", "scale": [1.0, 3000.0]}, "3000x3000000"),
    ],
)
def test_a_step_that_would_exceed_the_largest_side_is_refused_before_it_allocates(
    backend: str, spec: dict[str, Any], made: str
) -> None:
    # The shorter side of a 1 x 1000 image resized to 30000 makes a 30000 x 30 000 000 image (2.7 TB in RGB).
    pipeline = BoxPipeline([{**spec, "p": 1.0}], backend=backend)
    name = spec["name"]
    with pytest.raises(TransformSpecError, match=rf"transforms\[0\] \({name}\): .*{made} .*at most 32768"):
        pipeline({"image": torch.zeros(1, 1, 1000, dtype=torch.uint8)})


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_input_already_larger_than_the_bound_still_flips(backend: str) -> None:
    out = BoxPipeline([{"name": "HorizontalFlip", "p": 1.0}], backend=backend)(
        {"image": torch.zeros(1, 2, 40000, dtype=torch.uint8)}
    )
    assert tuple(out["image"].shape[-2:]) == (2, 40000)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_blur_kernel_larger_than_the_image_is_a_named_error(backend: str) -> None:
    pipeline = BoxPipeline([{"name": "GaussianBlur", "kernel_size": 101}], backend=backend)
    with pytest.raises(TransformSpecError, match=r"kernel_size 101x101 does not fit the 10x10 image"):
        pipeline({"image": image(10, 10)})


@pytest.mark.parametrize(
    "name", ["Resize", "LongestMaxSize", "SmallestMaxSize", "RandomResizedCrop", "RandomScale"]
)
@pytest.mark.parametrize("shape", [(3, 0, 0), (3, 0, 5), (3, 5, 0)])
def test_an_image_without_pixels_is_a_named_error_not_a_division_by_zero(
    name: str, shape: tuple[int, ...]
) -> None:
    spec: dict[str, Any] = {"name": name, "p": 1.0}
    if name in ("Resize", "RandomResizedCrop"):
        spec["size"] = 8
    elif name != "RandomScale":
        spec["max_size"] = 8
    with pytest.raises(TransformSpecError, match=r"^image: expected at least 1 x 1 pixels, got shape"):
        BoxPipeline([spec], seed=0)(
            {"image": torch.zeros(shape, dtype=torch.uint8), "boxes": torch.zeros(0, 4)}
        )


@pytest.mark.parametrize("mix", [Mosaic, MixUp])
def test_mosaic_and_mixup_name_a_sample_without_pixels(mix: type) -> None:
    empty = (torch.zeros(3, 0, 0, dtype=torch.uint8), {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0)})
    with pytest.raises(
        TransformSpecError, match=rf"^{mix.__name__}: dataset\[0\]: image: expected at least 1 x 1"
    ):
        mix([empty], p=1.0, seed=0)[0]


@pytest.mark.parametrize("alpha", [math.inf, math.nan, 0, -1.0, "32", True])
def test_mixup_alpha_must_be_finite_and_positive(alpha: Any) -> None:
    # Before: alpha=inf drew a NaN ratio and blended a black image.
    with pytest.raises(ValueError, match=r"alpha: expected a finite number > 0, got"):
        MixUp([pair([1, 2])], alpha=alpha, p=1.0)


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"size": 10**6}, "size: expected a positive int at most 32768"),
        ({"center_range": (0.2,)}, "center_range: expected (min, max)"),
        ({"p": "1"}, "p: expected a probability in [0, 1]"),
        ({"min_area": math.inf}, "min_area: expected a finite number >= 0"),
        ({"min_visibility": 5}, "min_visibility: expected a fraction in [0, 1]"),
    ],
)
def test_mosaic_arguments_are_checked(arguments: dict[str, Any], expected: str) -> None:
    with pytest.raises(ValueError, match=re.escape(expected)):
        Mosaic([pair([1, 2])], **arguments)


@settings(max_examples=40, deadline=None)
@given(height=st.integers(1, 32768), width=st.integers(1, 4), tall=st.booleans())
def test_float16_boxes_stay_finite_and_exact_after_resize_to_any_allowed_size(
    height: int, width: int, tall: bool
) -> None:
    # Box math runs in float64; the float16 result is the float64 one rounded once, never inf.
    height, width = (height, width) if tall else (width, height)
    boxes = torch.tensor([[0.0, 0.0, 4.0, 4.0], [1.0, 1.0, 3.0, 2.0]], dtype=torch.float16)
    out = BoxPipeline([{"name": "Resize", "size": [height, width]}])({"image": image(4, 4), "boxes": boxes})
    expected = boxes.double() * torch.tensor(
        [width / 4, height / 4, width / 4, height / 4], dtype=torch.float64
    )
    assert out["boxes"].dtype == torch.float16
    assert torch.isfinite(out["boxes"]).all()
    assert torch.equal(out["boxes"], expected.to(torch.float16))


def test_float16_boxes_cannot_be_resized_past_what_float16_holds() -> None:
    # Before: Resize to 100000 gave inf coordinates (float16 holds at most 65504).
    boxes = torch.tensor([[0.0, 0.0, 4.0, 4.0]], dtype=torch.float16)
    with pytest.raises(TransformSpecError, match=r"at most 32768"):
        BoxPipeline([{"name": "Resize", "size": [100000, 4]}])({"image": image(4, 4), "boxes": boxes})


# ------------------------------------------------------------------ items 7 and 17: spec files


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- HorizontalFlip\n", ": pipeline spec: expected a dict, got list"),
        ("just text\n", ": pipeline spec: expected a dict, got str"),
        ("transforms: 5\n", ": transforms: expected a list of specs"),
        (
            "transforms: [HorizontalFlip]\nmin_visibility: 5\n",
            ": min_visibility: expected a fraction in [0, 1], got 5",
        ),
        (
            "transforms: [HorizontalFlip]\nmin_area: .nan\n",
            ": min_area: expected a number >= 0 (pixels), got nan",
        ),
        ("transforms: [HorizontalFlip]\nout_of_bounds: [1]\n", ": out_of_bounds: expected one of"),
        ("transforms: [HorizontalFlip]\nbackend: [1]\n", ": backend: expected one of"),
        ("transforms: [HorizontalFlip]\nbox_format: 7\n", ": box_format:"),
        ("transforms: [HorizontalFlip]\nseed: -1\n", ": seed: expected an int >= 0 or None, got -1"),
        ("transforms: [HorizontalFlip]\nbox_fields: 3\n", ": box_fields: expected a list of field names"),
        (
            "transforms:\n  - name: [1]\n",
            ": transforms[0]: name: expected a transform name (a string), got [1]",
        ),
        ("transforms:\n  - {name: Resize, size: 1000000000}\n", ": transforms[0] (Resize): size: expected"),
        ("transforms: [\n", ": cannot parse the pipeline spec"),
        ("1: x\ntransforms: [HorizontalFlip]\n", ": pipeline spec: expected keys that are names, got 1"),
        ("1: x\nb: y\n", ": pipeline spec: expected a 'transforms' list, got the keys ['1', 'b']"),
    ],
)
def test_every_error_from_a_spec_file_names_the_file(tmp_path: Path, text: str, expected: str) -> None:
    # Before: a bad min_visibility was a bare ValueError without the file, a list at the top level lacked it.
    path = write(tmp_path / "augment.yaml", text)
    with pytest.raises(TransformSpecError) as error:
        BoxPipeline.load(path)
    assert str(error.value).startswith(f"{path}")
    assert expected in str(error.value)


def test_a_binary_spec_file_is_named_not_a_unicode_error(tmp_path: Path) -> None:
    path = tmp_path / "augment.yaml"
    path.write_bytes(b"\xff\xfe\x00\x01 binary")
    with pytest.raises(TransformSpecError, match=r"cannot parse the pipeline spec: expected UTF-8 text"):
        BoxPipeline.load(path)


def test_a_folder_or_an_oversized_file_as_spec_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DatasetFormatError, match=r"pipeline spec: expected a regular file, got a folder"):
        BoxPipeline.load(tmp_path)
    big = tmp_path / "big.yaml"
    with big.open("wb") as stream:
        stream.truncate((16 << 20) + 1)  # sparse: no 16 MiB written
    with pytest.raises(DatasetFormatError, match=r"pipeline spec: expected at most 16,777,216 bytes"):
        BoxPipeline.load(big)


def test_a_fifo_as_spec_is_refused_without_waiting(tmp_path: Path) -> None:
    # Before: opening the FIFO waited for a writer forever.
    fifo = tmp_path / "augment.yaml"
    os.mkfifo(fifo)
    result = run_isolated(
        f"""
        from visiondata.exceptions import DatasetFormatError
        from visiondata.transforms import BoxPipeline
        try:
            BoxPipeline.load({str(fifo)!r})
        except DatasetFormatError as error:
            assert "expected a regular file, got a FIFO" in str(error), error
            print("refused")
        """,
        timeout=60,
    )
    assert_clean_exit(result)
    assert result.stdout.strip() == "refused"


def test_a_link_to_dev_zero_as_spec_is_refused_without_reading_it(tmp_path: Path) -> None:
    # Before: read_text() on /dev/zero filled the memory.
    link = tmp_path / "augment.yaml"
    link.symlink_to("/dev/zero")
    result = run_isolated(
        f"""
        from visiondata.exceptions import DatasetFormatError
        from visiondata.transforms import BoxPipeline
        try:
            BoxPipeline.load({str(link)!r})
        except DatasetFormatError as error:
            assert "got a character device" in str(error), error
            print("refused")
        """,
        timeout=60,
    )
    assert_clean_exit(result)
    assert result.stdout.strip() == "refused"


def test_save_is_atomic_and_refuses_a_special_file(tmp_path: Path) -> None:
    pipeline = BoxPipeline(["HorizontalFlip"], seed=1)
    path = pipeline.save(tmp_path / "augment.yaml")
    assert BoxPipeline.load(path).to_dict() == pipeline.to_dict()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["augment.yaml"]  # no temporary left behind
    with pytest.raises(OutputConflictError, match=r"got a folder"):
        pipeline.save(tmp_path)


# ------------------------------------------------------------------ item 15: visiondata preview arguments


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    for name in ("cat", "dog"):
        (root / name).mkdir(parents=True)
        Image.new("RGB", (16, 16), (200, 40, 40)).save(root / name / "a.png")
    return root


def preview(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str]:
    try:
        status = main(["preview", *arguments])
    except SystemExit as exit:
        status = exit.code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return status, err


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["--ncols", "0"], "argument --ncols: expected an int in 1..1024, got 0"),
        (["--ncols", "-3"], "argument --ncols: expected an int in 1..1024, got -3"),
        (["--ncols", "four"], "argument --ncols: expected an int in 1..1024, got 'four'"),
        (["--ncols", "100000"], "argument --ncols: expected an int in 1..1024, got 100000"),
        (["-n", "1000000000"], "argument -n/--count: expected an int in 1..1024, got 1000000000"),
        (["--seed", "-1"], "argument --seed: expected an int in 0..18446744073709551615, got -1"),
    ],
)
def test_preview_refuses_bad_numbers_in_the_parser(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], expected: str
) -> None:
    # Before: --ncols 0 raised a raw ValueError traceback from save_grid after reading the dataset.
    status, err = preview(capsys, str(folder), "--out", str(tmp_path / "x.png"), *arguments)
    assert status == 2
    assert err.startswith("usage: visiondata preview")
    assert expected in err


def test_preview_names_a_spec_with_min_visibility_5(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write(tmp_path / "augment.yaml", "transforms: [HorizontalFlip]\nmin_visibility: 5\n")
    status, err = preview(capsys, str(folder), "--pipeline", str(spec), "--out", str(tmp_path / "x.png"))
    assert status == 1
    assert err == f"visiondata: error: {spec}: min_visibility: expected a fraction in [0, 1], got 5\n"


def test_preview_refuses_a_fifo_spec_as_a_special_file_not_a_missing_one(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "augment.yaml"
    os.mkfifo(fifo)
    status, err = preview(capsys, str(folder), "--pipeline", str(fifo), "--out", str(tmp_path / "x.png"))
    assert status == 1
    assert "expected a regular file, got a FIFO (named pipe)" in err


@pytest.mark.parametrize("where", ["folder", "dev-null", "inside-source", "the-spec"])
def test_preview_refuses_an_output_that_is_not_a_picture_to_write(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    spec = BoxPipeline(["HorizontalFlip"], seed=0).save(tmp_path / "augment.yaml")
    out = {
        "folder": str(tmp_path),
        "dev-null": os.devnull,
        "inside-source": str(folder / "cat" / "preview.png"),
        "the-spec": str(spec),
    }[where]
    status, err = preview(capsys, str(folder), "--pipeline", str(spec), "--out", out)
    assert status == 1
    assert err.startswith(f"visiondata: error: {out}: --out: expected ")
    assert not (folder / "cat" / "preview.png").exists()
    assert spec.read_text(encoding="utf-8").startswith("version: 1")


# ------------------------------------------------------------------ item 20: seed=None at call time


def crop_sample() -> dict[str, Any]:
    return {"image": image(64, 64), "boxes": torch.tensor([[8.0, 8.0, 56.0, 56.0]])}


def test_seed_none_repeats_a_call_after_torch_manual_seed_like_torchvision() -> None:
    # Before: torch.manual_seed(1) before two calls of one pipeline gave two different crops.
    pipeline = BoxPipeline([{"name": "RandomCrop", "size": [32, 32]}])
    crops = []
    for _ in range(2):
        torch.manual_seed(1)
        crops.append(pipeline(crop_sample())["boxes"])
    assert torch.equal(crops[0], crops[1])
    following = pipeline(crop_sample())["boxes"], pipeline(crop_sample())["boxes"]
    assert len({tuple(box.flatten().tolist()) for box in (crops[0], *following)}) > 1


def test_seed_none_mosaic_follows_torch_manual_seed_at_call_time() -> None:
    dataset = [pair([i, i]) for i in range(6)]
    mosaic = Mosaic(dataset, size=32)
    torch.manual_seed(5)
    first = mosaic[0][1]["mosaic_indices"]
    torch.manual_seed(5)
    assert mosaic[0][1]["mosaic_indices"] == first


def test_an_explicit_seed_keeps_its_own_stream_whatever_torch_does() -> None:
    draws = []
    for torch_seed in (1, 2):
        pipeline = BoxPipeline([{"name": "RandomCrop", "size": [32, 32]}], seed=7)
        torch.manual_seed(torch_seed)
        draws.append([pipeline(crop_sample())["boxes"].tolist() for _ in range(3)])
    assert draws[0] == draws[1]
    assert len({str(box) for box in draws[0]}) > 1  # a stream, not one crop repeated


class Crops(Dataset):
    def __init__(self) -> None:
        self.pipeline = BoxPipeline([{"name": "RandomCrop", "size": [32, 32]}])

    def __len__(self) -> int:
        return 8

    def __getitem__(self, index: int) -> list[float]:
        return self.pipeline(crop_sample())["boxes"].flatten().tolist()


def worker_crops(seed: int) -> list[list[float]]:
    loader = DataLoader(
        Crops(),
        batch_size=None,
        num_workers=2,
        multiprocessing_context="fork",
        generator=torch.Generator().manual_seed(seed),
        collate_fn=functools.partial(lambda sample: sample),
    )
    return list(loader)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork start method")
def test_seed_none_differs_across_workers_and_repeats_with_the_loader_seed() -> None:
    first = worker_crops(0)
    # Worker 0 yields samples 0, 2, 4...; worker 1 samples 1, 3, 5...: their streams must differ.
    assert first[0::2] != first[1::2]
    assert worker_crops(0) == first
