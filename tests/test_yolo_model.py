"""The one-stage detector: shapes, anchors, the loss on hand-made targets, decoding, a short overfit."""

from __future__ import annotations

import math

import pytest
import torch

from visiondata.models._yolo import DEFAULT_YOLO_ANCHORS, YOLOLoss, YOLOv3Tiny, fit_anchors

#: Anchors far enough apart that a 24x16 box has one responsible anchor: index 1 (20x20) of stride 16.
ANCHORS = [[10.0, 10.0], [20.0, 20.0], [30.0, 30.0], [40.0, 40.0], [60.0, 60.0], [90.0, 90.0]]
SIZE = 160
NUM_CLASSES = 2
#: The planted box: centre (50, 90), 24 x 16 pixels, class 1: cell (x=3, y=5) of stride 16
#: (50 / 16 = 3.125, 90 / 16 = 5.625).
CX, CY, W, H, CLASS = 50.0, 90.0, 24.0, 16.0, 1
ROWS = torch.tensor([[0.0, CLASS, CX / SIZE, CY / SIZE, W / SIZE, H / SIZE]])
CONFIDENT = 20.0


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def _empty_outputs(model: YOLOv3Tiny, size: int = SIZE) -> list[torch.Tensor]:
    """Raw outputs saying "no object" everywhere, confidently, with every class unlikely."""
    outputs = []
    for stride in model.strides:
        output = torch.zeros(1, 3 * (5 + model.num_classes), size // stride, size // stride)
        view = output.view(1, 3, 5 + model.num_classes, size // stride, size // stride)
        view[:, :, 4:] = -CONFIDENT
        outputs.append(output)
    return outputs


def _plant(outputs, model, anchor, cx, cy, w, h, cls, objectness=CONFIDENT):
    """Write a box at stride 16's cell holding ``(cx, cy)``, for ``anchor`` (0..2 of that scale)."""
    stride = model.strides[0]
    gx, gy = int(cx // stride), int(cy // stride)
    anchor_w, anchor_h = model.anchors[anchor].tolist()
    view = outputs[0].view(1, 3, 5 + model.num_classes, *outputs[0].shape[-2:])
    view[0, anchor, 0, gy, gx] = _logit(cx / stride - gx)
    view[0, anchor, 1, gy, gx] = _logit(cy / stride - gy)
    view[0, anchor, 2, gy, gx] = math.log(w / anchor_w)
    view[0, anchor, 3, gy, gx] = math.log(h / anchor_h)
    view[0, anchor, 4, gy, gx] = objectness
    view[0, anchor, 5 + cls, gy, gx] = CONFIDENT


@pytest.fixture(scope="module")
def model() -> YOLOv3Tiny:
    return YOLOv3Tiny(num_classes=NUM_CLASSES, anchors=ANCHORS)


def test_parameter_counts_follow_width_and_classes():
    assert sum(p.numel() for p in YOLOv3Tiny(num_classes=3).parameters()) == 1_744_896
    assert sum(p.numel() for p in YOLOv3Tiny(num_classes=3, width=8).parameters()) == 439_448
    # Each extra class adds one output channel per anchor to each head's last 1x1 convolution.
    grown = sum(p.numel() for p in YOLOv3Tiny(num_classes=4).parameters())
    assert grown - 1_744_896 == 3 * ((8 * 16 + 1) + (16 * 16 + 1))


def test_outputs_of_a_160_pixel_batch_are_two_grids_of_anchor_predictions():
    model = YOLOv3Tiny(num_classes=5, width=8).eval()
    outputs = model(torch.zeros(2, 3, 160, 160))
    assert [tuple(output.shape) for output in outputs] == [(2, 30, 10, 10), (2, 30, 5, 5)]
    assert [tuple(o.shape) for o in model(torch.zeros(1, 3, 64, 96))] == [(1, 30, 4, 6), (1, 30, 2, 3)]
    with pytest.raises(ValueError, match=r"images: expected .* divisible by 32"):
        model(torch.zeros(1, 3, 100, 100))


def test_anchors_are_sorted_by_area_and_checked():
    model = YOLOv3Tiny(num_classes=1, anchors=list(reversed(ANCHORS)))
    assert model.anchors.tolist() == ANCHORS
    assert "anchors" in model.state_dict()
    assert YOLOv3Tiny(num_classes=1).anchors.tolist() == [list(pair) for pair in DEFAULT_YOLO_ANCHORS]
    with pytest.raises(ValueError, match="anchors: expected 6 positive"):
        YOLOv3Tiny(num_classes=1, anchors=ANCHORS[:5])
    with pytest.raises(ValueError, match="anchors: expected 6 positive"):
        YOLOv3Tiny(num_classes=1, anchors=[[0.0, 1.0], *ANCHORS[1:]])
    with pytest.raises(ValueError, match="num_classes: expected a positive integer"):
        YOLOv3Tiny(num_classes=0)


def test_fit_anchors_recovers_planted_clusters_deterministically():
    generator = torch.Generator().manual_seed(1)
    centres = torch.tensor([[60.0, 60.0], [10.0, 12.0], [40.0, 16.0]])
    jitter = 1 + 0.1 * (torch.rand(300, 2, generator=generator) - 0.5)
    boxes = centres.repeat(100, 1) * jitter
    anchors = fit_anchors(boxes, k=3, seed=0)
    assert anchors.shape == (3, 2) and anchors.dtype == torch.float32
    expected = centres[torch.argsort(centres.prod(dim=1))]
    torch.testing.assert_close(anchors, expected, rtol=0.03, atol=0)
    assert torch.equal(fit_anchors(boxes, k=3, seed=0), anchors)
    six = fit_anchors(boxes, k=6, seed=5)
    assert torch.equal(six, fit_anchors(boxes, k=6, seed=5))
    areas = six.prod(dim=1)
    assert bool((areas[1:] >= areas[:-1]).all())


def test_fit_anchors_refuses_too_few_or_degenerate_boxes():
    with pytest.raises(ValueError, match=r"boxes_wh: expected at least k=6 boxes, got 5"):
        fit_anchors(torch.ones(5, 2))
    with pytest.raises(ValueError, match="boxes_wh: expected positive, finite"):
        fit_anchors(torch.tensor([[1.0, 0.0]] * 8))
    with pytest.raises(ValueError, match=r"boxes_wh: expected an \(N, 2\)"):
        fit_anchors(torch.ones(8, 4))


def test_assign_picks_the_best_shaped_anchor_and_the_cell_of_the_centre(model):
    criterion = YOLOLoss(model)
    fine, coarse = criterion.assign(ROWS, SIZE, [(10, 10), (5, 5)])
    assert fine.tolist() == [[0, 0, 1, 5, 3]]  # row 0, image 0, anchor 20x20, y=5, x=3
    assert coarse.tolist() == []
    # A 40x40 box: best anchor 40x40 (stride 32); 30x30 (IoU 0.56) at stride 16 matches too.
    big = torch.tensor([[0.0, 0.0, 0.5, 0.5, 0.25, 0.25]])
    fine, coarse = criterion.assign(big, SIZE, [(10, 10), (5, 5)])
    assert fine.tolist() == [[0, 0, 2, 5, 5]] and coarse.tolist() == [[0, 0, 0, 2, 2]]


def test_a_perfect_prediction_costs_almost_nothing_and_a_shifted_box_more(model):
    criterion = YOLOLoss(model)
    perfect = _empty_outputs(model)
    _plant(perfect, model, 1, CX, CY, W, H, CLASS)
    loss, parts = criterion(perfect, ROWS, SIZE)
    assert loss.item() < 1e-4, parts
    assert set(parts) == {"box", "objectness", "class"}

    shifted = _empty_outputs(model)
    _plant(shifted, model, 1, CX + 5, CY - 3, W, H, CLASS)
    shifted_loss, shifted_parts = criterion(shifted, ROWS, SIZE)
    assert shifted_parts["box"].item() > 0.05
    assert shifted_loss.item() > loss.item() + 0.05

    wrong_class = _empty_outputs(model)
    _plant(wrong_class, model, 1, CX, CY, W, H, 1 - CLASS)
    assert criterion(wrong_class, ROWS, SIZE)[1]["class"].item() > 10

    missed = _empty_outputs(model)  # no object said anywhere: the positive's objectness costs ~20
    assert criterion(missed, ROWS, SIZE)[1]["objectness"].item() > 10


def test_loss_handles_empty_targets_and_refuses_bad_rows(model):
    outputs = _empty_outputs(model)
    loss, parts = criterion_loss = YOLOLoss(model)(outputs, torch.zeros(0, 6))
    assert loss.item() < 1e-4 and parts["box"].item() == 0
    assert criterion_loss[0].ndim == 0
    with pytest.raises(ValueError, match=r"targets: expected class indices 0\.\.1.*first_label"):
        YOLOLoss(model)(outputs, torch.tensor([[0.0, 2.0, 0.5, 0.5, 0.1, 0.1]]))
    with pytest.raises(ValueError, match=r"targets: expected yolo_collate's \(M, 6\) rows"):
        YOLOLoss(model)(outputs, torch.zeros(1, 7))
    with pytest.raises(ValueError, match="model: expected a model or anchors"):
        YOLOLoss(model, num_classes=2)


def test_loss_gradients_reach_the_network(model):
    images = torch.rand(2, 3, 64, 64)
    rows = torch.tensor([[0.0, 0.0, 0.5, 0.5, 0.3, 0.2], [1.0, 1.0, 0.2, 0.7, 0.1, 0.1]])
    loss, _ = YOLOLoss(model)(model(images), rows)
    loss.backward()
    assert torch.isfinite(loss)
    assert model.stem[0].weight.grad is not None and model.stem[0].weight.grad.abs().sum() > 0
    model.zero_grad()


def test_decode_returns_the_planted_box_and_suppresses_its_duplicate(model):
    outputs = _empty_outputs(model)
    _plant(outputs, model, 1, CX, CY, W, H, CLASS)
    _plant(outputs, model, 2, CX + 1, CY, W + 2, H, CLASS, objectness=2.0)  # overlaps by IoU ~0.87

    (detections,) = model.decode(outputs)
    torch.testing.assert_close(detections["boxes"], torch.tensor([[38.0, 82.0, 62.0, 98.0]]))
    assert detections["labels"].tolist() == [CLASS + model.first_label]
    assert detections["scores"].item() == pytest.approx(1.0, abs=1e-6)

    (both,) = model.decode(outputs, iou_threshold=0.95)
    assert len(both["boxes"]) == 2 and both["scores"][0] > both["scores"][1]
    assert both["scores"][1].item() == pytest.approx(torch.sigmoid(torch.tensor(2.0)).item(), rel=1e-5)
    assert len(model.decode(outputs, iou_threshold=0.95, max_detections=1)[0]["boxes"]) == 1
    assert len(model.decode(outputs, conf_threshold=0.9, iou_threshold=0.95)[0]["boxes"]) == 1


def test_predict_runs_in_eval_mode_and_restores_training():
    model = YOLOv3Tiny(num_classes=1, width=4).train()
    detections = model.predict(torch.zeros(2, 3, 64, 64), conf_threshold=0.0, max_detections=5)
    assert len(detections) == 2 and model.training
    assert detections[0]["boxes"].shape == (5, 4) and detections[0]["labels"].tolist() == [1] * 5


def test_twenty_steps_on_one_square_lower_the_loss():
    torch.manual_seed(0)
    image = torch.zeros(1, 3, 64, 64)
    image[:, :, 16:40, 20:44] = 1.0
    rows = torch.tensor([[0.0, 0.0, 32 / 64, 28 / 64, 24 / 64, 24 / 64]])
    model = YOLOv3Tiny(
        num_classes=1, width=8, anchors=[[6, 6], [12, 12], [20, 20], [28, 28], [40, 40], [56, 56]]
    )
    criterion = YOLOLoss(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(20):
        loss, _ = criterion(model(image), rows)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0], losses
