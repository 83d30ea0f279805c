"""``build_loader``: seeded order and workers, split-aware shuffle, collate by task, epochs, two-rank DDP."""

from __future__ import annotations

import datetime
import json
import os
import random
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.distributed as dist
from PIL import Image
from torch.utils.data import (
    Dataset,
    DistributedSampler,
    RandomSampler,
    SequentialSampler,
    Subset,
    TensorDataset,
    default_collate,
)

from visiondata.collate import CollatedBatch, detection_collate
from visiondata.datasets import CocoDetectionDataset
from visiondata.loaders import EpochDataLoader, build_loader, seed_worker
from visiondata.models import MNISTCNN
from visiondata.transforms import BoxPipeline

# ---------------------------------------------------------------- helpers


def first(batch: list[Any]) -> Any:
    """Collate of ``batch_size=1``: the sample itself."""
    return batch[0]


def orders(loader: EpochDataLoader, epochs: int) -> list[list[int]]:
    """The indices a ``TensorDataset(arange)`` loader yields, epoch by epoch."""
    return [[int(value) for (values,) in loader for value in values] for _ in range(epochs)]


class Indexed(Dataset):
    """Yields its indices; attributes such as ``split`` or ``train`` are set from keywords."""

    def __init__(self, length: int = 32, **attributes: Any) -> None:
        self.length = length
        for name, value in attributes.items():
            setattr(self, name, value)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> int:
        return index


def read_order(loader: EpochDataLoader) -> list[int]:
    return [int(value) for batch in loader for value in batch]


@pytest.fixture
def _restore_global_random() -> Any:
    python_state, numpy_state, torch_state = random.getstate(), np.random.get_state(), torch.get_rng_state()
    yield
    random.setstate(python_state)
    np.random.set_state(numpy_state)
    torch.set_rng_state(torch_state)


# ---------------------------------------------------------------- seeded order


@pytest.mark.parametrize("num_workers", [0, 2])
def test_same_seed_gives_identical_batches(num_workers: int) -> None:
    dataset = TensorDataset(torch.arange(20))
    runs = [
        orders(build_loader(dataset, batch_size=4, shuffle=True, seed=3, num_workers=num_workers), epochs=2)
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    assert sorted(runs[0][0]) == list(range(20)) and sorted(runs[0][1]) == list(range(20))
    assert runs[0][0] != list(range(20)), "shuffle=True must shuffle"
    assert runs[0][0] != runs[0][1], "each epoch draws a new order"
    other = orders(
        build_loader(dataset, batch_size=4, shuffle=True, seed=4, num_workers=num_workers), epochs=1
    )
    assert other[0] != runs[0][0], "a different seed must give a different order"


def test_first_epoch_order_does_not_depend_on_num_workers() -> None:
    dataset = TensorDataset(torch.arange(20))
    single = orders(build_loader(dataset, batch_size=4, shuffle=True, seed=3, num_workers=0), epochs=1)
    workers = orders(build_loader(dataset, batch_size=4, shuffle=True, seed=3, num_workers=2), epochs=1)
    assert single == workers


def test_later_epoch_orders_do_not_depend_on_num_workers() -> None:
    dataset = TensorDataset(torch.arange(20))
    single = orders(build_loader(dataset, batch_size=4, shuffle=True, seed=3, num_workers=0), epochs=2)
    workers = orders(build_loader(dataset, batch_size=4, shuffle=True, seed=3, num_workers=2), epochs=2)
    assert single == workers


class CropCorners(Dataset):
    """A 32 x 32 image, pixel (y, x) holding ``32 * y + x``, randomly cropped to 16 x 16 by a ``BoxPipeline``.

    Each sample is ``(index, worker id, top, left)`` of its crop.
    """

    def __init__(self, length: int = 8) -> None:
        self.length = length
        self.pipeline = BoxPipeline([{"name": "RandomCrop", "size": [16, 16]}])
        self.image = torch.arange(32 * 32, dtype=torch.float32).reshape(1, 32, 32)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> tuple[int, int, int, int]:
        sample = {
            "image": self.image,
            "boxes": torch.tensor([[0.0, 0.0, 32.0, 32.0]]),
            "labels": torch.tensor([1]),
        }
        out = self.pipeline(sample)
        assert out["image"].shape == (1, 16, 16)
        assert out["boxes"].shape == (1, 4)
        corner = int(out["image"][0, 0, 0])
        info = torch.utils.data.get_worker_info()
        return index, -1 if info is None else info.id, corner // 32, corner % 32


def test_box_pipeline_crops_differ_between_workers_and_repeat_between_runs() -> None:
    assert CropCorners().pipeline.seed is None

    def run() -> list[tuple[int, int, int, int]]:
        loader = build_loader(
            CropCorners(), batch_size=1, num_workers=2, collate=first, seed=11, shuffle=False
        )
        return list(loader)

    one, two = run(), run()
    assert one == two, "the same seed must draw the same crops"
    assert [index for index, *_ in one] == list(range(8))
    by_worker = {worker: [(top, left) for _, owner, top, left in one if owner == worker] for worker in (0, 1)}
    assert len(by_worker[0]) == 4 and len(by_worker[1]) == 4
    assert by_worker[0] != by_worker[1], "each worker must draw its own crops"
    assert all(0 <= top <= 16 and 0 <= left <= 16 for _, _, top, left in one)
    other = list(
        build_loader(CropCorners(), batch_size=1, num_workers=2, collate=first, seed=12, shuffle=False)
    )
    assert [corner[2:] for corner in other] != [corner[2:] for corner in one]


# ---------------------------------------------------------------- seed_worker


class GlobalDraws(Dataset):
    """Global draws: ``(index, worker id, torch seed, random.random(), np.random.rand())``."""

    def __len__(self) -> int:
        return 8

    def __getitem__(self, index: int) -> tuple[int, int, int, float, float]:
        info = torch.utils.data.get_worker_info()
        worker = -1 if info is None else info.id
        return index, worker, torch.initial_seed(), random.random(), float(np.random.rand())


def test_seed_worker_seeds_python_and_numpy_per_worker() -> None:
    def run(seed: int) -> list[tuple[int, int, int, float, float]]:
        loader = build_loader(GlobalDraws(), batch_size=1, num_workers=2, collate=first, seed=seed)
        assert loader.worker_init_fn is seed_worker
        return list(loader)

    one, two = run(5), run(5)
    assert one == two, "workers' draws must repeat between runs"
    draws = {worker: [sample[3:] for sample in one if sample[1] == worker] for worker in (0, 1)}
    assert len(draws[0]) == 4 and len(draws[1]) == 4
    pythons = {worker: [value for value, _ in draws[worker]] for worker in (0, 1)}
    numpys = {worker: [value for _, value in draws[worker]] for worker in (0, 1)}
    assert pythons[0] != pythons[1] and numpys[0] != numpys[1], "workers must draw differently"
    # Each worker's first draws come from seed_worker's seeding: torch's worker seed modulo 2**32.
    for worker in (0, 1):
        _, _, torch_seed, python_value, numpy_value = next(sample for sample in one if sample[1] == worker)
        assert python_value == random.Random(torch_seed % 2**32).random()
        assert numpy_value == np.random.RandomState(torch_seed % 2**32).rand()
    other = run(6)
    assert [sample[3:] for sample in other] != [sample[3:] for sample in one]


@pytest.mark.usefixtures("_restore_global_random")
def test_seed_worker_in_this_process() -> None:
    torch.manual_seed(2**40 + 17)
    seed_worker(0)
    assert random.random() == random.Random(17).random()
    assert np.random.rand() == np.random.RandomState(17).rand()


# ---------------------------------------------------------------- shuffle=None


@pytest.mark.parametrize(
    "attributes",
    [
        {"split": "train"},
        {"split_name": "train"},
        {"train": True},
        {"split": "train", "train": False},
        {},
        {"train": 1},
        {"split": "trainval"},
        {"split": "train2017"},
        {"split": "unlabeled"},
    ],
    ids=[
        "split",
        "split_name",
        "torchvision-train",
        "split-wins",
        "none",
        "train-not-bool",
        "trainval",
        "train2017",
        "other-name",
    ],
)
def test_shuffle_none_shuffles_all_but_an_evaluation_split(attributes: dict[str, Any]) -> None:
    dataset = Indexed(**attributes)
    loader = build_loader(dataset, batch_size=5)
    assert isinstance(loader.sampler, RandomSampler)
    order = read_order(loader)
    assert sorted(order) == list(range(32)) and order != list(range(32))
    subset_loader = build_loader(Subset(dataset, list(range(10))), batch_size=5)
    assert isinstance(subset_loader.sampler, RandomSampler)


@pytest.mark.parametrize(
    "attributes",
    [
        {"split": "test"},
        {"split_name": "val"},
        {"train": False},
        {"split": "test", "train": True},
        {"split": "val2017"},
        {"split": "Validation"},
        {"split_name": "test-dev"},
    ],
    ids=[
        "split-test",
        "split_name-val",
        "torchvision-test",
        "split-wins",
        "val2017",
        "Validation",
        "test-dev",
    ],
)
def test_shuffle_none_reads_an_evaluation_split_in_order(attributes: dict[str, Any]) -> None:
    loader = build_loader(Indexed(**attributes), batch_size=5)
    assert isinstance(loader.sampler, SequentialSampler)
    assert read_order(loader) == list(range(32))


def test_explicit_shuffle_wins() -> None:
    assert read_order(build_loader(Indexed(split="train"), batch_size=5, shuffle=False)) == list(range(32))
    order = read_order(build_loader(Indexed(split="test"), batch_size=5, shuffle=True))
    assert order != list(range(32)) and sorted(order) == list(range(32))


# ---------------------------------------------------------------- collate=None


def tiny_coco(root: Path) -> CocoDetectionDataset:
    """Three images (one without boxes) of different sizes, two categories."""
    sizes = [(20, 30), (24, 16), (10, 12)]  # (height, width)
    for number, (height, width) in enumerate(sizes):
        Image.new("RGB", (width, height), color=(number * 60, 10, 200)).save(root / f"{number}.png")
    annotation = {
        "images": [
            {"id": number + 1, "file_name": f"{number}.png", "width": width, "height": height}
            for number, (height, width) in enumerate(sizes)
        ],
        "categories": [{"id": 3, "name": "car"}, {"id": 7, "name": "bus"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 3, "bbox": [1, 2, 10, 8], "area": 80, "iscrowd": 0},
            {"id": 2, "image_id": 1, "category_id": 7, "bbox": [5, 5, 20, 10], "area": 200, "iscrowd": 0},
            {"id": 3, "image_id": 2, "category_id": 7, "bbox": [0, 0, 16, 24], "area": 384, "iscrowd": 0},
        ],
    }
    (root / "instances.json").write_text(json.dumps(annotation))
    return CocoDetectionDataset(root, root / "instances.json")


def test_collate_none_picks_detection_collate_for_coco(tmp_path: Path) -> None:
    dataset = tiny_coco(tmp_path)
    loader = build_loader(dataset, batch_size=3, shuffle=False)
    assert loader.collate_fn is detection_collate
    (batch,) = list(loader)
    assert isinstance(batch, CollatedBatch)
    images, targets = batch
    assert [tuple(image.shape) for image in images] == [(3, 20, 30), (3, 24, 16), (3, 10, 12)]
    assert [target["labels"].tolist() for target in targets] == [[1, 2], [2], []]
    assert targets[2]["boxes"].shape == (0, 4)
    assert build_loader(Subset(dataset, [0, 2]), batch_size=2).collate_fn is detection_collate


def test_collate_none_keeps_pytorch_default_for_other_datasets() -> None:
    loader = build_loader(TensorDataset(torch.arange(6), torch.ones(6)), batch_size=4, shuffle=False)
    assert loader.collate_fn is default_collate
    values, ones = next(iter(loader))
    assert values.tolist() == [0, 1, 2, 3] and ones.shape == (4,)


def test_explicit_collate_wins(tmp_path: Path) -> None:
    assert build_loader(tiny_coco(tmp_path), batch_size=2, collate=first).collate_fn is first


# ---------------------------------------------------------------- pin_memory, persistent_workers, batch_size


def test_pin_memory_follows_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    dataset = TensorDataset(torch.arange(4))
    if not torch.cuda.is_available():
        assert build_loader(dataset, batch_size=2).pin_memory is False
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert build_loader(dataset, batch_size=2).pin_memory is True
    assert build_loader(dataset, batch_size=2, pin_memory=False).pin_memory is False
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert build_loader(dataset, batch_size=2).pin_memory is False


@pytest.mark.parametrize(
    ("num_workers", "persistent_workers", "expected"),
    [(0, None, False), (2, None, True), (0, True, False), (2, False, False), (2, True, True)],
)
def test_persistent_workers_follow_num_workers(
    num_workers: int, persistent_workers: bool | None, expected: bool
) -> None:
    loader = build_loader(
        TensorDataset(torch.arange(4)),
        batch_size=2,
        num_workers=num_workers,
        persistent_workers=persistent_workers,
    )
    assert loader.persistent_workers is expected and loader.num_workers == num_workers


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, "4", None])
def test_batch_size_is_validated(batch_size: Any) -> None:
    with pytest.raises(ValueError, match=r"batch_size: expected a positive int, got"):
        build_loader(TensorDataset(torch.arange(4)), batch_size=batch_size)


def test_drop_last_is_passed_on() -> None:
    loader = build_loader(TensorDataset(torch.arange(5)), batch_size=2, drop_last=True, shuffle=False)
    assert orders(loader, epochs=1) == [[0, 1, 2, 3]]


# ---------------------------------------------------------------- epochs and distributed without a group


def test_epoch_data_loader_counts_epochs_and_sets_the_sampler_epoch() -> None:
    dataset = TensorDataset(torch.arange(12))
    sampler = DistributedSampler(dataset, num_replicas=2, rank=0, shuffle=True, seed=0)
    loader = EpochDataLoader(dataset, batch_size=3, sampler=sampler)
    assert loader.epoch == 0
    seen = []
    for epoch in range(3):
        seen.append(orders(loader, epochs=1)[0])
        assert loader.epoch == epoch + 1 and sampler.epoch == epoch
    expected = [
        torch.randperm(12, generator=torch.Generator().manual_seed(epoch)).tolist()[0::2]
        for epoch in range(3)
    ]
    assert seen == expected
    assert seen[0] != seen[1]
    loader.epoch = 7  # resuming elsewhere
    iter(loader)
    assert sampler.epoch == 7 and loader.epoch == 8


def test_build_loader_returns_an_epoch_loader() -> None:
    loader = build_loader(TensorDataset(torch.arange(4)), batch_size=2)
    assert isinstance(loader, EpochDataLoader)
    orders(loader, epochs=2)
    assert loader.epoch == 2


def test_distributed_true_without_a_process_group_explains() -> None:
    assert not dist.is_initialized()
    with pytest.raises(RuntimeError) as error:
        build_loader(TensorDataset(torch.arange(4)), batch_size=2, distributed=True)
    message = str(error.value)
    for text in ("no torch.distributed process group is initialised", "torchrun", "init_process_group()"):
        assert text in message, message


@pytest.mark.parametrize("distributed", [None, False])
def test_no_sharding_without_a_process_group(distributed: bool | None) -> None:
    loader = build_loader(TensorDataset(torch.arange(4)), batch_size=2, shuffle=True, distributed=distributed)
    assert not isinstance(loader.sampler, DistributedSampler)
    assert sorted(orders(loader, epochs=1)[0]) == [0, 1, 2, 3]


# ---------------------------------------------------------------- two ranks with gloo


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def distributed_worker(rank: int, world_size: int, port: int, out_dir: str) -> None:
    """One rank: indices of two epochs, one DDP step of ``MNISTCNN``; saved to ``out_dir/rank{rank}.pt``."""
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world_size, timeout=datetime.timedelta(seconds=60))
    try:
        loader = build_loader(TensorDataset(torch.arange(10)), batch_size=2, shuffle=True, seed=0)
        assert isinstance(loader.sampler, DistributedSampler)
        epochs = orders(loader, epochs=2)

        torch.manual_seed(0)
        model = MNISTCNN()
        initial = torch.nn.utils.parameters_to_vector(model.parameters()).detach().clone()
        ddp = torch.nn.parallel.DistributedDataParallel(model)
        optimiser = torch.optim.SGD(ddp.parameters(), lr=0.5)
        generator = torch.Generator().manual_seed(100 + rank)
        inputs = torch.randn(4, 1, 28, 28, generator=generator)
        labels = torch.randint(0, 10, (4,), generator=generator)
        loss = torch.nn.functional.cross_entropy(ddp(inputs), labels)
        loss.backward()
        optimiser.step()
        after = torch.nn.utils.parameters_to_vector(model.parameters()).detach().clone()
        torch.save(
            {"epochs": epochs, "initial": initial, "after": after, "loss": float(loss)},
            Path(out_dir) / f"rank{rank}.pt",
        )
    finally:
        dist.destroy_process_group()


def run_ranks(worker: Callable[..., None], world_size: int, *args: Any, timeout: float = 120) -> None:
    """Start ``worker(rank, world_size, port, *args)`` in ``world_size`` spawned processes; fail if one hangs."""
    context = torch.multiprocessing.spawn(
        worker, args=(world_size, free_port(), *args), nprocs=world_size, join=False
    )
    deadline = time.monotonic() + timeout
    while not context.join(timeout=1):
        if time.monotonic() > deadline:
            for process in context.processes:
                if process.is_alive():
                    process.kill()
            pytest.fail(f"the {world_size} ranks did not finish within {timeout:g} s")


def test_two_ranks_shard_reshuffle_and_train_in_step(tmp_path: Path) -> None:
    world_size = 2
    run_ranks(distributed_worker, world_size, str(tmp_path))
    results = [torch.load(tmp_path / f"rank{rank}.pt", weights_only=True) for rank in range(world_size)]

    zero = [result["epochs"][0] for result in results]
    assert len(zero[0]) == 5 and len(zero[1]) == 5
    assert set(zero[0]).isdisjoint(zero[1]) and set(zero[0]) | set(zero[1]) == set(range(10))
    one = [result["epochs"][1] for result in results]
    assert set(one[0]) | set(one[1]) == set(range(10))
    assert one != zero, "the loader must call set_epoch: epoch 1 needs another order"
    # DistributedSampler's order: a permutation seeded with seed + epoch, rank r taking every other index.
    for epoch in (0, 1):
        permutation = torch.randperm(10, generator=torch.Generator().manual_seed(epoch)).tolist()
        for rank in range(world_size):
            assert results[rank]["epochs"][epoch] == permutation[rank::world_size]

    assert torch.equal(results[0]["initial"], results[1]["initial"])
    assert results[0]["loss"] != results[1]["loss"], "the ranks must see different data"
    assert torch.equal(results[0]["after"], results[1]["after"]), "DDP must keep the ranks' parameters equal"
    assert not torch.equal(results[0]["after"], results[0]["initial"]), "the step must change the parameters"


def test_segmentation_datasets_get_padded_batches_with_their_ignore_index(tmp_path: Path) -> None:
    from visiondata.formats import SegmentationFolderDataset

    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    for name, (width, height) in {"a": (6, 4), "b": (3, 5)}.items():
        Image.new("RGB", (width, height), (90, 20, 20)).save(tmp_path / "images" / f"{name}.png")
        Image.new("L", (width, height), 1).save(tmp_path / "masks" / f"{name}.png")
    dataset = SegmentationFolderDataset(tmp_path / "images", tmp_path / "masks", ignore_index=250)
    # Masks of two sizes: PyTorch's default collate would fail to stack them.
    (batch,) = list(build_loader(dataset, batch_size=2, shuffle=False, num_workers=0))
    masks = batch["semantic_masks"]
    assert masks.dtype == torch.int64 and tuple(masks.shape[1:]) == (32, 32)
    assert masks[0, :4, :6].eq(1).all() and masks[0, 4:, :].eq(250).all() and masks[0, :, 6:].eq(250).all()
    assert masks[1, :5, :3].eq(1).all() and masks[1, :, 3:].eq(250).all()
