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
import os
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

_MODES = ("RGB", "L", "unchanged")
_PIL_LIMIT_LOCK = threading.Lock()
_OUTPUTS = ("tensor", "pil", "numpy")


def read_image(
    path: str | os.PathLike[str],
    mode: Mode = "RGB",
    output: Output = "tensor",
    max_pixels: int | None = None,
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

    Args:
        path: The image file.
        mode: ``"RGB"`` (3 channels), ``"L"`` (1 channel) or ``"unchanged"``.
        output: ``"tensor"`` (``C x H x W``), ``"numpy"`` (``H x W x C``, or
            ``H x W`` for one channel, as ``numpy.asarray(pil_image)``) or ``"pil"``.
        max_pixels: Refuse images with more pixels than this (decompression
            bombs). ``None`` uses ``PIL.Image.MAX_IMAGE_PIXELS``, so raising or
            disabling PIL's limit applies here too.

    Returns:
        The image, ``uint8`` (``uint16`` for 16-bit images in ``"unchanged"`` mode).

    Raises:
        ImageReadError: The file is missing, empty, truncated, not an image,
            too large, or in a layout that cannot give ``mode``; the message
            names the file and the cause. Also an ``OSError``.

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
    data = _read_bytes(path)
    header = read_header(data)
    limit = Image.MAX_IMAGE_PIXELS if max_pixels is None else max_pixels
    if limit is not None and header.pixels is not None and header.pixels > limit:
        raise _too_large(path, header.width, header.height, limit)
    if header.fast:
        chw = _decode_fast(path, data, header, mode)
        if output == "tensor":
            return chw
        return _tensor_to_output(chw, output)
    array = _decode_with_pil(path, data, mode, limit)
    if output == "numpy":
        return np.ascontiguousarray(array)
    if output == "pil":
        return Image.fromarray(array)
    hwc = array[..., None] if array.ndim == 2 else array
    # PIL's buffers are read-only; the tensor gets its own writable copy.
    return torch.from_numpy(np.array(hwc, copy=True)).permute(2, 0, 1)


def _read_bytes(path: str | os.PathLike[str]) -> bytes:
    try:
        with open(path, "rb") as stream:
            data = stream.read()
    except FileNotFoundError:
        raise ImageReadError(path, "file not found") from None
    except IsADirectoryError:
        raise ImageReadError(path, "is a directory, not a file") from None
    except OSError as error:
        raise ImageReadError(path, "cannot open the file", error.strerror or str(error)) from error
    if not data:
        raise ImageReadError(path, "empty file (0 bytes)")
    return data


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
def _decode_with_pil(path: object, data: bytes, mode: str, limit: int | None) -> np.ndarray:
    import io

    try:
        with _pil_limit_lifted(limit), Image.open(io.BytesIO(data)) as opened:
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
        hint = "it looks like text" if _looks_like_text(data) else f"it starts with bytes {data[:8].hex(' ')}"
        raise ImageReadError(path, "not an image", f"no image format recognises the file; {hint}") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        text = str(error)
        reason = "truncated file" if "truncated" in text.lower() else "corrupt file"
        raise ImageReadError(path, reason, text) from error


@contextlib.contextmanager
def _pil_limit_lifted(limit: int | None) -> Iterator[None]:
    """Let our ``limit`` (already checked, or checked right after opening) replace PIL's own.

    PIL warns between its limit and twice it, and refuses above; a caller who
    passed a larger ``max_pixels`` has accepted such images, so PIL's check is
    lifted for the open, under a lock because the limit is a module global.
    """
    if limit is not None and (Image.MAX_IMAGE_PIXELS is None or limit <= Image.MAX_IMAGE_PIXELS):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our check is stricter
            yield
        return
    with _PIL_LIMIT_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = saved


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
