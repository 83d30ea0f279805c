"""The manifest beside a shard set: how many samples each shard holds, the classes, the task, the schema.

A reader learns the length, the classes and how to rebuild samples from it
without opening a shard. It is a small JSON file named after the shards'
prefix: ``train-000000.tar``, ``train-000001.tar``... come with
``train.shards.json`` in the same folder.

It also identifies its shards: each one's name, sample count, byte size and
SHA-256 (computed while writing), so a shard replaced, cut short, missing
or extra is an error naming it rather than old labels read with new pixels.
The manifest is written last, by a rename: it always describes a complete set.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from visiondata._arguments import is_int
from visiondata._files import MAX_ANNOTATION_BYTES

#: Version of the sample layout inside the shards; a reader refuses a newer one.
SCHEMA_VERSION = 1
#: Suffix of manifest files.
MANIFEST_SUFFIX = ".shards.json"
_FORMAT = "visiondata-shards"
#: Manifests larger than this are refused before they are read (one shard's entry is about 150 bytes).
MAX_MANIFEST_BYTES = MAX_ANNOTATION_BYTES
_SHA256 = re.compile(r"[0-9a-f]{64}")
_SHARD_FILE = re.compile(r"\d\.tar(\.\w+)?$")


@dataclass
class ShardInfo:
    """One shard: its file name (relative to the manifest), its samples, its size in bytes and its SHA-256.

    ``bytes`` of 0 and ``sha256`` of ``None`` (manifests of visiondata before 0.x wrote no checksum)
    mean "not recorded": that check is left out.
    """

    name: str
    count: int
    bytes: int = 0
    sha256: str | None = None


@dataclass
class Manifest:
    """What a shard set holds.

    Attributes:
        task: The source dataset's task (``"classification"``, ``"detection"``...).
        classes: Class names, or ``None``.
        image_mode: ``"RGB"`` or ``"L"``: how images are decoded back.
        image_type: What the source yielded as image: ``"tensor"`` (``uint8``
            ``C x H x W``), ``"tv_image"`` (``tv_tensors.Image``), ``"pil"`` or ``"numpy"``.
        shards: Every shard, in writing order.
        encode: How images were stored: ``"keep"``, ``"jpeg"`` or ``"png"``.
        skipped: Source samples left out (unreadable under a skip policy): ``{"index", "reason"}``.
        source: What the shards were written from (type, ``repr``, root, split).
        schema_version: `SCHEMA_VERSION` of the writer.
    """

    task: str
    classes: list[str] | None
    image_mode: str
    image_type: str
    shards: list[ShardInfo] = field(default_factory=list)
    encode: str = "keep"
    skipped: list[dict[str, Any]] = field(default_factory=list)
    source: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    @property
    def count(self) -> int:
        """Samples in all shards."""
        return sum(shard.count for shard in self.shards)

    def to_json(self) -> str:
        """The manifest file's text."""
        from visiondata._version import __version__

        content = {
            "format": _FORMAT,
            **asdict(self),
            "count": self.count,
            "written_by": f"visiondata {__version__}",
        }
        return json.dumps(content, indent=1)

    @classmethod
    def from_json(cls, text: str, where: str) -> Manifest:
        """Parse a manifest; ``where`` names it in errors."""
        from visiondata.exceptions import DatasetFormatError

        try:
            content = json.loads(text)
        except json.JSONDecodeError as error:
            raise DatasetFormatError(
                f"{where}: expected a shard manifest (JSON), got invalid JSON: {error}"
            ) from None
        except RecursionError:
            raise DatasetFormatError(
                f"{where}: expected a shard manifest (JSON), got JSON nested too deeply"
            ) from None
        if not isinstance(content, dict) or content.get("format") != _FORMAT:
            raise DatasetFormatError(
                f"{where}: expected a visiondata shard manifest (format {_FORMAT!r}), got "
                f"{type(content).__name__ if not isinstance(content, dict) else repr(content.get('format'))}"
            )
        version = content.get("schema_version")
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise DatasetFormatError(
                f"{where}: schema version {version!r} is newer than this visiondata reads ({SCHEMA_VERSION}); "
                "upgrade visiondata"
            )
        try:
            manifest = cls(
                task=content["task"],
                classes=content.get("classes"),
                image_mode=content["image_mode"],
                image_type=content["image_type"],
                shards=[_shard_info(shard) for shard in content["shards"]],
                encode=content.get("encode", "keep"),
                skipped=content.get("skipped", []),
                source=content.get("source", {}),
                schema_version=version,
            )
        except (KeyError, TypeError) as error:
            raise DatasetFormatError(f"{where}: shard manifest lacks or mangles a field ({error})") from None
        manifest._check(where)
        return manifest

    def _check(self, where: str) -> None:
        """Refuse values a reader would trip over later, or that name files outside the manifest's folder."""
        from visiondata.exceptions import DatasetFormatError

        def bad(field_name: str, expected: str, got: Any) -> DatasetFormatError:
            return DatasetFormatError(
                f"{where}: shard manifest field {field_name}: expected {expected}, got {got!r:.80}; "
                "write the shards again (the manifest is not one write_shards wrote)"
            )

        if not isinstance(self.task, str):
            raise bad("task", "a string", self.task)
        if self.classes is not None and (
            not isinstance(self.classes, list) or not all(isinstance(name, str) for name in self.classes)
        ):
            raise bad("classes", "a list of strings or null", self.classes)
        if self.image_mode not in ("RGB", "L", "unchanged"):
            raise bad("image_mode", "'RGB', 'L' or 'unchanged'", self.image_mode)
        if self.image_type not in ("tensor", "tv_image", "pil", "numpy"):
            raise bad("image_type", "'tensor', 'tv_image', 'pil' or 'numpy'", self.image_type)
        if not isinstance(self.skipped, list) or not isinstance(self.source, dict):
            raise bad("skipped/source", "a list and an object", (self.skipped, self.source))
        names = set()
        for shard in self.shards:
            label = f"shards[{shard.name!r:.60}]"
            if not is_plain_file_name(shard.name):
                raise bad(label + ".name", "a file name beside the manifest (no folder, no '..')", shard.name)
            if shard.name in names:
                raise bad(label + ".name", "each shard listed once", shard.name)
            names.add(shard.name)
            for key in ("count", "bytes"):
                value = getattr(shard, key)
                if not is_int(value) or value < 0:
                    raise bad(f"{label}.{key}", "an integer >= 0", value)
            if shard.sha256 is not None and not (
                isinstance(shard.sha256, str) and _SHA256.fullmatch(shard.sha256)
            ):
                raise bad(f"{label}.sha256", "64 lowercase hex digits or null", shard.sha256)


def _shard_info(entry: Any) -> ShardInfo:
    """A manifest's shard entry; fields a later visiondata may add are ignored (they are checks, not layout)."""
    if not isinstance(entry, dict):
        raise TypeError(f"a shard entry is {type(entry).__name__}, not an object")
    known = {key: value for key, value in entry.items() if key in ShardInfo.__dataclass_fields__}
    return ShardInfo(**known)


def is_plain_file_name(name: Any) -> bool:
    """Whether ``name`` is a file name that stays in its folder: no separator, not ``.``/``..``, not empty.

    Examples:
        >>> is_plain_file_name("train-000000.tar"), is_plain_file_name("../x.tar"), is_plain_file_name("a/b.tar")
        (True, False, False)
    """
    return (
        isinstance(name, str)
        and name not in ("", ".", "..")
        and "/" not in name
        and "\\" not in name
        and "\0" not in name
    )


def shards_of(names: Any, manifest_file: str) -> list[str]:
    """Of ``names`` (a folder's listing), those that are shard files of the set ``manifest_file`` describes.

    A shard file of the set ``train.shards.json`` is a visible ``*<digits>.tar`` (or ``.tar.gz``...)
    whose [`manifest_name`][visiondata.shards._manifest.manifest_name] is ``train.shards.json``.

    Examples:
        >>> shards_of(
        ...     ["train-000000.tar", "val-000000.tar", ".partial-train-000001.tar", "train.tar", "train.shards.json"],
        ...     "train.shards.json",
        ... )
        ['train-000000.tar']
    """
    return sorted(
        name
        for name in names
        if not name.startswith(".") and _SHARD_FILE.search(name) and manifest_name(name) == manifest_file
    )


def webdataset_module() -> Any:
    """The ``webdataset`` package, or a [`MissingDependencyError`][visiondata.exceptions.MissingDependencyError] naming the extra that installs it."""
    try:
        import webdataset
    except ImportError as error:
        from visiondata.exceptions import MissingDependencyError

        raise MissingDependencyError(
            f"shards need the webdataset package: install the shards extra (pip install '.[shards]' in a visiondata checkout, or pip install webdataset) ({error})"
        ) from error
    return webdataset


def shard_name(url: str) -> str:
    """The file name of a shard from its path or URL, also inside a ``pipe:`` command.

    Examples:
        >>> shard_name("pipe:aws s3 cp s3://bucket/train-000001.tar -")
        'train-000001.tar'
    """
    if url.startswith("pipe:"):
        words = [word for word in url[len("pipe:") :].split() if word != "-"]
        url = next((word for word in reversed(words) if ".tar" in word), words[-1] if words else url)
    return os.path.basename(url.split("?")[0])


def manifest_name(shard_name: str) -> str:
    """The manifest file name for a shard of the set: the shard's prefix plus `MANIFEST_SUFFIX`.

    Examples:
        >>> manifest_name("train-000003.tar"), manifest_name("000001.tar")
        ('train.shards.json', 'manifest.shards.json')
    """
    stem = re.sub(r"\.tar(\.\w+)?$", "", os.path.basename(shard_name))
    prefix = re.sub(r"[-_.]*\d*$", "", stem)
    return f"{prefix or 'manifest'}{MANIFEST_SUFFIX}"
