"""Drawing oriented boxes, keypoints with their skeleton and masks: checked by the pixels drawn.

``draw_boxes``, ``save_grid`` and ``visiondata preview`` (on a COCO keypoints file laid out as COCO's
``person_keypoints_*.json``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import tv_tensors

from visiondata.boxes import convert_boxes
from visiondata.cli import main
from visiondata.exceptions import InvalidBoxesError
from visiondata.viz import draw_boxes, save_grid

RED = [255, 0, 0]
BLACK = [0, 0, 0]


def black(height: int = 100, width: int = 100) -> torch.Tensor:
    return torch.zeros((3, height, width), dtype=torch.uint8)


def near(drawn: torch.Tensor, x: float, y: float, colour: list[int], reach: int = 1) -> bool:
    """Whether a pixel within ``reach`` of ``(x, y)`` has ``colour`` (lines land within a pixel of the maths)."""
    cx, cy = round(x), round(y)
    patch = drawn[:, max(cy - reach, 0) : cy + reach + 1, max(cx - reach, 0) : cx + reach + 1]
    return bool((patch.permute(1, 2, 0) == torch.tensor(colour, dtype=torch.uint8)).all(-1).any())


def colour_at(drawn: torch.Tensor, x: int, y: int) -> list[int]:
    return drawn[:, y, x].tolist()


# ---------------------------------------------------------------- oriented boxes


@pytest.mark.parametrize(
    ("box_format", "values"),
    [
        ("cxcywhr", [50.0, 50.0, 60.0, 20.0, 30.0]),
        ("xywhr", None),
        ("xyxyxyxy", None),
    ],
)
def test_draw_boxes_draws_an_oriented_box_along_its_rotated_edges(
    box_format: str, values: list | None
) -> None:
    centre = np.array([[50.0, 50.0, 60.0, 20.0, 30.0]])
    boxes = (
        centre if values is None and box_format == "cxcywhr" else convert_boxes(centre, "cxcywhr", box_format)
    )
    drawn = draw_boxes(black(), boxes, box_format=box_format, width=1)
    corners = convert_boxes(centre, "cxcywhr", "xyxyxyxy").reshape(4, 2)
    for first, second in zip(corners, np.roll(corners, -1, axis=0), strict=True):
        for t in (0.25, 0.5, 0.75):  # along each rotated edge
            x, y = first + t * (second - first)
            assert near(drawn, x, y, RED), (x, y)
    # Not the enclosing box: its corners and the middle of its sides lie outside the turned box.
    xmin, ymin = corners.min(axis=0)
    xmax, ymax = corners.max(axis=0)
    for x, y in [(xmin, ymin), (xmax, ymin), (xmin, ymax), (xmax, ymax), (xmin + 2, 50), (xmax - 2, 50)]:
        assert not near(drawn, x, y, RED), (x, y)
    assert colour_at(drawn, 50, 50) == BLACK  # an outline, not a filled box


def test_draw_boxes_reads_oriented_bounding_boxes_by_their_declared_format() -> None:
    corners = convert_boxes(torch.tensor([[40.0, 30.0, 40.0, 10.0, -45.0]]), "cxcywhr", "xyxyxyxy")
    boxes = tv_tensors.BoundingBoxes(corners, format="XYXYXYXY", canvas_size=(60, 80))
    drawn = draw_boxes(black(60, 80), boxes, labels=[2], width=1)
    first, second = corners[0, :2].numpy(), corners[0, 2:4].numpy()
    x, y = (first + second) / 2
    patch = drawn[:, round(y) - 1 : round(y) + 2, round(x) - 1 : round(x) + 2].reshape(3, -1)
    lit = patch[:, patch.sum(0) > 0]
    assert lit.shape[1] > 0  # the first edge is drawn...
    colour = lit[:, 0].tolist()
    assert near(drawn, *(corners[0, 4:6].numpy() + corners[0, 6:8].numpy()) / 2, colour)  # ...and the third
    assert colour_at(drawn, 40, 30) == BLACK


def test_draw_boxes_names_oriented_boxes_of_the_wrong_width() -> None:
    with pytest.raises(
        InvalidBoxesError, match=r"boxes: expected shape \(N, 5\) for box_format 'cxcywhr', got \(1, 4\)"
    ):
        draw_boxes(black(), np.zeros((1, 4)), box_format="cxcywhr")


# ---------------------------------------------------------------- keypoints


def test_draw_boxes_draws_visible_keypoints_filled_hidden_ones_hollow_and_unlabelled_ones_not() -> None:
    points = torch.tensor([[[10.0, 10.0, 2.0], [30.0, 10.0, 1.0], [20.0, 30.0, 0.0]]])
    drawn = draw_boxes(black(40, 40), torch.tensor([[2.0, 2.0, 38.0, 38.0]]), labels=[3], keypoints=points)
    colour = colour_at(drawn, 2, 20)  # the box's edge: keypoints take their box's colour
    assert colour != BLACK
    assert colour_at(drawn, 10, 10) == colour  # visible: a filled dot at its place
    assert colour_at(drawn, 30, 10) == BLACK  # hidden: a ring, empty at its centre...
    assert colour_at(drawn, 33, 10) == colour and colour_at(drawn, 27, 10) == colour  # ...around it
    assert drawn[:, 26:35, 16:25].sum() == 0  # not labelled: nothing


def test_draw_boxes_joins_labelled_keypoints_by_the_skeleton_only() -> None:
    points = torch.tensor([[[10.0, 10.0, 2.0], [30.0, 10.0, 2.0], [10.0, 30.0, 1.0], [30.0, 30.0, 0.0]]])
    drawn = draw_boxes(black(40, 40), None, keypoints=points, skeleton=[(0, 1), (0, 2), (1, 3)], width=1)
    colour = colour_at(drawn, 10, 10)
    assert colour != BLACK
    assert colour_at(drawn, 20, 10) == colour  # 0 - 1: both visible
    assert colour_at(drawn, 10, 20) == colour  # 0 - 2: visible and hidden, both labelled
    assert colour_at(drawn, 30, 20) == BLACK  # 1 - 3: 3 is not labelled
    assert colour_at(drawn, 20, 20) == BLACK


def test_draw_boxes_refuses_a_skeleton_pair_outside_the_keypoints() -> None:
    with pytest.raises(
        ValueError, match=r"skeleton: expected pairs of keypoint indices in 0..1, got \(0, 2\)"
    ):
        draw_boxes(black(), None, keypoints=torch.zeros((1, 2, 3)), skeleton=[(0, 2)])


def test_draw_boxes_refuses_keypoints_that_are_not_one_row_per_box() -> None:
    with pytest.raises(InvalidBoxesError) as error:
        draw_boxes(black(), torch.tensor([[1.0, 1.0, 9.0, 9.0]]), keypoints=torch.zeros((2, 3, 3)))
    assert str(error.value) == (
        "keypoints: expected one row per box (1 boxes), got 2 (shape (2, 3, 3)); boxes and keypoints must describe "
        "the same objects in the same order: fix the annotation (or the step that changed one without the other)"
    )


# ---------------------------------------------------------------- masks


def test_draw_boxes_tints_a_semantic_mask_inside_and_not_outside() -> None:
    grey = torch.full((3, 30, 40), 100, dtype=torch.uint8)
    mask = torch.zeros((30, 40), dtype=torch.int64)
    mask[5:15, 5:20] = 1
    mask[20:28, 25:35] = 2
    mask[0:3, :] = 255
    drawn = draw_boxes(grey, None, masks=mask, alpha=0.5)
    inside_one, inside_two = drawn[:, 10, 10].tolist(), drawn[:, 24, 30].tolist()
    assert inside_one != [100, 100, 100] and inside_two != [100, 100, 100]
    assert inside_one != inside_two  # one colour per class
    assert (drawn[:, 5:15, 5:20] == drawn[:, 10:11, 10:11]).all()  # the whole region, evenly
    assert (drawn[:, mask == 0] == 100).all()  # background: untouched
    assert (drawn[:, 0:3] == 100).all()  # void (ignore_index): untouched
    assert (draw_boxes(grey, None, masks=mask, alpha=0.0) == grey).all()


def test_draw_boxes_tints_instance_masks_in_their_box_colour() -> None:
    masks = torch.zeros((2, 30, 30), dtype=torch.bool)
    masks[0, 2:10, 2:10] = True
    masks[1, 15:25, 15:25] = True
    boxes = torch.tensor([[2.0, 2.0, 10.0, 10.0], [15.0, 15.0, 25.0, 25.0]])
    drawn = draw_boxes(black(30, 30), boxes, labels=[1, 4], masks=masks, alpha=1.0, width=1)
    edge_one, edge_two = colour_at(drawn, 2, 6), colour_at(drawn, 15, 20)
    assert colour_at(drawn, 6, 6) == edge_one and colour_at(drawn, 20, 20) == edge_two
    assert edge_one != edge_two
    assert colour_at(drawn, 12, 12) == BLACK


def test_draw_boxes_names_a_mask_of_another_size() -> None:
    with pytest.raises(ValueError, match=r"masks: expected a semantic mask \(30, 40\).*got shape \(30, 41\)"):
        draw_boxes(black(30, 40), None, masks=torch.zeros((30, 41), dtype=torch.int64))


# ---------------------------------------------------------------- save_grid and preview


def test_save_grid_draws_keypoints_masks_and_oriented_boxes_of_samples(tmp_path: Path) -> None:
    mask = torch.zeros((40, 40), dtype=torch.int64)
    mask[20:30, 20:30] = 1
    turned = convert_boxes(torch.tensor([[20.0, 20.0, 24.0, 8.0, 30.0]]), "cxcywhr", "xyxyxyxy")
    sample = {
        "image": torch.full((3, 40, 40), 100, dtype=torch.uint8),
        "boxes": tv_tensors.BoundingBoxes(turned, format="XYXYXYXY", canvas_size=(40, 40)),
        "labels": torch.tensor([1]),
        "keypoints": torch.tensor([[[8.0, 8.0, 2.0], [32.0, 8.0, 2.0]]]),
        "mask": mask,
    }
    path = save_grid([sample], tmp_path / "grid.png", skeleton=[(0, 1)], padding=0)
    picture = torch.from_numpy(np.array(Image.open(path))).permute(2, 0, 1)
    colour = colour_at(picture, 8, 8)
    assert colour != [100, 100, 100]
    assert colour_at(picture, 20, 8) == colour  # the skeleton line
    assert colour_at(picture, 25, 25) not in ([100, 100, 100], colour)  # the mask's tint
    assert colour_at(picture, 5, 35) == [100, 100, 100]
    x, y = (turned[0, :2] + turned[0, 2:4]).numpy() / 2
    assert near(picture, x, y, colour)  # the turned box's edge


def test_preview_draws_coco_keypoints_with_the_file_skeleton(tmp_path: Path, capsys) -> None:
    Image.fromarray(np.full((60, 80, 3), 90, dtype=np.uint8)).save(tmp_path / "walk.png")
    annotation = {
        "images": [{"id": 1, "file_name": "walk.png", "width": 80, "height": 60}],
        "categories": [
            {
                "id": 1,
                "name": "person",
                "keypoints": ["nose", "left_hand", "right_hand"],
                "skeleton": [[1, 2]],
            }
        ],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "bbox": [10, 10, 60, 40],
                "area": 2400,
                "iscrowd": 0,
                "keypoints": [20, 20, 2, 50, 20, 2, 30, 40, 2],
                "num_keypoints": 3,
            }
        ],
    }
    source = tmp_path / "person_keypoints_val.json"
    source.write_text(json.dumps(annotation))
    out = tmp_path / "preview.png"
    assert main(["preview", str(source), "--out", str(out), "-n", "1"]) == 0
    assert "1 samples, 1 boxes" in capsys.readouterr().out
    picture = torch.from_numpy(np.array(Image.open(out))).permute(2, 0, 1)  # one sample: no grid border
    assert picture.shape == (3, 60, 80)
    colour = colour_at(picture, 20, 20)
    assert colour != [90, 90, 90]
    assert colour_at(picture, 50, 20) == colour and colour_at(picture, 30, 40) == colour
    assert colour_at(picture, 35, 20) == colour  # nose - left_hand: in the file's skeleton
    assert colour_at(picture, 25, 30) == [90, 90, 90]  # nose - right_hand: not in it
    assert math.isclose(sum(colour_at(picture, 40, 30)), 270)  # inside the box: the photo


def test_preview_draws_a_dota_box_as_its_turned_outline(tmp_path: Path) -> None:
    # DOTA's layout: images/ and labelTxt/ side by side; a label line is "x1 y1 ... x4 y4 class difficult".
    source = tmp_path / "dota"
    (source / "images").mkdir(parents=True)
    (source / "labelTxt").mkdir()
    Image.fromarray(np.full((80, 100, 3), 90, dtype=np.uint8)).save(source / "images" / "P0001.png")
    corners = convert_boxes(np.array([[50.0, 40.0, 50.0, 16.0, 30.0]]), "cxcywhr", "xyxyxyxy")[0].round(1)
    line = " ".join(f"{value:.1f}" for value in corners)
    (source / "labelTxt" / "P0001.txt").write_text(f"imagesource:GoogleEarth\ngsd:0.5\n{line} plane 0\n")
    out = tmp_path / "preview.png"
    assert main(["preview", str(source), "--out", str(out), "-n", "1"]) == 0
    picture = torch.from_numpy(np.array(Image.open(out))).permute(2, 0, 1)
    points = corners.reshape(4, 2)
    # The far long side (corners 3 and 4): away from the label text drawn along the first side.
    x, y = (points[2] + points[3]) / 2
    patch = picture[:, round(y) - 1 : round(y) + 2, round(x) - 1 : round(x) + 2].reshape(3, -1)
    assert (patch != 90).any()
    xmax, ymax = points.max(axis=0)
    assert colour_at(picture, int(xmax) - 1, int(ymax) - 1) == [90, 90, 90]  # the enclosing box's corner
    assert colour_at(picture, 50, 40) == [90, 90, 90]  # an outline, not filled
