"""Boxes as torchvision declares them, and torchvision-backend rounding as torchvision v2 does it (issue 19).

Item 7: a ``tv_tensors.BoundingBoxes`` carries its own format and canvas size; the box functions use
them instead of a ``fmt`` argument that could silently disagree. Item 9: the torchvision backend's
``CenterCrop`` puts an odd margin where v2's ``center_crop`` does, and ``Rotate``/``Affine`` keep a
documented bilinear default that ``interpolation="nearest"`` turns into v2's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw
from torchvision import tv_tensors
from torchvision.transforms import InterpolationMode, v2
from torchvision.transforms.v2 import functional as F  # noqa: N812 (torchvision's own spelling)

from visiondata.boxes import clip_boxes, convert_boxes, validate_boxes
from visiondata.exceptions import InvalidBoxesError
from visiondata.transforms import BoxPipeline
from visiondata.transforms._torchvision_backend import CenterCrop

# -- item 7: a BoundingBoxes' own format is the source --------------------------------------------------


def declared(values: list[list[float]], fmt: str = "XYXY", canvas: tuple[int, int] = (100, 200)) -> Any:
    return tv_tensors.BoundingBoxes(values, format=fmt, canvas_size=canvas)


def test_convert_boxes_refuses_a_src_that_disagrees_with_the_declared_format() -> None:
    # Before the fix these XYXY numbers were read as XYWH: [[10, 20, 50, 80]], a silent wrong box.
    boxes = declared([[10.0, 20.0, 40.0, 60.0]], "XYXY")
    with pytest.raises(
        InvalidBoxesError, match=r"src: expected the format the BoundingBoxes declare, 'xyxy'"
    ):
        convert_boxes(boxes, "xywh", "xyxy")
    with pytest.raises(ValueError, match="got 'coco'"):
        convert_boxes(boxes, "coco", "xyxy")
    # BoundingBoxes hold pixels: a normalised src never matches.
    with pytest.raises(InvalidBoxesError, match="got 'xyxyn'"):
        convert_boxes(boxes, "xyxyn", "xyxy")


@pytest.mark.parametrize("src", [None, "xyxy", "pascal_voc", "XYXY"])
def test_convert_boxes_takes_the_declared_format_and_keeps_a_bounding_boxes(src: str | None) -> None:
    boxes = declared([[10.0, 20.0, 40.0, 60.0]], "XYXY", canvas=(100, 200))
    converted = convert_boxes(boxes, src, "xywh")
    assert isinstance(converted, tv_tensors.BoundingBoxes)
    assert converted.format == tv_tensors.BoundingBoxFormat.XYWH
    assert tuple(converted.canvas_size) == (100, 200)
    assert converted.tolist() == [[10.0, 20.0, 30.0, 40.0]]
    # Same as torchvision's own conversion.
    reference = F.convert_bounding_box_format(boxes, new_format=tv_tensors.BoundingBoxFormat.XYWH)
    assert torch.equal(converted.as_subclass(torch.Tensor), reference.as_subclass(torch.Tensor))
    # The result shares no memory with the input, also when nothing changes.
    same = convert_boxes(boxes, None, "xyxy")
    assert isinstance(same, tv_tensors.BoundingBoxes) and same.data_ptr() != boxes.data_ptr()


def test_convert_boxes_uses_the_canvas_size_for_normalised_formats() -> None:
    boxes = declared([[50.0, 25.0, 100.0, 50.0]], "CXCYWH", canvas=(100, 200))
    yolo = convert_boxes(boxes, None, "yolo")
    # torchvision has no normalised format: a plain tensor, in fractions of the canvas.
    assert type(yolo) is torch.Tensor
    torch.testing.assert_close(yolo, torch.tensor([[0.25, 0.25, 0.5, 0.5]]))
    assert convert_boxes(boxes, None, "yolo", image_size=(100, 200)).tolist() == yolo.tolist()
    with pytest.raises(
        InvalidBoxesError, match=r"image_size: expected the BoundingBoxes' canvas_size \(100, 200\)"
    ):
        convert_boxes(boxes, None, "yolo", image_size=(200, 100))


def test_convert_boxes_without_src_on_plain_boxes_asks_for_it() -> None:
    with pytest.raises(
        ValueError, match=r"src: expected a box format.*got None; None is for a tv_tensors\.BoundingBoxes"
    ):
        convert_boxes(torch.tensor([[1.0, 2.0, 3.0, 4.0]]), None, "xywh")


def test_rotated_bounding_boxes_are_read_in_their_declared_format() -> None:
    # A 5 x 5 box at angle 0 from (10, 10): its enclosing XYXY box, whatever src says.
    rotated = tv_tensors.BoundingBoxes([[10.0, 10.0, 5.0, 5.0, 0.0]], format="XYWHR", canvas_size=(50, 50))
    assert convert_boxes(rotated, None, "xyxy").tolist() == [[10.0, 10.0, 15.0, 15.0]]
    with pytest.raises(InvalidBoxesError, match="expected the format the BoundingBoxes declare, 'xywhr'"):
        convert_boxes(rotated, "xyxy", "xywh")


def test_validate_boxes_reads_the_declared_format_and_canvas() -> None:
    # XYWH box (150, 10, 40, 20) reaches x = 190 of a 200-wide canvas: valid. Read as the default
    # "xyxy" (before the fix) it was inverted (x_max 40 < x_min 150) and raised.
    boxes = declared([[150.0, 10.0, 40.0, 20.0], [190.0, 10.0, 30.0, 20.0]], "XYWH", canvas=(100, 200))
    result = validate_boxes(boxes, policy="clip")
    assert result.keep.tolist() == [True, True]
    assert result.changes == [{"index": 1, "reason": "out_of_bounds", "action": "clipped"}]
    assert isinstance(result.boxes, tv_tensors.BoundingBoxes)
    assert result.boxes.format == tv_tensors.BoundingBoxFormat.XYWH
    assert result.boxes.tolist() == [[150.0, 10.0, 40.0, 20.0], [190.0, 10.0, 10.0, 20.0]]
    with pytest.raises(InvalidBoxesError, match="fmt: expected the format the BoundingBoxes declare, 'xywh'"):
        validate_boxes(boxes, "xyxy")
    with pytest.raises(InvalidBoxesError, match="canvas_size"):
        validate_boxes(boxes, image_size=(10, 10))
    # Plain boxes keep the old default, xyxy.
    plain = validate_boxes(torch.tensor([[150.0, 10.0, 40.0, 20.0]]), policy="drop")
    assert plain.changes == [{"index": 0, "reason": "inverted", "action": "dropped"}]


def test_clip_boxes_and_box_area_read_the_declared_format() -> None:
    from visiondata.boxes import box_area, box_iou

    boxes = declared([[150.0, 10.0, 80.0, 20.0]], "XYWH", canvas=(100, 200))
    clipped = clip_boxes(boxes)
    assert isinstance(clipped, tv_tensors.BoundingBoxes) and clipped.tolist() == [[150.0, 10.0, 50.0, 20.0]]
    assert box_area(boxes).tolist() == [1600.0]
    assert box_iou(boxes, declared([[150.0, 10.0, 230.0, 30.0]], "XYXY", (100, 200))).tolist() == [[1.0]]
    with pytest.raises(InvalidBoxesError, match="fmt"):
        box_area(boxes, "xyxy")


# -- item 9: CenterCrop where v2 puts it ----------------------------------------------------------------


def photo(height: int, width: int) -> np.ndarray:
    """An ``H x W x 3`` uint8 image with a distinct value at every pixel, so a 1 px shift shows."""
    rows, columns = np.mgrid[0:height, 0:width]
    return np.stack([rows * 7 % 256, columns * 5 % 256, (rows + columns) * 3 % 256], -1).astype(np.uint8)


# (height, width, crop): odd margins both ways (3 -> v2 starts at 2, 5 -> 2, 7 -> 4, 1 -> 0), even ones,
# and crops larger than the image on one or both sides (padding).
CENTRE_CASES = [
    (23, 31, (20, 26)),
    (27, 17, (20, 16)),
    (24, 32, (20, 26)),
    (15, 40, (20, 33)),
    (15, 18, (20, 25)),
    (31, 31, (30, 24)),
]


@pytest.mark.parametrize(("height", "width", "crop"), CENTRE_CASES)
def test_center_crop_matches_torchvision_v2_on_odd_margins(
    height: int, width: int, crop: tuple[int, int]
) -> None:
    image = photo(height, width)
    # The box is the mask's rectangle, so where the box lands can be read off the cropped mask.
    box = [[5.0, 2.0, width - 1.0, height - 2.0]]
    mask = torch.zeros((1, height, width), dtype=torch.uint8)
    mask[0, 2 : height - 2, 5 : width - 1] = 1
    out = BoxPipeline([{"name": "CenterCrop", "size": list(crop)}])(
        {"image": torch.from_numpy(image).permute(2, 0, 1), "boxes": box, "labels": [1], "masks": mask}
    )
    reference_image = F.center_crop(tv_tensors.Image(torch.from_numpy(image).permute(2, 0, 1)), list(crop))
    reference_mask = F.center_crop(tv_tensors.Mask(mask), list(crop))
    assert torch.equal(out["image"], reference_image.as_subclass(torch.Tensor))
    assert torch.equal(out["masks"], reference_mask.as_subclass(torch.Tensor))
    # The box follows the pixels (cut to the crop by the default out-of-bounds policy, as v2 clamps it).
    rows, columns = torch.nonzero(out["masks"][0], as_tuple=True)
    extent = [columns.min(), rows.min(), columns.max() + 1, rows.max() + 1]
    assert np.asarray(out["boxes"], dtype=np.float64).tolist() == [[float(v) for v in extent]]
    if height >= crop[0] and width >= crop[1]:
        # Without padding v2's boxes follow its pixels too: ours equal them. (Padding an odd amount,
        # v2 moves the pixels by floor(pad / 2) but its boxes by round(pad / 2): 1 px off its own image.)
        reference_boxes = F.center_crop(
            tv_tensors.BoundingBoxes(box, format="XYXY", canvas_size=(height, width)), list(crop)
        )
        expected = reference_boxes.as_subclass(torch.Tensor).double().numpy()
        np.testing.assert_allclose(np.asarray(out["boxes"], dtype=np.float64), expected, atol=1e-6)


@pytest.mark.parametrize(("height", "width", "crop"), CENTRE_CASES)
def test_center_crop_numpy_window_matches_torchvision_v2(
    height: int, width: int, crop: tuple[int, int]
) -> None:
    # The numpy implementation (for a backend that runs on H x W x C arrays) cuts the same window.
    image = photo(height, width)
    transform = CenterCrop(crop)
    params = transform.get_params(np.random.default_rng(0), height, width, np.zeros((0, 4)))
    reference = F.center_crop(torch.from_numpy(image).permute(2, 0, 1), list(crop)).permute(1, 2, 0).numpy()
    assert np.array_equal(transform.apply_image_numpy(image, params), reference)
    masks = (image[None, ..., 0] > 100).astype(np.uint8)
    reference_masks = F.center_crop(torch.from_numpy(masks), list(crop)).numpy()
    assert np.array_equal(transform.apply_masks_numpy(masks, params), reference_masks)
    # A fill colour goes where the padding is, and only there.
    filled = CenterCrop(crop, fill=[10, 20, 30]).apply_image_numpy(image, params)
    changed = (filled != reference).any(-1)
    assert (filled[changed] == [10, 20, 30]).all()
    assert changed.any() == any(params["pad"])


# -- item 9: Rotate / Affine interpolation --------------------------------------------------------------


def scene() -> np.ndarray:
    image = Image.new("RGB", (64, 48), (30, 60, 90))
    draw = ImageDraw.Draw(image)
    draw.rectangle([12, 10, 40, 30], fill=(250, 240, 10))
    draw.ellipse([30, 20, 58, 44], fill=(10, 200, 250))
    return np.asarray(image).copy()


@pytest.mark.parametrize("interpolation", [None, "bilinear", "nearest"])
def test_rotate_interpolation_default_is_bilinear_and_nearest_reproduces_v2(
    interpolation: str | None,
) -> None:
    image = torch.from_numpy(scene()).permute(2, 0, 1)
    spec: dict[str, Any] = {"name": "Rotate", "degrees": [25, 25]}
    if interpolation is not None:
        spec["interpolation"] = interpolation
    out = BoxPipeline([spec])({"image": image, "boxes": [[12.0, 10.0, 41.0, 31.0]], "labels": [1]})
    if interpolation == "nearest":
        reference = v2.RandomRotation((25, 25))(image)  # v2's own default: nearest
    else:
        reference = v2.RandomRotation((25, 25), interpolation=InterpolationMode.BILINEAR)(image)
    assert torch.equal(out["image"], reference)
    # The two modes really differ here, so the default is pinned, not just any warp.
    assert not torch.equal(
        v2.RandomRotation((25, 25))(image), v2.RandomRotation((25, 25), interpolation=2)(image)
    )


@pytest.mark.parametrize("interpolation", [None, "nearest"])
def test_affine_interpolation_default_is_bilinear_and_nearest_reproduces_v2(
    interpolation: str | None,
) -> None:
    image = torch.from_numpy(scene()).permute(2, 0, 1)
    spec: dict[str, Any] = {"name": "Affine", "degrees": [-20, -20], "shear": [10, 10]}
    if interpolation is not None:
        spec["interpolation"] = interpolation
    out = BoxPipeline([spec])({"image": image, "boxes": [[12.0, 10.0, 41.0, 31.0]], "labels": [1]})
    if interpolation == "nearest":
        reference = v2.RandomAffine(degrees=(-20, -20), shear=(10, 10))(image)  # v2's default: nearest
    else:
        reference = v2.RandomAffine(
            degrees=(-20, -20), shear=(10, 10), interpolation=InterpolationMode.BILINEAR
        )(image)
    assert torch.equal(out["image"], reference)


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_rotate_backends_agree_on_the_interpolation(interpolation: str) -> None:
    image = scene()
    spec = [{"name": "Rotate", "degrees": [25, 25], "interpolation": interpolation}]
    sample = {"image": image, "boxes": [[12.0, 10.0, 41.0, 31.0]], "labels": [1]}
    on_torchvision = np.asarray(BoxPipeline(spec)(dict(sample))["image"]).astype(int)
    on_albumentations = np.asarray(BoxPipeline(spec, backend="albumentations")(dict(sample))["image"]).astype(
        int
    )
    difference = np.abs(on_torchvision - on_albumentations)
    # Both interpolate the same way: the same pixels but for rounding and a few edge pixels.
    assert np.mean(difference <= 2) > 0.97
    # Bilinear blends the yellow rectangle's edge into the background; nearest keeps only the two colours.
    levels = {tuple(pixel) for pixel in on_albumentations.reshape(-1, 3).tolist()}
    levels |= {tuple(pixel) for pixel in on_torchvision.reshape(-1, 3).tolist()}
    if interpolation == "nearest":
        assert levels <= {(30, 60, 90), (250, 240, 10), (10, 200, 250), (0, 0, 0)}
    else:
        assert len(levels) > 10


def test_center_crop_backends_cut_the_same_window_on_odd_margins() -> None:
    image = photo(23, 31)
    spec = [{"name": "CenterCrop", "size": [20, 26]}]
    sample = {"image": image, "boxes": [[5.0, 2.0, 30.0, 21.0]], "labels": [1]}
    on_torchvision = BoxPipeline(spec)(dict(sample))
    on_albumentations = BoxPipeline(spec, backend="albumentations")(dict(sample))
    assert np.array_equal(np.asarray(on_torchvision["image"]), np.asarray(on_albumentations["image"]))
    assert np.asarray(on_torchvision["boxes"]).tolist() == np.asarray(on_albumentations["boxes"]).tolist()
