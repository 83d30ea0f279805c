"""Oriented (rotated) boxes through BoxPipeline on both backends (issue 20, "Pipeline").

Every geometric transform is checked by where the pixels of a filled rotated rectangle go; the
torchvision backend is checked against torchvision's own v2 kernels for rotated ``BoundingBoxes``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw
from test_keypoint_pipeline import SPECS, geometric_names
from torch.utils.data import DataLoader
from torchvision import tv_tensors
from torchvision.transforms.v2 import functional as tvf

from visiondata.boxes import convert_boxes
from visiondata.exceptions import InvalidBoxesError
from visiondata.formats._dota import DOTADataset
from visiondata.transforms import BoxPipeline

BACKENDS = ("torchvision", "albumentations")
HEIGHT, WIDTH = 64, 80
# cx, cy, w, h, angle (degrees, counter-clockwise on screen)
BOX = [40.0, 32.0, 34.0, 16.0, 25.0]


def polygon_mask(corners: list[float], height: int, width: int) -> np.ndarray:
    mask = Image.new("L", (width, height), 0)
    ImageDraw.Draw(mask).polygon([(corners[i], corners[i + 1]) for i in range(0, 8, 2)], fill=255)
    return np.asarray(mask) > 127


def box_image(box: list[float] = BOX) -> torch.Tensor:
    corners = convert_boxes(np.array([box]), "cxcywhr", "xyxyxyxy")[0].tolist()
    image = np.zeros((HEIGHT, WIDTH, 3), dtype=np.uint8)
    image[polygon_mask(corners, HEIGHT, WIDTH)] = 255
    return torch.from_numpy(image).permute(2, 0, 1).contiguous()


def sample(fmt: str = "CXCYWHR") -> tuple[tv_tensors.Image, dict]:
    boxes = convert_boxes(torch.tensor([BOX]), "cxcywhr", fmt.lower())
    target = {
        "boxes": tv_tensors.BoundingBoxes(boxes, format=fmt, canvas_size=(HEIGHT, WIDTH)),
        "labels": torch.tensor([3]),
    }
    return tv_tensors.Image(box_image()), target


def test_every_geometric_transform_is_checked() -> None:
    assert sorted(SPECS) == geometric_names()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", geometric_names())
def test_oriented_boxes_follow_the_pixels(name: str, backend: str) -> None:
    checked = 0
    for seed in range(4):
        spec = {"name": name, **SPECS.get(name, {})}
        image, target = BoxPipeline([spec], backend=backend, seed=seed)(sample())
        boxes = target["boxes"]
        assert isinstance(boxes, tv_tensors.BoundingBoxes) and boxes.format.name == "CXCYWHR"
        height, width = image.shape[-2:]
        assert boxes.canvas_size == (height, width)
        if not len(boxes):
            assert [entry["reason"] for entry in target["dropped"]] == ["out_of_bounds"]
            continue
        assert target["labels"].tolist() == [3]
        bright = image.float().mean(0).numpy() > 127
        if bright.sum() < 0.5 * bright.size / (HEIGHT * WIDTH) * 34 * 16:
            continue  # mostly cut away: the soft clamp encloses more than what is left
        corners = convert_boxes(boxes.as_subclass(torch.Tensor), "cxcywhr", "xyxyxyxy")[0].tolist()
        drawn = polygon_mask(corners, height, width)
        iou = (drawn & bright).sum() / (drawn | bright).sum()
        assert iou > 0.8, f"seed {seed}: the box covers its pixels with IoU {iou:.3f}"
        checked += 1
    assert checked, "no seed left the box in view"


FORMATS = ("XYWHR", "CXCYWHR", "XYXYXYXY")
# portable spec, torchvision's kernel, whether the XYXYXYXY result must match too (torchvision squares the
# parallelograms of an unequal resize; visiondata keeps the four moved corners of xyxyxyxy boxes)
REFERENCES = [
    ({"name": "HorizontalFlip", "p": 1.0}, tvf.horizontal_flip, True),
    ({"name": "VerticalFlip", "p": 1.0}, tvf.vertical_flip, True),
    ({"name": "Resize", "size": [30, 100]}, lambda x: tvf.resize(x, [30, 100]), False),
    ({"name": "Resize", "size": [32, 40]}, lambda x: tvf.resize(x, [32, 40]), True),
    (
        {"name": "Crop", "top": 20, "left": 25, "height": 40, "width": 50},
        lambda x: tvf.crop(x, 20, 25, 40, 50),
        True,
    ),
    ({"name": "Rotate", "degrees": [30, 30]}, lambda x: tvf.rotate(x, 30.0), True),
    (
        {"name": "Affine", "degrees": [20, 20], "translate": [0, 0], "scale": [1.2, 1.2], "shear": [0, 0]},
        lambda x: tvf.affine(x, angle=20.0, translate=[0.0, 0.0], scale=1.2, shear=[0.0, 0.0]),
        True,
    ),
]


def _same_boxes(ours: torch.Tensor, theirs: torch.Tensor, fmt: str) -> None:
    ours, theirs = ours.double(), theirs.double()
    if fmt != "XYXYXYXY":
        # Angles are equal modulo 360 (torchvision's vertical flip gives 180 - r, atan2 the same in (-180, 180]).
        difference = (ours[:, 4] - theirs[:, 4] + 180) % 360 - 180
        np.testing.assert_allclose(difference.numpy(), 0.0, atol=1e-3)
        ours, theirs = ours[:, :4], theirs[:, :4]
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-3)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("spec", "kernel", "corners_too"), REFERENCES, ids=lambda v: getattr(v, "get", str)("name")
)
def test_torchvision_backend_matches_torchvisions_rotated_kernels(spec, kernel, corners_too, fmt) -> None:
    if fmt == "XYXYXYXY" and not corners_too:
        pytest.skip("torchvision squares parallelograms of XYXYXYXY boxes; visiondata keeps the corners")
    image, target = sample(fmt)
    out_image, out = BoxPipeline([spec], seed=0)(image, target)
    expected = kernel(target["boxes"])
    assert out["boxes"].format == expected.format and tuple(out["boxes"].canvas_size) == tuple(
        expected.canvas_size
    )
    assert tuple(out_image.shape[-2:]) == tuple(expected.canvas_size)
    _same_boxes(out["boxes"].as_subclass(torch.Tensor), expected.as_subclass(torch.Tensor), fmt)


def _upright(cx: float, cy: float) -> torch.Tensor:
    # A 10 x 20 (w x h) box turned a quarter: exact areas, spans x in [cx - 10, cx + 10], y in [cy - 5, cy + 5].
    return torch.tensor([[cx, cy, 10.0, 20.0, 90.0]])


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_crop_clips_the_polygon_and_measures_visibility(backend: str) -> None:
    image = torch.zeros(3, HEIGHT, WIDTH, dtype=torch.uint8)
    boxes = torch.cat([_upright(20.0, 30.0), _upright(50.0, 30.0)])
    crop = {"name": "Crop", "top": 0, "left": 15, "height": 64, "width": 60}  # cuts the first box at x = 15
    out = BoxPipeline([crop], box_format="cxcywhr", backend=backend)(
        {"image": image, "boxes": boxes, "labels": torch.tensor([1, 2])}
    )
    # The first box keeps its angle; the part in view is x in [0, 15] of the crop, y in [25, 35].
    cx, cy, w, h, angle = out["boxes"][0].tolist()
    assert (cx, cy) == pytest.approx((7.5, 30.0), abs=1e-3) and abs(angle - 90.0) < 1e-3
    assert sorted([w, h]) == pytest.approx([10.0, 15.0], abs=1e-3)
    assert out["boxes"][1].tolist() == pytest.approx([35.0, 30.0, 10.0, 20.0, 90.0], abs=1e-3)
    # Visibility is the clipped polygon's area over the whole box's: 150 / 200.
    kept = BoxPipeline([crop], box_format="cxcywhr", min_visibility=0.7, backend=backend)(
        {"image": image, "boxes": boxes, "labels": torch.tensor([1, 2])}
    )
    assert kept["labels"].tolist() == [1, 2]
    dropped = BoxPipeline([crop], box_format="cxcywhr", min_visibility=0.8, backend=backend)(
        {"image": image, "boxes": boxes, "labels": torch.tensor([1, 2])}
    )
    assert dropped["labels"].tolist() == [2]
    assert dropped["dropped"] == [{"index": 0, "reason": "visibility"}]
    strict = BoxPipeline([crop], box_format="cxcywhr", out_of_bounds="drop", backend=backend)(
        {"image": image, "boxes": boxes, "labels": torch.tensor([1, 2])}
    )
    assert strict["labels"].tolist() == [2]
    assert strict["dropped"] == [{"index": 0, "reason": "out_of_bounds"}]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_box_cut_away_entirely_is_reported(backend: str) -> None:
    out = BoxPipeline(
        [{"name": "Crop", "top": 0, "left": 40, "height": 64, "width": 40}],
        box_format="xywhr",
        backend=backend,
    )(
        {
            "image": torch.zeros(3, HEIGHT, WIDTH, dtype=torch.uint8),
            "boxes": torch.tensor([[5.0, 20.0, 20.0, 10.0, 30.0]]),
        }
    )
    assert out["boxes"].shape == (0, 5)
    assert out["dropped"] == [{"index": 0, "reason": "out_of_bounds"}]


def test_filters_measure_the_oriented_box_not_its_enclosing_box() -> None:
    # 20 x 10 at 45 degrees: area 200, sides 20 and 10; its enclosing box is about 21.2 x 21.2 (area 450).
    image = torch.zeros(3, HEIGHT, WIDTH, dtype=torch.uint8)
    box = torch.tensor([[40.0, 32.0, 20.0, 10.0, 45.0]])
    run = lambda **kw: BoxPipeline([], box_format="cxcywhr", **kw)({"image": image, "boxes": box})  # noqa: E731
    assert run(min_area=199)["dropped"] == []
    assert run(min_area=300)["dropped"] == [{"index": 0, "reason": "area"}]
    assert run(min_size=9.9)["dropped"] == []
    assert run(min_size=15)["dropped"] == [{"index": 0, "reason": "size"}]


@pytest.mark.parametrize("fmt", ["xywhr", "cxcywhr", "xyxyxyxy"])
@pytest.mark.parametrize("kind", ["tensor", "numpy", "list"])
def test_formats_come_back_as_given(fmt: str, kind: str) -> None:
    boxes = convert_boxes(np.array([BOX, [20.0, 20.0, 10.0, 6.0, -60.0]]), "cxcywhr", fmt)
    given = {"tensor": torch.tensor(boxes, dtype=torch.float32), "numpy": boxes, "list": boxes.tolist()}[kind]
    out = BoxPipeline([{"name": "HorizontalFlip", "p": 0.0}], box_format=fmt)(
        {"image": torch.zeros(3, HEIGHT, WIDTH, dtype=torch.uint8), "boxes": given}
    )
    assert type(out["boxes"]) is type(given)
    np.testing.assert_allclose(np.asarray(out["boxes"], dtype=np.float64), boxes, atol=1e-4)
    twice = BoxPipeline([{"name": "HorizontalFlip", "p": 1.0}] * 2, box_format=fmt)(
        {"image": torch.zeros(3, HEIGHT, WIDTH, dtype=torch.uint8), "boxes": given}
    )
    back = np.asarray(twice["boxes"], dtype=np.float64)
    if fmt != "xyxyxyxy":
        back[:, 4] = (back[:, 4] - boxes[:, 4] + 180) % 360 - 180 + boxes[:, 4]
    np.testing.assert_allclose(back, boxes, atol=1e-4)


def test_a_quadrilateral_listed_the_other_way_round_keeps_its_order() -> None:
    # DOTA lists corners in either direction; only a mirroring step may reorder them.
    quad = np.array([[10.0, 10.0, 10.0, 30.0, 40.0, 30.0, 40.0, 10.0]])
    out = BoxPipeline([{"name": "Pad", "padding": 2}], box_format="xyxyxyxy")(
        {"image": torch.zeros(3, HEIGHT, WIDTH, dtype=torch.uint8), "boxes": quad}
    )
    np.testing.assert_allclose(out["boxes"], quad + 2)


def test_wrong_columns_for_an_oriented_format_are_named() -> None:
    pipeline = BoxPipeline([], box_format="xywhr")
    with pytest.raises(
        InvalidBoxesError, match=r"expected an \(N, 5\) array of xywhr boxes, got shape \(1, 4\)"
    ):
        pipeline({"image": torch.zeros(3, 8, 8, dtype=torch.uint8), "boxes": torch.zeros(1, 4)})
    with pytest.raises(InvalidBoxesError, match=r"(?s)box 0 .*without area.*Fix the annotations"):
        pipeline(
            {"image": torch.zeros(3, 8, 8, dtype=torch.uint8), "boxes": torch.tensor([[1.0, 1, 0, 2, 0]])}
        )


@pytest.mark.parametrize("backend", BACKENDS)
def test_own_classes_move_oriented_boxes(backend: str) -> None:
    spec = (
        {"name": "torchvision.RandomHorizontalFlip", "p": 1.0}
        if backend == "torchvision"
        else {"name": "albumentations.HorizontalFlip", "p": 1.0}
    )
    image, target = sample("XYWHR")
    _, out = BoxPipeline([spec], seed=0, backend=backend)(image, target)
    _same_boxes(out["boxes"].as_subclass(torch.Tensor), tvf.horizontal_flip(target["boxes"]), "XYWHR")


def _dota_folder(root: Path) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "labelTxt").mkdir()
    for index in range(4):
        image = Image.new("RGB", (WIDTH, HEIGHT), (40, 40, 40))
        quad = [(20 + index, 10), (60, 20 + index), (50, 50), (10 + index, 40)]
        ImageDraw.Draw(image).polygon(quad, fill=(230, 230, 230))
        image.save(root / "images" / f"P{index:04d}.png")
        text = " ".join(f"{x} {y}" for x, y in quad) + " plane 0\n"
        (root / "labelTxt" / f"P{index:04d}.txt").write_text(text)
    return root


def _collect(dataset: DOTADataset) -> list[list[float]]:
    # The workers' seeds derive from the loader's generator: the same one repeats the run.
    loader = DataLoader(
        dataset, batch_size=None, num_workers=2, shuffle=False, generator=torch.Generator().manual_seed(0)
    )
    return [target["boxes"].tolist() for _, target in loader]


def test_dataloader_workers_give_reproducible_oriented_boxes(tmp_path: Path) -> None:
    root = _dota_folder(tmp_path)
    specs = [{"name": "Rotate", "degrees": 40}, {"name": "RandomCrop", "size": [50, 60]}]

    def dataset(seed: int) -> DOTADataset:
        return DOTADataset(root / "images", transform=BoxPipeline(specs, seed=seed))

    first = _collect(dataset(3))
    plain = DOTADataset(root / "images")[0][1]["boxes"]
    assert isinstance(plain, tv_tensors.BoundingBoxes) and plain.format.name == "XYXYXYXY"
    assert first == _collect(dataset(3))
    assert first != _collect(dataset(4))
    assert all(len(boxes[0]) == 8 for boxes in first if boxes)
    # Each sample drew its own rotation: the boxes are not all turned alike.
    assert len({tuple(np.round(boxes[0], 3)) for boxes in first if boxes}) > 1


def _oriented_dataset(count: int = 4) -> list[tuple[tv_tensors.Image, dict]]:
    return [sample("XYWHR") for _ in range(count)]


def test_mosaic_carries_oriented_boxes_with_their_pixels() -> None:
    from visiondata.transforms import Mosaic

    checked = 0
    for seed in range(3):
        image, target = Mosaic(_oriented_dataset(), size=96, seed=seed)[0]
        boxes = target["boxes"]
        assert isinstance(boxes, tv_tensors.BoundingBoxes) and boxes.format.name == "XYWHR"
        assert len(boxes) + len(target["dropped"]) == 4 and len(target["labels"]) == len(boxes)
        bright = image.float().mean(0).numpy() > 127
        drawn = np.zeros_like(bright)
        for corners in convert_boxes(boxes.as_subclass(torch.Tensor), "xywhr", "xyxyxyxy").tolist():
            drawn |= polygon_mask(corners, 96, 96)
        # The boxes cover the bright pixels; a box cut by its tile's edge encloses a little more.
        assert (drawn & bright).sum() >= 0.95 * bright.sum()
        assert (drawn & bright).sum() / (drawn | bright).sum() > 0.7
        checked += 1
    assert checked


def test_mixup_concatenates_oriented_boxes() -> None:
    from visiondata.transforms import MixUp

    _, target = MixUp(_oriented_dataset(2), p=1.0, seed=0)[0]
    assert target["boxes"].format.name == "XYWHR" and target["boxes"].shape == (2, 5)
    expected = convert_boxes(torch.tensor([BOX]), "cxcywhr", "xywhr")
    np.testing.assert_allclose(target["boxes"].numpy(), torch.cat([expected, expected]).numpy(), atol=1e-4)


def test_a_mix_of_oriented_and_axis_aligned_samples_is_named() -> None:
    from visiondata.transforms import Mosaic

    plain = (
        tv_tensors.Image(torch.zeros(3, HEIGHT, WIDTH, dtype=torch.uint8)),
        {"boxes": torch.tensor([[1.0, 1.0, 9.0, 9.0]]), "labels": torch.tensor([1])},
    )
    # Sample 1 (axis-aligned) first, and its seed-1 draws include sample 0 (oriented).
    mosaic = Mosaic([sample("XYWHR"), plain], size=64, seed=1)
    with pytest.raises(ValueError, match=r"(?s)dataset\[1\]: xyxy.*dataset\[0\]: xywhr"):
        mosaic[1]


@pytest.mark.parametrize("name", ["albumentations.GridDistortion", "albumentations.ElasticTransform"])
def test_albumentations_distortions_keep_oriented_boxes(name: str) -> None:
    # Distortions move points as discs of a mask: the visible corners, equal to the whole ones, used to
    # overwrite them, and the box was dropped as out of bounds.
    image, target = BoxPipeline([{"name": name, "p": 1.0}], backend="albumentations", seed=0)(sample("XYWHR"))
    assert target["dropped"] == [] and len(target["boxes"]) == 1
    bright = image.float().mean(0).numpy() > 127
    corners = convert_boxes(target["boxes"].as_subclass(torch.Tensor), "xywhr", "xyxyxyxy")[0].tolist()
    drawn = polygon_mask(corners, HEIGHT, WIDTH)
    assert (drawn & bright).sum() / (drawn | bright).sum() > 0.7


@pytest.mark.parametrize("backend", BACKENDS)
def test_keypoints_and_oriented_boxes_move_and_leave_together(backend: str) -> None:
    image = torch.zeros(3, HEIGHT, WIDTH, dtype=torch.uint8)
    boxes = torch.cat([_upright(20.0, 30.0), _upright(60.0, 30.0)])
    keypoints = torch.tensor([[[20.0, 30.0, 2.0]], [[60.0, 30.0, 2.0]]])
    out = BoxPipeline(
        [
            {"name": "HorizontalFlip", "p": 1.0},
            {"name": "Crop", "top": 0, "left": 0, "height": 64, "width": 40},
        ],
        box_format="cxcywhr",
        backend=backend,
    )({"image": image, "boxes": boxes, "keypoints": keypoints, "labels": torch.tensor([1, 2])})
    # Mirrored, the second box lands at x 20 (kept), the first at x 60 (cut away with its keypoints).
    assert out["labels"].tolist() == [2]
    assert out["dropped"] == [{"index": 0, "reason": "out_of_bounds"}]
    assert out["boxes"][0].tolist()[:4] == pytest.approx([20.0, 30.0, 10.0, 20.0], abs=1e-3)
    assert out["keypoints"].tolist() == [[[pytest.approx(19.0, abs=0.6), pytest.approx(30.0, abs=0.6), 2.0]]]


def test_mosaic_tile_off_the_canvas_drops_its_oriented_boxes() -> None:
    from visiondata.transforms import Mosaic

    # The centre at the canvas' top-left corner: the top-left tile has no pixel on the canvas. Its boxes
    # used to be clamped to the empty region as boxes with area, and came back.
    _, target = Mosaic(_oriented_dataset(), size=96, center_range=(0.0, 0.0), seed=0)[0]
    assert len(target["boxes"]) + len(target["dropped"]) == 4
    for corners in convert_boxes(target["boxes"].as_subclass(torch.Tensor), "xywhr", "xyxyxyxy").tolist():
        assert polygon_mask(corners, 96, 96).any()  # every box kept lies on the canvas
