"""Damaged MNIST files (partial downloads, garbage, impossible labels) are named, with the fix."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from fixture_files import make_mnist_tree, write_idx

from visiondata.datasets import FashionMNISTDataset, MNISTDataset, read_idx
from visiondata.exceptions import DatasetFormatError

IMAGES = "t10k-images-idx3-ubyte"
LABELS = "t10k-labels-idx1-ubyte"


def gzip_in_place(raw: Path, name: str) -> Path:
    """Replace ``raw/name`` by ``raw/name.gz``, as torchvision's downloader leaves it before extracting."""
    packed = raw / f"{name}.gz"
    packed.write_bytes(gzip.compress((raw / name).read_bytes()))
    (raw / name).unlink()
    return packed


def truncate(data: bytes) -> bytes:
    return data[: len(data) // 2]


def garbage(data: bytes) -> bytes:
    return b"<html><body>503 Service Unavailable</body></html>\n"


def corrupt_middle(data: bytes) -> bytes:
    # Keep the 10-byte gzip header, invert the compressed stream and the trailer.
    return data[:10] + bytes(byte ^ 0xFF for byte in data[10:])


@pytest.mark.parametrize(
    ("damage", "found"),
    [
        (truncate, "a file that ends early"),
        (garbage, "a file that does not decompress"),
        (corrupt_middle, "a file that does not decompress"),
    ],
    ids=["truncated", "not-gzip", "corrupt-deflate"],
)
@pytest.mark.parametrize("name", [IMAGES, LABELS])
def test_damaged_gz_file_is_named_with_the_fix(
    tmp_path: Path, name: str, damage: Callable[[bytes], bytes], found: str
) -> None:
    raw = make_mnist_tree(tmp_path, train=4, test=12) / "MNIST" / "raw"
    packed = gzip_in_place(raw, name)
    packed.write_bytes(damage(packed.read_bytes()))
    with pytest.raises(DatasetFormatError) as caught:
        MNISTDataset(tmp_path, split="test")
    message = str(caught.value)
    assert message.startswith(f"{packed}: expected a complete gzip-compressed IDX file, got {found}")
    assert "damaged" in message and "delete it" in message and "download=True" in message
    assert isinstance(caught.value, ValueError)


def test_read_idx_reports_a_truncated_gz_without_the_dataset(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "labels-idx1-ubyte", np.arange(300) % 10)
    packed = tmp_path / "labels-idx1-ubyte.gz"
    packed.write_bytes(truncate(gzip.compress(path.read_bytes())))
    with pytest.raises(DatasetFormatError, match=r"got a file that ends early .*download it again") as caught:
        read_idx(packed)
    assert str(packed) in str(caught.value)
    assert isinstance(caught.value.__cause__, EOFError)


def test_a_missing_gz_file_is_not_called_damaged(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as caught:
        read_idx(tmp_path / "absent-idx1-ubyte.gz")
    assert not isinstance(caught.value, DatasetFormatError)


def test_truncated_plain_file_names_the_fix(tmp_path: Path) -> None:
    raw = make_mnist_tree(tmp_path, train=4, test=12) / "MNIST" / "raw"
    (raw / IMAGES).write_bytes(truncate((raw / IMAGES).read_bytes()))
    with pytest.raises(DatasetFormatError) as caught:
        MNISTDataset(tmp_path, split="test")
    message = str(caught.value)
    assert message.startswith(f"{raw / IMAGES}: expected 9424 bytes")
    assert "MNISTDataset(..., download=True) downloads it again once it is deleted" in message


@pytest.mark.parametrize("packed", [False, True], ids=["raw", "gz"])
def test_label_outside_the_classes_is_refused(tmp_path: Path, packed: bool) -> None:
    raw = make_mnist_tree(tmp_path, train=4, test=12) / "MNIST" / "raw"
    labels = np.arange(12) % 10
    labels[7], labels[9] = 200, 10
    path = write_idx(raw / LABELS, labels)
    if packed:
        path = gzip_in_place(raw, LABELS)
    with pytest.raises(DatasetFormatError) as caught:
        MNISTDataset(tmp_path, split="test")
    message = str(caught.value)
    assert message.startswith(
        f"{path}: expected labels 0 to 9 (the 10 classes of MNISTDataset), got 200 at index 7 "
        "(2 bad labels in all)"
    )
    assert "delete it and load with download=True" in message


def test_highest_valid_label_is_accepted(tmp_path: Path) -> None:
    raw = tmp_path / "FashionMNIST" / "raw"
    write_idx(raw / IMAGES, np.zeros((3, 28, 28)))
    write_idx(raw / LABELS, np.array([0, 9, 9]))
    assert FashionMNISTDataset(tmp_path, split="test").targets.tolist() == [0, 9, 9]
