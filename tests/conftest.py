"""Shared fixtures: the real MNIST beside the checkout, and an isolated $VISIONDATA_HOME."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# s3_server, s3_bucket: a local S3 API server for the object-storage tests.
pytest_plugins = ("object_store",)

REPO = Path(__file__).resolve().parents[1]


def _real_data_folder() -> Path:
    """Where the real MNIST is: $VISIONDATA_TEST_DATA, else $VISIONDATA_HOME (read before any test
    isolates it), else ``../shared/data`` beside the checkout."""
    candidates = [os.environ.get("VISIONDATA_TEST_DATA"), os.environ.get("VISIONDATA_HOME")]
    for candidate in candidates:
        if candidate and (Path(candidate).expanduser() / "MNIST" / "raw").is_dir():
            return Path(candidate).expanduser()
    given = os.environ.get("VISIONDATA_TEST_DATA")
    return Path(given).expanduser() if given else REPO.parent / "shared" / "data"


SHARED_DATA = _real_data_folder()


@pytest.fixture(scope="session")
def mnist_root() -> Path:
    """Folder holding the real ``MNIST/raw`` (read-only)."""
    if not (SHARED_DATA / "MNIST" / "raw" / "t10k-images-idx3-ubyte").is_file():
        pytest.skip(
            f"the real MNIST is not at {SHARED_DATA}/MNIST/raw (set VISIONDATA_TEST_DATA or VISIONDATA_HOME "
            "to the folder holding MNIST/raw)"
        )
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # No test may read or write the user's real ~/.cache/visiondata by accident.
    monkeypatch.setenv("VISIONDATA_HOME", str(tmp_path_factory.mktemp("visiondata-home")))
