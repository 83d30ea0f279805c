"""Small sample data for the docs, written to a scratch folder: nothing here downloads or reads real datasets.

Used by the CLI reference hook (``scripts/docs_cli.py``, example runs of
every command) and by ``scripts/make_doc_pictures.py``. The images are
drawn: a coloured background with one or two shapes, each shape a class
(``circle``, ``square``), so the same pictures serve as a class-folder
dataset and, with the shapes' boxes, as a detection dataset.
"""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

SHAPES = ("circle", "square")


def shape_picture(
    rng: np.random.Generator, shapes: tuple[str, ...], size: tuple[int, int] = (96, 72)
) -> tuple[Image.Image, list[tuple[str, tuple[int, int, int, int]]]]:
    """A ``size`` (width, height) RGB picture with one shape per name; returns it and each shape's xyxy box."""
    width, height = size
    top = rng.integers(90, 230, 3)
    bottom = rng.integers(40, 180, 3)
    ramp = np.linspace(0.0, 1.0, height)[:, None, None]
    pixels = (top * (1 - ramp) + bottom * ramp).repeat(width, axis=1).astype(np.uint8)
    picture = Image.fromarray(pixels, "RGB")
    draw = ImageDraw.Draw(picture)
    boxes = []
    for shape in shapes:
        side = int(rng.integers(height // 3, height * 2 // 3))
        x = int(rng.integers(0, width - side))
        y = int(rng.integers(0, height - side))
        box = (x, y, x + side, y + side)
        colour = tuple(int(value) for value in rng.integers(0, 256, 3))
        if shape == "circle":
            draw.ellipse(box, fill=colour, outline=(0, 0, 0))
        else:
            draw.rectangle(box, fill=colour, outline=(0, 0, 0))
        boxes.append((shape, box))
    return picture, boxes


def write_image_folder(folder: Path, per_class: int = 4, seed: int = 0) -> Path:
    """``folder/<shape>/<shape>-<i>.jpg``: a class-folder dataset with ``per_class`` JPEGs per class."""
    rng = np.random.default_rng(seed)
    for shape in SHAPES:
        (folder / shape).mkdir(parents=True, exist_ok=True)
        for index in range(per_class):
            picture, _ = shape_picture(rng, (shape,))
            picture.save(folder / shape / f"{shape}-{index}.jpg", quality=90)
    return folder


def add_problems(folder: Path) -> Path:
    """Spoil a class folder (two classes at least) the ways ``visiondata check`` reports.

    In the first class: a truncated copy of its first JPEG (``cut-short.jpg``).
    In the last: an exact copy of that JPEG (``copied.jpg``), a greyscale
    version of its own first JPEG among RGB ones (``grey.png``) and an empty
    ``empty.jpg``. At the top: a hidden ``.DS_Store``.
    """
    classes = sorted(path for path in folder.iterdir() if path.is_dir())
    first = sorted(classes[0].glob("*.jpg"))[0]
    data = first.read_bytes()
    (classes[0] / "cut-short.jpg").write_bytes(data[: len(data) // 3])
    with Image.open(sorted(classes[-1].glob("*.jpg"))[0]) as picture:
        picture.convert("L").save(classes[-1] / "grey.png")
    shutil.copy(first, classes[-1] / "copied.jpg")
    (classes[-1] / "empty.jpg").write_bytes(b"")
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    return folder


def write_labels_csv(folder: Path, path: Path) -> Path:
    """A CSV of ``image,label`` rows for the images of a class folder, paths relative to the CSV."""
    rows = ["image,label"]
    for image in sorted(folder.glob("*/*.jpg")):
        rows.append(f"{image.relative_to(path.parent).as_posix()},{image.parent.name}")
    path.write_text("\n".join(rows) + "\n")
    return path


def write_coco(folder: Path, images: int = 4, seed: int = 2) -> Path:
    """``folder/annotations.json`` (COCO) and ``folder/<i>.jpg`` with one or two boxed shapes each."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    categories = [{"id": index, "name": shape} for index, shape in enumerate(SHAPES, start=1)]
    category_ids = {category["name"]: category["id"] for category in categories}
    coco: dict[str, list[dict[str, object]]] = {"images": [], "annotations": [], "categories": categories}
    for image_id in range(1, images + 1):
        shapes = tuple(rng.choice(SHAPES, size=int(rng.integers(1, 3))))
        picture, boxes = shape_picture(rng, shapes)
        name = f"{image_id:03d}.jpg"
        picture.save(folder / name, quality=90)
        coco["images"].append(
            {"id": image_id, "file_name": name, "width": picture.width, "height": picture.height}
        )
        for shape, (x0, y0, x1, y1) in boxes:
            coco["annotations"].append(
                {
                    "id": len(coco["annotations"]) + 1,
                    "image_id": image_id,
                    "category_id": category_ids[shape],
                    "bbox": [x0, y0, x1 - x0, y1 - y0],
                    "area": (x1 - x0) * (y1 - y0),
                    "iscrowd": 0,
                }
            )
    path = folder / "annotations.json"
    path.write_text(json.dumps(coco, indent=1))
    return path


def write_idx(path: Path, array: np.ndarray) -> Path:
    """``array`` (uint8) in the IDX format of MNIST's files."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}i", *array.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + array.tobytes())
    return path


def write_tiny_mnist(root: Path, train: int = 64, test: int = 32, seed: int = 0) -> Path:
    """A tiny MNIST of random pixels in torchvision's layout (``root/MNIST/raw``); returns ``root``."""
    rng = np.random.default_rng(seed)
    raw = root / "MNIST" / "raw"
    for prefix, count in (("train", train), ("t10k", test)):
        write_idx(raw / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (count, 28, 28)))
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", np.arange(count) % 10)
    return root
