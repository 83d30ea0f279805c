"""``write_shards`` and ``visiondata export`` writing shard sets to object storage, through fsspec.

The store is moto's real S3 server on localhost (``tests/object_store.py``), inspected with ``s3fs``;
each export is compared with the same export written to a folder. Failures are real ones (an
unreadable image) or an upload made to fail, and the bucket is checked afterwards object by object.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from object_store import S3Server, free_port
from test_shards import Numbered, folder
from torch.utils.data import Dataset

from visiondata.cli import main
from visiondata.datasets import ImageFolderDataset
from visiondata.exceptions import ImageReadError, MissingDependencyError, OutputConflictError
from visiondata.shards import ShardDataset, _remote, write_shards

pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy:DeprecationWarning"
)

PARTIAL = ".visiondata-partial-"


def store(storage_options: dict[str, Any] | None = None) -> Any:
    import s3fs

    fs = s3fs.S3FileSystem(**(storage_options or {}))
    fs.invalidate_cache()
    return fs


def objects(url: str, storage_options: dict[str, Any] | None = None) -> dict[str, bytes]:
    """Every object under ``url`` (hidden ones included), key relative to ``url`` -> bytes."""
    fs = store(storage_options)
    root = url.removeprefix("s3://").rstrip("/")
    return {key[len(root) + 1 :]: fs.cat_file(key) for key in fs.find(root)}


def folder_files(out: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(out.iterdir())}


@pytest.fixture
def temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary folder of this test alone (``tempfile.gettempdir()``), where the exports keep their local
    copies of the shards: other processes' exports stay out of it."""
    folder = tmp_path / "temporary"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def upload_folders(temporary: Path) -> list[str]:
    return sorted(path.name for path in temporary.glob("visiondata-upload-*"))


def labels(dataset: Any) -> list[int]:
    return [int(label) for _, label in dataset]


class Untouchable(Dataset):
    """A dataset that fails the test if anything reads it."""

    def __len__(self) -> int:
        raise AssertionError("the dataset was read before the destination was checked")

    def __getitem__(self, index: int) -> Any:
        raise AssertionError("the dataset was read before the destination was checked")


class Noise(Dataset):
    """Large random-noise images (PNG does not shrink noise: about 4.3 MB each), labelled by index."""

    def __init__(self, count: int, side: int = 1200) -> None:
        self.count, self.side = count, side

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        pixels = np.random.default_rng(index).integers(0, 256, (3, self.side, self.side), dtype=np.uint8)
        return torch.from_numpy(pixels), index


def record_writes(monkeypatch: pytest.MonkeyPatch, log: list[tuple[str, str]]) -> None:
    """Log every upload and every whole-object write to the store, in order."""
    upload, write_bytes = _remote.upload, _remote.write_bytes

    def recorded_upload(local: str, url: str, storage_options: Any = None) -> None:
        upload(local, url, storage_options)
        log.append(("upload", url))

    def recorded_write(url: str, data: bytes, storage_options: Any = None) -> None:
        write_bytes(url, data, storage_options)
        log.append(("write", url))

    monkeypatch.setattr(_remote, "upload", recorded_upload)
    monkeypatch.setattr(_remote, "write_bytes", recorded_write)


def failing_upload(monkeypatch: pytest.MonkeyPatch, on_call: int) -> list[str]:
    """Make the ``on_call``-th upload fail, as a dropped connection would; the uploads tried (clear it to
    count again)."""
    upload = _remote.upload
    calls: list[str] = []

    def flaky(local: str, url: str, storage_options: Any = None) -> None:
        calls.append(url)
        if len(calls) == on_call:
            raise OSError(f"injected: connection reset while uploading {url}")
        upload(local, url, storage_options)

    monkeypatch.setattr(_remote, "upload", flaky)
    return calls


# ---------------------------------------------------------------- a new set
@pytest.mark.parametrize("workers", [0, 2])
def test_an_export_to_a_bucket_holds_the_same_shards_and_manifest_as_one_to_a_folder(
    tmp_path: Path, s3_bucket: str, temporary: Path, workers: int
) -> None:
    source = ImageFolderDataset(folder(tmp_path / "photos", count=7))
    local = write_shards(source, tmp_path / "out" / "train-%06d.tar", max_count=3)
    report = write_shards(source, f"{s3_bucket}/prefix/train-%06d.tar", max_count=3, num_workers=workers)

    expected = folder_files(tmp_path / "out")
    assert objects(f"{s3_bucket}/prefix") == expected  # every shard and the manifest, byte for byte
    assert report.shards == [f"{s3_bucket}/prefix/train-{n:06d}.tar" for n in range(3)]
    assert report.manifest == f"{s3_bucket}/prefix/train.shards.json"
    assert (report.count, report.copied, report.bytes) == (local.count, local.copied, local.bytes)
    manifest = json.loads(expected["train.shards.json"])
    for entry in manifest["shards"]:
        data = expected[entry["name"]]
        assert entry["bytes"] == len(data) and entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert list(temporary.iterdir()) == []  # the local copies of the shards are gone

    shards = ShardDataset(f"{s3_bucket}/prefix", split="train", shuffle_buffer=0)
    shards.verify()
    read = list(shards)
    assert labels(read) == source.targets.tolist()
    assert all(torch.equal(image, source[index][0]) for index, (image, _) in enumerate(read))


def test_each_shard_is_uploaded_once_finished_and_the_manifest_last(
    s3_bucket: str, temporary: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log: list[tuple[str, str]] = []
    record_writes(monkeypatch, log)
    local_copies: list[list[str]] = []

    class Watched(Numbered):
        def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
            log.append(("read", str(index)))
            local_copies.append(upload_folders(temporary))
            return super().__getitem__(index)

    prefix = f"{s3_bucket}/prefix"
    write_shards(Watched(5), f"{prefix}/train-%06d.tar", max_count=2)
    assert log == [
        ("read", "0"),
        ("read", "1"),
        ("upload", f"{prefix}/train-000000.tar"),  # before the next run is read
        ("read", "2"),
        ("read", "3"),
        ("upload", f"{prefix}/train-000001.tar"),
        ("read", "4"),
        ("upload", f"{prefix}/train-000002.tar"),
        ("write", f"{prefix}/train.shards.json"),
    ]
    # One local folder for the shards while they are written, gone at the end.
    assert len(local_copies) == 5 and len(set(map(tuple, local_copies))) == 1 and len(local_copies[0]) == 1
    assert list(temporary.iterdir()) == []

    log.clear()  # with workers, and with shards that replace a set: still every shard, then the manifest
    write_shards(Numbered(9), f"{prefix}/train-%06d.tar", max_count=2, num_workers=2, overwrite=True)
    assert log[-1] == ("write", f"{prefix}/train.shards.json")
    assert [kind for kind, _ in log] == ["upload"] * 5 + ["write"]
    assert sorted(objects(prefix)) == [f"train-{n:06d}.tar" for n in range(5)] + ["train.shards.json"]
    assert labels(ShardDataset(prefix, split="train", shuffle_buffer=0)) == list(range(9))


def test_workers_write_only_a_few_shards_ahead_of_a_slow_upload(
    s3_bucket: str, temporary: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The local copies waiting for their upload stay a handful, however large the export."""
    upload = _remote.upload
    waiting: list[int] = []

    def slow(local: str, url: str, storage_options: Any = None) -> None:
        waiting.append(sum(len(list(folder.iterdir())) for folder in temporary.iterdir()))
        time.sleep(0.05)  # a slow link: the workers could write every shard before the third upload
        upload(local, url, storage_options)

    monkeypatch.setattr(_remote, "upload", slow)
    report = write_shards(Numbered(40), f"{s3_bucket}/prefix/train-%06d.tar", max_count=2, num_workers=2)
    assert len(report.shards) == len(waiting) == 20
    # The shard being uploaded and at most two runs per worker written ahead of it.
    assert max(waiting) <= 1 + 2 * 2, waiting
    assert labels(ShardDataset(f"{s3_bucket}/prefix", split="train", shuffle_buffer=0)) == list(range(40))


# ---------------------------------------------------------------- failures
def bad_folder(root: Path) -> tuple[ImageFolderDataset, str]:
    """Eight JPEGs, the last one unreadable (in the last run of two)."""
    dataset = ImageFolderDataset(folder(root, count=8, classes=2))
    bad = dataset.path(7)
    Path(bad).write_bytes(b"\xff\xd8\xff" + bytes(50))
    return dataset, bad


@pytest.mark.parametrize("workers", [0, 2])
@pytest.mark.parametrize("cause", ["unreadable image", "failed upload"])
def test_a_failed_export_leaves_no_object_of_a_new_set_and_the_previous_set_untouched(
    tmp_path: Path, s3_bucket: str, temporary: Path, monkeypatch: pytest.MonkeyPatch, workers: int, cause: str
) -> None:
    good = ImageFolderDataset(folder(tmp_path / "good", count=8, classes=2))
    write_shards(good, f"{s3_bucket}/old/train-%06d.tar", max_count=2)
    write_shards(Numbered(3), f"{s3_bucket}/old/val-%06d.tar", max_count=2)
    before = objects(f"{s3_bucket}/old")
    uploads: list[str] = []
    if cause == "unreadable image":
        source, bad = bad_folder(tmp_path / "bad")
        expected: type[Exception] = ImageReadError
        named = bad
    else:
        uploads = failing_upload(monkeypatch, on_call=2)
        source, expected, named = good, OSError, "injected: connection reset"

    for prefix, overwrite in (("new", False), ("old", True)):
        with pytest.raises(expected) as raised:
            write_shards(
                source,
                f"{s3_bucket}/{prefix}/train-%06d.tar",
                max_count=2,
                num_workers=workers,
                overwrite=overwrite,
            )
        assert multiprocessing.active_children() == []  # checked while the exception is held
        assert list(temporary.iterdir()) == []
        assert named in str(raised.value)
        uploads.clear()  # the second export fails at its second upload too
    assert objects(f"{s3_bucket}/new") == {}  # no manifest, no shard, no temporary object
    assert objects(f"{s3_bucket}/old") == before  # the old shards and manifest, byte for byte
    assert labels(ShardDataset(f"{s3_bucket}/old", split="train", shuffle_buffer=0)) == good.targets.tolist()


# ---------------------------------------------------------------- replacing a set
def test_an_existing_set_is_refused_unless_overwrite_which_replaces_it_and_removes_old_shards(
    tmp_path: Path, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = f"{s3_bucket}/prefix"
    write_shards(Numbered(7), f"{prefix}/train-%06d.tar", max_count=2)  # 4 shards
    write_shards(Numbered(3), f"{prefix}/val-%06d.tar", max_count=2)
    before = objects(prefix)
    with pytest.raises(
        OutputConflictError, match=rf"{re.escape(prefix)}: .*train\.shards\.json.*overwrite=True"
    ):
        write_shards(Numbered(3), f"{prefix}/train-%06d.tar", max_count=2)
    assert objects(prefix) == before

    seen: list[dict[str, bytes]] = []

    class Shifted(Numbered):
        """Labels 100 on; at its last sample (every other shard uploaded) it looks at the bucket."""

        def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
            if index == self.count - 1:
                seen.append(objects(prefix))
            return super().__getitem__(index)[0], 100 + index

    report = write_shards(Shifted(3), f"{prefix}/train-%06d.tar", max_count=2, overwrite=True)
    # Mid-export, readers see the old set whole; the new shard waits under a hidden name.
    visible = {name: data for name, data in seen[0].items() if not name.startswith(".")}
    hidden = [name for name in seen[0] if name.startswith(".")]
    assert visible == before and len(hidden) == 1 and hidden[0].startswith(PARTIAL)

    assert report.replaced == [f"{prefix}/train-000002.tar", f"{prefix}/train-000003.tar"]
    after = objects(prefix)
    assert sorted(after) == [
        "train-000000.tar",
        "train-000001.tar",
        "train.shards.json",
        "val-000000.tar",
        "val-000001.tar",
        "val.shards.json",
    ]
    assert {name: after[name] for name in after if name.startswith("val")} == {
        name: before[name] for name in before if name.startswith("val")
    }
    assert after["train-000000.tar"] != before["train-000000.tar"]
    assert labels(ShardDataset(prefix, split="train", shuffle_buffer=0)) == [100, 101, 102]
    assert labels(ShardDataset(prefix, split="val", shuffle_buffer=0)) == [0, 1, 2]


# ---------------------------------------------------------------- large shards, credentials
def test_a_shard_larger_than_two_parts_is_uploaded_in_parts_and_round_trips(
    s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_remote, "UPLOAD_PART_BYTES", 5 << 20)  # S3's smallest part
    prefix = f"{s3_bucket}/big"
    source = Noise(3)
    report = write_shards(source, f"{prefix}/train-%06d.tar", max_count=3)
    assert len(report.shards) == 1 and report.bytes > 10 << 20
    fs = store()
    info = fs.info(report.shards[0].removeprefix("s3://"))
    assert info["ETag"].strip('"').endswith("-3")  # S3 tags an object uploaded in 3 parts so
    data = fs.cat_file(report.shards[0])
    entry = json.loads(fs.cat_file(report.manifest))["shards"][0]
    assert entry["bytes"] == len(data) == report.bytes
    assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    read = list(ShardDataset(prefix, split="train", shuffle_buffer=0))
    assert labels(read) == [0, 1, 2]
    assert all(torch.equal(image, source[index][0]) for index, (image, _) in enumerate(read))


def test_storage_options_carry_the_credentials_and_the_endpoint(
    tmp_path: Path, s3_bucket: str, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    import s3fs

    # Nothing in the environment leads to the server: an endpoint nobody listens on, no credentials.
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    s3fs.S3FileSystem.clear_instance_cache()
    options = {"key": "testing", "secret": "testing", "client_kwargs": {"endpoint_url": s3_server.endpoint}}

    prefix = f"{s3_bucket}/prefix"
    report = write_shards(
        Numbered(5), f"{prefix}/train-%06d.tar", max_count=2, num_workers=2, storage_options=options
    )
    assert sorted(objects(prefix, options)) == [f"train-{n:06d}.tar" for n in range(3)] + [
        "train.shards.json"
    ]
    assert report.count == 5
    with pytest.raises(
        OutputConflictError, match=re.escape(prefix)
    ):  # the existing set is found with them too
        write_shards(Numbered(5), f"{prefix}/train-%06d.tar", storage_options=options)


# ---------------------------------------------------------------- refusals
@pytest.mark.parametrize("scheme", ["https", "http"])
def test_a_web_address_is_refused_before_the_dataset_is_read(scheme: str) -> None:
    url = f"{scheme}://127.0.0.1:9/shards/train-%06d.tar"
    with pytest.raises(ValueError, match=rf"^{url}: expected a folder or an object-store URL"):
        write_shards(Untouchable(), url)


def test_storage_options_for_a_folder_and_urls_without_fsspec_are_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValueError, match=r"storage_options: expected None for a local out_pattern"):
        write_shards(Untouchable(), tmp_path / "out" / "train-%06d.tar", storage_options={"key": "k"})
    assert not (tmp_path / "out").exists()
    monkeypatch.setitem(sys.modules, "fsspec", None)
    with pytest.raises(MissingDependencyError, match=r"install the cloud extra"):
        write_shards(Untouchable(), "s3://bucket/prefix/train-%06d.tar")


def test_export_names_an_out_it_cannot_write_to_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import visiondata.shards._commands as commands

    opened: list[Any] = []
    monkeypatch.setattr(commands, "open_source", opened.append)  # the source may not even be opened
    root = folder(tmp_path / "photos", count=2)
    for out, message in (
        (
            "https://127.0.0.1:9/prefix",
            "https://127.0.0.1:9/prefix: expected a folder or an object-store URL",
        ),
        (
            "nosuch://bucket/prefix",
            "nosuch://bucket/prefix: expected a path or a URL whose scheme fsspec knows",
        ),
    ):
        assert main(["export", str(root), out]) == 1
        error = capsys.readouterr().err
        assert error.startswith(f"visiondata: error: {message}") and "Traceback" not in error
    assert opened == []


# ---------------------------------------------------------------- visiondata export
def test_export_writes_to_a_bucket_with_workers_and_overwrite_replaces_the_split(
    tmp_path: Path, s3_bucket: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root = folder(tmp_path / "photos", count=7)
    prefix = f"{s3_bucket}/prefix"
    assert main(["export", str(root), str(tmp_path / "out"), "--max-count", "3"]) == 0
    arguments = ["--split", "train", "--workers", "2", "--max-count", "3"]
    assert main(["export", str(root), prefix, *arguments]) == 0
    assert "7 samples in 3 shards" in capsys.readouterr().out
    assert objects(prefix) == folder_files(tmp_path / "out")

    assert main(["export", str(root), prefix, *arguments]) == 1
    error = capsys.readouterr().err
    assert f"{prefix}: expected no export of the set 'train' there" in error and "--overwrite" in error

    smaller = folder(tmp_path / "smaller", count=2, classes=2)
    assert main(["export", str(smaller), prefix, *arguments, "--overwrite", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["replaced"] == [f"{prefix}/train-000001.tar", f"{prefix}/train-000002.tar"]
    assert sorted(objects(prefix)) == ["train-000000.tar", "train.shards.json"]
    assert labels(ShardDataset(prefix, split="train", shuffle_buffer=0)) == [0, 1]
