"""The dataset registry: names, metadata, splits and argument checking."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import visiondata as vd
from visiondata.datasets import SPLIT_ALIASES, DatasetInfo
from visiondata.exceptions import DuplicateNameError, UnknownNameError, UnknownSplitError, VisionDataError


class RecordingDataset:
    """Keeps the arguments it was built with, for assertions."""

    def __init__(self, root, split="train", transform=None, download=False, variant="small"):
        self.arguments = {
            "root": root,
            "split": split,
            "transform": transform,
            "download": download,
            "variant": variant,
        }


class TrainFlagDataset:
    """Selects its split with train=, like torchvision's MNIST or CIFAR10."""

    def __init__(self, root, train=True, transform=None, target_transform=None):
        self.root, self.train = root, train


@pytest.fixture
def registered():
    names = []

    def register(name, factory, **options):
        vd.register_dataset(name, factory, **options)
        names.append(name)

    yield register
    for name in names:
        vd.datasets.unregister_dataset(name)


# ---------------------------------------------------------------- lookups
def test_list_datasets_filters_by_pattern_and_task(registered) -> None:
    registered("demo_boxes", RecordingDataset, task="detection", homepage="h", license="l")
    assert "mnist" in vd.list_datasets()
    assert vd.list_datasets("demo_*") == ["demo_boxes"]
    assert "demo_boxes" in vd.list_datasets(task="detection")
    assert "mnist" not in vd.list_datasets(task="detection")
    assert vd.list_datasets("*mnist", task="classification") == [
        "emnist",
        "fashion_mnist",
        "kmnist",
        "mnist",
        "qmnist",
    ]
    assert vd.list_datasets("*mnist", task="video") == ["moving_mnist"]


def test_unknown_name_suggests_the_close_one() -> None:
    with pytest.raises(UnknownNameError, match="unknown dataset 'mnsit'; did you mean 'mnist'") as caught:
        vd.get_dataset("mnsit")
    assert isinstance(caught.value, KeyError)
    with pytest.raises(KeyError, match="did you mean 'mnist'"):
        vd.dataset_info("MNIST")


def test_dataset_info_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        vd.dataset_info("mnist").task = "detection"  # type: ignore[misc]


# ---------------------------------------------------------------- splits
def test_bad_split_lists_the_valid_ones() -> None:
    with pytest.raises(
        UnknownSplitError, match=r"dataset 'mnist' has no split 'val'; expected one of 'train', 'test'"
    ):
        vd.get_dataset("mnist", split="val")
    with pytest.raises(ValueError, match="no split"):
        vd.get_dataset("mnist", split="validation")


@pytest.mark.parametrize(("alias", "split"), [*SPLIT_ALIASES.items(), ("TRAIN", "train"), (" Val ", "val")])
def test_split_aliases_reach_the_standard_split(registered, alias: str, split: str) -> None:
    registered("demo_splits", RecordingDataset, task="classification", splits=("train", "val", "test"))
    assert vd.get_dataset("demo_splits", root="/data", split=alias).arguments["split"] == split


def test_split_arguments_are_data_not_code(registered) -> None:
    registered(
        "demo_flag",
        TrainFlagDataset,
        task="classification",
        split_arguments={"train": {"train": True}, "test": {"train": False}},
    )
    assert vd.dataset_info("demo_flag").splits == ("train", "test")
    assert vd.get_dataset("demo_flag", root="/r", split="test").train is False
    assert vd.get_dataset("demo_flag", root="/r", split="train").train is True
    with pytest.raises(
        TypeError, match=r"split='test' sets train=False; got train=True. Choose the data with split="
    ):
        vd.get_dataset("demo_flag", root="/r", split="test", train=True)
    assert (
        vd.get_dataset("demo_flag", root="/r", split="test", train=False).train is False
    )  # agreeing is fine


def test_split_arguments_must_cover_the_splits() -> None:
    with pytest.raises(ValueError, match="one entry per split"):
        vd.register_dataset(
            "demo_partial", TrainFlagDataset, task="classification",
            splits=("train", "test"), split_arguments={"train": {"train": True}},
        )  # fmt: skip
    assert "demo_partial" not in vd.list_datasets()


# ---------------------------------------------------------------- arguments
def test_arguments_reach_the_factory(registered, tmp_path: Path) -> None:
    registered("demo_args", RecordingDataset, task="classification")
    dataset = vd.get_dataset("demo_args", root=tmp_path, split="test", transform=abs, variant="large")
    assert dataset.arguments == {
        "root": str(tmp_path), "split": "test", "transform": abs, "download": False, "variant": "large",
    }  # fmt: skip


def test_root_defaults_to_visiondata_home(
    registered, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    registered("demo_home", RecordingDataset, task="classification")
    monkeypatch.setenv("VISIONDATA_HOME", str(tmp_path / "home"))
    assert vd.get_dataset("demo_home").arguments["root"] == str(tmp_path / "home")
    monkeypatch.delenv("VISIONDATA_HOME")
    assert vd.get_dataset("demo_home").arguments["root"] == str(Path.home() / ".cache" / "visiondata")


def test_unknown_keyword_is_named_with_the_accepted_ones(registered) -> None:
    registered("demo_kw", RecordingDataset, task="classification")
    with pytest.raises(TypeError, match=r"unexpected keyword colour; it accepts variant"):
        vd.get_dataset("demo_kw", colour="red")
    with pytest.raises(TypeError, match="unexpected keyword flavour; it accepts normalize"):
        vd.get_dataset("mnist", flavour="x")
    registered(
        "demo_plain", TrainFlagDataset, task="classification", split_arguments={"train": {"train": True}}
    )
    with pytest.raises(
        TypeError, match="unexpected keyword flavour; it accepts no dataset-specific keywords"
    ):
        vd.get_dataset("demo_plain", flavour="x")


def test_unsupported_common_argument_is_refused_not_dropped(registered) -> None:
    registered(
        "demo_nodl", TrainFlagDataset, task="classification", split_arguments={"train": {"train": True}}
    )
    assert vd.get_dataset("demo_nodl", root="/r").train is True  # download=False is simply not passed
    with pytest.raises(TypeError, match="does not support download=; place its files under root by hand"):
        vd.get_dataset("demo_nodl", root="/r", download=True)


# ---------------------------------------------------------------- registration
def test_decorator_registers_and_returns_the_class(registered) -> None:
    @vd.register_dataset("demo_decorated", task="segmentation", splits=("train", "val"), channels=3)
    class Decorated(RecordingDataset):
        pass

    try:
        assert Decorated.__name__ == "Decorated"
        info = vd.dataset_info("demo_decorated")
        assert info.task == "segmentation" and info.splits == ("train", "val") and info.channels == 3
        assert info.source.endswith("Decorated")
        assert isinstance(vd.get_dataset("demo_decorated", split="val"), Decorated)
    finally:
        vd.datasets.unregister_dataset("demo_decorated")


def test_duplicate_registration_raises(registered) -> None:
    with pytest.raises(DuplicateNameError, match="'mnist' is already registered"):
        vd.register_dataset("mnist", RecordingDataset, task="classification")
    assert vd.dataset_info("mnist").source == "visiondata.datasets.MNISTDataset"
    registered("demo_twice", RecordingDataset, task="classification")
    vd.register_dataset("demo_twice", TrainFlagDataset, task="classification", override=True,
                        split_arguments={"train": {"train": True}})  # fmt: skip
    assert vd.dataset_info("demo_twice").source.endswith("TrainFlagDataset")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"task": "painting"}, "task expected one of"),
        ({"task": "classification", "colour": "red"}, "unknown metadata colour"),
        (
            {"task": "classification", "classes": ("a", "b"), "num_classes": 3},
            "num_classes is 3 but 2 class names",
        ),
        ({"task": "classification", "channels": 3, "mean": (0.5,)}, "mean expected 3 values"),
        ({"task": "classification", "splits": ()}, "splits expected at least one"),
    ],
)
def test_inconsistent_metadata_is_refused(options: dict, message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        vd.register_dataset("demo_bad", RecordingDataset, **options)
    assert "demo_bad" not in vd.list_datasets()


def test_dataset_info_fields_match_the_documented_schema() -> None:
    fields = [f.name for f in dataclasses.fields(DatasetInfo)]
    assert fields[:3] == ["name", "task", "splits"]
    for documented in (
        "num_classes",
        "classes",
        "image_size",
        "channels",
        "mean",
        "std",
        "license",
        "homepage",
        "source",
    ):
        assert documented in fields


def test_errors_share_one_base_class() -> None:
    for error in (UnknownNameError, UnknownSplitError, DuplicateNameError):
        assert issubclass(error, VisionDataError)
