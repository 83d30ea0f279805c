"""The benchmark scripts still run (tiny sizes; the figures themselves are in docs/performance.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def run_script(name: str, *arguments: str) -> str:
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / name), *arguments],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_index_benchmark_runs(tmp_path: Path) -> None:
    output = run_script(
        "bench_index.py",
        "--files",
        "400",
        "--classes",
        "4",
        "--rounds",
        "1",
        "--tree",
        str(tmp_path / "tree"),
    )
    for heading in ("scan, seconds", "pickled dataset, MB", "copy-on-read growth"):
        assert heading in output
    assert output.count("visiondata ImageFolderDataset") == 3


def test_pipeline_benchmark_runs(tmp_path: Path) -> None:
    output = run_script(
        "bench_pipeline.py", "--images", "4", "--rounds", "1", "--folder", str(tmp_path / "photos")
    )
    assert "0.4MP photos" in output and "0.8MP photos" in output
    assert output.count("x\n") == 4  # two ratios per photo size


def test_box_augmentation_benchmark_runs(tmp_path: Path) -> None:
    output = run_script(
        "bench_boxes.py", "--images", "2", "--rounds", "1", "--folder", str(tmp_path / "photos")
    )
    assert "RandomResizedCrop 512 + flip + Normalize" in output and "RandomIoUCrop (SSD)" in output
    assert output.count("target >= ") == 4  # one ratio per contender pair


def test_coco_benchmark_runs(tmp_path: Path) -> None:
    output = run_script(
        "bench_coco.py",
        *("--images", "300", "--boxes", "2000", "--rounds", "1", "--samples", "200"),
        *("--file", str(tmp_path / "instances.json")),
    )
    for heading in (
        "build, seconds",
        "resident memory held",
        "copy-on-read per forked worker",
        "target construction",
    ):
        assert heading in output
    assert output.count("visiondata CocoDetectionDataset") == 4


def test_shards_benchmark_runs(tmp_path: Path) -> None:
    pytest.importorskip("webdataset")
    output = run_script(
        "bench_shards.py",
        *("--images", "24", "--classes", "3", "--max-count", "10", "--rounds", "1"),
        *("--tiny-small", "100", "--tiny-large", "1000", "--folder", str(tmp_path)),
    )
    for heading in ("write, images/s", "read + decode", "reader memory: peak resident growth"):
        assert heading in output
    assert "24 JPEGs 500x375" in output and "3 shards" in output
    for contender in (
        "reference: read_image(bytes), then into a tar",
        'write_shards(ImageFolderDataset, encode="keep")',
        "torchvision ImageFolder (PIL loader + PILToTensor)",
        "visiondata ImageFolderDataset",
        "visiondata ShardDataset(shuffle_buffer=0)",
        "100 samples of 8x8 PNG (1 shard)",
        "1,000 samples of 8x8 PNG (1 shard)",
    ):
        assert contender in output
    for target in ("target >= 1.0x", "target >= 1.2x", "target <= 10 MB"):
        assert output.count(target) == 1
