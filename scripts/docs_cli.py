"""mkdocs hook: replaces ``<!-- cli-reference -->`` in docs/cli.md with a reference drawn from the parsers.

Every command, sub-command and option comes from ``visiondata.cli.build_parser()``
(its sub-parsers walked recursively), with the help text as the parser holds
it, so the page cannot drift from the command line. Each command is then run
on small sample files written to a scratch folder (``docs_samples.py``: an
image folder, a CSV, a tiny COCO set, a tiny MNIST of random pixels; no
network, no real data), in this process through ``visiondata.cli.main``, and
its output is shown as printed. An example that does not end with the exit
status it is listed with stops the build.

``python scripts/docs_cli.py`` prints the generated Markdown.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import io
import os
import re
import shlex
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docs_samples  # beside this file; mkdocs puts a hook's folder on sys.path while it imports the hook

PLACEHOLDER = "<!-- cli-reference -->"
WIDTH = 100  # columns of the usage lines


@dataclass(frozen=True)
class Example:
    """One run of a command: its arguments (after ``visiondata``), what it shows, its expected exit status."""

    argv: tuple[str, ...]
    note: str = ""
    status: int = 0


# Keyed by the command's path below ``visiondata`` ("" is the top level). A
# test checks that every command without sub-commands has at least one.
EXAMPLES: dict[str, tuple[Example, ...]] = {
    "": (Example(("--version",)),),
    "train mnist-cnn": (
        Example(
            ("train", "mnist-cnn", "--epochs", "1", "--limit", "64", "--root", "data", "--no-progress"),
            "One epoch on the tiny MNIST of random pixels, so the accuracy is chance; on the real "
            "MNIST the default 15 epochs reach at least 0.985.",
        ),
    ),
    "train yolo-shapes": (
        Example(
            (
                "train",
                "yolo-shapes",
                "--epochs",
                "1",
                "--train-count",
                "32",
                "--test-count",
                "8",
                "--image-size",
                "64",
                "--width",
                "4",
                "--out",
                "detector",
                "--no-progress",
            ),
            "One epoch of 32 tiny images, so the mAP is near 0; the defaults (30 epochs of 1,000 images of "
            "160 px) reach mAP@0.5 0.91-0.92 in about 4 minutes on 2 cores (docs/one-stage-detection.md).",
        ),
    ),
    "datasets list": (Example(("datasets", "list", "--pattern", "*mnist*")),),
    "datasets info": (Example(("datasets", "info", "mnist")),),
    "check": (
        Example(("check", "messy"), "A folder with problems: exit status 1.", status=1),
        Example(("check", "--csv", "labels.csv"), "A CSV of labels without problems."),
    ),
    "models list": (Example(("models", "list", "--pattern", "resnet*")),),
    "models info": (Example(("models", "info", "mnist_cnn")),),
    "preview": (
        Example(
            ("preview", "photos", "-n", "8", "--out", "preview.jpg"),
            "The picture it writes is shown in [Your own data](own-data.md#looking-at-samples-visiondata-preview).",
        ),
    ),
    "convert": (Example(("convert", "coco/annotations.json", "yolo", "--to", "yolo")),),
    "export": (Example(("export", "photos", "shards")),),
    "report": (
        Example(
            ("report", "messy", "photos", "-o", "report.html", "--json", "report.json"),
            "Two folders as two splits, named by the folders: the unreadable files of messy/ and the copies it "
            "shares with photos/ are on the page.",
        ),
    ),
}

SAMPLE_FILES = (
    "`photos/` (8 JPEGs in two class folders, `circle/` and `square/`), "
    "`messy/` (the same with a truncated JPEG, an empty file, a copy of an image in the other class, "
    "a greyscale PNG and a hidden `.DS_Store`), `labels.csv` (the images of `photos/` with their labels), "
    "`coco/annotations.json` with 4 images of boxed shapes, and `data/MNIST/raw` "
    "(a tiny MNIST of random pixels: 64 training and 32 test images)"
)


def write_sample_files(folder: Path) -> Path:
    """The files the examples run on (``SAMPLE_FILES`` describes them)."""
    docs_samples.write_image_folder(folder / "photos")
    docs_samples.add_problems(docs_samples.write_image_folder(folder / "messy"))
    docs_samples.write_labels_csv(folder / "photos", folder / "labels.csv")
    docs_samples.write_coco(folder / "coco")
    docs_samples.write_tiny_mnist(folder / "data")
    return folder


def walk(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = (), help: str | None = None
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser, str | None]]:
    """Every parser below ``parser``, depth first, in the order it lists them: ``(path, parser, help)``."""
    yield path, parser, help
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            seen: set[int] = set()
            for name, sub in action.choices.items():
                if id(sub) not in seen:  # aliases map to the same parser
                    seen.add(id(sub))
                    yield from walk(sub, (*path, name), helps.get(name))


def subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, str]]:
    """``(name, help)`` of the sub-commands of ``parser``."""
    return [
        (choice.dest, choice.help or "")
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for choice in action._choices_actions
    ]


def options(parser: argparse.ArgumentParser) -> list[tuple[str, str]]:
    """``(invocation, help)`` of every argument of ``parser`` but ``-h`` and the sub-command choice."""
    formatter = parser._get_formatter()
    rows = []
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        if action.help == argparse.SUPPRESS:
            continue
        invocation = formatter._format_action_invocation(action)
        described = formatter._expand_help(action) if action.help else ""
        if action.option_strings and action.required:
            described = f"(required) {described}".strip()
        rows.append((invocation, described))
    return rows


def text(value: str) -> str:
    """``value`` as Markdown text that shows exactly those characters (also in a table cell)."""
    value = " ".join(value.split())
    return re.sub(r"([\\`*_\[\]|])", r"\\\1", html.escape(value, quote=False))


def anchor(path: tuple[str, ...]) -> str:
    """The id mkdocs gives the heading of the command at ``path``."""
    return "-".join(("visiondata", *path))


@contextlib.contextmanager
def environment(**variables: str) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def working_directory(folder: Path) -> Iterator[None]:
    previous = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)


def run(example: Example, folder: Path) -> tuple[int, str]:
    """Run ``visiondata <example.argv>`` in ``folder``; returns the exit status and what it printed."""
    from visiondata.cli import main

    output = io.StringIO()
    with (
        working_directory(folder),
        environment(VISIONDATA_HOME=str(folder / "home"), COLUMNS=str(WIDTH)),
        contextlib.redirect_stdout(output),
        contextlib.redirect_stderr(output),
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always")
        try:
            status = main(list(example.argv))
        except SystemExit as exit:
            status = exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
    printed = output.getvalue().rstrip()
    for warning in caught:  # as a reader sees them, less the source line of the warning
        printed += f"\n{warning.category.__name__}: {warning.message}"
    return status, printed.strip("\n")


def example_block(example: Example, folder: Path) -> str:
    status, printed = run(example, folder)
    if status != example.status:
        message = (
            f"docs/cli.md: `visiondata {shlex.join(example.argv)}` ended with exit status {status}, "
            f"expected {example.status}:\n{printed}"
        )
        try:
            from mkdocs.exceptions import PluginError
        except ImportError:  # pragma: no cover - run without mkdocs
            raise RuntimeError(message) from None
        raise PluginError(message)
    lines = []
    if example.note:
        lines += [example.note, ""]
    shown = f"$ visiondata {shlex.join(example.argv)}\n{printed}".rstrip()
    if status:
        shown += f"\n$ echo $?\n{status}"
    return "\n".join([*lines, "```console", shown, "```", ""])


def section(
    path: tuple[str, ...], parser: argparse.ArgumentParser, help: str | None, folder: Path | None
) -> str:
    level = "#" * min(len(path) + 1, 3) if path else "##"
    command = " ".join(("visiondata", *path))
    lines = [f"{level} `{command}`", ""]
    description = parser.description or help
    if description:
        lines += [text(description), ""]
    lines += ["```text", parser.format_usage().strip(), "```", ""]
    children = subcommands(parser)
    if children:
        lines += ["| command | what it does |", "| --- | --- |"]
        for name, child_help in children:
            lines.append(f"| [`{command} {name}`](#{anchor((*path, name))}) | {text(child_help)} |")
        lines.append("")
    rows = options(parser)
    if rows:
        lines += ["| argument | meaning |", "| --- | --- |"]
        lines += [f"| `{invocation}` | {text(described)} |" for invocation, described in rows]
        lines.append("")
    if parser.epilog:
        lines += [text(parser.epilog), ""]
    if folder is not None:
        for example in EXAMPLES.get(" ".join(path), ()):
            lines.append(example_block(example, folder))
    return "\n".join(lines)


def render_reference(examples: bool = True, parser: argparse.ArgumentParser | None = None) -> str:
    """The Markdown of the reference: every command and option, and (``examples=True``) the example runs."""
    from visiondata.cli import build_parser

    started = time.perf_counter()
    with environment(COLUMNS=str(WIDTH)):
        parser = parser or build_parser()
        parsers = list(walk(parser))
    with tempfile.TemporaryDirectory(prefix="visiondata-cli-docs-") as scratch:
        folder = write_sample_files(Path(scratch)) if examples else None
        with environment(COLUMNS=str(WIDTH)):
            sections = [section(path, command, help, folder) for path, command, help in parsers]
    intro = []
    if examples:
        intro = [
            "The examples below ran while this page was built "
            f"({time.perf_counter() - started:.0f} s), in a scratch folder holding {SAMPLE_FILES}.",
            "",
        ]
    return "\n".join(intro + sections)


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    if PLACEHOLDER in markdown:
        return markdown.replace(PLACEHOLDER, render_reference())
    return markdown


if __name__ == "__main__":
    print(render_reference())
