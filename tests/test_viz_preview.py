"""``visiondata.viz.draw_boxes``, ``save_grid`` and the ``visiondata preview`` command, on real files."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import tv_tensors

from visiondata.cli import main
from visiondata.exceptions import InvalidBoxesError
from visiondata.transforms import BoxPipeline
from visiondata.viz import draw_boxes, save_grid

RED = [255, 0, 0]
BOX = [5.0, 4.0, 15.0, 12.0]  # x0, y0, x1, y1 on a 20 x 30 image (height x width)


def black(height: int = 20, width: int = 30) -> torch.Tensor:
    return torch.zeros(3, height, width, dtype=torch.uint8)


def drawn_extent(image: torch.Tensor, background: torch.Tensor) -> tuple[list[int], list[int]]:
    """The first and last row, and first and last column, of the pixels that differ from ``background``."""
    rows, cols = torch.nonzero((image != background).any(0), as_tuple=True)
    return [int(rows.min()), int(rows.max())], [int(cols.min()), int(cols.max())]


# ---------------------------------------------------------------- draw_boxes


def test_draw_boxes_draws_the_edges_and_leaves_the_rest() -> None:
    image = black()
    out = draw_boxes(image, torch.tensor([BOX]), width=1)
    assert out.dtype == torch.uint8 and out.shape == (3, 20, 30)
    assert torch.equal(image, black())  # the input is not drawn on
    for row, col in [(4, 5), (4, 10), (12, 10), (8, 5), (8, 15), (12, 15)]:  # on the four edges
        assert out[:, row, col].tolist() == RED, (row, col)
    for row, col in [(8, 10), (5, 6), (11, 14), (3, 5), (13, 15), (8, 4), (8, 16), (0, 0)]:  # inside, outside
        assert out[:, row, col].tolist() == [0, 0, 0], (row, col)
    assert drawn_extent(out, image) == ([4, 12], [5, 15])


def test_draw_boxes_width_grows_inwards() -> None:
    thin = draw_boxes(black(), torch.tensor([BOX]), width=1)
    thick = draw_boxes(black(), torch.tensor([BOX]), width=2)
    assert thin[:, 5, 6].tolist() == [0, 0, 0] and thick[:, 5, 6].tolist() == RED
    assert thick[:, 8, 10].tolist() == [0, 0, 0]
    assert drawn_extent(thick, black()) == ([4, 12], [5, 15])


def test_draw_boxes_shows_float_images_in_0_1_scaled_by_255() -> None:
    image = torch.full((3, 20, 30), 0.5)
    image[:, :, 20:] = 1.0
    out = draw_boxes(image, torch.tensor([BOX]), width=1)
    assert out.dtype == torch.uint8
    assert out[:, 8, 10].tolist() == [128] * 3  # round(127.5) inside the box
    assert out[:, 0, 25].tolist() == [255] * 3
    assert out[:, 4, 5].tolist() == RED


def test_draw_boxes_stretches_normalised_images_from_min_to_max() -> None:
    image = torch.full((3, 20, 30), -1.0)
    image[:, :, 20:] = 3.0
    image[:, 8, 10] = 0.0  # (0 - -1) / 4 * 255 = 63.75
    out = draw_boxes(image, torch.tensor([BOX]), width=1)
    assert out[:, 0, 0].tolist() == [0] * 3 and out[:, 0, 25].tolist() == [255] * 3
    assert out[:, 8, 10].tolist() == [64] * 3
    assert out[:, 4, 5].tolist() == RED


def test_draw_boxes_takes_hwc_numpy_and_greyscale_images() -> None:
    hwc = np.zeros((20, 30, 3), dtype=np.uint8)
    hwc[..., 1] = 50
    out = draw_boxes(hwc, np.array([BOX]), width=1)
    assert out.shape == (3, 20, 30) and out[:, 8, 10].tolist() == [0, 50, 0]
    assert out[:, 4, 5].tolist() == RED
    grey = torch.full((1, 20, 30), 77, dtype=torch.uint8)
    out = draw_boxes(grey, torch.tensor([BOX]), width=1)
    assert out.shape == (3, 20, 30) and out[:, 8, 10].tolist() == [77] * 3
    assert out[:, 4, 5].tolist() == RED


def test_draw_boxes_reads_xywh_bounding_boxes_and_normalised_formats() -> None:
    expected = draw_boxes(black(20, 40), torch.tensor([BOX]), width=1)
    xywh = tv_tensors.BoundingBoxes(
        torch.tensor([[5.0, 4.0, 10.0, 8.0]]), format="XYWH", canvas_size=(20, 40)
    )
    assert torch.equal(draw_boxes(black(20, 40), xywh, width=1), expected)
    # Centre (0.25 * 40, 0.4 * 20) = (10, 8), size (0.25 * 40, 0.4 * 20) = (10, 8): the same box.
    cxcywhn = [[0.25, 0.4, 0.25, 0.4]]
    assert torch.equal(draw_boxes(black(20, 40), cxcywhn, box_format="cxcywhn", width=1), expected)
    with pytest.raises(ValueError, match="box_format"):
        draw_boxes(black(), [BOX], box_format="yxyx")


def test_draw_boxes_labels_colour_and_name_the_boxes() -> None:
    image = black(40, 60)
    boxes = torch.tensor([[2.0, 2.0, 28.0, 30.0], [31.0, 2.0, 58.0, 30.0]])
    same = draw_boxes(image, boxes, labels=[1, 1], width=1)
    assert same[:, 30, 2].tolist() == same[:, 30, 31].tolist() != RED  # one colour per class
    different = draw_boxes(image, boxes, labels=torch.tensor([1, 2]), width=1)
    assert different[:, 30, 2].tolist() != different[:, 30, 31].tolist()
    by_id = draw_boxes(image, boxes, labels=[1, 2], width=1)
    named = draw_boxes(image, boxes, labels=[1, 2], class_names=["bg", "cat", "dog"], width=1)
    from_dict = draw_boxes(image, boxes, labels=[1, 2], class_names={1: "cat", 2: "dog"}, width=1)
    assert torch.equal(named, from_dict)
    assert not torch.equal(named, by_id)  # "cat" and "dog" written instead of "1" and "2"
    # The colours do not depend on the names, only the text in the boxes' top-left corners.
    assert torch.equal(named[:, 30, :], by_id[:, 30, :])
    # Ids without a name are written as numbers.
    assert torch.equal(draw_boxes(image, boxes, labels=[1, 2], class_names=["bg"], width=1), by_id)
    assert torch.equal(draw_boxes(image, boxes, labels=[1, 2], class_names={7: "x"}, width=1), by_id)


def test_draw_boxes_without_boxes_returns_the_image() -> None:
    image = torch.randint(0, 256, (3, 20, 30), dtype=torch.uint8)
    for empty in (torch.zeros(0, 4), [], np.zeros((0, 4))):
        assert torch.equal(draw_boxes(image, empty), image)
    assert torch.equal(draw_boxes(image, torch.zeros(0, 4), labels=[]), image)


def test_draw_boxes_labels_length_mismatch_raises() -> None:
    with pytest.raises(InvalidBoxesError) as error:
        draw_boxes(black(), torch.tensor([BOX, BOX]), labels=[1])
    assert str(error.value) == (
        "labels: expected one row per box (2 boxes), got 1; boxes and labels must describe the same objects in the "
        "same order: fix the annotation (or the step that changed one without the other)"
    )


# ---------------------------------------------------------------- save_grid


def read_png(path: Path) -> torch.Tensor:
    with Image.open(path) as picture:
        assert picture.format == "PNG"
        return torch.from_numpy(np.asarray(picture.convert("RGB")).copy()).permute(2, 0, 1)


def test_save_grid_pads_images_to_the_largest_and_lays_out_the_grid(tmp_path: Path) -> None:
    first = torch.full((3, 10, 20), 100, dtype=torch.uint8)
    second = torch.full((3, 16, 12), 150, dtype=torch.uint8)
    third = torch.full((3, 8, 8), 200, dtype=torch.uint8)
    path = save_grid([first, second, third], tmp_path / "sub" / "grid.png", ncols=2, padding=4)
    assert path == tmp_path / "sub" / "grid.png"
    grid = read_png(path)
    # Cells of 16 x 20 (the largest height and width); 2 columns, 2 rows, 4 px between and around.
    assert grid.shape == (3, 2 * (16 + 4) + 4, 2 * (20 + 4) + 4) == (3, 44, 52)
    assert grid[:, 0, 0].tolist() == [255] * 3 and grid[:, 21, 30].tolist() == [255] * 3  # the padding
    assert grid[:, 4 + 5, 4 + 10].tolist() == [100] * 3  # first cell at (4, 4)
    assert grid[:, 4 + 12, 4 + 10].tolist() == [0] * 3  # below the 10 rows of the first image
    assert grid[:, 4 + 15, 28 + 11].tolist() == [150] * 3  # second cell at (4, 28)
    assert grid[:, 4 + 8, 28 + 15].tolist() == [0] * 3  # right of its 12 columns
    assert grid[:, 24 + 7, 4 + 7].tolist() == [200] * 3  # third cell at (24, 4)
    assert grid[:, 24 + 5, 28 + 5].tolist() == [255] * 3  # no fourth image: padding colour


def test_save_grid_ncols_and_padding_set_the_size(tmp_path: Path) -> None:
    images = [torch.zeros(3, 12, 10, dtype=torch.uint8) for _ in range(5)]
    assert read_png(save_grid(images, tmp_path / "a.png", ncols=3, padding=2)).shape == (
        3,
        2 * 14 + 2,
        3 * 12 + 2,
    )
    assert read_png(save_grid(images, tmp_path / "b.png", ncols=8, padding=0)).shape == (3, 12, 5 * 10)
    # make_grid returns a single image as it is, without padding.
    assert read_png(save_grid(images[:1], tmp_path / "c.png")).shape == (3, 12, 10)


@pytest.mark.parametrize("name", ["grid.jpg", "grid.JPEG"])
def test_save_grid_writes_jpeg_for_jpeg_names(tmp_path: Path, name: str) -> None:
    path = save_grid([black(), black()], tmp_path / name, ncols=2)
    assert path.read_bytes()[:3] == b"\xff\xd8\xff"
    with Image.open(path) as picture:
        assert picture.format == "JPEG" and picture.size == (2 * 34 + 4, 24 + 4)


def test_save_grid_accepts_pairs_dicts_classification_pairs_and_bare_images(tmp_path: Path) -> None:
    boxes = torch.tensor([BOX])
    samples: list[Any] = [
        (black(), {"boxes": boxes, "labels": torch.tensor([1])}),
        {"image": black(), "boxes": boxes, "labels": [1]},
        black(),
        (black(), {"labels": torch.tensor([1])}),  # a target without boxes is drawn as the bare image
    ]
    grid = read_png(save_grid(samples, tmp_path / "mixed.png", ncols=4, padding=2))
    assert grid.shape == (3, 20 + 4, 4 * 32 + 2)
    for cell, has_box in enumerate([True, True, False, False]):
        left = 2 + 32 * cell
        assert (grid[:, 2:22, left : left + 30] != 0).any() == has_box, cell
    # The detection pair and the dict draw the same box in the same colour.
    assert torch.equal(grid[:, 2:22, 2:32], grid[:, 2:22, 34:64])


def test_save_grid_draws_names_from_class_names(tmp_path: Path) -> None:
    sample = (black(40, 60), {"boxes": torch.tensor([[2.0, 2.0, 50.0, 30.0]]), "labels": torch.tensor([1])})
    plain = read_png(save_grid([sample], tmp_path / "ids.png"))
    named = read_png(save_grid([sample], tmp_path / "names.png", class_names=["bg", "person"]))
    assert not torch.equal(plain, named)
    expected = draw_boxes(sample[0], sample[1]["boxes"], sample[1]["labels"], ["bg", "person"])
    assert torch.equal(named, expected)


def test_save_grid_rejects_no_samples_and_bad_ncols(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one sample"):
        save_grid([], tmp_path / "empty.png")
    with pytest.raises(ValueError, match="ncols"):
        save_grid([black()], tmp_path / "zero.png", ncols=0)
    assert not (tmp_path / "empty.png").exists() and not (tmp_path / "zero.png").exists()


# ---------------------------------------------------------------- visiondata preview

# Three 48 x 48 images with two boxes each: one in the top-left 32 x 32 corner, one outside it.
INSIDE = [(2, 2, 20, 20), (4, 6, 30, 28), (10, 10, 24, 30)]
OUTSIDE = [(36, 36, 46, 46), (34, 2, 46, 12), (2, 36, 14, 46)]


@pytest.fixture
def csv_dataset(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    (folder / "images").mkdir(parents=True)
    lines = ["image,x_min,y_min,x_max,y_max,label"]
    for number, (inside, outside) in enumerate(zip(INSIDE, OUTSIDE)):
        name = f"images/{number}.png"
        Image.new("RGB", (48, 48), (40 * number, 80, 120)).save(folder / name)
        lines.append(f"{name},{','.join(map(str, inside))},cat")
        lines.append(f"{name},{','.join(map(str, outside))},dog")
    path = folder / "boxes.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def crop_pipeline(tmp_path: Path) -> Path:
    """A fixed crop to the top-left 32 x 32: each image keeps its first box and drops its second."""
    return BoxPipeline([{"name": "Crop", "top": 0, "left": 0, "height": 32, "width": 32}]).save(
        tmp_path / "crop.yaml"
    )


def random_pipeline(tmp_path: Path, seed: int = 0) -> Path:
    spec = [{"name": "RandomCrop", "size": 24}, {"name": "HorizontalFlip", "p": 0.5}]
    return BoxPipeline(spec, seed=seed).save(tmp_path / "random.yaml")


def run_preview(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    status = main(["preview", *arguments])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_preview_writes_the_grid_and_counts_boxes_and_drops(
    csv_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "preview.png"
    arguments = [str(csv_dataset), "--pipeline", str(crop_pipeline(tmp_path)), "--out", str(out), "-n", "3"]
    status, stdout, stderr = run_preview(capsys, *arguments)
    assert status == 0 and stderr == ""
    assert stdout == f"wrote {out}: 3 samples, 3 boxes, 3 dropped (out_of_bounds 3)\n"
    # Three 32 x 32 crops in one row of the default 4 columns, 4 px of padding.
    assert read_png(out).shape == (3, 32 + 8, 3 * 36 + 4)


def test_preview_cycles_through_a_smaller_dataset(
    csv_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cycled.png"
    arguments = [str(csv_dataset), "--pipeline", str(crop_pipeline(tmp_path)), "--out", str(out)]
    status, stdout, _ = run_preview(capsys, *arguments, "-n", "7", "--ncols", "3")
    assert status == 0
    assert stdout == f"wrote {out}: 7 samples, 7 boxes, 7 dropped (out_of_bounds 7)\n"
    grid = read_png(out)
    assert grid.shape == (3, 3 * 36 + 4, 3 * 36 + 4)
    # Sample 3 is image 0 again (same crop, same box): the first cell of the second row equals the first.
    assert torch.equal(grid[:, 4:36, 4:36], grid[:, 40:72, 4:36])
    assert not torch.equal(grid[:, 4:36, 4:36], grid[:, 4:36, 40:72])


def test_preview_without_pipeline_counts_the_dataset_boxes(
    csv_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "raw.jpg"
    status, stdout, _ = run_preview(capsys, str(csv_dataset), "--out", str(out), "-n", "4")
    assert status == 0
    assert stdout == f"wrote {out}: 4 samples, 8 boxes, 0 dropped\n"
    with Image.open(out) as picture:
        assert picture.format == "JPEG" and picture.size == (4 * 52 + 4, 48 + 8)


def test_preview_seed_overrides_the_spec(
    csv_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = random_pipeline(tmp_path, seed=0)

    def png(name: str, *seed: str) -> bytes:
        out = tmp_path / name
        status, stdout, _ = run_preview(
            capsys, str(csv_dataset), "--pipeline", str(spec), "--out", str(out), *seed
        )
        assert status == 0 and re.fullmatch(
            rf"wrote {re.escape(str(out))}: 16 samples, \d+ boxes, \d+ dropped.*\n", stdout
        )
        return out.read_bytes()

    spec_seed = png("spec.png")
    assert png("spec-again.png") == spec_seed
    assert png("zero.png", "--seed", "0") == spec_seed  # the spec's own seed
    five = png("five.png", "--seed", "5")
    assert five != spec_seed
    assert png("five-again.png", "--seed", "5") == five
    assert png("six.png", "--seed", "6") != five


def test_preview_on_a_class_folder_tree(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tree = tmp_path / "tree"
    for name, color in [("cat", (200, 0, 0)), ("dog", (0, 200, 0))]:
        (tree / name).mkdir(parents=True)
        Image.new("RGB", (40, 30), color).save(tree / name / "a.png")
    out = tmp_path / "classes.png"
    status, stdout, _ = run_preview(capsys, str(tree), "--out", str(out), "-n", "2", "--ncols", "2")
    assert status == 0 and stdout == f"wrote {out}: 2 samples, 0 boxes, 0 dropped\n"
    grid = read_png(out)
    # Each 40 x 30 image enlarged 4 times (to at least 96 pixels), its class name at the top left.
    assert grid.shape == (3, 4 * 30 + 8, 2 * (4 * 40 + 4) + 4)
    assert grid[:, 60, 60].tolist() == [200, 0, 0] and grid[:, 60, 4 + 164 + 60].tolist() == [0, 200, 0]
    # With a pipeline the images are transformed on their own.
    spec = BoxPipeline([{"name": "Crop", "top": 0, "left": 0, "height": 20, "width": 24}]).save(
        tmp_path / "c.yaml"
    )
    status, stdout, _ = run_preview(capsys, str(tree), "--pipeline", str(spec), "--out", str(out), "-n", "3")
    assert status == 0 and stdout == f"wrote {out}: 3 samples, 0 boxes, 0 dropped\n"
    assert read_png(out).shape == (3, 5 * 20 + 8, 3 * (5 * 24 + 4) + 4)  # 24 x 20 crops, enlarged 5 times


def test_preview_unknown_dataset_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, stdout, stderr = run_preview(capsys, "no-such-dataset", "--out", str(tmp_path / "x.png"))
    assert status == 1 and stdout == ""
    assert stderr.startswith("visiondata: error: ") and "no-such-dataset" in stderr
    assert not (tmp_path / "x.png").exists()


def test_preview_invalid_pipeline_file_is_a_clear_error(
    csv_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text("transforms: [{name: Flipp}]\n")
    status, _, stderr = run_preview(
        capsys, str(csv_dataset), "--pipeline", str(spec), "--out", str(tmp_path / "x.png")
    )
    assert status == 1 and stderr.startswith("visiondata: error: ") and "Flipp" in stderr


def test_preview_missing_pipeline_file_is_a_clear_error(
    csv_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.yaml"
    status, _, stderr = run_preview(
        capsys, str(csv_dataset), "--pipeline", str(missing), "--out", str(tmp_path / "x.png")
    )
    assert status == 1
    assert stderr.startswith("visiondata: error: ") and "missing.yaml" in stderr


def test_preview_rejects_a_count_below_one(
    csv_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Refused by the parser (issue 18): exit status 2 with the usage, like every other bad argument.
    with pytest.raises(SystemExit) as caught:
        main(["preview", str(csv_dataset), "-n", "0", "--out", str(tmp_path / "x.png")])
    assert caught.value.code == 2
    assert "-n/--count: expected an int in 1..1024, got 0" in capsys.readouterr().err
