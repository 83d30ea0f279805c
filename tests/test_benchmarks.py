"""The benchmark scripts still run (tiny sizes; the figures themselves are in docs/performance.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
