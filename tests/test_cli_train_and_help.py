"""The command line says what it has: ``train``'s ``--download`` and ``--root`` (and advice naming them),
``datasets list --task`` choices that have datasets, a description under every ``--help``, and training
logs of one line per epoch when stderr is no terminal."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import torch
from fixture_files import make_mnist_tree

import visiondata.datasets._commands as dataset_commands
from visiondata.cli import build_parser, main
from visiondata.datasets import dataset_info, list_datasets
from visiondata.datasets._mnist import MNISTDataset
from visiondata.training import fit


def help_of(capsys: pytest.CaptureFixture[str], *arguments: str) -> str:
    with pytest.raises(SystemExit) as exited:
        main([*arguments, "--help"])
    assert exited.value.code == 0
    return capsys.readouterr().out


# ---------------------------------------------------------------- train --download / --root
def test_missing_mnist_advice_names_the_options_train_has(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    help_text = help_of(capsys, "train", "mnist-cnn")
    assert "--download" in help_text and "--root" in help_text
    assert main(["train", "mnist-cnn", "--root", str(tmp_path), "--out", str(tmp_path / "out")]) == 1
    error = capsys.readouterr().err
    assert error.startswith("visiondata: error: MNISTDataset 'train' split: expected train-images-idx3-ubyte")
    assert "Run again with --download to fetch it" in error and "pass --root" in error
    assert "download=True" not in error and "root=" not in error


def test_download_option_reaches_the_dataset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fetched: list[str] = []

    def fake_download(dataset: MNISTDataset) -> None:  # what torchvision's downloader would leave behind
        fetched.append(dataset.split)
        make_mnist_tree(dataset.root)

    monkeypatch.setattr(MNISTDataset, "_download", fake_download)
    arguments = ["train", "mnist-cnn", "--root", str(tmp_path), "--out", str(tmp_path / "out")]
    assert main([*arguments, "--download", "--epochs", "1", "--limit", "32", "--no-progress"]) == 0
    assert fetched == ["train"]  # the test split was there once the train split was fetched
    assert "test accuracy" in capsys.readouterr().out


# ---------------------------------------------------------------- datasets list --task
def task_choices(capsys: pytest.CaptureFixture[str]) -> list[str]:
    found = re.search(
        r"keep only datasets of this task: ([a-z_, ]+)", " ".join(help_of(capsys, "datasets", "list").split())
    )
    assert found is not None
    return found.group(1).strip().split(", ")


def test_task_choices_are_the_tasks_some_dataset_has(capsys: pytest.CaptureFixture[str]) -> None:
    tasks = task_choices(capsys)
    assert tasks and set(tasks) == {dataset_info(name).task for name in list_datasets()}
    assert all(list_datasets(task=task) for task in tasks)
    assert "regression" not in tasks and "keypoints" not in tasks
    with pytest.raises(SystemExit) as exited:
        main(["datasets", "list", "--task", "regression"])
    assert exited.value.code == 2
    assert "invalid choice: 'regression'" in capsys.readouterr().err


def test_task_choices_are_not_computed_to_run_another_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[object] = []
    monkeypatch.setattr(dataset_commands, "list_datasets", lambda *a, **k: calls.append(a) or [])
    build_parser().parse_args(["models", "list"])
    assert calls == []


# ---------------------------------------------------------------- descriptions
@pytest.mark.parametrize(
    ("command", "words"),
    [
        (("datasets",), "List and describe the registered datasets"),
        (("models",), "List and describe the models create_model() can build"),
        (("models", "info"), "Describe one model"),
    ],
)
def test_help_has_a_description_line(
    command: tuple[str, ...], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    paragraphs = help_of(capsys, *command).split("\n\n")
    assert paragraphs[0].startswith(f"usage: visiondata {' '.join(command)}")
    assert " ".join(paragraphs[1].split()).startswith(words)


# ---------------------------------------------------------------- progress in logs
def test_training_into_a_log_writes_one_line_per_epoch_and_no_carriage_returns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_mnist_tree(tmp_path / "data", train=96, test=32)
    arguments = ["--root", str(tmp_path / "data"), "--out", str(tmp_path / "out"), "--batch-size", "8"]
    assert main(["train", "mnist-cnn", "--epochs", "2", *arguments]) == 0  # progress left on
    captured = capsys.readouterr()  # stderr is captured here, as in a CI log: not a terminal
    assert "\r" not in captured.err and "\r" not in captured.out
    assert captured.err == ""
    assert [line.split()[:1] for line in captured.out.splitlines()] == [["epoch"], ["epoch"], ["test"]]


def test_threads_option_reaches_the_job_and_its_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    make_mnist_tree(tmp_path / "data", train=64, test=32)
    arguments = ["--root", str(tmp_path / "data"), "--out", str(tmp_path / "out"), "--no-progress"]
    process_threads = torch.get_num_threads()
    for threads in ("2", None):
        option = ["--threads", threads] if threads else []
        assert main(["train", "mnist-cnn", "--epochs", "1", *arguments, *option]) == 0
        expected = int(threads or 1)  # one thread unless told otherwise
        assert f"threads: {expected});" in capsys.readouterr().out.splitlines()[-1]
        assert json.loads((tmp_path / "out" / "metrics.json").read_text())["threads"] == expected
        assert torch.get_num_threads() == process_threads
    assert "torch threads (default: 1)" in " ".join(help_of(capsys, "train", "mnist-cnn").split())
    assert "(default: torch's own, one per core)" in " ".join(help_of(capsys, "train", "yolo-shapes").split())


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_still_gets_the_progress_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    model = torch.nn.Linear(2, 2)
    batches = [(torch.eye(2), torch.tensor([0, 1]))] * 3
    fit(model, batches, torch.optim.SGD(model.parameters(), lr=0.1), epochs=1, log=None)
    assert "\r" in terminal.getvalue() and "epoch 1/1" in terminal.getvalue()
