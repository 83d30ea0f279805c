"""Every Python snippet of the augmentation, detection, scaling, keypoint, oriented-box, report and segmentation pages runs as
written; pictures come from a script (scripts/make_doc_pictures.py) and every picture a page shows is one it
draws."""

from __future__ import annotations

import re
import runpy
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGES = [
    "augmentation.md",
    "detection-data.md",
    "detection.md",
    "scaling.md",
    "keypoints.md",
    "oriented-boxes.md",
    "report.md",
    "one-stage-detection.md",
    "segmentation.md",
]


#: Pictures that are screenshots, and the script that takes each. Not compared with the committed picture: the
#: report's summary shows the measured time to read, which differs from run to run.
SCREENSHOTS = {"report.png": "make_report_screenshot.py"}
#: Pictures a training run draws (minutes of training: not redrawn by the docs build), and the command.
TRAINED = {"yolo-shapes-predictions.png": "visiondata train yolo-shapes"}


def picture_difference(drawn: Path, name: str) -> str | None:
    """How the picture ``drawn`` differs from the committed ``docs/images/<name>``; ``None`` when their sizes and
    decoded pixels are identical."""
    import numpy as np
    from PIL import Image

    with Image.open(drawn) as picture, Image.open(REPO / "docs" / "images" / name) as committed:
        if picture.size != committed.size or picture.mode != committed.mode:
            return (
                f"{name}: drawn {picture.size[0]}x{picture.size[1]} {picture.mode}, "
                f"committed {committed.size[0]}x{committed.size[1]} {committed.mode}"
            )
        new, old = np.asarray(picture), np.asarray(committed)
    if np.array_equal(new, old):
        return None
    difference = np.abs(new.astype(np.int16) - old.astype(np.int16))
    pixels = int(np.count_nonzero(difference if difference.ndim == 2 else difference.max(axis=-1)))
    return (
        f"{name}: {pixels} of {new.shape[0] * new.shape[1]} pixels differ, by up to {int(difference.max())}"
    )


def snippets(page: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", (REPO / "docs" / page).read_text(), flags=re.DOTALL)


@pytest.mark.parametrize(
    ("page", "position"), [(page, position) for page in PAGES for position in range(len(snippets(page)))]
)
def test_snippet_runs(page: str, position: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Run as a script (``__name__ == "__main__"``) in this process: one torch import for all snippets.
    script = tmp_path / "snippet.py"
    script.write_text(snippets(page)[position])
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(script), run_name="__main__")


def test_every_registered_transform_is_in_the_table() -> None:
    # The table is generated from the registry when the site is built (scripts/docs_transforms.py): the page
    # must hold its placeholder, and the generated table must have a row for every registered name.
    from test_docs import load_script

    from visiondata.transforms import list_transforms

    hook = load_script("docs_transforms")
    page = (REPO / "docs" / "augmentation.md").read_text()
    assert hook.TABLE_PLACEHOLDER in page
    table = hook.transforms_table()
    missing = [name for name in list_transforms() if f"\n| `{name}` |" not in table]
    assert not missing, f"transforms missing from the generated table: {missing}"
    assert table in hook.on_page_markdown(page, page=None)


def test_doc_pictures_script_draws_every_picture(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from conftest import SHARED_DATA

    has_mnist = (SHARED_DATA / "MNIST" / "raw" / "train-images-idx3-ubyte").is_file()
    argv = ["make_doc_pictures.py", "--out", str(tmp_path)]
    monkeypatch.setattr(sys, "argv", argv + (["--mnist-root", str(SHARED_DATA)] if has_mnist else []))
    runpy.run_path(str(REPO / "scripts" / "make_doc_pictures.py"), run_name="__main__")
    drawn = sorted(path.name for path in tmp_path.iterdir())
    pages = "".join(page.read_text() for page in sorted((REPO / "docs").rglob("*.md")))
    referenced = set(re.findall(r"!\[[^\]]*\]\((?:\.\./)?images/([\w-]+\.(?:jpg|png))\)", pages))
    if not has_mnist:  # the digits are real MNIST: without it the script leaves the committed picture
        referenced.discard("mnist-digits.png")
    # Screenshots of a page in a browser come from their own script (it needs chromium).
    for screenshot, script in SCREENSHOTS.items():
        assert (REPO / "scripts" / script).is_file()
        referenced.discard(screenshot)
    referenced -= set(TRAINED)
    assert drawn == sorted(referenced)
    assert all((REPO / "docs" / "images" / name).is_file() for name in referenced | {"mnist-digits.png"})
    assert capsys.readouterr().out.count("wrote ") == len(drawn)
    # Every committed picture is the one drawn: same size, same decoded pixels (the drawing is deterministic).
    differing = [difference for name in drawn if (difference := picture_difference(tmp_path / name, name))]
    assert not differing, (
        "docs/images differs from what scripts/make_doc_pictures.py draws:\n  "
        + "\n  ".join(differing)
        + "\nrun `make docs` (or `.venv/bin/python scripts/make_doc_pictures.py --mnist-root ../shared/data`)"
        " and commit docs/images"
    )


def test_pipeline_file_on_the_own_data_page_is_the_one_drawn() -> None:
    # docs/own-data.md shows the pipeline file of its preview picture; the script is what draws it.
    script = runpy.run_path(str(REPO / "scripts" / "make_doc_pictures.py"))
    page = (REPO / "docs" / "own-data.md").read_text()
    shown = re.search(r"```yaml\n# crop.yaml\n(.*?)```", page, flags=re.DOTALL)
    assert shown is not None
    assert shown.group(1) == script["FOLDER_PIPELINE"]


@pytest.mark.parametrize(
    ("page", "name", "variable"),
    [("keypoints.md", "pose.yaml", "KEYPOINT_PIPELINE"), ("segmentation.md", "crop.yaml", "MASK_PIPELINE")],
)
def test_pipeline_file_on_a_label_page_is_the_one_drawn(page: str, name: str, variable: str) -> None:
    # The keypoint and segmentation pages show the pipeline file of their picture; the script is what draws it.
    script = runpy.run_path(str(REPO / "scripts" / "make_doc_pictures.py"))
    shown = re.search(
        rf"```yaml\n# {re.escape(name)}\n(.*?)```", (REPO / "docs" / page).read_text(), re.DOTALL
    )
    assert shown is not None, f"docs/{page} does not show {name}"
    assert shown.group(1) == script[variable]
