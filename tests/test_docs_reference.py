"""The API and command-line reference pages cover every public name, command and option; no Sphinx role is left."""

from __future__ import annotations

import argparse
import importlib
import re
from pathlib import Path

import pytest
import yaml
from test_docs import load_script

REPO = Path(__file__).resolve().parents[1]
API = REPO / "docs" / "api"
PACKAGES = [
    "visiondata.datasets",
    "visiondata.io",
    "visiondata.transforms",
    "visiondata.transforms.presets",
    "visiondata.models",
    "visiondata.training",
    "visiondata.exceptions",
    "visiondata.formats",
    "visiondata.boxes",
    "visiondata.viz",
    "visiondata.collate",
    "visiondata.loaders",
    "visiondata.shards",
    "visiondata.report",
]
SPHINX_ROLE = re.compile(r":(meth|class|func|attr|mod|exc|data):`")


def documented(pages: list[Path]) -> list[str]:
    """The object of every mkdocstrings block (``::: visiondata.x.Name``) of ``pages``, in order."""
    return [
        name for page in pages for name in re.findall(r"^::: *(\S+)", page.read_text(), flags=re.MULTILINE)
    ]


def test_api_pages_document_every_public_name() -> None:
    objects = set(documented(sorted(API.glob("*.md"))))
    # A name re-exported by a second package (visiondata.datasets.YOLODataset is visiondata.formats.YOLODataset)
    # is documented once, under the package that defines it.
    documented_objects = [resolve(path) for path in objects]
    missing = [
        f"{package}.{name}"
        for package in PACKAGES
        for name in importlib.import_module(package).__all__
        if f"{package}.{name}" not in objects
        and not any(getattr(importlib.import_module(package), name) is found for found in documented_objects)
    ]
    assert not missing, f"public names without an entry in docs/api/: {missing}"


def resolve(path: str) -> object:
    """The object a ``::: visiondata.x.Name`` (or ``::: visiondata.x``) block documents."""
    try:
        return importlib.import_module(path)
    except ModuleNotFoundError:
        module, _, name = path.rpartition(".")
        return getattr(importlib.import_module(module), name)


def test_every_public_subpackage_is_listed() -> None:
    # A new public subpackage (visiondata.<name> with an __all__) needs a page and a place in PACKAGES.
    import visiondata

    subpackages = {
        f"visiondata.{name}"
        for name in visiondata.__all__
        if hasattr(getattr(visiondata, name), "__all__") and name != "cli"  # the CLI has its own page
    }
    assert subpackages <= set(PACKAGES), subpackages - set(PACKAGES)


def test_each_object_is_documented_once() -> None:
    # Two blocks for one object give duplicate anchors and ambiguous cross-references.
    objects = documented(sorted((REPO / "docs").rglob("*.md")))
    assert len(objects) == len(set(objects)), sorted({name for name in objects if objects.count(name) > 1})


def test_api_pages_are_in_the_navigation() -> None:
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text())

    def pages(entries: object) -> list[str]:
        if isinstance(entries, str):
            return [entries]
        if isinstance(entries, dict):
            return [page for value in entries.values() for page in pages(value)]
        if isinstance(entries, list):
            return [page for entry in entries for page in pages(entry)]
        return []

    navigation = pages(config["nav"])
    for page in sorted(API.glob("*.md")):
        assert f"api/{page.name}" in navigation, page.name
    assert "cli.md" in navigation


def test_no_sphinx_roles_are_left() -> None:
    # mkdocstrings shows `:meth:`...`` as written: cross-references are [`name`][visiondata.path] links.
    files = [
        path
        for folder in ("visiondata", "docs", "scripts")
        for path in sorted((REPO / folder).rglob("*"))
        if path.suffix in {".py", ".md"}
    ]
    found = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in files
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if SPHINX_ROLE.search(line)
    ]
    assert not found, "\n".join(found)


def commands() -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every parser of the command line with its path below ``visiondata`` (walked here, not by the hook)."""
    from visiondata.cli import build_parser

    found = []
    pending: list[tuple[tuple[str, ...], argparse.ArgumentParser]] = [((), build_parser())]
    while pending:
        path, parser = pending.pop()
        found.append((path, parser))
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                pending += [((*path, name), sub) for name, sub in action.choices.items()]
    return found


def has_subcommands(parser: argparse.ArgumentParser) -> bool:
    return any(isinstance(action, argparse._SubParsersAction) for action in parser._actions)


@pytest.fixture(scope="module")
def cli_page() -> str:
    return load_script("docs_cli").render_reference(examples=False)


def sections(page: str) -> dict[str, str]:
    """The text under each ``## `visiondata ...``` heading of the page, by command."""
    parts = re.split(r"^#{2,6} `(visiondata[^`]*)`$", page, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_cli_reference_covers_every_command_and_option(cli_page: str) -> None:
    docs_cli = load_script("docs_cli")
    by_command = sections(cli_page)
    parsers = commands()
    assert {" ".join(("visiondata", *path)) for path, _ in parsers} == set(by_command)
    for path, parser in parsers:
        section = by_command[" ".join(("visiondata", *path))]
        assert parser.format_usage().split()[1:3] == section.split("usage: ", 1)[1].split()[:2]
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction) or action.help == argparse.SUPPRESS:
                continue
            if isinstance(action, argparse._SubParsersAction):
                for choice in action._choices_actions:
                    assert f"`visiondata {' '.join((*path, choice.dest))}`" in section
                    assert docs_cli.text(choice.help) in section
                continue
            for option in action.option_strings or [action.metavar or action.dest]:
                assert re.search(rf"`[^`]*(?<![\w-]){re.escape(option)}(?![\w-])[^`]*`", section), (
                    path,
                    option,
                )
            expanded = parser._get_formatter()._expand_help(action)
            assert docs_cli.text(expanded) in section, (path, action.dest)
        if parser.epilog:
            assert docs_cli.text(parser.epilog) in section


def test_every_command_has_an_example() -> None:
    examples = load_script("docs_cli").EXAMPLES
    paths = {" ".join(path): parser for path, parser in commands()}
    leaves = {path for path, parser in paths.items() if not has_subcommands(parser)}
    assert leaves <= set(examples), (
        f"commands without an example in scripts/docs_cli.py: {leaves - set(examples)}"
    )
    assert set(examples) <= set(paths), (
        f"examples of commands that do not exist: {set(examples) - set(paths)}"
    )
    for path, runs in examples.items():
        for example in runs:
            assert list(example.argv[: len(path.split())]) == path.split(), (path, example.argv)
