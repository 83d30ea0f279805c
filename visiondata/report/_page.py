"""The report page: thumbnails as ``data:`` URLs and the jinja2 template that makes one self-contained HTML file.

Nothing on the page is fetched: the CSS is in the template, plots are inline SVG and thumbnails are JPEGs
downscaled to a bounded size and embedded as base64, so the file opens the same offline, from an e-mail or
from a CI artifact, and needs no script.
"""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Sequence
from typing import Any

from visiondata.exceptions import MissingDependencyError

#: JPEG quality of the embedded thumbnails: small files, boxes and labels still legible.
THUMBNAIL_QUALITY = 80


def require_jinja2() -> Any:
    """``jinja2``, or a `MissingDependencyError` naming the ``report`` extra."""
    try:
        import jinja2
    except ImportError as error:
        raise MissingDependencyError(
            "visiondata report writes its page with jinja2, which comes with the report extra: install it "
            f"(pip install 'visiondata[report]', or pip install '.[report]' in a checkout) ({error})"
        ) from error
    return jinja2


def require_report_extra() -> None:
    """Raise a `MissingDependencyError` naming the ``report`` extra unless jinja2 and matplotlib import.

    Called before any dataset is read: a report that cannot be written should not first spend minutes reading.
    """
    require_jinja2()
    try:
        import matplotlib  # noqa: F401
    except ImportError as error:
        raise MissingDependencyError(
            "visiondata report draws its plots with matplotlib, which comes with the report extra: install it "
            f"(pip install 'visiondata[report]', or pip install '.[report]' in a checkout) ({error})"
        ) from error


def render_page(context: dict[str, Any]) -> str:
    """The HTML of the report for ``context`` (see ``visiondata.report._build`` for its keys).

    Examples:
        >>> html = render_page({"title": "demo", "splits": [], "figures": [], "samples": [], "extremes": [],
        ...                     "problems": [], "duplicates": None, "limits": [], "totals": {},
        ...                     "cell_width": 170})
        >>> html.startswith("<!DOCTYPE html>") and "<script" not in html
        True
    """
    jinja2 = require_jinja2()
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("visiondata", "report/templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,  # a missing key is a bug here, not an empty cell on the page
    )
    environment.filters["human_bytes"] = human_bytes
    return environment.get_template("report.html.j2").render(**context)


def human_bytes(count: float) -> str:
    """``count`` bytes in the largest unit that keeps it at or above 1 (binary units).

    Examples:
        >>> human_bytes(512), human_bytes(1536), human_bytes(3 * 1024**3)
        ('512 B', '1.5 KiB', '3.0 GiB')
    """
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def file_thumbnail(path: str, size: int) -> tuple[Any, tuple[int, int]]:
    """The image file at ``path`` decoded at about ``size`` pixels on its longer side, and its full ``(width, height)``.

    JPEGs are decoded at a reduced scale (PIL's ``draft``), so a thumbnail of a 12-megapixel photo
    does not decode 12 megapixels.

    Raises:
        OSError: The file cannot be read or is not an image (PIL's own errors).
    """
    from PIL import Image

    with Image.open(path) as image:
        full = image.size
        image.draft("RGB", (size, size))
        image = image.convert("RGB")
        return fit(image, size), full


def tensor_thumbnail(image: Any, size: int) -> tuple[Any, tuple[int, int]]:
    """A sample's image (tensor, array or PIL image) as an RGB PIL thumbnail, and its full ``(width, height)``."""
    from PIL import Image

    if isinstance(image, Image.Image):
        picture = image.convert("RGB")
    else:
        from visiondata.viz._draw import displayable

        picture = Image.fromarray(displayable(image).permute(1, 2, 0).numpy())
    full = picture.size
    return fit(picture, size), full


def fit(picture: Any, size: int) -> Any:
    """``picture`` shrunk to ``size`` on its longer side; a tiny one (MNIST's 28 px) is enlarged, pixels kept sharp.

    Examples:
        >>> from PIL import Image
        >>> fit(Image.new("RGB", (640, 480)), 160).size, fit(Image.new("RGB", (28, 28)), 160).size
        ((160, 120), (140, 140))
    """
    from PIL import Image

    longest = max(picture.size)
    if longest * 2 <= size:
        factor = size // longest  # whole factors: every source pixel becomes an equal square
        return picture.resize((picture.width * factor, picture.height * factor), Image.NEAREST)
    picture.thumbnail((size, size))
    return picture


def draw_on(
    picture: Any,
    full: tuple[int, int],
    boxes: Any = None,
    labels: Sequence[Any] | None = None,
    class_names: Sequence[str] | None = None,
    normalized: bool = False,
) -> str:
    """``picture`` with ``boxes`` drawn (by ``visiondata.viz.draw_boxes``), as a JPEG ``data:`` URL.

    Args:
        picture: The RGB PIL thumbnail.
        full: The image's full ``(width, height)``: pixel boxes are scaled from it.
        boxes: ``(N, 4)`` ``xyxy`` boxes in the full image's pixels, or fractions when ``normalized``.
        labels: ``N`` class ids or names.
        class_names: Names of the class ids.
        normalized: ``boxes`` are fractions of the image size (YOLO).
    """
    import numpy as np

    if boxes is not None and len(boxes):
        import torch

        from visiondata.viz import draw_boxes

        width, height = picture.size
        boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
        if normalized:
            scale = np.array([width, height, width, height], dtype=np.float32)
        else:
            scale = np.array([width / full[0], height / full[1]] * 2, dtype=np.float32)
        scaled = torch.from_numpy(np.nan_to_num(boxes * scale))
        tensor = torch.from_numpy(np.asarray(picture, dtype=np.uint8).copy()).permute(2, 0, 1)
        label_list = list(labels) if labels is not None else None
        drawn = draw_boxes(tensor, scaled, label_list, class_names=class_names, width=1)
        from PIL import Image

        picture = Image.fromarray(drawn.permute(1, 2, 0).contiguous().numpy())
    return jpeg_data_url(picture)


def jpeg_data_url(picture: Any) -> str:
    """An RGB PIL image as a ``data:image/jpeg;base64,...`` URL."""
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=THUMBNAIL_QUALITY, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def path_thumbnail(path: str, size: int) -> tuple[str | None, str | None]:
    """The file at ``path`` as a thumbnail ``data:`` URL, or ``None`` and why it has none (for the page)."""
    if not os.path.isfile(path):
        return None, "no file"
    try:
        picture, _ = file_thumbnail(path, size)
    except (OSError, ValueError, SyntaxError) as error:  # PIL raises these for damaged or foreign files
        return None, f"unreadable ({type(error).__name__})"
    return jpeg_data_url(picture), None
