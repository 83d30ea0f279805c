"""Build a ``visiondata report`` of real photos and save a PNG screenshot of the top of the page (for docs/report.md).

The photos are the two that scikit-learn ships (``china.jpg`` and ``flower.jpg``), cropped, flipped and
resized by ``benchmarks/bench_pipeline.py``'s ``make_photos`` into a folder of four classes; the last
photos become a val split, and one train photo is copied into val so that the page shows a leak. The
page is opened in headless Chromium (Debian's ``chromium``) through playwright.

Usage: ``python scripts/make_report_screenshot.py OUT.png [--html REPORT.html] [--width 1280] [--height 1100]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TRAIN, VAL = 32, 8


def build(folder: Path, html: Path) -> Path:
    """Write the photos (train and val splits) under ``folder`` and the report to ``html``."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    from bench_pipeline import make_photos

    from visiondata.datasets import ImageFolderDataset
    from visiondata.report import build_report

    staging = folder / "all"
    make_photos(staging, (240, 320), TRAIN + VAL)
    for photo in sorted(staging.glob("class_*/*.jpg")):
        number = int(photo.stem.split("_")[1])
        split = "train" if number < TRAIN else "val"
        target = folder / split / photo.parent.name / photo.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(photo, target)
    leaked = sorted((folder / "train").glob("class_1/*.jpg"))[0]
    shutil.copyfile(leaked, folder / "val" / "class_1" / f"copy_of_{leaked.name}")
    # Read from beside the photos, by relative paths: the page shows them (``photos/train``), not a scratch path.
    previous = Path.cwd()
    html = html.resolve()
    os.chdir(folder.parent)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            splits = {split: ImageFolderDataset(Path(folder.name) / split) for split in ("train", "val")}
            build_report(splits, html, max_per_section=8, title="Dataset report: photos (train, val)")
    finally:
        os.chdir(previous)
    return html


def screenshot(html: Path, out: Path, width: int, height: int) -> None:
    """Save the top ``width`` x ``height`` pixels of ``html`` as rendered by headless Chromium to ``out``."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("no chromium on PATH: install Debian's chromium package (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(html.resolve().as_uri(), wait_until="load")
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out))
        finally:
            browser.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the PNG to write")
    parser.add_argument("--html", type=Path, help="keep the report here (default: a scratch folder)")
    parser.add_argument("--width", type=int, default=1280, help="viewport width (default: %(default)s)")
    parser.add_argument(
        "--height", type=int, default=1100, help="height of the screenshot (default: %(default)s)"
    )
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        html = options.html or Path(scratch) / "report.html"
        build(Path(scratch) / "photos", html)
        screenshot(html, options.out, options.width, options.height)
    print(f"{options.out}: the top of {html if options.html else 'the report'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
