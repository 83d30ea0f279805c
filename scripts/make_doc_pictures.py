"""Make the pictures of docs/augmentation.md and docs/detection.md from real photos.

The photos are the two that scikit-learn ships (``china.jpg`` and
``flower.jpg``, 640x427, CC BY 2.0, by danielbuechele and vultilion on
Flickr), with boxes placed by hand around their objects. The script writes
them, a CSV of boxes and the pipeline specs to a scratch folder, then runs
the command line's ``preview`` as a reader would (in this process, through
``visiondata.cli.main``). ``make docs`` runs it.

Usage: ``python scripts/make_doc_pictures.py [--out docs/images]``
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import torch

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "docs" / "images"))
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


if __name__ == "__main__":
    main()
