"""The Python snippets of the pages that read files a reader already has (``photo.jpg``, ``photos/train``,
``labels.csv``, pretrained weights) run here as written, in a folder that holds such files, each page's
snippets in order in one namespace (a page's later snippets continue its earlier ones).

Every page with a Python snippet is run here, by tests/test_docs_snippets.py, or listed in `NOT_RUN` with
the reason; a new page cannot go untested unnoticed.
"""

from __future__ import annotations

import re
import runpy
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from test_docs_snippets import PAGES

REPO = Path(__file__).resolve().parents[1]

#: Pages whose snippets no test runs yet, and why (issue 25 asks for them all).
NOT_RUN = {
    "datasets.md": "reads CIFAR-10, EMNIST and COCO val2017 from $VISIONDATA_HOME, and shows signatures",
    "index.md": "trains on the real MNIST for two epochs (about a minute: too long for the suite)",
}


def snippets(page: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", (REPO / "docs" / page).read_text(), flags=re.DOTALL)


def photo(path: Path, size: tuple[int, int] = (64, 48), seed: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, quality=90)


def own_data_files(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from visiondata.io import set_strict_decode

    photo(folder / "photo.jpg")
    Image.new("L", (32, 24), 90).save(folder / "scan.png")
    Image.fromarray(np.full((24, 32), 40_000, dtype=np.uint16)).save(folder / "depth.png")
    whole = (folder / "photo.jpg").read_bytes()
    # Stray bytes before the end marker: libjpeg decodes it with a warning, which strict mode refuses.
    (folder / "damaged.jpg").write_bytes(whole[:-2] + b"\x00\x00\x00\xff\xd9")
    for index in range(10):
        photo(folder / "photos" / "train" / ("cat" if index % 2 else "dog") / f"{index}.jpg", seed=index)
    names = [f"cats/{index:03d}.jpg" for index in range(4)]
    for index, name in enumerate(names):
        photo(folder / "images" / name, seed=index)
    (folder / "labels.csv").write_text(
        "image,label\n" + "".join(f"{n},{'cat' if i % 2 else 'dog'}\n" for i, n in enumerate(names))
    )
    (folder / "tags.csv").write_text("image,tags\n" + "".join(f"{n},cat|dog\n" for n in names))
    (folder / "flags.csv").write_text("image,cat,dog,bird\n" + "".join(f"{n},1,0,1\n" for n in names))
    (folder / "ages.csv").write_text("image,age\n" + "".join(f"{n},{i + 2.5}\n" for i, n in enumerate(names)))
    for name in ("street/001.jpg", "street/002.jpg"):
        photo(folder / "images" / name, size=(128, 220))
    (folder / "boxes.csv").write_text(
        "image,x_min,y_min,x_max,y_max,label\nstreet/001.jpg,12,40,96,200,person\nstreet/002.jpg,,,,,\n"
    )
    previous = set_strict_decode(True)  # the page turns it off for the process: put it back afterwards
    monkeypatch.setattr("visiondata.io._read._strict_default", previous)


def pretrained_weights(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torchvision

    from visiondata.models import create_model

    # resnet18's DEFAULT weights, as torchvision caches them after a download (random values: no network).
    monkeypatch.setenv("TORCH_HOME", str(folder / "torch-home"))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    cache = folder / "torch-home" / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    url = torchvision.models.ResNet18_Weights.DEFAULT.url
    torch.save(torchvision.models.resnet18().state_dict(), cache / url.rsplit("/", 1)[-1])
    (folder / "checkpoints").mkdir()
    torch.save(create_model("resnet18", num_classes=5).state_dict(), folder / "checkpoints" / "best.pth")


SETUPS: dict[str, Callable[[Path, pytest.MonkeyPatch], None]] = {
    "own-data.md": own_data_files,
    "models.md": pretrained_weights,
}


@pytest.mark.parametrize("page", sorted(SETUPS))
def test_the_snippets_of_a_page_run_with_the_files_they_read(
    page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    SETUPS[page](tmp_path, monkeypatch)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    for position, code in enumerate(snippets(page)):
        script = tmp_path / f"snippet{position}.py"
        script.write_text(code)
        namespace = runpy.run_path(str(script), init_globals=namespace, run_name="__main__")


def test_every_page_with_a_python_snippet_is_run_or_says_why_not() -> None:
    pages = {path.name for path in (REPO / "docs").glob("*.md") if snippets(path.name)}
    assert pages - set(PAGES) - set(SETUPS) - set(NOT_RUN) == set()
    assert not (set(SETUPS) | set(NOT_RUN)) & set(PAGES)
