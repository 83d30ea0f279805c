"""The documentation site builds without a warning (mkdocs strict mode), and nothing of its build leaks into it."""

from __future__ import annotations

import html
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]


def load_script(name: str) -> ModuleType:
    """Import ``scripts/<name>.py`` (the docs' build helpers) as mkdocs does: with its folder on sys.path."""
    import importlib

    sys.path.insert(0, str(REPO / "scripts"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(REPO / "scripts"))


def test_mkdocs_builds_strictly(tmp_path: Path) -> None:
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "WARNING" not in result.stderr, result.stderr[-3000:]
    for page in (
        "index.html",
        "datasets/index.html",
        "own-data/index.html",
        "models/index.html",
        "performance/index.html",
        "cli/index.html",
        "api/index.html",
        *(
            f"api/{page.stem}/index.html"
            for page in (REPO / "docs" / "api").glob("*.md")
            if page.stem != "index"
        ),
    ):
        assert (site / page).is_file(), page
    assert "conv_output_size" in (site / "models" / "index.html").read_text()
    # The build helpers (mkdocs hooks, picture script) are not part of the site.
    assert not list(site.rglob("*.py")), list(site.rglob("*.py"))
    assert not list(site.rglob("hooks")), list(site.rglob("hooks"))
    # The command-line page ran every example and shows what it printed.
    cli = (site / "cli" / "index.html").read_text()
    assert "<!-- cli-reference -->" not in cli
    cli = html.unescape(re.sub(r"<[^>]+>", "", cli))  # as read: code is split into highlighted spans
    for examples in load_script("docs_cli").EXAMPLES.values():
        for example in examples:
            assert f"$ visiondata {shlex.join(example.argv)}" in cli, example.argv
    assert "problems:" in cli  # the output of `visiondata check`, whatever its wording


def test_catalog_table_is_generated_from_the_registry() -> None:
    catalog = load_script("docs_catalog")
    import visiondata as vd

    table = catalog.catalog_table()
    for name in vd.list_datasets():
        assert f"[`{name}`]" in table
    assert table.endswith(f"{len(vd.list_datasets())} datasets.")
    page = (REPO / "docs" / "datasets.md").read_text()
    assert catalog.PLACEHOLDER in page
    assert table in catalog.on_page_markdown(page, page=None)


def test_build_helpers_are_outside_the_docs_folder() -> None:
    # mkdocs copies every file under docs/ into the site: Python files there would be published.
    assert not list((REPO / "docs").rglob("*.py"))
    import yaml

    config = yaml.safe_load((REPO / "mkdocs.yml").read_text())
    for hook in config["hooks"]:
        assert (REPO / hook).is_file(), hook
        assert not (REPO / hook).resolve().is_relative_to(REPO / "docs"), hook
