"""Writers for tiny dataset files in their real on-disk formats."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np


def write_idx(path: Path, array: np.ndarray) -> Path:
    """Write ``array`` (uint8) in the IDX format MNIST uses."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}i", *array.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + array.tobytes())
    return path


def make_mnist_tree(root: Path, train: int = 64, test: int = 32, seed: int = 0) -> Path:
    """Write a small MNIST in torchvision's layout under ``root``; returns ``root``."""
    rng = np.random.default_rng(seed)
    raw = root / "MNIST" / "raw"
    for prefix, count in (("train", train), ("t10k", test)):
        write_idx(raw / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (count, 28, 28)))
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", np.arange(count) % 10)
    return root


def write_distinct_photos(folder: Path) -> dict[str, Path]:
    """Six different real pictures as JPEG files (quality 90): scikit-learn's two photos and their halves."""
    from PIL import Image
    from sklearn.datasets import load_sample_images

    china, flower = load_sample_images().images
    pictures = {
        "china": china,
        "flower": flower,
        "china_left": china[:, :320],
        "china_right": china[:, 320:],
        "flower_top": flower[:213],
        "flower_bottom": flower[213:],
    }
    paths = {}
    for name, pixels in pictures.items():
        paths[name] = folder / f"{name}.jpg"
        Image.fromarray(pixels).save(paths[name], quality=90)
    return paths
