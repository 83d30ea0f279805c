"""``ShardDataset`` reading shards from object storage and web servers, through fsspec.

The S3 API is moto's real server on localhost (``tests/object_store.py``), the web server Python's
``http.server``; shards are written by ``write_shards`` on disk, uploaded, and read back against the
same shards read from disk. A dropped connection is a real one: the server is stopped and every open
connection to it shut, then the server starts again (or does not).
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from object_store import S3Server, web_server
from test_benchmarks import assert_header, run_script
from test_shards import Numbered, folder

import visiondata as vd
from visiondata.datasets import ImageFolderDataset
from visiondata.exceptions import (
    DatasetFormatError,
    DatasetNotFoundError,
    DownloadError,
    MissingDependencyError,
)
from visiondata.loaders import build_loader
from visiondata.shards import ShardDataset, _remote, write_shards

pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy:DeprecationWarning"
)


class Noisy(Numbered):
    """Numbered samples with 64x64 noise images (PNG does not shrink noise: about 12 KB each)."""

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        pixels = np.random.default_rng(index).integers(0, 256, (3, 64, 64), dtype=np.uint8)
        return torch.from_numpy(pixels), index


def upload(out: Path, prefix: str) -> str:
    """Every file of the folder ``out`` under the URL ``prefix``; returns ``prefix``."""
    for path in sorted(out.iterdir()):
        _remote.upload(str(path), f"{prefix}/{path.name}")
    return prefix


def numbered_set(out: Path, count: int, max_count: int, dataset: Any = None) -> Path:
    write_shards(
        dataset if dataset is not None else Numbered(count), out / "train-%06d.tar", max_count=max_count
    )
    return out


def labels(dataset: Any) -> list[int]:
    return [int(label) for _, label in dataset]


# ---------------------------------------------------------------- reading a prefix, a pattern, URLs
def test_a_prefix_reads_by_split_as_the_same_folder_on_disk(tmp_path: Path, s3_bucket: str) -> None:
    source = ImageFolderDataset(folder(tmp_path / "photos", count=9))
    out = tmp_path / "out"
    write_shards(source, out / "train-%06d.tar", max_count=4)
    write_shards(ImageFolderDataset(folder(tmp_path / "small", count=3)), out / "val-%06d.tar")
    prefix = upload(out, f"{s3_bucket}/sets")

    remote = ShardDataset(prefix, split="train", shuffle_buffer=0)
    local = ShardDataset(out, split="train", shuffle_buffer=0)
    assert remote.urls == [f"{prefix}/train-{index:06d}.tar" for index in range(3)]
    assert len(remote) == len(local) == 9 and remote.classes == local.classes == source.classes
    for (image, label), (expected_image, expected_label) in zip(remote, local, strict=True):
        assert torch.equal(image, expected_image) and label == expected_label
    validation = ShardDataset(f"{prefix}/", split="val", shuffle_buffer=0)
    assert len(validation) == 3 and labels(validation) == [0, 1, 2]
    with pytest.raises(DatasetNotFoundError, match=r"sets: expected split= \(one of train, val\)"):
        ShardDataset(prefix)


def test_a_brace_pattern_or_a_list_of_urls_finds_the_manifest_beside_the_first_shard(
    tmp_path: Path, s3_bucket: str
) -> None:
    prefix = upload(numbered_set(tmp_path / "out", 12, max_count=4), f"{s3_bucket}/p")
    pattern = ShardDataset(f"{prefix}/train-{{000000..000002}}.tar", shuffle_buffer=0)
    assert pattern._manifest_location == f"{prefix}/train.shards.json"
    assert len(pattern) == 12 and labels(pattern) == list(range(12))
    chosen = ShardDataset([f"{prefix}/train-000002.tar", f"{prefix}/train-000000.tar"], shuffle_buffer=0)
    assert len(chosen) == 8 and labels(chosen) == [8, 9, 10, 11, 0, 1, 2, 3]


def test_storage_options_carry_the_endpoint_and_the_credentials_to_every_worker(
    tmp_path: Path, s3_bucket: str, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    import s3fs

    prefix = upload(numbered_set(tmp_path / "out", 8, max_count=2), f"{s3_bucket}/p")
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    s3fs.S3FileSystem.clear_instance_cache()
    options = {"key": "testing", "secret": "testing", "client_kwargs": {"endpoint_url": s3_server.endpoint}}
    dataset = ShardDataset(prefix, shuffle_buffer=0, storage_options=options)
    assert labels(dataset) == list(range(8))
    from_catalog = vd.get_dataset(
        "shards", urls=prefix, split="train", storage_options=options, shuffle_buffer=0
    )
    assert labels(from_catalog) == list(range(8))
    # The workers have no endpoint in their environment either: the options travel with the dataset.
    loader = build_loader(dataset, batch_size=2, num_workers=2)
    assert sorted(int(label) for _, batch in loader for label in batch) == list(range(8))


def test_a_profile_gives_the_credentials_and_the_endpoint(
    tmp_path: Path, s3_bucket: str, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    import s3fs

    prefix = upload(numbered_set(tmp_path / "out", 4, max_count=2), f"{s3_bucket}/p")
    (tmp_path / "credentials").write_text(
        "[reader]\naws_access_key_id = testing\naws_secret_access_key = testing\n"
    )
    (tmp_path / "config").write_text(f"[profile reader]\nendpoint_url = {s3_server.endpoint}\n")
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_PROFILE", "reader")
    monkeypatch.setenv(
        "AWS_EC2_METADATA_DISABLED", "true"
    )  # should the profile be missed: no request beyond localhost
    s3fs.S3FileSystem.clear_instance_cache()
    assert labels(ShardDataset(prefix, shuffle_buffer=0)) == [0, 1, 2, 3]


def test_missing_credentials_are_named_at_once_not_retried_as_a_dropped_connection(
    tmp_path: Path, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import s3fs

    prefix = upload(numbered_set(tmp_path / "out", 4, max_count=2), f"{s3_bucket}/p")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no look for an instance role beyond localhost
    s3fs.S3FileSystem.clear_instance_cache()
    slept: list[float] = []
    monkeypatch.setattr(_remote.time, "sleep", slept.append)
    with pytest.raises(
        DownloadError, match=r"train-000000\.tar: cannot read the shard: .*expected credentials"
    ):
        list(ShardDataset([f"{prefix}/train-000000.tar"], manifest=tmp_path / "out" / "train.shards.json"))
    assert slept == []  # named on the first try: the same answer would come on every retry


def test_shards_on_a_web_server_are_read_by_pattern_with_or_without_manifest_and_by_folder(
    tmp_path: Path,
) -> None:
    pytest.importorskip("aiohttp", reason="needs aiohttp (the cloud extra)")
    out = numbered_set(tmp_path / "out", 12, max_count=4)
    with web_server(out) as url:
        pattern = f"{url}/train-{{000000..000002}}.tar"
        given = ShardDataset(pattern, manifest=f"{url}/train.shards.json", shuffle_buffer=0)
        beside = ShardDataset(pattern, shuffle_buffer=0)
        listed = ShardDataset(url, split="train", shuffle_buffer=0)  # http.server's directory page
        for dataset in (given, beside, listed):
            assert len(dataset) == 12 and labels(dataset) == list(range(12))
        assert listed.urls == [f"{url}/train-{index:06d}.tar" for index in range(3)]
        (out / "train-000001.tar").unlink()
        with pytest.raises(
            DatasetFormatError, match=r"/train-000001\.tar: expected the shard .* found nothing"
        ):
            ShardDataset(url, split="train")
        skipping = ShardDataset(pattern, shuffle_buffer=0, on_error="skip")  # nothing checked before opening
        assert labels(skipping) == [0, 1, 2, 3, 8, 9, 10, 11]
        assert list(skipping.errors) == [f"{url}/train-000001.tar"]
        with pytest.raises(
            DatasetNotFoundError, match=r"/nowhere/train\.shards\.json: expected the shard set's"
        ):
            ShardDataset(f"{url}/nowhere/train-000000.tar")


# ---------------------------------------------------------------- what is missing or differs, named
def test_a_missing_manifest_or_shard_a_shard_of_another_size_or_an_extra_shard_is_named(
    tmp_path: Path, s3_bucket: str
) -> None:
    import s3fs

    out = numbered_set(tmp_path / "out", 12, max_count=4)
    prefix = upload(out, f"{s3_bucket}/p")
    store = s3fs.S3FileSystem()
    shard = f"{prefix}/train-000001.tar"
    pattern = f"{prefix}/train-{{000000..000002}}.tar"
    listed_bytes = (out / "train-000001.tar").stat().st_size

    with pytest.raises(DatasetNotFoundError, match=r"/p: expected val\.shards\.json; shard sets here: train"):
        ShardDataset(prefix, split="val")
    with pytest.raises(
        DatasetNotFoundError, match=r"/empty: expected a folder or prefix .* found nothing there"
    ):
        ShardDataset(f"{s3_bucket}/empty", split="train")
    with pytest.raises(
        DatasetNotFoundError,
        match=rf"{s3_bucket}/q/train\.shards\.json: expected the shard set's manifest .* pass manifest=",
    ):
        ShardDataset(f"{s3_bucket}/q/train-{{000000..000001}}.tar")

    # A shard of another size: named from the prefix's listing, and from the size the server gives.
    cut = (out / "train-000001.tar").read_bytes()[:-1024]
    store.pipe(shard.removeprefix("s3://"), cut)
    wrong_size = rf"train-000001\.tar: expected the shard .*train\.shards\.json lists \({listed_bytes:,} bytes\), got {len(cut):,} bytes"
    with pytest.raises(DatasetFormatError, match=wrong_size):
        ShardDataset(prefix)
    with pytest.raises(DatasetFormatError, match=wrong_size):
        labels(ShardDataset(pattern, shuffle_buffer=0))

    # Missing: named from the listing, and when it is opened.
    store.rm(shard.removeprefix("s3://"))
    missing = rf"{shard}: expected the shard .*train\.shards\.json lists, found nothing"
    with pytest.raises(DatasetFormatError, match=missing):
        ShardDataset(prefix)
    skipping = ShardDataset(pattern, shuffle_buffer=0, on_error="skip")
    assert labels(skipping) == [0, 1, 2, 3, 8, 9, 10, 11] and list(skipping.errors) == [shard]

    # Extra: a shard file of the set in the prefix that the manifest does not list.
    _remote.upload(str(out / "train-000001.tar"), shard)
    _remote.upload(str(out / "train-000000.tar"), f"{prefix}/train-000003.tar")
    with pytest.raises(
        DatasetFormatError, match=rf"{prefix}/train-000003\.tar: a shard file of the set .* does not list"
    ):
        ShardDataset(prefix)


def test_verify_streams_remote_shards_and_names_one_replaced_by_another_of_the_same_size(
    tmp_path: Path, s3_bucket: str
) -> None:
    out = numbered_set(tmp_path / "out", 12, max_count=4)
    prefix = upload(out, f"{s3_bucket}/p")
    dataset = ShardDataset(prefix)
    dataset.verify()
    data = bytearray((out / "train-000001.tar").read_bytes())
    data[600] ^= 0xFF  # inside the first member's data: same size, another SHA-256
    replaced = tmp_path / "replaced.tar"
    replaced.write_bytes(bytes(data))
    _remote.upload(str(replaced), f"{prefix}/train-000001.tar")
    with pytest.raises(
        DatasetFormatError,
        match=rf"{prefix}/train-000001\.tar: expected the shard .*\(sha256 \w+\.\.\.\), got another file of the same size",
    ):
        ShardDataset(prefix).verify()


# ---------------------------------------------------------------- dropped connections
class Outage:
    """Drops the connections to the S3 server: `cut` stops it and shuts every connection open to it."""

    def __init__(self, server: S3Server) -> None:
        self.server = server
        self.connections: list[socket.socket] = []
        self.down = False
        self.timers: list[threading.Timer] = []

    def cut(self, restart_after: float | None = None) -> None:
        """Stop the server; start it again ``restart_after`` seconds later (``None``: by `restart`)."""
        self.server.stop()
        self.down = True
        # A stopped server still answers on the connections it has open: shut them, as a network drop would.
        for connection in self.connections:
            with contextlib.suppress(OSError):  # closed already
                connection.shutdown(socket.SHUT_RDWR)
        if restart_after is not None:
            self.timers.append(threading.Timer(restart_after, self.restart))
            self.timers[-1].start()

    def restart(self) -> None:
        if self.down:
            self.server.start()
            self.down = False


@pytest.fixture
def outage(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[Outage]:
    """An `Outage` of the session's S3 server, which is running again when the test ends."""
    import s3fs
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    outage = Outage(s3_server)
    original_setup = MotoRequestHandler.setup

    def setup(handler: Any) -> None:
        original_setup(handler)
        outage.connections.append(handler.connection)

    monkeypatch.setattr(MotoRequestHandler, "setup", setup)
    # One try per request in s3fs (and in botocore: FAST_FAILING), so that the reader's own retries are tested.
    monkeypatch.setattr(s3fs.S3FileSystem, "retries", 1)
    monkeypatch.setattr(_remote, "RETRY_DELAY", 0.2)
    monkeypatch.setattr(_remote, "READ_BLOCK_BYTES", 64 * 1024)  # many requests per shard
    try:
        yield outage
    finally:
        for timer in outage.timers:
            timer.join()
        outage.restart()


# botocore: one attempt per request, no retries of its own (s3fs: see `outage`).
FAST_FAILING = {"config_kwargs": {"retries": {"total_max_attempts": 1}}}


def read_with_a_cut(dataset: ShardDataset, outage: Outage, restart_after: float | None) -> list[int]:
    """The labels of an epoch, the connection cut after the 10th sample (mid-shard)."""
    seen = []
    for index, (_, label) in enumerate(dataset):
        seen.append(int(label))
        if index == 9:
            outage.cut(restart_after)
    return seen


def noisy_shards(tmp_path: Path, s3_bucket: str) -> str:
    """Two shards of 40 samples (about 500 KB each) in the bucket: eight reads of a shard at least."""
    return upload(numbered_set(tmp_path / "out", 80, max_count=40, dataset=Noisy(80)), f"{s3_bucket}/p")


def test_a_connection_cut_mid_shard_is_reopened_where_it_broke_off(
    tmp_path: Path, s3_bucket: str, outage: Outage, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = noisy_shards(tmp_path, s3_bucket)
    opened_at: list[int] = []
    original_open = _remote.RetryingReader._open

    def spying_open(reader: _remote.RetryingReader) -> Any:
        opened_at.append(reader.position)
        return original_open(reader)

    monkeypatch.setattr(_remote.RetryingReader, "_open", spying_open)
    dataset = ShardDataset(prefix, shuffle_buffer=0, retries=3, storage_options=FAST_FAILING)
    assert read_with_a_cut(dataset, outage, restart_after=0.5) == list(range(80))
    # Reopened mid-shard, where it broke off: the samples before were streamed, not fetched with the whole shard.
    shard_bytes = dataset.manifest.shards[0].bytes
    assert any(0 < position < shard_bytes for position in opened_at), opened_at
    assert not dataset.errors


def test_a_server_that_stays_down_names_the_shard_and_skip_records_it(
    tmp_path: Path, s3_bucket: str, outage: Outage
) -> None:
    prefix = noisy_shards(tmp_path, s3_bucket)
    raising = ShardDataset(prefix, shuffle_buffer=0, retries=1, storage_options=FAST_FAILING)
    skipping = ShardDataset(
        prefix, shuffle_buffer=0, retries=1, storage_options=FAST_FAILING, on_error="skip"
    )
    first = f"{prefix}/train-000000.tar"
    with pytest.raises(
        DownloadError,
        match=rf"{first}: cannot read the shard: the connection failed at byte [\d,]+ and 1 retry failed too "
        r"\(.*\); check the network .*; the (1\d|2\d|3\d) samples before the failure were read",
    ):
        read_with_a_cut(raising, outage, restart_after=None)
    # Down when the dataset is made: the listing, or the manifest of a pattern, is named.
    with pytest.raises(
        DownloadError, match=rf"{prefix}: cannot read the folder or prefix \(listing it\): \w+"
    ):
        ShardDataset(prefix, storage_options=FAST_FAILING)
    with pytest.raises(
        DownloadError,
        match=rf"{prefix}/train\.shards\.json: cannot read the shard manifest: the connection failed at byte 0 "
        "and 1 retry failed too",
    ):
        ShardDataset(f"{prefix}/train-{{000000..000001}}.tar", retries=1, storage_options=FAST_FAILING)
    outage.restart()
    # Skipped: the first shard where it broke off (the samples already fetched were read), the second
    # when it cannot be opened; the epoch ends.
    seen = read_with_a_cut(skipping, outage, restart_after=None)
    assert 10 <= len(seen) < 40 and seen == list(range(len(seen)))
    assert list(skipping.errors) == [first, f"{prefix}/train-000001.tar"]
    assert all("cannot read the shard: the connection failed" in text for text in skipping.errors.values())
    assert skipping.errors[first].endswith(f"; the {len(seen)} samples before the failure were read")


# ---------------------------------------------------------------- workers and ranks
def test_build_loader_workers_forked_after_the_parent_read_the_bucket_read_each_sample_once(
    tmp_path: Path, s3_bucket: str
) -> None:
    prefix = upload(numbered_set(tmp_path / "out", 40, max_count=5), f"{s3_bucket}/p")
    dataset = ShardDataset(prefix, shuffle_buffer=4, seed=1)
    assert len(labels(dataset)) == 40  # the parent's s3fs client and event loop exist before the fork
    loader = build_loader(dataset, batch_size=4, num_workers=2)
    epochs = [[int(label) for _, batch in loader for label in batch] for _ in range(2)]
    assert all(sorted(epoch) == list(range(40)) for epoch in epochs) and epochs[0] != epochs[1]


# ---------------------------------------------------------------- arguments, dependencies, local URLs
def test_arguments_are_checked_and_local_reading_needs_no_fsspec(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = numbered_set(tmp_path / "out", 4, max_count=2)
    with pytest.raises(ValueError, match=r"retries: expected an integer >= 0, got -1"):
        ShardDataset(out, retries=-1)
    with pytest.raises(TypeError, match=r"storage_options: expected a dict .* got str"):
        ShardDataset(out, storage_options="key=secret")  # type: ignore[arg-type]
    monkeypatch.setitem(sys.modules, "fsspec", None)  # as if it were not installed
    with pytest.raises(MissingDependencyError, match=r"install the cloud extra"):
        ShardDataset("s3://bucket/prefix", split="train")
    assert labels(ShardDataset(out, shuffle_buffer=0)) == [0, 1, 2, 3]
    assert labels(ShardDataset(f"file://{out}", shuffle_buffer=0)) == [0, 1, 2, 3]
    assert labels(ShardDataset(f"file://{out}/train-{{000000..000001}}.tar", shuffle_buffer=0)) == [
        0,
        1,
        2,
        3,
    ]


# ---------------------------------------------------------------- the benchmark still runs
def test_the_remote_shards_benchmark_runs(tmp_path: Path) -> None:
    pytest.importorskip("moto.server", reason="needs moto[server] (the dev extra)")
    pytest.importorskip("s3fs", reason="needs s3fs (the cloud extra)")
    output = run_script(
        "bench_shards_remote.py",
        "--samples",
        "40",
        "--shards",
        "2",
        "--rounds",
        "1",
        "--folder",
        str(tmp_path),
    )
    assert_header(output, 1)
    assert "40 JPEGs 500x375" in output and "2 shards" in output
    for contender in ("local disk", "S3 (moto server"):
        assert contender in output
    assert output.count("target >= 0.8x") == 2 and output.count("(rounds ") == 2
    assert "workers stay between epochs" in output
