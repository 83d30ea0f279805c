"""`make mutate`: mutation testing of the core modules with mutmut, and the survivors nobody explained.

mutmut (``[tool.mutmut]`` in pyproject.toml) copies the package to ``mutants/``, mutates the files its
``only_mutate`` lists, records which of the selected tests call each function, then runs those tests
against each mutant of the functions TESTED names (boxes/ and collate/ whole, the pipeline's box filter
and sample handling, the COCO, VOC and YOLO index builders), fastest first, stopping at the first
failure; only the tests of the mutant's own module (TESTS_BY_MODULE) run. A mutant that no
test fails "survived"; one in a function that none of its module's tests calls has "no tests"; both are
survivors here. Each must be killed by a behaviour test or explained, one line each, in a file of
``tests/mutation/`` (one per module group; their format: tests/mutation/README.md).

This script starts from an empty ``mutants/`` (mutmut would otherwise keep stale copies of the files it
does not mutate, and old verdicts), runs ``mutmut run`` with one thread per worker on the functions
mutation-tested here (TESTED), prints every unexplained survivor, grouped by function, with a
stable id, mutmut's name and the diff, writes the same list to ``mutants/survivors.txt``, and exits 1 if
any survivor is unexplained (2 if mutmut itself failed).

    .venv/bin/python scripts/mutate.py                         # everything, as `make mutate`
    .venv/bin/python scripts/mutate.py visiondata.formats._coco   # one module's tested functions
    .venv/bin/python scripts/mutate.py "visiondata.boxes.*"    # some mutants only (mutmut name globs)
    .venv/bin/python scripts/mutate.py --keep "visiondata.boxes._ops.x_box_iou__mutmut_*"
                                                               # re-test those after adding a test
    .venv/bin/python scripts/mutate.py --report-only           # the last run's survivors again

``--keep`` reuses ``mutants/`` (the copies of the files mutmut does not mutate included): it is for
re-testing named mutants after changing tests, never after changing the package.

pytest loads this file as a plugin in mutmut's runs (``-p scripts.mutate`` in pyproject): see
`pytest_collection_modifyitems`.
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # mutmut brings toml on 3.10
    import toml as tomllib

ROOT = Path(__file__).resolve().parents[1]
#: Every function of a module.
EVERY_FUNCTION = ("*",)
#: What is mutation-tested (module: its functions, ``Class.method`` for a method): boxes/ and collate/
#: whole; in transforms/, the box filter (`Work.filter` and what it calls) and the sample handling; in
#: formats/, the COCO, VOC and YOLO index builders (the writers and the data.yaml, segmentation and keypoint
#: specification readers that share their files are not).
TESTED = {
    "visiondata.boxes._convert": EVERY_FUNCTION,
    "visiondata.boxes._ops": EVERY_FUNCTION,
    "visiondata.boxes._rotated": EVERY_FUNCTION,
    "visiondata.boxes._validate": EVERY_FUNCTION,
    "visiondata.collate._layouts": EVERY_FUNCTION,
    "visiondata.transforms._work": (
        "Work.remove",
        "Work.filter",
        "Work._drop_failing",
        "_snap_corners",
        "inside_image",
    ),
    "visiondata.transforms._sample": EVERY_FUNCTION,
    "visiondata.formats._coco": (
        "CocoDetectionDataset._build",
        "CocoDetectionDataset._checked_image_paths",
        "CocoDetectionDataset._without_images",
        "_image_arrays",
        "_report_repeated_image_ids",
        "_annotation_table",
        "_xyxy",
        "_report_unplaced_annotations",
        "_AnnotationPlace.sizes",
        "_AnnotationPlace.report",
        "_rows_by_image",
        "_segmentation_texts",
        "_refuse_repeated_annotation_ids",
        "_refuse_repeated_categories",
        "_category_names",
        "_classes",
        "_map",
        "_positions",
    ),
    "visiondata.formats._voc": (
        "VOCDetectionDataset._build",
        "_read_labelmap",
        "_locate",
        "_listed",
        "split_list_ids",
        "_read_xml",
        "_integer",
        "_xml_problem",
    ),
    "visiondata.formats._yolo": (
        "YOLODataset.__init__",
        "YOLODataset._label_file",
        "_all_rectangles",
        "_index_pairs",
        "_scan",
        "_read_labels",
        "_add_row",
        "_keypoints_of",
        "_corners_of",
    ),
}
_BOXES = (
    "tests/test_boxes.py",
    "tests/test_oriented_boxes.py",
    "tests/test_polygon_helpers.py",
    "tests/test_box_format_interop.py",
)
_PIPELINE = (
    "tests/test_box_pipeline.py",
    "tests/test_box_pipeline_properties.py",
    "tests/test_box_filter_boundaries.py",
    "tests/test_oriented_pipeline.py",
    "tests/test_keypoint_pipeline.py",
    "tests/test_box_format_interop.py",
    "tests/test_pipeline_sample_handling.py",
)
#: The tests that may kill a module's mutants. mutmut alone runs every selected test that reaches the
#: mutated function (every pipeline test reaches convert_boxes); the plugin keeps the module's own behaviour
#: tests among them. pyproject's test selection is their union.
TESTS_BY_MODULE = {
    "visiondata.boxes._convert": (*_BOXES, "tests/test_box_math_exact.py"),
    "visiondata.boxes._ops": (*_BOXES, "tests/test_box_math_exact.py"),
    "visiondata.boxes._rotated": (*_BOXES, "tests/test_rotated_box_math.py"),
    "visiondata.boxes._validate": (*_BOXES, "tests/test_box_validation_rules.py"),
    "visiondata.collate._layouts": (
        "tests/test_collate.py",
        "tests/test_collate_contract.py",
        "tests/test_collate_labels.py",
        "tests/test_collate_edge_cases.py",
    ),
    "visiondata.transforms._work": _PIPELINE,
    "visiondata.transforms._sample": _PIPELINE,
    "visiondata.formats._coco": (
        "tests/test_coco_index_builder.py",
        "tests/test_coco_round_trip.py",
        "tests/test_coco_keypoints.py",
        "tests/test_coco_voc_reliability.py",
        "tests/test_include_crowd.py",
        "tests/test_detection_readers.py",
        "tests/test_annotation_values.py",
        "tests/test_coco_index_edge_cases.py",
    ),
    "visiondata.formats._voc": (
        "tests/test_coco_voc_reliability.py",
        "tests/test_detection_readers.py",
        "tests/test_annotation_values.py",
        "tests/test_conversion_matrix.py",
        "tests/test_voc_yolo_index_edge_cases.py",
    ),
    "visiondata.formats._yolo": (
        "tests/test_detection_readers.py",
        "tests/test_annotation_values.py",
        "tests/test_yolo_interop.py",
        "tests/test_yolo_variants.py",
        "tests/test_yolo_pose_obb.py",
        "tests/test_yolo_reliability.py",
        "tests/test_voc_yolo_index_edge_cases.py",
    ),
}
#: Hypothesis tests run at most this many examples in mutmut's runs (a surviving mutant runs every test of
#: its function to the end: test_boxes.py's 100 to 150 examples a test were most of the time), without the
#: example database (a run must not depend on the runs before it) and without a deadline.
HYPOTHESIS_MAX_EXAMPLES = 20
#: The explanations: one file per module group, format in their README.
EXPLANATIONS = Path("tests/mutation")
REPORT = Path("mutants/survivors.txt")
RUN_LOG = Path("mutants/mutmut-run.log")
#: mutmut's statuses that leave a mutant alive: no test failed with it, or none of its module's tests ran.
SURVIVING = ("survived", "no tests")
EMPTY_CODE = compile("", "<none>", "exec")
#: The environment variable naming (os.pathsep-separated) the test files of a run limited to some modules.
TEST_FILES_VARIABLE = "VISIONDATA_MUTATE_TEST_FILES"
#: One thread per worker: as many workers as cores, and torch's OpenMP pool is not safe to fork with.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


# --- pytest plugin, in mutmut's runs -------------------------------------------------------------------


def _allowed_tests() -> tuple[str, ...] | None:
    """The test files of the module of the mutant under test (TESTS_BY_MODULE); None outside a mutant's run
    (mutmut's stats, clean and forced-failure runs)."""
    mutant = os.environ.get("MUTANT_UNDER_TEST", "")
    if "__mutmut_" not in mutant:
        return None
    return TESTS_BY_MODULE.get(split_key(mutant.partition("__mutmut_")[0])[0], ())


def test_files_for(patterns: list[str]) -> list[str]:
    """The test files of the modules whose mutants ``patterns`` (mutmut name globs) name."""
    files: list[str] = []
    for module, tests in TESTS_BY_MODULE.items():
        if any(
            pattern == module
            or pattern.startswith(f"{module}.")
            or fnmatch.fnmatchcase(f"{module}.x_f__mutmut_1", pattern)
            for pattern in patterns
        ):
            files += [file for file in tests if file not in files]
    return files


def pytest_load_initial_conftests(early_config: Any, parser: Any, args: list[str]) -> None:
    """Drop from pytest's command line, before it collects them, the tests that cannot kill the mutants of
    this run.

    In a mutant's run, the test ids of other modules' files: mutmut names every selected test that
    reaches the mutated function (every pipeline test reaches convert_boxes), and collecting their files
    took longer than running the module's own tests. One is left if none is the module's, for
    `pytest_collection_modifyitems` to deselect (an empty command line would run the whole suite). In
    mutmut's own runs (stats, clean, forced failure) of a run limited to some modules, the test files of
    the other modules (TEST_FILES_VARIABLE).
    """
    allowed = _allowed_tests()
    if allowed is None:
        wanted = os.environ.get(TEST_FILES_VARIABLE)
        if wanted:
            keep = set(wanted.split(os.pathsep))
            args[:] = [arg for arg in args if not arg.startswith("tests/") or arg.partition("::")[0] in keep]
        return
    ids = [arg for arg in args if "::" in arg]
    foreign = [arg for arg in ids if arg.partition("::")[0] not in allowed]
    if len(foreign) == len(ids):
        foreign = foreign[1:]
    dropped = set(foreign)
    args[:] = [arg for arg in args if arg not in dropped]


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Cap the Hypothesis tests (HYPOTHESIS_MAX_EXAMPLES) in every run of mutmut's; deselect the tests that
    run their code in a child interpreter (tests/isolated.py's ``run_isolated``: the child imports the
    project's package, not mutmut's mutated copy, so they cannot kill a mutant, and each takes seconds),
    and in a mutant's run the tests that are not its module's (TESTS_BY_MODULE). None left: pytest exits
    5, and mutmut says "no tests"."""
    from hypothesis import settings

    for item in items:
        test = getattr(item, "obj", None)
        given = getattr(test, "_hypothesis_internal_use_settings", None)  # what @given and @settings set
        if given is None or getattr(test, "hypothesis", None) is None:
            continue
        if given.max_examples > HYPOTHESIS_MAX_EXAMPLES or given.database is not None or given.deadline:
            capped = min(given.max_examples, HYPOTHESIS_MAX_EXAMPLES)
            # No deadline either: a loaded machine must not make a slow example a killing failure.
            test._hypothesis_internal_use_settings = settings(
                given, max_examples=capped, database=None, deadline=None
            )

    allowed = _allowed_tests()
    keep = [
        item
        for item in items
        if "run_isolated" not in getattr(getattr(item, "obj", None), "__code__", EMPTY_CODE).co_names
        and (allowed is None or item.nodeid.partition("::")[0] in allowed)
    ]
    if len(keep) < len(items):
        kept = {id(item) for item in keep}
        config.hook.pytest_deselected(items=[item for item in items if id(item) not in kept])
        items[:] = keep


# --- the run ------------------------------------------------------------------------------------------


def mutmut_config() -> dict[str, Any]:
    return tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))["tool"]["mutmut"]


def mutated_files(config: dict[str, Any]) -> list[Path]:
    files = sorted(Path(config["source_paths"][0]).rglob("*.py"))
    return [path for path in files if any(fnmatch.fnmatch(str(path), glob) for glob in config["only_mutate"])]


def check_configuration(config: dict[str, Any]) -> None:
    """pyproject's test selection is TESTS_BY_MODULE's union; every mutated file has its tests."""
    selected = set(config["pytest_add_cli_args_test_selection"])
    grouped = {file for files in TESTS_BY_MODULE.values() for file in files}
    problems = [
        f"{file}: in TESTS_BY_MODULE, not in pyproject's test selection" for file in grouped - selected
    ]
    problems += [
        f"{file}: in pyproject's test selection, not in TESTS_BY_MODULE" for file in selected - grouped
    ]
    mutated = {module_of(path): path for path in mutated_files(config)}
    problems += [
        f"{path}: mutated, but not in TESTED"
        for module, path in mutated.items()
        if module not in TESTED and functions_of(path)  # a package's __init__ holds no function
    ]
    for module, functions in TESTED.items():
        if module not in mutated:
            problems.append(f"{module}: in TESTED, not in pyproject's only_mutate")
            continue
        if module not in TESTS_BY_MODULE:
            problems.append(f"{module}: in TESTED, but no TESTS_BY_MODULE entry has tests for it")
        if functions != EVERY_FUNCTION:
            names = functions_of(mutated[module])
            problems += [
                f"{module}.{function}: in TESTED, not a function of {mutated[module]}"
                for function in functions
                if function not in names
            ]
    if problems:
        raise SystemExit("mutate: scripts/mutate.py and [tool.mutmut] disagree:\n  " + "\n  ".join(problems))


def module_of(path: Path) -> str:
    return ".".join(path.with_suffix("").parts).removesuffix(".__init__")


def functions_of(path: Path) -> dict[str, str]:
    """The functions mutmut mutates in a file (top-level ones and methods), by name (``f``, ``Class.m``),
    with mutmut's mangled name (``x_f``, ``xǁClassǁm``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found[node.name] = f"x_{node.name}"
        elif isinstance(node, ast.ClassDef):
            for method in node.body:
                if isinstance(method, ast.FunctionDef | ast.AsyncFunctionDef):
                    found[f"{node.name}.{method.name}"] = f"x\u01c1{node.name}\u01c1{method.name}"
    return found


def globs_of_tested_functions(config: dict[str, Any], modules: list[str] | None = None) -> list[str]:
    """mutmut name globs for the mutants of every function TESTED (of ``modules`` only, if given): a whole
    module's, or one per function."""
    globs = []
    for path in mutated_files(config):
        module = module_of(path)
        if module not in TESTED or (modules is not None and module not in modules):
            continue
        functions = TESTED[module]
        if functions == EVERY_FUNCTION:
            globs.append(f"{module}.x[_\u01c1]*")  # its functions' and methods', not a submodule's
            continue
        globs += [
            f"{module}.{mangled}__mutmut_*"
            for name, mangled in functions_of(path).items()
            if name in functions
        ]
    return globs


def expand_patterns(patterns: list[str]) -> list[str]:
    """The command line's patterns, each TESTED module name (``visiondata.formats._coco``) replaced by the
    globs of its tested functions' mutants."""
    modules = [pattern for pattern in patterns if pattern in TESTED]
    others = [pattern for pattern in patterns if pattern not in TESTED]
    return others + (globs_of_tested_functions(mutmut_config(), modules) if modules else [])


def run_mutmut(patterns: list[str], keep: bool, max_children: int) -> int:
    """``mutmut run``, its output shown as it comes (less its list of every named mutant's result) and kept in
    RUN_LOG."""
    if not keep:
        shutil.rmtree("mutants", ignore_errors=True)
    Path("mutants").mkdir(exist_ok=True)
    names = patterns or globs_of_tested_functions(mutmut_config())
    command = [
        str(Path(sys.executable).parent / "mutmut"),
        "run",
        "--max-children",
        str(max_children),
        *names,
    ]
    shown = " ".join(command[:4] + (names if patterns else [f"<{len(names)} globs: every tested function>"]))
    print("$", shown, flush=True)
    env = {**os.environ, **ONE_THREAD}
    if patterns:
        env[TEST_FILES_VARIABLE] = os.pathsep.join(test_files_for(patterns))
    with (
        RUN_LOG.open("wb") as log,
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as run,
    ):
        assert run.stdout is not None
        echo, seen = True, b""
        while chunk := run.stdout.read1(65536):
            log.write(chunk)
            if echo:
                seen = (seen + chunk)[-4096:]
                cut = seen.find(b"Mutant results\n")
                if cut >= 0:  # mutmut lists every mutant named on its command line: thousands of lines
                    chunk = chunk[: max(0, len(chunk) - (len(seen) - cut))]
                    echo = False
                sys.stdout.buffer.write(chunk)
                sys.stdout.buffer.flush()
        return run.wait()


# --- the report ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mutant:
    """One mutant of mutmut's last run."""

    # mutmut's name: visiondata.boxes._ops.x_box_area__mutmut_3; the number moves as the function changes.
    name: str
    status: str
    module: str  # visiondata.boxes._ops
    function: str  # box_area, or Class.method
    diff: str  # the unified diff of the function (as `mutmut show` prints it); survivors only

    @property
    def changed(self) -> list[str]:
        """The removed and added lines, stripped: what the mutation is, wherever the function lies."""
        lines = self.diff.splitlines()
        return [
            line[0] + line[1:].strip()
            for line in lines
            if line[:1] in "-+" and line[:3] not in ("---", "+++")
        ]

    @property
    def stable_id(self) -> str:
        """``module.function@hash``: stays while the function keeps its name and the mutated line its text,
        whatever changes around it (where mutmut's number moves)."""
        digest = hashlib.sha1("\n".join(self.changed).encode()).hexdigest()[:8]
        return f"{self.module}.{self.function}@{digest}"


@dataclass(frozen=True)
class Explanation:
    pattern: str  # a stable id or a mutmut name, or an fnmatch pattern of either
    reason: str
    path: Path
    line: int

    def matches(self, mutant: Mutant) -> bool:
        return any(fnmatch.fnmatchcase(name, self.pattern) for name in (mutant.stable_id, mutant.name))


def read_explanations(path: Path) -> list[Explanation]:
    """``PATTERN  # reason`` lines; blank lines and lines starting with ``#`` are comments."""
    if not path.is_file():
        return []
    explanations = []
    problems = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pattern, _, reason = line.partition("#")
        pattern, reason = pattern.strip(), reason.strip()
        if not reason or not pattern or " " in pattern:
            problems.append(f"{path}:{number}: expected 'PATTERN  # reason', got {raw!r}")
            continue
        explanations.append(Explanation(pattern, reason, path, number))
    if problems:
        raise SystemExit("\n".join(problems))
    return explanations


def split_key(mangled: str) -> tuple[str, str]:
    """``visiondata.x.y.x_f`` -> (``visiondata.x.y``, ``f``); ``...xǁClassǁm`` -> (..., ``Class.m``)."""
    module, _, last = mangled.rpartition(".")
    if last.startswith("x_"):
        return module, last[2:]
    _, cls, method = last.split("\u01c1")
    return module, f"{cls}.{method}"


def load_mutants(patterns: list[str]) -> list[Mutant]:
    """The mutants of the last run (those matching ``patterns`` if any; only TESTED's), with their
    status, and their diff if they survived."""
    # mutmut's own readers of what it left in mutants/ (mutmut is pinned to 3.x in the dev extra).
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.mutation.diff_apply import get_diff_for_mutant
    from mutmut.stats import status_by_exit_code
    from mutmut.utils.file_utils import walk_mutatable_files

    mutants = []
    for path in walk_mutatable_files():
        data = SourceFileMutationData(path=path)
        data.load()
        for name, exit_code in data.exit_code_by_key.items():
            if patterns and not any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns):
                continue
            module, function = split_key(name.partition("__mutmut_")[0])
            if TESTED[module] != EVERY_FUNCTION and function not in TESTED[module]:
                continue
            status = status_by_exit_code[exit_code]
            diff = get_diff_for_mutant(name, path=path) if status in SURVIVING else ""
            mutants.append(Mutant(name, status, module, function, diff))
    return mutants


def describe(mutant: Mutant) -> str:
    body = [line for line in mutant.diff.splitlines() if line[:3] not in ("---", "+++")]
    return "\n".join(
        [f"{mutant.stable_id}  ({mutant.name}: {mutant.status})", *("    " + line for line in body)]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n\n")[0])
    parser.add_argument(
        "patterns",
        nargs="*",
        help="mutmut mutant-name globs, or module names (visiondata.boxes._ops: its tested functions' "
        "mutants); default: every tested function's mutants",
    )
    parser.add_argument("--keep", action="store_true", help="reuse mutants/ instead of starting afresh")
    parser.add_argument("--report-only", action="store_true", help="only list the last run's survivors")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2, help="parallel workers")
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    started = time.monotonic()

    check_configuration(mutmut_config())
    explanations = [
        explanation for path in sorted(EXPLANATIONS.glob("*.txt")) for explanation in read_explanations(path)
    ]
    if not args.report_only:
        code = run_mutmut(expand_patterns(args.patterns), args.keep, args.max_children)
        if code != 0:
            print(f"\nmutate: mutmut run failed (exit status {code}); its output: {RUN_LOG}", file=sys.stderr)
            return 2
    if not Path("mutants").is_dir():
        print("mutate: no mutants/ folder: nothing has run yet", file=sys.stderr)
        return 2

    mutants = load_mutants(expand_patterns(args.patterns))
    counts = Counter(mutant.status for mutant in mutants)
    explained: list[Mutant] = []
    unexplained: list[Mutant] = []
    used: set[tuple[Path, int]] = set()
    for mutant in mutants:
        if mutant.status in SURVIVING:
            reasons = [(item.path, item.line) for item in explanations if item.matches(mutant)]
            used.update(reasons)
            (explained if reasons else unexplained).append(mutant)

    by_function: dict[tuple[str, str], list[Mutant]] = defaultdict(list)
    for mutant in unexplained:
        by_function[mutant.module, mutant.function].append(mutant)
    lines = []
    for (module, function), group in sorted(by_function.items()):
        lines.append(f"== {module}.{function}: {len(group)} unexplained")
        lines.extend(describe(mutant) for mutant in group)
        lines.append("")
    REPORT.write_text("\n".join(lines), encoding="utf-8")
    print()
    print("\n".join(lines))
    if not args.patterns:
        for explanation in explanations:
            if (explanation.path, explanation.line) not in used:
                print(
                    f"{explanation.path}:{explanation.line}: {explanation.pattern} explains no survivor "
                    "(remove it?)"
                )

    minutes = (time.monotonic() - started) / 60
    others = ", ".join(
        f"{count} {status}" for status, count in sorted(counts.items()) if status not in SURVIVING
    )
    print(
        f"\nmutate: {len(mutants)} mutants: {others or 'none killed'}; {counts['survived']} survived and "
        f"{counts['no tests']} had no tests: {len(explained)} explained in {EXPLANATIONS}/, {len(unexplained)} "
        f"unexplained (above, and in {REPORT}); {minutes:.1f} min"
    )
    if counts.get("not checked") or counts.get("check was interrupted by user"):
        print("mutate: some mutants were not checked (an interrupted run?)", file=sys.stderr)
        return 2
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
