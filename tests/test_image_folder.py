"""``ImageFolderDataset`` on real folder trees written into ``tmp_path``.

Every tree is made of real PNG/JPEG files written by PIL; torchvision's
``ImageFolder`` is run on the same trees where the contract is "same as
torchvision".
"""

from __future__ import annotations

import functools
import io
import os
import pickle
import shutil
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.datasets import ImageFolder
from torchvision.datasets.folder import make_dataset

import visiondata
from visiondata.datasets import ImageFileDataset, ImageFolderDataset
from visiondata.datasets._index import PathIndex
from visiondata.exceptions import (
    DatasetNotFoundError,
    DatasetValidationError,
    ImageReadError,
    SkippedSampleWarning,
)
from visiondata.io import read_image

# ---------------------------------------------------------------- helpers


def image_bytes(
    color: tuple[int, int, int] = (10, 20, 30), size: tuple[int, int] = (4, 3), fmt: str = "PNG"
) -> bytes:
    """Encoded bytes of a solid ``size`` (W, H) RGB image."""
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt)
    return buffer.getvalue()


def write_image(
    path: Path, color: tuple[int, int, int] = (10, 20, 30), size: tuple[int, int] = (4, 3)
) -> Path:
    """A real image file; the format follows the (case-insensitive) extension."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = "JPEG" if path.suffix.lower() in (".jpg", ".jpeg") else "PNG"
    path.write_bytes(image_bytes(color, size, fmt))
    return path


def write_images(root: Path, names: Iterable[str]) -> None:
    for number, name in enumerate(names):
        write_image(root / name, color=(number * 7 % 256, number * 13 % 256, number * 29 % 256))


def write_bad(path: Path, kind: str) -> Path:
    """A file that no reader can decode: ``truncated`` (half of a noisy image), ``empty`` or ``text``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind.startswith("truncated"):
        noisy = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(noisy).save(buffer, "JPEG" if path.suffix == ".jpg" else "PNG")
        data = buffer.getvalue()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("this is not an image, just text\n")
    else:  # pragma: no cover - a typo in a test
        raise AssertionError(kind)
    return path


def relative_samples(dataset: ImageFolderDataset) -> list[tuple[str, int]]:
    """``(path relative to root, class id)`` of every sample, from the public ``samples``."""
    return [(os.path.relpath(path, dataset.root), target) for path, target in dataset.samples]


def torchvision_relative(folder: ImageFolder, root: Path) -> list[tuple[str, int]]:
    return [(os.path.relpath(path, root), target) for path, target in folder.samples]


def quiet(root: Path, **options: object) -> ImageFolderDataset:
    """Build a dataset while failing on any warning (a tree without hidden entries warns about nothing)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return ImageFolderDataset(root, **options)  # type: ignore[arg-type]


def pixels(path: Path) -> torch.Tensor:
    """What PIL sees in ``path``, as a C x H x W uint8 RGB tensor."""
    with Image.open(path) as image:
        return torch.from_numpy(np.asarray(image.convert("RGB")).copy()).permute(2, 0, 1)


# ---------------------------------------------------------------- 1. same as torchvision

TRICKY_TREE = [
    "B/x.png",
    "a/b.Png",
    "a/Z.JPG",
    "a/sub/c.jpeg",
    "a/sub-2/d.png",
    "a/sub/deeper/e.png",
    "a_b/1.png",
    "a-b/2.jpg",
    "10/x.png",
    "9/y.PNG",
    "9/z.Jpeg",
]


def test_same_classes_ids_and_order_as_torchvision(tmp_path: Path) -> None:
    write_images(tmp_path, TRICKY_TREE)
    (tmp_path / "a" / "notes.txt").write_text("not an image")
    (tmp_path / "a" / "f.png.txt").write_text("not an image either")
    (tmp_path / "a" / "sub" / "labels.csv").write_text("x,y\n")
    (tmp_path / "readme.md").write_text("a file at the top is not a class")

    dataset = quiet(tmp_path)
    reference = ImageFolder(str(tmp_path))

    assert dataset.classes == ["10", "9", "B", "a", "a-b", "a_b"]
    assert dataset.classes == reference.classes
    assert dataset.class_to_idx == {"10": 0, "9": 1, "B": 2, "a": 3, "a-b": 4, "a_b": 5}
    assert dataset.class_to_idx == reference.class_to_idx
    # sorted walk of the folders ("sub" < "sub-2" < "sub/deeper"), then sorted file names.
    assert relative_samples(dataset) == [
        ("10/x.png", 0),
        ("9/y.PNG", 1),
        ("9/z.Jpeg", 1),
        ("B/x.png", 2),
        ("a/Z.JPG", 3),
        ("a/b.Png", 3),
        ("a/sub/c.jpeg", 3),
        ("a/sub-2/d.png", 3),
        ("a/sub/deeper/e.png", 3),
        ("a-b/2.jpg", 4),
        ("a_b/1.png", 5),
    ]
    assert relative_samples(dataset) == torchvision_relative(reference, tmp_path)
    assert list(dataset.samples) == reference.samples
    assert dataset.targets.tolist() == reference.targets
    assert dataset.hidden == []
    assert len(dataset) == len(reference) == 11


def test_folder_named_like_an_image_is_walked_not_taken_as_a_file(tmp_path: Path) -> None:
    # A sub-folder "album.jpg" holds images; torchvision walks into it and never lists the folder itself.
    write_images(tmp_path, ["cat/album.jpg/1.png", "cat/album.jpg/2.png", "cat/z.png", "dog/3.png"])
    dataset = quiet(tmp_path)
    reference = ImageFolder(str(tmp_path))
    assert torchvision_relative(reference, tmp_path) == [
        ("cat/z.png", 0),
        ("cat/album.jpg/1.png", 0),
        ("cat/album.jpg/2.png", 0),
        ("dog/3.png", 1),
    ]
    assert relative_samples(dataset) == torchvision_relative(reference, tmp_path)
    assert all(dataset[index][0].shape == (3, 3, 4) for index in range(len(dataset)))


def test_extensions_are_compared_case_insensitively(tmp_path: Path) -> None:
    write_images(tmp_path, ["cat/1.PNG", "cat/2.png", "cat/3.JpG", "dog/4.png"])
    dataset = quiet(tmp_path, extensions=(".PNG",))
    assert relative_samples(dataset) == [("cat/1.PNG", 0), ("cat/2.png", 0), ("dog/4.png", 1)]


# ---------------------------------------------------------------- 2. hidden entries


def make_tree_with_hidden(root: Path) -> None:
    write_images(
        root,
        [
            ".ipynb_checkpoints/nb-checkpoint.png",
            "cat/ok.png",
            "cat/.hidden.png",
            "cat/.ipynb_checkpoints/ok-checkpoint.png",
            "dog/ok.png",
        ],
    )
    (root / ".DS_Store").write_bytes(b"\0Bud1")
    (root / "cat" / ".DS_Store").write_bytes(b"\0Bud1")


HIDDEN = {
    ".ipynb_checkpoints",
    ".DS_Store",
    "cat/.hidden.png",
    "cat/.ipynb_checkpoints",
    "cat/.DS_Store",
}


def test_hidden_entries_are_neither_classes_nor_samples(tmp_path: Path) -> None:
    make_tree_with_hidden(tmp_path)
    with pytest.warns(UserWarning, match="skipped 5 hidden entries") as record:
        dataset = ImageFolderDataset(tmp_path)

    assert dataset.classes == ["cat", "dog"]
    assert dataset.class_to_idx == {"cat": 0, "dog": 1}
    assert relative_samples(dataset) == [("cat/ok.png", 0), ("dog/ok.png", 1)]
    assert set(dataset.hidden) == HIDDEN and len(dataset.hidden) == len(HIDDEN)
    message = " ".join(str(warning.message) for warning in record)
    for name in HIDDEN:
        assert name in message


def test_torchvision_makes_a_class_of_ipynb_checkpoints(tmp_path: Path) -> None:
    # Why hidden entries are skipped: torchvision turns them into a class and samples.
    make_tree_with_hidden(tmp_path)
    reference = ImageFolder(str(tmp_path))
    assert reference.classes == [".ipynb_checkpoints", "cat", "dog"]
    assert torchvision_relative(reference, tmp_path) == [
        (".ipynb_checkpoints/nb-checkpoint.png", 0),
        ("cat/.hidden.png", 1),
        ("cat/ok.png", 1),
        ("cat/.ipynb_checkpoints/ok-checkpoint.png", 1),
        ("dog/ok.png", 2),
    ]


# ---------------------------------------------------------------- 3. symbolic links


def test_symlinked_class_folders_are_followed(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    write_images(root, ["cat/1.png"])
    write_image(outside / "dogs" / "2.png", color=(200, 0, 0))
    write_image(outside / "dogs" / "nested" / "3.png", color=(0, 200, 0))
    os.symlink(outside / "dogs", root / "dog", target_is_directory=True)

    dataset = quiet(root)
    assert dataset.classes == ["cat", "dog"]
    assert relative_samples(dataset) == [("cat/1.png", 0), ("dog/2.png", 1), ("dog/nested/3.png", 1)]
    image, target = dataset[2]
    assert target == 1
    assert torch.equal(image, pixels(outside / "dogs" / "nested" / "3.png"))


def test_symlinked_sub_folders_inside_a_class_are_followed_like_torchvision(tmp_path: Path) -> None:
    # The class folder has no real sub-folder (link count 2), only a link to one: the fast
    # listing must still descend into it, as os.walk(followlinks=True) does.
    root, outside = tmp_path / "root", tmp_path / "outside"
    write_images(root, ["cat/1.png", "cat/z.png"])
    write_image(outside / "more" / "2.png", color=(0, 0, 200))
    os.symlink(outside / "more", root / "cat" / "more", target_is_directory=True)
    assert os.stat(root / "cat").st_nlink == 2
    dataset = quiet(root)
    assert relative_samples(dataset) == [("cat/1.png", 0), ("cat/z.png", 0), ("cat/more/2.png", 0)]
    assert [os.path.relpath(path, root) for path, _ in ImageFolder(str(root)).samples] == [
        "cat/1.png", "cat/z.png", "cat/more/2.png",
    ]  # fmt: skip


# ---------------------------------------------------------------- 4. empty classes, bad roots, class_to_idx


def test_empty_classes_are_named_unless_allowed(tmp_path: Path) -> None:
    write_images(tmp_path, ["cat/1.png"])
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no image here")
    (tmp_path / "void").mkdir()

    with pytest.raises(DatasetValidationError) as caught:
        ImageFolderDataset(tmp_path)
    message = str(caught.value)
    assert "class 'empty' has no file" in message and "class 'void' has no file" in message
    assert "'cat'" not in message
    assert "allow_empty=True" in message
    assert len(caught.value.problems) == 3
    assert isinstance(caught.value, ValueError)

    dataset = quiet(tmp_path, allow_empty=True)
    assert dataset.classes == ["cat", "empty", "void"]
    assert relative_samples(dataset) == [("cat/1.png", 0)]


def test_no_class_folder_at_all(tmp_path: Path) -> None:
    write_image(tmp_path / "loose.png")
    with pytest.raises(DatasetValidationError, match="found none"):
        ImageFolderDataset(tmp_path)


@pytest.mark.parametrize("kind", ["file", "nothing"])
def test_root_that_is_not_a_folder(tmp_path: Path, kind: str) -> None:
    root = tmp_path / "root"
    if kind == "file":
        write_image(root)
    with pytest.raises(
        DatasetNotFoundError, match=f"got {'a file' if kind == 'file' else 'nothing'}"
    ) as caught:
        ImageFolderDataset(root)
    assert str(root) in str(caught.value)
    assert isinstance(caught.value, FileNotFoundError)


def test_class_to_idx_given(tmp_path: Path) -> None:
    write_images(tmp_path, ["cat/1.png", "cat/2.png", "dog/3.png", "bird/4.png", "fish/5.png"])
    mapping = {"dog": 0, "cat": 7}
    with pytest.warns(UserWarning, match="folders not in class_to_idx are ignored: bird, fish"):
        dataset = ImageFolderDataset(tmp_path, class_to_idx=mapping)

    assert dataset.class_to_idx == {"dog": 0, "cat": 7}
    assert dataset.classes == ["dog", "cat"]  # in id order
    assert relative_samples(dataset) == [("cat/1.png", 7), ("cat/2.png", 7), ("dog/3.png", 0)]
    # torchvision's make_dataset with the same mapping gives the same samples.
    assert list(dataset.samples) == make_dataset(str(tmp_path), mapping, extensions=(".png",))
    assert dataset[0][1] == 7 and dataset[2][1] == 0


def test_class_to_idx_may_merge_folders_into_one_id(tmp_path: Path) -> None:
    write_images(tmp_path, ["cat/1.png", "kitten/2.png", "dog/3.png"])
    mapping = {"cat": 0, "kitten": 0, "dog": 1}
    dataset = quiet(tmp_path, class_to_idx=mapping)
    assert list(dataset.samples) == make_dataset(str(tmp_path), mapping, extensions=(".png",))
    assert relative_samples(dataset) == [("cat/1.png", 0), ("dog/3.png", 1), ("kitten/2.png", 0)]
    assert [dataset[index][1] for index in range(3)] == [0, 1, 0]


def test_class_to_idx_naming_a_missing_folder_is_an_empty_class(tmp_path: Path) -> None:
    write_images(tmp_path, ["cat/1.png"])
    with pytest.raises(DatasetValidationError, match="class 'dog' has no file"):
        ImageFolderDataset(tmp_path, class_to_idx={"cat": 0, "dog": 1})


# ---------------------------------------------------------------- 5. samples


def test_default_image_is_uint8_rgb_tensor_equal_to_pil(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    noisy = tmp_path / "cat" / "noise.png"
    noisy.parent.mkdir()
    Image.fromarray(rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)).save(noisy)
    grey = tmp_path / "dog" / "grey.png"
    grey.parent.mkdir()
    Image.fromarray(rng.integers(0, 256, (6, 2), dtype=np.uint8), mode="L").save(grey)

    dataset = quiet(tmp_path)
    image, target = dataset[0]
    assert (target, image.dtype, tuple(image.shape)) == (0, torch.uint8, (3, 5, 7))
    assert torch.equal(image, pixels(noisy))
    image, target = dataset[1]
    assert (target, tuple(image.shape)) == (1, (3, 6, 2))  # greyscale repeated to RGB
    assert torch.equal(image, pixels(grey))
    assert torch.equal(dataset[-1][0], image)


def test_transform_and_target_transform(tmp_path: Path) -> None:
    write_image(tmp_path / "cat" / "1.png", color=(255, 0, 51))
    write_image(tmp_path / "dog" / "2.png")
    dataset = quiet(
        tmp_path,
        transform=lambda image: image.float() / 255,
        target_transform=lambda target: f"class-{target}",
    )
    image, target = dataset[0]
    assert target == "class-0" and dataset[1][1] == "class-1"
    assert image.dtype == torch.float32
    assert image[:, 0, 0].tolist() == pytest.approx([1.0, 0.0, 0.2])


def test_pil_loader(tmp_path: Path) -> None:
    path = write_image(tmp_path / "cat" / "1.png", color=(1, 2, 3), size=(6, 4))
    dataset = quiet(tmp_path, loader=functools.partial(read_image, output="pil"))
    image, target = dataset[0]
    assert isinstance(image, Image.Image)
    assert (image.mode, image.size, target) == ("RGB", (6, 4), 0)
    assert image.getpixel((5, 3)) == (1, 2, 3)
    assert np.array_equal(np.asarray(image), pixels(path).permute(1, 2, 0).numpy())


def test_samples_targets_and_imgs(tmp_path: Path) -> None:
    write_images(tmp_path, ["cat/1.png", "cat/2.png", "dog/3.png"])
    dataset = quiet(tmp_path)

    assert dataset.samples[0] == (str(tmp_path / "cat" / "1.png"), 0)
    assert dataset.samples[2] == (str(tmp_path / "dog" / "3.png"), 1)
    assert dataset.samples[-1] == dataset.samples[2]
    assert len(dataset.samples) == 3
    assert dataset.path(1) == str(tmp_path / "cat" / "2.png")
    assert type(dataset.samples[0][1]) is int

    targets = dataset.targets
    assert isinstance(targets, np.ndarray) and np.issubdtype(targets.dtype, np.integer)
    assert targets.tolist() == [0, 0, 1]
    with pytest.raises(ValueError, match="read-only"):
        targets[0] = 1
    with pytest.raises(ValueError, match="read-only"):
        dataset.targets[:] = 5
    assert dataset.targets.tolist() == [0, 0, 1]

    assert type(dataset).imgs is type(dataset).samples
    assert list(dataset.imgs) == list(dataset.samples)


def test_importable_from_the_package() -> None:
    assert visiondata.ImageFolderDataset is ImageFolderDataset
    assert issubclass(ImageFolderDataset, ImageFileDataset)


def test_index_out_of_range(tmp_path: Path) -> None:
    write_images(tmp_path, ["cat/1.png"])
    dataset = quiet(tmp_path)
    with pytest.raises(IndexError):
        dataset[1]


# ---------------------------------------------------------------- 6. on_error


BAD_KINDS = ["truncated-png", "truncated-jpg", "empty", "text"]
BAD_REASONS = {
    "truncated-png": "truncated file",
    "truncated-jpg": "truncated file",
    "empty": "empty file (0 bytes)",
    "text": "not an image",
}


def make_tree_with_bad_file(root: Path, kind: str) -> Path:
    """cat: [good (red), bad]; dog: [good (blue)]. The bad file's replacement is of another class."""
    write_image(root / "cat" / "1_good.png", color=(255, 0, 0))
    bad = write_bad(root / "cat" / ("2_bad.png" if kind == "truncated-png" else "2_bad.jpg"), kind)
    write_image(root / "dog" / "3_good.png", color=(0, 0, 255))
    return bad


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_on_error_raise_names_the_file(tmp_path: Path, kind: str) -> None:
    bad = make_tree_with_bad_file(tmp_path, kind)
    dataset = quiet(tmp_path)
    assert dataset[0][1] == 0
    with pytest.raises(ImageReadError) as caught:
        dataset[1]
    assert str(bad) in str(caught.value) and BAD_REASONS[kind] in str(caught.value)
    assert caught.value.path == str(bad)
    assert isinstance(caught.value, OSError)
    assert dataset.errors == {}


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_on_error_skip_returns_the_next_sample_with_its_own_label(tmp_path: Path, kind: str) -> None:
    bad = make_tree_with_bad_file(tmp_path, kind)
    dataset = quiet(tmp_path, on_error="skip")
    assert dataset.targets.tolist() == [0, 0, 1]

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "skip" is silent
        image, target = dataset[1]
    assert target == 1  # the replacement is dog/3_good.png: its label, not the bad cat file's
    assert image[:, 0, 0].tolist() == [0, 0, 255]
    assert list(dataset.errors) == [str(bad)]
    assert BAD_REASONS[kind] in dataset.errors[str(bad)]
    # the same replacement every time, and readable samples are untouched
    assert dataset[1][1] == 1 and dataset[0][1] == 0 and dataset[2][1] == 1
    assert dataset[0][0][:, 0, 0].tolist() == [255, 0, 0]


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_on_error_warn_warns_once_per_file(tmp_path: Path, kind: str) -> None:
    bad = make_tree_with_bad_file(tmp_path, kind)
    dataset = quiet(tmp_path, on_error="warn")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        first = dataset[1]
        second = dataset[1]
    assert first[1] == second[1] == 1
    skipped = [warning for warning in record if issubclass(warning.category, SkippedSampleWarning)]
    assert len(skipped) == 1 and len(record) == 1
    assert str(bad) in str(skipped[0].message)
    assert list(dataset.errors) == [str(bad)]


def test_every_file_bad_raises_no_readable_image(tmp_path: Path) -> None:
    write_bad(tmp_path / "cat" / "a.png", "empty")
    write_bad(tmp_path / "dog" / "b.jpg", "text")
    dataset = quiet(tmp_path, on_error="skip")
    with pytest.raises(ImageReadError, match="no readable image"):
        dataset[0]
    assert sorted(dataset.errors) == [str(tmp_path / "cat" / "a.png"), str(tmp_path / "dog" / "b.jpg")]


def test_custom_loader_errors_are_wrapped_naming_the_file(tmp_path: Path) -> None:
    write_images(tmp_path, ["cat/1.png", "dog/2.png"])

    def loader(path: str) -> torch.Tensor:
        if path.endswith("1.png"):
            raise KeyError("no such thing")
        return read_image(path)

    with pytest.raises(ImageReadError) as caught:
        quiet(tmp_path, loader=loader)[0]
    assert str(tmp_path / "cat" / "1.png") in str(caught.value)
    assert "the loader failed" in str(caught.value) and "KeyError" in str(caught.value)
    assert isinstance(caught.value.__cause__, KeyError)

    skipping = quiet(tmp_path, loader=loader, on_error="skip")
    assert skipping[0][1] == 1
    assert list(skipping.errors) == [str(tmp_path / "cat" / "1.png")]


def test_unknown_on_error_is_refused(tmp_path: Path) -> None:
    write_images(tmp_path, ["cat/1.png"])
    with pytest.raises(ValueError, match="on_error"):
        ImageFolderDataset(tmp_path, on_error="ignore")


# ---------------------------------------------------------------- 7. split


def write_copies(tmp_path: Path, counts: dict[str, int]) -> Path:
    """A tree ``tmp_path/data`` of ``count`` files holding one tiny real PNG per class folder; returns it.

    They are hard links to one file (twenty times faster to create than
    writes); each is an ordinary, readable file to both indexers.
    """
    root, original = tmp_path / "data", write_image(tmp_path / "original.png")
    for name, count in counts.items():
        (root / name).mkdir(parents=True)
        for number in range(count):
            try:
                os.link(original, root / name / f"{number:04d}.png")
            except OSError:  # no hard links on this file system
                shutil.copyfile(original, root / name / f"{number:04d}.png")
    return root


def indices(subsets: list[torch.utils.data.Subset]) -> list[list[int]]:
    return [list(subset.indices) for subset in subsets]


def test_split_stratified_keeps_class_proportions(tmp_path: Path) -> None:
    root = write_copies(tmp_path, {"A": 100, "B": 20})
    dataset = quiet(root)
    train, val = dataset.split((0.8, 0.2), seed=0)
    assert train.dataset is dataset

    targets = dataset.targets
    assert [np.bincount(targets[subset.indices], minlength=2).tolist() for subset in (train, val)] == [
        [80, 16],
        [20, 4],
    ]
    assert set(train.indices).isdisjoint(val.indices)
    assert sorted([*train.indices, *val.indices]) == list(range(120))
    assert train[0][1] == int(targets[train.indices[0]])

    assert indices(dataset.split((0.8, 0.2), seed=0)) == indices([train, val])
    assert indices(dataset.split((0.8, 0.2), seed=1)) != indices([train, val])


@pytest.mark.parametrize(
    ("count", "fractions", "sizes"),
    [
        (7, (0.5, 0.3, 0.2), [4, 2, 1]),  # 3.5, 2.1, 1.4: the largest remainder (.5) gets the extra one
        (10, (0.45, 0.45, 0.1), [5, 4, 1]),  # tie of remainders: the first part
        (120, (0.8, 0.2), [96, 24]),
    ],
)
def test_split_sizes_follow_fractions(
    tmp_path: Path, count: int, fractions: tuple[float, ...], sizes: list[int]
) -> None:
    root = write_copies(tmp_path, {"only": count})
    dataset = quiet(root)
    for stratify in (False, True):
        parts = dataset.split(fractions, stratify=stratify, seed=3)
        assert [len(part) for part in parts] == sizes
        flat = [index for part in indices(parts) for index in part]
        assert sorted(flat) == list(range(count))


@pytest.mark.parametrize(("classes", "per_class", "sizes"), [(5, 3, [12, 3]), (10, 1, [8, 2])])
def test_stratified_split_total_sizes_follow_fractions(
    tmp_path: Path, classes: int, per_class: int, sizes: list[int]
) -> None:
    root = write_copies(tmp_path, {f"c{number}": per_class for number in range(classes)})
    parts = quiet(root).split((0.8, 0.2), stratify=True, seed=0)
    assert [len(part) for part in parts] == sizes


@pytest.mark.parametrize(
    "fractions",
    [(0.5, 0.4), (1.0,), (0.5, 0.6, -0.1), (0.0, 1.0), (float("nan"), 1.0), (0.7, 0.7)],
)
def test_split_refuses_bad_fractions(tmp_path: Path, fractions: tuple[float, ...]) -> None:
    root = write_copies(tmp_path, {"A": 4, "B": 4})
    with pytest.raises(ValueError, match="fractions"):
        quiet(root).split(fractions)


# ---------------------------------------------------------------- 8. index cache


def cache_folder() -> Path:
    return Path(os.environ["VISIONDATA_HOME"]) / "index-cache"


def touch_later(folder: Path) -> None:
    """Move the folder's mtime forward by one second, so a change is visible on any clock granularity."""
    stat = folder.stat()
    os.utime(folder, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_cache_is_reused_until_the_tree_changes(tmp_path: Path) -> None:
    write_images(tmp_path, ["cat/1.png", "cat/sub/2.png", "dog/3.png"])
    first = quiet(tmp_path, cache=True)
    assert first.from_cache is False
    assert len(list(cache_folder().glob("*.npz"))) == 1

    second = quiet(tmp_path, cache=True)
    assert second.from_cache is True
    assert list(second.samples) == list(first.samples)
    assert second.classes == first.classes == ["cat", "dog"]
    assert second.class_to_idx == {"cat": 0, "dog": 1}
    assert second.targets.tolist() == [0, 0, 1]
    assert second[2][1] == 1

    write_image(tmp_path / "cat" / "sub" / "4.png")
    touch_later(tmp_path / "cat" / "sub")
    third = quiet(tmp_path, cache=True)
    assert third.from_cache is False
    assert relative_samples(third) == [
        ("cat/1.png", 0),
        ("cat/sub/2.png", 0),
        ("cat/sub/4.png", 0),
        ("dog/3.png", 1),
    ]
    assert quiet(tmp_path, cache=True).from_cache is True


def test_no_cache_by_default(tmp_path: Path) -> None:
    write_images(tmp_path, ["cat/1.png"])
    dataset = quiet(tmp_path)
    assert dataset.from_cache is False
    assert not cache_folder().exists()


def test_cache_path_given(tmp_path: Path) -> None:
    root, cache = tmp_path / "root", tmp_path / "caches" / "my-index.npz"
    write_images(root, ["cat/1.png", "dog/2.png"])
    assert quiet(root, cache=cache).from_cache is False
    assert cache.is_file()
    assert not cache_folder().exists()
    again = quiet(root, cache=str(cache))
    assert again.from_cache is True
    assert relative_samples(again) == [("cat/1.png", 0), ("dog/2.png", 1)]


def test_cache_does_not_bypass_the_empty_class_check(tmp_path: Path) -> None:
    write_images(tmp_path, ["cat/1.png"])
    (tmp_path / "empty").mkdir()
    quiet(tmp_path, allow_empty=True, cache=True)
    with pytest.raises(DatasetValidationError, match="class 'empty' has no file"):
        ImageFolderDataset(tmp_path, cache=True)


def test_cache_still_warns_about_hidden_entries(tmp_path: Path) -> None:
    make_tree_with_hidden(tmp_path)
    with pytest.warns(UserWarning, match="hidden entries"):
        ImageFolderDataset(tmp_path, cache=True)
    with pytest.warns(UserWarning, match="hidden entries"):
        cached = ImageFolderDataset(tmp_path, cache=True)
    assert cached.from_cache is True


# ---------------------------------------------------------------- 9. index memory


def test_pickle_is_small_and_round_trips(tmp_path: Path) -> None:
    root = write_copies(tmp_path, {f"class_{number:02d}": 200 for number in range(10)})
    dataset = quiet(root)
    reference = ImageFolder(str(root))
    assert len(dataset) == len(reference) == 2000
    assert list(dataset.samples) == reference.samples

    ours, theirs = pickle.dumps(dataset), pickle.dumps(reference)
    assert len(ours) / len(theirs) < 0.6, (len(ours), len(theirs))

    loaded = pickle.loads(ours)
    assert list(loaded.samples) == list(dataset.samples)
    assert loaded.classes == dataset.classes and loaded.class_to_idx == dataset.class_to_idx
    assert loaded.targets.tolist() == dataset.targets.tolist()
    assert loaded[1999][1] == 9


def test_index_holds_no_per_sample_python_objects(tmp_path: Path) -> None:
    root = write_copies(tmp_path, {"a": 600, "b": 600})
    dataset = quiet(root)
    count = len(dataset)

    for name, value in vars(dataset).items():
        if isinstance(value, (list, tuple, dict, set)):
            assert len(value) < count, name
    # the file names live in one PathIndex: a byte buffer and an offsets array
    indexes = [value for value in vars(dataset).values() if isinstance(value, PathIndex)]
    assert len(indexes) == 1
    (index,) = indexes
    assert len(index) == count
    assert all(isinstance(value, np.ndarray) for value in vars(index).values())
    blob, offsets = index.arrays()
    total = sum(len(path.encode()) for path in index)
    assert blob.dtype == np.uint8 and blob.nbytes == total
    assert offsets.shape == (count + 1,)
    assert index.nbytes() == blob.nbytes + offsets.nbytes

    # pickling the index costs the path bytes plus one offset per file, nothing per Python object
    half = PathIndex(list(index)[: count // 2])
    growth = (len(pickle.dumps(index)) - len(pickle.dumps(half))) / (count - count // 2)
    length = total / count
    assert length <= growth <= length + offsets.itemsize + 0.5, (growth, length)
