"""``read_file`` reads what the file holds when it is opened, whatever size ``fstat`` gave."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from visiondata.exceptions import ImageReadError
from visiondata.io import _read
from visiondata.io._read import read_file


def shrink_fstat(monkeypatch: pytest.MonkeyPatch, by: int) -> None:
    """``os.fstat`` reports ``by`` bytes fewer than the file holds, as if it grew after the call."""
    real = os.fstat

    def fstat(descriptor: int) -> os.stat_result:
        info = list(real(descriptor))
        info[6] = max(0, info[6] - by)  # st_size
        return os.stat_result(info)

    monkeypatch.setattr(_read.os, "fstat", fstat)


def test_reads_the_whole_file(tmp_path: Path) -> None:
    for size in (1, 4095, 4096, 70_001):
        path = tmp_path / f"file-{size}"
        content = os.urandom(size)
        path.write_bytes(content)
        assert read_file(path) == content
        assert read_file(path, max_bytes=size) == content
        with pytest.raises(ImageReadError, match="file too large"):
            read_file(path, max_bytes=size - 1)


@pytest.mark.parametrize("by", [1, 1000, 70_000])
def test_a_file_that_grew_after_fstat_is_read_to_its_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, by: int
) -> None:
    path = tmp_path / "growing"
    content = os.urandom(70_000)
    path.write_bytes(content)
    shrink_fstat(monkeypatch, by)
    assert read_file(path) == content
    with pytest.raises(ImageReadError, match="file too large"):
        read_file(path, max_bytes=69_999)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux's")
def test_a_file_that_reports_size_zero_is_still_read() -> None:
    # /proc files are regular files whose st_size is 0.
    data = read_file("/proc/self/status")
    assert data.startswith(b"Name:") and len(data) > 100
