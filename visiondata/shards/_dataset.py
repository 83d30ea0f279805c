"""``ShardDataset``: stream WebDataset shards back as the samples they were written from."""

from __future__ import annotations

import hashlib
import os
import random
import stat
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from torch.utils.data import IterableDataset, get_worker_info

from visiondata._arguments import check_choice, check_int, check_positive_int
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
    a brace pattern (``out/train-{000000..000127}.tar``), a list of paths, or any
    URL ``webdataset`` opens, such as ``pipe:aws s3 cp s3://bucket/train-000000.tar -``
    (pass ``manifest=`` with the manifest's URL then). The manifest gives the
    length, the classes and how to rebuild samples; images decode through
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
    extra reading). The SHA-256 is checked by [`verify`][visiondata.shards.ShardDataset.verify],
    and when a shard fails to parse (the error then says whether the file
    differs from the one written). For every shard, local or remote (``pipe:``,
    URLs cannot be ``stat``-ed), the samples are counted: a shard holding fewer
    *or more* samples than listed is an error, and no sample beyond the count
    is yielded.

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
        urls: Folder, brace pattern, list of paths or URLs.
        split: With a folder: the shard set (``"train"`` reads ``train.shards.json``).
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

    Attributes:
        manifest: The [`Manifest`][visiondata.shards.Manifest].
        urls: The shards, in written order.
        classes: Class names (``None`` when the source had none).
        task: The source dataset's task.
        errors: What was skipped: shard and key -> cause.

    Raises:
        DatasetNotFoundError: No manifest where one is looked for.
        DatasetFormatError: The manifest is not one (or is a FIFO, a device, too large), does not
            list a shard given, or a local shard is missing, not a regular file, of another size than
            listed, or a shard of the set is in the folder but not in the manifest.

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
        webdataset_module()
        self.urls, manifest_location = _locate(urls, split, manifest)
        self.manifest = _read_manifest(manifest_location)
        self._manifest_location = manifest_location
        self._shards = _listed(self.urls, self.manifest, manifest_location)
        self._counts = [shard.count for shard in self._shards]
        for url, shard in zip(self.urls, self._shards, strict=True):
            if _is_local(url):
                _check_local_shard(url, os.stat, shard, manifest_location)
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
        from visiondata.exceptions import DatasetFormatError
        from visiondata.shards._tar import TarStreamError, tar_members

        url, listed = self.urls[position], self._shards[position]
        expected = listed.count
        current: dict[str, Any] = {}
        count = 0
        try:
            with _open_shard(url, listed, self._manifest_location) as stream:
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
        """Check every local shard against the manifest: present, a regular file, its size and its SHA-256.

        Reads each shard once, whole (about as long as reading an epoch without decoding); shards read
        through a URL or a pipe are left out (their counts are checked while reading).

        Raises:
            DatasetFormatError: The first shard that differs, named, with what differs.
        """
        from visiondata.exceptions import DatasetFormatError

        for url, listed in zip(self.urls, self._shards, strict=True):
            if not _is_local(url):
                continue
            _check_local_shard(url, os.stat, listed, self._manifest_location)
            actual = _sha256(url)
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


def _open_shard(url: str, listed: ShardInfo, manifest: str) -> Any:
    """A shard's stream; a local one is refused before opening if it is not a regular file of the listed size."""
    if not _is_local(url):
        return _open(url)
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
        raise DatasetFormatError(
            f"{url}: expected the shard {manifest} lists, found nothing: the set is incomplete; "
            "export it again (or fetch the missing shard)"
        ) from None
    except OSError as error:
        raise DatasetFormatError(f"{url}: cannot open the shard: {error.strerror or error}") from error
    if not stat.S_ISREG(info.st_mode):
        raise DatasetFormatError(
            f"{url}: expected a shard (a regular tar file), got {file_kind(info.st_mode)}; special files are "
            "never opened: replace it with the shard it stands for"
        )
    if listed.bytes and info.st_size != listed.bytes:
        raise DatasetFormatError(
            f"{url}: expected the shard {manifest} lists ({listed.bytes:,} bytes), got {info.st_size:,} bytes: "
            "the shard was replaced, cut short or is being rewritten since the manifest was read; "
            "export the set again, or pass the manifest written with these shards"
        )


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


def _locate(urls: Any, split: str | None, manifest: Any) -> tuple[list[str], str]:
    """The shard URLs in written order, and where the manifest is."""
    from visiondata.exceptions import DatasetNotFoundError

    if isinstance(urls, (str, os.PathLike)) and os.path.isdir(urls):
        folder = os.fspath(urls)
        if manifest is None:
            found = sorted(
                name[: -len(MANIFEST_SUFFIX)] for name in os.listdir(folder) if name.endswith(MANIFEST_SUFFIX)
            )
            if split is None and len(found) == 1:
                split = found[0]
            if split is None or split not in found:
                wanted = f"{split}{MANIFEST_SUFFIX}" if split else f"split= (one of {', '.join(found)})"
                raise DatasetNotFoundError(
                    f"{folder}: expected {wanted}; shard sets here: {', '.join(found) or 'none'} "
                    "(write_shards and `visiondata export` write one per split)"
                )
            manifest = os.path.join(folder, f"{split}{MANIFEST_SUFFIX}")
        listed = _read_manifest(os.fspath(manifest))
        names = {shard.name for shard in listed.shards}
        extra = [
            name for name in shards_of(os.listdir(folder), os.path.basename(manifest)) if name not in names
        ]
        if extra and os.path.dirname(os.path.abspath(manifest)) == os.path.abspath(folder):
            from visiondata.exceptions import DatasetFormatError

            raise DatasetFormatError(
                f"{os.path.join(folder, extra[0])}: a shard file of the set {os.path.basename(manifest)} that the "
                f"manifest does not list ({len(extra)} such: {', '.join(extra[:3])}{'...' if len(extra) > 3 else ''}); "
                "it is left from another export, or the manifest is stale: export the set again with "
                "--overwrite (which removes old shards), or delete the file"
            )
        return [os.path.join(folder, shard.name) for shard in listed.shards], os.fspath(manifest)
    if isinstance(urls, (str, os.PathLike)):
        from webdataset.shardlists import expand_urls

        expanded = expand_urls(os.fspath(urls))
    else:
        expanded = [os.fspath(url) for url in urls]
    if not expanded:
        raise DatasetNotFoundError("urls: expected shard paths or URLs, got none")
    if manifest is None:
        first = expanded[0]
        if not _is_local(first):
            raise DatasetNotFoundError(
                f"{first}: shards read through a URL or a pipe need manifest= (the URL of their "
                f"{manifest_name(shard_name(first))})"
            )
        manifest = os.path.join(os.path.dirname(first), manifest_name(first))
    return expanded, os.fspath(manifest)


def _read_manifest(location: str) -> Manifest:
    from visiondata._files import read_regular_file
    from visiondata.exceptions import DatasetFormatError, DatasetNotFoundError

    if _is_local(location):
        if not os.path.lexists(location):
            raise DatasetNotFoundError(
                f"{location}: expected the shard set's manifest (written by write_shards), found nothing; "
                "pass manifest= if it is elsewhere"
            )
        data = read_regular_file(location, "shard manifest", MAX_MANIFEST_BYTES)  # FIFOs, devices refused
    else:
        with _open(location) as stream:
            data = stream.read(MAX_MANIFEST_BYTES + 1)
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
) -> ShardDataset:
    """``vd.get_dataset("shards", urls=..., split=...)``: a [`ShardDataset`][visiondata.shards.ShardDataset]; without ``urls``, ``root/shards``.

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
    )
