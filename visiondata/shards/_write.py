"""``write_shards``: any dataset of visiondata's schemas into WebDataset tar shards plus a manifest."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from visiondata._arguments import check_choice, check_int, check_positive_int
from visiondata._files import atomic_path, refuse_special_output, write_text_atomic
from visiondata.exceptions import DatasetFormatError, OutputConflictError
from visiondata.shards._manifest import (
    MAX_MANIFEST_BYTES,
    Manifest,
    ShardInfo,
    manifest_name,
    shards_of,
    webdataset_module,
)

ENCODINGS = ("keep", "jpeg", "png")
# Each tar member takes a 512-byte header, and its data is padded to a multiple of 512.
_TAR_BLOCK = 512


@dataclass
class ShardWriteReport:
    """What [`write_shards`][visiondata.shards.write_shards] wrote.

    Attributes:
        shards: Paths of the shards written, in order.
        manifest: Path of the manifest.
        count: Samples written.
        copied: Images stored byte for byte from their files.
        encoded: Images encoded (PNG or JPEG).
        skipped: Source samples left out, ``{"index", "reason"}`` (unreadable under a skip policy).
        replaced: Shards of the previous export of the same set, removed once the new one was complete
            (with ``overwrite=True``).
    """

    shards: list[str] = field(default_factory=list)
    manifest: str = ""
    count: int = 0
    copied: int = 0
    encoded: int = 0
    skipped: list[dict[str, Any]] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for people."""
        size = sum(os.path.getsize(path) for path in self.shards if os.path.exists(path))
        return (
            f"{self.count} samples in {len(self.shards)} shards ({size / 2**20:.1f} MiB): {self.copied} images "
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
) -> ShardWriteReport:
    """Write ``dataset`` as WebDataset tar shards, with a manifest beside them.

    Each sample becomes a group of tar members under a nine-digit key (its
    index in ``dataset``): the image, then the target (see
    [`visiondata.shards`][visiondata.shards]), so ``webdataset``, Hugging Face ``datasets`` and
    ``tar`` read the shards too. A new shard starts when the current one holds
    ``max_count`` samples or would pass ``max_size`` bytes. The manifest,
    ``<prefix>.shards.json`` (``train.shards.json`` for ``train-%06d.tar``),
    lists every shard with its sample count, byte size and SHA-256, the task,
    the classes and the source.

    **Whole or not at all.** Shards are written under hidden temporary names
    (``.visiondata-partial-...``) beside their final ones; only when every
    shard is complete are they renamed into place, and the manifest is
    written last, itself by a rename. An export that stops (an unreadable
    file under ``on_error="raise"``, an interruption) leaves the previous
    export of the set untouched, shards and manifest. Readers opening a
    shard while the renames happen find its size or checksum differs from the
    manifest they hold: an error naming the shard, never old labels with new
    pixels.

    **An existing export of the same set** (its manifest, or shard files named
    by ``out_pattern``) is refused unless ``overwrite=True``; then it is
    replaced as above, and its shards that the new set does not reuse are
    removed after the new manifest is in place. Other sets in the folder
    (other splits) are left alone.

    Images: with ``encode="keep"``, an image read from a file (visiondata's
    folder, CSV, COCO, VOC and YOLO datasets, without a ``transform``, a
    custom ``loader`` or an overridden ``load_image``) is copied byte for byte, after
    [`read_image`][visiondata.io.read_image] decoded those very bytes (the readers' own definition of
    readable); other images are stored as PNG (lossless). ``"png"`` and
    ``"jpeg"`` (at ``quality``) encode every image. Targets are stored exactly
    (classification ids, multi-hot and regression tensors, boxes with their
    per-box fields, masks). MNIST-style datasets store their ``uint8``
    digits, not the normalised tensors they yield: normalise when reading.

    A file the dataset cannot read follows its ``on_error``: ``"raise"``
    stops, ``"skip"``/``"warn"`` leave the sample out, listed in the report
    and the manifest (never replaced by a neighbour, which would duplicate it).

    Args:
        dataset: A map-style dataset yielding visiondata's schemas.
        out_pattern: Shard paths, with one ``%d``-style field for the shard number.
        max_count: Samples per shard at most.
        max_size: Bytes per shard at most (a single larger sample still gets its own shard).
        encode: ``"keep"``, ``"jpeg"`` or ``"png"``.
        quality: JPEG quality, 1 to 100.
        num_workers: Worker processes preparing samples (the order stays the dataset's).
        progress: Show a progress bar on standard error.
        overwrite: Replace an existing export of the same set (see above).

    Returns:
        A [`ShardWriteReport`][visiondata.shards.ShardWriteReport].

    Raises:
        ValueError: An argument is out of range or ``out_pattern`` has no shard-number field.
        OutputConflictError: The shards' folder is not a folder (a file, ``/dev/null``, a FIFO, or lies
            under one), or an export of the same set is there and ``overwrite`` is false.
        TypeError: The dataset yields something that is not an image and a target.
        MissingDependencyError: The ``webdataset`` package is missing (the ``shards`` extra).

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
    tar_writer = webdataset_module().TarWriter
    from tqdm.auto import tqdm

    folder = os.path.dirname(pattern) or "."
    refuse_special_output(folder, "the shards' folder")
    manifest_path = os.path.join(os.path.dirname(pattern), manifest_name(os.path.basename(pattern % 0)))
    previous = _previous_export(folder, manifest_path, pattern, overwrite)
    compress = tar_writer.tarmode(pattern % 0).partition("|")[2] or False

    report = ShardWriteReport(manifest=manifest_path)
    manifest: Manifest | None = None
    writer = shard_file = None
    shard_count = shard_bytes = 0
    os.makedirs(folder, exist_ok=True)
    records = _records(dataset, encode, quality, num_workers)
    # Each shard is written to a temporary name (atomic_path); the ExitStack renames them all into
    # place only once the last one is complete, or removes them all if the export stops.
    with contextlib.ExitStack() as pending:
        try:
            for index, prepared in tqdm(
                records,
                total=len(dataset),
                desc="writing shards",
                unit="sample",
                disable=not progress,
                file=sys.stderr,
            ):
                if isinstance(prepared, str):
                    report.skipped.append({"index": index, "reason": prepared})
                    continue
                members, (image_type, image_mode), copied = prepared
                if manifest is None:  # after the first sample: its image type
                    manifest = _new_manifest(dataset, image_type, image_mode, encode)
                size = sum(_TAR_BLOCK + -(-len(data) // _TAR_BLOCK) * _TAR_BLOCK for data in members.values())
                if writer is not None and (shard_count >= max_count or shard_bytes + size > max_size):
                    _finish(writer, shard_file, manifest.shards[-1])
                    writer = shard_file = None
                if writer is None:
                    path = pattern % len(report.shards)
                    partial = pending.enter_context(atomic_path(path))
                    shard_file = _HashingFile(partial)
                    report.shards.append(path)
                    manifest.shards.append(ShardInfo(os.path.basename(path), 0))
                    writer = tar_writer(shard_file, encoder=False, mtime=0, compress=compress)
                    shard_count = shard_bytes = 0
                writer.write({"__key__": f"{index:09d}", **members})
                shard_count += 1
                shard_bytes += size
                manifest.shards[-1].count += 1
                report.count += 1
                report.copied += copied
                report.encoded += not copied
            if writer is not None:
                _finish(writer, shard_file, manifest.shards[-1])  # type: ignore[union-attr]
                writer = shard_file = None
        finally:
            if shard_file is not None:  # stopped inside a shard: close it before atomic_path removes it
                with contextlib.suppress(Exception):
                    writer.close()  # type: ignore[union-attr]  # else tarfile writes to a closed file later
                shard_file.close()
    if manifest is None:
        manifest = _new_manifest(dataset, "tensor", "RGB", encode)
    manifest.skipped = report.skipped
    write_text_atomic(manifest_path, manifest.to_json())  # last: the switch to the new set
    written = {os.path.basename(path) for path in report.shards}
    for name in previous:
        if name not in written:
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(folder, name))
                report.replaced.append(os.path.join(folder, name))
    return report


class _HashingFile:
    """A file written in order whose SHA-256 and size are counted on the way (no second read)."""

    def __init__(self, path: Path) -> None:
        self._stream = open(path, "wb")  # noqa: SIM115 - closed by _finish, or on error by write_shards
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.size += len(data)
        return self._stream.write(data)

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        self._stream.flush()

    def close(self) -> None:
        self._stream.close()


def _finish(writer: Any, shard_file: _HashingFile, info: ShardInfo) -> None:
    writer.close()
    shard_file.close()
    info.bytes, info.sha256 = shard_file.size, shard_file.sha256.hexdigest()


def _previous_export(folder: str, manifest_path: str, pattern: str, overwrite: bool) -> list[str]:
    """The shard names of the export of the same set already in ``folder``; refused unless ``overwrite``."""
    from visiondata.shards._manifest import Manifest

    manifest_file = os.path.basename(manifest_path)
    try:
        listing = os.listdir(folder)
    except FileNotFoundError:
        return []
    shards = shards_of(listing, manifest_file)
    has_manifest = os.path.lexists(manifest_path)
    if not shards and not has_manifest:
        return []
    if not overwrite:
        found = f"{manifest_path}" if has_manifest else f"{len(shards)} shard files ({shards[0]}...)"
        raise OutputConflictError(
            f"{folder}: expected no export of the set {manifest_file[: -len('.shards.json')]!r} there, got "
            f"{found}; old and new shards would mix: choose another folder or split, or pass overwrite=True "
            "(--overwrite) to replace that set once the new one is complete"
        )
    # Removed once the new set is in place: the files the old manifest lists and those out_pattern
    # names; other files that merely look like shards of the set are left (and named by readers).
    field = re.compile(r"%[-#0 +]*\d*d")
    parts = field.split(re.escape(os.path.basename(pattern)).replace("%%", "%"))
    named = re.compile(r"(\d+)".join(parts)) if len(parts) == 2 else None
    names = set()
    for name in shards:
        match = named.fullmatch(name) if named is not None else None
        if match and os.path.basename(pattern % int(match[1])) == name:
            names.add(name)
    if has_manifest:
        # Names the old manifest lists are shards of the previous generation too; a manifest that cannot
        # be read is simply replaced (its files named like the set's shards are still removed).
        from visiondata._files import read_regular_file

        with contextlib.suppress(DatasetFormatError, UnicodeDecodeError):
            text = read_regular_file(manifest_path, "shard manifest", MAX_MANIFEST_BYTES).decode("utf-8")
            listed = [shard.name for shard in Manifest.from_json(text, manifest_path).shards]
            names.update(shards_of(listed, manifest_file))  # only files of this set are ever removed
    if os.path.isdir(manifest_path) and not os.path.islink(manifest_path):
        raise OutputConflictError(
            f"{manifest_path}: expected the set's manifest file, got a folder; remove it"
        )
    return sorted(names)


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


def _records(dataset: Any, encode: str, quality: int, num_workers: int) -> Iterator[tuple[int, Any]]:
    source = _RecordSource(dataset, encode, quality)
    if num_workers == 0:
        yield from (source[index] for index in range(len(dataset)))
        return
    from torch.utils.data import DataLoader

    yield from DataLoader(source, batch_size=None, num_workers=num_workers, collate_fn=_unchanged)


def _unchanged(item: Any) -> Any:
    return item


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
                image, data = _read_file_sample(dataset, position)
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


def _read_file_sample(dataset: Any, index: int) -> tuple[Any, bytes | None]:
    """The image of a file dataset's sample and its file's bytes, under the dataset's own checks."""
    from visiondata.datasets._base import ImageFileDataset
    from visiondata.exceptions import ImageReadError
    from visiondata.io._read import read_file, read_image

    path = dataset.path(index)
    if not dataset.allow_outside_root:
        dataset._check_inside_root(path)
    if dataset.loader is not None or type(dataset).load_image is not ImageFileDataset.load_image:
        return dataset.load_image(path), None  # a custom reader: its image is what gets stored
    data = read_file(path)
    try:
        return read_image(data), data
    except ImageReadError as error:  # given the bytes, read_image names them "<bytes>": name the file
        raise ImageReadError(path, error.reason or "unreadable", error.detail) from error
