"""Classification entries of the catalog, read from tiny files in each dataset's real on-disk format.

Every fixture below is written in the exact layout and binary format that
torchvision 0.29 reads (IDX files, pickled CIFAR batches, SVHN ``.mat``
files, STL-10 column-major binaries, bz2 libsvm text for USPS, an
Imagenette JPEG tree), then read back through ``vd.get_dataset`` for every
split the catalog lists. Where torchvision checks the md5 of a real
download, the check is replaced (in the test only) by an existence check,
as torchvision's own test suite does.
"""

from __future__ import annotations

import bz2
import os
import pickle
import struct
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
import scipy.io
import torch
import torchvision.datasets
from fixture_files import write_idx
from PIL import Image
from torchvision.datasets import cifar, stl10, svhn
from torchvision.transforms import Compose, Normalize, ToTensor
from torchvision.transforms.functional import pil_to_tensor

import visiondata as vd
from visiondata.datasets import FashionMNISTDataset, KMNISTDataset, MNISTDataset
from visiondata.exceptions import DatasetNotFoundError


# ---------------------------------------------------------------- helpers
def splits_of(*names: str) -> list[tuple[str, str]]:
    """``(name, split)`` for every split the catalog lists for each dataset."""
    return [(name, split) for name in names for split in vd.dataset_info(name).splits]


def random_images(count: int, shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Random uint8 images: no symmetry, so a transposed or flipped read shows."""
    return np.random.default_rng(seed).integers(0, 256, (count, *shape), dtype=np.uint8)


def add_100(label: Any) -> Any:
    return label + 100


def md5_checks_only_existence(monkeypatch: pytest.MonkeyPatch, module: ModuleType) -> None:
    """Replace ``module.check_integrity`` (an md5 check of the real download) by an existence check."""
    monkeypatch.setattr(module, "check_integrity", lambda fpath, md5=None: os.path.isfile(fpath))


def pil_sample(sample: Any, size: tuple[int, int], mode: str) -> tuple[np.ndarray, int]:
    """Check a ``(PIL image, int)`` sample; return its pixels and its label."""
    assert isinstance(sample, tuple) and len(sample) == 2
    image, label = sample
    assert isinstance(image, Image.Image)
    assert (image.size, image.mode) == (size, mode)
    assert type(label) is int
    return np.asarray(image), label


def assert_transforms_applied(dataset: Any, index: int, pixels_chw: torch.Tensor, label: int) -> None:
    """``transform=pil_to_tensor`` and ``target_transform=add_100`` were applied to sample ``index``."""
    image, target = dataset[index]
    assert isinstance(image, torch.Tensor) and image.dtype == torch.uint8
    assert torch.equal(image, pixels_chw)
    assert target == label + 100


# ---------------------------------------------------------------- MNIST, Fashion-MNIST, KMNIST (fast path)
IDX_FAMILY = {
    "mnist": ("MNIST", MNISTDataset),
    "fashion_mnist": ("FashionMNIST", FashionMNISTDataset),
    "kmnist": ("KMNIST", KMNISTDataset),
}
IDX_PREFIX = {"train": "train", "test": "t10k"}
IDX_LABELS = {"train": [3, 1, 4, 1, 5, 9, 2], "test": [2, 7, 1, 8, 0]}


def write_idx_family(root: Path, folder: str, seed: int = 0) -> dict[str, tuple[np.ndarray, list[int]]]:
    """``root/<folder>/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte``, as torchvision reads them."""
    written = {}
    for offset, (split, labels) in enumerate(IDX_LABELS.items()):
        images = random_images(len(labels), (28, 28), seed + offset)
        raw = root / folder / "raw"
        write_idx(raw / f"{IDX_PREFIX[split]}-images-idx3-ubyte", images)
        write_idx(raw / f"{IDX_PREFIX[split]}-labels-idx1-ubyte", np.array(labels))
        written[split] = (images, labels)
    return written


@pytest.mark.parametrize(("name", "split"), splits_of(*IDX_FAMILY))
def test_idx_family_reads_the_files_like_torchvision(name: str, split: str, tmp_path: Path) -> None:
    folder, our_class = IDX_FAMILY[name]
    images, labels = write_idx_family(tmp_path, folder)[split]
    info = vd.dataset_info(name)
    ours = vd.get_dataset(name, root=tmp_path, split=split)
    torchvision_class = getattr(torchvision.datasets, folder)
    theirs = torchvision_class(
        str(tmp_path), train=split == "train", transform=Compose([ToTensor(), Normalize(info.mean, info.std)])
    )
    assert type(ours) is our_class
    assert len(ours) == len(theirs) == len(labels)
    mean, std = info.mean[0], info.std[0]
    for index, written_label in enumerate(labels):
        image, label = ours[index]
        assert image.dtype == torch.float32 and image.shape == (1, 28, 28)
        assert type(label) is int and label == written_label
        their_image, their_label = theirs[index]
        assert torch.equal(image, their_image), f"{name} {split} sample {index} differs from torchvision"
        assert label == their_label
        pixels = (image[0] * std + mean) * 255
        torch.testing.assert_close(pixels, torch.from_numpy(images[index]).float(), atol=1e-3, rtol=0)
    assert info.classes == tuple(torchvision_class.classes)
    assert len(info.classes) == len(torchvision_class.classes) == 10


@pytest.mark.parametrize(("name", "split"), splits_of(*IDX_FAMILY))
def test_idx_family_applies_transforms(name: str, split: str, tmp_path: Path) -> None:
    folder, _ = IDX_FAMILY[name]
    _, labels = write_idx_family(tmp_path, folder, seed=5)[split]
    plain = vd.get_dataset(name, root=tmp_path, split=split)
    transformed = vd.get_dataset(
        name, root=tmp_path, split=split, transform=torch.neg, target_transform=add_100
    )
    for index, written_label in enumerate(labels):
        image, label = transformed[index]
        assert torch.equal(image, -plain[index][0])
        assert label == written_label + 100


# ---------------------------------------------------------------- EMNIST
# variant -> (number of classes torchvision gives it, labels written per split)
EMNIST_VARIANTS = {
    "balanced": (47, {"train": [0, 46, 10, 36, 9], "test": [45, 1, 20]}),
    "letters": (27, {"train": [1, 26, 13, 2], "test": [26, 5, 1]}),
}


def write_emnist(root: Path, variant: str) -> dict[str, tuple[np.ndarray, list[int]]]:
    """``root/EMNIST/raw/emnist-<variant>-<train|test>-<images-idx3|labels-idx1>-ubyte``."""
    written = {}
    for offset, (split, labels) in enumerate(EMNIST_VARIANTS[variant][1].items()):
        images = random_images(len(labels), (28, 28), seed=10 + offset)
        prefix = root / "EMNIST" / "raw" / f"emnist-{variant}-{split}"
        write_idx(Path(f"{prefix}-images-idx3-ubyte"), images)
        write_idx(Path(f"{prefix}-labels-idx1-ubyte"), np.array(labels))
        written[split] = (images, labels)
    return written


@pytest.mark.parametrize("variant", list(EMNIST_VARIANTS))
@pytest.mark.parametrize("split", vd.dataset_info("emnist").splits)
def test_emnist_variants_and_splits(variant: str, split: str, tmp_path: Path) -> None:
    for other in EMNIST_VARIANTS:  # both variants on disk: the right files must be picked
        written = write_emnist(tmp_path, other)
        if other == variant:
            images, labels = written[split]
    dataset = vd.get_dataset("emnist", root=tmp_path, split=split, variant=variant)
    assert isinstance(dataset, torchvision.datasets.EMNIST)
    assert (dataset.split, dataset.train) == (variant, split == "train")
    assert len(dataset) == len(labels)
    for index, written_label in enumerate(labels):
        pixels, label = pil_sample(dataset[index], (28, 28), "L")
        np.testing.assert_array_equal(pixels, images[index])
        assert label == written_label
    assert len(dataset.classes) == EMNIST_VARIANTS[variant][0]
    transformed = vd.get_dataset(
        "emnist",
        root=tmp_path,
        split=split,
        variant=variant,
        transform=pil_to_tensor,
        target_transform=add_100,
    )
    assert_transforms_applied(transformed, 0, torch.from_numpy(images[0])[None], labels[0])


def test_emnist_default_variant_is_balanced(tmp_path: Path) -> None:
    images, labels = write_emnist(tmp_path, "balanced")["test"]
    dataset = vd.get_dataset("emnist", root=tmp_path, split="test")
    assert dataset.split == "balanced" and len(dataset) == len(labels)
    assert [dataset[i][1] for i in range(len(labels))] == labels
    np.testing.assert_array_equal(np.asarray(dataset[2][0]), images[2])
    assert len(dataset.classes) == 47


# ---------------------------------------------------------------- QMNIST
QMNIST_TEST_SIZE = 10_002  # test10k is the first 10,000 of the test file, test50k the rest


def write_int32_idx(path: Path, array: np.ndarray) -> Path:
    """IDX with big-endian int32 values (type code 0x0C), QMNIST's label format."""
    array = np.ascontiguousarray(array, dtype=">i4")
    header = bytes([0, 0, 0x0C, array.ndim]) + struct.pack(f">{array.ndim}i", *array.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + array.tobytes())
    return path


def qmnist_labels(count: int, first: int) -> np.ndarray:
    """QMNIST's (N, 8) label matrix: class, NIST series, writer, index, NIST class, global index, 0, 0."""
    index = np.arange(first, first + count)
    return np.stack(
        [
            (index * 7) % 10,
            index % 4,
            2000 + index,
            index % 100,
            48 + (index * 7) % 10,
            index,
            0 * index,
            0 * index,
        ],
        axis=1,
    )


@pytest.fixture(scope="module")
def qmnist_root(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """``root/QMNIST/raw`` with qmnist-{train,test}-* and xnist-* (images idx3-ubyte, labels idx2-int)."""
    root = tmp_path_factory.mktemp("qmnist")
    raw = root / "QMNIST" / "raw"
    files = {
        "train": ("qmnist-train", 5, 0),
        "test": ("qmnist-test", QMNIST_TEST_SIZE, 100),
        "nist": ("xnist", 4, 50_000),
    }
    written = {}
    for seed, (subset, (prefix, count, first)) in enumerate(files.items()):
        images = random_images(count, (28, 28), seed=20 + seed)
        labels = qmnist_labels(count, first)
        write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        write_int32_idx(raw / f"{prefix}-labels-idx2-int", labels)
        written[subset] = (images, labels)
    return root, written


# split -> (file subset, slice of it)
QMNIST_SPLITS = {
    "train": ("train", slice(None)),
    "test": ("test", slice(None)),
    "test10k": ("test", slice(0, 10_000)),
    "test50k": ("test", slice(10_000, None)),
    "nist": ("nist", slice(None)),
}


def test_qmnist_catalog_splits_are_those_tested() -> None:
    assert set(vd.dataset_info("qmnist").splits) == set(QMNIST_SPLITS)


@pytest.mark.parametrize("split", vd.dataset_info("qmnist").splits)
def test_qmnist_splits_and_compat_targets(split: str, qmnist_root: tuple[Path, dict]) -> None:
    root, written = qmnist_root
    subset, part = QMNIST_SPLITS[split]
    images, labels = (array[part] for array in written[subset])
    dataset = vd.get_dataset("qmnist", root=root, split=split)
    assert isinstance(dataset, torchvision.datasets.QMNIST) and dataset.what == split
    assert len(dataset) == len(labels)
    for index in sorted({0, 1, len(labels) - 1}):
        pixels, label = pil_sample(dataset[index], (28, 28), "L")
        np.testing.assert_array_equal(pixels, images[index])
        assert label == labels[index, 0]  # compat=True: the class, the first column
    assert len(vd.dataset_info("qmnist").classes) == len(torchvision.datasets.QMNIST.classes) == 10
    full = vd.get_dataset("qmnist", root=root, split=split, compat=False, target_transform=None)
    assert full[0][1].tolist() == labels[0].tolist()  # compat=False: the whole row of 8
    transformed = vd.get_dataset(
        "qmnist", root=root, split=split, transform=pil_to_tensor, target_transform=add_100
    )
    assert_transforms_applied(transformed, 0, torch.from_numpy(images[0])[None], int(labels[0, 0]))


def test_qmnist_test50k_starts_after_test10k(qmnist_root: tuple[Path, dict]) -> None:
    root, written = qmnist_root
    images, labels = written["test"]
    test50k = vd.get_dataset("qmnist", root=root, split="test50k")
    assert len(test50k) == QMNIST_TEST_SIZE - 10_000
    assert [test50k[i][1] for i in range(len(test50k))] == labels[10_000:, 0].tolist()
    np.testing.assert_array_equal(np.asarray(test50k[0][0]), images[10_000])


# ---------------------------------------------------------------- CIFAR-10 and CIFAR-100
CIFAR10_LABEL_NAMES = [
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
]  # fmt: skip


def cifar_rows(images: np.ndarray) -> np.ndarray:
    """(N, 32, 32, 3) -> (N, 3072): the red plane, then green, then blue, each row-major."""
    return images.transpose(0, 3, 1, 2).reshape(len(images), 3072)


def pickle_to(path: Path, entry: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(entry, protocol=2))


def write_cifar10(root: Path) -> dict[str, tuple[np.ndarray, list[int]]]:
    """``root/cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta}``."""
    folder = root / "cifar-10-batches-py"
    train_labels = [[0, 9], [1, 8], [2, 7], [3, 6], [4, 5]]
    train_images = random_images(10, (32, 32, 3), seed=30)
    for batch, labels in enumerate(train_labels):
        images = train_images[2 * batch : 2 * batch + 2]
        pickle_to(
            folder / f"data_batch_{batch + 1}",
            {"batch_label": f"training batch {batch + 1} of 5", "labels": labels,
             "data": cifar_rows(images), "filenames": [f"img_{batch}_{i}.png" for i in range(2)]},
        )  # fmt: skip
    test_images, test_labels = random_images(3, (32, 32, 3), seed=31), [6, 0, 3]
    pickle_to(
        folder / "test_batch",
        {"batch_label": "testing batch 1 of 1", "labels": test_labels, "data": cifar_rows(test_images),
         "filenames": ["a.png", "b.png", "c.png"]},
    )  # fmt: skip
    pickle_to(
        folder / "batches.meta",
        {"label_names": CIFAR10_LABEL_NAMES, "num_cases_per_batch": 10000, "num_vis": 3072},
    )
    flat = [label for labels in train_labels for label in labels]
    return {"train": (train_images, flat), "test": (test_images, test_labels)}


def write_cifar100(root: Path) -> dict[str, tuple[np.ndarray, list[int]]]:
    """``root/cifar-100-python/{train,test,meta}``, fine and coarse labels apart."""
    folder = root / "cifar-100-python"
    written = {}
    fine_by_split = {"train": [0, 99, 42, 7], "test": [55, 1, 98]}
    for seed, (split, fine) in enumerate(fine_by_split.items()):
        images = random_images(len(fine), (32, 32, 3), seed=40 + seed)
        pickle_to(
            folder / split,
            {"filenames": [f"{split}_{i}.png" for i in range(len(fine))], "batch_label": f"{split} batch",
             "fine_labels": fine, "coarse_labels": [(label + 3) % 20 for label in fine], "data": cifar_rows(images)},
        )  # fmt: skip
        written[split] = (images, fine)
    # The catalog's names are written here; the test checks known positions of the real list too.
    fine_names = list(vd.dataset_info("cifar100").classes)
    pickle_to(
        folder / "meta", {"fine_label_names": fine_names, "coarse_label_names": [f"c{i}" for i in range(20)]}
    )
    return written


CIFAR_WRITERS: dict[str, Callable[[Path], dict[str, tuple[np.ndarray, list[int]]]]] = {
    "cifar10": write_cifar10,
    "cifar100": write_cifar100,
}


@pytest.mark.parametrize(("name", "split"), splits_of("cifar10", "cifar100"))
def test_cifar_pickled_batches(
    name: str, split: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    md5_checks_only_existence(monkeypatch, cifar)
    images, labels = CIFAR_WRITERS[name](tmp_path)[split]
    dataset = vd.get_dataset(name, root=tmp_path, split=split)
    assert isinstance(dataset, torchvision.datasets.CIFAR10) and dataset.train == (split == "train")
    assert len(dataset) == len(labels)
    for index, written_label in enumerate(labels):
        pixels, label = pil_sample(dataset[index], (32, 32), "RGB")
        np.testing.assert_array_equal(pixels, images[index])
        assert label == written_label
    info = vd.dataset_info(name)
    assert len(info.classes) == len(dataset.classes)
    assert info.classes == tuple(dataset.classes)
    transformed = vd.get_dataset(
        name, root=tmp_path, split=split, transform=pil_to_tensor, target_transform=add_100
    )
    assert_transforms_applied(transformed, 1, torch.from_numpy(images[1]).permute(2, 0, 1), labels[1])


def test_cifar_class_names_are_the_real_ones() -> None:
    assert vd.dataset_info("cifar10").classes == tuple(CIFAR10_LABEL_NAMES)
    cifar100 = vd.dataset_info("cifar100").classes
    assert len(cifar100) == 100 and cifar100 == tuple(sorted(cifar100))  # the real list is alphabetical
    assert (cifar100[0], cifar100[1], cifar100[58], cifar100[99]) == (
        "apple",
        "aquarium_fish",
        "pickup_truck",
        "worm",
    )


# ---------------------------------------------------------------- SVHN
# labels as stored in the .mat file: 10 stands for the digit 0
SVHN_LABELS = {"train": [1, 10, 5, 9], "test": [10, 3, 7], "extra": [2, 10]}


def write_svhn(root: Path) -> dict[str, tuple[np.ndarray, list[int]]]:
    """``root/<split>_32x32.mat`` with X of shape (32, 32, 3, N) and y of shape (N, 1)."""
    written = {}
    for seed, (split, labels) in enumerate(SVHN_LABELS.items()):
        images = random_images(len(labels), (32, 32, 3), seed=50 + seed)
        matrix = {
            "X": np.ascontiguousarray(images.transpose(1, 2, 3, 0)),
            "y": np.array(labels, np.uint8)[:, None],
        }
        scipy.io.savemat(root / f"{split}_32x32.mat", matrix)
        written[split] = (images, labels)
    return written


def test_svhn_catalog_splits_are_those_tested() -> None:
    assert set(vd.dataset_info("svhn").splits) == set(SVHN_LABELS)


@pytest.mark.parametrize("split", vd.dataset_info("svhn").splits)
def test_svhn_mat_files(split: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    md5_checks_only_existence(monkeypatch, svhn)
    images, stored = write_svhn(tmp_path)[split]
    assert scipy.io.loadmat(tmp_path / f"{split}_32x32.mat")["X"].shape == (32, 32, 3, len(stored))
    dataset = vd.get_dataset("svhn", root=tmp_path, split=split)
    assert isinstance(dataset, torchvision.datasets.SVHN) and dataset.split == split
    assert len(dataset) == len(stored)
    digits = [0 if label == 10 else label for label in stored]
    for index, digit in enumerate(digits):
        pixels, label = pil_sample(dataset[index], (32, 32), "RGB")
        np.testing.assert_array_equal(pixels, images[index])
        assert label == digit
    assert 0 in digits and 10 not in [dataset[i][1] for i in range(len(dataset))]
    assert vd.dataset_info("svhn").classes[0] == "0"
    transformed = vd.get_dataset(
        "svhn", root=tmp_path, split=split, transform=pil_to_tensor, target_transform=add_100
    )
    assert_transforms_applied(transformed, 1, torch.from_numpy(images[1]).permute(2, 0, 1), digits[1])


# ---------------------------------------------------------------- STL-10
STL10_CLASS_NAMES = ["airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck"]
STL10_TRAIN_LABELS = [1, 10, 3, 7, 2]  # 1-based in train_y.bin
STL10_TEST_LABELS = [10, 4, 1]
STL10_UNLABELED = 2


def stl10_bytes(images: np.ndarray) -> bytes:
    """(N, 96, 96, 3) -> STL-10's layout: per image, per channel, column-major."""
    return np.ascontiguousarray(images.transpose(0, 3, 2, 1)).tobytes()


def write_stl10(root: Path) -> dict[str, np.ndarray]:
    """``root/stl10_binary`` with the X/y binaries, class_names.txt and fold_indices.txt."""
    folder = root / "stl10_binary"
    folder.mkdir(parents=True)
    images = {
        "train": random_images(len(STL10_TRAIN_LABELS), (96, 96, 3), seed=60),
        "test": random_images(len(STL10_TEST_LABELS), (96, 96, 3), seed=61),
        "unlabeled": random_images(STL10_UNLABELED, (96, 96, 3), seed=62),
    }
    for part, array in images.items():
        (folder / f"{part}_X.bin").write_bytes(stl10_bytes(array))
    (folder / "train_y.bin").write_bytes(bytes(STL10_TRAIN_LABELS))
    (folder / "test_y.bin").write_bytes(bytes(STL10_TEST_LABELS))
    (folder / "class_names.txt").write_text("\n".join(STL10_CLASS_NAMES) + "\n")
    folds = [[fold % 5, (fold + 2) % 5] for fold in range(10)]
    (folder / "fold_indices.txt").write_text("".join(" ".join(map(str, fold)) + " \n" for fold in folds))
    return images


def stl10_expected(images: dict[str, np.ndarray], split: str) -> tuple[np.ndarray, list[int]]:
    train = (images["train"], [label - 1 for label in STL10_TRAIN_LABELS])
    unlabeled = (images["unlabeled"], [-1] * STL10_UNLABELED)
    return {
        "train": train,
        "test": (images["test"], [label - 1 for label in STL10_TEST_LABELS]),
        "unlabeled": unlabeled,
        "train+unlabeled": (np.concatenate([train[0], unlabeled[0]]), train[1] + unlabeled[1]),
    }[split]


@pytest.mark.parametrize("split", vd.dataset_info("stl10").splits)
def test_stl10_binaries(split: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    md5_checks_only_existence(monkeypatch, stl10)
    images, labels = stl10_expected(write_stl10(tmp_path), split)
    dataset = vd.get_dataset("stl10", root=tmp_path, split=split)
    assert isinstance(dataset, torchvision.datasets.STL10) and dataset.split == split
    assert len(dataset) == len(labels)
    for index, written_label in enumerate(labels):
        pixels, label = pil_sample(dataset[index], (96, 96), "RGB")
        np.testing.assert_array_equal(pixels, images[index])
        assert label == written_label
    assert vd.dataset_info("stl10").classes == tuple(dataset.classes) == tuple(STL10_CLASS_NAMES)
    transformed = vd.get_dataset(
        "stl10", root=tmp_path, split=split, transform=pil_to_tensor, target_transform=add_100
    )
    assert_transforms_applied(transformed, 1, torch.from_numpy(images[1]).permute(2, 0, 1), labels[1])


def test_stl10_folds_select_training_samples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    md5_checks_only_existence(monkeypatch, stl10)
    images = write_stl10(tmp_path)
    dataset = vd.get_dataset("stl10", root=tmp_path, split="train", folds=3)  # fold 3 lists samples 3 and 0
    assert len(dataset) == 2
    assert [dataset[i][1] for i in range(2)] == [STL10_TRAIN_LABELS[3] - 1, STL10_TRAIN_LABELS[0] - 1]
    np.testing.assert_array_equal(np.asarray(dataset[1][0]), images["train"][0])


# ---------------------------------------------------------------- USPS
USPS_LABELS = {"train": [1, 10, 6, 3], "test": [10, 2, 1]}  # in the file: digit + 1
USPS_FILES = {"train": "usps.bz2", "test": "usps.t.bz2"}


def write_usps(root: Path) -> dict[str, tuple[np.ndarray, list[int]]]:
    """``root/usps.bz2`` and ``root/usps.t.bz2``: bz2 libsvm lines ``label 1:v ... 256:v``, v in [-1, 1].

    Values are k/128 - 1 (exact in binary), which torchvision maps to floor(k * 255 / 256).
    """
    written = {}
    for seed, (split, labels) in enumerate(USPS_LABELS.items()):
        steps = np.random.default_rng(70 + seed).integers(0, 257, (len(labels), 256))
        steps[0, :2] = (0, 256)  # the extremes -1 and 1
        lines = [
            f"{label} " + " ".join(f"{i + 1}:{k / 128 - 1:.7f}" for i, k in enumerate(row)) + "\n"
            for label, row in zip(labels, steps)
        ]
        (root / USPS_FILES[split]).write_bytes(bz2.compress("".join(lines).encode()))
        written[split] = ((steps * 255 // 256).astype(np.uint8).reshape(-1, 16, 16), labels)
    return written


@pytest.mark.parametrize("split", vd.dataset_info("usps").splits)
def test_usps_libsvm_files(split: str, tmp_path: Path) -> None:
    images, stored = write_usps(tmp_path)[split]
    dataset = vd.get_dataset("usps", root=tmp_path, split=split)
    assert isinstance(dataset, torchvision.datasets.USPS)
    assert len(dataset) == len(stored)
    for index, stored_label in enumerate(stored):
        pixels, label = pil_sample(dataset[index], (16, 16), "L")
        np.testing.assert_array_equal(pixels, images[index])
        assert label == stored_label - 1
    assert images[0].flat[0] == 0 and images[0].flat[1] == 255
    assert len(vd.dataset_info("usps").classes) == 10
    transformed = vd.get_dataset(
        "usps", root=tmp_path, split=split, transform=pil_to_tensor, target_transform=add_100
    )
    assert_transforms_applied(transformed, 1, torch.from_numpy(images[1])[None], stored[1] - 1)


# ---------------------------------------------------------------- FakeData
def fake_pixels(dataset: Any) -> list[np.ndarray]:
    return [pil_sample(dataset[index], (224, 224), "RGB")[0] for index in range(len(dataset))]


def test_fake_data_splits_differ_and_repeat(tmp_path: Path) -> None:
    splits = vd.dataset_info("fake_data").splits
    assert set(splits) == {"train", "val", "test"}
    drawn = {}
    for split in splits:
        dataset = vd.get_dataset("fake_data", root=tmp_path, split=split, size=3)
        assert isinstance(dataset, torchvision.datasets.FakeData) and len(dataset) == 3
        labels = [dataset[index][1] for index in range(3)]
        assert all(type(label) is int and 0 <= label < 10 for label in labels)
        drawn[split] = fake_pixels(dataset)
        again = vd.get_dataset("fake_data", root=tmp_path, split=split, size=3)
        assert all(np.array_equal(a, b) for a, b in zip(drawn[split], fake_pixels(again)))
        assert [again[index][1] for index in range(3)] == labels
    for first, second in [("train", "val"), ("train", "test"), ("val", "test")]:
        for a in drawn[first]:
            assert not any(np.array_equal(a, b) for b in drawn[second]), (
                f"{first} and {second} share an image"
            )
    default = torchvision.datasets.FakeData(size=3)
    assert all(np.array_equal(a, b) for a, b in zip(drawn["train"], fake_pixels(default)))


@pytest.mark.parametrize("split", vd.dataset_info("fake_data").splits)
def test_fake_data_applies_transforms(split: str, tmp_path: Path) -> None:
    plain = vd.get_dataset("fake_data", root=tmp_path, split=split, size=2)
    transformed = vd.get_dataset(
        "fake_data", root=tmp_path, split=split, size=2, transform=pil_to_tensor, target_transform=add_100
    )
    image, label = plain[1]
    assert_transforms_applied(transformed, 1, pil_to_tensor(image), label)
    assert transformed[1][0].shape == (3, 224, 224)


# ---------------------------------------------------------------- Imagenette
IMAGENETTE_WNIDS = [
    "n01440764", "n02102040", "n02979186", "n03000684", "n03028079",
    "n03394916", "n03417042", "n03425413", "n03445777", "n03888257",
]  # fmt: skip
IMAGENETTE_FOLDERS = {"full": "imagenette2", "320px": "imagenette2-320", "160px": "imagenette2-160"}
IMAGENETTE_SIZES = {"full": (20, 14), "320px": (16, 12)}  # (width, height) written


def class_colour(label: int, split: str) -> tuple[int, int, int]:
    return (20 * label + 10, 200 - 15 * label, 60 if split == "train" else 180)


def write_imagenette(root: Path, size: str) -> dict[str, list[tuple[int, tuple[int, int, int]]]]:
    """``root/imagenette2[-320]/{train,val}/<wnid>/*.JPEG``, one solid colour per class.

    Returns per split the ``(label, colour)`` of each sample in torchvision's order
    (class folders sorted, then file names sorted). Class 3 has two training images.
    """
    written: dict[str, list[tuple[int, tuple[int, int, int]]]] = {}
    for split in ("train", "val"):
        written[split] = []
        for label, wnid in enumerate(IMAGENETTE_WNIDS):
            folder = root / IMAGENETTE_FOLDERS[size] / split / wnid
            folder.mkdir(parents=True)
            names = (
                [f"{wnid}_{1000 + label}.JPEG"] if split == "train" else [f"ILSVRC2012_val_{label:08d}.JPEG"]
            )
            if split == "train" and label == 3:
                names.append(f"{wnid}_9999.JPEG")
            for name in names:
                Image.new("RGB", IMAGENETTE_SIZES[size], class_colour(label, split)).save(
                    folder / name, "JPEG"
                )
                written[split].append((label, class_colour(label, split)))
    return written


@pytest.mark.parametrize("size", list(IMAGENETTE_SIZES))
@pytest.mark.parametrize("split", vd.dataset_info("imagenette").splits)
def test_imagenette_jpeg_tree(size: str, split: str, tmp_path: Path) -> None:
    samples = write_imagenette(tmp_path, size)[split]
    dataset = vd.get_dataset("imagenette", root=tmp_path, split=split, size=size)
    assert isinstance(dataset, torchvision.datasets.Imagenette)
    assert len(dataset) == len(samples) == (11 if split == "train" else 10)
    for index, (written_label, colour) in enumerate(samples):
        pixels, label = pil_sample(dataset[index], IMAGENETTE_SIZES[size], "RGB")
        assert label == written_label
        assert np.abs(pixels.astype(int) - np.array(colour)).max() <= 6  # JPEG of a solid colour
    info = vd.dataset_info("imagenette")
    assert len(info.classes) == len(dataset.classes) == 10
    assert info.classes == tuple(names[0] for names in dataset.classes)
    assert dataset.wnids == IMAGENETTE_WNIDS
    transformed = vd.get_dataset(
        "imagenette", root=tmp_path, split=split, size=size, transform=pil_to_tensor, target_transform=add_100
    )
    image, label = transformed[4]
    assert image.dtype == torch.uint8 and image.shape == (
        3,
        IMAGENETTE_SIZES[size][1],
        IMAGENETTE_SIZES[size][0],
    )
    assert label == samples[4][0] + 100


def test_imagenette_default_size_is_the_full_folder(tmp_path: Path) -> None:
    write_imagenette(tmp_path, "320px")
    with pytest.raises(DatasetNotFoundError, match=str(tmp_path)):
        vd.get_dataset("imagenette", root=tmp_path, split="val")  # full size expects imagenette2/
    samples = write_imagenette(tmp_path, "full")["train"]
    dataset = vd.get_dataset("imagenette", root=tmp_path)  # default split: train
    assert len(dataset) == len(samples) == 11
    assert pil_sample(dataset[0], IMAGENETTE_SIZES["full"], "RGB")[1] == 0


# ---------------------------------------------------------------- missing files name the folder
@pytest.mark.parametrize(
    ("name", "split", "module"),
    [("cifar10", "test", cifar), ("svhn", "extra", svhn), ("stl10", "unlabeled", stl10)],
)
def test_a_missing_file_is_reported_with_the_root(
    name: str, split: str, module: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    md5_checks_only_existence(monkeypatch, module)
    writers: dict[str, Callable[[Path], Any]] = {
        "cifar10": write_cifar10,
        "svhn": write_svhn,
        "stl10": write_stl10,
    }
    writers[name](tmp_path)
    missing = {
        "cifar10": tmp_path / "cifar-10-batches-py" / "data_batch_5",
        "svhn": tmp_path / "extra_32x32.mat",
        "stl10": tmp_path / "stl10_binary" / "unlabeled_X.bin",
    }[name]
    missing.unlink()
    with pytest.raises(DatasetNotFoundError, match=str(tmp_path)):
        vd.get_dataset(name, root=tmp_path, split=split)
