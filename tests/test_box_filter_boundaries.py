"""The exact edges of the box filter, and ``convert_boxes``' promise never to hand back its input.

Issue 26's mutation run found these untested: ``areas < min_area`` turned into ``<=``, the rounding
tolerance of ``min_visibility`` removed, and ``convert_boxes`` returning its input itself when the two
formats are the same; each test below fails on one of those mutants.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision import tv_tensors

from visiondata.boxes import convert_boxes
from visiondata.transforms import BoxPipeline

BACKENDS = ["torchvision", "albumentations"]


def image(height: int = 32, width: int = 32) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_box_of_exactly_min_area_is_kept_and_one_just_below_is_dropped(backend: str) -> None:
    # 4 x 5 = 20 pixels, exactly min_area; 4 x 4.9375 = 19.75 (exact in binary), just below it.
    sample = {"image": image(), "boxes": [[2, 2, 6, 7], [10, 2, 14, 6.9375]], "labels": [1, 2]}
    out = BoxPipeline([], min_area=20, backend=backend)(sample)
    assert out["labels"] == [1]
    assert out["dropped"] == [{"index": 1, "reason": "area"}]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_box_of_exactly_min_size_is_kept_and_one_just_narrower_is_dropped(backend: str) -> None:
    sample = {"image": image(), "boxes": [[2, 2, 5, 12], [10, 2, 12.96875, 12]], "labels": [1, 2]}
    out = BoxPipeline([], min_size=3, backend=backend)(sample)
    assert out["labels"] == [1]
    assert out["dropped"] == [{"index": 1, "reason": "size"}]


@pytest.mark.parametrize(
    "spec",
    [
        [{"name": "Resize", "size": [61, 77]}],
        [{"name": "Rotate", "degrees": [17, 17]}],
        [{"name": "HorizontalFlip", "p": 1.0}],
    ],
    ids=["resize", "rotate", "flip"],
)
def test_oriented_boxes_wholly_in_view_pass_min_visibility_one(spec: list[dict]) -> None:
    # Their visible area (the polygon clipped to the image) and their whole area come from two formulas,
    # which agree only to rounding: without the filter's tolerance about a quarter of them were dropped.
    # Centres 40..90 x 35..60 and sides up to 30 keep every corner (at most 21.3 from its centre) in view.
    rng = np.random.default_rng(0)
    count = 300
    boxes = np.column_stack(
        [
            rng.uniform(40, 90, count),
            rng.uniform(35, 60, count),
            rng.uniform(2, 30, count),
            rng.uniform(2, 30, count),
            rng.uniform(-90, 90, count),
        ]
    )
    target = {
        "boxes": tv_tensors.BoundingBoxes(torch.from_numpy(boxes), format="CXCYWHR", canvas_size=(97, 131)),
        "labels": torch.arange(count),
    }
    _, out = BoxPipeline(spec, min_visibility=1.0, seed=0)(tv_tensors.Image(torch.zeros(3, 97, 131)), target)
    assert out["labels"].tolist() == list(range(count))
    assert out["dropped"] == []


@pytest.mark.parametrize("kind", ["numpy float64", "numpy float32", "tensor float32", "BoundingBoxes"])
@pytest.mark.parametrize("box_format", ["xyxy", "cxcywh", "xywhr"])
def test_the_same_format_gives_a_copy_never_the_input(kind: str, box_format: str) -> None:
    columns = 5 if box_format == "xywhr" else 4
    values = np.arange(2 * columns, dtype=np.float64).reshape(2, columns) + 1
    if kind.startswith("numpy"):
        boxes = values.astype(kind.split()[1])
    elif kind == "tensor float32":
        boxes = torch.from_numpy(values).float()
    else:
        boxes = tv_tensors.BoundingBoxes(
            torch.from_numpy(values).float(), format=box_format.upper(), canvas_size=(50, 60)
        )
    source = None if kind == "BoundingBoxes" else box_format
    result = convert_boxes(boxes, source, box_format)
    assert result is not boxes
    assert type(result) is type(boxes) and result.dtype == boxes.dtype
    assert result.tolist() == boxes.tolist()
    result[0, 0] = -100  # writing to the result leaves the caller's boxes alone
    assert boxes[0, 0] == 1
