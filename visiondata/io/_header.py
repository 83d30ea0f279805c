"""Reading the size and layout of JPEG and PNG files from their first bytes.

Knowing the pixel count before decoding lets the decompression-bomb limit be
enforced without decoding, and knowing the layout decides whether the fast
decoder gives exactly PIL's pixels or the file goes through PIL.
"""

from __future__ import annotations

from dataclasses import dataclass

_JPEG_SIGNATURE = b"\xff\xd8\xff"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Start-of-frame markers: every 0xC0-0xCF except DHT (C4), JPG (C8) and DAC (CC).
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Huffman-coded baseline, extended and progressive frames: what the fast decoder handles.
_HUFFMAN_SOF = frozenset({0xC0, 0xC1, 0xC2})


@dataclass(frozen=True)
class ImageHeader:
    """What the first bytes of an image file say.

    Attributes:
        format: ``"jpeg"``, ``"png"`` or ``"other"``.
        width: Pixels per row, when the header could be read.
        height: Rows, when the header could be read.
        channels: Components of a JPEG, or channels of a PNG's colour type.
        fast: Whether the fast decoder takes this file: an 8-bit, Huffman-coded
            JPEG with 1 or 3 components, for which it gives exactly PIL's
            pixels. PNG files always go through PIL: torchvision's PNG decoder
            crashes the whole process (SIGSEGV) on some corrupt files.
    """

    format: str
    width: int | None = None
    height: int | None = None
    channels: int | None = None
    fast: bool = False

    @property
    def pixels(self) -> int | None:
        """``width * height``, when known."""
        if self.width is None or self.height is None:
            return None
        return self.width * self.height


def read_header(data: bytes) -> ImageHeader:
    """Parse the header of JPEG or PNG ``data``; anything else is ``format="other"``.

    Examples:
        >>> import io
        >>> from PIL import Image
        >>> buffer = io.BytesIO()
        >>> Image.new("RGB", (40, 30)).save(buffer, "PNG")
        >>> read_header(buffer.getvalue())
        ImageHeader(format='png', width=40, height=30, channels=3, fast=False)
    """
    if data.startswith(_JPEG_SIGNATURE):
        return _jpeg_header(data)
    if data.startswith(_PNG_SIGNATURE):
        return _png_header(data)
    return ImageHeader("other")


def _jpeg_header(data: bytes) -> ImageHeader:
    position = 2
    end = len(data)
    while position + 4 <= end:
        if data[position] != 0xFF:
            break  # not at a marker: damaged; let the decoder report it
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:  # markers without a length
            position += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image or start of scan before any frame header
            break
        length = (data[position + 2] << 8) | data[position + 3]
        if marker in _SOF_MARKERS:
            if position + 10 > end:
                break
            precision = data[position + 4]
            height = (data[position + 5] << 8) | data[position + 6]
            width = (data[position + 7] << 8) | data[position + 8]
            components = data[position + 9]
            fast = marker in _HUFFMAN_SOF and precision == 8 and components in (1, 3)
            return ImageHeader("jpeg", width, height, components, fast)
        position += 2 + length
    return ImageHeader("jpeg")


def _png_header(data: bytes) -> ImageHeader:
    if len(data) < 33 or data[12:16] != b"IHDR":
        return ImageHeader("png")
    width = int.from_bytes(data[16:20], "big")
    height = int.from_bytes(data[20:24], "big")
    color_type = data[25]
    channels = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}.get(color_type)
    return ImageHeader("png", width, height, channels, fast=False)


# TIFF field types the orientation may be stored as, and their sizes: BYTE, SHORT, LONG.
_TIFF_INTEGER_SIZES = {1: 1, 3: 2, 4: 4}


def jpeg_orientation(data: bytes) -> int:
    """The EXIF orientation (1 to 8) of JPEG ``data``; 1 when there is none or it cannot be read.

    The EXIF is found as PIL finds it: the ``APP1`` segments that start with
    ``Exif\\0\\0``, joined, before the first scan; the orientation is tag
    ``0x0112`` of the first image file directory.

    Examples:
        >>> import io
        >>> from PIL import Image
        >>> exif = Image.Exif()
        >>> exif[0x0112] = 6
        >>> buffer = io.BytesIO()
        >>> Image.new("RGB", (4, 2)).save(buffer, "JPEG", exif=exif.tobytes())
        >>> jpeg_orientation(buffer.getvalue())
        6
    """
    exif = b""
    position = 2
    end = len(data)
    while position + 4 <= end:
        if data[position] != 0xFF:
            break
        marker = data[position + 1]
        if marker == 0xFF:
            position += 1
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:
            position += 2
            continue
        if marker in (0xD9, 0xDA):
            break
        length = (data[position + 2] << 8) | data[position + 3]
        if marker == 0xE1:
            segment = data[position + 4 : position + 2 + length]
            if segment.startswith(b"Exif\0\0"):
                exif += segment[6:] if exif else segment
        position += 2 + length
    return _tiff_orientation(exif[6:]) if exif else 1


def _tiff_orientation(tiff: bytes) -> int:
    """Tag ``0x0112`` of the first IFD of a TIFF structure (the body of an EXIF block); 1 if absent or damaged."""
    order = {b"II": "little", b"MM": "big"}.get(tiff[:2])
    if order is None or len(tiff) < 8:
        return 1

    def number(start: int, size: int) -> int:
        return int.from_bytes(tiff[start : start + size], order)  # type: ignore[arg-type]

    ifd = number(4, 4)
    if ifd + 2 > len(tiff):
        return 1
    for entry in range(ifd + 2, ifd + 2 + 12 * number(ifd, 2), 12):
        if entry + 12 > len(tiff):
            break
        if number(entry, 2) == 0x0112:
            size = _TIFF_INTEGER_SIZES.get(number(entry + 2, 2))
            if size is None or number(entry + 4, 4) < 1:
                return 1
            value = number(entry + 8, size)
            return value if 1 <= value <= 8 else 1
    return 1
