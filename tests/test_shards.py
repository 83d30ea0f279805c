"""``visiondata.shards``: datasets of every task written to WebDataset tar shards and streamed back.

Shards are written from real on-disk datasets built here (an image folder of JPEGs, CSV files,
a COCO fixture, the real MNIST) and read back with ``ShardDataset``, with ``tarfile`` and with the
``webdataset`` package itself; splitting is checked over simulated ranks and DataLoader workers and
over two real gloo processes.
"""

from __future__ import annotations

import datetime
import importlib.util
import io
import json
import os
import tarfile
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.distributed as dist
from PIL import Image
from test_detection_readers import write_coco
from test_loaders import run_ranks
from torch.utils.data import DataLoader, Dataset, Subset
from torchvision import tv_tensors

import visiondata as vd
from visiondata.cli import main
from visiondata.collate import detection_collate
from visiondata.datasets import CocoDetectionDataset, CSVDataset, ImageFolderDataset, MNISTDataset
from visiondata.exceptions import DatasetFormatError, DatasetNotFoundError, ImageReadError
from visiondata.loaders import build_loader
from visiondata.shards import ShardDataset, write_shards

pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy:DeprecationWarning"
)


def natural_jpeg(path: Path, seed: int, size: tuple[int, int] = (20, 14)) -> Path:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0 : size[1], 0 : size[0]]
    pixels = np.stack([x * 9 + seed * 7, y * 11, (x + y) * 5], axis=-1) + rng.normal(
        0, 6, (size[1], size[0], 3)
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(path, quality=90)
    return path


def folder(root: Path, count: int = 9, classes: int = 3) -> Path:
    for index in range(count):
        natural_jpeg(root / f"class{index % classes}" / f"{index:03d}.jpg", seed=index)
    return root


def tar_members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as archive:
        return {info.name: archive.extractfile(info).read() for info in archive if info.isfile()}


def relist(shard: Path) -> None:
    """Record a shard rewritten on purpose in its manifest (its size and SHA-256), as a re-export would."""
    import hashlib

    manifest = shard.parent / "train.shards.json"
    content = json.loads(manifest.read_text())
    for entry in content["shards"]:
        if entry["name"] == shard.name:
            entry["bytes"] = shard.stat().st_size
            entry["sha256"] = hashlib.sha256(shard.read_bytes()).hexdigest()
    manifest.write_text(json.dumps(content))


def plain(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.as_subclass(torch.Tensor)


def assert_same_target(actual: Any, expected: Any) -> None:
    if isinstance(expected, dict):
        assert set(actual) == set(expected)
        for key in expected:
            assert_same_target(actual[key], expected[key])
    elif isinstance(expected, torch.Tensor):
        assert type(actual) is type(expected) and actual.dtype == expected.dtype
        assert torch.equal(plain(actual), plain(expected))
        if isinstance(expected, tv_tensors.BoundingBoxes):
            assert actual.format == expected.format and tuple(actual.canvas_size) == tuple(
                expected.canvas_size
            )
    else:
        assert actual == expected and type(actual) is type(expected)


# ---------------------------------------------------------------- round trips, one per task
def test_a_folder_round_trips_with_byte_identical_jpegs_equal_labels_and_order(tmp_path: Path) -> None:
    source = ImageFolderDataset(folder(tmp_path / "photos"))
    report = write_shards(source, tmp_path / "out" / "train-%06d.tar", max_count=4)
    assert report.count == 9 and report.copied == 9 and report.encoded == 0
    assert [Path(path).name for path in report.shards] == [
        "train-000000.tar",
        "train-000001.tar",
        "train-000002.tar",
    ]
    members = {}
    for shard in report.shards:
        members.update(tar_members(Path(shard)))
    for index in range(len(source)):
        assert members[f"{index:09d}.jpg"] == Path(source.path(index)).read_bytes()
        assert members[f"{index:09d}.cls"] == str(source.targets[index]).encode()
    shards = ShardDataset(tmp_path / "out", split="train", shuffle_buffer=0)
    assert len(shards) == 9 and shards.classes == source.classes and shards.task == "classification"
    for (image, label), (expected_image, expected_label) in zip(shards, source, strict=True):
        assert type(image) is torch.Tensor and torch.equal(image, expected_image)
        assert label == expected_label and isinstance(label, int)
    manifest = json.loads(Path(report.manifest).read_text())
    assert Path(report.manifest).name == "train.shards.json"
    assert [shard["count"] for shard in manifest["shards"]] == [4, 4, 1] and manifest["count"] == 9
    assert manifest["schema_version"] == 1 and manifest["source"]["type"].endswith("ImageFolderDataset")


def test_the_webdataset_package_and_tar_read_the_shards_as_they_are(tmp_path: Path) -> None:
    import webdataset

    source = ImageFolderDataset(folder(tmp_path / "photos", count=4))
    write_shards(source, tmp_path / "out" / "train-%06d.tar", max_count=2)
    pattern = str(tmp_path / "out" / "train-{000000..000001}.tar")
    samples = list(webdataset.WebDataset(pattern, shardshuffle=False, empty_check=False))
    assert [sample["__key__"] for sample in samples] == [f"{index:09d}" for index in range(4)]
    assert [int(sample["cls"]) for sample in samples] == source.targets.tolist()
    assert samples[0]["jpg"] == Path(source.path(0)).read_bytes()
    assert len(ShardDataset(pattern, shuffle_buffer=0)) == 4  # a brace pattern finds its manifest too


def test_csv_multilabel_and_regression_targets_round_trip_exactly(tmp_path: Path) -> None:
    for index in range(4):
        natural_jpeg(tmp_path / "images" / f"{index}.jpg", seed=index)
    (tmp_path / "tags.csv").write_text(
        "image,tags\n" + "".join(f"images/{i}.jpg,{'cat|dog' if i % 2 else 'bird'}\n" for i in range(4))
    )
    (tmp_path / "ages.csv").write_text(
        "image,age,weight\n" + "".join(f"images/{i}.jpg,{i + 0.1},{i * 3.3}\n" for i in range(4))
    )
    tags = CSVDataset(tmp_path / "tags.csv", tmp_path, task="multilabel", label_col="tags", label_sep="|")
    ages = CSVDataset(tmp_path / "ages.csv", tmp_path, task="regression", label_cols=["age", "weight"])
    for name, source in (("tags", tags), ("ages", ages)):
        write_shards(source, tmp_path / name / "train-%06d.tar")
        shards = ShardDataset(tmp_path / name, shuffle_buffer=0)
        assert shards.task == source.task and shards.classes == source.classes
        for (image, target), (expected_image, expected_target) in zip(shards, source, strict=True):
            assert torch.equal(image, expected_image)
            assert_same_target(target, expected_target)


def test_coco_detection_round_trips_boxes_labels_and_per_box_fields(tmp_path: Path) -> None:
    images, annotations = write_coco(tmp_path / "coco")
    source = CocoDetectionDataset(images, annotations)
    report = write_shards(source, tmp_path / "out" / "val-%06d.tar")
    assert report.copied == len(source)
    shards = ShardDataset(tmp_path / "out", split="val", shuffle_buffer=0)
    assert shards.task == "detection" and shards.classes == source.classes
    for (image, target), (expected_image, expected_target) in zip(shards, source, strict=True):
        assert isinstance(image, tv_tensors.Image) and torch.equal(image, expected_image)
        assert_same_target(target, expected_target)
    empty = [target for _, target in shards if len(target["boxes"]) == 0]
    assert len(empty) == 1 and empty[0]["boxes"].shape == (0, 4)


def test_mnist_round_trips_its_digits_as_uint8_png(mnist_root: Path, tmp_path: Path) -> None:
    source = MNISTDataset(mnist_root, split="test")
    picked = Subset(source, range(100, 160))
    report = write_shards(picked, tmp_path / "out" / "test-%06d.tar")
    assert report.encoded == 60
    shards = ShardDataset(tmp_path / "out", split="test", shuffle_buffer=0)
    assert shards.classes == list(source.classes)
    digits = list(shards)
    assert all(image.shape == (1, 28, 28) and image.dtype == torch.uint8 for image, _ in digits)
    assert torch.equal(torch.stack([image[0] for image, _ in digits]), source.data[100:160])
    assert [label for _, label in digits] == source.targets[100:160].tolist()


class Scenes(Dataset):
    """Segmentation samples in visiondata's schema: ``tv_tensors.Image`` and a ``(H, W)`` ``tv_tensors.Mask``."""

    schema = "segmentation"
    classes = ("background", "road", "car")

    def __len__(self) -> int:
        return 3

    def __getitem__(self, index: int) -> tuple[tv_tensors.Image, tv_tensors.Mask]:
        generator = torch.Generator().manual_seed(index)
        image = torch.randint(0, 256, (3, 12, 10), dtype=torch.uint8, generator=generator)
        mask = torch.randint(0, 3, (12, 10), dtype=torch.uint8, generator=generator)
        return tv_tensors.Image(image), tv_tensors.Mask(mask)


def test_segmentation_masks_round_trip_as_png_members(tmp_path: Path) -> None:
    report = write_shards(Scenes(), tmp_path / "out" / "train-%06d.tar", encode="png")
    members = tar_members(Path(report.shards[0]))
    assert "000000000.mask.png" in members and "000000000.png" in members
    shards = ShardDataset(tmp_path / "out", shuffle_buffer=0)
    assert shards.task == "segmentation"
    expected = [Scenes()[index] for index in range(len(Scenes()))]
    for (image, mask), (expected_image, expected_mask) in zip(shards, expected, strict=True):
        assert isinstance(image, tv_tensors.Image) and torch.equal(image, expected_image)
        assert_same_target(mask, expected_mask)


def test_jpeg_encoding_and_pil_decoding(tmp_path: Path) -> None:
    source = ImageFolderDataset(folder(tmp_path / "photos", count=3))
    report = write_shards(source, tmp_path / "out" / "train-%06d.tar", encode="jpeg", quality=70)
    assert report.encoded == 3 and report.copied == 0
    (image, label), *_ = ShardDataset(tmp_path / "out", decode="pil", shuffle_buffer=0)
    assert isinstance(image, Image.Image) and image.size == (20, 14) and label == 0


def test_images_that_cannot_be_stored_are_refused_with_the_fix(tmp_path: Path) -> None:
    class Normalised(Dataset):
        def __len__(self) -> int:
            return 1

        def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
            return torch.zeros(3, 4, 4), 0

    with pytest.raises(
        TypeError,
        match=r"sample 0: expected uint8 images to store, got a torch.float32 tensor; export the dataset without",
    ):
        write_shards(Normalised(), tmp_path / "out" / "train-%06d.tar")
    for pattern in ("out/train.tar", "out/train-%s-%d.tar"):
        with pytest.raises((ValueError, TypeError)):
            write_shards(Normalised(), tmp_path / pattern)


def test_unreadable_files_follow_the_dataset_policy_and_are_listed(tmp_path: Path) -> None:
    root = folder(tmp_path / "photos", count=4)
    (root / "class1" / "001.jpg").write_bytes(b"not a jpeg at all")
    with pytest.raises(ImageReadError, match=r"class1/001\.jpg: cannot read image"):
        write_shards(ImageFolderDataset(root), tmp_path / "raise" / "train-%06d.tar")
    source = ImageFolderDataset(root, on_error="skip")
    bad = list(source.files).index(os.path.join("001.jpg"))
    report = write_shards(source, tmp_path / "skip" / "train-%06d.tar")
    assert bad == 2 and report.count == 3 and [item["index"] for item in report.skipped] == [bad]
    manifest = json.loads(Path(report.manifest).read_text())
    assert manifest["skipped"][0]["index"] == bad and "001.jpg" in manifest["skipped"][0]["reason"]
    keys = [name.split(".")[0] for name in tar_members(Path(report.shards[0]))]
    assert sorted(set(keys)) == ["000000000", "000000001", "000000003"]  # no neighbour written twice


def test_max_size_starts_a_new_shard_and_old_shards_beyond_the_set_are_removed_on_overwrite(
    tmp_path: Path,
) -> None:
    source = ImageFolderDataset(folder(tmp_path / "photos", count=6))
    report = write_shards(source, tmp_path / "out" / "train-%06d.tar", max_size=3000)
    # max_size bounds the members and their headers; tar pads its end to 10 KiB on top.
    stored = [
        sum(512 + -(-len(data) // 512) * 512 for data in tar_members(Path(path)).values())
        for path in report.shards
    ]
    assert len(report.shards) >= 3 and all(size <= 3000 for size in stored)
    # Replacing the set with one of fewer shards removes the old ones the new set does not reuse.
    again = write_shards(source, tmp_path / "out" / "train-%06d.tar", overwrite=True)
    assert sorted(Path(path).name for path in again.replaced) == [
        Path(path).name for path in report.shards[1:]
    ]
    assert sorted(path.name for path in (tmp_path / "out").glob("*.tar")) == ["train-000000.tar"]
    assert len(ShardDataset(tmp_path / "out", shuffle_buffer=0)) == 6


def test_writing_with_workers_gives_the_same_shards(tmp_path: Path) -> None:
    source = ImageFolderDataset(folder(tmp_path / "photos", count=6))
    one = write_shards(source, tmp_path / "a" / "train-%06d.tar", max_count=4)
    two = write_shards(source, tmp_path / "b" / "train-%06d.tar", max_count=4, num_workers=2)
    assert [Path(path).read_bytes() for path in one.shards] == [
        Path(path).read_bytes() for path in two.shards
    ]


# ---------------------------------------------------------------- damaged shards
def test_a_corrupt_member_names_its_shard_and_key_and_is_skipped_only_when_asked(tmp_path: Path) -> None:
    source = ImageFolderDataset(folder(tmp_path / "photos", count=3))
    report = write_shards(source, tmp_path / "out" / "train-%06d.tar")
    members = tar_members(Path(report.shards[0]))
    members["000000001.jpg"] = b"\xff\xd8\xff" + b"\x00" * 40
    with tarfile.open(report.shards[0], "w") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    with pytest.raises(ImageReadError, match=r"train-000000\.tar: key 000000001 \(jpg\): cannot read image"):
        list(ShardDataset(tmp_path / "out", shuffle_buffer=0))
    skipping = ShardDataset(tmp_path / "out", shuffle_buffer=0, on_error="skip")
    assert [label for _, label in skipping] == [0, 2]
    assert list(skipping.errors) == [f"{report.shards[0]}: key 000000001"]


def test_a_truncated_shard_names_the_shard_and_the_member_it_breaks_in(tmp_path: Path) -> None:
    source = ImageFolderDataset(folder(tmp_path / "photos", count=4))
    report = write_shards(source, tmp_path / "out" / "train-%06d.tar", max_count=2)
    first = Path(report.shards[0])
    with tarfile.open(first) as archive:
        cut = archive.getmember("000000001.jpg").offset_data + 10
    first.write_bytes(first.read_bytes()[:cut])  # inside the second sample's image
    # A local shard: its size differs from the manifest's, named before a byte is read.
    with pytest.raises(
        DatasetFormatError, match=r"train-000000\.tar: expected the shard .* lists \(.* bytes\), got"
    ):
        ShardDataset(tmp_path / "out", shuffle_buffer=0)
    # Through a pipe nothing can be stat-ed: the tar walk names the member it breaks off in.
    piped = [f"pipe:cat {path}" for path in report.shards]
    with pytest.raises(
        DatasetFormatError,
        match=r"train-000000\.tar: damaged shard: it breaks off inside member 000000001\.jpg",
    ):
        list(ShardDataset(piped, manifest=report.manifest, shuffle_buffer=0))
    with pytest.warns(vd.exceptions.SkippedSampleWarning, match="damaged shard"):
        labels = [
            label
            for _, label in ShardDataset(piped, manifest=report.manifest, shuffle_buffer=0, on_error="warn")
        ]
    assert labels == [0, 1, 2]  # the complete first sample, then the second shard


def test_missing_or_foreign_manifests_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match=r"expected train\.shards\.json; shard sets here: none"):
        ShardDataset(tmp_path, split="train")
    source = ImageFolderDataset(folder(tmp_path / "photos", count=2))
    write_shards(source, tmp_path / "out" / "train-%06d.tar")
    write_shards(source, tmp_path / "out" / "val-%06d.tar")
    with pytest.raises(DatasetNotFoundError, match=r"split= \(one of train, val\)"):
        ShardDataset(tmp_path / "out")
    with pytest.raises(DatasetNotFoundError, match="need manifest="):
        ShardDataset(f"pipe:cat {tmp_path / 'out' / 'train-000000.tar'}")
    with pytest.raises(
        DatasetFormatError, match=r"does not list 1 of the shards given, first .*val-000000\.tar"
    ):
        ShardDataset(
            [str(tmp_path / "out" / "val-000000.tar")], manifest=tmp_path / "out" / "train.shards.json"
        )
    (tmp_path / "out" / "bad.shards.json").write_text('{"format": "something else"}')
    with pytest.raises(DatasetFormatError, match="expected a visiondata shard manifest"):
        ShardDataset(tmp_path / "out", split="bad")


def test_a_pipe_url_with_its_manifest_streams_like_a_file(tmp_path: Path) -> None:
    source = ImageFolderDataset(folder(tmp_path / "photos", count=3))
    report = write_shards(source, tmp_path / "out" / "train-%06d.tar")
    shards = ShardDataset(
        f"pipe:cat {report.shards[0]}", manifest=f"pipe:cat {report.manifest}", shuffle_buffer=0
    )
    assert len(shards) == 3 and [label for _, label in shards] == source.targets.tolist()


# ---------------------------------------------------------------- splitting and shuffling
def _keys_seen(
    dataset: ShardDataset, ranks: int, workers: int, monkeypatch: pytest.MonkeyPatch
) -> list[list[int]]:
    """Labels-as-keys read by each rank (through a DataLoader with ``workers`` workers) for one epoch."""
    seen = []
    for rank in range(ranks):
        monkeypatch.setenv("RANK", str(rank))
        monkeypatch.setenv("WORLD_SIZE", str(ranks))
        loader = DataLoader(dataset, batch_size=None, num_workers=workers)
        seen.append([int(label) for _, label in loader])
    return seen


class Numbered(Dataset):
    """Tiny images whose label is the sample's own index, to follow each sample through the shards."""

    def __init__(self, count: int) -> None:
        self.count = count

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return torch.full((1, 2, 2), index % 256, dtype=torch.uint8), index


@pytest.mark.parametrize(("shards", "ranks", "workers"), [(8, 2, 2), (5, 2, 2), (3, 2, 2), (6, 3, 1)])
def test_every_sample_is_read_exactly_once_per_epoch_over_ranks_and_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shards: int, ranks: int, workers: int
) -> None:
    write_shards(Numbered(shards * 5), tmp_path / "out" / "train-%06d.tar", max_count=5)
    dataset = ShardDataset(tmp_path / "out", shuffle_buffer=4, seed=3)
    seen = _keys_seen(dataset, ranks, workers, monkeypatch)
    everything = [key for keys in seen for key in keys]
    assert sorted(everything) == list(range(shards * 5))
    for rank in range(ranks):
        monkeypatch.setenv("RANK", str(rank))
        assert len(dataset) == len(seen[rank])


@pytest.mark.parametrize(("shards", "warned"), [(5, True), (4, False)])
def test_shards_that_do_not_divide_among_the_ranks_are_warned_about(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shards: int, warned: bool
) -> None:
    write_shards(Numbered(shards * 2), tmp_path / "out" / "train-%06d.tar", max_count=2)
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        labels = [label for _, label in ShardDataset(tmp_path / "out", shuffle_buffer=0)]
    assert labels == [key for shard in range(1, shards, 2) for key in (2 * shard, 2 * shard + 1)]
    messages = [str(warning.message) for warning in caught]
    assert any(f"{shards} shards over 2 ranks" in message for message in messages) == warned


def test_epochs_reshuffle_reproducibly_and_shuffle_buffer_0_keeps_the_order(tmp_path: Path) -> None:
    write_shards(Numbered(60), tmp_path / "out" / "train-%06d.tar", max_count=10)
    dataset = ShardDataset(tmp_path / "out", shuffle_buffer=16, seed=7)
    first, second = [label for _, label in dataset], [label for _, label in dataset]  # epochs 0 and 1
    assert sorted(first) == sorted(second) == list(range(60)) and first != second
    again = ShardDataset(tmp_path / "out", shuffle_buffer=16, seed=7)
    assert [label for _, label in again] == first
    again.set_epoch(1)
    assert [label for _, label in again] == second
    other_seed = ShardDataset(tmp_path / "out", shuffle_buffer=16, seed=8)
    assert [label for _, label in other_seed] != first
    ordered = ShardDataset(tmp_path / "out", shuffle_buffer=0)
    assert [label for _, label in ordered] == list(range(60)) == [label for _, label in ordered]


def test_resampled_epochs_have_the_same_length_on_every_rank(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_shards(Numbered(25), tmp_path / "out" / "train-%06d.tar", max_count=10)  # shards of 10, 10, 5
    dataset = ShardDataset(tmp_path / "out", resampled=True, shuffle_buffer=0)
    seen = _keys_seen(dataset, ranks=2, workers=2, monkeypatch=monkeypatch)
    assert [len(keys) for keys in seen] == [12, 12] == [len(dataset)] * 2
    assert all(0 <= key < 25 for keys in seen for key in keys)


# ---------------------------------------------------------------- loaders, the catalog, the command line
def test_build_loader_streams_shards_with_the_collate_of_their_task(tmp_path: Path) -> None:
    images, annotations = write_coco(tmp_path / "coco")
    write_shards(CocoDetectionDataset(images, annotations), tmp_path / "out" / "train-%06d.tar")
    dataset = ShardDataset(tmp_path / "out", shuffle_buffer=2)
    loader = build_loader(dataset, batch_size=2)
    assert loader.collate_fn is detection_collate
    # The shards order themselves (shuffle_buffer, set_epoch): no sampler of indices is put in front.
    assert not isinstance(
        loader.sampler, (torch.utils.data.RandomSampler, torch.utils.data.DistributedSampler)
    )
    epochs = [[target["image_id"] for batch in loader for target in batch[1]] for _ in range(3)]
    assert all(len(epoch) == len(set(epoch)) == len(dataset) for epoch in epochs)  # each sample once
    assert all(sorted(epoch) == sorted(epochs[0]) for epoch in epochs) and dataset.epoch == 3
    assert len({tuple(epoch) for epoch in epochs}) > 1  # set_epoch was called: the orders differ
    with pytest.raises(ValueError, match="pass None for both"):
        build_loader(dataset, batch_size=2, shuffle=True)


def test_get_dataset_shards_reads_a_folder_by_split(tmp_path: Path) -> None:
    source = ImageFolderDataset(folder(tmp_path / "photos", count=3))
    write_shards(source, tmp_path / "out" / "val-%06d.tar")
    dataset = vd.get_dataset("shards", urls=str(tmp_path / "out"), split="val", shuffle_buffer=0)
    assert isinstance(dataset, ShardDataset) and [label for _, label in dataset] == source.targets.tolist()
    write_shards(source, tmp_path / "home" / "shards" / "test-%06d.tar")
    assert len(vd.get_dataset("shards", root=tmp_path / "home", split="test")) == 3


def test_export_command_writes_a_folder_and_a_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = folder(tmp_path / "photos", count=5)
    assert main(["export", str(root), str(tmp_path / "out"), "--split", "train", "--max-count", "2"]) == 0
    out = capsys.readouterr().out
    assert "5 samples in 3 shards" in out and "5 images copied as they were" in out
    assert len(ShardDataset(tmp_path / "out", split="train")) == 5
    (tmp_path / "labels.csv").write_text(
        "image,label\n" + "".join(f"photos/class0/{i:03d}.jpg,cat\n" for i in (0, 3))
    )
    assert (
        main(["export", str(tmp_path / "labels.csv"), str(tmp_path / "csv"), "--split", "val", "--json"]) == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["count"] == 2 and summary["manifest"].endswith("val.shards.json")
    with pytest.raises(SystemExit) as exited:
        main(["export", str(root), str(tmp_path / "x"), "--max-count", "0"])
    assert exited.value.code == 2


def test_export_command_reads_coco_and_catalog_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    images, annotations = write_coco(tmp_path / "coco")
    assert (
        main(["export", str(annotations), str(tmp_path / "out"), "--split", "val", "--images", str(images)])
        == 0
    )
    assert "4 samples in 1 shards" in capsys.readouterr().out
    assert ShardDataset(tmp_path / "out", split="val").task == "detection"
    assert (
        main(["export", "fake_data", str(tmp_path / "fake"), "--split", "train", "--max-count", "400"]) == 0
    )
    shards = ShardDataset(tmp_path / "fake", split="train", shuffle_buffer=0)
    assert len(shards) == 1000 and len(shards.urls) == 3
    assert Counter(type(label).__name__ for _, label in list(shards)[:10]) == Counter({"int": 10})


# ---------------------------------------------------------------- two real ranks with gloo
def shard_rank(rank: int, world_size: int, port: int, sources: dict[str, str], out_dir: str) -> None:
    """One rank: the labels it reads from each source in two epochs through build_loader with two workers
    (from the folder twice over)."""
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world_size, timeout=datetime.timedelta(seconds=60))
    try:
        for name, source in sources.items():
            runs = []
            for _ in range(2 if name == "folder" else 1):  # the folder's twice: a rerun with the same seed
                dataset = ShardDataset(source, split="train", shuffle_buffer=8, seed=5)
                loader = build_loader(dataset, batch_size=3, num_workers=2)
                runs.append([[int(label) for _, labels in loader for label in labels] for _ in range(2)])
            torch.save({"runs": runs, "length": len(dataset)}, Path(out_dir) / f"{name}-rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_two_gloo_ranks_with_two_workers_read_every_sample_once_per_epoch(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    write_shards(
        Numbered(64), tmp_path / "out" / "train-%06d.tar", max_count=8
    )  # 8 shards: 2 ranks x 2 workers x 2
    sources = {"folder": str(tmp_path / "out")}
    if importlib.util.find_spec("moto") and importlib.util.find_spec("s3fs"):
        # The same set in a bucket of the local S3 server, read by the same ranks (one process group for
        # both: each start of two ranks takes seconds). The ranks inherit the AWS_* variables.
        from visiondata.shards import _remote

        bucket = request.getfixturevalue("s3_bucket")
        for path in sorted((tmp_path / "out").iterdir()):
            _remote.upload(str(path), f"{bucket}/p/{path.name}")
        sources["bucket"] = f"{bucket}/p"
    world_size = 2
    run_ranks(shard_rank, world_size, sources, str(tmp_path))
    for name in sources:
        results = [
            torch.load(tmp_path / f"{name}-rank{rank}.pt", weights_only=True) for rank in range(world_size)
        ]
        first_run = [result["runs"][0] for result in results]
        for epoch in (0, 1):
            per_rank = [first_run[rank][epoch] for rank in range(world_size)]
            assert sorted(per_rank[0] + per_rank[1]) == list(range(64)), (
                f"{name}, epoch {epoch}: not exactly once"
            )
            assert (
                [len(labels) for labels in per_rank] == [32, 32] == [result["length"] for result in results]
            )
        assert all(run[0] != run[1] for run in first_run), f"{name}: epoch 1 must be shuffled differently"
        if name == "folder":
            assert all(result["runs"][0] == result["runs"][1] for result in results), (
                "the same seed must repeat"
            )
    assert "bucket" in sources or not importlib.util.find_spec("moto")


def test_a_custom_load_image_is_what_gets_stored(tmp_path: Path) -> None:
    class GreyFolder(ImageFolderDataset):
        def load_image(self, path: str) -> torch.Tensor:
            return vd.io.read_image(path, mode="L")

    source = GreyFolder(folder(tmp_path / "photos", count=2))
    report = write_shards(source, tmp_path / "out" / "train-%06d.tar")
    assert report.copied == 0 and report.encoded == 2
    for (image, _), (expected, _) in zip(
        ShardDataset(tmp_path / "out", shuffle_buffer=0), source, strict=True
    ):
        assert image.shape == expected.shape == (1, 14, 20) and torch.equal(image, expected)


def test_a_shard_cut_at_a_member_boundary_is_caught_by_the_manifest_count(tmp_path: Path) -> None:
    source = ImageFolderDataset(folder(tmp_path / "photos", count=3))
    report = write_shards(source, tmp_path / "out" / "train-%06d.tar")
    shard = Path(report.shards[0])
    with tarfile.open(shard) as archive:
        end = archive.getmember("000000002.cls").offset  # the header of the third sample's first member
    shard.write_bytes(shard.read_bytes()[:end])
    with pytest.raises(DatasetFormatError, match=r"train-000000\.tar: expected the shard .* bytes\), got"):
        ShardDataset(tmp_path / "out", shuffle_buffer=0)  # locally the size tells at once
    piped = ShardDataset(f"pipe:cat {shard}", manifest=report.manifest, shuffle_buffer=0)
    with pytest.raises(DatasetFormatError, match="it holds 2 samples, its manifest says 3"):
        list(piped)


@pytest.mark.parametrize(
    ("mode", "tar_format"),
    [("w:gz", tarfile.PAX_FORMAT), ("w", tarfile.GNU_FORMAT), ("w", tarfile.PAX_FORMAT)],
)
def test_shards_rewritten_by_tarfile_with_long_names_or_gzip_are_read(
    tmp_path: Path, mode: str, tar_format: int
) -> None:
    source = ImageFolderDataset(folder(tmp_path / "photos", count=2))
    report = write_shards(source, tmp_path / "out" / "train-%06d.tar")
    members = tar_members(Path(report.shards[0]))
    long_folder = "d" * 120  # beyond ustar's 100-byte name field: a pax header or a GNU long name carries it
    with tarfile.open(report.shards[0], mode, format=tar_format) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(f"{long_folder}/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    relist(Path(report.shards[0]))
    shards = ShardDataset(tmp_path / "out", split="train", shuffle_buffer=0)
    assert [label for _, label in shards] == [label for _, label in source]
