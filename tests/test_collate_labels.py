"""The collates with keypoints, oriented boxes and semantic masks, against the models that consume them.

Keypoint R-CNN takes ``detection_collate``'s lists with ``(N, K, 3)`` keypoints; a segmentation model's loss
takes ``padded_collate``'s ``semantic_masks`` padded with ``ignore_index``; ``yolo_collate``'s pose and OBB rows
follow ultralytics' ``v8PoseLoss`` / ``v8OBBLoss`` batch layout (checked here with ultralytics' documented
``xywhr2xyxyxyxy`` formula, written out: no ultralytics import).
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader
from torchvision import tv_tensors

from visiondata.boxes import convert_boxes
from visiondata.collate import detection_collate, padded_boxes_collate, padded_collate, yolo_collate
from visiondata.exceptions import InvalidBoxesError, SkippedSampleWarning

# ---------------------------------------------------------------- helpers


def photo(height: int, width: int, seed: int = 0) -> tv_tensors.Image:
    """A textured uint8 picture: gradients plus noise, so models see more than a flat colour."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width]
    base = np.stack([xs * 255 // max(width - 1, 1), ys * 255 // max(height - 1, 1), (xs + ys) % 256])
    noisy = np.clip(base + rng.integers(-20, 20, size=base.shape), 0, 255).astype(np.uint8)
    return tv_tensors.Image(torch.from_numpy(noisy))


def person(height: int, width: int, boxes: list[list[float]], points: list[list[list[float]]]) -> tuple:
    """A pose sample: boxes in xyxy pixels, keypoints (N, K, 3) x y visibility."""
    target = {
        "boxes": tv_tensors.BoundingBoxes(torch.tensor(boxes), format="XYXY", canvas_size=(height, width)),
        "labels": torch.ones(len(boxes), dtype=torch.int64),
        "keypoints": torch.tensor(points, dtype=torch.float32).reshape(len(boxes), -1, 3),
    }
    return photo(height, width, seed=len(boxes)), target


def oriented(height: int, width: int, cxcywhr: list[list[float]], fmt: str = "XYXYXYXY") -> tuple:
    """An OBB sample whose boxes are given as (cx, cy, w, h, degrees counter-clockwise)."""
    values = torch.tensor(cxcywhr, dtype=torch.float64)
    ours = {"XYXYXYXY": "xyxyxyxy", "XYWHR": "xywhr", "CXCYWHR": "cxcywhr"}[fmt]
    converted = convert_boxes(values, "cxcywhr", ours).to(torch.float32)
    boxes = tv_tensors.BoundingBoxes(converted, format=fmt, canvas_size=(height, width))
    return photo(height, width), {"boxes": boxes, "labels": torch.arange(1, len(cxcywhr) + 1)}


def segmentation(height: int, width: int, seed: int = 0) -> tuple:
    """An image with a class-id mask: a block of class 1, a block of class 2, a void (255) stripe."""
    mask = torch.zeros((height, width), dtype=torch.int64)
    mask[2 : height // 2, 2 : width // 2] = 1
    mask[height // 2 :, width // 2 :] = 2
    mask[:, -2:] = 255
    return photo(height, width, seed), {"mask": tv_tensors.Mask(mask)}


def ultralytics_corners(xywhr: torch.Tensor) -> torch.Tensor:
    """Ultralytics' documented ``xywhr2xyxyxyxy``: ``(N, 5)`` cx cy w h angle(rad) -> ``(N, 4, 2)``."""
    ctr = xywhr[:, :2]
    w, h, angle = xywhr[:, 2:3], xywhr[:, 3:4], xywhr[:, 4:5]
    cos, sin = torch.cos(angle), torch.sin(angle)
    vec1 = torch.cat([w / 2 * cos, w / 2 * sin], -1)
    vec2 = torch.cat([-h / 2 * sin, h / 2 * cos], -1)
    return torch.stack([ctr + vec1 + vec2, ctr + vec1 - vec2, ctr - vec1 - vec2, ctr - vec1 + vec2], -2)


def same_corner_set(first: torch.Tensor, second: torch.Tensor, atol: float = 1e-3) -> bool:
    """Whether two ``(4, 2)`` polygons have the same corners, in any order."""
    order = lambda c: c[torch.argsort(c[:, 0] * 1000 + c[:, 1])]  # noqa: E731
    return torch.allclose(
        order(first.double().round(decimals=3)), order(second.double().round(decimals=3)), atol=atol
    )


# ---------------------------------------------------------------- detection_collate


def test_detection_collate_keeps_oriented_boxes_as_they_are() -> None:
    for fmt in ("XYXYXYXY", "XYWHR", "CXCYWHR"):
        sample = oriented(40, 60, [[30.0, 20.0, 20.0, 8.0, 30.0]], fmt)
        _, targets = detection_collate([sample, sample])
        boxes = targets[1]["boxes"]
        assert isinstance(boxes, tv_tensors.BoundingBoxes)
        assert boxes.format.name == fmt
        assert torch.equal(boxes.as_subclass(torch.Tensor), sample[1]["boxes"].as_subclass(torch.Tensor))


def test_detection_collate_keeps_an_empty_oriented_target_oriented() -> None:
    empty = tv_tensors.BoundingBoxes(torch.zeros((0, 8)), format="XYXYXYXY", canvas_size=(10, 10))
    _, targets = detection_collate([(photo(10, 10), {"boxes": empty, "labels": torch.zeros(0)})])
    assert targets[0]["boxes"].format.name == "XYXYXYXY"
    assert targets[0]["boxes"].shape == (0, 8)


def test_detection_collate_refuses_plain_five_column_boxes_and_names_the_way() -> None:
    sample = (photo(10, 10), {"boxes": torch.zeros((1, 5)), "labels": torch.tensor([1])})
    with pytest.raises(InvalidBoxesError, match=r"expected shape \(N, 4\), got \(1, 5\).*XYWHR"):
        detection_collate([sample])


def test_detection_collate_passes_keypoints_through_per_image() -> None:
    first = person(40, 50, [[5.0, 5.0, 30.0, 35.0]], [[[10, 10, 2], [20, 20, 1], [0, 0, 0]]])
    second = person(
        30, 30, [[1.0, 1.0, 9.0, 9.0], [2.0, 2.0, 20.0, 20.0]], [[[3, 3, 2]] * 3, [[5, 5, 2]] * 3]
    )
    _, targets = detection_collate([first, second])
    assert targets[0]["keypoints"].shape == (1, 3, 3)
    assert targets[1]["keypoints"].shape == (2, 3, 3)
    assert torch.equal(targets[0]["keypoints"], first[1]["keypoints"])


@pytest.mark.parametrize(
    ("keypoints", "message"),
    [
        (torch.zeros((2, 3, 3)), r"keypoints: expected one row per box \(1 boxes\), got 2"),
        (torch.zeros((1, 3, 4)), r"keypoints: expected shape \(N, K, 3\).*got \(1, 3, 4\)"),
        (torch.zeros((1, 9)), r"keypoints: expected shape \(N, K, 3\).*got \(1, 9\)"),
    ],
)
def test_detection_collate_names_keypoints_that_do_not_fit_the_boxes(
    keypoints: torch.Tensor, message: str
) -> None:
    sample = (
        photo(10, 10),
        {"boxes": torch.tensor([[0.0, 0.0, 5.0, 5.0]]), "labels": torch.tensor([1]), "keypoints": keypoints},
    )
    with pytest.raises(InvalidBoxesError, match=r"sample 0 of the batch: " + message):
        detection_collate([sample])


def test_detection_collate_reads_keypoint_lists_as_float_tensors() -> None:
    sample = (photo(10, 10), {"boxes": [[0.0, 0.0, 5.0, 5.0]], "labels": [1], "keypoints": [[[1, 2, 2]]]})
    _, targets = detection_collate([sample])
    assert targets[0]["keypoints"].dtype == torch.float32
    assert targets[0]["keypoints"].tolist() == [[[1.0, 2.0, 2.0]]]


def test_keypoint_rcnn_trains_and_predicts_on_a_detection_collate_batch() -> None:
    from torchvision.models.detection import keypointrcnn_resnet50_fpn
    from torchvision.models.detection.keypoint_rcnn import KeypointRCNNHeads, KeypointRCNNPredictor

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        # Few proposals and a slim keypoint head (the same torchvision classes, 64 channels instead of 8 x 512)
        # keep this at about two seconds on one CPU thread; the inputs and targets it takes are unchanged.
        model = keypointrcnn_resnet50_fpn(
            weights=None,
            weights_backbone=None,
            num_keypoints=3,
            num_classes=2,
            min_size=64,
            max_size=96,
            rpn_pre_nms_top_n_train=50,
            rpn_post_nms_top_n_train=20,
            rpn_pre_nms_top_n_test=50,
            rpn_post_nms_top_n_test=10,
            box_batch_size_per_image=16,
            box_detections_per_img=4,
        )
        model.roi_heads.keypoint_head = KeypointRCNNHeads(256, (64, 64))
        model.roi_heads.keypoint_predictor = KeypointRCNNPredictor(64, 3)
        batch = detection_collate(
            [
                person(64, 80, [[10.0, 8.0, 50.0, 60.0]], [[[20, 15, 2], [30, 40, 1], [0, 0, 0]]]),
                person(
                    72,
                    64,
                    [[4.0, 4.0, 30.0, 40.0], [30.0, 20.0, 60.0, 70.0]],
                    [[[10, 10, 2], [20, 30, 2], [15, 35, 2]], [[40, 30, 2], [50, 50, 1], [45, 60, 2]]],
                ),
            ]
        )
        images = [image.as_subclass(torch.Tensor).float() / 255 for image in batch[0]]
        targets = [
            {key: value for key, value in t.items() if key in ("boxes", "labels", "keypoints")}
            for t in batch[1]
        ]
        model.train()
        losses = model(images, targets)
        assert {"loss_keypoint", "loss_box_reg", "loss_classifier"} <= set(losses)
        assert all(torch.isfinite(value) for value in losses.values())
        assert losses["loss_keypoint"] > 0  # the keypoints reached the keypoint head
        sum(losses.values()).backward()
        model.eval()
        with torch.no_grad():
            predictions = model(images)
        assert len(predictions) == 2
        assert all(prediction["keypoints"].shape[1:] == (3, 3) for prediction in predictions)
    finally:
        torch.set_num_threads(threads)


def test_detection_collate_batches_a_coco_keypoints_file_for_dataloader_workers(tmp_path: Path) -> None:
    from visiondata.formats import CocoDetectionDataset

    picture = photo(60, 80).permute(1, 2, 0).numpy()
    Image.fromarray(picture).save(tmp_path / "walk.jpg")
    Image.fromarray(picture[:50, :70]).save(tmp_path / "run.jpg")
    annotation = {
        "images": [
            {"id": 1, "file_name": "walk.jpg", "width": 80, "height": 60},
            {"id": 2, "file_name": "run.jpg", "width": 70, "height": 50},
        ],
        "categories": [
            {
                "id": 1,
                "name": "person",
                "keypoints": ["nose", "left_hand", "right_hand"],
                "skeleton": [[1, 2], [1, 3]],
            }
        ],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "bbox": [10, 10, 40, 30],
                "area": 1200,
                "iscrowd": 0,
                "keypoints": [20, 20, 2, 30, 25, 1, 0, 0, 0],
                "num_keypoints": 2,
            },
            {
                "id": 2,
                "image_id": 2,
                "category_id": 1,
                "bbox": [5, 5, 20, 20],
                "area": 400,
                "iscrowd": 0,
                "keypoints": [10, 10, 2, 12, 14, 2, 20, 20, 2],
                "num_keypoints": 3,
            },
        ],
    }
    (tmp_path / "person_keypoints_val.json").write_text(json.dumps(annotation))
    dataset = CocoDetectionDataset(tmp_path, tmp_path / "person_keypoints_val.json")
    loader = DataLoader(dataset, batch_size=2, collate_fn=detection_collate, num_workers=1)
    images, targets = next(iter(loader))
    assert [tuple(image.shape) for image in images] == [(3, 60, 80), (3, 50, 70)]
    assert targets[0]["keypoints"].tolist() == [[[20.0, 20.0, 2.0], [30.0, 25.0, 1.0], [0.0, 0.0, 0.0]]]
    assert targets[1]["keypoints"].shape == (1, 3, 3)


# ---------------------------------------------------------------- padded collates: semantic masks


def test_padded_collate_pads_semantic_masks_with_ignore_index() -> None:
    first, second = segmentation(20, 30), segmentation(26, 18, seed=1)
    batch = padded_collate([first, second], size_divisor=8)
    masks = batch["semantic_masks"]
    assert masks.shape == (2, 32, 32) and masks.dtype == torch.int64
    assert torch.equal(masks[0, :20, :30], first[1]["mask"].as_subclass(torch.Tensor))
    assert torch.equal(masks[1, :26, :18], second[1]["mask"].as_subclass(torch.Tensor))
    assert (masks[0, 20:] == 255).all() and (masks[0, :, 30:] == 255).all()
    assert (masks[1, :, 18:] == 255).all()
    # The padding is where the image padding mask says it is.
    assert torch.equal(
        batch["mask"][0],
        torch.ones(32, 32, dtype=torch.bool).index_put_(
            (torch.arange(20)[:, None], torch.arange(30)[None]), torch.tensor(False)
        ),
    )


def test_padded_collate_ignore_index_is_a_keyword_that_sets_the_padding() -> None:
    batch = padded_collate([segmentation(10, 10), segmentation(12, 10)], size_divisor=1, ignore_index=-100)
    assert (batch["semantic_masks"][0, 10:] == -100).all()
    assert (batch["semantic_masks"][0, :10, -2:] == 255).all()  # the mask's own void pixels stay as labelled
    with pytest.raises(ValueError, match="ignore_index: expected an int"):
        padded_collate([segmentation(10, 10)], ignore_index=2.5)


def test_padded_collate_without_masks_adds_no_semantic_masks() -> None:
    assert "semantic_masks" not in padded_collate([(photo(10, 10), {})])


@pytest.mark.parametrize(
    ("mask", "message"),
    [
        (
            torch.zeros((9, 10), dtype=torch.int64),
            r"sample 1 of the batch: mask: expected shape \(10, 10\).*got \(9, 10\)",
        ),
        (
            torch.zeros((10, 10)),
            r"sample 1 of the batch: mask: expected integer class ids, got torch.float32",
        ),
    ],
)
def test_padded_collate_names_a_mask_that_does_not_fit(mask: torch.Tensor, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        padded_collate([segmentation(10, 10), (photo(10, 10), {"mask": mask})])


def test_padded_collate_refuses_a_batch_where_only_some_samples_have_a_mask() -> None:
    with pytest.raises(ValueError, match=r"samples 1 of the batch: mask: expected an \(H, W\) class-id mask"):
        padded_collate([segmentation(10, 10), (photo(10, 10), {})])


def test_lraspp_loss_with_ignore_index_learns_nothing_from_the_padding() -> None:
    from torchvision.models.segmentation import lraspp_mobilenet_v3_large

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        model = lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=3)
        batch = padded_collate([segmentation(40, 56), segmentation(48, 40, seed=1)], size_divisor=32)
        images = batch["images"].float() / 255
        masks = batch["semantic_masks"]
        assert images.shape[-2:] == masks.shape[-2:] == (64, 64)
        model.train()
        logits = model(images)["out"]
        loss = torch.nn.functional.cross_entropy(logits, masks, ignore_index=255, reduction="sum")
        # The same loss counted over the labelled pixels only: padding and void add nothing.
        labelled = masks != 255
        by_hand = torch.nn.functional.cross_entropy(
            logits.permute(0, 2, 3, 1)[labelled], masks[labelled], reduction="sum"
        )
        assert torch.isfinite(loss) and loss > 0
        assert torch.allclose(loss, by_hand, rtol=1e-4)
        assert labelled.sum() == 40 * 54 + 48 * 38  # each image's pixels less its 2-pixel void stripe
        loss.backward()
    finally:
        torch.set_num_threads(threads)


def test_padded_collate_batches_a_mask_folder_for_dataloader_workers(tmp_path: Path) -> None:
    from visiondata.formats import SegmentationFolderDataset

    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    expected = {}
    for name, (height, width) in {"a": (20, 30), "b": (26, 18)}.items():
        Image.fromarray(photo(height, width).permute(1, 2, 0).numpy()).save(
            tmp_path / "images" / f"{name}.png"
        )
        ids = np.zeros((height, width), dtype=np.uint8)  # grey-level class ids, as Cityscapes/ADE masks
        ids[2:8, 2:8] = 1
        ids[-3:, :] = 255
        Image.fromarray(ids, mode="L").save(tmp_path / "masks" / f"{name}.png")
        expected[name] = torch.from_numpy(ids.astype(np.int64))
    dataset = SegmentationFolderDataset(tmp_path / "images", tmp_path / "masks")
    collate = functools.partial(padded_collate, size_divisor=16, ignore_index=dataset.ignore_index)
    batch = next(iter(DataLoader(dataset, batch_size=2, collate_fn=collate, num_workers=1)))
    masks = batch["semantic_masks"]
    assert masks.shape == (2, 32, 32)
    assert torch.equal(masks[0, :20, :30], expected["a"]) and torch.equal(masks[1, :26, :18], expected["b"])
    assert (masks[0][batch["mask"][0]] == 255).all() and (masks[1][batch["mask"][1]] == 255).all()


def test_padded_boxes_collate_pads_semantic_masks_too() -> None:
    out = padded_boxes_collate([segmentation(10, 12), segmentation(14, 8)], ignore_index=7)
    assert out["semantic_masks"].shape == (2, 14, 12)
    assert (out["semantic_masks"][0, 10:] == 7).all() and (out["semantic_masks"][1, :, 8:] == 7).all()


# ---------------------------------------------------------------- padded_boxes_collate: keypoints, oriented


def test_padded_boxes_collate_pads_keypoints_with_zeros() -> None:
    one = person(30, 30, [[1.0, 1.0, 9.0, 9.0]], [[[3, 4, 2], [5, 6, 1]]])
    two = person(
        30,
        30,
        [[1.0, 1.0, 9.0, 9.0], [2.0, 2.0, 20.0, 20.0]],
        [[[1, 1, 2], [2, 2, 2]], [[7, 8, 2], [9, 9, 1]]],
    )
    empty = (photo(30, 30), {})
    out = padded_boxes_collate([one, two, empty])
    keypoints = out["keypoints"]
    assert keypoints.shape == (3, 2, 2, 3)
    assert keypoints[0, 0].tolist() == [[3.0, 4.0, 2.0], [5.0, 6.0, 1.0]]
    assert (keypoints[0, 1] == 0).all() and (keypoints[2] == 0).all()  # padding: visibility 0, not labelled
    assert torch.equal(keypoints[1], two[1]["keypoints"])
    assert out["box_format"] == "xyxy"


def test_padded_boxes_collate_cuts_keypoints_with_their_boxes() -> None:
    two = person(30, 30, [[1.0, 1.0, 9.0, 9.0], [2.0, 2.0, 20.0, 20.0]], [[[1, 1, 2]], [[7, 8, 2]]])
    with pytest.warns(SkippedSampleWarning):
        out = padded_boxes_collate([two], max_boxes=1)
    assert out["keypoints"].tolist() == [[[[1.0, 1.0, 2.0]]]]


def test_keypoint_collates_refuse_mixed_keypoint_counts_and_missing_keypoints() -> None:
    three = person(20, 20, [[1.0, 1.0, 9.0, 9.0]], [[[1, 1, 2]] * 3])
    two = person(20, 20, [[1.0, 1.0, 9.0, 9.0]], [[[1, 1, 2]] * 2])
    bare = (photo(20, 20), {"boxes": torch.tensor([[1.0, 1.0, 5.0, 5.0]]), "labels": torch.tensor([1])})
    for collate in (padded_boxes_collate, yolo_collate):
        with pytest.raises(InvalidBoxesError, match=r"sample 0: 3, sample 1: 2"):
            collate([three, two])
        with pytest.raises(
            InvalidBoxesError, match=r"sample 1 of the batch: keypoints: expected an \(N, K, 3\)"
        ):
            collate([three, bare])


def test_padded_boxes_collate_keeps_oriented_boxes_with_their_angle() -> None:
    first = oriented(40, 60, [[30.0, 20.0, 20.0, 8.0, 30.0]], "XYXYXYXY")
    second = oriented(40, 60, [[10.0, 10.0, 6.0, 4.0, -45.0], [40.0, 30.0, 10.0, 10.0, 0.0]], "CXCYWHR")
    out = padded_boxes_collate([first, second, (photo(40, 60), {})])
    assert out["box_format"] == "xyxyxyxy"
    assert out["boxes"].shape == (3, 2, 8)
    assert torch.allclose(out["boxes"][0, 0], first[1]["boxes"][0].as_subclass(torch.Tensor))
    expected = convert_boxes(second[1]["boxes"].as_subclass(torch.Tensor), "cxcywhr", "xyxyxyxy")
    assert torch.allclose(out["boxes"][1], expected, atol=1e-4)
    assert out["valid"].tolist() == [[True, False], [True, True], [False, False]]


def test_collates_refuse_oriented_and_axis_aligned_boxes_in_one_batch() -> None:
    turned = oriented(40, 60, [[30.0, 20.0, 20.0, 8.0, 30.0]])
    upright = (photo(40, 60), {"boxes": torch.tensor([[1.0, 1.0, 5.0, 5.0]]), "labels": torch.tensor([1])})
    for collate in (padded_boxes_collate, yolo_collate):
        with pytest.raises(
            InvalidBoxesError, match=r"oriented boxes in samples \[0\] and axis-aligned .* \[1\]"
        ):
            collate([turned, upright])


# ---------------------------------------------------------------- yolo_collate: pose and OBB rows


def test_yolo_collate_pose_rows_are_box_then_normalised_keypoints() -> None:
    first = person(40, 80, [[0.0, 0.0, 40.0, 20.0]], [[[20, 10, 2], [40, 30, 1], [0, 0, 0]]])
    second = person(40, 80, [[40.0, 20.0, 80.0, 40.0]], [[[60, 30, 2], [80, 40, 2], [70, 20, 1]]])
    images, table = yolo_collate([first, (photo(40, 80), {}), second], first_label=1)
    assert images.shape == (3, 3, 40, 80)
    assert table.shape == (2, 6 + 3 * 3) and table.dtype == torch.float32
    assert table[0].tolist() == [0, 0, 0.25, 0.25, 0.5, 0.5, 0.25, 0.25, 2, 0.5, 0.75, 1, 0, 0, 0]
    assert table[1, :2].tolist() == [2, 0]
    # ultralytics' batch["keypoints"] (M, K, 3), normalised: what v8PoseLoss scales by the image size.
    assert table[1, 6:].view(3, 3).tolist() == [[0.75, 0.75, 2], [1.0, 1.0, 2], [0.875, 0.5, 1]]


def test_yolo_collate_pose_batch_without_any_box_has_the_plain_width() -> None:
    _, table = yolo_collate([(photo(10, 10), {})])
    assert table.shape == (0, 6)


@pytest.mark.parametrize("fmt", ["XYXYXYXY", "XYWHR", "CXCYWHR"])
def test_yolo_collate_obb_rows_rebuild_the_corners_with_ultralytics_formula(fmt: str) -> None:
    height, width = 60, 100
    boxes = [[50.0, 30.0, 40.0, 10.0, 30.0], [20.0, 15.0, 6.0, 16.0, -20.0], [70.0, 40.0, 12.0, 12.0, 0.0]]
    sample = oriented(height, width, boxes, fmt)
    _, table = yolo_collate([sample, sample], first_label=1)
    assert table.shape == (6, 7)
    assert table[:3, 0].tolist() == [0, 0, 0] and table[3:, 0].tolist() == [1, 1, 1]
    assert table[:3, 1].tolist() == [0, 1, 2]
    # v8OBBLoss: cx, w times the width, cy, h times the height, then xywhr2xyxyxyxy.
    pixels = table[:3, 2:].double() * torch.tensor([width, height, width, height, 1.0], dtype=torch.float64)
    corners = ultralytics_corners(pixels)
    expected = convert_boxes(torch.tensor(boxes, dtype=torch.float64), "cxcywhr", "xyxyxyxy").view(-1, 4, 2)
    for got, want in zip(corners, expected, strict=True):
        assert same_corner_set(got, want), (got, want)
    # As ultralytics' xyxyxyxy2xywhr: w is the longer side, the angle in [-pi/4, 3pi/4) radians.
    assert (pixels[:, 2] >= pixels[:, 3] - 1e-6).all()
    assert ((pixels[:, 4] >= -math.pi / 4 - 1e-6) & (pixels[:, 4] < 3 * math.pi / 4)).all()


def test_yolo_collate_obb_angle_is_clockwise_radians() -> None:
    # Turned 30 degrees counter-clockwise on screen (torchvision): ultralytics' angle is -pi/6.
    _, table = yolo_collate([oriented(100, 100, [[50.0, 50.0, 40.0, 10.0, 30.0]], "CXCYWHR")], first_label=1)
    assert table[0].tolist() == pytest.approx([0, 0, 0.5, 0.5, 0.4, 0.1, -math.pi / 6], abs=1e-5)


def test_yolo_collate_refuses_keypoints_with_oriented_boxes() -> None:
    image, target = oriented(20, 20, [[10.0, 10.0, 6.0, 4.0, 10.0]])
    target["keypoints"] = torch.zeros((1, 2, 3))
    with pytest.raises(
        InvalidBoxesError, match="expected keypoints \\(pose\\) or oriented boxes \\(OBB\\), got both"
    ):
        yolo_collate([(image, target)])


class _PoseSamples(torch.utils.data.Dataset):
    """Pose samples for DataLoader workers (module level, so that it pickles)."""

    def __len__(self) -> int:
        return 4

    def __getitem__(self, index: int) -> tuple:
        return person(32, 32, [[0.0, 0.0, 16.0, 16.0]] * (index + 1), [[[8, 8, 2], [4, 4, 1]]] * (index + 1))


def test_keypoint_collates_run_in_dataloader_workers() -> None:
    loader = DataLoader(
        _PoseSamples(), batch_size=4, num_workers=1, collate_fn=functools.partial(yolo_collate, first_label=1)
    )
    batches: Iterator[Any] = iter(loader)
    _, table = next(batches)
    assert table.shape == (1 + 2 + 3 + 4, 12)
    padded = next(
        iter(DataLoader(_PoseSamples(), batch_size=4, num_workers=1, collate_fn=padded_boxes_collate))
    )
    assert padded["keypoints"].shape == (4, 4, 2, 3)
