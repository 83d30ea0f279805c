"""What a user installs: the wheel's contents and metadata, and install instructions that can work."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
tomllib = pytest.importorskip("tomllib")  # Python 3.11+


def test_docs_never_install_from_a_package_index() -> None:
    # visiondata is not on an index: `pip install visiondata` or `"visiondata[extra]"` cannot work.
    pages = [REPO / "README.md", REPO / "CONTRIBUTING.md", *sorted((REPO / "docs").rglob("*.md"))]
    wrong = [
        f"{page.relative_to(REPO)}: {line.strip()}"
        for page in pages
        for line in page.read_text().splitlines()
        if re.search(r"pip install ['\"]?visiondata(\[|['\"\s]|$)", line)
    ]
    assert not wrong, wrong


def test_metadata_uses_an_spdx_license_and_ships_the_typed_marker() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert project["project"]["license"] == "MIT"
    assert project["project"]["license-files"] == ["LICENSE"] and (REPO / "LICENSE").is_file()
    assert "py.typed" in project["tool"]["setuptools"]["package-data"]["visiondata"]
    assert (REPO / "visiondata" / "py.typed").is_file()


@pytest.mark.slow
def test_the_wheel_holds_the_package_the_typed_marker_and_the_license(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
        timeout=300,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("visiondata-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = next(archive.read(name).decode() for name in names if name.endswith(".dist-info/METADATA"))
    assert {"visiondata/py.typed", "visiondata/shards/_dataset.py", "visiondata/io/_read.py"} <= names
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)
    assert "License-Expression: MIT" in metadata
    assert not any(name.startswith(("tests/", "benchmarks/", "docs/")) for name in names)
