"""The report page in headless Chromium: it loads from a file URL with no request leaving the file, no console
error, and every plot and thumbnail renders (a non-empty box whose screenshot is not blank)."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib", reason="the report extra (matplotlib) is not installed")
pytest.importorskip("jinja2", reason="the report extra (jinja2) is not installed")
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install '.[dev]' brings it)"
)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium on PATH (Debian: apt-get install chromium; .ci/run installs it)"
)


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from test_report_build import make_coco

    from visiondata.report import build_report

    root = tmp_path_factory.mktemp("browser")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the reader warns about the planted problems it skips
        splits = make_coco(root / "data")
    build_report(splits, root / "report.html", max_per_section=3)
    return root / "report.html"


def test_page_renders_offline_with_every_plot_and_thumbnail(report_file: Path, tmp_path: Path) -> None:
    console_errors: list[str] = []
    failed: list[str] = []
    foreign: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on(
                "console", lambda message: message.type == "error" and console_errors.append(message.text)
            )
            page.on("pageerror", lambda error: console_errors.append(str(error)))
            page.on("requestfailed", lambda request: failed.append(f"{request.url[:120]}: {request.failure}"))
            page.on(
                "request",
                lambda request: (
                    None if request.url.startswith(("file:", "data:")) else foreign.append(request.url[:120])
                ),
            )
            page.goto(report_file.as_uri(), wait_until="load")
            shot = tmp_path / "page.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000

            # Sections linked from the table of contents.
            for anchor in ("summary", "plots", "samples", "problems", "duplicates", "limits"):
                assert page.locator(f'nav a[href="#{anchor}"]').count() == 1
                assert page.locator(f"section#{anchor}").count() == 1

            # Every thumbnail decoded (naturalWidth is 0 for a broken image).
            broken = page.eval_on_selector_all(
                "main img", "elements => elements.filter(e => !e.complete || e.naturalWidth === 0).length"
            )
            assert broken == 0
            # Each plot's and thumbnail's box in page coordinates, cut out of the full-page screenshot
            # (one capture instead of one per element).
            rectangles = page.eval_on_selector_all(
                "figure > svg, main img",
                """elements => elements.map(e => {
                    const r = e.getBoundingClientRect();
                    return {tag: e.tagName.toLowerCase(), x: r.left + window.scrollX, y: r.top + window.scrollY,
                            width: r.width, height: r.height};
                })""",
            )
            scale = page.evaluate("window.devicePixelRatio")
        finally:
            browser.close()
    assert failed == []
    assert foreign == []
    assert console_errors == []
    from PIL import Image

    picture = Image.open(shot).convert("RGB")
    tags = [rectangle["tag"] for rectangle in rectangles]
    assert tags.count("svg") >= 5 and tags.count("img") >= 10
    for position, rectangle in enumerate(rectangles):
        assert rectangle["width"] > 0 and rectangle["height"] > 0, (position, rectangle)
        left, top = round(rectangle["x"] * scale), round(rectangle["y"] * scale)
        right = round((rectangle["x"] + rectangle["width"]) * scale)
        bottom = round((rectangle["y"] + rectangle["height"]) * scale)
        assert right <= picture.width and bottom <= picture.height, (position, rectangle, picture.size)
        region = np.asarray(picture.crop((left, top, right, bottom)), dtype=np.float64)
        assert region.var() > 0, f"{rectangle['tag']} {position} rendered blank at {rectangle}"
