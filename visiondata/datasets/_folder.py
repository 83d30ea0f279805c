"""``ImageFolderDataset``: one folder per class, like torchvision's ``ImageFolder``, done right.

Same classes, class ids and sample order as torchvision on the same tree,
except that hidden entries (``.ipynb_checkpoints``, ``.DS_Store``...) are
skipped with a warning instead of becoming a class; the index lives in numpy
(see ``_index``); unreadable files are named; the index can be cached.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import Subset

from visiondata._paths import default_root
from visiondata.datasets._base import ImageFileDataset
from visiondata.datasets._index import PathIndex, SampleView, read_only, smallest_int_type
from visiondata.datasets._walk import FolderWalk, entry_name
from visiondata.exceptions import DatasetNotFoundError, DatasetValidationError
from visiondata.io._read import IMAGE_EXTENSIONS

_CACHE_VERSION = 3


class ImageFolderDataset(ImageFileDataset):
    """Images in ``root/<class>/**/<file>``, labelled by their class folder.

    Args:
        root: Folder with one sub-folder per class. Symbolic links are
            followed, each real folder once per class: a link back to a folder
            already walked (a loop such as ``cls/up -> ..``) is listed in
            `loops`, with a warning, and not followed.
        transform: Applied to each image (by default a ``uint8`` ``C x H x W``
            RGB tensor from [`visiondata.io.read_image`][visiondata.io.read_image]).
        target_transform: Applied to each class id.
        extensions: File extensions to include, compared case-insensitively;
            one string is one extension (``".png"``).
        class_to_idx: Fixed class name -> id mapping; folders not in it are
            ignored with a warning that names them.
        allow_empty: Accept classes without any image instead of raising.
        on_error: ``"raise"``, ``"skip"`` or ``"warn"`` for unreadable files
            (see [`ImageFileDataset`][visiondata.datasets.ImageFileDataset]); special files (FIFOs, devices,
            links to them) are unreadable files, refused without being opened.
            Folders that cannot be listed raise under ``"raise"`` and are
            listed in `unlisted`, with a warning, otherwise.
        loader: Reads one path; defaults to [`visiondata.io.read_image`][visiondata.io.read_image].
            ``functools.partial(read_image, output="pil")`` gives PIL images
            as torchvision's ``ImageFolder`` does.
        strict: For the default loader: ``True`` refuses a file that decodes
            only with a warning (a JPEG with corrupt data: an unreadable file,
            as ``visiondata check`` reports it), ``False`` decodes it as libjpeg
            recovers it; ``None`` (default) follows
            ``visiondata.io.set_strict_decode``, strict unless changed.
        scaled_decode: Decode each JPEG for the output: when the transform offers a
            decode plan (``presets.classification_train``; ``classification_eval``
            with ``scaled_decode=True``) and the default loader reads, the crop is
            drawn on the file's header and the JPEG decoded at the smallest
            libjpeg-turbo DCT scale (1/2, 1/4, 1/8) that still keeps twice the output's
            resolution for it: the same crops, at least 30 dB PSNR from the exact
            pixels, faster on large photos (docs/performance.md). Other formats decode as usual.
            ``None`` (default): on when the transform offers a plan, unless
            ``visiondata.io.set_scaled_decode(False)`` (or ``VISIONDATA_SCALED_DECODE=0``);
            ``True``: on (the transform must offer a plan); ``False``: exact decoding.
        cache: Keep the index in a file under ``$VISIONDATA_HOME/index-cache``
            and reuse it while no folder of the tree has changed (names and
            times are compared, so a restored folder time does not hide a
            change); a path names the cache file instead. Where the cache
            cannot be written, a warning says so and the index is built each time.

    Attributes:
        classes: Class names, sorted.
        class_to_idx: Class name -> id.
        samples: Read-only sequence of ``(path, class id)`` (also ``imgs``).
        targets: Read-only numpy array of class ids.
        files: Image paths relative to their class folder (a numpy-backed sequence).
        hidden: Hidden files and folders that were skipped.
        loops: Symbolic links to folders already walked, not followed.
        unlisted: Folders that could not be listed, not indexed.
        errors: Files skipped under ``on_error="skip"``/``"warn"``.

    Raises:
        DatasetNotFoundError: ``root`` is not a folder.
        DatasetValidationError: No class folder, or classes without images
            (unless ``allow_empty``); the message lists them.

    Examples:
        >>> import tempfile, pathlib
        >>> from PIL import Image
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> for name in ("cat/1.png", "dog/2.png", "dog/3.png"):
        ...     (root / name).parent.mkdir(exist_ok=True)
        ...     Image.new("RGB", (8, 8)).save(root / name)
        >>> dataset = ImageFolderDataset(root)
        >>> dataset.classes, dataset.targets.tolist(), dataset[0][0].shape
        (['cat', 'dog'], [0, 1, 1], torch.Size([3, 8, 8]))
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        transform: Callable[[Any], Any] | None = None,
        target_transform: Callable[[Any], Any] | None = None,
        extensions: str | Sequence[str] = IMAGE_EXTENSIONS,
        class_to_idx: Mapping[str, int] | None = None,
        allow_empty: bool = False,
        on_error: str = "raise",
        loader: Callable[[str], Any] | None = None,
        cache: bool | str | os.PathLike[str] = False,
        strict: bool | None = None,
        scaled_decode: bool | None = None,
    ) -> None:
        super().__init__(root, transform, target_transform, on_error, loader, strict, scaled_decode)
        if not os.path.isdir(self.root):
            raise DatasetNotFoundError(
                f"{self.root}: expected a folder with one sub-folder per class, got {_what_is(self.root)}; "
                "check the path"
            )
        self.extensions = normalize_extensions(extensions)
        cache_file = _cache_file(self.root, self.extensions, class_to_idx, cache) if cache else None
        signature = _tree_signature(self.root) if cache_file else ""
        scan = _load_cache(cache_file, signature) if cache_file else None
        #: Whether the index came from the cache file.
        self.from_cache = scan is not None
        if scan is None:
            scan = self._scan(class_to_idx)
            if cache_file:
                _save_cache(cache_file, signature, scan)
        # Checks and warnings run on cached and fresh scans alike.
        self._report(scan, allow_empty)
        if class_to_idx is None:
            self.class_to_idx = {name: index for index, name in enumerate(scan.folders)}
            self.classes = list(scan.folders)
        else:
            self.class_to_idx = dict(class_to_idx)
            self.classes = sorted(self.class_to_idx, key=lambda name: (self.class_to_idx[name], name))
        self.files = scan.files
        self.hidden = scan.hidden
        #: Symbolic links to folders already walked (loops), not followed: one line each.
        self.loops = scan.loops
        #: Folders that could not be listed (permissions), not indexed: one line each.
        self.unlisted = scan.unlisted
        self._folders = scan.folders
        self._folder_ids = scan.folder_ids
        class_of_folder = np.asarray([self.class_to_idx[name] for name in scan.folders], dtype=np.int64)
        dtype = smallest_int_type(max(self.class_to_idx.values(), default=0))
        self._targets = (
            class_of_folder[scan.folder_ids].astype(dtype) if len(scan.folders) else np.zeros(0, dtype)
        )

    # ------------------------------------------------------------ scanning
    def _scan(self, class_to_idx: Mapping[str, int] | None) -> _Scan:
        hidden: list[str] = []
        found_folders = []
        walk = FolderWalk(self.root)
        for entry in walk.list(self.root, "."):
            if entry.name.startswith("."):
                hidden.append(entry.name)
            elif entry.is_dir():
                found_folders.append(entry.name)
        folders = sorted(found_folders if class_to_idx is None else class_to_idx)
        ignored = [] if class_to_idx is None else sorted(set(found_folders) - set(class_to_idx))
        files: list[str] = []
        folder_ids: list[int] = []
        empty: list[str] = []
        for folder_id, name in enumerate(folders):  # torchvision's order: folders by name, then sorted walk
            found = (
                walk.files(os.path.join(self.root, name), name, self.extensions, hidden)
                if name in found_folders
                else []
            )
            if not found:
                empty.append(name)
            files.extend(found)
            folder_ids.extend([folder_id] * len(found))
        ids = np.asarray(folder_ids, dtype=smallest_int_type(max(len(folders) - 1, 0)))
        return _Scan(folders, PathIndex(files), ids, hidden, ignored, empty, walk.loops, walk.unlisted)

    def _report(self, scan: _Scan, allow_empty: bool) -> None:
        if scan.unlisted:
            if self.on_error == "raise":
                raise DatasetValidationError(
                    self.root,
                    [
                        *scan.unlisted,
                        "their images would be missing from the index: fix the permissions, "
                        "or pass on_error='skip' to index the rest",
                    ],
                )
            warnings.warn(
                f"{self.root}: {len(scan.unlisted)} folders could not be listed and are not indexed: "
                + "; ".join(scan.unlisted[:5]),
                stacklevel=3,
            )
        if scan.loops:
            warnings.warn(
                f"{self.root}: {len(scan.loops)} symbolic links lead back to folders already indexed and "
                "were not followed: " + "; ".join(scan.loops[:5]),
                stacklevel=3,
            )
        if not scan.folders:
            raise DatasetValidationError(
                self.root,
                ["expected one sub-folder per class, found none; put each class's images in root/<class>/"],
            )
        if scan.empty and not allow_empty:
            problems = [
                f"class {name!r} has no file with extension {', '.join(self.extensions)} in "
                f"{os.path.join(self.root, name)}"
                for name in scan.empty
            ]
            raise DatasetValidationError(
                self.root, [*problems, "pass allow_empty=True to accept empty classes"]
            )
        if scan.ignored:
            warnings.warn(
                f"{self.root}: folders not in class_to_idx are ignored: {', '.join(scan.ignored)}",
                stacklevel=3,
            )
        if scan.hidden:
            hidden = scan.hidden
            shown = ", ".join(hidden[:10]) + (f" and {len(hidden) - 10} more" if len(hidden) > 10 else "")
            warnings.warn(f"{self.root}: skipped {len(hidden)} hidden entries: {shown}", stacklevel=3)

    # ------------------------------------------------------------ access
    @property
    def targets(self) -> np.ndarray:
        """Class id of every sample (read-only)."""
        return read_only(self._targets)

    @property
    def samples(self) -> SampleView:
        """``(path, class id)`` of every sample, built on access (read-only)."""
        return SampleView(self.path, self._targets)

    imgs = samples

    def __len__(self) -> int:
        return len(self.files)

    def relative_path(self, index: int) -> str:
        # Files are stored relative to their class folder: the folder name is not repeated per file.
        return os.path.join(self._folders[self._folder_ids[index]], self.files[index])

    def target(self, index: int) -> int:
        return int(self._targets[index])

    def split(
        self, fractions: Sequence[float] = (0.8, 0.2), stratify: bool = True, seed: int = 0
    ) -> list[Subset]:
        """Disjoint subsets of the given fractions, reproducible for a seed.

        Args:
            fractions: Positive, summing to 1, one per subset.
            stratify: Keep each class's proportion in every subset.
            seed: Same seed, same subsets.

        Examples:
            >>> train, val = dataset.split((0.8, 0.2), seed=0)  # doctest: +SKIP
        """
        return self._split(fractions, self._targets if stratify else None, seed)

    def __repr__(self) -> str:
        return f"ImageFolderDataset({self.root!r}, {len(self)} images, {len(self.classes)} classes)"


def _what_is(path: str) -> str:
    """What stands at a path that is not a folder, in words; a FIFO is not called a file (nothing is opened).

    Examples:
        >>> _what_is("/dev/null"), _what_is("/no/such/folder")
        ('a character device', 'nothing')
    """
    import stat

    from visiondata._files import file_kind

    try:
        mode = os.stat(path).st_mode
    except OSError:
        return "nothing"
    return "a file" if stat.S_ISREG(mode) else file_kind(mode)


# ---------------------------------------------------------------- the index cache
def normalize_extensions(extensions: str | Sequence[str]) -> tuple[str, ...]:
    """Lower-case extensions with their dot; one string is one extension, not its characters.

    Examples:
        >>> normalize_extensions(".PNG"), normalize_extensions(["jpg", ".jpeg"])
        (('.png',), ('.jpg', '.jpeg'))
    """
    given = (extensions,) if isinstance(extensions, str) else tuple(extensions)
    if not given or not all(isinstance(extension, str) and extension.strip(".") for extension in given):
        raise ValueError(
            f"extensions: expected a file extension such as '.png' or a sequence of them, got {extensions!r}"
        )
    return tuple(
        extension.lower() if extension.startswith(".") else f".{extension.lower()}" for extension in given
    )


def _cache_file(
    root: str, extensions: tuple[str, ...], class_to_idx: Mapping[str, int] | None, cache: Any
) -> Path:
    if cache is not True:
        path = Path(cache).expanduser()
        if path.is_dir():
            raise ValueError(
                f"cache: expected True or the path of a cache file, got the folder {str(path)!r}; "
                f"name a file in it, such as {str(path / 'index.npz')!r}"
            )
        return path
    key = repr((os.path.realpath(root), extensions, sorted((class_to_idx or {}).items()), _CACHE_VERSION))
    return default_root() / "index-cache" / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.npz"


def _tree_signature(root: str) -> str:
    """Changes whenever a file or folder is added, removed or renamed anywhere in the tree.

    The names themselves are hashed, not only the folders' times: ``tar``,
    ``rsync -a`` and ``cp -a`` restore a folder's time after its content
    changed. Each real folder is listed once, so links that loop end.
    """
    digest = hashlib.sha256()
    seen: set[tuple[int, int]] = set()
    pending = [root]
    while pending:
        folder = pending.pop()
        try:
            info = os.stat(folder)
            if (info.st_dev, info.st_ino) in seen:
                digest.update(f"{folder}\0seen\n".encode("utf-8", "surrogateescape"))
                continue
            seen.add((info.st_dev, info.st_ino))
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=entry_name)
        except OSError as error:
            digest.update(f"{folder}\0{error.errno}\n".encode("utf-8", "surrogateescape"))
            continue
        names = "\0".join(entry.name + ("/" if entry.is_dir() else "") for entry in entries)
        digest.update(f"{folder}\0{info.st_mtime_ns}\0{names}\n".encode("utf-8", "surrogateescape"))
        pending.extend(entry.path for entry in reversed(entries) if entry.is_dir())
    return digest.hexdigest()


@dataclass(frozen=True)
class _Scan:
    """What scanning a tree found, before any check (so a cached scan is checked the same way)."""

    folders: list[str]
    files: PathIndex
    folder_ids: np.ndarray
    hidden: list[str]
    ignored: list[str]
    empty: list[str]
    loops: list[str]
    unlisted: list[str]


def _load_cache(path: Path, signature: str) -> _Scan | None:
    try:
        with np.load(path, allow_pickle=False) as stored:
            if str(stored["signature"]) != signature:
                return None
            return _Scan(
                stored["folders"].tolist(),
                PathIndex.from_arrays(stored["blob"], stored["offsets"]),
                stored["folder_ids"],
                stored["hidden"].tolist(),
                stored["ignored"].tolist(),
                stored["empty"].tolist(),
                stored["loops"].tolist(),
                stored["unlisted"].tolist(),
            )
    except (OSError, KeyError, ValueError):
        return None  # no cache yet, or an unreadable or older one: rebuild


def _save_cache(path: Path, signature: str, scan: _Scan) -> None:
    """Write the cache file; where it cannot be written, warn and go on without it."""
    blob, offsets = scan.files.arrays()
    temporary = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(
            temporary,
            signature=np.array(signature),
            folders=np.array(scan.folders, dtype=str),
            blob=blob,
            offsets=offsets,
            folder_ids=scan.folder_ids,
            hidden=np.array(scan.hidden, dtype=str),
            ignored=np.array(scan.ignored, dtype=str),
            empty=np.array(scan.empty, dtype=str),
            loops=np.array(scan.loops, dtype=str),
            unlisted=np.array(scan.unlisted, dtype=str),
        )
        os.replace(temporary, path)  # atomic: a concurrent reader sees the old file or the new one
    except OSError as error:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        warnings.warn(
            f"{path}: cannot write the index cache ({error.strerror or error}); the index is rebuilt each time. "
            "Point cache= or VISIONDATA_HOME at a writable folder to keep it.",
            stacklevel=3,
        )
