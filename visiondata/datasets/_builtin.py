"""Datasets registered by visiondata itself.

Factories are given as ``"module:attribute"`` strings so that importing
visiondata imports neither torch nor torchvision.
"""

from __future__ import annotations

from visiondata.datasets._catalog import register_dataset

register_dataset(
    "mnist",
    "visiondata.datasets._mnist:MNISTDataset",
    task="classification",
    splits=("train", "test"),
    classes=(
        "0 - zero",
        "1 - one",
        "2 - two",
        "3 - three",
        "4 - four",
        "5 - five",
        "6 - six",
        "7 - seven",
        "8 - eight",
        "9 - nine",
    ),
    image_size=(28, 28),
    channels=1,
    mean=(0.1307,),
    std=(0.3081,),
    source="visiondata.datasets.MNISTDataset",
    license="CC BY-SA 3.0",
    homepage="http://yann.lecun.com/exdb/mnist/",
    download=True,
    description="Handwritten digits 0-9: 60,000 training and 10,000 test greyscale images.",
)
