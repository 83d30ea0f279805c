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


def assert_header(output: str, rounds: int) -> None:
    """Every benchmark starts with the machine, the builds, the threads and the rounds."""
    lines = output.splitlines()
    assert lines[0].startswith("machine: ") and " cores" in lines[0]
    assert lines[1].startswith("torch ") and ", torchvision " in lines[1] and "torch thread" in lines[1]
    assert lines[2].startswith(f"{rounds} round")
    assert lines[3].startswith("started ") and "load average" in lines[3]
    assert output.rstrip().splitlines()[-1].startswith("finished ")


def test_mnist_benchmark_runs(mnist_root: Path) -> None:
    output = run_script(
        "bench_mnist.py",
        *("--root", str(mnist_root), "--rounds", "1", "--torchvision-batches", "2", "--epoch-rounds", "0"),
    )
    assert_header(output, 1)
    assert "1 torch thread" in output
    assert output.count("(rounds ") == 2 and output.count("target >= 30x") == 2


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
    assert_header(output, 1)
    for heading in ("scan, seconds", "pickled dataset, MB", "copy-on-read growth"):
        assert heading in output
    assert output.count("visiondata ImageFolderDataset") == 3
    for target in ("target >= 1.6x: ", "target <= 0.4x: ", "target <= 1 MiB: "):
        assert output.count(target) == 1


def test_pipeline_benchmark_runs(tmp_path: Path) -> None:
    output = run_script(
        "bench_pipeline.py", "--images", "4", "--rounds", "1", "--folder", str(tmp_path / "photos")
    )
    assert_header(output, 1)
    assert "0.4MP photos" in output and "0.8MP photos" in output
    assert output.count("x (rounds ") == 4  # two ratios per photo size
    assert output.count("target >= 1.5x: ") == 2  # the pipeline's, at each size


def test_box_augmentation_benchmark_runs(tmp_path: Path) -> None:
    output = run_script(
        "bench_boxes.py", "--images", "2", "--rounds", "1", "--folder", str(tmp_path / "photos")
    )
    assert_header(output, 1)
    for heading in (
        "RandomResizedCrop 512 + flip + Normalize",
        "albumentations' own transforms",
        "Composition: the same steps flat",
        "Composition on 96x72 thumbnails",
        "RandomIoUCrop (SSD)",
        "Kernel-dominated: RandomResizedCrop 512 + flip + Normalize, same draws",
        "Kernel-dominated: LongestMaxSize 640 + flip + Normalize, same draws",
    ):
        assert heading in output
    assert "BoxPipeline: 'albumentations.<Name>' specs" in output
    assert output.count("target >= ") == 9  # one ratio per contender pair with a speed target
    # and the composition pairs' ratios, without one: 2 sizes x 2 backends x (composed, control),
    # and the kernel-dominated pairs: 2 pipelines x 3 image layouts
    assert output.count("x (rounds ") == 5 + 8 + 6
    # The kernel-dominated pairs are timed only after checking that both give the same output.
    assert output.count("same boxes; pixels within ") == 6
    # Each composed pipeline's per-sample cost with its verdict, and each control's noise without one.
    assert output.count("cost per sample: ") == 4
    assert output.count("target < 2% or < 20 us: ") == 4
    assert output.count("noise (same pipeline): ") == 4


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
    assert_header(output, 1)
    assert output.count("(rounds ") == 4 and output.count(": met") + output.count(": MISSED") == 4


def test_shards_benchmark_runs(tmp_path: Path) -> None:
    pytest.importorskip("webdataset")
    output = run_script(
        "bench_shards.py",
        *("--images", "24", "--classes", "3", "--max-count", "10", "--rounds", "1"),
        *("--tiny-small", "100", "--tiny-large", "1000", "--folder", str(tmp_path)),
    )
    for heading in ("write, images/s", "read + decode", "reader memory: peak resident growth"):
        assert heading in output
    assert_header(output, 1)
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
