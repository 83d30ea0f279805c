"""The detection presets end in what each model family takes (``for_model=``)."""

from __future__ import annotations

import pytest
import torch

from visiondata.transforms import presets

BOX = [[10.0, 20.0, 90.0, 100.0]]


def sample(height: int = 120, width: int = 160) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    image = torch.arange(3 * height * width, dtype=torch.int64).remainder(251).to(torch.uint8)
    return image.reshape(3, height, width), {"boxes": torch.tensor(BOX), "labels": torch.tensor([1])}


@pytest.mark.parametrize("backend", ["torchvision", "albumentations"])
def test_the_torchvision_training_preset_keeps_the_size_flips_half_and_gives_floats_in_0_1(
    backend: str,
) -> None:
    pipeline = presets.detection_train(for_model="torchvision", backend=backend, seed=0)
    flipped = 0
    for _ in range(40):
        image, target = sample()
        out_image, out_target = pipeline(image, target)
        assert out_image.dtype == torch.float32 and tuple(out_image.shape) == (3, 120, 160)
        mirrored = torch.allclose(out_image, image.flip(-1).float() / 255, atol=1e-6)
        assert mirrored or torch.allclose(out_image, image.float() / 255, atol=1e-6)
        expected = [[160 - 90.0, 20.0, 160 - 10.0, 100.0]] if mirrored else BOX
        assert out_target["boxes"].tolist() == expected and out_target["labels"].tolist() == [1]
        flipped += mirrored
    assert 10 <= flipped <= 30  # half of them, give or take


def test_the_torchvision_evaluation_preset_only_converts() -> None:
    image, target = sample(130, 110)
    out_image, out_target = presets.detection_eval(for_model="torchvision")(image, target)
    assert out_image.dtype == torch.float32 and torch.allclose(out_image, image.float() / 255, atol=1e-6)
    assert out_target["boxes"].tolist() == BOX


def test_the_yolo_presets_keep_their_640_letterbox_by_default() -> None:
    image, target = sample()
    assert tuple(presets.detection_train(seed=0)(image, target)[0].shape) == (3, 640, 640)
    assert tuple(presets.detection_eval()(image, target)[0].shape) == (3, 640, 640)
    assert tuple(presets.detection_eval(320, for_model="yolo")(image, target)[0].shape) == (3, 320, 320)


def test_the_torchvision_preset_feeds_a_torchvision_detector() -> None:
    import torchvision

    from visiondata.collate import detection_collate

    pipeline = presets.detection_train(for_model="torchvision", seed=0)
    images, targets = detection_collate([pipeline(*sample()) for _ in range(2)])
    torch.manual_seed(0)
    model = torchvision.models.detection.fasterrcnn_mobilenet_v3_large_320_fpn(
        weights=None, weights_backbone=None, num_classes=3
    )
    losses = model(images, targets)
    assert sorted(losses) == ["loss_box_reg", "loss_classifier", "loss_objectness", "loss_rpn_box_reg"]
    assert all(torch.isfinite(value) for value in losses.values())


@pytest.mark.parametrize("preset", [presets.detection_train, presets.detection_eval])
def test_a_size_for_torchvision_or_an_unknown_family_is_refused(preset: object) -> None:
    with pytest.raises(ValueError, match=r"size: expected None with for_model='torchvision', got 512"):
        preset(512, for_model="torchvision")  # type: ignore[operator]
    with pytest.raises(ValueError, match=r"for_model.*'yolo'.*'torchvision'|for_model.*yolo.*torchvision"):
        preset(for_model="detr")  # type: ignore[operator]
