"""``visiondata check`` as a script sees it: distinct exit statuses, a readable summary of huge
duplicate lists (the full list stays in ``--json``), and unreadable folders reported, not raised."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from test_folder_links_and_cache import refuse_listing

from visiondata.cli import main
from visiondata.datasets._check import EXIT_CLEAN, EXIT_NOT_FOUND, EXIT_PROBLEMS, EXIT_USAGE


def folder_with_copies(root: Path, copies: int, groups: int) -> None:
    for group in range(groups):
        for copy in range(copies):
            path = root / f"class{group % 2}" / f"g{group:02d}_{copy:03d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (3, 3), (group, 0, 0)).save(path)


def test_exit_statuses_tell_missing_paths_from_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (EXIT_CLEAN, EXIT_PROBLEMS, EXIT_USAGE, EXIT_NOT_FOUND) == (0, 1, 2, 3)
    assert main(["check", str(tmp_path / "missing")]) == EXIT_NOT_FOUND
    assert "missing: no such file or folder" in capsys.readouterr().err
    assert main(["check", "--csv", str(tmp_path / "missing.csv")]) == EXIT_NOT_FOUND
    (tmp_path / "empty.json").write_text("{}")
    assert main(["check", str(tmp_path / "empty.json"), "--format", "coco"]) == EXIT_NOT_FOUND
    assert "visiondata check:" in capsys.readouterr().err
    assert main(["check"]) == EXIT_USAGE
    folder_with_copies(tmp_path / "data", copies=1, groups=2)
    assert main(["check", str(tmp_path / "data")]) == EXIT_CLEAN
    folder_with_copies(tmp_path / "copies", copies=2, groups=2)
    assert main(["check", str(tmp_path / "copies")]) == EXIT_PROBLEMS


def test_a_huge_duplicate_list_is_summarised_and_complete_in_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder_with_copies(tmp_path, copies=30, groups=12)
    assert main(["check", str(tmp_path)]) == EXIT_PROBLEMS
    text = capsys.readouterr().out
    assert "identical images (12 groups, 360 files; --json lists them all):" in text
    assert (
        "  30 files: class0/g00_000.png, class0/g00_001.png, class0/g00_002.png, class0/g00_003.png and 26 more"
        in text
    )
    assert "... and 2 more groups" in text
    assert max(len(line) for line in text.splitlines()) < 200
    assert main(["check", str(tmp_path), "--json"]) == EXIT_PROBLEMS
    report = json.loads(capsys.readouterr().out)
    assert sorted(len(group) for group in report["duplicates"]) == [30] * 12


def test_an_unlistable_folder_is_a_reported_problem_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder_with_copies(tmp_path, copies=1, groups=2)
    (tmp_path / "class0" / "private").mkdir()
    refuse_listing(monkeypatch, tmp_path / "class0" / "private")
    assert main(["check", str(tmp_path)]) == EXIT_PROBLEMS
    text = capsys.readouterr().out
    assert (
        "folders not indexed (1):" in text
        and "class0/private: cannot list the folder: Permission denied" in text
    )
