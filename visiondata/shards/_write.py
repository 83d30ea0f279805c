"""``write_shards``: any dataset of visiondata's schemas into WebDataset tar shards plus a manifest."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import sys
import warnings
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

from visiondata._arguments import check_choice, check_int, check_positive_int
from visiondata._files import PARTIAL_PREFIX
from visiondata.shards._manifest import Manifest, ShardInfo, shard_name, webdataset_module

ENCODINGS = ("keep", "jpeg", "png")


@dataclass
class ShardWriteReport:
    """What [`write_shards`][visiondata.shards.write_shards] wrote.

    Attributes:
        shards: Paths (or URLs) of the shards written, in order.
        manifest: Path (or URL) of the manifest.
        count: Samples written.
        copied: Images stored byte for byte from their files.
        encoded: Images encoded (PNG or JPEG).
        skipped: Source samples left out, ``{"index", "reason"}`` (unreadable under a skip policy).
        replaced: Shards of the previous export of the same set, removed once the new one was complete
            (with ``overwrite=True``).
        bytes: Bytes in all shards written.
    """

    shards: list[str] = field(default_factory=list)
    manifest: str = ""
    count: int = 0
    copied: int = 0
    encoded: int = 0
    skipped: list[dict[str, Any]] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    bytes: int = 0

    def summary(self) -> str:
        """One line for people."""
        return (
            f"{self.count} samples in {len(self.shards)} shards ({self.bytes / 2**20:.1f} MiB): {self.copied} images "
            f"copied as they were, {self.encoded} encoded, {len(self.skipped)} skipped; manifest {self.manifest}"
        )


def write_shards(
    dataset: Any,
    out_pattern: str | os.PathLike[str] = "out/train-%06d.tar",
    max_count: int = 10_000,
    max_size: int = 1 << 30,
    encode: str = "keep",
    quality: int = 95,
    num_workers: int = 0,
    progress: bool = False,
    overwrite: bool = False,
    storage_options: dict[str, Any] | None = None,
) -> ShardWriteReport:
    """Write ``dataset`` as WebDataset tar shards, with a manifest beside them, in a folder or an object store.

    Each sample becomes a group of tar members under a nine-digit key (its
    index in ``dataset``): the image, then the target (see
    [`visiondata.shards`][visiondata.shards]), so ``webdataset``, Hugging Face ``datasets`` and
    ``tar`` read the shards too. The manifest,
    ``<prefix>.shards.json`` (``train.shards.json`` for ``train-%06d.tar``),
    lists every shard with its sample count, byte size and SHA-256, the task,
    the classes and the source.

    **Shards.** The source is cut into runs of ``max_count`` samples (indices
    ``0`` to ``max_count - 1``, then the next ``max_count``...); each run
    becomes one shard, or several when its members would pass ``max_size``
    bytes. A shard thus holds at most ``max_count`` samples, fewer when
    samples were skipped or the size limit cut the run, and the shards are the
    same byte for byte whatever ``num_workers`` is.

    **Workers.** With ``num_workers=N``, N processes each write whole runs
    (reading, checking and encoding one sample at a time, so each holds one
    sample and its open shard file), and one progress bar counts them all.
    At most twice N runs are handed out ahead of the shard being placed, so
    an upload slower than the writing holds back the workers instead of
    filling the local disk. Warnings a worker raises (``on_error="warn"``)
    are raised again in the calling process.

    **Object storage.** An ``out_pattern`` such as
    ``"s3://bucket/prefix/train-%06d.tar"`` writes through fsspec (the
    ``cloud`` extra): each shard is written to a local temporary file and
    uploaded as soon as it and the shards before it are finished (S3 uploads
    large shards in parts), and the manifest is uploaded last. Credentials and
    the endpoint come from the usual places (the ``AWS_*`` environment
    variables, ``AWS_ENDPOINT_URL`` included, and profiles, for S3) or from
    ``storage_options``; nothing stores them.

    **Whole or not at all.** In a folder, shards are written under hidden
    temporary names (``.visiondata-partial-...``) beside their final ones;
    only when every shard is complete are they renamed into place, and the
    manifest is written last, itself by a rename. In an object store, shards
    go to their final names when the set is new, or to hidden temporary names
    moved into place at the end when they replace an export. An export that
    stops (an unreadable file under ``on_error="raise"``, an interruption, a
    failed upload) removes what it wrote and leaves the previous export of the
    set untouched, shards and manifest: a manifest never names a missing or
    partial shard. Readers opening a shard while the renames happen find its
    size or checksum differs from the manifest they hold: an error naming the
    shard, never old labels with new pixels.

    **An existing export of the same set** (its manifest, or shard files named
    by ``out_pattern``) is refused unless ``overwrite=True``; then it is
    replaced as above, and its shards that the new set does not reuse are
    removed after the new manifest is in place. Other sets in the folder
    (other splits) are left alone.

    Images: with ``encode="keep"``, an image read from a file (visiondata's
    folder, CSV, COCO, VOC and YOLO datasets, without a ``transform``, a
    custom ``loader`` or an overridden ``load_image``) is copied byte for byte, after
    those very bytes were decoded as [`read_image`][visiondata.io.read_image] decodes them (the
    readers' own definition of readable; where the dataset's classification target needs no pixels,
    a JPEG is decoded at the smallest DCT scale, which still decodes and checks its whole compressed
    stream); other images are stored as PNG (lossless). ``"png"`` and
    ``"jpeg"`` (at ``quality``) encode every image. Targets are stored exactly
    (classification ids, multi-hot and regression tensors, boxes with their
    per-box fields, masks). MNIST-style datasets store their ``uint8``
    digits, not the normalised tensors they yield: normalise when reading.

    A file the dataset cannot read follows its ``on_error``: ``"raise"``
    stops, ``"skip"``/``"warn"`` leave the sample out, listed in the report
    and the manifest (never replaced by a neighbour, which would duplicate it).

    Args:
        dataset: A map-style dataset yielding visiondata's schemas.
        out_pattern: Shard paths or URLs, with one ``%d``-style field for the shard number.
        max_count: Samples per shard at most.
        max_size: Bytes per shard at most (a single larger sample still gets its own shard).
        encode: ``"keep"``, ``"jpeg"`` or ``"png"``.
        quality: JPEG quality, 1 to 100.
        num_workers: Processes writing shards; ``0`` writes in this process.
        progress: Show a progress bar on standard error.
        overwrite: Replace an existing export of the same set (see above).
        storage_options: For a URL ``out_pattern``: passed to the fsspec filesystem (``key``, ``secret``,
            ``endpoint_url``, ``client_kwargs``...).

    Returns:
        A [`ShardWriteReport`][visiondata.shards.ShardWriteReport].

    Raises:
        ValueError: An argument is out of range, ``out_pattern`` has no shard-number field, or it is a web
            address (``https://``), which cannot be written to.
        OutputConflictError: The shards' folder is not a folder (a file, ``/dev/null``, a FIFO, or lies
            under one), or an export of the same set is there and ``overwrite`` is false.
        TypeError: The dataset yields something that is not an image and a target.
        MissingDependencyError: The ``webdataset`` package (the ``shards`` extra) is missing, or for a URL,
            fsspec or the filesystem of its scheme (the ``cloud`` extra).

    Examples:
        >>> import tempfile, pathlib
        >>> from PIL import Image
        >>> from visiondata.datasets import ImageFolderDataset
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> for name in ("cat/1.png", "dog/2.png", "dog/3.png"):
        ...     (root / name).parent.mkdir(exist_ok=True)
        ...     Image.new("RGB", (8, 8)).save(root / name)
        >>> report = write_shards(ImageFolderDataset(root), root / "shards" / "train-%06d.tar", max_count=2)
        >>> report.count, [pathlib.Path(path).name for path in report.shards]
        (3, ['train-000000.tar', 'train-000001.tar'])
    """
    pattern = os.fspath(out_pattern)
    _check_arguments(pattern, max_count, max_size, encode, quality, num_workers)
    if storage_options is not None and not isinstance(storage_options, dict):
        raise TypeError(f"storage_options: expected a dict or None, got {type(storage_options).__name__}")
    webdataset_module()  # the readers need it: refuse to write what could not be read back
    from tqdm.auto import tqdm

    from visiondata.shards._destination import destination

    target = destination(pattern, storage_options)
    previous = target.previous(overwrite)
    compress = pattern.endswith((".gz", ".tgz"))
    report = ShardWriteReport(manifest=target.manifest)
    manifest: Manifest | None = None
    length = len(dataset)
    runs = [(start, min(start + max_count, length)) for start in range(0, length, max_count)]
    bar = tqdm(total=length, desc="writing shards", unit="sample", disable=not progress, file=sys.stderr)
    written: Generator[_RunResult, None, None] | None = None
    result = _RunResult()
    try:
        target.prepare()
        written = _write_runs(
            _RecordSource(dataset, encode, quality),
            runs,
            _RunSettings(target.staging, secrets.token_hex(4), _suffix(pattern), compress, max_size),
            num_workers,
            bar,
        )
        for result in written:
            report.skipped.extend(result.skipped)
            report.copied += result.copied
            report.encoded += result.encoded
            if manifest is None and result.image_kind is not None:  # the first sample's image type
                manifest = _new_manifest(dataset, *result.image_kind, encode)
            for shard in result.shards:
                report.shards.append(target.place(shard.path, len(report.shards)))
                report.count += shard.count
                report.bytes += shard.bytes
                if manifest is None:  # pragma: no cover - a run with a shard has a first sample
                    raise AssertionError("a shard without a sample")
                manifest.shards.append(
                    ShardInfo(shard_name(report.shards[-1]), shard.count, shard.bytes, shard.sha256)
                )
        if manifest is None:
            manifest = _new_manifest(dataset, "tensor", "RGB", encode)
        manifest.skipped = report.skipped
        target.commit(
            manifest.to_json()
        )  # the shards into place, then the manifest: the switch to the new set
    except BaseException:
        if written is not None:
            written.close()  # now, not when the traceback goes: the workers stop, their finished runs are removed
        for shard in result.shards:  # the run being placed: its shards not yet handed to the destination
            with contextlib.suppress(OSError):
                os.remove(shard.path)
        target.abort()
        raise
    finally:
        bar.close()
        target.close()
    reused = {shard_name(path) for path in report.shards}
    report.replaced = target.remove([name for name in previous if name not in reused])
    return report


@dataclass
class _RunSettings:
    """How each run's shards are written: where, under which temporary names, compressed or not, how large."""

    staging: str
    token: str
    suffix: str
    compress: bool
    max_size: int

    def path(self, start: int, part: int) -> str:
        return os.path.join(self.staging, f"{PARTIAL_PREFIX}{self.token}-{start:09d}-{part:03d}{self.suffix}")


@dataclass
class _Shard:
    path: str
    count: int
    bytes: int
    sha256: str


@dataclass
class _RunResult:
    """One run's shards (in order), the samples it skipped, what it copied and encoded, its first image's kind."""

    shards: list[_Shard] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    copied: int = 0
    encoded: int = 0
    image_kind: tuple[str, str] | None = None
    #: Warnings a worker process raised (``on_error="warn"``...), raised again in the calling process.
    warnings: list[tuple[str, type[Warning]]] = field(default_factory=list)


def _write_run(
    source: _RecordSource, start: int, stop: int, settings: _RunSettings, advance: Callable[[], None]
) -> _RunResult:
    """Write samples ``start`` to ``stop - 1`` as one or more shard files; on an error, remove them."""
    from visiondata.shards._tar_write import ShardFile, stored_size

    result = _RunResult()
    current: ShardFile | None = None
    current_bytes = 0  # the members' stored sizes in the current shard (what max_size bounds)
    try:
        for index in range(start, stop):
            _, prepared = source[index]
            advance()
            if isinstance(prepared, str):
                result.skipped.append({"index": index, "reason": prepared})
                continue
            members, image_kind, copied = prepared
            if result.image_kind is None:
                result.image_kind = image_kind
            size = sum(stored_size(len(data)) for data in members.values())
            if current is not None and current.count and current_bytes + size > settings.max_size:
                result.shards.append(_finish(current))
                current = None
            if current is None:
                current = ShardFile(settings.path(start, len(result.shards)), settings.compress)
                current_bytes = 0
            current.add(f"{index:09d}", members)
            current_bytes += size
            result.copied += copied
            result.encoded += not copied
        if current is not None:
            result.shards.append(_finish(current))
            current = None
    except BaseException:
        if current is not None:
            current.discard()
        for shard in result.shards:
            with contextlib.suppress(OSError):
                os.remove(shard.path)
        raise
    return result


def _finish(shard: Any) -> _Shard:
    shard.finish()
    return _Shard(shard.path, shard.count, shard.size, shard.sha256.hexdigest())


def _write_runs(
    source: _RecordSource, runs: list[tuple[int, int]], settings: _RunSettings, workers: int, bar: Any
) -> Generator[_RunResult, None, None]:
    """Each run's result, in order: written here one after the other, or by ``workers`` processes."""
    if workers == 0:
        for start, stop in runs:
            yield _write_run(source, start, stop, settings, lambda: bar.update(1))
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, wait

    context = multiprocessing.get_context()
    counter = context.Value("q", 0)
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_start_worker, initargs=(source, counter)
    )
    # Runs handed out ahead of the one being placed: enough to keep the workers busy, few enough that the
    # shards waiting for their upload stay a handful on the local disk, not the whole export.
    ahead = 2 * workers
    futures = [pool.submit(_worker_run, start, stop, settings) for start, stop in runs[:ahead]]
    given = 0
    try:
        for future in futures:  # the list grows by one run for each run done
            while not wait([future], timeout=0.2).done:
                bar.update(counter.value - bar.n)
            bar.update(counter.value - bar.n)
            result = future.result()
            if len(futures) < len(runs):
                start, stop = runs[len(futures)]
                futures.append(pool.submit(_worker_run, start, stop, settings))
            for message, category in result.warnings:
                warnings.warn(message, category, stacklevel=2)
            given += 1
            yield result
    except BaseException:
        for future in futures:
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)  # the runs under way finish: then their files can go
        for future in futures[given:]:
            if future.done() and not future.cancelled() and future.exception() is None:
                for shard in future.result().shards:
                    with contextlib.suppress(OSError):
                        os.remove(shard.path)
        raise
    finally:
        pool.shutdown(wait=True)


_worker_state: dict[str, Any] = {}


def _start_worker(source: _RecordSource, counter: Any) -> None:
    import torch

    torch.set_num_threads(1)  # one process per core: threads inside each would compete
    _worker_state["source"], _worker_state["counter"] = source, counter


def _worker_run(start: int, stop: int, settings: _RunSettings) -> _RunResult:
    counter = _worker_state["counter"]

    def advance() -> None:
        with counter.get_lock():
            counter.value += 1

    with warnings.catch_warnings(record=True) as caught:  # a worker's own would never reach the caller
        result = _write_run(_worker_state["source"], start, stop, settings, advance)
    result.warnings = [(str(warning.message), warning.category) for warning in caught]
    return result


def _suffix(pattern: str) -> str:
    name = os.path.basename(pattern % 0)
    match = re.search(r"\.tar(\.\w+)?$", name)
    return match[0] if match else os.path.splitext(name)[1]


def _check_arguments(
    pattern: str, max_count: int, max_size: int, encode: str, quality: int, workers: int
) -> None:
    try:
        first, second = pattern % 0, pattern % 1
    except (TypeError, ValueError):
        first = second = ""
    if first == second:
        raise ValueError(
            f"out_pattern: expected a path with one shard-number field such as 'out/train-%06d.tar', got {pattern!r}"
        )
    check_positive_int("max_count", max_count)
    check_positive_int("max_size", max_size)
    check_int("quality", quality, minimum=1, maximum=100, expected="an integer from 1 to 100")
    check_choice("encode", encode, ENCODINGS)
    check_int("num_workers", workers, minimum=0, expected="an integer >= 0")


def _new_manifest(given: Any, image_type: str, image_mode: str, encode: str) -> Manifest:
    dataset, _ = _unwrap(given, 0) if len(given) else (given, 0)
    classes = getattr(dataset, "classes", None)
    return Manifest(
        task=_task_of(dataset),
        classes=[str(name) for name in classes] if classes is not None else None,
        image_mode=image_mode,
        image_type=image_type,
        encode=encode,
        source={
            "type": f"{type(dataset).__module__}.{type(dataset).__qualname__}",
            "repr": repr(dataset)[:500],
            "root": str(getattr(dataset, "root", "")),
            "split": _split_name(dataset),
            "length": len(given),
        },
    )


def _split_name(dataset: Any) -> str | None:
    """The source's split name, or ``None``: never the repr of a method (some datasets have a ``split()`` method)."""
    for attribute in ("split", "split_name"):
        value = getattr(dataset, attribute, None)
        if isinstance(value, str) and value:
            return value
    return None


def _task_of(dataset: Any) -> str:
    from visiondata.loaders._build import _is_detection

    task = getattr(dataset, "task", None)
    if isinstance(task, str):
        return task
    if _is_detection(dataset):
        return "detection"
    schema = getattr(dataset, "schema", None)
    return schema if schema in ("segmentation", "captioning") else "classification"


class _RecordSource:
    """Map-style: index -> ``(index, (members, image type, copied))``, or ``(index, reason)`` when skipped."""

    def __init__(self, dataset: Any, encode: str, quality: int) -> None:
        self.dataset = dataset
        self.encode = encode
        self.quality = quality

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple[int, Any]:
        from visiondata.datasets._base import ImageFileDataset
        from visiondata.datasets._mnist import MNISTDataset
        from visiondata.exceptions import ImageReadError
        from visiondata.shards._records import encode_image, encode_target, file_extension, image_kind

        dataset, position = _unwrap(self.dataset, index)
        where = f"sample {index}"
        data = None
        try:
            if isinstance(dataset, ImageFileDataset):
                where = dataset.path(position)
                # Stored byte for byte and paired with its label by the base class, which never looks at
                # the pixels: decoding proves the file readable, nothing more is needed of it.
                proof_only = (
                    self.encode == "keep"
                    and dataset.transform is None
                    and type(dataset)._sample is ImageFileDataset._sample
                )
                image, data = _read_file_sample(dataset, position, where, proof_only)
                image, target = dataset._sample(image, position)
            elif isinstance(dataset, MNISTDataset):
                image, target = dataset.data[position][None], int(dataset.targets[position])
            else:
                image, target = dataset[position]
        except ImageReadError as error:
            policy = getattr(dataset, "on_error", "raise")
            if policy == "raise":
                raise
            if policy == "warn":
                from visiondata.exceptions import SkippedSampleWarning

                warnings.warn(f"not exported: {error}", SkippedSampleWarning, stacklevel=2)
            return index, str(error)
        members: dict[str, bytes] = {}
        copied = data is not None and self.encode == "keep" and dataset.transform is None
        if copied:
            members[file_extension(data, where)] = data
        else:
            extension, encoded = encode_image(image, self.encode, self.quality, where)
            members[extension] = encoded
        encode_target(target, members, where)
        return index, (members, image_kind(image), copied)


def _unwrap(dataset: Any, index: int) -> tuple[Any, int]:
    """The dataset a (nested) ``Subset`` selects from, and the index there."""
    from torch.utils.data import Subset

    while isinstance(dataset, Subset):
        dataset, index = dataset.dataset, int(dataset.indices[index])
    return dataset, index


def _read_file_sample(dataset: Any, index: int, path: str, proof_only: bool) -> tuple[Any, bytes | None]:
    """The image of a file dataset's sample and its file's bytes, under the dataset's own checks.

    With ``proof_only`` (the bytes will be stored as they are, and nothing looks at the pixels), a JPEG
    is decoded at libjpeg-turbo's smallest DCT scale: the whole compressed stream is still decoded and
    checked, strictly, as `read_image` checks it, only the inverse transform to full-size pixels is
    left out (about 40% of the decode). The image returned is then that small one.
    """
    from visiondata.datasets._base import ImageFileDataset
    from visiondata.exceptions import ImageReadError
    from visiondata.io._plan import PlannedImage, read_planned
    from visiondata.io._read import read_file, read_image

    if not dataset.allow_outside_root:
        dataset._check_inside_root(path)
    if dataset.loader is not None or type(dataset).load_image is not ImageFileDataset.load_image:
        return dataset.load_image(path), None  # a custom reader: its image is what gets stored
    data = read_file(path)
    try:
        if not proof_only:
            return read_image(data), data
        image = read_planned(data, _smallest_scale)
        return (image.image if isinstance(image, PlannedImage) else image), data
    except ImageReadError as error:  # given the bytes, read_image names them "<bytes>": name the file
        raise ImageReadError(path, error.reason or "unreadable", error.detail) from error


def _smallest_scale(height: int, width: int) -> Any:
    """A decode plan asking for one output pixel: the smallest DCT scale the image allows."""
    from visiondata.io._plan import DecodePlan

    return DecodePlan(0, 0, height, width, 1, 1)
