"""Every error visiondata raises on purpose.

Each error inherits [`VisionDataError`][visiondata.exceptions.VisionDataError] *and* the built-in exception it
replaces, so callers can catch either: ``except KeyError`` keeps working for
an unknown name, ``except VisionDataError`` catches everything the library
raises deliberately.

Messages follow one pattern: what was expected, what was found, and how to
fix it.

Every error survives a trip between processes. Pickle (``multiprocessing``,
``concurrent.futures``) rebuilds it with its type, its exact message and its
attributes. torch's ``DataLoader`` keeps less: it re-raises an error from a
worker process by calling its class with the worker's report as the only
argument. Each error therefore also accepts being built from a message alone,
so ``except ImageReadError`` still catches it in the main process; the
attributes it was raised with are then ``None`` (the report, with the
original message, is the text of the error).
"""

from __future__ import annotations

__all__ = [
    "DatasetFormatError",
    "DatasetNotFoundError",
    "DatasetValidationError",
    "DownloadError",
    "DuplicateNameError",
    "ImageReadError",
    "InvalidBoxesError",
    "MissingDependencyError",
    "OutputConflictError",
    "PluginWarning",
    "SkippedSampleWarning",
    "TransformSpecError",
    "UnknownNameError",
    "UnknownSplitError",
    "VisionDataError",
    "WeightsLoadError",
    "WeightsUnavailableError",
]


class VisionDataError(Exception):
    """Base class of every error raised by visiondata."""


class UnknownNameError(VisionDataError, KeyError):
    """A registry was asked for a name it does not hold.

    Examples:
        >>> import visiondata as vd
        >>> try:
        ...     vd.dataset_info("mnsit")
        ... except vd.exceptions.UnknownNameError as error:
        ...     print(error)
        unknown dataset 'mnsit'; did you mean 'mnist'...

    Attributes:
        name: The name asked for; ``None`` when the error was rebuilt from its
            message alone (see the module's docstring).
        suggestions: Close matches among the names held, best first.
    """

    def __init__(self, message: str, *, name: str | None = None, suggestions: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.name = name
        self.suggestions = suggestions

    def __str__(self) -> str:
        # KeyError's __str__ would wrap the message in quotes; show it as written.
        return str(self.args[0])


class DuplicateNameError(VisionDataError, ValueError):
    """A name was registered twice without ``override=True``."""


class UnknownSplitError(VisionDataError, ValueError):
    """A dataset was asked for a split it does not have."""


class DatasetNotFoundError(VisionDataError, FileNotFoundError):
    """The files of a dataset are not where they were looked for."""


class DownloadError(VisionDataError, OSError):
    """A dataset could not be downloaded (for example, there is no network)."""


class MissingDependencyError(VisionDataError, ImportError):
    """An optional package needed for this feature is not installed; the message says which."""


class DatasetFormatError(VisionDataError, ValueError):
    """A dataset file exists but its content is not in the expected format."""


class OutputConflictError(VisionDataError, FileExistsError):
    """An output would overwrite, hold or lie inside an input, or mix with data already there; the message says which and the fix."""


class PluginWarning(UserWarning):
    """An installed plugin (an entry point) could not be loaded; the rest keeps working."""


class ImageReadError(VisionDataError, OSError):
    """An image file could not be read; the message names the file and the cause.

    ``ImageReadError(message)``, with no ``reason``, takes ``message`` as the
    whole text: the form pickle and torch's ``DataLoader`` rebuild the error
    with (see the module's docstring).

    Attributes:
        path: The file; ``None`` when built from a message alone.
        reason: Short cause ("truncated", "not an image", "empty file"...);
            ``None`` when built from a message alone.
        detail: What the decoder or the system said, or ``""``.
    """

    def __init__(self, path: object, reason: str | None = None, detail: str = "") -> None:
        if reason is None:
            super().__init__(str(path))
            self.path: str | None = None
            self.reason: str | None = None
            self.detail = ""
            return
        message = f"{path}: cannot read image: {reason}"
        super().__init__(message + (f" ({detail})" if detail else ""))
        self.path = str(path)
        self.reason = reason
        self.detail = detail


class InvalidBoxesError(VisionDataError, ValueError):
    """Bounding boxes that break their format's rules; the message names the box, the rule and the fix."""


class TransformSpecError(VisionDataError, ValueError):
    """A transform specification (a pipeline's list of ``{"name": ..., **parameters}``) cannot be built.

    The message names the transform, its position in the list, the parameter,
    the expected and the actual value. Unknown transform and parameter names
    raise [`UnknownNameError`][visiondata.exceptions.UnknownNameError] instead, with close matches.
    """


class DatasetValidationError(VisionDataError, ValueError):
    """A dataset's index (a folder tree or a CSV file) has problems; all of them are listed.

    ``DatasetValidationError(message)``, with no ``problems``, takes
    ``message`` as the whole text: the form pickle and torch's ``DataLoader``
    rebuild the error with (see the module's docstring).

    Attributes:
        problems: Every problem found, one line each; ``None`` when built from
            a message alone.
    """

    def __init__(self, source: object, problems: list[str] | None = None, shown: int = 20) -> None:
        if problems is None:
            super().__init__(str(source))
            self.problems: list[str] | None = None
            return
        listed = "\n".join(f"  - {problem}" for problem in problems[:shown])
        more = f"\n  ... and {len(problems) - shown} more" if len(problems) > shown else ""
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(f"{source}: {count} found:\n{listed}{more}")
        self.problems = list(problems)


class SkippedSampleWarning(UserWarning):
    """A sample was skipped under ``on_error="warn"``; the message names the file and the cause."""


class WeightsUnavailableError(VisionDataError, RuntimeError):
    """Model weights are neither cached nor downloadable; the message names the URL and where to put the file."""


class WeightsLoadError(VisionDataError, ValueError):
    """A weights file cannot be loaded safely or does not fit the model; the message names the file."""
