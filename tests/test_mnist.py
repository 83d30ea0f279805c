"""The in-memory MNIST: IDX parsing, errors, and equality with torchvision's pipeline."""

from __future__ import annotations

import gzip
import stat
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch
from fixture_files import make_mnist_tree, write_idx

import visiondata as vd
from visiondata.datasets import MNISTDataset, read_idx
from visiondata.exceptions import DatasetFormatError, DatasetNotFoundError, DownloadError


# ---------------------------------------------------------------- IDX files
def test_read_idx_round_trips_plain_and_gzip(tmp_path: Path) -> None:
    images = np.random.default_rng(1).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    plain = write_idx(tmp_path / "images-idx3-ubyte", images)
    packed = tmp_path / "images-idx3-ubyte.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    for path in (plain, packed):
        array = read_idx(path)
        assert array.dtype == np.uint8 and array.flags.writeable
        np.testing.assert_array_equal(array, images)


def test_read_idx_reads_big_endian_int32(tmp_path: Path) -> None:
    values = np.array([[1, -2, 70000]], dtype=">i4")
    path = tmp_path / "ints-idx2-int"
    path.write_bytes(bytes([0, 0, 0x0C, 2, 0, 0, 0, 1, 0, 0, 0, 3]) + values.tobytes())
    assert read_idx(path).tolist() == [[1, -2, 70000]]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "got an empty file"),
        (b"\x89PNG\r\n\x1a\n", r"expected an IDX file starting with bytes 00 00 .*got 89 50 4e 47"),
        (bytes([0, 0, 8, 3, 0, 0]), "expected a header of 16 bytes for 3 dimensions, got a 6-byte file"),
        (
            bytes([0, 0, 8, 1, 0, 0, 0, 5, 1, 2]),
            r"expected 13 bytes for an array of shape \(5,\).*got 10 bytes",
        ),
    ],
)
def test_read_idx_names_the_file_and_the_problem(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "broken-idx1-ubyte"
    path.write_bytes(content)
    with pytest.raises(DatasetFormatError, match=message) as caught:
        read_idx(path)
    assert str(path) in str(caught.value)
    assert isinstance(caught.value, ValueError)


# ---------------------------------------------------------------- dataset on small files
def test_small_tree_loads_in_torchvision_layout(tmp_path: Path) -> None:
    make_mnist_tree(tmp_path, train=40, test=12)
    train = vd.get_dataset("mnist", root=tmp_path, split="train")
    test = vd.get_dataset("mnist", root=tmp_path, split="test")
    assert isinstance(train, MNISTDataset)
    assert (len(train), len(test)) == (40, 12)
    image, label = test[5]
    assert image.shape == (1, 28, 28) and image.dtype == torch.float32
    assert isinstance(label, int) and label == 5
    expected = (test.data[5].float() / 255 - 0.1307) / 0.3081
    torch.testing.assert_close(image[0], expected)
    assert train.classes == vd.dataset_info("mnist").classes


def test_negative_and_out_of_range_indices(tmp_path: Path) -> None:
    dataset = MNISTDataset(make_mnist_tree(tmp_path, test=12), split="test")
    assert torch.equal(dataset[-1][0], dataset[11][0]) and dataset[-1][1] == dataset[11][1]
    assert torch.equal(dataset[-12][0], dataset[0][0])
    for index in (12, -13):
        with pytest.raises(IndexError, match=f"index {index} is out of range for 12 samples"):
            dataset[index]


def test_transforms_are_applied_to_tensor_and_label(tmp_path: Path) -> None:
    root = make_mnist_tree(tmp_path)
    dataset = MNISTDataset(root, split="test", transform=lambda x: x * 0, target_transform=lambda y: y + 100)
    image, label = dataset[3]
    assert float(image.abs().sum()) == 0 and label == 103
    images, labels = next(iter(dataset.batches(4)))
    assert float(images.abs().sum()) == 0 and labels.tolist() == [100, 101, 102, 103]
    assert [label for _, label in dataset.__getitems__([0, 9])] == [100, 109]


def test_normalize_false_keeps_values_in_unit_range(tmp_path: Path) -> None:
    dataset = MNISTDataset(make_mnist_tree(tmp_path), split="train", normalize=False)
    images, _ = next(iter(dataset.batches(64)))
    assert float(images.min()) >= 0 and float(images.max()) <= 1
    torch.testing.assert_close(images[:, 0], dataset.data.float() / 255)


def test_gzipped_files_are_read(tmp_path: Path) -> None:
    root = make_mnist_tree(tmp_path, test=12)
    raw = root / "MNIST" / "raw"
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (raw / f"{name}.gz").write_bytes(gzip.compress((raw / name).read_bytes()))
        (raw / name).unlink()
    assert len(MNISTDataset(root, split="test")) == 12


def test_missing_files_name_the_folder_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError) as caught:
        vd.get_dataset("mnist", root=tmp_path, split="test")
    message = str(caught.value)
    assert "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte" in message
    assert str(tmp_path / "MNIST" / "raw") in message
    assert "download=True" in message and "VISIONDATA_HOME" in message
    assert isinstance(caught.value, FileNotFoundError)
    assert not (tmp_path / "MNIST").exists(), "a failed lookup must not create folders"


def test_mismatched_files_are_refused(tmp_path: Path) -> None:
    root = make_mnist_tree(tmp_path, test=12)
    write_idx(root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte", np.zeros(11))
    with pytest.raises(DatasetFormatError, match=r"images \(12, 28, 28\) and labels \(11,\)"):
        MNISTDataset(root, split="test")


def test_download_without_network_names_urls_and_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_network(*args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    with pytest.raises(DownloadError) as caught:
        vd.get_dataset("mnist", root=tmp_path, split="train", download=True)
    message = str(caught.value)
    assert str(tmp_path / "MNIST" / "raw") in message
    assert "train-images-idx3-ubyte.gz" in message and "https://" in message
    assert isinstance(caught.value, OSError)


def test_download_is_skipped_when_files_exist_even_read_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_mnist_tree(tmp_path)
    raw = root / "MNIST" / "raw"
    raw.chmod(stat.S_IRUSR | stat.S_IXUSR)
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: pytest.fail("must not download"))
    try:
        assert len(MNISTDataset(root, split="train", download=True)) == 64
    finally:
        raw.chmod(stat.S_IRWXU)


def test_batches_cover_every_sample_once(tmp_path: Path) -> None:
    dataset = MNISTDataset(make_mnist_tree(tmp_path, train=50), split="train")
    batches = dataset.batches(16, shuffle=True, generator=torch.Generator().manual_seed(3))
    assert len(batches) == 4
    seen = torch.cat([labels for _, labels in batches])
    assert sorted(seen.tolist()) == sorted(dataset.targets.tolist())
    first, second = (torch.cat([images for images, _ in batches]) for _ in range(2))
    assert not torch.equal(first, second), "each iteration draws a new order"
    assert len(dataset.batches(16, drop_last=True)) == 3
    assert [len(labels) for _, labels in dataset.batches(16, drop_last=True)] == [16, 16, 16]
    subset = dataset.batches(4, indices=[7, 3, 1])
    assert [labels.tolist() for _, labels in subset] == [[7, 3, 1]]
    with pytest.raises(ValueError, match="batch_size: expected a positive integer, got 0"):
        dataset.batches(0)


# ---------------------------------------------------------------- the real MNIST
@pytest.fixture(scope="module")
def torchvision_mnist(mnist_root: Path):
    from torchvision import datasets, transforms

    pipeline = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    return {
        split: datasets.MNIST(str(mnist_root), train=split == "train", transform=pipeline, download=False)
        for split in ("train", "test")
    }


@pytest.mark.parametrize(("split", "size"), [("train", 60_000), ("test", 10_000)])
def test_real_mnist_is_identical_to_torchvision(
    mnist_root: Path, torchvision_mnist, split: str, size: int
) -> None:
    ours = vd.get_dataset("mnist", root=mnist_root, split=split)
    theirs = torchvision_mnist[split]
    assert len(ours) == len(theirs) == size
    assert torch.equal(ours.targets, theirs.targets)
    indices = [
        0,
        1,
        size - 1,
        *torch.randint(0, size, (300,), generator=torch.Generator().manual_seed(0)).tolist(),
    ]
    expected = [theirs[i] for i in indices]
    for index, (image, label) in zip(indices, expected):
        mine_image, mine_label = ours[index]
        assert mine_label == label
        assert torch.equal(mine_image, image), f"sample {index} differs from torchvision"
    batched = ours.__getitems__(indices)
    assert all(torch.equal(a[0], b[0]) and a[1] == b[1] for a, b in zip(batched, expected))
    images, labels = next(iter(ours.batches(len(indices), indices=indices)))
    assert torch.equal(images, torch.stack([image for image, _ in expected]))
    assert labels.tolist() == [label for _, label in expected]


def test_dataloader_uses_the_batched_fetch(mnist_root: Path, torchvision_mnist) -> None:
    ours = MNISTDataset(mnist_root, split="test")
    loader = torch.utils.data.DataLoader(ours, batch_size=128)
    theirs = torch.utils.data.DataLoader(torchvision_mnist["test"], batch_size=128)
    for (a_images, a_labels), (b_images, b_labels), _ in zip(loader, theirs, range(3)):
        assert torch.equal(a_images, b_images) and torch.equal(a_labels, b_labels)


def test_dataloader_epoch_is_identical_to_torchvision(mnist_root: Path, torchvision_mnist) -> None:
    # A whole shuffled epoch, last partial batch included, through the default collate_fn.
    ours = MNISTDataset(mnist_root, split="test")
    loaders = [
        torch.utils.data.DataLoader(
            dataset, batch_size=300, shuffle=True, generator=torch.Generator().manual_seed(5)
        )
        for dataset in (ours, torchvision_mnist["test"])
    ]
    count = 0
    for (images, labels), (their_images, their_labels) in zip(*loaders, strict=True):
        assert images.dtype == torch.float32 and labels.dtype == torch.int64
        assert images.shape == (len(labels), 1, 28, 28) and labels.shape == (len(labels),)
        assert torch.equal(images, their_images) and torch.equal(labels, their_labels)
        count += len(labels)
    assert count == 10_000


# ---------------------------------------------------------------- the batched fetch and collate functions
def per_sample_batch(dataset: MNISTDataset, indices: list[int]) -> list[torch.Tensor]:
    """What the DataLoader gave before the batched fetch: default_collate of [dataset[i] ...]."""
    return torch.utils.data.default_collate([dataset[index] for index in indices])


def assert_same_batch(batch: list[torch.Tensor], expected: list[torch.Tensor]) -> None:
    assert isinstance(batch, list) and len(batch) == 2
    for tensor, wanted in zip(batch, expected, strict=True):
        assert tensor.dtype == wanted.dtype and tensor.shape == wanted.shape
        assert torch.equal(tensor, wanted)


def test_default_collate_of_the_batched_fetch_equals_the_per_sample_path(tmp_path: Path) -> None:
    dataset = MNISTDataset(make_mnist_tree(tmp_path, train=50), split="train")
    indices = [7, 3, 49, 0, 3, -1, -50]
    items = dataset.__getitems__(indices)
    assert isinstance(items, list) and len(items) == len(indices)
    for item, index in zip(items, indices):
        image, label = item
        assert isinstance(item, tuple) and type(label) is int
        assert torch.equal(image, dataset[index][0]) and label == dataset[index][1]
    assert type(dataset[0]) is tuple
    assert_same_batch(torch.utils.data.default_collate(items), per_sample_batch(dataset, indices))

    # Every DataLoader batch, shuffled, with a partial last batch, as the per-sample path gives it.
    def loader(over):
        return torch.utils.data.DataLoader(
            over, batch_size=16, shuffle=True, generator=torch.Generator().manual_seed(1)
        )

    orders = [indices.tolist() for indices in loader(list(range(50)))]  # the same sampler's order
    batches = list(loader(dataset))
    assert [len(labels) for _, labels in batches] == [16, 16, 16, 2]
    assert sorted(index for order in orders for index in order) == list(range(50))
    for batch, order in zip(batches, orders, strict=True):
        assert_same_batch(batch, per_sample_batch(dataset, order))
    with pytest.raises(IndexError, match="index 50 is out of range for 50 samples"):
        dataset.__getitems__([1, 50])


def test_an_edited_batch_is_collated_from_its_samples(tmp_path: Path) -> None:
    dataset = MNISTDataset(make_mnist_tree(tmp_path, train=20), split="train")
    indices = [4, 9, 2, 11, 5]
    collate = torch.utils.data.default_collate

    items = dataset.__getitems__(indices)
    items.reverse()
    assert_same_batch(collate(items), per_sample_batch(dataset, indices[::-1]))
    items = dataset.__getitems__(indices)
    del items[2]
    assert_same_batch(collate(items), per_sample_batch(dataset, [4, 9, 11, 5]))
    items = dataset.__getitems__(indices)
    items[1] = dataset[0]
    assert_same_batch(collate(items), per_sample_batch(dataset, [4, 0, 2, 11, 5]))
    items = dataset.__getitems__(indices)
    items.append(dataset[1])
    assert_same_batch(collate(items), per_sample_batch(dataset, [*indices, 1]))
    items = dataset.__getitems__(indices)
    assert_same_batch(collate(items[1:4]), per_sample_batch(dataset, indices[1:4]))
    assert_same_batch(collate([s for s in items if s[1] != 2]), per_sample_batch(dataset, [4, 9, 11, 5]))
    # In-place changes to a sample's image show in the batch, as they would in a stacked copy.
    items = dataset.__getitems__(indices)
    items[0][0].fill_(7)
    images, _ = collate(items)
    assert bool((images[0] == 7).all()) and torch.equal(images[1:], per_sample_batch(dataset, indices)[0][1:])


def test_a_custom_collate_fn_receives_the_samples(tmp_path: Path) -> None:
    dataset = MNISTDataset(make_mnist_tree(tmp_path, train=20), split="train")
    received = []

    def collate(batch):
        received.append(batch)
        images, labels = zip(*batch)
        return torch.stack(images), list(labels)

    loader = torch.utils.data.DataLoader(dataset, batch_size=8, collate_fn=collate)
    out = list(loader)
    assert [labels for _, labels in out] == [
        dataset.targets[start : start + 8].tolist() for start in (0, 8, 16)
    ]
    for number, batch in enumerate(received):
        assert isinstance(batch, list)
        expected = [dataset[index] for index in range(number * 8, min(number * 8 + 8, 20))]
        assert len(batch) == len(expected)
        for (image, label), (wanted_image, wanted_label) in zip(batch, expected):
            assert torch.equal(image, wanted_image) and image.shape == (1, 28, 28) and label == wanted_label
    assert torch.equal(out[0][0], per_sample_batch(dataset, list(range(8)))[0])


def test_the_batched_fetch_pickles_as_plain_samples(tmp_path: Path) -> None:
    import copy
    import pickle

    dataset = MNISTDataset(make_mnist_tree(tmp_path, train=20), split="train")
    items = dataset.__getitems__([3, 1, 4])
    for copied in (pickle.loads(pickle.dumps(items)), copy.deepcopy(items), copy.copy(items)):
        assert type(copied) is list and all(type(sample) is tuple for sample in copied)
        assert_same_batch(torch.utils.data.default_collate(copied), per_sample_batch(dataset, [3, 1, 4]))
    again = pickle.loads(pickle.dumps(dataset))
    assert_same_batch(
        torch.utils.data.default_collate(again.__getitems__([3, 1, 4])), per_sample_batch(dataset, [3, 1, 4])
    )


def test_transforms_use_the_per_sample_path(tmp_path: Path) -> None:
    dataset = MNISTDataset(make_mnist_tree(tmp_path, train=20), split="train", target_transform=float)
    items = dataset.__getitems__([2, 5])
    assert type(items) is list and all(type(sample) is tuple for sample in items)
    images, labels = next(iter(torch.utils.data.DataLoader(dataset, batch_size=4)))
    assert labels.dtype == torch.float64 and labels.tolist() == [0.0, 1.0, 2.0, 3.0]
    plain = MNISTDataset(dataset.root, split="train")
    assert torch.equal(images, per_sample_batch(plain, [0, 1, 2, 3])[0])


def test_subset_and_workers_give_the_same_batches(tmp_path: Path) -> None:
    dataset = MNISTDataset(make_mnist_tree(tmp_path, train=40), split="train")
    expected = [
        per_sample_batch(dataset, list(range(start, min(start + 8, 40)))) for start in range(0, 40, 8)
    ]
    for loader in (
        torch.utils.data.DataLoader(dataset, batch_size=8, num_workers=2),
        torch.utils.data.DataLoader(dataset, batch_size=8, num_workers=1, multiprocessing_context="spawn"),
    ):
        batches = list(loader)
        assert len(batches) == len(expected)
        for batch, wanted in zip(batches, expected):
            assert_same_batch(batch, wanted)
    subset = torch.utils.data.Subset(dataset, [5, 1, 30])
    assert_same_batch(
        next(iter(torch.utils.data.DataLoader(subset, batch_size=3))), per_sample_batch(dataset, [5, 1, 30])
    )
