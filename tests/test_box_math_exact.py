"""Exact behaviour of visiondata.boxes' conversion, area, IoU and clipping, edge by edge.

Each test pins one behaviour of ``convert_boxes``, ``box_area``, ``box_iou`` and ``clip_boxes`` with values
worked out by hand: the default format, the image size checks and their messages, batched ``(B, N, C)``
input, dtypes that must survive, and the gradients that training code takes through the arithmetic.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torchvision import tv_tensors

from visiondata.boxes import box_area, box_iou, clip_boxes, convert_boxes
from visiondata.boxes._convert import check_format
from visiondata.boxes._rotated import ROTATED_FORMATS
from visiondata.exceptions import InvalidBoxesError


class TestImageSize:
    """``image_size`` must be two positive numbers, and errors name the argument."""

    @pytest.mark.parametrize("image_size", [(0, 10), (10, 0), (-1, 10), (10, -1)])
    def test_a_side_that_is_not_positive_is_refused(self, image_size: tuple[int, int]) -> None:
        """A zero or negative height or width is an error, naming ``image_size``, not a division by zero."""
        with pytest.raises(ValueError, match=r"^image_size: expected a positive \(height, width\)"):
            convert_boxes(np.array([[0.5, 0.5, 0.2, 0.2]]), "yolo", "xyxy", image_size=image_size)

    def test_clip_refuses_a_zero_width_image(self) -> None:
        """``clip_boxes`` checks the image size as conversion does."""
        with pytest.raises(ValueError, match=r"^image_size: expected a positive"):
            clip_boxes(np.array([[0.0, 0.0, 1.0, 1.0]]), "xyxy", image_size=(5, 0))


class TestClipDefaultFormat:
    """Plain boxes given to ``clip_boxes`` without a format are ``xyxy``."""

    def test_plain_boxes_without_a_format_are_corners(self) -> None:
        """The box x 0..30, y 2..8 cut to a 20 wide, 10 high image: the corners are clipped as corners."""
        clipped = clip_boxes(np.array([[-5.0, 2.0, 30.0, 8.0]]), image_size=(10, 20))
        np.testing.assert_array_equal(clipped, [[0.0, 2.0, 20.0, 8.0]])

    def test_plain_tensor_without_a_format_matches_explicit_xyxy(self) -> None:
        """Leaving ``fmt`` out gives exactly what ``fmt="xyxy"`` gives, on boxes that cxcywh would read apart."""
        boxes = torch.tensor([[2.0, 3.0, 6.0, 9.0], [-4.0, -1.0, 12.0, 4.0]])
        expected = torch.tensor([[2.0, 3.0, 6.0, 8.0], [0.0, 0.0, 10.0, 4.0]])
        torch.testing.assert_close(clip_boxes(boxes, image_size=(8, 10)), expected, rtol=0, atol=0)
        torch.testing.assert_close(clip_boxes(boxes, "xyxy", (8, 10)), expected, rtol=0, atol=0)


class TestClipOriented:
    """Clipping oriented boxes keeps the input's shape and dtype."""

    def test_batched_oriented_boxes_keep_their_shape(self) -> None:
        """A ``(2, 3, 5)`` batch is clipped box by box and comes back ``(2, 3, 5)``."""
        boxes = np.zeros((2, 3, 5))
        boxes[..., 2:4] = 2.0  # 2 x 2 boxes at the origin, inside a 10 x 10 image...
        boxes[1, 2] = [-2.0, 1.0, 4.0, 2.0, 0.0]  # ...but one, whose left half is outside
        clipped = clip_boxes(boxes, "xywhr", image_size=(10, 10))
        assert clipped.shape == (2, 3, 5)
        expected = boxes.copy()
        expected[1, 2] = [0.0, 1.0, 2.0, 2.0, 0.0]
        np.testing.assert_allclose(clipped, expected, atol=1e-9)

    def test_batched_oriented_tensor_keeps_its_shape(self) -> None:
        """The same for a tensor batch of ``cxcywhr`` boxes."""
        boxes = torch.tensor([[[5.0, 5.0, 2.0, 2.0, 30.0]], [[0.0, 5.0, 4.0, 2.0, 0.0]]])
        clipped = clip_boxes(boxes, "cxcywhr", image_size=(10, 10))
        assert clipped.shape == (2, 1, 5)
        torch.testing.assert_close(clipped[0], boxes[0], rtol=0, atol=0)
        torch.testing.assert_close(clipped[1], torch.tensor([[1.0, 5.0, 2.0, 2.0, 0.0]]))

    @pytest.mark.parametrize("fmt", ["xywhr", "cxcywhr"])
    def test_float32_arrays_stay_float32(self, fmt: str) -> None:
        """A float32 array of oriented boxes, some moved, comes back float32."""
        boxes = np.array([[-2.0, 1.0, 4.0, 2.0, 0.0], [3.0, 3.0, 1.0, 1.0, 0.0]], dtype=np.float32)
        clipped = clip_boxes(boxes, fmt, image_size=(10, 10))
        assert clipped.dtype == np.float32

    def test_corner_boxes_in_float32_stay_float32(self) -> None:
        """A float32 ``xyxyxyxy`` array cut at the border comes back float32, the cut box cut."""
        boxes = np.array([[-2, 1, 2, 1, 2, 3, -2, 3], [1, 1, 2, 1, 2, 2, 1, 2]], dtype=np.float32)
        clipped = clip_boxes(boxes, "xyxyxyxy", image_size=(10, 10))
        assert clipped.dtype == np.float32
        np.testing.assert_allclose(clipped, [[0, 1, 2, 1, 2, 3, 0, 3], [1, 1, 2, 1, 2, 2, 1, 2]], atol=1e-6)


class TestGradients:
    """Area and IoU of tensors are differentiable: IoU losses train through them."""

    def test_area_of_boxes_that_require_grad(self) -> None:
        """d(area)/d(corners) of the 4 x 3 box is (-3, -4, 3, 4)."""
        boxes = torch.tensor([[0.0, 0.0, 4.0, 3.0]], requires_grad=True)
        box_area(boxes).sum().backward()
        torch.testing.assert_close(boxes.grad, torch.tensor([[-3.0, -4.0, 3.0, 4.0]]))

    def test_iou_of_boxes_that_require_grad(self) -> None:
        """The IoU of two overlapping squares has the hand-computed gradient."""
        first = torch.tensor([[0.0, 0.0, 2.0, 2.0]], requires_grad=True)
        second = torch.tensor([[1.0, 1.0, 3.0, 3.0]], requires_grad=True)
        iou = box_iou(first, second)
        torch.testing.assert_close(iou.detach(), torch.tensor([[1.0 / 7.0]]))
        iou.sum().backward()
        # IoU = I / U with I = 1 and U = A1 + A2 - I = 7: dIoU/dI = (A1 + A2) / U^2 = 8/49 and
        # dIoU/dA = -I / U^2 = -1/49. Only the first box's far corner and the second's near corner move I.
        torch.testing.assert_close(first.grad, torch.tensor([[2.0, 2.0, 6.0, 6.0]]) / 49)
        torch.testing.assert_close(second.grad, torch.tensor([[-6.0, -6.0, -2.0, -2.0]]) / 49)


class TestIouArguments:
    """``box_iou`` names the argument at fault and keeps the input's dtype."""

    def test_unknown_formats_name_fmt_and_fmt2(self) -> None:
        """An unknown ``fmt`` is reported as ``fmt``, an unknown ``fmt2`` as ``fmt2``."""
        boxes = np.array([[0.0, 0.0, 1.0, 1.0]])
        with pytest.raises(ValueError, match=r"^fmt: expected a box format"):
            box_iou(boxes, boxes, "bogus")
        with pytest.raises(ValueError, match=r"^fmt2: expected a box format"):
            box_iou(boxes, boxes, "xyxy", "bogus")

    def test_wrong_columns_name_boxes1_and_boxes2(self) -> None:
        """Boxes of the wrong width are reported as ``boxes1`` or ``boxes2``, with the format."""
        good, bad = np.zeros((1, 4)), np.zeros((2, 5))
        with pytest.raises(
            InvalidBoxesError, match=r"^boxes1: expected shape \(N, 4\) for 'xyxy' boxes, got"
        ):
            box_iou(bad, good)
        with pytest.raises(
            InvalidBoxesError, match=r"^boxes2: expected shape \(N, 4\) for 'xyxy' boxes, got"
        ):
            box_iou(good, bad)

    def test_normalised_boxes_against_oriented_ones_name_the_normalised_argument(self) -> None:
        """Normalised ``boxes2`` against oriented ``boxes1`` is refused naming ``fmt2``."""
        rotated, normalised = np.array([[1.0, 1.0, 2.0, 2.0, 0.0]]), np.array([[0.1, 0.1, 0.2, 0.2]])
        with pytest.raises(ValueError, match=r"^fmt2: expected a pixel format .* got 'xyxyn'"):
            box_iou(rotated, normalised, "cxcywhr", "xyxyn")
        with pytest.raises(ValueError, match=r"^fmt: expected a pixel format .* got 'cxcywhn'"):
            box_iou(normalised, rotated, "yolo", "cxcywhr")

    def test_oriented_iou_of_float32_arrays_is_float32(self) -> None:
        """Oriented IoU is computed in float64 but returned in the input's dtype: two squares, one shifted."""
        first = np.array([[1.0, 1.0, 2.0, 2.0, 0.0]], dtype=np.float32)
        second = np.array([[2.0, 1.0, 2.0, 2.0, 0.0]], dtype=np.float32)
        iou = box_iou(first, second, "cxcywhr")
        assert iou.dtype == np.float32
        np.testing.assert_allclose(iou, [[1.0 / 3.0]], rtol=1e-6)


ALL_FORMATS_TEXT = (
    "'xyxy', 'xywh', 'cxcywh', 'xyxyn', 'xywhn', 'cxcywhn', 'xywhr', 'cxcywhr', 'xyxyxyxy' or an alias "
    "'pascal_voc' (xyxy), 'coco' (xywh), 'albumentations' (xyxyn), 'yolo' (cxcywhn)"
)


def full_message(error: pytest.ExceptionInfo[BaseException]) -> str:
    """The exception's whole message."""
    return str(error.value)


class TestFormatMessages:
    """Unknown and unsupported formats are refused with messages that list what is accepted."""

    def test_unknown_src_and_dst_list_every_format_and_alias(self) -> None:
        """The message names the argument and lists all nine formats and the four aliases."""
        boxes = np.zeros((1, 4))
        with pytest.raises(ValueError, match=r"^[a-z_]+: expected ") as caught:
            convert_boxes(boxes, "bogus", "xyxy")
        assert full_message(caught) == f"src: expected a box format, one of {ALL_FORMATS_TEXT}; got 'bogus'"
        with pytest.raises(ValueError, match=r"^[a-z_]+: expected ") as caught:
            convert_boxes(boxes, "xyxy", "bogus")
        assert full_message(caught) == f"dst: expected a box format, one of {ALL_FORMATS_TEXT}; got 'bogus'"

    def test_missing_src_of_plain_boxes_lists_every_format(self) -> None:
        """``src=None`` on plain boxes lists every format, oriented ones included, and says what None is for."""
        with pytest.raises(ValueError, match=r"^[a-z_]+: expected ") as caught:
            convert_boxes(np.zeros((1, 4)), None, "xyxy")
        assert full_message(caught) == (
            f"src: expected a box format, one of {ALL_FORMATS_TEXT}; got None; "
            "None is for a tv_tensors.BoundingBoxes, which carries its own format"
        )

    def test_format_outside_what_the_caller_handles(self) -> None:
        """An oriented format where only axis-aligned ones are handled is refused by name, and the reverse."""
        with pytest.raises(ValueError, match=r"^[a-z_]+: expected ") as caught:
            check_format("xywhr", "box_format")
        assert full_message(caught) == (
            "box_format: expected one of 'xyxy', 'xywh', 'cxcywh', 'xyxyn', 'xywhn', 'cxcywhn' here, got "
            "'xywhr'; oriented boxes are not supported here: convert them with visiondata.boxes.convert_boxes first"
        )
        with pytest.raises(
            ValueError, match=r"^fmt: expected one of 'xywhr', 'cxcywhr', 'xyxyxyxy' here, got"
        ):
            check_format("XYXY", formats=ROTATED_FORMATS)

    def test_unknown_format_lists_only_the_aliases_that_apply(self) -> None:
        """Without an axis-aligned format among those handled, no alias is offered; with them, all four are."""
        with pytest.raises(ValueError, match=r"^[a-z_]+: expected ") as caught:
            check_format("bogus", formats=ROTATED_FORMATS)
        assert (
            full_message(caught)
            == "fmt: expected a box format, one of 'xywhr', 'cxcywhr', 'xyxyxyxy'; got 'bogus'"
        )
        with pytest.raises(ValueError, match=r"^[a-z_]+: expected ") as caught:
            check_format("xywhrr")
        assert full_message(caught) == (
            "fmt: expected a box format, one of 'xyxy', 'xywh', 'cxcywh', 'xyxyn', 'xywhn', 'cxcywhn' or an alias "
            "'pascal_voc' (xyxy), 'coco' (xywh), 'albumentations' (xyxyn), 'yolo' (cxcywhn); got 'xywhrr'"
        )

    def test_aliases_and_case(self) -> None:
        """Aliases and upper-case names map to the canonical names."""
        assert check_format("COCO") == "xywh"
        assert check_format("Pascal_VOC") == "xyxy"
        assert check_format("XYXYXYXY", formats=ROTATED_FORMATS) == "xyxyxyxy"

    def test_box_area_and_clip_name_fmt(self) -> None:
        """``box_area`` and ``clip_boxes`` call their format argument ``fmt``."""
        with pytest.raises(ValueError, match=r"^fmt: expected a box format"):
            box_area(np.zeros((1, 4)), "bogus")
        with pytest.raises(ValueError, match=r"^fmt: expected a box format"):
            clip_boxes(np.zeros((1, 4)), "bogus", (10, 10))


class TestBoxShapes:
    """What boxes ``convert_boxes`` accepts, and the messages for those it does not."""

    def test_wrong_number_of_columns(self) -> None:
        """Boxes of the wrong width name ``boxes`` and the format; without a format, no format is named."""
        with pytest.raises(InvalidBoxesError) as caught:
            convert_boxes(np.zeros((3, 5)), "xyxy", "xywh")
        assert full_message(caught) == "boxes: expected shape (N, 4) for 'xyxy' boxes, got (3, 5)"
        with pytest.raises(InvalidBoxesError) as caught:
            box_area(np.zeros((3, 5)))
        assert full_message(caught) == "boxes: expected shape (N, 4), got (3, 5)"
        with pytest.raises(InvalidBoxesError) as caught:
            convert_boxes(np.zeros((2, 4)), "xywhr", "xyxy")
        assert full_message(caught) == "boxes: expected shape (N, 5) for 'xywhr' boxes, got (2, 4)"

    @pytest.mark.parametrize(("fmt", "columns"), [("xyxy", 4), ("cxcywhr", 5), ("xyxyxyxy", 8)])
    def test_a_single_box_without_a_batch_dimension_gets_a_hint(self, fmt: str, columns: int) -> None:
        """A 1-D box is refused, and the message says how to make it a batch of one."""
        with pytest.raises(InvalidBoxesError) as caught:
            convert_boxes(np.ones(columns), fmt, "xyxy")
        assert full_message(caught) == (
            f"boxes: expected shape (N, {columns}) for {fmt!r} boxes, got ({columns},); "
            "a single box is boxes[None]"
        )

    @pytest.mark.parametrize(("src", "dst", "columns"), [("xyxy", "xywh", 4), ("xywhr", "xyxyxyxy", 8)])
    @pytest.mark.parametrize("backend", ["numpy", "torch"])
    def test_an_empty_list_is_no_boxes(self, src: str, dst: str, columns: int, backend: str) -> None:
        """``[]`` (or an empty 1-D tensor) is zero boxes: ``(0, C)`` in the destination format."""
        boxes = [] if backend == "numpy" else torch.tensor([])
        converted = convert_boxes(boxes, src, dst)
        assert tuple(converted.shape) == (0, columns)
        assert isinstance(converted, np.ndarray if backend == "numpy" else torch.Tensor)

    def test_an_empty_batch_keeps_its_shape(self) -> None:
        """A ``(0, 3, 4)`` batch of no images stays ``(0, 3, 4)``."""
        assert convert_boxes(np.zeros((0, 3, 4)), "xyxy", "xywh").shape == (0, 3, 4)
        assert convert_boxes(torch.zeros(0, 3, 4), "xyxy", "xyxy").shape == (0, 3, 4)

    def test_empty_boxes_of_the_wrong_width_are_refused(self) -> None:
        """``(0, 5)`` is not ``(0, 4)``: the width is checked even without boxes."""
        with pytest.raises(InvalidBoxesError, match=r"got \(0, 5\)"):
            convert_boxes(np.zeros((0, 5)), "xyxy", "xywh")

    def test_text_is_refused(self) -> None:
        """Boxes that are not numbers are an InvalidBoxesError naming ``boxes``."""
        with pytest.raises(InvalidBoxesError, match=r"^boxes: expected numbers, got an array of <U1"):
            convert_boxes(np.array([["a", "b", "c", "d"]]), "xyxy", "xywh")


class TestBatches:
    """``(B, N, C)`` batches convert box by box, each in its place."""

    @pytest.mark.parametrize("backend", ["numpy", "torch"])
    def test_batched_conversions(self, backend: str) -> None:
        """A (2, 3, 4) batch of ``xywh`` boxes, through ``cxcywh``, ``xyxy`` and back, value by value."""
        xywh = np.arange(24, dtype=np.float64).reshape(2, 3, 4) + 1
        x, y, w, h = xywh[..., 0], xywh[..., 1], xywh[..., 2], xywh[..., 3]
        xyxy = np.stack([x, y, x + w, y + h], axis=-1)
        cxcywh = np.stack([x + w / 2, y + h / 2, w, h], axis=-1)
        make = np.asarray if backend == "numpy" else torch.from_numpy
        for src, dst, expected in [
            ("xywh", "xyxy", xyxy),
            ("xyxy", "xywh", xywh),
            ("xywh", "cxcywh", cxcywh),
            ("cxcywh", "xyxy", xyxy),
        ]:
            converted = convert_boxes(
                make(xywh if src == "xywh" else xyxy if src == "xyxy" else cxcywh), src, dst
            )
            assert tuple(converted.shape) == (2, 3, 4)
            np.testing.assert_allclose(np.asarray(converted), expected, rtol=0, atol=1e-12)

    @pytest.mark.parametrize("backend", ["numpy", "torch"])
    def test_batched_normalisation(self, backend: str) -> None:
        """A (1, 2, 4) batch of ``xyxy`` pixels on a 100 high, 200 wide image, as ``xyxyn``."""
        pixels = np.array([[[20.0, 10.0, 60.0, 50.0], [0.0, 0.0, 200.0, 100.0]]])
        make = np.asarray if backend == "numpy" else torch.from_numpy
        converted = convert_boxes(make(pixels), "xyxy", "xyxyn", image_size=(100, 200))
        np.testing.assert_allclose(np.asarray(converted), [[[0.1, 0.1, 0.3, 0.5], [0, 0, 1, 1]]], atol=1e-12)


class TestDtypes:
    """Floating-point input keeps its dtype; integers become floats."""

    def test_float32_and_float64_arrays_keep_their_dtype(self) -> None:
        """float32 stays float32 and float64 stays float64, through a conversion and through none."""
        for dtype in (np.float32, np.float64):
            boxes = np.array([[1, 2, 3, 4]], dtype=dtype)
            assert convert_boxes(boxes, "xywh", "xyxy").dtype == dtype
            assert convert_boxes(boxes, "xyxy", "xyxy").dtype == dtype

    def test_integer_arrays_become_float64(self) -> None:
        """An int array is converted in float64, even when the format does not change."""
        same = convert_boxes(np.array([[1, 2, 3, 4]]), "xyxy", "xyxy")
        assert same.dtype == np.float64 and same.tolist() == [[1.0, 2.0, 3.0, 4.0]]

    def test_tensors_keep_float64_and_integers_take_the_default_dtype(self) -> None:
        """A float64 tensor stays float64; an int tensor becomes the default float dtype (float32)."""
        assert convert_boxes(torch.ones(1, 4, dtype=torch.float64), "xyxy", "xywh").dtype == torch.float64
        same = convert_boxes(torch.tensor([[1, 2, 3, 4]]), "xyxy", "xyxy")
        assert same.dtype == torch.get_default_dtype() == torch.float32
        converted = convert_boxes(torch.tensor([[1, 2, 3, 4]]), "xywh", "xyxy")
        assert converted.dtype == torch.float32 and converted.tolist() == [[1.0, 2.0, 4.0, 6.0]]


class TestCopies:
    """The result never shares memory with the input."""

    def test_same_format_returns_a_copy(self) -> None:
        """Writing into the result of a same-format conversion leaves the input as it was."""
        array, tensor = np.array([[1.0, 2.0, 3.0, 4.0]]), torch.tensor([[1.0, 2.0, 3.0, 4.0]])
        for boxes in (array, tensor):
            result = convert_boxes(boxes, "xyxy", "xyxy")
            result[0, 0] = 100.0
            assert boxes[0, 0] == 1.0


class TestNonFinite:
    """NaN and infinity pass through conversions as values, without numpy warnings."""

    def test_infinite_minus_infinite_is_nan_silently(self) -> None:
        """``inf - inf`` for the width of a box is NaN, without a RuntimeWarning."""
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            converted = convert_boxes(np.array([[np.inf, 0.0, np.inf, 1.0]]), "xyxy", "xywh")
        assert np.isnan(converted[0, 2]) and converted[0, 3] == 1.0

    def test_overflow_is_infinite_silently(self) -> None:
        """A float32 ``x + w`` past float32's range is infinity, without a RuntimeWarning."""
        boxes = np.array([[3e38, 0.0, 3e38, 1.0]], dtype=np.float32)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            converted = convert_boxes(boxes, "xywh", "xyxy")
        assert converted.dtype == np.float32 and np.isposinf(converted[0, 2])


class TestOrientedAndNormalised:
    """Oriented boxes are in pixels: to or from a normalised format needs the image size."""

    def test_missing_image_size_names_the_requested_formats(self) -> None:
        """The message names the formats asked for, not an intermediate one."""
        with pytest.raises(ValueError, match=r"^image_size: converting ") as caught:
            convert_boxes(np.array([[1.0, 1.0, 2.0, 2.0, 0.0]]), "xywhr", "xyxyn")
        assert full_message(caught) == (
            "image_size: converting 'xywhr' to 'xyxyn' needs the image's (height, width) in pixels, got None; "
            "pass image_size=(height, width)"
        )
        with pytest.raises(ValueError, match=r"^image_size: converting 'cxcywhn' to 'xywhr' needs"):
            convert_boxes(np.array([[0.5, 0.5, 0.2, 0.2]]), "yolo", "xywhr")

    def test_oriented_to_normalised_and_back(self) -> None:
        """A 40 x 20 box at angle 0 from (20, 10) on a 100 high, 200 wide image, as YOLO and back."""
        rotated = np.array([[20.0, 10.0, 40.0, 20.0, 0.0]])
        yolo = convert_boxes(rotated, "xywhr", "cxcywhn", image_size=(100, 200))
        np.testing.assert_allclose(yolo, [[0.2, 0.2, 0.2, 0.2]], atol=1e-12)
        back = convert_boxes(yolo, "cxcywhn", "cxcywhr", image_size=(100, 200))
        np.testing.assert_allclose(back, [[40.0, 20.0, 40.0, 20.0, 0.0]], atol=1e-9)
        corners = convert_boxes(np.array([[0.1, 0.1, 0.3, 0.3]]), "xyxyn", "xyxyxyxy", image_size=(100, 200))
        np.testing.assert_allclose(corners, [[20, 10, 60, 10, 60, 30, 20, 30]], atol=1e-9)

    def test_centre_boxes_to_oriented(self) -> None:
        """A ``cxcywh`` box becomes the ``xywhr`` box of its top left corner at angle 0."""
        converted = convert_boxes(np.array([[10.0, 20.0, 4.0, 6.0]]), "cxcywh", "xywhr")
        np.testing.assert_allclose(converted, [[8.0, 17.0, 4.0, 6.0, 0.0]], atol=1e-12)

    def test_one_pixel_image(self) -> None:
        """A 1 x 1 image is a valid size: the whole-image YOLO box is the unit square."""
        converted = convert_boxes(np.array([[0.5, 0.5, 1.0, 1.0]]), "yolo", "xyxy", image_size=(1, 1))
        np.testing.assert_allclose(converted, [[0.0, 0.0, 1.0, 1.0]])


class TestBoundingBoxes:
    """A ``tv_tensors.BoundingBoxes`` brings its own format and canvas."""

    def test_matching_src_alias_is_accepted(self) -> None:
        """``src`` may name the declared format, by alias too; the result is declared in ``dst``."""
        declared = tv_tensors.BoundingBoxes([[10, 20, 30, 40]], format="XYWH", canvas_size=(100, 200))
        converted = convert_boxes(declared, "coco", "xyxy")
        assert isinstance(converted, tv_tensors.BoundingBoxes)
        assert converted.format == tv_tensors.BoundingBoxFormat.XYXY and converted.canvas_size == (100, 200)
        assert converted.tolist() == [[10.0, 20.0, 40.0, 60.0]]
        rotated = tv_tensors.BoundingBoxes([[1.0, 2.0, 3.0, 4.0, 0.0]], format="XYWHR", canvas_size=(10, 10))
        assert convert_boxes(rotated, "xywhr", "cxcywhr").format == tv_tensors.BoundingBoxFormat.CXCYWHR

    def test_unknown_src_for_bounding_boxes_names_src(self) -> None:
        """An unknown ``src`` with a BoundingBoxes is still an unknown format, reported as ``src``."""
        declared = tv_tensors.BoundingBoxes([[10, 20, 30, 40]], format="XYXY", canvas_size=(100, 200))
        with pytest.raises(ValueError, match=r"^src: expected a box format"):
            convert_boxes(declared, "bogus", "xywh")
        with pytest.raises(InvalidBoxesError, match=r"^fmt: expected the format the BoundingBoxes declare"):
            box_area(declared, "xywh")

    def test_bad_image_size_with_a_canvas_names_image_size(self) -> None:
        """A non-positive ``image_size`` beside a canvas is refused as ``image_size``."""
        declared = tv_tensors.BoundingBoxes([[10, 20, 30, 40]], format="XYXY", canvas_size=(100, 200))
        with pytest.raises(ValueError, match=r"^image_size: expected a positive"):
            convert_boxes(declared, None, "yolo", image_size=(0, 200))

    def test_result_canvas_is_in_whole_pixels(self) -> None:
        """A canvas given as floats comes back as the integer (height, width) the boxes were read with."""
        declared = tv_tensors.BoundingBoxes([[10, 20, 30, 40]], format="XYXY", canvas_size=(100.0, 200.0))
        for result in (convert_boxes(declared, None, "xywh"), clip_boxes(declared)):
            assert result.canvas_size == (100, 200)
            assert all(type(side) is int for side in result.canvas_size)


def test_iou_of_float32_against_float64_tensors_is_float32() -> None:
    """Tensors of two dtypes give IoU in the first one's dtype, as documented."""
    first = torch.tensor([[0.0, 0.0, 2.0, 2.0]], dtype=torch.float32)
    second = torch.tensor([[1.0, 1.0, 3.0, 3.0]], dtype=torch.float64)
    iou = box_iou(first, second)
    assert iou.dtype == torch.float32
    torch.testing.assert_close(iou, torch.tensor([[1.0 / 7.0]]))
