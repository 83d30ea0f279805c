"""``write_shards`` and ``visiondata export`` writing shards: runs, size cuts, skips, worker processes, the tar writer.

Real image folders (small JPEGs) and tiny tensor datasets are written to real folders and read back
with ``tarfile``, the ``webdataset`` package and ``ShardDataset``. Exports with worker processes are
compared byte for byte with exports written in the calling process.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import multiprocessing
import re
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from test_shards import Numbered, folder, tar_members

from visiondata.cli import main
from visiondata.datasets import ImageFolderDataset
from visiondata.exceptions import ImageReadError, SkippedSampleWarning
from visiondata.shards import ShardDataset, _destination, write_shards
from visiondata.shards._tar_write import ShardFile, member_header, stored_size

pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy:DeprecationWarning"
)

PARTIAL = ".visiondata-partial-"


def files(out: Path) -> dict[str, bytes]:
    """Every file in ``out`` (hidden ones included), name -> bytes."""
    return {path.name: path.read_bytes() for path in sorted(out.iterdir())}


def shard_counts(out: Path, split: str = "train") -> list[int]:
    manifest = json.loads((out / f"{split}.shards.json").read_text())
    return [shard["count"] for shard in manifest["shards"]]


def keys(shard: Path) -> list[int]:
    with tarfile.open(shard) as archive:
        return sorted({int(name.split(".")[0]) for name in archive.getnames()})


def corrupt(dataset: ImageFolderDataset, index: int) -> str:
    """Make the file of sample ``index`` an unreadable JPEG; its path."""
    path = dataset.path(index)
    Path(path).write_bytes(b"\xff\xd8\xff" + bytes(50))
    return path


# ---------------------------------------------------------------- worker processes: the same shards
@pytest.mark.parametrize(
    ("max_count", "max_size", "counts"),
    [
        (5, 1 << 30, [5, 5, 2]),  # one shard per run of 5
        # Each sample takes 2048 bytes (a tiny PNG and its label, a header and a block each): runs of 5
        # are cut every 2 samples, and each run starts a new shard.
        (5, 5000, [2, 2, 1, 2, 2, 1, 2]),
    ],
)
def test_two_workers_write_the_same_shards_and_manifest_as_one_process(
    tmp_path: Path, max_count: int, max_size: int, counts: list[int]
) -> None:
    source = Numbered(12)  # one object: the manifest records its repr
    written = {}
    for workers in (0, 2):
        out = tmp_path / f"workers{workers}"
        report = write_shards(
            source, out / "train-%06d.tar", max_count=max_count, max_size=max_size, num_workers=workers
        )
        assert report.count == 12 and report.encoded == 12 and report.skipped == []
        assert [Path(path).name for path in report.shards] == [
            f"train-{n:06d}.tar" for n in range(len(counts))
        ]
        assert shard_counts(out) == counts
        written[workers] = files(out)
    assert written[2] == written[0]  # every shard and the manifest, byte for byte
    assert not any(name.startswith(".") for name in written[2])
    # Samples keep their order, each in exactly one shard; a run's shards hold only that run's indices.
    out = tmp_path / "workers2"
    shard_keys = [keys(out / f"train-{n:06d}.tar") for n in range(len(counts))]
    assert [key for group in shard_keys for key in group] == list(range(12))
    assert all(len({key // max_count for key in group}) == 1 for group in shard_keys)
    read = ShardDataset(out, split="train", shuffle_buffer=0)
    assert [label for _, label in read] == list(range(12))


def test_a_sample_larger_than_max_size_gets_a_shard_of_its_own(tmp_path: Path) -> None:
    report = write_shards(Numbered(3), tmp_path / "out" / "train-%06d.tar", max_count=10, max_size=100)
    assert [keys(Path(path)) for path in report.shards] == [[0], [1], [2]]


@pytest.mark.parametrize("workers", [0, 2])
def test_a_skipped_sample_leaves_its_run_one_short_and_is_reported_the_same_with_workers(
    tmp_path: Path, workers: int
) -> None:
    source = ImageFolderDataset(folder(tmp_path / "photos", count=10, classes=2), on_error="skip")
    bad = corrupt(source, 6)
    out = tmp_path / "out"
    report = write_shards(source, out / "train-%06d.tar", max_count=4, num_workers=workers)
    assert [entry["index"] for entry in report.skipped] == [6]
    assert Path(bad).name in report.skipped[0]["reason"]
    assert report.count == 9 and report.copied == 9
    assert shard_counts(out) == [4, 3, 2]  # the run 4..7 holds 3 samples; no neighbour fills the gap
    assert [keys(out / f"train-{n:06d}.tar") for n in range(3)] == [[0, 1, 2, 3], [4, 5, 7], [8, 9]]
    manifest = json.loads((out / "train.shards.json").read_text())
    assert manifest["skipped"] == report.skipped


def test_skipped_samples_give_the_same_shards_and_manifest_with_or_without_workers(tmp_path: Path) -> None:
    source = ImageFolderDataset(folder(tmp_path / "photos", count=10, classes=2), on_error="skip")
    corrupt(source, 1)
    corrupt(source, 6)
    written = {}
    for workers in (0, 2):
        report = write_shards(
            source, tmp_path / f"w{workers}" / "train-%06d.tar", max_count=3, num_workers=workers
        )
        assert [entry["index"] for entry in report.skipped] == [1, 6]
        written[workers] = files(tmp_path / f"w{workers}")
    assert written[2] == written[0]


@pytest.mark.parametrize("workers", [0, 2])
def test_on_error_warn_warns_in_the_calling_process_with_workers_too(tmp_path: Path, workers: int) -> None:
    source = ImageFolderDataset(folder(tmp_path / "photos", count=6), on_error="warn")
    bad = corrupt(source, 4)
    with pytest.warns(SkippedSampleWarning, match=rf"not exported: {re.escape(bad)}") as caught:
        report = write_shards(source, tmp_path / "out" / "train-%06d.tar", max_count=2, num_workers=workers)
    assert [entry["index"] for entry in report.skipped] == [4]
    assert len([warning for warning in caught if warning.category is SkippedSampleWarning]) == 1


# ---------------------------------------------------------------- worker processes: stopping
def test_an_unreadable_file_in_a_late_run_stops_the_workers_and_keeps_the_previous_set(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    write_shards(ImageFolderDataset(folder(tmp_path / "old", count=6)), out / "train-%06d.tar", max_count=2)
    before = files(out)
    new = ImageFolderDataset(folder(tmp_path / "new", count=12, classes=4))
    bad = corrupt(new, 11)  # the last run: the runs before it are written (and placed) first
    with pytest.raises(ImageReadError) as raised:
        write_shards(new, out / "train-%06d.tar", max_count=2, num_workers=2, overwrite=True)
    assert files(out) == before  # old shards and manifest byte for byte, no partial file
    assert multiprocessing.active_children() == []
    assert bad in str(raised.value)  # the file named; the exception held until here

    with pytest.raises(ImageReadError, match=Path(bad).name):  # a new set: nothing at all is left
        write_shards(new, tmp_path / "fresh" / "train-%06d.tar", max_count=2, num_workers=2)
    assert list((tmp_path / "fresh").iterdir()) == []


def test_an_interruption_while_shards_are_placed_stops_the_workers_and_removes_their_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C in the calling process while the workers are still writing later runs."""
    out = tmp_path / "out"
    write_shards(Numbered(4), out / "train-%06d.tar", max_count=2)
    before = files(out)
    place = _destination.LocalDestination.place

    def interrupted(self: Any, staged: str, number: int) -> str:
        if number == 1:
            raise KeyboardInterrupt
        return place(self, staged, number)

    monkeypatch.setattr(_destination.LocalDestination, "place", interrupted)
    with pytest.raises(KeyboardInterrupt) as raised:
        write_shards(Numbered(40), out / "train-%06d.tar", max_count=2, num_workers=2, overwrite=True)
    # Checked while the exception (its traceback, the frames of the export) is still held: the clean-up
    # may not wait for it to be collected.
    assert multiprocessing.active_children() == []
    assert files(out) == before
    assert raised.type is KeyboardInterrupt


# ---------------------------------------------------------------- progress
def test_one_progress_bar_counts_the_samples_of_every_worker(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    write_shards(Numbered(12), tmp_path / "out" / "train-%06d.tar", max_count=3, num_workers=2, progress=True)
    error = capfd.readouterr().err  # the workers' standard error too
    updates = [part for part in error.replace("\n", "\r").split("\r") if part.strip()]
    assert updates and all(part.startswith("writing shards") and "/12 " in part for part in updates)
    assert "12/12" in updates[-1]
    assert error.count("\n") == 1  # one bar, closed once

    write_shards(Numbered(12), tmp_path / "quiet" / "train-%06d.tar", max_count=3, num_workers=2)
    assert capfd.readouterr().err == ""


# ---------------------------------------------------------------- the tar files
def test_shards_are_plain_tar_files_with_each_samples_members_in_sorted_order(tmp_path: Path) -> None:
    import webdataset

    source = ImageFolderDataset(folder(tmp_path / "photos", count=5))
    report = write_shards(source, tmp_path / "out" / "train-%06d.tar", max_count=3)
    first = Path(report.shards[0])
    with tarfile.open(first) as archive:
        members = archive.getmembers()
        assert [member.name for member in members] == [
            f"{index:09d}.{extension}" for index in range(3) for extension in ("cls", "jpg")
        ]
        assert all(member.isfile() and member.mode == 0o444 and member.mtime == 0 for member in members)
        assert archive.extractfile(members[1]).read() == Path(source.path(0)).read_bytes()
    assert first.stat().st_size % (20 * 512) == 0  # padded to whole records, as tar writes them
    samples = list(
        webdataset.WebDataset(
            str(tmp_path / "out" / "train-{000000..000001}.tar"), shardshuffle=False, empty_check=False
        )
    )
    assert [sample["__key__"] for sample in samples] == [f"{index:09d}" for index in range(5)]
    assert [int(sample["cls"]) for sample in samples] == source.targets.tolist()
    manifest = json.loads(Path(report.manifest).read_text())
    for entry in manifest["shards"]:
        data = (tmp_path / "out" / entry["name"]).read_bytes()
        assert entry["bytes"] == len(data) and entry["sha256"] == hashlib.sha256(data).hexdigest()


def test_member_header_round_trips_long_names_and_huge_sizes_through_tarfile() -> None:
    long_name = "k" * 120 + ".segmentation.png"
    archive = io.BytesIO()
    for name, data in ((long_name, b"pixels"), ("000000001.cls", b"7")):
        archive.write(member_header(name, len(data)) + data + bytes(-len(data) % 512))
    archive.write(bytes(1024))
    archive.seek(0)
    with tarfile.open(fileobj=archive) as opened:
        assert [(member.name, opened.extractfile(member).read()) for member in opened] == [
            (long_name, b"pixels"),
            ("000000001.cls", b"7"),
        ]
    # Past ustar's 11 octal digits (8 GiB): the GNU header's binary size field.
    huge = 8**11 + 5
    info = tarfile.TarInfo.frombuf(member_header("000000000.npy", huge), "utf-8", "surrogateescape")
    assert (info.name, info.size, info.mode, info.mtime) == ("000000000.npy", huge, 0o444, 0)
    assert [stored_size(size) for size in (0, 1, 511, 512, 513)] == [512, 1024, 1024, 1024, 1536]


def test_a_shard_file_counts_and_hashes_what_it_writes_and_discard_removes_it(tmp_path: Path) -> None:
    for compress in (False, True):
        path = tmp_path / f"shard-{compress}.tar"
        shard = ShardFile(str(path), compress)
        shard.add("000000000", {"png": b"p" * 700, "cls": b"1", "json": b"{}"})
        shard.add("000000001", {"cls": b"2"})
        shard.finish()
        data = path.read_bytes()
        assert shard.count == 2 and shard.size == len(data)
        assert shard.sha256.hexdigest() == hashlib.sha256(data).hexdigest()
        if compress:
            assert data[:2] == b"\x1f\x8b"
            data = gzip.decompress(data)
        assert tar_members_of(data) == [
            ("000000000.cls", b"1"),
            ("000000000.json", b"{}"),
            ("000000000.png", b"p" * 700),
            ("000000001.cls", b"2"),
        ]
    discarded = ShardFile(str(tmp_path / "stopped.tar"))
    discarded.add("000000000", {"cls": b"1"})
    discarded.discard()
    assert not (tmp_path / "stopped.tar").exists()


def tar_members_of(data: bytes) -> list[tuple[str, bytes]]:
    with tarfile.open(fileobj=io.BytesIO(data)) as opened:
        return [(member.name, opened.extractfile(member).read()) for member in opened]


def test_a_tar_gz_pattern_writes_gzip_shards_that_read_back_the_same_with_workers(tmp_path: Path) -> None:
    source = ImageFolderDataset(folder(tmp_path / "photos", count=7))
    written = {}
    for workers in (0, 2):
        out = tmp_path / f"w{workers}"
        report = write_shards(source, out / "train-%06d.tar.gz", max_count=3, num_workers=workers)
        assert [Path(path).name for path in report.shards] == [f"train-{n:06d}.tar.gz" for n in range(3)]
        written[workers] = files(out)
    assert written[2] == written[0]
    out = tmp_path / "w2"
    manifest = json.loads((out / "train.shards.json").read_text())
    for entry in manifest["shards"]:
        data = (out / entry["name"]).read_bytes()
        assert data[:2] == b"\x1f\x8b"  # gzip
        assert entry["bytes"] == len(data) and entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert tar_members(out / "train-000000.tar.gz")["000000000.jpg"] == Path(source.path(0)).read_bytes()
    shards = ShardDataset(out, split="train", shuffle_buffer=0)
    shards.verify()
    read = list(shards)
    assert [label for _, label in read] == source.targets.tolist()
    assert all(torch.equal(image, source[index][0]) for index, (image, _) in enumerate(read))


# ---------------------------------------------------------------- visiondata export --workers
def test_export_with_workers_writes_the_same_shards_and_num_workers_is_still_accepted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = folder(tmp_path / "photos", count=8)
    written = {}
    for name, arguments in (
        ("plain", []),
        ("workers", ["--workers", "2"]),
        ("alias", ["--num-workers", "2"]),
    ):
        out = tmp_path / name
        assert main(["export", str(root), str(out), "--max-count", "3", *arguments]) == 0
        assert "8 samples in 3 shards" in capsys.readouterr().out
        written[name] = files(out)
    assert sorted(written["plain"]) == [
        "train-000000.tar",
        "train-000001.tar",
        "train-000002.tar",
        "train.shards.json",
    ]
    assert written["workers"] == written["plain"] and written["alias"] == written["plain"]

    with pytest.raises(SystemExit) as exited:
        main(["export", str(root), str(tmp_path / "bad"), "--workers", "-1"])
    assert exited.value.code == 2
    assert "--workers/--num-workers: expected an integer >= 0, got '-1'" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


def test_the_export_benchmark_runs(tmp_path: Path) -> None:
    from test_benchmarks import assert_header, run_script

    output = run_script(
        "bench_export.py",
        "--images",
        "12",
        "--copies",
        "2",
        "--max-count",
        "5",
        "--rounds",
        "1",
        "--folder",
        str(tmp_path),
    )
    assert_header(output, 1)
    assert "12 JPEG photos (500x375, about 50 KB) x 2 links, 5 per shard" in output
    assert "plain loop: read_image + tarfile" in output
    for contender in ("in this process", "1 worker process", "2 worker processes"):
        assert f"write_shards, {contender}" in output
    assert "target >= 1.0x" in output and "target >= 1.7x" in output


def test_a_byte_copy_is_proven_readable_exactly_when_read_image_can_read_it(tmp_path: Path) -> None:
    # Copies are proven readable by a decode at the smallest DCT scale, which still decodes the whole
    # compressed stream: damage anywhere in it must be caught exactly as a full decode catches it.
    from visiondata.io import read_image

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
    good = buffer.getvalue()
    start = good.index(b"\xff\xda")  # the scan: entropy-coded data from here on
    variants = {"good": good, "truncated": good[: start + (len(good) - start) * 3 // 5]}
    for position in (0.1, 0.5, 0.9):  # a few damaged bytes early, in the middle and late in the scan
        damaged = bytearray(good)
        at = start + 20 + int((len(good) - start - 40) * position)
        damaged[at : at + 3] = b"\x13\x57\x9b"
        variants[f"damaged at {position}"] = bytes(damaged)
    root = tmp_path / "photos"
    (root / "only").mkdir(parents=True)
    for index, data in enumerate(variants.values()):
        (root / "only" / f"{index}.jpg").write_bytes(data)
    unreadable = []
    for name, data in variants.items():
        try:
            read_image(data)
        except ImageReadError:
            unreadable.append(name)
    assert "good" not in unreadable and "truncated" in unreadable and len(unreadable) >= 2
    report = write_shards(ImageFolderDataset(root, on_error="skip"), tmp_path / "out" / "train-%06d.tar")
    skipped = sorted(list(variants)[item["index"]] for item in report.skipped)
    assert skipped == sorted(unreadable)
