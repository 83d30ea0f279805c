"""``read_image``: one function for every image file a dataset may hold.

JPEG files of the common layouts (8-bit, 1 or 3 components) are decoded by
libjpeg-turbo (through ``simplejpeg``, TurboJPEG's API) straight into a
``uint8`` array, with no PIL object on the way; the pixels equal those of
``PIL.Image.open(path).convert(mode)``. Every other file (PNG, BMP, TIFF,
WebP, GIF, CMYK or 12-bit JPEG...) goes through PIL, with the EXIF
orientation applied and the conversions defined below. PNG stays with PIL
on purpose: torchvision 0.29's PNG decoder kills the process with a
segmentation fault on some corrupt files, where PIL raises an error.

Strict decoding (the default) gives one definition of an unreadable file to
every reader and to ``visiondata check``: libjpeg recovers from damaged data
by filling in grey or repeated blocks and only *warns* ("Corrupt JPEG data:
premature end of data segment"), and torchvision and PIL decode such a file
without a word, many pixels wrong. TurboJPEG's strict mode turns the warning
into an error, at no cost on clean files. torchvision's ``decode_jpeg`` is not
used: it prints libjpeg's warning to the process's stderr from C and returns
the damaged pixels, leaving no trace a caller could test.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import threading
import warnings
import zlib
from collections.abc import Callable, Iterator
from typing import Any, Literal

import numpy as np
import simplejpeg
import torch
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from visiondata._arguments import check_bool, check_choice, switch_from_environment
from visiondata._files import file_kind
from visiondata.exceptions import ImageReadError, VisionDataError
from visiondata.io._header import ImageHeader, jpeg_orientation, read_header

Mode = Literal["RGB", "L", "unchanged"]
Output = Literal["tensor", "pil", "numpy"]

#: File extensions (lower case) that image datasets pick up by default; the same list as torchvision's.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")

#: Files larger than this (1 GiB) are refused before a byte is read; ``read_image(max_bytes=...)`` changes it.
#: The largest image PIL's default pixel limit admits, stored uncompressed at 16 bits per RGBA channel, is 0.7 GiB.
MAX_IMAGE_BYTES = 1 << 30

_MODES = ("RGB", "L", "unchanged")
_OUTPUTS = ("tensor", "pil", "numpy")
Source = str | os.PathLike[str] | bytes | bytearray | memoryview | io.IOBase

#: Name of the environment variable that sets the process's default at import: ``0`` (or ``false``,
#: ``no``, ``off``) makes decoding tolerant. Spawned DataLoader workers re-import visiondata, so they
#: follow the variable, not a call of `set_strict_decode` made in the parent process.
STRICT_DECODE_VARIABLE = "VISIONDATA_STRICT_DECODE"
_strict_default = switch_from_environment(STRICT_DECODE_VARIABLE)


def set_strict_decode(strict: bool) -> bool:
    """Set the process-wide default of ``read_image(strict=None)``, which every reader follows; returns the old one.

    Strict (the default): a file that decodes only with a warning (a JPEG
    with corrupt or missing data, a PNG whose chunk checksum does not match)
    is unreadable, for ``read_image``, for every dataset that reads through
    it (folder, CSV, COCO, VOC, YOLO, shards), for ``export`` and for
    ``visiondata check`` alike. Tolerant (``False``): such files are decoded
    as libjpeg and PIL recover them, with the damaged blocks filled in; a
    truncated file stays unreadable unless ``PIL.ImageFile.LOAD_TRUNCATED_IMAGES``
    is ``True``.

    The setting is per process: forked DataLoader workers inherit it, spawned
    ones start from the ``VISIONDATA_STRICT_DECODE`` environment variable
    (``0`` for tolerant), which the command line follows too.

    Examples:
        >>> previous = set_strict_decode(False)
        >>> strict_decode()
        False
        >>> _ = set_strict_decode(previous)
    """
    global _strict_default
    check_bool("strict", strict, expected="True or False", error=TypeError)
    previous, _strict_default = _strict_default, strict
    return previous


def _strict_or_default(strict: Any) -> bool:
    """A ``strict=`` argument: ``None`` follows `set_strict_decode`; anything but a bool is refused (``"no"`` is truthy)."""
    if strict is None:
        return _strict_default
    return check_bool("strict", strict, expected="True, False or None", error=TypeError)


def strict_decode() -> bool:
    """The process-wide default of ``read_image(strict=None)`` (see `set_strict_decode`)."""
    return _strict_default


def read_image(
    path: Source,
    mode: Mode = "RGB",
    output: Output = "tensor",
    max_pixels: int | None = None,
    max_bytes: int = MAX_IMAGE_BYTES,
    strict: bool | None = None,
) -> Any:
    """Read an image file, whatever its format, as RGB, greyscale or as stored.

    Conversions: EXIF orientation is applied (as ``PIL.ImageOps.exif_transpose``);
    alpha is dropped for ``"RGB"`` and ``"L"`` (as PIL's ``convert`` does), never
    composited; palette images take their palette colours; CMYK becomes RGB as
    PIL converts it; 16-bit images keep their high byte (``v >> 8``, the
    reduction PIL applies to 16-bit colour PNGs), where PIL's ``convert`` of a
    16-bit greyscale image would clip every value above 255; greyscale to RGB
    repeats the channel, and RGB to greyscale uses PIL's ITU-R 601-2 luma
    weights. ``"unchanged"`` keeps the stored channels (palette images become
    RGB, or RGBA with transparency) and, for greyscale, the bit depth (16-bit
    stays ``uint16``; PIL itself reads 16-bit colour PNGs as 8-bit).

    The tensor may be a channels-last view (``permute`` of ``H x W x C``
    memory); call ``.contiguous()`` before relying on its strides.

    Only regular files are read: a FIFO, a device (``/dev/zero``), a socket or
    a link to one is refused before it is opened, and so is a file larger than
    ``max_bytes``, so a bad file never hangs the reader or fills the memory.

    Args:
        path: The image file, the encoded file's bytes, or a binary file object
            (read from its current position). An ``int`` is refused, not taken
            as a file descriptor.
        mode: ``"RGB"`` (3 channels), ``"L"`` (1 channel) or ``"unchanged"``.
        output: ``"tensor"`` (``C x H x W``), ``"numpy"`` (``H x W x C``, or
            ``H x W`` for one channel, as ``numpy.asarray(pil_image)``) or ``"pil"``.
        max_pixels: Refuse images with more pixels than this (decompression
            bombs). ``None`` uses ``PIL.Image.MAX_IMAGE_PIXELS``, so raising or
            disabling PIL's limit applies here too. A larger ``max_pixels``
            applies to this call only, also when other threads read images.
        max_bytes: Refuse files larger than this many bytes.
        strict: Refuse a file that decodes only with a warning: a JPEG with
            corrupt data (reason ``"corrupt JPEG data"``, libjpeg's message as
            the detail), a JPEG or any other file whose data ends early
            (``"truncated file"``, whatever ``PIL.ImageFile.LOAD_TRUNCATED_IMAGES``
            says), a PNG chunk whose CRC does not match (``"corrupt file"``).
            ``False`` decodes what libjpeg and PIL can recover, damaged blocks
            filled in (truncated files still follow PIL's
            ``LOAD_TRUNCATED_IMAGES``). ``None`` (default) follows
            `set_strict_decode`, strict unless changed.

    Returns:
        The image, ``uint8`` (``uint16`` for 16-bit images in ``"unchanged"`` mode).

    Raises:
        ImageReadError: The file is missing, empty, truncated, corrupt (also
            only in part, see ``strict``), not an image, too large, not a
            regular file, or in a layout that cannot give ``mode``; the
            message names the file and the cause. Also an ``OSError``.
        TypeError: ``path`` is neither a path, bytes nor a binary file object, or ``strict`` is not
            ``True``, ``False`` or ``None`` (``"no"`` would otherwise count as true).
        ValueError: ``mode`` or ``output`` is none of the values above.

    Examples:
        >>> import tempfile, pathlib
        >>> from PIL import Image
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "red.png"
        >>> Image.new("RGB", (4, 2), (255, 0, 0)).save(path)
        >>> read_image(path).shape
        torch.Size([3, 2, 4])
        >>> read_image(path, mode="L", output="numpy")[0, 0]
        np.uint8(76)
    """
    mode = check_choice("mode", mode, _MODES)
    output = check_choice("output", output, _OUTPUTS)
    strict = _strict_or_default(strict)
    data, path = _encoded_bytes(path, max_bytes)
    return _decode_data(path, data, read_header(data), mode, output, max_pixels, strict)


def _decode_data(
    path: object,
    data: bytes,
    header: ImageHeader,
    mode: str,
    output: str,
    max_pixels: int | None,
    strict: bool,
) -> Any:
    """`read_image` of ``data`` (already read, its header parsed; ``path`` names it in errors)."""
    limit = _PIXEL_LIMIT.current() if max_pixels is None else max_pixels
    if limit is not None and header.pixels is not None and header.pixels > limit:
        raise _too_large(path, header.width, header.height, limit)
    hwc = _decode_fast(path, data, header, strict) if header.fast else None
    if hwc is not None:
        if output == "tensor" or (mode == "L" and hwc.shape[2] == 3):
            chw = _convert_channels(torch.from_numpy(hwc).permute(2, 0, 1), mode)
            return chw if output == "tensor" else _tensor_to_output(chw, output)
        array = np.repeat(hwc, 3, axis=2) if mode == "RGB" and hwc.shape[2] == 1 else hwc
        array = np.ascontiguousarray(array[:, :, 0] if array.shape[2] == 1 else array)
        return array if output == "numpy" else Image.fromarray(array)
    array = _decode_with_pil(
        path, data, header.format, lambda image: _pil_to_array(path, image, mode), limit, strict
    )
    if output == "numpy":
        return np.ascontiguousarray(array)
    if output == "pil":
        return Image.fromarray(array)
    hwc = array[..., None] if array.ndim == 2 else array
    # PIL's buffers are read-only; the tensor gets its own writable copy.
    return torch.from_numpy(np.array(hwc, copy=True)).permute(2, 0, 1)


def _encoded_bytes(source: Any, max_bytes: int) -> tuple[bytes, str]:
    """The encoded image and the name errors give it, from a path, bytes or a binary file object."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        name = "<bytes>"
    elif isinstance(source, (str, os.PathLike)):
        return read_file(source, max_bytes), os.fspath(source)  # type: ignore[return-value]
    elif hasattr(source, "read"):
        name = str(getattr(source, "name", "<stream>"))
        data = source.read(max_bytes + 1)
        if not isinstance(data, bytes):
            raise TypeError(f"{name}: expected a file object opened in binary mode ('rb'), got text mode")
    else:
        # os.open and open() take an int as a file descriptor: 0 would block on stdin, others
        # would read (and close) whatever the caller has open under that number.
        raise TypeError(
            f"read_image: expected a path, bytes or a binary file object, got {type(source).__name__} "
            f"{source!r}; pass the file's path"
        )
    if len(data) > max_bytes:
        raise _too_many_bytes(name, f"more than {max_bytes:,}", max_bytes)
    if not data:
        raise ImageReadError(name, "empty file (0 bytes)")
    return data, name


def check_regular_file(path: str | os.PathLike[str], max_bytes: int = MAX_IMAGE_BYTES) -> os.stat_result:
    """``os.stat`` of ``path`` if it is a regular file of at most ``max_bytes``; anything else is an ``ImageReadError``.

    Links are followed, so a link to ``/dev/zero`` or to a FIFO is refused
    like the special file itself, without opening it (opening a FIFO waits for
    a writer; reading a device may never end).

    Examples:
        >>> check_regular_file("/dev/null")
        Traceback (most recent call last):
        ...
        visiondata.exceptions.ImageReadError: /dev/null: cannot read image: not a regular file (a character device...
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        reason = "broken symbolic link" if os.path.islink(path) else "file not found"
        raise ImageReadError(path, reason) from None
    except OSError as error:
        raise ImageReadError(path, "cannot open the file", error.strerror or str(error)) from error
    _refuse_special(path, info, max_bytes)
    return info


def _refuse_special(path: object, info: os.stat_result, max_bytes: int) -> None:
    if not stat.S_ISREG(info.st_mode):
        if stat.S_ISDIR(info.st_mode):
            raise ImageReadError(path, "is a directory, not a file")
        kind = file_kind(info.st_mode)
        raise ImageReadError(
            path,
            f"not a regular file ({kind})",
            "special files are never opened; replace it with the image file it stands for",
        )
    if info.st_size > max_bytes:
        raise _too_many_bytes(path, f"{info.st_size:,}", max_bytes)


def read_file(path: str | os.PathLike[str], max_bytes: int = MAX_IMAGE_BYTES) -> bytes:
    """The bytes of an image file, refusing special files and files above ``max_bytes`` before reading.

    Examples:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.jpg"
        >>> _ = path.write_bytes(b"12345")
        >>> read_file(path, max_bytes=4)
        Traceback (most recent call last):
        ...
        visiondata.exceptions.ImageReadError: ...: cannot read image: file too large (5 bytes, above the limit of 4...
    """
    check_regular_file(path, max_bytes)
    try:
        # O_NONBLOCK: should the file be swapped for a FIFO after the check, opening it does not wait.
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise ImageReadError(path, "file not found") from None
    except OSError as error:
        raise ImageReadError(path, "cannot open the file", error.strerror or str(error)) from error
    with open(descriptor, "rb") as stream:
        info = os.fstat(descriptor)
        _refuse_special(path, info, max_bytes)  # the file that was opened
        try:
            # Ask for the size fstat gave plus one byte: asking for max_bytes + 1 makes Python
            # allocate (and then shrink) a buffer of that size, 1 GiB, about 0.1 ms a file.
            data = stream.read(info.st_size + 1)
            if len(data) > info.st_size:  # the file grew since: read on, up to the limit
                data += stream.read(max_bytes + 1 - len(data)) or b""
        except OSError as error:
            raise ImageReadError(path, "cannot read the file", error.strerror or str(error)) from error
    if len(data) > max_bytes:  # grew since the check
        raise _too_many_bytes(path, f"more than {max_bytes:,}", max_bytes)
    if not data:
        raise ImageReadError(path, "empty file (0 bytes)")
    return data


def _too_many_bytes(path: object, size: str, max_bytes: int) -> ImageReadError:
    return ImageReadError(
        path,
        f"file too large ({size} bytes, above the limit of {max_bytes:,})",
        "not read; if the file is a genuine image, pass max_bytes= to read_image",
    )


def _too_large(path: object, width: int | None, height: int | None, limit: int) -> ImageReadError:
    return ImageReadError(
        path,
        "too large",
        f"{width} x {height} = {(width or 0) * (height or 0):,} pixels, above the decompression-bomb limit "
        f"of {limit:,}; if the file is trusted, pass max_pixels= or raise PIL.Image.MAX_IMAGE_PIXELS",
    )


# ---------------------------------------------------------------- the fast path
def _decode_fast(
    path: object, data: bytes, header: ImageHeader, strict: bool, least: tuple[int, int] = (0, 0)
) -> np.ndarray | None:
    """``H x W x C`` pixels of a JPEG the header calls fast, EXIF orientation applied (PIL's ``exif_transpose``).

    ``None`` when TurboJPEG cannot decode the file at all (a damaged header, or a sampling layout it
    does not handle): PIL then decodes it or names the damage. ``least``: ``(height, width)`` in the
    stored (not oriented) frame that the decoded image must at least have; libjpeg-turbo then decodes
    at the smallest of its DCT scales that gives them (``(0, 0)``: full size, the exact pixels).
    """
    colorspace = "GRAY" if header.channels == 1 else "RGB"
    try:
        # Strict first, tolerant or not: on a clean file that is the only decode; a warning (which
        # TurboJPEG's strict mode raises) is told apart from a fatal error by a second, tolerant decode.
        hwc = simplejpeg.decode_jpeg(
            data, colorspace=colorspace, strict=True, min_height=least[0], min_width=least[1]
        )
    except (ValueError, RuntimeError) as strict_error:
        hwc = _recover_jpeg(path, data, str(strict_error), strict, colorspace, least)
        if hwc is None:
            return None
    if hwc.ndim == 2:
        hwc = hwc[:, :, None]
    orientation = jpeg_orientation(data)
    if orientation != 1:
        # Flips give negative strides, which torch.from_numpy refuses: copy (only turned images pay).
        hwc = np.ascontiguousarray(_ORIENT[orientation](hwc))
    return hwc


# PIL's exif_transpose, orientation by orientation, on H x W x C arrays.
_ORIENT = {
    2: lambda a: a[:, ::-1],  # FLIP_LEFT_RIGHT
    3: lambda a: a[::-1, ::-1],  # ROTATE_180
    4: lambda a: a[::-1],  # FLIP_TOP_BOTTOM
    5: lambda a: a.transpose(1, 0, 2),  # TRANSPOSE
    6: lambda a: np.rot90(a, -1),  # ROTATE_270 (counter-clockwise), a quarter turn clockwise
    7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),  # TRANSVERSE
    8: lambda a: np.rot90(a, 1),  # ROTATE_90 (counter-clockwise)
}


def _recover_jpeg(
    path: object, data: bytes, warning: str, strict: bool, colorspace: str, least: tuple[int, int] = (0, 0)
) -> np.ndarray | None:
    """After a strict decode failed: the tolerant pixels, the ``ImageReadError`` a warning stands for, or
    ``None`` when the failure is fatal (TurboJPEG cannot decode the file at all)."""
    try:
        recovered = simplejpeg.decode_jpeg(
            data, colorspace=colorspace, strict=False, min_height=least[0], min_width=least[1]
        )
    except (ValueError, RuntimeError):
        return None
    damage = _jpeg_warning(path, warning)
    if not strict and (damage.reason == "corrupt JPEG data" or _PIXEL_LIMIT.load_truncated()):
        return recovered
    raise damage


def _jpeg_warning(path: object, message: str) -> ImageReadError:
    """The error a libjpeg warning stands for: the file ends early, or its data is corrupt."""
    if "premature end of jpeg file" in message.lower():  # JWRN_JPEG_EOF: the file was cut
        return ImageReadError(path, "truncated file", f"JPEG decoder: {message}")
    return ImageReadError(path, "corrupt JPEG data", f"JPEG decoder: {message}")


def jpeg_damage(data: bytes) -> str:
    """libjpeg's warning for JPEG ``data`` that decodes only with one (corrupt or missing data), else ``""``.

    For JPEG layouts PIL decodes (CMYK, 12-bit...): PIL ignores libjpeg's
    warnings, TurboJPEG's strict mode does not. A layout TurboJPEG cannot
    decode at all gives ``""`` (PIL's verdict stands).

    Examples:
        >>> import io
        >>> from PIL import Image
        >>> buffer = io.BytesIO()
        >>> Image.new("RGB", (64, 64), (200, 30, 30)).save(buffer, "JPEG")
        >>> jpeg_damage(buffer.getvalue())
        ''
        >>> jpeg_damage(buffer.getvalue()[:-2])
        'Premature end of JPEG file'
    """
    if not data.startswith(b"\xff\xd8"):
        return ""
    try:
        simplejpeg.decode_jpeg(data, strict=True)
        return ""
    except (ValueError, RuntimeError) as strict_error:
        try:
            simplejpeg.decode_jpeg(data, strict=False)
        except (ValueError, RuntimeError):
            return ""  # a layout TurboJPEG does not decode
        return str(strict_error)


def _convert_channels(image: torch.Tensor, mode: str) -> torch.Tensor:
    """Channel conversions on ``C x H x W`` uint8, exactly as PIL's ``convert`` computes them."""
    channels = image.shape[0]
    if mode == "unchanged":
        return image
    if channels == 4:  # RGBA: PIL drops alpha for both RGB and L
        image, channels = image[:3], 3
    if mode == "RGB":
        return image.expand(3, -1, -1).contiguous() if channels == 1 else image
    if channels == 1:
        return image
    return _luma(image)


def _luma(rgb: torch.Tensor) -> torch.Tensor:
    """PIL's RGB -> L on ``uint8`` ``(..., 3, H, W)``: ``(R*19595 + G*38470 + B*7471 + 0x8000) >> 16``."""
    weighted = rgb.to(torch.int32)
    red, green, blue = weighted[..., 0, :, :], weighted[..., 1, :, :], weighted[..., 2, :, :]
    luma = red * 19595 + green * 38470 + blue * 7471 + 0x8000
    return (luma >> 16).to(torch.uint8).unsqueeze(-3)


def _tensor_to_output(chw: torch.Tensor, output: str) -> Any:
    array = np.ascontiguousarray(chw.permute(1, 2, 0).numpy())
    if array.shape[2] == 1:
        array = array[:, :, 0]
    return Image.fromarray(array) if output == "pil" else array


# ---------------------------------------------------------------- everything else, through PIL
def decode_with_pil(
    path: str | os.PathLike[str],
    to_array: Callable[[Image.Image], np.ndarray],
    max_pixels: int | None = None,
    strict: bool | None = None,
) -> np.ndarray:
    """``to_array`` of the decoded PIL image of ``path``, behind every check of `read_image`.

    For readers that need the stored values rather than RGB (a palette mask's indices, 16-bit ids):
    the file is refused before it is opened when it is special or too large, the decompression-bomb
    limit and ``strict`` apply as in `read_image`, EXIF orientation is applied, and PIL's errors become
    an `ImageReadError` naming the file. ``to_array`` may raise a `VisionDataError` of its own.

    Examples:
        >>> import tempfile, pathlib
        >>> from PIL import Image
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "ids.png"
        >>> Image.new("L", (3, 2), 7).save(path)
        >>> decode_with_pil(path, lambda image: np.asarray(image)).tolist()
        [[7, 7, 7], [7, 7, 7]]
    """
    strict = _strict_or_default(strict)
    data = read_file(path)
    header = read_header(data)
    limit = _PIXEL_LIMIT.current() if max_pixels is None else max_pixels
    if limit is not None and header.pixels is not None and header.pixels > limit:
        raise _too_large(path, header.width, header.height, limit)
    return _decode_with_pil(path, data, header.format, to_array, limit, strict)


def _decode_with_pil(
    path: object,
    data: bytes,
    claimed: str,
    to_array: Callable[[Image.Image], np.ndarray],
    limit: int | None,
    strict: bool,
) -> np.ndarray:
    try:
        with _PIXEL_LIMIT.decode(limit, strict), Image.open(io.BytesIO(data)) as opened:
            if limit is not None and opened.width * opened.height > limit:
                raise _too_large(path, opened.width, opened.height, limit)
            image = ImageOps.exif_transpose(opened)
            image.load()
            array = to_array(image)
        # After PIL's decode, which names most damage in its own words: what it lets through.
        if strict and claimed == "png":
            _check_png_chunks(path, data)
        if strict and claimed == "jpeg":
            damage = jpeg_damage(data)
            if damage:
                raise _jpeg_warning(path, damage)
        return array
    except VisionDataError:
        raise
    except Image.DecompressionBombError as error:
        raise ImageReadError(path, "too large", str(error)) from error
    except UnidentifiedImageError:
        raise _unidentified(path, data, claimed) from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        text = str(error)
        reason = "truncated file" if "truncated" in text.lower() else "corrupt file"
        raise ImageReadError(path, reason, text) from error


def _check_png_chunks(path: object, data: bytes) -> None:
    """Refuse a PNG whose chunks do not add up to a whole file or whose CRCs do not match.

    PIL checks the CRC of the chunks before the image data only: a flipped
    bit in a later ``IDAT`` chunk, where zlib happens not to notice it, gives
    wrong pixels without an error, and a file cut short loads with grey rows
    when ``PIL.ImageFile.LOAD_TRUNCATED_IMAGES`` is set. Checking every CRC
    costs a few percent of the decode (zlib's CRC runs at GB/s).
    """
    position, end = 8, len(data)
    view = memoryview(data)  # CRC of slices without copying them
    while True:
        if position + 12 > end:
            raise ImageReadError(
                path, "truncated file", f"the PNG ends at byte {end:,} before its IEND chunk"
            )
        length = int.from_bytes(data[position : position + 4], "big")
        kind = data[position + 4 : position + 8]
        stop = position + 8 + length
        if stop + 4 > end:
            name = kind.decode("latin-1")
            raise ImageReadError(
                path,
                "truncated file",
                f"PNG chunk {name!r} at byte {position:,} needs {length + 12:,} bytes, the file ends after "
                f"{end - position:,}",
            )
        stored = int.from_bytes(data[stop : stop + 4], "big")
        computed = zlib.crc32(view[position + 4 : stop])
        if stored != computed:
            name = kind.decode("latin-1")
            raise ImageReadError(
                path,
                "corrupt file",
                f"PNG chunk {name!r} at byte {position:,}: CRC mismatch (stored {stored:#010x}, computed "
                f"{computed:#010x}); the file is damaged",
            )
        if kind == b"IEND":
            return
        position = stop + 4


def _unidentified(path: object, data: bytes, claimed: str) -> ImageReadError:
    """No PIL plugin opened the file: a damaged file of a known format, or not an image at all."""
    if claimed in ("png", "jpeg"):
        from PIL import JpegImagePlugin, PngImagePlugin

        plugin = PngImagePlugin.PngImageFile if claimed == "png" else JpegImagePlugin.JpegImageFile
        try:
            plugin(io.BytesIO(data)).close()
            cause = "PIL could not open it"
        except Exception as error:  # the plugin's own complaint is the real cause
            cause = str(error) or type(error).__name__
        return ImageReadError(
            path,
            "corrupt file",
            f"it starts like a {claimed.upper()} file, but its header is damaged: {cause}",
        )
    hint = "it looks like text" if _looks_like_text(data) else f"it starts with bytes {data[:8].hex(' ')}"
    return ImageReadError(path, "not an image", f"no image format recognises the file; {hint}")


class _PILPixelLimit:
    """Lifts PIL's global pixel limit for one decode at a time, without lifting it for any other.

    PIL warns between its limit and twice it, and refuses above, at open and
    again while loading some formats (GIF frames, TIFF tiles). A caller who
    passed a larger ``max_pixels`` has accepted such images, so PIL's check is
    lifted for that decode. The limit is a module global: every PIL decode of
    ours shares a lock that a lifting decode holds alone, and the limit other
    calls apply is read from here, never from PIL while it is lifted.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._sharing = 0
        self._lifted = False
        self._waiting_to_lift = 0
        self._saved: int | None = None
        self._saved_truncated = False

    def current(self) -> int | None:
        """PIL's limit as the user set it, also while a decode has lifted it."""
        with self._condition:
            return self._saved if self._lifted else Image.MAX_IMAGE_PIXELS

    def load_truncated(self) -> bool:
        """``PIL.ImageFile.LOAD_TRUNCATED_IMAGES`` as the user set it, also while a strict decode has cleared it."""
        with self._condition:
            return self._saved_truncated if self._lifted else bool(ImageFile.LOAD_TRUNCATED_IMAGES)

    @contextlib.contextmanager
    def decode(self, limit: int | None, strict: bool = False) -> Iterator[None]:
        """Hold while PIL opens and loads an image whose pixel count ``limit`` bounds (checked by the caller).

        A ``strict`` decode also holds PIL's ``LOAD_TRUNCATED_IMAGES`` at ``False`` (when the user set
        it): with it, PIL pads a file cut short with grey rows and ignores its decoders' errors.
        """
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our check is stricter
            with self._condition:
                pil_limit = self._saved if self._lifted else Image.MAX_IMAGE_PIXELS
                lift = pil_limit is not None and (limit is None or limit > pil_limit)
                truncated = self._saved_truncated if self._lifted else ImageFile.LOAD_TRUNCATED_IMAGES
                clear = strict and bool(truncated)
            if lift or clear:
                with self._alone():
                    try:
                        if not lift:
                            Image.MAX_IMAGE_PIXELS = self._saved
                        if clear:
                            ImageFile.LOAD_TRUNCATED_IMAGES = False
                        yield
                    finally:
                        Image.MAX_IMAGE_PIXELS = self._saved
                        ImageFile.LOAD_TRUNCATED_IMAGES = self._saved_truncated
            else:
                with self._shared():
                    yield

    @contextlib.contextmanager
    def _shared(self) -> Iterator[None]:
        with self._condition:
            while self._lifted or self._waiting_to_lift:
                self._condition.wait()
            self._sharing += 1
        try:
            yield
        finally:
            with self._condition:
                self._sharing -= 1
                self._condition.notify_all()

    @contextlib.contextmanager
    def _alone(self) -> Iterator[None]:
        with self._condition:
            self._waiting_to_lift += 1
            while self._lifted or self._sharing:
                self._condition.wait()
            self._waiting_to_lift -= 1
            self._lifted, self._saved = True, Image.MAX_IMAGE_PIXELS
            self._saved_truncated = ImageFile.LOAD_TRUNCATED_IMAGES
            Image.MAX_IMAGE_PIXELS = None
        try:
            yield
        finally:
            with self._condition:
                self._lifted = False
                self._condition.notify_all()


_PIXEL_LIMIT = _PILPixelLimit()


def _pil_to_array(path: object, image: Image.Image, mode: str) -> np.ndarray:
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N") and mode != "unchanged":
        narrow = (np.asarray(image).astype(np.uint16) >> 8).astype(np.uint8)
        return narrow if mode == "L" else np.repeat(narrow[:, :, None], 3, axis=2)
    if image.mode.startswith("I;16"):
        return np.asarray(image).astype(np.uint16)
    if mode == "unchanged":
        if image.mode == "P":
            image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        elif image.mode in ("1", "CMYK", "YCbCr", "LAB", "HSV"):
            image = image.convert("L" if image.mode == "1" else "RGB")
        elif image.mode not in ("L", "LA", "RGB", "RGBA"):
            raise ImageReadError(
                path, "unsupported pixel format", f"PIL mode {image.mode!r}; read it with PIL"
            )
        return np.asarray(image)
    if image.mode in ("F", "I"):
        raise ImageReadError(
            path,
            "unsupported pixel format",
            f"PIL mode {image.mode!r} has no 8-bit {mode}; use mode='unchanged'",
        )
    return np.asarray(image.convert(mode))


def _looks_like_text(data: bytes) -> bool:
    sample = data[:512]
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
