"""Folder trees as users really have them: symbolic links (loops included), odd extensions, restored
folder times and unwritable cache locations. Each real folder is walked once, each file indexed once,
and a cache is never trusted when the tree changed under it."""

from __future__ import annotations

import os
import stat
import warnings
from pathlib import Path

import pytest
from PIL import Image
from test_special_files import finishes

from visiondata.datasets import CSVDataset, ImageFolderDataset
from visiondata.datasets._check import check_dataset
from visiondata.exceptions import DatasetValidationError, ImageReadError


def image(path: Path, color: tuple[int, int, int] = (10, 20, 30), fmt: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (4, 4), color).save(path, format=fmt)
    return path


def build(root: Path, **kwargs: object) -> ImageFolderDataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ImageFolderDataset(root, **kwargs)


def refuse_listing(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Make listing ``folder`` fail with ``PermissionError``, as ``chmod 000`` does for users other than root.

    The tests run as root, whom permissions do not stop, so the kernel's refusal is played here.
    """
    locked = str(folder)
    real_scandir = os.scandir

    def scandir(path: object = ".") -> object:
        if os.fspath(path) == locked:
            raise PermissionError(13, "Permission denied", locked)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)


# ---------------------------------------------------------------- links and loops
def test_two_self_links_neither_hang_the_scan_nor_duplicate_files(tmp_path: Path) -> None:
    image(tmp_path / "cls" / "a.png")
    (tmp_path / "cls" / "x").symlink_to(".")
    (tmp_path / "cls" / "y").symlink_to(".")
    with pytest.warns(UserWarning, match="2 symbolic links lead back to folders already indexed"):
        dataset = finishes(lambda: ImageFolderDataset(tmp_path))
    assert list(dataset.files) == ["a.png"]
    assert [line.split(":")[0] for line in dataset.loops] == [
        os.path.join("cls", "x"),
        os.path.join("cls", "y"),
    ]
    report = finishes(lambda: check_dataset(tmp_path, progress=False))
    assert report.images == 1 and len(report.loops) == 2
    assert "2 symbolic links not followed (loops)" in report.problems


def test_a_link_to_the_parent_indexes_each_file_once(tmp_path: Path) -> None:
    image(tmp_path / "cls" / "a.png")
    image(tmp_path / "other" / "b.png")
    (tmp_path / "cls" / "up").symlink_to("..")
    dataset = build(tmp_path)
    assert list(dataset.samples) == [
        (str(tmp_path / "cls" / "a.png"), 0),
        (str(tmp_path / "other" / "b.png"), 1),
    ]
    assert len(dataset.loops) == 1 and "cls/up: symbolic link to" in dataset.loops[0]


def test_a_link_to_a_folder_elsewhere_is_followed(tmp_path: Path) -> None:
    image(tmp_path / "shared" / "s.png")
    image(tmp_path / "root" / "cls" / "a.png")
    (tmp_path / "root" / "cls" / "more").symlink_to(tmp_path / "shared")
    dataset = build(tmp_path / "root")
    assert list(dataset.files) == ["a.png", os.path.join("more", "s.png")]
    assert dataset.loops == []


@pytest.mark.parametrize("with_real_subfolder", [False, True])
def test_a_linked_folder_named_like_an_image_is_walked_not_indexed_as_a_file(
    tmp_path: Path, with_real_subfolder: bool
) -> None:
    image(tmp_path / "album" / "inside.png")
    image(tmp_path / "root" / "cls" / "a.png")
    if with_real_subfolder:
        image(tmp_path / "root" / "cls" / "sub" / "b.png")
    (tmp_path / "root" / "cls" / "album.jpg").symlink_to(tmp_path / "album")
    dataset = build(tmp_path / "root")
    expected = ["a.png", os.path.join("album.jpg", "inside.png")]
    if with_real_subfolder:
        expected.append(os.path.join("sub", "b.png"))
    assert list(dataset.files) == expected
    assert all(dataset[index][0].shape == (3, 4, 4) for index in range(len(dataset)))


def test_a_folder_that_cannot_be_listed_is_an_error_under_raise_and_reported_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    image(tmp_path / "cls" / "a.png")
    image(tmp_path / "cls" / "locked" / "b.png")
    refuse_listing(monkeypatch, tmp_path / "cls" / "locked")
    with pytest.raises(
        DatasetValidationError, match=r"cls/locked: cannot list the folder: Permission denied"
    ):
        ImageFolderDataset(tmp_path)
    with pytest.warns(UserWarning, match="1 folders could not be listed"):
        dataset = ImageFolderDataset(tmp_path, on_error="skip")
    assert list(dataset.files) == ["a.png"] and len(dataset.unlisted) == 1
    report = check_dataset(tmp_path, progress=False)
    assert report.unlisted == dataset.unlisted and "1 folder not indexed" in report.problems


def test_csv_paths_may_not_leave_the_root_through_a_link(tmp_path: Path) -> None:
    root = tmp_path / "root"
    image(root / "a.png")
    image(tmp_path / "secret.png", color=(255, 0, 0))
    (root / "link.png").symlink_to(tmp_path / "secret.png")
    (root / "labels.csv").write_text("image,label\na.png,cat\nlink.png,dog\n")
    dataset = CSVDataset(root / "labels.csv", root)
    with pytest.raises(ImageReadError, match=r"outside the dataset root.*pass allow_outside_root=True"):
        dataset[1]
    skipping = CSVDataset(root / "labels.csv", root, on_error="skip")
    assert skipping[1][1] == skipping[0][1]  # the replacement sample, with its own label
    assert "outside the dataset root" in next(iter(skipping.errors.values()))
    allowed = CSVDataset(root / "labels.csv", root, allow_outside_root=True)
    assert allowed[1][0][0, 0, 0] == 255


# ---------------------------------------------------------------- extensions
def test_one_extension_string_means_that_extension(tmp_path: Path) -> None:
    image(tmp_path / "cls" / "a.png")
    image(tmp_path / "cls" / "b.jpg")
    image(tmp_path / "cls" / "c.bmp")
    assert list(build(tmp_path, extensions=".png").files) == ["a.png"]
    assert list(build(tmp_path, extensions="PNG").files) == ["a.png"]
    assert list(build(tmp_path, extensions=[".bmp", "jpg"]).files) == ["b.jpg", "c.bmp"]
    for bad in ("", [], [".png", 3]):
        with pytest.raises(ValueError, match="extensions: expected a file extension"):
            ImageFolderDataset(tmp_path, extensions=bad)


# ---------------------------------------------------------------- the index cache
def test_a_cache_is_not_trusted_when_a_file_went_and_the_folder_time_was_restored(tmp_path: Path) -> None:
    root = tmp_path / "root"
    for name in ("a", "b", "c"):
        image(root / "cls" / f"{name}.png")
    folder = root / "cls"
    times = folder.stat()
    assert build(root, cache=True).from_cache is False
    (folder / "b.png").unlink()
    os.utime(folder, ns=(times.st_atime_ns, times.st_mtime_ns))  # as tar, rsync -a and cp -a do
    again = build(root, cache=True)
    assert again.from_cache is False and list(again.files) == ["a.png", "c.png"]
    assert build(root, cache=True).from_cache is True


def test_an_unwritable_cache_location_warns_and_indexes_anyway(tmp_path: Path) -> None:
    image(tmp_path / "root" / "cls" / "a.png")
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder should be")
    with pytest.warns(UserWarning, match="cannot write the index cache"):
        dataset = ImageFolderDataset(tmp_path / "root", cache=blocked / "index.npz")
    assert len(dataset) == 1 and dataset.from_cache is False
    assert sorted(path.name for path in tmp_path.iterdir()) == ["not-a-folder", "root"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_cache_folder_warns_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    image(tmp_path / "root" / "cls" / "a.png")
    caches = tmp_path / "caches"
    caches.mkdir()
    caches.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with pytest.warns(UserWarning, match="cannot write the index cache"):
            assert len(ImageFolderDataset(tmp_path / "root", cache=caches / "index.npz")) == 1
        assert list(caches.iterdir()) == []
    finally:
        caches.chmod(stat.S_IRWXU)


@pytest.mark.parametrize("failing", ["writing", "renaming"])
def test_a_cache_the_kernel_refuses_warns_and_leaves_no_temporary_file(
    failing: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The read-only folder of the test above, played for root too (whom permissions do not stop): the
    # refusal comes when the temporary file is opened, or after it is whole, when it is renamed into place.
    from visiondata.datasets import _folder

    image(tmp_path / "root" / "cls" / "a.png")
    caches = tmp_path / "caches"
    caches.mkdir()
    real_savez, real_replace = _folder.np.savez, _folder.os.replace

    def savez(file: object, *arrays: object, **named: object) -> None:
        if failing == "writing":
            raise PermissionError(13, "Permission denied", str(file))
        real_savez(file, *arrays, **named)

    def replace(source: object, target: object) -> None:
        if Path(os.fspath(target)).parent == caches:
            assert Path(os.fspath(source)).is_file()  # the whole temporary file, beside the target
            raise PermissionError(13, "Permission denied", os.fspath(target))
        real_replace(source, target)

    monkeypatch.setattr(_folder.np, "savez", savez)
    monkeypatch.setattr(_folder.os, "replace", replace)
    with pytest.warns(UserWarning, match=r"index\.npz: cannot write the index cache \(Permission denied\)"):
        assert len(ImageFolderDataset(tmp_path / "root", cache=caches / "index.npz")) == 1
    assert list(caches.iterdir()) == []


def test_a_cache_path_naming_a_folder_is_refused_without_leaving_files(tmp_path: Path) -> None:
    image(tmp_path / "root" / "cls" / "a.png")
    caches = tmp_path / "caches"
    caches.mkdir()
    with pytest.raises(ValueError, match="cache: expected True or the path of a cache file, got the folder"):
        ImageFolderDataset(tmp_path / "root", cache=caches)
    assert list(caches.iterdir()) == []
