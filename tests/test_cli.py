"""The ``visiondata`` command line, run as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import torch

from visiondata.models import MNISTCNN


def run_cli(*arguments: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "visiondata", *arguments],
        capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})},
    )  # fmt: skip


def test_train_mnist_cnn_end_to_end(mnist_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = run_cli(
        "train", "mnist-cnn", "--epochs", "1", "--limit", "3000", "--batch-size", "64",
        "--out", str(out), "--no-progress", env={"VISIONDATA_HOME": str(mnist_root)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "epoch 1/1" in result.stdout and "test accuracy" in result.stdout.splitlines()[0]
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"test_accuracy", "parameters", "seconds", "history"} <= set(metrics)
    assert 0.5 < metrics["test_accuracy"] <= 1 and metrics["parameters"] == 2762
    assert len(metrics["history"]) == 1 and metrics["config"]["batch_size"] == 64
    MNISTCNN().load_state_dict(torch.load(out / "model.pt", weights_only=True))


def test_missing_data_is_a_clear_error_without_traceback(tmp_path: Path) -> None:
    result = run_cli("train", "mnist-cnn", "--root", str(tmp_path), "--out", str(tmp_path / "out"))
    assert result.returncode == 1
    assert result.stderr.startswith(
        "visiondata: error: MNISTDataset 'train' split: expected train-images-idx3-ubyte"
    )
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_help_version_and_unknown_job() -> None:
    assert "mnist-cnn" in run_cli("train", "--help").stdout
    help_text = run_cli("train", "mnist-cnn", "--help").stdout
    for option in ("--epochs", "--batch-size", "--lr", "--seed", "--root", "--out", "--limit"):
        assert option in help_text
    assert run_cli("--version").stdout.startswith("visiondata ")
    unknown = run_cli("train", "resnet")
    assert unknown.returncode == 2 and "invalid choice: 'resnet'" in unknown.stderr


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "visiondata"
    assert script.exists(), "pip install -e . creates the visiondata console script"
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "visiondata" in result.stdout


def test_datasets_list_table_and_json() -> None:
    table = run_cli("datasets", "list", "--pattern", "*mnist*", "--task", "classification")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["name", "task", "splits", "classes", "download"]
    names = [line.split()[0] for line in lines[2:-1]]
    assert names == ["emnist", "fashion_mnist", "kmnist", "mnist", "qmnist"]
    assert lines[-1] == "5 datasets"
    listing = json.loads(run_cli("datasets", "list", "--json").stdout)
    import visiondata as vd

    assert [entry["name"] for entry in listing] == vd.list_datasets()
    assert {entry["task"] for entry in listing} >= {
        "classification",
        "detection",
        "segmentation",
        "captioning",
    }


def test_datasets_info_text_json_and_unknown() -> None:
    text = run_cli("datasets", "info", "voc_detection").stdout
    assert "task         detection" in text and "torchvision.datasets.VOCDetection" in text
    assert "aeroplane" in text
    info = json.loads(run_cli("datasets", "info", "cifar10", "--json").stdout)
    assert info["splits"] == ["train", "test"] and info["num_classes"] == 10 and info["mean"][0] == 0.4914
    unknown = run_cli("datasets", "info", "cifar")
    assert unknown.returncode == 1
    assert "unknown dataset 'cifar'; did you mean 'cifar10' or 'cifar100'?" in unknown.stderr


def test_models_list_and_info() -> None:
    listing = run_cli("models", "list", "--task", "segmentation")
    assert listing.returncode == 0, listing.stderr
    names = [line.split()[0] for line in listing.stdout.splitlines()[2:-1]]
    assert names == [
        "deeplabv3_mobilenet_v3_large", "deeplabv3_resnet101", "deeplabv3_resnet50",
        "fcn_resnet101", "fcn_resnet50", "lraspp_mobilenet_v3_large",
    ]  # fmt: skip
    as_json = json.loads(run_cli("models", "list", "--pattern", "mnist*", "--json").stdout)
    assert as_json == [{"name": "mnist_cnn", "source": "visiondata", "task": "classification"}]
    info = json.loads(run_cli("models", "info", "efficientnet_b3", "--json").stdout)
    assert info["head"] == "classifier.1 (Linear, 1000 outputs)"
    assert info["input"]["input_size"] == [3, 300, 300] and info["input"]["interpolation"] == "bicubic"
    assert info["parameters"] == 12_233_232
    assert info["weights"][0]["url"].startswith("https://download.pytorch.org/models/efficientnet_b3")
    text = run_cli("models", "info", "regnet_x_400mf").stdout  # RegNet cannot be built on the meta device
    assert "parameters  5,495,976" in text and "head        fc (Linear, 1000 outputs)" in text
    unknown = run_cli("models", "info", "resnt18")
    assert unknown.returncode == 1 and "did you mean 'resnet18'" in unknown.stderr
