"""Shared fixtures: the real MNIST beside the checkout, and an isolated $VISIONDATA_HOME."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("VISIONDATA_TEST_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def mnist_root() -> Path:
    """Folder holding the real ``MNIST/raw`` (read-only)."""
    if not (SHARED_DATA / "MNIST" / "raw" / "t10k-images-idx3-ubyte").is_file():
        pytest.skip(f"the real MNIST is not at {SHARED_DATA}/MNIST/raw (set VISIONDATA_TEST_DATA)")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # No test may read or write the user's real ~/.cache/visiondata by accident.
    monkeypatch.setenv("VISIONDATA_HOME", str(tmp_path_factory.mktemp("visiondata-home")))
