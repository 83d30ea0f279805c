"""The torchvision backend's pixel path (crop view, one resize, flip, fused normalisation) against torchvision v2.

On a real photo (scikit-learn's ``china.jpg``), for the crop and flip a
pipeline drew, `BoxPipeline(backend="torchvision")` must give what torchvision
v2's functional kernels give on the same parameters, step by step: the
resized image exactly (uint8 and float inputs, channels-last and contiguous
layouts), the flip exactly, the fused ``Normalize`` within float32 rounding of
v2's ``ToDtype`` + ``Normalize``, and the boxes within float noise. No step
may change the caller's image.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from torchvision import tv_tensors
from torchvision.transforms.v2 import functional as F  # noqa: N812 (torchvision's own convention)

from visiondata.transforms import BoxPipeline
from visiondata.transforms._torchvision_backend import RandomResizedCrop
from visiondata.transforms.presets import IMAGENET_MEAN, IMAGENET_STD

SIZE = 320
SEEDS = range(6)


@pytest.fixture(scope="module")
def photo() -> torch.Tensor:
    """``china.jpg`` as a ``3 x 427 x 640`` uint8 tensor, channels-last in memory (as decoders give it)."""
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    return torch.from_numpy(np.array(sklearn_datasets.load_sample_image("china.jpg"))).permute(2, 0, 1)


def boxes_for(height: int, width: int) -> np.ndarray:
    rng = np.random.default_rng(1)
    sizes = rng.uniform(0.05, 0.4, (10, 2)) * (width, height)
    corners = rng.uniform(0, 1, (10, 2)) * ((width, height) - sizes)
    return np.concatenate([corners, corners + sizes], axis=1)


def layouts(image: torch.Tensor) -> dict[str, torch.Tensor]:
    return {"channels-last": image, "contiguous": image.contiguous()}


def run_recorded(
    pipeline: BoxPipeline, image: torch.Tensor, boxes: np.ndarray | None, monkeypatch: pytest.MonkeyPatch
) -> tuple[Any, list[dict[str, Any]]]:
    """The pipeline's output on ``image`` and the parameters its RandomResizedCrop drew."""
    drawn: list[dict[str, Any]] = []
    original = RandomResizedCrop.get_params

    def recording(self: RandomResizedCrop, *args: Any) -> dict[str, Any]:
        params = original(self, *args)
        drawn.append(params)
        return params

    monkeypatch.setattr(RandomResizedCrop, "get_params", recording)
    sample: dict[str, Any] = {"image": image}
    if boxes is not None:
        sample["boxes"] = torch.from_numpy(boxes)
        sample["labels"] = torch.arange(len(boxes))
    else:
        sample["boxes"] = torch.zeros((0, 4))
    out = pipeline(sample)
    monkeypatch.undo()
    assert len(drawn) == 1
    return out, drawn


def v2_reference(image: torch.Tensor, params: dict[str, Any], flip: bool, normalize: bool) -> torch.Tensor:
    """torchvision v2's kernels on the same crop: resized_crop, horizontal_flip, to_dtype + normalize."""
    top, left, height, width = params["crop"]
    out = F.resized_crop(image, top, left, height, width, list(params["size"]), antialias=True)
    if flip:
        out = F.horizontal_flip(out)
    if normalize:
        out = F.normalize(F.to_dtype(out, torch.float32, scale=True), IMAGENET_MEAN, IMAGENET_STD)
    return out


def spec(flip: bool, normalize: bool) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = [{"name": "RandomResizedCrop", "size": SIZE}]
    if flip:
        steps.append({"name": "HorizontalFlip", "p": 1.0})
    if normalize:
        steps.append({"name": "Normalize", "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)})
    return steps


@pytest.mark.parametrize("dtype", ["uint8", "float32"])
@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize("layout", ["channels-last", "contiguous"])
def test_resized_crop_and_flip_equal_v2_exactly(
    photo: torch.Tensor, dtype: str, flip: bool, layout: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = photo if dtype == "uint8" else F.to_dtype(photo, torch.float32, scale=True)
    image = layouts(image)[layout]
    for seed in SEEDS:
        out, drawn = run_recorded(BoxPipeline(spec(flip, False), seed=seed), image, None, monkeypatch)
        expected = v2_reference(image, drawn[0], flip, normalize=False)
        assert out["image"].dtype == image.dtype
        assert torch.equal(out["image"], expected), f"seed {seed}: the pixels differ from v2's"


@pytest.mark.parametrize("dtype", ["uint8", "float32"])
@pytest.mark.parametrize("flip", [False, True])
def test_fused_normalize_matches_v2_to_dtype_and_normalize(
    photo: torch.Tensor, dtype: str, flip: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = photo if dtype == "uint8" else F.to_dtype(photo, torch.float32, scale=True)
    for seed in SEEDS:
        out, drawn = run_recorded(BoxPipeline(spec(flip, True), seed=seed), image, None, monkeypatch)
        expected = v2_reference(image, drawn[0], flip, normalize=True)
        assert out["image"].dtype == torch.float32 and out["image"].shape == expected.shape
        # One multiply-add with precomputed coefficients instead of four passes: float32 rounding only
        # (values span about -2.1..2.6, so 1e-5 is a few units in the last place).
        difference = (out["image"] - expected).abs()
        assert difference.max().item() < 1e-5, f"seed {seed}: max |difference| {difference.max().item()}"


@pytest.mark.parametrize("flip", [False, True])
def test_boxes_follow_the_same_crop_and_flip_as_v2(
    photo: torch.Tensor, flip: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    height, width = photo.shape[-2:]
    boxes = boxes_for(height, width)
    for seed in SEEDS:
        out, drawn = run_recorded(BoxPipeline(spec(flip, True), seed=seed), photo, boxes, monkeypatch)
        top, left, crop_height, crop_width = drawn[0]["crop"]
        theirs = tv_tensors.BoundingBoxes(
            torch.from_numpy(boxes), format="XYXY", canvas_size=(int(height), int(width))
        )
        theirs = F.resized_crop(theirs, top, left, crop_height, crop_width, [SIZE, SIZE])
        if flip:
            theirs = F.horizontal_flip(theirs)
        theirs = F.clamp_bounding_boxes(theirs).as_subclass(torch.Tensor)
        gone = {entry["index"] for entry in out["dropped"]}
        kept = [index for index in range(len(boxes)) if index not in gone]
        # A box our pipeline dropped has nothing left in view: v2 keeps it with no width or height.
        for index in gone:
            row = theirs[index]
            assert (row[2] - row[0]) * (row[3] - row[1]) <= 1e-6
        assert out["labels"].tolist() == kept
        assert torch.allclose(out["boxes"].double(), theirs[kept].double(), atol=1e-3), f"seed {seed}"
        # And the image is what the same parameters give without boxes.
        assert torch.allclose(out["image"], v2_reference(photo, drawn[0], flip, True), atol=1e-5)


@pytest.mark.parametrize(
    "steps",
    [
        [{"name": "Normalize"}],
        [{"name": "CenterCrop", "size": 200}, {"name": "Normalize"}],
        # A crop of the output's size is a view of the input: nothing resizes it.
        [{"name": "RandomResizedCrop", "size": 100, "scale": [1.0, 1.0], "ratio": [1.0, 1.0]}, "Normalize"],
        [{"name": "ToDtype", "dtype": "float32"}, {"name": "Normalize"}],
    ],
)
def test_no_step_changes_the_callers_float_image(photo: torch.Tensor, steps: list[Any]) -> None:
    image = F.to_dtype(photo, torch.float32, scale=True)
    if steps[0] == {"name": "RandomResizedCrop", "size": 100, "scale": [1.0, 1.0], "ratio": [1.0, 1.0]}:
        image = image[:, :100, :100]
    before = image.clone()
    out = BoxPipeline(steps, seed=0)({"image": image, "boxes": torch.zeros((0, 4))})
    assert torch.equal(image, before), "the pipeline changed the caller's image in place"
    assert out["image"].data_ptr() != image.data_ptr()


def test_normalize_on_float_and_uint8_gives_the_same_result(photo: torch.Tensor) -> None:
    """The float32 path (out of place) and the uint8 path (fused scaling) agree on the same pixels."""
    from_uint8 = BoxPipeline(["Normalize"], seed=0)({"image": photo, "boxes": torch.zeros((0, 4))})["image"]
    as_float = F.to_dtype(photo, torch.float32, scale=True)
    from_float = BoxPipeline(["Normalize"], seed=0)({"image": as_float, "boxes": torch.zeros((0, 4))})[
        "image"
    ]
    assert (from_uint8 - from_float).abs().max().item() < 1e-5


def test_albumentations_backend_gives_the_same_normalised_pixels(photo: torch.Tensor) -> None:
    """Both backends' Normalize on the same uint8 photo (no randomness): equal within float32 rounding."""
    pytest.importorskip("albumentations")
    steps = [{"name": "Normalize", "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)}]
    array = np.ascontiguousarray(photo.permute(1, 2, 0).numpy())
    ours = BoxPipeline(steps, seed=0)({"image": photo, "boxes": torch.zeros((0, 4))})["image"]
    theirs = BoxPipeline(steps, backend="albumentations", seed=0)({"image": array, "boxes": np.zeros((0, 4))})
    assert np.abs(ours.permute(1, 2, 0).numpy() - theirs["image"]).max() < 1e-5


@pytest.mark.parametrize("dtype", ["uint8", "float32"])
@pytest.mark.parametrize("layout", ["channels-last", "contiguous"])
def test_longest_max_size_flip_normalize_equal_v2(photo: torch.Tensor, dtype: str, layout: str) -> None:
    """A whole-image resize of a channels-last photo returns channels-last pixels (v2's kernel keeps the
    layout); the flip and the fused normalisation after it must still give v2's values."""
    image = photo if dtype == "uint8" else F.to_dtype(photo, torch.float32, scale=True)
    image = layouts(image)[layout]
    steps = [{"name": "LongestMaxSize", "max_size": 320}, {"name": "HorizontalFlip", "p": 1.0}]
    resized = BoxPipeline(steps, seed=0)({"image": image, "boxes": torch.zeros((0, 4))})["image"]
    expected = F.horizontal_flip(F.resize(image, [214, 320], antialias=True))  # 427 x 640 -> 213.5 rounds up
    assert torch.equal(resized, expected)
    normalised = BoxPipeline([*steps, "Normalize"], seed=0)({"image": image, "boxes": torch.zeros((0, 4))})
    reference = F.normalize(F.to_dtype(expected, torch.float32, scale=True), IMAGENET_MEAN, IMAGENET_STD)
    assert (normalised["image"] - reference).abs().max().item() < 1e-5


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32, torch.float64])
def test_normalize_returns_contiguous_pixels_for_a_channels_last_image(
    photo: torch.Tensor, dtype: torch.dtype
) -> None:
    """Normalize lays a channels-last image out as C x H x W while converting it.

    Broadcasting the per-channel coefficients over channels-last memory takes torch's slow strided path
    (about ten times the contiguous one), and every later consumer (``torch.stack`` in collate, a model's
    first convolution) would pay for the layout again.
    """
    image = F.to_dtype(photo, dtype, scale=True)
    channels_last = image.permute(1, 2, 0).contiguous().permute(2, 0, 1)
    assert not channels_last.is_contiguous()
    ours = BoxPipeline(["Normalize"], seed=0)
    from_channels_last = ours({"image": channels_last, "boxes": torch.zeros((0, 4))})["image"]
    from_contiguous = ours({"image": image.contiguous(), "boxes": torch.zeros((0, 4))})["image"]
    assert from_channels_last.is_contiguous() and from_channels_last.dtype == torch.float32
    assert torch.equal(from_channels_last, from_contiguous)
    assert torch.equal(channels_last, image), "the caller's image changed"


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("size", [(1, 1), (1, 2), (2, 1), (3, 5)])
def test_downscaling_a_contiguous_uint8_image_to_any_size_works(channels: int, size: tuple[int, int]) -> None:
    """A contiguous uint8 image resized down (no channels-last copy: it would cost more than it saves)
    to any size, one pixel included (torch's contiguous kernel fails an assert on a 3-channel 1 x 1
    output), gives the pixels of the channels-last path."""
    image = torch.randint(
        0, 256, (channels, 9, 13), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)
    )
    steps = [{"name": "Resize", "size": list(size)}]
    out = BoxPipeline(steps, seed=0)({"image": image, "boxes": torch.zeros((0, 4))})["image"]
    channels_last = image.permute(1, 2, 0).contiguous().permute(2, 0, 1)
    assert torch.equal(out, F.resize(channels_last, list(size), antialias=True))
