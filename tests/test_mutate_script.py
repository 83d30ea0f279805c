"""``make mutate`` (scripts/mutate.py): its configuration agrees with pyproject, its explanation files parse,
survivor ids stay put when code moves, and in a mutant's run only its module's tests are collected.

The mutation run itself (minutes, with mutmut) is not part of ``make test``; these check the parts of the
script that decide what it runs and what it reports.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def mutate():
    spec = importlib.util.spec_from_file_location("mutate_script", REPO / "scripts" / "mutate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["mutate_script"] = module  # dataclasses look their module up while the file runs
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules["mutate_script"]


@pytest.fixture
def at_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


def test_configuration_names_existing_functions_and_the_same_tests_as_pyproject(mutate, at_repo) -> None:
    config = mutate.mutmut_config()
    mutate.check_configuration(config)  # raises SystemExit listing every disagreement
    for files in mutate.TESTS_BY_MODULE.values():
        for file in files:
            assert (REPO / file).is_file(), file


def test_a_test_file_missing_from_pyproject_is_named(mutate, at_repo) -> None:
    config = mutate.mutmut_config()
    config["pytest_add_cli_args_test_selection"] = config["pytest_add_cli_args_test_selection"][1:]
    dropped = mutate.mutmut_config()["pytest_add_cli_args_test_selection"][0]
    with pytest.raises(SystemExit, match=f"{dropped}: in TESTS_BY_MODULE, not in pyproject's test selection"):
        mutate.check_configuration(config)


def test_every_explanation_file_parses(mutate) -> None:
    files = sorted((REPO / "tests" / "mutation").glob("*.txt"))
    for path in files:
        for explanation in mutate.read_explanations(path):
            assert explanation.reason
            assert explanation.pattern.startswith("visiondata."), (path, explanation.line)


def test_an_explanation_without_a_reason_is_refused_with_its_line(mutate, tmp_path: Path) -> None:
    path = tmp_path / "boxes.txt"
    path.write_text(
        "# comment\n\nvisiondata.boxes._ops.box_area@0123abcd  # area is clamped to 0 below anyway\n"
        "visiondata.boxes._ops.box_iou@89abcdef\n",
        encoding="utf-8",
    )
    with pytest.raises(SystemExit, match=r"boxes.txt:4: expected 'PATTERN  # reason'"):
        mutate.read_explanations(path)
    path.write_text("visiondata.boxes._ops.box_area@*  # every mutant of it\n", encoding="utf-8")
    (explanation,) = mutate.read_explanations(path)
    assert (explanation.pattern, explanation.reason, explanation.line) == (
        "visiondata.boxes._ops.box_area@*",
        "every mutant of it",
        1,
    )


def mutant(mutate, diff: str, name: str = "visiondata.boxes._ops.x_box_area__mutmut_3"):
    return mutate.Mutant(name, "survived", "visiondata.boxes._ops", "box_area", diff)


def test_a_survivors_id_ignores_where_the_function_lies_but_not_what_changed(mutate) -> None:
    here = "--- a\n+++ b\n@@ -3,7 +3,7 @@\n     x = 1\n-    return w * h\n+    return w / h\n"
    moved = "--- a\n+++ b\n@@ -40,7 +40,7 @@\n         x = 1\n-        return w * h\n+        return w / h\n"
    other = "--- a\n+++ b\n@@ -3,7 +3,7 @@\n     x = 1\n-    return w * h\n+    return w + h\n"
    assert mutant(mutate, here).stable_id == mutant(mutate, moved, name="...__mutmut_9").stable_id
    assert mutant(mutate, here).stable_id != mutant(mutate, other).stable_id
    assert mutant(mutate, here).stable_id.startswith("visiondata.boxes._ops.box_area@")


def test_an_explanation_matches_by_stable_id_mutmut_name_or_pattern(mutate) -> None:
    survivor = mutant(mutate, "-    return w * h\n+    return w / h\n")
    for pattern in (survivor.stable_id, survivor.name, "visiondata.boxes._ops.box_area@*"):
        assert mutate.Explanation(pattern, "why", Path("boxes.txt"), 1).matches(survivor)
    assert not mutate.Explanation("visiondata.boxes._ops.box_iou@*", "why", Path("x"), 1).matches(survivor)


def test_mangled_names_split_into_module_and_function_or_method(mutate) -> None:
    assert mutate.split_key("visiondata.boxes._ops.x_box_area") == ("visiondata.boxes._ops", "box_area")
    assert mutate.split_key("visiondata.formats._voc.x\u01c1VOCDetectionDataset\u01c1_build") == (
        "visiondata.formats._voc",
        "VOCDetectionDataset._build",
    )


def test_a_module_name_on_the_command_line_means_its_tested_functions(mutate, at_repo) -> None:
    globs = mutate.expand_patterns(["visiondata.formats._voc", "visiondata.boxes._ops.x_box_area__mutmut_1"])
    assert globs[0] == "visiondata.boxes._ops.x_box_area__mutmut_1"
    assert "visiondata.formats._voc.x\u01c1VOCDetectionDataset\u01c1_build__mutmut_*" in globs
    assert not any("to_voc" in glob for glob in globs)  # the writer shares the file, it is not tested
    assert mutate.expand_patterns(["visiondata.boxes._ops"]) == ["visiondata.boxes._ops.x[_\u01c1]*"]


OPTIONS = ["--rootdir=.", "-x", "-q", "-p", "scripts.mutate", "-k", "not dataloader_workers"]


@pytest.mark.parametrize(
    ("mutant_name", "ids", "kept"),
    [
        (  # other modules' tests are dropped before pytest collects their files
            "visiondata.boxes._ops.x_box_area__mutmut_3",
            [
                "tests/test_box_pipeline.py::test_a",
                "tests/test_boxes.py::test_b[1]",
                "tests/test_boxes.py::c",
            ],
            ["tests/test_boxes.py::test_b[1]", "tests/test_boxes.py::c"],
        ),
        (  # none of the module's: one is left for the collection hook to deselect (none would run the suite)
            "visiondata.boxes._ops.x_box_area__mutmut_3",
            ["tests/test_box_pipeline.py::test_a", "tests/test_collate.py::test_b"],
            ["tests/test_box_pipeline.py::test_a"],
        ),
        (  # mutmut's own runs (stats, clean) keep everything
            "stats",
            ["tests/test_box_pipeline.py::test_a", "tests/test_boxes.py::test_b"],
            ["tests/test_box_pipeline.py::test_a", "tests/test_boxes.py::test_b"],
        ),
    ],
)
def test_a_mutants_run_collects_only_its_modules_tests(
    mutate, monkeypatch: pytest.MonkeyPatch, mutant_name: str, ids: list[str], kept: list[str]
) -> None:
    monkeypatch.setenv("MUTANT_UNDER_TEST", mutant_name)
    args = [*OPTIONS, *ids]
    mutate.pytest_load_initial_conftests(early_config=None, parser=None, args=args)
    assert args == [*OPTIONS, *kept]


def test_a_run_of_some_modules_runs_only_their_tests_in_mutmuts_own_runs(
    mutate, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = mutate.test_files_for(["visiondata.collate._layouts.x__pad__mutmut_*"])
    assert files == list(mutate.TESTS_BY_MODULE["visiondata.collate._layouts"])
    assert mutate.test_files_for(["visiondata.boxes.*"]) == mutate.test_files_for(
        [f"visiondata.boxes.{name}" for name in ("_convert", "_ops", "_rotated", "_validate")]
    )
    monkeypatch.setenv("MUTANT_UNDER_TEST", "stats")
    monkeypatch.setenv(mutate.TEST_FILES_VARIABLE, "tests/test_collate.py:tests/test_collate_labels.py")
    args = [*OPTIONS, "tests/test_boxes.py", "tests/test_collate.py", "tests/test_collate_labels.py"]
    mutate.pytest_load_initial_conftests(early_config=None, parser=None, args=args)
    assert args == [*OPTIONS, "tests/test_collate.py", "tests/test_collate_labels.py"]
    # mutmut's clean run names test ids, not files
    args = [
        *OPTIONS,
        "tests/test_boxes.py::a",
        "tests/test_collate.py::b[1]",
        "tests/test_collate_labels.py::c",
    ]
    mutate.pytest_load_initial_conftests(early_config=None, parser=None, args=args)
    assert args == [*OPTIONS, "tests/test_collate.py::b[1]", "tests/test_collate_labels.py::c"]


def test_tests_that_run_their_code_in_a_child_interpreter_never_run_against_a_mutant(
    mutate, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The child of ``run_isolated`` imports the project's package, not mutmut's mutated copy."""

    def in_a_child() -> None:
        run_isolated("import visiondata")  # noqa: F821 - only its name is read

    def here() -> None:
        assert True

    class Item:
        def __init__(self, nodeid: str, obj) -> None:
            self.nodeid, self.obj = nodeid, obj

    deselected: list[Item] = []

    class Hook:
        @staticmethod
        def pytest_deselected(items: list[Item]) -> None:
            deselected.extend(items)

    class Config:
        hook = Hook

    items = [
        Item("tests/test_boxes.py::a", in_a_child),
        Item("tests/test_boxes.py::b", here),
        Item("tests/test_collate.py::c", here),
    ]
    monkeypatch.setenv("MUTANT_UNDER_TEST", "visiondata.boxes._ops.x_box_area__mutmut_3")
    mutate.pytest_collection_modifyitems(Config(), items)
    assert [item.nodeid for item in items] == ["tests/test_boxes.py::b"]
    assert [item.nodeid for item in deselected] == [
        "tests/test_boxes.py::a",
        "tests/test_collate.py::c",
    ]
