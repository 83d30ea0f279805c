"""The lecture's one-stage detector: a tiny YOLOv3 with its anchors, loss and decoding.

A one-stage detector reads boxes straight off a grid. Each cell of a feature map of stride ``s``
(one cell per ``s x s`` pixels) holds, for each of its anchors (prior box shapes), a box, an
objectness confidence (is there an object centred in this cell?) and one score per class; the
class-specific confidence of a box is objectness x class probability. YOLOv3 parameterises the
box of anchor ``(pw, ph)`` at cell ``(gx, gy)`` as::

    cx = (sigmoid(tx) + gx) * s        w = pw * exp(tw)
    cy = (sigmoid(ty) + gy) * s        h = ph * exp(th)

so the centre never leaves its cell and the shape is a scaled anchor.

- `YOLOv3Tiny`: the network (a compact backbone and two detection scales, strides 16 and 32);
- `fit_anchors`: the anchors, by k-means on ``1 - IoU`` of the training boxes' shapes (YOLOv2/v3);
- `YOLOLoss`: the training loss, fed ``yolo_collate``'s rows directly;
- `YOLOv3Tiny.decode` / `YOLOv3Tiny.predict`: boxes in pixels after ``torchvision.ops.batched_nms``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.nn import functional as nn_functional
from torchvision import ops

from visiondata._arguments import (
    check_finite_number,
    check_int,
    check_positive_int,
    check_probability,
    check_seed,
    refuse,
)

__all__ = ["DEFAULT_YOLO_ANCHORS", "YOLOLoss", "YOLOv3Tiny", "fit_anchors"]

#: YOLOv3-tiny's COCO anchors (``(w, h)`` in pixels at 416 px) rescaled to 160 px images, smallest
#: first: the first three go to stride 16, the last three to stride 32. Fit your own with
#: `fit_anchors` for another data set or image size.
DEFAULT_YOLO_ANCHORS: tuple[tuple[float, float], ...] = (
    (4.0, 5.0),
    (9.0, 10.0),
    (14.0, 22.0),
    (31.0, 32.0),
    (52.0, 65.0),
    (132.0, 123.0),
)

#: The detection scales' strides, finest first (outputs come in this order).
_STRIDES = (16, 32)
_ANCHORS_PER_SCALE = 3
#: Log-scale predictions are clamped to ``exp(+-_MAX_LOG_SCALE)`` times the anchor: an untrained
#: network's large ``tw`` would otherwise overflow ``exp`` into infinite boxes and NaN losses.
_MAX_LOG_SCALE = 4.0


class _ConvBlock(nn.Sequential):
    """Convolution (no bias: BatchNorm has one) -> BatchNorm -> LeakyReLU(0.1), as darknet's layers."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding=kernel_size // 2, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.LeakyReLU(0.1, inplace=True),
        )


def _checked_anchors(anchors: Any, name: str = "anchors") -> torch.Tensor:
    """``anchors`` as a float32 ``(6, 2)`` tensor of positive ``(w, h)`` pixels sorted by area."""
    try:
        table = torch.as_tensor(anchors, dtype=torch.float32).detach().cpu().clone()
    except (TypeError, ValueError, RuntimeError):
        refuse(
            name, "6 (width, height) pairs in pixels", anchors, fix="fit them with fit_anchors(boxes_wh, k=6)"
        )
    count = len(_STRIDES) * _ANCHORS_PER_SCALE
    if table.shape != (count, 2) or not bool(torch.isfinite(table).all()) or not bool((table > 0).all()):
        refuse(
            name,
            f"{count} positive, finite (width, height) pairs in pixels (shape ({count}, 2))",
            anchors if table.numel() <= 2 * count else f"a tensor of shape {tuple(table.shape)}",
            fix="fit them with fit_anchors(boxes_wh, k=6)",
        )
    return table[torch.argsort(table.prod(dim=1), stable=True)]


class YOLOv3Tiny(nn.Module):
    """A tiny YOLOv3: a strided-convolution backbone and two detection scales (strides 16 and 32).

    Every ``conv`` below is a convolution (no bias), BatchNorm and LeakyReLU(0.1) as in darknet;
    ``w`` is ``width`` (16 by default). Shapes for a 3x160x160 input with ``w=16``:

    - ``stem``: conv 3x3 (3->w, stride 2) -> ``[w,80,80]``;
    - ``stage2``: conv 3x3 (w->2w, stride 2), conv 3x3 (2w->2w) -> ``[2w,40,40]`` (stride 4);
    - ``stage3``: conv 3x3 (2w->4w, stride 2), conv 3x3 (4w->4w) -> ``[4w,20,20]`` (stride 8);
    - ``stage4``: conv 3x3 (4w->8w, stride 2), conv 3x3 (8w->8w) -> ``[8w,10,10]`` (stride 16),
      kept for the fine scale;
    - ``stage5``: conv 3x3 (8w->16w, stride 2), conv 3x3 (16w->16w) -> ``[16w,5,5]`` (stride 32);
    - ``neck``: conv 1x1 (16w->8w): the coarse scale's features, also routed to the fine scale;
    - ``head32``: conv 3x3 (8w->16w), then a plain 1x1 convolution (with bias) to
      ``3 * (5 + num_classes)`` channels -> ``[3(5+C),5,5]``;
    - ``lateral``: conv 1x1 (8w->4w), nearest 2x upsampling -> ``[4w,10,10]``, concatenated with
      ``stage4``'s output -> ``[12w,10,10]``;
    - ``head16``: conv 3x3 (12w->8w), then a 1x1 convolution to ``3 * (5 + num_classes)`` channels
      -> ``[3(5+C),10,10]``.

    Strides 16 and 32 are YOLOv3-tiny's: at 160-224 px the grids are 10x10..14x14 and 5x5..7x7, and
    an object is found by the cell holding its centre, so objects smaller than a cell are still
    found, as long as two of them rarely share a cell and an anchor. Inputs may have any height and width
    divisible by 32. Strided convolutions replace darknet's max-pooling: the same downsampling,
    learned, for little more compute (about 0.12 G multiply-adds a 160 px image at ``w=16``).

    The channels of each head hold, per anchor, ``tx, ty, tw, th, objectness, class_0 .. class_C-1``
    (logits; see the module's docstring for the box). `decode` turns them into boxes; `YOLOLoss`
    trains them. The anchors are a buffer, so they travel with the weights in the state dict.

    Args:
        num_classes: Object classes (no background class: objectness says "no object").
        anchors: Six ``(width, height)`` pairs in pixels (any order: they are sorted by area; the
            three smallest go to stride 16); default `DEFAULT_YOLO_ANCHORS`. Fit them with
            `fit_anchors`.
        in_channels: Channels of the input images.
        width: Channels of the first layer; every stage doubles them (16 gives 1.74 M parameters
            for 3 classes, 8 gives 0.44 M).
        first_label: The label of class 0 in `decode`'s output (1 for visiondata's datasets, whose
            label 0 is ``"__background__"``); pass the same value to ``yolo_collate``.

    Raises:
        ValueError: A count is not a positive integer, or ``anchors`` is not six positive pairs.

    Examples:
        >>> import torch
        >>> model = YOLOv3Tiny(num_classes=3)
        >>> [tuple(out.shape) for out in model(torch.zeros(2, 3, 160, 160))]
        [(2, 24, 10, 10), (2, 24, 5, 5)]
        >>> sum(p.numel() for p in model.parameters())
        1744896
        >>> model.strides
        (16, 32)
    """

    strides: tuple[int, ...] = _STRIDES

    def __init__(
        self,
        num_classes: int,
        anchors: Any = None,
        in_channels: int = 3,
        width: int = 16,
        first_label: int = 1,
    ) -> None:
        self.num_classes = check_positive_int("num_classes", num_classes)
        check_positive_int("in_channels", in_channels)
        w = check_positive_int("width", width)
        self.first_label = check_int("first_label", first_label)
        table = _checked_anchors(DEFAULT_YOLO_ANCHORS if anchors is None else anchors)
        super().__init__()
        self.register_buffer("anchors", table)
        self.num_anchors = _ANCHORS_PER_SCALE
        outputs = _ANCHORS_PER_SCALE * (5 + num_classes)
        self.stem = _ConvBlock(in_channels, w, 3, stride=2)
        self.stage2 = nn.Sequential(_ConvBlock(w, 2 * w, 3, stride=2), _ConvBlock(2 * w, 2 * w, 3))
        self.stage3 = nn.Sequential(_ConvBlock(2 * w, 4 * w, 3, stride=2), _ConvBlock(4 * w, 4 * w, 3))
        self.stage4 = nn.Sequential(_ConvBlock(4 * w, 8 * w, 3, stride=2), _ConvBlock(8 * w, 8 * w, 3))
        self.stage5 = nn.Sequential(_ConvBlock(8 * w, 16 * w, 3, stride=2), _ConvBlock(16 * w, 16 * w, 3))
        self.neck = _ConvBlock(16 * w, 8 * w, 1)
        self.head32 = nn.Sequential(_ConvBlock(8 * w, 16 * w, 3), nn.Conv2d(16 * w, outputs, 1))
        self.lateral = nn.Sequential(_ConvBlock(8 * w, 4 * w, 1), nn.Upsample(scale_factor=2, mode="nearest"))
        self.head16 = nn.Sequential(_ConvBlock(12 * w, 8 * w, 3), nn.Conv2d(8 * w, outputs, 1))
        for head in (self.head16, self.head32):
            self._initialise_head(head[-1])

    def _initialise_head(self, conv: nn.Conv2d) -> None:
        # Start from "almost no object anywhere" and "each class equally unlikely" (YOLOv5's priors):
        # otherwise the first steps are spent pushing thousands of empty cells' objectness down, and
        # their huge gradient swamps the few positive cells'.
        bias = conv.bias.detach().view(_ANCHORS_PER_SCALE, 5 + self.num_classes)
        bias[:, 4] = math.log(0.01 / 0.99)
        bias[:, 5:] = math.log(0.6 / max(self.num_classes - 0.99, 0.01))

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Raw head outputs, finest scale first: ``(N, 3 * (5 + C), H / s, W / s)`` for ``s`` in ``strides``.

        Raises:
            ValueError: ``images`` is not ``(N, C, H, W)`` with ``H`` and ``W`` divisible by 32.
        """
        if images.ndim != 4 or images.shape[-2] % _STRIDES[-1] or images.shape[-1] % _STRIDES[-1]:
            refuse(
                "images",
                f"a (N, C, H, W) batch with H and W divisible by {_STRIDES[-1]}",
                f"a tensor of shape {tuple(images.shape)}",
                fix="resize or pad the images (e.g. to 160x160 or 224x224)",
            )
        x = self.stage3(self.stage2(self.stem(images)))
        fine = self.stage4(x)
        coarse = self.neck(self.stage5(fine))
        return [self.head16(torch.cat([self.lateral(coarse), fine], dim=1)), self.head32(coarse)]

    def decode(
        self,
        outputs: Sequence[torch.Tensor],
        conf_threshold: float = 0.25,
        iou_threshold: float = 0.45,
        max_detections: int = 100,
    ) -> list[dict[str, torch.Tensor]]:
        """Detections per image from raw outputs: score threshold, then per-class NMS.

        A box's score is objectness x the probability of its most likely class (the lecture's
        class-specific confidence); boxes scoring below ``conf_threshold`` are dropped, the rest go
        through ``torchvision.ops.batched_nms`` (per class) and the ``max_detections`` best are kept.

        Args:
            outputs: What `forward` returned.
            conf_threshold: The lowest score kept (use a low one, e.g. 0.001, for mAP).
            iou_threshold: Boxes of one class overlapping a better one by more are suppressed.
            max_detections: Detections kept per image.

        Returns:
            One dict per image: ``boxes`` (K, 4) XYXY in pixels (clipped to the image), ``scores``
            (K,) and ``labels`` (K,) int64 (class index + ``first_label``), best score first: what
            torchvision's detectors and torchmetrics' ``MeanAveragePrecision`` use.

        Examples:
            >>> import torch
            >>> model = YOLOv3Tiny(num_classes=2).eval()
            >>> detections = model.decode(model(torch.zeros(1, 3, 64, 64)), conf_threshold=0.5)
            >>> sorted(detections[0]), detections[0]["boxes"].shape
            (['boxes', 'labels', 'scores'], torch.Size([0, 4]))
        """
        conf_threshold = check_probability("conf_threshold", conf_threshold)
        iou_threshold = check_probability("iou_threshold", iou_threshold)
        max_detections = check_positive_int("max_detections", max_detections)
        boxes, objectness, classes = _decode_all(outputs, self.anchors, self.strides, self.num_classes)
        height, width = (int(size) * self.strides[0] for size in outputs[0].shape[-2:])
        scores, labels = (torch.sigmoid(objectness).unsqueeze(-1) * torch.sigmoid(classes)).max(dim=-1)
        results = []
        for image in range(boxes.shape[0]):
            keep = scores[image] >= conf_threshold
            image_boxes = ops.clip_boxes_to_image(
                ops.box_convert(boxes[image][keep], "cxcywh", "xyxy"), (height, width)
            )
            image_scores, image_labels = scores[image][keep], labels[image][keep]
            kept = ops.batched_nms(image_boxes, image_scores, image_labels, iou_threshold)[:max_detections]
            results.append(
                {
                    "boxes": image_boxes[kept],
                    "scores": image_scores[kept],
                    "labels": image_labels[kept] + self.first_label,
                }
            )
        return results

    @torch.no_grad()
    def predict(self, images: torch.Tensor, **decode_options: Any) -> list[dict[str, torch.Tensor]]:
        """`decode` of the model's outputs, computed in eval mode (the previous mode is restored after).

        Args:
            images: ``(N, C, H, W)``, ``H`` and ``W`` divisible by 32, normalised as in training.
            **decode_options: ``conf_threshold``, ``iou_threshold``, ``max_detections`` of `decode`.

        Examples:
            >>> import torch
            >>> len(YOLOv3Tiny(num_classes=2).predict(torch.zeros(3, 3, 64, 64)))
            3
        """
        training = self.training
        self.eval()
        try:
            return self.decode(self(images), **decode_options)
        finally:
            self.train(training)


def _split_output(output: torch.Tensor, num_classes: int) -> torch.Tensor:
    """``(N, A(5+C), H, W)`` -> ``(N, A, H, W, 5 + C)``: one row of predictions per anchor and cell."""
    batch, channels, height, width = output.shape
    if channels != _ANCHORS_PER_SCALE * (5 + num_classes):
        refuse(
            "outputs",
            f"{_ANCHORS_PER_SCALE * (5 + num_classes)} channels per scale ({_ANCHORS_PER_SCALE} anchors x "
            f"(5 + {num_classes} classes))",
            f"{channels} channels",
            fix="pass the outputs of the model whose anchors and num_classes this is",
        )
    return output.view(batch, _ANCHORS_PER_SCALE, 5 + num_classes, height, width).permute(0, 1, 3, 4, 2)


def _decode_scale(
    prediction: torch.Tensor, anchors: torch.Tensor, stride: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """CXCYWH pixel boxes ``(N, A, H, W, 4)``, objectness logits and class logits of one scale."""
    height, width = prediction.shape[2:4]
    gy, gx = torch.meshgrid(
        torch.arange(height, device=prediction.device, dtype=prediction.dtype),
        torch.arange(width, device=prediction.device, dtype=prediction.dtype),
        indexing="ij",
    )
    centres = (torch.sigmoid(prediction[..., :2]) + torch.stack([gx, gy], dim=-1)) * stride
    scale = torch.exp(prediction[..., 2:4].clamp(-_MAX_LOG_SCALE, _MAX_LOG_SCALE))
    sides = scale * anchors.to(prediction).view(1, -1, 1, 1, 2)
    return torch.cat([centres, sides], dim=-1), prediction[..., 4], prediction[..., 5:]


def _decode_all(
    outputs: Sequence[torch.Tensor], anchors: torch.Tensor, strides: Sequence[int], num_classes: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Every scale's boxes ``(N, P, 4)``, objectness ``(N, P)`` and class logits ``(N, P, C)``, flattened."""
    if len(outputs) != len(strides):
        refuse(
            "outputs", f"{len(strides)} tensors (one per stride {tuple(strides)})", f"{len(outputs)} tensors"
        )
    boxes, objectness, classes = [], [], []
    for scale, (output, stride) in enumerate(zip(outputs, strides, strict=True)):
        prediction = _split_output(output, num_classes)
        scale_anchors = anchors[scale * _ANCHORS_PER_SCALE : (scale + 1) * _ANCHORS_PER_SCALE]
        box, obj, cls = _decode_scale(prediction, scale_anchors, stride)
        batch = prediction.shape[0]
        boxes.append(box.reshape(batch, -1, 4))
        objectness.append(obj.reshape(batch, -1))
        classes.append(cls.reshape(batch, -1, num_classes))
    return torch.cat(boxes, dim=1), torch.cat(objectness, dim=1), torch.cat(classes, dim=1)


def _shape_iou(sides: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
    """IoU ``(N, K)`` of boxes of sides ``(N, 2)`` and ``(K, 2)`` placed at one corner (shape alone)."""
    inter = torch.minimum(sides[:, None, :], anchors[None, :, :]).prod(dim=-1)
    return inter / (sides.prod(dim=-1)[:, None] + anchors.prod(dim=-1)[None, :] - inter)


def fit_anchors(boxes_wh: torch.Tensor, k: int = 6, seed: int = 0, iterations: int = 300) -> torch.Tensor:
    """Anchor shapes by k-means on box sides with the distance ``1 - IoU`` (YOLOv2/v3).

    The boxes are compared as if aligned at a corner, so only their shapes count, and a large box
    is not "far" from a slightly larger one the way the Euclidean distance would have it. The
    first centroids are drawn by k-means++ (each next one with probability proportional to its
    distance to the nearest chosen one) from a generator seeded with ``seed``; each iteration then
    moves every centroid to the mean sides of the boxes nearest to it, until none moves.

    Args:
        boxes_wh: ``(N, 2)`` widths and heights in pixels of the training boxes (at the size the
            model sees: after resizing), ``N >= k``.
        k: Anchors wanted (6 for `YOLOv3Tiny`).
        seed: Seed of the initial draw: one seed, one result.
        iterations: The most update steps.

    Returns:
        A float32 ``(k, 2)`` tensor of ``(width, height)`` sorted by area, smallest first.

    Raises:
        ValueError: ``boxes_wh`` is not ``(N, 2)`` positive finite sides, has fewer than ``k``
            boxes, or an argument is out of range.

    Examples:
        >>> import torch
        >>> boxes = torch.tensor([[10.0, 10], [11, 9], [40, 20], [42, 22], [80, 80], [78, 82]])
        >>> fit_anchors(boxes, k=3).tolist()
        [[10.5, 9.5], [41.0, 21.0], [79.0, 81.0]]
    """
    k = check_positive_int("k", k)
    seed = check_seed("seed", seed)
    iterations = check_positive_int("iterations", iterations)
    sides = torch.as_tensor(boxes_wh).detach().to("cpu", torch.float64)
    if sides.ndim != 2 or sides.shape[1] != 2:
        refuse("boxes_wh", "an (N, 2) tensor of box widths and heights", f"shape {tuple(sides.shape)}")
    if not bool(torch.isfinite(sides).all()) or not bool((sides > 0).all()):
        refuse(
            "boxes_wh",
            "positive, finite widths and heights",
            f"{int((~(torch.isfinite(sides) & (sides > 0)).all(dim=1)).sum())} rows that are not",
            fix="drop empty boxes first: boxes_wh[(boxes_wh > 0).all(dim=1)]",
        )
    if sides.shape[0] < k:
        refuse("boxes_wh", f"at least k={k} boxes", int(sides.shape[0]), fix="pass more boxes or a smaller k")
    generator = torch.Generator().manual_seed(0 if seed is None else seed)
    chosen = [int(torch.randint(sides.shape[0], (1,), generator=generator))]
    for _ in range(1, k):
        distance = (1 - _shape_iou(sides, sides[chosen])).min(dim=1).values
        if float(distance.sum()) <= 0:
            # Fewer distinct shapes than k: any box will do, the duplicates merge into one centroid.
            chosen.append(int(torch.randint(sides.shape[0], (1,), generator=generator)))
        else:
            chosen.append(int(torch.multinomial(distance, 1, generator=generator)))
    centroids = sides[chosen].clone()
    for _ in range(iterations):
        nearest = _shape_iou(sides, centroids).argmax(dim=1)
        updated = centroids.clone()
        for cluster in range(k):
            members = sides[nearest == cluster]
            if len(members):
                # An empty cluster keeps its centroid rather than collapsing onto another.
                updated[cluster] = members.mean(dim=0)
        if torch.equal(updated, centroids):
            break
        centroids = updated
    return centroids[torch.argsort(centroids.prod(dim=1), stable=True)].to(torch.float32)


class YOLOLoss:
    """The training loss of `YOLOv3Tiny`, taking ``yolo_collate``'s rows as targets.

    **Assignment.** Each target row ``(image_index, class, cx, cy, w, h)`` (normalised, as
    ``yolo_collate`` writes them) is scaled to pixels and compared by shape (IoU of boxes aligned
    at a corner) with the six anchors. The best anchor overall is responsible for it, and at each
    other scale, that scale's best anchor too when its shape IoU reaches ``anchor_threshold``
    (more positives, faster learning; YOLOv3 had the best only). The responsible cell is the
    one holding the box centre: ``(floor(cx * W / s), floor(cy * H / s))`` at stride ``s``. When
    two targets land on one cell and anchor, the later row wins.

    **Terms**, each divided by the batch size:

    - ``box``: ``1 - CIoU`` (``torchvision.ops.complete_box_iou_loss``) between the decoded box
      and the target, summed over positives;
    - ``objectness``: binary cross-entropy of the objectness logit, summed over every cell and
      anchor; target 1 at positives, 0 elsewhere, except that non-positive predictions whose
      box already overlaps a target of their image by more than ``ignore_threshold`` are left
      out (YOLOv3: a good box from a neighbouring anchor is not punished);
    - ``class``: binary cross-entropy of every class logit at positives (one-hot targets:
      YOLOv3's independent logistic classifiers), summed.

    The loss is ``box_weight * box + objectness_weight * objectness + class_weight * class``.

    Args:
        model: A `YOLOv3Tiny` (its anchors, strides and class count are read once, now).
        anchors: Instead of ``model``: six ``(w, h)`` pixel pairs.
        strides: Instead of ``model``: the two strides (default ``(16, 32)``).
        num_classes: Instead of ``model``: the class count.
        anchor_threshold: Shape IoU at which another scale's best anchor is also responsible;
            above 1 keeps the best anchor overall only.
        ignore_threshold: IoU over which a non-positive prediction is left out of the objectness
            term; 1 or more leaves none out.
        box_weight: Weight of the box term.
        objectness_weight: Weight of the objectness term.
        class_weight: Weight of the class term.

    Raises:
        ValueError: Neither or both of ``model`` and ``anchors``/``num_classes``, or a bad value.

    Examples:
        >>> import torch
        >>> model = YOLOv3Tiny(num_classes=2)
        >>> criterion = YOLOLoss(model)
        >>> rows = torch.tensor([[0.0, 1.0, 0.5, 0.5, 0.25, 0.25]])  # image 0, class 1, centred box
        >>> loss, parts = criterion(model(torch.zeros(1, 3, 64, 64)), rows, image_size=64)
        >>> loss.ndim, sorted(parts)
        (0, ['box', 'class', 'objectness'])
    """

    def __init__(
        self,
        model: YOLOv3Tiny | None = None,
        *,
        anchors: Any = None,
        strides: Sequence[int] | None = None,
        num_classes: int | None = None,
        anchor_threshold: float = 0.5,
        ignore_threshold: float = 0.5,
        box_weight: float = 1.0,
        objectness_weight: float = 1.0,
        class_weight: float = 1.0,
    ) -> None:
        if model is not None:
            if anchors is not None or num_classes is not None or strides is not None:
                refuse(
                    "model",
                    "a model or anchors/strides/num_classes, not both",
                    type(model).__name__,
                    fix="pass YOLOLoss(model) alone",
                )
            anchors, strides, num_classes = model.anchors, model.strides, model.num_classes
        elif anchors is None or num_classes is None:
            refuse(
                "model",
                "a YOLOv3Tiny, or anchors= and num_classes=",
                None,
                fix="pass YOLOLoss(model) or YOLOLoss(anchors=..., num_classes=...)",
            )
        self.anchors = _checked_anchors(anchors)
        self.strides = tuple(_STRIDES if strides is None else strides)
        if len(self.strides) != len(_STRIDES) or not all(isinstance(s, int) and s > 0 for s in self.strides):
            refuse("strides", f"{len(_STRIDES)} positive integers, finest first", strides)
        self.num_classes = check_positive_int("num_classes", num_classes)
        self.anchor_threshold = check_finite_number("anchor_threshold", anchor_threshold, minimum=0)
        self.ignore_threshold = check_finite_number("ignore_threshold", ignore_threshold, minimum=0)
        self.box_weight = check_finite_number("box_weight", box_weight, minimum=0)
        self.objectness_weight = check_finite_number("objectness_weight", objectness_weight, minimum=0)
        self.class_weight = check_finite_number("class_weight", class_weight, minimum=0)

    def assign(
        self, targets: torch.Tensor, image_size: int | Sequence[int], grid_sizes: Sequence[Sequence[int]]
    ) -> list[torch.Tensor]:
        """The responsible anchor and cell of each target, per scale.

        Args:
            targets: ``(M, 6)`` rows ``image_index, class, cx, cy, w, h`` (normalised).
            image_size: ``(height, width)`` of the images in pixels, or one int for square ones.
            grid_sizes: ``(rows, columns)`` of each scale's grid, finest first.

        Returns:
            Per scale, an int64 ``(P, 5)`` tensor of ``target_row, image_index, anchor (0..2 within
            the scale), grid_y, grid_x``.

        Examples:
            >>> import torch
            >>> anchors = [[10, 10], [20, 20], [30, 30], [40, 40], [60, 60], [90, 90]]
            >>> criterion = YOLOLoss(anchors=anchors, num_classes=1)
            >>> rows = torch.tensor([[0.0, 0.0, 0.3, 0.6, 0.125, 0.125]])  # a 20x20 box at (48, 96) of 160 px
            >>> [scale.tolist() for scale in criterion.assign(rows, 160, [(10, 10), (5, 5)])]
            [[[0, 0, 1, 6, 3]], []]
        """
        height, width = _pair(image_size)
        targets = _checked_targets(targets)
        device = targets.device
        sides = targets[:, 4:6] * targets.new_tensor([width, height])
        iou = _shape_iou(sides, self.anchors.to(device)).view(
            len(targets), len(self.strides), _ANCHORS_PER_SCALE
        )
        best_overall = iou.flatten(1).argmax(dim=1)
        best_iou, best_anchor = iou.max(dim=2)
        assigned = []
        rows = torch.arange(len(targets), device=device)
        for scale, (stride, (grid_h, grid_w)) in enumerate(zip(self.strides, grid_sizes, strict=True)):
            responsible = (best_overall // _ANCHORS_PER_SCALE == scale) | (
                best_iou[:, scale] >= self.anchor_threshold
            )
            grid_x = (targets[:, 2] * width / stride).long().clamp(0, int(grid_w) - 1)
            grid_y = (targets[:, 3] * height / stride).long().clamp(0, int(grid_h) - 1)
            table = torch.stack([rows, targets[:, 0].long(), best_anchor[:, scale], grid_y, grid_x], dim=1)
            assigned.append(table[responsible])
        return assigned

    def __call__(
        self,
        outputs: Sequence[torch.Tensor],
        targets: torch.Tensor,
        image_size: int | Sequence[int] | None = None,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The loss of a batch and its parts.

        Args:
            outputs: The model's raw outputs (finest scale first).
            targets: ``yolo_collate``'s ``(M, 6)`` rows (``M`` may be 0: every cell is then "no object").
            image_size: ``(height, width)`` of the batch's images, or one int; default: the finest
                grid's size times its stride.

        Returns:
            ``(loss, parts)``: the weighted sum (a scalar with gradients) and the unweighted
            ``"box"``, ``"objectness"`` and ``"class"`` terms (detached).

        Raises:
            ValueError: ``outputs`` or ``targets`` of the wrong shape, a class index out of range, or an
                image index beyond the batch.
        """
        if len(outputs) != len(self.strides):
            refuse(
                "outputs",
                f"{len(self.strides)} tensors (one per stride {self.strides})",
                f"{len(outputs)} tensors",
            )
        predictions = [_split_output(output, self.num_classes) for output in outputs]
        batch = predictions[0].shape[0]
        if image_size is None:
            image_size = tuple(int(size) * self.strides[0] for size in predictions[0].shape[2:4])
        height, width = _pair(image_size)
        targets = _checked_targets(targets).to(predictions[0].device, torch.float32)
        if len(targets):
            classes = targets[:, 1]
            if bool(
                (classes < 0).any() | (classes >= self.num_classes).any() | (classes != classes.round()).any()
            ):
                refuse(
                    "targets",
                    f"class indices 0..{self.num_classes - 1} in column 1",
                    sorted({float(c) for c in classes.unique().tolist()})[:10],
                    fix="collate with yolo_collate's first_label set to the model's first_label",
                )
            if bool((targets[:, 0] < 0).any() | (targets[:, 0] >= batch).any()):
                refuse(
                    "targets",
                    f"image indices 0..{batch - 1} in column 0",
                    targets[:, 0].unique().tolist()[:10],
                )
        grid_sizes = [tuple(prediction.shape[2:4]) for prediction in predictions]
        assigned = self.assign(targets, (height, width), grid_sizes)
        pixel_boxes = ops.box_convert(
            targets[:, 2:6] * targets.new_tensor([width, height] * 2), "cxcywh", "xyxy"
        )
        anchors = self.anchors.to(targets.device)
        box_sum = predictions[0].new_zeros(())
        objectness_sum = predictions[0].new_zeros(())
        class_sum = predictions[0].new_zeros(())
        for scale, (prediction, stride, table) in enumerate(
            zip(predictions, self.strides, assigned, strict=True)
        ):
            scale_anchors = anchors[scale * _ANCHORS_PER_SCALE : (scale + 1) * _ANCHORS_PER_SCALE]
            boxes, objectness, class_logits = _decode_scale(prediction, scale_anchors, stride)
            corners = ops.box_convert(boxes, "cxcywh", "xyxy")
            objectness_target = torch.zeros_like(objectness)
            weight = torch.ones_like(objectness)
            if self.ignore_threshold < 1 and len(targets):
                with torch.no_grad():
                    for image in range(batch):
                        truth = pixel_boxes[targets[:, 0] == image]
                        if len(truth):
                            overlap = ops.box_iou(corners[image].reshape(-1, 4), truth).max(dim=1).values
                            weight[image][overlap.view(weight.shape[1:]) > self.ignore_threshold] = 0
            if len(table):
                row, image, anchor, grid_y, grid_x = table.unbind(dim=1)
                where = (image, anchor, grid_y, grid_x)
                objectness_target[where] = 1
                weight[where] = 1
                box_sum = box_sum + ops.complete_box_iou_loss(
                    corners[where], pixel_boxes[row], reduction="sum"
                )
                one_hot = nn_functional.one_hot(targets[row, 1].long(), self.num_classes).to(
                    class_logits.dtype
                )
                class_sum = class_sum + nn_functional.binary_cross_entropy_with_logits(
                    class_logits[where], one_hot, reduction="sum"
                )
            objectness_sum = objectness_sum + nn_functional.binary_cross_entropy_with_logits(
                objectness, objectness_target, weight=weight, reduction="sum"
            )
        parts = {"box": box_sum / batch, "objectness": objectness_sum / batch, "class": class_sum / batch}
        loss = (
            self.box_weight * parts["box"]
            + self.objectness_weight * parts["objectness"]
            + self.class_weight * parts["class"]
        )
        return loss, {name: value.detach() for name, value in parts.items()}


def _pair(image_size: Any) -> tuple[int, int]:
    """``(height, width)`` from one int or a pair of positive ints."""
    if isinstance(image_size, int) and not isinstance(image_size, bool):
        return check_positive_int("image_size", image_size), image_size
    if isinstance(image_size, Sequence) and len(image_size) == 2:
        return (
            check_positive_int("image_size", image_size[0], expected="a positive int or (height, width)"),
            check_positive_int("image_size", image_size[1], expected="a positive int or (height, width)"),
        )
    refuse("image_size", "a positive int or (height, width)", image_size)


def _checked_targets(targets: Any) -> torch.Tensor:
    """``targets`` as a float ``(M, 6)`` tensor (``(0, 6)`` for an empty table)."""
    if not isinstance(targets, torch.Tensor):
        refuse("targets", "yolo_collate's (M, 6) tensor of rows", type(targets).__name__)
    if targets.numel() == 0:
        return targets.reshape(0, 6).float()
    if targets.ndim != 2 or targets.shape[1] != 6:
        refuse(
            "targets",
            "yolo_collate's (M, 6) rows: image_index, class, cx, cy, w, h",
            f"shape {tuple(targets.shape)}",
            fix="pose or oriented rows have more columns: this loss takes axis-aligned boxes only",
        )
    return targets.float()
