"""Bad arguments fail at once with a message naming them, not later with a bare error."""

from __future__ import annotations

from pathlib import Path

import pytest

import visiondata as vd
from visiondata.cli import main
from visiondata.datasets import TASKS
from visiondata.exceptions import UnknownNameError
from visiondata.models import MNISTCNN, create_model
from visiondata.training import train_mnist_cnn


# ---------------------------------------------------------------- create_model
@pytest.mark.parametrize("name", ["mnist_cnn", "resnet18", "timm:resnet18"])
@pytest.mark.parametrize("num_classes", [0, -1, True, 2.0])
def test_create_model_refuses_a_bad_num_classes_in_every_family(name: str, num_classes: object) -> None:
    with pytest.raises(ValueError, match=rf"^num_classes: expected a positive integer, got {num_classes!r}$"):
        create_model(name, num_classes=num_classes)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["mnist_cnn", "resnet18"])
@pytest.mark.parametrize("in_chans", [0, -3])
def test_create_model_refuses_a_bad_in_chans(name: str, in_chans: int) -> None:
    with pytest.raises(ValueError, match=rf"^in_chans: expected a positive integer, got {in_chans}$"):
        create_model(name, in_chans=in_chans)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"num_classes": 0}, "num_classes: expected a positive integer, got 0"),
        ({"num_classes": -1}, "num_classes: expected a positive integer, got -1"),
        ({"in_channels": 0}, "in_channels: expected a positive integer, got 0"),
    ],
)
def test_mnist_cnn_refuses_sizes_below_one(arguments: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        MNISTCNN(**arguments)


# ---------------------------------------------------------------- dataset registry
@pytest.fixture
def unregister():
    names: list[str] = []
    yield names.append
    for name in names:
        vd.datasets.unregister_dataset(name)


class SplitByFile:
    def __init__(self, root: str, annotations: str) -> None:
        self.root, self.annotations = root, annotations


def test_register_dataset_refuses_a_factory_that_is_not_callable() -> None:
    with pytest.raises(TypeError) as caught:
        vd.register_dataset("numbered", 42, task="other")  # type: ignore[arg-type]
    assert str(caught.value) == (
        "register_dataset('numbered'): factory expected a dataset class, a function or a "
        "'package.module:attribute' string, got 42 (int)"
    )
    assert "numbered" not in vd.list_datasets()


def test_register_dataset_refuses_a_factory_string_without_its_attribute() -> None:
    with pytest.raises(
        ValueError, match=r"factory expected 'package.module:attribute', got 'mypackage.data'"
    ):
        vd.register_dataset("dotted", "mypackage.data", task="other")
    assert "dotted" not in vd.list_datasets()


@pytest.mark.parametrize(
    ("template", "shown"),
    [
        ("{root}/{split}.json", "{split}"),
        ("{}/annotations.json", "{}"),
        ("{root.parent}/a.json", "{root.parent}"),
    ],
)
def test_split_arguments_with_an_unknown_placeholder_are_refused_at_registration(
    template: str, shown: str
) -> None:
    with pytest.raises(ValueError, match=r"expected no placeholder but \{root\}") as caught:
        vd.register_dataset(
            "templated", SplitByFile, task="other", split_arguments={"train": {"annotations": template}}
        )
    message = str(caught.value)
    assert message.startswith(
        f"register_dataset('templated'): split_arguments['train']['annotations'] = {template!r}"
    )
    assert f"expected no placeholder but {{root}} (the dataset root), got {shown}" in message
    assert "{{ or }}" in message
    assert "templated" not in vd.list_datasets()


def test_split_arguments_with_a_malformed_template_are_refused() -> None:
    with pytest.raises(
        ValueError, match=r"expected a template whose only placeholder is \{root\}, got an invalid"
    ):
        vd.register_dataset(
            "braces", SplitByFile, task="other", split_arguments={"train": {"annotations": "{root"}}
        )


def test_split_arguments_that_are_not_a_dict_are_refused() -> None:
    with pytest.raises(TypeError, match=r"split_arguments\['train'\] expected a dict of keyword arguments"):
        vd.register_dataset("flagged", SplitByFile, task="other", split_arguments={"train": True})  # type: ignore[dict-item]


def test_root_placeholder_and_literal_braces_still_work(unregister, tmp_path: Path) -> None:
    vd.register_dataset(
        "templated_ok",
        SplitByFile,
        task="other",
        split_arguments={"train": {"annotations": "{root}/{{v1}}.json"}},
    )
    unregister("templated_ok")
    dataset = vd.get_dataset("templated_ok", root=tmp_path)
    assert dataset.annotations == f"{tmp_path}/{{v1}}.json"


def test_list_datasets_names_the_valid_tasks() -> None:
    with pytest.raises(UnknownNameError) as caught:
        vd.list_datasets(task="nope")
    assert str(caught.value) == f"unknown task 'nope'; expected one of {', '.join(TASKS)}"
    assert caught.value.name == "nope" and isinstance(caught.value, KeyError)
    with pytest.raises(
        UnknownNameError, match=r"unknown task 'clasification'; did you mean 'classification'\?"
    ):
        vd.list_datasets(task="clasification")


# ---------------------------------------------------------------- `visiondata train` options
@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--epochs", "0", "a positive integer"),
        ("--epochs", "2.5", "a positive integer"),
        ("--batch-size", "0", "a positive integer"),
        ("--limit", "0", "a positive integer"),
        ("--lr", "nan", "a positive finite number"),
        ("--lr", "inf", "a positive finite number"),
        ("--lr", "-0.1", "a positive finite number"),
        ("--weight-decay", "-1", "a finite number >= 0"),
    ],
)
def test_train_options_out_of_range_exit_with_usage(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, option: str, value: str, expected: str
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["train", "mnist-cnn", "--root", str(tmp_path), "--out", str(tmp_path / "out"), option, value])
    assert caught.value.code == 2
    stderr = capsys.readouterr().err
    assert stderr.startswith("usage: visiondata train mnist-cnn")
    assert f"error: argument {option}: expected {expected}, got {value!r}" in stderr
    assert "Traceback" not in stderr and not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"epochs": 0}, "epochs: expected a positive integer, got 0"),
        ({"batch_size": 0}, "batch_size: expected a positive integer, got 0"),
        ({"lr": float("nan")}, "lr: expected a positive finite number, got nan"),
        ({"weight_decay": -0.5}, "weight_decay: expected a finite number >= 0, got -0.5"),
    ],
)
def test_train_mnist_cnn_checks_settings_before_reading_data(
    tmp_path: Path, setting: dict[str, object], message: str
) -> None:
    # The root is empty: a check made after reading the data would raise DatasetNotFoundError.
    with pytest.raises(ValueError, match=f"^{message}$"):
        train_mnist_cnn(root=str(tmp_path), out=str(tmp_path / "out"), progress=False, **setting)
