"""The reference job: train [`MNISTCNN`][visiondata.models.MNISTCNN] on the 60,000 MNIST training images.

Its defaults reach at least 98.5% test accuracy in well under two minutes on
two CPU cores: whole batches straight from the in-memory tensor, AdamW and a
one-cycle learning-rate schedule.

The command line (``_mnist_job``) builds on this module, never the reverse.
Importing it costs no torch import, so ``visiondata --help`` stays fast: torch
is imported when training starts.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from visiondata._arguments import check_finite_number, check_positive_int


@dataclass(frozen=True)
class MNISTTrainingConfig:
    """Settings of [`train_mnist_cnn`][visiondata.training.train_mnist_cnn]; the defaults are the tested recipe."""

    epochs: int = 15
    batch_size: int = 128
    lr: float = 0.01
    weight_decay: float = 0.01
    seed: int = 0
    root: str | None = None
    out: str = "runs/mnist-cnn"
    limit: int | None = None
    progress: bool = True
    download: bool = False
    # One thread: as fast as two on this small model and unaffected by other work on the machine
    # (visiondata/training/_threads.py). None keeps torch's own count.
    threads: int | None = 1


def train_mnist_cnn(config: MNISTTrainingConfig | None = None, **overrides: Any) -> dict[str, Any]:
    """Train the reference CNN, evaluate on the test split each epoch, save the results.

    Writes ``<out>/metrics.json`` (``test_accuracy`` as a fraction,
    ``parameters``, ``seconds``, ``history`` with one entry per epoch, and the
    configuration) and ``<out>/model.pt`` (the ``state_dict``). The same seed
    gives the same result on the same machine.

    Args:
        config: Settings; defaults to [`MNISTTrainingConfig`][visiondata.training.MNISTTrainingConfig].
        **overrides: Fields of the configuration to change (``epochs=3``).

    Returns:
        The metrics written to ``metrics.json``.

    Training runs on ``config.threads`` torch threads (one by default), and
    the process gets its own thread count back afterwards.

    Raises:
        ValueError: ``epochs``, ``batch_size``, ``limit`` or ``threads`` is not a positive
            integer, ``lr`` not a positive finite number, or ``weight_decay``
            negative or not finite.

    Examples:
        >>> metrics = train_mnist_cnn(epochs=1, limit=2000, out="/tmp/mnist-run")  # doctest: +SKIP
        >>> metrics["test_accuracy"] > 0.5  # doctest: +SKIP
        True
    """
    config = config or MNISTTrainingConfig()
    if overrides:
        config = MNISTTrainingConfig(**{**asdict(config), **overrides})
    # Checked before the data is read: the scheduler and the batches would fail later, less clearly.
    if config.limit is not None:
        check_positive_int("limit", config.limit, expected="a positive number of training images")
    if config.threads is not None:
        check_positive_int("threads", config.threads, expected="a positive number of torch threads or None")
    for keyword in ("epochs", "batch_size"):
        check_positive_int(keyword, getattr(config, keyword))
    check_finite_number("lr", config.lr, minimum=0, inclusive=False, expected="a positive finite number")
    check_finite_number("weight_decay", config.weight_decay, minimum=0)
    import torch

    from visiondata.datasets._mnist import MNISTDataset
    from visiondata.models._mnist_cnn import MNISTCNN
    from visiondata.training._engine import evaluate, fit
    from visiondata.training._jobs import save_run
    from visiondata.training._threads import torch_threads

    with torch_threads(config.threads):
        started = time.perf_counter()
        torch.manual_seed(config.seed)
        shuffling = torch.Generator().manual_seed(config.seed)

        train = MNISTDataset(config.root, split="train", download=config.download)
        test = MNISTDataset(config.root, split="test", download=config.download)
        subset = None if config.limit is None else range(min(config.limit, len(train)))
        train_batches = train.batches(config.batch_size, shuffle=True, generator=shuffling, indices=subset)
        test_batches = test.batches(1000)

        model = MNISTCNN()
        optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=config.lr, total_steps=config.epochs * len(train_batches)
        )
        history = fit(
            model,
            train_batches,
            optimizer,
            config.epochs,
            eval_batches=test_batches,
            scheduler=scheduler,
            eval_name="test",
            progress=config.progress,
        )
        final = evaluate(model, test_batches)
        metrics: dict[str, Any] = {
            "test_accuracy": final["accuracy"],
            "test_loss": final["loss"],
            "parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
            "seconds": time.perf_counter() - started,
            "train_samples": len(subset) if subset is not None else len(train),
            "test_samples": len(test),
            "history": history,
            "config": asdict(config),
            "torch": torch.__version__,
            # Speed, and with some kernels the last digits of the result, depend on it: every figure says it.
            "threads": torch.get_num_threads(),
        }
        out = Path(config.out)
        out.mkdir(parents=True, exist_ok=True)
        save_run(out, model, metrics)
        return metrics
