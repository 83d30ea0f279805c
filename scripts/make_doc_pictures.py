"""Make the pictures of the docs from real photos, real digits and real command output.

The photos are the two that scikit-learn ships (``china.jpg`` and
``flower.jpg``, 640x427, CC BY 2.0, by danielbuechele and vultilion on
Flickr), with boxes placed by hand around their objects. The script writes
them, a CSV of boxes and the pipeline specs to a scratch folder, then runs
the command line's ``preview`` as a reader would (in this process, through
``visiondata.cli.main``): the pictures of docs/augmentation.md and
docs/detection.md, and the directions in which ``Rotate`` and ``Affine`` turn for
the same ``degrees``. The boxes cut out of the photos make a class folder for
docs/own-data.md: its ``preview``, and the report of ``visiondata check`` on
a spoilt copy of it, drawn as text. The label pages get a ``preview`` each,
of labels placed by hand on the photos: docs/keypoints.md a COCO keypoints
file of the pagoda (with its skeleton), docs/oriented-boxes.md a YOLO-OBB
folder of its roofs (the photo, and a copy turned by ``TILT`` degrees with
the box corners turned by the same formula), docs/segmentation.md a mask
folder of palette PNGs (``--from mask-folder``). docs/models.md gets the printout of
``trainable_summary``, and docs/index.md a grid of real MNIST digits with
their labels, read from ``--mnist-root`` (by default the first of
``$VISIONDATA_TEST_DATA``, ``$VISIONDATA_HOME`` and ``../shared/data`` beside
the checkout that holds ``MNIST/raw``; without one that picture is skipped,
and the committed one stays). ``make docs`` runs it; never edit a picture by
hand.

Usage: ``python scripts/make_doc_pictures.py [--out docs/images] [--mnist-root DIR]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import torch

if str(Path(__file__).resolve().parent) not in sys.path:  # docs_cli and docs_samples, also under runpy
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import docs_cli
import docs_samples

REPO = Path(__file__).resolve().parents[1]

BOXES = """image,x_min,y_min,x_max,y_max,label
china.jpg,60,28,372,395,pagoda
china.jpg,548,135,640,427,tree
china.jpg,0,150,75,290,tree
china.jpg,320,270,560,427,tree
china.jpg,420,222,500,243,island
flower.jpg,168,85,447,360,flower
flower.jpg,288,373,470,427,flower
"""

PIPELINES = {
    # name: (spec file contents, number of samples)
    "original": (None, 2),
    "flip-crop": (
        """transforms:
- {name: RandomResizedCrop, size: [256, 256], scale: [0.3, 1.0]}
- {name: HorizontalFlip, p: 0.5}
min_visibility: 0.3
seed: 0
""",
        8,
    ),
    "iou-crop": (
        """transforms:
- {name: RandomIoUCrop}
- {name: Resize, size: [256, 256]}
- {name: HorizontalFlip, p: 0.5}
seed: 0
""",
        8,
    ),
    "train-preset": ("preset", 8),
}


def padded_batch_picture(folder: Path, out: Path) -> None:
    """docs/detection.md: three photos of different sizes through ``padded_collate``, and the padding mask."""
    from visiondata.collate import padded_collate
    from visiondata.datasets import CSVDetectionDataset
    from visiondata.transforms import BoxPipeline
    from visiondata.viz import save_grid

    dataset = CSVDetectionDataset(folder / "boxes.csv", folder)
    sizes = ([200, 300], [240, 160], [150, 260])
    samples = [
        BoxPipeline([{"name": "Resize", "size": size}])(*dataset[index % len(dataset)])
        for index, size in enumerate(sizes)
    ]
    batch = padded_collate(samples, size_divisor=32)
    images = [(image, target) for image, target in zip(batch["images"], batch["targets"], strict=True)]
    masks = [mask[None].to(torch.uint8) * 160 for mask in batch["mask"]]  # gray: padding, black: image
    save_grid([*images, *masks], out / "padded-batch.jpg", ncols=3, class_names=dataset.classes)
    print(f"wrote {out / 'padded-batch.jpg'}: a batch of {tuple(batch['images'].shape)} and its mask")


FOLDER_PIPELINE = """transforms:
- {name: RandomResizedCrop, size: [160, 160], scale: [0.4, 1.0]}
- {name: HorizontalFlip, p: 0.5}
seed: 0
"""

MONOSPACE_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/dejavu/DejaVuSansMono.ttf",
    "/Library/Fonts/Menlo.ttc",
    "DejaVuSansMono.ttf",
)


def monospace_font(size: int = 15) -> Any:
    from PIL import ImageFont

    for candidate in MONOSPACE_FONTS:
        try:
            return ImageFont.truetype(candidate, size)
        except OSError:
            continue
    return ImageFont.load_default(size)


def text_picture(lines: list[str], path: Path) -> None:
    """``lines`` as a terminal shows them: light on dark, monospace; prompt lines (``$``, ``>>>``) in green."""
    from PIL import Image, ImageDraw

    font = monospace_font()
    ascent, descent = font.getmetrics()
    advance, line_height = font.getlength("M"), int((ascent + descent) * 1.25)
    margin = 16
    width = int(max(len(line) for line in lines) * advance) + 2 * margin
    picture = Image.new("RGB", (width, len(lines) * line_height + 2 * margin), (30, 32, 36))
    draw = ImageDraw.Draw(picture)
    for row, line in enumerate(lines):
        colour = (130, 220, 130) if line.startswith(("$ ", ">>> ")) else (225, 225, 225)
        draw.text((margin, margin + row * line_height), line, font=font, fill=colour)
    picture.save(path, optimize=True)
    print(f"wrote {path}: {len(lines)} lines of text")


def class_folder(photos: Path, folder: Path) -> Path:
    """``folder/<label>/<photo>-<i>.jpg``: each hand-placed box of ``BOXES`` cut out of its photo.

    The island (80 x 21 pixels) is left out: too small to show.
    """
    from PIL import Image

    rows = [line.split(",") for line in BOXES.strip().splitlines()[1:]]
    for index, (name, *corners, label) in enumerate(rows):
        if label == "island":
            continue
        (folder / label).mkdir(parents=True, exist_ok=True)
        with Image.open(photos / name) as photo:
            crop = photo.crop(tuple(int(value) for value in corners))
            crop.save(folder / label / f"{Path(name).stem}-{index}.jpg", quality=92)
    return folder


def own_data_pictures(photos: Path, scratch: Path, out: Path) -> None:
    """docs/own-data.md: ``visiondata preview`` of a class folder, and ``visiondata check`` on a spoilt copy."""
    from visiondata.cli import main as command_line

    class_folder(photos, scratch / "photos")
    (scratch / "crop.yaml").write_text(FOLDER_PIPELINE)
    command = ["preview", "photos", "--pipeline", "crop.yaml", "-n", "8", "--ncols", "4"]
    command += ["--out", str(out / "folder-preview.jpg")]
    with docs_cli.working_directory(scratch):
        if command_line(command) != 0:
            raise SystemExit(f"visiondata {' '.join(command)} failed")
    # The spoilt copy is also called photos/: the report reads as it would for the folder above.
    docs_samples.add_problems(class_folder(photos, scratch / "spoilt" / "photos"))
    example = docs_cli.Example(("check", "photos"), status=1)
    status, printed = docs_cli.run(example, scratch / "spoilt")
    if status != example.status:
        raise SystemExit(f"visiondata check ended with exit status {status}:\n{printed}")
    text_picture([f"$ visiondata {' '.join(example.argv)}", *printed.splitlines()], out / "check-report.png")


#: The same 30 degrees, in the pictured direction of each class (docs/augmentation.md).
TURNS = [
    ("as read", None),
    ("Rotate, degrees 30: counter-clockwise", {"name": "Rotate", "degrees": [30, 30]}),
    ("Affine, degrees 30: clockwise", {"name": "Affine", "degrees": [30, 30], "p": 1.0}),
]


def rotation_directions_picture(photos: Path, out: Path) -> None:
    """docs/augmentation.md: ``Rotate`` and ``Affine`` given the same ``degrees`` turn opposite ways."""
    from visiondata.io import read_image
    from visiondata.transforms import BoxPipeline
    from visiondata.viz import save_grid

    image = read_image(photos / "china.jpg")
    samples = []
    for label, (_, spec) in enumerate(TURNS):
        steps = [{"name": "Resize", "size": [214, 320]}, *([spec] if spec else [])]
        pagoda = {"image": image, "boxes": [[60, 28, 372, 395]], "labels": [label]}
        samples.append(BoxPipeline(steps, seed=0)(pagoda))
    path = save_grid(samples, out / "rotate-and-affine.jpg", ncols=3, class_names=[name for name, _ in TURNS])
    print(f"wrote {path}: the pagoda as read, turned by Rotate and by Affine with degrees [30, 30]")


def trainable_summary_picture(out: Path) -> None:
    """docs/models.md: ``print(trainable_summary(model))`` after each phase of transfer learning."""
    from visiondata.models import create_model, freeze_backbone, trainable_summary, unfreeze_last

    # The counts do not depend on the weights: build offline, without the warning that
    # freezing a randomly initialised backbone gives.
    model = create_model("resnet18", num_classes=10, weights=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        freeze_backbone(model, bn="frozen")
    lines = ['>>> freeze_backbone(model, bn="frozen")  # phase 1: only the head trains']
    lines += [">>> print(trainable_summary(model))", *str(trainable_summary(model)).splitlines(), ""]
    unfreeze_last(model, 2)
    lines += [">>> unfrozen = unfreeze_last(model, 2)  # phase 2: layer3, layer4 and the head"]
    lines += [">>> print(trainable_summary(model))", *str(trainable_summary(model)).splitlines()]
    text_picture(lines, out / "trainable-summary.png")


#: docs/keypoints.md: hand-placed keypoints of the pagoda of ``china.jpg`` (pixels; visibility 2 visible, 1
#: labelled but hidden: its left foot is behind the trees). Names with ``left_``/``right_`` give the flip pairs.
PAGODA_KEYPOINTS = (
    ("finial", 205, 30, 2),
    ("left_top_eave", 95, 110, 2),
    ("right_top_eave", 317, 122, 2),
    ("left_middle_eave", 85, 172, 2),
    ("right_middle_eave", 329, 170, 2),
    ("left_lower_eave", 62, 265, 2),
    ("right_lower_eave", 351, 250, 2),
    ("left_base", 85, 365, 1),
    ("right_base", 345, 345, 2),
)
#: COCO's ``skeleton``: 1-based pairs of keypoints joined by a line.
PAGODA_SKELETON = ((1, 2), (1, 3), (2, 3), (2, 4), (3, 5), (4, 5), (4, 6), (5, 7), (6, 7), (6, 8), (7, 9))
KEYPOINT_PIPELINE = """transforms:
- {name: Rotate, degrees: [-20, 20]}
- {name: RandomResizedCrop, size: [256, 256], scale: [0.5, 1.0]}
- {name: HorizontalFlip, p: 0.5}
flip_pairs: [[1, 2], [3, 4], [5, 6], [7, 8]]
seed: 0
"""

#: docs/oriented-boxes.md: the roof tiers and the island of ``china.jpg`` placed by hand as upright boxes
#: (x_min, y_min, x_max, y_max, YOLO class id); the photo is also turned by ``TILT`` degrees, and the corners
#: with it.
ROOF_BOXES = ((95, 60, 322, 138, 0), (84, 156, 330, 190, 0), (62, 245, 352, 282, 0), (420, 222, 500, 243, 1))
TILT = 25.0

#: docs/segmentation.md: the pagoda of ``china.jpg`` outlined by hand (x,y pixel corners of a polygon).
PAGODA_OUTLINE = (
    "198,28 212,28 212,60 322,120 300,140 330,170 310,195 330,240 352,255 345,280 345,330 370,340 360,380 "
    "300,395 200,390 90,360 75,300 62,270 80,240 100,195 84,172 105,150 95,110 190,60"
)
#: The hand-drawn masks: per photo, (class id, "ellipse" and its box, or "polygon" and its corners), filled
#: into palette PNGs with a void (255) border around each object, as VOC's ``SegmentationClass`` has.
MASK_SHAPES = {
    "flower": ((1, "ellipse", (170, 85, 446, 360)), (1, "ellipse", (288, 372, 472, 470))),
    "china": ((2, "polygon", tuple(tuple(map(int, xy.split(","))) for xy in PAGODA_OUTLINE.split())),),
}
MASK_CLASSES = ("background", "flower", "pagoda")
MASK_PIPELINE = """transforms:
- {name: RandomResizedCrop, size: [256, 256], scale: [0.4, 1.0]}
- {name: HorizontalFlip, p: 0.5}
seed: 0
"""


def preview(argv: list[str], folder: Path) -> None:
    """``visiondata preview ARGV`` run in ``folder``, as a reader would type it."""
    from visiondata.cli import main as command_line

    with docs_cli.working_directory(folder):
        if command_line(["preview", *argv]) != 0:
            raise SystemExit(f"visiondata preview {' '.join(argv)} failed")


def keypoints_picture(photos: Path, folder: Path, out: Path) -> None:
    """docs/keypoints.md: a COCO keypoints file of the pagoda through a rotate-crop-flip pipeline."""
    import json

    folder.mkdir()
    shutil.copy(photos / "china.jpg", folder / "china.jpg")
    points = [value for _, x, y, visibility in PAGODA_KEYPOINTS for value in (x, y, visibility)]
    coco = {
        "images": [{"id": 1, "file_name": "china.jpg", "width": 640, "height": 427}],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "bbox": [60, 28, 312, 367],
                "area": 312 * 367,
                "iscrowd": 0,
                "keypoints": points,
                "num_keypoints": sum(visibility > 0 for *_, visibility in PAGODA_KEYPOINTS),
            }
        ],
        "categories": [
            {
                "id": 1,
                "name": "pagoda",
                "keypoints": [name for name, *_ in PAGODA_KEYPOINTS],
                "skeleton": [list(pair) for pair in PAGODA_SKELETON],
            }
        ],
    }
    (folder / "person_keypoints_pagoda.json").write_text(json.dumps(coco))
    (folder / "pose.yaml").write_text(KEYPOINT_PIPELINE)
    argv = ["person_keypoints_pagoda.json", "--pipeline", "pose.yaml", "-n", "4", "--ncols", "4"]
    preview([*argv, "--out", str(out / "keypoints-pagoda.jpg")], folder)


def oriented_boxes_picture(photos: Path, folder: Path, out: Path) -> None:
    """docs/oriented-boxes.md: a YOLO-OBB dataset of the photo and of a copy turned by ``TILT`` degrees."""
    import math

    from PIL import Image

    (folder / "images").mkdir(parents=True)
    (folder / "labels").mkdir()
    (folder / "data.yaml").write_text("path: .\ntrain: images\nnames:\n  0: roof\n  1: island\n")
    with Image.open(photos / "china.jpg") as photo:
        photo = photo.convert("RGB")
    tilted = photo.rotate(TILT, resample=Image.Resampling.BICUBIC, expand=True)  # counter-clockwise on screen
    (width, height), (new_width, new_height) = photo.size, tilted.size
    cos, sin = math.cos(math.radians(TILT)), math.sin(math.radians(TILT))

    def turned(x: float, y: float) -> tuple[float, float]:
        # Where PIL's rotation about the centre (then centred on the larger canvas) takes (x, y).
        dx, dy = x - width / 2, y - height / 2
        return new_width / 2 + dx * cos + dy * sin, new_height / 2 - dx * sin + dy * cos

    for stem, image, move in (("china", photo, lambda x, y: (x, y)), ("china-tilted", tilted, turned)):
        image.save(folder / "images" / f"{stem}.jpg", quality=92)
        lines = []
        for x_min, y_min, x_max, y_max, class_id in ROOF_BOXES:
            corners = [
                move(x, y) for x, y in ((x_min, y_min), (x_max, y_min), (x_max, y_max), (x_min, y_max))
            ]
            values = [f"{x / image.width:.6f} {y / image.height:.6f}" for x, y in corners]
            lines.append(" ".join([str(class_id), *values]))
        (folder / "labels" / f"{stem}.txt").write_text("\n".join(lines) + "\n")
    preview(["data.yaml", "-n", "2", "--ncols", "2", "--out", str(out / "oriented-boxes.jpg")], folder)


def segmentation_picture(photos: Path, folder: Path, out: Path) -> None:
    """docs/segmentation.md: a mask folder of both photos (palette PNGs) through a crop-flip pipeline."""
    from PIL import Image, ImageDraw

    from visiondata.formats import voc_palette

    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    (folder / "classes.txt").write_text("".join(f"{name}\n" for name in MASK_CLASSES))
    colours = [channel for colour in voc_palette() for channel in colour]
    for stem, shapes in MASK_SHAPES.items():
        shutil.copy(photos / f"{stem}.jpg", folder / "images" / f"{stem}.jpg")
        mask = Image.new("P", (640, 427), 0)
        draw = ImageDraw.Draw(mask)
        for class_id, kind, where in shapes:
            shape = draw.ellipse if kind == "ellipse" else draw.polygon
            shape(where, fill=class_id, outline=255, width=3)  # VOC's void border around each object
        mask.putpalette(colours)
        mask.save(folder / "masks" / f"{stem}.png")
    (folder / "crop.yaml").write_text(MASK_PIPELINE)
    argv = [".", "--from", "mask-folder", "--pipeline", "crop.yaml", "-n", "4", "--ncols", "4"]
    preview([*argv, "--out", str(out / "segmentation-masks.jpg")], folder)


def find_mnist(given: str | None = None) -> Path | None:
    """The folder holding the real ``MNIST/raw``: ``given``, else the first of the usual places that has it."""
    candidates = [given] if given else []
    candidates += [os.environ.get("VISIONDATA_TEST_DATA"), os.environ.get("VISIONDATA_HOME")]
    candidates.append(str(REPO.parent / "shared" / "data"))
    for candidate in candidates:
        if (
            candidate
            and (Path(candidate).expanduser() / "MNIST" / "raw" / "train-images-idx3-ubyte").is_file()
        ):
            return Path(candidate).expanduser()
    return None


def mnist_picture(root: Path, out: Path, count: int = 32, ncols: int = 8, scale: int = 3) -> None:
    """docs/index.md: the first ``count`` real MNIST training digits, each with its label below it."""
    from PIL import Image, ImageDraw

    import visiondata as vd

    dataset = vd.get_dataset("mnist", root=root, split="train")  # reads the files, writes nothing
    font = monospace_font(18)
    cell, caption, gap = 28 * scale, 24, 6
    rows = -(-count // ncols)
    picture = Image.new("L", (ncols * (cell + gap) + gap, rows * (cell + caption + gap) + gap), 255)
    draw = ImageDraw.Draw(picture)
    for index in range(count):
        x = gap + (index % ncols) * (cell + gap)
        y = gap + (index // ncols) * (cell + caption + gap)
        digit = Image.fromarray(dataset.data[index].numpy()).resize((cell, cell), Image.Resampling.NEAREST)
        picture.paste(digit, (x, y))
        label = str(int(dataset.targets[index]))
        draw.text((x + cell / 2, y + cell + caption / 2), label, font=font, fill=0, anchor="mm")
    picture.save(out / "mnist-digits.png", optimize=True)
    print(f"wrote {out / 'mnist-digits.png'}: the first {count} training digits of {root}/MNIST/raw")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(REPO / "docs" / "images"))
    parser.add_argument("--mnist-root", help="folder holding the real MNIST/raw (default: looked for)")
    options = parser.parse_args()
    import sklearn.datasets  # the photos ship with scikit-learn

    from visiondata.cli import main as command_line
    from visiondata.transforms import presets

    photos = Path(sklearn.datasets.__file__).parent / "images"
    out = Path(options.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        for name in ("china.jpg", "flower.jpg"):
            shutil.copy(photos / name, folder / name)
        (folder / "boxes.csv").write_text(BOXES)
        for name, (spec, count) in PIPELINES.items():
            command = ["preview", str(folder / "boxes.csv"), "-n", str(count)]
            command += ["--out", str(out / f"augmentation-{name}.jpg"), "--ncols", "4" if count > 2 else "2"]
            if spec == "preset":
                presets.detection_train(256, seed=0).save(folder / "train.yaml")
                command += ["--pipeline", str(folder / "train.yaml")]
            elif spec is not None:
                (folder / f"{name}.yaml").write_text(spec)
                command += ["--pipeline", str(folder / f"{name}.yaml")]
            if command_line(command) != 0:
                raise SystemExit(f"visiondata {' '.join(command)} failed")
        padded_batch_picture(folder, out)
        own_data_pictures(photos, folder, out)
        keypoints_picture(photos, folder / "keypoints", out)
        oriented_boxes_picture(photos, folder / "oriented", out)
        segmentation_picture(photos, folder / "segmentation", out)
    rotation_directions_picture(photos, out)
    trainable_summary_picture(out)
    mnist = find_mnist(options.mnist_root)
    if mnist is None:
        print(
            "skipped mnist-digits.png: the real MNIST is not here (pass --mnist-root, or set "
            "VISIONDATA_TEST_DATA to the folder holding MNIST/raw); the committed picture stays",
            file=sys.stderr,
        )
    else:
        mnist_picture(mnist, out)


if __name__ == "__main__":
    main()
