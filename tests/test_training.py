"""The fit / evaluate loop and the reference MNIST job, on real MNIST subsets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from visiondata.exceptions import UnknownNameError
from visiondata.models import MNISTCNN
from visiondata.training import MNISTTrainingConfig, evaluate, fit, get_job, list_jobs, train_mnist_cnn


def test_short_real_training_clearly_beats_chance(mnist_root: Path, tmp_path: Path) -> None:
    process_threads = torch.get_num_threads()
    metrics = train_mnist_cnn(root=str(mnist_root), epochs=2, limit=6000, out=str(tmp_path), progress=False)
    assert metrics["test_accuracy"] > 0.85, metrics["history"]
    assert metrics["train_samples"] == 6000 and metrics["test_samples"] == 10_000
    assert metrics["parameters"] == 2762
    # One thread by default (docs/performance.md, "Threads and a busy machine"); the process keeps its own.
    assert metrics["threads"] == 1
    assert torch.get_num_threads() == process_threads
    assert [entry["epoch"] for entry in metrics["history"]] == [1, 2]
    assert metrics["history"][-1]["test_accuracy"] == pytest.approx(metrics["test_accuracy"])
    assert metrics["history"][1]["train_loss"] < metrics["history"][0]["train_loss"]
    assert json.loads((tmp_path / "metrics.json").read_text())["test_accuracy"] == metrics["test_accuracy"]
    state = torch.load(tmp_path / "model.pt", weights_only=True)
    model = MNISTCNN()
    model.load_state_dict(state)


def test_same_seed_same_result(mnist_root: Path, tmp_path: Path) -> None:
    runs = [
        train_mnist_cnn(
            root=str(mnist_root),
            epochs=1,
            limit=1500,
            seed=seed,
            out=str(tmp_path / f"run{i}"),
            progress=False,
        )
        for i, seed in enumerate((7, 7, 8))
    ]
    first, second, other = (
        torch.load(tmp_path / f"run{i}" / "model.pt", weights_only=True) for i in range(3)
    )
    assert all(torch.equal(first[key], second[key]) for key in first)
    assert runs[0]["test_accuracy"] == runs[1]["test_accuracy"]
    assert not all(torch.equal(first[key], other[key]) for key in first), (
        "a different seed must change the run"
    )


def test_default_recipe_is_what_the_docs_promise() -> None:
    config = MNISTTrainingConfig()
    assert (config.epochs, config.batch_size, config.out, config.threads) == (15, 128, "runs/mnist-cnn", 1)


def test_threads_are_the_runs_own_and_given_back(mnist_root: Path, tmp_path: Path) -> None:
    process_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        metrics = train_mnist_cnn(
            root=str(mnist_root), epochs=1, limit=256, out=str(tmp_path), progress=False, threads=2
        )
        assert metrics["threads"] == 2
        assert json.loads((tmp_path / "metrics.json").read_text())["threads"] == 2
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(process_threads)


@pytest.mark.parametrize("threads", [0, -1, 1.5])
def test_a_bad_thread_count_is_refused_before_reading_data(threads: object, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="threads"):
        train_mnist_cnn(root=str(tmp_path / "nowhere"), threads=threads, out=str(tmp_path))


def test_fit_and_evaluate_on_a_separable_problem() -> None:
    torch.manual_seed(0)
    inputs = torch.randn(256, 2)
    targets = (inputs[:, 0] > 0).long()
    batches = [(inputs[i : i + 32], targets[i : i + 32]) for i in range(0, 256, 32)]
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    lines: list[str] = []
    history = fit(model, batches, optimizer, epochs=3, eval_batches=batches, progress=False, log=lines.append)
    assert len(history) == 3 and len(lines) == 3
    assert history[-1]["eval_accuracy"] > 0.95
    assert "eval accuracy" in lines[-1]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert lines[-1].startswith("epoch 3/3")
    named = fit(
        model,
        batches,
        optimizer,
        epochs=1,
        eval_batches=batches,
        eval_name="val",
        progress=False,
        log=lines.append,
    )
    assert "val_accuracy" in named[0] and "val accuracy" in lines[-1]
    model.train()
    scores = evaluate(model, batches)
    assert model.training, "evaluate restores the previous mode"
    assert scores["samples"] == 256 and scores["accuracy"] == pytest.approx(history[-1]["eval_accuracy"])


def test_fit_and_evaluate_refuse_empty_input() -> None:
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="epochs: expected a positive integer, got 0"):
        fit(model, [], optimizer, epochs=0)
    with pytest.raises(ValueError, match="at least one training batch"):
        fit(model, [], optimizer, epochs=1, progress=False, log=None)
    with pytest.raises(ValueError, match="at least one batch"):
        evaluate(model, [])


def test_job_registry() -> None:
    assert list_jobs() == ["mnist-cnn", "yolo-shapes"]
    assert list_jobs("yolo*") == ["yolo-shapes"]
    assert "MNIST" in get_job("mnist-cnn").description
    assert "shapes" in get_job("yolo-shapes").description
    with pytest.raises(UnknownNameError, match="did you mean 'mnist-cnn'"):
        get_job("mnist_cnn")


def test_limit_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="limit: expected a positive number of training images, got 0"):
        train_mnist_cnn(limit=0, out=str(tmp_path))
