"""The documentation site builds without a warning (mkdocs strict mode)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_mkdocs_builds_strictly(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for page in (
        "index.html",
        "datasets/index.html",
        "own-data/index.html",
        "models/index.html",
        "performance/index.html",
    ):
        assert (tmp_path / "site" / page).is_file(), page
    assert "conv_output_size" in (tmp_path / "site" / "models" / "index.html").read_text()


def test_catalog_table_is_generated_from_the_registry(tmp_path: Path) -> None:
    sys.path.insert(0, str(REPO / "docs" / "hooks"))
    try:
        from catalog import PLACEHOLDER, catalog_table, on_page_markdown
    finally:
        sys.path.pop(0)
    import visiondata as vd

    table = catalog_table()
    for name in vd.list_datasets():
        assert f"[`{name}`]" in table
    assert table.endswith(f"{len(vd.list_datasets())} datasets.")
    page = (REPO / "docs" / "datasets.md").read_text()
    assert PLACEHOLDER in page
    assert table in on_page_markdown(page, page=None)
