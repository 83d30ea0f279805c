"""Shards read from an S3 API server against the same shards on local disk, through ``build_loader``.

A tree of real-size JPEG photos (500x375, quality 90, about 50 KB each: the
photos of ``bench_shards.py``, made once under ``--folder`` and reused) is
written to shards on local disk by ``write_shards(encode="keep")`` and uploaded
to a bucket of moto's S3 server on localhost. Each round reads every sample
once from each source, alternating, through
``build_loader(ShardDataset(source, split="train", shuffle_buffer=0), batch_size=32, num_workers=2)``:
images/s, medians, with the spread (min-max) of the per-round ratios. Target:
S3 >= 0.8x local disk. Two figures: first, each read makes a new loader, so
the workers' start (for S3: each worker's own client, made after the fork) is
counted on both sides; then, as a training loop reads, one loader per source
keeps its workers between epochs (``build_loader``'s default) and the epochs
after the first are timed, alternating. ``shuffle_buffer=0``, as in ``bench_shards.py``: with a buffer as large
as a worker's share of these 2,000 samples, each worker would read its whole
share before decoding the first image, which measures the buffer's filling
rather than the streaming. Before timing, the first samples read from S3 are
checked equal to those read from disk.

The S3 server is moto's, started as its own process (``python -m moto.server``):
a real store runs apart from the reader, and a server thread inside this
process would share its interpreter lock with the loader's main process and be
copied, half-running, into the forked workers. The endpoint and test
credentials are given by ``storage_options`` (the environment is left alone).
It runs on the same machine, so its CPU time is taken from the decoding
workers: on a machine with few cores this is a lower bound of a remote store's
rate (the network aside).

Usage: ``python benchmarks/bench_shards_remote.py [--samples 2000] [--shards 8] [--rounds 5]
[--folder DIR]`` (``pip install 'visiondata[shards,cloud]' 'moto[server]'``).
"""

from __future__ import annotations

import argparse
import math
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from _machine import footer, header, ratio_text
from bench_shards import MB, QUALITY, SIZE, make_photos

BUCKET = "visiondata-bench"
TARGET = ">= 0.8"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def moto_server() -> Iterator[str]:
    """``http://127.0.0.1:<port>``: moto's S3 server in its own process, stopped on leaving."""
    port = free_port()
    # Its request log would fill a pipe nobody reads: it goes nowhere.
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"moto's S3 server did not start on port {port} (exit status {process.poll()}): "
                        "pip install 'moto[server]'"
                    ) from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def make_shards(root: Path, out: Path, shards: int) -> int:
    """The photos as ``shards`` shards (``encode="keep"``) in ``out``, written once; the samples per shard."""
    from visiondata.datasets import ImageFolderDataset
    from visiondata.shards import write_shards

    count = sum(1 for _ in root.glob("*/*.jpg"))
    per_shard = math.ceil(count / shards)
    marker = out.parent / f".{out.name}-complete-{count}-{per_shard}"
    if not marker.exists():
        import shutil

        shutil.rmtree(out, ignore_errors=True)
        report = write_shards(
            ImageFolderDataset(root), out / "train-%06d.tar", max_count=per_shard, encode="keep"
        )
        assert report.copied == report.count == count, report.summary()
        marker.touch()
    return per_shard


def upload(out: Path, prefix: str, storage_options: dict[str, Any]) -> None:
    from visiondata.shards import _remote

    for path in sorted(out.iterdir()):
        _remote.upload(str(path), f"{prefix}/{path.name}", storage_options)


def read_rate(source: str, storage_options: dict[str, Any] | None, samples: int) -> float:
    """Images/s of one epoch through a new ``build_loader`` with two workers."""
    from visiondata.loaders import build_loader
    from visiondata.shards import ShardDataset

    started = time.perf_counter()
    dataset = ShardDataset(source, split="train", shuffle_buffer=0, storage_options=storage_options)
    loader = build_loader(dataset, batch_size=32, num_workers=2)
    count = sum(len(labels) for _, labels in loader)
    seconds = time.perf_counter() - started
    assert count == samples, f"{source}: read {count} samples, expected {samples}"
    return count / seconds


def epoch_rate(loader: Any, samples: int) -> float:
    """Images/s of one more epoch of a ``build_loader`` whose workers stay between epochs."""
    started = time.perf_counter()
    count = sum(len(labels) for _, labels in loader)
    seconds = time.perf_counter() - started
    assert count == samples, f"read {count} samples, expected {samples}"
    return count / seconds


def check_equal(remote: str, local: Path, storage_options: dict[str, Any], count: int) -> None:
    """The first ``count`` samples read from S3 are those read from disk, in the same order."""
    from visiondata.shards import ShardDataset

    pairs = zip(
        ShardDataset(remote, split="train", shuffle_buffer=0, storage_options=storage_options),
        ShardDataset(local, split="train", shuffle_buffer=0),
        strict=True,
    )
    for index, ((image, label), (expected, expected_label)) in enumerate(pairs):
        if index == count:
            break
        assert torch.equal(image, expected) and label == expected_label, f"sample {index} differs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--samples", type=int, default=2000, help="photos (samples) read per round and source"
    )
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--folder", default="/tmp/visiondata-bench-shards-remote")
    options = parser.parse_args()
    import moto
    import s3fs
    import webdataset

    from visiondata.shards import _remote

    torch.set_num_threads(1)
    folder = Path(options.folder)
    root = folder / "photos"
    print(
        header(
            options.rounds,
            f"webdataset {webdataset.__version__}, s3fs {s3fs.__version__}, moto {moto.__version__}; "
            "build_loader(batch_size=32, num_workers=2) per read",
        )
    )
    started = time.perf_counter()
    make_photos(root, options.samples, options.classes)
    paths = sorted(root.glob("*/*.jpg"))
    megabytes = sum(path.stat().st_size for path in paths) / MB
    print(
        f"photos: {root} ({len(paths):,} JPEGs {SIZE[1]}x{SIZE[0]} quality {QUALITY}, {options.classes} classes, "
        f"{megabytes:.0f} MB, {megabytes * 1e3 / len(paths):.0f} KB each; ready in "
        f"{time.perf_counter() - started:.1f}s)"
    )
    out = folder / "shards"
    per_shard = make_shards(root, out, options.shards)
    shards = sorted(out.glob("train-*.tar"))

    with moto_server() as endpoint:
        storage_options = {
            "key": "bench",
            "secret": "bench",
            "client_kwargs": {"endpoint_url": endpoint},
        }
        fs, _ = _remote.filesystem(f"s3://{BUCKET}", storage_options)
        fs.mkdir(BUCKET)
        prefix = f"s3://{BUCKET}/shards"
        started = time.perf_counter()
        upload(out, prefix, storage_options)
        print(
            f"shards: {len(shards)} shards of up to {per_shard} samples, "
            f"{sum(path.stat().st_size for path in shards) / MB:.0f} MB: {out} and {prefix} "
            f"(moto server in its own process at {endpoint}; uploaded in {time.perf_counter() - started:.1f}s)"
        )
        check_equal(prefix, out, storage_options, 20)
        contenders = {
            "local": lambda: read_rate(str(out), None, len(paths)),
            "s3": lambda: read_rate(prefix, storage_options, len(paths)),
        }
        for measure in contenders.values():
            measure()  # warm-up: the page cache, the server's first requests, lazy imports
        rates: dict[str, list[float]] = {name: [] for name in contenders}
        for _ in range(options.rounds):
            for name, measure in contenders.items():
                rates[name].append(measure())
        # What a training loop sees: one loader per source, its two workers kept between epochs
        # (build_loader's default), so each worker's start and S3 client are paid once, not per epoch.
        from visiondata.loaders import build_loader
        from visiondata.shards import ShardDataset

        loaders = {
            "local": build_loader(
                ShardDataset(str(out), split="train", shuffle_buffer=0), batch_size=32, num_workers=2
            ),
            "s3": build_loader(
                ShardDataset(prefix, split="train", shuffle_buffer=0, storage_options=storage_options),
                batch_size=32,
                num_workers=2,
            ),
        }
        for loader in loaders.values():
            epoch_rate(loader, len(paths))  # the first epoch starts the workers
        epochs: dict[str, list[float]] = {name: [] for name in loaders}
        for _ in range(options.rounds):
            for name, loader in loaders.items():
                epochs[name].append(epoch_rate(loader, len(paths)))
        del loaders

    print(
        "\nread + decode to uint8 C x H x W tensors through a new build_loader(ShardDataset(...), batch_size=32, "
        f"num_workers=2) per read (the workers' start counted), images/s (median of {options.rounds} rounds):"
    )
    print(f"  {'local disk':<44} {statistics.median(rates['local']):8.1f}")
    print(
        f"  {'S3 (moto server on localhost)':<44} {statistics.median(rates['s3']):8.1f}   "
        f"{ratio_text(rates['s3'], rates['local'], TARGET, word='local disk')}"
    )
    print(
        f"\nthe same, one loader per source whose workers stay between epochs (build_loader's default), "
        f"epochs after the first, images/s (median of {options.rounds} epochs):"
    )
    print(f"  {'local disk':<44} {statistics.median(epochs['local']):8.1f}")
    print(
        f"  {'S3 (moto server on localhost)':<44} {statistics.median(epochs['s3']):8.1f}   "
        f"{ratio_text(epochs['s3'], epochs['local'], TARGET, word='local disk')}"
    )
    print(f"\n{footer()}")


if __name__ == "__main__":
    main()
