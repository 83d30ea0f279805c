"""``visiondata.io.read_image`` and ``read_header`` on real files written into ``tmp_path``.

The reference for every pixel is PIL: ``ImageOps.exif_transpose(Image.open(path)).convert(mode)``.
JPEG and PNG files of the common layouts take the fast path (torchvision's libjpeg-turbo / libpng
decoders, no PIL); every test that means to exercise it asserts ``read_header(...).fast`` first.
"""

from __future__ import annotations

import struct
import warnings
import zlib
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import PIL.Image
import pytest
import torch
from PIL import Image, ImageDraw, ImageOps, PngImagePlugin

from visiondata.exceptions import ImageReadError, VisionDataError
from visiondata.io import ImageHeader, read_header, read_image

MODES_8BIT = ("RGB", "L")
OUTPUTS = ("tensor", "numpy", "pil")
ORIENTATIONS = range(1, 9)
EXIF_ORIENTATION = 0x0112

Writer = Callable[[Path], Path]


# ---------------------------------------------------------------- helpers: content
def natural_rgb(width: int, height: int, seed: int = 0) -> np.ndarray:
    """Smooth gradients, a sine ripple, Gaussian noise and a few drawn shapes: ``H x W x 3`` uint8."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    base = np.stack(
        [
            255.0 * x / max(width - 1, 1),
            255.0 * y / max(height - 1, 1),
            127.5 + 120.0 * np.sin((x + 2 * y) / 4.0),
        ],
        axis=-1,
    )
    noisy = np.clip(base + rng.normal(0.0, 14.0, base.shape), 0, 255).astype(np.uint8)
    image = Image.fromarray(noisy)
    draw = ImageDraw.Draw(image)
    draw.ellipse((0.1 * width, 0.2 * height, 0.6 * width, 0.9 * height), fill=(230, 40, 30))
    draw.rectangle((0.55 * width, 0.05 * height, 0.9 * width, 0.45 * height), outline=(10, 250, 90), width=2)
    draw.line((0, height - 1, width - 1, 0), fill=(255, 255, 255), width=1)
    draw.polygon(
        [(0.7 * width, 0.6 * height), (width - 1, height - 1), (0.5 * width, height - 1)], fill=(20, 20, 160)
    )
    return np.array(image)


def natural(width: int = 33, height: int = 17, pil_mode: str = "RGB", seed: int = 0) -> Image.Image:
    """A natural-looking PIL image in ``pil_mode`` (converted from :func:`natural_rgb`)."""
    rgb = natural_rgb(width, height, seed)
    if pil_mode == "RGBA":
        alpha = np.random.default_rng(seed + 1).integers(0, 256, (height, width), dtype=np.uint8)
        alpha[::3, ::2] = 0  # fully transparent pixels keep distinctive colours
        return Image.fromarray(np.dstack([rgb, alpha]))
    if pil_mode == "LA":
        alpha = np.random.default_rng(seed + 1).integers(0, 256, (height, width), dtype=np.uint8)
        grey = np.asarray(Image.fromarray(rgb).convert("L"))
        return Image.fromarray(np.dstack([grey, alpha]))
    return Image.fromarray(rgb).convert(pil_mode)


def exif_bytes(orientation: int, byte_order: str = "MM") -> bytes:
    """An APP1 EXIF payload holding only the orientation tag, big-endian (PIL's) or little-endian."""
    if byte_order == "MM":
        exif = Image.Exif()
        exif[EXIF_ORIENTATION] = orientation
        data = exif.tobytes()
        assert data.startswith(b"Exif\x00\x00MM")
        return data
    ifd = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 1)
    ifd += struct.pack("<HHIHH", EXIF_ORIENTATION, 3, 1, orientation, 0) + struct.pack("<I", 0)
    return b"Exif\x00\x00" + ifd


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def write_raw_png(
    path: Path,
    pixels: np.ndarray,
    bit_depth: int,
    color_type: int,
    before_idat: bytes = b"",
    after_idat: bytes = b"",
) -> Path:
    """Write ``pixels`` (``H x W`` or ``H x W x C``, already big-endian for 16 bits) as a PNG by hand."""
    height, width = pixels.shape[:2]
    rows = b"".join(b"\x00" + pixels[row].tobytes() for row in range(height))
    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + before_idat
        + png_chunk(b"IDAT", zlib.compress(rows))
        + after_idat
        + png_chunk(b"IEND", b"")
    )
    return path


def saver(image_factory: Callable[[], Image.Image], suffix: str, **save_kwargs: Any) -> Writer:
    """A writer: ``writer(folder)`` saves a fresh image into ``folder`` and returns its path."""

    def write(folder: Path) -> Path:
        path = folder / f"image{suffix}"
        image_factory().save(path, **save_kwargs)
        return path

    return write


# ---------------------------------------------------------------- helpers: expectations
def pil_reference(path: Path, mode: str) -> np.ndarray:
    """What the contract promises: ``exif_transpose(open(path)).convert(mode)`` as an array."""
    with Image.open(path) as opened:
        return np.asarray(ImageOps.exif_transpose(opened).convert(mode))


def header_of(path: Path) -> ImageHeader:
    return read_header(path.read_bytes())


def assert_outputs_equal(path: Path, expected: np.ndarray, expected_pil_mode: str, **kwargs: Any) -> None:
    """All three outputs of ``read_image(path, **kwargs)`` hold exactly ``expected`` (``H x W [x C]``)."""
    hwc = expected if expected.ndim == 3 else expected[:, :, None]
    height, width, channels = hwc.shape

    tensor = read_image(path, output="tensor", **kwargs)
    assert isinstance(tensor, torch.Tensor)
    assert tuple(tensor.shape) == (channels, height, width)
    assert tensor.dtype == (torch.uint16 if expected.dtype == np.uint16 else torch.uint8)
    assert np.array_equal(tensor.permute(1, 2, 0).numpy(), hwc)

    array = read_image(path, output="numpy", **kwargs)
    assert isinstance(array, np.ndarray)
    assert array.shape == expected.shape and array.dtype == expected.dtype
    assert np.array_equal(array, expected)

    image = read_image(path, output="pil", **kwargs)
    assert isinstance(image, Image.Image)
    assert image.mode == expected_pil_mode
    assert image.size == (width, height)
    assert np.array_equal(np.asarray(image), expected)


def assert_matches_pil(path: Path, mode: str) -> None:
    expected = pil_reference(path, mode)
    assert expected.dtype == np.uint8
    assert_outputs_equal(path, expected, mode, mode=mode)


def read_error(path: Path, **kwargs: Any) -> ImageReadError:
    with pytest.raises(ImageReadError) as caught:
        read_image(path, **kwargs)
    error = caught.value
    assert isinstance(error, OSError) and isinstance(error, VisionDataError)
    assert error.path == str(path)
    assert str(error).startswith(f"{path}: cannot read image: {error.reason}")
    return error


# ---------------------------------------------------------------- 1. exact equality with PIL
def jpeg_case(size: tuple[int, int], quality: int, subsampling: int, progressive: bool = False) -> Writer:
    return saver(
        lambda: natural(*size, seed=quality + subsampling),
        ".jpg",
        quality=quality,
        subsampling=subsampling,
        progressive=progressive,
    )


SUBSAMPLING = {"444": 0, "422": 1, "420": 2}

FAST_CASES: list[Any] = [
    *(
        pytest.param(jpeg_case(size, quality, code), id=f"jpeg-{size[0]}x{size[1]}-q{quality}-{name}")
        for size in ((33, 17), (16, 16), (7, 41))
        for quality in (15, 75, 97)
        for name, code in SUBSAMPLING.items()
    ),
    pytest.param(jpeg_case((33, 17), 85, 2, progressive=True), id="jpeg-progressive-420"),
    pytest.param(jpeg_case((40, 31), 60, 0, progressive=True), id="jpeg-progressive-444"),
    pytest.param(saver(lambda: natural(33, 17, "L"), ".jpg", quality=80), id="jpeg-grey"),
    pytest.param(saver(lambda: natural(9, 25, "L"), ".jpg", quality=30), id="jpeg-grey-odd"),
    pytest.param(saver(lambda: natural(33, 17, "L"), ".jpg", progressive=True), id="jpeg-grey-progressive"),
]

PIL_CASES: list[Any] = [
    pytest.param(saver(lambda: natural(33, 17, "RGB"), ".bmp"), id="bmp-rgb"),
    pytest.param(saver(lambda: natural(33, 17, "L"), ".bmp"), id="bmp-grey"),
    pytest.param(saver(lambda: natural(33, 17, "RGB"), ".tif"), id="tiff-rgb"),
    pytest.param(saver(lambda: natural(33, 17, "L"), ".tiff", compression="tiff_lzw"), id="tiff-grey-lzw"),
    pytest.param(saver(lambda: natural(33, 17, "RGBA"), ".tif"), id="tiff-rgba"),
    pytest.param(saver(lambda: natural(33, 17, "RGB"), ".webp", lossless=True), id="webp-lossless"),
    pytest.param(saver(lambda: natural(33, 17, "RGB"), ".webp", quality=70), id="webp-lossy"),
    pytest.param(saver(lambda: natural(33, 17, "RGB").quantize(64), ".gif"), id="gif"),
    pytest.param(saver(lambda: natural(33, 17, "CMYK"), ".jpg", quality=90), id="jpeg-cmyk"),
    pytest.param(saver(lambda: natural(33, 17, "RGB").quantize(16), ".png"), id="png-palette"),
    pytest.param(saver(lambda: natural(33, 17, "RGB"), ".png"), id="png-rgb"),
]


@pytest.mark.parametrize("mode", MODES_8BIT)
@pytest.mark.parametrize("write", FAST_CASES)
def test_fast_path_pixels_equal_pil(tmp_path: Path, write: Writer, mode: str) -> None:
    path = write(tmp_path)
    assert header_of(path).fast
    assert_matches_pil(path, mode)


@pytest.mark.parametrize("mode", MODES_8BIT)
@pytest.mark.parametrize("write", PIL_CASES)
def test_pil_path_pixels_equal_pil(tmp_path: Path, write: Writer, mode: str) -> None:
    path = write(tmp_path)
    assert not header_of(path).fast
    assert_matches_pil(path, mode)


@pytest.mark.parametrize(
    ("suffix", "save_kwargs"), [(".png", {}), (".bmp", {}), (".tif", {}), (".webp", {"lossless": True})]
)
def test_lossless_formats_give_back_the_written_pixels(
    tmp_path: Path, suffix: str, save_kwargs: dict[str, Any]
) -> None:
    source = natural_rgb(33, 17, seed=5)
    path = tmp_path / f"image{suffix}"
    Image.fromarray(source).save(path, **save_kwargs)
    assert np.array_equal(read_image(path, output="numpy"), source)
    # PIL's integer luma: (R * 19595 + G * 38470 + B * 7471 + 0x8000) >> 16.
    weights = np.array([19595, 38470, 7471], dtype=np.int64)
    luma = ((source.astype(np.int64) @ weights + 0x8000) >> 16).astype(np.uint8)
    assert np.array_equal(read_image(path, mode="L", output="numpy"), luma)


def test_gif_reads_the_first_frame(tmp_path: Path) -> None:
    frames = [natural(20, 12, seed=seed).quantize(32) for seed in (1, 2)]
    path = tmp_path / "animated.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50, loop=0)
    with Image.open(path) as opened:
        assert opened.n_frames == 2
    first = np.asarray(frames[0].convert("RGB"))
    assert not np.array_equal(first, np.asarray(frames[1].convert("RGB")))
    assert np.array_equal(read_image(path, output="numpy"), first)


@pytest.mark.parametrize(
    ("write", "stored_mode"),
    [
        pytest.param(jpeg_case((33, 17), 80, 2), "RGB", id="jpeg-rgb"),
        pytest.param(saver(lambda: natural(33, 17, "L"), ".jpg"), "L", id="jpeg-grey"),
        pytest.param(saver(lambda: natural(33, 17, "RGB"), ".png"), "RGB", id="png-rgb"),
        pytest.param(saver(lambda: natural(33, 17, "L"), ".png"), "L", id="png-grey"),
        pytest.param(saver(lambda: natural(33, 17, "RGBA"), ".png"), "RGBA", id="png-rgba"),
        pytest.param(saver(lambda: natural(33, 17, "RGB"), ".bmp"), "RGB", id="bmp-rgb"),
        pytest.param(
            saver(lambda: natural(33, 17, "RGBA"), ".webp", lossless=True, exact=True), "RGBA", id="webp-rgba"
        ),
        pytest.param(saver(lambda: natural(33, 17, "LA"), ".png"), "LA", id="png-la"),
    ],
)
def test_unchanged_keeps_the_stored_channels(tmp_path: Path, write: Writer, stored_mode: str) -> None:
    path = write(tmp_path)
    with Image.open(path) as opened:
        assert opened.mode == stored_mode
        expected = np.asarray(ImageOps.exif_transpose(opened))
    assert_outputs_equal(path, expected, stored_mode, mode="unchanged")


# ---------------------------------------------------------------- 2. EXIF orientation
@pytest.mark.parametrize("byte_order", ["MM", "II"])
@pytest.mark.parametrize("pil_mode", ["RGB", "L"])
@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_jpeg_exif_orientation_on_the_fast_path(
    tmp_path: Path, orientation: int, pil_mode: str, byte_order: str
) -> None:
    path = tmp_path / "oriented.jpg"
    natural(33, 17, pil_mode).save(path, quality=90, exif=exif_bytes(orientation, byte_order))
    with Image.open(path) as opened:
        assert opened.getexif()[EXIF_ORIENTATION] == orientation
    assert header_of(path).fast
    for mode in MODES_8BIT:
        expected = pil_reference(path, mode)
        assert expected.shape[:2] == ((33, 17) if orientation >= 5 else (17, 33))
        assert_outputs_equal(path, expected, mode, mode=mode)
    stored = read_image(path, mode="unchanged")
    assert tuple(stored.shape) == ((1 if pil_mode == "L" else 3), *expected.shape[:2])


def _app1(payload: bytes) -> bytes:
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


@pytest.mark.parametrize(
    ("segments", "orientation"),
    [
        # An XMP APP1 before the EXIF one: the EXIF one is read (as PIL reads it).
        pytest.param(
            [_app1(b"http://ns.adobe.com/xap/1.0/\x00<x/>"), _app1(exif_bytes(6))], 6, id="xmp-first"
        ),
        pytest.param([_app1(exif_bytes(8, "II"))], 8, id="little-endian"),
        pytest.param([_app1(exif_bytes(6)[:14])], 1, id="ifd-cut-short"),
        pytest.param([_app1(b"Exif\x00\x00XX*\x00\x00\x00\x00\x08")], 1, id="bad-byte-order"),
        pytest.param([_app1(exif_bytes(9))], 1, id="orientation-out-of-range"),
    ],
)
@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")  # PIL's, on the reference of the damaged cases
def test_jpeg_orientation_is_read_as_pil_reads_it(
    tmp_path: Path, segments: list[bytes], orientation: int
) -> None:
    from visiondata.io._header import jpeg_orientation

    plain = BytesIO()
    natural(33, 17).save(plain, "JPEG", quality=90)
    data = plain.getvalue()[:2] + b"".join(segments) + plain.getvalue()[2:]
    assert jpeg_orientation(data) == orientation
    path = tmp_path / "a.jpg"
    path.write_bytes(data)
    assert header_of(path).fast
    expected = pil_reference(path, "RGB")
    assert expected.shape[:2] == ((33, 17) if orientation >= 5 else (17, 33))
    assert np.array_equal(read_image(path, output="numpy"), expected)


@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_orientations_are_distinct_transforms_of_the_stored_pixels(tmp_path: Path, orientation: int) -> None:
    # Independent of exif_transpose: the 8 EXIF orientations, written out as numpy operations.
    source = natural_rgb(6, 4, seed=3)
    path = tmp_path / "oriented.png"
    Image.fromarray(source).save(path, exif=exif_bytes(orientation))
    transforms: dict[int, Callable[[np.ndarray], np.ndarray]] = {
        1: lambda a: a,
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.transpose(1, 0, 2),
        6: lambda a: np.rot90(a, k=-1),
        7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
        8: lambda a: np.rot90(a, k=1),
    }
    assert np.array_equal(read_image(path, output="numpy"), transforms[orientation](source))


@pytest.mark.parametrize("orientation", ORIENTATIONS)
@pytest.mark.parametrize(
    ("suffix", "save_kwargs"),
    [(".png", {}), (".webp", {"lossless": True}), (".tif", {})],
)
def test_exif_orientation_on_the_pil_path(
    tmp_path: Path, orientation: int, suffix: str, save_kwargs: dict[str, Any]
) -> None:
    path = tmp_path / f"oriented{suffix}"
    natural(33, 17).save(path, exif=exif_bytes(orientation), **save_kwargs)
    assert not header_of(path).fast
    expected = pil_reference(path, "RGB")
    assert expected.shape[:2] == ((33, 17) if orientation >= 5 else (17, 33))
    assert_outputs_equal(path, expected, "RGB")


def _png_with_raw_profile_exif(folder: Path) -> Path:
    payload = exif_bytes(6)
    info = PngImagePlugin.PngInfo()
    info.add_text("Raw profile type exif", f"\nexif\n{len(payload):8d}\n{payload.hex()}\n")
    path = folder / "raw-profile.png"
    natural(33, 17).save(path, pnginfo=info)
    return path


def _png_with_exif_after_idat(folder: Path) -> Path:
    payload = exif_bytes(6).removeprefix(b"Exif\x00\x00")
    return write_raw_png(
        folder / "exif-after-idat.png", natural_rgb(33, 17), 8, 2, after_idat=png_chunk(b"eXIf", payload)
    )


@pytest.mark.parametrize(
    "write",
    [
        pytest.param(
            _png_with_raw_profile_exif,
            id="raw-profile-text-chunk",
        ),
        pytest.param(
            _png_with_exif_after_idat,
            id="exif-chunk-after-idat",
        ),
    ],
)
def test_png_exif_orientation_outside_a_leading_exif_chunk(tmp_path: Path, write: Writer) -> None:
    path = write(tmp_path)
    expected = pil_reference(path, "RGB")
    assert expected.shape[:2] == (33, 17)  # PIL applies orientation 6
    assert np.array_equal(read_image(path, output="numpy"), expected)


# ---------------------------------------------------------------- 3. modes and conversions
def test_cmyk_jpeg(tmp_path: Path) -> None:
    path = tmp_path / "cmyk.jpg"
    natural(33, 17, "CMYK").save(path, quality=92)
    header = header_of(path)
    assert (header.format, header.channels, header.fast) == ("jpeg", 4, False)
    for mode in MODES_8BIT:
        assert_matches_pil(path, mode)
    # "unchanged" has no CMYK output: it is RGB as PIL converts it.
    assert_outputs_equal(path, pil_reference(path, "RGB"), "RGB", mode="unchanged")


def test_palette_png_with_transparency(tmp_path: Path) -> None:
    palette = natural(33, 17).quantize(16)
    indices = np.asarray(palette)
    transparent = int(indices[0, 0])
    path = tmp_path / "palette.png"
    palette.save(path, transparency=transparent)
    assert not header_of(path).fast

    with Image.open(path) as opened:
        rgb = np.asarray(opened.convert("RGB"))
        rgba = np.asarray(opened.convert("RGBA"))
    # RGB takes the palette colours and drops transparency (nothing is composited).
    assert_outputs_equal(path, rgb, "RGB", mode="RGB")
    assert_matches_pil(path, "L")
    # "unchanged" gives RGBA, with the alpha PIL computes: 0 on the transparent index, 255 elsewhere.
    assert_outputs_equal(path, rgba, "RGBA", mode="unchanged")
    assert np.array_equal(rgba[:, :, 3], np.where(indices == transparent, 0, 255))
    assert np.array_equal(rgba[:, :, :3], rgb)


def test_palette_png_without_transparency_is_rgb_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "palette.png"
    natural(33, 17).quantize(16).save(path)
    assert_outputs_equal(path, pil_reference(path, "RGB"), "RGB", mode="unchanged")


def test_la_png(tmp_path: Path) -> None:
    image = natural(33, 17, "LA")
    path = tmp_path / "la.png"
    image.save(path)
    stored = np.asarray(image)
    assert not header_of(path).fast
    assert_outputs_equal(path, stored[:, :, 0], "L", mode="L")
    assert_outputs_equal(path, np.repeat(stored[:, :, :1], 3, axis=2), "RGB", mode="RGB")
    assert_outputs_equal(path, stored, "LA", mode="unchanged")


def _grey16_values() -> np.ndarray:
    rng = np.random.default_rng(7)
    values = rng.integers(0, 65536, (9, 11), dtype=np.uint16)
    values[0, :6] = [0, 1, 128, 129, 65406, 65535]  # around the rounding edges
    return values


@pytest.mark.parametrize("kind", ["exact-multiples", "arbitrary"])
def test_16bit_grey_png(tmp_path: Path, kind: str) -> None:
    if kind == "exact-multiples":
        eight = natural_rgb(11, 9)[:, :, 0]
        values = eight.astype(np.uint16) * 257
    else:
        values = _grey16_values()
        eight = (values >> 8).astype(np.uint8)  # the high byte: the rule for every 16-bit image
    path = tmp_path / "grey16.png"
    Image.fromarray(values).save(path)
    with Image.open(path) as opened:
        assert opened.mode == "I;16"
    header = header_of(path)
    assert (header.format, header.channels, header.fast) == ("png", 1, False)

    assert_outputs_equal(path, eight, "L", mode="L")
    assert_outputs_equal(path, np.repeat(eight[:, :, None], 3, axis=2), "RGB", mode="RGB")
    assert_outputs_equal(path, values, "I;16", mode="unchanged")


def _rgb16_values() -> np.ndarray:
    values = np.random.default_rng(8).integers(0, 65536, (6, 7, 3), dtype=np.uint16)
    values[0, 0] = [128, 383, 65406]  # high bytes 0, 1, 255
    return values


def _write_rgb16(folder: Path) -> Path:
    return write_raw_png(folder / "rgb16.png", _rgb16_values().astype(">u2"), 16, 2)


def test_16bit_rgb_png_keeps_the_high_byte(tmp_path: Path) -> None:
    path = _write_rgb16(tmp_path)
    expected = (_rgb16_values() >> 8).astype(np.uint8)
    assert np.array_equal(read_image(path, output="numpy"), expected)
    # PIL reads 16-bit colour PNGs as 8-bit: "unchanged" cannot do better than the high byte.
    assert np.array_equal(read_image(path, mode="unchanged", output="numpy"), expected)


@pytest.mark.parametrize("suffix", [".png", ".bmp", ".tif"])
def test_bilevel_image(tmp_path: Path, suffix: str) -> None:
    bilevel = natural(33, 17).convert("1")
    path = tmp_path / f"bilevel{suffix}"
    bilevel.save(path)
    with Image.open(path) as opened:
        assert opened.mode == "1"
    grey = np.asarray(bilevel.convert("L"))
    assert set(np.unique(grey).tolist()) == {0, 255}
    assert_outputs_equal(path, grey, "L", mode="L")
    assert_outputs_equal(path, np.repeat(grey[:, :, None], 3, axis=2), "RGB", mode="RGB")
    assert_outputs_equal(path, grey, "L", mode="unchanged")


@pytest.mark.parametrize(
    ("suffix", "save_kwargs", "fast"),
    [(".png", {}, False), (".tif", {}, False), (".webp", {"lossless": True, "exact": True}, False)],
)
def test_alpha_is_dropped_not_composited(
    tmp_path: Path, suffix: str, save_kwargs: dict[str, Any], fast: bool
) -> None:
    image = natural(33, 17, "RGBA")
    rgba = np.asarray(image)
    assert (rgba[:, :, 3] == 0).any() and (rgba[:, :, 3] == 255).sum() < rgba[:, :, 3].size
    path = tmp_path / f"rgba{suffix}"
    image.save(path, **save_kwargs)
    assert header_of(path).fast is fast
    rgb = read_image(path, output="numpy")
    # Every pixel keeps its stored colour, whatever its alpha (0 included): no compositing on any background.
    assert np.array_equal(rgb, rgba[:, :, :3])
    weights = np.array([19595, 38470, 7471], dtype=np.int64)
    luma = ((rgba[:, :, :3].astype(np.int64) @ weights + 0x8000) >> 16).astype(np.uint8)
    assert np.array_equal(read_image(path, mode="L", output="numpy"), luma)


# ---------------------------------------------------------------- 4. errors
def _truncated(write: Writer, keep: Callable[[int], int]) -> Writer:
    def write_truncated(folder: Path) -> Path:
        path = write(folder)
        data = path.read_bytes()
        path.write_bytes(data[: keep(len(data))])
        return path

    return write_truncated


def _file(name: str, content: bytes) -> Writer:
    def write(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(content)
        return path

    return write


def _bit_rot_png(folder: Path) -> Path:
    # One byte flipped in the middle of the IDAT data (so its CRC no longer matches), as disk bit rot does.
    path = folder / "bit-rot.png"
    natural(64, 48).save(path)
    data = bytearray(path.read_bytes())
    start = data.index(b"IDAT") + 4
    length = int.from_bytes(data[start - 8 : start - 4], "big")
    data[start + length // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def _bad_huffman_table_jpeg(folder: Path) -> Path:
    path = folder / "bad-dht.jpg"
    natural(64, 48).save(path, quality=90)
    data = bytearray(path.read_bytes())
    dht = data.index(b"\xff\xc4")
    data[dht + 5 : dht + 21] = b"\xff" * 16  # code counts that overflow the Huffman code space
    path.write_bytes(bytes(data))
    return path


_RGB_JPEG = jpeg_case((64, 48), 90, 2)
_CMYK_JPEG = saver(lambda: natural(64, 48, "CMYK"), ".jpg", quality=90)
_RGB_PNG = saver(lambda: natural(64, 48), ".png")
_BMP = saver(lambda: natural(64, 48), ".bmp")


@pytest.mark.parametrize(
    ("write", "reason", "detail"),
    [
        pytest.param(_truncated(_RGB_JPEG, lambda n: n // 2), "truncated file", "", id="jpeg-cut-in-half"),
        pytest.param(_truncated(_RGB_JPEG, lambda n: n - 2), "truncated file", "", id="jpeg-without-eoi"),
        pytest.param(
            _truncated(_CMYK_JPEG, lambda n: n // 2), "truncated file", "", id="cmyk-jpeg-cut-in-half"
        ),
        pytest.param(_truncated(_BMP, lambda n: n // 2), "truncated file", "", id="bmp-cut-in-half"),
        pytest.param(
            _truncated(_RGB_PNG, lambda n: n // 2),
            "truncated file",
            "",
            id="png-cut-in-half",
        ),
        pytest.param(
            _truncated(_RGB_JPEG, lambda n: 100),
            "truncated file",
            "",
            id="jpeg-cut-before-frame-header",
        ),
        pytest.param(
            _bad_huffman_table_jpeg, "corrupt file", "broken data stream", id="jpeg-bad-huffman-table"
        ),
        pytest.param(_file("empty.jpg", b""), "empty file (0 bytes)", "", id="empty-file"),
        pytest.param(
            _file("notes.jpg", b"This is a text file,\nnot a JPEG.\n"),
            "not an image",
            "it looks like text",
            id="text-named-jpg",
        ),
        pytest.param(
            _file("noise.png", bytes([0x93, 0x01, 0xFE, 0x80]) + np.random.default_rng(3).bytes(300)),
            "not an image",
            "starts with bytes 93 01 fe 80",
            id="random-bytes-named-png",
        ),
    ],
)
def test_bad_files_raise_image_read_error(tmp_path: Path, write: Writer, reason: str, detail: str) -> None:
    path = write(tmp_path)
    error = read_error(path)
    assert error.reason == reason
    assert detail in str(error)
    if reason == "not an image" and "text" not in detail:
        assert "looks like text" not in str(error)


def test_corrupt_png_data_raises_instead_of_crashing(tmp_path: Path) -> None:
    # torchvision 0.29's decode_png kills the process (SIGSEGV) on this file; PNG goes through PIL.
    path = _bit_rot_png(tmp_path)
    assert not header_of(path).fast
    error = read_error(path)
    assert error.reason == "corrupt file"
    assert str(path) in str(error)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.jpg"
    error = read_error(path)
    assert error.reason == "file not found"
    assert isinstance(error, OSError)


def test_directory(tmp_path: Path) -> None:
    folder = tmp_path / "folder.png"
    folder.mkdir()
    error = read_error(folder)
    assert error.reason.startswith("is a directory")


def test_string_paths_work_and_are_named(tmp_path: Path) -> None:
    path = tmp_path / "image.png"
    natural(5, 4).save(path)
    assert tuple(read_image(str(path)).shape) == (3, 4, 5)
    error = read_error(tmp_path / "nope.png")
    assert "nope.png" in str(error)


# ---------------------------------------------------------------- 5. decompression bombs
_BIG_JPEG = saver(lambda: natural(300, 300), ".jpg", quality=50)
_BIG_BMP = saver(lambda: natural(300, 300), ".bmp")
_BIG_CASES = [pytest.param(_BIG_JPEG, True, id="jpeg-fast"), pytest.param(_BIG_BMP, False, id="bmp-pil")]


@pytest.mark.parametrize(("write", "fast"), _BIG_CASES)
def test_max_pixels_refuses_large_images(tmp_path: Path, write: Writer, fast: bool) -> None:
    path = write(tmp_path)
    assert header_of(path).fast is fast
    error = read_error(path, max_pixels=1000)
    assert error.reason == "too large"
    assert "90,000" in str(error) or "90000" in str(error)
    for output in OUTPUTS:
        assert read_error(path, max_pixels=300 * 300 - 1, output=output).reason == "too large"
    # The limit is inclusive: exactly w * h pixels, or more, reads.
    assert tuple(read_image(path, max_pixels=300 * 300).shape) == (3, 300, 300)
    assert tuple(read_image(path, max_pixels=10**6, mode="L").shape) == (1, 300, 300)


@pytest.mark.parametrize(("write", "fast"), _BIG_CASES)
def test_pil_max_image_pixels_applies_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write: Writer, fast: bool
) -> None:
    path = write(tmp_path)
    assert header_of(path).fast is fast
    assert tuple(read_image(path).shape) == (3, 300, 300)
    monkeypatch.setattr(PIL.Image, "MAX_IMAGE_PIXELS", 1000)
    assert read_error(path).reason == "too large"


def test_max_pixels_overrides_a_smaller_pil_limit_on_the_pil_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _BIG_BMP(tmp_path)
    monkeypatch.setattr(PIL.Image, "MAX_IMAGE_PIXELS", 1000)
    assert tuple(read_image(path, max_pixels=10**6).shape) == (3, 300, 300)


def test_max_pixels_overrides_a_smaller_pil_limit_on_the_fast_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _BIG_JPEG(tmp_path)
    monkeypatch.setattr(PIL.Image, "MAX_IMAGE_PIXELS", 1000)
    assert tuple(read_image(path, max_pixels=10**6).shape) == (3, 300, 300)


def _patch_jpeg_size(data: bytes, width: int, height: int) -> bytes:
    patched = bytearray(data)
    sof = patched.index(b"\xff\xc0")
    patched[sof + 5 : sof + 7] = height.to_bytes(2, "big")
    patched[sof + 7 : sof + 9] = width.to_bytes(2, "big")
    return bytes(patched)


def test_fast_path_refuses_a_huge_header_before_decoding(tmp_path: Path) -> None:
    small = tmp_path / "small.jpg"
    natural(16, 16).save(small)
    path = tmp_path / "claims-huge.jpg"
    path.write_bytes(_patch_jpeg_size(small.read_bytes(), 60000, 60000))
    header = header_of(path)
    assert (header.width, header.height, header.fast) == (60000, 60000, True)
    error = read_error(path)  # decoding would allocate 60000 * 60000 * 3 bytes (10.8 GB)
    assert error.reason == "too large"
    assert "60000 x 60000" in str(error)
    assert read_error(path, max_pixels=10**6).reason == "too large"


def test_png_header_size_is_checked_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "claims-huge.png"
    natural(8, 8).save(path)
    data = bytearray(path.read_bytes())
    data[16:24] = struct.pack(">II", 50000, 50000)  # IHDR (its CRC is now wrong: never looked at)
    path.write_bytes(bytes(data))
    assert header_of(path).pixels == 50000 * 50000
    assert read_error(path).reason == "too large"


def test_pil_path_size_is_checked_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "claims-huge.bmp"
    natural(8, 8).save(path)
    data = bytearray(path.read_bytes())
    data[18:26] = struct.pack("<ii", 60000, 60000)  # BITMAPINFOHEADER width, height
    path.write_bytes(bytes(data))
    assert header_of(path).format == "other"
    assert read_error(path).reason == "too large"


# ---------------------------------------------------------------- 6. read_header
def encode(image: Image.Image, image_format: str, **save_kwargs: Any) -> bytes:
    buffer = BytesIO()
    image.save(buffer, image_format, **save_kwargs)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data_factory", "expected"),
    [
        pytest.param(
            lambda: encode(natural(33, 17), "JPEG"), ImageHeader("jpeg", 33, 17, 3, True), id="jpeg-baseline"
        ),
        pytest.param(
            lambda: encode(natural(33, 17), "JPEG", progressive=True),
            ImageHeader("jpeg", 33, 17, 3, True),
            id="jpeg-progressive",
        ),
        pytest.param(
            lambda: encode(natural(20, 30, "L"), "JPEG"), ImageHeader("jpeg", 20, 30, 1, True), id="jpeg-grey"
        ),
        pytest.param(
            lambda: encode(natural(33, 17, "CMYK"), "JPEG"),
            ImageHeader("jpeg", 33, 17, 4, False),
            id="jpeg-cmyk",
        ),
        pytest.param(
            lambda: encode(natural(33, 17), "JPEG", exif=exif_bytes(6)),
            ImageHeader("jpeg", 33, 17, 3, True),
            id="jpeg-with-exif",
        ),
        pytest.param(
            lambda: encode(natural(33, 17), "PNG"), ImageHeader("png", 33, 17, 3, False), id="png-rgb"
        ),
        pytest.param(
            lambda: encode(natural(5, 9, "L"), "PNG"), ImageHeader("png", 5, 9, 1, False), id="png-grey"
        ),
        pytest.param(
            lambda: encode(natural(33, 17, "RGBA"), "PNG"),
            ImageHeader("png", 33, 17, 4, False),
            id="png-rgba",
        ),
        pytest.param(
            lambda: encode(natural(33, 17, "LA"), "PNG"), ImageHeader("png", 33, 17, 2, False), id="png-la"
        ),
        pytest.param(
            lambda: encode(natural(33, 17).quantize(8), "PNG"),
            ImageHeader("png", 33, 17, 3, False),
            id="png-palette",
        ),
        pytest.param(
            lambda: encode(Image.fromarray(_grey16_values()), "PNG"),
            ImageHeader("png", 11, 9, 1, False),
            id="png-16bit",
        ),
        pytest.param(
            lambda: encode(natural(33, 17), "PNG", transparency=(0, 0, 0)),
            ImageHeader("png", 33, 17, 3, False),
            id="png-rgb-trns",
        ),
        pytest.param(
            lambda: encode(natural(33, 17, "L"), "PNG", transparency=0),
            ImageHeader("png", 33, 17, 1, False),
            id="png-grey-trns",
        ),
        pytest.param(
            lambda: encode(natural(33, 17), "PNG", exif=exif_bytes(3)),
            ImageHeader("png", 33, 17, 3, False),
            id="png-exif",
        ),
        pytest.param(
            lambda: encode(natural(33, 17).convert("1"), "PNG"),
            ImageHeader("png", 33, 17, 1, False),
            id="png-1bit",
        ),
        pytest.param(lambda: encode(natural(33, 17), "BMP"), ImageHeader("other"), id="bmp"),
        pytest.param(lambda: encode(natural(33, 17), "TIFF"), ImageHeader("other"), id="tiff"),
        pytest.param(lambda: encode(natural(33, 17), "WEBP"), ImageHeader("other"), id="webp"),
        pytest.param(lambda: encode(natural(33, 17).quantize(8), "GIF"), ImageHeader("other"), id="gif"),
        pytest.param(lambda: b"hello, world", ImageHeader("other"), id="text"),
        pytest.param(lambda: b"", ImageHeader("other"), id="empty"),
        pytest.param(lambda: b"\xff\xd8\xff\xe0\x00", ImageHeader("jpeg"), id="jpeg-cut-before-sof"),
        pytest.param(lambda: b"\x89PNG\r\n\x1a\n\x00\x00", ImageHeader("png"), id="png-cut-in-ihdr"),
    ],
)
def test_read_header(data_factory: Callable[[], bytes], expected: ImageHeader) -> None:
    header = read_header(data_factory())
    assert header == expected
    assert header.pixels == (None if expected.width is None else expected.width * expected.height)


@pytest.mark.parametrize(
    ("sof_marker", "precision", "fast"),
    [
        (0xC0, 8, True),
        (0xC1, 8, True),
        (0xC2, 8, True),
        (0xC3, 8, False),
        (0xC9, 8, False),
        (0xC1, 12, False),
    ],
)
def test_read_header_jpeg_frame_types(sof_marker: int, precision: int, fast: bool) -> None:
    data = bytearray(encode(natural(33, 17), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 1] = sof_marker
    data[sof + 4] = precision
    assert read_header(bytes(data)) == ImageHeader("jpeg", 33, 17, 3, fast)


def test_read_header_skips_fill_bytes_before_markers() -> None:
    data = encode(natural(33, 17), "JPEG")
    padded = data[:2] + b"\xff\xff" + data[2:]
    assert read_header(padded) == ImageHeader("jpeg", 33, 17, 3, True)


# ---------------------------------------------------------------- 7. output types, dtypes, layout
_LAYOUT_WRITERS: dict[str, Writer] = {
    "jpeg-rgb": jpeg_case((33, 17), 80, 2),
    "jpeg-grey": saver(lambda: natural(33, 17, "L"), ".jpg"),
    "png-rgba": saver(lambda: natural(33, 17, "RGBA"), ".png"),
    "png-la": saver(lambda: natural(33, 17, "LA"), ".png"),
    "bmp": saver(lambda: natural(33, 17), ".bmp"),
}
_LAYOUT_CASES = [
    ("jpeg-rgb", "RGB"),
    ("jpeg-rgb", "L"),
    ("jpeg-grey", "RGB"),
    ("png-rgba", "RGB"),
    ("png-rgba", "unchanged"),
    ("bmp", "RGB"),
    ("bmp", "L"),
    ("png-la", "unchanged"),
]


def layout_params(failing: set[tuple[str, str]], reason: str) -> list[Any]:
    """``_LAYOUT_CASES`` as params, the ``failing`` ones marked strict xfail with ``reason``."""
    return [
        pytest.param(
            _LAYOUT_WRITERS[name],
            mode,
            id=f"{name}-{mode}",
            marks=[pytest.mark.xfail(strict=True, reason=reason)] if (name, mode) in failing else [],
        )
        for name, mode in _LAYOUT_CASES
    ]


@pytest.mark.parametrize(("write", "mode"), layout_params(set(), ""))
def test_output_types_dtypes_and_shapes(tmp_path: Path, write: Writer, mode: str) -> None:
    path = write(tmp_path)
    with Image.open(path) as opened:
        channels = {"RGB": 3, "L": 1}.get(mode) or len(opened.getbands())
    tensor = read_image(path, mode=mode)
    array = read_image(path, mode=mode, output="numpy")
    image = read_image(path, mode=mode, output="pil")
    assert type(tensor) is torch.Tensor and tensor.dtype == torch.uint8
    assert tuple(tensor.shape) == (channels, 17, 33)
    assert type(array) is np.ndarray and array.dtype == np.uint8
    assert array.shape == ((17, 33) if channels == 1 else (17, 33, channels))
    assert isinstance(image, Image.Image) and image.size == (33, 17)
    assert len(image.getbands()) == channels
    # The three outputs hold the same pixels.
    hwc = array if array.ndim == 3 else array[:, :, None]
    assert np.array_equal(tensor.permute(1, 2, 0).numpy(), hwc)
    assert np.array_equal(np.asarray(image), array)


@pytest.mark.parametrize(
    ("write", "mode"),
    layout_params(set(), ""),
)
def test_numpy_output_is_c_contiguous_like_numpy_asarray(tmp_path: Path, write: Writer, mode: str) -> None:
    path = write(tmp_path)
    array = read_image(path, mode=mode, output="numpy")
    with Image.open(path) as opened:
        assert np.asarray(ImageOps.exif_transpose(opened).convert("RGB")).flags.c_contiguous
    assert array.flags.c_contiguous


@pytest.mark.parametrize("mode", ["RGB", "L", "unchanged"])
@pytest.mark.parametrize(
    "write",
    [
        pytest.param(saver(lambda: natural(33, 17), ".bmp"), id="bmp"),
        pytest.param(saver(lambda: natural(33, 17, "LA"), ".png"), id="png-la"),
        pytest.param(saver(lambda: natural(33, 17), ".webp", lossless=True), id="webp"),
        pytest.param(jpeg_case((33, 17), 80, 2), id="jpeg-fast"),
    ],
)
def test_tensor_is_writable_without_warning(tmp_path: Path, write: Writer, mode: str) -> None:
    path = write(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tensor = read_image(path, mode=mode)
        before = tensor.clone()
        tensor[:, 0, 0] = 255 - tensor[:, 0, 0]
        tensor += 0
    assert not torch.equal(tensor, before)
    # Writing into one result does not change the file's next read (no shared buffers).
    assert torch.equal(read_image(path, mode=mode), before)


def test_16bit_unchanged_outputs(tmp_path: Path) -> None:
    values = _grey16_values()
    path = tmp_path / "grey16.png"
    Image.fromarray(values).save(path)
    tensor = read_image(path, mode="unchanged")
    array = read_image(path, mode="unchanged", output="numpy")
    image = read_image(path, mode="unchanged", output="pil")
    assert tensor.dtype == torch.uint16 and tuple(tensor.shape) == (1, 9, 11)
    assert array.dtype == np.uint16 and array.shape == (9, 11)
    assert image.mode == "I;16"
    assert int(array.max()) == int(values.max()) > 255


# ---------------------------------------------------------------- 8. invalid arguments
@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"mode": "rgb"}, "mode"),
        ({"mode": "RGBA"}, "mode"),
        ({"mode": None}, "mode"),
        ({"output": "PIL"}, "output"),
        ({"output": "tensors"}, "output"),
        ({"output": None}, "output"),
    ],
)
def test_invalid_arguments_raise_value_error(tmp_path: Path, kwargs: dict[str, Any], argument: str) -> None:
    path = tmp_path / "image.png"
    natural(4, 4).save(path)
    for target in (path, tmp_path / "missing.png"):  # checked before the file is opened
        with pytest.raises(ValueError, match=rf"^{argument}: expected one of .*, got {kwargs[argument]!r}"):
            read_image(target, **kwargs)
