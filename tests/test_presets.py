"""Transform presets: shapes, value ranges, and equality with torchvision v2 on the same crop."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.transforms import v2

from visiondata.io import read_image
from visiondata.transforms import presets


@pytest.fixture
def photo(tmp_path) -> str:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:180, 0:260]
    pixels = np.stack([x * 255 // 259, y * 255 // 179, (x + y) % 256], axis=-1) + rng.integers(
        0, 20, (180, 260, 3)
    )
    path = tmp_path / "photo.jpg"
    Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(path, quality=92)
    return str(path)


def test_train_preset_equals_torchvision_v2_for_the_same_crop(photo: str) -> None:
    image = read_image(photo)
    pipeline = presets.classification_train(64, hflip=0.0)
    crop = pipeline.transforms[1]
    torch.manual_seed(3)
    params = crop.make_params([v2.functional.to_image(image)])
    torch.manual_seed(3)  # the pipeline draws the same crop: the crop is its first random step
    ours = pipeline(image)
    pil = v2.functional.pil_to_tensor(Image.open(photo).convert("RGB"))
    expected = v2.functional.resized_crop(
        pil, params["top"], params["left"], params["height"], params["width"], [64, 64], antialias=True
    )
    expected = v2.functional.normalize(v2.functional.to_dtype(expected, torch.float32, scale=True),
                                       presets.IMAGENET_MEAN, presets.IMAGENET_STD)  # fmt: skip
    assert torch.equal(ours, expected)


def test_train_preset_output(photo: str) -> None:
    out = presets.classification_train(32)(read_image(photo))
    assert out.shape == (3, 32, 32) and out.dtype == torch.float32
    # Normalised with ImageNet statistics: [0, 1] maps to about [-2.1, 2.6].
    assert float(out.min()) > -2.2 and float(out.max()) < 2.7


def test_train_preset_accepts_pil_images(photo: str) -> None:
    assert presets.classification_train(16)(Image.open(photo)).shape == (3, 16, 16)


def test_eval_preset_is_deterministic_and_centred(photo: str) -> None:
    image = read_image(photo)
    pipeline = presets.classification_eval(size=64, resize=80)
    first, second = pipeline(image), pipeline(image)
    assert torch.equal(first, second)
    resized = v2.functional.resize(image, 80, antialias=True)
    expected = v2.functional.center_crop(resized, [64, 64])
    expected = v2.functional.normalize(v2.functional.to_dtype(expected, torch.float32, scale=True),
                                       presets.IMAGENET_MEAN, presets.IMAGENET_STD)  # fmt: skip
    assert torch.equal(first, expected)
    with pytest.raises(ValueError, match="resize: expected at least size"):
        presets.classification_eval(size=64, resize=32)


def test_grayscale_normalized_is_the_lectures_pipeline(photo: str) -> None:
    out = presets.grayscale_normalized(48)(read_image(photo))
    assert out.shape == (1, 48, 48)
    assert float(out.min()) >= -1 and float(out.max()) <= 1
    white = presets.grayscale_normalized(8)(torch.full((3, 20, 20), 255, dtype=torch.uint8))
    black = presets.grayscale_normalized(8)(torch.zeros((3, 20, 20), dtype=torch.uint8))
    assert torch.equal(white, torch.ones(1, 8, 8)) and torch.equal(black, -torch.ones(1, 8, 8))


def test_grayscale_matches_pil_and_read_image(photo: str) -> None:
    rgb = read_image(photo)
    assert torch.equal(presets.Grayscale()(rgb), read_image(photo, mode="L"))
    floats = rgb.float() / 255
    torch.testing.assert_close(presets.Grayscale()(floats), v2.functional.rgb_to_grayscale(floats))
