"""The README's code and the scripts in examples/ run as written."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_python(arguments: list[str], data_root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *arguments],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env={**os.environ, "VISIONDATA_HOME": str(data_root)},
    )


def test_readme_api_example_runs(mnist_root: Path) -> None:
    readme = (REPO / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    assert len(blocks) == 1, "the README shows one Python example"
    assert len(blocks[0].strip().splitlines()) <= 12
    code = blocks[0].replace("epochs=2", "epochs=1")
    result = run_python(["-c", code], mnist_root)
    assert result.returncode == 0, result.stderr
    assert "'kmnist', 'mnist'" in result.stdout and "(0.1307,)" in result.stdout
    accuracy = float(re.findall(r"eval accuracy (\d\.\d+)", result.stdout)[-1])
    assert accuracy > 0.9


def test_train_mnist_example_runs(mnist_root: Path) -> None:
    result = run_python(["examples/train_mnist.py", "--epochs", "1"], mnist_root)
    assert result.returncode == 0, result.stderr
    accuracy = float(re.search(r"test accuracy: (\d\.\d+)", result.stdout).group(1))
    assert accuracy > 0.95


def test_finetune_example_runs_offline_with_random_and_local_weights(tmp_path: Path) -> None:
    data = tmp_path / "shapes"
    made = run_python(["examples/finetune_imagefolder.py", "--make-demo-data", str(data)], tmp_path)
    assert made.returncode == 0, made.stderr
    assert sorted(path.name for path in data.iterdir()) == ["circle", "square", "triangle"]
    import torch

    from visiondata.models import create_model

    weights = tmp_path / "resnet18-local.pth"
    torch.save(create_model("resnet18").state_dict(), weights)
    common = ["--data", str(data), "--image-size", "32", "--epochs-head", "1", "--epochs-finetune", "1"]
    for choice in ("none", str(weights)):
        result = run_python(["examples/finetune_imagefolder.py", *common, "--weights", choice], tmp_path)
        assert result.returncode == 0, result.stderr[-2000:]
        lines = result.stdout.splitlines()
        # Phase 1 trains only the new 3-class head of resnet18: 512 * 3 weights + 3 biases.
        assert "feature extraction: 1,539 of 11,178,051 parameters train" in lines
        accuracies = [
            float(line.rsplit(" ", 1)[1])
            for line in lines
            if line.startswith(("feature extraction: accuracy", "fine-tuning: accuracy"))
        ]
        assert len(accuracies) == 2 and all(0 <= accuracy <= 1 for accuracy in accuracies)
        assert any(line.startswith("fine-tuning: ") and "parameters train" in line for line in lines)
    assert "fc.weight: (1000, 512) -> (3, 512)" in result.stderr  # the local file's old head is reported


def _detection_example() -> object:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "detection_finetune", REPO / "examples" / "detection_finetune.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_detection_example_overfits_a_tiny_coco_folder(tmp_path: Path) -> None:
    example = _detection_example()
    example.main(["--make-demo-data", str(tmp_path / "data")])
    metrics = example.main(
        ["--data", str(tmp_path / "data"), "--steps", "80", "--out", str(tmp_path / "run")]
    )
    losses = metrics["first_losses"] + metrics["last_losses"]
    assert all(math.isfinite(loss) for loss in losses)
    assert sum(metrics["last_losses"]) < 0.6 * sum(metrics["first_losses"])
    assert metrics["map_after"] > metrics["map_before"] + 0.1
    assert (tmp_path / "run" / "metrics.json").is_file()


def test_detection_example_runs_under_torchrun_with_two_processes(tmp_path: Path) -> None:
    _detection_example().main(["--make-demo-data", str(tmp_path / "data")])
    result = subprocess.run(
        [
            sys.executable,
            *("-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"),
            str(REPO / "examples" / "detection_finetune.py"),
            *("--data", str(tmp_path / "data"), "--steps", "2", "--out", str(tmp_path / "run")),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["processes"] == 2 and metrics["steps"] == 2
