"""Files besides images: annotation and spec files read with limits, outputs written whole or not at all.

Reading: [`read_regular_file`][visiondata._files.read_regular_file] refuses a FIFO, a device, a socket, a
folder or a link to one *before opening it* (opening a FIFO waits for a writer; ``/dev/zero`` never ends),
and a file above a stated size before reading it, with an error that names the file.

Writing: every output appears under its final name only once it is complete. A file is written to a
temporary name in the same folder and renamed over the target ([`atomic_path`][visiondata._files.atomic_path]);
a folder of outputs is built in a hidden staging folder beside the target and renamed into place
([`staged_output_dir`][visiondata._files.staged_output_dir]). Nothing is deleted before its replacement
is whole, and an output that is (or links to, or lies inside) an input is refused.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from visiondata.exceptions import DatasetFormatError, OutputConflictError

#: Annotation files (a VOC XML, a YOLO label file) larger than this are refused before they are read.
MAX_ANNOTATION_BYTES = 64 << 20
#: Pipeline specs and ``data.yaml`` files larger than this are refused before they are read.
MAX_SPEC_BYTES = 16 << 20
#: A whole-dataset annotation file (COCO JSON) larger than this is refused (COCO 2017's train file is 0.45 GB).
MAX_DATASET_FILE_BYTES = 8 << 30

#: Staging folders and temporary files start with this, so a reader or a person can tell an interrupted write.
PARTIAL_PREFIX = ".visiondata-partial-"

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def file_kind(mode: int) -> str:
    """What a ``st_mode`` describes, in words (``"a regular file"``, ``"a FIFO (named pipe)"``...)."""
    if stat.S_ISREG(mode):
        return "a regular file"
    return next((name for test, name in _KINDS if test(mode)), "not a file")


def read_regular_file(path: str | os.PathLike[str], what: str, max_bytes: int) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``max_bytes``; anything else is a named error.

    Links are followed for the check, so a link to ``/dev/zero`` or to a FIFO is refused like the
    special file itself, without opening it.

    Args:
        path: The file.
        what: What the file is, for the message (``"VOC annotation"``, ``"pipeline spec"``...).
        max_bytes: The largest size read.

    Raises:
        DatasetFormatError: Missing, not a regular file, or too large; the message names the file,
            what was expected, what was found and the fix.

    Examples:
        >>> read_regular_file("/dev/zero", "YOLO label file", 1024)
        Traceback (most recent call last):
        ...
        visiondata.exceptions.DatasetFormatError: /dev/zero: YOLO label file: expected a regular file, got a character device; ...
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        reason = "a broken symbolic link" if os.path.islink(path) else "nothing (file not found)"
        raise DatasetFormatError(f"{path}: {what}: expected a regular file, got {reason}") from None
    except OSError as error:
        raise DatasetFormatError(f"{path}: {what}: cannot open: {error.strerror or error}") from error
    _refuse(path, what, info, max_bytes)
    try:
        # O_NONBLOCK: should the file be swapped for a FIFO after the check, opening it does not wait.
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as error:
        raise DatasetFormatError(f"{path}: {what}: cannot open: {error.strerror or error}") from error
    with open(descriptor, "rb") as stream:
        info = os.fstat(descriptor)
        _refuse(path, what, info, max_bytes)  # the file that was opened
        try:
            # Ask for the size fstat gave plus one byte (a file that grew since is still caught below):
            # asking for max_bytes + 1 would allocate a buffer of the whole limit on every call.
            data = stream.read(info.st_size + 1)
            if len(data) > info.st_size:
                data += stream.read(max_bytes + 1 - len(data)) or b""
        except OSError as error:
            raise DatasetFormatError(f"{path}: {what}: cannot read: {error.strerror or error}") from error
    if len(data) > max_bytes:  # grew since the check
        raise _too_large(path, what, f"more than {max_bytes:,}", max_bytes)
    return data


def read_text_file(path: str | os.PathLike[str], what: str, max_bytes: int) -> str:
    """[`read_regular_file`][visiondata._files.read_regular_file], decoded as UTF-8.

    Raises:
        DatasetFormatError: As ``read_regular_file``, or the bytes are not UTF-8 (the message gives the
            first bad byte and its offset).

    Examples:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "names.txt"
        >>> _ = path.write_bytes("café".encode("latin-1"))
        >>> read_text_file(path, "class list", 1024)
        Traceback (most recent call last):
        ...
        visiondata.exceptions.DatasetFormatError: ...names.txt: class list: expected UTF-8 text, got byte 0xe9 at offset 3; re-save the file as UTF-8
    """
    return decode_text(read_regular_file(path, what, max_bytes), path, what)


def decode_text(data: bytes, path: object, what: str) -> str:
    """``data`` decoded as UTF-8, or a ``DatasetFormatError`` naming ``path`` and the first bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DatasetFormatError(
            f"{path}: {what}: expected UTF-8 text, got byte {data[error.start]:#04x} at offset {error.start}; "
            "re-save the file as UTF-8"
        ) from None


def _refuse(path: object, what: str, info: os.stat_result, max_bytes: int) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise DatasetFormatError(
            f"{path}: {what}: expected a regular file, got {file_kind(info.st_mode)}; "
            "special files and folders are never opened: replace it with the file it stands for"
        )
    if info.st_size > max_bytes:
        raise _too_large(path, what, f"{info.st_size:,}", max_bytes)


def _too_large(path: object, what: str, size: str, max_bytes: int) -> DatasetFormatError:
    return DatasetFormatError(
        f"{path}: {what}: expected at most {max_bytes:,} bytes, got {size}; not read (a file this large is "
        "not an annotation file of this kind)"
    )


def refuse_non_file_output(path: str | os.PathLike[str], what: str, example: str) -> None:
    """Refuse an output file path that exists as a folder or a special file (``/dev/null``, a FIFO).

    Called before an `atomic_path` write that must only ever replace a regular file: renaming over
    ``/dev/null`` would replace the device.

    Args:
        path: The file to write.
        what: What is written, for the message (``"an image file"``).
        example: A file name to suggest (``"preview.png"``).

    Raises:
        OutputConflictError: The message names the path, what was found there and the fix.

    Examples:
        >>> refuse_non_file_output("/dev/null", "an image file", "preview.png")
        Traceback (most recent call last):
        ...
        visiondata.exceptions.OutputConflictError: /dev/null: expected an image file to write (new, or a file to replace), got a character device; choose a file name such as preview.png
    """
    try:
        mode: int | None = os.stat(path).st_mode
    except OSError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        raise OutputConflictError(
            f"{path}: expected {what} to write (new, or a file to replace), got {file_kind(mode)}; "
            f"choose a file name such as {example}"
        )


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary path beside ``target``, renamed onto it when the block ends without an error.

    The temporary name is in the same folder (so the rename is atomic) and starts with
    [`PARTIAL_PREFIX`][visiondata._files.PARTIAL_PREFIX]; on an error it is removed and ``target`` is
    left as it was. An existing ``target`` that is a link is replaced by the file, never written through.

    Examples:
        >>> import tempfile, pathlib
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
        >>> with atomic_path(target) as partial:
        ...     _ = partial.write_text("whole")
        >>> target.read_text()
        'whole'
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = _fresh_name(target.parent, f"{PARTIAL_PREFIX}{target.name}-", target.suffix, make_folder=False)
    try:
        yield partial
        if partial.is_symlink() or partial.exists():
            os.replace(partial, target)
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise


def _fresh_name(parent: Path, prefix: str, suffix: str, make_folder: bool) -> Path:
    """Create a new empty file or folder with a random name; unlike ``tempfile``, its permissions follow the umask."""
    while True:
        candidate = parent / f"{prefix}{secrets.token_hex(4)}{suffix}"
        try:
            if make_folder:
                candidate.mkdir()
            else:
                os.close(os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return candidate


def write_bytes_atomic(target: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``target`` whole or not at all (see [`atomic_path`][visiondata._files.atomic_path])."""
    with atomic_path(target) as partial:
        partial.write_bytes(data)


def write_text_atomic(target: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``target`` whole or not at all."""
    write_bytes_atomic(target, text.encode("utf-8"))


def same_or_inside(path: str | os.PathLike[str], others: Iterable[str | os.PathLike[str]]) -> str | None:
    """The first of ``others`` that ``path`` is, links to, or lies inside (links resolved); ``None`` if none.

    Also true when ``path`` is a folder that holds one of ``others``: writing a fresh folder there
    would replace the input.

    Examples:
        >>> same_or_inside("/data/out/images", ["/data/out"])
        '/data/out'
        >>> same_or_inside("/data/out", ["/data/out/images/a.jpg"])
        '/data/out/images/a.jpg'
        >>> same_or_inside("/data/out", ["/data/in"]) is None
        True
    """
    real = os.path.realpath(path)
    for other in others:
        other_real = os.path.realpath(other)
        if real == other_real or _is_within(real, other_real) or _is_within(other_real, real):
            return os.fspath(other)
        with contextlib.suppress(OSError):
            if os.path.samefile(path, other):
                return os.fspath(other)
    return None


def _is_within(path: str, folder: str) -> bool:
    return path.startswith(folder.rstrip(os.sep) + os.sep)


def refuse_special_output(out: str | os.PathLike[str], argument: str = "OUT") -> None:
    """Refuse an output folder path that exists as something else (``/dev/null``, a FIFO, a file) or lies under one.

    Raises:
        OutputConflictError: The message names the path, what was found there and the fix.

    Examples:
        >>> refuse_special_output("/dev/null/out")
        Traceback (most recent call last):
        ...
        visiondata.exceptions.OutputConflictError: /dev/null/out: OUT: expected a folder, got a path that cannot be one (it lies under /dev/null, which is a character device); choose a folder
    """
    try:
        info = os.stat(out)
    except (FileNotFoundError, NotADirectoryError):
        # The nearest existing ancestor must be a folder: /dev/null/a/b is not a folder to create.
        for ancestor in Path(os.path.abspath(out)).parents:
            try:
                ancestor_info = os.stat(ancestor)
            except (FileNotFoundError, NotADirectoryError):
                continue
            if not stat.S_ISDIR(ancestor_info.st_mode):
                raise OutputConflictError(
                    f"{out}: {argument}: expected a folder, got a path that cannot be one (it lies under "
                    f"{ancestor}, which is {file_kind(ancestor_info.st_mode)}); choose a folder"
                ) from None
            return
        return
    if not stat.S_ISDIR(info.st_mode):
        raise OutputConflictError(
            f"{out}: {argument}: expected a folder, got {file_kind(info.st_mode)}; choose a folder"
        )


@contextlib.contextmanager
def staged_output_dir(
    out: str | os.PathLike[str],
    inputs: Iterable[str | os.PathLike[str]] = (),
    overwrite: bool = False,
    argument: str = "OUT",
) -> Iterator[Path]:
    """A fresh staging folder that becomes ``out`` when the block ends without an error.

    - ``out`` may not be, link to, lie inside or hold any of ``inputs``: that is an
      [`OutputConflictError`][visiondata.exceptions.OutputConflictError] before anything is written.
    - An ``out`` that exists and is not empty is refused unless ``overwrite``; then it is replaced
      whole once the new folder is complete (the old one is renamed aside, the new one renamed in,
      and only then is the old one removed).
    - The staging folder is ``<parent>/.visiondata-partial-<name>-<random>``: an interrupted write leaves
      it there and ``out`` untouched, so an incomplete output never stands under the final name.

    Examples:
        >>> import tempfile, pathlib
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "converted"
        >>> with staged_output_dir(out) as staging:
        ...     _ = (staging / "a.txt").write_text("a")
        >>> sorted(path.name for path in out.iterdir())
        ['a.txt']
    """
    out = Path(out)
    refuse_special_output(out, argument)
    conflict = same_or_inside(out, inputs)
    if conflict is not None:
        raise OutputConflictError(
            f"{out}: {argument}: expected a folder apart from the input, got one that is, holds or lies "
            f"inside the input {conflict}; writing there could destroy the data it is read from: "
            "choose another output folder"
        )
    existing = out.is_dir() and any(out.iterdir())
    if existing and not overwrite:
        raise OutputConflictError(
            f"{out}: {argument}: expected a new or empty folder, got one that holds files; old and new files "
            "would mix: choose another folder, or pass overwrite=True (--overwrite) to replace it whole"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = _fresh_name(out.parent, f"{PARTIAL_PREFIX}{out.name}-", "", make_folder=True)
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if out.is_dir() and not out.is_symlink():
        old = _fresh_name(out.parent, f".visiondata-old-{out.name}-", "", make_folder=True)
        os.replace(out, old / out.name)
        os.replace(staging, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        if out.is_symlink():
            out.unlink()
        os.replace(staging, out)
