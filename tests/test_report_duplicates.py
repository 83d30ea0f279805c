"""Exact and near duplicates (``visiondata.report._duplicates``) on real JPEG photos, and the sub-quadratic pair search.

The photos are scikit-learn's two sample photos (installed with it) and crops of them: a re-encoded
and resized copy of a photo must be a near duplicate, another photo must not.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from fixture_files import write_distinct_photos
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from visiondata.report._duplicates import (
    DEFAULT_THRESHOLD,
    DuplicateGroup,
    _near_pairs,
    find_duplicates,
    hamming,
    hash_file,
    near_pairs,
    perceptual_hash,
)


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Six different pictures (two photos, their halves), a near copy of one, and damaged files."""
    folder = tmp_path_factory.mktemp("photos")
    paths = write_distinct_photos(folder)
    with Image.open(paths["china"]) as image:  # re-encoded at quality 60 and 10% smaller
        image.resize((576, 384), Image.LANCZOS).save(folder / "china_near.jpg", quality=60)
    paths["china_near"] = folder / "china_near.jpg"
    paths["truncated"] = folder / "truncated.jpg"
    paths["truncated"].write_bytes(paths["flower"].read_bytes()[:2000])
    paths["garbage"] = folder / "garbage.jpg"
    paths["garbage"].write_bytes(b"this is not an image at all" * 10)
    return paths


def distance(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def test_the_hash_finds_the_same_picture_and_tells_different_ones_apart(photos: dict[str, Path]) -> None:
    hashes = {
        name: hash_file(path)[1] for name, path in photos.items() if name not in ("truncated", "garbage")
    }
    assert all(0 <= value < 2**64 for value in hashes.values())
    assert distance(hashes["china"], hashes["china_near"]) <= DEFAULT_THRESHOLD
    different = [name for name in hashes if name not in ("china", "china_near")]
    for name in different:  # unrelated pictures differ in about half the bits
        assert distance(hashes["china"], hashes[name]) > 3 * DEFAULT_THRESHOLD, name
    # The file's hash (grey, reduced-scale decode) matches the hash of the full-size RGB pixels.
    with Image.open(photos["china"]) as image:
        rgb = np.asarray(image.convert("RGB"))
    assert distance(perceptual_hash(rgb), hashes["china"]) <= 3
    # Layouts: HWC numpy, CHW numpy, CHW tensor, grey; all the same picture.
    chw = np.ascontiguousarray(rgb.transpose(2, 0, 1))
    assert perceptual_hash(chw) == perceptual_hash(rgb) == perceptual_hash(torch.from_numpy(chw))
    assert distance(perceptual_hash(rgb @ np.array([0.299, 0.587, 0.114])), perceptual_hash(rgb)) == 0


def test_hash_file_hashes_the_bytes_and_refuses_unreadable_files(photos: dict[str, Path]) -> None:
    import hashlib

    digest, _ = hash_file(photos["flower"])
    assert digest == hashlib.sha256(photos["flower"].read_bytes()).hexdigest()
    for name in ("truncated", "garbage"):
        with pytest.raises(OSError, match=name):  # named after the file, not "<bytes>"
            hash_file(photos[name])


def test_uniform_images_hash_to_zero_and_bad_arrays_are_refused() -> None:
    assert perceptual_hash(np.zeros((5, 7, 3), np.uint8)) == 0
    assert perceptual_hash(np.full((64, 48), 200, np.uint8)) == 0
    with pytest.raises(ValueError, match="expected an image of shape"):
        perceptual_hash(np.zeros((2, 3, 4, 5)))
    with pytest.raises(ValueError, match="got shape"):
        perceptual_hash(np.zeros((0, 4)))


def test_copies_across_splits_near_copies_and_unreadable_files(
    photos: dict[str, Path], tmp_path: Path
) -> None:
    copy = tmp_path / "copy_of_flower.jpg"
    shutil.copy(photos["flower"], copy)
    within = tmp_path / "second_flower_top.jpg"
    shutil.copy(photos["flower_top"], within)
    splits = {
        "train": [photos["flower"], photos["china"], photos["flower_top"], within, photos["truncated"]],
        "val": [copy, photos["china_near"], photos["china_left"], photos["garbage"]],
    }
    report = find_duplicates(splits, workers=2)
    assert report.threshold == DEFAULT_THRESHOLD
    assert report.files == 7
    assert [(split, Path(path).name) for split, path, _ in report.unreadable] == [
        ("train", "truncated.jpg"),
        ("val", "garbage.jpg"),
    ]
    assert all(cause for _, _, cause in report.unreadable)
    exact = {tuple(Path(path).name for _, path in group.members): group for group in report.exact}
    assert set(exact) == {("flower.jpg", "copy_of_flower.jpg"), ("flower_top.jpg", "second_flower_top.jpg")}
    assert exact["flower.jpg", "copy_of_flower.jpg"].splits == ["train", "val"]
    assert exact["flower.jpg", "copy_of_flower.jpg"].across_splits
    assert not exact["flower_top.jpg", "second_flower_top.jpg"].across_splits
    # The re-encoded, resized copy is the one near group; copies of one file never make a near group.
    assert len(report.near) == 1
    near = report.near[0]
    assert near.kind == "near" and near.members == [
        ("train", str(photos["china"])),
        ("val", str(photos["china_near"])),
    ]
    assert 0 < near.distance <= DEFAULT_THRESHOLD and near.across_splits
    data = json.loads(json.dumps(report.as_dict()))
    assert data["counts"] == {
        "exact_groups": 2,
        "exact_within_split": 1,
        "exact_across_splits": 1,
        "near_groups": 1,
        "near_within_split": 0,
        "near_across_splits": 1,
        "unreadable": 2,
    }
    assert data["near"][0]["members"][1] == {"split": "val", "path": str(photos["china_near"])}
    assert data["unreadable"][0]["split"] == "train"
    # Threads or not, the same report.
    assert find_duplicates(splits).as_dict() == report.as_dict()


def test_a_near_group_keeps_exact_copies_and_a_threshold_of_zero_finds_none(
    photos: dict[str, Path], tmp_path: Path
) -> None:
    copy = tmp_path / "copy.jpg"
    shutil.copy(photos["china"], copy)
    report = find_duplicates({"a": [photos["china"], copy], "b": [photos["china_near"]]})
    assert [group.members for group in report.exact] == [[("a", str(photos["china"])), ("a", str(copy))]]
    assert [len(group.members) for group in report.near] == [3]
    assert report.near[0].splits == ["a", "b"]
    assert find_duplicates({"a": [photos["china"]], "b": [photos["china_near"]]}, threshold=0).near == []
    assert find_duplicates({}).files == 0
    with pytest.raises(ValueError, match="threshold: expected a whole number of bits from 0 to 32"):
        find_duplicates({"a": [photos["china"]]}, threshold=40)
    with pytest.raises(ValueError, match="workers"):
        find_duplicates({"a": [photos["china"]]}, workers=-1)


def test_group_properties() -> None:
    group = DuplicateGroup("exact", [("train", "a"), ("train", "b"), ("val", "c"), ("train", "d")])
    assert group.splits == ["train", "val"] and group.across_splits
    assert not DuplicateGroup("near", [("val", "a"), ("val", "b")], 3).across_splits


def brute_force(hashes: np.ndarray, threshold: int) -> np.ndarray:
    distances = hamming(hashes[:, None], hashes[None, :])
    first, second = np.nonzero(np.triu(distances <= threshold, 1))
    return np.stack([first, second], axis=1).astype(np.int64)


@st.composite
def clustered_hashes(draw: st.DrawFn) -> np.ndarray:
    """Random 64-bit hashes plus clusters around some of them (a few flipped bits) and exact repeats."""
    words = st.integers(0, 2**64 - 1)
    centres = draw(st.lists(words, min_size=1, max_size=12))
    values = list(centres)
    for centre in centres:
        for flips in draw(st.lists(st.lists(st.integers(0, 63), max_size=9), max_size=5)):
            value = centre
            for bit in flips:
                value ^= 1 << bit
            values.append(value)
    values += draw(st.lists(words, max_size=30))
    order = draw(st.permutations(range(len(values))))
    return np.array([values[index] for index in order], dtype=np.uint64)


@settings(max_examples=150, deadline=None)
@given(hashes=clustered_hashes(), threshold=st.integers(0, 12))
def test_near_pairs_equals_brute_force(hashes: np.ndarray, threshold: int) -> None:
    assert np.array_equal(near_pairs(hashes, threshold), brute_force(hashes, threshold))


def test_near_pairs_scales_without_comparing_every_pair() -> None:
    rng = np.random.default_rng(7)
    hashes = rng.integers(0, 2**64 - 1, size=50_000, dtype=np.uint64, endpoint=True)
    centres = hashes[:100]
    hashes[-100:] = centres ^ (
        np.uint64(1) << rng.integers(0, 64, 100).astype(np.uint64)
    )  # 100 planted pairs
    pairs, candidates = _near_pairs(hashes, DEFAULT_THRESHOLD)
    planted = {(index, len(hashes) - 100 + index) for index in range(100)}
    assert planted <= set(map(tuple, pairs.tolist()))
    assert candidates < len(hashes) ** 2 / 2 / 50  # a small fraction of all pairs is ever compared
    # A thousand copies of one hash: every pair listed, none compared bit by bit.
    repeated = np.zeros(1000, np.uint64)
    pairs, candidates = _near_pairs(repeated, DEFAULT_THRESHOLD)
    assert len(pairs) == 1000 * 999 // 2 and candidates == 0
