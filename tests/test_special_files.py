"""Bad files a reader meets in the wild: FIFOs, devices, huge and sparse files, odd arguments, damaged headers.

Each of them must be refused with a message naming the file and the cause, before it is opened
(a FIFO would block), before it is read whole (``/dev/zero`` never ends), and without touching the
decompression-bomb limit other threads rely on. Tests that could hang run in a thread with a timeout.
"""

from __future__ import annotations

import io
import os
import struct
import threading
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from visiondata.datasets import ImageFolderDataset
from visiondata.datasets._check import check_dataset
from visiondata.exceptions import ImageReadError
from visiondata.io import read_image

TIMEOUT = 10.0


def finishes(function: Callable[[], Any], timeout: float = TIMEOUT) -> Any:
    """``function()``'s result or raised error; fails the test (instead of hanging it) if it blocks."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = function()
        except BaseException as error:
            outcome["error"] = error

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout)
    assert not worker.is_alive(), f"still running after {timeout} s: it blocks"
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def png(path: Path, size: tuple[int, int] = (6, 4), color: tuple[int, int, int] = (200, 10, 10)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)
    return path


def jpeg_bytes(seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)
    pixels = np.kron(blocks, np.ones((8, 8, 1), dtype=np.uint8))
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


# ---------------------------------------------------------------- special files are never opened
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "b.jpg"
    os.mkfifo(fifo)
    with pytest.raises(ImageReadError, match=r"b\.jpg: cannot read image: not a regular file \(a FIFO"):
        finishes(lambda: read_image(fifo))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_in_a_folder_dataset_is_skipped_under_skip_and_reported_by_check(tmp_path: Path) -> None:
    png(tmp_path / "cat" / "a.png")
    os.mkfifo(tmp_path / "cat" / "b.jpg")
    png(tmp_path / "cat" / "c.png", color=(0, 0, 255))
    dataset = ImageFolderDataset(tmp_path, on_error="skip")
    assert list(dataset.files) == ["a.png", "b.jpg", "c.png"]
    image, label = finishes(lambda: dataset[1])
    assert image[2, 0, 0] == 255 and label == 0  # the replacement: c.png
    assert "FIFO" in dataset.errors[dataset.path(1)]
    with pytest.raises(ImageReadError, match="FIFO"):
        finishes(lambda: ImageFolderDataset(tmp_path)[1])
    report = finishes(lambda: check_dataset(tmp_path, progress=False))
    assert [item["path"] for item in report.unreadable] == [os.path.join("cat", "b.jpg")]
    assert "not a regular file (a FIFO" in report.unreadable[0]["reason"]


def test_a_link_to_a_device_is_refused_before_reading(tmp_path: Path) -> None:
    link = tmp_path / "x.jpg"
    link.symlink_to("/dev/zero")
    with pytest.raises(ImageReadError, match="not a regular file \\(a character device"):
        finishes(lambda: read_image(link), timeout=5)


def test_a_file_above_max_bytes_is_refused_before_reading(tmp_path: Path) -> None:
    path = png(tmp_path / "a.png")
    size = path.stat().st_size
    with pytest.raises(
        ImageReadError, match=rf"file too large \({size:,} bytes, above the limit of {size - 1:,}\)"
    ):
        read_image(path, max_bytes=size - 1)
    assert read_image(path, max_bytes=size).shape == (3, 4, 6)


def test_a_huge_sparse_file_is_refused_at_once_by_the_default_limit(tmp_path: Path) -> None:
    path = tmp_path / "huge.jpg"
    with open(path, "wb") as stream:
        stream.truncate(3 << 30)  # sparse: 3 GiB long, no disk blocks
    with pytest.raises(ImageReadError, match=r"file too large \(3,221,225,472 bytes"):
        finishes(lambda: read_image(path), timeout=5)


def test_a_broken_link_is_named_as_such(tmp_path: Path) -> None:
    link = tmp_path / "gone.png"
    link.symlink_to(tmp_path / "missing.png")
    with pytest.raises(ImageReadError, match="broken symbolic link"):
        read_image(link)


# ---------------------------------------------------------------- what read_image accepts
@pytest.mark.parametrize("source", [0, 3, 1.5, None, ["a.png"]])
def test_read_image_refuses_what_is_not_a_path_bytes_or_a_file_object(source: Any) -> None:
    with pytest.raises(TypeError, match="expected a path, bytes or a binary file object"):
        read_image(source)


def test_read_image_takes_bytes_and_binary_file_objects_with_the_same_pixels(tmp_path: Path) -> None:
    path = png(tmp_path / "a.png", size=(5, 3))
    expected = read_image(path)
    assert read_image(path.read_bytes()).equal(expected)
    assert read_image(bytearray(path.read_bytes())).equal(expected)
    with open(path, "rb") as stream:
        assert read_image(stream).equal(expected)
    with pytest.raises(ImageReadError, match="<bytes>: cannot read image: empty file"):
        read_image(b"")
    with pytest.raises(ImageReadError, match="<bytes>: cannot read image: file too large"):
        read_image(path.read_bytes(), max_bytes=10)
    with open(path, encoding="latin-1") as text, pytest.raises(TypeError, match="binary mode"):
        read_image(text)


# ---------------------------------------------------------------- messages that say what is wrong
def _png_with_bad_header_checksum() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (1, 2, 3)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    data[29] ^= 0xFF  # the IHDR chunk's CRC (bytes 29-32)
    return bytes(data)


def test_a_png_with_a_damaged_chunk_is_called_corrupt_not_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "broken.png"
    path.write_bytes(_png_with_bad_header_checksum())
    with pytest.raises(ImageReadError) as caught:
        read_image(path)
    assert caught.value.reason == "corrupt file"
    assert "starts like a PNG file, but its header is damaged" in str(caught.value)
    assert "broken PNG file" in str(caught.value)  # PIL's own words for the checksum error
    text = tmp_path / "notes.png"
    text.write_text("just some text\n")
    with pytest.raises(ImageReadError, match="not an image"):
        read_image(text)


def test_check_flags_a_jpeg_that_libjpeg_decodes_only_with_a_warning(tmp_path: Path) -> None:
    good = jpeg_bytes()
    damaged = bytearray(good)
    middle = len(damaged) // 3
    damaged[middle : middle + 200] = bytes(200)
    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / "good.jpg").write_bytes(good)
    (tmp_path / "cat" / "zeroed.jpg").write_bytes(bytes(damaged))
    # Tolerant decoding gives its grey garbage; the default, strict, refuses it (as check does).
    assert read_image(bytes(damaged), strict=False).shape == (3, 256, 256)
    with pytest.raises(ImageReadError, match="corrupt JPEG data"):
        read_image(bytes(damaged))
    report = check_dataset(tmp_path, progress=False)
    assert [item["path"] for item in report.unreadable] == [os.path.join("cat", "zeroed.jpg")]
    reason = report.unreadable[0]["reason"]
    assert reason.startswith(str(tmp_path / "cat" / "zeroed.jpg") + ": cannot read image: corrupt JPEG data")
    assert "Corrupt JPEG data" in reason


# ---------------------------------------------------------------- the decompression-bomb limit and threads
def _bmp_header(width: int, height: int) -> bytes:
    """A 24-bit BMP's headers declaring ``width x height``, without the pixels (PIL checks the size at open)."""
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + len(info) + width * height * 3, 0, 0, 14 + len(info)) + info


def _png_of(width: int, height: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def test_a_larger_max_pixels_in_one_thread_does_not_lift_the_limit_for_another(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.bmp"
    bomb.write_bytes(_bmp_header(20_000, 20_000))  # 400 MP: above twice PIL's default limit
    trusted = tmp_path / "trusted.png"
    trusted.write_bytes(_png_of(600, 600, seed=1))
    pil_limit = Image.MAX_IMAGE_PIXELS
    stop = threading.Event()
    lifted_reads = [0]

    def read_trusted_with_a_larger_limit() -> None:
        while not stop.is_set():
            read_image(trusted, max_pixels=10**9)
            lifted_reads[0] += 1

    reader = threading.Thread(target=read_trusted_with_a_larger_limit, daemon=True)
    reader.start()
    try:
        reasons = []
        for _ in range(60):
            with pytest.raises(ImageReadError) as caught:
                read_image(bomb)
            reasons.append(caught.value.reason)
    finally:
        stop.set()
        reader.join(TIMEOUT)
    assert lifted_reads[0] > 0  # the other thread did run with its larger limit meanwhile
    assert set(reasons) == {"too large"}
    assert pil_limit == Image.MAX_IMAGE_PIXELS
    assert read_image(bomb.with_name("trusted.png"), max_pixels=10**9).shape == (3, 600, 600)


def test_pil_decodes_still_refuse_bombs_while_another_thread_decodes_a_trusted_large_image(
    tmp_path: Path,
) -> None:
    # The fast path's header check uses the user's limit even while PIL's global one is lifted.
    trusted = tmp_path / "trusted.png"
    trusted.write_bytes(_png_of(800, 800, seed=2))
    bomb = tmp_path / "bomb.png"
    header = (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", 13)
        + b"IHDR"
        + struct.pack(">IIBBBBB", 20_000, 20_000, 8, 2, 0, 0, 0)
    )
    bomb.write_bytes(header + struct.pack(">I", zlib.crc32(header[12:]) & 0xFFFFFFFF) + b"\x00" * 64)
    done = threading.Event()

    def trusted_loop() -> None:
        while not done.is_set():
            read_image(trusted, max_pixels=10**9)

    thread = threading.Thread(target=trusted_loop, daemon=True)
    thread.start()
    try:
        for _ in range(40):
            with pytest.raises(ImageReadError) as caught:
                read_image(bomb)
            assert caught.value.reason == "too large"
    finally:
        done.set()
        thread.join(TIMEOUT)
