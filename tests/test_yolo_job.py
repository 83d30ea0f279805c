"""The ``yolo-shapes`` training job, on tiny images and a narrow model (a few seconds in all)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torchmetrics")
pytest.importorskip("pycocotools")

import visiondata.training._yolo_job  # noqa: F401  (registers the job)
from visiondata.cli import main

# 32 training images of 64 px, a width-4 model (0.11 M parameters): about a second a run.
TINY = ["--image-size", "64", "--width", "4", "--batch-size", "8", "--threads", "1", "--no-progress"]


def _train(out, *extra: str) -> dict:
    main(["train", "yolo-shapes", "--epochs", "3", "--train-count", "32", "--test-count", "8", *TINY,
          "--out", str(out), *extra])  # fmt: skip
    return json.loads((out / "metrics.json").read_text())


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("yolo-run")
    return out, _train(out, "--seed", "3", "--lr", "0.01")


def test_training_lowers_the_loss(tiny_run):
    _, metrics = tiny_run
    assert metrics["last_loss"] < 0.9 * metrics["first_loss"]
    assert [entry["epoch"] for entry in metrics["history"]] == [1, 2, 3]
    assert metrics["history"][-1]["loss"] < metrics["history"][0]["loss"]


def test_metrics_json_has_every_field_typed(tiny_run):
    out, metrics = tiny_run
    for name in ("map50", "map", "seconds"):
        assert isinstance(metrics[name], float) and metrics[name] >= 0, name
    assert 0 <= metrics["map"] <= metrics["map50"] <= 1
    for name in ("epochs", "seed", "threads", "images", "parameters"):
        assert isinstance(metrics[name], int) and not isinstance(metrics[name], bool), name
    assert (metrics["epochs"], metrics["seed"], metrics["threads"], metrics["images"]) == (3, 3, 1, 32)
    assert metrics["parameters"] == 112_668  # YOLOv3Tiny(7 classes, width=4)
    # Per-class AP: a float per shape name present in the test images (-1 for a class with no box).
    assert metrics["per_class"] and set(metrics["per_class"]) <= {
        "circle", "square", "triangle", "star", "cross", "ring", "hexagon"
    }  # fmt: skip
    assert all(isinstance(value, float) and -1 <= value <= 1 for value in metrics["per_class"].values())
    assert len(metrics["anchors"]) == 6
    assert (out / "model.pt").stat().st_size > 0


def test_writes_a_predictions_picture(tiny_run):
    from PIL import Image

    out, _ = tiny_run
    with Image.open(out / "predictions.png") as picture:
        # 8 test images of 64 px in 4 columns, with padding between them.
        assert picture.width > 4 * 64 and picture.height > 2 * 64


def test_the_same_seed_gives_the_same_metrics(tiny_run, tmp_path):
    _, first = tiny_run
    again = _train(tmp_path, "--seed", "3", "--lr", "0.01")
    for name in ("map50", "map", "per_class", "first_loss", "last_loss", "anchors"):
        assert again[name] == first[name], name
    assert [e["loss"] for e in again["history"]] == [e["loss"] for e in first["history"]]


def test_another_seed_trains_otherwise(tiny_run, tmp_path):
    _, first = tiny_run
    other = _train(tmp_path, "--seed", "4", "--lr", "0.01", "--epochs", "1")
    assert other["first_loss"] != first["first_loss"]


def test_data_trains_on_a_yolo_folder(tmp_path, capsys):
    from visiondata.datasets._shapes import ShapesDataset
    from visiondata.formats._yolo import to_yolo

    folder = tmp_path / "yolo"
    to_yolo(ShapesDataset("train", size=(48, 80), count=12, classes=["circle", "square"]), folder)
    out = tmp_path / "run"
    main(["train", "yolo-shapes", "--data", str(folder / "data.yaml"), "--epochs", "1", *TINY,
          "--out", str(out)])  # fmt: skip
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["images"] == 12  # the whole folder: shapes' default count is not applied
    assert set(metrics["per_class"]) <= {"circle", "square"}
    assert (out / "predictions.png").is_file()
    assert "mAP@0.5" in capsys.readouterr().out


def test_bad_settings_are_refused_before_training(tmp_path):
    from visiondata.training._yolo_job import train_yolo_shapes

    with pytest.raises(ValueError, match="image_size: expected a multiple of 32"):
        train_yolo_shapes(image_size=100, out=str(tmp_path))
    with pytest.raises(ValueError, match="train_count"):
        train_yolo_shapes(train_count=0, out=str(tmp_path))
    assert not (tmp_path / "metrics.json").exists()
