"""``visiondata report`` on the command line: COCO and folder datasets to HTML + JSON, and its one-line errors."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

pytest.importorskip("matplotlib", reason="the report extra (matplotlib) is not installed")
pytest.importorskip("jinja2", reason="the report extra (jinja2) is not installed")

from test_report_build import TRAIN, VAL, make_coco, make_folder

from visiondata.cli import main


def _run(argv: list[str]) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # readers warn about the planted problems they skip
        return main(argv)


def test_coco_split_to_html_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        make_coco(tmp_path / "data")
    out, numbers = tmp_path / "out" / "report.html", tmp_path / "out" / "numbers.json"
    status = _run(
        [
            "report",
            str(tmp_path / "data" / "train.json"),
            "--images",
            str(tmp_path / "data" / "train"),
            "-o",
            str(out),
            "--json",
            str(numbers),
            "--max-per-section",
            "2",
            "--near-threshold",
            "4",
        ]
    )
    assert status == 0
    printed = capsys.readouterr().out
    assert str(out) in printed and f"{TRAIN + 1} images in 1 split" in printed
    document = json.loads(numbers.read_text())
    assert document["splits"] == ["train"]  # named by the file
    (statistics,) = document["statistics"]
    assert statistics["images"] == TRAIN + 1 and statistics["kind"] == "detection"
    assert document["duplicates"]["threshold"] == 4 and document["limits"]["max_per_section"] == 2
    assert any("no area" in line for line in document["problems"]["train"])
    assert any("broken.jpg" in line for line in document["problems"]["train"])
    assert out.read_text().startswith("<!DOCTYPE html>")


def test_folder_splits_by_option_and_by_position(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_folder(tmp_path / "data")
    # One DATA, two --split: the split folders inside it.
    status = _run(
        [
            "report",
            str(tmp_path / "data"),
            "--split",
            "train",
            "--split",
            "val",
            "-o",
            str(tmp_path / "a.html"),
            "--json",
            str(tmp_path / "a.json"),
        ]
    )
    assert status == 0
    document = json.loads((tmp_path / "a.json").read_text())
    assert document["splits"] == ["train", "val"]
    assert [entry["images"] for entry in document["statistics"]] == [TRAIN + 1, VAL + 2]
    assert document["duplicates"]["counts"]["exact_across_splits"] == 1
    assert document["duplicates"]["counts"]["near_across_splits"] == 1
    assert any("'bird'" in line for line in document["problems"]["train"])  # the empty class folder
    # Two DATA: one split each, named by their folders.
    status = _run(
        [
            "report",
            str(tmp_path / "data" / "train"),
            str(tmp_path / "data" / "val"),
            "-o",
            str(tmp_path / "b.html"),
            "--json",
            str(tmp_path / "b.json"),
        ]
    )
    assert status == 0
    assert json.loads((tmp_path / "b.json").read_text())["splits"] == ["train", "val"]
    assert (tmp_path / "b.html").stat().st_size > 10_000


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["{tmp}/missing.json"], "missing.json: DATA: expected a dataset file or folder"),
        (
            ["{tmp}/data/train", "{tmp}/data/val", "--split", "a"],
            "--split: expected one --split per DATA (2)",
        ),
        (["{tmp}/data/train", "{tmp}/other/train"], "'train' more than once"),
    ],
)
def test_errors_are_one_line_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], expected: str
) -> None:
    for folder in ("data/train/cat", "data/val/cat", "other/train/cat"):
        (tmp_path / folder).mkdir(parents=True)
    argv = [
        "report",
        *(argument.format(tmp=tmp_path) for argument in arguments),
        "-o",
        str(tmp_path / "r.html"),
    ]
    assert _run(argv) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("visiondata: error: ") and expected in error, error
    assert not (tmp_path / "r.html").exists()


def test_output_folder_refused_before_reading(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["report", str(tmp_path / "nothing-here"), "-o", str(tmp_path)]) == 1
    assert "expected an HTML report to write" in capsys.readouterr().err
