"""Every catalog entry, tested through the catalog itself (nothing registered goes untested)."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import torchvision.datasets

import visiondata as vd
from visiondata.datasets import TASKS
from visiondata.datasets._catalog import _DATASETS
from visiondata.datasets._torchvision import TorchvisionFactory
from visiondata.exceptions import DatasetNotFoundError, MissingDependencyError, UnknownSplitError

NAMES = vd.list_datasets()
# torchvision exports that are base classes or helpers, not datasets.
NOT_DATASETS = {
    "VisionDataset",
    "DatasetFolder",
    "ImageFolder",
    "LSUNClass",
    "wrap_dataset_for_transforms_v2",
}
SCHEMA_OF_TASK = {"detection": "detection", "segmentation": "segmentation", "captioning": "captioning"}


def factory_of(name: str):
    return _DATASETS.get(name).resolve()


def user_arguments(name: str) -> dict:
    """Placeholders for what a user must pass themselves (PhotoTour's name=), beyond the split's own."""
    entry = _DATASETS.get(name)
    chosen = {} if entry.split_arguments is None else entry.split_arguments[entry.info.splits[0]]
    return required_placeholders(inspect.signature(entry.resolve()), {"root": None, **chosen})


# Valid values for the few parameters torchvision requires without a default.
REQUIRED_VALUES = {"name": "liberty"}


def required_placeholders(signature: inspect.Signature, given: dict) -> dict:
    """Values for parameters without a default that the caller must supply (PhotoTour's name=)."""
    return {
        name: REQUIRED_VALUES.get(name, "placeholder")
        for name, parameter in signature.parameters.items()
        if parameter.default is inspect.Parameter.empty and name not in given and name != "self"
        and parameter.kind not in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL)
    }  # fmt: skip


def test_every_torchvision_dataset_class_is_in_the_catalog() -> None:
    exported = {name for name in torchvision.datasets.__all__ if name not in NOT_DATASETS}
    wrapped = {vd.dataset_info(name).wraps for name in NAMES}
    missing = sorted(
        f"torchvision.datasets.{name}" for name in exported if f"torchvision.datasets.{name}" not in wrapped
    )
    assert not missing, f"torchvision datasets without a catalog entry: {missing}"
    assert len(exported) == 68


@pytest.mark.parametrize("name", NAMES)
def test_metadata_is_complete_and_consistent(name: str) -> None:
    info = vd.dataset_info(name)
    assert info.name == name
    assert name == name.lower() and " " not in name
    assert info.task in TASKS
    assert info.splits and all(isinstance(split, str) and split == split.lower() for split in info.splits)
    generated = info.source == "visiondata.datasets.ShapesDataset"  # drawn by visiondata: no home, no files
    assert info.source and info.license and info.description
    assert info.homepage is None if generated else info.homepage.startswith("http")
    if info.source.startswith("visiondata.shards."):
        # Data visiondata wrote itself: its images and classes are whatever was exported.
        assert info.wraps is None and info.task == "other"
    elif generated:
        assert (
            info.wraps is None and not info.download and info.channels == 3 and info.image_size == (160, 160)
        )
    else:
        assert info.wraps and info.wraps.startswith("torchvision.datasets.")
        assert info.channels in (1, 3)
        assert info.image_size is not None and all(size > 0 for size in info.image_size)
    if info.classes is not None:
        assert info.num_classes == len(info.classes)
    if info.mean is not None:
        assert info.std is not None and len(info.mean) == len(info.std) == info.channels
        assert all(0 < s <= 1 for s in info.std) and all(0 <= m <= 1 for m in info.mean)
    standard = [split for split in info.splits if split in ("train", "val", "test")]
    assert info.splits[: len(standard)] == tuple(standard) or info.splits[0] in ("train", "trainval", "all")


@pytest.mark.parametrize("name", NAMES)
def test_split_mapping_binds_to_the_real_torchvision_signature(name: str) -> None:
    entry = _DATASETS.get(name)
    factory = entry.resolve()
    if not isinstance(factory, TorchvisionFactory):
        # A visiondata fast path: it takes split= itself, and mirrors the torchvision class it names.
        assert entry.split_arguments is None
        inspect.signature(factory).bind(root="/data", split=entry.info.splits[0])
        return
    torchvision_class = getattr(torchvision.datasets, entry.info.wraps.rsplit(".", 1)[1])
    native = inspect.signature(torchvision_class)
    for split in entry.info.splits:
        arguments = {
            factory.renames.get(k, k): v
            for k, v in {**factory.defaults, **entry.split_arguments[split]}.items()
        }
        if "root" in native.parameters:
            arguments.setdefault("root", "/data")
        arguments.update(required_placeholders(native, arguments))
        native.bind(**arguments)
        ours = inspect.signature(factory)
        ours_arguments = {"root": "/data", **entry.split_arguments[split]}
        ours.bind(**ours_arguments, **required_placeholders(ours, ours_arguments))


@pytest.mark.parametrize("name", NAMES)
def test_download_flag_matches_what_the_class_supports(name: str) -> None:
    factory = factory_of(name)
    assert vd.dataset_info(name).download == ("download" in inspect.signature(factory).parameters)


@pytest.mark.parametrize("name", NAMES)
def test_schema_follows_the_task(name: str) -> None:
    factory = factory_of(name)
    if isinstance(factory, TorchvisionFactory):
        assert factory.schema == SCHEMA_OF_TASK.get(vd.dataset_info(name).task, "plain")


@pytest.mark.parametrize("name", NAMES)
def test_splits_it_lacks_are_refused_with_the_list(name: str) -> None:
    with pytest.raises(UnknownSplitError) as caught:
        vd.get_dataset(name, split="no-such-split")
    for split in vd.dataset_info(name).splits:
        assert repr(split) in str(caught.value)


@pytest.mark.parametrize("name", NAMES)
def test_unknown_keywords_are_refused_with_the_accepted_ones(name: str) -> None:
    with pytest.raises(TypeError, match=r"unexpected keyword colour; it accepts") as caught:
        vd.get_dataset(name, colour="red")
    accepted = str(caught.value).split("it accepts ", 1)[1]
    signature = inspect.signature(factory_of(name))
    for keyword in accepted.split(", "):
        if keyword != "no dataset-specific keywords":
            assert keyword in signature.parameters


@pytest.mark.parametrize("name", NAMES)
def test_an_empty_folder_gives_a_clear_error(name: str, tmp_path: Path) -> None:
    extra = user_arguments(name)
    if name == "fake_data":
        assert len(vd.get_dataset(name, root=tmp_path)) == 1000  # generated, needs no files
        return
    if name == "shapes":
        # Drawn on the fly: nothing to find in the folder.
        assert len(vd.get_dataset(name, root=tmp_path, split="val")) == 500
        return
    with pytest.raises((DatasetNotFoundError, MissingDependencyError)) as caught:
        vd.get_dataset(name, root=tmp_path, **extra)
    message = str(caught.value)
    if isinstance(caught.value, MissingDependencyError):
        assert "pip install" in message
    else:
        assert str(tmp_path) in message
        assert "download=True" in message or "place" in message


@pytest.mark.parametrize("name", [n for n in NAMES if vd.dataset_info(n).download])
def test_download_without_network_names_the_folder(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import urllib.error
    import urllib.request

    def no_network(*args, **kwargs):
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    extra = user_arguments(name)
    with pytest.raises((vd.exceptions.DownloadError, MissingDependencyError, DatasetNotFoundError)) as caught:
        vd.get_dataset(name, root=tmp_path, download=True, **extra)
    if isinstance(caught.value, vd.exceptions.DownloadError):
        assert str(tmp_path) in str(caught.value)


@pytest.mark.parametrize(
    ("name", "expected_url"),
    [
        ("cifar10", "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"),
        ("emnist", "https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip"),
        ("svhn", "http://ufldl.stanford.edu/housenumbers/train_32x32.mat"),
        ("voc_detection", "https://thor.robots.ox.ac.uk/pascal/VOC/voc2012/VOCtrainval_11-May-2012.tar"),
    ],
)
def test_offline_download_lists_the_files_to_fetch(
    name: str, expected_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import urllib.error
    import urllib.request

    monkeypatch.setattr(
        urllib.request, "urlopen", lambda *a, **k: (_ for _ in ()).throw(urllib.error.URLError("offline"))
    )
    with pytest.raises(vd.exceptions.DownloadError) as caught:
        vd.get_dataset(name, root=tmp_path, download=True)
    message = str(caught.value)
    assert expected_url in message
    assert f"place them under {tmp_path}" in message
