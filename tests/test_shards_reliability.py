"""Shards that must never be trusted when stale, never hang, never escape ``on_error``, never be buffered whole.

Issue 18, items 3, 7, 8, 15, 17 and 18 (the shard and ``export`` parts): a re-export switches to the new
set only when it is complete (the manifest last, old shards untouched until then); the manifest
identifies its shards (names, sizes, SHA-256) and a mismatch is named; crafted tar headers, JSON and
``.npy`` members become named errors that ``on_error="skip"`` records; members have a size limit; FIFOs
and devices are refused before opening; ``visiondata export`` reports every bad argument or output
without a traceback. Shards are real tar files (written by ``write_shards`` or crafted byte by byte);
what could hang or exhaust memory runs in a child process with a timeout and a memory limit.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import random
import struct
import tarfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from isolated import assert_clean_exit, run_isolated
from PIL import Image
from test_shards import folder, natural_jpeg
from torch.utils.data import Dataset

from visiondata.cli import main
from visiondata.datasets import ImageFolderDataset
from visiondata.exceptions import DatasetFormatError, ImageReadError, OutputConflictError
from visiondata.shards import ShardDataset, write_shards
from visiondata.shards._manifest import Manifest, ShardInfo

pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy:DeprecationWarning"
)
needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")


# ---------------------------------------------------------------- helpers: real shards, crafted byte by byte
def png_bytes(value: int = 0) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), (value, 10, 20)).save(buffer, "PNG")
    return buffer.getvalue()


def tar_header(name: str, size: int = 0, size_field: bytes | None = None) -> bytes:
    """A ustar header for ``name``; ``size_field`` replaces the 12-byte size field, with a valid checksum."""
    info = tarfile.TarInfo(name)
    info.size = size
    block = bytearray(info.tobuf(format=tarfile.USTAR_FORMAT)[:512])
    if size_field is not None:
        block[124:136] = size_field
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % sum(block)
    return bytes(block)


def tar_bytes(members: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def write_set(
    out: Path, shards: list[bytes], counts: list[int], task: str = "classification", suffix: str = ".tar"
) -> Path:
    """Shard files holding exactly ``shards`` and a manifest that lists them truly (size and SHA-256)."""
    out.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(task=task, classes=["a", "b"], image_mode="RGB", image_type="tensor")
    for number, (data, count) in enumerate(zip(shards, counts, strict=True)):
        name = f"train-{number:06d}{suffix}"
        (out / name).write_bytes(data)
        manifest.shards.append(ShardInfo(name, count, len(data), hashlib.sha256(data).hexdigest()))
    (out / "train.shards.json").write_text(manifest.to_json())
    return out


def sample(key: int, target: Any = None, image: bytes | None = None) -> list[tuple[str, bytes]]:
    members = [(f"{key:09d}.png", image if image is not None else png_bytes(key))]
    if target is None:
        members.append((f"{key:09d}.cls", str(key % 2).encode()))
    else:
        members.append(
            (f"{key:09d}.json", target if isinstance(target, bytes) else json.dumps(target).encode())
        )
    return members


def labels(dataset: ShardDataset) -> list[Any]:
    return [label for _, label in dataset]


class Shades(Dataset):
    """Tiny images whose pixels and labels say which export they came from."""

    def __init__(self, count: int, shade: int, label_offset: int = 0) -> None:
        self.count, self.shade, self.label_offset = count, shade, label_offset

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return torch.full((3, 4, 4), self.shade, dtype=torch.uint8), index + self.label_offset


# ---------------------------------------------------------------- item 3: re-export, stale manifests
def test_a_failed_reexport_leaves_the_previous_set_whole_and_readable(tmp_path: Path) -> None:
    old_root = folder(tmp_path / "old", count=8, classes=2)
    write_shards(ImageFolderDataset(old_root), tmp_path / "out" / "train-%06d.tar", max_count=3)
    before = {path.name: path.read_bytes() for path in (tmp_path / "out").iterdir()}
    expected = [(image, label) for image, label in ImageFolderDataset(old_root)]

    new_root = tmp_path / "new"
    for index in range(8):
        natural_jpeg(new_root / f"other{index % 4}" / f"{index:03d}.jpg", seed=100 + index)
    (new_root / "other3" / "007.jpg").write_bytes(b"not an image")  # the last one: after shards were written
    with pytest.raises(ImageReadError, match=r"007\.jpg"):
        write_shards(ImageFolderDataset(new_root), tmp_path / "out" / "train-%06d.tar", overwrite=True)

    after = {path.name: path.read_bytes() for path in (tmp_path / "out").iterdir()}
    assert after == before  # old shards and manifest byte for byte; no partial file left behind
    shards = ShardDataset(tmp_path / "out", split="train", shuffle_buffer=0)
    shards.verify()
    read = list(shards)
    assert len(read) == 8 and [label for _, label in read] == [label for _, label in expected]
    assert all(torch.equal(image, want) for (image, _), (want, _) in zip(read, expected, strict=True))


def test_a_failed_reexport_from_the_command_line_keeps_the_old_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old_root = folder(tmp_path / "old", count=4, classes=2)
    assert main(["export", str(old_root), str(tmp_path / "out")]) == 0
    manifest = (tmp_path / "out" / "train.shards.json").read_text()
    new_root = folder(tmp_path / "new", count=4, classes=4)
    (new_root / "class3" / "003.jpg").write_bytes(b"\xff\xd8\xff" + b"\0" * 50)
    capsys.readouterr()
    assert main(["export", str(new_root), str(tmp_path / "out"), "--overwrite"]) == 1
    assert "003.jpg" in capsys.readouterr().err
    assert (tmp_path / "out" / "train.shards.json").read_text() == manifest
    assert labels(ShardDataset(tmp_path / "out", shuffle_buffer=0)) == [0, 0, 1, 1]


def test_readers_during_a_reexport_read_the_old_set_untouched(tmp_path: Path) -> None:
    write_shards(Shades(6, shade=10), tmp_path / "out" / "train-%06d.tar", max_count=2)
    seen: list[list[Any]] = []

    class ReadsWhileWritten(Shades):
        def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
            if index == self.count - 1:  # every new shard but the last is written: a reader starts now
                reader = ShardDataset(tmp_path / "out", shuffle_buffer=0)
                seen.append([(int(image[0, 0, 0]), label) for image, label in reader])
            return super().__getitem__(index)

    report = write_shards(
        ReadsWhileWritten(6, shade=200, label_offset=50),
        tmp_path / "out" / "train-%06d.tar",
        max_count=2,
        overwrite=True,
    )
    assert seen == [[(10, index) for index in range(6)]]  # the old set, whole, with its own labels
    assert report.count == 6
    assert [
        (int(image[0, 0, 0]), label) for image, label in ShardDataset(tmp_path / "out", shuffle_buffer=0)
    ] == [(200, 50 + index) for index in range(6)]


def test_an_existing_export_of_the_split_is_refused_unless_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_shards(Shades(5, shade=1), tmp_path / "out" / "train-%06d.tar", max_count=2)
    with pytest.raises(OutputConflictError, match=r"train\.shards\.json.*overwrite=True \(--overwrite\)"):
        write_shards(Shades(2, shade=2), tmp_path / "out" / "train-%06d.tar")
    write_shards(Shades(2, shade=3), tmp_path / "out" / "val-%06d.tar")  # another split is no conflict
    # Shard files of the set without a manifest (an export of an older version, stopped) count too.
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "train-000000.tar").write_bytes(tar_bytes(sample(0)))
    with pytest.raises(OutputConflictError, match=r"1 shard files \(train-000000\.tar"):
        write_shards(Shades(2, shade=2), tmp_path / "other" / "train-%06d.tar")

    root = folder(tmp_path / "photos", count=3)
    capsys.readouterr()
    assert main(["export", str(root), str(tmp_path / "out")]) == 1
    assert "--overwrite" in capsys.readouterr().err
    assert main(["export", str(root), str(tmp_path / "out"), "--overwrite"]) == 0
    names = sorted(path.name for path in (tmp_path / "out").iterdir())
    assert names == ["train-000000.tar", "train.shards.json", "val-000000.tar", "val.shards.json"]
    assert labels(ShardDataset(tmp_path / "out", split="train", shuffle_buffer=0)) == [0, 1, 2]
    assert labels(ShardDataset(tmp_path / "out", split="val", shuffle_buffer=0)) == [0, 1]


def test_the_manifest_identifies_each_shard_by_size_and_sha256(tmp_path: Path) -> None:
    report = write_shards(Shades(5, shade=7), tmp_path / "out" / "train-%06d.tar", max_count=2)
    content = json.loads(Path(report.manifest).read_text())
    for entry, path in zip(content["shards"], report.shards, strict=True):
        data = Path(path).read_bytes()
        assert entry["bytes"] == len(data) and entry["sha256"] == hashlib.sha256(data).hexdigest()


def test_a_shard_replaced_cut_missing_or_extra_is_an_error_naming_it(tmp_path: Path) -> None:
    report = write_shards(Shades(6, shade=7), tmp_path / "out" / "train-%06d.tar", max_count=2)
    first, second, third = (Path(path) for path in report.shards)
    # Replaced by a file of the same size (another export's shard): the size cannot tell, verify() can,
    # and reading gives the other labels only under the checksum's eye.
    other = write_shards(
        Shades(6, shade=9, label_offset=1), tmp_path / "other" / "train-%06d.tar", max_count=2
    )
    original = second.read_bytes()
    second.write_bytes(Path(other.shards[1]).read_bytes())
    assert len(original) == second.stat().st_size
    shards = ShardDataset(tmp_path / "out", shuffle_buffer=0)
    with pytest.raises(
        DatasetFormatError,
        match=r"train-000001\.tar: expected the shard .*\(sha256 \w+\.\.\.\), got another file",
    ):
        shards.verify()
    second.write_bytes(original)
    # Cut short: named when the dataset is created.
    third.write_bytes(third.read_bytes()[:-1024])
    with pytest.raises(
        DatasetFormatError, match=r"train-000002\.tar: expected the shard .* got [\d,]+ bytes"
    ):
        ShardDataset(tmp_path / "out", shuffle_buffer=0)
    # Missing.
    third.unlink()
    with pytest.raises(DatasetFormatError, match=r"train-000002\.tar: expected the shard .* found nothing"):
        ShardDataset(tmp_path / "out", shuffle_buffer=0)
    # Extra: a shard file of the set that the manifest does not list.
    third.write_bytes(Path(report.shards[0]).read_bytes())
    (tmp_path / "out" / "train-000003.tar").write_bytes(first.read_bytes())
    with pytest.raises(
        DatasetFormatError, match=r"train-000003\.tar: a shard file of the set .* does not list"
    ):
        ShardDataset(tmp_path / "out", shuffle_buffer=0)


def test_a_shard_replaced_while_a_reader_holds_the_manifest_is_named(tmp_path: Path) -> None:
    write_shards(Shades(4, shade=7), tmp_path / "out" / "train-%06d.tar", max_count=2)
    reader = ShardDataset(tmp_path / "out", shuffle_buffer=0)
    assert labels(reader) == [0, 1, 2, 3]
    write_shards(Shades(6, shade=8), tmp_path / "out" / "train-%06d.tar", max_count=3, overwrite=True)
    # The next epoch: new shards, old manifest. Small shards are padded to the same size, so here the
    # count tells, and the checksum says why.
    with pytest.raises(
        DatasetFormatError, match=r"train-000000\.tar: damaged shard: it holds more than 2 .*SHA-256 differs"
    ):
        labels(reader)
    # Shards of another size are named before a byte is read.
    write_shards(Shades(60, shade=8), tmp_path / "out" / "train-%06d.tar", max_count=60, overwrite=True)
    with pytest.raises(DatasetFormatError, match=r"train-000000\.tar: expected the shard .* bytes\), got"):
        labels(reader)


def test_a_damaged_shard_says_whether_it_was_written_that_way(tmp_path: Path) -> None:
    report = write_shards(Shades(2, shade=7), tmp_path / "out" / "train-%06d.tar")
    shard = Path(report.shards[0])
    data = bytearray(shard.read_bytes())
    data[600:1100] = os.urandom(500)  # inside the first member's data and the next header: same size
    data[512 * 3 + 148] = ord("x")  # a damaged checksum field in the second member's header
    shard.write_bytes(bytes(data))
    with pytest.raises(DatasetFormatError, match=r"train-000000\.tar: damaged shard: .*SHA-256 differs"):
        labels(ShardDataset(tmp_path / "out", shuffle_buffer=0))


def test_source_split_is_the_split_name_or_null_never_a_method_repr(tmp_path: Path) -> None:
    class WithSplitMethod(Shades):
        def split(self, fraction: float) -> None:
            """A method called split, as some datasets have."""

    class Named(Shades):
        split = "val"

    write_shards(WithSplitMethod(2, shade=1), tmp_path / "a" / "train-%06d.tar")
    write_shards(Named(2, shade=1), tmp_path / "b" / "val-%06d.tar")
    assert json.loads((tmp_path / "a" / "train.shards.json").read_text())["source"]["split"] is None
    assert json.loads((tmp_path / "b" / "val.shards.json").read_text())["source"]["split"] == "val"


# ---------------------------------------------------------------- item 8: crafted shards, member limits
def _one_bad_between_good(out: Path, bad: list[tuple[str, bytes]]) -> Path:
    return write_set(out, [tar_bytes(sample(0) + bad + sample(2))], [3])


@pytest.mark.parametrize(
    ("name", "target", "match"),
    [
        ("unknown dtype", {"target": {"__tensor__": "Tensor", "shape": [1], "values": [1]}}, "torch dtype"),
        (
            "attribute dtype",
            {"target": {"__tensor__": "nonsense", "shape": [1], "values": [1]}},
            "torch dtype",
        ),
        ("wrong shape", {"target": {"__tensor__": "int64", "shape": [2, 2], "values": [1, 2, 3]}}, "shape"),
        ("negative shape", {"target": {"__tensor__": "int64", "shape": [-1], "values": [1]}}, "shape"),
        (
            "not numbers",
            {"target": {"__tensor__": "int64", "shape": [1], "values": ["x"]}},
            "cannot be rebuilt",
        ),
        (
            "overflow",
            {"target": {"__tensor__": "int64", "shape": [1], "values": [2**70]}},
            "cannot be rebuilt",
        ),
        (
            "boxes of 3",
            {
                "target": {
                    "boxes": {
                        "__boxes__": "XYXY",
                        "__tensor__": "float32",
                        "shape": [1, 3],
                        "values": [[1, 2, 3]],
                    }
                }
            },
            r"\(N, 4\)",
        ),
        (
            "box format",
            {
                "target": {
                    "boxes": {
                        "__boxes__": "ABCD",
                        "__tensor__": "float32",
                        "shape": [1, 4],
                        "values": [[1, 2, 3, 4]],
                    }
                }
            },
            "box format",
        ),
        ("no target", {"other": 1}, "target"),
        ("deep JSON", b'{"target": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
        ("not UTF-8", b'{"target": "\xff\xfe"}', "cannot be rebuilt"),
        ("missing npy", {"target": {"__tensor__": "uint8", "member": "masks.npy"}}, "cannot be rebuilt"),
    ],
)
def test_a_bad_json_target_is_a_named_error_that_skip_records(
    tmp_path: Path, name: str, target: Any, match: str
) -> None:
    payload = target if isinstance(target, bytes) else json.dumps(target).encode()
    out = _one_bad_between_good(
        tmp_path / "out", [("000000001.png", png_bytes()), ("000000001.json", payload)]
    )
    with pytest.raises(ImageReadError, match=rf"train-000000\.tar: key 000000001\.json: .*{match}"):
        labels(ShardDataset(out, shuffle_buffer=0))
    skipping = ShardDataset(out, shuffle_buffer=0, on_error="skip")
    assert labels(skipping) == [0, 0]
    assert list(skipping.errors) == [f"{out / 'train-000000.tar'}: key 000000001"]


def test_an_npy_member_declaring_10_to_the_10_bytes_is_refused_without_allocating(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((2, 3), np.uint8))
    header_end = buffer.getvalue().index(b"\n") + 1
    header = buffer.getvalue()[:header_end].replace(b"(2, 3)", b"(100000, 100000)")
    header = header[:8] + struct.pack("<H", len(header) - 10) + header[10:]
    target = {"target": {"__tensor__": "uint8", "member": "masks.npy"}}
    out = _one_bad_between_good(
        tmp_path / "out",
        [
            ("000000001.png", png_bytes()),
            ("000000001.json", json.dumps(target).encode()),
            ("000000001.masks.npy", header + bytes(6)),
        ],
    )
    result = run_isolated(
        f"""
        from visiondata.shards import ShardDataset
        shards = ShardDataset({str(out)!r}, shuffle_buffer=0, on_error="skip")
        assert [label for _, label in shards] == [0, 0], shards.errors
        (cause,) = shards.errors.values()
        assert "declares shape (100000, 100000)" in cause and "holds 6 bytes" in cause, cause
        """,
        timeout=60,
        memory_bytes=4 << 30,
    )
    assert_clean_exit(result)


def _shard_with_header(size_field: bytes) -> bytes:
    # The first sample and the second's image, without the end-of-archive blocks, then a bad header.
    good = tar_bytes(sample(0) + sample(1)[:1]).rstrip(b"\0")
    good += bytes(-len(good) % 512)
    return good + tar_header("000000001.json", size_field=size_field) + bytes(2048) + tar_bytes(sample(2))


@pytest.mark.parametrize(
    ("size_field", "match"),
    [
        (b"\xff" + b"\xff" * 10 + b"\x00", "negative size"),  # base-256, negative
        (b"zz9\0" + b"\0" * 8, "size field is .* expected an octal number"),
        (b"\x80" + (3 << 30).to_bytes(11, "big"), r"declares 3,221,225,472 bytes, above the limit"),
    ],
)
def test_bad_member_sizes_in_tar_headers_are_named_and_skippable(
    tmp_path: Path, size_field: bytes, match: str
) -> None:
    out = write_set(tmp_path / "out", [_shard_with_header(size_field)], [3])
    with pytest.raises(DatasetFormatError, match=rf"train-000000\.tar: damaged shard: .*{match}"):
        labels(ShardDataset(out, shuffle_buffer=0))
    skipping = ShardDataset(out, shuffle_buffer=0, on_error="skip")
    assert labels(skipping) == [0]  # the sample before it; the rest of the shard cannot be found
    assert list(skipping.errors) == [str(out / "train-000000.tar")]


@pytest.mark.parametrize("compressed", [False, True])
def test_garbage_bytes_as_a_shard_are_a_named_error_that_skip_records(
    tmp_path: Path, compressed: bool
) -> None:
    garbage = np.random.default_rng(0).integers(0, 256, 20_000, dtype=np.uint8).tobytes()
    if compressed:
        garbage = b"\x1f\x8b" + garbage  # looks like gzip, is not
    out = write_set(tmp_path / "out", [garbage, tar_bytes(sample(5))], [4, 1])
    with pytest.raises(DatasetFormatError, match=r"train-000000\.tar: damaged shard"):
        labels(ShardDataset(out, shuffle_buffer=0))
    skipping = ShardDataset(out, shuffle_buffer=0, on_error="skip")
    assert labels(skipping) == [1] and list(skipping.errors) == [str(out / "train-000000.tar")]


def test_a_gzip_shard_with_a_huge_member_is_refused_from_its_header(tmp_path: Path) -> None:
    # 80 MiB of zeros in a JSON member: 80 KB compressed. The header's size is above the default
    # limit for JSON members (64 MiB), so not a byte of it is decompressed.
    huge = 80 << 20
    stream = io.BytesIO()
    with gzip.GzipFile(fileobj=stream, mode="wb", compresslevel=1) as archive:
        good = tar_bytes(sample(0) + sample(1)[:1]).rstrip(b"\0")
        archive.write(good + bytes(-len(good) % 512))
        archive.write(tar_header("000000001.json", size=huge))
        zeros = bytes(1 << 20)
        for _ in range(huge >> 20):
            archive.write(zeros)
        archive.write(bytes(1024))
    out = write_set(tmp_path / "out", [stream.getvalue()], [2], suffix=".tar.gz")
    assert (out / "train-000000.tar.gz").stat().st_size < 1 << 20
    skipping = ShardDataset(out, shuffle_buffer=0, on_error="skip")
    assert labels(skipping) == [0]
    (cause,) = skipping.errors.values()
    assert "member 000000001.json declares 83,886,080 bytes, above the limit of 67,108,864" in cause
    # The limit is the caller's: an image member above max_member_bytes is refused the same way.
    small = write_set(
        tmp_path / "small", [tar_bytes(sample(0) + sample(1, image=png_bytes() + bytes(5000)))], [2]
    )
    with pytest.raises(
        DatasetFormatError, match=r"member 000000001\.png declares 5,\d+ bytes, above the limit of 4,096"
    ):
        labels(ShardDataset(small, shuffle_buffer=0, max_member_bytes=4096))
    assert labels(ShardDataset(small, shuffle_buffer=0)) == [0, 1]
    with pytest.raises(ValueError, match="max_member_bytes: expected a positive integer"):
        ShardDataset(small, max_member_bytes=0)


def test_a_manifest_that_under_counts_is_caught_and_no_extra_sample_is_yielded(tmp_path: Path) -> None:
    report = write_shards(Shades(6, shade=1), tmp_path / "out" / "train-%06d.tar", max_count=3)
    manifest = Path(report.manifest)
    content = json.loads(manifest.read_text())
    content["shards"][0]["count"] = 2  # the shard holds 3
    manifest.write_text(json.dumps(content))
    with pytest.raises(
        DatasetFormatError, match=r"train-000000\.tar: damaged shard: it holds more than 2 samples"
    ):
        labels(ShardDataset(tmp_path / "out", shuffle_buffer=0))
    skipping = ShardDataset(tmp_path / "out", shuffle_buffer=0, on_error="skip")
    assert labels(skipping) == [0, 1, 3, 4, 5] and len(skipping) == 5
    assert list(skipping.errors) == [report.shards[0]]
    # Through a pipe, where nothing can be stat-ed, the count still tells.
    piped = ShardDataset(
        [f"pipe:cat {path}" for path in report.shards], manifest=report.manifest, shuffle_buffer=0
    )
    with pytest.raises(DatasetFormatError, match="it holds more than 2 samples"):
        labels(piped)


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("name", "../../etc/passwd", "a file name beside the manifest"),
        ("name", "sub/train-000000.tar", "a file name beside the manifest"),
        ("count", -1, "an integer >= 0"),
        ("bytes", "12", "an integer >= 0"),
        ("sha256", "abc", "64 lowercase hex digits"),
    ],
)
def test_a_manifest_with_bad_shard_entries_is_refused(
    tmp_path: Path, field: str, value: Any, match: str
) -> None:
    report = write_shards(Shades(2, shade=1), tmp_path / "out" / "train-%06d.tar")
    content = json.loads(Path(report.manifest).read_text())
    content["shards"][0][field] = value
    Path(report.manifest).write_text(json.dumps(content))
    with pytest.raises(DatasetFormatError, match=rf"train\.shards\.json: shard manifest field .*{match}"):
        ShardDataset(tmp_path / "out", shuffle_buffer=0)


def test_a_deeply_nested_or_binary_manifest_is_a_named_error(tmp_path: Path) -> None:
    (tmp_path / "deep.shards.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(DatasetFormatError, match="nested too deeply"):
        ShardDataset(tmp_path, split="deep")
    (tmp_path / "binary.shards.json").write_bytes(b"\xff\xfe{}")
    with pytest.raises(DatasetFormatError, match="UTF-8"):
        ShardDataset(tmp_path, split="binary")


# ---------------------------------------------------------------- item 7: FIFOs and devices
@needs_fifo
def test_a_fifo_or_a_link_to_dev_zero_as_a_shard_is_refused_before_opening(tmp_path: Path) -> None:
    out = write_set(tmp_path / "out", [tar_bytes(sample(0)), tar_bytes(sample(1))], [1, 1])
    (out / "train-000000.tar").unlink()
    os.mkfifo(out / "train-000000.tar")
    (out / "train-000001.tar").unlink()
    (out / "train-000001.tar").symlink_to("/dev/zero")
    result = run_isolated(
        f"""
        import pytest
        from visiondata.exceptions import DatasetFormatError
        from visiondata.shards import ShardDataset
        for urls in ({str(out)!r}, {str(out / "train-000000.tar")!r}):
            with pytest.raises(DatasetFormatError, match="expected a shard [(]a regular tar file[)], got a FIFO"):
                ShardDataset(urls, shuffle_buffer=0)
        with pytest.raises(DatasetFormatError, match="train-000001.tar: expected a shard .*, got a character device"):
            ShardDataset([{str(out / "train-000001.tar")!r}], manifest={str(out / "train.shards.json")!r})
        """,
        timeout=60,
    )
    assert_clean_exit(result)


@needs_fifo
def test_a_fifo_or_a_link_to_dev_zero_as_a_manifest_is_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "train.shards.json")
    (tmp_path / "val.shards.json").symlink_to("/dev/zero")
    result = run_isolated(
        f"""
        import pytest
        from visiondata.exceptions import DatasetFormatError
        from visiondata.shards import ShardDataset
        with pytest.raises(DatasetFormatError, match="shard manifest: expected a regular file, got a FIFO"):
            ShardDataset({str(tmp_path)!r}, split="train")
        with pytest.raises(DatasetFormatError, match="shard manifest: expected a regular file, got a character"):
            ShardDataset({str(tmp_path)!r}, split="val")
        # Replacing the set is refused without overwrite, and never opens the FIFO with it.
        import torch
        from visiondata.exceptions import OutputConflictError
        from visiondata.shards import write_shards
        images = [(torch.zeros(3, 2, 2, dtype=torch.uint8), 0)]
        with pytest.raises(OutputConflictError, match="train.shards.json"):
            write_shards(images, {str(tmp_path / "train-%06d.tar")!r})
        write_shards(images, {str(tmp_path / "train-%06d.tar")!r}, overwrite=True)
        assert len(ShardDataset({str(tmp_path)!r}, split="train")) == 1
        """,
        timeout=60,
    )
    assert_clean_exit(result)


# ---------------------------------------------------------------- items 15, 17, 18: visiondata export
@pytest.mark.parametrize(
    ("arguments", "match"),
    [
        (["--workers", "-1"], "argument --workers/--num-workers: expected an integer >= 0"),
        (["--quality", "101"], "argument --quality: expected an integer from 1 to 100"),
        (["--quality", "0"], "argument --quality: expected an integer from 1 to 100"),
        (["--split", "a%d"], "argument --split: expected a split name"),
        (["--split", "../x"], "argument --split: expected a split name"),
        (["--split", "a/b"], "argument --split: expected a split name"),
        (["--split", ".."], "argument --split: expected a split name"),
    ],
)
def test_export_refuses_bad_arguments_with_usage_and_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], match: str
) -> None:
    root = folder(tmp_path / "photos", count=2)
    with pytest.raises(SystemExit) as exited:
        main(["export", str(root), str(tmp_path / "out"), *arguments])
    error = capsys.readouterr().err
    assert exited.value.code == 2 and "usage: visiondata export" in error and match in error
    assert not (tmp_path / "out").exists()


def test_export_refuses_an_output_that_is_no_folder_or_is_the_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = folder(tmp_path / "photos", count=2)
    (tmp_path / "labels.csv").write_text("image,label\nphotos/class0/000.jpg,cat\n")
    csv_before = (tmp_path / "labels.csv").read_bytes()
    cases = [
        (
            [str(tmp_path / "labels.csv"), str(tmp_path / "labels.csv")],
            "expected a folder, got a regular file",
        ),
        ([str(root), "/dev/null"], "expected a folder, got a character device"),
        ([str(root), "/dev/null/shards"], "it lies under /dev/null, which is a character device"),
        ([str(root), str(root / "class0")], "lies inside the input"),
        ([str(root), str(root)], "is or lies inside the input"),
    ]
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo")
        cases.append(([str(root), str(tmp_path / "fifo")], "expected a folder, got a FIFO"))
    for arguments, match in cases:
        assert main(["export", *arguments]) == 1, arguments
        error = capsys.readouterr().err
        assert error.startswith("visiondata: error: ") and match in error and "Traceback" not in error
    assert (tmp_path / "labels.csv").read_bytes() == csv_before
    assert sorted(path.name for path in (root / "class0").iterdir()) == ["000.jpg"]
    # Beside the input (OUT holds it) is fine.
    assert main(["export", str(root), str(tmp_path)]) == 0


def test_write_shards_refuses_a_folder_that_is_no_folder(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("data")
    for pattern, match in [
        ("/dev/null/train-%06d.tar", "expected a folder, got a character device"),
        ("/dev/null/sub/train-%06d.tar", "it lies under /dev/null, which is a character device"),
        (str(tmp_path / "file" / "train-%06d.tar"), "expected a folder, got a regular file"),
    ]:
        with pytest.raises(OutputConflictError, match=match):
            write_shards(Shades(1, shade=1), pattern)
    assert (tmp_path / "file").read_text() == "data"


def _bomb_png(path: Path, side: int = 30_000) -> None:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = zlib.compress(b"\0" * (side + 1) * 8)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", rows)
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("bad", ["bomb", "truncated", "garbage"])
def test_export_skip_bad_skips_and_reports_unreadable_images_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: str
) -> None:
    root = folder(tmp_path / "photos", count=4, classes=2)
    target = root / "class1" / "003.jpg"
    if bad == "bomb":
        target.unlink()
        target = root / "class1" / "003.png"
        _bomb_png(target)
    elif bad == "truncated":
        target.write_bytes(target.read_bytes()[: len(target.read_bytes()) // 2])
    else:
        target.write_bytes(os.urandom(2000))
    assert main(["export", str(root), str(tmp_path / "out"), "--skip-bad"]) == 0
    out = capsys.readouterr().out
    assert (
        "3 samples in 1 shards" in out and "1 skipped" in out and f"{target.name}: cannot read image" in out
    )
    manifest = json.loads((tmp_path / "out" / "train.shards.json").read_text())
    assert [item["index"] for item in manifest["skipped"]] == [3]
    assert labels(ShardDataset(tmp_path / "out", shuffle_buffer=0)) == [0, 0, 1]
    assert main(["export", str(root), str(tmp_path / "strict")]) == 1
    error = capsys.readouterr().err
    assert f"{target.name}: cannot read image" in error and "Traceback" not in error
    assert not (tmp_path / "strict" / "train.shards.json").exists()


def test_export_skip_bad_leaves_out_a_jpeg_corrupt_in_the_middle(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "photos"
    for index in range(3):
        natural_jpeg(root / f"class{index % 2}" / f"{index:03d}.jpg", seed=index, size=(160, 120))
    target = root / "class0" / "002.jpg"
    data = bytearray(target.read_bytes())
    middle = len(data) // 2
    # Fixed bytes: libjpeg decodes them with a warning (damaged pixels); some random draws decode cleanly.
    data[middle : middle + 200] = random.Random(2).randbytes(200)
    target.write_bytes(bytes(data))
    assert main(["export", str(root), str(tmp_path / "out"), "--skip-bad"]) == 0
    assert "1 skipped" in capsys.readouterr().out
    assert labels(ShardDataset(tmp_path / "out", shuffle_buffer=0)) == [0, 1]


def test_overwrite_removes_only_the_old_sets_shards_not_files_that_merely_look_alike(tmp_path: Path) -> None:
    report = write_shards(Shades(6, shade=1), tmp_path / "out" / "train-%06d.tar", max_count=2)
    (tmp_path / "out" / "train.tar").write_bytes(b"an archive of the user's")  # no shard number
    (tmp_path / "out" / "train-2019.tar").write_bytes(b"a backup")  # not what train-%06d.tar names
    again = write_shards(Shades(2, shade=2), tmp_path / "out" / "train-%06d.tar", overwrite=True)
    assert sorted(Path(path).name for path in again.replaced) == ["train-000001.tar", "train-000002.tar"]
    assert len(report.shards) == 3
    names = sorted(path.name for path in (tmp_path / "out").iterdir())
    assert names == ["train-000000.tar", "train-2019.tar", "train.shards.json", "train.tar"]
    # A reader of the folder names the look-alike that holds digits like a shard: it is not in the set.
    with pytest.raises(DatasetFormatError, match=r"train-2019\.tar: a shard file of the set"):
        ShardDataset(tmp_path / "out", shuffle_buffer=0)
    (tmp_path / "out" / "train-2019.tar").unlink()
    assert labels(ShardDataset(tmp_path / "out", shuffle_buffer=0)) == [0, 1]
