"""``read_image``: one function for every image file a dataset may hold.

JPEG files of the common layouts (8-bit, 1 or 3 components) are decoded by
libjpeg-turbo straight into a ``uint8`` tensor (through ``torchvision.io``),
with no PIL object on the way; the pixels equal those of
``PIL.Image.open(path).convert(mode)``. Every other file (PNG, BMP, TIFF,
WebP, GIF, CMYK or 12-bit JPEG...) goes through PIL, with the EXIF
orientation applied and the conversions defined below. PNG stays with PIL
on purpose: torchvision 0.29's PNG decoder kills the process with a
segmentation fault on some corrupt files, where PIL raises an error.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import threading
import warnings
from collections.abc import Iterator
from typing import Any, Literal

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from visiondata.exceptions import ImageReadError
from visiondata.io._header import ImageHeader, read_header

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


def read_image(
    path: Source,
    mode: Mode = "RGB",
    output: Output = "tensor",
    max_pixels: int | None = None,
    max_bytes: int = MAX_IMAGE_BYTES,
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

    Returns:
        The image, ``uint8`` (``uint16`` for 16-bit images in ``"unchanged"`` mode).

    Raises:
        ImageReadError: The file is missing, empty, truncated, not an image,
            too large, not a regular file, or in a layout that cannot give
            ``mode``; the message names the file and the cause. Also an ``OSError``.
        TypeError: ``path`` is neither a path, bytes nor a binary file object.

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
    if mode not in _MODES:
        raise ValueError(f"mode: expected one of {', '.join(map(repr, _MODES))}, got {mode!r}")
    if output not in _OUTPUTS:
        raise ValueError(f"output: expected one of {', '.join(map(repr, _OUTPUTS))}, got {output!r}")
    data, path = _encoded_bytes(path, max_bytes)
    header = read_header(data)
    limit = _PIXEL_LIMIT.current() if max_pixels is None else max_pixels
    if limit is not None and header.pixels is not None and header.pixels > limit:
        raise _too_large(path, header.width, header.height, limit)
    if header.fast:
        chw = _decode_fast(path, data, header, mode)
        if output == "tensor":
            return chw
        return _tensor_to_output(chw, output)
    array = _decode_with_pil(path, data, header.format, mode, limit)
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


_SPECIAL_FILES = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


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
        kind = next((name for test, name in _SPECIAL_FILES if test(info.st_mode)), "not a file")
        if kind == "a directory":
            raise ImageReadError(path, "is a directory, not a file")
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
def _decode_fast(path: object, data: bytes, header: ImageHeader, mode: str) -> torch.Tensor:
    from torchvision.io import ImageReadMode, decode_jpeg

    encoded = torch.frombuffer(bytearray(data), dtype=torch.uint8)
    try:
        with warnings.catch_warnings():
            # torchvision 0.29 deprecates its decoders in favour of TorchCodec; they stay the
            # libjpeg-turbo / libpng decoders we want until the switch (one place: here).
            warnings.simplefilter("ignore", DeprecationWarning)
            image = decode_jpeg(encoded, mode=ImageReadMode.UNCHANGED, apply_exif_orientation=True)
    except RuntimeError as error:
        text = str(error)
        reason = (
            "truncated file"
            if "truncated" in text.lower() or "out of data" in text.lower()
            else "corrupt file"
        )
        raise ImageReadError(
            path, reason, f"{header.format.upper()} decoder: {text.split(', ')[-1]}"
        ) from error
    return _convert_channels(image, mode)


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
def _decode_with_pil(path: object, data: bytes, claimed: str, mode: str, limit: int | None) -> np.ndarray:
    try:
        with _PIXEL_LIMIT.decode(limit), Image.open(io.BytesIO(data)) as opened:
            if limit is not None and opened.width * opened.height > limit:
                raise _too_large(path, opened.width, opened.height, limit)
            image = ImageOps.exif_transpose(opened)
            image.load()
            return _pil_to_array(path, image, mode)
    except ImageReadError:
        raise
    except Image.DecompressionBombError as error:
        raise ImageReadError(path, "too large", str(error)) from error
    except UnidentifiedImageError:
        raise _unidentified(path, data, claimed) from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        text = str(error)
        reason = "truncated file" if "truncated" in text.lower() else "corrupt file"
        raise ImageReadError(path, reason, text) from error


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

    def current(self) -> int | None:
        """PIL's limit as the user set it, also while a decode has lifted it."""
        with self._condition:
            return self._saved if self._lifted else Image.MAX_IMAGE_PIXELS

    @contextlib.contextmanager
    def decode(self, limit: int | None) -> Iterator[None]:
        """Hold while PIL opens and loads an image whose pixel count ``limit`` bounds (checked by the caller)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our check is stricter
            with self._condition:
                pil_limit = self._saved if self._lifted else Image.MAX_IMAGE_PIXELS
                lift = pil_limit is not None and (limit is None or limit > pil_limit)
            if lift:
                with self._alone():
                    try:
                        yield
                    finally:
                        Image.MAX_IMAGE_PIXELS = self._saved
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
