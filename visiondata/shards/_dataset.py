"""``ShardDataset``: stream WebDataset shards back as the samples they were written from."""

from __future__ import annotations

import hashlib
import os
import random
import re
import stat
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

import torch
from torch.utils.data import IterableDataset, get_worker_info

from visiondata._arguments import check_choice, check_int, check_positive_int
from visiondata.shards import _remote
from visiondata.shards._manifest import (
    MANIFEST_SUFFIX,
    MAX_MANIFEST_BYTES,
    Manifest,
    ShardInfo,
    manifest_name,
    shard_name,
    shards_of,
    webdataset_module,
)

DECODES = ("tensor", "pil")
ON_ERROR = ("raise", "skip", "warn")
#: Default byte limits of one member, by kind, checked from its tar header before it is read.
MAX_IMAGE_MEMBER_BYTES = 1 << 30
MAX_ARRAY_MEMBER_BYTES = 256 << 20
MAX_OTHER_MEMBER_BYTES = 64 << 20
_DEFAULT_LIMITS = {
    **dict.fromkeys(
        ("jpg", "jpeg", "png", "webp", "bmp", "ppm", "pgm", "tif", "tiff", "gif", "img"),
        MAX_IMAGE_MEMBER_BYTES,
    ),
    "npy": MAX_ARRAY_MEMBER_BYTES,
}


class ShardDataset(IterableDataset):
    """The samples of a shard set written by [`write_shards`][visiondata.shards.write_shards], streamed shard by shard.

    Sources: a folder holding shard sets (``split`` picks ``<split>.shards.json``),
    a brace pattern (``out/train-{000000..000127}.tar``), or a list of paths. The
    same in object storage and on web servers, through fsspec (the ``cloud``
    extra): a prefix (``s3://bucket/prefix``, read by ``split`` as a folder is; a
    web server's directory page is read the same way), a brace pattern
    (``https://host/prefix/train-{000000..000127}.tar``) or a list of URLs; the
    manifest is found beside the shards as on disk, or given by ``manifest=``.
    Remote shards are streamed in blocks, never downloaded whole; a dropped
    connection is reopened where it broke off, up to ``retries`` times per
    failure, before the shard is named in an error. Credentials and endpoints
    come from where the filesystem looks for them (for S3: the ``AWS_*``
    environment variables, ``AWS_ENDPOINT_URL`` included for S3-compatible
    stores, and the profiles of ``~/.aws``) or from ``storage_options``; the
    dataset keeps no more than the ``storage_options`` it is given. ``pipe:``
    URLs, such as ``pipe:aws s3 cp s3://bucket/train-000000.tar -``, are run by
    ``webdataset`` (pass ``manifest=`` with the manifest's URL then); ``file://``
    URLs are local paths. The manifest gives the length, the classes and how to
    rebuild samples; images decode through
    [`visiondata.io.read_image`][visiondata.io.read_image], so the pixels are those of the source files.

    **Splitting.** Each epoch, the shards are dealt to the ``torch.distributed``
    ranks (``shards[rank::world_size]``) and, within a rank, to its DataLoader
    workers. With ``resampled=False`` every shard goes to exactly one rank and
    worker, so an epoch visits every sample exactly once, whatever the
    counts. When the shards do not divide evenly among the ranks, ranks get
    different numbers of samples (a warning says so): DDP then needs
    ``drop_last``-style care, or ``resampled=True``, or a re-export with a
    multiple of ``world_size x num_workers`` shards. Nothing is ever
    duplicated or dropped. With ``resampled=True`` each rank and worker draws
    shards at random (with replacement) for exactly ``len(dataset)`` samples
    per rank: equal epochs everywhere, each sample seen about once.

    **Checks against the manifest.** The manifest lists each shard's name, sample
    count, byte size and SHA-256. For local shards, a shard missing, not a
    regular file (a FIFO, a link to a device: refused before it is opened), of
    another size than listed, or (reading a folder) a shard file of the set
    the manifest does not list, is a ``DatasetFormatError`` naming it, when
    the dataset is created and again when each shard is opened (a ``stat``, no
    extra reading). Reading a prefix, the same is checked when the dataset is
    created from the prefix's listing (sizes where the server lists them:
    object stores do, web servers' pages do not); every remote shard is checked
    again when it is opened (missing; another size, where the server says the
    size). The SHA-256 is checked by [`verify`][visiondata.shards.ShardDataset.verify]
    (local and remote shards), and when a local shard fails to parse (the
    error then says whether the file differs from the one written). For every
    shard, including ``pipe:`` ones, which cannot be checked before they are
    read, the samples are counted: a shard holding fewer *or more* samples
    than listed is an error, and no sample beyond the count is yielded.

    **Members.** Each tar member's size is checked from its header before it is
    read: ``max_member_bytes`` (default 1 GiB for images, 256 MiB for ``.npy``,
    64 MiB for other members). Garbled headers, negative or oversized member
    sizes, damaged gzip data, and targets that cannot be rebuilt (invalid or
    deeply nested JSON, unknown dtypes, shapes that do not match) are named
    errors with the shard and key, which ``on_error="skip"`` records and skips.

    **Order.** ``shuffle_buffer=0`` reads in written order. Otherwise the
    shard order is shuffled per epoch, and samples pass through a buffer of
    that many, drawn at random; both are seeded by ``seed``, the epoch, the
    rank and the worker, so a run repeats. `set_epoch` chooses the
    epoch; each further iteration of the same object (a persistent worker's
    copy, or the dataset itself without workers) moves to the next epoch.

    Args:
        urls: Folder or prefix URL, brace pattern, list of paths or URLs.
        split: With a folder or prefix: the shard set (``"train"`` reads ``train.shards.json``).
        shuffle_buffer: Samples in the shuffle buffer; ``0`` keeps the written order.
        transform: As on the source dataset: called on the image, or on
            ``(image, target)`` for detection and segmentation.
        target_transform: Called on the target.
        decode: ``"tensor"`` gives images as the source did (``uint8`` tensor or
            ``tv_tensors.Image``); ``"pil"`` gives PIL images.
        resampled: Draw shards with replacement (see above).
        seed: Seed of every shuffle.
        manifest: The manifest's path or URL, when it cannot be found beside the shards.
        on_error: ``"raise"``, ``"skip"`` or ``"warn"`` for a damaged sample or
            shard; skipped ones are recorded in `errors` (per process).
        max_member_bytes: The largest tar member read, in bytes, for every kind of member;
            ``None`` uses the defaults above.
        scaled_decode: Decode each JPEG for the output when the transform offers a plan
            (``presets.classification_train``; a ``BoxPipeline`` starting with a resize for detection
            and segmentation shards): ``None`` (default) follows ``visiondata.io.set_scaled_decode``,
            ``True`` plans whenever the transform offers one, ``False`` decodes every image exactly.
        storage_options: Options of the fsspec filesystem of remote URLs, as it takes them (for S3:
            ``key``, ``secret``, ``client_kwargs={"endpoint_url": ...}``, ``profile``...); ``None`` leaves
            them to the environment. Kept on the dataset (DataLoader workers get a copy).
        retries: How often a dropped connection to a remote shard or manifest is retried (each time
            waiting longer, from where it broke off) before the error names it; ``0`` for never.

    Attributes:
        manifest: The [`Manifest`][visiondata.shards.Manifest].
        urls: The shards, in written order.
        classes: Class names (``None`` when the source had none).
        task: The source dataset's task.
        errors: What was skipped: shard and key -> cause.

    Raises:
        DatasetNotFoundError: No manifest where one is looked for, or nothing under a prefix URL.
        DatasetFormatError: The manifest is not one (or is a FIFO, a device, too large), does not
            list a shard given, or a local shard is missing, not a regular file, of another size than
            listed, or a shard of the set is in the folder but not in the manifest; for a prefix, a
            shard missing from its listing or listed with another size, or a shard of the set in the
            prefix but not in the manifest.
        DownloadError: A remote manifest or prefix could not be read (the connection failed after
            ``retries`` retries, access was refused); while iterating, the same for a remote shard
            (``on_error="skip"`` records it).
        MissingDependencyError: A remote URL without fsspec or its filesystem's package installed.

    Examples:
        >>> import tempfile, pathlib
        >>> from PIL import Image
        >>> from visiondata.datasets import ImageFolderDataset
        >>> from visiondata.shards import write_shards
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> for name in ("cat/1.png", "dog/2.png"):
        ...     (root / name).parent.mkdir(exist_ok=True)
        ...     Image.new("RGB", (8, 8)).save(root / name)
        >>> _ = write_shards(ImageFolderDataset(root), root / "out" / "train-%06d.tar")
        >>> shards = ShardDataset(root / "out", split="train", shuffle_buffer=0)
        >>> len(shards), shards.classes, [(image.shape, label) for image, label in shards]
        (2, ['cat', 'dog'], [(torch.Size([3, 8, 8]), 0), (torch.Size([3, 8, 8]), 1)])
    """

    def __init__(
        self,
        urls: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        split: str | None = None,
        shuffle_buffer: int = 1000,
        transform: Callable[..., Any] | None = None,
        target_transform: Callable[[Any], Any] | None = None,
        decode: str = "tensor",
        resampled: bool = False,
        seed: int = 0,
        manifest: str | os.PathLike[str] | None = None,
        on_error: str = "raise",
        max_member_bytes: int | None = None,
        scaled_decode: bool | None = None,
        storage_options: dict[str, Any] | None = None,
        retries: int = _remote.RETRIES,
    ) -> None:
        decode = check_choice("decode", decode, DECODES)
        if scaled_decode is not None and not isinstance(scaled_decode, bool):
            raise TypeError(f"scaled_decode: expected True, False or None, got {scaled_decode!r}")
        self.scaled_decode = scaled_decode
        on_error = check_choice("on_error", on_error, ON_ERROR)
        shuffle_buffer = check_int("shuffle_buffer", shuffle_buffer, minimum=0, expected="an integer >= 0")
        if max_member_bytes is not None:
            max_member_bytes = check_positive_int(
                "max_member_bytes", max_member_bytes, expected="a positive integer or None"
            )
        if storage_options is not None and not isinstance(storage_options, dict):
            raise TypeError(
                "storage_options: expected a dict of options of the fsspec filesystem (for S3: key, secret, "
                f"client_kwargs...) or None, got {type(storage_options).__name__}"
            )
        # Plain data only, never a filesystem object: the dataset is pickled for DataLoader workers, and
        # each process makes its own filesystem from these (fsspec caches it per process).
        self.storage_options = dict(storage_options) if storage_options is not None else None
        self.retries = check_int("retries", retries, minimum=0, expected="an integer >= 0")
        webdataset_module()
        located = _locate(urls, split, manifest, self.storage_options, self.retries)
        manifest_location = located.manifest_location
        self.urls = located.urls
        self.manifest = located.manifest or _read_manifest(
            manifest_location, self.storage_options, self.retries
        )
        self._manifest_location = manifest_location
        self._shards = _listed(self.urls, self.manifest, manifest_location)
        self._counts = [shard.count for shard in self._shards]
        for url, shard in zip(self.urls, self._shards, strict=True):
            if _is_local(url):
                _check_local_shard(url, os.stat, shard, manifest_location)
            elif located.sizes is not None:
                _check_listed_shard(url, located.sizes, shard, manifest_location)
        self.max_member_bytes = max_member_bytes
        #: The split asked for, else the split of the source dataset (for ``build_loader``'s shuffle default).
        self.split = split or self.manifest.source.get("split") or None
        self.classes = self.manifest.classes
        self.class_to_idx = None if self.classes is None else {name: i for i, name in enumerate(self.classes)}
        self.task = self.manifest.task
        self.shuffle_buffer = shuffle_buffer
        self.transform = transform
        self.target_transform = target_transform
        self.decode = decode
        self.resampled = bool(resampled)
        self.seed = seed
        self.on_error = on_error
        self.errors: dict[str, str] = {}
        self._epoch = 0
        self._iterations = 0
        self._warned = False
        self._place = _rank()

    def __getstate__(self) -> dict[str, Any]:
        # Pickled in the main process for spawned DataLoader workers, which have no process group
        # of their own: they take the rank the main process has now.
        state = dict(self.__dict__)
        state["_place"] = _rank()
        return state

    # ------------------------------------------------------------ epochs and splitting
    def set_epoch(self, epoch: int) -> None:
        """Use ``epoch``'s shard order and shuffle for the next iteration (the one after moves to ``epoch + 1``)."""
        self._epoch, self._iterations = int(epoch), 0

    @property
    def epoch(self) -> int:
        """The epoch the next iteration reads."""
        return self._epoch + self._iterations

    def _order(self, epoch: int) -> list[int]:
        order = list(range(len(self.urls)))
        if self.shuffle_buffer > 0:
            random.Random(_seed(self.seed, epoch)).shuffle(order)
        return order

    def __len__(self) -> int:
        """Samples this rank reads in the coming epoch (all ranks together read every sample once)."""
        rank, world_size = _rank(self._place)
        if self.resampled:
            return sum(self._counts) // world_size
        return sum(self._counts[shard] for shard in self._order(self.epoch)[rank::world_size])

    def __iter__(self) -> Iterator[Any]:
        epoch = self.epoch
        self._iterations += 1
        rank, world_size = _rank(self._place)
        information = get_worker_info()
        worker, workers = (0, 1) if information is None else (information.id, information.num_workers)
        rng = random.Random(_seed(self.seed, epoch, rank, worker))
        if self.resampled:
            quota = sum(self._counts) // world_size
            quota = quota // workers + (worker < quota % workers)
            stream = self._resampled(rng, quota)
        else:
            mine = self._order(epoch)[rank::world_size][worker::workers]
            if worker == 0:
                self._warn_if_uneven(world_size)
            stream = (sample for shard in mine for sample in self._samples(shard))
        if self.shuffle_buffer > 1:
            stream = _buffer_shuffle(stream, self.shuffle_buffer, rng)
        for sample in stream:
            decoded = self._decode(sample)
            if decoded is not None:
                yield decoded

    def _resampled(self, rng: random.Random, quota: int) -> Iterator[dict[str, Any]]:
        produced = 0
        while produced < quota:
            shard = rng.randrange(len(self.urls))
            for sample in self._samples(shard):
                yield sample
                produced += 1
                if produced == quota:
                    return

    def _warn_if_uneven(self, world_size: int) -> None:
        shards = len(self.urls)
        if self._warned or shards % world_size == 0:
            return
        self._warned = True
        warnings.warn(
            f"{shards} shards over {world_size} ranks: some ranks read {shards // world_size + 1} shards, others "
            f"{shards // world_size}; every sample is still read exactly once per epoch, but the ranks get "
            "different numbers of samples, which DistributedDataParallel needs to be equal (use resampled=True, "
            "or export a multiple of the number of ranks of shards)",
            stacklevel=3,
        )

    # ------------------------------------------------------------ reading shards
    def _samples(self, position: int) -> Iterator[dict[str, Any]]:
        """The samples of one shard, each a dict of its members' bytes plus ``__key__`` and ``__url__``."""
        from visiondata.exceptions import DatasetFormatError, DownloadError
        from visiondata.shards._tar import TarStreamError, tar_members

        url, listed = self.urls[position], self._shards[position]
        expected = listed.count
        current: dict[str, Any] = {}
        count = 0
        try:
            with _open_shard(
                url, listed, self._manifest_location, self.storage_options, self.retries
            ) as stream:
                for member, data in tar_members(stream, self._member_limit):
                    key, _, extension = os.path.basename(member).partition(".")
                    if current and key != current["__key__"]:
                        count += 1
                        if count > expected:
                            break
                        yield current
                        current = {}
                    if not current:
                        current = {"__key__": key, "__url__": url}
                    current[extension] = data
                else:
                    if current:
                        count += 1
                        if count <= expected:
                            yield current
        except DatasetFormatError as error:  # refused before opening: special file, wrong size, missing
            if self.on_error == "raise":
                raise
            self._skip(url, str(error))
            return
        except DownloadError as error:  # a remote shard whose connection failed, retries included
            failure = error
            if count or current:
                failure = DownloadError(f"{error}; the {count} samples before the failure were read")
            if self.on_error == "raise":
                raise failure from error.__cause__
            self._skip(url, str(failure))
            return
        except (TarStreamError, OSError, EOFError) as error:
            failure = DatasetFormatError(
                f"{url}: damaged shard: {error}; the samples before it were read; "
                f"{_checksum_verdict(url, listed)}write the shard again (or fetch it again)"
            )
            if self.on_error == "raise":
                raise failure from error
            self._skip(url, str(failure))
            return
        if count != expected:
            more = count > expected
            failure = DatasetFormatError(
                f"{url}: damaged shard: it holds {'more than ' if more else ''}{count - more} samples, its "
                f"manifest says {expected}; "
                + (
                    "the samples beyond the manifest's count were not read: the shard is not the one the "
                    f"manifest was written with ({_checksum_verdict(url, listed).rstrip('; ') or 'checked by count'}): "
                    "export the set again, or pass the manifest written with it"
                    if more
                    else "the file was cut short at a member's end: write the shard again (or fetch it again)"
                )
            )
            if self.on_error == "raise":
                raise failure
            self._skip(url, str(failure))

    def _member_limit(self, name: str) -> int:
        if self.max_member_bytes is not None:
            return self.max_member_bytes
        return _DEFAULT_LIMITS.get(name.rsplit(".", 1)[-1].lower(), MAX_OTHER_MEMBER_BYTES)

    def verify(self) -> None:
        """Check every shard against the manifest: present, its size and its SHA-256 (local shards: a regular file).

        Reads each shard once, whole (about as long as reading an epoch without decoding); remote
        shards are streamed, with the retries of ``retries``. Shards read through a ``pipe:`` are left
        out (their counts are checked while reading).

        Raises:
            DatasetFormatError: The first shard that differs, named, with what differs.
            DownloadError: A remote shard could not be read (the connection failed after the retries).
        """
        from visiondata.exceptions import DatasetFormatError

        for url, listed in zip(self.urls, self._shards, strict=True):
            if _remote.is_pipe(url):
                continue
            if _is_local(url):
                _check_local_shard(url, os.stat, listed, self._manifest_location)
                actual = _sha256(url)
            else:
                size, actual = _remote_sha256(
                    url, listed, self._manifest_location, self.storage_options, self.retries
                )
                if listed.bytes and size != listed.bytes:
                    raise DatasetFormatError(_size_differs(url, self._manifest_location, listed.bytes, size))
            if listed.sha256 is not None and actual != listed.sha256:
                raise DatasetFormatError(
                    f"{url}: expected the shard {self._manifest_location} lists (sha256 {listed.sha256[:16]}...), "
                    f"got another file of the same size (sha256 {actual[:16]}...): the shard was replaced or "
                    "damaged since it was written; export the set again"
                )

    def _decode(self, sample: dict[str, Any]) -> Any:
        from PIL import Image
        from torchvision import tv_tensors

        from visiondata.exceptions import ImageReadError
        from visiondata.io import read_image
        from visiondata.io._plan import PlannedImage, read_planned
        from visiondata.shards._records import decode_target, image_member

        where = f"{sample['__url__']}: key {sample['__key__']}"
        try:
            extension = image_member(sample)
            if extension is None:
                raise ImageReadError(
                    where,
                    "no image member",
                    f"members: {sorted(k for k in sample if not k.startswith('__'))}",
                )
            planner = self._planner()
            try:
                if planner is None:
                    image = read_image(sample[extension], mode=self.manifest.image_mode)
                else:
                    image = read_planned(sample[extension], planner, mode=self.manifest.image_mode)
            except ImageReadError as error:
                raise ImageReadError(
                    f"{where} ({extension})", error.reason or "unreadable", error.detail
                ) from error
            if isinstance(image, PlannedImage):
                # Decoded for the transform's plan, which finishes it: the target sees the full size.
                target = decode_target(sample, where, image.full_size)
                if self.task in ("detection", "segmentation"):
                    image, target = self.transform(image, target)  # type: ignore[misc]
                    if self.manifest.image_type == "tensor":
                        image = image.as_subclass(torch.Tensor)  # the pipeline gives what datasets give
                else:
                    image = self.transform(image)  # type: ignore[misc]
                if self.target_transform is not None:
                    target = self.target_transform(target)
                return image, target
            target = decode_target(sample, where, tuple(image.shape[-2:]))
        except ImageReadError as error:
            if self.on_error == "raise":
                raise
            self._skip(where, str(error))
            return None
        if self.decode == "pil":
            array = image.permute(1, 2, 0).numpy()
            image = Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array)
        elif self.manifest.image_type == "tv_image":
            image = tv_tensors.Image(image)
        elif self.manifest.image_type == "numpy":
            image = image.permute(1, 2, 0).numpy()
        if self.transform is not None:
            if self.task in ("detection", "segmentation"):
                image, target = self.transform(image, target)
            else:
                image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    #: Decode for the output (see ``visiondata.io.read_planned``): ``None`` (default) decodes each JPEG
    #: at the smallest DCT scale the transform's plan allows when the transform offers one
    #: (``presets.classification_train``; for detection and segmentation shards a ``BoxPipeline``
    #: starting with a resize, ``presets.detection_train``) and ``visiondata.io.set_scaled_decode`` is
    #: on; ``False`` decodes every image exactly. Shards with ``decode="tensor"`` of tensor images only.
    scaled_decode: bool | None = None

    def _planner(self) -> Any:
        """The transform's ``decode_plan`` when images are decoded for it, else ``None``."""
        from visiondata.io._plan import decode_planner, scaled_decode

        if self.scaled_decode is False or self.transform is None or self.decode != "tensor":
            return None
        if self.scaled_decode is None and not scaled_decode():
            return None
        if self.manifest.image_type == "numpy":
            return None  # the source gave arrays, which the transform keeps
        if self.manifest.image_mode != "RGB":
            return None  # the presets' plans are for three channels
        return decode_planner(self.transform)

    def _skip(self, where: str, cause: str) -> None:
        from visiondata.exceptions import SkippedSampleWarning

        first_time = where not in self.errors
        self.errors[where] = cause
        if self.on_error == "warn" and first_time:
            warnings.warn(f"skipped {cause}", SkippedSampleWarning, stacklevel=3)

    def __repr__(self) -> str:
        return (
            f"ShardDataset({len(self.urls)} shards, {sum(self._counts)} samples, task {self.task!r}, "
            f"{'resampled' if self.resampled else 'each sample once per epoch'})"
        )


# ---------------------------------------------------------------- helpers
def _seed(*parts: int) -> int:
    # random.Random accepts any int; mixing with a large odd multiplier keeps (seed, epoch) pairs apart.
    value = 0
    for part in parts:
        value = (value * 1_000_003 + int(part)) % (1 << 63)
    return value


def _rank(known: tuple[int, int] = (0, 1)) -> tuple[int, int]:
    """``(rank, world size)``: from ``RANK``/``WORLD_SIZE`` (torchrun), the process group, else ``known``."""
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:
        return int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return known


def _buffer_shuffle(stream: Iterator[Any], size: int, rng: random.Random) -> Iterator[Any]:
    buffer: list[Any] = []
    for item in stream:
        if len(buffer) < size:
            buffer.append(item)
            continue
        position = rng.randrange(size)
        buffer[position], item = item, buffer[position]
        yield item
    rng.shuffle(buffer)
    yield from buffer


def _open(url: str) -> Any:
    from webdataset.gopen import gopen

    return gopen(url, "rb")


def _open_shard(
    url: str,
    listed: ShardInfo,
    manifest: str,
    storage_options: dict[str, Any] | None = None,
    retries: int = _remote.RETRIES,
) -> Any:
    """A shard's stream; a local one is refused before opening if it is not a regular file of the listed size,
    a remote one if it is missing or the server gives another size than listed."""
    if _remote.is_pipe(url):
        return _open(url)
    if not _is_local(url):
        return _open_remote_shard(url, listed, manifest, storage_options, retries)
    _check_local_shard(url, os.stat, listed, manifest)
    # O_NONBLOCK: should the file be swapped for a FIFO after the check, opening it does not wait.
    descriptor = os.open(url, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        _check_local_shard(url, os.fstat, listed, manifest, descriptor)  # the file that was opened
    except BaseException:
        os.close(descriptor)
        raise
    return open(descriptor, "rb", buffering=8192)  # as webdataset.gopen opens local files


def _check_local_shard(
    url: str, stat_of: Callable[[Any], os.stat_result], listed: ShardInfo, manifest: str, target: Any = None
) -> None:
    from visiondata._files import file_kind
    from visiondata.exceptions import DatasetFormatError

    try:
        info = stat_of(url if target is None else target)
    except FileNotFoundError:
        raise DatasetFormatError(_shard_missing(url, manifest)) from None
    except OSError as error:
        raise DatasetFormatError(f"{url}: cannot open the shard: {error.strerror or error}") from error
    if not stat.S_ISREG(info.st_mode):
        raise DatasetFormatError(
            f"{url}: expected a shard (a regular tar file), got {file_kind(info.st_mode)}; special files are "
            "never opened: replace it with the shard it stands for"
        )
    if listed.bytes and info.st_size != listed.bytes:
        raise DatasetFormatError(_size_differs(url, manifest, listed.bytes, info.st_size))


def _shard_missing(url: str, manifest: str) -> str:
    return (
        f"{url}: expected the shard {manifest} lists, found nothing: the set is incomplete; "
        "export it again (or fetch the missing shard)"
    )


def _size_differs(url: str, manifest: str, listed_bytes: int, actual_bytes: int) -> str:
    return (
        f"{url}: expected the shard {manifest} lists ({listed_bytes:,} bytes), got {actual_bytes:,} bytes: "
        "the shard was replaced, cut short or is being rewritten since the manifest was read; "
        "export the set again, or pass the manifest written with these shards"
    )


def _check_listed_shard(url: str, sizes: dict[str, int | None], listed: ShardInfo, manifest: str) -> None:
    """A remote shard against its prefix's listing (``sizes``: name -> bytes, ``None`` where not listed)."""
    from visiondata.exceptions import DatasetFormatError

    name = shard_name(url)
    if name not in sizes:
        raise DatasetFormatError(_shard_missing(url, manifest))
    size = sizes[name]
    if listed.bytes and size is not None and size != listed.bytes:
        raise DatasetFormatError(_size_differs(url, manifest, listed.bytes, size))


class _RemoteShard:
    """A remote shard's `RetryingReader`, whose failures (the retries spent) become a ``DownloadError`` naming it."""

    def __init__(self, reader: _remote.RetryingReader) -> None:
        self._reader = reader

    def read(self, size: int = -1) -> bytes:
        try:
            return self._reader.read(size)
        except OSError as error:
            raise _unreachable(self._reader.url, "the shard", error) from error

    def close(self) -> None:
        self._reader.close()

    def __enter__(self) -> _RemoteShard:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _open_remote_shard(
    url: str, listed: ShardInfo, manifest: str, storage_options: dict[str, Any] | None, retries: int
) -> _RemoteShard:
    from visiondata.exceptions import DatasetFormatError

    try:
        reader = _remote.RetryingReader(url, storage_options, retries)
    except FileNotFoundError:
        raise DatasetFormatError(_shard_missing(url, manifest)) from None
    except OSError as error:
        raise _unreachable(url, "the shard", error) from error
    size = reader.size  # from the response that opened it: no extra request
    if listed.bytes and size is not None and size != listed.bytes:
        reader.close()
        raise DatasetFormatError(_size_differs(url, manifest, listed.bytes, size))
    return _RemoteShard(reader)


def _remote_sha256(
    url: str, listed: ShardInfo, manifest: str, storage_options: dict[str, Any] | None, retries: int
) -> tuple[int, str]:
    """The byte count and SHA-256 of a remote shard, streamed once."""
    digest = hashlib.sha256()
    size = 0
    with _open_remote_shard(url, listed, manifest, storage_options, retries) as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


def _unreachable(url: str, what: str, error: BaseException) -> Exception:
    """A ``DownloadError`` naming ``url``: ``what`` could not be read, and why."""
    from visiondata.exceptions import DownloadError

    text = str(error)
    # The RetryingReader's own account (the byte reached, the retries, the fix) starts with the URL.
    if text.startswith(f"{url}: "):
        cause = text[len(url) + 2 :]
    else:
        cause = (
            f"{type(error).__name__}: {text}; check the URL, the credentials and the endpoint (for S3 the "
            "AWS_* environment variables, AWS_ENDPOINT_URL included, the profile, or storage_options=)"
        )
    return DownloadError(f"{url}: cannot read {what}: {cause}")


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _checksum_verdict(url: str, listed: ShardInfo) -> str:
    """After a shard failed to parse: whether it is still the file that was written (local shards only)."""
    if not _is_local(url) or listed.sha256 is None:
        return ""
    try:
        same = _sha256(url) == listed.sha256
    except OSError:
        return ""
    if same:
        return "its SHA-256 matches the manifest: it was written this way; "
    return "its SHA-256 differs from the manifest's: it was replaced or damaged since it was written; "


def _is_local(url: str) -> bool:
    return "://" not in url and not url.startswith("pipe:")


class _Located(NamedTuple):
    """Where the shards and their manifest are, and what was learnt finding them."""

    urls: list[str]
    manifest_location: str
    #: The manifest, when it was read to find the shards (a folder or prefix), else ``None``.
    manifest: Manifest | None = None
    #: A prefix's listing, name -> bytes (``None`` where the server does not say), to check the shards against.
    sizes: dict[str, int | None] | None = None


# A shard file or a brace pattern of them, never a folder or prefix: ``train-000000.tar``, ``x.tar.gz``, ``y.tgz``.
_SHARD_LIKE = re.compile(r"(\.tar(\.\w+)?|\.tgz)$")


def _locate(
    urls: Any, split: str | None, manifest: Any, storage_options: dict[str, Any] | None, retries: int
) -> _Located:
    """The shard URLs in written order, and where the manifest is."""
    from visiondata.exceptions import DatasetNotFoundError

    if isinstance(urls, (str, os.PathLike)):
        urls = _remote.local_path(os.fspath(urls))
    if isinstance(manifest, (str, os.PathLike)):
        manifest = _remote.local_path(os.fspath(manifest))
    if isinstance(urls, str) and _remote.is_remote(urls) and not _names_shards(urls):
        return _locate_in_prefix(urls, split, manifest, storage_options, retries)
    if isinstance(urls, str) and os.path.isdir(urls):
        folder = urls
        if manifest is None:
            found = [name for name in os.listdir(folder) if name.endswith(MANIFEST_SUFFIX)]
            manifest = os.path.join(folder, _manifest_of_split(folder, split, found))
        listed = _read_manifest(manifest, storage_options, retries)
        if os.path.dirname(os.path.abspath(manifest)) == os.path.abspath(folder):
            _refuse_unlisted(folder, os.listdir(folder), listed, manifest)
        return _Located([os.path.join(folder, shard.name) for shard in listed.shards], manifest, listed)
    if isinstance(urls, str):
        from webdataset.shardlists import expand_urls

        expanded = expand_urls(urls)
    else:
        expanded = [os.fspath(url) for url in urls]
    expanded = [_remote.local_path(url) for url in expanded]
    if not expanded:
        raise DatasetNotFoundError("urls: expected shard paths or URLs, got none")
    if manifest is None:
        first = expanded[0]
        if _remote.is_pipe(first):
            raise DatasetNotFoundError(
                f"{first}: shards read through a pipe need manifest= (the URL of their "
                f"{manifest_name(shard_name(first))})"
            )
        # Beside the first shard, as on disk.
        manifest = _remote.join(_remote.parent(first), manifest_name(shard_name(first)))
    return _Located(expanded, manifest)


def _names_shards(url: str) -> bool:
    """Whether a remote ``url`` names shards (a shard, a brace pattern) rather than a prefix holding them."""
    return "{" in url or bool(_SHARD_LIKE.search(url.split("?")[0]))


def _manifest_of_split(folder: str, split: str | None, manifests: Any) -> str:
    """The manifest file name of ``split`` among the names ``manifests`` found in ``folder``."""
    from visiondata.exceptions import DatasetNotFoundError

    found = sorted(name[: -len(MANIFEST_SUFFIX)] for name in manifests if name.endswith(MANIFEST_SUFFIX))
    if split is None and len(found) == 1:
        split = found[0]
    if split is None or split not in found:
        wanted = f"{split}{MANIFEST_SUFFIX}" if split else f"split= (one of {', '.join(found)})"
        raise DatasetNotFoundError(
            f"{folder}: expected {wanted}; shard sets here: {', '.join(found) or 'none'} "
            "(write_shards and `visiondata export` write one per split)"
        )
    return f"{split}{MANIFEST_SUFFIX}"


def _refuse_unlisted(folder: str, names: Any, listed: Manifest, manifest: str) -> None:
    """Refuse a shard file of the set in ``folder`` (``names``: its listing) that the manifest does not list."""
    from visiondata.exceptions import DatasetFormatError

    known = {shard.name for shard in listed.shards}
    manifest_file = shard_name(manifest)
    extra = [name for name in shards_of(names, manifest_file) if name not in known]
    if extra:
        raise DatasetFormatError(
            f"{_remote.join(folder, extra[0])}: a shard file of the set {manifest_file} that the "
            f"manifest does not list ({len(extra)} such: {', '.join(extra[:3])}{'...' if len(extra) > 3 else ''}); "
            "it is left from another export, or the manifest is stale: export the set again with "
            "--overwrite (which removes old shards), or delete the file"
        )


def _locate_in_prefix(
    url: str, split: str | None, manifest: Any, storage_options: dict[str, Any] | None, retries: int
) -> _Located:
    """A prefix in object storage (or a folder a web server lists), read by split as a local folder is."""
    from visiondata.exceptions import DatasetNotFoundError

    # A missing package or an unknown scheme is named before any request.
    _remote.filesystem(url, storage_options)
    try:
        sizes = _remote.listing(url, storage_options)
    except Exception as error:  # the transports raise their own classes (botocore, aiohttp...)
        raise _unreachable(url, "the folder or prefix (listing it)", error) from error
    if sizes is None:
        raise DatasetNotFoundError(
            f"{url}: expected a folder or prefix holding shard sets ({split or '<split>'}{MANIFEST_SUFFIX} "
            "and its shards), found nothing there; check the URL, or pass the shards' URLs (a brace pattern "
            f"such as {url.rstrip('/')}/train-{{000000..000009}}.tar) and manifest="
        )
    folder = url.rstrip("/")
    if manifest is None:
        manifest = _remote.join(folder, _manifest_of_split(folder, split, sizes))
    listed = _read_manifest(manifest, storage_options, retries)
    if _remote.is_remote(manifest) and _remote.parent(manifest) == folder:
        _refuse_unlisted(folder, sizes, listed, manifest)
    return _Located([_remote.join(folder, shard.name) for shard in listed.shards], manifest, listed, sizes)


def _read_manifest(
    location: str, storage_options: dict[str, Any] | None = None, retries: int = _remote.RETRIES
) -> Manifest:
    from visiondata._files import read_regular_file
    from visiondata.exceptions import DatasetFormatError, DatasetNotFoundError

    missing = (
        f"{location}: expected the shard set's manifest (written by write_shards), found nothing; "
        "pass manifest= if it is elsewhere"
    )
    if _is_local(location):
        if not os.path.lexists(location):
            raise DatasetNotFoundError(missing)
        data = read_regular_file(location, "shard manifest", MAX_MANIFEST_BYTES)  # FIFOs, devices refused
    else:
        if _remote.is_pipe(location):
            with _open(location) as stream:
                data = stream.read(MAX_MANIFEST_BYTES + 1)
        else:
            try:
                data = _remote.read_bytes(location, MAX_MANIFEST_BYTES, storage_options, retries)
            except FileNotFoundError:
                raise DatasetNotFoundError(missing) from None
            except OSError as error:
                raise _unreachable(location, "the shard manifest", error) from error
        if len(data) > MAX_MANIFEST_BYTES:
            raise DatasetFormatError(
                f"{location}: shard manifest: expected at most {MAX_MANIFEST_BYTES:,} bytes, got more; not read"
            )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DatasetFormatError(f"{location}: expected a shard manifest (UTF-8 JSON), got {error}") from None
    return Manifest.from_json(text, location)


def _listed(urls: list[str], manifest: Manifest, location: str) -> list[ShardInfo]:
    """The manifest's entry of each shard given, in their order."""
    from visiondata.exceptions import DatasetFormatError

    by_name = {shard.name: shard for shard in manifest.shards}
    unknown = [url for url in urls if shard_name(url) not in by_name]
    if unknown:
        raise DatasetFormatError(
            f"{location}: does not list {len(unknown)} of the shards given, first {unknown[0]}; it lists "
            f"{', '.join(list(by_name)[:5])}{'...' if len(by_name) > 5 else ''}: pass the manifest written with them"
        )
    return [by_name[shard_name(url)] for url in urls]


def from_catalog(
    root: str,
    split: str = "train",
    urls: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
    transform: Callable[..., Any] | None = None,
    target_transform: Callable[[Any], Any] | None = None,
    shuffle_buffer: int = 1000,
    decode: str = "tensor",
    resampled: bool = False,
    seed: int = 0,
    manifest: str | os.PathLike[str] | None = None,
    on_error: str = "raise",
    max_member_bytes: int | None = None,
    storage_options: dict[str, Any] | None = None,
    retries: int = _remote.RETRIES,
) -> ShardDataset:
    """``vd.get_dataset("shards", urls=..., split=...)``: a [`ShardDataset`][visiondata.shards.ShardDataset]; without ``urls``, ``root/shards``.

    ``urls`` may be a prefix URL (``s3://bucket/prefix``); ``storage_options`` and ``retries`` are passed on.

    Examples:
        >>> import visiondata as vd
        >>> train = vd.get_dataset("shards", urls="out", split="train")  # doctest: +SKIP
    """
    from visiondata.exceptions import DatasetNotFoundError

    if urls is None:
        urls = os.path.join(root, "shards")
        if not os.path.isdir(urls):
            raise DatasetNotFoundError(
                f"{urls}: expected shard sets written by write_shards or `visiondata export`; place them in this "
                "folder, or pass urls= (a folder, a brace pattern or URLs)"
            )
    return ShardDataset(
        urls,
        split=split,
        shuffle_buffer=shuffle_buffer,
        transform=transform,
        target_transform=target_transform,
        decode=decode,
        resampled=resampled,
        seed=seed,
        manifest=manifest,
        on_error=on_error,
        max_member_bytes=max_member_bytes,
        storage_options=storage_options,
        retries=retries,
    )
