"""Shards in object storage and on web servers, through fsspec (the ``cloud`` extra).

A location is *remote* when it is a URL with a scheme fsspec knows (``s3://``, ``gs://``, ``az://``,
``https://``...), *local* when it is a path (or a ``file://`` URL), and a *pipe* when it starts with
``pipe:`` (a command whose output is the shard, which ``webdataset`` runs). Credentials, regions and
endpoints come from where each filesystem looks for them (for S3: the ``AWS_*`` environment variables,
``AWS_ENDPOINT_URL`` included, the profiles in ``~/.aws``) or from ``storage_options``, which are passed
to the filesystem as they are; nothing here stores them.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import IO, Any

#: Bytes fetched per request while streaming a shard from a filesystem that reads by ranges.
READ_BLOCK_BYTES = 8 << 20
#: Part size of a multipart upload (S3 needs at least 5 MiB per part but the last).
UPLOAD_PART_BYTES = 64 << 20
#: How often a dropped connection is retried, by default, before the shard is named in an error.
RETRIES = 3
#: Seconds before the first retry; each further one waits twice as long (at most 8 s).
RETRY_DELAY = 0.25
# Schemes fsspec serves from one sequential GET: their servers need not support Range requests.
_STREAMED = ("http", "https")


def is_pipe(url: str) -> bool:
    """Whether ``url`` is a ``pipe:`` command.

    Examples:
        >>> is_pipe("pipe:aws s3 cp s3://bucket/train-000000.tar -"), is_pipe("s3://bucket/train-000000.tar")
        (True, False)
    """
    return url.startswith("pipe:")


def is_remote(url: str) -> bool:
    """Whether ``url`` is read and written through fsspec: a URL with a scheme other than ``file``.

    Examples:
        >>> is_remote("s3://bucket/prefix"), is_remote("https://host/a.tar"), is_remote("out/train-000000.tar")
        (True, True, False)
        >>> is_remote("file:///data/shards"), is_remote("pipe:cat a.tar")
        (False, False)
    """
    return "://" in url and not url.startswith("file://") and not is_pipe(url)


def local_path(url: str) -> str:
    """``url`` as a local path: ``file://`` stripped, anything else unchanged.

    Examples:
        >>> local_path("file:///data/shards"), local_path("out")
        ('/data/shards', 'out')
    """
    return url[len("file://") :] if url.startswith("file://") else url


def join(url: str, name: str) -> str:
    """``name`` inside the folder (or prefix) ``url``, for URLs and paths alike.

    Examples:
        >>> join("s3://bucket/prefix/", "train.shards.json"), join("out", "train-000000.tar")
        ('s3://bucket/prefix/train.shards.json', 'out/train-000000.tar')
    """
    if is_remote(url):
        return f"{url.rstrip('/')}/{name}"
    return os.path.join(url, name)


def parent(url: str) -> str:
    """The folder (or prefix) holding ``url``.

    Examples:
        >>> parent("s3://bucket/prefix/train-000000.tar"), parent("out/train-000000.tar")
        ('s3://bucket/prefix', 'out')
    """
    if is_remote(url):
        return url.split("?")[0].rstrip("/").rsplit("/", 1)[0]
    return os.path.dirname(url)


def fsspec_module() -> Any:
    """The ``fsspec`` package, or a ``MissingDependencyError`` naming the ``cloud`` extra."""
    try:
        import fsspec
    except ImportError as error:
        raise _missing(str(error)) from error
    return fsspec


def filesystem(url: str, storage_options: dict[str, Any] | None = None) -> tuple[Any, str]:
    """The fsspec filesystem serving ``url`` and the path on it.

    Args:
        url: A remote URL (``s3://bucket/prefix``...).
        storage_options: Passed to the filesystem (credentials, ``endpoint_url``...), as fsspec takes them.

    Raises:
        MissingDependencyError: fsspec, or the package of the URL's scheme (``s3fs`` for ``s3://``), is missing.
        ValueError: fsspec knows no filesystem for the scheme.
    """
    fsspec = fsspec_module()
    try:
        return fsspec.core.url_to_fs(url, **(storage_options or {}))
    except ImportError as error:  # fsspec knows the scheme but its package is missing ("Install s3fs ...")
        raise _missing(str(error)) from error
    except ValueError as error:
        if "protocol" in str(error).lower():
            raise ValueError(
                f"{url}: expected a path or a URL whose scheme fsspec knows (s3://, gs://, az://, https://...), "
                f"got {url.split('://')[0]!r}: {error}"
            ) from None
        raise


def listing(url: str, storage_options: dict[str, Any] | None = None) -> dict[str, int | None] | None:
    """The files directly inside the folder or prefix ``url``, name -> size in bytes (``None`` where the
    server does not say); ``None`` when ``url`` is not a folder.

    An object store has no folders: a prefix holding at least one object is listed, any other is ``None``.
    """
    fs, path = filesystem(url, storage_options)
    path = path.rstrip("/")
    fs.invalidate_cache(path)  # fsspec caches listings per process: this one must be fresh
    try:
        entries = fs.ls(path, detail=True)
    except (FileNotFoundError, NotADirectoryError):
        return None
    files = [entry for entry in entries if entry.get("type") != "directory"]
    if not entries or (
        len(entries) == 1 and files and files[0]["name"].rstrip("/").endswith(path.split("://")[-1])
    ):
        return None  # nothing there, or ``url`` is a file itself
    return {
        entry["name"].rstrip("/").rsplit("/", 1)[-1]: (
            int(entry["size"]) if entry.get("size") is not None else None
        )
        for entry in files
    }


class RetryingReader:
    """A file at a remote URL, read in order; a dropped connection is reopened where it broke off.

    Each read that fails with an error of the connection (not a missing file or a refused permission) is
    retried up to ``retries`` times, waiting `RETRY_DELAY` seconds, then twice as long each time; the
    stream is reopened at the byte it had reached (by seeking, or on servers that only stream, by reading
    again up to it). When every retry fails, an ``OSError`` names the URL, the byte reached and the cause.

    Args:
        url: The remote URL.
        storage_options: As for `filesystem`.
        retries: Retries per failure, ``0`` for none.
    """

    def __init__(
        self, url: str, storage_options: dict[str, Any] | None = None, retries: int = RETRIES
    ) -> None:
        self.url = url
        self.retries = retries
        self.position = 0
        self._fs, self._path = filesystem(url, storage_options)
        self._stream: IO[bytes] | None = None
        self._stream = self._call(self._open)

    @property
    def size(self) -> int | None:
        """The file's size when the server said it, else ``None``."""
        size = getattr(self._stream, "size", None)
        return int(size) if isinstance(size, int) else None

    def _open(self) -> IO[bytes]:
        if _protocol(self._fs) in _STREAMED:
            stream = self._fs.open(self._path, "rb", block_size=0)  # one GET, read as it arrives
        else:
            stream = self._fs.open(self._path, "rb", block_size=READ_BLOCK_BYTES, cache_type="readahead")
        if self.position:
            if stream.seekable():
                stream.seek(self.position)
            else:
                left = self.position
                while left:
                    skipped = stream.read(min(left, READ_BLOCK_BYTES))
                    if not skipped:
                        raise EOFError(
                            f"the file ends at byte {self.position - left}, before {self.position}"
                        )
                    left -= len(skipped)
        return stream

    def _call(self, action: Any) -> Any:
        delay = RETRY_DELAY
        attempt = 0
        while True:
            try:
                return action()
            except Exception as error:  # the transports raise their own classes (aiohttp, botocore...)
                if _is_permanent(error):
                    if isinstance(error, OSError):
                        raise
                    raise PermissionError(
                        f"{self.url}: expected credentials for the store, got none usable "
                        f"({type(error).__name__}: {error}); set them where the filesystem looks (for S3: "
                        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ~/.aws) or pass "
                        "storage_options= (key=, secret=)"
                    ) from error
                if attempt >= self.retries:
                    raise OSError(
                        f"{self.url}: the connection failed at byte {self.position:,} and "
                        f"{attempt} retr{'y' if attempt == 1 else 'ies'} failed too "
                        f"({type(error).__name__}: {error}); check the network and the server, then read "
                        "again (retries= sets how often a dropped connection is retried)"
                    ) from error
                attempt += 1
                time.sleep(delay)
                delay = min(delay * 2, 8.0)
                self._close_stream()
                try:
                    self._stream = self._open()
                except (FileNotFoundError, PermissionError):
                    raise
                except Exception:  # still down: the next round of the loop counts it
                    self._stream = None

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (all the rest with ``-1``); fewer only at the end of the file."""

        def attempt() -> bytes:
            if self._stream is None:
                self._stream = self._open()
            return self._stream.read(size)

        data = self._call(attempt)
        self.position += len(data)
        return data

    def readable(self) -> bool:
        return True

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(Exception):  # closing a broken connection may fail too; nothing is lost
                stream.close()

    def close(self) -> None:
        self._close_stream()

    def __enter__(self) -> RetryingReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _is_permanent(error: Exception) -> bool:
    """Whether retrying cannot help: a missing file, a refused permission, missing or partial credentials."""
    if isinstance(error, (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)):
        return True
    # botocore's credential errors (no AWS_* variables, no profile): the same answer on every try.
    return type(error).__name__ in ("NoCredentialsError", "PartialCredentialsError", "ProfileNotFound")


def read_bytes(
    url: str, limit: int, storage_options: dict[str, Any] | None = None, retries: int = RETRIES
) -> bytes:
    """At most ``limit + 1`` bytes of the file at ``url`` (one more than allowed, so the caller can refuse it)."""
    with RetryingReader(url, storage_options, retries) as stream:
        parts, left = [], limit + 1
        while left > 0:
            data = stream.read(min(left, READ_BLOCK_BYTES))
            if not data:
                break
            parts.append(data)
            left -= len(data)
    return b"".join(parts)


def upload(local: str, url: str, storage_options: dict[str, Any] | None = None) -> None:
    """Copy the local file ``local`` to ``url`` (S3: one request, or a multipart upload of `UPLOAD_PART_BYTES` parts).

    An object store shows an object only once its upload is complete, so a reader never sees part of it.
    """
    fs, path = filesystem(url, storage_options)
    options: dict[str, Any] = {}
    if _protocol(fs) in ("s3", "s3a"):
        options["chunksize"] = UPLOAD_PART_BYTES  # multipart from 2 parts on
    fs.put_file(local, path, **options)


def write_bytes(url: str, data: bytes, storage_options: dict[str, Any] | None = None) -> None:
    """Write ``data`` as the whole file at ``url``."""
    fs, path = filesystem(url, storage_options)
    fs.pipe_file(path, data)


def remove(url: str, storage_options: dict[str, Any] | None = None) -> None:
    """Remove the file at ``url``; a file already gone is no error."""
    fs, path = filesystem(url, storage_options)
    with contextlib.suppress(FileNotFoundError):
        fs.rm_file(path)


def move(source: str, target: str, storage_options: dict[str, Any] | None = None) -> None:
    """Move the file ``source`` to ``target`` on the same filesystem (on S3, a server-side copy, then a delete)."""
    fs, source_path = filesystem(source, storage_options)
    _, target_path = filesystem(target, storage_options)
    fs.mv(source_path, target_path)


def refuse_writing_to(url: str) -> None:
    """Refuse a URL whose filesystem cannot hold shards written in pieces (``http(s)://``: read-only)."""
    if url.split("://")[0].lower() in _STREAMED:
        raise ValueError(
            f"{url}: expected a folder or an object-store URL (s3://, gs://, az://...) to write shards to, got a "
            "web address, which fsspec can only read; write to a store the web server serves from"
        )


def _protocol(fs: Any) -> str:
    protocol = getattr(fs, "protocol", "")
    return protocol if isinstance(protocol, str) else (protocol or ("",))[0]


def _missing(cause: str) -> Exception:
    from visiondata.exceptions import MissingDependencyError

    return MissingDependencyError(
        "shards in object storage or on web servers need fsspec and the filesystem of the URL's scheme "
        "(s3fs for s3://, gcsfs for gs://, aiohttp for https://): install the cloud extra "
        f"(pip install 'visiondata[cloud]', or pip install fsspec s3fs) ({cause})"
    )
