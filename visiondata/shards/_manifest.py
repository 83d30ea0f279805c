"""The manifest beside a shard set: how many samples each shard holds, the classes, the task, the schema.

A reader learns the length, the classes and how to rebuild samples from it
without opening a shard. It is a small JSON file named after the shards'
prefix: ``train-000000.tar``, ``train-000001.tar``... come with
``train.shards.json`` in the same folder.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from typing import Any

#: Version of the sample layout inside the shards; a reader refuses a newer one.
SCHEMA_VERSION = 1
#: Suffix of manifest files.
MANIFEST_SUFFIX = ".shards.json"
_FORMAT = "visiondata-shards"


@dataclass
class ShardInfo:
    """One shard: its file name (relative to the manifest), its samples and its size in bytes."""

    name: str
    count: int
    bytes: int = 0


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
            return cls(
                task=content["task"],
                classes=content.get("classes"),
                image_mode=content["image_mode"],
                image_type=content["image_type"],
                shards=[ShardInfo(**shard) for shard in content["shards"]],
                encode=content.get("encode", "keep"),
                skipped=content.get("skipped", []),
                source=content.get("source", {}),
                schema_version=version,
            )
        except (KeyError, TypeError) as error:
            raise DatasetFormatError(f"{where}: shard manifest lacks or mangles a field ({error})") from None


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
