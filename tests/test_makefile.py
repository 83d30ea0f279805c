"""What ``make demo`` and ``make test`` install, read from ``make --dry-run`` on a fresh virtual environment.

A newcomer's first command must say at once what it is about to install (and how big it is), install only
what the demo needs, and let pip show its progress; ``make test`` adds the extras the suite needs.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def dry_run(target: str, tmp_path: Path, *variables: str) -> list[str]:
    """The commands ``make TARGET`` would run with a virtual environment that does not exist yet."""
    finished = subprocess.run(
        ["make", "--dry-run", "--no-print-directory", target, f"VENV={tmp_path / 'venv'}", *variables],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return finished.stdout.splitlines()


def pip_installs(commands: list[str]) -> list[str]:
    return [command for command in commands if " -m pip install" in command]


def test_demo_says_what_it_installs_before_anything_else(tmp_path: Path) -> None:
    commands = dry_run("demo", tmp_path)
    assert commands[0].startswith('echo "visiondata: installing torch, torchvision and visiondata into')
    assert "GB" in commands[0]
    assert any("TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu" in command for command in commands[:4])


def test_demo_installs_only_the_package_and_torch_with_pip_progress_shown(tmp_path: Path) -> None:
    installs = pip_installs(dry_run("demo", tmp_path))
    assert len(installs) == 2
    assert installs[0].endswith("torch==2.14.1 torchvision==0.29.1")
    assert installs[1].endswith("-e .")
    assert all("--quiet" not in command and "--progress-bar on" in command for command in installs)
    assert dry_run("demo", tmp_path)[-1].endswith("-m visiondata train mnist-cnn")


def test_a_torch_index_applies_to_torch_only(tmp_path: Path) -> None:
    installs = pip_installs(dry_run("demo", tmp_path, "TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu"))
    assert "--index-url https://download.pytorch.org/whl/cpu torch==2.14.1" in installs[0]
    assert "--index-url" not in installs[1]


def test_the_detector_demo_adds_the_metrics_extra_only(tmp_path: Path) -> None:
    commands = dry_run("demo-detect", tmp_path)
    installs = pip_installs(commands)
    assert len(installs) == 3
    assert installs[2].endswith('-e ".[metrics]"')
    assert commands[-1].endswith("-m visiondata train yolo-shapes")


def test_make_test_adds_the_dev_and_docs_extras_after_the_demo_install(tmp_path: Path) -> None:
    installs = pip_installs(dry_run("test", tmp_path))
    assert installs[0].endswith("torch==2.14.1 torchvision==0.29.1")
    assert len(installs) == 3
    assert installs[2].endswith('-e ".[dev,docs]"')


def test_make_mutate_runs_the_mutation_script_after_the_dev_install_and_make_test_does_not(
    tmp_path: Path,
) -> None:
    mutate = dry_run("mutate", tmp_path)
    assert any(' -m pip install --progress-bar on -e ".[dev,docs]"' in command for command in mutate)
    assert mutate[-1] == f"{tmp_path / 'venv'}/bin/python scripts/mutate.py"
    assert not any("scripts/mutate.py" in command for command in dry_run("test", tmp_path))
