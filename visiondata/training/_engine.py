"""A small, reusable fit / evaluate loop for classifiers, with a progress bar."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from visiondata._arguments import check_positive_int

Batches = Iterable[tuple[torch.Tensor, torch.Tensor]]


def _move(
    batch: tuple[torch.Tensor, torch.Tensor], device: torch.device | None
) -> tuple[torch.Tensor, torch.Tensor]:
    inputs, targets = batch
    if device is None:
        return inputs, targets
    return inputs.to(device, non_blocking=True), targets.to(device, non_blocking=True)


@torch.no_grad()
def evaluate(
    model: nn.Module,
    batches: Batches,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    device: torch.device | str | None = None,
) -> dict[str, float]:
    """Mean loss and accuracy of a classifier over ``batches``.

    The model is put in eval mode and restored to its previous mode after.

    Args:
        model: Returns logits of shape ``(N, classes)``.
        batches: Iterable of ``(inputs, integer targets)``.
        loss_fn: Defaults to cross-entropy.
        device: Where to run; defaults to where the inputs already are.

    Returns:
        ``{"loss": ..., "accuracy": ..., "samples": ...}``; accuracy is a fraction.

    Examples:
        >>> import torch
        >>> model = torch.nn.Linear(2, 2)
        >>> batches = [(torch.eye(2), torch.tensor([0, 1]))]
        >>> sorted(evaluate(model, batches))
        ['accuracy', 'loss', 'samples']
    """
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    device = None if device is None else torch.device(device)
    was_training = model.training
    model.eval()
    total_loss, correct, seen = 0.0, 0, 0
    try:
        for batch in batches:
            inputs, targets = _move(batch, device)
            logits = model(inputs)
            total_loss += float(loss_fn(logits, targets)) * len(targets)
            correct += int((logits.argmax(dim=1) == targets).sum())
            seen += len(targets)
    finally:
        model.train(was_training)
    if seen == 0:
        raise ValueError("evaluate: expected at least one batch with samples, got none")
    return {"loss": total_loss / seen, "accuracy": correct / seen, "samples": float(seen)}


def fit(
    model: nn.Module,
    train_batches: Batches,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    *,
    eval_batches: Batches | None = None,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    scheduler: Any | None = None,
    device: torch.device | str | None = None,
    eval_name: str = "eval",
    progress: bool = True,
    log: Callable[[str], None] | None = print,
) -> list[dict[str, float]]:
    """Train a classifier for ``epochs`` passes over ``train_batches``.

    ``train_batches`` and ``eval_batches`` must be re-iterable (a
    ``DataLoader``, or ``MNISTDataset.batches(...)``): they are iterated once
    per epoch. A ``scheduler`` is stepped after every batch (the convention of
    ``OneCycleLR``); wrap an epoch-wise scheduler if you need another cadence.

    Args:
        model: Returns logits of shape ``(N, classes)``.
        train_batches: Iterable of ``(inputs, integer targets)``.
        optimizer: Optimises ``model``'s parameters.
        epochs: Passes over the training batches, a positive ``int`` (``True`` is refused).
        eval_batches: Evaluated after each epoch when given.
        loss_fn: Defaults to cross-entropy.
        scheduler: Learning-rate scheduler stepped per batch.
        device: Where to run; defaults to where the inputs already are.
        eval_name: What to call the held-out set in records and log lines
            (``"val"``, ``"test"``).
        progress: Show a tqdm progress bar per epoch, on stderr when it is a
            terminal (or in a notebook). Redirected to a file or a CI log, the
            bar is left out: its carriage-return updates would fill the log,
            and ``log`` already gives one line per epoch.
        log: Receives one summary line per epoch; ``None`` is silent.

    Returns:
        One dict per epoch, with ``epoch``, ``train_loss``, ``train_accuracy``,
        ``lr``, ``seconds`` and, with ``eval_batches``, ``<eval_name>_loss`` and
        ``<eval_name>_accuracy``.

    Examples:
        >>> import torch
        >>> torch.manual_seed(0) and None
        >>> model = torch.nn.Linear(2, 2)
        >>> batches = [(torch.eye(2), torch.tensor([0, 1]))]
        >>> optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
        >>> history = fit(model, batches, optimizer, epochs=20, progress=False, log=None)
        >>> history[-1]["train_accuracy"]
        1.0
    """
    check_positive_int("epochs", epochs)
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    device = None if device is None else torch.device(device)
    history: list[dict[str, float]] = []
    for epoch in range(1, epochs + 1):
        started = time.perf_counter()
        model.train()
        total_loss, correct, seen = 0.0, 0, 0
        # disable=None: tqdm's own "only on a terminal" (its notebook bar shows regardless).
        bar = tqdm(
            train_batches,
            desc=f"epoch {epoch}/{epochs}",
            leave=False,
            disable=None if progress else True,
            unit="batch",
            file=sys.stderr,
        )
        for batch in bar:
            inputs, targets = _move(batch, device)
            logits = model(inputs)
            loss = loss_fn(logits, targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            total_loss += loss.item() * len(targets)
            correct += int((logits.argmax(dim=1) == targets).sum())
            seen += len(targets)
            bar.set_postfix(loss=f"{total_loss / seen:.4f}", refresh=False)
        if seen == 0:
            raise ValueError("fit: expected at least one training batch with samples, got none")
        record = {
            "epoch": float(epoch),
            "train_loss": total_loss / seen,
            "train_accuracy": correct / seen,
            "lr": float(optimizer.param_groups[0]["lr"]),
        }
        if eval_batches is not None:
            scores = evaluate(model, eval_batches, loss_fn, device)
            record[f"{eval_name}_loss"], record[f"{eval_name}_accuracy"] = scores["loss"], scores["accuracy"]
        record["seconds"] = time.perf_counter() - started
        history.append(record)
        if log is not None:
            log(_summary(record, epochs, eval_name))
    return history


def _summary(record: dict[str, float], epochs: int, eval_name: str) -> str:
    parts = [f"epoch {int(record['epoch']):>{len(str(epochs))}}/{epochs}", f"loss {record['train_loss']:.4f}"]
    if f"{eval_name}_accuracy" in record:
        parts.append(f"{eval_name} loss {record[f'{eval_name}_loss']:.4f}")
        parts.append(f"{eval_name} accuracy {record[f'{eval_name}_accuracy']:.4f}")
    parts.append(f"{record['seconds']:.1f}s")
    return "  ".join(parts)
