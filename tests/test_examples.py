"""The README's code and the scripts in examples/ run as written."""

from __future__ import annotations

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
