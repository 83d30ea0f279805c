"""``visiondata check``'s text report: each unreadable file named once, counts that agree with their
nouns, and the real size factor of an unusual image."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from test_folder_links_and_cache import refuse_listing

from visiondata.cli import main
from visiondata.datasets._check import EXIT_PROBLEMS


def check_text(capsys: pytest.CaptureFixture[str], folder: Path) -> list[str]:
    assert main(["check", str(folder)]) == EXIT_PROBLEMS
    return capsys.readouterr().out.splitlines()


def one_of_each_problem(root: Path) -> Path:
    """photos/train: 7 small dogs (two identical), a dog 324x the median size, an unreadable dog, a cat."""
    train = root / "photos" / "train"
    for index in range(7):
        path = train / "dog" / f"{index:03d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 8), (min(index, 5) * 40, 0, 0)).save(path)  # 005 and 006 are identical
    Image.new("RGB", (144, 144), (0, 90, 0)).save(train / "dog" / "huge.png")  # 20,736 = 324 x 64 pixels
    (train / "dog" / "005.jpg").write_bytes(b"not a jpeg at all")
    (train / "cat").mkdir()
    Image.new("RGB", (8, 8), (0, 0, 200)).save(train / "cat" / "000.png")
    return train


def test_each_problem_is_counted_in_the_singular_and_named_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    train = one_of_each_problem(tmp_path)
    (train / "cat" / "private").mkdir()
    refuse_listing(monkeypatch, train / "cat" / "private")
    lines = check_text(capsys, train)

    unreadable = lines[lines.index("unreadable files (1):") + 1]
    assert unreadable.startswith("  dog/005.jpg: cannot read image: ")
    assert str(train) not in unreadable and unreadable.count("005.jpg") == 1
    assert "identical images (1 group, 2 files; --json lists them all):" in lines
    assert "  dog/huge.png: 20,736 pixels, 324x the median 64" in lines
    assert lines[-1] == (
        "problems: 1 folder not indexed; 1 unreadable file; 1 group of identical images; "
        "1 image of unusual size or format"
    )


def test_a_single_image_in_a_single_class_reads_in_the_singular(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / "broken.png").write_bytes(b"")
    lines = check_text(capsys, tmp_path)
    assert lines[0] == f"{tmp_path}: 1 image in 1 class"
    assert lines[-1] == "problems: 1 unreadable file"


def test_an_image_far_smaller_than_the_median_says_by_how_much(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for index in range(3):
        path = tmp_path / "dog" / f"{index}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (36, 36), (index * 50, 0, 0)).save(path)
    Image.new("RGB", (2, 2)).save(tmp_path / "dog" / "tiny.png")  # 4 pixels, the median 1,296
    lines = check_text(capsys, tmp_path)
    assert "  dog/tiny.png: 4 pixels, 1/324 of the median 1,296" in lines
    assert lines[-1] == "problems: 1 image of unusual size or format"
