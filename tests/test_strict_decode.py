"""One definition of an unreadable image (issue 18, item 18), and ``check`` on special files (item 15).

A JPEG with 200 bytes zeroed in the middle of its scan decodes in libjpeg with a warning only; PIL and
torchvision return its damaged pixels without a word. ``read_image`` decodes strictly by default, so
the readers, ``visiondata check`` and ``export --skip-bad`` all call such a file unreadable; a
documented switch (``strict=False``, ``set_strict_decode``, ``VISIONDATA_STRICT_DECODE=0``) decodes it
as libjpeg recovers it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import struct
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from isolated import assert_clean_exit, run_isolated
from PIL import Image, ImageFile

from visiondata import CSVDataset, ImageFolderDataset
from visiondata.cli import main
from visiondata.datasets._check import check_dataset
from visiondata.exceptions import ImageReadError
from visiondata.io import read_image, set_strict_decode, strict_decode


# ---------------------------------------------------------------- files, in their real formats
def natural(width: int = 224, height: int = 224, mode: str = "RGB") -> Image.Image:
    """Smooth gradients with some noise: compresses like a photo, so the scan is long."""
    rng = np.random.default_rng(width * 7 + height)
    channels = len(mode)
    noise = rng.integers(0, 256, (height, width, channels))
    pixels = np.clip(np.cumsum(noise, axis=1) // 100, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels if channels > 1 else pixels[:, :, 0], mode)


def jpeg_bytes(mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    natural(mode=mode).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    natural().save(buffer, "PNG")
    return buffer.getvalue()


def mid_corrupt_jpeg(mode: str = "RGB") -> bytes:
    """200 bytes overwritten (zeroed) in the middle of the entropy-coded data, as in the issue."""
    data = bytearray(jpeg_bytes(mode))
    middle = len(data) // 2
    assert data.index(b"\xff\xda") < middle  # inside the scan, after every header
    data[middle : middle + 200] = bytes(200)
    return bytes(data)


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    chunks, position = [], 8
    while position < len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        chunks.append((data[position + 4 : position + 8], data[position + 8 : position + 8 + length]))
        position += 12 + length
    return chunks


def png_chunk(kind: bytes, payload: bytes, crc: int | None = None) -> bytes:
    value = zlib.crc32(kind + payload) if crc is None else crc
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", value)


def bad_crc_png() -> bytes:
    """The image data split over four IDAT chunks, the second with a wrong CRC (its bytes intact)."""
    out = [png_bytes()[:8]]
    for kind, payload in png_chunks(png_bytes()):
        if kind != b"IDAT":
            out.append(png_chunk(kind, payload))
            continue
        quarter = len(payload) // 4
        parts = [payload[:quarter], payload[quarter : 2 * quarter], payload[2 * quarter : 3 * quarter]]
        parts.append(payload[3 * quarter :])
        out += [png_chunk(kind, part, 0xDEADBEEF if index == 1 else None) for index, part in enumerate(parts)]
    return b"".join(out)


DAMAGED: dict[str, tuple[Callable[[], bytes], str, str]] = {
    # name: (content, reason, text the message holds)
    "mid-corrupt.jpg": (mid_corrupt_jpeg, "corrupt JPEG data", "Corrupt JPEG data"),
    "truncated.jpg": (lambda: jpeg_bytes()[: len(jpeg_bytes()) * 2 // 3], "truncated file", ""),
    "truncated.png": (lambda: png_bytes()[: len(png_bytes()) * 2 // 3], "truncated file", ""),
    "bad-crc.png": (bad_crc_png, "corrupt file", "CRC mismatch"),
    "zero-bytes.jpg": (lambda: b"", "empty file (0 bytes)", ""),
    "text.jpg": (lambda: b"This is a text file,\nnot a JPEG.\n", "not an image", "looks like text"),
}


@pytest.fixture
def restore_strict_default() -> Iterator[None]:
    previous = strict_decode()
    yield
    set_strict_decode(previous)


def read_error(source: object, **kwargs: object) -> ImageReadError:
    with pytest.raises(ImageReadError) as caught:
        read_image(source, **kwargs)  # type: ignore[arg-type]
    return caught.value


# ---------------------------------------------------------------- read_image
def test_pil_decodes_the_silent_cases_without_an_error() -> None:
    # The premise of the item: without a strict decode these files give pixels, not an error.
    for data in (mid_corrupt_jpeg(), bad_crc_png()):
        with Image.open(io.BytesIO(data)) as image:
            image.load()


@pytest.mark.parametrize("name", sorted(DAMAGED))
def test_read_image_refuses_each_damaged_file(tmp_path: Path, name: str) -> None:
    content, reason, text = DAMAGED[name]
    path = tmp_path / name
    path.write_bytes(content())
    error = read_error(path)
    assert error.reason == reason
    assert text in str(error)
    assert str(path) in str(error)


def test_corrupt_jpeg_error_carries_libjpegs_message(tmp_path: Path) -> None:
    path = tmp_path / "a.jpg"
    path.write_bytes(mid_corrupt_jpeg())
    error = read_error(path)
    assert error.reason == "corrupt JPEG data"
    assert "premature end of data segment" in error.detail


@pytest.mark.parametrize("output", ["tensor", "numpy", "pil"])
@pytest.mark.parametrize("mode", ["RGB", "L", "unchanged"])
def test_every_mode_and_output_is_strict(mode: str, output: str) -> None:
    assert read_error(mid_corrupt_jpeg(), mode=mode, output=output).reason == "corrupt JPEG data"


@pytest.mark.parametrize("strict", [True, False])
def test_libjpeg_never_prints_to_stderr(capfd: pytest.CaptureFixture[str], strict: bool) -> None:
    # torchvision's decode_jpeg printed "Corrupt JPEG data: ..." from C, on the process's stderr.
    with pytest.raises(ImageReadError) if strict else contextlib.nullcontext():
        read_image(mid_corrupt_jpeg(), strict=strict)
    captured = capfd.readouterr()
    assert "Corrupt JPEG" not in captured.err + captured.out


def test_tolerant_decode_gives_libjpegs_recovered_pixels() -> None:
    data = mid_corrupt_jpeg()
    image = read_image(data, strict=False, output="numpy")
    with Image.open(io.BytesIO(data)) as opened:
        assert np.array_equal(image, np.asarray(opened.convert("RGB")))  # what PIL gives, damage and all


def test_clean_files_decode_the_same_strict_or_tolerant() -> None:
    for data in (jpeg_bytes(), jpeg_bytes("L"), png_bytes()):
        assert np.array_equal(read_image(data, strict=True), read_image(data, strict=False))


def test_tolerant_decode_still_refuses_a_truncated_jpeg_unless_pil_is_told(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    truncated = DAMAGED["truncated.jpg"][0]()
    assert read_error(truncated, strict=False).reason == "truncated file"
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    assert read_image(truncated, strict=False).shape == (3, 224, 224)


@pytest.mark.parametrize("name", ["truncated.png", "truncated.jpg", "truncated.bmp", "bad-crc.png"])
def test_strict_ignores_load_truncated_images_and_restores_it(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    if name == "truncated.bmp":
        buffer = io.BytesIO()
        natural().save(buffer, "BMP")
        data = buffer.getvalue()[: len(buffer.getvalue()) // 2]
    else:
        data = DAMAGED[name][0]()
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with Image.open(io.BytesIO(data)) as image:
        image.load()  # PIL, told to, pads the file with grey rows
    assert read_error(data).reason in ("truncated file", "corrupt file")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # the user's setting is back


def test_a_corrupt_cmyk_jpeg_on_the_pil_path_is_refused_too() -> None:
    data = mid_corrupt_jpeg("CMYK")
    error = read_error(data)
    assert error.reason == "corrupt JPEG data"
    assert read_image(data, strict=False).shape == (3, 224, 224)


def test_the_process_default_switches_every_call(restore_strict_default: None) -> None:
    data = mid_corrupt_jpeg()
    assert strict_decode() is True
    assert set_strict_decode(False) is True
    assert read_image(data).shape == (3, 224, 224)
    assert read_error(data, strict=True).reason == "corrupt JPEG data"  # an explicit argument wins
    set_strict_decode(True)
    assert read_error(data).reason == "corrupt JPEG data"
    with pytest.raises(TypeError, match="strict: expected True or False"):
        set_strict_decode("no")  # type: ignore[arg-type]


def test_the_environment_variable_sets_the_default_of_a_new_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What a spawned DataLoader worker or the command line starts from.
    path = tmp_path / "a.jpg"
    path.write_bytes(mid_corrupt_jpeg())
    monkeypatch.setenv("VISIONDATA_STRICT_DECODE", "0")
    result = run_isolated(
        f"from visiondata.io import read_image, strict_decode\n"
        f"assert strict_decode() is False\n"
        f"print(tuple(read_image({str(path)!r}).shape))\n"
    )
    assert_clean_exit(result)
    assert result.stdout.strip() == "(3, 224, 224)"


# ---------------------------------------------------------------- readers, check and export agree
def damaged_folder(root: Path) -> set[str]:
    """A class folder of clean images and one of every damaged kind; the damaged relative paths."""
    for index in range(3):
        (root / "good").mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.asarray(natural()) // (index + 1)).save(root / "good" / f"{index}.jpg", quality=90)
    (root / "good" / "3.png").write_bytes(png_bytes())
    (root / "bad").mkdir()
    for name, (content, _, _) in DAMAGED.items():
        (root / "bad" / name).write_bytes(content())
    (root / "bad" / "fine.jpg").write_bytes(jpeg_bytes())
    return {f"bad/{name}" for name in DAMAGED}


def test_check_and_the_readers_call_the_same_files_unreadable(tmp_path: Path) -> None:
    expected = damaged_folder(tmp_path)
    report = check_dataset(tmp_path, progress=False)
    checked = {item["path"] for item in report.unreadable}

    dataset = ImageFolderDataset(tmp_path, on_error="skip")
    for index in range(len(dataset)):
        image, _ = dataset[index]
        assert image.shape == (3, 224, 224)
    skipped = {os.path.relpath(path, tmp_path) for path in dataset.errors}

    assert checked == skipped == expected
    for relative in expected:
        read_error(tmp_path / relative)
    # The same cause in both places.
    by_path = {item["path"]: item["reason"] for item in report.unreadable}
    assert "corrupt JPEG data" in by_path["bad/mid-corrupt.jpg"]
    assert "corrupt JPEG data" in dataset.errors[str(tmp_path / "bad" / "mid-corrupt.jpg")]


def test_check_command_lists_the_corrupt_jpeg(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expected = damaged_folder(tmp_path)
    assert main(["check", str(tmp_path), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert {item["path"] for item in report["unreadable"]} == expected


def test_a_tolerant_dataset_reads_the_corrupt_jpeg(tmp_path: Path, restore_strict_default: None) -> None:
    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / "a.jpg").write_bytes(mid_corrupt_jpeg())
    (tmp_path / "cat" / "b.jpg").write_bytes(jpeg_bytes())
    assert ImageFolderDataset(tmp_path, on_error="skip", strict=False)[0][0].shape == (3, 224, 224)
    strict = ImageFolderDataset(tmp_path, on_error="skip")
    strict[0]
    assert list(strict.errors) == [str(tmp_path / "cat" / "a.jpg")]
    # Any dataset built on ImageFileDataset takes the attribute; the process default is followed too.
    strict.strict = False
    assert strict[0][0].shape == (3, 224, 224)
    set_strict_decode(False)
    assert ImageFolderDataset(tmp_path)[0][0].shape == (3, 224, 224)
    assert ImageFolderDataset(tmp_path, strict=True, on_error="skip")[0][1] == 0
    with pytest.raises(TypeError, match="strict: expected True, False or None"):
        ImageFolderDataset(tmp_path, strict="yes")  # type: ignore[arg-type]


def test_csv_dataset_is_strict_with_a_switch(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(mid_corrupt_jpeg())
    (tmp_path / "b.jpg").write_bytes(jpeg_bytes())
    (tmp_path / "labels.csv").write_text("image,label\na.jpg,cat\nb.jpg,dog\n")
    strict = CSVDataset(tmp_path / "labels.csv", tmp_path, on_error="skip")
    assert strict.classes == ["cat", "dog"]
    assert strict[0][1] == 1  # replaced by b.jpg, with b.jpg's own label
    assert list(strict.errors) == [str(tmp_path / "a.jpg")]
    with pytest.raises(ImageReadError, match="corrupt JPEG data"):
        CSVDataset(tmp_path / "labels.csv", tmp_path)[0]
    assert CSVDataset(tmp_path / "labels.csv", tmp_path, strict=False)[0][0].shape == (3, 224, 224)


def test_export_skip_bad_leaves_the_corrupt_jpeg_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "photos"
    (root / "cat").mkdir(parents=True)
    (root / "cat" / "a.jpg").write_bytes(mid_corrupt_jpeg())
    (root / "cat" / "b.jpg").write_bytes(jpeg_bytes())
    (root / "cat" / "c.png").write_bytes(png_bytes())
    status = main(["export", str(root), str(tmp_path / "shards"), "--skip-bad"])
    output = capsys.readouterr()
    assert status == 0, output.err
    text = output.out + output.err
    assert "a.jpg" in text and "corrupt JPEG data" in text  # reported as left out
    from visiondata.shards import ShardDataset

    assert len(list(ShardDataset(tmp_path / "shards"))) == 2


# ---------------------------------------------------------------- special files (in a child: a hang must not stall the suite)
def test_check_on_a_fifo_says_it_is_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    result = run_isolated(
        f"import sys\nfrom visiondata.cli import main\nsys.exit(main(['check', {str(fifo)!r}]))\n", timeout=60
    )
    assert result.returncode == 3, result.stderr
    assert f"{fifo}: expected a dataset folder or annotation file, got a FIFO (named pipe)" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_folder_dataset_on_a_fifo_says_it_is_a_fifo(tmp_path: Path) -> None:
    from visiondata.exceptions import DatasetNotFoundError

    fifo = tmp_path / "photos"
    os.mkfifo(fifo)
    with pytest.raises(DatasetNotFoundError, match=r"expected a folder .*, got a FIFO \(named pipe\)"):
        ImageFolderDataset(fifo)
    report_of_fifo = run_isolated(
        "from visiondata.datasets._check import check_dataset\n"
        f"check_dataset({str(fifo)!r}, progress=False)\n"
    )
    assert "got a FIFO (named pipe)" in report_of_fifo.stderr


def test_check_csv_that_is_a_fifo_or_a_device(tmp_path: Path) -> None:
    fifo = tmp_path / "labels.csv"
    os.mkfifo(fifo)
    device = tmp_path / "device.csv"
    device.symlink_to("/dev/zero")
    for path, kind in ((fifo, "a FIFO (named pipe)"), (device, "a character device")):
        result = run_isolated(
            f"import sys\nfrom visiondata.cli import main\nsys.exit(main(['check', '--csv', {str(path)!r}]))\n"
        )
        assert result.returncode == 3, result.stderr
        assert kind in result.stderr and "Traceback" not in result.stderr


def test_check_reports_special_files_inside_a_folder(tmp_path: Path) -> None:
    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / "a.jpg").write_bytes(jpeg_bytes())
    os.mkfifo(tmp_path / "cat" / "pipe.jpg")
    (tmp_path / "cat" / "zero.jpg").symlink_to("/dev/zero")
    result = run_isolated(
        f"import sys\nfrom visiondata.cli import main\nsys.exit(main(['check', {str(tmp_path)!r}, '--json']))\n"
    )
    assert result.returncode == 1, result.stderr
    unreadable = {item["path"]: item["reason"] for item in json.loads(result.stdout)["unreadable"]}
    assert set(unreadable) == {"cat/pipe.jpg", "cat/zero.jpg"}
    assert "a FIFO (named pipe)" in unreadable["cat/pipe.jpg"]
    assert "a character device" in unreadable["cat/zero.jpg"]


def test_check_reports_csv_rows_pointing_to_special_files(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(jpeg_bytes())
    os.mkfifo(tmp_path / "pipe.jpg")
    (tmp_path / "zero.jpg").symlink_to("/dev/zero")
    (tmp_path / "labels.csv").write_text("image,label\na.jpg,cat\npipe.jpg,cat\nzero.jpg,dog\n")
    result = run_isolated(
        "import sys\nfrom visiondata.cli import main\n"
        f"sys.exit(main(['check', '--csv', {str(tmp_path / 'labels.csv')!r}, '--json']))\n"
    )
    assert result.returncode == 1, result.stderr
    validation = json.loads(result.stdout)["validation"]
    assert any("line 3" in line and "a FIFO (named pipe)" in line for line in validation), validation
    assert any("line 4" in line and "a character device" in line for line in validation), validation


# ---------------------------------------------------------------- the CLI's last line of defence
@pytest.mark.parametrize(
    "error",
    [
        PermissionError(13, "Permission denied", "/data/out"),
        IsADirectoryError(21, "Is a directory", "/data/labels.csv"),
    ],
    ids=["permission", "is-a-directory"],
)
def test_main_prints_one_line_for_an_os_error_about_a_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, error: OSError
) -> None:
    from visiondata.datasets import _check

    def failing(options: object) -> int:
        raise error

    monkeypatch.setattr(_check, "_run", failing)
    assert main(["check", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"visiondata: error: {error.filename}: {error.strerror}")


@pytest.mark.parametrize(
    "error", [TypeError("a bug"), AttributeError("a bug"), OSError("no file named")], ids=str
)
def test_main_keeps_the_traceback_of_programming_errors(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, error: Exception
) -> None:
    from visiondata.datasets import _check

    def failing(options: object) -> int:
        raise error

    monkeypatch.setattr(_check, "_run", failing)
    with pytest.raises(type(error)):
        main(["check", str(tmp_path)])


def test_main_reports_a_real_os_error_from_a_path_the_user_gave(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A file name above the system's limit (ENAMETOOLONG) as the output: an OSError that names the path.
    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / "a.png").write_bytes(png_bytes())
    out = tmp_path / ("x" * 300)
    assert main(["convert", str(tmp_path), str(out), "--to", "coco"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("visiondata: error: ") and err.count("\n") == 1
    assert "File name too long" in err and "Traceback" not in err
