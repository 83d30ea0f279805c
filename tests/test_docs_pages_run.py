"""The Python snippets of the pages that read files a reader already has (``photo.jpg``, ``photos/train``,
``labels.csv``, pretrained weights, datasets under ``$VISIONDATA_HOME``) run here as written, in a folder that
holds such files, each page's snippets in order in one namespace (a page's later snippets continue its
earlier ones). The outputs a page shows in its comments are checked where that is cheap (`OUTPUTS`).

Every page with a Python snippet, the README included, is run here, by tests/test_docs_snippets.py, or
listed in `NOT_RUN` with the reason; a new page cannot go untested unnoticed.
"""

from __future__ import annotations

import os
import re
import runpy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from fixture_files import make_mnist_tree
from PIL import Image
from test_docs_snippets import PAGES

import visiondata as vd

REPO = Path(__file__).resolve().parents[1]

#: Pages outside docs/, by their path in the repository; every other page is named as in docs/.
ROOT_PAGES = ("README.md",)

#: Pages whose snippets no test runs yet, and why.
NOT_RUN: dict[str, str] = {}


def page_file(page: str) -> Path:
    return REPO / page if page in ROOT_PAGES else REPO / "docs" / page


def snippets(page: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page_file(page).read_text(), flags=re.DOTALL)


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


def visiondata_home(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty ``$VISIONDATA_HOME`` in ``folder``: where the pages' ``get_dataset`` calls read."""
    home = folder / "visiondata-home"
    home.mkdir()
    monkeypatch.setenv("VISIONDATA_HOME", str(home))
    return home


def catalog_files(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Written by the tests of those readers: CIFAR-10's pickled batches (10 training images), EMNIST's
    # letters in torchvision's layout (3 test images) and COCO val2017 (3 images, the 80 categories).
    from test_catalog_detection_readers import make_coco
    from test_catalog_formats_classification import md5_checks_only_existence, write_cifar10, write_emnist
    from torchvision.datasets import cifar

    home = visiondata_home(folder, monkeypatch)
    write_cifar10(home)
    md5_checks_only_existence(monkeypatch, cifar)  # torchvision checks the md5 of the real download
    write_emnist(home, "letters")
    make_coco(home, "val")


#: A few hundred images instead of 60,000 and 10,000: the two epochs of `fit` take about a second.
MNIST_SIZES = {"train": 300, "test": 100}


def small_mnist(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_mnist_tree(visiondata_home(folder, monkeypatch), **MNIST_SIZES)


SETUPS: dict[str, Callable[[Path, pytest.MonkeyPatch], None]] = {
    "own-data.md": own_data_files,
    "models.md": pretrained_weights,
    "datasets.md": catalog_files,
    "index.md": small_mnist,
    "README.md": small_mnist,
}


def catalog_outputs(namespace: dict[str, Any], printed: str) -> None:
    assert namespace["names"] == sorted(namespace["names"]) and "cifar10" in namespace["names"]
    assert namespace["mnists"] == ["emnist", "fashion_mnist", "kmnist", "mnist", "qmnist"]
    assert namespace["info"].task == "classification" and namespace["info"].splits == ("train", "test")
    assert len(namespace["cifar"]) == 10 and len(namespace["letters"]) == 3
    assert namespace["letters"].split == "letters" and not namespace["letters"].train
    coco = namespace["coco"]
    assert (coco.category_ids[1], coco.category_ids[80]) == (1, 90)  # "(1, 90): person, toothbrush"
    assert (coco.classes[1], coco.classes[80]) == ("person", "toothbrush")
    assert namespace["labels"] == [1, 80]
    home = os.environ["VISIONDATA_HOME"]
    assert type(namespace["train"]) is namespace["Leaves"]
    assert (namespace["digits"].root, namespace["digits"].train) == (home, False)
    assert namespace["scans"].index_file == f"{home}/scans/val.txt"


def mnist_training_outputs(namespace: dict[str, Any], printed: str) -> None:
    assert (len(namespace["train"]), len(namespace["test"])) == (MNIST_SIZES["train"], MNIST_SIZES["test"])
    assert printed.startswith(f"{vd.list_datasets('*mnist*')} {vd.dataset_info('mnist').mean}\n")
    assert "epoch 2/2" in printed
    assert namespace["model"](torch.zeros(2, 1, 28, 28)).shape == (2, 10)  # README: "returns logits"


#: What a page's comments say its snippets give, checked on the namespace and the printed text afterwards.
OUTPUTS: dict[str, Callable[[dict[str, Any], str], None]] = {
    "datasets.md": catalog_outputs,
    "index.md": mnist_training_outputs,
    "README.md": mnist_training_outputs,
}


@pytest.fixture
def registered_datasets_removed() -> Iterator[None]:
    """Datasets a page registers (datasets.md's ``leaves``...) are unregistered after it."""
    before = set(vd.list_datasets())
    yield
    for name in sorted(set(vd.list_datasets()) - before):
        vd.datasets.unregister_dataset(name)


@pytest.mark.usefixtures("registered_datasets_removed")
@pytest.mark.parametrize("page", sorted(SETUPS))
def test_the_snippets_of_a_page_run_with_the_files_they_read(
    page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    SETUPS[page](tmp_path, monkeypatch)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {}
    for position, code in enumerate(snippets(page)):
        script = tmp_path / f"snippet{position}.py"
        script.write_text(code)
        namespace = runpy.run_path(str(script), init_globals=namespace, run_name="__main__")
    if page in OUTPUTS:
        OUTPUTS[page](namespace, capsys.readouterr().out)


def test_every_page_with_a_python_snippet_is_run_or_says_why_not() -> None:
    pages = {path.name for path in (REPO / "docs").glob("*.md") if snippets(path.name)}
    pages |= {page for page in ROOT_PAGES if snippets(page)}
    assert "README.md" in pages
    assert pages - set(PAGES) - set(SETUPS) - set(NOT_RUN) == set()
    assert not (set(SETUPS) | set(NOT_RUN)) & set(PAGES)
    assert set(SETUPS) | set(NOT_RUN) <= pages, "a page named here has no Python snippet left"
