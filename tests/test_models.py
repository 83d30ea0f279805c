"""The reference MNIST CNN and the convolution shape arithmetic."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from visiondata.models import MNISTCNN, conv_output_size


def test_parameter_count_is_the_lectures() -> None:
    model = MNISTCNN()
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == 2762
    # conv1 208 + bn1 16 + conv2 1608 + bn2 16 + conv3 584 + fc 330
    per_layer = {name: sum(p.numel() for p in module.parameters()) for name, module in model.named_children()}
    assert per_layer == {"conv1": 208, "bn1": 16, "conv2": 1608, "bn2": 16, "conv3": 584, "fc": 330}


def test_layer_configuration_is_exact() -> None:
    model = MNISTCNN()
    expected = {
        "conv1": (1, 8, (5, 5), (2, 2)),
        "conv2": (8, 8, (5, 5), (2, 2)),
        "conv3": (8, 8, (3, 3), (1, 1)),
    }
    for name, (inputs, outputs, kernel, stride) in expected.items():
        conv = getattr(model, name)
        assert (conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding) == (
            inputs, outputs, kernel, stride, (0, 0),
        )  # fmt: skip
    assert isinstance(model.bn1, nn.BatchNorm2d) and model.bn1.num_features == 8
    assert (model.fc.in_features, model.fc.out_features) == (32, 10)


def test_every_shape_follows_conv_output_size() -> None:
    model = MNISTCNN().eval()
    shapes = {}
    hooks = [
        getattr(model, name).register_forward_hook(
            lambda _m, _i, out, name=name: shapes.__setitem__(name, out.shape[1:])
        )
        for name in ("conv1", "conv2", "conv3", "fc")
    ]
    model(torch.zeros(1, 1, 28, 28))
    for hook in hooks:
        hook.remove()
    size = 28
    for name in ("conv1", "conv2", "conv3"):
        conv = getattr(model, name)
        size = conv_output_size(size, conv.kernel_size[0], conv.stride[0])
        assert tuple(shapes[name]) == (8, size, size)
    assert [conv_output_size(28, 5, 2), conv_output_size(12, 5, 2), conv_output_size(4, 3)] == [12, 4, 2]
    assert 8 * size * size == 32 == model.fc.in_features
    assert tuple(shapes["fc"]) == (10,)


def test_forward_returns_logits_and_predict_proba_probabilities() -> None:
    torch.manual_seed(0)
    model = MNISTCNN().eval()
    images = torch.randn(5, 1, 28, 28)
    logits = model(images)
    probabilities = model.predict_proba(images)
    assert not torch.allclose(logits.sum(dim=1), torch.ones(5)), "forward must not apply softmax"
    torch.testing.assert_close(probabilities, torch.softmax(logits, dim=1))
    torch.testing.assert_close(probabilities.sum(dim=1), torch.ones(5))
    assert not probabilities.requires_grad


def test_num_classes_and_in_channels() -> None:
    model = MNISTCNN(num_classes=3, in_channels=3)
    assert model(torch.zeros(2, 3, 28, 28)).shape == (2, 3)
    assert model.features(torch.zeros(2, 3, 28, 28)).shape == (2, 32)


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ((28, 5, 2), 12),
        ((28, 3, 1, 1), 28),
        ((32, 3, 2, 1), 16),
        ((10, 3, 1, 0, 2), 6),
        (((28, 32), 5, 2), (12, 14)),
        (((28, 32), (5, 3), (2, 1), (0, 1)), (12, 32)),
    ],
)
def test_conv_output_size_formula(arguments: tuple, expected) -> None:
    assert conv_output_size(*arguments) == expected


@pytest.mark.parametrize("size", [7, 28, 31, 64])
@pytest.mark.parametrize(
    ("kernel", "stride", "padding", "dilation"), [(3, 1, 0, 1), (5, 2, 2, 1), (3, 3, 1, 2), (1, 2, 0, 1)]
)
def test_conv_output_size_agrees_with_torch(
    size: int, kernel: int, stride: int, padding: int, dilation: int
) -> None:
    conv = nn.Conv2d(1, 1, kernel, stride=stride, padding=padding, dilation=dilation)
    actual = conv(torch.zeros(1, 1, size, size + 3)).shape[2:]
    assert conv_output_size((size, size + 3), kernel, stride, padding, dilation) == tuple(actual)


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ((0, 3), ValueError, "expected size, kernel_size, stride and dilation >= 1"),
        ((28, 3, 0), ValueError, "stride=0"),
        ((28, 3, 1, -1), ValueError, "padding=-1"),
        ((4, 7), ValueError, "the kernel spans 7 pixels"),
        ((28.0, 3), TypeError, "size: expected an int or a pair of ints, got 28.0"),
        (((28, 28, 3), 3), TypeError, "size: expected an int or a pair"),
    ],
)
def test_conv_output_size_rejects_bad_arguments(arguments: tuple, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        conv_output_size(*arguments)
