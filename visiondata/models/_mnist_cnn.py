"""The reference MNIST network of our lecture notes (2,762 parameters)."""

from __future__ import annotations

import torch
from torch import nn

from visiondata._arguments import check_positive_int


class MNISTCNN(nn.Module):
    """Three small convolutions and a linear classifier for 1x28x28 digits.

    ``conv1`` (1->8, 5x5, stride 2) -> ReLU -> BatchNorm -> ``conv2``
    (8->8, 5x5, stride 2) -> ReLU -> BatchNorm -> ``conv3`` (8->8, 3x3) ->
    ReLU -> flatten -> ``fc`` (32->10). Feature maps go
    ``[1,28,28] -> [8,12,12] -> [8,4,4] -> [8,2,2] -> [32] -> [10]``.

    `forward` returns logits, to be trained with
    ``nn.CrossEntropyLoss``; the lecture's version applied a softmax inside
    ``forward`` and again in the loss, which flattened its gradients (its
    printed loss sat near 1.47). `predict_proba` gives probabilities.

    Args:
        num_classes: Outputs of the last layer.
        in_channels: Channels of the input images.

    Raises:
        ValueError: ``num_classes`` or ``in_channels`` is not a positive integer.

    Examples:
        >>> import torch
        >>> model = MNISTCNN()
        >>> model(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 10])
        >>> sum(p.numel() for p in model.parameters())
        2762
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1) -> None:
        check_positive_int("num_classes", num_classes)
        check_positive_int("in_channels", in_channels)
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 8, kernel_size=5, stride=2)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 8, kernel_size=5, stride=2)
        self.bn2 = nn.BatchNorm2d(8)
        self.conv3 = nn.Conv2d(8, 8, kernel_size=3, stride=1)
        self.fc = nn.Linear(32, num_classes)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """The 32 flattened features that feed the classifier."""
        x = self.bn1(torch.relu(self.conv1(images)))
        x = self.bn2(torch.relu(self.conv2(x)))
        x = torch.relu(self.conv3(x))
        return torch.flatten(x, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Class logits of shape ``(N, num_classes)`` for images of shape ``(N, C, 28, 28)``."""
        return self.fc(self.features(images))

    @torch.no_grad()
    def predict_proba(self, images: torch.Tensor) -> torch.Tensor:
        """Class probabilities (softmax of the logits); rows sum to 1.

        Examples:
            >>> import torch
            >>> probabilities = MNISTCNN().eval().predict_proba(torch.zeros(3, 1, 28, 28))
            >>> torch.allclose(probabilities.sum(dim=1), torch.ones(3))
            True
        """
        return torch.softmax(self(images), dim=1)
