"""Where ``write_shards`` puts a shard set: a local folder, or a prefix in object storage.

Both keep the set whole or not at all, each in its own way:

- **A folder.** Shards are written under hidden temporary names beside their final ones and renamed
  into place only when every one is complete; the manifest follows, itself by a rename.
- **Object storage** (``s3://``... through fsspec). Shards are written to a local temporary folder and
  uploaded one by one as they are finished (an object appears only once its upload is complete). Where
  no export of the set exists yet, they go straight to their final names; where one does (and
  ``overwrite`` allows replacing it), they go to hidden temporary names first and are moved into place
  at the end, so an export that stops leaves the old set as it was. The manifest is uploaded last.

An export that stops removes what it wrote, locally and remotely.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Callable
from typing import Any

from visiondata._files import PARTIAL_PREFIX, refuse_special_output, write_text_atomic
from visiondata.exceptions import DatasetFormatError, OutputConflictError
from visiondata.shards import _remote
from visiondata.shards._manifest import MAX_MANIFEST_BYTES, Manifest, manifest_name, shard_name, shards_of


class LocalDestination:
    """A shard set in a local folder (see the module's description).

    Args:
        pattern: The shard paths, with one ``%d``-style field.
    """

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.folder = os.path.dirname(pattern) or "."
        refuse_special_output(self.folder, "the shards' folder")
        self.manifest = os.path.join(os.path.dirname(pattern), manifest_name(os.path.basename(pattern % 0)))
        #: Where the shards are written before they are placed: beside their final names, for the renames.
        self.staging = self.folder
        self._placed: list[tuple[str, str]] = []

    def previous(self, overwrite: bool) -> list[str]:
        """The shard names of an export of the same set already there; refused unless ``overwrite``."""
        try:
            names = os.listdir(self.folder)
        except FileNotFoundError:
            return []
        if os.path.isdir(self.manifest) and not os.path.islink(self.manifest):
            raise OutputConflictError(
                f"{self.manifest}: expected the set's manifest file, got a folder; remove it"
            )
        return previous_export(
            self.folder, self.manifest, self.pattern, overwrite, names, self._read_manifest
        )

    def _read_manifest(self) -> str | None:
        from visiondata._files import read_regular_file

        if not os.path.lexists(self.manifest):
            return None
        return read_regular_file(self.manifest, "shard manifest", MAX_MANIFEST_BYTES).decode("utf-8")

    def prepare(self) -> None:
        """Create the folder."""
        os.makedirs(self.folder, exist_ok=True)

    def place(self, staged: str, number: int) -> str:
        """Shard ``number`` is complete in ``staged``: remember it for the renames of `commit`."""
        final = self.pattern % number
        self._placed.append((staged, final))
        return final

    def commit(self, manifest_text: str) -> None:
        """Rename every shard into place, then write the manifest: the switch to the new set."""
        while self._placed:
            staged, final = self._placed[0]
            os.replace(staged, final)  # a link at ``final`` is replaced, never written through
            self._placed.pop(0)
        write_text_atomic(self.manifest, manifest_text)

    def remove(self, names: list[str]) -> list[str]:
        """Remove the files ``names`` of the folder; the paths removed."""
        removed = []
        for name in names:
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(self.folder, name))
                removed.append(os.path.join(self.folder, name))
        return removed

    def abort(self) -> None:
        """Remove the shards not yet renamed into place."""
        for staged, _ in self._placed:
            with contextlib.suppress(OSError):
                os.remove(staged)
        self._placed.clear()

    def close(self) -> None:
        """Nothing to release."""


class RemoteDestination:
    """A shard set under a prefix of an object store, through fsspec (see the module's description).

    Args:
        pattern: The shard URLs, with one ``%d``-style field (``s3://bucket/prefix/train-%06d.tar``).
        storage_options: Passed to the filesystem (credentials, ``endpoint_url``...).
    """

    def __init__(self, pattern: str, storage_options: dict[str, Any] | None) -> None:
        _remote.refuse_writing_to(pattern)
        _remote.filesystem(pattern % 0, storage_options)  # a missing package or unknown scheme, now
        self.pattern = pattern
        self.storage_options = storage_options
        self.folder = _remote.parent(pattern % 0)
        self.manifest = _remote.join(self.folder, manifest_name(shard_name(pattern % 0)))
        self.staging = ""
        self._token = secrets.token_hex(4)
        self._replacing = False
        self._uploaded: list[str] = []  # objects this export wrote, removed if it stops
        self._moves: list[tuple[str, str]] = []

    def previous(self, overwrite: bool) -> list[str]:
        """The shard names of an export of the same set already under the prefix; refused unless ``overwrite``."""
        files = _remote.listing(self.folder, self.storage_options) or {}
        names = previous_export(
            self.folder, self.manifest, self.pattern, overwrite, list(files), self._read_manifest
        )
        self._replacing = bool(names) or os.path.basename(self.manifest) in files
        return names

    def _read_manifest(self) -> str | None:
        try:
            data = _remote.read_bytes(self.manifest, MAX_MANIFEST_BYTES, self.storage_options)
        except FileNotFoundError:
            return None
        return data[:MAX_MANIFEST_BYTES].decode("utf-8")

    def prepare(self) -> None:
        """Make the local folder the shards are written to before they are uploaded."""
        self.staging = tempfile.mkdtemp(prefix="visiondata-upload-")

    def place(self, staged: str, number: int) -> str:
        """Upload shard ``number`` from ``staged`` (to a temporary name when replacing a set), then delete ``staged``."""
        final = self.pattern % number
        target = final
        if self._replacing:
            target = _remote.join(self.folder, f"{PARTIAL_PREFIX}{self._token}-{shard_name(final)}")
            self._moves.append((target, final))
        self._uploaded.append(target)
        _remote.upload(staged, target, self.storage_options)
        os.remove(staged)
        return final

    def commit(self, manifest_text: str) -> None:
        """Move the shards uploaded under temporary names into place, then upload the manifest."""
        while self._moves:
            staged, final = self._moves[0]
            _remote.move(staged, final, self.storage_options)
            self._uploaded.remove(staged)
            self._moves.pop(0)
        _remote.write_bytes(self.manifest, manifest_text.encode("utf-8"), self.storage_options)
        self._uploaded.clear()

    def remove(self, names: list[str]) -> list[str]:
        """Remove the objects ``names`` under the prefix; their URLs."""
        removed = []
        for name in names:
            url = _remote.join(self.folder, name)
            _remote.remove(url, self.storage_options)
            removed.append(url)
        return removed

    def abort(self) -> None:
        """Remove every object this export uploaded (the set it replaces stays as it was)."""
        for url in self._uploaded:
            with contextlib.suppress(Exception):  # best effort: the store may be the cause of the stop
                _remote.remove(url, self.storage_options)
        self._uploaded.clear()
        self._moves.clear()

    def close(self) -> None:
        """Remove the local temporary folder."""
        if self.staging:
            shutil.rmtree(self.staging, ignore_errors=True)


def destination(pattern: str, storage_options: dict[str, Any] | None) -> LocalDestination | RemoteDestination:
    """The destination ``pattern`` names: object storage for a URL, else a local folder."""
    if _remote.is_remote(pattern):
        return RemoteDestination(pattern, storage_options)
    if storage_options:
        raise ValueError(
            f"storage_options: expected None for a local out_pattern ({pattern!r}), got {storage_options!r}; "
            "they are for URLs such as s3://bucket/prefix/train-%06d.tar"
        )
    return LocalDestination(_remote.local_path(pattern))


def previous_export(
    folder: str,
    manifest_path: str,
    pattern: str,
    overwrite: bool,
    names: list[str],
    read_manifest: Callable[[], str | None],
) -> list[str]:
    """Of ``names`` (the folder's files), the shards of the export of the same set; refused unless ``overwrite``.

    Args:
        folder: The folder or prefix, for messages.
        manifest_path: The set's manifest.
        pattern: The shard names' pattern.
        overwrite: Whether an existing export may be replaced.
        names: The files in the folder.
        read_manifest: The text of the existing manifest, or ``None`` when there is none.
    """
    manifest_file = os.path.basename(manifest_path)
    shards = shards_of(names, manifest_file)
    has_manifest = manifest_file in names
    if not shards and not has_manifest:
        return []
    if not overwrite:
        found = f"{manifest_path}" if has_manifest else f"{len(shards)} shard files ({shards[0]}...)"
        raise OutputConflictError(
            f"{folder}: expected no export of the set {manifest_file[: -len('.shards.json')]!r} there, got "
            f"{found}; old and new shards would mix: choose another folder or split, or pass overwrite=True "
            "(--overwrite) to replace that set once the new one is complete"
        )
    # Removed once the new set is in place: the files the old manifest lists and those the pattern
    # names; other files that merely look like shards of the set are left (and named by readers).
    field = re.compile(r"%[-#0 +]*\d*d")
    base = os.path.basename(pattern)
    parts = field.split(re.escape(base).replace("%%", "%"))
    named = re.compile(r"(\d+)".join(parts)) if len(parts) == 2 else None
    found_names = set()
    for name in shards:
        match = named.fullmatch(name) if named is not None else None
        if match and base % int(match[1]) == name:
            found_names.add(name)
    if has_manifest:
        # Names the old manifest lists are shards of the previous generation too; a manifest that cannot
        # be read is simply replaced (its files named like the set's shards are still removed).
        with contextlib.suppress(DatasetFormatError, UnicodeDecodeError):
            text = read_manifest()
            if text is not None:
                listed = [shard.name for shard in Manifest.from_json(text, manifest_path).shards]
                found_names.update(
                    shards_of(listed, manifest_file)
                )  # only files of this set are ever removed
    return sorted(found_names)
