"""Decode for the output (issue 21): a JPEG decoded at a DCT scale the transform's plan allows.

The crops must be exactly today's (same parameters for the same seed), the pixels today's at
scale 1 and within 30 dB PSNR of them otherwise; other formats fall back to the exact path; a
switch turns it off; EXIF-rotated files are planned in the shown frame.
"""

from __future__ import annotations

import io
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.transforms import v2

from visiondata.datasets import CSVDataset, ImageFolderDataset
from visiondata.exceptions import ImageReadError
from visiondata.io import (
    DecodePlan,
    PlannedImage,
    plan_scale,
    read_image,
    read_planned,
    scaled_decode,
    set_scaled_decode,
)
from visiondata.transforms import presets

MEAN = torch.tensor(presets.IMAGENET_MEAN).view(3, 1, 1)
STD = torch.tensor(presets.IMAGENET_STD).view(3, 1, 1)


def _photo(size: tuple[int, int], which: int = 0) -> Image.Image:
    """One of scikit-learn's two sample photos (china.jpg, flower.jpg), resized to ``size`` (width, height)."""
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    return Image.fromarray(sklearn_datasets.load_sample_images().images[which]).resize(size, Image.LANCZOS)


@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A class folder with a 2 MP real photo (JPEG quality 90), as bench_pipeline.py makes them."""
    root = tmp_path_factory.mktemp("scaled")
    (root / "china").mkdir()
    _photo((1633, 1225)).save(root / "china" / "photo.jpg", quality=90)
    return root


def _psnr(ours: torch.Tensor, exact: torch.Tensor) -> float:
    """PSNR in dB of two normalised outputs, on the [0, 1] scale of the pixels."""
    error = float(((ours - exact) * STD).pow(2).mean())
    return math.inf if error == 0 else 10 * math.log10(1.0 / error)


def _today(image: torch.Tensor, seed: int, size: int = 224) -> torch.Tensor:
    """The exact path as the plain v2 pipeline runs it on a decoded image."""
    torch.manual_seed(seed)
    pipeline = v2.Compose(
        [
            v2.ToImage(),
            v2.RandomResizedCrop(size, antialias=True),
            v2.RandomHorizontalFlip(0.5),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(presets.IMAGENET_MEAN, presets.IMAGENET_STD),
        ]
    )
    return pipeline(image)


def _scales(path: Path, transform: object, seeds: range) -> dict[int, int]:
    """The decode scale of each seed's crop."""
    result = {}
    for seed in seeds:
        torch.manual_seed(seed)
        planned = read_planned(path, transform.decode_plan)  # type: ignore[attr-defined]
        result[seed] = planned.scale if isinstance(planned, PlannedImage) else 0
    return result


# ---------------------------------------------------------------- the plan: same crops as today
def test_plan_draws_the_crop_parameters_of_today() -> None:
    transform = presets.classification_train(224)
    crop = v2.RandomResizedCrop(224, antialias=True)
    image = torch.zeros(3, 1225, 1633, dtype=torch.uint8)
    for seed in range(50):
        torch.manual_seed(seed)
        plan = transform.decode_plan(1225, 1633)
        after_plan = torch.rand(1)  # the flip's draw comes next, as today
        torch.manual_seed(seed)
        today = crop.make_params([image])
        after_today = torch.rand(1)
        assert (plan.top, plan.left, plan.height, plan.width) == (
            today["top"],
            today["left"],
            today["height"],
            today["width"],
        )
        assert (plan.out_height, plan.out_width) == (224, 224)
        assert torch.equal(after_plan, after_today)


def test_dataset_output_equals_today_at_scale_one_and_within_30_db_when_scaled(photo_folder: Path) -> None:
    transform = presets.classification_train(224)
    dataset = ImageFolderDataset(photo_folder, transform=transform)
    path = Path(dataset.path(0))
    full = read_image(path)
    scales = _scales(path, transform, range(12))
    assert set(scales.values()) >= {1, 2}, scales  # both kinds of crop are covered
    for seed, scale in scales.items():
        torch.manual_seed(seed)
        ours = dataset[0][0]
        today = _today(full, seed)
        if scale == 1:
            assert torch.equal(ours, today), seed
        else:
            assert _psnr(ours, today) >= 30, (seed, scale, _psnr(ours, today))
            assert not torch.equal(ours, today)  # the scaled decode was used


def test_plan_scale_keeps_twice_the_output_per_side() -> None:
    plan = DecodePlan(0, 0, 1225, 1633, 224, 224)
    assert plan_scale(plan, 1225, 1633) == 2  # 613 >= 448, 307 < 448
    assert plan_scale(DecodePlan(0, 0, 1225, 1633, 100, 100), 1225, 1633) == 4
    assert plan_scale(DecodePlan(0, 0, 300, 300, 224, 224), 1225, 1633) == 1
    assert plan_scale(DecodePlan(0, 0, 300, 300, 224, 224), 1225, 1633, oversample=0.5) == 2


def test_read_planned_decodes_smaller_and_maps_the_region() -> None:
    buffer = io.BytesIO()
    _photo((1600, 1200)).save(buffer, "JPEG", quality=90)
    plan = DecodePlan(top=400, left=800, height=800, width=800, out_height=100, out_width=100)
    planned = read_planned(buffer.getvalue(), lambda height, width: plan)
    assert isinstance(planned, PlannedImage)
    assert planned.scale == 4 and tuple(planned.image.shape) == (3, 300, 400)
    assert planned.region == (100, 200, 200, 200)
    assert planned.full_size == (1200, 1600)


# ---------------------------------------------------------------- fallback: other formats decode as today
def test_png_falls_back_to_the_exact_path(tmp_path: Path) -> None:
    (tmp_path / "c").mkdir()
    _photo((900, 700)).save(tmp_path / "c" / "a.png")
    transform = presets.classification_train(112)
    assert isinstance(read_planned(tmp_path / "c" / "a.png", transform.decode_plan), torch.Tensor)
    dataset = ImageFolderDataset(tmp_path, transform=transform)
    full = read_image(tmp_path / "c" / "a.png")
    for seed in range(5):
        torch.manual_seed(seed)
        assert torch.equal(dataset[0][0], _today(full, seed, 112))


# ---------------------------------------------------------------- the switch
def test_dataset_keyword_and_global_switch_turn_it_off(photo_folder: Path) -> None:
    transform = presets.classification_train(224)
    path = Path(ImageFolderDataset(photo_folder).path(0))
    scaled_seed = next(seed for seed, scale in _scales(path, transform, range(20)).items() if scale > 1)
    today = _today(read_image(path), scaled_seed)

    def first(dataset: ImageFolderDataset) -> torch.Tensor:
        torch.manual_seed(scaled_seed)
        return dataset[0][0]

    assert not torch.equal(first(ImageFolderDataset(photo_folder, transform=transform)), today)
    assert torch.equal(
        first(ImageFolderDataset(photo_folder, transform=transform, scaled_decode=False)), today
    )
    previous = set_scaled_decode(False)
    try:
        assert scaled_decode() is False
        assert torch.equal(first(ImageFolderDataset(photo_folder, transform=transform)), today)
        # The dataset's own True wins over the process-wide setting.
        forced = ImageFolderDataset(photo_folder, transform=transform, scaled_decode=True)
        assert not torch.equal(first(forced), today)
    finally:
        set_scaled_decode(previous)


def test_csv_dataset_takes_the_plan_and_the_keyword(photo_folder: Path, tmp_path: Path) -> None:
    table = tmp_path / "labels.csv"
    table.write_text(f"image,label\n{photo_folder / 'china' / 'photo.jpg'},china\n")
    transform = presets.classification_train(224)
    path = photo_folder / "china" / "photo.jpg"
    seed = next(seed for seed, scale in _scales(path, transform, range(20)).items() if scale > 1)
    today = _today(read_image(path), seed)
    for keyword, equal in ((None, False), (False, True)):
        dataset = CSVDataset(
            table, tmp_path, transform=transform, allow_outside_root=True, scaled_decode=keyword
        )
        torch.manual_seed(seed)
        ours = dataset[0][0]
        assert torch.equal(ours, today) is equal
        assert _psnr(ours, today) >= 30


def test_scaled_decode_keyword_is_checked(photo_folder: Path) -> None:
    with pytest.raises(TypeError, match="scaled_decode: expected True, False or None, got 'yes'"):
        ImageFolderDataset(photo_folder, transform=presets.classification_train(), scaled_decode="yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="offers a decode plan"):
        ImageFolderDataset(photo_folder, transform=v2.RandomResizedCrop(224), scaled_decode=True)
    with pytest.raises(TypeError, match="enabled"):
        set_scaled_decode("no")  # type: ignore[arg-type]


def test_environment_variable_turns_it_off_in_a_new_process() -> None:
    code = "from visiondata.io import scaled_decode; print(scaled_decode())"
    env = {**os.environ, "VISIONDATA_SCALED_DECODE": "0"}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.stdout.strip() == "False", result.stderr


def test_custom_loader_is_never_planned(photo_folder: Path) -> None:
    transform = presets.classification_train(224)
    path = Path(ImageFolderDataset(photo_folder).path(0))
    seed = next(seed for seed, scale in _scales(path, transform, range(20)).items() if scale > 1)
    dataset = ImageFolderDataset(photo_folder, transform=transform, loader=read_image)
    torch.manual_seed(seed)
    assert torch.equal(dataset[0][0], _today(read_image(path), seed))


# ---------------------------------------------------------------- EXIF orientation: planned in the shown frame
@pytest.mark.parametrize("orientation", [6, 3])
def test_exif_rotated_jpeg_is_planned_in_the_oriented_frame(tmp_path: Path, orientation: int) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation
    (tmp_path / "c").mkdir()
    path = tmp_path / "c" / "turned.jpg"
    _photo((1600, 1200)).save(path, quality=90, exif=exif.tobytes())
    full = read_image(path)  # shown frame
    shown = tuple(full.shape[-2:])
    assert shown == ((1600, 1200) if orientation == 6 else (1200, 1600))
    sizes = []
    transform = presets.classification_train(224)

    def planner(height: int, width: int) -> DecodePlan | None:
        sizes.append((height, width))
        return transform.decode_plan(height, width)

    planned = read_planned(path, planner)
    assert sizes == [shown] and planned.full_size == shown
    dataset = ImageFolderDataset(tmp_path, transform=transform)
    scales = _scales(path, transform, range(8))
    assert 2 in scales.values()
    for seed, scale in scales.items():
        torch.manual_seed(seed)
        ours = dataset[0][0]
        today = _today(full, seed)
        assert torch.equal(ours, today) if scale == 1 else _psnr(ours, today) >= 30, (seed, scale)


# ---------------------------------------------------------------- quality on a real photo
def test_psnr_of_scaled_crops_of_a_real_photo_is_at_least_30_db(tmp_path: Path) -> None:
    path = tmp_path / "flower.jpg"
    _photo((3266, 2450), which=1).save(path, quality=90)  # 8 MP, as the benchmark's largest photos
    transform = presets.classification_train(224)
    full = read_image(path)
    seen = set()
    for seed in range(12):
        torch.manual_seed(seed)
        planned = read_planned(path, transform.decode_plan)
        seen.add(planned.scale)
        ours = transform(planned)
        today = _today(full, seed)
        assert _psnr(ours, today) >= 30, (seed, planned.scale)
    assert seen - {1}, seen  # some crops decoded scaled


# ---------------------------------------------------------------- strict decoding and the bomb limit still apply
def test_strict_decoding_and_pixel_limit_apply_to_the_scaled_decode(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "c").mkdir()
    buffer = io.BytesIO()
    _photo((1600, 1200)).save(buffer, "JPEG", quality=90)
    (tmp_path / "c" / "cut.jpg").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) * 2 // 3])
    transform = presets.classification_train(112)
    dataset = ImageFolderDataset(tmp_path, transform=transform)
    with pytest.raises(ImageReadError, match="truncated file"):
        dataset[0]
    skipping = ImageFolderDataset(tmp_path, transform=transform, on_error="skip")
    with pytest.raises(ImageReadError, match="no readable image"):
        skipping[0]
    assert "truncated file" in skipping.errors[skipping.path(0)]
    (tmp_path / "c" / "cut.jpg").write_bytes(buffer.getvalue())
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(ImageReadError, match="decompression-bomb"):
        dataset[0]


# ---------------------------------------------------------------- evaluation preset
def test_evaluation_preset_is_exact_unless_asked(photo_folder: Path, tmp_path: Path) -> None:
    assert not hasattr(presets.classification_eval(), "decode_plan")
    path = Path(ImageFolderDataset(photo_folder).path(0))
    full = read_image(path)
    exact = presets.classification_eval()(full)
    default = ImageFolderDataset(photo_folder, transform=presets.classification_eval())
    assert torch.equal(default[0][0], exact)
    scaled = ImageFolderDataset(photo_folder, transform=presets.classification_eval(scaled_decode=True))
    planned = read_planned(path, scaled.transform.decode_plan)
    assert planned.scale == 2
    ours = scaled[0][0]
    assert ours.shape == exact.shape and not torch.equal(ours, exact)
    assert _psnr(ours, exact) >= 30
    # At scale 1 (a small photo) the planned path gives exactly the exact pixels.
    (tmp_path / "c").mkdir()
    _photo((500, 400)).save(tmp_path / "c" / "small.jpg", quality=90)
    small = ImageFolderDataset(tmp_path, transform=presets.classification_eval(scaled_decode=True))
    assert torch.equal(small[0][0], presets.classification_eval()(read_image(tmp_path / "c" / "small.jpg")))


# ---------------------------------------------------------------- DataLoader workers
def test_dataloader_with_two_workers_uses_the_plan(tmp_path: Path) -> None:
    for index in range(4):
        (tmp_path / f"c{index % 2}").mkdir(exist_ok=True)
        _photo((1633, 1225), which=index % 2).save(tmp_path / f"c{index % 2}" / f"{index}.jpg", quality=90)
    transform = presets.classification_train(224)

    def batches(keyword: bool | None) -> list[torch.Tensor]:
        dataset = ImageFolderDataset(tmp_path, transform=transform, scaled_decode=keyword)
        loader = torch.utils.data.DataLoader(
            dataset, batch_size=2, num_workers=2, generator=torch.Generator().manual_seed(0)
        )
        return [images for images, _ in loader]

    ours, exact = batches(None), batches(False)
    assert len(ours) == 2 and all(batch.shape == (2, 3, 224, 224) for batch in ours)
    pairs = [
        (a, b) for batch, other in zip(ours, exact, strict=True) for a, b in zip(batch, other, strict=True)
    ]
    assert all(_psnr(a, b) >= 30 for a, b in pairs)
    assert any(not torch.equal(a, b) for a, b in pairs)  # the workers decoded scaled


# ---------------------------------------------------------------- shards
def test_shard_dataset_uses_the_plan(photo_folder: Path, tmp_path: Path) -> None:
    pytest.importorskip("webdataset")
    from visiondata.shards import ShardDataset, write_shards

    write_shards(ImageFolderDataset(photo_folder), tmp_path / "out" / "train-%06d.tar")
    transform = presets.classification_train(224)
    path = Path(ImageFolderDataset(photo_folder).path(0))
    seed = next(seed for seed, scale in _scales(path, transform, range(20)).items() if scale > 1)
    today = _today(read_image(path), seed)
    shards = ShardDataset(tmp_path / "out", split="train", shuffle_buffer=0, transform=transform)
    torch.manual_seed(seed)
    (ours, label) = next(iter(shards))
    assert label == 0 and not torch.equal(ours, today) and _psnr(ours, today) >= 30
    shards.scaled_decode = False
    torch.manual_seed(seed)
    assert torch.equal(next(iter(shards))[0], today)


def test_pixels_of_a_scale_one_plan_equal_read_image(photo_folder: Path) -> None:
    path = Path(ImageFolderDataset(photo_folder).path(0))
    planned = read_planned(path, lambda height, width: DecodePlan(0, 0, height, width, height, width))
    assert planned.scale == 1 and torch.equal(planned.image, read_image(path))
    assert np.array_equal(planned.region, (0, 0, 1225, 1633))


# ---------------------------------------------------------------- the benchmark still runs
def test_scaled_decode_benchmark_runs(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_scaled_decode.py"
    arguments = [
        "--images",
        "2",
        "--rounds",
        "1",
        "--crops",
        "4",
        "--loader-rounds",
        "1",
        "--stage-rounds",
        "1",
    ]
    result = subprocess.run(
        [sys.executable, str(script), *arguments, "--folder", str(tmp_path / "photos")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("machine: ") and lines[2].startswith("1 round")
    assert "target >= 2.5x" in result.stdout and "target >= 5x" in result.stdout
    assert "crops per decode scale" in result.stdout and "the decode-only loop" in result.stdout
    # The per-stage table: one line per stage, a figure per photo size.
    assert "Where the time goes, CPU ms per image" in result.stdout
    stage = next(line for line in lines if line.strip().startswith("decode for the output (read_planned)"))
    assert all(float(value) > 0 for value in stage.split()[-2:])  # 0.4 MP and 2 MP
    floor = next(line for line in lines if line.strip().startswith("decode at 1/8"))
    assert all(float(value) > 0 for value in floor.split()[-2:])
    assert "0.4MP: the 2.5x target leaves" in result.stdout and "2MP: the 5x target leaves" in result.stdout
    assert lines[-1].startswith("finished ")
