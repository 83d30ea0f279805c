"""``classification_train`` runs its five steps as one function: the same output, bit for bit, as the v2.Compose."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import tv_tensors
from torchvision.transforms import InterpolationMode, v2

from visiondata.io import read_image
from visiondata.transforms import presets


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """JPEG photos of a few sizes (smooth gradients and noise), RGB and greyscale."""
    folder = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    paths = []
    for number, (height, width) in enumerate([(180, 260), (301, 199), (64, 640), (225, 225)]):
        y, x = np.mgrid[0:height, 0:width]
        pixels = np.stack([x * 255 // width, y * 255 // height, (x * y) % 256], axis=-1)
        pixels = (pixels + rng.integers(0, 30, (height, width, 3))).clip(0, 255).astype(np.uint8)
        path = folder / f"photo_{number}.jpg"
        Image.fromarray(pixels).save(path, quality=90)
        paths.append(str(path))
    grey = folder / "grey.jpg"
    Image.fromarray(rng.integers(0, 256, (150, 170), dtype=np.uint8)).save(grey, quality=90)
    paths.append(str(grey))
    return paths


def plain_compose(pipeline: v2.Compose) -> v2.Compose:
    """The same five transform objects in an ordinary v2.Compose (the reference)."""
    return v2.Compose(list(pipeline.transforms))


def run_both(pipeline: v2.Compose, image, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(seed)
    ours = pipeline(image)
    after = torch.rand(1)  # both must leave the global generator in the same state
    torch.manual_seed(seed)
    reference = plain_compose(pipeline)(image)
    assert torch.equal(torch.rand(1), after)
    return ours, reference


def assert_identical(ours: torch.Tensor, reference: torch.Tensor) -> None:
    assert type(ours) is type(reference) is tv_tensors.Image
    assert ours.dtype == reference.dtype == torch.float32 and ours.shape == reference.shape
    assert ours.is_contiguous()
    assert torch.equal(ours, reference)


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"size": 64, "hflip": 1.0},
        {"size": 97, "hflip": 0.0, "scale": (0.5, 1.0)},
        {"size": 48, "interpolation": InterpolationMode.BICUBIC},
        {"size": 40, "interpolation": InterpolationMode.NEAREST},
        {"size": 56, "mean": (0.5, 0.4, 0.3), "std": (0.2, 0.3, 0.25)},
    ],
)
def test_train_preset_equals_the_plain_compose(photos: list[str], settings: dict) -> None:
    pipeline = presets.classification_train(**settings)
    for path in photos[:4]:
        decoded = read_image(path)  # a channels-last view, as the decoder gives it
        for image in (decoded, decoded.contiguous(), tv_tensors.Image(decoded)):
            for seed in range(4):
                assert_identical(*run_both(pipeline, image, seed))


def test_whole_image_crop_and_pil_input(photos: list[str]) -> None:
    # A crop of the whole image at the output size: no resize at all.
    pipeline = presets.classification_train(225, scale=(1.0, 1.0))
    square = read_image(photos[3])
    for seed in range(4):
        assert_identical(*run_both(pipeline, square, seed))
    pipeline = presets.classification_train(32)
    with Image.open(photos[0]) as opened:
        for seed in range(4):
            assert_identical(*run_both(pipeline, opened, seed))


def test_greyscale_images(photos: list[str]) -> None:
    grey = read_image(photos[4], mode="L")
    one_channel = presets.classification_train(32, mean=(0.5,), std=(0.25,))
    for seed in range(4):
        assert_identical(*run_both(one_channel, grey, seed))
    # Three means for one channel: Normalize broadcasts to three channels; so does the preset.
    three = presets.classification_train(32)
    for seed in range(2):
        ours, reference = run_both(three, grey, seed)
        assert ours.shape == (3, 32, 32)
        assert_identical(ours, reference)


def test_other_inputs_and_edited_pipelines_take_the_plain_path(photos: list[str]) -> None:
    pipeline = presets.classification_train(32)
    image = read_image(photos[0])
    # Float input, a batch, an image with its target, a changed step: all as v2.Compose computes them.
    for inputs in ((image.float() / 255,), (image[None].expand(2, -1, -1, -1),), (image, 3)):
        torch.manual_seed(0)
        ours = pipeline(*inputs)
        torch.manual_seed(0)
        reference = plain_compose(pipeline)(*inputs)
        if isinstance(ours, tuple):
            assert ours[1] == reference[1] == 3
            ours, reference = ours[0], reference[0]
        assert torch.equal(ours, reference)
    pipeline.transforms[3] = v2.ToDtype(torch.float64, scale=True)
    torch.manual_seed(0)
    assert pipeline(image).dtype == torch.float64
    assert repr(presets.classification_train(32)).startswith("Compose(\n      ToImage()")
    assert isinstance(presets.classification_train(32), v2.Compose)


def test_forward_hooks_still_run(photos: list[str]) -> None:
    pipeline = presets.classification_train(32)
    seen = []
    pipeline.transforms[2].register_forward_hook(lambda module, args, output: seen.append(output.shape))
    pipeline(read_image(photos[0]))
    assert seen == [(3, 32, 32)]


def test_a_single_uint8_image_takes_the_fused_path(
    photos: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline = presets.classification_train(32)
    image = read_image(photos[0])

    def refuse(*inputs):
        raise AssertionError("the plain v2.Compose ran")

    monkeypatch.setattr(v2.Compose, "forward", refuse)
    assert pipeline(image).shape == (3, 32, 32)
    with Image.open(photos[0]) as opened:
        assert pipeline(opened).shape == (3, 32, 32)
    with pytest.raises(AssertionError, match=r"the plain v2\.Compose ran"):
        pipeline(image.float())
