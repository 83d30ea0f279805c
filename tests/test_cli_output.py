"""What the command line prints besides its results: warnings as one line each, and nothing when the reader
of its output goes away (``visiondata datasets list | head``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PIL import Image


def run_cli(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "visiondata", *arguments], capture_output=True, text=True, timeout=120
    )


def test_a_warning_is_one_line_without_the_source_file_and_line(tmp_path: Path) -> None:
    for name in ("cats/1.png", ".thumbnails/2.png"):  # a hidden folder: skipped, with a warning
        (tmp_path / "photos" / name).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 8)).save(tmp_path / "photos" / name)
    result = run_cli("export", str(tmp_path / "photos"), str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"visiondata: warning: {tmp_path / 'photos'}: skipped 1 hidden entries: .thumbnails"
    ]


def test_output_to_a_reader_that_went_away_ends_quietly() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "visiondata", "datasets", "list"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # as `| head` does once it has its lines: every write now fails
    errors = process.stderr.read().decode()
    assert process.wait(timeout=120) == 141, errors  # 128 + SIGPIPE, as the shell reports other programs
    assert errors == ""


def test_preview_of_a_folder_enlarges_small_images_and_names_their_class(tmp_path: Path) -> None:
    import numpy as np

    from visiondata.cli import main

    for name in ("cats/1.png", "dogs/2.png"):
        (tmp_path / "photos" / name).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (40, 30), (0, 128, 0)).save(tmp_path / "photos" / name)
    out = tmp_path / "preview.png"
    assert main(["preview", str(tmp_path / "photos"), "--out", str(out), "-n", "2", "--ncols", "2"]) == 0
    grid = np.asarray(Image.open(out))
    assert grid.shape[0] >= 4 * 30 + 8  # 30 rows enlarged to at least 96 (4x), with the grid's padding
    tiles = [grid[4 : 4 + 120, 4 + column * 164 : 4 + column * 164 + 160] for column in (0, 1)]
    for tile in tiles:
        band = tile[:12, :40]
        assert (band.max(axis=2) < 30).any() and (band.min(axis=2) > 225).any()  # white text on black
        assert (tile[60:, :] == (0, 128, 0)).all()  # the image itself, only enlarged
    assert not np.array_equal(tiles[0][:12], tiles[1][:12])  # "cats" and "dogs"
